//! The engine side of the console's WAL view: every walmgr job of the deck
//! as its hosted job last read it (a [`WalView`] published on a watch
//! channel: a refresh reads no server and runs no ssh), alerts for a
//! failing archiver, a backlog, a lagging standby, and the walmgr actions
//! (backup, sync, pause, continue, boot) carried out with the CLI's
//! library calls.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{Action, Alert, Level, WalRole, WalView};

use super::supervisor::Supervisor;
use crate::walmgr::job::WalExtra;
use crate::walmgr::{backup, master, restore};

/// The deck's walmgr jobs.
pub fn wal_jobs(sup: &Supervisor) -> Vec<Arc<WalExtra>> {
    sup.jobs()
        .into_iter()
        .filter_map(|j| j.extra().and_then(|e| e.downcast::<WalExtra>().ok()))
        .collect()
}

/// Every walmgr job's latest view; masters first, then by name.
pub fn read_all(sup: &Supervisor) -> Vec<WalView> {
    let mut out: Vec<WalView> = wal_jobs(sup).iter().map(|j| j.latest()).collect();
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

fn job<'a>(jobs: &'a [Arc<WalExtra>], worker: &str) -> Result<&'a WalExtra, String> {
    jobs.iter()
        .find(|j| j.cfg.job_name == worker)
        .map(|j| j.as_ref())
        .ok_or_else(|| format!("no walmgr job {worker:?} in this deck"))
}

/// Carry out a walmgr action; `None` when the action is not one.
pub async fn execute(sup: &Supervisor, action: &Action) -> Option<Result<String, String>> {
    let jobs = wal_jobs(sup);
    let e = |e: anyhow::Error| format!("{e:#}");
    let r = match action {
        Action::WalBackup { worker } => match job(&jobs, worker) {
            Ok(j) => {
                let cfg = &j.cfg;
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
            Ok(j) => master::sync(&j.cfg)
                .await
                .map(|r| match r {
                    Some((name, n)) => format!("{name}: {n} bytes copied to partial_wals"),
                    None => "nothing to copy: the current segment is empty or archived".into(),
                })
                .map_err(e),
            Err(m) => Err(m),
        },
        Action::WalPause { worker } => match job(&jobs, worker) {
            Ok(j) => restore::pause(&j.cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        Action::WalContinue { worker } => match job(&jobs, worker) {
            Ok(j) => restore::resume(&j.cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        Action::WalBoot { worker } => match job(&jobs, worker) {
            Ok(j) => restore::boot(&j.cfg).await.map_err(e),
            Err(m) => Err(m),
        },
        _ => return None,
    };
    // Show what the action changed at once: the jobs read again now (they
    // share the archive, so every one of them).
    for j in &jobs {
        j.refresh();
    }
    Some(r)
}
