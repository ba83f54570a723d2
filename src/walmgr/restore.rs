//! The standby side: `restore` (a data directory from a backup set, set up
//! as a standby or for a point-in-time recovery), `createslave`
//! (pg_basebackup from the primary), `pause`, `continue`, `boot`, and
//! `cleanup` of old data directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::archive::{PAUSE, STOP};
use super::backup::{self, BackupSet};
use super::{store, WalConfig};

/// Where a point-in-time recovery stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `recovery_target_time` (a timestamp with time zone).
    Time(String),
    /// `recovery_target_name` (a restore point).
    Name(String),
    /// `recovery_target_lsn`.
    Lsn(String),
    /// `recovery_target_xid`.
    Xid(String),
    /// `recovery_target = 'immediate'`: the end of the backup.
    Immediate,
}

impl Target {
    /// `time 2026-11-21 10:00:00+00`.
    pub fn describe(&self) -> String {
        match self {
            Target::Time(v) => format!("time {v}"),
            Target::Name(v) => format!("restore point {v}"),
            Target::Lsn(v) => format!("LSN {v}"),
            Target::Xid(v) => format!("transaction {v}"),
            Target::Immediate => "the end of the backup".into(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The set's name; `None`: the newest.
    pub set: Option<String>,
    /// The data directory to build; `None`: `slave_data`.
    pub dst: Option<PathBuf>,
    /// Recover to this point and end recovery (`recovery.signal`), instead
    /// of running as a standby (`standby.signal`).
    pub target: Option<Target>,
    /// `recovery_target_action`: promote (default), pause or shutdown.
    pub target_action: Option<String>,
    /// `-n`: say what would be done.
    pub dry_run: bool,
}

/// The pid of the postmaster running in `data`, if one is.
pub fn running_pid(data: &Path) -> Option<i32> {
    let s = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: i32 = s.lines().next()?.trim().parse().ok()?;
    store::process_alive(pid).then_some(pid)
}

/// Run an operator's shell command (`slave_start_cmd` …); its failure is
/// an error naming it.
pub(crate) fn sh(cmd: &str, what: &str) -> Result<()> {
    let st = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .with_context(|| format!("running {what} ({cmd})"))?;
    if !st.success() {
        bail!("{what} failed ({st}): {cmd}");
    }
    Ok(())
}

/// Quote for /bin/sh when needed.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A GUC value for postgresql.auto.conf: single-quoted, with backslashes
/// and quotes doubled (a config file string treats a backslash as an
/// escape; PostgreSQL's own writers double both).
fn guc(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// The restore_command a restored server runs.
pub fn restore_command(cfg: &WalConfig) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "skydeck".into());
    format!(
        "{} walmgr {} xrestore %f \"%p\" %r",
        sh_quote(&exe),
        sh_quote(&cfg.ini.display().to_string())
    )
}

/// Rewrite postgresql.auto.conf: drop the keys in `set` and `clear`, then
/// append `set`.
fn edit_auto_conf(data: &Path, set: &[(&str, String)], clear: &[&str]) -> Result<()> {
    let path = data.join("postgresql.auto.conf");
    let old = match fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(e).with_context(|| {
                format!("reading {} (its settings would be lost)", path.display())
            })
        }
    };
    let mut out = String::new();
    for line in old.lines() {
        let key = line
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if set.iter().any(|(k, _)| *k == key) || clear.contains(&key.as_str()) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("# set by skydeck walmgr\n");
    for (k, v) in set {
        out.push_str(&format!("{k} = {v}\n"));
    }
    // A crash leaves the old file or the new one, never a part.
    super::write_durably(&path, out.as_bytes(), 0o600)
}

const RECOVERY_KEYS: &[&str] = &[
    "recovery_target",
    "recovery_target_time",
    "recovery_target_name",
    "recovery_target_lsn",
    "recovery_target_xid",
    "recovery_target_action",
    "recovery_target_inclusive",
    "primary_conninfo",
    "primary_slot_name",
    "promote_trigger_file",
    "archive_cleanup_command",
];

/// Write the recovery settings and the signal file of a standby (or, with
/// a target, of a targeted recovery) into `data`.
pub fn configure_recovery(
    cfg: &WalConfig,
    data: &Path,
    target: Option<&Target>,
    action: Option<&str>,
) -> Result<()> {
    let mut set: Vec<(&str, String)> = vec![
        ("restore_command", guc(&restore_command(cfg))),
        ("recovery_target_timeline", guc("latest")),
        // A restored copy never archives into the master's archive; after
        // a promotion, run setup with a master job for it.
        ("archive_mode", guc("off")),
        // Nor waits for the master's synchronous standbys once promoted.
        ("synchronous_standby_names", guc("")),
    ];
    match target {
        None => {
            if let Some(sb) = &cfg.standby {
                if let Some(pc) = &sb.primary_conninfo {
                    set.push(("primary_conninfo", guc(pc.expose())));
                }
                if let Some(slot) = &sb.primary_slot_name {
                    set.push(("primary_slot_name", guc(slot)));
                }
            }
        }
        Some(t) => {
            let (k, v) = match t {
                Target::Time(v) => ("recovery_target_time", v.as_str()),
                Target::Name(v) => ("recovery_target_name", v.as_str()),
                Target::Lsn(v) => ("recovery_target_lsn", v.as_str()),
                Target::Xid(v) => ("recovery_target_xid", v.as_str()),
                Target::Immediate => ("recovery_target", "immediate"),
            };
            set.push((k, guc(v)));
            let action = action.unwrap_or("promote");
            if !matches!(action, "promote" | "pause" | "shutdown") {
                bail!("--target-action must be promote, pause or shutdown, not {action:?}");
            }
            set.push(("recovery_target_action", guc(action)));
        }
    }
    let clear: Vec<&str> = RECOVERY_KEYS.to_vec();
    edit_auto_conf(data, &set, &clear)?;
    let (signal, other) = if target.is_some() {
        ("recovery.signal", "standby.signal")
    } else {
        ("standby.signal", "recovery.signal")
    };
    let _ = fs::remove_file(data.join(other));
    // (the directory fsync makes the removal durable too)
    super::write_durably(&data.join(signal), b"", 0o600)
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct Restore {
    pub set: String,
    pub dst: PathBuf,
    /// Where the old data directory went, if it was kept.
    pub old_kept: Option<PathBuf>,
    pub files: usize,
    pub bytes: u64,
    pub started: bool,
    pub lines: Vec<String>,
}

/// `restore [SET [DST]]`.
pub fn restore(cfg: &WalConfig, opts: &RestoreOptions) -> Result<Restore> {
    let dst = match (&opts.dst, &cfg.standby) {
        (Some(d), _) => d.clone(),
        (None, Some(sb)) => sb.data.clone(),
        (None, None) => bail!(
            "restore with a master's job file needs both SET and DST (a directory to restore into)"
        ),
    };
    // Absolute: the tablespace links made below point into DST.tblspc,
    // and a relative link target would be taken from pg_tblspc.
    let dst = std::path::absolute(&dst)
        .with_context(|| format!("finding the absolute path of {}", dst.display()))?;
    let set = backup::find_set(cfg, opts.set.as_deref())?;
    let mut lines = Vec::new();
    let m = &set.manifest;
    lines.push(format!(
        "restoring backup {} ({} files, {}, WAL from {}) into {}",
        m.name,
        m.files.len(),
        skydeck_ui::fmt::bytes(m.data_bytes),
        m.start_wal,
        dst.display()
    ));
    if let Some(pid) = running_pid(&dst) {
        match cfg.standby.as_ref().and_then(|s| s.stop_cmd.as_ref()) {
            Some(cmd) if !opts.dry_run => {
                sh(cmd, "slave_stop_cmd")?;
                let deadline = Instant::now() + Duration::from_secs(60);
                while running_pid(&dst).is_some() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                if let Some(pid) = running_pid(&dst) {
                    bail!(
                        "the server in {} (pid {pid}) is still running after slave_stop_cmd",
                        dst.display()
                    );
                }
            }
            Some(_) => lines.push(format!(
                "would stop the server (pid {pid}) with slave_stop_cmd"
            )),
            None => bail!(
                "a server (pid {pid}) is running in {}: stop it first, or set slave_stop_cmd",
                dst.display()
            ),
        }
    }
    let parent = dst
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let owner = super::owner_of(parent);
    let backup_datadir = cfg
        .standby
        .as_ref()
        .map(|s| s.backup_datadir)
        .unwrap_or(true);
    let non_empty = fs::read_dir(&dst)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    let tblspc_root = cfg
        .standby
        .as_ref()
        .and_then(|s| s.tablespace_dir.clone())
        .unwrap_or_else(|| PathBuf::from(format!("{}.tblspc", dst.display())));
    let tblspc_root = std::path::absolute(&tblspc_root)
        .with_context(|| format!("finding the absolute path of {}", tblspc_root.display()))?;
    let keep_as = (non_empty && backup_datadir).then(|| {
        (0..)
            .map(|n| PathBuf::from(format!("{}.{n}", dst.display())))
            .find(|p| !p.exists())
            .unwrap_or_else(|| dst.with_extension("old"))
    });
    if opts.dry_run {
        if let Some(k) = &keep_as {
            lines.push(format!(
                "would keep the old data directory as {}",
                k.display()
            ));
        } else if non_empty {
            lines.push(format!(
                "would remove the old data directory {}",
                dst.display()
            ));
        }
        lines.push(format!(
            "would restore {} files and configure a {}",
            m.files.len(),
            if opts.target.is_some() {
                "targeted recovery"
            } else {
                "standby"
            }
        ));
        return Ok(Restore {
            set: m.name.clone(),
            dst,
            old_kept: keep_as,
            files: 0,
            bytes: 0,
            started: false,
            lines,
        });
    }
    // Retention leaves a set alone while a restore reads it.
    let _pin = backup::Pin::try_take(&set)
        .map_err(|e| lines.push(format!("{e:#}")))
        .ok();
    // Build the new directory beside the old one; only once every file
    // has passed its check does it replace the old one.
    let stage = PathBuf::from(format!("{}.restoring", dst.display()));
    let tstage = PathBuf::from(format!("{}.restoring", tblspc_root.display()));
    let _ = fs::remove_dir_all(&stage);
    let _ = fs::remove_dir_all(&tstage);
    let built = (|| -> Result<(usize, u64)> {
        create_private_dir(&stage)?;
        for d in &m.dirs {
            let path = stage.join(d);
            if let Some(ts) = d
                .strip_prefix("pg_tblspc/")
                .and_then(|oid| m.tablespaces.iter().find(|t| t.oid == oid))
            {
                let target = tstage.join(&ts.oid);
                fs::create_dir_all(&target)
                    .with_context(|| format!("creating {}", target.display()))?;
                std::os::unix::fs::symlink(&target, &path)
                    .with_context(|| format!("linking {}", path.display()))?;
                continue;
            }
            fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        }
        fs::create_dir_all(stage.join("pg_wal").join("archive_status"))
            .context("creating pg_wal/archive_status")?;
        let got = extract_set(&set, &stage, cfg.backup_parallel)?;
        configure_recovery(
            cfg,
            &stage,
            opts.target.as_ref(),
            opts.target_action.as_deref(),
        )?;
        // The files are fsynced as they are extracted; their names too
        // before the swap.
        store::fsync_tree(&stage)?;
        if tstage.exists() {
            store::fsync_tree(&tstage)?;
        }
        Ok(got)
    })();
    let (files, bytes) = match built {
        Ok(x) => x,
        Err(e) => {
            let _ = fs::remove_dir_all(&stage);
            let _ = fs::remove_dir_all(&tstage);
            return Err(e.context(format!("nothing was changed in {}", dst.display())));
        }
    };
    // The swap: the old directory (and its tablespaces) kept or removed.
    let mut old_kept = None;
    if non_empty {
        match &keep_as {
            Some(keep) => {
                lines.push(format!(
                    "keeping the old data directory as {}",
                    keep.display()
                ));
                fs::rename(&dst, keep)
                    .with_context(|| format!("moving {} to {}", dst.display(), keep.display()))?;
                if tblspc_root.exists() {
                    let kept_ts = PathBuf::from(format!("{}.tblspc", keep.display()));
                    fs::rename(&tblspc_root, &kept_ts).with_context(|| {
                        format!("moving {} to {}", tblspc_root.display(), kept_ts.display())
                    })?;
                    relink(&keep.join("pg_tblspc"), &tblspc_root, &kept_ts)?;
                }
                old_kept = Some(keep.clone());
            }
            None => {
                lines.push(format!("removing the old data directory {}", dst.display()));
                fs::remove_dir_all(&dst).with_context(|| format!("removing {}", dst.display()))?;
                let _ = fs::remove_dir_all(&tblspc_root);
            }
        }
    } else {
        let _ = fs::remove_dir(&dst);
        if tblspc_root.exists() && !m.tablespaces.is_empty() {
            bail!(
                "{} exists (tablespaces of an earlier restore?); move it away or set tablespace_dir",
                tblspc_root.display()
            );
        }
    }
    fs::rename(&stage, &dst).with_context(|| format!("moving {} into place", stage.display()))?;
    if !m.tablespaces.is_empty() {
        fs::rename(&tstage, &tblspc_root)
            .with_context(|| format!("moving {} into place", tstage.display()))?;
        relink(&dst.join("pg_tblspc"), &tstage, &tblspc_root)?;
        for ts in &m.tablespaces {
            lines.push(format!(
                "tablespace {} (was {}) restored into {}",
                ts.oid,
                ts.location,
                tblspc_root.join(&ts.oid).display()
            ));
        }
    }
    // The swap durable: the renames in the parents, the links relinked.
    let mut synced = vec![parent.to_path_buf(), dst.join("pg_tblspc")];
    if let Some(k) = &old_kept {
        synced.push(k.join("pg_tblspc"));
    }
    if let Some(p) = tblspc_root.parent().filter(|p| !p.as_os_str().is_empty()) {
        synced.push(p.to_path_buf());
    }
    for d in synced {
        if d.is_dir() {
            store::fsync_dir(&d)
                .with_context(|| format!("syncing the directory {}", d.display()))?;
        }
    }
    let _ = fs::remove_file(cfg.completed_wals.join(STOP));
    let _ = fs::remove_file(cfg.completed_wals.join(super::archive::PAUSE));
    if let Some(owner) = owner {
        chown_tree(&dst, owner)?;
        if tblspc_root.exists() {
            chown_tree(&tblspc_root, owner)?;
        }
    }
    lines.push(format!(
        "restored {files} files ({}); {} with restore_command via {}",
        skydeck_ui::fmt::bytes(bytes),
        match &opts.target {
            Some(t) => format!("recovery to {}", t.describe()),
            None => "standby".to_string(),
        },
        cfg.ini.display()
    ));
    let mut started = false;
    if let Some(cmd) = cfg.standby.as_ref().and_then(|s| s.start_cmd.as_ref()) {
        sh(cmd, "slave_start_cmd")?;
        started = true;
        lines.push("started the server with slave_start_cmd".into());
    } else {
        lines.push(format!(
            "start the server: pg_ctl -D {} start (or set slave_start_cmd)",
            sh_quote(&dst.display().to_string())
        ));
    }
    Ok(Restore {
        set: m.name.clone(),
        dst,
        old_kept,
        files,
        bytes,
        started,
        lines,
    })
}

/// Point the links in `pg_tblspc` that lead under `from` to the same
/// place under `to`.
fn relink(pg_tblspc: &Path, from: &Path, to: &Path) -> Result<()> {
    let Ok(rd) = fs::read_dir(pg_tblspc) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let Ok(target) = fs::read_link(e.path()) else {
            continue;
        };
        if let Ok(rest) = target.strip_prefix(from) {
            fs::remove_file(e.path())?;
            std::os::unix::fs::symlink(to.join(rest), e.path())
                .with_context(|| format!("linking {}", e.path().display()))?;
        }
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Extract every file of a set into `dst`, checked, `threads` at a time.
fn extract_set(set: &BackupSet, dst: &Path, threads: usize) -> Result<(usize, u64)> {
    let queue = Mutex::new(set.manifest.files.iter().collect::<Vec<_>>());
    let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let done = Mutex::new((0usize, 0u64));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                if failed.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                    return;
                }
                let Some(f) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    return;
                };
                let src = set.stored_path(&f.path);
                let damaged = || {
                    format!(
                        "restoring {} from backup {}: the backup is damaged (run verify; restore another set)",
                        f.path, set.manifest.name
                    )
                };
                let r = match store::extract_to(&src, &dst.join(&f.path), 0o600, true) {
                    Ok(h) if h.sha256_hex() != f.sha256 => Err(anyhow!(
                        "{}: does not match the backup's manifest",
                        src.display()
                    )
                    .context(damaged())),
                    Ok(h) => Ok(h),
                    Err(e) if e.is_damage() => Err(anyhow::Error::new(e).context(damaged())),
                    Err(e) => {
                        let why = if matches!(&e, store::StoreError::Io { path, .. } if path == &src) {
                            "cannot read the backup's copy (check its permissions and the disk; run verify)"
                        } else {
                            "cannot write the restored file: check free space and permissions"
                        };
                        Err(anyhow::Error::new(e).context(format!(
                            "restoring {} from backup {}: {why}",
                            f.path, set.manifest.name
                        )))
                    }
                };
                match r {
                    Ok(h) => {
                        let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
                        d.0 += 1;
                        d.1 += h.len;
                    }
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(done.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Hand a restored tree to the server's user (only when running as root).
fn chown_tree(root: &Path, owner: (u32, u32)) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || owner.0 == 0 {
        return Ok(());
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        std::os::unix::fs::lchown(&p, Some(owner.0), Some(owner.1))
            .with_context(|| format!("chown {}", p.display()))?;
        let md = fs::symlink_metadata(&p)?;
        if md.is_dir() {
            for e in fs::read_dir(&p)?.flatten() {
                stack.push(e.path());
            }
        }
    }
    Ok(())
}

/// `createslave`: a standby straight from the primary with pg_basebackup
/// (WAL streamed along), then set up like a restored standby.
pub fn createslave(cfg: &WalConfig, dry_run: bool) -> Result<Vec<String>> {
    let sb = cfg.standby("createslave")?;
    let pc = sb.primary_conninfo.as_ref().ok_or_else(|| {
        anyhow!(
            "createslave needs primary_conninfo in {}",
            cfg.ini.display()
        )
    })?;
    let dst = &sb.data;
    if let Some(pid) = running_pid(dst) {
        bail!(
            "a server (pid {pid}) is running in {}: stop it first",
            dst.display()
        );
    }
    if fs::read_dir(dst)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
    {
        bail!(
            "{} is not empty: move it away first (or use restore, which keeps it as {}.N)",
            dst.display(),
            dst.display()
        );
    }
    let mut lines = vec![format!(
        "pg_basebackup from {} into {}",
        pc.masked(),
        dst.display()
    )];
    if dry_run {
        return Ok(lines);
    }
    let _ = fs::remove_dir(dst);
    // The password goes through the environment, not the command line
    // (which every local user can read).
    let (conninfo, password) = crate::db::split_password(pc.expose());
    let mut cmd = std::process::Command::new(cfg.pg_program("pg_basebackup"));
    cmd.arg("-D")
        .arg(dst)
        .args(["-X", "stream", "-c", "fast", "--no-password", "-d"])
        .arg(&conninfo);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().context("running pg_basebackup")?;
    if !out.status.success() {
        bail!(
            "pg_basebackup failed ({}): {}",
            out.status,
            crate::db::mask_connstr(String::from_utf8_lossy(&out.stderr).trim())
        );
    }
    configure_recovery(cfg, dst, None, None)?;
    if let Some(parent) = dst.parent() {
        if let Some(owner) = super::owner_of(parent) {
            chown_tree(dst, owner)?;
        }
    }
    lines.push("standby configured (standby.signal, primary_conninfo, restore_command)".into());
    if let Some(cmd) = &sb.start_cmd {
        sh(cmd, "slave_start_cmd")?;
        lines.push("started the server with slave_start_cmd".into());
    }
    Ok(lines)
}

/// A connection to the standby (`slave_db`), with the standby named for
/// errors (password masked).
struct Standby {
    client: tokio_postgres::Client,
    name: String,
}

impl Standby {
    /// A query's error says what was done on which server.
    fn failed(&self, what: &str) -> impl FnOnce(tokio_postgres::Error) -> crate::db::DbError {
        let context = format!("{what} on the standby ({}, slave_db)", self.name);
        move |e| crate::db::DbError::query(context, e)
    }

    async fn in_recovery(&self) -> Result<bool> {
        Ok(self
            .client
            .query_one("select pg_is_in_recovery()", &[])
            .await
            .map_err(self.failed("checking for recovery"))?
            .get(0))
    }
}

async fn standby_client(cfg: &WalConfig) -> Result<Option<Standby>> {
    let sb = cfg.standby("this command")?;
    match &sb.db {
        None => Ok(None),
        Some(cs) => {
            let client = crate::db::connect(cs.expose())
                .await
                .with_context(|| format!("connecting to the standby ({cs})"))?;
            Ok(Some(Standby {
                client,
                name: cs.masked(),
            }))
        }
    }
}

/// `pause`: hold replay. The PAUSE file holds a standby that replays from
/// the archive (xrestore waits); with `slave_db`, `pg_wal_replay_pause()`
/// holds streaming replay too.
pub async fn pause(cfg: &WalConfig) -> Result<String> {
    cfg.standby("pause")?;
    fs::write(cfg.completed_wals.join(PAUSE), b"")
        .with_context(|| format!("creating {}", cfg.completed_wals.join(PAUSE).display()))?;
    match standby_client(cfg).await? {
        Some(c) => {
            if !c.in_recovery().await? {
                bail!(
                    "the standby ({}) is not in recovery (promoted?): nothing to pause",
                    c.name
                );
            }
            c.client
                .execute("select pg_wal_replay_pause()", &[])
                .await
                .map_err(c.failed("pausing replay"))?;
            Ok("replay paused (pg_wal_replay_pause and the PAUSE file)".into())
        }
        None => Ok("replay from the archive paused (PAUSE file); set slave_db to pause streaming replay too".into()),
    }
}

/// `continue`: undo `pause`.
pub async fn resume(cfg: &WalConfig) -> Result<String> {
    cfg.standby("continue")?;
    let _ = fs::remove_file(cfg.completed_wals.join(PAUSE));
    match standby_client(cfg).await? {
        Some(c) => {
            c.client
                .execute(
                    "select pg_wal_replay_resume() where pg_is_in_recovery()",
                    &[],
                )
                .await
                .map_err(c.failed("resuming replay"))?;
            Ok("replay continues".into())
        }
        None => Ok("replay from the archive continues (PAUSE file removed)".into()),
    }
}

/// `boot`: end recovery and promote. The STOP file ends a wait in
/// xrestore; then `pg_promote()` (with `slave_db`) or the promote signal
/// (what `pg_ctl promote` does), and wait until the server runs read-write.
pub async fn boot(cfg: &WalConfig) -> Result<String> {
    let sb = cfg.standby("boot")?;
    let Some(pid) = running_pid(&sb.data) else {
        bail!(
            "no server is running in {}: start the standby first, then boot it",
            sb.data.display()
        );
    };
    fs::write(cfg.completed_wals.join(STOP), b"")
        .with_context(|| format!("creating {}", cfg.completed_wals.join(STOP).display()))?;
    let _ = fs::remove_file(cfg.completed_wals.join(PAUSE));
    if let Some(c) = standby_client(cfg).await? {
        if !c.in_recovery().await? {
            return Ok("the server is not in recovery: already promoted".into());
        }
        c.client
            .execute(
                "select pg_wal_replay_resume() where pg_is_wal_replay_paused()",
                &[],
            )
            .await
            .map_err(c.failed("resuming paused replay before promoting"))?;
        let ok: bool = c
            .client
            .query_one("select pg_promote(true, 60)", &[])
            .await
            .map_err(c.failed("promoting (pg_promote)"))?
            .get(0);
        if !ok {
            bail!("pg_promote did not finish within 60 s; see the standby's log");
        }
        return Ok("promoted (pg_promote): the server runs read-write".into());
    }
    let signal = sb.data.join("promote");
    fs::write(&signal, b"").with_context(|| format!("creating {}", signal.display()))?;
    if let Some(owner) = super::owner_of(&sb.data) {
        let _ = super::give_to(&signal, Some(owner));
    }
    // SAFETY: signalling the postmaster, as pg_ctl promote does.
    if unsafe { libc::kill(pid, libc::SIGUSR1) } != 0 {
        bail!(
            "could not signal the postmaster (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
    // Found once: finding it runs pg_config.
    let controldata = cfg.pg_program("pg_controldata");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if run_controldata(cfg, &controldata, &sb.data)?.as_deref() == Some("in production") {
            return Ok("promoted: the server runs read-write".into());
        }
        if Instant::now() > deadline {
            bail!("the server did not leave recovery within 60 s; see its log");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `Database cluster state` from pg_controldata (`None`: it printed no
/// such line). Failing to run it, or its failure, is an error at once.
pub fn controldata_state(cfg: &WalConfig, data: &Path) -> Result<Option<String>> {
    run_controldata(cfg, &cfg.pg_program("pg_controldata"), data)
}

/// [`controldata_state`] with the program `prog` already found.
fn run_controldata(cfg: &WalConfig, prog: &Path, data: &Path) -> Result<Option<String>> {
    let bin_key = match cfg.role {
        super::Role::Master => "master_bin",
        super::Role::Standby => "slave_bin",
    };
    let out = std::process::Command::new(prog)
        .arg("-D")
        .arg(data)
        .env("LC_ALL", "C")
        .output()
        .with_context(|| {
            format!(
                "cannot run pg_controldata ({}): set {bin_key} in {} to PostgreSQL's bin directory",
                prog.display(),
                cfg.ini.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "pg_controldata ({}) failed on {} ({}): {}",
            prog.display(),
            data.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("Database cluster state:"))
        .map(|v| v.trim().to_string()))
}

/// `cleanup`: remove the old data directories `restore` kept
/// (`DATA.0`, `DATA.1` …) and temporary files; apply retention.
pub fn cleanup(cfg: &WalConfig, dry_run: bool) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    if let Some(sb) = &cfg.standby {
        for n in 0..1000 {
            let old = PathBuf::from(format!("{}.{n}", sb.data.display()));
            if !old.exists() {
                continue;
            }
            lines.push(format!("removing old data directory {}", old.display()));
            if !dry_run {
                fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
            }
        }
    }
    store::sweep_temp(&cfg.completed_wals);
    store::sweep_temp(&cfg.partial_wals);
    if let Ok(rd) = fs::read_dir(&cfg.full_backup) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(rest) = n.strip_prefix(".inprogress-") {
                // A backup whose process is gone (the lock is free).
                if super::archive::PidLock::holder(
                    &cfg.completed_wals.join(super::archive::BACKUPLOCK),
                )
                .is_none()
                {
                    lines.push(format!("removing unfinished backup {rest}"));
                    if !dry_run {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
    }
    let r = backup::retention(cfg, dry_run)?;
    lines.extend(r.describe());
    if lines.is_empty() {
        lines.push("nothing to clean up".into());
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_conf_is_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("skydeck-autoconf-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let path = d.join("postgresql.auto.conf");
        fs::write(&path, "work_mem = '8MB'\nprimary_conninfo = 'old'\n").unwrap();
        edit_auto_conf(
            &d,
            &[("restore_command", guc("x %f"))],
            &["primary_conninfo"],
        )
        .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "work_mem = '8MB'\n# set by skydeck walmgr\nrestore_command = 'x %f'\n"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Not readable as text: refused, not emptied.
        fs::write(&path, b"\xff\xfe").unwrap();
        assert!(edit_auto_conf(&d, &[], &[]).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"\xff\xfe");
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn pg_controldata_that_cannot_run_fails_at_once() {
        let (d, cfg) = crate::walmgr::scratch_standby("skydeck-controldata");
        let missing = d.join("bin/pg_controldata");
        let err = format!("{:#}", run_controldata(&cfg, &missing, &d).unwrap_err());
        assert!(err.contains("cannot run pg_controldata"), "{err}");
        assert!(err.contains("set slave_bin"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let err = format!(
            "{:#}",
            run_controldata(&cfg, Path::new("/bin/false"), &d).unwrap_err()
        );
        assert!(err.contains("failed on"), "{err}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn guc_values_keep_backslashes_and_quotes() {
        assert_eq!(guc("latest"), "'latest'");
        assert_eq!(guc(""), "''");
        assert_eq!(guc("it's"), "'it''s'");
        assert_eq!(guc(r"C:\wal\n"), r"'C:\\wal\\n'");
        assert_eq!(guc(r"password='a\'b'"), r"'password=''a\\''b'''");
    }
}
