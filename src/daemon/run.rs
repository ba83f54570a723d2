//! The headless host (`skydeck --daemon`) and what it shares with the
//! console: building the deck's jobs, the status file that `skydeck status`
//! reads, signals, and systemd readiness.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

use super::logging::{self, LogBuffer, Output};
use super::pidfile::Pidfile;
use super::supervisor::{Job, JobContext, JobError, JobFuture, Policy, Supervisor};
use crate::config::{Deck, JobFile, JobKind, PgqdConfig};
use crate::ticker::{self, TickerJob};

/// How long a graceful stop waits for workers (SIGINT, `--stop`).
pub const STOP_GRACE: Duration = Duration::from_secs(60);
/// How long a fast stop waits (SIGTERM, `--kill`): long enough to roll back.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

impl From<&PgqdConfig> for ticker::Settings {
    fn from(c: &PgqdConfig) -> Self {
        let d = ticker::Settings::default();
        ticker::Settings {
            base_connstr: c.base_connstr.clone(),
            initial_database: c.initial_database.clone(),
            database_list: c.database_list.clone(),
            check_period: c.check_period,
            retry_period: c.retry_period,
            maint_period: c.maint_period,
            ticker_period: c.ticker_period,
            stats_period: c.stats_period,
            connection_lifetime: c.connection_lifetime.unwrap_or(d.connection_lifetime),
            max_backoff: d.max_backoff,
        }
    }
}

/// A job of a kind skydeck cannot run yet: shown as failed, with why.
struct Unsupported {
    name: String,
    kind: String,
    path: PathBuf,
    fingerprint: String,
}

impl Job for Unsupported {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn run(self: Arc<Self>, _ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            Err(JobError::Fatal(format!(
                "{}: skydeck does not run [{}] jobs yet",
                self.path.display(),
                self.kind
            )))
        })
    }
}

/// The job for one job file.
pub fn job_for(file: &JobFile) -> Result<Arc<dyn Job>, crate::config::ConfigError> {
    let fp = format!("{:016x}", file.fingerprint());
    Ok(match &file.kind {
        JobKind::Pgqd => {
            let cfg = PgqdConfig::from_section(&file.section)?;
            Arc::new(TickerJob::new(
                &file.job_name,
                ticker::Settings::from(&cfg),
                fp,
            ))
        }
        JobKind::Londiste => {
            let ws = crate::cascade::settings_from_job(file)?;
            let ls = crate::londiste::worker::LondisteSettings::from_job(file)?;
            let applier = Arc::new(crate::londiste::worker::Londiste::new(
                &ws.queue, &ws.worker, &ws.db, ls,
            ));
            let label = ws.queue.clone();
            Arc::new(crate::cascade::CascadeWorker::new(ws, fp, &label).with_applier(applier))
        }
        JobKind::Walmgr => {
            let cfg = crate::walmgr::WalConfig::from_job(file)?;
            Arc::new(crate::walmgr::job::WalmgrJob::new(cfg, fp))
        }
        other => Arc::new(Unsupported {
            name: file.job_name.clone(),
            kind: other.name().to_string(),
            path: file.path.clone(),
            fingerprint: fp,
        }),
    })
}

/// Every job of the deck; the first configuration error stops it all.
pub fn jobs_for(deck: &Deck) -> Result<Vec<Arc<dyn Job>>, crate::config::ConfigError> {
    deck.jobs.iter().map(job_for).collect()
}

/// Where the daemon keeps its pid: the deck's `pidfile`, or `skydeck.pid`
/// beside the deck file.
pub fn pidfile_path(deck: &Deck) -> PathBuf {
    deck.pidfile
        .clone()
        .unwrap_or_else(|| beside(&deck.path, "skydeck.pid"))
}

/// Where the daemon logs: the deck's `logfile`, or `skydeck.log` beside it.
pub fn logfile_path(deck: &Deck) -> PathBuf {
    deck.logfile
        .clone()
        .unwrap_or_else(|| beside(&deck.path, "skydeck.log"))
}

/// The status file `skydeck status` reads: next to the pidfile.
pub fn status_path(deck: &Deck) -> PathBuf {
    let pid = pidfile_path(deck);
    let stem = pid
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skydeck".into());
    beside(&pid, &format!("{stem}.status.json"))
}

fn beside(file: &Path, name: &str) -> PathBuf {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

/// What `skydeck status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusFile {
    pub pid: u32,
    pub deck: String,
    pub mode: String,
    #[serde(with = "unix_secs")]
    pub updated_at: SystemTime,
    pub workers: Vec<serde_json::Value>,
    pub databases: Vec<serde_json::Value>,
}

mod unix_secs {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        )
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let v: f64 = serde::Deserialize::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_secs_f64(v.max(0.0)))
    }
}

/// Write the status file atomically, readable by its owner only (it names
/// databases and hosts).
pub fn write_status(
    path: &Path,
    supervisor: &Supervisor,
    deck: &str,
    mode: &str,
) -> std::io::Result<()> {
    let mut databases = Vec::new();
    for j in supervisor.jobs() {
        if let Some(view) = j
            .extra()
            .and_then(|e| e.downcast::<ticker::TickerView>().ok())
        {
            for d in view.status.borrow().databases.values() {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["job"] = serde_json::Value::String(j.name().to_string());
                databases.push(v);
            }
        }
    }
    let st = StatusFile {
        pid: std::process::id(),
        deck: deck.to_string(),
        mode: mode.to_string(),
        updated_at: SystemTime::now(),
        workers: supervisor
            .statuses()
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .collect(),
        databases,
    };
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(&st)?.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Tell systemd (when it started us with `Type=notify`).
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let p = path.to_string_lossy().into_owned();
    let r = if let Some(abs) = p.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abs.as_bytes())
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), &p)
    };
    if let Err(e) = r {
        warn!("sd_notify {state}: {e}");
    }
}

/// Run the deck headless until SIGINT or SIGTERM; SIGHUP reloads it.
pub async fn run_daemon(deck_path: &Path, verbosity: i32) -> Result<()> {
    let deck = Deck::load(deck_path)?;
    let jobs = jobs_for(&deck)?;
    let pidfile_path = pidfile_path(&deck);
    let logfile = logfile_path(&deck);
    let buffer = LogBuffer::new(100);
    let _guard = logging::init(Output::File(&logfile), verbosity, &buffer)
        .with_context(|| format!("setting up logging to {}", logfile.display()))?;
    let _pidfile = Pidfile::create(&pidfile_path)?;
    let title = deck.path.display().to_string();
    for w in &deck.warnings {
        warn!("{title}: {w}");
    }
    info!(
        "skydeck {} starting for deck {title} (pid {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let supervisor = Supervisor::new(Policy::default());
    for j in jobs {
        info!("starting {} job {}", j.kind(), j.name());
        supervisor.add(j);
    }
    // Operators act on the running daemon through its control socket
    // (`skydeck worker pause …`), with the same code as the console.
    let host = super::host::Host::new(supervisor.clone(), buffer, &title, deck.read_only);
    let stop_control = tokio_util::sync::CancellationToken::new();
    let control = tokio::spawn(super::control::serve(
        super::control::socket_path(&pidfile_path),
        host,
        stop_control.clone(),
    ));
    let status_file = status_path(&deck);
    let result = serve(&supervisor, deck, &status_file, "daemon").await;
    stop_control.cancel();
    match control.await {
        Ok(Err(e)) => warn!("control socket: {e}"),
        Err(e) => warn!("control socket task: {e}"),
        Ok(Ok(())) => {}
    }
    let _ = std::fs::remove_file(&status_file);
    result
}

/// The signal loop shared by the daemon and the console host.
pub async fn serve(
    supervisor: &Arc<Supervisor>,
    mut deck: Deck,
    status_file: &Path,
    mode: &str,
) -> Result<()> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let title = deck.path.display().to_string();
    sd_notify("READY=1");
    let mut status_every =
        tokio::time::interval(deck.refresh_period.max(Duration::from_millis(200)));
    let grace = loop {
        tokio::select! {
            _ = sigint.recv() => {
                info!("Got SIGINT, shutting down");
                break STOP_GRACE;
            }
            _ = sigterm.recv() => {
                info!("Got SIGTERM, fast exit");
                break KILL_GRACE;
            }
            _ = sighup.recv() => {
                info!("Got SIGHUP, re-reading config");
                sd_notify("RELOADING=1");
                match Deck::load(&deck.path).and_then(|d| jobs_for(&d).map(|j| (d, j))) {
                    Ok((newer, jobs)) => {
                        let r = supervisor.reload(jobs);
                        info!(
                            "reloaded {title}: added {:?}, removed {:?}, restarted {:?}, unchanged {}",
                            r.added, r.removed, r.restarted, r.unchanged.len()
                        );
                        deck = newer;
                    }
                    Err(e) => error!("reload of {title} failed, keeping the running jobs: {e}"),
                }
                sd_notify("READY=1");
            }
            _ = status_every.tick() => {
                if let Err(e) = write_status(status_file, supervisor, &title, mode) {
                    warn!("cannot write status file {}: {e}", status_file.display());
                }
            }
        }
    };
    sd_notify("STOPPING=1");
    let left = supervisor.shutdown(grace).await;
    if !left.is_empty() {
        warn!("stopped waiting for {left:?}");
    }
    info!("skydeck stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_default_beside_the_deck() {
        let d = Path::new("/etc/skydeck/skydeck.ini");
        assert_eq!(
            beside(d, "skydeck.pid"),
            PathBuf::from("/etc/skydeck/skydeck.pid")
        );
        assert_eq!(beside(Path::new("deck.ini"), "x"), PathBuf::from("./x"));
    }
}
