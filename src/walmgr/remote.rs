//! A master whose archive is on another host, as the original's
//! `host:path` directories: every file is stored here first (compressed,
//! with its checksum), then sent over ssh to `skydeck walmgr SLAVE_CONFIG
//! xreceive …` on that host, which checks it and puts it in place with the
//! same rules as a local archive (atomic; the same content twice is fine,
//! other content under an archived name is refused). A base backup is
//! built in the local spool and streamed whole, its manifest last; the far
//! side checks every file before the set appears. Commands that read the
//! archive (`listbackups`, `verify`, retention) run there.

use std::fs;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

use super::restore::sh_quote;
use super::{Remote, WalConfig};

/// `ssh HOST 'skydeck walmgr SLAVE_CONFIG ARGS…'` through /bin/sh (the
/// ssh command is the job file's `ssh_command`, options and all).
pub fn command(r: &Remote, args: &[&str]) -> Command {
    let mut remote = vec![
        sh_quote(&r.skydeck),
        "walmgr".to_string(),
        sh_quote(&r.slave_config),
    ];
    remote.extend(args.iter().map(|a| sh_quote(a)));
    let line = format!(
        "{} {} {}",
        r.ssh,
        sh_quote(&r.host),
        sh_quote(&remote.join(" "))
    );
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(line);
    c
}

fn what(r: &Remote, args: &[&str]) -> String {
    format!("walmgr {} on {}", args.join(" "), r.host)
}

/// Its stdout, or an error naming the command with its stderr.
fn answer(r: &Remote, args: &[&str], out: std::process::Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            what(r, args),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run a command there; its stdout, or an error with its stderr.
pub fn run(r: &Remote, args: &[&str]) -> Result<String> {
    let out = command(r, args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running ssh for {}", what(r, args)))?;
    answer(r, args, out)
}

/// Run a command there with `feed` writing its stdin.
fn run_with_input(
    r: &Remote,
    args: &[&str],
    feed: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<String> {
    let mut child = command(r, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running ssh for {}", what(r, args)))?;
    let fed = match child.stdin.take() {
        Some(stdin) => {
            let mut w = BufWriter::with_capacity(1 << 20, stdin);
            feed(&mut w).and_then(|_| w.flush().map_err(anyhow::Error::from))
        }
        None => Err(anyhow!("no stdin for ssh")),
    };
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {}", what(r, args)))?;
    let text = answer(r, args, out)?;
    // The far side succeeded only if it read everything we sent.
    fed.with_context(|| format!("sending to {}", what(r, args)))?;
    Ok(text)
}

/// Which archive directory a file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `completed_wals`.
    Wal,
    /// `partial_wals` (replaced, not refused, when there).
    Partial,
}

impl Kind {
    pub fn arg(self) -> &'static str {
        match self {
            Kind::Wal => "wal",
            Kind::Partial => "partial",
        }
    }
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "wal" => Ok(Kind::Wal),
            "partial" => Ok(Kind::Partial),
            _ => bail!("xreceive: unknown kind {s:?} (wal or partial)"),
        }
    }
}

/// Store `src` here (a scratch file in the spool, not fsynced: the archive
/// host checks it and makes it durable) and send it to the archive host.
pub fn push(
    cfg: &WalConfig,
    r: &Remote,
    kind: Kind,
    src: &mut dyn Read,
    name: &str,
) -> Result<super::store::Stored> {
    let dir = cfg.spool_dir.join("send");
    super::make_dir(&dir, super::owner_of(&cfg.spool_dir))?;
    let packed = dir.join(format!("{name}.{}", std::process::id()));
    let stored = super::store::store_scratch(src, &packed, cfg.compression)?;
    let r = run_with_input(r, &["xreceive", kind.arg(), name], |w| {
        let mut f = fs::File::open(&packed)?;
        io::copy(&mut f, w)?;
        Ok(())
    });
    let _ = fs::remove_file(&packed);
    r?;
    Ok(stored)
}

/// `xreceive KIND NAME` (on the archive host): a stored file on stdin,
/// checked and put in place.
pub fn receive(cfg: &WalConfig, kind: Kind, name: &str) -> Result<()> {
    super::archive::checked_name(name)?;
    let dir = match kind {
        Kind::Wal => &cfg.completed_wals,
        Kind::Partial => &cfg.partial_wals,
    };
    if !dir.is_dir() {
        bail!(
            "{} does not exist on this host: run `skydeck walmgr {} setup` here",
            dir.display(),
            cfg.ini.display()
        );
    }
    let mut stdin = io::stdin().lock();
    super::store::receive(&mut stdin, &dir.join(name), kind == Kind::Partial)?;
    if kind == Kind::Partial {
        // Older partial copies are superseded.
        if let Some(seg) = super::wal::Segment::parse(name) {
            super::archive::purge_before(dir, seg, false)?;
        }
    }
    Ok(())
}

/// Send a finished backup set (a directory with `files/` and the
/// manifest) to the archive host: every file as a frame (`F`, path
/// length, path, byte length, bytes), the manifest last, then `E`.
pub fn send_set(r: &Remote, set_dir: &Path, name: &str) -> Result<()> {
    let mut files = Vec::new();
    let mut stack = vec![set_dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    let manifest = set_dir.join(super::backup::MANIFEST);
    files.retain(|f| f != &manifest);
    files.sort();
    files.push(manifest);
    run_with_input(r, &["xreceive-backup", name], |w| {
        for f in &files {
            let rel = f
                .strip_prefix(set_dir)
                .map_err(|_| anyhow!("{} is outside the set", f.display()))?
                .to_string_lossy()
                .into_owned();
            let len = fs::metadata(f)?.len();
            w.write_all(b"F")?;
            w.write_all(&(rel.len() as u32).to_le_bytes())?;
            w.write_all(rel.as_bytes())?;
            w.write_all(&len.to_le_bytes())?;
            let mut src = fs::File::open(f)?.take(len);
            let n = io::copy(&mut src, w)?;
            if n != len {
                bail!("{} changed while it was sent", f.display());
            }
        }
        w.write_all(b"E")?;
        Ok(())
    })?;
    Ok(())
}

/// `xreceive-backup NAME` (on the archive host): a set on stdin, written
/// under a temporary name, checked against its manifest, then renamed.
/// The backup lock (`completed_wals/BACKUPLOCK`) is held throughout, so
/// `cleanup` leaves the set being received alone.
pub fn receive_set(cfg: &WalConfig, name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') {
        bail!("refusing a backup set named {name:?}");
    }
    if !cfg.completed_wals.is_dir() {
        bail!(
            "{} does not exist on this host: run `skydeck walmgr {} setup` here",
            cfg.completed_wals.display(),
            cfg.ini.display()
        );
    }
    let lock_path = cfg.completed_wals.join(super::archive::BACKUPLOCK);
    let _lock = super::archive::PidLock::try_take(&lock_path)
        .with_context(|| format!("taking the backup lock {}", lock_path.display()))?
        .ok_or_else(|| {
            anyhow!(
                "the backup lock {} is held by pid {} (another backup arriving?); \
                 wait for it, or remove the file if that process is not a backup",
                lock_path.display(),
                super::archive::PidLock::holder(&lock_path)
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into())
            )
        })?;
    super::make_dir(&cfg.full_backup, None)?;
    let tmp = cfg.full_backup.join(format!(".inprogress-{name}"));
    let final_dir = cfg.full_backup.join(name);
    if final_dir.exists() {
        bail!(
            "backup {name} already exists in {}",
            cfg.full_backup.display()
        );
    }
    let _ = fs::remove_dir_all(&tmp);
    let r = (|| -> Result<()> {
        let mut input = BufReader::with_capacity(1 << 20, io::stdin().lock());
        loop {
            let mut tag = [0u8; 1];
            input
                .read_exact(&mut tag)
                .context("reading the backup stream")?;
            match tag[0] {
                b'E' => break,
                b'F' => {}
                t => bail!("corrupt backup stream (frame {t})"),
            }
            let mut l4 = [0u8; 4];
            input.read_exact(&mut l4)?;
            let plen = u32::from_le_bytes(l4) as usize;
            if plen > 4096 {
                bail!("corrupt backup stream (path of {plen} bytes)");
            }
            let mut pb = vec![0u8; plen];
            input.read_exact(&mut pb)?;
            let rel = super::backup::safe_rel(
                &String::from_utf8(pb).context("a path that is not UTF-8")?,
            )?;
            let mut l8 = [0u8; 8];
            input.read_exact(&mut l8)?;
            let len = u64::from_le_bytes(l8);
            let dst = tmp.join(&rel);
            if let Some(parent) = dst.parent() {
                // A set holds pg_authid and perhaps primary_conninfo:
                // owner only.
                use std::os::unix::fs::DirBuilderExt;
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)?;
            }
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dst)
                .with_context(|| format!("creating {}", dst.display()))?;
            let n = io::copy(&mut (&mut input).take(len), &mut f)?;
            if n != len {
                bail!("the backup stream ended inside {}", rel.display());
            }
            f.sync_all()?;
        }
        let text = fs::read_to_string(tmp.join(super::backup::MANIFEST))
            .context("the backup stream had no manifest")?;
        let manifest: super::backup::Manifest = serde_json::from_str(&text)?;
        manifest.check()?;
        if manifest.name != name {
            bail!(
                "the stream's manifest names backup {:?}, not {name:?}",
                manifest.name
            );
        }
        let set = super::backup::BackupSet {
            dir: tmp.clone(),
            manifest,
        };
        let bad = super::backup::verify_set(&set);
        if let Some(b) = bad.first() {
            bail!(
                "backup {name} arrived damaged ({} bad files; first {}: {})",
                bad.len(),
                b.path.display(),
                b.error
            );
        }
        // Every directory durable before the set appears.
        super::store::fsync_tree(&tmp)?;
        fs::rename(&tmp, &final_dir)?;
        super::store::fsync_dir(&cfg.full_backup).ok();
        Ok(())
    })();
    if r.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_not_received_while_the_backup_lock_is_held() {
        let (d, cfg) = crate::walmgr::scratch_standby("skydeck-receive");
        let err = receive_set(&cfg, "b1").unwrap_err().to_string();
        assert!(err.contains("setup"), "{err}");
        fs::create_dir_all(&cfg.completed_wals).unwrap();
        let lock = cfg.completed_wals.join(crate::walmgr::archive::BACKUPLOCK);
        let held = crate::walmgr::archive::PidLock::take(&lock).unwrap();
        let err = format!("{:#}", receive_set(&cfg, "b1").unwrap_err());
        assert!(
            err.contains(&format!("held by pid {}", std::process::id())),
            "{err}"
        );
        assert!(!cfg.full_backup.join(".inprogress-b1").exists());
        drop(held);
        fs::remove_dir_all(&d).unwrap();
    }
}
