//! Base backups: `pg_backup_start` and `pg_backup_stop` in one session
//! (PostgreSQL 15+; `pg_start_backup(…, exclusive => false)` on 12–14),
//! every file of the data directory (and of its tablespaces) stored with
//! its checksum under `full_backup/NAME/files/`, the backup_label the
//! server returns written into the set, and a manifest (`backup.json`)
//! that lists every file, directory and tablespace. A set is complete once
//! its manifest is there: it is built under a temporary name and renamed.
//!
//! Retention keeps the newest `keep_backups` sets and/or every set needed
//! to recover to any moment of `retention_window`, and purges the WAL that
//! no kept set needs.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::archive::{self, PidLock, BACKUPLOCK};
use super::store;
use super::wal::Segment;
use super::WalConfig;

pub const MANIFEST: &str = "backup.json";
const FILES: &str = "files";

/// What a backup set holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub label: String,
    /// `server_version_num` of the master.
    pub pg_version: u32,
    pub system_identifier: String,
    pub timeline: u32,
    pub start_lsn: String,
    pub stop_lsn: String,
    /// The first and last WAL segment a restore of this set needs.
    pub start_wal: String,
    pub stop_wal: String,
    /// Unix seconds.
    pub started_at: u64,
    pub finished_at: u64,
    pub codec: String,
    /// Bytes of data (original) and on disk.
    pub data_bytes: u64,
    pub stored_bytes: u64,
    /// The backup_label the server returned (also stored as a file).
    pub backup_label: String,
    /// The tablespace map the server returned (not written into a restored
    /// data directory: restore makes the links itself).
    #[serde(default)]
    pub tablespace_map: String,
    pub tablespaces: Vec<Tablespace>,
    /// Every directory, relative to the data directory, parents first.
    pub dirs: Vec<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tablespace {
    pub oid: String,
    /// Where it was on the master.
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the data directory (tablespace files through
    /// `pg_tblspc/OID/`).
    pub path: String,
    pub size: u64,
    pub stored: u64,
    pub sha256: String,
}

/// A relative path inside a set or a data directory, refused if it could
/// leave it (absolute, `..`, empty).
pub fn safe_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        bail!("refusing a backup path {rel:?}: it would leave the data directory");
    }
    Ok(p.to_path_buf())
}

impl Manifest {
    /// Every path it names stays inside the data directory, every
    /// tablespace is an OID: a manifest is read by `restore`, which may run
    /// as root, so it is not trusted.
    pub fn check(&self) -> Result<()> {
        for d in &self.dirs {
            safe_rel(d)?;
        }
        for f in &self.files {
            safe_rel(&f.path)?;
        }
        for t in &self.tablespaces {
            if t.oid.is_empty() || !t.oid.bytes().all(|b| b.is_ascii_digit()) {
                bail!("refusing tablespace {:?}: not an OID", t.oid);
            }
        }
        if self.name.is_empty() || self.name.starts_with('.') || self.name.contains('/') {
            bail!("refusing a backup set named {:?}", self.name);
        }
        Ok(())
    }

    pub fn finished(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.finished_at)
    }
    pub fn start_segment(&self) -> Option<Segment> {
        Segment::parse(&self.start_wal)
    }
}

/// A complete backup set on disk.
#[derive(Debug, Clone)]
pub struct BackupSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl BackupSet {
    /// Where the stored copy of a data-directory file is.
    pub fn stored_path(&self, rel: &str) -> PathBuf {
        self.dir.join(FILES).join(rel)
    }
}

/// A set directory whose manifest cannot be used (unreadable, not a
/// manifest, damaged or tampered with): skipped by everything that reads
/// sets, and reported.
#[derive(Debug, Clone)]
pub struct BadSet {
    pub dir: PathBuf,
    pub error: String,
}

impl BadSet {
    pub fn describe(&self) -> String {
        format!(
            "backup set {} skipped: {}; repair or remove it",
            self.dir.display(),
            self.error
        )
    }
}

/// The set directories of `full_backup`: the complete sets (oldest first)
/// and those whose manifest cannot be used.
#[derive(Debug, Default)]
pub struct Sets {
    pub sets: Vec<BackupSet>,
    pub bad: Vec<BadSet>,
}

/// Each entry of `full_backup` that may be a set (not a hidden one: sets
/// being built or received), with where its manifest would be.
fn manifest_paths(cfg: &WalConfig) -> Result<Vec<(PathBuf, PathBuf)>> {
    let dir = &cfg.full_backup;
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    Ok(rd
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (e.path(), e.path().join(MANIFEST)))
        .collect())
}

/// Whether an error reading a manifest means there is none: not a set.
fn no_manifest(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Every set of `full_backup`; one bad manifest does not hide the others.
pub fn scan_sets(cfg: &WalConfig) -> Result<Sets> {
    let mut out = Sets::default();
    for (dir, mf) in manifest_paths(cfg)? {
        let text = match fs::read_to_string(&mf) {
            Ok(t) => t,
            Err(err) if no_manifest(&err) => continue,
            Err(err) => {
                out.bad.push(BadSet {
                    dir,
                    error: format!("reading {}: {err}", mf.display()),
                });
                continue;
            }
        };
        let manifest = serde_json::from_str::<Manifest>(&text)
            .map_err(|err| format!("{}: not a walmgr backup manifest ({err})", mf.display()))
            .and_then(|m| {
                m.check().map(|()| m).map_err(|err| {
                    format!("{}: a damaged or tampered manifest: {err:#}", mf.display())
                })
            });
        match manifest {
            Ok(manifest) => out.sets.push(BackupSet { dir, manifest }),
            Err(error) => out.bad.push(BadSet { dir, error }),
        }
    }
    out.sets.sort_by(|a, b| {
        (a.manifest.finished_at, &a.manifest.name).cmp(&(b.manifest.finished_at, &b.manifest.name))
    });
    out.bad.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// Complete backup sets in `full_backup`, oldest first; sets whose
/// manifest cannot be used are skipped (and logged).
pub fn list_sets(cfg: &WalConfig) -> Result<Vec<BackupSet>> {
    let s = scan_sets(cfg)?;
    for b in &s.bad {
        tracing::warn!("{}", b.describe());
    }
    Ok(s.sets)
}

/// A set as listings show it: the manifest without its file list.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    pub name: String,
    pub finished_at: u64,
    pub data_bytes: u64,
    pub stored_bytes: u64,
    pub start_wal: String,
}

impl Summary {
    pub fn finished(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.finished_at)
    }
}

/// The complete sets' summaries, oldest first, and the sets whose manifest
/// cannot be used. What the status reads every time: a manifest (which
/// lists every file) is parsed once per change, then remembered.
pub fn summaries(cfg: &WalConfig) -> Result<(Vec<Summary>, Vec<BadSet>)> {
    type Cache = std::collections::HashMap<PathBuf, (SystemTime, Summary)>;
    static CACHE: std::sync::OnceLock<Mutex<Cache>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Cache::new()));
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (dir, mf) in manifest_paths(cfg)? {
        let modified = match fs::metadata(&mf).and_then(|m| m.modified()) {
            Ok(t) => t,
            Err(err) if no_manifest(&err) => continue,
            Err(err) => {
                bad.push(BadSet {
                    dir,
                    error: format!("reading {}: {err}", mf.display()),
                });
                continue;
            }
        };
        let known = cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&mf)
            .filter(|(t, _)| *t == modified)
            .map(|(_, s)| s.clone());
        let summary = match known {
            Some(s) => s,
            None => {
                let parsed = fs::read_to_string(&mf)
                    .map_err(|err| format!("reading {}: {err}", mf.display()))
                    .and_then(|text| {
                        serde_json::from_str::<Summary>(&text).map_err(|err| {
                            format!("{}: not a walmgr backup manifest ({err})", mf.display())
                        })
                    });
                let s = match parsed {
                    Ok(s) => s,
                    Err(error) => {
                        bad.push(BadSet { dir, error });
                        continue;
                    }
                };
                cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(mf, (modified, s.clone()));
                s
            }
        };
        out.push(summary);
    }
    out.sort_by(|a, b| (a.finished_at, &a.name).cmp(&(b.finished_at, &b.name)));
    bad.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok((out, bad))
}

/// Find a set by name (or path); `None`: the newest.
pub fn find_set(cfg: &WalConfig, name: Option<&str>) -> Result<BackupSet> {
    let Sets { sets, bad } = scan_sets(cfg)?;
    for b in &bad {
        tracing::warn!("{}", b.describe());
    }
    if let Some(b) = name.and_then(|n| {
        bad.iter()
            .find(|b| b.dir.file_name().is_some_and(|f| f == n) || b.dir == Path::new(n))
    }) {
        bail!("{}", b.describe());
    }
    match name {
        None => sets.into_iter().next_back().ok_or_else(|| {
            anyhow!(
                "no backup in {}: take one with `skydeck walmgr MASTER.ini backup`",
                cfg.full_backup.display()
            )
        }),
        Some(n) => {
            let want = Path::new(n);
            sets.into_iter()
                .find(|s| s.manifest.name == n || s.dir == want)
                .ok_or_else(|| {
                    anyhow!(
                        "no backup set {n:?} in {} (see `listbackups`)",
                        cfg.full_backup.display()
                    )
                })
        }
    }
}

/// A restore's claim on a set: `.pin.PID` in the set's directory, which
/// retention honours while that process lives.
pub struct Pin(Option<PathBuf>);

impl Pin {
    /// Pin `set`; the error says what failing means for the restore.
    pub fn try_take(set: &BackupSet) -> Result<Pin> {
        let p = set.dir.join(format!(".pin.{}", std::process::id()));
        fs::write(&p, b"").with_context(|| {
            format!(
                "could not pin backup set {} ({}): retention may remove it during this restore",
                set.manifest.name,
                p.display()
            )
        })?;
        Ok(Pin(Some(p)))
    }

    /// Whether a live process has pinned the set in `dir`.
    pub fn held(dir: &Path) -> bool {
        fs::read_dir(dir)
            .map(|rd| {
                rd.flatten().any(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix(".pin."))
                        .and_then(|pid| pid.parse::<i32>().ok())
                        .is_some_and(store::process_alive)
                })
            })
            .unwrap_or(false)
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// What to copy from the data directory.
struct Source {
    /// Relative path in the set.
    rel: String,
    real: PathBuf,
}

/// Files never copied (pg_basebackup's list, plus walmgr's own).
const SKIP_FILES: &[&str] = &[
    "postmaster.pid",
    "postmaster.opts",
    "backup_label",
    "backup_label.old",
    "tablespace_map",
    "tablespace_map.old",
    "backup_manifest",
    "postgresql.auto.conf.tmp",
    "current_logfiles.tmp",
    "pg_internal.init",
    ".walshipping.periodic",
    "standby.signal",
    "recovery.signal",
    "promote",
];

/// Directories copied empty: their content is rebuilt or meaningless.
const EMPTY_DIRS: &[&str] = &[
    "pg_wal",
    "pg_dynshmem",
    "pg_notify",
    "pg_replslot",
    "pg_serial",
    "pg_snapshots",
    "pg_stat_tmp",
    "pg_subtrans",
];

/// Walk the data directory (following the tablespace links).
fn walk(data: &Path) -> Result<(Vec<String>, Vec<Source>, Vec<Tablespace>)> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut spaces = Vec::new();
    let mut queue: VecDeque<(String, PathBuf)> = VecDeque::new();
    queue.push_back((String::new(), data.to_path_buf()));
    while let Some((rel, real)) = queue.pop_front() {
        let rd = match fs::read_dir(&real) {
            Ok(rd) => rd,
            // Dropped while we walk (a database, a temporary directory).
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.is_empty() => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", real.display())),
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let ft = match e.file_type() {
                Ok(t) => t,
                Err(_) => continue,
            };
            if rel == "pg_tblspc" && ft.is_symlink() {
                let target = fs::read_link(e.path())
                    .with_context(|| format!("reading tablespace link {}", e.path().display()))?;
                spaces.push(Tablespace {
                    oid: name.clone(),
                    location: target.display().to_string(),
                });
                dirs.push(child_rel.clone());
                queue.push_back((child_rel, target));
                continue;
            }
            if ft.is_dir() || (ft.is_symlink() && e.path().is_dir()) {
                if name.starts_with("pgsql_tmp") {
                    continue;
                }
                dirs.push(child_rel.clone());
                if rel.is_empty() && EMPTY_DIRS.contains(&name.as_str()) {
                    continue;
                }
                queue.push_back((child_rel, e.path()));
            } else if ft.is_file() || (ft.is_symlink() && e.path().is_file()) {
                // (a symlinked file, postgresql.conf or a key, is stored
                // as the file it points to)
                if SKIP_FILES.contains(&name.as_str()) || name.starts_with(".tmp.") {
                    continue;
                }
                files.push(Source {
                    rel: child_rel,
                    real: e.path(),
                });
            }
        }
    }
    Ok((dirs, files, spaces))
}

/// A unique set name from the time: `20261121T201530Z`.
fn set_name(dir: &Path, t: SystemTime) -> String {
    let stamp = crate::fmt::time_utc(t);
    // 2026-11-21T20:15:30.123Z -> 20261121T201530Z
    let base: String = stamp[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let base = format!("{base}Z");
    if !dir.join(&base).exists() {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|n| !dir.join(n).exists())
        .unwrap_or(base)
}

/// Progress of a running backup, for logs and the console.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// `backup`: take a base backup of the master into `full_backup`, then
/// apply retention. Returns the new set.
pub async fn backup(cfg: &WalConfig, progress: Progress<'_>) -> Result<BackupSet> {
    let master = cfg.master("backup")?;
    let owner = super::owner_of(&master.data);
    // With a remote archive the set is built in the spool, then sent.
    let (sets_dir, lock_dir) = match &cfg.remote {
        Some(_) => (cfg.spool_dir.join("backup"), cfg.spool_dir.clone()),
        None => (cfg.full_backup.clone(), cfg.completed_wals.clone()),
    };
    super::make_dir(&sets_dir, owner)?;
    super::make_dir(&lock_dir, owner)?;
    let lock_path = lock_dir.join(BACKUPLOCK);
    let _lock = PidLock::try_take(&lock_path)
        .with_context(|| format!("taking the backup lock {}", lock_path.display()))?
        .ok_or_else(|| {
        anyhow!(
            "another backup is running (pid {} holds {}); wait for it, or remove the file if that process is not a backup",
            PidLock::holder(&lock_path).map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            lock_path.display()
        )
    })?;
    let client = super::master::connect(cfg, master).await?;
    let row = client
        .query_one(
            "select current_setting('server_version_num')::int,
                    current_setting('archive_mode'),
                    current_setting('data_directory'),
                    (select system_identifier::text from pg_control_system())",
            &[],
        )
        .await
        .context("reading the master's settings")?;
    let version: i32 = row.get(0);
    let archive_mode: String = row.get(1);
    let server_data: String = row.get(2);
    let sysid: String = row.get(3);
    if version < 120000 {
        bail!("walmgr needs PostgreSQL 12 or later; the master runs {version}");
    }
    if archive_mode == "off" {
        bail!(
            "archive_mode is off on the master: a base backup is useless without its WAL; \
             run `skydeck walmgr {} setup` (and restart the server) first",
            cfg.ini.display()
        );
    }
    if fs::canonicalize(&server_data).ok() != fs::canonicalize(&master.data).ok() {
        bail!(
            "master_data is {} but the server at {} runs on {server_data}; fix master_data or master_db",
            master.data.display(),
            master.db
        );
    }
    let started = SystemTime::now();
    let name = set_name(&sets_dir, started);
    let label = format!("skydeck walmgr {name}");
    let (start_lsn,): (String,) = {
        let sql = if version >= 150000 {
            "select pg_backup_start($1, true)::text"
        } else {
            "select pg_start_backup($1, true, false)::text"
        };
        let r = client
            .query_one(sql, &[&label])
            .await
            .context("starting the backup (pg_backup_start)")?;
        (r.get(0),)
    };
    progress(&format!("backup {name}: started at {start_lsn}"));
    let tmp_dir = sets_dir.join(format!(".inprogress-{name}"));
    let copied = {
        let data = master.data.clone();
        let tmp = tmp_dir.clone();
        let codec = cfg.compression;
        let threads = cfg.backup_parallel;
        let r = tokio::task::spawn_blocking(move || copy_files(&data, &tmp, codec, threads)).await;
        match r {
            Ok(r) => r,
            Err(e) => Err(anyhow!("the copy task failed: {e}")),
        }
    };
    // Always end the backup mode, also when the copy failed.
    let stop_sql = if version >= 150000 {
        "select lsn::text, labelfile, spcmapfile from pg_backup_stop(true)"
    } else {
        "select lsn::text, labelfile, spcmapfile from pg_stop_backup(false, true)"
    };
    let stop = client.query_one(stop_sql, &[]).await;
    let (dirs, files, spaces) = match copied {
        Ok(x) => x,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp_dir);
            return Err(e.context(format!("backup {name} failed; nothing was kept")));
        }
    };
    let stop = match stop {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp_dir);
            return Err(anyhow::Error::new(e).context("ending the backup (pg_backup_stop)"));
        }
    };
    let stop_lsn: String = stop.get(0);
    let labelfile: String = stop.get(1);
    let spcmap: Option<String> = stop.get(2);
    // The label says where the backup starts, and on which timeline.
    let (Some(start_wal), Some(timeline)) =
        (label_start_wal(&labelfile), label_timeline(&labelfile))
    else {
        let _ = fs::remove_dir_all(&tmp_dir);
        bail!(
            "backup {name} failed; nothing was kept: the backup_label the server returned has \
             no START WAL LOCATION or START TIMELINE:\n{labelfile}"
        );
    };
    // pg_walfile_name is not allowed during recovery: the start segment is
    // then the lower bound a restore needs.
    let stop_wal = match client
        .query_one("select pg_walfile_name($1::text::pg_lsn)", &[&stop_lsn])
        .await
    {
        Ok(r) => r.get(0),
        Err(_) => start_wal.clone(),
    };
    // The label goes into the set like any other file.
    let label_entry = store_bytes(
        &tmp_dir,
        "backup_label",
        labelfile.as_bytes(),
        cfg.compression,
    )?;
    let mut files = files;
    files.push(label_entry);
    let data_bytes = files.iter().map(|f| f.size).sum();
    let stored_bytes = files.iter().map(|f| f.stored).sum();
    let manifest = Manifest {
        name: name.clone(),
        label,
        pg_version: version as u32,
        system_identifier: sysid,
        timeline,
        start_lsn,
        stop_lsn,
        start_wal,
        stop_wal,
        started_at: unix(started),
        finished_at: unix(SystemTime::now()),
        codec: cfg.compression.name().into(),
        data_bytes,
        stored_bytes,
        backup_label: labelfile,
        tablespace_map: spcmap.unwrap_or_default(),
        tablespaces: spaces,
        dirs,
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    write_synced(&tmp_dir.join(MANIFEST), &json)?;
    let mut final_dir = sets_dir.join(&name);
    fs::rename(&tmp_dir, &final_dir)
        .with_context(|| format!("renaming {} into place", tmp_dir.display()))?;
    store::fsync_dir(&sets_dir).ok();
    if let Some(r) = &cfg.remote {
        progress(&format!("backup {name}: sending it to {}", r.host));
        // (ssh streams for as long as the set takes: off the async threads)
        let (r2, dir2, name2) = (r.clone(), final_dir.clone(), name.clone());
        let sent = tokio::task::spawn_blocking(move || super::remote::send_set(&r2, &dir2, &name2))
            .await
            .map_err(|e| anyhow!("sending the backup: {e}"))
            .and_then(|r| r);
        let _ = fs::remove_dir_all(&final_dir);
        sent?;
        final_dir = cfg.full_backup.join(&name);
    }
    progress(&format!(
        "backup {name}: done, {} of data in {} files, {} stored, WAL from {}",
        skydeck_ui::fmt::bytes(manifest.data_bytes),
        manifest.files.len(),
        skydeck_ui::fmt::bytes(manifest.stored_bytes),
        manifest.start_wal
    ));
    let set = BackupSet {
        dir: final_dir,
        manifest,
    };
    // The set is in place: a failing retention does not undo that.
    let c2 = cfg.clone();
    let r = tokio::task::spawn_blocking(move || retention(&c2, false))
        .await
        .map_err(|e| anyhow!("{e}"))
        .and_then(|r| r);
    match r {
        Ok(r) => {
            for line in r.describe() {
                progress(&line);
            }
        }
        Err(e) => progress(&format!(
            "backup {name} done; retention failed: {e:#}; fix it and run `skydeck walmgr {} xrotate`",
            cfg.ini.display()
        )),
    }
    Ok(set)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)`.
fn label_start_wal(label: &str) -> Option<String> {
    let line = label
        .lines()
        .find(|l| l.starts_with("START WAL LOCATION:"))?;
    let i = line.find("(file ")?;
    let rest = &line[i + 6..];
    Some(rest.trim_end_matches(')').trim().to_string())
}

/// `START TIMELINE: 1`.
fn label_timeline(label: &str) -> Option<u32> {
    label
        .lines()
        .find_map(|l| l.strip_prefix("START TIMELINE:"))
        .and_then(|v| v.trim().parse().ok())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn store_bytes(set: &Path, rel: &str, bytes: &[u8], codec: store::Codec) -> Result<FileEntry> {
    let dst = set.join(FILES).join(rel);
    let s = store::store(&mut &bytes[..], &dst, codec, true)?;
    Ok(FileEntry {
        path: rel.into(),
        size: s.header().len,
        stored: s.stored(),
        sha256: s.header().sha256_hex(),
    })
}

type Copied = (Vec<String>, Vec<FileEntry>, Vec<Tablespace>);

/// Copy (store) every file, `threads` at a time.
fn copy_files(data: &Path, set: &Path, codec: store::Codec, threads: usize) -> Result<Copied> {
    let (dirs, sources, spaces) = walk(data)?;
    let root = set.join(FILES);
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    // Tablespace directories are real directories in the set.
    for d in &dirs {
        fs::create_dir_all(root.join(d))
            .with_context(|| format!("creating {}", root.join(d).display()))?;
    }
    let queue = Mutex::new(sources.into_iter().collect::<VecDeque<_>>());
    let out = Mutex::new(Vec::new());
    let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                if failed.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                    return;
                }
                let Some(src) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else {
                    return;
                };
                let dst = root.join(&src.rel);
                match store::store_file(&src.real, &dst, codec, true) {
                    Ok(st) => out
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(FileEntry {
                            path: src.rel,
                            size: st.header().len,
                            stored: st.stored(),
                            sha256: st.header().sha256_hex(),
                        }),
                    // Dropped while we copy: WAL replay recreates the state.
                    Err(store::StoreError::Io { source, .. })
                        if source.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(anyhow::Error::new(e).context(format!("copying {}", src.rel)));
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut files = out.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((dirs, files, spaces))
}

/// What retention decided.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    /// The rule, for status lines: `keep 3 backups`.
    pub rule: String,
    pub removed: Vec<String>,
    /// The oldest WAL segment still needed.
    pub oldest_wal: Option<String>,
    pub purged_wal: usize,
    /// What the archive host said (remote archives).
    pub notes: Vec<String>,
}

impl Retention {
    pub fn describe(&self) -> Vec<String> {
        let mut v = self.notes.clone();
        if !self.removed.is_empty() {
            v.push(format!(
                "retention ({}): removed backup{} {}",
                self.rule,
                if self.removed.len() == 1 { "" } else { "s" },
                self.removed.join(", ")
            ));
        }
        if self.purged_wal > 0 {
            v.push(format!(
                "retention ({}): removed {} WAL file{} before {}",
                self.rule,
                self.purged_wal,
                if self.purged_wal == 1 { "" } else { "s" },
                self.oldest_wal.as_deref().unwrap_or("?")
            ));
        }
        v
    }
}

/// The retention rule in words.
pub fn rule(cfg: &WalConfig) -> String {
    let mut parts = Vec::new();
    if cfg.keep_backups > 0 {
        parts.push(format!(
            "keep {} backup{}",
            cfg.keep_backups,
            if cfg.keep_backups == 1 { "" } else { "s" }
        ));
    }
    if let Some(w) = cfg.retention_window {
        parts.push(format!("recovery window {}", crate::fmt::duration(w)));
    }
    if parts.is_empty() {
        "keep everything".into()
    } else {
        parts.join(" + ")
    }
}

/// Which sets the rule keeps (indexes into `sets`, oldest first).
fn kept(cfg: &WalConfig, sets: &[BackupSet], now: SystemTime) -> Vec<bool> {
    let n = sets.len();
    if cfg.keep_backups == 0 && cfg.retention_window.is_none() {
        return vec![true; n];
    }
    let mut keep = vec![false; n];
    if cfg.keep_backups > 0 {
        for k in keep.iter_mut().skip(n.saturating_sub(cfg.keep_backups)) {
            *k = true;
        }
    }
    if let Some(w) = cfg.retention_window {
        let edge = now.checked_sub(w).unwrap_or(UNIX_EPOCH);
        // Every set inside the window, and the newest one before it (the
        // start of the window is recovered from that one).
        let mut newest_before = None;
        for (i, s) in sets.iter().enumerate() {
            if s.manifest.finished() >= edge {
                keep[i] = true;
            } else {
                newest_before = Some(i);
            }
        }
        if let Some(i) = newest_before {
            keep[i] = true;
        }
    }
    // Never leave nothing.
    if let Some(last) = keep.last_mut() {
        *last = true;
    }
    keep
}

/// Apply retention: remove the sets the rule does not keep, and the WAL
/// older than the oldest kept set's start (`xrotate` + `xpurgewals`).
/// Without a rule (no `keep_backups`, no `retention_window`) nothing is
/// removed.
pub fn retention(cfg: &WalConfig, dry_run: bool) -> Result<Retention> {
    if let Some(r) = &cfg.remote {
        // The archive host applies its own job file's rule.
        let mut args = vec!["xrotate"];
        if dry_run {
            args.push("-n");
        }
        let out = super::remote::run(r, &args)?;
        return Ok(Retention {
            rule: format!("as {} on {} says", r.slave_config, r.host),
            notes: out.lines().map(str::to_string).collect(),
            ..Default::default()
        });
    }
    let Sets { sets, bad } = scan_sets(cfg)?;
    let mut keep = kept(cfg, &sets, SystemTime::now());
    // A set a restore is reading stays, with the WAL it needs.
    for (k, s) in keep.iter_mut().zip(&sets) {
        *k |= Pin::held(&s.dir);
    }
    let mut r = Retention {
        rule: rule(cfg),
        // (a set that cannot be read is neither counted nor removed)
        notes: bad.iter().map(BadSet::describe).collect(),
        ..Default::default()
    };
    for (s, _) in sets.iter().zip(&keep).filter(|(_, k)| !**k) {
        if !dry_run {
            fs::remove_dir_all(&s.dir)
                .with_context(|| format!("removing backup {}", s.dir.display()))?;
        }
        r.removed.push(s.manifest.name.clone());
    }
    let oldest = sets
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .filter_map(|(s, _)| s.manifest.start_segment())
        .min_by_key(|s| s.pos());
    if let Some(seg) = oldest {
        r.oldest_wal = Some(seg.name());
        if cfg.keep_backups > 0 || cfg.retention_window.is_some() {
            r.purged_wal = archive::purge_before(&cfg.completed_wals, seg, dry_run)?.len();
            archive::purge_before(&cfg.partial_wals, seg, dry_run)?;
        }
    }
    Ok(r)
}

/// Check every file of a set against its checksum and the manifest.
pub fn verify_set(set: &BackupSet) -> Vec<archive::Damaged> {
    archive::check_each(&set.manifest.files, |f| {
        let p = set.stored_path(&f.path);
        let error = match store::verify(&p) {
            Ok(h) if h.sha256_hex() != f.sha256 || h.len != f.size => format!(
                "does not match the manifest (sha256 {}, manifest {})",
                h.sha256_hex(),
                f.sha256
            ),
            Ok(_) => return None,
            Err(e) => e.to_string(),
        };
        Some(archive::Damaged { path: p, error })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> WalConfig {
        let text = format!("[walmgr]\nmaster_data = /srv/pg\nwalmgr_data = /srv/wal\n{extra}");
        let job = crate::config::JobFile::parse("/srv/jobs/m.ini", text.as_bytes()).unwrap();
        WalConfig::from_job(&job).unwrap()
    }

    /// Sets finished `ages` hours before `now`, oldest first.
    fn sets(now: SystemTime, ages: &[u64]) -> Vec<BackupSet> {
        ages.iter()
            .enumerate()
            .map(|(i, h)| {
                let t = now - Duration::from_secs(h * 3600);
                BackupSet {
                    dir: PathBuf::from(format!("/srv/wal/data.master/b{i}")),
                    manifest: Manifest {
                        name: format!("b{i}"),
                        label: String::new(),
                        pg_version: 150000,
                        system_identifier: String::new(),
                        timeline: 1,
                        start_lsn: String::new(),
                        stop_lsn: String::new(),
                        start_wal: format!("0000000100000000000000{:02X}", i + 1),
                        stop_wal: String::new(),
                        started_at: unix(t),
                        finished_at: unix(t),
                        codec: "zstd".into(),
                        data_bytes: 0,
                        stored_bytes: 0,
                        backup_label: String::new(),
                        tablespace_map: String::new(),
                        tablespaces: Vec::new(),
                        dirs: Vec::new(),
                        files: Vec::new(),
                    },
                }
            })
            .collect()
    }

    #[test]
    fn the_label_gives_the_start() {
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                     CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\n\
                     BACKUP FROM: primary\nSTART TIME: 2026-01-01 00:00:00 UTC\n\
                     LABEL: skydeck walmgr x\nSTART TIMELINE: 3\n";
        assert_eq!(
            label_start_wal(label).as_deref(),
            Some("000000010000000000000002")
        );
        assert_eq!(label_timeline(label), Some(3));
        assert_eq!(label_timeline("LABEL: x\n"), None);
    }

    #[test]
    fn a_set_that_cannot_be_pinned_says_so() {
        let set = &sets(SystemTime::now(), &[1])[0];
        // (its directory does not exist)
        let e = format!("{:#}", Pin::try_take(set).err().unwrap());
        assert!(
            e.starts_with("could not pin backup set b0 (/srv/wal/data.master/b0/.pin.")
                && e.contains("retention may remove it during this restore"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_manifest_hides_no_other_set() {
        let root = std::env::temp_dir().join(format!("skydeck-sets-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let text = format!(
            "[walmgr]\nmaster_data = /srv/pg\nwalmgr_data = {}\n",
            root.display()
        );
        let job = crate::config::JobFile::parse("/srv/jobs/m.ini", text.as_bytes()).unwrap();
        let cfg = WalConfig::from_job(&job).unwrap();
        let now = SystemTime::now();
        let mut good = sets(now, &[2, 1]);
        good[1].manifest.files.push(FileEntry {
            path: "../../etc/passwd".into(),
            size: 0,
            stored: 0,
            sha256: String::new(),
        });
        for s in &good {
            let d = cfg.full_backup.join(&s.manifest.name);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(MANIFEST), serde_json::to_vec(&s.manifest).unwrap()).unwrap();
        }
        // Not JSON; and a directory that is no set at all.
        fs::create_dir_all(cfg.full_backup.join("b9")).unwrap();
        fs::write(cfg.full_backup.join("b9").join(MANIFEST), "{ half").unwrap();
        fs::create_dir_all(cfg.full_backup.join("lost+found")).unwrap();

        let found = scan_sets(&cfg).unwrap();
        let names: Vec<_> = found
            .sets
            .iter()
            .map(|s| s.manifest.name.as_str())
            .collect();
        assert_eq!(names, ["b0"]);
        let bad: Vec<String> = found.bad.iter().map(BadSet::describe).collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].contains("b1") && bad[0].contains("damaged or tampered"),
            "{bad:?}"
        );
        assert!(
            bad[1].contains("b9") && bad[1].contains("not a walmgr backup manifest"),
            "{bad:?}"
        );
        assert!(
            bad.iter().all(|b| b.ends_with("repair or remove it")),
            "{bad:?}"
        );

        assert_eq!(list_sets(&cfg).unwrap().len(), 1);
        assert_eq!(find_set(&cfg, None).unwrap().manifest.name, "b0");
        let e = find_set(&cfg, Some("b9")).unwrap_err().to_string();
        assert!(e.contains("b9 skipped: "), "{e}");
        let (sums, bad) = summaries(&cfg).unwrap();
        assert_eq!(
            (sums.len(), bad.len()),
            (2, 1),
            "the file list is not read here"
        );
        let r = retention(&cfg, true).unwrap();
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn retention_rules() {
        let now = SystemTime::now();
        let s = sets(now, &[100, 50, 30, 10, 1]);
        // No rule: everything stays.
        assert_eq!(kept(&cfg(""), &s, now), vec![true; 5]);
        // By count.
        assert_eq!(
            kept(&cfg("keep_backups = 2\n"), &s, now),
            vec![false, false, false, true, true]
        );
        // By window: every set inside the last 24 h, and the newest before
        // it (recovery to the window's start begins there).
        assert_eq!(
            kept(&cfg("retention_window = 1d\n"), &s, now),
            vec![false, false, true, true, true]
        );
        assert_eq!(
            kept(&cfg("retention_window = 40h\n"), &s, now),
            vec![false, true, true, true, true]
        );
        // Both: a set either rule keeps stays.
        assert_eq!(
            kept(&cfg("retention_window = 2h\nkeep_backups = 3\n"), &s, now),
            vec![false, false, true, true, true]
        );
        // A window with nothing inside still keeps the newest.
        let old = sets(now, &[300, 200]);
        assert_eq!(
            kept(&cfg("retention_window = 1h\n"), &old, now),
            vec![false, true]
        );
        assert_eq!(
            rule(&cfg("retention_window = 1d\nkeep_backups = 3\n")),
            "keep 3 backups + recovery window 1d00h"
        );
    }
}
