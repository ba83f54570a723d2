//! The Londiste side of a node's worker (spec §5.6–5.8): an [`Applier`]
//! for the cascade worker.
//!
//! * Between batches ([`Applier::prepare`]) it runs the copy hand-over:
//!   launches copies of tables that need one (at most `parallel_copies` at
//!   a time), turns `wanna-sync:T` into `do-sync:<position>` once the
//!   worker is at or past T and holds its batches back while a table is in
//!   `do-sync`, and restores foreign keys dropped for a copy.
//! * In each batch's transaction ([`Applier::apply`]) it applies row events
//!   of tables in state `ok` through [`Replay`], skipping events a table's
//!   copy already contained (its `custom_snapshot`), runs EXECUTE scripts,
//!   and follows the global table and sequence registrations.
//! * On the root it publishes sequence values ahead of use.
//!
//! Copies run as tasks of this process (not as separate processes as in
//! the original): [`copy`](super::copy) moves the data, then the task
//! catches up as consumer `<worker>.copy.<table>` on the source until the
//! worker takes over. Every state change wakes the other side at once
//! (NOTIFY on the worker's wake channel, a `Notify` towards the task), so
//! no step waits for a poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::{Client, Transaction};
use tokio_util::sync::CancellationToken;

use super::copy::{copy_table, CopyProgress, CopySpec, DdlMode};
use super::handler::{HandlerEnv, HandlerSettings, Router};
use super::replay::Replay;
use super::sql::{self, MergeState, TableInfo};
use crate::cascade::node;
use crate::cascade::worker::{Applier, BoxFuture, Prepare, Ready, WAKE_CHANNEL};
use crate::db::describe;
use crate::pgq::{BatchInfo, Consumer, ConsumerConfig, Event};

/// The `[londiste]` keys of a job file beyond the cascade worker's.
#[derive(Debug, Clone, PartialEq)]
pub struct LondisteSettings {
    /// Tables in copy states at once (`parallel_copies`, default 1).
    pub parallel_copies: usize,
    /// Parallel streams for one large table (`threaded_copy_pool_size`;
    /// skydeck's default 4).
    pub copy_parts: usize,
    /// Tables smaller than this are copied in one stream.
    pub min_part_bytes: u64,
    /// `statement_timeout` for the locking steps of add-table and compare.
    pub lock_timeout: Duration,
    /// The handlers' keys (shard_hash_func, shard_info_sql, obfuscator_*).
    pub handlers: HandlerSettings,
    /// `local_only`: a leaf fetches only events of its local tables (and
    /// `pgq.*`, `londiste.*`, EXECUTE unless `local_only_drop_execute`).
    pub local_only: bool,
    pub local_only_drop_execute: bool,
    /// `register_only_tables` / `register_skip_tables` /
    /// `register_only_seqs` / `register_skip_seqs`: which of the cascade's
    /// tables and sequences a non-root node registers (globs).
    pub register: RegisterFilter,
}

/// Which global table and sequence registrations a non-root node takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterFilter {
    pub only_tables: Vec<String>,
    pub skip_tables: Vec<String>,
    pub only_seqs: Vec<String>,
    pub skip_seqs: Vec<String>,
}

impl RegisterFilter {
    fn pass(name: &str, only: &[String], skip: &[String]) -> bool {
        let m = |pats: &[String]| {
            pats.iter()
                .any(|p| super::admin::glob_match(&super::admin::fqname(p), name))
        };
        (only.is_empty() || m(only)) && !m(skip)
    }

    /// Whether table `name` (schema.table) is registered here.
    pub fn table(&self, name: &str) -> bool {
        Self::pass(name, &self.only_tables, &self.skip_tables)
    }

    /// Whether sequence `name` is registered here.
    pub fn seq(&self, name: &str) -> bool {
        Self::pass(name, &self.only_seqs, &self.skip_seqs)
    }
}

impl Default for LondisteSettings {
    fn default() -> Self {
        LondisteSettings {
            parallel_copies: 1,
            copy_parts: 4,
            min_part_bytes: 64 << 20,
            lock_timeout: Duration::from_secs(10),
            handlers: HandlerSettings::default(),
            local_only: false,
            local_only_drop_execute: false,
            register: RegisterFilter::default(),
        }
    }
}

impl LondisteSettings {
    pub fn from_job(file: &crate::config::JobFile) -> Result<Self, crate::config::ConfigError> {
        let s = &file.section;
        let d = LondisteSettings::default();
        let int = |key: &str, def: usize| -> Result<usize, crate::config::ConfigError> {
            let v = s.get_int(key, def as i64)?;
            usize::try_from(v)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| s.bad_value(key, "a whole number of at least 1"))
        };
        Ok(LondisteSettings {
            parallel_copies: int("parallel_copies", d.parallel_copies)?,
            copy_parts: int("threaded_copy_pool_size", d.copy_parts)?,
            min_part_bytes: d.min_part_bytes,
            lock_timeout: s.get_duration("lock_timeout", d.lock_timeout)?,
            handlers: HandlerSettings::from_section(s)?,
            local_only: s.get_bool("local_only", false)?,
            local_only_drop_execute: s.get_bool("local_only_drop_execute", false)?,
            register: RegisterFilter {
                only_tables: s.get_list("register_only_tables", &[])?,
                skip_tables: s.get_list("register_skip_tables", &[])?,
                only_seqs: s.get_list("register_only_seqs", &[])?,
                skip_seqs: s.get_list("register_skip_seqs", &[])?,
            },
        })
    }
}

/// What the console and `tables` see of a copy running in this process.
#[derive(Clone)]
pub struct CopyState {
    pub progress: Arc<CopyProgress>,
    /// The last error of the table's copy, until it succeeds.
    pub error: Option<String>,
    /// When it last failed, and how many times in a row: a failing copy is
    /// retried with a growing pause (1 s, 2 s, 4 s … up to a minute).
    pub failed_at: Option<std::time::Instant>,
    pub failures: u32,
}

/// What the console sees of a Londiste worker (through the cascade
/// worker's [`CascadeView::applier`](crate::cascade::CascadeView)).
pub struct LondisteExtra {
    pub copies: Arc<Mutex<HashMap<String, CopyState>>>,
    /// The job file's Londiste keys (lock_timeout, handler settings), for
    /// the console's actions.
    pub settings: LondisteSettings,
}

struct CopyTask {
    handle: tokio::task::JoinHandle<Result<(), String>>,
    wake: Arc<Notify>,
}

/// What a batch leaves for the next one: replay's and the handlers'
/// caches, and the tables as the batch saw them.
type BatchState = (Replay, Router, HashMap<String, TableInfo>);

/// The Londiste applier of one node's worker.
pub struct Londiste {
    queue: String,
    worker: String,
    db: String,
    settings: LondisteSettings,
    tasks: Mutex<HashMap<String, CopyTask>>,
    /// Per table: progress of the running copy, last error.
    pub copies: Arc<Mutex<HashMap<String, CopyState>>>,
    /// Kept between batches for their caches (table metadata, handlers).
    /// With the tables as the last batch saw them (for the events a branch
    /// copies into its queue in the same transaction).
    replay: tokio::sync::Mutex<Option<BatchState>>,
    env: Arc<HandlerEnv>,
}

impl Londiste {
    pub fn new(queue: &str, worker: &str, db: &str, settings: LondisteSettings) -> Self {
        Londiste {
            queue: queue.to_string(),
            worker: worker.to_string(),
            db: db.to_string(),
            tasks: Mutex::new(HashMap::new()),
            copies: Arc::new(Mutex::new(HashMap::new())),
            replay: tokio::sync::Mutex::new(None),
            env: Arc::new(HandlerEnv::new(settings.handlers.clone())),
            settings,
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("londiste {}/{}: {what}", self.queue, self.worker)
    }

    /// Whether a copy task of `table` is running; reaps finished ones.
    fn task_running(&self, table: &str) -> bool {
        let mut tasks = self.tasks.lock().expect("tasks lock");
        match tasks.get(table) {
            Some(t) if !t.handle.is_finished() => true,
            Some(_) => {
                tasks.remove(table);
                false
            }
            None => false,
        }
    }

    fn wake_task(&self, table: &str) {
        if let Some(t) = self.tasks.lock().expect("tasks lock").get(table) {
            t.wake.notify_one();
        }
    }

    fn spawn_copy(&self, p: &Prepare<'_>, t: &TableInfo, source_loc: String) {
        let wake = Arc::new(Notify::new());
        let progress = Arc::new(CopyProgress::default());
        {
            let mut copies = self.copies.lock().expect("copies lock");
            let prev = copies.remove(&t.table_name);
            copies.insert(
                t.table_name.clone(),
                CopyState {
                    progress: progress.clone(),
                    error: prev.as_ref().and_then(|p| p.error.clone()),
                    failed_at: prev.as_ref().and_then(|p| p.failed_at),
                    failures: prev.map(|p| p.failures).unwrap_or(0),
                },
            );
        }
        let job = CopyJob {
            queue: self.queue.clone(),
            worker: self.worker.clone(),
            db: self.db.clone(),
            table: t.table_name.clone(),
            source_loc,
            provider_node: p.provider_node.to_string(),
            parts: self.settings.copy_parts,
            min_part_bytes: self.settings.min_part_bytes,
            progress,
            wake: wake.clone(),
            stop: p.stop.child_token(),
            copies: self.copies.clone(),
            env: self.env.clone(),
        };
        let handle = tokio::spawn(async move {
            let table = job.table.clone();
            let copies = job.copies.clone();
            let r = job.run().await;
            if let Err(e) = &r {
                tracing::error!("{e}");
                if let Some(c) = copies.lock().expect("copies lock").get_mut(&table) {
                    c.error = Some(e.clone());
                    c.failed_at = Some(std::time::Instant::now());
                    c.failures = c.failures.saturating_add(1);
                }
            }
            r
        });
        self.tasks
            .lock()
            .expect("tasks lock")
            .insert(t.table_name.clone(), CopyTask { handle, wake });
    }

    async fn prepare_impl(&self, p: Prepare<'_>) -> Result<Ready, String> {
        let tables = sql::tables(p.target, &self.queue)
            .await
            .map_err(|e| self.err(e))?;
        let local: Vec<&TableInfo> = tables.iter().filter(|t| t.local).collect();
        // A copy is finishing: hold the batches until it says ok.
        let mut wait = false;
        for t in &local {
            if let MergeState::DoSync(_) = t.merge_state {
                wait = true;
                if !self.task_running(&t.table_name) && !self.failed_recently(&t.table_name) {
                    if let Some(loc) = self.resume_source(&p, t).await? {
                        self.spawn_copy(&p, t, loc);
                    }
                }
                self.wake_task(&t.table_name);
            }
        }
        if wait {
            return Ok(Ready::Wait);
        }
        if let Some(pos) = p.completed {
            for t in &local {
                if let MergeState::WannaSync(at) = t.merge_state {
                    if pos >= at {
                        sql::set_table_state(
                            p.target,
                            &self.queue,
                            &t.table_name,
                            t.custom_snapshot.as_deref(),
                            MergeState::DoSync(pos),
                        )
                        .await
                        .map_err(|e| self.err(e))?;
                        tracing::info!(
                            "{}: table {} caught up at tick {at}; worker stops at {pos} to hand over",
                            self.queue,
                            t.table_name
                        );
                        if !self.task_running(&t.table_name) && !self.failed_recently(&t.table_name)
                        {
                            if let Some(loc) = self.resume_source(&p, t).await? {
                                self.spawn_copy(&p, t, loc);
                            }
                        }
                        self.wake_task(&t.table_name);
                        return Ok(Ready::Wait);
                    }
                }
            }
        }
        // Resume copies this process is not running (after a restart).
        let mut copying = 0;
        for t in &local {
            if t.merge_state.is_copying() {
                copying += 1;
                if !self.task_running(&t.table_name) && !self.failed_recently(&t.table_name) {
                    // A copy in progress goes on from where it copied.
                    let loc = match t.merge_state {
                        MergeState::InCopy => self.copy_source(&p, t).await?,
                        _ => self.resume_source(&p, t).await?,
                    };
                    let Some(loc) = loc else {
                        continue;
                    };
                    tracing::info!(
                        "{}: resuming the copy of table {} ({})",
                        self.queue,
                        t.table_name,
                        t.merge_state
                    );
                    self.spawn_copy(&p, t, loc);
                }
            }
        }
        // Start new copies.
        let mut provider_tables: Option<Vec<TableInfo>> = None;
        for t in &local {
            if copying >= self.settings.parallel_copies {
                break;
            }
            if t.merge_state != MergeState::Missing {
                continue;
            }
            if self.failed_recently(&t.table_name) {
                continue;
            }
            if t.table_attrs.copy_node().is_none() {
                if provider_tables.is_none() {
                    provider_tables = Some(
                        sql::tables(p.source, &self.queue)
                            .await
                            .map_err(|e| self.err(format!("provider's tables: {e}")))?,
                    );
                }
                let ready = provider_tables.as_ref().is_some_and(|pt| {
                    pt.iter().any(|x| {
                        x.table_name == t.table_name && x.local && x.merge_state == MergeState::Ok
                    })
                });
                if !ready {
                    continue;
                }
            }
            let Some(loc) = self.copy_source(&p, t).await? else {
                continue;
            };
            for fk in sql::table_fkeys(p.target, t.dest())
                .await
                .map_err(|e| self.err(e))?
            {
                sql::drop_fkey(p.target, &fk.from_table, &fk.fkey_name)
                    .await
                    .map_err(|e| self.err(e))?;
            }
            sql::set_table_state(
                p.target,
                &self.queue,
                &t.table_name,
                None,
                MergeState::InCopy,
            )
            .await
            .map_err(|e| self.err(e))?;
            tracing::info!(
                "{}: copying table {} from {}",
                self.queue,
                t.table_name,
                crate::db::mask_connstr(&loc)
            );
            self.spawn_copy(&p, t, loc);
            copying += 1;
        }
        // Foreign keys whose tables are both in sync again.
        for fk in sql::valid_pending_fkeys(p.target, &self.queue)
            .await
            .map_err(|e| self.err(e))?
        {
            sql::restore_fkey(p.target, &fk.from_table, &fk.fkey_name)
                .await
                .map_err(|e| self.err(e))?;
            tracing::info!(
                "{}: restored foreign key {} on {}",
                self.queue,
                fk.fkey_name,
                fk.from_table
            );
        }
        Ok(Ready::Go)
    }

    /// A copy that failed waits before it is tried again.
    fn failed_recently(&self, table: &str) -> bool {
        let copies = self.copies.lock().expect("copies lock");
        let Some(c) = copies.get(table) else {
            return false;
        };
        match c.failed_at {
            None => false,
            Some(at) => {
                let wait = Duration::from_secs(1u64 << c.failures.saturating_sub(1).min(6))
                    .min(Duration::from_secs(60));
                at.elapsed() < wait
            }
        }
    }

    /// Where a table is copied from: its `copy_node`, the nearest node up
    /// the cascade that has it in sync (`copy_node=?`), or the provider.
    /// `None`: no node has it in sync yet.
    async fn copy_source(&self, p: &Prepare<'_>, t: &TableInfo) -> Result<Option<String>, String> {
        match t.table_attrs.copy_node() {
            None => Ok(Some(p.provider_location.to_string())),
            Some("?") => {
                let mut loc = p.provider_location.to_string();
                for _ in 0..64 {
                    let c = crate::db::connect(&loc).await.map_err(|e| self.err(e))?;
                    let theirs = sql::tables(&c, &self.queue)
                        .await
                        .map_err(|e| self.err(e))?;
                    if theirs.iter().any(|x| {
                        x.table_name == t.table_name && x.local && x.merge_state == MergeState::Ok
                    }) {
                        return Ok(Some(loc));
                    }
                    let info = node::node_info(&c, &self.queue)
                        .await
                        .map_err(|e| self.err(e))?;
                    match info.and_then(|i| i.provider_location) {
                        Some(up) if !up.is_empty() => loc = up,
                        _ => return Ok(None),
                    }
                }
                Ok(None)
            }
            Some(n) => {
                let locs = node::locations(p.target, &self.queue)
                    .await
                    .map_err(|e| self.err(e))?;
                locs.into_iter()
                    .find(|l| l.node_name == n)
                    .map(|l| Some(l.node_location))
                    .ok_or_else(|| {
                        self.err(format!(
                            "table {}: copy_node {n:?} is not a member of the cascade",
                            t.table_name
                        ))
                    })
            }
        }
    }

    /// Where a copy that is catching up reads from: the node its copy
    /// consumer was registered on.
    async fn resume_source(
        &self,
        p: &Prepare<'_>,
        t: &TableInfo,
    ) -> Result<Option<String>, String> {
        let cname = format!("{}.copy.{}", self.worker, t.table_name);
        match node::consumer_state(p.target, &self.queue, &cname).await {
            Ok(st) => Ok(Some(
                st.provider_location
                    .unwrap_or_else(|| p.provider_location.to_string()),
            )),
            Err(_) => Ok(Some(p.provider_location.to_string())),
        }
    }

    async fn apply_impl(
        &self,
        tx: &Transaction<'_>,
        source: &Client,
        batch: &BatchInfo,
        events: &[Event],
    ) -> Result<(), String> {
        let mut guard = self.replay.lock().await;
        // A failed batch leaves no half state behind: start clean.
        let (mut replay, mut router, _) = guard.take().unwrap_or_else(|| {
            (
                Replay::new(&self.queue),
                Router::new(&self.queue, self.env.clone()),
                HashMap::new(),
            )
        });
        router.reset();
        // The parts of merged tables this batch will write, held for its
        // length: a lone part's copy sends them back to copying
        // (`recopy_merged_parts`) and must not do so between this batch
        // reading them `ok` and writing their rows.  Locked before they are
        // read, so a batch that waited reads the new state.  No rows (and
        // no lock) outside merge leaves.
        tx.execute(
            "select 1 from londiste.table_info t
              where t.queue_name = $1 and t.local and t.merge_state = 'ok'
                and exists (select 1 from londiste.table_info p
                             where p.queue_name <> t.queue_name and p.local
                               and coalesce(p.dest_table, p.table_name)
                                   = coalesce(t.dest_table, t.table_name))
                for share of t",
            &[&self.queue],
        )
        .await
        .map_err(|e| self.err(describe(&e)))?;
        let mut tables: HashMap<String, TableInfo> = sql::tables(tx, &self.queue)
            .await
            .map_err(|e| self.err(e))?
            .into_iter()
            .map(|t| (t.table_name.clone(), t))
            .collect();
        let mut filters: HashMap<String, Snapshot> = HashMap::new();
        for t in tables.values() {
            if let (true, MergeState::Ok, Some(s)) =
                (t.local, t.merge_state, t.custom_snapshot.as_deref())
            {
                filters.insert(
                    t.table_name.clone(),
                    Snapshot::parse(s)
                        .map_err(|e| self.err(format!("table {}: {e}", t.table_name)))?,
                );
            }
        }
        {
            let ok: Vec<&TableInfo> = tables
                .values()
                .filter(|t| t.local && t.merge_state == MergeState::Ok)
                .collect();
            router.begin(tx, &ok).await.map_err(|e| self.err(e))?;
        }
        for ev in events {
            let ty = ev.ev_type.as_deref().unwrap_or("");
            let data = ev.ev_data.as_deref().unwrap_or("");
            match ty {
                "londiste.add-table"
                    if !self.settings.register.table(&super::admin::fqname(data)) => {}
                "londiste.add-table" => {
                    sql::global_add_table(tx, &self.queue, data)
                        .await
                        .map_err(|e| self.err(e))?;
                }
                "londiste.remove-table" => {
                    router
                        .flush(&mut replay, tx)
                        .await
                        .map_err(|e| self.err(e))?;
                    match sql::global_remove_table(tx, &self.queue, data).await {
                        Ok(_) | Err(node::CascadeError::Refused { code: 400, .. }) => {}
                        Err(e) => return Err(self.err(e)),
                    }
                    tables.remove(data);
                }
                "londiste.update-seq"
                    if !self
                        .settings
                        .register
                        .seq(&super::admin::fqname(ev.ev_extra1.as_deref().unwrap_or(""))) => {}
                "londiste.update-seq" => {
                    let seq = ev.ev_extra1.as_deref().unwrap_or("");
                    let v: i64 = data.parse().map_err(|_| {
                        self.err(format!("event {}: bad sequence value {data:?}", ev.ev_id))
                    })?;
                    sql::global_update_seq(tx, &self.queue, seq, v)
                        .await
                        .map_err(|e| self.err(e))?;
                }
                "londiste.remove-seq" => {
                    match sql::global_remove_seq(tx, &self.queue, data).await {
                        Ok(_) | Err(node::CascadeError::Refused { code: 400, .. }) => {}
                        Err(e) => return Err(self.err(e)),
                    }
                }
                "EXECUTE" => {
                    router
                        .flush(&mut replay, tx)
                        .await
                        .map_err(|e| self.err(e))?;
                    let r = super::execute::replay_execute(tx, &self.queue, ev)
                        .await
                        .map_err(|e| self.err(format!("EXECUTE event {}: {e}", ev.ev_id)))?;
                    tracing::info!("{}: {r:?}", self.queue);
                    replay.invalidate();
                }
                _ if is_row_event(ty) => {
                    let name = super::admin::fqname(ev.ev_extra1.as_deref().unwrap_or(""));
                    let Some(t) = tables.get(&name) else {
                        continue;
                    };
                    if !t.local || t.merge_state != MergeState::Ok {
                        continue;
                    }
                    if filters.get(&name).is_some_and(|s| s.visible(ev.ev_txid)) {
                        continue;
                    }
                    router
                        .route(&mut replay, tx, t, batch, ev)
                        .await
                        .map_err(|e| self.err(e))?;
                }
                other if other.starts_with("pgq.") => {}
                other => {
                    return Err(self.err(format!(
                        "Unhandled event type in queue: {other} (event {})",
                        ev.ev_id
                    )))
                }
            }
        }
        router
            .flush(&mut replay, tx)
            .await
            .map_err(|e| self.err(e))?;
        if !filters.is_empty() {
            // Once the batch's end tick sees everything a copy saw, later
            // batches hold nothing the copy had: drop the filter.
            let tick = tick_snapshot(source, &self.queue, batch.cur_tick_id)
                .await
                .map_err(|e| self.err(e))?;
            for (table, s) in &filters {
                if tick.contains(s) {
                    sql::set_table_state(tx, &self.queue, table, None, MergeState::Ok)
                        .await
                        .map_err(|e| self.err(e))?;
                }
            }
        }
        *guard = Some((replay, router, tables));
        Ok(())
    }
}

impl Applier for Londiste {
    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'_>,
        source: &'a Client,
        batch: &'a BatchInfo,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.apply_impl(tx, source, batch, events))
    }

    fn prepare<'a>(&'a self, step: Prepare<'a>) -> BoxFuture<'a, Result<Ready, String>> {
        Box::pin(self.prepare_impl(step))
    }

    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(Arc::new(LondisteExtra {
            copies: self.copies.clone(),
            settings: self.settings.clone(),
        }))
    }

    fn copy_events<'a>(
        &'a self,
        tx: &'a Transaction<'_>,
        mut events: Vec<Event>,
        combined: bool,
    ) -> BoxFuture<'a, Result<Vec<Event>, String>> {
        Box::pin(async move {
            if combined {
                // The combined queue has its own table registrations: the
                // part queue's stay here.
                events.retain(|e| !e.ev_type.as_deref().unwrap_or("").starts_with("londiste."));
            }
            let mut guard = self.replay.lock().await;
            let Some((_, router, tables)) = guard.as_mut() else {
                return Ok(events);
            };
            router
                .copy_events(tx, tables, events)
                .await
                .map_err(|e| self.err(e))
        })
    }

    fn event_filter<'a>(
        &'a self,
        target: &'a Client,
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            if !self.settings.local_only {
                return Ok(None);
            }
            let tables = sql::tables(target, &self.queue)
                .await
                .map_err(|e| self.err(e))?;
            Ok(Some(local_only_filter(
                tables
                    .iter()
                    .filter(|t| t.local)
                    .map(|t| t.table_name.as_str()),
                self.settings.local_only_drop_execute,
            )))
        })
    }

    fn root_loop<'a>(&'a self, target: &'a Client) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            sql::root_check_seqs(target, &self.queue)
                .await
                .map_err(|e| self.err(e))?;
            Ok(())
        })
    }
}

/// The `local_only` condition on event columns: system events, EXECUTE
/// (unless dropped) and row events of the local tables (`public.` tables
/// are also named without their schema by some triggers).
fn local_only_filter<'a>(tables: impl Iterator<Item = &'a str>, drop_execute: bool) -> String {
    let mut names: Vec<String> = Vec::new();
    for t in tables {
        names.push(crate::db::quote_literal(t));
        if let Some(short) = t.strip_prefix("public.") {
            names.push(crate::db::quote_literal(short));
        }
    }
    let mut w = "ev_type like 'pgq.%' or ev_type like 'londiste.%'".to_string();
    if !drop_execute {
        w.push_str(" or ev_type = 'EXECUTE'");
    }
    if !names.is_empty() {
        w.push_str(&format!(" or ev_extra1 in ({})", names.join(", ")));
    }
    format!("({w})")
}

/// Row events: logutriga `I:`/`U:`/`D:`, sqltriga `I`/`U`/`D`, truncate
/// `R`, jsontriga `{…}`.
pub(crate) fn is_row_event(ty: &str) -> bool {
    matches!(ty, "I" | "U" | "D" | "R")
        || ty.starts_with("I:")
        || ty.starts_with("U:")
        || ty.starts_with("D:")
        || ty.starts_with('{')
}

pub use super::handler::{parse_handler, HandlerArgs};

/// A `txid_snapshot` (`xmin:xmax:xip,…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub xmin: i64,
    pub xmax: i64,
    pub xip: Vec<i64>,
}

impl Snapshot {
    pub fn parse(s: &str) -> Result<Snapshot, String> {
        let bad = || format!("bad txid snapshot {s:?}");
        let mut it = s.splitn(3, ':');
        let xmin = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let xmax = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let xip = match it.next() {
            None | Some("") => Vec::new(),
            Some(l) => l
                .split(',')
                .map(|v| v.parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        };
        Ok(Snapshot { xmin, xmax, xip })
    }

    /// Whether the transaction `txid` had committed for this snapshot.
    pub fn visible(&self, txid: i64) -> bool {
        txid < self.xmin || (txid < self.xmax && !self.xip.contains(&txid))
    }

    /// Whether every transaction visible in `s` is visible here.
    pub fn contains(&self, s: &Snapshot) -> bool {
        if s.xmax > self.xmax {
            return false;
        }
        // A transaction still running here must have been running (or not
        // yet started) for `s` too.
        self.xip
            .iter()
            .all(|x| *x >= s.xmax || (*x >= s.xmin && s.xip.contains(x)))
    }
}

/// The source table's column names, in order.
async fn source_columns(source: &Client, table: &str) -> Result<Vec<String>, String> {
    let rows = source
        .query(
            "select a.attname::text from pg_attribute a \
              where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped \
              order by a.attnum",
            &[&crate::db::quote_fqname(table)],
        )
        .await
        .map_err(|e| {
            format!(
                "reading the columns of {table} on the source: {}",
                describe(&e)
            )
        })?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The snapshot of a tick on the source.
async fn tick_snapshot(source: &Client, queue: &str, tick: i64) -> Result<Snapshot, String> {
    let r = source
        .query_one(
            "select t.tick_snapshot::text from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
              where q.queue_name = $1 and t.tick_id = $2",
            &[&queue, &tick],
        )
        .await
        .map_err(|e| format!("reading tick {tick} of {queue}: {}", describe(&e)))?;
    Snapshot::parse(r.get(0))
}

/// One table's copy, then its catch-up until the worker takes over.
struct CopyJob {
    queue: String,
    worker: String,
    db: String,
    table: String,
    source_loc: String,
    provider_node: String,
    parts: usize,
    min_part_bytes: u64,
    progress: Arc<CopyProgress>,
    wake: Arc<Notify>,
    stop: CancellationToken,
    copies: Arc<Mutex<HashMap<String, CopyState>>>,
    env: Arc<HandlerEnv>,
}

impl CopyJob {
    fn consumer(&self) -> String {
        format!("{}.copy.{}", self.worker, self.table)
    }

    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("londiste {}: copy of {}: {what}", self.queue, self.table)
    }

    async fn state(&self, target: &Client) -> Result<Option<TableInfo>, String> {
        Ok(sql::tables(target, &self.queue)
            .await
            .map_err(|e| self.err(e))?
            .into_iter()
            .find(|t| t.table_name == self.table && t.local))
    }

    /// Wake the main worker (it listens on the node's wake channel).
    async fn wake_worker(&self, target: &Client) {
        let _ = target
            .execute("select pg_notify($1, $2)", &[&WAKE_CHANNEL, &self.worker])
            .await;
    }

    async fn run(self) -> Result<(), String> {
        let target = crate::db::connect(&self.db)
            .await
            .map_err(|e| self.err(e))?;
        // Transactions go through a second connection (`target` is read
        // between them).
        let mut writer = crate::db::connect(&self.db)
            .await
            .map_err(|e| self.err(e))?;
        let cname = self.consumer();
        let cfg = ConsumerConfig {
            idle_sleep: Duration::from_secs(1),
            ..Default::default()
        };
        let mut source = Consumer::connect(&self.source_loc, &self.queue, &cname, cfg)
            .await
            .map_err(|e| self.err(format!("source: {e}")))?;
        let Some(t) = self.state(&target).await? else {
            return Ok(());
        };
        if t.merge_state == MergeState::InCopy {
            // A merge leaf's parts take turns (`_coordinate_copy`).
            let t = loop {
                let Some(t) = self.wait_copy_turn(&target).await? else {
                    return Ok(());
                };
                if t.copy_role.is_some()
                    || t.table_attrs.skip_truncate()
                    || !self.recopy_merged_parts(&mut writer).await?
                {
                    break t;
                }
            };
            self.copy_data(&mut writer, &source, &t).await?;
            self.wake_worker(&target).await;
        }
        // Catch up on the source until the worker takes over.
        let mut completed = node::consumer_state(&target, &self.queue, &cname)
            .await
            .map_err(|e| self.err(e))?
            .completed_tick
            .ok_or_else(|| self.err("the copy consumer has no position; resync the table"))?;
        loop {
            if self.stop.is_cancelled() {
                return Ok(());
            }
            let Some(t) = self.state(&target).await? else {
                return self.cleanup(&target, &source).await;
            };
            let snapshot = match t.custom_snapshot.as_deref() {
                Some(s) => Snapshot::parse(s).map_err(|e| self.err(e))?,
                None => return Err(self.err("no copy snapshot stored; resync the table")),
            };
            match t.merge_state {
                // Merge leaf: a part waits for the lead to put the indexes
                // back; the lead waits for the other parts' data first.
                MergeState::CatchingUp if t.copy_role.as_deref() == Some("wait-replay") => {
                    tokio::select! {
                        _ = self.stop.cancelled() => return Ok(()),
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                MergeState::CatchingUp if t.dropped_ddl.is_some() => {
                    self.restore_merge_ddl(&mut writer, &t).await?;
                }
                MergeState::CatchingUp => {
                    match self
                        .one_batch(&target, &mut writer, &source, &snapshot, completed, None)
                        .await?
                    {
                        Some(c) => completed = c,
                        None => {
                            // Caught up only at a tick that saw everything
                            // the copy saw: after it, no event can be one
                            // the copy already holds, so the worker needs no
                            // filter (and its events, perhaps from another
                            // node with other txids, need none).
                            let tick =
                                tick_snapshot(source.client(), &self.queue, completed).await?;
                            if tick.contains(&snapshot) {
                                sql::set_table_state(
                                    &target,
                                    &self.queue,
                                    &self.table,
                                    t.custom_snapshot.as_deref(),
                                    MergeState::WannaSync(completed),
                                )
                                .await
                                .map_err(|e| self.err(e))?;
                                self.wake_worker(&target).await;
                            } else {
                                let _ = source
                                    .client()
                                    .execute(
                                        "select pgq.force_tick($1) where pgq_node.is_root_node($1)",
                                        &[&self.queue],
                                    )
                                    .await;
                                if !source
                                    .wait_for_tick(&self.stop, Duration::from_millis(500))
                                    .await
                                {
                                    return Ok(());
                                }
                            }
                        }
                    }
                }
                MergeState::WannaSync(_) => {
                    tokio::select! {
                        _ = self.stop.cancelled() => return Ok(()),
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                MergeState::DoSync(at) => {
                    if completed == at {
                        let tx = writer
                            .transaction()
                            .await
                            .map_err(|e| self.err(describe(&e)))?;
                        sql::set_table_state(&tx, &self.queue, &self.table, None, MergeState::Ok)
                            .await
                            .map_err(|e| self.err(e))?;
                        node::unregister_consumer(&tx, &self.queue, &cname)
                            .await
                            .map_err(|e| self.err(e))?;
                        tx.commit().await.map_err(|e| self.err(describe(&e)))?;
                        let _ = source.unregister().await;
                        self.wake_worker(&target).await;
                        tracing::info!("{}: table {} is in sync", self.queue, self.table);
                        if let Some(c) = self
                            .copies
                            .lock()
                            .expect("copies lock")
                            .get_mut(&self.table)
                        {
                            c.error = None;
                            c.failed_at = None;
                            c.failures = 0;
                        }
                        return Ok(());
                    }
                    if completed > at {
                        return Err(self.err(format!(
                            "the copy is at tick {completed}, past the hand-over tick {at}; resync the table"
                        )));
                    }
                    if let Some(c) = self
                        .one_batch(
                            &target,
                            &mut writer,
                            &source,
                            &snapshot,
                            completed,
                            Some(at),
                        )
                        .await?
                    {
                        completed = c;
                    } else if !source
                        .wait_for_tick(&self.stop, Duration::from_secs(1))
                        .await
                    {
                        return Ok(());
                    }
                }
                // Removed, resynced, or finished by another process.
                _ => return Ok(()),
            }
        }
    }

    /// Wait while `_coordinate_copy` says this part of a merged table must
    /// not copy yet (`wait-copy`: the lead has not emptied the table;
    /// `copy_pos` at the table's `max_parallel_copy`). The table's row when
    /// it may go; `None` when stopped or the table left the copy.
    async fn wait_copy_turn(&self, target: &Client) -> Result<Option<TableInfo>, String> {
        let mut said = false;
        loop {
            let Some(t) = self.state(target).await? else {
                return Ok(None);
            };
            if t.merge_state != MergeState::InCopy {
                return Ok(None);
            }
            let max = t.table_attrs.max_parallel_copy();
            let waiting = t.copy_role.as_deref() == Some("wait-copy")
                || max.is_some_and(|m| i64::from(t.copy_pos) >= i64::from(m));
            if !waiting {
                return Ok(Some(t));
            }
            if !said {
                tracing::info!(
                    "{}: copy of {} waits for its turn (role {}, position {})",
                    self.queue,
                    self.table,
                    t.copy_role.as_deref().unwrap_or("-"),
                    t.copy_pos
                );
                said = true;
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Ok(None),
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// A lone part of a merged table would empty the destination, and with
    /// it the rows of the parts already in sync (a part resynced alone, or
    /// added with --no-merge beside them).  Its own old rows cannot be told
    /// apart from theirs, so those parts are copied again with it, taking
    /// turns as for a first copy (`skip_truncate` on the table opts out).
    /// A root's table in the same database is never a part: roots do not
    /// copy.  Whether any part was sent back to copying.
    async fn recopy_merged_parts(&self, writer: &mut Client) -> Result<bool, String> {
        let tx = writer
            .transaction()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        // the parts as `_coordinate_copy` finds them, locked: this waits
        // for their workers' batches in flight (apply_impl holds them)
        let rows = tx
            .query(
                "select p.queue_name, p.table_name
                   from londiste.table_info me
                   join pgq_node.node_info n on n.queue_name = me.queue_name
                   join pgq_node.node_info n2
                     on n2.combined_queue is not distinct from n.combined_queue
                   join londiste.table_info p on p.queue_name = n2.queue_name
                  where me.queue_name = $1 and me.table_name = $2
                    and n2.node_type <> 'root'
                    and p.queue_name <> me.queue_name
                    and p.local and p.merge_state = 'ok'
                    and coalesce(p.dest_table, p.table_name)
                        = coalesce(me.dest_table, me.table_name)
                  order by p.queue_name
                  for update of p",
                &[&self.queue, &self.table],
            )
            .await
            .map_err(|e| self.err(describe(&e)))?;
        if rows.is_empty() {
            return Ok(false);
        }
        let mut parts = Vec::with_capacity(rows.len());
        for r in &rows {
            let (q, tbl): (String, String) = (r.get(0), r.get(1));
            sql::set_table_state(&tx, &q, &tbl, None, MergeState::Missing)
                .await
                .map_err(|e| self.err(e))?;
            parts.push(q);
        }
        tx.commit().await.map_err(|e| self.err(describe(&e)))?;
        // their workers start the copies at once instead of at their next
        // batch
        let _ = writer
            .execute(
                "select pg_notify($1, n.worker_name) from pgq_node.node_info n
                  where n.queue_name = any($2) and n.worker_name is not null",
                &[&WAKE_CHANNEL, &parts],
            )
            .await;
        tracing::warn!(
            "{}: {} is merged with the parts of queue(s) {} (in sync); copying it alone would \
             empty their rows, so they are copied again with it (skip_truncate on the table \
             copies this part alone, without emptying the table)",
            self.queue,
            self.table,
            parts.join(", ")
        );
        Ok(true)
    }

    /// The lead of a merged table: every part has copied, put back the
    /// indexes and constraints dropped for the copy.
    async fn restore_merge_ddl(&self, writer: &mut Client, t: &TableInfo) -> Result<(), String> {
        let ddl = t.dropped_ddl.clone().unwrap_or_default();
        tracing::info!(
            "{}: every part of {} is copied; rebuilding its indexes",
            self.queue,
            t.dest()
        );
        let tx = writer
            .transaction()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        tx.batch_execute(&ddl).await.map_err(|e| {
            self.err(format!(
                "rebuilding the indexes of {} after the merged copy: {} (the DDL stays saved in \
                 londiste.table_info.dropped_ddl)",
                t.dest(),
                describe(&e)
            ))
        })?;
        tx.query_one(
            "select ret_code from londiste.local_set_table_struct($1, $2, NULL)",
            &[&self.queue, &self.table],
        )
        .await
        .map_err(|e| self.err(describe(&e)))?;
        tx.commit().await.map_err(|e| self.err(describe(&e)))
    }

    /// The table was removed while copying: forget the copy consumer.
    async fn cleanup(&self, target: &Client, source: &Consumer) -> Result<(), String> {
        let _ = node::unregister_consumer(target, &self.queue, &self.consumer()).await;
        let _ = source.unregister().await;
        Ok(())
    }

    /// Register on the source, copy the data, store the snapshot.
    async fn copy_data(
        &self,
        writer: &mut Client,
        source: &Consumer,
        t: &TableInfo,
    ) -> Result<(), String> {
        // A fresh position: everything before it is in the copy.
        let _ = source.unregister().await;
        source.register().await.map_err(|e| self.err(e))?;
        let start: i64 = source
            .client()
            .query_one(
                "select last_tick from pgq.get_consumer_info($1, $2)",
                &[&self.queue, &self.consumer()],
            )
            .await
            .map_err(|e| self.err(describe(&e)))?
            .get(0);
        let src_cols = source_columns(source.client(), &t.table_name).await?;
        let plan = self
            .env
            .copy_plan(&*writer, t, &src_cols)
            .await
            .map_err(|e| self.err(e))?;
        let snapshot = if plan.copies {
            let mut spec = CopySpec::new(
                self.source_loc.clone(),
                self.db.clone(),
                t.table_name.clone(),
                plan.dest.clone(),
            );
            spec.skip_truncate = t.table_attrs.skip_truncate();
            match t.copy_role.as_deref() {
                // First part of a merged table: empty it, drop the indexes
                // and leave them dropped until every part has copied.
                Some("lead") => spec.ddl = DdlMode::DropOnly,
                // A later part: add its rows, leave the structure alone.
                Some("wait-replay") => {
                    spec.skip_truncate = true;
                    spec.ddl = DdlMode::Untouched;
                }
                _ => {}
            }
            spec.condition = plan.condition;
            spec.parts = self.parts;
            spec.min_part_bytes = self.min_part_bytes;
            spec.ddl_owner = Some((self.queue.clone(), t.table_name.clone()));
            spec.column_map = plan.column_map;
            spec.rewrite = plan.rewrite;
            let out = copy_table(&spec, &self.progress, &self.stop)
                .await
                .map_err(|e| self.err(e))?;
            tracing::info!(
                "{}: copied {} rows ({} bytes) of {} in {} with {} stream(s)",
                self.queue,
                out.rows,
                out.bytes,
                t.table_name,
                crate::fmt::duration(out.elapsed),
                out.parts
            );
            out.snapshot
        } else {
            // Nothing to copy (the handler keeps no rows here): the hand-
            // over still needs the point from which events apply.
            tracing::info!(
                "{}: table {}: its handler copies no rows",
                self.queue,
                t.table_name
            );
            source
                .client()
                .query_one("select txid_current_snapshot()::text", &[])
                .await
                .map_err(|e| self.err(describe(&e)))?
                .get(0)
        };
        let tx = writer
            .transaction()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        // The node copied from, so a restarted catch-up reads there again.
        let src_node = node::node_info(source.client(), &self.queue)
            .await
            .map_err(|e| self.err(e))?
            .map(|i| i.node_name)
            .unwrap_or_else(|| self.provider_node.clone());
        node::register_consumer(&tx, &self.queue, &self.consumer(), &src_node, Some(start))
            .await
            .map_err(|e| self.err(e))?;
        sql::set_table_state(
            &tx,
            &self.queue,
            &t.table_name,
            Some(&snapshot),
            MergeState::CatchingUp,
        )
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(describe(&e)))?;
        // Speed the catch-up along where the source ticks for itself.
        let _ = source
            .client()
            .execute(
                "select pgq.force_tick($1) where pgq_node.is_root_node($1)",
                &[&self.queue],
            )
            .await;
        Ok(())
    }

    /// Apply the source's next batch to this table (events after the copy's
    /// snapshot only); the new position, or `None` when caught up.
    async fn one_batch(
        &self,
        target: &Client,
        writer: &mut Client,
        source: &Consumer,
        snapshot: &Snapshot,
        completed: i64,
        limit: Option<i64>,
    ) -> Result<Option<i64>, String> {
        let Some(b) = source.open_batch().await.map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        if let Some(at) = limit {
            if b.cur_tick_id > at {
                return Err(self.err(format!(
                    "batch {}..{} runs past the hand-over tick {at}",
                    b.prev_tick_id, b.cur_tick_id
                )));
            }
        }
        if b.cur_tick_id == completed {
            // Applied before a crash; only the source did not hear of it.
            source
                .finish_batch(b.batch_id)
                .await
                .map_err(|e| self.err(e))?;
            return Ok(Some(completed));
        }
        if b.prev_tick_id != completed {
            return Err(self.err(format!(
                "lost position: batch {}..{}, copy is at {completed}; resync the table",
                b.prev_tick_id, b.cur_tick_id
            )));
        }
        let events = source
            .batch_events(source.client(), b.batch_id)
            .await
            .map_err(|e| self.err(e))?;
        let info = self
            .state(target)
            .await?
            .ok_or_else(|| self.err("table no longer local"))?;
        let mut replay = Replay::new(&self.queue);
        let mut router = Router::new(&self.queue, self.env.clone());
        let tx = writer
            .transaction()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        tx.batch_execute("set local session_replication_role = replica")
            .await
            .map_err(|e| self.err(describe(&e)))?;
        router.begin(&tx, &[&info]).await.map_err(|e| self.err(e))?;
        for ev in &events {
            let ty = ev.ev_type.as_deref().unwrap_or("");
            if !is_row_event(ty)
                || super::admin::fqname(ev.ev_extra1.as_deref().unwrap_or("")) != self.table
            {
                continue;
            }
            if snapshot.visible(ev.ev_txid) {
                continue;
            }
            router
                .route(&mut replay, &tx, &info, &b, ev)
                .await
                .map_err(|e| self.err(e))?;
        }
        router
            .flush(&mut replay, &tx)
            .await
            .map_err(|e| self.err(e))?;
        node::set_consumer_completed(&tx, &self.queue, &self.consumer(), b.cur_tick_id)
            .await
            .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(describe(&e)))?;
        source
            .finish_batch(b.batch_id)
            .await
            .map_err(|e| self.err(e))?;
        Ok(Some(b.cur_tick_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            local_only_filter(["public.a", "x.B c"].into_iter(), false),
            "(ev_type like 'pgq.%' or ev_type like 'londiste.%' or ev_type = 'EXECUTE' \
             or ev_extra1 in ('public.a', 'a', 'x.B c'))"
        );
        assert_eq!(
            local_only_filter(std::iter::empty(), true),
            "(ev_type like 'pgq.%' or ev_type like 'londiste.%')"
        );
        let f = RegisterFilter {
            only_tables: vec!["app.*".into(), "t1".into()],
            skip_tables: vec!["app.secret*".into()],
            only_seqs: vec![],
            skip_seqs: vec!["*.tmp_*".into()],
        };
        assert!(f.table("app.orders") && f.table("public.t1"));
        assert!(!f.table("app.secrets") && !f.table("public.t2"));
        assert!(f.seq("public.id_seq") && !f.seq("x.tmp_1"));
    }

    #[test]
    fn snapshots() {
        let s = Snapshot::parse("10:20:12,15").unwrap();
        assert!(s.visible(9) && s.visible(11) && !s.visible(12) && !s.visible(20));
        assert!(Snapshot::parse("10:20:").unwrap().xip.is_empty());
        assert!(Snapshot::parse("x:1:").is_err());
        // Later snapshot that saw 12 commit but 15 still running.
        let t = Snapshot::parse("15:25:15,21").unwrap();
        assert!(t.contains(&s));
        // 11 still running later but visible in s: impossible in practice,
        // and not contained.
        let u = Snapshot::parse("11:25:11").unwrap();
        assert!(!u.contains(&s));
        // Older snapshot does not contain a newer one.
        assert!(!s.contains(&t));
        assert!(s.contains(&s));
    }

    #[test]
    fn handlers() {
        assert_eq!(parse_handler("londiste").unwrap(), ("londiste", vec![]));
        let (n, a) = parse_handler("londiste(ignore_truncate=1)").unwrap();
        assert_eq!(
            (n, a),
            ("londiste", vec![("ignore_truncate".into(), "1".into())])
        );
        assert!(parse_handler("bulk(method=1").is_err());
    }
}
