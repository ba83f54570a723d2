//! What `status` prints and the console's WAL view shows, read from the
//! server (`pg_stat_archiver`, the recovery functions), pg_wal's
//! archive_status, the archive directory and the backup sets.

use std::time::{Duration, SystemTime};

use skydeck_ui::model::{WalBackupView, WalRole, WalSource, WalView};

use super::archive::{self, PAUSE};
use super::backup;
use super::wal::WalFile;
use super::{Role, WalConfig};

/// `X/Y` to a byte position.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

fn secs(v: Option<f64>) -> Option<Duration> {
    v.filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// What the job file alone says of a walmgr job: its name, role and
/// directories. Every view starts from it, also one that says the job
/// could not be read.
pub fn base(cfg: &WalConfig) -> WalView {
    WalView {
        worker: cfg.job_name.clone(),
        role: match cfg.role {
            Role::Master => WalRole::Master,
            Role::Standby => WalRole::Standby,
        },
        data_dir: cfg.data_dir().display().to_string(),
        archive_dir: match &cfg.remote {
            Some(r) => format!("{}:{}", r.host, cfg.completed_wals.display()),
            None => cfg.completed_wals.display().to_string(),
        },
        ..Default::default()
    }
}

/// What a reading of the status is waiting for, to say what was slow
/// when it takes too long.
#[derive(Debug, Default)]
pub struct Doing(std::sync::Mutex<String>);

impl Doing {
    fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = what.into();
    }

    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The view of a job whose reading took longer than `limit`: its fixed
/// part, and what the reading was waiting for.
pub fn slow(cfg: &WalConfig, limit: Duration, doing: &Doing) -> WalView {
    let what = doing.get();
    WalView {
        error: Some(format!(
            "reading the status took longer than {}s{}",
            limit.as_secs(),
            if what.is_empty() {
                String::new()
            } else {
                format!(": still waiting for {what}")
            }
        )),
        ..base(cfg)
    }
}

/// Read everything about one walmgr job. Failures land in `error`; what
/// could be read is kept.
pub async fn collect(cfg: &WalConfig) -> WalView {
    collect_noting(cfg, &Doing::default()).await
}

/// [`collect`], noting each step in `doing` as it begins.
pub async fn collect_noting(cfg: &WalConfig, doing: &Doing) -> WalView {
    let mut v = base(cfg);
    let mut errors = Vec::new();
    match &cfg.remote {
        Some(r) => {
            doing.set(format!("ssh to {} (walmgr status there)", r.host));
            // ssh blocks: off the async threads.
            let r2 = r.clone();
            match tokio::task::spawn_blocking(move || remote_archive(&r2)).await {
                Ok(Ok(far)) => {
                    v.archive_segments = far.archive_segments;
                    v.archive_bytes = far.archive_bytes;
                    v.backups = far.backups;
                    v.retention = far.retention;
                    // What the archive host could not read is this
                    // archive's problem too.
                    if let Some(e) = far.error {
                        errors.extend(e.lines().map(|l| format!("{}: {l}", r.host)));
                    }
                }
                Ok(Err(e)) => errors.push(format!("{e:#}")),
                Err(e) => errors.push(format!("reading the archive on {}: {e}", r.host)),
            }
        }
        None => {
            doing.set(format!(
                "the archive ({}, {})",
                cfg.completed_wals.display(),
                cfg.full_backup.display()
            ));
            local_archive(cfg, &mut v, &mut errors)
        }
    }
    match cfg.role {
        Role::Master => master(cfg, &mut v, &mut errors, doing).await,
        Role::Standby => standby(cfg, &mut v, &mut errors, doing).await,
    }
    doing.set("");
    if !errors.is_empty() {
        v.error = Some(errors.join("\n"));
    }
    v
}

/// The archive and its backups, as the archive host sees them (its
/// `status --json`).
fn remote_archive(r: &super::Remote) -> anyhow::Result<WalView> {
    let out = super::remote::run(r, &["status", "--json"])?;
    serde_json::from_str(&out).map_err(|e| {
        anyhow::anyhow!(
            "`{} walmgr {} status --json` on {} did not answer JSON ({e}) — is remote_skydeck \
             the same version as this skydeck ({})?",
            r.skydeck,
            r.slave_config,
            r.host,
            env!("CARGO_PKG_VERSION")
        )
    })
}

fn local_archive(cfg: &WalConfig, v: &mut WalView, errors: &mut Vec<String>) {
    match archive::list(&cfg.completed_wals) {
        Ok(files) => {
            v.archive_segments = files
                .iter()
                .filter(|f| matches!(f.kind, WalFile::Segment(_)))
                .count() as u64;
            v.archive_bytes = files.iter().map(|f| f.stored).sum();
        }
        Err(e) => errors.push(format!("{e:#}")),
    }
    let now = SystemTime::now();
    match backup::summaries(cfg) {
        Ok((sets, bad)) => {
            errors.extend(bad.iter().map(backup::BadSet::describe));
            v.backups = sets
                .into_iter()
                .rev()
                .map(|s| WalBackupView {
                    age: now.duration_since(s.finished()).ok(),
                    size: s.data_bytes,
                    stored: s.stored_bytes,
                    start_wal: s.start_wal,
                    name: s.name,
                })
                .collect();
            let oldest = v.backups.last().map(|b| b.start_wal.clone());
            v.retention = match oldest {
                Some(w) => format!("{} · oldest WAL needed {w}", backup::rule(cfg)),
                None => format!("{} · no backup yet", backup::rule(cfg)),
            };
        }
        Err(e) => errors.push(format!("{e:#}")),
    }
}

/// A connection to the `side` server, or its error noted for the status.
async fn connect(
    side: &str,
    connstr: &str,
    errors: &mut Vec<String>,
) -> Option<tokio_postgres::Client> {
    match crate::db::connect(connstr).await {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(format!("{side}: {e}"));
            None
        }
    }
}

async fn master(cfg: &WalConfig, v: &mut WalView, errors: &mut Vec<String>, doing: &Doing) {
    let Some(m) = &cfg.master else { return };
    if let Ok(rd) = std::fs::read_dir(m.data.join("pg_wal").join("archive_status")) {
        v.archive_backlog = Some(
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".ready"))
                .count() as u64,
        );
    }
    doing.set(format!("the master database ({})", m.db));
    let Some(c) = connect("master", m.db.expose(), errors).await else {
        return;
    };
    let r = c
        .query_one(
            "select pg_current_wal_lsn()::text, pg_walfile_name(pg_current_wal_lsn()),
                    archived_count, last_archived_wal,
                    extract(epoch from now() - last_archived_time)::float8,
                    failed_count, last_failed_wal,
                    extract(epoch from now() - last_failed_time)::float8
               from pg_stat_archiver",
            &[],
        )
        .await;
    match r {
        Ok(r) => {
            v.current_lsn = r.get(0);
            v.current_segment = r.get(1);
            v.archived_count = r.get::<_, i64>(2) as u64;
            v.last_archived = r.get(3);
            v.last_archived_age = secs(r.get(4));
            v.failed_count = r.get::<_, i64>(5) as u64;
            v.last_failed = r.get(6);
            v.last_failed_age = secs(r.get(7));
        }
        Err(e) => errors.push(format!("master: {}", crate::db::describe(&e))),
    }
}

async fn standby(cfg: &WalConfig, v: &mut WalView, errors: &mut Vec<String>, doing: &Doing) {
    let Some(sb) = &cfg.standby else { return };
    v.paused = cfg.completed_wals.join(PAUSE).exists();
    let Some(db) = &sb.db else {
        // Without slave_db only the files tell: is a server running?
        if super::restore::running_pid(&sb.data).is_none() {
            errors.push(format!("no server is running in {}", sb.data.display()));
        }
        return;
    };
    doing.set(format!("the standby database ({db})"));
    let Some(c) = connect("standby", db.expose(), errors).await else {
        return;
    };
    let r = c
        .query_one(
            "select pg_is_in_recovery(),
                    pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
                    case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end,
                    extract(epoch from now() - pg_last_xact_replay_timestamp())::float8,
                    (select status from pg_stat_wal_receiver limit 1)",
            &[],
        )
        .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            errors.push(format!("standby: {}", crate::db::describe(&e)));
            return;
        }
    };
    let in_recovery: bool = r.get(0);
    v.receive_lsn = r.get(1);
    v.replay_lsn = r.get(2);
    v.paused |= r.get::<_, bool>(3);
    let receiver: Option<String> = r.get(5);
    v.source = if !in_recovery {
        WalSource::Promoted
    } else if receiver.as_deref() == Some("streaming") {
        WalSource::Streaming
    } else {
        WalSource::Archive
    };
    if !in_recovery {
        return;
    }
    // Lag against the primary when it can be asked; else the replay time.
    let primary_lsn = match &sb.primary_conninfo {
        Some(pc) => {
            doing.set(format!("the primary ({pc})"));
            match crate::db::connect(pc.expose()).await {
                Ok(p) => p
                    .query_one("select pg_current_wal_lsn()::text", &[])
                    .await
                    .ok()
                    .and_then(|r| parse_lsn(&r.get::<_, String>(0))),
                Err(_) => None,
            }
        }
        None => None,
    };
    let replay = v.replay_lsn.as_deref().and_then(parse_lsn);
    if let (Some(p), Some(rp)) = (primary_lsn, replay) {
        v.lag_bytes = Some(p.saturating_sub(rp));
        v.lag = if p <= rp {
            Some(Duration::ZERO)
        } else {
            secs(r.get(4))
        };
    } else {
        v.lag = secs(r.get(4));
    }
}

/// `status` as text: one screen of everything.
pub fn render(v: &WalView) -> String {
    use skydeck_ui::fmt::bytes;
    let d = |x: Option<Duration>| {
        x.map(|d| format!("{} ago", crate::fmt::duration(d)))
            .unwrap_or_else(|| "-".into())
    };
    let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
    let mut s = String::new();
    let role = match v.role {
        WalRole::Master => "master",
        WalRole::Standby => "standby",
    };
    s.push_str(&format!("{} ({role})\n", v.worker));
    s.push_str(&format!("  data directory   {}\n", v.data_dir));
    match v.role {
        WalRole::Master => {
            s.push_str(&format!(
                "  current WAL      {} ({})\n",
                o(&v.current_lsn),
                o(&v.current_segment)
            ));
            s.push_str(&format!(
                "  last archived    {} ({})\n",
                o(&v.last_archived),
                d(v.last_archived_age)
            ));
            s.push_str(&format!(
                "  archiver         {} archived, {} failures{}, backlog {}\n",
                v.archived_count,
                v.failed_count,
                match &v.last_failed {
                    Some(f) => format!(" (last {f}, {})", d(v.last_failed_age)),
                    None => String::new(),
                },
                v.archive_backlog
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into())
            ));
        }
        WalRole::Standby => {
            let src = match v.source {
                WalSource::Unknown => "unknown",
                WalSource::Streaming => "streaming",
                WalSource::Archive => "archive",
                WalSource::Promoted => "promoted (not in recovery)",
            };
            s.push_str(&format!(
                "  recovery         {src}{}\n",
                if v.paused { ", PAUSED" } else { "" }
            ));
            s.push_str(&format!(
                "  received/replay  {} / {}\n",
                o(&v.receive_lsn),
                o(&v.replay_lsn)
            ));
            s.push_str(&format!(
                "  lag              {} {}\n",
                v.lag_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                v.lag
                    .map(|l| format!("({})", crate::fmt::duration(l)))
                    .unwrap_or_default()
            ));
        }
    }
    s.push_str(&format!(
        "  archive          {} ({} segments, {})\n",
        v.archive_dir,
        v.archive_segments,
        bytes(v.archive_bytes)
    ));
    s.push_str(&format!("  retention        {}\n", v.retention));
    if v.backups.is_empty() {
        s.push_str("  backups          none\n");
    }
    for b in &v.backups {
        s.push_str(&format!(
            "  backup           {}  {} ({} stored)  WAL from {}  {}\n",
            b.name,
            bytes(b.size),
            bytes(b.stored),
            b.start_wal,
            d(b.age)
        ));
    }
    if let Some(e) = &v.error {
        for l in e.lines() {
            s.push_str(&format!("  ERROR            {l}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote whose "ssh" prints `answer` and succeeds.
    fn answering(answer: &str) -> super::super::Remote {
        super::super::Remote {
            host: "arch1".into(),
            slave_config: "/etc/skydeck/standby.ini".into(),
            ssh: format!(
                "printf '%s' {} ; true",
                super::super::restore::sh_quote(answer)
            ),
            skydeck: "skydeck".into(),
        }
    }

    #[test]
    fn a_remote_archive_that_does_not_answer_json_is_worded() {
        let e = format!("{:#}", remote_archive(&answering("usage: …")).unwrap_err());
        assert!(
            e.starts_with(
                "`skydeck walmgr /etc/skydeck/standby.ini status --json` on arch1 did not answer JSON"
            ) && e.contains("is remote_skydeck the same version"),
            "{e}"
        );
        let far = WalView {
            archive_segments: 7,
            error: Some("cannot read /srv/wal/logs.complete".into()),
            ..Default::default()
        };
        let got = remote_archive(&answering(&serde_json::to_string(&far).unwrap())).unwrap();
        assert_eq!(got, far);
    }

    #[tokio::test]
    async fn a_slow_standby_is_shown_as_a_standby_with_what_was_slow() {
        // A "server" that takes the connection and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("skydeck-status-{}", std::process::id()));
        let text = format!(
            "[walmgr]\nslave_data = /srv/standby\nwalmgr_data = {}\n\
             slave_db = host=127.0.0.1 port={port} dbname=x password=s3cret\n",
            dir.display()
        );
        let job = crate::config::JobFile::parse("/srv/jobs/s.ini", text.as_bytes()).unwrap();
        let cfg = WalConfig::from_job(&job).unwrap();
        let doing = Doing::default();
        let limit = Duration::from_millis(300);
        let r = tokio::time::timeout(limit, collect_noting(&cfg, &doing)).await;
        assert!(r.is_err(), "{r:?}");
        let v = slow(&cfg, limit, &doing);
        assert_eq!(v.role, WalRole::Standby);
        assert_eq!(v.worker, "s");
        assert_eq!(v.data_dir, "/srv/standby");
        let e = v.error.unwrap();
        assert!(
            e.contains("still waiting for the standby database (host=127.0.0.1")
                && !e.contains("s3cret"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_archive_hosts_error_reaches_the_view() {
        let text = "[walmgr]\nmaster_data = /srv/pg\nwalmgr_data = arch1:/srv/wal\n\
                    slave_config = /etc/skydeck/standby.ini\n\
                    master_db = host=127.0.0.1 port=1 dbname=x connect_timeout=5\n\
                    ssh_command = echo '{\"archive_segments\": 7, \"error\": \"cannot read /srv/wal\"}' ; true\n";
        let job = crate::config::JobFile::parse("/srv/jobs/m.ini", text.as_bytes()).unwrap();
        let cfg = WalConfig::from_job(&job).unwrap();
        let v = collect(&cfg).await;
        assert_eq!(v.archive_segments, 7);
        let e = v.error.unwrap_or_default();
        assert!(e.contains("arch1: cannot read /srv/wal"), "{e}");
    }
}
