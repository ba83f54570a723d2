//! The archive: `xarchive` (the master's archive_command), `xrestore` (the
//! standby's restore_command), and reading, purging and verifying what is
//! archived.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use super::store::{self, StoreError, Stored};
use super::wal::{Segment, WalFile};
use super::WalConfig;

/// Control files in `completed_wals` (the original's names).
pub const STOP: &str = "STOP";
pub const PAUSE: &str = "PAUSE";
pub const PROGRESS: &str = "PROGRESS";
pub const BACKUPLOCK: &str = "BACKUPLOCK";

/// A WAL file name as PostgreSQL hands it over, checked: only WAL names
/// reach the file system (no `../`).
pub fn checked_name(name: &str) -> Result<WalFile> {
    WalFile::parse(name).ok_or_else(|| {
        anyhow::anyhow!(
            "{name:?} is not a WAL file name (segment, .history, .backup or .partial); \
             walmgr archives only what PostgreSQL's archive_command hands over"
        )
    })
}

fn push_dir(cfg: &WalConfig) -> PathBuf {
    cfg.spool_dir.join(format!("push-{}", cfg.job_name))
}

/// `xarchive SRCPATH NAME`: store one WAL file in `completed_wals`.
/// Archiving the same content twice succeeds; other content under an
/// archived name fails loudly and changes nothing.
///
/// With `archive_async = N`, a background `xpush` (one at a time) stores
/// the next `N` segments the server has marked ready, in parallel, and
/// leaves a marker for each in the spool; the server's later call for such
/// a segment finds its marker and returns at once.
pub fn xarchive(cfg: &WalConfig, src: &Path, name: &str) -> Result<()> {
    let master = cfg.master("xarchive")?;
    checked_name(name)?;
    run_periodic(cfg, &master.data);
    let dir = &cfg.completed_wals;
    if cfg.remote.is_none() && !dir.is_dir() {
        bail!(
            "the archive directory {} does not exist: run `skydeck walmgr {} setup` first",
            dir.display(),
            cfg.ini.display()
        );
    }
    let marker = push_dir(cfg).join(format!("{name}.ok"));
    if marker.exists() && (cfg.remote.is_some() || dir.join(name).exists()) {
        let _ = fs::remove_file(&marker);
        if master.archive_async > 0 {
            spawn_push(cfg, src, name);
        }
        return Ok(());
    }
    // (Temporary files of killed writers are swept by the hosted job and
    // `cleanup`, not here: a listing of the whole archive per segment.)
    archive_one(cfg, src, name)?;
    if master.archive_async > 0 {
        spawn_push(cfg, src, name);
    }
    Ok(())
}

fn archive_one(cfg: &WalConfig, src: &Path, name: &str) -> Result<Stored> {
    if let Some(r) = &cfg.remote {
        let mut f = fs::File::open(src).with_context(|| format!("opening {}", src.display()))?;
        return super::remote::push(cfg, r, super::remote::Kind::Wal, &mut f, name)
            .with_context(|| format!("archiving {name} to {}", r.host));
    }
    let dst = cfg.completed_wals.join(name);
    // Already there (a retry): compare checksums without compressing again.
    if dst.exists() {
        match same_content(src, &dst) {
            Ok(Some(s)) => return Ok(s),
            Ok(None) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match store::store_file(src, &dst, cfg.compression, false) {
        Ok(s) => Ok(s),
        Err(e @ StoreError::Conflict { .. }) => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("archiving {name}"))),
    }
}

/// `Some` when `dst` is a stored copy of `src`'s content; a conflict when
/// it holds something else; `None` when `dst` is not a readable stored
/// file (`store` then refuses it as a conflict, so a damaged archive file
/// is never silently replaced).
fn same_content(src: &Path, dst: &Path) -> Result<Option<Stored>, StoreError> {
    let header = match store::read_header(dst) {
        Ok(h) => h,
        Err(StoreError::BadHeader { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (sum, len) = store::hash_file(src)?;
    if sum == header.sha256 && len == header.len {
        // A retry is the server's last chance to keep its copy: the
        // archived one must be whole, not just name the same checksum.
        store::verify(dst)?;
        let stored = fs::metadata(dst).map(|m| m.len()).unwrap_or(0);
        return Ok(Some(Stored::Same { header, stored }));
    }
    Err(StoreError::Conflict {
        path: dst.to_path_buf(),
        archived: header.sha256_hex(),
        new: store::hex(&sum),
    })
}

/// Start `xpush` detached: the server's archive_command returns at once.
fn spawn_push(cfg: &WalConfig, src: &Path, name: &str) {
    let (Ok(exe), Some(wal_dir)) = (std::env::current_exe(), src.parent()) else {
        return;
    };
    let wal_dir = std::env::current_dir()
        .map(|d| d.join(wal_dir))
        .unwrap_or_else(|_| wal_dir.to_path_buf());
    let _ = std::process::Command::new(exe)
        .arg("walmgr")
        .arg(&cfg.ini)
        .arg("xpush")
        .arg(wal_dir)
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn();
}

/// `xpush WALDIR AFTER`: store the segments after `AFTER` that
/// WALDIR/archive_status marks `.ready`, up to `archive_async` of them,
/// that many at a time, each leaving its marker. One pusher at a time;
/// failures are left for the server's own call to report. Markers of
/// segments the server has passed are removed.
pub fn xpush(cfg: &WalConfig, wal_dir: &Path, after: &str) -> Result<Vec<String>> {
    let master = cfg.master("xpush")?;
    let spool = push_dir(cfg);
    super::make_dir(&spool, super::owner_of(&master.data))?;
    let Some(_lock) = PidLock::take(&spool.join("LOCK")) else {
        return Ok(Vec::new());
    };
    if let Ok(rd) = fs::read_dir(&spool) {
        for e in rd.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(base) = f.strip_suffix(".ok") {
                if base <= after {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    let Ok(rd) = fs::read_dir(wal_dir.join("archive_status")) else {
        return Ok(Vec::new());
    };
    let mut ready: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            let base = f.strip_suffix(".ready")?.to_string();
            matches!(WalFile::parse(&base), Some(WalFile::Segment(_))).then_some(base)
        })
        .filter(|b| b.as_str() > after)
        .filter(|b| !spool.join(format!("{b}.ok")).exists())
        .collect();
    ready.sort();
    ready.truncate(master.archive_async);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for b in &ready {
            let done = &done;
            let spool = &spool;
            s.spawn(move || {
                if archive_one(cfg, &wal_dir.join(b), b).is_ok()
                    && fs::write(spool.join(format!("{b}.ok")), b"").is_ok()
                {
                    done.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(b.clone());
                }
            });
        }
    });
    let mut v = done.into_inner().unwrap_or_else(|p| p.into_inner());
    v.sort();
    Ok(v)
}

/// `xpartialsync FILE OFFSET BYTES`: write `bytes` bytes of `input` at
/// `offset` into the partial copy of segment `file` (a whole segment,
/// zero-filled where nothing was written yet), replacing it atomically.
pub fn xpartialsync(
    cfg: &WalConfig,
    file: &str,
    offset: u64,
    bytes: u64,
    input: &mut dyn std::io::Read,
) -> Result<()> {
    let Some(WalFile::Segment(this)) = WalFile::parse(file) else {
        bail!("{file:?} is not a WAL segment name");
    };
    let dst = cfg.partial_wals.join(file);
    // From the partial copy, else the segment before it (the same log id
    // whatever the size); a listing of the archive only when neither is
    // there.
    let before = (this.seg > 0).then(|| {
        let prev = Segment {
            seg: this.seg - 1,
            ..this
        };
        cfg.completed_wals.join(prev.name())
    });
    let seg_size = header_segment_size(&dst)
        .or_else(|| before.as_deref().and_then(header_segment_size))
        .or_else(|| segment_size(&cfg.completed_wals))
        .unwrap_or(DEFAULT_SEGMENT_SIZE);
    if offset.checked_add(bytes).is_none_or(|end| end > seg_size) {
        bail!("{offset} + {bytes} bytes does not fit a segment of {seg_size} bytes");
    }
    let mut seg = Vec::with_capacity(seg_size as usize);
    if dst.exists() {
        store::extract(&dst, &mut seg)?;
    }
    seg.resize(seg_size as usize, 0);
    let mut part = vec![0u8; bytes as usize];
    input
        .read_exact(&mut part)
        .with_context(|| format!("reading {bytes} bytes for {file}"))?;
    seg[offset as usize..(offset + bytes) as usize].copy_from_slice(&part);
    if !cfg.partial_wals.is_dir() {
        super::make_dir(&cfg.partial_wals, None)?;
    }
    store::store(&mut &seg[..], &dst, cfg.compression, true)?;
    Ok(())
}

/// `periodic`: run `periodic_command` when `command_interval` has passed
/// since the last run (timestamp file `.walshipping.periodic` in the data
/// directory). Failures are logged, never fail the caller.
pub fn run_periodic(cfg: &WalConfig, data: &Path) -> bool {
    let Some(cmd) = &cfg.periodic_command else {
        return false;
    };
    let stamp = data.join(".walshipping.periodic");
    let due = match fs::metadata(&stamp).and_then(|m| m.modified()) {
        Ok(t) => SystemTime::now()
            .duration_since(t)
            .map(|d| d >= cfg.command_interval)
            .unwrap_or(true),
        Err(_) => true,
    };
    if !due {
        return false;
    }
    let _ = fs::write(&stamp, b"");
    match std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("walmgr: periodic_command failed ({s}): {cmd}"),
        Err(e) => eprintln!("walmgr: periodic_command could not run: {e}"),
    }
    true
}

/// How `xrestore` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// Copied from the archive (or the spool, or a partial file).
    Found,
    /// Not there (or held back): the server is told so (exit 1) and goes
    /// on — to streaming when it has `primary_conninfo`, asking again
    /// after `wal_retrieve_retry_interval` in standby mode, to the end of
    /// recovery in a targeted recovery.
    Missing { why: String },
}

/// `xrestore NAME DSTPATH`: put archived `name` at `dst`, checked against
/// its checksum, or fail at once.
///
/// The original waited inside restore_command for a segment not archived
/// yet (unless `primary_conninfo` was set). Since PostgreSQL 15 the
/// startup process reads WAL ahead of replay, so a waiting
/// restore_command holds up replay of the segment before it; walmgr
/// therefore always answers at once, and standby mode asks again. The
/// control files keep their meaning: with `PAUSE` nothing is handed over
/// (replay from the archive stops at the next segment), with `STOP` a
/// missing segment is taken from `partial_wals` when `sync` copied it.
pub fn xrestore(cfg: &WalConfig, name: &str, dst: &Path) -> Result<Restored> {
    // A master's job file restores too (a point-in-time copy restored with
    // it).
    let sb = cfg.standby.as_ref();
    let file = checked_name(name)?;
    let dir = &cfg.completed_wals;
    let src = dir.join(name);
    let segment = matches!(file, WalFile::Segment(_));
    // PAUSE holds a standby; a targeted recovery (recovery.signal, or a
    // copy restored with a master's job file) is never held: refusing it a
    // segment would end it early.
    let held = sb.is_some_and(|s| !s.data.join("recovery.signal").exists());
    if segment && held && dir.join(PAUSE).exists() {
        return Ok(Restored::Missing {
            why: "replay is paused (PAUSE file; `continue` removes it)".into(),
        });
    }
    if let Some(r) = take_prefetched(cfg, name, dst) {
        return Ok(r);
    }
    if src.exists() {
        store::extract_to(&src, dst, 0o600, false).map_err(|e| restore_failed(name, &src, e))?;
        let _ = fs::write(dir.join(PROGRESS), name);
        if let WalFile::Segment(seg) = file {
            if sb.is_some_and(|s| s.restore_prefetch > 0) {
                spawn_prefetch(cfg, seg);
            }
        }
        return Ok(Restored::Found);
    }
    // Boot of a standby fed by the archive alone: the partial segment
    // `sync` copied, if any. (A streaming standby has newer WAL of its
    // own in pg_wal than any copy `sync` made: it never gets one.)
    let archive_only = sb.is_some_and(|s| s.primary_conninfo.is_none());
    if segment && archive_only && dir.join(STOP).exists() {
        let partial = cfg.partial_wals.join(name);
        if partial.exists() {
            store::extract_to(&partial, dst, 0o600, false)
                .map_err(|e| restore_failed(&format!("partial {name}"), &partial, e))?;
            return Ok(Restored::Found);
        }
    }
    Ok(Restored::Missing {
        why: if sb.is_some_and(|s| s.primary_conninfo.is_some()) {
            "not archived yet (the server streams from primary_conninfo)".into()
        } else {
            "not archived (yet)".into()
        },
    })
}

/// The error of a failed extraction of `src` for xrestore: a damaged
/// archive file says so; a failure to read it or to write the server's
/// file (a full disk, permissions) names the file and what to check.
fn restore_failed(name: &str, src: &Path, e: StoreError) -> anyhow::Error {
    let why = if e.is_damage() {
        "the archived copy failed its check and was not used".to_string()
    } else if matches!(&e, StoreError::Io { path, .. } if path == src) {
        format!(
            "cannot read the archived copy {} (check its permissions and the disk)",
            src.display()
        )
    } else {
        "cannot write the server's copy: check free space and permissions".to_string()
    };
    anyhow::Error::new(e).context(format!("restoring {name}: {why}"))
}

fn prefetch_dir(cfg: &WalConfig) -> PathBuf {
    cfg.spool_dir.join(format!("restore-{}", cfg.job_name))
}

/// A segment already fetched (and checked) by the prefetcher is moved into
/// place. When that fails, the prefetched copy (and any temporary file) is
/// removed and `None` returned, after a line on stderr: the caller then
/// extracts the archived copy, which is still there (an error here must
/// not reach the server, which takes a failed restore_command as fatal).
fn take_prefetched(cfg: &WalConfig, name: &str, dst: &Path) -> Option<Restored> {
    let p = prefetch_dir(cfg).join(name);
    if !p.exists() {
        return None;
    }
    let failed = match fs::rename(&p, dst) {
        Ok(()) => return Some(Restored::Found),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        // Another file system: copy through a temporary name.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp = dst.with_extension("skydeck-tmp");
            match fs::copy(&p, &tmp).and_then(|_| fs::rename(&tmp, dst)) {
                Ok(()) => {
                    let _ = fs::remove_file(&p);
                    return Some(Restored::Found);
                }
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    e
                }
            }
        }
        Err(e) => e,
    };
    eprintln!(
        "walmgr: cannot place the prefetched copy of {name} ({}) at {}: {failed}; \
         restoring it from the archive instead",
        p.display(),
        dst.display()
    );
    let _ = fs::remove_file(&p);
    None
}

/// Start `xprefetch` for the segments after `seg`, detached: the server's
/// restore_command returns at once.
fn spawn_prefetch(cfg: &WalConfig, seg: Segment) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = std::process::Command::new(exe)
        .arg("walmgr")
        .arg(&cfg.ini)
        .arg("xprefetch")
        .arg(seg.name())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn();
}

/// `xprefetch SEGMENT`: fetch the `restore_prefetch` segments after
/// `SEGMENT` into the spool, checked, in parallel; keep the spool bounded
/// (segments before `SEGMENT` are removed). One prefetcher at a time.
pub fn xprefetch(cfg: &WalConfig, after: &str) -> Result<Vec<String>> {
    let sb = cfg.standby("xprefetch")?;
    let Some(WalFile::Segment(seg)) = WalFile::parse(after) else {
        bail!("{after:?} is not a WAL segment name");
    };
    let dir = prefetch_dir(cfg);
    super::make_dir(&dir, super::owner_of(&cfg.completed_wals))?;
    let lock = dir.join("LOCK");
    let _guard = match PidLock::take(&lock) {
        Some(g) => g,
        None => return Ok(Vec::new()),
    };
    store::sweep_temp(&dir);
    // Drop what the server has passed.
    if let Ok(rd) = fs::read_dir(&dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(s) = Segment::parse(&n) {
                if s.pos() <= seg.pos() {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    // From the segment just restored: no listing of the archive per
    // segment.
    let seg_size = header_segment_size(&cfg.completed_wals.join(after))
        .or_else(|| segment_size(&cfg.completed_wals))
        .unwrap_or(DEFAULT_SEGMENT_SIZE);
    let per_log = super::wal::segs_per_log(seg_size);
    let mut want = Vec::new();
    let mut s = seg;
    for _ in 0..sb.restore_prefetch {
        s = s.next(per_log);
        let n = s.name();
        if cfg.completed_wals.join(&n).exists() && !dir.join(&n).exists() {
            want.push(n);
        }
    }
    let got = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for chunk in want.chunks(want.len().div_ceil(2).max(1)) {
            let got = &got;
            let dir = &dir;
            sc.spawn(move || {
                for n in chunk {
                    if store::extract_to(&cfg.completed_wals.join(n), &dir.join(n), 0o600, false)
                        .is_ok()
                    {
                        got.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(n.clone());
                    }
                }
            });
        }
    });
    Ok(got.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// The lock file `path`, open and flock()ed by us; `None` when another
/// process holds the flock (the kernel drops it when that process dies, so
/// a lock is never stale).
fn open_locked(path: &Path) -> io::Result<Option<fs::File>> {
    use std::os::unix::io::AsRawFd;
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock on a descriptor we own.
    Ok((unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0).then_some(f))
}

fn write_pid(f: &mut fs::File, pid: i32) -> bool {
    use std::io::{Seek, Write};
    f.set_len(0).is_ok()
        && f.seek(std::io::SeekFrom::Start(0)).is_ok()
        && write!(f, "{pid}").is_ok()
        && f.flush().is_ok()
}

/// `xlock PID`: mark the lock file `path` as held by `pid` (another
/// process, which outlives this command), unless a live process holds it.
pub fn lock_for(path: &Path, pid: i32) -> bool {
    let Ok(Some(mut f)) = open_locked(path) else {
        return false;
    };
    if PidLock::holder(path).is_some() {
        return false;
    }
    write_pid(&mut f, pid)
}

/// A lock file holding our pid while we hold its flock; emptied on drop.
pub struct PidLock {
    file: fs::File,
}

impl PidLock {
    /// Take the lock, unless another process holds it (its flock, or a
    /// live pid written by `xlock`).
    pub fn take(path: &Path) -> Option<PidLock> {
        Self::try_take(path).ok().flatten()
    }

    /// [`PidLock::take`], telling a lock file that cannot be opened or
    /// written (permissions, a missing directory) from a held one.
    pub fn try_take(path: &Path) -> io::Result<Option<PidLock>> {
        let Some(mut file) = open_locked(path)? else {
            return Ok(None);
        };
        let me = std::process::id() as i32;
        if PidLock::holder(path).is_some_and(|p| p != me) {
            return Ok(None);
        }
        if !write_pid(&mut file, me) {
            return Err(io::Error::other("cannot write the pid"));
        }
        Ok(Some(PidLock { file }))
    }

    /// The pid that holds `path`, if a live one does.
    pub fn holder(path: &Path) -> Option<i32> {
        fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|p| store::process_alive(*p))
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // (the flock goes with the descriptor)
        let _ = self.file.set_len(0);
    }
}

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct ArchivedFile {
    pub name: String,
    pub kind: WalFile,
    /// Bytes on disk.
    pub stored: u64,
}

/// Every WAL file in `completed_wals`, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<ArchivedFile>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(kind) = WalFile::parse(&name) else {
            continue;
        };
        v.push(ArchivedFile {
            name,
            kind,
            stored: e.metadata().map(|m| m.len()).unwrap_or(0),
        });
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// PostgreSQL's default WAL segment size, when no archived segment tells.
const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;

/// The WAL segment size, from the original length of any archived
/// segment (a listing of the whole archive: not for a per-segment path).
pub fn segment_size(dir: &Path) -> Option<u64> {
    segment_size_in(dir, &list(dir).ok()?)
}

/// The WAL segment size, from the first segment among `files` (listed in
/// `dir`) whose header can be read.
fn segment_size_in(dir: &Path, files: &[ArchivedFile]) -> Option<u64> {
    files.iter().find_map(|f| match f.kind {
        WalFile::Segment(_) => header_segment_size(&dir.join(&f.name)),
        _ => None,
    })
}

/// The original length of the stored segment `path`, when it can be read
/// and is a WAL segment size PostgreSQL allows (a power of two from 1 MB
/// to 1 GB: a damaged header never sizes a buffer).
fn header_segment_size(path: &Path) -> Option<u64> {
    let len = store::read_header(path).ok()?.len;
    (len.is_power_of_two() && ((1 << 20)..=(1 << 30)).contains(&len)).then_some(len)
}

/// Remove archived segments (and backup history files) before `keep`
/// (position, any timeline); history files are always kept. Returns the
/// names removed.
pub fn purge_before(dir: &Path, keep: Segment, dry_run: bool) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for f in list(dir)? {
        let old = match f.kind {
            WalFile::Segment(s) | WalFile::Partial(s) | WalFile::Backup(s) => s.pos() < keep.pos(),
            WalFile::History(_) => false,
        };
        if old {
            if !dry_run {
                fs::remove_file(dir.join(&f.name))
                    .with_context(|| format!("removing {}", dir.join(&f.name).display()))?;
            }
            removed.push(f.name);
        }
    }
    Ok(removed)
}

/// A file that failed `verify`.
#[derive(Debug, Clone)]
pub struct Damaged {
    pub path: PathBuf,
    pub error: String,
}

/// Check every archived file against its checksum, two at a time.
pub fn verify_all(dir: &Path) -> Result<(usize, Vec<Damaged>)> {
    let files = list(dir)?;
    let bad = check_each(&files, |f| {
        let p = dir.join(&f.name);
        store::verify(&p).err().map(|e| Damaged {
            path: p,
            error: e.to_string(),
        })
    });
    Ok((files.len(), bad))
}

/// Run `check` over `items` on two threads (reading and hashing every
/// file is the work); what it finds, sorted by path.
pub fn check_each<T: Sync>(
    items: &[T],
    check: impl Fn(&T) -> Option<Damaged> + Sync,
) -> Vec<Damaged> {
    let bad = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for half in items.chunks(items.len().div_ceil(2).max(1)) {
            let (bad, check) = (&bad, &check);
            s.spawn(move || {
                for it in half {
                    if let Some(d) = check(it) {
                        bad.lock().unwrap_or_else(|p| p.into_inner()).push(d);
                    }
                }
            });
        }
    });
    let mut bad = bad.into_inner().unwrap_or_else(|p| p.into_inner());
    bad.sort_by(|a, b| a.path.cmp(&b.path));
    bad
}

/// Missing segments between `from` and the newest archived segment of
/// `from`'s timeline (or its descendants, followed through their
/// history files), for `verify`'s continuity check: a backup needs every
/// segment from its start on.
pub fn gaps_after(dir: &Path, from: Segment) -> Result<Vec<String>> {
    let files = list(dir)?;
    let seg_size = segment_size_in(dir, &files).unwrap_or(DEFAULT_SEGMENT_SIZE);
    let per_log = super::wal::segs_per_log(seg_size);
    let have: std::collections::HashSet<(u32, u32, u32)> = files
        .iter()
        .filter_map(|f| match f.kind {
            WalFile::Segment(s) => Some((s.tli, s.log, s.seg)),
            _ => None,
        })
        .collect();
    let Some(last) = files
        .iter()
        .filter_map(|f| match f.kind {
            WalFile::Segment(s) if s.tli >= from.tli => Some(s),
            _ => None,
        })
        .max_by_key(|s| s.pos())
    else {
        return Ok(vec![from.name()]);
    };
    let mut gaps = Vec::new();
    let mut s = from;
    while s.pos() <= last.pos() {
        // Any timeline at or after the backup's will do at this position.
        let found = (from.tli..=last.tli).any(|t| have.contains(&(t, s.log, s.seg)));
        if !found {
            gaps.push(s.name());
            if gaps.len() > 100 {
                break;
            }
        }
        s = s.next(per_log);
    }
    Ok(gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_size_comes_from_a_stored_segment_and_is_checked() {
        let d = std::env::temp_dir().join(format!("skydeck-segsize-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let seg = vec![0u8; 1 << 20];
        for n in ["000000010000000000000001", "000000010000000000000003"] {
            store::store(
                &mut seg.as_slice(),
                &d.join(n),
                store::Codec::Zstd(1),
                false,
            )
            .unwrap();
        }
        assert_eq!(
            header_segment_size(&d.join("000000010000000000000001")),
            Some(1 << 20)
        );
        assert_eq!(segment_size(&d), Some(1 << 20));
        // 1 MB segments: 4096 per log id; the gap is found with that size.
        let from = Segment::parse("000000010000000000000001").unwrap();
        assert_eq!(
            gaps_after(&d, from).unwrap(),
            vec!["000000010000000000000002".to_string()]
        );
        // A length no segment has never sizes anything.
        let odd = d.join("000000010000000000000009");
        store::store(&mut &b"short"[..], &odd, store::Codec::None, false).unwrap();
        assert_eq!(header_segment_size(&odd), None);
        assert_eq!(header_segment_size(&d.join("missing")), None);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_restore_blames_the_archive_only_when_it_is_damaged() {
        let src = Path::new("/archive/000000010000000000000001");
        let io = |path: &str| StoreError::Io {
            path: PathBuf::from(path),
            what: "writing",
            source: io::Error::from(io::ErrorKind::StorageFull),
        };
        let msg = |e| format!("{:#}", restore_failed("000000010000000000000001", src, e));
        let full = msg(io("/data/pg_wal/RECOVERYXLOG"));
        assert!(full.contains("check free space and permissions"), "{full}");
        assert!(full.contains("/data/pg_wal/RECOVERYXLOG"), "{full}");
        assert!(!full.contains("failed its check"), "{full}");
        let unreadable = msg(io(&src.display().to_string()));
        assert!(
            unreadable.contains("cannot read the archived copy"),
            "{unreadable}"
        );
        let bad = msg(StoreError::BadHeader {
            path: src.to_path_buf(),
        });
        assert!(bad.contains("failed its check and was not used"), "{bad}");
    }

    #[test]
    fn a_prefetched_copy_that_cannot_be_placed_is_dropped_not_fatal() {
        let (d, cfg) = crate::walmgr::scratch_standby("skydeck-prefetch");
        let name = "000000010000000000000002";
        let spool = prefetch_dir(&cfg);
        fs::create_dir_all(&spool).unwrap();
        let p = spool.join(name);
        fs::write(&p, b"segment").unwrap();
        // A destination that cannot be replaced by a file.
        let dst = d.join("busy");
        fs::create_dir_all(dst.join("x")).unwrap();
        assert_eq!(take_prefetched(&cfg, name, &dst), None);
        assert!(!p.exists(), "the prefetched copy is removed");
        assert!(!d.join("busy.skydeck-tmp").exists());
        // A good one is moved into place.
        fs::write(&p, b"segment").unwrap();
        let dst = d.join("RECOVERYXLOG");
        assert!(matches!(
            take_prefetched(&cfg, name, &dst),
            Some(Restored::Found)
        ));
        assert_eq!(fs::read(&dst).unwrap(), b"segment");
        fs::remove_dir_all(&d).unwrap();
    }
}
