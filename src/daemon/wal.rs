//! The engine side of the console's WAL view: every walmgr job of the deck
//! as its hosted job last read it (a [`WalView`] published on a watch
//! channel: a refresh reads no server and runs no ssh), alerts for a
//! failing archiver, a backlog, a lagging standby, and the walmgr actions
//! (backup, sync, pause, continue, boot) carried out with the CLI's
//! library calls.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{Action, ActionUpdate, Alert, Level, Reply, WalRole, WalView};
use tokio::sync::mpsc::UnboundedSender;

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
    // the WAL view's rules (model::WalView), so an alert and a marker agree
    if v.archive_failing() {
        push(
            Level::Error,
            format!(
                "archiving fails: {} (see the server log)",
                v.last_failed.as_deref().unwrap_or("?")
            ),
            v.last_failed_age.unwrap_or_default(),
        );
    }
    let backlog = v.backlog_level();
    if backlog > Level::Info {
        push(
            backlog,
            format!(
                "{} WAL segments wait for the archiver",
                v.archive_backlog.unwrap_or_default()
            ),
            Duration::ZERO,
        );
    }
    let lag = v.lag_level();
    if lag > Level::Info {
        let behind = match (v.lag, v.lag_bytes) {
            (Some(l), _) => crate::fmt::duration(l),
            (None, Some(b)) => skydeck_ui::fmt::bytes(b),
            (None, None) => "?".into(),
        };
        push(
            lag,
            format!("standby replay is {behind} behind"),
            v.lag.unwrap_or_default(),
        );
    }
}

/// Carry out a walmgr action; `None` when the action is not one. A
/// backup's progress goes to `out` as it happens.
pub async fn execute(
    sup: &Supervisor,
    action: &Action,
    out: &UnboundedSender<Reply>,
) -> Option<Result<String, String>> {
    enum Wal {
        Backup,
        Sync,
        Pause,
        Continue,
        Boot,
    }
    let (what, worker) = match action {
        Action::WalBackup { worker } => (Wal::Backup, worker),
        Action::WalSync { worker } => (Wal::Sync, worker),
        Action::WalPause { worker } => (Wal::Pause, worker),
        Action::WalContinue { worker } => (Wal::Continue, worker),
        Action::WalBoot { worker } => (Wal::Boot, worker),
        _ => return None,
    };
    let jobs = wal_jobs(sup);
    let Some(job) = jobs.iter().find(|j| j.cfg.job_name == *worker) else {
        return Some(Err(format!("no walmgr job {worker:?} in this deck")));
    };
    let cfg = &job.cfg;
    let r = match what {
        Wal::Backup => {
            let lines = std::sync::Mutex::new(Vec::new());
            let progress = |l: &str| {
                tracing::info!("{}: {l}", cfg.job_name);
                let _ = out.send(Reply::Update(ActionUpdate {
                    action: action.clone(),
                    step: l.to_string(),
                    running: false,
                    elapsed: None,
                    writes_refused: None,
                }));
                lines
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(l.to_string());
            };
            backup::backup(cfg, &progress).await.map(|set| {
                let mut l = lines.into_inner().unwrap_or_else(|p| p.into_inner());
                if l.is_empty() {
                    l.push(format!("backup {} done", set.manifest.name));
                }
                l.join("\n")
            })
        }
        Wal::Sync => master::sync(cfg).await.map(|r| match r {
            Some((name, n)) => format!("{name}: {n} bytes copied to partial_wals"),
            None => "nothing to copy: the current segment is empty or archived".into(),
        }),
        Wal::Pause => restore::pause(cfg).await,
        Wal::Continue => restore::resume(cfg).await,
        Wal::Boot => restore::boot(cfg).await,
    };
    // Show what the action changed at once: the jobs read again now (they
    // share the archive, so every one of them).
    for j in &jobs {
        j.refresh();
    }
    Some(r.map_err(|e| format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use skydeck_ui::model::WalSource;

    fn levels(v: &WalView) -> Vec<(Level, String)> {
        let mut a = Vec::new();
        alerts(v, &mut a);
        a.into_iter().map(|a| (a.level, a.message)).collect()
    }

    #[test]
    fn alerts_follow_the_wal_views_rules() {
        let master = WalView {
            worker: "m".into(),
            role: WalRole::Master,
            failed_count: 2,
            last_failed: Some("000000010000000000000007".into()),
            last_failed_age: Some(Duration::from_secs(5)),
            last_archived_age: Some(Duration::from_secs(50)),
            archive_backlog: Some(150),
            ..Default::default()
        };
        assert_eq!(
            levels(&master),
            [
                (
                    Level::Error,
                    "archiving fails: 000000010000000000000007 (see the server log)".into()
                ),
                (
                    Level::Error,
                    "150 WAL segments wait for the archiver".into()
                ),
            ]
        );
        // archived since the failure, a short backlog: nothing to say
        let fine = WalView {
            last_archived_age: Some(Duration::from_secs(1)),
            archive_backlog: Some(3),
            ..master
        };
        assert!(levels(&fine).is_empty(), "{:?}", levels(&fine));

        let standby = WalView {
            worker: "s".into(),
            role: WalRole::Standby,
            source: WalSource::Streaming,
            lag: Some(Duration::from_secs(120)),
            lag_bytes: Some(1 << 20),
            ..Default::default()
        };
        assert_eq!(
            levels(&standby),
            [(Level::Warn, "standby replay is 2m00s behind".into())]
        );
        // a promoted standby replays nothing: its old lag is no alert
        let promoted = WalView {
            source: WalSource::Promoted,
            ..standby
        };
        assert!(levels(&promoted).is_empty());
    }
}
