//! The ticker and maintenance daemon (pgqd, spec §6), in process.
//!
//! One [`run`] call serves a set of databases — a fixed `database_list`, or
//! every database the server lists (re-checked every `check_period`). For
//! each database three loops run, each on its own connection, as pgqd's
//! are: the ticker (`pgq.ticker` for every local queue every
//! `ticker_period`, then a `NOTIFY` per queue that got a tick), retry
//! maintenance (`pgq.maint_retry_events()` until it returns 0, every
//! `retry_period`) and maintenance (whatever `pgq.maint_operations()` lists,
//! every `maint_period`). A database without PgQ is checked again every
//! `check_period`. Failures — a server restarting, refusing connections, a
//! database dropped — are logged once per state change and retried with
//! exponential backoff; nothing here ends the process.
//!
//! Beyond pgqd: sub-second periods, and the per-queue NOTIFY channel
//! [`tick_channel`] (`pgq_tick.<queue_id>`, payload the tick id) so
//! consumers and the console wake at once. Data never travels through it.

mod backend;
mod job;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use backend::PgBackend;
pub use job::{TickerJob, TickerView};

/// What the ticker needs to know (the keys of a `[pgqd]` section).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Connection string without the database name.
    pub base_connstr: String,
    /// Where to list the databases from.
    pub initial_database: String,
    /// Fixed list of databases; empty means every database that allows
    /// connections.
    pub database_list: Vec<String>,
    pub check_period: Duration,
    pub retry_period: Duration,
    pub maint_period: Duration,
    pub ticker_period: Duration,
    pub stats_period: Duration,
    /// Reconnect the ticker connection after this long.
    pub connection_lifetime: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_connstr: String::new(),
            initial_database: "template1".into(),
            database_list: Vec::new(),
            check_period: Duration::from_secs(60),
            retry_period: Duration::from_secs(30),
            maint_period: Duration::from_secs(120),
            ticker_period: Duration::from_secs(1),
            stats_period: Duration::from_secs(30),
            connection_lifetime: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// The NOTIFY channel the ticker signals after ticking a queue: by queue id,
/// so any queue name fits PostgreSQL's 63-byte channel names.
pub fn tick_channel(queue_id: i32) -> String {
    format!("pgq_tick.{queue_id}")
}

/// Exponential backoff between `min` and `max`, doubled on each failure,
/// reset on success.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }
    /// The wait before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A database connection as the loops use it.
pub trait Conn: Send {
    /// `pgq.version()` when the pgq schema exists, `None` when it does not.
    fn pgq_version(&mut self) -> impl Future<Output = Result<Option<String>, String>> + Send;
    /// Tick every local queue that needs it; the queues that got a tick.
    fn tick(&mut self) -> impl Future<Output = Result<Vec<Ticked>, String>> + Send;
    /// Move due retry events back; the number moved.
    fn retry(&mut self) -> impl Future<Output = Result<u64, String>> + Send;
    /// Run one round of `pgq.maint_operations()`; the operations run.
    fn maint(&mut self) -> impl Future<Output = Result<u64, String>> + Send;
}

/// How to reach the databases.
pub trait Backend: Send + Sync + 'static {
    type Conn: Conn + 'static;
    fn connect(&self, dbname: &str) -> impl Future<Output = Result<Self::Conn, String>> + Send;
    /// Databases that allow connections (not templates).
    fn list_databases(&self) -> impl Future<Output = Result<Vec<String>, String>> + Send;
}

/// A queue that got a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticked {
    pub queue: String,
    pub tick_id: i64,
}

/// Where one database stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DbState {
    Connecting,
    /// No pgq schema (or an unusable version); checked again later.
    NoPgq {
        reason: String,
    },
    Ticking {
        pgq_version: String,
    },
    Down {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbStatus {
    pub name: String,
    pub state: DbState,
    /// Since when in `state`.
    #[serde(skip)]
    pub since: Option<Instant>,
    /// When the next connection attempt is due, while down.
    #[serde(skip)]
    pub retry_at: Option<Instant>,
    pub tick_rounds: u64,
    pub ticks: u64,
    pub retried_events: u64,
    pub maint_ops: u64,
    pub last_error: Option<String>,
}

impl DbStatus {
    fn new(name: &str) -> Self {
        DbStatus {
            name: name.to_string(),
            state: DbState::Connecting,
            since: Some(Instant::now()),
            retry_at: None,
            tick_rounds: 0,
            ticks: 0,
            retried_events: 0,
            maint_ops: 0,
            last_error: None,
        }
    }
}

/// The ticker's state as published to the supervisor, console and status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    pub databases: BTreeMap<String, DbStatus>,
    /// Error listing the databases, if the last attempt failed.
    pub discovery_error: Option<String>,
}

/// Counters for the periodic stats line, pgqd's `{ticks: N, maint: N, retry: N}`.
#[derive(Debug, Default)]
pub struct Stats {
    pub ticks: AtomicU64,
    pub maint: AtomicU64,
    pub retry: AtomicU64,
}

impl Stats {
    /// The stats line, resetting the counters.
    pub fn take_line(&self) -> String {
        format!(
            "{{ticks: {}, maint: {}, retry: {}}}",
            self.ticks.swap(0, Ordering::Relaxed),
            self.maint.swap(0, Ordering::Relaxed),
            self.retry.swap(0, Ordering::Relaxed)
        )
    }
}

/// Shared state of one `run`.
struct Shared<B> {
    backend: B,
    settings: Settings,
    stats: Stats,
    status: Mutex<Status>,
    publish: tokio::sync::watch::Sender<Status>,
}

impl<B> Shared<B> {
    /// Change a registered database's status; a database that has been
    /// unregistered stays gone (its tasks may still be winding down).
    fn update(&self, db: &str, f: impl FnOnce(&mut DbStatus)) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let Some(entry) = s.databases.get_mut(db) else {
                return;
            };
            f(entry);
            s.clone()
        };
        self.publish.send_replace(snapshot);
    }

    fn register(&self, db: &str) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            s.databases.insert(db.to_string(), DbStatus::new(db));
            s.clone()
        };
        self.publish.send_replace(snapshot);
    }

    fn set_state(&self, db: &str, state: DbState) {
        self.update(db, |d| {
            if d.state != state {
                d.state = state;
                d.since = Some(Instant::now());
            }
        });
    }

    fn remove(&self, db: &str) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            s.databases.remove(db);
            s.clone()
        };
        self.publish.send_replace(snapshot);
    }
}

/// Run the ticker until `stop` is cancelled. The returned receiver-side of
/// `status` sees every change. Returns when every per-database task has
/// ended.
pub async fn run<B: Backend>(
    backend: B,
    settings: Settings,
    stop: CancellationToken,
    status: tokio::sync::watch::Sender<Status>,
) {
    let shared = Arc::new(Shared {
        backend,
        settings,
        stats: Stats::default(),
        status: Mutex::new(Status::default()),
        publish: status,
    });
    let mut tasks = JoinSet::new();
    tasks.spawn(stats_loop(shared.clone(), stop.clone()));

    let mut running: HashMap<String, CancellationToken> = HashMap::new();
    let mut backoff = Backoff::new(Duration::from_secs(1), shared.settings.max_backoff);
    loop {
        let wanted: Option<Vec<String>> = if shared.settings.database_list.is_empty() {
            match shared.backend.list_databases().await {
                Ok(list) => {
                    backoff.reset();
                    clear_discovery_error(&shared);
                    Some(list)
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "cannot list databases on {}: {e}; keeping the current set, retrying in {}",
                        shared.settings.initial_database,
                        crate::fmt::duration(wait)
                    );
                    set_discovery_error(&shared, &e);
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    continue;
                }
            }
        } else {
            Some(shared.settings.database_list.clone())
        };
        if let Some(wanted) = wanted {
            if shared.settings.database_list.is_empty() && running.is_empty() {
                info!("auto-detecting dbs ...");
            }
            for db in &wanted {
                if !running.contains_key(db) {
                    debug!("{db}: registering database");
                    let token = stop.child_token();
                    running.insert(db.clone(), token.clone());
                    shared.register(db);
                    tasks.spawn(database(shared.clone(), db.clone(), token));
                }
            }
            let gone: Vec<String> = running
                .keys()
                .filter(|d| !wanted.contains(d))
                .cloned()
                .collect();
            for db in gone {
                info!("Unregister database: {db}");
                if let Some(t) = running.remove(&db) {
                    t.cancel();
                }
                shared.remove(&db);
            }
        }
        // Reap finished tasks so the set does not grow.
        while let Some(r) = tasks.try_join_next() {
            if let Err(e) = r {
                if e.is_panic() {
                    warn!("a ticker task panicked: {e}");
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(shared.settings.check_period) => {}
        }
    }
    for t in running.values() {
        t.cancel();
    }
    while tasks.join_next().await.is_some() {}
}

fn set_discovery_error<B>(shared: &Shared<B>, e: &str) {
    let snapshot = {
        let mut s = shared.status.lock().unwrap_or_else(|p| p.into_inner());
        s.discovery_error = Some(e.to_string());
        s.clone()
    };
    shared.publish.send_replace(snapshot);
}

fn clear_discovery_error<B>(shared: &Shared<B>) {
    let changed = {
        let mut s = shared.status.lock().unwrap_or_else(|p| p.into_inner());
        s.discovery_error.take().is_some().then(|| s.clone())
    };
    if let Some(snapshot) = changed {
        shared.publish.send_replace(snapshot);
    }
}

async fn stats_loop<B: Backend>(shared: Arc<Shared<B>>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.settings.stats_period) => {}
        }
        info!("{}", shared.stats.take_line());
    }
}

/// Sleep `d` unless cancelled first; false when cancelled.
async fn nap(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Connect with backoff until it works or `stop`; records Down states. The
/// backoff is reset by the caller once the connection has done useful work,
/// so a server that accepts connections but fails every query still backs
/// off.
async fn connect_loop<B: Backend>(
    shared: &Shared<B>,
    db: &str,
    what: &str,
    backoff: &mut Backoff,
    stop: &CancellationToken,
    report_state: bool,
) -> Option<B::Conn> {
    let mut logged: Option<String> = None;
    loop {
        if stop.is_cancelled() {
            return None;
        }
        match shared.backend.connect(db).await {
            Ok(c) => {
                if logged.is_some() {
                    info!("{db}: {what} connection is back");
                }
                return Some(c);
            }
            Err(e) => {
                let wait = backoff.next_delay();
                if logged.as_deref() != Some(e.as_str()) {
                    warn!(
                        "{db}: {what} cannot connect: {e}; retrying with backoff (next in {})",
                        crate::fmt::duration(wait)
                    );
                    logged = Some(e.clone());
                } else {
                    debug!(
                        "{db}: {what} still cannot connect; next try in {}",
                        crate::fmt::duration(wait)
                    );
                }
                if report_state {
                    shared.set_state(db, DbState::Down { error: e.clone() });
                    shared.update(db, |d| {
                        d.last_error = Some(e.clone());
                        d.retry_at = Some(Instant::now() + wait);
                    });
                }
                if !nap(stop, wait).await {
                    return None;
                }
            }
        }
    }
}

/// Everything for one database: the ticker loop, which starts the retry and
/// maintenance loops once it has found a usable PgQ.
async fn database<B: Backend>(shared: Arc<Shared<B>>, db: String, stop: CancellationToken) {
    let mut helpers: Option<JoinSet<()>> = None;
    let mut backoff = Backoff::new(Duration::from_secs(1), shared.settings.max_backoff);
    'connect: loop {
        let Some(mut conn) = connect_loop(&shared, &db, "ticker", &mut backoff, &stop, true).await
        else {
            break;
        };
        shared.update(&db, |d| d.retry_at = None);
        match conn.pgq_version().await {
            Ok(Some(v))
                if v.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() && c >= '3') =>
            {
                info!("{db}: pgq version ok: {v}");
                shared.set_state(&db, DbState::Ticking { pgq_version: v });
            }
            Ok(other) => {
                let reason = match other {
                    Some(v) => {
                        info!("{db}: bad pgq version, ignoring ({v})");
                        format!("unusable pgq version {v}")
                    }
                    None => {
                        debug!("{db}: no pgq");
                        "pgq is not installed".to_string()
                    }
                };
                shared.set_state(&db, DbState::NoPgq { reason });
                drop(conn);
                if !nap(&stop, shared.settings.check_period).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                let wait = backoff.next_delay();
                warn!(
                    "{db}: checking for pgq failed: {e}; reconnecting in {}",
                    crate::fmt::duration(wait)
                );
                shared.set_state(&db, DbState::Down { error: e.clone() });
                if !nap(&stop, wait).await {
                    break;
                }
                continue;
            }
        }
        if helpers.is_none() {
            let mut set = JoinSet::new();
            set.spawn(retry_loop(shared.clone(), db.clone(), stop.clone()));
            set.spawn(maint_loop(shared.clone(), db.clone(), stop.clone()));
            helpers = Some(set);
        }
        let born = Instant::now();
        loop {
            match conn.tick().await {
                Ok(ticked) => {
                    backoff.reset();
                    shared.stats.ticks.fetch_add(1, Ordering::Relaxed);
                    let n = ticked.len() as u64;
                    for t in &ticked {
                        debug!("{db}: ticked {} -> {}", t.queue, t.tick_id);
                    }
                    shared.update(&db, |d| {
                        d.tick_rounds += 1;
                        d.ticks += n;
                        d.last_error = None;
                    });
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "{db}: pgq.ticker() failed: {e}; reconnecting in {}",
                        crate::fmt::duration(wait)
                    );
                    shared.set_state(&db, DbState::Down { error: e.clone() });
                    shared.update(&db, |d| {
                        d.last_error = Some(e.clone());
                        d.retry_at = Some(Instant::now() + wait);
                    });
                    drop(conn);
                    if !nap(&stop, wait).await {
                        break 'connect;
                    }
                    continue 'connect;
                }
            }
            if born.elapsed() >= shared.settings.connection_lifetime {
                debug!("{db}: ticker connection lifetime reached, reconnecting");
                continue 'connect;
            }
            if !nap(&stop, shared.settings.ticker_period).await {
                break 'connect;
            }
        }
    }
    if let Some(mut set) = helpers {
        while set.join_next().await.is_some() {}
    }
}

async fn retry_loop<B: Backend>(shared: Arc<Shared<B>>, db: String, stop: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_secs(1), shared.settings.max_backoff);
    'connect: loop {
        let Some(mut conn) = connect_loop(&shared, &db, "retry", &mut backoff, &stop, false).await
        else {
            return;
        };
        loop {
            match conn.retry().await {
                Ok(n) => {
                    backoff.reset();
                    if n > 0 {
                        shared.stats.retry.fetch_add(n, Ordering::Relaxed);
                        shared.update(&db, |d| d.retried_events += n);
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "{db}: retry maintenance failed: {e}; reconnecting in {}",
                        crate::fmt::duration(wait)
                    );
                    drop(conn);
                    if !nap(&stop, wait).await {
                        return;
                    }
                    continue 'connect;
                }
            }
            if !nap(&stop, shared.settings.retry_period).await {
                return;
            }
        }
    }
}

async fn maint_loop<B: Backend>(shared: Arc<Shared<B>>, db: String, stop: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_secs(1), shared.settings.max_backoff);
    'connect: loop {
        let Some(mut conn) =
            connect_loop(&shared, &db, "maintenance", &mut backoff, &stop, false).await
        else {
            return;
        };
        loop {
            match conn.maint().await {
                Ok(ops) => {
                    backoff.reset();
                    shared.stats.maint.fetch_add(1, Ordering::Relaxed);
                    shared.update(&db, |d| d.maint_ops += ops);
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "{db}: maintenance failed: {e}; reconnecting in {}",
                        crate::fmt::duration(wait)
                    );
                    drop(conn);
                    if !nap(&stop, wait).await {
                        return;
                    }
                    continue 'connect;
                }
            }
            if !nap(&stop, shared.settings.maint_period).await {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
