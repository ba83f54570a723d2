//! The cascade worker (spec §4.5–4.7): one per node and queue.
//!
//! Before each batch it reads its state on the local node
//! (`get_consumer_state`, `get_node_info`): paused, provider, node type.
//! * **root**: publishes the global watermark every
//!   `global_wm_publish_period`; nothing to consume.
//! * **branch**: opens the provider's next batch; copies every event (same
//!   ids and times, one binary COPY) into the local queue in
//!   `session_replication_role = replica`, handles the cascade's own
//!   `pgq.*` events, and records the batch with `set_consumer_completed` —
//!   all in one local transaction; then creates the same tick (id, time,
//!   event sequence) in a transaction of its own, so that the tick's
//!   snapshot sees the copied events as committed; then finishes the batch
//!   on the provider. A crash between the commit and the tick is repaired
//!   on restart (the batch is already done, the local top tick is its
//!   start: the tick is created then).
//! * **leaf**: handles `pgq.*` events (and, with Londiste, applies the
//!   rest); a merge leaf copies data events into its combined queue with a
//!   `pgq.tick-id` event per batch; a leaf whose combined node is a branch
//!   waits behind the position that branch sets.
//! * non-root workers report their local watermark to the provider every
//!   `local_wm_publish_period`.
//!
//! Exactly once: the local transaction holds both the work and the new
//! position, and a batch is only applied when the position is its start;
//! anything else is "Lost position" and needs an operator.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::{Client, Transaction};

use super::node::{self, CascadeError, ConsumerState, NodeInfo};
use crate::daemon::{Job, JobContext, JobError, JobFuture, Phase};
use crate::db::DbError;
use crate::pgq::{self, BatchInfo, Consumer, ConsumerConfig, Event};

/// How a worker is configured (the keys of a Londiste / cascade job file).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// The cascaded queue.
    pub queue: String,
    /// The worker's consumer name (the job name).
    pub worker: String,
    /// The local node's database.
    pub db: String,
    /// Wait when there is nothing to do (and between pause checks).
    pub loop_delay: Duration,
    pub local_wm_publish_period: Duration,
    pub global_wm_publish_period: Duration,
}

impl WorkerSettings {
    pub fn new(queue: &str, worker: &str, db: &str) -> Self {
        WorkerSettings {
            queue: queue.to_string(),
            worker: worker.to_string(),
            db: db.to_string(),
            loop_delay: Duration::from_secs(1),
            local_wm_publish_period: Duration::from_secs(300),
            global_wm_publish_period: Duration::from_secs(300),
        }
    }
}

/// The worker settings of a cascade/Londiste job file: `db`,
/// `queue_name` (or the older `pgq_queue_name`), the job name as worker
/// name, and the periods.
pub fn settings_from_job(
    file: &crate::config::JobFile,
) -> Result<WorkerSettings, crate::config::ConfigError> {
    let s = &file.section;
    let db = s.require("db")?;
    let queue = match s.get_opt("queue_name")?.filter(|v| !v.is_empty()) {
        Some(q) => q,
        None => s
            .get_opt("pgq_queue_name")?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| s.missing("queue_name"))?,
    };
    let mut w = WorkerSettings::new(&queue, &file.job_name, &db);
    w.loop_delay = s.get_duration("loop_delay", w.loop_delay)?;
    w.local_wm_publish_period =
        s.get_duration("local_wm_publish_period", w.local_wm_publish_period)?;
    w.global_wm_publish_period =
        s.get_duration("global_wm_publish_period", w.global_wm_publish_period)?;
    Ok(w)
}

/// What the worker does with one batch, by node role (python-pgq's
/// WorkerState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Branch,
    Leaf,
    /// Leaf whose combined queue is on a root: filtered copy + tick event.
    MergeIntoRoot,
    /// Leaf whose combined queue is on a branch: follow its position.
    WaitBehind,
}

fn role(n: &NodeInfo) -> Result<Role, CascadeError> {
    match (n.node_type.as_str(), n.combined_type.as_deref()) {
        ("root", None) => Ok(Role::Root),
        ("branch", None) => Ok(Role::Branch),
        ("leaf", None) => Ok(Role::Leaf),
        ("leaf", Some("root")) => Ok(Role::MergeIntoRoot),
        ("leaf", Some("branch")) => Ok(Role::WaitBehind),
        (t, c) => Err(CascadeError::State(format!(
            "node {} has an impossible state: type {t}, combined queue type {}",
            n.node_name,
            c.unwrap_or("none")
        ))),
    }
}

/// What a node does with the data events of a batch, in the batch's local
/// transaction (after the cascade's own events, before the position is
/// recorded): Londiste's table replay plugs in here.
pub trait Applier: Send + Sync + 'static {
    /// Apply `events` (everything but the cascade's `pgq.*` events) in
    /// `tx`; `source` is the provider connection the batch came from.
    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'_>,
        source: &'a Client,
        batch: &'a BatchInfo,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Before each batch of a non-root node (and when idle): work between
    /// batches (Londiste's copy hand-over). `completed` is the node's
    /// position; [`Ready::Wait`] holds the next batch back until a wake-up
    /// or `loop_delay`.
    fn prepare<'a>(&'a self, _step: Prepare<'a>) -> BoxFuture<'a, Result<Ready, String>> {
        Box::pin(async { Ok(Ready::Go) })
    }

    /// What the console may see of the applier (Londiste: its copies).
    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        None
    }

    /// The events a branch copies into its own queue (or, `combined`, a
    /// merge leaf into the combined queue), after [`apply`](Applier::apply)
    /// in the same transaction: Londiste's handlers may drop or rewrite row
    /// events, and its table registrations stay out of a combined queue.
    fn copy_events<'a>(
        &'a self,
        _tx: &'a Transaction<'_>,
        events: Vec<Event>,
        _combined: bool,
    ) -> BoxFuture<'a, Result<Vec<Event>, String>> {
        Box::pin(async move { Ok(events) })
    }

    /// On a leaf: an SQL condition on the event columns that limits what
    /// is fetched from the provider (`None`: everything).
    fn event_filter<'a>(
        &'a self,
        _target: &'a Client,
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async { Ok(None) })
    }

    /// Every loop of a root node's worker.
    fn root_loop<'a>(&'a self, _target: &'a Client) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// A boxed future, as the [`Applier`] methods return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What [`Applier::prepare`] is given.
pub struct Prepare<'a> {
    pub target: &'a Client,
    pub source: &'a Client,
    /// Where the provider is (for extra connections).
    pub provider_location: &'a str,
    pub provider_node: &'a str,
    pub info: &'a NodeInfo,
    pub completed: Option<i64>,
    pub stop: &'a tokio_util::sync::CancellationToken,
}

/// Whether the next batch may be applied now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    Go,
    Wait,
}

/// The worker as a supervised job.
pub struct CascadeWorker {
    settings: WorkerSettings,
    fingerprint: String,
    /// Database label shown by the console.
    label: String,
    applier: Option<Arc<dyn Applier>>,
}

impl CascadeWorker {
    pub fn new(settings: WorkerSettings, fingerprint: String, label: &str) -> Self {
        CascadeWorker {
            settings,
            fingerprint,
            label: label.to_string(),
            applier: None,
        }
    }

    /// Apply data events with `a` on branches and leaves.
    pub fn with_applier(mut self, a: Arc<dyn Applier>) -> Self {
        self.applier = Some(a);
        self
    }
}

/// What other parts of the engine see of a cascade worker (through
/// [`Job::extra`]): its queue and node database, for the console's Nodes
/// view and its actions.
pub struct CascadeView {
    pub settings: WorkerSettings,
    pub label: String,
    /// The applier's [`Applier::extra`].
    pub applier: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Job for CascadeWorker {
    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(Arc::new(CascadeView {
            settings: self.settings.clone(),
            label: self.label.clone(),
            applier: self.applier.as_ref().and_then(|a| a.extra()),
        }))
    }

    fn name(&self) -> &str {
        &self.settings.worker
    }
    fn kind(&self) -> &str {
        "cascade"
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let mut w = Worker::connect(&self.settings, &self.label, &ctx).await?;
            w.applier = self.applier.clone();
            let r = w.run(&ctx).await;
            if let Err(e) = &r {
                // Best effort: the error goes where `status` shows it.
                let msg = e.to_string();
                let _ = node::set_consumer_error(&w.target, &w.s.queue, &w.s.worker, &msg).await;
            }
            r
        })
    }
}

/// Counters published to the supervisor.
#[derive(Default)]
struct Counters {
    batches: u64,
    events: u64,
    copied: u64,
    ticks: u64,
}

/// Channel on the node's database that wakes a worker at once (payload:
/// the worker name), so a pause or a takeover step is acknowledged without
/// waiting for the worker's next poll.
pub const WAKE_CHANNEL: &str = "skydeck_worker_wake";

struct Worker<'a> {
    s: &'a WorkerSettings,
    label: String,
    target: Client,
    wake: tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    source: Option<(String, Consumer)>,
    last_local_wm: Option<Instant>,
    last_global_wm: Option<Instant>,
    /// Upstream global watermark seen in events (sync_watermark branches).
    real_global_wm: Option<i64>,
    counters: Counters,
    applier: Option<Arc<dyn Applier>>,
    /// Why the provider cannot be reached, while it cannot.
    provider_down: Option<String>,
    /// The last batch ended more than [`BEHIND`] ago.
    behind: bool,
}

/// A leaf further behind than this merges ticks into bigger batches …
const BEHIND: Duration = Duration::from_secs(1);
/// … of about this many events …
const MERGE_EVENTS: i32 = 20_000;
/// … or this much tick time.
const MERGE_SPAN: Duration = Duration::from_secs(2);

fn retry<E: std::fmt::Display>(e: E) -> JobError {
    JobError::Retry(e.to_string())
}

impl<'a> Worker<'a> {
    async fn connect(
        s: &'a WorkerSettings,
        label: &str,
        ctx: &JobContext,
    ) -> Result<Worker<'a>, JobError> {
        let (target, wake) = crate::db::connect_with_notifications(&s.db)
            .await
            .map_err(retry)?;
        target
            .batch_execute(&format!("listen {WAKE_CHANNEL}"))
            .await
            .map_err(|e| retry(DbError::query("listen for wake-ups", e)))?;
        ctx.report(|st| st.databases = vec![label.to_string()]);
        Ok(Worker {
            s,
            label: label.to_string(),
            target,
            wake,
            source: None,
            last_local_wm: None,
            last_global_wm: None,
            real_global_wm: None,
            counters: Counters::default(),
            applier: None,
            provider_down: None,
            behind: false,
        })
    }

    /// Sleep `d`, or until woken for this worker, or stopped (false).
    async fn pause(&mut self, ctx: &JobContext, d: Duration) -> bool {
        let deadline = tokio::time::sleep(d);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = ctx.stop.cancelled() => return false,
                _ = &mut deadline => return true,
                n = self.wake.recv() => match n {
                    Some(n) if n.payload() == self.s.worker => return true,
                    Some(_) => {}
                    // Connection gone: the next query reports it.
                    None => return true,
                },
            }
        }
    }

    async fn run(&mut self, ctx: &JobContext) -> Result<(), JobError> {
        loop {
            if ctx.stop.is_cancelled() {
                return Ok(());
            }
            let st = match node::consumer_state(&self.target, &self.s.queue, &self.s.worker).await {
                Ok(st) => st,
                Err(CascadeError::Refused {
                    code: 404, note, ..
                }) => {
                    return Err(JobError::Fatal(format!(
                    "{}: worker {:?} is not set up on queue {:?} ({note}); create the node first \
                         (create-root, create-branch or create-leaf)",
                    self.label, self.s.worker, self.s.queue
                )))
                }
                Err(e) => return Err(retry(e)),
            };
            if !st.uptodate {
                // Acknowledge whatever the admin changed (pause, provider).
                node::set_consumer_uptodate(&self.target, &self.s.queue, &self.s.worker, true)
                    .await
                    .map_err(retry)?;
            }
            if st.paused {
                ctx.report(|s| s.phase = Phase::Paused);
                if !self.pause(ctx, self.s.loop_delay).await {
                    return Ok(());
                }
                continue;
            }
            let Some(info) = node::node_info(&self.target, &self.s.queue)
                .await
                .map_err(retry)?
            else {
                return Err(JobError::Fatal(format!(
                    "{}: no cascade node for queue {:?} here",
                    self.label, self.s.queue
                )));
            };
            let role = role(&info).map_err(|e| JobError::Fatal(e.to_string()))?;
            if role == Role::Root {
                self.root_duties(ctx).await?;
                if !self.pause(ctx, self.s.loop_delay).await {
                    return Ok(());
                }
                continue;
            }
            match self.source(&st).await {
                Ok(_) => {
                    if let Some(was) = self.provider_down.take() {
                        tracing::info!("{}: provider reachable again (was: {was})", self.label);
                    }
                }
                Err(JobError::Retry(msg)) => {
                    // The provider is down. Stay here, answering admin
                    // changes at once (a pause or a new provider during a
                    // failover), instead of failing the task into backoff.
                    if self.provider_down.is_none() {
                        tracing::warn!(
                            "{}: {msg}; retrying every {}",
                            self.label,
                            crate::fmt::duration(self.s.loop_delay)
                        );
                        let _ = node::set_consumer_error(
                            &self.target,
                            &self.s.queue,
                            &self.s.worker,
                            &msg,
                        )
                        .await;
                    }
                    self.provider_down = Some(msg.clone());
                    ctx.report(|s| {
                        s.phase = Phase::Backoff;
                        s.last_error = Some(msg);
                    });
                    if !self.pause(ctx, self.s.loop_delay).await {
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
            if let (Some(a), Role::Branch | Role::Leaf | Role::MergeIntoRoot) =
                (self.applier.clone(), role)
            {
                let (loc, c) = self.source.as_ref().expect("connected");
                let ready = a
                    .prepare(Prepare {
                        target: &self.target,
                        source: c.client(),
                        provider_location: loc,
                        provider_node: st.provider_node.as_deref().unwrap_or(""),
                        info: &info,
                        completed: st.completed_tick,
                        stop: &ctx.stop,
                    })
                    .await
                    .map_err(JobError::Retry)?;
                if ready == Ready::Wait {
                    ctx.report(|s| s.phase = Phase::Idle);
                    if !self.pause(ctx, self.s.loop_delay).await {
                        return Ok(());
                    }
                    continue;
                }
            }
            if !self.one_batch(ctx, &st, &info, role).await? && !self.wait(ctx).await {
                return Ok(());
            }
        }
    }

    /// Idle: wait for the provider's next tick, a wake-up, or loop_delay.
    async fn wait(&mut self, ctx: &JobContext) -> bool {
        ctx.report(|s| s.phase = Phase::Idle);
        let Some((_, source)) = self.source.as_mut() else {
            return self.pause(ctx, self.s.loop_delay).await;
        };
        let worker = self.s.worker.as_str();
        let wake = &mut self.wake;
        let woken = async {
            loop {
                match wake.recv().await {
                    Some(n) if n.payload() == worker => return,
                    Some(_) => {}
                    None => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            alive = source.wait_for_tick(&ctx.stop, self.s.loop_delay) => alive,
            _ = woken => true,
        }
    }

    async fn root_duties(&mut self, ctx: &JobContext) -> Result<(), JobError> {
        self.source = None;
        if let Some(a) = self.applier.clone() {
            a.root_loop(&self.target).await.map_err(JobError::Retry)?;
        }
        let due = self
            .last_global_wm
            .is_none_or(|t| t.elapsed() >= self.s.global_wm_publish_period);
        if due {
            node::set_global_watermark(&self.target, &self.s.queue, None)
                .await
                .map_err(retry)?;
            self.last_global_wm = Some(Instant::now());
        }
        ctx.report(|s| {
            s.phase = Phase::Idle;
            s.lag = None;
        });
        Ok(())
    }

    /// The provider connection, (re)made when the location changed.
    async fn source(&mut self, st: &ConsumerState) -> Result<&mut Consumer, JobError> {
        let loc = st.provider_location.clone().ok_or_else(|| {
            JobError::Fatal(format!(
                "{}: the worker has no provider location (provider node {:?})",
                self.label, st.provider_node
            ))
        })?;
        let stale = match &self.source {
            Some((l, c)) => *l != loc || c.client().is_closed(),
            None => true,
        };
        if stale {
            let cfg = ConsumerConfig {
                idle_sleep: self.s.loop_delay,
                ..Default::default()
            };
            let c = Consumer::connect(&loc, &self.s.queue, &self.s.worker, cfg)
                .await
                .map_err(|e| {
                    retry(format!(
                        "provider {}: {e}",
                        st.provider_node.as_deref().unwrap_or("?")
                    ))
                })?;
            self.source = Some((loc, c));
        }
        Ok(&mut self.source.as_mut().expect("just set").1)
    }

    /// Process one batch; false when there was none ready.
    async fn one_batch(
        &mut self,
        ctx: &JobContext,
        st: &ConsumerState,
        info: &NodeInfo,
        role: Role,
    ) -> Result<bool, JobError> {
        let behind = self.behind;
        let source = self.source(st).await?;
        // A leaf that is behind takes several ticks per batch (nothing
        // below it needs the ticks one by one): fewer, bigger batches.
        let merged = if role == Role::Leaf && behind {
            source
                .open_batch_merged(MERGE_EVENTS, MERGE_SPAN)
                .await
                .map_err(retry)?
        } else {
            None
        };
        let opened = match merged {
            Some(b) => Some(b),
            None => source.open_batch().await.map_err(retry)?,
        };
        let Some(batch) = opened else {
            self.behind = false;
            self.publish_local_wm(info, None).await?;
            return Ok(false);
        };
        let completed = st.completed_tick;
        if role == Role::WaitBehind {
            // Follow the combined branch: the batch is done once its
            // worker has moved our position past it.
            if completed.is_some_and(|c| c >= batch.cur_tick_id) {
                let source = &self.source.as_ref().expect("connected").1;
                source.finish_batch(batch.batch_id).await.map_err(retry)?;
                self.publish_local_wm(info, Some(&batch)).await?;
                return Ok(true);
            }
            return Ok(false);
        }
        if completed == Some(batch.cur_tick_id) {
            // Applied before a crash; the tick may be missing on a branch.
            if role == Role::Branch {
                self.ensure_tick(&batch).await?;
            }
            let source = &self.source.as_ref().expect("connected").1;
            source.finish_batch(batch.batch_id).await.map_err(retry)?;
            return Ok(true);
        }
        if completed != Some(batch.prev_tick_id) {
            return Err(JobError::Fatal(format!(
                "Lost position: batch {}..{}, dst has {}",
                batch.prev_tick_id,
                batch.cur_tick_id,
                completed
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "nothing".into())
            )));
        }
        // A leaf may fetch only what it applies (Londiste's local_only).
        let filter = match (&self.applier, role) {
            (Some(a), Role::Leaf) => a
                .event_filter(&self.target)
                .await
                .map_err(JobError::Retry)?,
            _ => None,
        };
        let events = {
            let source = &self.source.as_ref().expect("connected").1;
            match &filter {
                Some(w) => source
                    .batch_events_where(source.client(), batch.batch_id, w)
                    .await
                    .map_err(retry)?,
                None => source
                    .batch_events(source.client(), batch.batch_id)
                    .await
                    .map_err(retry)?,
            }
        };
        let n = events.len() as u64;
        let copied = self.apply(info, role, &batch, &events).await?;
        if role == Role::Branch {
            self.create_tick(&batch).await?;
            self.counters.ticks += 1;
        }
        {
            let source = &self.source.as_ref().expect("connected").1;
            source.finish_batch(batch.batch_id).await.map_err(retry)?;
        }
        self.counters.batches += 1;
        self.counters.events += n;
        self.counters.copied += copied;
        self.publish_local_wm(info, Some(&batch)).await?;
        let lag = std::time::SystemTime::now()
            .duration_since(batch.cur_tick_time)
            .unwrap_or_default();
        self.behind = lag > BEHIND;
        let c = &self.counters;
        let counters = vec![
            ("batches".to_string(), c.batches),
            ("events".to_string(), c.events),
            ("copied".to_string(), c.copied),
            ("ticks".to_string(), c.ticks),
        ];
        ctx.report(|s| {
            s.phase = Phase::Running;
            s.lag = Some(lag);
            s.counters = counters;
            s.last_error = None;
        });
        Ok(true)
    }

    /// The batch's work in one local transaction; events copied.
    async fn apply(
        &mut self,
        info: &NodeInfo,
        role: Role,
        batch: &BatchInfo,
        events: &[Event],
    ) -> Result<u64, JobError> {
        let queue = self.s.queue.clone();
        let worker = self.s.worker.clone();
        let sync = info.sync_watermark().is_some();
        let mut upstream_wm = None;
        let tx = self
            .target
            .transaction()
            .await
            .map_err(|e| retry(DbError::query("begin", e)))?;
        tx.batch_execute("set local session_replication_role = replica")
            .await
            .map_err(|e| retry(DbError::query("set session_replication_role", e)))?;
        for ev in events {
            if ev.ev_retry.is_some() {
                return Err(JobError::Fatal(format!(
                    "event {} of batch {} is a retry event: a cascade worker cannot take retries",
                    ev.ev_id, batch.batch_id
                )));
            }
            let t = ev.ev_type.as_deref().unwrap_or("");
            if t.starts_with("pgq.") {
                if let Some(wm) = system_event(&tx, &queue, info, role, ev, sync).await? {
                    upstream_wm = Some(wm);
                }
            }
        }
        if let (Some(a), Role::Branch | Role::Leaf | Role::MergeIntoRoot) = (&self.applier, role) {
            let data: Vec<Event> = events
                .iter()
                .filter(|e| !e.ev_type.as_deref().unwrap_or("").starts_with("pgq."))
                .cloned()
                .collect();
            let source = self.source.as_ref().expect("connected").1.client();
            a.apply(&tx, source, batch, &data)
                .await
                .map_err(JobError::Retry)?;
        }
        let mut copied = 0;
        match role {
            Role::Branch => {
                let mut to_copy: Vec<Event> = events.to_vec();
                if let Some(a) = &self.applier {
                    to_copy = a
                        .copy_events(&tx, to_copy, false)
                        .await
                        .map_err(JobError::Retry)?;
                }
                if sync {
                    // Downstream sees the watermark this group agreed on.
                    if let Some(gw) = info.global_watermark {
                        for e in to_copy.iter_mut() {
                            if e.ev_type.as_deref() == Some("pgq.global-watermark") {
                                e.ev_data = Some(gw.to_string());
                            }
                        }
                    }
                }
                copied = pgq::producer::copy_events(&tx, &queue, &to_copy)
                    .await
                    .map_err(retry)?;
            }
            Role::MergeIntoRoot => {
                let target_queue = info.combined_queue.clone().unwrap_or_default();
                let mut to_copy: Vec<Event> = events
                    .iter()
                    .filter(|e| !e.ev_type.as_deref().unwrap_or("").starts_with("pgq."))
                    .cloned()
                    .collect();
                if let Some(a) = &self.applier {
                    to_copy = a
                        .copy_events(&tx, to_copy, true)
                        .await
                        .map_err(JobError::Retry)?;
                }
                let data: Vec<pgq::NewEvent> = to_copy
                    .iter()
                    .map(|e| pgq::NewEvent {
                        ev_type: e.ev_type.clone(),
                        ev_data: e.ev_data.clone(),
                        ev_extra1: e.ev_extra1.clone(),
                        ev_extra2: e.ev_extra2.clone(),
                        ev_extra3: e.ev_extra3.clone(),
                        ev_extra4: e.ev_extra4.clone(),
                    })
                    .collect();
                copied = pgq::bulk_insert(&tx, &target_queue, &data)
                    .await
                    .map_err(retry)?;
                pgq::insert_event_ex(
                    &tx,
                    &target_queue,
                    &pgq::NewEvent::new("pgq.tick-id", batch.cur_tick_id.to_string())
                        .extra1(queue.clone()),
                )
                .await
                .map_err(retry)?;
            }
            Role::Leaf | Role::Root | Role::WaitBehind => {}
        }
        node::set_consumer_completed(&tx, &queue, &worker, batch.cur_tick_id)
            .await
            .map_err(retry)?;
        tx.commit()
            .await
            .map_err(|e| retry(DbError::query("commit", e)))?;
        if upstream_wm.is_some() {
            self.real_global_wm = upstream_wm;
        }
        Ok(copied)
    }

    /// The local queue's newest tick.
    async fn top_tick(&self) -> Result<Option<i64>, JobError> {
        let r = self
            .target
            .query_one(
                "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
                  where q.queue_name = $1",
                &[&self.s.queue],
            )
            .await
            .map_err(|e| retry(DbError::query("reading the local top tick", e)))?;
        Ok(r.get(0))
    }

    /// After a crash between the batch's commit and its tick.
    async fn ensure_tick(&mut self, batch: &BatchInfo) -> Result<(), JobError> {
        let top = self.top_tick().await?;
        if top == Some(batch.cur_tick_id) {
            return Ok(());
        }
        if top != Some(batch.prev_tick_id) {
            return Err(JobError::Fatal(format!(
                "last branch tick is {}, expected {} or {}",
                top.map(|t| t.to_string()).unwrap_or_else(|| "none".into()),
                batch.prev_tick_id,
                batch.cur_tick_id
            )));
        }
        self.create_tick(batch).await
    }

    /// The provider's tick, on our queue: same id, time and event position.
    async fn create_tick(&self, batch: &BatchInfo) -> Result<(), JobError> {
        self.target
            .query_one(
                "select pgq.ticker($1, $2, $3, $4)",
                &[
                    &self.s.queue,
                    &batch.cur_tick_id,
                    &batch.cur_tick_time,
                    &batch.cur_tick_event_seq,
                ],
            )
            .await
            .map_err(|e| {
                retry(DbError::query(
                    format!("creating tick {}", batch.cur_tick_id),
                    e,
                ))
            })?;
        Ok(())
    }

    /// Tell the provider how far this subtree is (holds back its rotation).
    async fn publish_local_wm(
        &mut self,
        info: &NodeInfo,
        batch: Option<&BatchInfo>,
    ) -> Result<(), JobError> {
        if self
            .last_local_wm
            .is_some_and(|t| t.elapsed() < self.s.local_wm_publish_period)
        {
            return Ok(());
        }
        let Some(batch) = batch else {
            return Ok(());
        };
        let mut wm = info.local_watermark.unwrap_or(batch.prev_tick_id);
        if info.sync_watermark().is_some() {
            wm = batch.prev_tick_id;
        } else if wm > batch.cur_tick_id {
            wm = batch.cur_tick_id;
        }
        let queue = self.s.queue.clone();
        let node_name = info.node_name.clone();
        if let Some((_, c)) = &self.source {
            node::set_subscriber_watermark(c.client(), &queue, &node_name, wm)
                .await
                .map_err(retry)?;
        }
        self.last_local_wm = Some(Instant::now());
        if let (Some(nodes), Some(real)) = (info.sync_watermark(), self.real_global_wm) {
            self.sync_global_wm(info, &nodes, real).await?;
        }
        Ok(())
    }

    /// sync_watermark: our global watermark is the lowest local watermark
    /// of the live nodes in the group, never ahead of upstream's.
    async fn sync_global_wm(
        &mut self,
        info: &NodeInfo,
        nodes: &[String],
        upstream: i64,
    ) -> Result<(), JobError> {
        let mut wm = info.local_watermark.unwrap_or(upstream).min(upstream);
        let locs = node::locations(&self.target, &self.s.queue)
            .await
            .map_err(retry)?;
        for n in nodes {
            if *n == info.node_name {
                continue;
            }
            let Some(l) = locs.iter().find(|l| l.node_name == *n) else {
                tracing::warn!("{}: unknown node in sync_watermark list: {n}", self.label);
                return Ok(());
            };
            if l.dead {
                continue;
            }
            let c = match crate::db::connect(&l.node_location).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("{}: sync_watermark node {n} not reachable: {e}", self.label);
                    continue;
                }
            };
            if let Ok(Some(ni)) = node::node_info(&c, &self.s.queue).await {
                if let Some(lw) = ni.local_watermark {
                    wm = wm.min(lw);
                }
            }
        }
        node::set_global_watermark(&self.target, &self.s.queue, Some(wm))
            .await
            .map_err(retry)?;
        Ok(())
    }
}

/// The cascade's own events; the upstream global watermark when a
/// sync_watermark branch sees one (it does not apply it directly).
async fn system_event(
    tx: &Transaction<'_>,
    queue: &str,
    info: &NodeInfo,
    role: Role,
    ev: &Event,
    sync: bool,
) -> Result<Option<i64>, JobError> {
    let t = ev.ev_type.as_deref().unwrap_or("");
    let data = ev.ev_data.as_deref().unwrap_or("");
    if t != "pgq.tick-id" && ev.ev_extra1.as_deref() != Some(queue) {
        return Err(JobError::Fatal(format!(
            "cascade event {t} (id {}) is for queue {:?}, not {queue:?}",
            ev.ev_id, ev.ev_extra1
        )));
    }
    let tick = || {
        data.parse::<i64>().map_err(|_| {
            JobError::Fatal(format!(
                "{t} event {} carries a bad tick id {data:?}",
                ev.ev_id
            ))
        })
    };
    match t {
        "pgq.location-info" => {
            let dead = ev.ev_extra3.as_deref() == Some("true");
            node::register_location(tx, queue, data, ev.ev_extra2.as_deref(), dead)
                .await
                .map_err(retry)?;
        }
        "pgq.unregister-location" => {
            // Refused (403) for ourselves or our provider: keep going.
            match node::unregister_location(tx, queue, data).await {
                Ok(_) | Err(CascadeError::Refused { .. }) => {}
                Err(e) => return Err(retry(e)),
            }
        }
        "pgq.global-watermark" => {
            let wm = tick()?;
            if sync {
                return Ok(Some(wm));
            } else if role == Role::Branch {
                node::set_global_watermark(tx, queue, Some(wm))
                    .await
                    .map_err(retry)?;
            }
        }
        "pgq.tick-id" => {
            // A merge leaf reporting its position into our (combined) queue.
            let part = ev.ev_extra1.as_deref().unwrap_or("");
            if role == Role::Branch {
                node::set_partition_watermark(tx, queue, part, tick()?)
                    .await
                    .map_err(retry)?;
            }
        }
        other => {
            return Err(JobError::Fatal(format!(
                "unknown cascade event type {other:?} (event {}) on node {}",
                ev.ev_id, info.node_name
            )))
        }
    }
    Ok(None)
}
