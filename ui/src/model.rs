//! The contract between the engine and the console.
//!
//! The engine builds a [`Snapshot`] every refresh period (from the
//! databases and the supervisor's worker states) and hands it over; the
//! console renders it and turns keys into [`Action`]s, which the engine
//! carries out with the same code as the CLI and answers with an
//! [`ActionResult`]. Nothing here talks to a database.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Everything the console shows, as of one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the engine took it.
    pub taken_at: SystemTime,
    /// Title: the deck file, or "demo".
    pub deck: String,
    /// The console refuses state-changing actions.
    pub read_only: bool,
    pub databases: Vec<DatabaseView>,
    pub queues: Vec<QueueView>,
    pub workers: Vec<WorkerView>,
    pub alerts: Vec<Alert>,
    /// The tail of the log, oldest first.
    pub logs: Vec<LogLine>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            taken_at: SystemTime::UNIX_EPOCH,
            deck: String::new(),
            read_only: false,
            databases: Vec::new(),
            queues: Vec::new(),
            workers: Vec::new(),
            alerts: Vec::new(),
            logs: Vec::new(),
        }
    }
}

/// One database the deck watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseView {
    /// Short label, unique in the deck (`dbname@host:port` or a job's name).
    pub name: String,
    /// Connection string with the password masked.
    pub connstr: String,
    pub state: DatabaseState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DatabaseState {
    /// Reachable. `pgq_version` is `None` when PgQ is not installed there.
    Up {
        server_version: String,
        pgq_version: Option<String>,
    },
    /// Unreachable or failing: the error, how long it has been down, and
    /// when the next attempt is due.
    Down {
        error: String,
        down_for: Duration,
        retry_in: Option<Duration>,
    },
}

/// Who ticks a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TickerMode {
    Local,
    /// Ticks come from a provider (cascade branch or leaf).
    External,
    Paused,
}

/// Where a queue's table rotation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RotationPhase {
    /// Nothing to do until `due_in`.
    Waiting { due_in: Duration },
    /// Due now; the next maintenance round rotates.
    Due,
    /// Step 1 done, step 2 pending.
    HalfDone,
    /// Due, but a consumer's position still needs the oldest table.
    Blocked { by_consumer: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationView {
    pub cur_table: i32,
    pub ntables: i32,
    pub period: Duration,
    pub last_switch_age: Duration,
    pub phase: RotationPhase,
}

/// One queue of one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub database: String,
    pub name: String,
    pub ticker: TickerMode,
    pub last_tick_id: i64,
    /// Time since the last tick.
    pub ticker_lag: Duration,
    pub ev_per_sec: Option<f64>,
    /// Events since the last tick (an estimate from the event sequence).
    pub ev_new: i64,
    pub max_count: i32,
    pub max_lag: Duration,
    pub idle_period: Duration,
    pub rotation: RotationView,
    /// Events waiting in the retry queue for this queue's consumers.
    pub retry_pending: i64,
    /// Batches open now (consumers between next_batch and finish_batch).
    pub open_batches: i64,
    /// Age of the oldest transaction in the database, which holds back
    /// what a tick can see and what rotation may truncate.
    pub oldest_xact_age: Option<Duration>,
    pub consumers: Vec<ConsumerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub name: String,
    /// Time since the consumer's last finished tick was taken.
    pub lag: Duration,
    /// Ticks between the consumer's position and the queue's last tick.
    pub lag_ticks: Option<i64>,
    /// Time since the consumer was last active.
    pub last_seen: Duration,
    pub last_tick: Option<i64>,
    pub current_batch: Option<i64>,
    pub pending_events: Option<i64>,
    pub retry_pending: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerState {
    Starting,
    Running,
    /// Running, nothing to do right now.
    Idle,
    Paused,
    /// Failed; restarting after a backoff.
    Backoff,
    Stopped,
    /// Gave up (configuration error and the like); needs an operator.
    Failed,
}

/// One task the supervisor hosts (a ticker, a consumer, a replica …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    /// Unique name (the job name).
    pub name: String,
    /// What it is: "ticker", "consumer", "londiste", "walmgr" …
    pub kind: String,
    /// Databases it works on (labels as in [`DatabaseView::name`]).
    pub databases: Vec<String>,
    pub state: WorkerState,
    /// How long it has been in `state`.
    pub state_for: Duration,
    pub restarts: u32,
    /// When in `Backoff`: the time until the next start.
    pub retry_in: Option<Duration>,
    pub last_error: Option<String>,
    pub lag: Option<Duration>,
    /// Named counters, in display order (ticks, batches, events, retries …).
    pub counters: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Something an operator should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub level: Level,
    /// What it is about: a database, queue, consumer or worker name.
    pub source: String,
    pub message: String,
    pub since: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub time: SystemTime,
    pub level: Level,
    /// The component that logged it (worker name or module).
    pub target: String,
    pub message: String,
}

/// What the console asks the engine to do. Every state-changing action
/// has gone through the confirmation popup (and is refused in read-only
/// mode) before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Fetch a new snapshot now.
    Refresh,
    /// Change the refresh period.
    SetRefresh(Duration),
    Tick {
        database: String,
        queue: String,
    },
    CreateQueue {
        database: String,
        queue: String,
    },
    DropQueue {
        database: String,
        queue: String,
        force: bool,
    },
    /// `param` as `pgq.set_queue_config` names it (ticker_max_lag …).
    SetQueueConfig {
        database: String,
        queue: String,
        param: String,
        value: String,
    },
    RegisterConsumer {
        database: String,
        queue: String,
        consumer: String,
    },
    UnregisterConsumer {
        database: String,
        queue: String,
        consumer: String,
    },
    RetryMaint {
        database: String,
    },
    Rotate {
        database: String,
        queue: Option<String>,
    },
    PauseWorker {
        worker: String,
    },
    ResumeWorker {
        worker: String,
    },
    RestartWorker {
        worker: String,
    },
}

impl Action {
    /// Whether the action changes state (needs confirmation, refused in
    /// read-only mode).
    pub fn changes_state(&self) -> bool {
        !matches!(self, Action::Refresh | Action::SetRefresh(_))
    }
}

/// The engine's answer to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub action: Action,
    pub ok: bool,
    /// What happened, or the error (server text included), one or more lines.
    pub message: String,
}
