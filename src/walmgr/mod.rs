//! walmgr: WAL archiving, base backups, standbys and point-in-time
//! restore, for PostgreSQL 12 and later.
//!
//! One job file serves either side, as in Skytools: a `[walmgr]` section
//! with `master_data` configures the master (its `archive_command` runs
//! `skydeck walmgr JOB xarchive %p %f`; `backup` takes base backups),
//! otherwise a standby (`restore` builds its data directory from a backup,
//! its `restore_command` runs `xrestore`). Both name the same archive
//! directories.
//!
//! - [`store`]: the stored-file format (header + checksum + zstd/lz4) and
//!   atomic writes.
//! - [`wal`]: WAL file names.
//! - [`archive`]: xarchive, xrestore and the archive's listing, purge and
//!   verification.
//! - [`backup`]: base backups (`pg_backup_start`/`pg_backup_stop` in one
//!   session, files stored with checksums), their manifests and retention.
//! - [`restore`]: restoring a backup as a standby or to a recovery target;
//!   pause, continue, boot.
//! - [`master`]: setup, stop, sync, periodic, synch-standby.
//! - [`status`]: what the console's WAL view and `status` show.
//! - [`job`]: the job the daemon and the console host (syncdaemon and
//!   bookkeeping).
//!
//! - [`remote`]: a master whose archive is on another host (`host:path`
//!   values, as the original's rsync targets): files travel over ssh to
//!   `skydeck walmgr SLAVE_CONFIG xreceive` there, which checks and stores
//!   them with the same rules.
//!
//! Every key of the original's job files is accepted. Some have no work
//! left to do on PostgreSQL 12+ and are read but ignored: `use_skylog`,
//! `logfile` and `pidfile` (the CLI logs to stderr, the deck hosts the
//! syncdaemon), `master_config`, `config_backup` and `slave_config_dir`
//! (configuration files travel inside the base backup), `keep_symlinks`
//! (tablespace links are always followed and restored), `hot_standby`
//! (wal_level `replica` serves both), `use_xlog_functions` (`sync` always
//! reads the position from the server) and `archive_command` on a standby.
//! `slave_pg_xlog` (pg_wal elsewhere) is refused with a message.

pub mod archive;
pub mod backup;
pub mod job;
pub mod master;
pub mod remote;
pub mod restore;
pub mod status;
pub mod store;
pub mod wal;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{ConfigError, JobFile, Section};
use crate::db::ConnStr;
use store::Codec;

/// Which side a job file configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Standby,
}

/// A walmgr job file, read and checked.
#[derive(Debug, Clone)]
pub struct WalConfig {
    pub job_name: String,
    /// The job file (archive_command and restore_command name it).
    pub ini: PathBuf,
    pub role: Role,
    /// Archived segments (`completed_wals`).
    pub completed_wals: PathBuf,
    /// Partial segments copied by `sync` (`partial_wals`).
    pub partial_wals: PathBuf,
    /// Base backup sets, one directory each (`full_backup`).
    pub full_backup: PathBuf,
    /// Asynchronous archive push and restore prefetch spool.
    pub spool_dir: PathBuf,
    pub compression: Codec,
    /// Keep this many newest base backups (0: no count limit).
    pub keep_backups: usize,
    /// Keep every backup needed to recover to any moment of this window.
    pub retention_window: Option<Duration>,
    pub loop_delay: Duration,
    pub periodic_command: Option<String>,
    pub command_interval: Duration,
    /// Bin directory of the PostgreSQL tools (`master_bin`/`slave_bin`).
    pub bindir: Option<PathBuf>,
    /// Threads for storing or restoring a base backup's files.
    pub backup_parallel: usize,
    /// The master's archive is on another host: the directories above are
    /// paths there, reached through `ssh HOST skydeck walmgr SLAVE_CONFIG`.
    pub remote: Option<Remote>,
    /// Master side.
    pub master: Option<MasterConfig>,
    /// Standby side.
    pub standby: Option<StandbyConfig>,
}

/// Where a master's remote archive is and how to reach it.
#[derive(Debug, Clone)]
pub struct Remote {
    pub host: String,
    /// The standby's job file on that host (its directories are the
    /// archive).
    pub slave_config: String,
    /// The ssh command (`ssh_command`, default `ssh -T -o BatchMode=yes -o
    /// ConnectTimeout=10`).
    pub ssh: String,
    /// skydeck on that host (`remote_skydeck`, default `skydeck`).
    pub skydeck: String,
}

#[derive(Debug, Clone)]
pub struct MasterConfig {
    pub db: ConnStr,
    pub data: PathBuf,
    pub restart_cmd: Option<String>,
    /// Segments pushed ahead of the server by one `xarchive` (the `.ready`
    /// files it finds), up to this many in parallel. 0: only the one asked.
    pub archive_async: usize,
}

#[derive(Debug, Clone)]
pub struct StandbyConfig {
    pub data: PathBuf,
    pub stop_cmd: Option<String>,
    pub start_cmd: Option<String>,
    /// Keep the old data directory as `DATA.N` on restore (default yes).
    pub backup_datadir: bool,
    /// Set: the standby streams from the primary, and `xrestore` fails at
    /// once for a segment not archived yet.
    pub primary_conninfo: Option<ConnStr>,
    pub primary_slot_name: Option<String>,
    /// A connection to the standby itself (pause, continue, boot, status).
    pub db: Option<ConnStr>,
    /// Segments `xrestore` fetches ahead into the spool (0: none).
    pub restore_prefetch: usize,
    /// Where restored tablespaces go (default `DATA.tblspc`).
    pub tablespace_dir: Option<PathBuf>,
}

/// Every key a `[walmgr]` section may hold: the original's and skydeck's.
const KNOWN: &[&str] = &[
    // common
    "job_name",
    "logfile",
    "pidfile",
    "use_skylog",
    "walmgr_data",
    "completed_wals",
    "partial_wals",
    "full_backup",
    "config_backup",
    "compression",
    "keep_backups",
    "retention_window",
    "loop_delay",
    "periodic_command",
    "command_interval",
    "spool_dir",
    "backup_parallel",
    "archive_command",
    // master
    "master_db",
    "master_data",
    "master_config",
    "master_bin",
    "master_restart_cmd",
    "slave",
    "slave_config",
    "use_xlog_functions",
    "keep_symlinks",
    "hot_standby",
    "archive_async",
    "ssh_command",
    "remote_skydeck",
    // standby
    "slave_data",
    "slave_bin",
    "slave_stop_cmd",
    "slave_start_cmd",
    "slave_config_dir",
    "slave_pg_xlog",
    "backup_datadir",
    "primary_conninfo",
    "primary_slot_name",
    "slave_db",
    "restore_prefetch",
    "tablespace_dir",
];

impl WalConfig {
    /// Load and check a job file.
    pub fn load(path: &Path) -> Result<WalConfig, ConfigError> {
        let job = JobFile::load(path)?;
        Self::from_job(&job)
    }

    pub fn from_job(job: &JobFile) -> Result<WalConfig, ConfigError> {
        let s = &job.section;
        if job.kind != crate::config::JobKind::Walmgr {
            return Err(s.bad_value(
                "job_name",
                format!(
                    "this is a {} job file; walmgr needs a [walmgr] section",
                    job.kind
                ),
            ));
        }
        for k in s.own_keys() {
            if !KNOWN.contains(&k) {
                return Err(s.unknown_key(k, KNOWN));
            }
        }
        let ini = std::fs::canonicalize(&job.path).unwrap_or_else(|_| job.path.clone());
        let is_master = s.contains("master_data");
        // The archive directories: local, or (a master's) on a remote host
        // as the original's `host:path`.
        let mut hosts: Vec<(String, String)> = Vec::new();
        let mut dir = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
            match host_path(s, key)? {
                None => Ok(None),
                Some((Some(h), p)) => {
                    hosts.push((key.to_string(), h));
                    Ok(Some(p))
                }
                Some((None, p)) => Ok(Some(p)),
            }
        };
        let walmgr_data = dir("walmgr_data")?;
        let mut under = |key: &str, sub: &str| -> Result<PathBuf, ConfigError> {
            match dir(key)? {
                Some(p) => Ok(p),
                None => match &walmgr_data {
                    Some(d) => Ok(d.join(sub)),
                    None => Err(s.bad_value(
                        key,
                        format!("set {key} or walmgr_data (the directory that holds the archive)"),
                    )),
                },
            }
        };
        let completed_wals = under("completed_wals", "logs.complete")?;
        let partial_wals = under("partial_wals", "logs.partial")?;
        let full_backup = under("full_backup", "data.master")?;
        let remote = match hosts.first() {
            None => None,
            Some((key, host)) => {
                if !is_master {
                    return Err(s.bad_value(
                        key,
                        "a standby's archive directories are local to it; only a master's job file names a remote host",
                    ));
                }
                if let Some((k2, h2)) = hosts.iter().find(|(_, h)| h != host) {
                    return Err(s.bad_value(
                        k2,
                        format!("the archive is on one host: {key} names {host}, {k2} names {h2}"),
                    ));
                }
                // Every directory must be on that host (walmgr_data's
                // children are).
                for k in ["completed_wals", "partial_wals", "full_backup"] {
                    let named = s.get_opt(k)?.is_some_and(|v| !v.trim().is_empty());
                    if named && !hosts.iter().any(|(hk, _)| hk == k) {
                        return Err(s.bad_value(
                            k,
                            format!("the archive is on {host}: give {k} as {host}:PATH too"),
                        ));
                    }
                    if !named && !hosts.iter().any(|(hk, _)| hk == "walmgr_data") {
                        return Err(s.bad_value(
                            k,
                            format!("the archive is on {host}: give {k} (or walmgr_data) as {host}:PATH"),
                        ));
                    }
                }
                let slave_config = s
                    .get_opt("slave_config")?
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        s.bad_value(
                            "slave_config",
                            format!("the archive is on {host}: name the standby's job file there (slave_config), which walmgr runs over ssh"),
                        )
                    })?;
                Some(Remote {
                    host: host.clone(),
                    slave_config: slave_config.trim().to_string(),
                    ssh: s.get_str(
                        "ssh_command",
                        "ssh -T -o BatchMode=yes -o ConnectTimeout=10",
                    )?,
                    skydeck: s.get_str("remote_skydeck", "skydeck")?,
                })
            }
        };
        let spool_dir = match local_path(s, "spool_dir")? {
            Some(p) => p,
            None => match (&remote, &walmgr_data) {
                // Beside the data directory: the server's user owns it
                // and others cannot plant markers there.
                (Some(_), _) => local_path(s, "master_data")?
                    .and_then(|d| {
                        d.parent()
                            .map(|p| p.join(format!("skydeck-spool-{}", job.job_name)))
                    })
                    .unwrap_or_else(|| PathBuf::from(format!("skydeck-spool-{}", job.job_name))),
                (None, Some(d)) => d.join("spool"),
                (None, None) => completed_wals
                    .parent()
                    .map(|p| p.join("spool"))
                    .unwrap_or_else(|| PathBuf::from("spool")),
            },
        };
        let compression = match s.get_opt("compression")? {
            None => Codec::Zstd(1),
            Some(v) => Codec::parse(&v).map_err(|e| s.bad_value("compression", e))?,
        };
        let count = |key: &str, def: i64, min: i64| -> Result<usize, ConfigError> {
            let v = s.get_int(key, def)?;
            if v < min {
                return Err(s.bad_value(key, format!("a whole number of at least {min}")));
            }
            Ok(v as usize)
        };
        let retention_window = match s.get_opt("retention_window")? {
            None => None,
            Some(_) => {
                let d = s.get_duration("retention_window", Duration::ZERO)?;
                (!d.is_zero()).then_some(d)
            }
        };
        let bin_key = if is_master { "master_bin" } else { "slave_bin" };
        let cmd = |key: &str| -> Result<Option<String>, ConfigError> {
            Ok(s.get_opt(key)?.filter(|v| !v.trim().is_empty()))
        };
        let master = if is_master {
            let data = local_path(s, "master_data")?.ok_or_else(|| s.missing("master_data"))?;
            Some(MasterConfig {
                db: ConnStr::new(s.get_str("master_db", "dbname=template1")?),
                data,
                restart_cmd: cmd("master_restart_cmd")?,
                archive_async: count("archive_async", 0, 0)?,
            })
        } else {
            None
        };
        let standby = if is_master {
            None
        } else {
            let data = local_path(s, "slave_data")?.ok_or_else(|| {
                s.bad_value(
                    "slave_data",
                    "a walmgr job needs master_data (a master) or slave_data (a standby)",
                )
            })?;
            if s.get_opt("slave_pg_xlog")?
                .is_some_and(|v| !v.trim().is_empty())
            {
                return Err(s.bad_value(
                    "slave_pg_xlog",
                    "a separate pg_wal directory is not supported; remove the key (pg_wal stays in slave_data)",
                ));
            }
            Some(StandbyConfig {
                data,
                stop_cmd: cmd("slave_stop_cmd")?,
                start_cmd: cmd("slave_start_cmd")?,
                backup_datadir: s.get_bool("backup_datadir", true)?,
                primary_conninfo: cmd("primary_conninfo")?.map(ConnStr::new),
                primary_slot_name: cmd("primary_slot_name")?,
                db: cmd("slave_db")?.map(ConnStr::new),
                restore_prefetch: count("restore_prefetch", 0, 0)?,
                tablespace_dir: local_path(s, "tablespace_dir")?,
            })
        };
        Ok(WalConfig {
            job_name: job.job_name.clone(),
            ini,
            role: if is_master {
                Role::Master
            } else {
                Role::Standby
            },
            completed_wals,
            partial_wals,
            full_backup,
            spool_dir,
            compression,
            keep_backups: count("keep_backups", 0, 0)?,
            retention_window,
            loop_delay: s.get_duration("loop_delay", Duration::from_secs(10))?,
            periodic_command: cmd("periodic_command")?,
            command_interval: s.get_duration("command_interval", Duration::from_secs(0))?,
            bindir: local_path(s, bin_key)?,
            backup_parallel: count("backup_parallel", 2, 1)?,
            remote,
            master,
            standby,
        })
    }

    /// The master side, or an error naming the command that needs it.
    pub fn master(&self, command: &str) -> anyhow::Result<&MasterConfig> {
        self.master.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: {command} runs on the master, and this is a standby's job file (no master_data)",
                self.ini.display()
            )
        })
    }

    /// The standby side, or an error naming the command that needs it.
    pub fn standby(&self, command: &str) -> anyhow::Result<&StandbyConfig> {
        self.standby.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: {command} runs on a standby, and this is a master's job file (it has master_data)",
                self.ini.display()
            )
        })
    }

    /// The data directory of this side's server.
    pub fn data_dir(&self) -> &Path {
        match (&self.master, &self.standby) {
            (Some(m), _) => &m.data,
            (_, Some(s)) => &s.data,
            _ => Path::new("."),
        }
    }

    /// A PostgreSQL program: from the configured bin directory, else the
    /// one the cluster module finds, else `PATH`.
    pub fn pg_program(&self, name: &str) -> PathBuf {
        if let Some(d) = &self.bindir {
            return d.join(name);
        }
        match crate::cluster::find_bindir() {
            Some(d) => d.join(name),
            None => PathBuf::from(name),
        }
    }
}

/// A directory value that may name a host (`host:path`, the original's
/// rsync targets; `localhost:` means here): the host (`None`: this
/// machine) and the path. A path here is resolved as every path of a job
/// file (`~` expanded, relative to the job file's directory); a path on
/// another host must be absolute.
fn host_path(s: &Section, key: &str) -> Result<Option<(Option<String>, PathBuf)>, ConfigError> {
    let Some(raw) = s.get_opt(key)? else {
        return Ok(None);
    };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let (host, path) = match v.split_once(':') {
        Some((host, path)) if !host.contains('/') && !host.is_empty() => {
            let host =
                (!matches!(host, "localhost" | "127.0.0.1" | "::1")).then(|| host.to_string());
            if host.is_some() && !path.starts_with('/') {
                return Err(s.bad_value(key, "HOST:PATH needs an absolute PATH"));
            }
            (host, path)
        }
        _ => (None, v),
    };
    if host.is_some() {
        return Ok(Some((host, PathBuf::from(path))));
    }
    match s.resolve_path(path) {
        Some(p) if p.is_absolute() => Ok(Some((None, p))),
        _ => Err(s.bad_value(key, "a directory (absolute, or relative to the job file)")),
    }
}

/// A directory on this machine ([`host_path`]): `host:path` is refused
/// unless the host is this machine.
fn local_path(s: &Section, key: &str) -> Result<Option<PathBuf>, ConfigError> {
    match host_path(s, key)? {
        None => Ok(None),
        Some((None, p)) => Ok(Some(p)),
        Some((Some(host), _)) => Err(s.bad_value(
            key,
            format!(
                "{key} is a directory on this machine ({host}:… names another host; \
                 only a master's archive directories may be remote)"
            ),
        )),
    }
}

/// Who owns `path` (uid, gid), when it exists.
pub fn owner_of(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()))
}

/// Running as root, hand `path` to `owner`: the server (the archive's
/// writer) must own what root created for it. Not root: nothing to do.
pub fn give_to(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    match owner {
        Some((uid, gid)) if uid != 0 => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
        _ => Ok(()),
    }
}

/// Replace (or create) `path` with `bytes` durably: a temporary file
/// beside it (mode `mode`; running as root, the old file's owner),
/// fsynced, renamed over it, then the directory fsynced. A crash leaves
/// the old content or the new, never a part.
pub(crate) fn write_durably(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.skydeck-tmp"));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let written = (|| -> anyhow::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        if let Some(owner) = owner_of(path) {
            give_to(&tmp, Some(owner))
                .with_context(|| format!("giving {} to {}'s owner", tmp.display(), name))?;
        }
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    store::fsync_dir(dir).with_context(|| format!("syncing the directory {}", dir.display()))
}

/// Create a directory (and its parents) owned like `like` when root.
pub fn make_dir(dir: &Path, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    use anyhow::Context;
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for m in missing {
        give_to(&m, owner)
            .with_context(|| format!("giving {} to the server's user", m.display()))?;
    }
    Ok(())
}

/// A copy of this binary in `dir` that the server's user can run (its
/// archive_command and restore_command run as that user, who may not
/// reach the binary where it was built or installed).
pub fn exe_for_server(dir: &Path) -> anyhow::Result<PathBuf> {
    copy_exe_for_server(&std::env::current_exe()?, dir)
}

/// [`exe_for_server`] for the binary `src`. A copy already there is
/// replaced whole (by rename), so a process running it keeps the old one.
pub fn copy_exe_for_server(src: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} reachable", dir.display()))?;
    let exe = dir.join("skydeck");
    let tmp = dir.join(format!(".skydeck.{}", std::process::id()));
    std::fs::copy(src, &tmp)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)))
        .and_then(|()| std::fs::rename(&tmp, &exe))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("copying {} to {}", src.display(), exe.display()))?;
    Ok(exe)
}

/// For unit tests: a fresh directory under the temporary one (named by
/// `tag` and the process) holding a standby's job file, and the job.
#[cfg(test)]
pub(crate) fn scratch_standby(tag: &str) -> (PathBuf, WalConfig) {
    let d = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let ini = d.join("standby.ini");
    std::fs::write(
        &ini,
        "[walmgr]\njob_name = t\nslave_data = data\nwalmgr_data = arch\n",
    )
    .unwrap();
    let cfg = WalConfig::load(&ini).unwrap();
    (d, cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `path` relative to the working directory (without changing it).
    fn relative(path: &Path) -> PathBuf {
        let cwd = std::env::current_dir().unwrap();
        let mut rel = PathBuf::new();
        for _ in cwd.components().skip(1) {
            rel.push("..");
        }
        rel.join(path.strip_prefix("/").unwrap())
    }

    #[test]
    fn directories_are_absolute_even_from_a_relative_job_file() {
        let d = std::env::temp_dir().join(format!("skydeck-walcfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let ini = d.join("standby.ini");
        std::fs::write(
            &ini,
            "[walmgr]\njob_name = t\nslave_data = data\nwalmgr_data = localhost:arch\n\
             tablespace_dir = ts\nslave_bin = /usr/bin\n",
        )
        .unwrap();
        let cfg = WalConfig::load(&relative(&ini)).unwrap();
        let sb = cfg.standby.as_ref().unwrap();
        let canon = |p: &Path| std::fs::canonicalize(p.parent().unwrap()).unwrap();
        let here = std::fs::canonicalize(&d).unwrap();
        for p in [
            &sb.data,
            sb.tablespace_dir.as_ref().unwrap(),
            &cfg.completed_wals.parent().unwrap().to_path_buf(),
        ] {
            assert!(p.is_absolute(), "{}", p.display());
            assert_eq!(canon(p), here, "{}", p.display());
        }
        assert_eq!(cfg.bindir.as_deref(), Some(Path::new("/usr/bin")));
        // Another host: refused for a standby's own directories; a path
        // there must be absolute.
        for (text, want) in [
            (
                "slave_data = far:/data\nwalmgr_data = arch\n",
                "directory on this machine",
            ),
            (
                "slave_data = data\nwalmgr_data = far:arch\n",
                "absolute PATH",
            ),
            (
                "slave_data = data\nwalmgr_data = far:/arch\n",
                "local to it",
            ),
        ] {
            std::fs::write(&ini, format!("[walmgr]\njob_name = t\n{text}")).unwrap();
            let err = WalConfig::load(&ini).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
