//! The supervisor: runs every job of the deck as a tokio task, restarts a
//! failed one with backoff, publishes each job's state, pauses, resumes and
//! restarts on request, reloads a changed set of jobs, and shuts down
//! gracefully (cancellation, then waiting).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::ticker::Backoff;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Running,
    Idle,
    Paused,
    Backoff,
    Stopped,
    Failed,
}

/// A job's published state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    pub name: String,
    pub kind: String,
    pub phase: Phase,
    #[serde(skip)]
    pub since: Instant,
    pub restarts: u32,
    #[serde(skip)]
    pub retry_at: Option<Instant>,
    pub last_error: Option<String>,
    pub lag: Option<Duration>,
    pub counters: Vec<(String, u64)>,
    pub databases: Vec<String>,
}

impl JobStatus {
    fn new(name: &str, kind: &str) -> Self {
        JobStatus {
            name: name.to_string(),
            kind: kind.to_string(),
            phase: Phase::Starting,
            since: Instant::now(),
            restarts: 0,
            retry_at: None,
            last_error: None,
            lag: None,
            counters: Vec::new(),
            databases: Vec::new(),
        }
    }

    fn set_phase(&mut self, p: Phase) {
        if self.phase != p {
            self.phase = p;
            self.since = Instant::now();
        }
    }
}

/// How a job run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Worth retrying (a database down, a query failing).
    Retry(String),
    /// Retrying cannot help (bad configuration); the job stays Failed until
    /// restarted by hand or by a reload.
    Fatal(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(s) | JobError::Fatal(s) => f.write_str(s),
        }
    }
}

/// What a running job gets: its stop signal and a way to publish.
#[derive(Clone)]
pub struct JobContext {
    pub stop: CancellationToken,
    status: Arc<watch::Sender<JobStatus>>,
}

impl JobContext {
    /// A context for running a job by hand, outside any supervisor (tools
    /// and tests); its reports go nowhere.
    pub fn standalone(stop: CancellationToken) -> JobContext {
        JobContext {
            stop,
            status: Arc::new(watch::channel(JobStatus::new("standalone", "standalone")).0),
        }
    }

    /// Change the published state (counters, lag, databases, phase
    /// Running/Idle).
    pub fn report(&self, f: impl FnOnce(&mut JobStatus)) {
        self.status.send_modify(|s| {
            let before = s.phase;
            f(s);
            if s.phase != before {
                s.since = Instant::now();
            }
        });
    }
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// A unit of work the supervisor hosts.
pub trait Job: Send + Sync + 'static {
    /// Unique in the deck.
    fn name(&self) -> &str;
    /// "ticker", "consumer", …
    fn kind(&self) -> &str;
    /// Changes when the job's configuration changes (reload restarts it).
    fn fingerprint(&self) -> String;
    /// Work until `ctx.stop` is cancelled (then return `Ok`), or fail.
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture;
    /// Something for other parts of the engine to look at (the ticker's
    /// per-database status, for the console): downcast by the reader.
    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        None
    }
}

struct Slot {
    job: Arc<dyn Job>,
    status: Arc<watch::Sender<JobStatus>>,
    /// Cancels the current run (and the restart loop).
    token: CancellationToken,
    paused: bool,
}

/// Restart policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A run that lasted this long resets the backoff.
    pub healthy_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            healthy_after: Duration::from_secs(60),
        }
    }
}

/// The supervisor of a deck's jobs.
pub struct Supervisor {
    jobs: Mutex<BTreeMap<String, Slot>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    policy: Policy,
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Supervisor {
    pub fn new(policy: Policy) -> Arc<Self> {
        Arc::new(Supervisor {
            jobs: Mutex::new(BTreeMap::new()),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            policy,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Slot>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start hosting `job` (replacing a job of the same name).
    pub fn add(self: &Arc<Self>, job: Arc<dyn Job>) {
        let name = job.name().to_string();
        let status = Arc::new(watch::channel(JobStatus::new(&name, job.kind())).0);
        let token = self.shutdown.child_token();
        let old = self.lock().insert(
            name.clone(),
            Slot {
                job: job.clone(),
                status: status.clone(),
                token: token.clone(),
                paused: false,
            },
        );
        if let Some(old) = old {
            old.token.cancel();
        }
        self.spawn(job, status, token);
    }

    fn spawn(
        self: &Arc<Self>,
        job: Arc<dyn Job>,
        status: Arc<watch::Sender<JobStatus>>,
        token: CancellationToken,
    ) {
        let policy = self.policy.clone();
        self.tracker.spawn(supervise(job, status, token, policy));
    }

    /// Stop and forget a job; true when it existed.
    pub fn remove(&self, name: &str) -> bool {
        match self.lock().remove(name) {
            Some(slot) => {
                slot.token.cancel();
                true
            }
            None => false,
        }
    }

    /// Stop a job's work and keep it stopped until resumed.
    pub fn pause(&self, name: &str) -> Result<(), String> {
        let mut jobs = self.lock();
        let slot = jobs.get_mut(name).ok_or_else(|| unknown(name))?;
        if slot.paused {
            return Err(format!("worker {name:?} is already paused"));
        }
        slot.paused = true;
        slot.token.cancel();
        slot.status.send_modify(|s| s.set_phase(Phase::Paused));
        info!("worker {name}: paused");
        Ok(())
    }

    /// Start a paused job again.
    pub fn resume(self: &Arc<Self>, name: &str) -> Result<(), String> {
        let (job, status, token) = {
            let mut jobs = self.lock();
            let slot = jobs.get_mut(name).ok_or_else(|| unknown(name))?;
            if !slot.paused {
                return Err(format!("worker {name:?} is not paused"));
            }
            slot.paused = false;
            slot.token = self.shutdown.child_token();
            (slot.job.clone(), slot.status.clone(), slot.token.clone())
        };
        info!("worker {name}: resumed");
        self.spawn(job, status, token);
        Ok(())
    }

    /// Stop a job and start it again at once (also out of Failed).
    pub fn restart(self: &Arc<Self>, name: &str) -> Result<(), String> {
        let (job, status, token) = {
            let mut jobs = self.lock();
            let slot = jobs.get_mut(name).ok_or_else(|| unknown(name))?;
            slot.token.cancel();
            slot.paused = false;
            slot.token = self.shutdown.child_token();
            (slot.job.clone(), slot.status.clone(), slot.token.clone())
        };
        status.send_modify(|s| s.restarts += 1);
        info!("worker {name}: restarted by request");
        self.spawn(job, status, token);
        Ok(())
    }

    /// Bring the hosted jobs in line with `jobs`: add new ones, remove
    /// vanished ones, restart those whose fingerprint changed.
    pub fn reload(self: &Arc<Self>, jobs: Vec<Arc<dyn Job>>) -> ReloadReport {
        let mut report = ReloadReport::default();
        let current: BTreeMap<String, String> = self
            .lock()
            .iter()
            .map(|(n, s)| (n.clone(), s.job.fingerprint()))
            .collect();
        let wanted: Vec<String> = jobs.iter().map(|j| j.name().to_string()).collect();
        for name in current.keys() {
            if !wanted.contains(name) {
                self.remove(name);
                report.removed.push(name.clone());
            }
        }
        for job in jobs {
            let name = job.name().to_string();
            match current.get(&name) {
                None => {
                    self.add(job);
                    report.added.push(name);
                }
                Some(fp) if *fp != job.fingerprint() => {
                    self.add(job);
                    report.restarted.push(name);
                }
                Some(_) => report.unchanged.push(name),
            }
        }
        report
    }

    /// Every job's current status, by name.
    pub fn statuses(&self) -> Vec<JobStatus> {
        self.lock()
            .values()
            .map(|s| s.status.borrow().clone())
            .collect()
    }

    /// A receiver for one job's status changes.
    pub fn watch(&self, name: &str) -> Option<watch::Receiver<JobStatus>> {
        self.lock().get(name).map(|s| s.status.subscribe())
    }

    /// The hosted jobs.
    pub fn jobs(&self) -> Vec<Arc<dyn Job>> {
        self.lock().values().map(|s| s.job.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancel every job and wait for them, at most `grace`. Returns the
    /// names of jobs still running when the grace ran out.
    pub async fn shutdown(&self, grace: Duration) -> Vec<String> {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return Vec::new();
        }
        self.statuses()
            .into_iter()
            .filter(|s| !matches!(s.phase, Phase::Stopped | Phase::Failed | Phase::Paused))
            .map(|s| s.name)
            .collect()
    }
}

fn unknown(name: &str) -> String {
    format!("no worker named {name:?}")
}

/// Run a job, restarting it with backoff until `token` is cancelled or it
/// fails fatally.
async fn supervise(
    job: Arc<dyn Job>,
    status: Arc<watch::Sender<JobStatus>>,
    token: CancellationToken,
    policy: Policy,
) {
    let name = job.name().to_string();
    let mut backoff = Backoff::new(policy.min_backoff, policy.max_backoff);
    loop {
        if token.is_cancelled() {
            break;
        }
        status.send_modify(|s| {
            s.set_phase(Phase::Starting);
            s.retry_at = None;
        });
        let ctx = JobContext {
            stop: token.clone(),
            status: status.clone(),
        };
        let started = Instant::now();
        status.send_modify(|s| s.set_phase(Phase::Running));
        // A panicking job must not take the supervisor down: run it as its
        // own task and treat a panic as a failure.
        let result = match tokio::spawn(job.clone().run(ctx)).await {
            Ok(r) => r,
            Err(e) if e.is_panic() => Err(JobError::Retry(format!(
                "the worker panicked: {}",
                panic_text(e)
            ))),
            Err(e) => Err(JobError::Retry(format!(
                "the worker task was cancelled: {e}"
            ))),
        };
        match result {
            Ok(()) => {
                if token.is_cancelled() {
                    break;
                }
                // A job that ends by itself without being asked is restarted.
                warn!("worker {name}: ended by itself; restarting");
            }
            Err(JobError::Fatal(e)) => {
                error!("worker {name}: failed: {e}; it stays stopped until restarted");
                status.send_modify(|s| {
                    s.last_error = Some(e.clone());
                    s.set_phase(Phase::Failed);
                });
                return;
            }
            Err(JobError::Retry(e)) => {
                if token.is_cancelled() {
                    break;
                }
                if started.elapsed() >= policy.healthy_after {
                    backoff.reset();
                }
                let wait = backoff.next_delay();
                warn!(
                    "worker {name}: {e}; restarting in {}",
                    crate::fmt::duration(wait)
                );
                status.send_modify(|s| {
                    s.last_error = Some(e.clone());
                    s.retry_at = Some(Instant::now() + wait);
                    s.set_phase(Phase::Backoff);
                });
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
                status.send_modify(|s| s.restarts += 1);
            }
        }
    }
    status.send_modify(|s| {
        if s.phase != Phase::Paused {
            s.set_phase(Phase::Stopped);
        }
        s.retry_at = None;
    });
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Fails its first `fail` runs after `after`, then works until stopped.
    struct Flaky {
        name: String,
        fp: String,
        fail: u32,
        fatal: bool,
        after: Duration,
        runs: Arc<AtomicU32>,
        panics: bool,
    }

    impl Flaky {
        fn new(name: &str, fail: u32) -> Self {
            Flaky {
                name: name.into(),
                fp: "v1".into(),
                fail,
                fatal: false,
                after: Duration::from_millis(10),
                runs: Arc::new(AtomicU32::new(0)),
                panics: false,
            }
        }
    }

    impl Job for Flaky {
        fn name(&self) -> &str {
            &self.name
        }
        fn kind(&self) -> &str {
            "test"
        }
        fn fingerprint(&self) -> String {
            self.fp.clone()
        }
        fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
            Box::pin(async move {
                let n = self.runs.fetch_add(1, Ordering::SeqCst);
                ctx.report(|s| s.counters = vec![("runs".into(), n as u64 + 1)]);
                tokio::time::sleep(self.after).await;
                if n < self.fail {
                    if self.panics {
                        panic!("boom {n}");
                    }
                    return Err(if self.fatal {
                        JobError::Fatal(format!("bad config {n}"))
                    } else {
                        JobError::Retry(format!("failure {n}"))
                    });
                }
                ctx.stop.cancelled().await;
                Ok(())
            })
        }
    }

    async fn phase_of(s: &Supervisor, name: &str) -> Phase {
        s.statuses()
            .into_iter()
            .find(|j| j.name == name)
            .unwrap()
            .phase
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_with_backoff_then_runs() {
        let sup = Supervisor::new(Policy::default());
        let job = Arc::new(Flaky::new("a", 4));
        let runs = job.runs.clone();
        sup.add(job);
        // runs fail at ~0, 1, 3 and 7 s (waits of 1, 2, 4, 8 s); the 5th,
        // at ~15 s, works
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(phase_of(&sup, "a").await, Phase::Backoff);
        let st = sup.statuses().remove(0);
        assert_eq!(st.last_error.as_deref(), Some("failure 1"));
        assert_eq!(st.restarts, 1);
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        assert_eq!(phase_of(&sup, "a").await, Phase::Running);
        assert_eq!(sup.statuses()[0].restarts, 4);
        assert!(sup.shutdown(Duration::from_secs(5)).await.is_empty());
        assert_eq!(phase_of(&sup, "a").await, Phase::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_job_is_restarted_not_fatal() {
        let sup = Supervisor::new(Policy::default());
        let mut job = Flaky::new("p", 1);
        job.panics = true;
        sup.add(Arc::new(job));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st = sup.statuses().remove(0);
        assert_eq!(st.phase, Phase::Backoff);
        assert_eq!(
            st.last_error.as_deref(),
            Some("the worker panicked: boom 0")
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(phase_of(&sup, "p").await, Phase::Running);
        sup.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_stop_until_restarted() {
        let sup = Supervisor::new(Policy::default());
        let mut job = Flaky::new("f", 1);
        job.fatal = true;
        let job = Arc::new(job);
        let runs = job.runs.clone();
        sup.add(job);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let st = sup.statuses().remove(0);
        assert_eq!(st.phase, Phase::Failed);
        assert_eq!(st.last_error.as_deref(), Some("bad config 0"));
        sup.restart("f").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(phase_of(&sup, "f").await, Phase::Running);
        assert_eq!(sup.statuses()[0].restarts, 1);
        sup.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn pause_and_resume() {
        let sup = Supervisor::new(Policy::default());
        let job = Arc::new(Flaky::new("w", 0));
        let runs = job.runs.clone();
        sup.add(job);
        tokio::time::sleep(Duration::from_secs(1)).await;
        sup.pause("w").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(phase_of(&sup, "w").await, Phase::Paused);
        assert!(sup.pause("w").unwrap_err().contains("already paused"));
        sup.resume("w").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(phase_of(&sup, "w").await, Phase::Running);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(sup.resume("w").unwrap_err().contains("not paused"));
        assert_eq!(sup.pause("nope").unwrap_err(), "no worker named \"nope\"");
        sup.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn reload_touches_only_what_changed() {
        let sup = Supervisor::new(Policy::default());
        let a = Arc::new(Flaky::new("a", 0));
        let b = Arc::new(Flaky::new("b", 0));
        let (a_runs, b_runs) = (a.runs.clone(), b.runs.clone());
        sup.add(a.clone());
        sup.add(b);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut b2 = Flaky::new("b", 0);
        b2.fp = "v2".into();
        let b2 = Arc::new(b2);
        let b2_runs = b2.runs.clone();
        let c = Arc::new(Flaky::new("c", 0));
        let r = sup.reload(vec![a.clone(), b2, c]);
        assert_eq!(
            r,
            ReloadReport {
                added: vec!["c".into()],
                removed: vec![],
                restarted: vec!["b".into()],
                unchanged: vec!["a".into()],
            }
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            a_runs.load(Ordering::SeqCst),
            1,
            "unchanged job not restarted"
        );
        assert_eq!(b_runs.load(Ordering::SeqCst), 1);
        assert_eq!(b2_runs.load(Ordering::SeqCst), 1);
        let r = sup.reload(vec![a]);
        assert_eq!(r.removed, vec!["b".to_string(), "c".to_string()]);
        assert_eq!(sup.len(), 1);
        sup.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_reports_jobs_that_do_not_stop() {
        struct Stubborn;
        impl Job for Stubborn {
            fn name(&self) -> &str {
                "stubborn"
            }
            fn kind(&self) -> &str {
                "test"
            }
            fn fingerprint(&self) -> String {
                String::new()
            }
            fn run(self: Arc<Self>, _ctx: JobContext) -> JobFuture {
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(())
                })
            }
        }
        let sup = Supervisor::new(Policy::default());
        sup.add(Arc::new(Stubborn));
        sup.add(Arc::new(Flaky::new("fine", 0)));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let left = sup.shutdown(Duration::from_secs(2)).await;
        assert_eq!(left, vec!["stubborn".to_string()]);
    }
}
