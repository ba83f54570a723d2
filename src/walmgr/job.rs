//! A walmgr job hosted by the daemon and the console: on a master the
//! syncdaemon (`sync` every `loop_delay`) and `periodic_command`; on both
//! sides the archive's bookkeeping (stale temporary files of killed
//! writers, the prefetch spool). Its status carries the standby's lag and
//! the archive's counts; the console reads the job's [`WalConfig`] through
//! [`Job::extra`] for the WAL view and its actions.

use std::sync::Arc;
use std::time::Duration;

use crate::daemon::supervisor::{Job, JobContext, JobError, JobFuture, Phase};

use super::{master, status, store, Role, WalConfig};

/// Longest one reading of the status may take.
const COLLECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct WalmgrJob {
    cfg: Arc<WalConfig>,
    fingerprint: String,
}

impl WalmgrJob {
    pub fn new(cfg: WalConfig, fingerprint: String) -> WalmgrJob {
        WalmgrJob {
            cfg: Arc::new(cfg),
            fingerprint,
        }
    }
}

/// What the console reads of a walmgr job.
pub struct WalExtra {
    pub cfg: Arc<WalConfig>,
}

impl Job for WalmgrJob {
    fn name(&self) -> &str {
        &self.cfg.job_name
    }
    fn kind(&self) -> &str {
        "walmgr"
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(Arc::new(WalExtra {
            cfg: self.cfg.clone(),
        }))
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let cfg = &self.cfg;
            let period = cfg.loop_delay.max(Duration::from_millis(200));
            loop {
                if cfg.remote.is_none() {
                    store::sweep_temp(&cfg.completed_wals);
                    store::sweep_temp(&cfg.partial_wals);
                }
                let mut synced = None;
                if let Some(m) = &cfg.master {
                    let (c2, data) = (cfg.clone(), m.data.clone());
                    let _ = tokio::task::spawn_blocking(move || {
                        super::archive::run_periodic(&c2, &data)
                    })
                    .await;
                    match master::sync(cfg).await {
                        Ok(s) => synced = s,
                        Err(e) => return Err(JobError::Retry(format!("sync: {e:#}"))),
                    }
                }
                // A hung ssh or an unreachable server must not stop the
                // syncing: the reading gets a limit.
                let doing = status::Doing::default();
                let v = match tokio::time::timeout(
                    COLLECT_TIMEOUT,
                    status::collect_noting(cfg, &doing),
                )
                .await
                {
                    Ok(v) => v,
                    Err(_) => status::slow(cfg, COLLECT_TIMEOUT, &doing),
                };
                ctx.report(|s| {
                    s.phase = Phase::Running;
                    s.lag = v.lag;
                    s.last_error = v.error.clone();
                    let mut c = vec![
                        ("archived segments".to_string(), v.archive_segments),
                        ("backups".to_string(), v.backups.len() as u64),
                    ];
                    if cfg.role == Role::Master {
                        c.push(("archive failures".into(), v.failed_count));
                        if let Some((_, bytes)) = &synced {
                            c.push(("partial bytes synced".into(), *bytes));
                        }
                    }
                    s.counters = c;
                });
                tokio::select! {
                    _ = ctx.stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(period) => {}
                }
            }
        })
    }
}
