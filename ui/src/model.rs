//! The contract between the engine and the console.
//!
//! The engine builds a [`Snapshot`] every refresh period (from the
//! databases and the supervisor's worker states) and hands it over; the
//! console renders it and turns keys into [`Action`]s, which the engine
//! carries out with the same code as the CLI and answers with an
//! [`ActionResult`] — after any number of [`ActionUpdate`]s for long
//! actions; a takeover's dry run ([`Action::TakeoverPlan`]) is answered
//! with a [`TakeoverPlan`]. All three travel as a [`Reply`]. Nothing here
//! talks to a database.

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
    /// Cascaded queues (pgq_node) and their member nodes, for the Nodes
    /// view. Empty when the deck has none (or an engine that does not
    /// read them yet).
    #[serde(default)]
    pub cascades: Vec<CascadeView>,
    /// Londiste nodes (one per hosted or watched Londiste job) with their
    /// tables and sequences, for the Tables view. Empty when the deck has
    /// none.
    #[serde(default)]
    pub londiste: Vec<LondisteView>,
    /// walmgr jobs (masters and standbys), for the WAL view. Empty when the
    /// deck has none.
    #[serde(default)]
    pub wal: Vec<WalView>,
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
            cascades: Vec::new(),
            londiste: Vec::new(),
            wal: Vec::new(),
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

/// One cascaded queue (a pgq_node "set"): the queue name and every member
/// node, as the engine reads them (`pgq_node.get_queue_locations` for the
/// members, `get_node_info` and the worker's `get_consumer_state` on each
/// node it can reach).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CascadeView {
    /// The queue name, the same on every node.
    pub queue: String,
    /// Every member, in any order: the console draws the tree from the
    /// provider links.
    pub nodes: Vec<NodeView>,
}

/// `pgq_node.node_info.node_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeType {
    Root,
    Branch,
    Leaf,
}

impl NodeType {
    /// As pgq_node writes it: `root`, `branch`, `leaf`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeType::Root => "root",
            NodeType::Branch => "branch",
            NodeType::Leaf => "leaf",
        }
    }

    /// From pgq_node's text (`None` for anything else).
    pub fn parse(s: &str) -> Option<NodeType> {
        match s {
            "root" => Some(NodeType::Root),
            "branch" => Some(NodeType::Branch),
            "leaf" => Some(NodeType::Leaf),
            _ => None,
        }
    }
}

/// One member of a cascade. For a node the engine cannot read (dead, or
/// unreachable: `error` set) it fills what the others know — at least the
/// name and `dead`, and the provider when a live node lists this one
/// among its subscribers — and leaves the rest `None`.
///
/// `Default` is an empty, up-to-date node, for `..NodeView::default()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeView {
    /// The node name (`node_location.node_name`), unique in its cascade.
    pub name: String,
    /// The node's database, labelled as in [`DatabaseView::name`] when the
    /// deck watches it, else `dbname@host:port` from its location.
    pub database: String,
    /// `node_location.node_location` with the password masked (may be
    /// empty).
    pub location: String,
    /// `None` when not known (the node could not be read).
    pub node_type: Option<NodeType>,
    /// A merge leaf: the queue it copies into (`combined_queue`), on the
    /// same database …
    pub combined_queue: Option<String>,
    /// … and the type of that queue's node there (`combined_type`).
    pub combined_type: Option<NodeType>,
    /// The node its worker reads from (`provider_node`). The root's own
    /// name or `None` for the root.
    pub provider: Option<String>,
    /// Time since the tick of the worker's last finished batch was taken
    /// (`now() - tick_time` of `worker_last_tick`, read on the node).
    pub lag: Option<Duration>,
    /// `worker_last_tick` (for the root: its queue's top tick).
    pub last_tick: Option<i64>,
    /// `global_watermark` of `get_node_info`.
    pub global_watermark: Option<i64>,
    /// `local_watermark` of `get_node_info`.
    pub local_watermark: Option<i64>,
    /// `worker_name`.
    pub worker: Option<String>,
    /// `worker_paused`: shown as PAUSED.
    pub paused: bool,
    /// `worker_uptodate`: `false` is shown as NOT UPTODATE (the worker has
    /// not yet acknowledged an admin change).
    pub uptodate: bool,
    /// Tagged dead (`node_location.dead`); the engine does not contact it.
    pub dead: bool,
    /// The worker's `cur_error` (the first line is shown in the tree, all
    /// of it in the detail pane).
    pub worker_error: Option<String>,
    /// Why the node could not be read (connection refused, timeout, no
    /// node for this queue …): shown as UNREACHABLE.
    pub error: Option<String>,
    /// The `sync_watermark` node attribute's node list.
    pub sync_watermark: Vec<String>,
}

impl Default for NodeView {
    fn default() -> Self {
        NodeView {
            name: String::new(),
            database: String::new(),
            location: String::new(),
            node_type: None,
            combined_queue: None,
            combined_type: None,
            provider: None,
            lag: None,
            last_tick: None,
            global_watermark: None,
            local_watermark: None,
            worker: None,
            paused: false,
            uptodate: true,
            dead: false,
            worker_error: None,
            error: None,
            sync_watermark: Vec::new(),
        }
    }
}

impl NodeView {
    /// The provider, unless it is the node itself (pgq_node gives the root
    /// itself as its provider).
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref().filter(|p| *p != self.name)
    }

    /// A merge leaf: a leaf with a combined queue.
    pub fn is_merge_leaf(&self) -> bool {
        self.node_type == Some(NodeType::Leaf) && self.combined_queue.is_some()
    }

    /// Not contacted or not answering.
    pub fn is_down(&self) -> bool {
        self.dead || self.error.is_some()
    }
}

/// One Londiste node: its tables and sequences as `londiste.get_table_list`
/// and `get_seq_list` give them, what `local_show_missing` offers, and the
/// copies under way.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LondisteView {
    /// The cascaded queue the node replicates from.
    pub queue: String,
    /// The node's name in the cascade and its worker (job) name: actions
    /// address the node by `worker`.
    pub node: String,
    pub worker: String,
    /// Database label (as in [`DatabaseView::name`] when the deck watches
    /// it).
    pub database: String,
    pub node_type: Option<NodeType>,
    /// Worker lag (applies to every `ok` table).
    pub lag: Option<Duration>,
    /// The node's tables (`local` ones), in `table_info.nr` order.
    pub tables: Vec<TableView>,
    pub seqs: Vec<SeqView>,
    /// What `missing` lists here: tables that can be added (the picker of
    /// `a` in the Tables view).
    pub missing: Vec<String>,
    /// Reading this node failed (connection refused, no londiste schema …).
    pub error: Option<String>,
}

/// One table of a Londiste node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableView {
    /// Fully qualified: `public.orders`.
    pub name: String,
    /// The local table it is applied into, when not the same name.
    pub dest: Option<String>,
    /// Stored merge state: "missing" (NULL: waiting for its copy),
    /// "in-copy", "catching-up", "wanna-sync:123", "do-sync:123", "ok".
    pub state: String,
    /// `handler=` of the table attributes: `bulk(method=1)`.
    pub handler: Option<String>,
    /// The copy process, while there is one.
    pub copy: Option<CopyView>,
    /// The last error of its copy (or of its replay), all lines.
    pub last_error: Option<String>,
}

/// Progress of one table's copy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CopyView {
    /// "starting" | "data" | "indexes" | "done".
    pub phase: String,
    /// Rows and bytes copied so far.
    pub rows: u64,
    pub bytes: u64,
    /// The source's row estimate (`reltuples`), when known.
    pub est_rows: Option<u64>,
    pub rows_per_sec: f64,
    pub eta: Option<Duration>,
    /// Parallel COPY streams (1 unless the table is copied threaded).
    pub parts: usize,
}

/// One sequence of a Londiste node (`get_seq_list`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeqView {
    pub name: String,
    /// Kept in step on this node.
    pub local: bool,
    pub last_value: Option<i64>,
}

/// Which side of WAL shipping a walmgr job is (a job file with
/// `master_data` is a master).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WalRole {
    #[default]
    Master,
    Standby,
}

/// How a standby gets its WAL right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WalSource {
    /// Not known (server down, not in recovery, not read yet).
    #[default]
    Unknown,
    /// A walreceiver is streaming from the primary.
    Streaming,
    /// Replaying from the archive (restore_command).
    Archive,
    /// Not in recovery any more: promoted.
    Promoted,
}

/// One walmgr job: a master (its archiving) or a standby (its recovery),
/// and the backups and archive they share.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WalView {
    /// The job (worker) name: actions address the job by it.
    pub worker: String,
    pub role: WalRole,
    /// The server's data directory (`master_data` / `slave_data`).
    pub data_dir: String,
    /// The archive directory (`completed_wals`).
    pub archive_dir: String,
    /// Master: `pg_current_wal_lsn()` and its segment file name.
    pub current_lsn: Option<String>,
    pub current_segment: Option<String>,
    /// `pg_stat_archiver`: the last archived segment and when.
    pub last_archived: Option<String>,
    pub last_archived_age: Option<Duration>,
    /// Segments waiting for the archiver (`.ready` files in pg_wal).
    pub archive_backlog: Option<u64>,
    pub archived_count: u64,
    pub failed_count: u64,
    pub last_failed: Option<String>,
    pub last_failed_age: Option<Duration>,
    /// Standby: what it has received and replayed, and how far behind the
    /// primary (or the archive) it is.
    pub receive_lsn: Option<String>,
    pub replay_lsn: Option<String>,
    pub lag_bytes: Option<u64>,
    pub lag: Option<Duration>,
    pub source: WalSource,
    /// Replay is paused (`pg_is_wal_replay_paused()` or the PAUSE file).
    pub paused: bool,
    /// Base backups in `full_backup`, newest first.
    pub backups: Vec<WalBackupView>,
    /// Segments in the archive and their stored (compressed) size.
    pub archive_segments: u64,
    pub archive_bytes: u64,
    /// The retention rule and what it keeps: `keep 3 backups · oldest WAL
    /// 000000010000000000000012`.
    pub retention: String,
    /// Reading this job failed (server down, archive unreadable …).
    pub error: Option<String>,
}

/// Lag (a consumer's, a node's, a standby's replay) from here is a
/// warning …
pub const LAG_WARN: Duration = Duration::from_secs(60);
/// … and an error from here.
pub const LAG_ERROR: Duration = Duration::from_secs(600);

/// How serious a lag in time is: `Info` (fine) under [`LAG_WARN`], `Warn`
/// under [`LAG_ERROR`], `Error` from there.
pub fn lag_level(lag: Duration) -> Level {
    if lag >= LAG_ERROR {
        Level::Error
    } else if lag >= LAG_WARN {
        Level::Warn
    } else {
        Level::Info
    }
}

/// The health rules of a walmgr job, shared by the WAL view's markers and
/// the engine's alerts.
impl WalView {
    /// An archive failure this recent is flagged (FAILED) even when
    /// archiving has worked since.
    pub const RECENT_FAILURE: Duration = Duration::from_secs(3600);
    /// Segments waiting for the archiver: a warning from here …
    pub const BACKLOG_WARN: u64 = 10;
    /// … an error from here.
    pub const BACKLOG_ERROR: u64 = 100;
    /// A standby this many bytes behind is flagged: four 16 MB segments …
    pub const LAG_BYTES_WARN: u64 = 64 << 20;
    /// … and an error from 1 GB. (Time behind: [`LAG_WARN`] and
    /// [`LAG_ERROR`], as everywhere.)
    pub const LAG_BYTES_ERROR: u64 = 1 << 30;

    /// A master whose last archive attempt failed: a failure newer than
    /// the last archived segment (or none archived at all).
    pub fn archive_failing(&self) -> bool {
        self.role == WalRole::Master
            && self.failed_count > 0
            && match (self.last_failed_age, self.last_archived_age) {
                (Some(f), Some(a)) => f < a,
                (Some(_), None) => true,
                (None, _) => false,
            }
    }

    /// A master with an archive failure within [`Self::RECENT_FAILURE`].
    pub fn recent_failure(&self) -> bool {
        self.role == WalRole::Master
            && self.failed_count > 0
            && self
                .last_failed_age
                .is_some_and(|f| f < Self::RECENT_FAILURE)
    }

    /// How serious a master's archive backlog is (`Info`: fine, and for a
    /// standby).
    pub fn backlog_level(&self) -> Level {
        match self.archive_backlog {
            Some(n) if self.role == WalRole::Master && n >= Self::BACKLOG_ERROR => Level::Error,
            Some(n) if self.role == WalRole::Master && n >= Self::BACKLOG_WARN => Level::Warn,
            _ => Level::Info,
        }
    }

    /// How serious a standby's lag is: the worse of bytes and time
    /// (`Info`: fine, and for a master or a promoted standby).
    pub fn lag_level(&self) -> Level {
        if self.role != WalRole::Standby || self.source == WalSource::Promoted {
            return Level::Info;
        }
        let by_bytes = match self.lag_bytes {
            Some(b) if b >= Self::LAG_BYTES_ERROR => Level::Error,
            Some(b) if b >= Self::LAG_BYTES_WARN => Level::Warn,
            _ => Level::Info,
        };
        by_bytes.max(self.lag.map_or(Level::Info, lag_level))
    }
}

/// One base backup set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WalBackupView {
    pub name: String,
    /// When it finished, as age at the snapshot.
    pub age: Option<Duration>,
    /// Bytes of data backed up (before compression) and stored.
    pub size: u64,
    pub stored: u64,
    /// The first WAL segment a restore of it needs.
    pub start_wal: String,
}

/// A merge state read from its stored text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MergeState {
    /// NULL: added, waiting for its copy.
    Missing,
    InCopy,
    CatchingUp,
    /// `wanna-sync:<tick>`: the copy caught up at that tick.
    WannaSync(i64),
    /// `do-sync:<tick>`: the worker stopped at that tick.
    DoSync(i64),
    /// Replayed by the worker (also the compat `?`).
    Ok,
    /// Anything else.
    Unknown,
}

impl MergeState {
    /// From `table_info.merge_state` as the engine passes it (`missing` or
    /// empty for NULL).
    pub fn parse(s: &str) -> MergeState {
        let s = s.trim();
        let tick = |rest: &str| rest.trim().parse::<i64>().ok();
        match s {
            "" | "missing" | "null" | "NULL" => MergeState::Missing,
            "in-copy" => MergeState::InCopy,
            "catching-up" => MergeState::CatchingUp,
            "ok" | "?" => MergeState::Ok,
            _ => {
                if let Some(t) = s.strip_prefix("wanna-sync:").and_then(tick) {
                    MergeState::WannaSync(t)
                } else if let Some(t) = s.strip_prefix("do-sync:").and_then(tick) {
                    MergeState::DoSync(t)
                } else {
                    MergeState::Unknown
                }
            }
        }
    }

    /// Between the start of its copy and `ok`.
    pub fn is_copying(self) -> bool {
        matches!(
            self,
            MergeState::InCopy
                | MergeState::CatchingUp
                | MergeState::WannaSync(_)
                | MergeState::DoSync(_)
        )
    }
}

impl TableView {
    /// The parsed merge state.
    pub fn merge_state(&self) -> MergeState {
        MergeState::parse(&self.state)
    }
}

/// How a takeover treats the old node (londiste `takeover OLD` and its
/// `--dead-root` / `--dead-branch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TakeoverKind {
    /// The old node is alive. Old root: switchover (demote_root steps 1–2,
    /// the new node catches up, promote_branch, demote_root step 3: the old
    /// root becomes a branch of the new one). Old branch: the roles swap.
    Switchover,
    /// The old node is a dead root (`--dead-root`): tag it dead, catch the
    /// new node up from the furthest live subscriber, promote it, leave a
    /// `<old>.gravestone` for `resurrect`. Every subscriber of the old
    /// root follows the new one.
    Failover,
    /// The old node is a dead branch (`--dead-branch`): tag it dead; the new
    /// node reads from the dead branch's provider and every subscriber of
    /// the dead branch follows it.
    FailoverBranch,
}

/// One check of a takeover's dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCheck {
    /// What was checked: `stats_branch is reachable`.
    pub what: String,
    pub ok: bool,
    /// What was found: `branch node`, `2 tick(s) behind`, the error.
    pub detail: String,
}

/// The answer to [`Action::TakeoverPlan`]: what a takeover would check and
/// do, without changing anything (`takeover --dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TakeoverPlan {
    /// As the engine names it: `switchover`, `failover of the root`,
    /// `branch takeover`, `failover of a branch`.
    pub kind: String,
    pub old: String,
    pub new: String,
    /// Every check made now; the console refuses to run the takeover when
    /// one failed.
    pub checks: Vec<PlanCheck>,
    /// The steps, in order, as sentences.
    pub steps: Vec<String>,
    /// Subscribers of the old node that will read from the new one.
    pub followers: Vec<String>,
    /// Anything else the operator should read first.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl TakeoverPlan {
    /// Every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
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
    /// Pause the worker of `node` in the cascade of `queue`
    /// (`set_consumer_paused`, then wait until it acknowledges).
    PauseNode {
        queue: String,
        node: String,
    },
    /// Resume a paused node worker.
    ResumeNode {
        queue: String,
        node: String,
    },
    /// `change-provider`: `node`'s worker reads from `new_provider`.
    ChangeProvider {
        queue: String,
        node: String,
        new_provider: String,
    },
    /// `takeover old` run for `new`. Sent only after the operator has read
    /// the plan ([`Action::TakeoverPlan`]) and typed the confirmation.
    /// `all`: every other subscriber of `old` reads from `new` too (always
    /// so for the failovers). Report each step with an [`ActionUpdate`]
    /// as it happens, then answer with the [`ActionResult`].
    Takeover {
        queue: String,
        old: String,
        new: String,
        kind: TakeoverKind,
        all: bool,
    },
    /// `tag-dead`: mark `node` dead on every live member.
    TagDead {
        queue: String,
        node: String,
    },
    /// `tag-alive`: clear the dead mark on every live member.
    TagAlive {
        queue: String,
        node: String,
    },
    /// `drop-node`: remove `node` from the cascade (the engine refuses while
    /// it has subscribers).
    DropNode {
        queue: String,
        node: String,
    },
    /// Read-only: the dry run of a takeover. Answer with
    /// [`Reply::Plan`] — or an [`ActionResult`] with `ok: false` when no
    /// plan can be made. Never confirmed, allowed in read-only mode.
    TakeoverPlan {
        queue: String,
        old: String,
        new: String,
        kind: TakeoverKind,
        all: bool,
    },
    /// `add-table`: make these tables local on the node of `worker` (from
    /// its `missing` list); on a non-root node each is then copied.
    AddTables {
        worker: String,
        tables: Vec<String>,
    },
    /// `remove-table`: stop replicating `table` on the node of `worker`
    /// (on the root: on every node).
    RemoveTable {
        worker: String,
        table: String,
    },
    /// `resync`: copy `table` again from the provider (merge state back to
    /// NULL).
    ResyncTable {
        worker: String,
        table: String,
    },
    /// `change-handler`: `None` removes the handler.
    ChangeHandler {
        worker: String,
        table: String,
        handler: Option<String>,
    },
    /// `execute FILE`: run a SQL file on the root and send it through the
    /// queue (EXECUTE event) to every node.
    ExecuteSql {
        worker: String,
        path: String,
    },
    /// Read-only: `compare` the tables (empty: every table) of the node of
    /// `worker` with its provider. Never confirmed, allowed in read-only
    /// mode; the console shows the answer's message in a popup.
    CompareTables {
        worker: String,
        tables: Vec<String>,
    },
    /// walmgr `backup`: take a base backup of the master of `worker`.
    WalBackup {
        worker: String,
    },
    /// walmgr `sync`: copy the master's current partial segment to the
    /// archive's partial directory.
    WalSync {
        worker: String,
    },
    /// walmgr `pause`: pause replay on the standby of `worker`.
    WalPause {
        worker: String,
    },
    /// walmgr `continue`: resume replay on the standby of `worker`.
    WalContinue {
        worker: String,
    },
    /// walmgr `boot`: end recovery and promote the standby of `worker`.
    WalBoot {
        worker: String,
    },
}

impl Action {
    /// Whether the action changes state (needs confirmation, refused in
    /// read-only mode).
    pub fn changes_state(&self) -> bool {
        !matches!(
            self,
            Action::Refresh
                | Action::SetRefresh(_)
                | Action::TakeoverPlan { .. }
                | Action::CompareTables { .. }
        )
    }

    /// Whether a y is not enough: the operator types a name first, in the
    /// action's own popup (a standby's promotion, a takeover), so the
    /// shared y/n confirmation never sends it.
    pub fn needs_typed_confirmation(&self) -> bool {
        matches!(self, Action::WalBoot { .. } | Action::Takeover { .. })
    }

    /// Whether the console waits for its result (shown as pending): every
    /// state change, and a compare.
    pub fn awaits_result(&self) -> bool {
        self.changes_state() || matches!(self, Action::CompareTables { .. })
    }
}

/// The engine's answer to an action: the last message about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub action: Action,
    pub ok: bool,
    /// What happened, or the error (server text included), one or more lines.
    pub message: String,
}

/// A step of an action that is still running (a takeover, a pause that
/// waits for the worker, a change of provider …). Send any number before
/// the [`ActionResult`]; the console shows them live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionUpdate {
    /// The action, equal to the one received.
    pub action: Action,
    /// What just happened, one line: `Step 1: writing to the queue on
    /// shop_root is disabled` (what `Progress::step` gets).
    pub step: String,
    /// `true`: the step has begun and is not finished (`waiting for
    /// stats_branch to apply tick 20514`); the next update replaces it.
    /// `false` (the usual): the step is done.
    #[serde(default)]
    pub running: bool,
    /// Time since the engine began the action; `None`: the console uses
    /// its own clock.
    #[serde(default)]
    pub elapsed: Option<Duration>,
    /// During a switchover: how long writes to the queue were refused
    /// (from demote_root step 1 to promote_branch), on the update that
    /// ends that window. The console shows it with the result.
    #[serde(default)]
    pub writes_refused: Option<Duration>,
}

/// Everything the engine sends back on the results channel of
/// [`run`](crate::run). An engine that only sends [`ActionResult`]s can
/// keep a channel of those: `run` takes any `Into<Reply>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// An action finished (the one answer every sent action gets, except
    /// a [`Action::TakeoverPlan`] answered with `Plan`).
    Result(ActionResult),
    /// A step of an action still running.
    Update(ActionUpdate),
    /// The dry run asked for by [`Action::TakeoverPlan`] (`action` is that
    /// request, as received).
    Plan { action: Action, plan: TakeoverPlan },
}

impl From<ActionResult> for Reply {
    fn from(r: ActionResult) -> Reply {
        Reply::Result(r)
    }
}

impl From<ActionUpdate> for Reply {
    fn from(u: ActionUpdate) -> Reply {
        Reply::Update(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_levels_from_one_and_ten_minutes() {
        assert_eq!(lag_level(Duration::from_millis(59_999)), Level::Info);
        assert_eq!(lag_level(LAG_WARN), Level::Warn);
        assert_eq!(lag_level(Duration::from_millis(599_999)), Level::Warn);
        assert_eq!(lag_level(LAG_ERROR), Level::Error);
        let standby = WalView {
            role: WalRole::Standby,
            lag: Some(LAG_WARN),
            ..WalView::default()
        };
        assert_eq!(standby.lag_level(), Level::Warn, "time alone");
        let master = WalView {
            lag: Some(LAG_ERROR),
            ..WalView::default()
        };
        assert_eq!(master.lag_level(), Level::Info, "a master lags nothing");
    }
}
