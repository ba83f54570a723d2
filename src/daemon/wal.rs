//! The engine side of the console's WAL view: every walmgr job of the deck
//! read into a [`WalView`] (with alerts for a failing archiver, a backlog,
//! a lagging standby), and the walmgr actions (backup, sync, pause,
//! continue, boot) carried out with the CLI's library calls.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{Action, Alert, Level, WalRole, WalView};

use super::supervisor::Supervisor;
use crate::walmgr::job::WalExtra;
use crate::walmgr::{backup, master, restore, status, WalConfig};

/// Longest one job may take to read.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The deck's walmgr jobs.
pub fn wal_jobs(sup: &Supervisor) -> Vec<Arc<WalConfig>> {
    sup.jobs()
        .into_iter()
        .filter_map(|j| j.extra().and_then(|e| e.downcast::<WalExtra>().ok()))
        .map(|e| e.cfg.clone())
        .collect()
}

/// Read every walmgr job, in parallel; masters first, then by name.
pub async fn read_all(sup: &Supervisor) -> Vec<WalView> {
    let mut tasks = tokio::task::JoinSet::new();
    for cfg in wal_jobs(sup) {
        tasks.spawn(async move {
            let doing = status::Doing::default();
            match tokio::time::timeout(READ_TIMEOUT, status::collect_noting(&cfg, &doing)).await {
                Ok(v) => v,
                Err(_) => status::slow(&cfg, READ_TIMEOUT, &doing),
            }
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(v) = r {
            out.push(v);
        }
    }
    out.sort_by(|a, b| {
        (a.role != WalRole::Master, &a.worker).cmp(&(b.role != WalRole::Master, &b.worker))
    });
    out
}

/// Alerts for what needs an operator.
pub fn alerts(v: &WalView, alerts: &mut Vec<Alert>) {
    let mut push = |level, message: String, since: Duration| {
        alerts.push(Alert {
            level,
            source: v.worker.clone(),
            message,
            since,
        })
    };
    if let Some(e) = &v.error {
        push(
            Level::Error,
            e.lines().next().unwrap_or_default().to_string(),
            Duration::ZERO,
        );
    }
    let failing = match (v.last_failed_age, v.last_archived_age) {
        (Some(f), Some(a)) => f < a,
        (Some(_), None) => true,
        _ => false,
    };
    if failing {
        push(
            Level::Error,
            format!(
                "archiving fails: {} (see the server log)",
                v.last_failed.as_deref().unwrap_or("?")
            ),
            v.last_failed_age.unwrap_or_default(),
        );
    }
    if let Some(b) = v.archive_backlog.filter(|b| *b >= 10) {
        push(
            Level::Warn,
            format!("{b} WAL segments wait for the archiver"),
            Duration::ZERO,
        );
    }
    if let Some(l) = v.lag.filter(|l| *l >= Duration::from_secs(60)) {
        push(
            Level::Warn,
            format!("standby replay is {} behind", crate::fmt::duration(l)),
            l,
        );
    }
}

fn job<'a>(jobs: &'a [Arc<WalConfig>], worker: &str) -> Result<&'a Arc<WalConfig>, String> {
    jobs.iter()
        .find(|c| c.job_name == worker)
        .ok_or_else(|| format!("no walmgr job {worker:?} in this deck"))
}

/// Carry out a walmgr action; `None` when the action is not one.
pub async fn execute(sup: &Supervisor, action: &Action) -> Option<Result<String, String>> {
    let jobs = wal_jobs(sup);
    let e = |e: anyhow::Error| format!("{e:#}");
    Some(match action {
        Action::WalBackup { worker } => match job(&jobs, worker) {
            Ok(cfg) => {
                let lines = std::sync::Mutex::new(Vec::new());
                let push = |l: &str| {
                    tracing::info!("{}: {l}", cfg.job_name);
                    lines
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(l.to_string());
                };
                backup::backup(cfg, &push)
                    .await
                    .map(|set| {
                        let mut l = lines.into_inner().unwrap_or_else(|p| p.into_inner());
                        if l.is_empty() {
                            l.push(format!("backup {} done", set.manifest.name));
                        }
                        l.join("\n")
                    })
                    .map_err(e)
            }
            Err(m) => Err(m),
        },
        Action::WalSync { worker } => match job(&jobs, worker) {
            Ok(cfg) => master::sync(cfg)
                .await
                .map(|r| match r {
                    Some((name, n)) => format!("{name}: {n} bytes copied to partial_wals"),
                    None => "nothing to copy: the current segment is empty or archived".into(),
                })
                .map_err(e),
            Err(m) => Err(m),
        },
        Action::WalPause { worker } => match job(&jobs, worker) {
            Ok(cfg) => restore::pause(cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        Action::WalContinue { worker } => match job(&jobs, worker) {
            Ok(cfg) => restore::resume(cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        Action::WalBoot { worker } => match job(&jobs, worker) {
            Ok(cfg) => restore::boot(cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        _ => return None,
    })
}
