//! The two facts about the machine a configuration needs: the host name
//! (the predefined `host_name`) and home directories (`~` and `~user`).

use std::ffi::{CStr, CString};

/// The host name, as Python's `socket.gethostname()`; "localhost" when the
/// system cannot tell.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `len - 1` bytes and stays NUL terminated
    // because its last byte is never handed to gethostname.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return "localhost".to_string();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

/// The home directory of `user` (or of the current user) from the password
/// database.
pub(crate) fn home_dir(user: Option<&str>) -> Option<String> {
    let name = match user {
        Some(u) => Some(CString::new(u).ok()?),
        None => None,
    };
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: `pwd` is plain old data; the getpw*_r functions fill it with
        // pointers into `buf`, which outlives every use of them below.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            match &name {
                Some(n) => libc::getpwnam_r(
                    n.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                ),
                None => libc::getpwuid_r(
                    libc::getuid(),
                    &mut pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                ),
            }
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        // SAFETY: pw_dir points into `buf` and is NUL terminated.
        let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
        return Some(dir.to_string_lossy().into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }

    #[test]
    fn current_user_has_a_home() {
        assert!(home_dir(None).is_some());
        assert_eq!(home_dir(Some("no_such_user_skydeck")), None);
        assert_eq!(home_dir(Some("a\0b")), None);
    }
}
