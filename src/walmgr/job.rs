//! A walmgr job hosted by the daemon and the console: on a master the
//! syncdaemon (`sync` every `loop_delay`) and `periodic_command`; on both
//! sides the archive's bookkeeping (stale temporary files of killed
//! writers, the prefetch spool). Every `loop_delay` it reads the job's
//! status (server, archive, backups) in a task of its own, so a slow ssh
//! or server never holds up the syncing, and publishes that [`WalView`] on
//! a watch channel: the console reads the latest one through
//! [`Job::extra`] ([`WalExtra`]) instead of reading the job itself.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::WalView;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::daemon::supervisor::{Job, JobContext, JobError, JobFuture, Phase};

use super::{master, status, store, Role, WalConfig};

/// How long one reading of the status may take before the view says what
/// it is waiting for.
const COLLECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A view as the job read it, and when.
#[derive(Debug, Clone)]
pub struct Published {
    pub view: WalView,
    pub at: Instant,
}

impl Published {
    fn now(view: WalView) -> Published {
        Published {
            view,
            at: Instant::now(),
        }
    }
}

pub struct WalmgrJob {
    cfg: Arc<WalConfig>,
    fingerprint: String,
    view: Arc<watch::Sender<Published>>,
    wake: Arc<Notify>,
}

impl WalmgrJob {
    pub fn new(cfg: WalConfig, fingerprint: String) -> WalmgrJob {
        // Before the first reading: what the job file says (role, dirs).
        let first = Published::now(status::base(&cfg));
        WalmgrJob {
            cfg: Arc::new(cfg),
            fingerprint,
            view: Arc::new(watch::channel(first).0),
            wake: Arc::new(Notify::new()),
        }
    }

    fn publish(&self, view: WalView) {
        self.view.send_replace(Published::now(view));
    }
}

/// What the console reads of a walmgr job.
pub struct WalExtra {
    pub cfg: Arc<WalConfig>,
    /// The job's latest reading of its status.
    pub view: watch::Receiver<Published>,
    wake: Arc<Notify>,
}

impl WalExtra {
    /// The latest view. One older than the job's readings can be (the job
    /// is paused, stopped, or stuck) says so in its error.
    pub fn latest(&self) -> WalView {
        let p = self.view.borrow().clone();
        let mut v = p.view;
        let age = p.at.elapsed();
        if age > period(&self.cfg) * 3 + COLLECT_TIMEOUT {
            let note = format!(
                "this view is {} old: the job is not reading its status (paused, stopped or stuck: see its worker)",
                crate::fmt::duration(age)
            );
            v.error = Some(match v.error {
                Some(e) => format!("{note}\n{e}"),
                None => note,
            });
        }
        v
    }

    /// Have the job read its status now (an action changed it).
    pub fn refresh(&self) {
        self.wake.notify_one();
    }
}

fn period(cfg: &WalConfig) -> Duration {
    cfg.loop_delay.max(Duration::from_millis(200))
}

/// The job's status summed up for the supervisor (and `skydeck status`).
fn report(ctx: &JobContext, cfg: &WalConfig, v: &WalView, synced: Option<u64>) {
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
            if let Some(bytes) = synced {
                c.push(("partial bytes synced".into(), bytes));
            }
        }
        s.counters = c;
    });
}

/// A reading of the status under way (aborted when dropped).
struct Reading {
    started: Instant,
    doing: Arc<status::Doing>,
    task: JoinHandle<()>,
    said_slow: bool,
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum ReadingEvent {
    Done,
    Slow,
}

/// When the reading under way ends, or passes its time limit; never
/// without one.
async fn reading_event(reading: &mut Option<Reading>) -> ReadingEvent {
    match reading {
        None => std::future::pending().await,
        Some(r) if !r.said_slow => {
            tokio::select! {
                _ = &mut r.task => ReadingEvent::Done,
                _ = tokio::time::sleep_until(r.started + COLLECT_TIMEOUT) => ReadingEvent::Slow,
            }
        }
        Some(r) => {
            let _ = (&mut r.task).await;
            ReadingEvent::Done
        }
    }
}

impl WalmgrJob {
    /// Read the status in a task of its own; it publishes what it read.
    fn start_reading(&self, ctx: &JobContext, synced: Option<u64>) -> Reading {
        let doing = Arc::new(status::Doing::default());
        let (cfg, d2, tx, ctx2) = (
            self.cfg.clone(),
            doing.clone(),
            self.view.clone(),
            ctx.clone(),
        );
        let task = tokio::spawn(async move {
            let v = status::collect_noting(&cfg, &d2).await;
            report(&ctx2, &cfg, &v, synced);
            tx.send_replace(Published::now(v));
        });
        Reading {
            started: Instant::now(),
            doing,
            task,
            said_slow: false,
        }
    }
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
            view: self.view.subscribe(),
            wake: self.wake.clone(),
        }))
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let cfg = &self.cfg;
            let period = period(cfg);
            let mut next_tick = Instant::now();
            let mut reading: Option<Reading> = None;
            // Asked to read again while a reading was under way.
            let mut again = false;
            let mut synced = None;
            loop {
                tokio::select! {
                    _ = ctx.stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep_until(next_tick) => {
                        next_tick = Instant::now() + period;
                        if cfg.remote.is_none() {
                            store::sweep_temp(&cfg.completed_wals);
                            store::sweep_temp(&cfg.partial_wals);
                        }
                        synced = None;
                        if let Some(m) = &cfg.master {
                            let (c2, data) = (cfg.clone(), m.data.clone());
                            let _ = tokio::task::spawn_blocking(move || {
                                super::archive::run_periodic(&c2, &data)
                            })
                            .await;
                            match master::sync(cfg).await {
                                Ok(s) => synced = s.map(|(_, bytes)| bytes),
                                Err(e) => {
                                    let e = format!("sync: {e:#}");
                                    drop(reading.take());
                                    self.publish(WalView {
                                        error: Some(e.clone()),
                                        ..status::base(cfg)
                                    });
                                    return Err(JobError::Retry(e));
                                }
                            }
                        }
                        if reading.is_none() {
                            reading = Some(self.start_reading(&ctx, synced));
                        }
                    }
                    _ = self.wake.notified() => {
                        if reading.is_none() {
                            reading = Some(self.start_reading(&ctx, synced));
                        } else {
                            again = true;
                        }
                    }
                    ev = reading_event(&mut reading) => match ev {
                        ReadingEvent::Done => {
                            reading = None;
                            if std::mem::take(&mut again) {
                                reading = Some(self.start_reading(&ctx, synced));
                            }
                        }
                        ReadingEvent::Slow => {
                            if let Some(r) = reading.as_mut() {
                                r.said_slow = true;
                                let v = status::slow(cfg, COLLECT_TIMEOUT, &r.doing);
                                report(&ctx, cfg, &v, synced);
                                self.publish(v);
                            }
                        }
                    },
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skydeck_ui::model::WalRole;
    use tokio_util::sync::CancellationToken;

    #[tokio::test(start_paused = true)]
    async fn a_slow_reading_is_published_with_the_jobs_role_and_what_was_slow() {
        // A "server" that takes the connection and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("skydeck-job-{}", std::process::id()));
        let text = format!(
            "[walmgr]\nslave_data = /srv/standby\nwalmgr_data = {}\nloop_delay = 1\n\
             slave_db = host=127.0.0.1 port={port} dbname=x\n",
            dir.display()
        );
        let job = crate::config::JobFile::parse("/srv/jobs/s.ini", text.as_bytes()).unwrap();
        let job = Arc::new(WalmgrJob::new(
            WalConfig::from_job(&job).unwrap(),
            String::new(),
        ));
        let extra = job.extra().unwrap().downcast::<WalExtra>().unwrap();
        // Before any reading: the job file's part, a standby.
        let first = extra.latest();
        assert_eq!((first.role, first.error), (WalRole::Standby, None));

        let stop = CancellationToken::new();
        let running = tokio::spawn(job.clone().run(JobContext::standalone(stop.clone())));
        let mut rx = extra.view.clone();
        let v = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                rx.changed().await.unwrap();
                let v = rx.borrow_and_update().view.clone();
                if v.error.is_some() {
                    return v;
                }
            }
        })
        .await
        .expect("a view saying the reading is slow");
        assert_eq!(v.role, WalRole::Standby);
        assert_eq!(v.data_dir, "/srv/standby");
        let e = v.error.unwrap();
        assert!(
            e.contains("took longer than 10s: still waiting for the standby database"),
            "{e}"
        );

        // A job that stopped reading: its view says so once it is old.
        stop.cancel();
        running.await.unwrap().unwrap();
        tokio::time::advance(Duration::from_secs(60)).await;
        let e = extra.latest().error.unwrap();
        assert!(
            e.starts_with("this view is ") && e.contains("not reading"),
            "{e}"
        );
    }
}
