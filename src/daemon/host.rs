//! The engine side of the console (and of `skydeck status`): builds
//! [`Snapshot`]s from the hosted jobs and the databases they serve, and
//! carries out [`Action`]s with the same library calls as the CLI.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use skydeck_ui::model::{
    Action, ActionResult, Alert, CascadeView, ConsumerView, DatabaseState, DatabaseView, Level,
    QueueView, Reply, RotationPhase, RotationView, Snapshot, TickerMode, WorkerState, WorkerView,
};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_postgres::Client;

use super::cascades;
use super::logging::LogBuffer;
use super::supervisor::{JobStatus, Phase, Supervisor};
use crate::db::{describe, mask_connstr};
use crate::pgq;
use crate::ticker::{DbState, TickerView};

/// A database the deck watches, as the console names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbEndpoint {
    /// Label, unique in the deck.
    pub label: String,
    /// Full connection string (with password; never shown).
    pub connstr: String,
}

/// The console's view of the engine.
pub struct Host {
    pub supervisor: Arc<Supervisor>,
    pub logs: LogBuffer,
    pub title: String,
    pub read_only: bool,
    clients: Mutex<HashMap<String, Arc<Client>>>,
    /// The last cascade views read, shown again (with an alert) while a
    /// cascade cannot be read.
    cascades: Mutex<HashMap<String, CascadeView>>,
}

/// Lines of log handed to each snapshot.
const LOG_TAIL: usize = 2000;

fn secs(v: Option<f64>) -> Duration {
    Duration::from_secs_f64(v.unwrap_or(0.0).max(0.0))
}

fn phase_to_state(p: Phase) -> WorkerState {
    match p {
        Phase::Starting => WorkerState::Starting,
        Phase::Running => WorkerState::Running,
        Phase::Idle => WorkerState::Idle,
        Phase::Paused => WorkerState::Paused,
        Phase::Backoff => WorkerState::Backoff,
        Phase::Stopped => WorkerState::Stopped,
        Phase::Failed => WorkerState::Failed,
    }
}

fn worker_view(s: &JobStatus) -> WorkerView {
    let now = Instant::now();
    WorkerView {
        name: s.name.clone(),
        kind: s.kind.clone(),
        databases: s.databases.clone(),
        state: phase_to_state(s.phase),
        state_for: now.saturating_duration_since(s.since),
        restarts: s.restarts,
        retry_in: s.retry_at.map(|t| t.saturating_duration_since(now)),
        last_error: s.last_error.clone(),
        lag: s.lag,
        counters: s.counters.clone(),
    }
}

/// A short label for a connection string: its database name.
pub fn db_label(connstr: &str) -> String {
    connstr
        .parse::<tokio_postgres::Config>()
        .ok()
        .and_then(|c| c.get_dbname().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Append `dbname=…` to a base connection string (key=value or URI).
pub fn with_dbname(base: &str, dbname: &str) -> String {
    let t = base.trim();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        let sep = if t.contains('?') { '&' } else { '?' };
        let enc: String = dbname
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{t}{sep}dbname={enc}")
    } else {
        format!("{t} dbname={}", crate::cluster::quote_conn_value(dbname))
    }
}

impl Host {
    pub fn new(
        supervisor: Arc<Supervisor>,
        logs: LogBuffer,
        title: &str,
        read_only: bool,
    ) -> Arc<Self> {
        Arc::new(Host {
            supervisor,
            logs,
            title: title.to_string(),
            read_only,
            clients: Mutex::new(HashMap::new()),
            cascades: Mutex::new(HashMap::new()),
        })
    }

    /// The databases of the deck's tickers, with their ticker state.
    fn endpoints(&self) -> Vec<(DbEndpoint, Option<crate::ticker::DbStatus>)> {
        let tickers: Vec<(String, Arc<TickerView>)> = self
            .supervisor
            .jobs()
            .iter()
            .filter_map(|j| {
                j.extra()
                    .and_then(|e| e.downcast::<TickerView>().ok())
                    .map(|v| (j.name().to_string(), v))
            })
            .collect();
        let several = tickers.len() > 1;
        let mut out = Vec::new();
        for (job, view) in tickers {
            let st = view.status.borrow().clone();
            let names: Vec<String> = if st.databases.is_empty() {
                view.settings.database_list.clone()
            } else {
                st.databases.keys().cloned().collect()
            };
            for db in names {
                let label = if several {
                    format!("{job}:{db}")
                } else {
                    db.clone()
                };
                out.push((
                    DbEndpoint {
                        label,
                        connstr: with_dbname(&view.settings.base_connstr, &db),
                    },
                    st.databases.get(&db).cloned(),
                ));
            }
        }
        out
    }

    async fn client(&self, ep: &DbEndpoint) -> Result<Arc<Client>, String> {
        {
            let map = self.clients.lock().await;
            if let Some(c) = map.get(&ep.label) {
                if !c.is_closed() {
                    return Ok(c.clone());
                }
            }
        }
        let c = Arc::new(
            crate::db::connect(&ep.connstr)
                .await
                .map_err(|e| e.to_string())?,
        );
        self.clients
            .lock()
            .await
            .insert(ep.label.clone(), c.clone());
        Ok(c)
    }

    /// Gather everything the console shows.
    pub async fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot {
            taken_at: SystemTime::now(),
            deck: self.title.clone(),
            read_only: self.read_only,
            ..Snapshot::default()
        };
        let statuses = self.supervisor.statuses();
        for s in &statuses {
            snap.workers.push(worker_view(s));
            match s.phase {
                Phase::Failed => snap.alerts.push(Alert {
                    level: Level::Error,
                    source: s.name.clone(),
                    message: format!(
                        "worker failed: {}",
                        s.last_error
                            .clone()
                            .unwrap_or_else(|| "no reason given".into())
                    ),
                    since: Instant::now().saturating_duration_since(s.since),
                }),
                Phase::Backoff => snap.alerts.push(Alert {
                    level: Level::Warn,
                    source: s.name.clone(),
                    message: format!(
                        "worker restarting: {}",
                        s.last_error
                            .clone()
                            .unwrap_or_else(|| "no reason given".into())
                    ),
                    since: Instant::now().saturating_duration_since(s.since),
                }),
                _ => {}
            }
        }
        for (ep, tstate) in self.endpoints() {
            let masked = mask_connstr(&ep.connstr);
            match self.database(&ep).await {
                Ok((version, pgq_version, queues)) => {
                    snap.databases.push(DatabaseView {
                        name: ep.label.clone(),
                        connstr: masked,
                        state: DatabaseState::Up {
                            server_version: version,
                            pgq_version,
                        },
                    });
                    for q in &queues {
                        alerts_for_queue(q, &mut snap.alerts);
                    }
                    snap.queues.extend(queues);
                }
                Err(e) => {
                    let (down_for, retry_in) = match &tstate {
                        Some(d) => (
                            d.since
                                .map(|s| Instant::now().saturating_duration_since(s))
                                .unwrap_or_default(),
                            d.retry_at
                                .map(|r| r.saturating_duration_since(Instant::now())),
                        ),
                        None => (Duration::ZERO, None),
                    };
                    snap.alerts.push(Alert {
                        level: Level::Error,
                        source: ep.label.clone(),
                        message: format!("database unreachable: {e}"),
                        since: down_for,
                    });
                    snap.databases.push(DatabaseView {
                        name: ep.label.clone(),
                        connstr: masked,
                        state: DatabaseState::Down {
                            error: e,
                            down_for,
                            retry_in,
                        },
                    });
                    self.clients.lock().await.remove(&ep.label);
                }
            }
            if let Some(d) = &tstate {
                if let DbState::Down { error } = &d.state {
                    if !snap.alerts.iter().any(|a| a.source == ep.label) {
                        snap.alerts.push(Alert {
                            level: Level::Warn,
                            source: ep.label.clone(),
                            message: format!("ticker cannot work here: {error}"),
                            since: d
                                .since
                                .map(|s| Instant::now().saturating_duration_since(s))
                                .unwrap_or_default(),
                        });
                    }
                }
            }
        }
        self.read_cascades(&mut snap).await;
        self.read_londiste(&mut snap).await;
        snap.wal = super::wal::read_all(&self.supervisor);
        for v in &snap.wal {
            super::wal::alerts(v, &mut snap.alerts);
        }
        snap.logs = self.logs.tail(LOG_TAIL);
        snap
    }

    /// Every Londiste node of the deck's workers, read in parallel.
    async fn read_londiste(&self, snap: &mut Snapshot) {
        let jobs = super::tables::londiste_jobs(&self.supervisor);
        if jobs.is_empty() {
            return;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (i, v) in jobs.into_iter().enumerate() {
            let lag = snap
                .workers
                .iter()
                .find(|w| w.name == v.settings.worker)
                .and_then(|w| w.lag);
            tasks.spawn(async move { (i, super::tables::read_node(&v, lag).await) });
        }
        let mut read = Vec::new();
        while let Some(r) = tasks.join_next().await {
            if let Ok(x) = r {
                read.push(x);
            }
        }
        read.sort_by_key(|(i, _)| *i);
        snap.londiste = read.into_iter().map(|(_, v)| v).collect();
    }

    /// Every cascade of the deck's cascade workers, read in parallel.
    async fn read_cascades(&self, snap: &mut Snapshot) {
        let jobs = cascades::cascade_jobs(&self.supervisor);
        if jobs.is_empty() {
            return;
        }
        let known: Arc<Vec<(String, String)>> = Arc::new(
            self.endpoints()
                .into_iter()
                .map(|(e, _)| (e.label, e.connstr))
                .collect(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for (queue, list) in jobs {
            let known = known.clone();
            tasks.spawn(async move {
                let r = cascades::read_cascade(&queue, &list, &known).await;
                (queue, r)
            });
        }
        let mut read = Vec::new();
        while let Some(r) = tasks.join_next().await {
            if let Ok(x) = r {
                read.push(x);
            }
        }
        read.sort_by(|a, b| a.0.cmp(&b.0));
        let mut cache = self.cascades.lock().await;
        for (queue, r) in read {
            match r {
                Ok(v) => {
                    cascades::alerts_for(&v, &mut snap.alerts);
                    cache.insert(queue, v.clone());
                    snap.cascades.push(v);
                }
                Err(e) => {
                    snap.alerts.push(Alert {
                        level: Level::Error,
                        source: queue.clone(),
                        message: format!(
                            "cascade cannot be read: {e}{}",
                            if cache.contains_key(&queue) {
                                " (the Nodes view shows the last state read)"
                            } else {
                                ""
                            }
                        ),
                        since: Duration::ZERO,
                    });
                    if let Some(v) = cache.get(&queue) {
                        snap.cascades.push(v.clone());
                    }
                }
            }
        }
    }

    /// Version, pgq version and queues of one database.
    async fn database(
        &self,
        ep: &DbEndpoint,
    ) -> Result<(String, Option<String>, Vec<QueueView>), String> {
        let c = self.client(ep).await?;
        let row = c
            .query_one(
                "select split_part(current_setting('server_version'), ' ', 1), \
                        exists (select 1 from pg_catalog.pg_namespace where nspname = 'pgq'), \
                        (select extract(epoch from max(now() - xact_start))::float8 \
                           from pg_catalog.pg_stat_activity \
                          where datname = current_database() and xact_start is not null \
                            and pid <> pg_backend_pid())",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?;
        let version: String = row.get(0);
        if !row.get::<_, bool>(1) {
            return Ok((version, None, Vec::new()));
        }
        let oldest: Option<f64> = row.get(2);
        let pgq_version: String = c
            .query_one("select pgq.version()::text", &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        let queues = queue_views(&c, &ep.label, oldest)
            .await
            .map_err(|e| describe(&e))?;
        Ok((version, Some(pgq_version), queues))
    }

    /// A connection to the deck's database `label`.
    async fn db(&self, label: &str) -> Result<Arc<Client>, String> {
        self.client(&self.endpoint(label)?).await
    }

    fn endpoint(&self, label: &str) -> Result<DbEndpoint, String> {
        self.endpoints()
            .into_iter()
            .map(|(e, _)| e)
            .find(|e| e.label == label)
            .ok_or_else(|| format!("no database {label:?} in this deck"))
    }

    /// Carry out an action; the answer says what happened (a takeover's
    /// dry run comes back as text). Steps of long actions go to the log.
    pub async fn execute(&self, action: Action) -> ActionResult {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let asked = action.clone();
        self.answer(action, tx).await;
        let mut last = None;
        while let Some(r) = rx.recv().await {
            match r {
                Reply::Result(r) => last = Some(r),
                Reply::Plan { action, plan } => {
                    let mut lines = vec![format!("{}: {} → {}", plan.kind, plan.old, plan.new)];
                    for c in &plan.checks {
                        lines.push(format!(
                            "  [{}] {} {}",
                            if c.ok { "ok" } else { "FAILED" },
                            c.what,
                            c.detail
                        ));
                    }
                    for (i, st) in plan.steps.iter().enumerate() {
                        lines.push(format!("  {}. {st}", i + 1));
                    }
                    last = Some(ActionResult {
                        ok: plan.ok(),
                        action,
                        message: lines.join("\n"),
                    });
                }
                Reply::Update(_) => {}
            }
        }
        last.unwrap_or_else(|| ActionResult {
            action: asked,
            ok: false,
            message: "the engine gave no answer".into(),
        })
    }

    /// Carry out an action, sending each step of a long one and then the
    /// final reply (a result, or the plan of a takeover's dry run) to `out`.
    pub async fn answer(&self, action: Action, out: UnboundedSender<Reply>) {
        if self.read_only && action.changes_state() {
            let _ = out.send(Reply::Result(ActionResult {
                action,
                ok: false,
                message: "read-only mode: state-changing actions are refused".into(),
            }));
            return;
        }
        let r = match cascades::execute(&self.supervisor, &action, &out).await {
            Some(Ok((_, Some(plan)))) => {
                let _ = out.send(Reply::Plan { action, plan });
                return;
            }
            Some(Ok((m, None))) => Ok(m),
            Some(Err(e)) => Err(e),
            None => match super::tables::execute(&self.supervisor, &action, &out).await {
                Some(r) => r,
                None => match super::wal::execute(&self.supervisor, &action, &out).await {
                    Some(r) => r,
                    None => self.execute_inner(&action).await,
                },
            },
        };
        let (ok, message) = match r {
            Ok(m) => (true, m),
            Err(m) => (false, m),
        };
        if ok {
            tracing::info!("console: {message}");
        } else {
            tracing::warn!("console: {message}");
        }
        let _ = out.send(Reply::Result(ActionResult {
            action,
            ok,
            message,
        }));
    }

    async fn execute_inner(&self, action: &Action) -> Result<String, String> {
        let err = |e: pgq::PgqError| e.to_string();
        match action {
            Action::Refresh | Action::SetRefresh(_) => Ok("ok".into()),
            Action::PauseWorker { worker } => self
                .supervisor
                .pause(worker)
                .map(|()| format!("worker {worker} paused")),
            Action::ResumeWorker { worker } => self
                .supervisor
                .resume(worker)
                .map(|()| format!("worker {worker} resumed")),
            Action::RestartWorker { worker } => self
                .supervisor
                .restart(worker)
                .map(|()| format!("worker {worker} restarted")),
            Action::Tick { database, queue } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let id = pgq::tick_now(c, queue).await.map_err(err)?;
                Ok(format!("{database}/{queue}: tick {id}"))
            }
            Action::CreateQueue { database, queue } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let created = pgq::create_queue(c, queue).await.map_err(err)?;
                Ok(if created {
                    format!("{database}/{queue}: queue created")
                } else {
                    format!("{database}/{queue}: queue already exists")
                })
            }
            Action::DropQueue {
                database,
                queue,
                force,
            } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                pgq::drop_queue(c, queue, *force).await.map_err(err)?;
                Ok(format!("{database}/{queue}: queue dropped"))
            }
            Action::SetQueueConfig {
                database,
                queue,
                param,
                value,
            } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                pgq::set_queue_config(c, queue, param, value)
                    .await
                    .map_err(err)?;
                Ok(format!("{database}/{queue}: {param} = {value}"))
            }
            Action::RegisterConsumer {
                database,
                queue,
                consumer,
            } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let new = pgq::register_consumer(c, queue, consumer)
                    .await
                    .map_err(err)?;
                Ok(format!(
                    "{database}/{queue}: consumer {consumer} {}",
                    if new {
                        "registered"
                    } else {
                        "was already registered"
                    }
                ))
            }
            Action::UnregisterConsumer {
                database,
                queue,
                consumer,
            } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let n = pgq::unregister_consumer(c, queue, consumer)
                    .await
                    .map_err(err)?;
                Ok(format!(
                    "{database}/{queue}: consumer {consumer} {}",
                    if n > 0 {
                        "unregistered"
                    } else {
                        "was not registered"
                    }
                ))
            }
            Action::RetryMaint { database } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let n = pgq::retry_maint(c).await.map_err(err)?;
                Ok(format!("{database}: moved {n} retry event(s) back"))
            }
            Action::Rotate { database, queue } => {
                let c = self.db(database).await?;
                let c = c.as_ref();
                let reports = pgq::rotate(c, queue.as_deref()).await.map_err(err)?;
                let lines: Vec<String> = reports
                    .iter()
                    .map(|r| {
                        if r.rotated {
                            format!(
                                "{database}/{}: rotated {} -> {}",
                                r.queue, r.table_before, r.table_after
                            )
                        } else {
                            format!(
                                "{database}/{}: not rotated: {}",
                                r.queue,
                                r.note.clone().unwrap_or_default()
                            )
                        }
                    })
                    .collect();
                Ok(lines.join("\n"))
            }
            // Actions the console knows before this engine does.
            #[allow(unreachable_patterns)]
            other => Err(format!("{other:?} is not supported by this engine yet")),
        }
    }
}

fn alerts_for_queue(q: &QueueView, alerts: &mut Vec<Alert>) {
    let source = format!("{}/{}", q.database, q.name);
    // A local queue that has not ticked for a long time: nobody ticks it.
    let expected = q.idle_period.max(q.max_lag).max(Duration::from_secs(10));
    if q.ticker == TickerMode::Local && q.ticker_lag > expected * 3 {
        alerts.push(Alert {
            level: Level::Warn,
            source: source.clone(),
            message: format!(
                "no tick for {} — is a ticker running for this database?",
                crate::fmt::duration(q.ticker_lag)
            ),
            since: q.ticker_lag,
        });
    }
    if let RotationPhase::Blocked { by_consumer } = &q.rotation.phase {
        let overdue = q.rotation.last_switch_age.saturating_sub(q.rotation.period);
        if overdue > Duration::from_secs(3600) {
            alerts.push(Alert {
                level: Level::Warn,
                source: source.clone(),
                message: format!(
                    "table rotation blocked for {} by consumer {by_consumer}",
                    crate::fmt::duration(overdue)
                ),
                since: overdue,
            });
        }
    }
    for c in &q.consumers {
        if c.lag > Duration::from_secs(300) {
            alerts.push(Alert {
                level: Level::Warn,
                source: format!("{source}/{}", c.name),
                message: format!("consumer lags {}", crate::fmt::duration(c.lag)),
                since: c.lag,
            });
        }
    }
}

async fn queue_views(
    c: &Client,
    database: &str,
    oldest: Option<f64>,
) -> Result<Vec<QueueView>, tokio_postgres::Error> {
    let rows = c
        .query(
            "select q.queue_name, q.queue_external_ticker, q.queue_ticker_paused, \
                    i.last_tick_id, extract(epoch from i.ticker_lag)::float8, i.ev_per_sec, i.ev_new, \
                    q.queue_ticker_max_count, extract(epoch from q.queue_ticker_max_lag)::float8, \
                    extract(epoch from q.queue_ticker_idle_period)::float8, \
                    q.queue_cur_table, q.queue_ntables, extract(epoch from q.queue_rotation_period)::float8, \
                    extract(epoch from now() - q.queue_switch_time)::float8, q.queue_switch_step2 is null, \
                    (select co.co_name from pgq.subscription s \
                       join pgq.consumer co on co.co_id = s.sub_consumer \
                       join pgq.tick t on t.tick_queue = s.sub_queue and t.tick_id = s.sub_last_tick \
                      where s.sub_queue = q.queue_id \
                        and txid_snapshot_xmin(t.tick_snapshot) <= q.queue_switch_step2 \
                      order by s.sub_last_tick limit 1), \
                    (select count(*) from pgq.retry_queue r where r.ev_queue = q.queue_id), \
                    (select count(*) from pgq.subscription s where s.sub_queue = q.queue_id and s.sub_batch is not null) \
               from pgq.queue q join pgq.get_queue_info() i on i.queue_name = q.queue_name \
              order by q.queue_name",
            &[],
        )
        .await?;
    let consumers = c
        .query(
            "select i.queue_name, i.consumer_name, extract(epoch from i.lag)::float8, \
                    extract(epoch from i.last_seen)::float8, i.last_tick, i.current_batch, i.pending_events, \
                    (select count(*) from pgq.tick t where t.tick_queue = s.sub_queue and t.tick_id > s.sub_last_tick), \
                    (select count(*) from pgq.retry_queue r where r.ev_owner = s.sub_id) \
               from pgq.get_consumer_info() i \
               join pgq.queue q on q.queue_name = i.queue_name \
               join pgq.consumer co on co.co_name = i.consumer_name \
               join pgq.subscription s on s.sub_queue = q.queue_id and s.sub_consumer = co.co_id \
              order by 1, 2",
            &[],
        )
        .await?;
    let mut by_queue: HashMap<String, Vec<ConsumerView>> = HashMap::new();
    for r in &consumers {
        by_queue.entry(r.get(0)).or_default().push(ConsumerView {
            name: r.get(1),
            lag: secs(r.get(2)),
            last_seen: secs(r.get(3)),
            last_tick: r.get(4),
            current_batch: r.get(5),
            pending_events: r.get(6),
            lag_ticks: r.get::<_, Option<i64>>(7),
            retry_pending: r.get::<_, Option<i64>>(8).unwrap_or(0),
        });
    }
    Ok(rows
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            let external: bool = r.get(1);
            let paused: bool = r.get(2);
            let period = secs(r.get(12));
            let age = secs(r.get(13));
            let half_done: bool = r.get(14);
            let blocked_by: Option<String> = r.get(15);
            let phase = if half_done {
                RotationPhase::HalfDone
            } else if age < period {
                RotationPhase::Waiting {
                    due_in: period - age,
                }
            } else if let Some(by) = blocked_by {
                RotationPhase::Blocked { by_consumer: by }
            } else {
                RotationPhase::Due
            };
            QueueView {
                database: database.to_string(),
                consumers: by_queue.remove(&name).unwrap_or_default(),
                name,
                ticker: if external {
                    TickerMode::External
                } else if paused {
                    TickerMode::Paused
                } else {
                    TickerMode::Local
                },
                last_tick_id: r.get::<_, Option<i64>>(3).unwrap_or(0),
                ticker_lag: secs(r.get(4)),
                ev_per_sec: r.get(5),
                ev_new: r.get::<_, Option<i64>>(6).unwrap_or(0),
                max_count: r.get(7),
                max_lag: secs(r.get(8)),
                idle_period: secs(r.get(9)),
                rotation: RotationView {
                    cur_table: r.get(10),
                    ntables: r.get(11),
                    period,
                    last_switch_age: age,
                    phase,
                },
                retry_pending: r.get(16),
                open_batches: r.get(17),
                oldest_xact_age: oldest.map(|s| Duration::from_secs_f64(s.max(0.0))),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbname_is_appended_safely() {
        assert_eq!(
            with_dbname("host=/tmp port=5432", "app"),
            "host=/tmp port=5432 dbname=app"
        );
        assert_eq!(with_dbname("host=h", "my db"), "host=h dbname='my db'");
        assert_eq!(
            with_dbname("postgresql://u@h:5/", "a b"),
            "postgresql://u@h:5/?dbname=a%20b"
        );
        assert_eq!(
            with_dbname("postgres://h/?sslmode=disable", "x"),
            "postgres://h/?sslmode=disable&dbname=x"
        );
    }
}
