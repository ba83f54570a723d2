//! Applying a batch's row events to local tables (spec §5.7), set-based.
//!
//! [`Replay::push`] decodes each data event and records it under its
//! destination table in the current *segment*; a TRUNCATE closes the
//! segment for every table (`TRUNCATE … CASCADE` may reach other tables),
//! so events before it are applied before it and events after it after.
//! [`Replay::flush`] then works through the segments in order. For each
//! table of a segment the events are merged per primary key into their net
//! effect and applied as at most a few statements — one `DELETE … USING
//! unnest(…)`, one `UPDATE … FROM unnest(…)` per set of changed columns, one
//! `INSERT … SELECT … FROM unnest(…)` per column set — with every value a
//! `text[]` bind parameter cast to the column's type in SQL.
//!
//! The merge assumes what sequential replay assumes: the destination held
//! the same rows as the source before the batch. Under that assumption the
//! net effect is the one sequential replay has, with one exception: a
//! set-based UPDATE checks unique and exclusion constraints row by row, so
//! rows that swap a unique value fail where the source's statement order
//! succeeded. Such a table's segment is rolled back to a savepoint and
//! replayed event by event in exact order (pipelined prepared statements);
//! so are segments the merge cannot model (an insert on a key that already
//! has a row in the batch). Keys are compared in their text form: equal
//! values with different texts (numeric `1.0` and `1.00`) are different keys
//! to the merge — harmless unless the same row is written under both.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{FuturesOrdered, StreamExt};
use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

use crate::db::{describe, quote_fqname, quote_ident, DbError};
use crate::pgq::event::{self, DecodeError, Op, Payload};
use crate::pgq::Event;

/// Rows per set-based statement, and events per pipelined run in ordered
/// replay: bounds the size of one bind message and of what is in flight.
const CHUNK_ROWS: usize = 10_000;

/// The savepoint around a table's set-based apply.
const SAVEPOINT: &str = "skydeck_replay";

/// Where one replicated table's events go on this node.
#[derive(Debug, Clone)]
pub struct TableTarget {
    /// Global (queue) name, `schema.table` as in ev_extra1.
    pub table: String,
    /// Local table the rows go into (fq name; same as `table` unless
    /// add-table --dest-table was used).
    pub dest: String,
    /// Handler arg ignore_truncate=1: truncate events are dropped.
    pub ignore_truncate: bool,
    /// How changed rows are written (the `bulk` handler's `method`).
    pub mode: ApplyMode,
}

/// How a table's inserts and updates are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApplyMode {
    /// Inserts insert, updates update (bulk method 0, the default).
    #[default]
    Update,
    /// An update deletes the row and inserts its new image (bulk method
    /// 1): an update of a row the table lacks inserts it. Needs full-row
    /// events (logutriga, jsontriga).
    DeleteInsert,
    /// As [`DeleteInsert`](ApplyMode::DeleteInsert), and an insert replaces
    /// a row with the same key (bulk method 2).
    Merged,
}

impl TableTarget {
    /// A table replayed into the local table of the same name.
    pub fn new(table: &str) -> TableTarget {
        TableTarget {
            table: table.to_string(),
            dest: table.to_string(),
            ignore_truncate: false,
            mode: ApplyMode::Update,
        }
    }
}

/// Counters since the [`Replay`] was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    /// Data events pushed (truncates included).
    pub events: u64,
    /// Rows inserted, updated and deleted (as the server counted them).
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// `TRUNCATE` statements run.
    pub truncates: u64,
    /// Truncate events dropped because of `ignore_truncate`.
    pub truncates_ignored: u64,
    /// Data statements sent (DELETE/UPDATE/INSERT/TRUNCATE; savepoints are
    /// not counted).
    pub statements: u64,
    /// Events whose effect was folded into another event's row.
    pub merged_away: u64,
    /// Table segments replayed event by event in exact order.
    pub fallbacks: u64,
}

/// Why a batch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "queue {queue:?}, batch {batch_id}, event {ev_id}: type {ev_type:?} is not a table \
         change; only row events (I/U/D/R, urlencoded, partial SQL or JSON) can be replayed"
    )]
    NotRowEvent {
        queue: String,
        batch_id: i64,
        ev_id: i64,
        ev_type: Option<String>,
    },
    #[error(
        "table {table}: destination table {dest} does not exist on this node; create it \
         (add-table --create) or point add-table --dest-table at an existing table"
    )]
    MissingTable { table: String, dest: String },
    #[error(
        "table {table}: destination {dest} is a {kind}, not a table; replay needs an ordinary \
         or partitioned table"
    )]
    NotATable {
        table: String,
        dest: String,
        kind: String,
    },
    #[error(
        "table {table}: destination table {dest} has no primary key; Londiste applies updates \
         and deletes by primary key: add one to {dest} on this node"
    )]
    NoPrimaryKey { table: String, dest: String },
    #[error(
        "table {table}, batch {batch_id}, event {ev_id}: column {column:?} is not in destination \
         table {dest}; add the column on this node first (e.g. through an EXECUTE script), then \
         let the worker retry the batch"
    )]
    MissingColumn {
        table: String,
        dest: String,
        column: String,
        batch_id: i64,
        ev_id: i64,
    },
    #[error(
        "table {table}, batch {batch_id}, event {ev_id}: {problem} for primary key column \
         {column:?} of {dest}; the source's key (trigger pkey) must be the destination's \
         primary key"
    )]
    MissingKey {
        table: String,
        dest: String,
        column: String,
        batch_id: i64,
        ev_id: i64,
        problem: &'static str,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "table {table}: {what} into {dest} ({events}) failed: {}; the batch must be rolled back \
         (the worker retries it){}",
        describe(.cause),
        hint_for(.cause)
    )]
    Apply {
        table: String,
        dest: String,
        what: String,
        events: String,
        cause: tokio_postgres::Error,
    },
    #[error(
        "table {table}, batch {batch_id}, event {ev_id} (txid {ev_txid}): {op} into {dest} \
         failed: {}; the batch must be rolled back (the worker retries it){}",
        describe(.cause),
        hint_for(.cause)
    )]
    Event {
        table: String,
        dest: String,
        batch_id: i64,
        ev_id: i64,
        ev_txid: i64,
        op: &'static str,
        cause: tokio_postgres::Error,
    },
    #[error(
        "table {table}, batch {batch_id}, event {ev_id} (txid {ev_txid}): TRUNCATE {dest} \
         CASCADE failed: {}",
        describe(.cause)
    )]
    Truncate {
        table: String,
        dest: String,
        batch_id: i64,
        ev_id: i64,
        ev_txid: i64,
        cause: tokio_postgres::Error,
    },
}

impl ReplayError {
    /// The SQLSTATE, when the server reported one.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            ReplayError::Db(e) => e.code(),
            ReplayError::Apply { cause, .. }
            | ReplayError::Event { cause, .. }
            | ReplayError::Truncate { cause, .. } => cause.code(),
            _ => None,
        }
    }
}

/// A next step for the errors an out-of-sync destination produces.
fn hint_for(e: &tokio_postgres::Error) -> &'static str {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => {
            "; the destination holds a row the source did not have: check with \
             `londiste compare` and fix with `londiste repair`"
        }
        _ => "",
    }
}

/// Turns a batch's row events into set-based statements (see the module
/// documentation).
pub struct Replay {
    queue: String,
    /// Closed segments and truncates, in order.
    steps: Vec<Step>,
    /// The segment events are being added to.
    open: Segment,
    meta: HashMap<String, Arc<TableMeta>>,
    stats: ReplayStats,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("queue", &self.queue)
            .field("pending_events", &self.pending_events())
            .field("cached_tables", &self.meta.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Replay {
    /// A replay for the events of `queue` (named in errors).
    pub fn new(queue: &str) -> Replay {
        Replay {
            queue: queue.to_string(),
            steps: Vec::new(),
            open: Segment::default(),
            meta: HashMap::new(),
            stats: ReplayStats::default(),
        }
    }

    /// Events pushed and not yet flushed.
    pub fn pending_events(&self) -> usize {
        let closed: usize = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Rows(seg) => seg.events(),
                Step::Truncate(_) => 1,
            })
            .sum();
        closed + self.open.events()
    }

    /// Decode and merge one data event (types I:/U:/D:/R urlencoded,
    /// I/U/D/R partial SQL, JSON). Sync: only records. Error names queue,
    /// batch, event id.
    pub fn push(
        &mut self,
        target: &TableTarget,
        batch_id: i64,
        ev: &Event,
    ) -> Result<(), ReplayError> {
        let row = match event::decode(&self.queue, batch_id, ev)? {
            Payload::Row(r) => r,
            Payload::Other => {
                return Err(ReplayError::NotRowEvent {
                    queue: self.queue.clone(),
                    batch_id,
                    ev_id: ev.ev_id,
                    ev_type: ev.ev_type.clone(),
                })
            }
        };
        self.stats.events += 1;
        let at = EventRef {
            batch_id,
            ev_id: ev.ev_id,
            ev_txid: ev.ev_txid,
        };
        if row.op == Op::Truncate {
            if target.ignore_truncate {
                self.stats.truncates_ignored += 1;
                return Ok(());
            }
            if !self.open.tables.is_empty() {
                self.steps.push(Step::Rows(std::mem::take(&mut self.open)));
            }
            self.steps.push(Step::Truncate(TruncateStep {
                table: target.table.clone(),
                dest: target.dest.clone(),
                at,
            }));
            return Ok(());
        }
        let t = self.open.table(target);
        let fields = row
            .columns
            .into_iter()
            .map(|(n, v)| (t.intern(n), v))
            .collect();
        let key = row.key.into_iter().map(|(n, v)| (t.intern(n), v)).collect();
        t.events.push(RowEvent {
            at,
            op: row.op,
            fields,
            key,
        });
        Ok(())
    }

    /// Apply everything pushed so far, in order, in `tx`.
    ///
    /// The caller runs `tx` in `session_replication_role = replica`. After an
    /// error the transaction is unusable and must be rolled back; the pushed
    /// events are gone either way (push the batch again to retry it).
    pub async fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), ReplayError> {
        let mut steps = std::mem::take(&mut self.steps);
        let open = std::mem::take(&mut self.open);
        if !open.tables.is_empty() {
            steps.push(Step::Rows(open));
        }
        let r = self.apply_steps(tx, steps).await;
        if r.is_err() {
            // Metadata read in a transaction that is rolled back may describe
            // DDL that never happened.
            self.meta.clear();
        }
        r
    }

    /// Forget cached table metadata (after DDL, e.g. an EXECUTE event).
    pub fn invalidate(&mut self) {
        self.meta.clear();
    }

    /// Counters since creation: rows inserted/updated/deleted, truncates,
    /// statements sent, events merged away, tables that fell back to ordered replay.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    async fn apply_steps(
        &mut self,
        tx: &Transaction<'_>,
        steps: Vec<Step>,
    ) -> Result<(), ReplayError> {
        for step in steps {
            match step {
                Step::Rows(seg) => {
                    for t in &seg.tables {
                        self.apply_table(tx, t).await?;
                    }
                }
                Step::Truncate(tr) => {
                    let sql = format!("TRUNCATE {} CASCADE", quote_fqname(&tr.dest));
                    self.stats.statements += 1;
                    tx.batch_execute(&sql)
                        .await
                        .map_err(|cause| ReplayError::Truncate {
                            table: tr.table.clone(),
                            dest: tr.dest.clone(),
                            batch_id: tr.at.batch_id,
                            ev_id: tr.at.ev_id,
                            ev_txid: tr.at.ev_txid,
                            cause,
                        })?;
                    self.stats.truncates += 1;
                }
            }
        }
        Ok(())
    }

    /// One table's events of one segment.
    async fn apply_table(
        &mut self,
        tx: &Transaction<'_>,
        t: &TableEvents,
    ) -> Result<(), ReplayError> {
        let (mut meta, cached) = self.table_meta(tx, t, false).await?;
        let slots = match meta.slots(t) {
            Ok(s) => s,
            Err(name) if !cached => return Err(t.missing_column(name)),
            Err(_) => {
                // The cache may predate DDL nobody told us about: look again.
                meta = self.table_meta(tx, t, true).await?.0;
                meta.slots(t).map_err(|name| t.missing_column(name))?
            }
        };
        let ctx = Ctx {
            meta: &meta,
            slots: &slots,
            t,
        };
        let Some(plan) = ctx.merge()? else {
            self.stats.fallbacks += 1;
            return self.replay_ordered(tx, &ctx).await;
        };
        let stmts = ctx.statements(&plan);
        if stmts.is_empty() {
            self.stats.merged_away += t.events.len() as u64;
            return Ok(());
        }
        // Only two or more updated rows can collide on a unique value that
        // sequential replay would have freed first (deletes run before, and
        // inserts after, all updates); everything else needs no savepoint
        // (and no subtransaction).
        let guarded = plan.update_rows() >= 2;
        let prepared = prepare_all(tx, stmts.iter().map(|s| s.sql.as_str()))
            .await
            .map_err(|cause| ReplayError::Apply {
                table: t.label(),
                dest: t.dest.clone(),
                what: "preparing the statements".into(),
                events: t.span(),
                cause,
            })?;
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = stmts
            .iter()
            .map(|s| s.params.iter().map(|a| a as &(dyn ToSql + Sync)).collect())
            .collect();
        let mut futs: Vec<DbFuture<'_>> = Vec::with_capacity(stmts.len() + 2);
        if guarded {
            futs.push(Box::pin(async move {
                tx.batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
                    .await
                    .map(|()| 0)
            }));
        }
        for (i, r) in refs.iter().enumerate() {
            let st = &prepared[i];
            futs.push(Box::pin(tx.execute(st, r)));
        }
        if guarded {
            futs.push(Box::pin(async move {
                tx.batch_execute(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
                    .await
                    .map(|()| 0)
            }));
        }
        self.stats.statements += stmts.len() as u64;
        let results = run_in_order(futs).await;
        let offset = usize::from(guarded);
        let mut counts: Vec<(Kind, u64)> = Vec::with_capacity(stmts.len());
        let mut first_err = None;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(n) => {
                    if let Some(s) = i.checked_sub(offset).and_then(|j| stmts.get(j)) {
                        counts.push((s.kind, n));
                    }
                }
                Err(e) => {
                    first_err = Some((i, e));
                    break;
                }
            }
        }
        match first_err {
            None => {
                for (kind, n) in counts {
                    match kind {
                        Kind::Delete => self.stats.deleted += n,
                        Kind::Update => self.stats.updated += n,
                        Kind::Insert => self.stats.inserted += n,
                    }
                }
                self.stats.merged_away += (t.events.len() as u64).saturating_sub(plan.ops);
                Ok(())
            }
            Some((_, e)) if guarded && is_collision(&e) => {
                tx.batch_execute(&format!(
                    "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                ))
                .await
                .map_err(|cause| ReplayError::Apply {
                    table: t.label(),
                    dest: t.dest.clone(),
                    what: "rolling back to the savepoint before ordered replay".into(),
                    events: t.span(),
                    cause,
                })?;
                tracing::debug!(
                    "table {} into {}: set-based apply hit {}; replaying {} events in order",
                    t.label(),
                    t.dest,
                    describe(&e),
                    t.events.len()
                );
                self.stats.fallbacks += 1;
                self.replay_ordered(tx, &ctx).await
            }
            Some((i, cause)) => {
                let what = match i.checked_sub(offset).and_then(|j| stmts.get(j)) {
                    Some(s) => format!("{} of {} rows", s.kind.verb(), s.len),
                    None => "the savepoint".to_string(),
                };
                Err(ReplayError::Apply {
                    table: t.label(),
                    dest: t.dest.clone(),
                    what,
                    events: t.span(),
                    cause,
                })
            }
        }
    }

    /// Replay a table segment's events one by one, in exact order, each its
    /// own prepared statement; pipelined in runs of [`CHUNK_ROWS`].
    async fn replay_ordered(
        &mut self,
        tx: &Transaction<'_>,
        ctx: &Ctx<'_>,
    ) -> Result<(), ReplayError> {
        let t = ctx.t;
        let mut shapes: HashMap<Shape, usize> = HashMap::new();
        let mut prepared: Vec<Statement> = Vec::new();
        let mut kinds: Vec<Kind> = Vec::new();
        for chunk in t.events.chunks(CHUNK_ROWS) {
            // (shape, params, event) per statement to run
            let mut runs: Vec<(usize, Vec<Option<&str>>, &RowEvent)> = Vec::new();
            let mut new_sql: Vec<String> = Vec::new();
            for ev in chunk {
                let key = ctx.key(ev)?;
                let replace = match ev.op {
                    Op::Insert => t.mode == ApplyMode::Merged,
                    Op::Update => t.mode != ApplyMode::Update,
                    _ => false,
                };
                if replace {
                    // Delete, then insert the event's image.
                    let mut row = ctx.insert_row(ev, &key);
                    ctx.put_key(&mut row, &key);
                    let cols: Vec<usize> = set_columns(&row);
                    let params = cols.iter().map(|&c| row[c].flatten()).collect();
                    for (shape, params) in [
                        (Shape::Delete, key.iter().map(|k| Some(*k)).collect()),
                        (Shape::Insert(cols), params),
                    ] {
                        let n = shapes.len();
                        let idx = *shapes.entry(shape).or_insert_with_key(|s| {
                            new_sql.push(ctx.meta.ordered_sql(s));
                            kinds.push(s.kind());
                            n
                        });
                        runs.push((idx, params, ev));
                    }
                    continue;
                }
                let (shape, params) = match ev.op {
                    Op::Insert => {
                        let row = ctx.insert_row(ev, &key);
                        let cols: Vec<usize> = set_columns(&row);
                        let params = cols.iter().map(|&c| row[c].flatten()).collect();
                        (Shape::Insert(cols), params)
                    }
                    Op::Update => {
                        let row = ctx.update_row(ev);
                        let cols: Vec<usize> = set_columns(&row);
                        if cols.is_empty() {
                            // Only the key "changed": sequential replay would
                            // rewrite the row with itself.
                            continue;
                        }
                        let mut params: Vec<Option<&str>> =
                            cols.iter().map(|&c| row[c].flatten()).collect();
                        params.extend(key.iter().map(|k| Some(*k)));
                        (Shape::Update(cols), params)
                    }
                    Op::Delete | Op::Truncate => {
                        (Shape::Delete, key.iter().map(|k| Some(*k)).collect())
                    }
                };
                let n = shapes.len();
                let idx = *shapes.entry(shape).or_insert_with_key(|s| {
                    new_sql.push(ctx.meta.ordered_sql(s));
                    kinds.push(s.kind());
                    n
                });
                runs.push((idx, params, ev));
            }
            if !new_sql.is_empty() {
                let more = prepare_all(tx, new_sql.iter().map(String::as_str))
                    .await
                    .map_err(|cause| ReplayError::Apply {
                        table: t.label(),
                        dest: t.dest.clone(),
                        what: "preparing the statements of ordered replay".into(),
                        events: t.span(),
                        cause,
                    })?;
                prepared.extend(more);
            }
            let refs: Vec<Vec<&(dyn ToSql + Sync)>> = runs
                .iter()
                .map(|(_, p, _)| p.iter().map(|v| v as &(dyn ToSql + Sync)).collect())
                .collect();
            let futs: Vec<DbFuture<'_>> = runs
                .iter()
                .zip(&refs)
                .map(|((idx, _, _), r)| -> DbFuture<'_> {
                    Box::pin(tx.execute(&prepared[*idx], r))
                })
                .collect();
            self.stats.statements += futs.len() as u64;
            let results = run_in_order(futs).await;
            let mut counts = (0u64, 0u64, 0u64);
            for ((idx, _, ev), r) in runs.iter().zip(results) {
                match r {
                    Ok(n) => match kinds[*idx] {
                        Kind::Insert => counts.0 += n,
                        Kind::Update => counts.1 += n,
                        Kind::Delete => counts.2 += n,
                    },
                    Err(cause) => {
                        return Err(ReplayError::Event {
                            table: t.label(),
                            dest: t.dest.clone(),
                            batch_id: ev.at.batch_id,
                            ev_id: ev.at.ev_id,
                            ev_txid: ev.at.ev_txid,
                            op: ev.op.as_str(),
                            cause,
                        })
                    }
                }
            }
            self.stats.inserted += counts.0;
            self.stats.updated += counts.1;
            self.stats.deleted += counts.2;
        }
        Ok(())
    }

    /// The destination's structure, from the cache (then `.1` is true) or
    /// (with `reload`, or on first use) from the catalog inside `tx`.
    async fn table_meta(
        &mut self,
        tx: &Transaction<'_>,
        t: &TableEvents,
        reload: bool,
    ) -> Result<(Arc<TableMeta>, bool), ReplayError> {
        if !reload {
            if let Some(m) = self.meta.get(&t.dest) {
                return Ok((m.clone(), true));
            }
        }
        let m = Arc::new(TableMeta::load(tx, &t.dest, &t.label()).await?);
        self.meta.insert(t.dest.clone(), m.clone());
        Ok((m, false))
    }
}

// ---------------------------------------------------------------- recording

#[derive(Debug, Clone, Copy)]
struct EventRef {
    batch_id: i64,
    ev_id: i64,
    ev_txid: i64,
}

enum Step {
    Rows(Segment),
    Truncate(TruncateStep),
}

struct TruncateStep {
    table: String,
    dest: String,
    at: EventRef,
}

/// Row events between two truncates, per destination table.
#[derive(Default)]
struct Segment {
    tables: Vec<TableEvents>,
    by_dest: HashMap<String, usize>,
}

impl Segment {
    fn events(&self) -> usize {
        self.tables.iter().map(|t| t.events.len()).sum()
    }

    fn table(&mut self, target: &TableTarget) -> &mut TableEvents {
        let i = match self.by_dest.get(&target.dest) {
            Some(&i) => i,
            None => {
                self.tables.push(TableEvents {
                    dest: target.dest.clone(),
                    mode: target.mode,
                    tables: Vec::new(),
                    names: Vec::new(),
                    name_idx: HashMap::new(),
                    events: Vec::new(),
                });
                self.by_dest
                    .insert(target.dest.clone(), self.tables.len() - 1);
                self.tables.len() - 1
            }
        };
        let t = &mut self.tables[i];
        if !t.tables.contains(&target.table) {
            t.tables.push(target.table.clone());
        }
        t
    }
}

/// One destination table's events of a segment, column names interned.
struct TableEvents {
    dest: String,
    /// The first target's mode (one destination has one handler).
    mode: ApplyMode,
    /// Global names whose events go here (usually one).
    tables: Vec<String>,
    names: Vec<String>,
    name_idx: HashMap<String, usize>,
    events: Vec<RowEvent>,
}

impl TableEvents {
    fn intern(&mut self, name: String) -> usize {
        if let Some(&i) = self.name_idx.get(&name) {
            return i;
        }
        self.names.push(name.clone());
        self.name_idx.insert(name, self.names.len() - 1);
        self.names.len() - 1
    }

    fn label(&self) -> String {
        self.tables.join(", ")
    }

    /// The error for column `name` missing in the destination, naming the
    /// first event that carries it.
    fn missing_column(&self, name: usize) -> ReplayError {
        let (batch_id, ev_id) = self
            .events
            .iter()
            .find(|e| e.fields.iter().chain(&e.key).any(|(n, _)| *n == name))
            .or(self.events.first())
            .map(|e| (e.at.batch_id, e.at.ev_id))
            .unwrap_or((0, 0));
        ReplayError::MissingColumn {
            table: self.label(),
            dest: self.dest.clone(),
            column: self.names.get(name).cloned().unwrap_or_default(),
            batch_id,
            ev_id,
        }
    }

    /// Which events, for messages: `batch 7, events 10..52`.
    fn span(&self) -> String {
        let (Some(a), Some(b)) = (self.events.first(), self.events.last()) else {
            return "no events".into();
        };
        let batches = if a.at.batch_id == b.at.batch_id {
            format!("batch {}", a.at.batch_id)
        } else {
            format!("batches {}..{}", a.at.batch_id, b.at.batch_id)
        };
        if a.at.ev_id == b.at.ev_id {
            format!("{batches}, event {}", a.at.ev_id)
        } else {
            format!("{batches}, events {}..{}", a.at.ev_id, b.at.ev_id)
        }
    }
}

struct RowEvent {
    at: EventRef,
    op: Op,
    /// The row (or an update's changed columns): (name index, value).
    fields: Vec<(usize, Option<String>)>,
    /// Partial SQL's WHERE part.
    key: Vec<(usize, Option<String>)>,
}

// ---------------------------------------------------------------- metadata

#[derive(Debug)]
struct Column {
    name: String,
    /// Type to cast text to: `format_type(atttypid, -1)`, the column's type
    /// without its typmod (`bpchar`, not `character`, which would mean
    /// char(1)). The INSERT or UPDATE then applies the typmod as it does to
    /// a literal: a too-long varchar is an error, not silently cut as an
    /// explicit cast to varchar(n) would.
    ty: String,
    generated: bool,
    identity_always: bool,
}

/// What replay needs to know about a destination table.
#[derive(Debug)]
struct TableMeta {
    /// Quoted fq name.
    qname: String,
    /// `ONLY ` for plain tables (inheritance children are not touched, as
    /// in sequential replay); empty for partitioned tables.
    only: &'static str,
    columns: Vec<Column>,
    by_name: HashMap<String, usize>,
    /// Primary key columns in index order.
    key: Vec<usize>,
    /// For each column, its position in the key.
    key_pos: Vec<Option<usize>>,
}

/// Where an event's column goes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    col: usize,
    /// Not a generated column.
    writable: bool,
}

/// `schema.table` split as [`quote_fqname`] does.
fn split_fqname(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("public", name))
}

impl TableMeta {
    async fn load(tx: &Transaction<'_>, dest: &str, table: &str) -> Result<TableMeta, ReplayError> {
        let (schema, rel) = split_fqname(dest);
        let rows = tx
            .query(
                "select c.relkind::text, a.attname::text, \
                        pg_catalog.format_type(a.atttypid, -1), \
                        a.attgenerated <> '', a.attidentity = 'a', \
                        (select k.ord from pg_catalog.pg_index i \
                                cross join unnest(i.indkey) with ordinality k(attnum, ord) \
                          where i.indrelid = c.oid and i.indisprimary \
                            and k.attnum = a.attnum) \
                   from pg_catalog.pg_class c \
                   join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
                   left join pg_catalog.pg_attribute a \
                          on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped \
                  where n.nspname = $1 and c.relname = $2 \
                  order by a.attnum",
                &[&schema, &rel],
            )
            .await
            .map_err(|e| {
                DbError::query(
                    format!("reading the columns of {dest} (destination of table {table})"),
                    e,
                )
            })?;
        let Some(first) = rows.first() else {
            return Err(ReplayError::MissingTable {
                table: table.to_string(),
                dest: dest.to_string(),
            });
        };
        let relkind: String = first.get(0);
        let only = match relkind.as_str() {
            "r" => "ONLY ",
            "p" => "",
            other => {
                let kind = match other {
                    "v" => "view",
                    "m" => "materialized view",
                    "f" => "foreign table",
                    "S" => "sequence",
                    "i" | "I" => "index",
                    "c" => "composite type",
                    _ => "relation of another kind",
                };
                return Err(ReplayError::NotATable {
                    table: table.to_string(),
                    dest: dest.to_string(),
                    kind: kind.to_string(),
                });
            }
        };
        let mut columns = Vec::new();
        let mut keyed: Vec<(i64, usize)> = Vec::new();
        for r in &rows {
            let Some(name) = r.get::<_, Option<String>>(1) else {
                continue; // a table without columns
            };
            if let Some(ord) = r.get::<_, Option<i64>>(5) {
                keyed.push((ord, columns.len()));
            }
            columns.push(Column {
                name,
                ty: r.get(2),
                generated: r.get::<_, Option<bool>>(3).unwrap_or(false),
                identity_always: r.get::<_, Option<bool>>(4).unwrap_or(false),
            });
        }
        if keyed.is_empty() {
            return Err(ReplayError::NoPrimaryKey {
                table: table.to_string(),
                dest: dest.to_string(),
            });
        }
        keyed.sort();
        let key: Vec<usize> = keyed.into_iter().map(|(_, c)| c).collect();
        let mut key_pos = vec![None; columns.len()];
        for (p, &c) in key.iter().enumerate() {
            key_pos[c] = Some(p);
        }
        let by_name = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Ok(TableMeta {
            qname: quote_fqname(dest),
            only,
            columns,
            by_name,
            key,
            key_pos,
        })
    }

    /// Map each interned column name of `t`; Err(name index) for the first
    /// name the table lacks.
    fn slots(&self, t: &TableEvents) -> Result<Vec<Slot>, usize> {
        t.names
            .iter()
            .enumerate()
            .map(|(i, n)| match self.by_name.get(n) {
                Some(&col) => Ok(Slot {
                    col,
                    writable: !self.columns[col].generated,
                }),
                None => Err(i),
            })
            .collect()
    }

    fn qcol(&self, c: usize) -> String {
        quote_ident(&self.columns[c].name)
    }

    fn overriding(&self, cols: &[usize]) -> &'static str {
        if cols.iter().any(|&c| self.columns[c].identity_always) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        }
    }

    /// `t.k1 = CAST(s.k1 AS ty) AND …`
    fn key_join(&self) -> String {
        self.key
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                format!(
                    "t.{} = CAST(s.k{i} AS {})",
                    self.qcol(c),
                    self.columns[c].ty
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn unnest(n: usize) -> String {
        (1..=n)
            .map(|i| format!("${i}::text[]"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn delete_sql(&self) -> String {
        let names: Vec<String> = (0..self.key.len()).map(|i| format!("k{i}")).collect();
        format!(
            "DELETE FROM {}{} AS t USING unnest({}) AS s({}) WHERE {}",
            self.only,
            self.qname,
            Self::unnest(self.key.len()),
            names.join(", "),
            self.key_join()
        )
    }

    fn update_sql(&self, cols: &[usize]) -> String {
        let mut names: Vec<String> = (0..self.key.len()).map(|i| format!("k{i}")).collect();
        names.extend((0..cols.len()).map(|i| format!("v{i}")));
        let set: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, &c)| format!("{} = CAST(s.v{i} AS {})", self.qcol(c), self.columns[c].ty))
            .collect();
        format!(
            "UPDATE {}{} AS t SET {} FROM unnest({}) AS s({}) WHERE {}",
            self.only,
            self.qname,
            set.join(", "),
            Self::unnest(names.len()),
            names.join(", "),
            self.key_join()
        )
    }

    fn insert_sql(&self, cols: &[usize]) -> String {
        let target: Vec<String> = cols.iter().map(|&c| self.qcol(c)).collect();
        let names: Vec<String> = (0..cols.len()).map(|i| format!("v{i}")).collect();
        let vals: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, &c)| format!("CAST(s.v{i} AS {})", self.columns[c].ty))
            .collect();
        format!(
            "INSERT INTO {} ({}){} SELECT {} FROM unnest({}) AS s({})",
            self.qname,
            target.join(", "),
            self.overriding(cols),
            vals.join(", "),
            Self::unnest(cols.len()),
            names.join(", ")
        )
    }

    /// One event's statement in ordered replay.
    fn ordered_sql(&self, shape: &Shape) -> String {
        let param = |n: usize, c: usize| format!("CAST(${n}::text AS {})", self.columns[c].ty);
        let key_where = |first: usize| {
            self.key
                .iter()
                .enumerate()
                .map(|(i, &c)| format!("{} = {}", self.qcol(c), param(first + i, c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        match shape {
            Shape::Insert(cols) => format!(
                "INSERT INTO {} ({}){} VALUES ({})",
                self.qname,
                cols.iter()
                    .map(|&c| self.qcol(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.overriding(cols),
                cols.iter()
                    .enumerate()
                    .map(|(i, &c)| param(i + 1, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Shape::Update(cols) => format!(
                "UPDATE {}{} SET {} WHERE {}",
                self.only,
                self.qname,
                cols.iter()
                    .enumerate()
                    .map(|(i, &c)| format!("{} = {}", self.qcol(c), param(i + 1, c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                key_where(cols.len() + 1)
            ),
            Shape::Delete => format!(
                "DELETE FROM {}{} WHERE {}",
                self.only,
                self.qname,
                key_where(1)
            ),
        }
    }
}

/// The statement shape of one event in ordered replay.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    Insert(Vec<usize>),
    Update(Vec<usize>),
    Delete,
}

impl Shape {
    fn kind(&self) -> Kind {
        match self {
            Shape::Insert(_) => Kind::Insert,
            Shape::Update(_) => Kind::Update,
            Shape::Delete => Kind::Delete,
        }
    }
}

// ---------------------------------------------------------------- merging

/// A row image: per destination column, absent or a value (`None` = NULL).
type Image<'a> = Vec<Option<Option<&'a str>>>;

fn set_columns(row: &Image<'_>) -> Vec<usize> {
    row.iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|_| i))
        .collect()
}

/// What the events of the segment did to one key so far.
enum NetRow<'a> {
    /// Not touched yet.
    Untouched,
    /// Known not to exist now.
    Gone,
    Insert(Image<'a>),
    Update(Image<'a>),
}

struct Net<'a> {
    /// The row that existed before the batch is deleted first.
    delete_first: bool,
    row: NetRow<'a>,
}

/// Rows that write the same columns: (columns, rows).
type Group<T> = (Vec<usize>, Vec<T>);

/// The merged segment of one table.
struct Plan<'a> {
    deletes: Vec<Vec<&'a str>>,
    /// Grouped by the set of columns changed.
    updates: Vec<Group<(Vec<&'a str>, Image<'a>)>>,
    /// Grouped by the set of columns given.
    inserts: Vec<Group<Image<'a>>>,
    /// Rows the plan writes (for the merged-away count).
    ops: u64,
}

impl Plan<'_> {
    fn update_rows(&self) -> usize {
        self.updates.iter().map(|(_, r)| r.len()).sum()
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Delete,
    Update,
    Insert,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Delete => "DELETE",
            Kind::Update => "UPDATE",
            Kind::Insert => "INSERT",
        }
    }
}

/// One set-based statement with its `text[]` parameters.
struct SetStmt<'a> {
    kind: Kind,
    sql: String,
    params: Vec<Vec<Option<&'a str>>>,
    /// Rows in the arrays.
    len: usize,
}

/// One table segment with its destination's metadata.
struct Ctx<'a> {
    meta: &'a TableMeta,
    slots: &'a [Slot],
    t: &'a TableEvents,
}

impl<'a> Ctx<'a> {
    /// The event's key values in primary key order.
    fn key(&self, ev: &'a RowEvent) -> Result<Vec<&'a str>, ReplayError> {
        let mut key: Vec<Option<Option<&'a str>>> = vec![None; self.meta.key.len()];
        // The row first, then partial SQL's WHERE part, as RowChange::get.
        for (n, v) in ev.fields.iter().chain(&ev.key) {
            if let Some(p) = self.meta.key_pos[self.slots[*n].col] {
                if key[p].is_none() {
                    key[p] = Some(v.as_deref());
                }
            }
        }
        key.into_iter()
            .enumerate()
            .map(|(p, v)| match v {
                Some(Some(s)) => Ok(s),
                other => Err(ReplayError::MissingKey {
                    table: self.t.label(),
                    dest: self.t.dest.clone(),
                    column: self.meta.columns[self.meta.key[p]].name.clone(),
                    batch_id: ev.at.batch_id,
                    ev_id: ev.at.ev_id,
                    problem: if other.is_some() {
                        "the event has NULL"
                    } else {
                        "the event has no value"
                    },
                }),
            })
            .collect()
    }

    /// The written columns of an insert (key included).
    fn insert_row(&self, ev: &'a RowEvent, key: &[&'a str]) -> Image<'a> {
        let mut row: Image<'a> = vec![None; self.meta.columns.len()];
        for (n, v) in &ev.fields {
            let s = self.slots[*n];
            if s.writable {
                row[s.col] = Some(v.as_deref());
            }
        }
        for (p, &c) in self.meta.key.iter().enumerate() {
            if !self.meta.columns[c].generated {
                row[c] = Some(Some(key[p]));
            }
        }
        row
    }

    /// Set the key columns of `row` (the insert image of an update).
    fn put_key(&self, row: &mut Image<'a>, key: &[&'a str]) {
        for (p, &c) in self.meta.key.iter().enumerate() {
            if !self.meta.columns[c].generated {
                row[c] = Some(Some(key[p]));
            }
        }
    }

    /// The changed non-key columns of an update.
    fn update_row(&self, ev: &'a RowEvent) -> Image<'a> {
        let mut row: Image<'a> = vec![None; self.meta.columns.len()];
        self.overlay(&mut row, ev);
        row
    }

    fn overlay(&self, row: &mut Image<'a>, ev: &'a RowEvent) {
        for (n, v) in &ev.fields {
            let s = self.slots[*n];
            if s.writable && self.meta.key_pos[s.col].is_none() {
                row[s.col] = Some(v.as_deref());
            }
        }
    }

    /// Net effect per key; `None` when the events do something the merge
    /// does not model (then the segment is replayed in order).
    fn merge(&self) -> Result<Option<Plan<'a>>, ReplayError> {
        let merged = self.t.mode == ApplyMode::Merged;
        let mut index: HashMap<Vec<&'a str>, usize> = HashMap::new();
        let mut nets: Vec<(Vec<&'a str>, Net<'a>)> = Vec::new();
        for ev in &self.t.events {
            let key = self.key(ev)?;
            let i = match index.get(&key) {
                Some(&i) => i,
                None => {
                    index.insert(key.clone(), nets.len());
                    nets.push((
                        key.clone(),
                        Net {
                            delete_first: false,
                            row: NetRow::Untouched,
                        },
                    ));
                    nets.len() - 1
                }
            };
            let net = &mut nets[i].1;
            match ev.op {
                Op::Insert => match net.row {
                    NetRow::Untouched | NetRow::Gone => {
                        net.row = NetRow::Insert(self.insert_row(ev, &key));
                    }
                    // Merged: the insert replaces the row.
                    NetRow::Insert(_) | NetRow::Update(_) if merged => {
                        net.row = NetRow::Insert(self.insert_row(ev, &key));
                    }
                    NetRow::Insert(_) | NetRow::Update(_) => return Ok(None),
                },
                Op::Update => match &mut net.row {
                    NetRow::Insert(row) | NetRow::Update(row) => self.overlay(row, ev),
                    // Sequential replay would update no row.
                    NetRow::Gone => {}
                    NetRow::Untouched => net.row = NetRow::Update(self.update_row(ev)),
                },
                Op::Delete => match net.row {
                    NetRow::Insert(_) => net.row = NetRow::Gone,
                    NetRow::Update(_) | NetRow::Untouched => {
                        net.row = NetRow::Gone;
                        net.delete_first = true;
                    }
                    NetRow::Gone => {}
                },
                Op::Truncate => return Ok(None),
            }
        }
        let mut plan = Plan {
            deletes: Vec::new(),
            updates: Vec::new(),
            inserts: Vec::new(),
            ops: 0,
        };
        let mut upd_groups: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut ins_groups: HashMap<Vec<usize>, usize> = HashMap::new();
        for (key, mut net) in nets {
            if self.t.mode != ApplyMode::Update {
                // Delete and insert the new image instead of updating;
                // Merged also clears the way for every insert.
                match std::mem::replace(&mut net.row, NetRow::Untouched) {
                    NetRow::Update(mut row) => {
                        self.put_key(&mut row, &key);
                        net.row = NetRow::Insert(row);
                        net.delete_first = true;
                    }
                    NetRow::Insert(row) => {
                        net.delete_first |= merged;
                        net.row = NetRow::Insert(row);
                    }
                    other => net.row = other,
                }
            }
            if net.delete_first {
                plan.deletes.push(key.clone());
                plan.ops += 1;
            }
            match net.row {
                NetRow::Untouched | NetRow::Gone => {}
                NetRow::Update(row) => {
                    let cols = set_columns(&row);
                    if cols.is_empty() {
                        continue; // nothing but the key: no change
                    }
                    plan.ops += 1;
                    let g = *upd_groups.entry(cols.clone()).or_insert_with(|| {
                        plan.updates.push((cols, Vec::new()));
                        plan.updates.len() - 1
                    });
                    plan.updates[g].1.push((key, row));
                }
                NetRow::Insert(row) => {
                    let cols = set_columns(&row);
                    plan.ops += 1;
                    let g = *ins_groups.entry(cols.clone()).or_insert_with(|| {
                        plan.inserts.push((cols, Vec::new()));
                        plan.inserts.len() - 1
                    });
                    plan.inserts[g].1.push(row);
                }
            }
        }
        Ok(Some(plan))
    }

    /// The plan as statements: deletes, then updates, then inserts, each
    /// cut into chunks of [`CHUNK_ROWS`].
    fn statements(&self, plan: &Plan<'a>) -> Vec<SetStmt<'a>> {
        let m = self.meta;
        let nkey = m.key.len();
        let mut out = Vec::new();
        for chunk in plan.deletes.chunks(CHUNK_ROWS) {
            let params = (0..nkey)
                .map(|p| chunk.iter().map(|k| Some(k[p])).collect())
                .collect();
            out.push(SetStmt {
                kind: Kind::Delete,
                sql: m.delete_sql(),
                params,
                len: chunk.len(),
            });
        }
        for (cols, rows) in &plan.updates {
            let sql = m.update_sql(cols);
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut params: Vec<Vec<Option<&'a str>>> = (0..nkey)
                    .map(|p| chunk.iter().map(|(k, _)| Some(k[p])).collect())
                    .collect();
                params.extend(
                    cols.iter()
                        .map(|&c| chunk.iter().map(|(_, r)| r[c].flatten()).collect()),
                );
                out.push(SetStmt {
                    kind: Kind::Update,
                    sql: sql.clone(),
                    params,
                    len: chunk.len(),
                });
            }
        }
        for (cols, rows) in &plan.inserts {
            let sql = m.insert_sql(cols);
            for chunk in rows.chunks(CHUNK_ROWS) {
                let params = cols
                    .iter()
                    .map(|&c| chunk.iter().map(|r| r[c].flatten()).collect())
                    .collect();
                out.push(SetStmt {
                    kind: Kind::Insert,
                    sql: sql.clone(),
                    params,
                    len: chunk.len(),
                });
            }
        }
        out
    }
}

// ---------------------------------------------------------------- pipelining

type DbFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// Run requests pipelined: each future sends its request when first
/// polled, and `FuturesOrdered` polls them first in the order given, so the
/// server executes them in that order. Every result is awaited (after an
/// error the rest fail fast with "transaction aborted").
async fn run_in_order(futs: Vec<DbFuture<'_>>) -> Vec<Result<u64, tokio_postgres::Error>> {
    let n = futs.len();
    let mut ordered: FuturesOrdered<DbFuture<'_>> = futs.into_iter().collect();
    let mut out = Vec::with_capacity(n);
    while let Some(r) = ordered.next().await {
        out.push(r);
    }
    out
}

/// Prepare statements pipelined (distinct texts once each), in input order.
async fn prepare_all<'s>(
    tx: &Transaction<'_>,
    sqls: impl Iterator<Item = &'s str>,
) -> Result<Vec<Statement>, tokio_postgres::Error> {
    let sqls: Vec<&str> = sqls.collect();
    let mut distinct: Vec<&str> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    let idx: Vec<usize> = sqls
        .iter()
        .map(|s| {
            *at.entry(s).or_insert_with(|| {
                distinct.push(s);
                distinct.len() - 1
            })
        })
        .collect();
    let stmts = futures_util::future::try_join_all(distinct.iter().map(|s| tx.prepare(s))).await?;
    Ok(idx.into_iter().map(|i| stmts[i].clone()).collect())
}

/// Errors a set-based UPDATE can raise where sequential replay would not.
fn is_collision(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::EXCLUSION_VIOLATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, ty: &str, data: &str) -> Event {
        Event {
            ev_id: id,
            ev_time: std::time::UNIX_EPOCH,
            ev_txid: 1000 + id,
            ev_retry: None,
            ev_type: Some(ty.into()),
            ev_data: Some(data.into()),
            ev_extra1: Some("public.t".into()),
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        }
    }

    fn meta() -> TableMeta {
        let cols = [
            ("id", "integer", false),
            ("v", "text", false),
            ("w", "text", false),
        ];
        let columns: Vec<Column> = cols
            .iter()
            .map(|(n, t, g)| Column {
                name: n.to_string(),
                ty: t.to_string(),
                generated: *g,
                identity_always: false,
            })
            .collect();
        TableMeta {
            qname: "public.t".into(),
            only: "ONLY ",
            by_name: columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
            columns,
            key: vec![0],
            key_pos: vec![Some(0), None, None],
        }
    }

    /// Push `events` and merge them against [`meta`].
    fn merged(events: &[Event], f: impl FnOnce(Option<&Plan<'_>>)) {
        let mut r = Replay::new("q");
        let target = TableTarget::new("public.t");
        for e in events {
            r.push(&target, 1, e).unwrap();
        }
        let t = &r.open.tables[0];
        let m = meta();
        let slots = m.slots(t).unwrap();
        let ctx = Ctx {
            meta: &m,
            slots: &slots,
            t,
        };
        let plan = ctx.merge().unwrap();
        f(plan.as_ref());
    }

    #[test]
    fn insert_then_updates_become_one_insert() {
        merged(
            &[
                ev(1, "I:id", "id=1&v=a&w=b"),
                ev(2, "U:id", "id=1&v=c&w=b"),
                ev(3, "U", "w='x' where id='1'"),
            ],
            |p| {
                let p = p.unwrap();
                assert!(p.deletes.is_empty() && p.updates.is_empty());
                assert_eq!(p.inserts.len(), 1);
                let row = &p.inserts[0].1[0];
                assert_eq!(
                    row,
                    &vec![Some(Some("1")), Some(Some("c")), Some(Some("x"))]
                );
                assert_eq!(p.ops, 1);
            },
        );
    }

    #[test]
    fn partial_updates_merge_per_key_and_group_by_columns() {
        merged(
            &[
                ev(1, "U", "v='a' where id='1'"),
                ev(2, "U", "w=null where id='1'"),
                ev(3, "U", "v='b' where id='2'"),
                ev(4, "U", "id='3' where id='3'"),
            ],
            |p| {
                let p = p.unwrap();
                assert_eq!(p.updates.len(), 2, "two column sets");
                assert_eq!(p.updates[0].0, vec![1, 2]);
                assert_eq!(p.updates[0].1[0].1[2], Some(None), "NULL kept");
                assert_eq!(p.updates[1].0, vec![1]);
                assert_eq!(p.ops, 2, "the no-op update of key 3 writes nothing");
            },
        );
    }

    #[test]
    fn delete_transitions() {
        merged(
            &[
                // update then delete: delete
                ev(1, "U:id", "id=1&v=a&w=b"),
                ev(2, "D:id", "id=1&v=a&w=b"),
                // insert then delete: nothing; a later update is a no-op
                ev(3, "I:id", "id=2&v=a&w=b"),
                ev(4, "D:id", "id=2&v=a&w=b"),
                ev(5, "U:id", "id=2&v=z&w=b"),
                // delete then insert: delete + insert without w
                ev(6, "D", "id='3'"),
                ev(7, "I", "(id,v) values ('3','n')"),
                // delete then update: delete only
                ev(8, "D:id", "id=4&v&w"),
                ev(9, "U:id", "id=4&v=q&w"),
            ],
            |p| {
                let p = p.unwrap();
                assert_eq!(p.deletes, vec![vec!["1"], vec!["3"], vec!["4"]]);
                assert!(p.updates.is_empty());
                assert_eq!(p.inserts.len(), 1);
                assert_eq!(p.inserts[0].0, vec![0, 1], "w left to its default");
            },
        );
    }

    #[test]
    fn insert_on_a_live_row_is_not_modelled() {
        merged(
            &[ev(1, "U:id", "id=1&v=a&w=b"), ev(2, "I:id", "id=1&v=a&w=b")],
            |p| assert!(p.is_none()),
        );
        merged(
            &[ev(1, "I:id", "id=1&v=a&w=b"), ev(2, "I:id", "id=1&v=a&w=b")],
            |p| assert!(p.is_none()),
        );
    }

    #[test]
    fn truncate_closes_the_segment() {
        let mut r = Replay::new("q");
        let t = TableTarget::new("public.t");
        let mut other = TableTarget::new("public.o");
        r.push(&t, 1, &ev(1, "I:id", "id=1")).unwrap();
        r.push(&other, 1, &ev(2, "I:id", "id=1")).unwrap();
        r.push(&t, 1, &ev(3, "R", "")).unwrap();
        r.push(&other, 1, &ev(4, "I:id", "id=2")).unwrap();
        other.ignore_truncate = true;
        r.push(&other, 1, &ev(5, "R", "")).unwrap();
        assert_eq!(r.steps.len(), 2);
        assert!(matches!(&r.steps[0], Step::Rows(s) if s.tables.len() == 2));
        assert!(matches!(&r.steps[1], Step::Truncate(tr) if tr.at.ev_id == 3));
        assert_eq!(r.open.events(), 1);
        assert_eq!(r.pending_events(), 4);
        assert_eq!(r.stats().truncates_ignored, 1);
        assert_eq!(r.stats().events, 5);
    }

    #[test]
    fn errors_name_where() {
        let mut r = Replay::new("my q");
        let t = TableTarget::new("public.t");
        let e = r.push(&t, 9, &ev(77, "pgq.tick-id", "5")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("\"my q\", batch 9, event 77"), "{msg}");
        let e = r.push(&t, 9, &ev(78, "U", "v='a' where")).unwrap_err();
        assert!(e.to_string().contains("batch 9, event 78"), "{e}");

        // a key missing from the event
        r.push(&t, 9, &ev(79, "U", "v='a' where w='1'")).unwrap();
        let tb = &r.open.tables[0];
        let m = meta();
        let slots = m.slots(tb).unwrap();
        let ctx = Ctx {
            meta: &m,
            slots: &slots,
            t: tb,
        };
        let msg = ctx.merge().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("event 79") && msg.contains("\"id\"") && msg.contains("no value"),
            "{msg}"
        );
    }

    /// Workers run replay inside tokio tasks.
    #[allow(dead_code)]
    fn flush_future_is_send(r: &mut Replay, tx: &Transaction<'_>) {
        fn send<T: Send>(_: T) {}
        send(r.flush(tx));
    }

    #[test]
    fn sql_texts() {
        let m = meta();
        assert_eq!(
            m.delete_sql(),
            "DELETE FROM ONLY public.t AS t USING unnest($1::text[]) AS s(k0) \
             WHERE t.id = CAST(s.k0 AS integer)"
        );
        assert_eq!(
            m.update_sql(&[2]),
            "UPDATE ONLY public.t AS t SET w = CAST(s.v0 AS text) \
             FROM unnest($1::text[], $2::text[]) AS s(k0, v0) WHERE t.id = CAST(s.k0 AS integer)"
        );
        assert_eq!(
            m.insert_sql(&[0, 1]),
            "INSERT INTO public.t (id, v) SELECT CAST(s.v0 AS integer), CAST(s.v1 AS text) \
             FROM unnest($1::text[], $2::text[]) AS s(v0, v1)"
        );
        assert_eq!(
            m.ordered_sql(&Shape::Update(vec![1])),
            "UPDATE ONLY public.t SET v = CAST($1::text AS text) WHERE id = CAST($2::text AS integer)"
        );
    }
}
