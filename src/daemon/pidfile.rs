//! Pidfiles: one running instance per deck, and signals to it
//! (`--stop`, `--reload`, `--kill`, as Skytools scripts' `-s`, `-r`, `-k`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum PidfileError {
    #[error("skydeck is already running with pid {pid} (pidfile {path}); stop it with --stop, or remove the pidfile if that process is not skydeck")]
    Running { pid: i32, path: PathBuf },
    #[error("pidfile {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no running skydeck: pidfile {path} {why}")]
    NotRunning { path: PathBuf, why: String },
}

/// A pidfile we own: removed when dropped.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
}

/// Whether process `pid` exists (EPERM: it does, owned by someone else).
pub(crate) fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe {
        libc::kill(pid, 0) == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

fn read_pid(path: &Path) -> Result<Option<i32>, PidfileError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PidfileError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

impl Pidfile {
    /// Write our pid to `path`, refusing when a live process owns it.
    pub fn create(path: &Path) -> Result<Pidfile, PidfileError> {
        let io = |e| PidfileError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        for _ in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(path)
            {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id()).map_err(io)?;
                    return Ok(Pidfile {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_pid(path)? {
                    Some(pid) if pid as u32 != std::process::id() && alive(pid) => {
                        return Err(PidfileError::Running {
                            pid,
                            path: path.to_path_buf(),
                        })
                    }
                    _ => {
                        info!("Ignoring stale pidfile {}", path.display());
                        fs::remove_file(path).map_err(io)?;
                    }
                },
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("could not create it")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        if let Ok(Some(pid)) = read_pid(&self.path) {
            if pid as u32 == std::process::id() {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// Send `sig` to the process named in `path`; its pid.
pub fn signal(path: &Path, sig: i32) -> Result<i32, PidfileError> {
    let pid = match read_pid(path)? {
        Some(p) => p,
        None => {
            return Err(PidfileError::NotRunning {
                path: path.to_path_buf(),
                why: if path.exists() {
                    "holds no pid".into()
                } else {
                    "does not exist".into()
                },
            })
        }
    };
    if !alive(pid) {
        return Err(PidfileError::NotRunning {
            path: path.to_path_buf(),
            why: format!("names pid {pid}, which is not running (stale pidfile)"),
        });
    }
    // SAFETY: plain kill(2).
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(PidfileError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("skydeck-pidfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d.join("x.pid")
    }

    #[test]
    fn create_refuse_stale_and_remove() {
        let p = tmp("a");
        let f = Pidfile::create(&p).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap().trim(),
            std::process::id().to_string()
        );
        // pid 1 is alive: a second instance is refused
        fs::write(&p, "1\n").unwrap();
        let e = Pidfile::create(&p).unwrap_err().to_string();
        assert!(e.contains("already running with pid 1"), "{e}");
        drop(f); // the file names another process now: left alone
        assert!(p.exists());
        // a dead pid is stale
        fs::write(&p, "2147483646\n").unwrap();
        let g = Pidfile::create(&p).unwrap();
        drop(g);
        assert!(!p.exists());
    }

    #[test]
    fn signalling_needs_a_live_pid() {
        let p = tmp("b");
        let e = signal(&p, libc::SIGHUP).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "2147483646").unwrap();
        let e = signal(&p, libc::SIGHUP).unwrap_err().to_string();
        assert!(e.contains("stale pidfile"), "{e}");
        fs::write(&p, std::process::id().to_string()).unwrap();
        // signal 0: checks we can reach ourselves without disturbing the test
        assert_eq!(signal(&p, 0).unwrap(), std::process::id() as i32);
    }
}
