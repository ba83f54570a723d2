//! walmgr against real clusters: a master archiving through `xarchive`,
//! base backups, standbys restored from them following the archive and
//! streaming, point-in-time restores, and the archive's guarantees
//! (atomic, idempotent, checked) and retention.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::wait_until;
use skydeck::cluster::{base_dir, LocalCluster};

/// The skydeck binary, copied where the server's user (postgres, when the
/// tests run as root) can run it: archive_command and restore_command run
/// it as that user. One copy for every run, replaced whole (a server still
/// running the old one keeps it).
fn skydeck() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        skydeck::walmgr::copy_exe_for_server(
            Path::new(env!("CARGO_BIN_EXE_skydeck")),
            &base_dir().join("walmgr-bin"),
        )
        .unwrap()
    })
}

/// A directory for one test's job files and archive, reachable by the
/// server's user; removed on drop.
struct Workspace(PathBuf);

impl Workspace {
    fn new(name: &str) -> Workspace {
        let d = base_dir().join(format!("walmgr-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        Workspace(d)
    }
    fn path(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    /// Write a job file (readable by the server's user: no secrets here).
    fn job(&self, name: &str, body: &str) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, format!("[walmgr]\njob_name = {name}\n{body}")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }
}

impl Workspace {
    /// A job file whose server is not started: `side` is `master_data` or
    /// `slave_data`, pointing at a fresh directory; `extra` adds keys.
    fn offline_job(&self, name: &str, side: &str, extra: &str) -> PathBuf {
        let data = self.path(&format!("{name}-data"));
        fs::create_dir_all(&data).unwrap();
        self.job(
            name,
            &format!(
                "{side} = {}\nwalmgr_data = {}\n{extra}",
                data.display(),
                self.path("archive").display()
            ),
        )
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if std::env::var_os("SKYDECK_KEEP_CLUSTERS").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn walmgr(job: &Path, args: &[&str]) -> Output {
    Command::new(skydeck())
        .arg("walmgr")
        .arg(job)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Run and require failure; returns stderr (what the user reads).
fn fails(job: &Path, args: &[&str]) -> String {
    let out = walmgr(job, args);
    assert!(
        !out.status.success(),
        "walmgr {} {args:?} succeeded",
        job.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run and require success; returns stdout.
fn ok(job: &Path, args: &[&str]) -> String {
    let out = walmgr(job, args);
    assert!(
        out.status.success(),
        "walmgr {} {args:?} failed ({}):\n{}{}",
        job.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn master() -> LocalCluster {
    LocalCluster::builder("walmaster")
        .setting("wal_level", "replica")
        .setting("archive_mode", "on")
        .setting("max_wal_senders", "10")
        .start()
        .unwrap()
}

fn master_job(ws: &Workspace, m: &LocalCluster, extra: &str) -> PathBuf {
    ws.job(
        "master.ini",
        &format!(
            "master_data = {}\nmaster_db = {}\nwalmgr_data = {}\n{extra}",
            m.data_dir().display(),
            m.connstr("postgres"),
            ws.path("archive").display()
        ),
    )
}

/// A started master with its job file (`extra` adds keys), set up, and
/// a connection to it holding an empty table `t`.
async fn set_up_master(
    ws: &Workspace,
    extra: &str,
) -> (LocalCluster, PathBuf, tokio_postgres::Client) {
    let m = master();
    let mj = master_job(ws, &m, extra);
    ok(&mj, &["setup"]);
    let mc = m.connect("postgres").await.unwrap();
    mc.batch_execute("create table t (id int primary key, v text)")
        .await
        .unwrap();
    (m, mj, mc)
}

/// `status --json` of a job.
fn status_json(job: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(job, &["status", "--json"])).unwrap()
}

/// Until the standby behind `c` streams from its primary.
async fn wait_streaming(c: &tokio_postgres::Client, what: &str) {
    wait_until(
        c,
        what,
        "select exists (select 1 from pg_stat_wal_receiver where status = 'streaming')",
    )
    .await;
}

/// Switch to a new segment and wait until the old one is archived.
async fn switch_and_archive(c: &tokio_postgres::Client) -> String {
    let seg: String = c
        .query_one("select pg_walfile_name(pg_switch_wal())", &[])
        .await
        .unwrap()
        .get(0);
    wait_until(
        c,
        &format!("{seg} archived"),
        &format!("select coalesce(last_archived_wal >= '{seg}', false) from pg_stat_archiver"),
    )
    .await;
    seg
}

async fn count(c: &tokio_postgres::Client) -> i64 {
    c.query_one("select count(*) from t", &[])
        .await
        .unwrap()
        .get(0)
}

/// Poll a standby until `select count(*) from t` is `n`.
async fn wait_count(c: &tokio_postgres::Client, n: i64, what: &str) {
    let t0 = Instant::now();
    loop {
        if let Ok(r) = c.query_one("select count(*) from t", &[]).await {
            if r.get::<_, i64>(0) == n {
                return;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn insert(c: &tokio_postgres::Client, from: i32, to: i32) {
    c.execute(
        "insert into t select i, md5(i::text) from generate_series($1::int, $2::int) i",
        &[&from, &to],
    )
    .await
    .unwrap();
}

fn standby_cluster(name: &str) -> LocalCluster {
    LocalCluster::builder(name)
        .setting("hot_standby", "on")
        .unstarted()
        .unwrap()
}

fn standby_job(ws: &Workspace, name: &str, s: &LocalCluster, extra: &str) -> PathBuf {
    ws.job(
        name,
        &format!(
            "slave_data = {}\nslave_db = {}\nwalmgr_data = {}\n{extra}",
            s.data_dir().display(),
            s.connstr("postgres"),
            ws.path("archive").display()
        ),
    )
}

fn set_hba_replication(m: &LocalCluster, allow: bool) {
    let p = m.data_dir().join("pg_hba.conf");
    let text = fs::read_to_string(&p).unwrap();
    let reject = "local replication all reject\nhost replication all 127.0.0.1/32 reject\n";
    let rest = text.strip_prefix(reject).unwrap_or(&text).to_string();
    let new = if allow {
        rest
    } else {
        format!("{reject}{rest}")
    };
    fs::write(&p, new).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_follows_the_archive_streams_and_falls_back() {
    let ws = Workspace::new("follow");
    let m = master();
    let mj = master_job(&ws, &m, "compression = zstd\n");
    let out = ok(&mj, &["setup"]);
    assert!(out.contains("archive_command"), "{out}");
    let mc = m.connect("postgres").await.unwrap();
    // (A reload reaches each session at its own pace.)
    wait_until(
        &mc,
        "archive_command set",
        "select current_setting('archive_command') like '% xarchive \\%p \\%f'",
    )
    .await;
    // setup is idempotent.
    assert!(ok(&mj, &["setup"]).contains("already set up"));
    mc.batch_execute("create table t (id int primary key, v text)")
        .await
        .unwrap();
    insert(&mc, 1, 1000).await;
    switch_and_archive(&mc).await;

    let set = ok(&mj, &["backup"]).trim().to_string();
    assert!(ok(&mj, &["listbackups"]).contains(&set));

    // A warm standby from the archive alone.
    let mut s1 = standby_cluster("walsb1");
    let j1 = standby_job(&ws, "s1.ini", &s1, "");
    let out = ok(&j1, &["restore"]);
    assert!(out.contains(&set), "{out}");
    assert!(s1.data_dir().join("standby.signal").exists());
    s1.start_existing().unwrap();
    let c1 = s1.connect("postgres").await.unwrap();
    insert(&mc, 1001, 2000).await;
    switch_and_archive(&mc).await;
    wait_count(&c1, 2000, "s1 replays from the archive").await;
    let st = status_json(&j1);
    assert_eq!(st["source"], "Archive", "{st}");
    assert_eq!(st["role"], "Standby");

    // A standby with primary_conninfo streams (no segment switch needed).
    let mut s2 = standby_cluster("walsb2");
    let j2 = standby_job(
        &ws,
        "s2.ini",
        &s2,
        &format!("primary_conninfo = {}\n", m.connstr("postgres")),
    );
    ok(&j2, &["restore", &set]);
    s2.start_existing().unwrap();
    let c2 = s2.connect("postgres").await.unwrap();
    wait_streaming(&c2, "s2 streams").await;
    insert(&mc, 2001, 2100).await;
    wait_count(&c2, 2100, "s2 streams rows").await;
    let st = status_json(&j2);
    assert_eq!(st["source"], "Streaming", "{st}");
    assert!(st["lag_bytes"].is_u64(), "{st}");

    // Cut the walsender and refuse new replication connections: s2 goes
    // on from the archive.
    set_hba_replication(&m, false);
    mc.execute("select pg_reload_conf()", &[]).await.unwrap();
    mc.execute(
        "select pg_terminate_backend(pid) from pg_stat_replication",
        &[],
    )
    .await
    .unwrap();
    wait_until(
        &mc,
        "walsender gone",
        "select not exists (select 1 from pg_stat_replication)",
    )
    .await;
    insert(&mc, 2101, 2200).await;
    switch_and_archive(&mc).await;
    wait_count(&c2, 2200, "s2 falls back to the archive").await;
    let streaming: i64 = mc
        .query_one("select count(*) from pg_stat_replication", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(streaming, 0, "the rows came from the archive");
    // And streams again once allowed.
    set_hba_replication(&m, true);
    mc.execute("select pg_reload_conf()", &[]).await.unwrap();
    wait_streaming(&c2, "s2 streams again").await;
    insert(&mc, 2201, 2300).await;
    wait_count(&c2, 2300, "s2 streams after the cut").await;

    // Pause and continue the streaming standby.
    assert!(ok(&j2, &["pause"]).contains("paused"));
    let paused: bool = c2
        .query_one("select pg_is_wal_replay_paused()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(paused);
    let st = status_json(&j2);
    assert_eq!(st["paused"], true);
    ok(&j2, &["continue"]);
    insert(&mc, 2301, 2400).await;
    wait_count(&c2, 2400, "s2 replays after continue").await;

    // Rows committed after the last archived segment reach the warm
    // standby through `sync`'s partial copy when it boots.
    mc.batch_execute("set synchronous_commit = on")
        .await
        .unwrap();
    insert(&mc, 2401, 2450).await;
    assert!(ok(&mj, &["sync"]).contains("bytes copied"));
    // Boot the warm standby: it runs read-write.
    let out = ok(&j1, &["boot"]);
    assert!(out.contains("promoted"), "{out}");
    let rec: bool = c1
        .query_one("select pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!rec);
    assert_eq!(
        count(&c1).await,
        2450,
        "the partial segment's rows are there"
    );
    c1.execute("insert into t values (-1, 'after boot')", &[])
        .await
        .unwrap();

    // Master status: one screen.
    let text = ok(&mj, &["status"]);
    assert!(text.contains("last archived"), "{text}");
    assert!(text.contains(&set), "{text}");
    let st = status_json(&mj);
    assert!(st["archived_count"].as_u64().unwrap() >= 4, "{st}");
    assert_eq!(st["failed_count"], 0, "{st}");
    assert_eq!(st["backups"].as_array().unwrap().len(), 1);
    // Everything archived checks out.
    let v = ok(&mj, &["verify"]);
    assert!(v.contains("all good"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_restore_to_a_time_and_to_a_restore_point() {
    let ws = Workspace::new("pitr");
    let (m, mj, mc) = set_up_master(&ws, "compression = lz4\n").await;
    // A tablespace outside the data directory travels with the backup.
    let ts = ws.path("tblspc");
    fs::create_dir_all(&ts).unwrap();
    if let Some((uid, gid)) = skydeck::walmgr::owner_of(&m.data_dir()) {
        std::os::unix::fs::chown(&ts, Some(uid), Some(gid)).unwrap();
    }
    mc.batch_execute(&format!("create tablespace ts location '{}'", ts.display()))
        .await
        .unwrap();
    mc.batch_execute(
        "create table tt (id int) tablespace ts; insert into tt select generate_series(1, 50)",
    )
    .await
    .unwrap();
    let set = ok(&mj, &["backup"]).trim().to_string();
    insert(&mc, 1, 100).await;
    mc.batch_execute("insert into tt select generate_series(51, 70)")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let target: String = mc
        .query_one("select now()::text", &[])
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    insert(&mc, 101, 200).await;
    mc.execute("select pg_create_restore_point('after_b')", &[])
        .await
        .unwrap();
    insert(&mc, 201, 300).await;
    switch_and_archive(&mc).await;

    for (args, want) in [
        (vec!["--target-time", target.as_str()], 100i64),
        (vec!["--target-name", "after_b"], 200),
    ] {
        let mut p = standby_cluster("walpitr");
        let dst = p.data_dir().display().to_string();
        let mut a = vec!["restore", set.as_str(), dst.as_str()];
        a.extend(args.iter().copied());
        let out = ok(&mj, &a);
        assert!(p.data_dir().join("recovery.signal").exists(), "{out}");
        p.start_existing().unwrap();
        let c = p.connect("postgres").await.unwrap();
        wait_until(
            &c,
            "recovery ends at the target",
            "select not pg_is_in_recovery()",
        )
        .await;
        assert_eq!(count(&c).await, want, "restore {args:?}");
        let n: i64 = c
            .query_one("select count(*) from tt", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            n, 70,
            "the tablespace's table, restored outside the data directory"
        );
        // pg_tblspc/OID is a link to the restored tablespace, outside the
        // data directory (not into the master's).
        let link = fs::read_dir(p.data_dir().join("pg_tblspc"))
            .unwrap()
            .flatten()
            .next()
            .expect("a tablespace link");
        assert!(link.file_type().unwrap().is_symlink());
        let target = fs::read_link(link.path()).unwrap();
        assert!(!target.starts_with(&ts), "{}", target.display());
        assert!(!target.starts_with(p.data_dir()), "{}", target.display());
        assert!(
            !target.to_string_lossy().contains(".restoring"),
            "{}",
            target.display()
        );
    }
    // The clones did not archive into the master's archive (archive_mode
    // off): no timeline 2 there.
    assert!(!ws.path("archive/logs.complete/00000002.history").exists());
}

const SEG1: &str = "000000010000000000000001";
const SEG2: &str = "000000010000000000000002";

fn segment_bytes(seed: u8) -> Vec<u8> {
    let mut v = vec![0u8; 16 << 20];
    for (i, b) in v.iter_mut().enumerate().step_by(97) {
        *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
    }
    v
}

#[test]
fn the_archive_is_atomic_idempotent_and_checked() {
    let ws = Workspace::new("atomic");
    let mj = ws.offline_job("m.ini", "master_data", "");
    // No archive directory yet: a clear error.
    let src1 = ws.path("seg1");
    let a = segment_bytes(1);
    fs::write(&src1, &a).unwrap();
    let err = fails(&mj, &["xarchive", src1.to_str().unwrap(), SEG1]);
    assert!(err.contains("run `skydeck walmgr"), "{err}");
    let archive = ws.path("archive/logs.complete");
    fs::create_dir_all(&archive).unwrap();

    ok(&mj, &["xarchive", src1.to_str().unwrap(), SEG1]);
    let stored = fs::metadata(archive.join(SEG1)).unwrap().len();
    assert!(stored < a.len() as u64 / 4, "zstd by default: {stored}");
    // The same content again: fine (a retried archive_command).
    ok(&mj, &["xarchive", src1.to_str().unwrap(), SEG1]);
    // Other content under the same name: refused loudly, nothing changed.
    let other = ws.path("seg1-other");
    fs::write(&other, segment_bytes(9)).unwrap();
    let err = fails(&mj, &["xarchive", other.to_str().unwrap(), SEG1]);
    assert!(
        err.contains("already archived with different content"),
        "{err}"
    );
    // Hostile names never reach the file system.
    let err = fails(&mj, &["xarchive", src1.to_str().unwrap(), "../../etc/x"]);
    assert!(err.contains("is not a WAL file name"), "{err}");

    // An archiver killed mid-file leaves no segment, only a temporary file
    // that cleanup (or the hosted job) removes.
    let fifo = ws.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = Command::new(skydeck())
        .arg("walmgr")
        .arg(&mj)
        .args(["xarchive", fifo.to_str().unwrap(), SEG2])
        .spawn()
        .unwrap();
    let b = segment_bytes(2);
    {
        let mut w = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(&b[..6 << 20]).unwrap();
        // Give it time to compress what it got into its temporary file.
        let t0 = Instant::now();
        while !fs::read_dir(&archive)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
        {
            assert!(t0.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(
        !archive.join(SEG2).exists(),
        "no partial segment under its name"
    );
    let src2 = ws.path("seg2");
    fs::write(&src2, &b).unwrap();
    ok(&mj, &["xarchive", src2.to_str().unwrap(), SEG2]);
    let out = ok(&mj, &["cleanup"]);
    assert!(!out.is_empty());
    let leftovers: Vec<_> = fs::read_dir(&archive)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "stale temporary files swept");

    // A standby restores whole, checked segments.
    let sj = ws.offline_job("s.ini", "slave_data", "");
    let dst = ws.path("restored");
    ok(&sj, &["xrestore", SEG2, dst.to_str().unwrap()]);
    assert!(fs::read(&dst).unwrap() == b);
    ok(&sj, &["xrestore", SEG1, dst.to_str().unwrap()]);
    assert!(fs::read(&dst).unwrap() == a);
    assert_eq!(
        fs::read_to_string(archive.join("PROGRESS")).unwrap(),
        SEG1,
        "PROGRESS names the last restored segment"
    );
    // Missing with --once: exit 1 at once, nothing written.
    let missing = ws.path("missing");
    let out = walmgr(
        &sj,
        &[
            "xrestore",
            "000000010000000000000009",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());

    // Corruption is caught by verify and by restore.
    let mut raw = fs::read(archive.join(SEG1)).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0xff;
    fs::write(archive.join(SEG1), &raw).unwrap();
    let out = walmgr(&mj, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BAD") && text.contains(SEG1), "{text}");
    assert!(!text.contains(SEG2), "{text}");
    let bad = ws.path("bad");
    let out = walmgr(&sj, &["xrestore", SEG1, bad.to_str().unwrap()]);
    // Above 125: the server stops recovery instead of taking it for "not
    // archived" (which a boot would then skip past).
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") || err.contains("checksum"), "{err}");
    assert!(
        !bad.exists(),
        "a corrupt segment is never handed to the server"
    );
}

#[test]
fn xrestore_answers_at_once_and_honours_pause_and_stop() {
    let ws = Workspace::new("answer");
    let archive = ws.path("archive/logs.complete");
    fs::create_dir_all(&archive).unwrap();
    let warm = ws.offline_job("warm.ini", "slave_data", "");
    let streaming = ws.offline_job(
        "streaming.ini",
        "slave_data",
        "primary_conninfo = host=/nonexistent\n",
    );
    let dst = ws.path("dst");
    // Not archived: exit 1 at once, with or without primary_conninfo (the
    // server streams, or asks again later).
    let out = walmgr(&streaming, &["xrestore", SEG1, dst.to_str().unwrap(), "%r"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("streams"));
    let out = walmgr(&warm, &["xrestore", SEG1, dst.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let out = walmgr(
        &warm,
        &["xrestore", "00000002.history", dst.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dst.exists());

    let mj = ws.offline_job("m.ini", "master_data", "");
    let src = ws.path("seg1");
    fs::write(&src, segment_bytes(3)).unwrap();
    ok(&mj, &["xarchive", src.to_str().unwrap(), SEG1]);
    // PAUSE holds segments back (history files still pass).
    fs::write(archive.join("PAUSE"), b"").unwrap();
    let out = walmgr(&warm, &["xrestore", SEG1, dst.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("paused"));
    assert!(!dst.exists());
    fs::remove_file(archive.join("PAUSE")).unwrap();
    ok(&warm, &["xrestore", SEG1, dst.to_str().unwrap()]);
    assert_eq!(fs::read(&dst).unwrap(), segment_bytes(3));

    // STOP (boot): a missing segment comes from partial_wals when `sync`
    // copied it there.
    let partial_dir = ws.path("archive/logs.partial");
    fs::create_dir_all(&partial_dir).unwrap();
    // (what `sync` writes: the segment's beginning, zeros after it)
    let mut padded = segment_bytes(4)[..1 << 20].to_vec();
    padded.resize(16 << 20, 0);
    let mut part = &padded[..];
    skydeck::walmgr::store::store(
        &mut part,
        &partial_dir.join(SEG2),
        skydeck::walmgr::store::Codec::Zstd(1),
        true,
    )
    .unwrap();
    let out = walmgr(&warm, &["xrestore", SEG2, dst.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "no STOP: partials are not used");
    fs::write(archive.join("STOP"), b"").unwrap();
    ok(&warm, &["xrestore", SEG2, dst.to_str().unwrap()]);
    assert_eq!(fs::read(&dst).unwrap(), padded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_only_what_no_kept_backup_needs() {
    let ws = Workspace::new("retention");
    let (_m, mj, mc) = set_up_master(&ws, "keep_backups = 2\ncompression = none\n").await;
    let mut sets = Vec::new();
    for i in 0..3 {
        insert(&mc, i * 100 + 1, i * 100 + 100).await;
        switch_and_archive(&mc).await;
        sets.push(ok(&mj, &["backup"]).trim().to_string());
        switch_and_archive(&mc).await;
    }
    let list: serde_json::Value =
        serde_json::from_str(&ok(&mj, &["listbackups", "--json"])).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![sets[1].as_str(), sets[2].as_str()]);
    let keep_from = list[0]["start_wal"].as_str().unwrap().to_string();
    let archived: Vec<String> = fs::read_dir(ws.path("archive/logs.complete"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() >= 24 && n.chars().take(24).all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert!(!archived.is_empty());
    assert!(
        archived.iter().all(|n| n[8..24] >= keep_from[8..24]),
        "nothing before {keep_from} kept: {archived:?}"
    );
    assert!(archived.iter().any(|n| n == &keep_from), "{keep_from} kept");
    // What is kept is whole: every segment from the oldest backup on.
    let v = ok(&mj, &["verify"]);
    assert!(v.contains("all good"), "{v}");
    let again = ok(&mj, &["xrotate"]);
    assert!(again.contains("nothing to remove"), "{again}");
    // The oldest kept backup still restores.
    let mut p = standby_cluster("walret");
    let dst = p.data_dir().display().to_string();
    ok(&mj, &["restore", &sets[1], &dst, "--target-immediate"]);
    p.start_existing().unwrap();
    let c = p.connect("postgres").await.unwrap();
    wait_until(&c, "restored", "select not pg_is_in_recovery()").await;
    assert_eq!(count(&c).await, 200);
}

#[test]
fn job_files_are_checked() {
    let ws = Workspace::new("config");
    let bad = ws.job(
        "typo.ini",
        "master_data = /x\nwalmgr_data = /y\nkeep_backup = 3\n",
    );
    let err = fails(&bad, &["status"]);
    assert!(
        err.contains("keep_backup") && err.contains("keep_backups"),
        "{err}"
    );
    let remote = ws.job(
        "remote.ini",
        "master_data = /x\nwalmgr_data = standby1:/var/lib/wal\n",
    );
    let err = fails(&remote, &["status"]);
    assert!(
        err.contains("slave_config"),
        "a remote archive needs the far job file: {err}"
    );
    let split = ws.job(
        "split.ini",
        "master_data = /x\nwalmgr_data = a:/w\nfull_backup = b:/w/b\nslave_config = /s.ini\n",
    );
    let err = fails(&split, &["status"]);
    assert!(err.contains("the archive is on one host"), "{err}");
    let far_standby = ws.job("farsb.ini", "slave_data = /x\nwalmgr_data = a:/w\n");
    let err = fails(&far_standby, &["status"]);
    assert!(
        err.contains("a standby's archive directories are local"),
        "{err}"
    );
    let neither = ws.job("neither.ini", "walmgr_data = /y\n");
    let err = fails(&neither, &["status"]);
    assert!(
        err.contains("master_data") && err.contains("slave_data"),
        "{err}"
    );
    let codec = ws.job(
        "codec.ini",
        "master_data = /x\nwalmgr_data = /y\ncompression = gzip\n",
    );
    let err = fails(&codec, &["status"]);
    assert!(err.contains("compression") && err.contains("zstd"), "{err}");
    // A standby command on a master's job file says so.
    let m = ws.job("m.ini", "master_data = /x\nwalmgr_data = /y\n");
    let err = fails(&m, &["pause"]);
    assert!(err.contains("runs on a standby"), "{err}");
    // --init-master writes a job file that loads, and refuses to overwrite.
    let new = ws.path("new.ini");
    let init = [
        "--init-master",
        "--pgdata",
        "/srv/pg",
        "--archive",
        "/srv/wal",
    ];
    ok(&new, &init);
    assert_eq!(
        fs::metadata(&new).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&new).unwrap();
    assert!(text.contains("master_data = /srv/pg"), "{text}");
    assert!(fails(&new, &init).contains("not overwriting"));
    ok(&new, &["listbackups"]);
    // --init-slave with a primary; no command at all is an error that says
    // what to give.
    let sb = ws.path("new-standby.ini");
    let out = walmgr(
        &sb,
        &[
            "--init-slave",
            "--pgdata",
            "/srv/standby",
            "--archive",
            "/srv/wal",
            "--primary-conninfo",
            "host=db1 user=replicator",
        ],
    );
    assert!(out.status.success());
    let text = fs::read_to_string(&sb).unwrap();
    assert!(
        text.contains("slave_data = /srv/standby") && text.contains("primary_conninfo = host=db1"),
        "{text}"
    );
    let err = fails(&sb, &[]);
    assert!(err.contains("no command"), "{err}");
}

/// Snapshots of `host` until `f` holds.
async fn until(
    host: &skydeck::daemon::host::Host,
    what: &str,
    ok: impl Fn(&skydeck_ui::model::Snapshot) -> bool,
) -> skydeck_ui::model::Snapshot {
    common::snapshot_until(host, what, ok, |s| s.wal.clone()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_shows_wal_jobs_and_runs_their_actions() {
    use skydeck::daemon::host::Host;
    use skydeck::daemon::logging::LogBuffer;
    use skydeck::daemon::{Policy, Supervisor};
    use skydeck_ui::model::{Action, WalRole, WalSource};

    let ws = Workspace::new("engine");
    let (m, mj, mc) = set_up_master(&ws, "loop_delay = 0.5\n").await;
    insert(&mc, 1, 10).await;
    ok(&mj, &["backup"]);
    let mut s = standby_cluster("walengine");
    let sj = standby_job(
        &ws,
        "standby.ini",
        &s,
        &format!(
            "primary_conninfo = {}\nloop_delay = 0.5\n",
            m.connstr("postgres")
        ),
    );
    ok(&sj, &["restore"]);
    s.start_existing().unwrap();

    let sup = Supervisor::new(Policy::default());
    for j in [&mj, &sj] {
        let file = skydeck::config::JobFile::load(j).unwrap();
        sup.add(skydeck::daemon::run::job_for(&file).unwrap());
    }
    let host = Host::new(sup.clone(), LogBuffer::new(100), "test", false);
    let snap = until(&host, "both jobs read", |s| {
        s.wal.len() == 2
            && s.wal[0].current_lsn.is_some()
            && s.wal[1].source == WalSource::Streaming
    })
    .await;
    assert_eq!(snap.wal[0].role, WalRole::Master);
    assert_eq!(snap.wal[0].worker, "master.ini");
    assert_eq!(snap.wal[0].backups.len(), 1);
    assert!(snap
        .workers
        .iter()
        .any(|w| w.name == "standby.ini" && w.kind == "walmgr"));

    let r = common::ask_ok(
        &host,
        Action::WalBackup {
            worker: "master.ini".into(),
        },
    )
    .await;
    assert!(common::result(&r).message.contains("done"), "{r:?}");
    until(&host, "two backups", |s| s.wal[0].backups.len() == 2).await;
    // The hosted master job syncs the partial segment on its own.
    insert(&mc, 11, 20).await;
    let t0 = Instant::now();
    while fs::read_dir(ws.path("archive/logs.partial"))
        .map(|d| d.count() == 0)
        .unwrap_or(true)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no partial segment synced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    common::ask_ok(
        &host,
        Action::WalSync {
            worker: "master.ini".into(),
        },
    )
    .await;

    // Standby actions; a master refuses them with a reason.
    let r = common::ask(
        &host,
        Action::WalPause {
            worker: "master.ini".into(),
        },
    )
    .await;
    assert!(!common::result(&r).ok);
    assert!(
        common::result(&r).message.contains("runs on a standby"),
        "{r:?}"
    );
    common::ask_ok(
        &host,
        Action::WalPause {
            worker: "standby.ini".into(),
        },
    )
    .await;
    until(&host, "paused", |s| s.wal[1].paused).await;
    common::ask_ok(
        &host,
        Action::WalContinue {
            worker: "standby.ini".into(),
        },
    )
    .await;
    until(&host, "continues", |s| !s.wal[1].paused).await;
    let r = common::ask_ok(
        &host,
        Action::WalBoot {
            worker: "standby.ini".into(),
        },
    )
    .await;
    assert!(common::result(&r).message.contains("promoted"), "{r:?}");
    until(&host, "promoted", |s| {
        s.wal[1].source == WalSource::Promoted
    })
    .await;
    sup.shutdown(Duration::from_secs(5)).await;
}

/// Wait until `path` exists (a background process makes it).
fn wait_for(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn archive_push_ahead_and_restore_prefetch() {
    let ws = Workspace::new("async");
    let mj = ws.offline_job("m.ini", "master_data", "archive_async = 4\n");
    let wal = ws.path("m.ini-data/pg_wal");
    fs::create_dir_all(wal.join("archive_status")).unwrap();
    let archive = ws.path("archive/logs.complete");
    fs::create_dir_all(&archive).unwrap();
    let segs: Vec<String> = (1..=6)
        .map(|i| format!("0000000100000000000000{i:02X}"))
        .collect();
    for (i, s) in segs.iter().enumerate() {
        fs::write(wal.join(s), segment_bytes(i as u8)).unwrap();
        fs::write(wal.join("archive_status").join(format!("{s}.ready")), b"").unwrap();
    }
    // The server asks for the first; the next four are pushed behind its
    // back, each with a marker.
    ok(
        &mj,
        &["xarchive", wal.join(&segs[0]).to_str().unwrap(), &segs[0]],
    );
    let spool = ws.path("archive/spool/push-m.ini");
    for s in &segs[1..5] {
        wait_for(&spool.join(format!("{s}.ok")));
        assert!(archive.join(s).exists());
    }
    assert!(
        !archive.join(&segs[5]).exists(),
        "at most archive_async ahead"
    );
    // The server's call for a pushed segment returns on its marker.
    fs::remove_file(
        wal.join("archive_status")
            .join(format!("{}.ready", segs[0])),
    )
    .unwrap();
    ok(
        &mj,
        &["xarchive", wal.join(&segs[1]).to_str().unwrap(), &segs[1]],
    );
    assert!(
        !spool.join(format!("{}.ok", segs[1])).exists(),
        "marker used up"
    );
    for s in &segs[2..] {
        ok(&mj, &["xarchive", wal.join(s).to_str().unwrap(), s]);
    }
    let v = ok(&mj, &["verify"]);
    assert!(v.contains("all good"), "{v}");

    // Prefetch: the segments after the one asked for land in the spool,
    // checked; a damaged one is never prefetched.
    let mut raw = fs::read(archive.join(&segs[3])).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 1;
    fs::write(archive.join(&segs[3]), &raw).unwrap();
    let sj = ws.offline_job("s.ini", "slave_data", "restore_prefetch = 3\n");
    let dst = ws.path("RECOVERYXLOG");
    ok(&sj, &["xrestore", &segs[0], dst.to_str().unwrap()]);
    assert_eq!(fs::read(&dst).unwrap(), segment_bytes(0));
    let pre = ws.path("archive/spool/restore-s.ini");
    wait_for(&pre.join(&segs[1]));
    wait_for(&pre.join(&segs[2]));
    // The prefetcher holds its lock until it is done.
    let t0 = Instant::now();
    while fs::read_to_string(pre.join("LOCK")).is_ok_and(|p| !p.is_empty()) {
        assert!(t0.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !pre.join(&segs[3]).exists(),
        "a damaged segment is not prefetched"
    );
    ok(&sj, &["xrestore", &segs[1], dst.to_str().unwrap()]);
    assert_eq!(fs::read(&dst).unwrap(), segment_bytes(1));
    assert!(!pre.join(&segs[1]).exists(), "taken from the spool");
    let out = walmgr(&sj, &["xrestore", &segs[3], dst.to_str().unwrap()]);
    assert!(!out.status.success(), "the damaged segment fails loudly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_archive_over_ssh() {
    let ws = Workspace::new("remote");
    // ssh to the archive host, played by this machine: the host argument
    // is dropped, the command runs here.
    let ssh = ws.path("fake-ssh");
    fs::write(&ssh, "#!/bin/sh\nshift\nexec /bin/sh -c \"$*\"\n").unwrap();
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o755)).unwrap();
    let m = master();
    // The archive host's own job file and directories (owned by the
    // server's user, who runs archive_command and so xreceive).
    let host = ws.path("archhost");
    fs::create_dir_all(host.join("standby-data")).unwrap();
    if let Some((uid, gid)) = skydeck::walmgr::owner_of(&m.data_dir()) {
        std::os::unix::fs::chown(&host, Some(uid), Some(gid)).unwrap();
    }
    let far = ws.job(
        "far.ini",
        &format!(
            "slave_data = {}\nwalmgr_data = {}\nkeep_backups = 1\n",
            host.join("standby-data").display(),
            host.join("wal").display()
        ),
    );
    let mj = ws.job(
        "master.ini",
        &format!(
            "master_data = {}\nmaster_db = {}\nslave = archhost\nwalmgr_data = archhost:{}\n\
             slave_config = {}\nssh_command = {}\nremote_skydeck = {}\nspool_dir = {}\n",
            m.data_dir().display(),
            m.connstr("postgres"),
            host.join("wal").display(),
            far.display(),
            ssh.display(),
            skydeck().display(),
            ws.path("spool").display()
        ),
    );
    let out = ok(&mj, &["setup"]);
    assert!(out.contains("archhost: created"), "{out}");
    let mc = m.connect("postgres").await.unwrap();
    mc.batch_execute("create table t (id int primary key, v text)")
        .await
        .unwrap();
    insert(&mc, 1, 500).await;
    let seg = switch_and_archive(&mc).await;
    let complete = host.join("wal/logs.complete");
    assert!(
        complete.join(&seg).exists(),
        "{seg} reached the archive host"
    );
    let set = ok(&mj, &["backup"]).trim().to_string();
    assert!(host
        .join("wal/data.master")
        .join(&set)
        .join("backup.json")
        .exists());
    assert!(
        ok(&mj, &["listbackups"]).contains(&set),
        "listed by the archive host"
    );
    let st = status_json(&mj);
    assert!(
        st["archive_dir"].as_str().unwrap().starts_with("archhost:"),
        "{st}"
    );
    assert_eq!(st["backups"].as_array().unwrap().len(), 1, "{st}");
    assert!(st["archive_segments"].as_u64().unwrap() > 0, "{st}");
    // The same rules over the wire: other content under an archived name
    // is refused.
    // (The archive host's retention, keep_backups = 1, has removed what
    // came before the backup: use a segment it keeps.)
    assert!(!complete.join(&seg).exists(), "purged after the backup");
    let kept = fs::read_dir(&complete)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.len() == 24)
        .unwrap();
    let other = ws.path("other");
    fs::write(&other, segment_bytes(7)).unwrap();
    let err = fails(&mj, &["xarchive", other.to_str().unwrap(), &kept]);
    assert!(err.contains("different content"), "{err}");
    // sync sends the partial segment there.
    insert(&mc, 501, 600).await;
    let out = ok(&mj, &["sync"]);
    assert!(out.contains("bytes copied"), "{out}");
    assert!(fs::read_dir(host.join("wal/logs.partial")).unwrap().count() > 0);
    // A standby on the archive host restores from it and follows.
    let mut sb = standby_cluster("walremote");
    let sj = ws.job(
        "sb.ini",
        &format!(
            "slave_data = {}\nslave_db = {}\nwalmgr_data = {}\n",
            sb.data_dir().display(),
            sb.connstr("postgres"),
            host.join("wal").display()
        ),
    );
    ok(&sj, &["restore", &set]);
    sb.start_existing().unwrap();
    let c = sb.connect("postgres").await.unwrap();
    insert(&mc, 601, 700).await;
    switch_and_archive(&mc).await;
    wait_count(&c, 700, "the standby follows the remote archive").await;
    // A second backup: the archive host's retention keeps one.
    let set2 = ok(&mj, &["backup"]).trim().to_string();
    let list = ok(&mj, &["listbackups"]);
    assert!(list.contains(&set2) && !list.contains(&set), "{list}");
    let v = ok(&mj, &["verify"]);
    assert!(v.contains("all good"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_commands() {
    let ws = Workspace::new("others");
    let m = master();
    // (Somewhere the server's user may write: the archive, once set up.)
    let stamp = ws.path("archive/periodic-ran");
    let mj = master_job(
        &ws,
        &m,
        &format!(
            "periodic_command = touch {}\ncommand_interval = 0\n",
            stamp.display()
        ),
    );
    // Dry runs change nothing.
    let out = ok(&mj, &["setup", "-n"]);
    assert!(out.contains("would set archive_command"), "{out}");
    assert!(!ws.path("archive").exists());
    ok(&mj, &["setup"]);
    let mc = m.connect("postgres").await.unwrap();
    mc.batch_execute("create table t (id int primary key, v text)")
        .await
        .unwrap();
    insert(&mc, 1, 100).await;
    switch_and_archive(&mc).await;
    assert!(stamp.exists(), "xarchive runs periodic_command");
    fs::remove_file(&stamp).unwrap();
    assert!(ok(&mj, &["periodic"]).contains("ran"));
    assert!(stamp.exists());

    // The backup lock.
    ok(&mj, &["xlock", &std::process::id().to_string()]);
    let err = fails(&mj, &["backup"]);
    assert!(err.contains("another backup is running"), "{err}");
    let out = walmgr(&mj, &["xlock"]);
    assert!(!out.status.success(), "a held lock is refused");
    ok(&mj, &["xrelease"]);
    let set = ok(&mj, &["backup"]).trim().to_string();

    // createslave: pg_basebackup from the master, streaming at once.
    let mut s = standby_cluster("walcreate");
    let sj = standby_job(
        &ws,
        "created.ini",
        &s,
        &format!(
            "primary_conninfo = {} application_name=created\n",
            m.connstr("postgres")
        ),
    );
    let out = ok(&sj, &["createslave"]);
    assert!(out.contains("standby configured"), "{out}");
    s.start_existing().unwrap();
    let c = s.connect("postgres").await.unwrap();
    wait_streaming(&c, "created standby streams").await;
    insert(&mc, 101, 150).await;
    wait_count(&c, 150, "the created standby replays").await;

    // synch-standby: only with a named standby connected.
    let err = fails(&mj, &["synch-standby", "nosuch"]);
    assert!(err.contains("none of nosuch is connected"), "{err}");
    ok(&mj, &["synch-standby", "created"]);
    // (A reload reaches each session at its own pace.)
    wait_until(
        &mc,
        "synchronous_standby_names set",
        "select current_setting('synchronous_standby_names') = 'created'",
    )
    .await;
    insert(&mc, 151, 160).await; // commits: the synchronous standby answers
    ok(&mj, &["synch-standby", ""]);

    // sync writes the partial segment whole-size (zero-filled).
    insert(&mc, 161, 170).await;
    ok(&mj, &["sync"]);
    let partial = fs::read_dir(ws.path("archive/logs.partial"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().len() == 24)
        .expect("a partial segment");
    let mut seg = Vec::new();
    skydeck::walmgr::store::extract(&partial.path(), &mut seg).unwrap();
    assert_eq!(seg.len(), 16 << 20);
    assert!(seg.iter().any(|b| *b != 0) && *seg.last().unwrap() == 0);

    s.stop();
    // A damaged set: restore refuses and leaves the standby as it was.
    let set_dir = ws.path("archive/data.master").join(&set);
    let victim = set_dir.join("files/global/pg_control");
    let good = fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    fs::write(&victim, &bad).unwrap();
    let err = fails(&sj, &["restore", &set]);
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        s.data_dir().join("PG_VERSION").exists(),
        "the old directory stays"
    );
    assert!(!PathBuf::from(format!("{}.restoring", s.data_dir().display())).exists());
    fs::write(&victim, &good).unwrap();
    // A tampered manifest (a path out of the data directory) is refused
    // before anything is written.
    let mf = set_dir.join("backup.json");
    let text = fs::read_to_string(&mf).unwrap();
    fs::write(
        &mf,
        text.replacen(
            "\"path\": \"global/pg_control\"",
            "\"path\": \"../../evil\"",
            1,
        ),
    )
    .unwrap();
    let err = fails(&sj, &["restore", &set]);
    assert!(err.contains("would leave the data directory"), "{err}");
    assert!(!ws.path("evil").exists());
    fs::write(&mf, text).unwrap();

    // restore over a stopped standby keeps the old directory; cleanup
    // removes it.
    let out = ok(&sj, &["restore", &set, "-n"]);
    assert!(out.contains("would restore"), "{out}");
    let out = ok(&sj, &["restore", &set]);
    let kept = PathBuf::from(format!("{}.0", s.data_dir().display()));
    assert!(out.contains("keeping the old data directory"), "{out}");
    assert!(kept.join("PG_VERSION").exists());
    let out = ok(&sj, &["cleanup"]);
    assert!(out.contains("removing old data directory"), "{out}");
    assert!(!kept.exists());

    // xpartialsync: bytes at an offset of a zero-filled partial segment.
    let mut child = Command::new(skydeck())
        .arg("walmgr")
        .arg(&mj)
        .args(["xpartialsync", SEG1, "100", "5"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello").unwrap();
    assert!(child.wait().unwrap().success());
    let mut seg = Vec::new();
    skydeck::walmgr::store::extract(&ws.path("archive/logs.partial").join(SEG1), &mut seg).unwrap();
    assert_eq!(seg.len(), 16 << 20);
    assert_eq!(&seg[100..105], b"hello");
    assert!(seg[..100].iter().all(|b| *b == 0));

    // stop: archiving off (no restart command: archive_command /bin/true).
    let out = ok(&mj, &["stop"]);
    assert!(out.contains("archiving stopped"), "{out}");
    wait_until(
        &mc,
        "archive_command is /bin/true",
        "select current_setting('archive_command') = '/bin/true'",
    )
    .await;
}
