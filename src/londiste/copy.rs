//! The initial copy of one table (spec §5.6, copy process step 2): the
//! rows the provider holds, streamed into the local table.
//!
//! The source is read under one exported snapshot: the first source
//! connection opens a `REPEATABLE READ READ ONLY` transaction and exports
//! its snapshot, the others import it, so every part sees the same rows and
//! the returned `txid_current_snapshot()` says exactly which transactions
//! the copy contains. Large tables are split into CTID ranges (TID range
//! scans, PostgreSQL 14+) copied in parallel, each a binary `COPY … TO
//! STDOUT` piped chunk by chunk into a `COPY … FROM STDIN` on its own target
//! connection. The target's indexes and unique/primary/exclusion
//! constraints are dropped before the data and built afterwards, their DDL
//! saved in `londiste.table_info.dropped_ddl` first so that a copy that dies
//! half way never loses an index: the next copy finds it and restores it.
//!
//! Handlers may rename columns ([`CopySpec::column_map`]) or rewrite every
//! row ([`CopySpec::rewrite`], e.g. obfuscate): a rewritten copy streams text
//! COPY, its rows parsed, rewritten on the blocking pool while the next rows
//! arrive, and re-escaped.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::future::try_join_all;
use futures_util::{SinkExt, StreamExt};
use tokio_postgres::{CancelToken, Client, CopyInSink, CopyOutStream, NoTls};
use tokio_util::sync::CancellationToken;

use crate::db::{self, mask_connstr, quote_fqname, quote_ident, quote_literal, DbError};

/// Default of [`CopySpec::min_part_bytes`]: 64 MiB.
pub const DEFAULT_MIN_PART_BYTES: u64 = 64 << 20;

/// Bytes gathered from the source before they are handed to the target
/// connection (the server sends one message per row).
const CHUNK: usize = 64 << 10;

/// A handler's rewrite of the copied rows (e.g. obfuscate).
pub trait RowRewrite: Send + Sync {
    /// Whether this source column is copied at all.
    fn keep(&self, column: &str) -> bool;
    /// Rewrite one row in place; values are PostgreSQL text forms, None = NULL.
    fn rewrite(&self, columns: &[String], row: &mut Vec<Option<String>>) -> Result<(), String>;
}

/// What to copy, from where to where.
#[derive(Clone)]
pub struct CopySpec {
    /// Source connstr (provider or copy node).
    pub source: String,
    /// Local connstr.
    pub target: String,
    /// Fully qualified `schema.table` on the source.
    pub src_table: String,
    /// Fully qualified name locally.
    pub dest_table: String,
    /// Table attr `skip_truncate=1`: keep the rows the table already has.
    pub skip_truncate: bool,
    /// Extra filter on source rows (handlers such as shard), SQL boolean
    /// expression over the source table's columns, or None.
    pub condition: Option<String>,
    /// Max parallel streams for this table (>= 1).
    pub parts: usize,
    /// Split into CTID ranges only when the source table is at least this
    /// big (bytes, pg_relation_size). Default 64 MiB.
    pub min_part_bytes: u64,
    /// Save dropped index/constraint DDL into londiste.table_info through
    /// `londiste.local_set_table_struct(queue, table, ddl)` (queue, global
    /// table name), so a crash mid-copy never loses an index. None: keep it
    /// in memory only (tests).
    pub ddl_owner: Option<(String, String)>,
    /// Copy exactly these (source column, destination column) pairs instead
    /// of the columns both tables have (handlers that rename columns).
    pub column_map: Option<Vec<(String, String)>>,
    /// Every row goes through this (only the source columns it keeps are
    /// read); the copy then runs in text COPY format.
    pub rewrite: Option<Arc<dyn RowRewrite>>,
    /// What happens to the destination's indexes and constraints.
    pub ddl: DdlMode,
}

/// What the copy does with the destination's indexes and constraints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DdlMode {
    /// Drop them (saved first), copy, rebuild them.
    #[default]
    Rebuild,
    /// Drop them (saved in `dropped_ddl`) and leave them dropped: the lead
    /// of a merged table rebuilds them once every part has copied.
    DropOnly,
    /// Leave them alone (a later part of a merged table).
    Untouched,
}

impl CopySpec {
    /// A single-stream copy of `src_table` into `dest_table` with the
    /// defaults: truncate first, no filter, DDL kept in memory.
    pub fn new(
        source: impl Into<String>,
        target: impl Into<String>,
        src_table: impl Into<String>,
        dest_table: impl Into<String>,
    ) -> Self {
        CopySpec {
            source: source.into(),
            target: target.into(),
            src_table: src_table.into(),
            dest_table: dest_table.into(),
            skip_truncate: false,
            condition: None,
            parts: 1,
            min_part_bytes: DEFAULT_MIN_PART_BYTES,
            ddl_owner: None,
            column_map: None,
            rewrite: None,
            ddl: DdlMode::Rebuild,
        }
    }

    fn label(&self) -> String {
        if self.src_table == self.dest_table {
            self.src_table.clone()
        } else {
            format!("{} -> {}", self.src_table, self.dest_table)
        }
    }
}

impl fmt::Debug for CopySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopySpec")
            .field("source", &mask_connstr(&self.source))
            .field("target", &mask_connstr(&self.target))
            .field("src_table", &self.src_table)
            .field("dest_table", &self.dest_table)
            .field("skip_truncate", &self.skip_truncate)
            .field("condition", &self.condition)
            .field("parts", &self.parts)
            .field("min_part_bytes", &self.min_part_bytes)
            .field("ddl_owner", &self.ddl_owner)
            .field("column_map", &self.column_map)
            .field("rewrite", &self.rewrite.as_ref().map(|_| "RowRewrite"))
            .finish()
    }
}

/// Which database an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The provider (or copy node) the rows come from.
    Source,
    /// The local database the rows go to.
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// Why a copy failed. Connection strings in the messages are masked.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A connection could not be opened.
    #[error(
        "copy of {table}: {cause}; check the {side} connection string and that the server is up"
    )]
    Connect {
        table: String,
        side: Side,
        cause: DbError,
    },
    /// A statement failed; `cause` says which step and what the server said.
    #[error("copy of {table} ({side} database {connstr}): {cause}{hint}")]
    Db {
        table: String,
        side: Side,
        connstr: String,
        cause: DbError,
        /// What to do about it, starting with "; " (or empty).
        hint: String,
    },
    /// The source or destination table does not exist.
    #[error("copy of {table}: no table {name} in the {side} database ({connstr}); check the name (schema.table) and that the table exists there")]
    NoSuchTable {
        table: String,
        name: String,
        side: Side,
        connstr: String,
    },
    /// The name is a view, sequence or the like.
    #[error("copy of {table}: {name} in the {side} database is not a table (relkind {relkind:?}); only tables can be copied")]
    NotATable {
        table: String,
        name: String,
        side: Side,
        relkind: String,
    },
    /// Nothing to copy: no column name is on both sides.
    #[error("copy of {table}: source {src} and destination {dest} have no column in common; make the destination table match the source")]
    NoCommonColumns {
        table: String,
        src: String,
        dest: String,
    },
    /// The destination's primary key would stay empty.
    #[error("copy of {table}: primary key column(s) {columns} of {dest} have no counterpart in source table {src}; add them on the source or fix the destination's key")]
    KeyColumnsMissing {
        table: String,
        src: String,
        dest: String,
        columns: String,
    },
    /// `ddl_owner` names a table that is not local in that queue.
    #[error("copy of {table}: londiste.table_info holds no local table {name:?} in queue {queue:?} ({note}); add the table to this node before copying it")]
    NotRegistered {
        table: String,
        queue: String,
        name: String,
        note: String,
    },
    /// A part would read under another snapshot (should never happen).
    #[error("copy of {table}: the snapshot imported by part {part} ({got}) differs from the exported one ({want}); this is a bug, report it")]
    SnapshotMismatch {
        table: String,
        part: usize,
        got: String,
        want: String,
    },
    /// The column map or the row rewrite does not fit the tables.
    #[error("copy of {table}: {reason}")]
    Columns { table: String, reason: String },
    /// The row rewrite refused a row (`what`: which COPY stream); `note`
    /// says where dropped indexes are kept.
    #[error("copy of {table}: rewriting the rows ({what}) failed: {reason}; fix the handler's rules and copy again{note}")]
    Rewrite {
        table: String,
        what: String,
        reason: String,
        note: String,
    },
    /// `stop` was cancelled; `note` says where dropped indexes are kept.
    #[error("copy of {table} cancelled{note}")]
    Cancelled { table: String, note: String },
}

/// Where a copy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyPhase {
    /// Connecting, reading the tables, dropping indexes.
    Starting,
    /// Rows are streaming.
    Data,
    /// Rebuilding the dropped indexes and constraints.
    Indexes,
    /// Finished.
    Done,
    /// Ended with an error or was cancelled.
    Failed,
}

impl CopyPhase {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => CopyPhase::Data,
            2 => CopyPhase::Indexes,
            3 => CopyPhase::Done,
            4 => CopyPhase::Failed,
            _ => CopyPhase::Starting,
        }
    }
}

/// Live progress, shared with the console (cheap to read from another
/// task: atomics only).
#[derive(Debug, Default)]
pub struct CopyProgress {
    phase: AtomicU8,
    rows: AtomicU64,
    bytes: AtomicU64,
    /// Estimates plus one; 0 = unknown.
    est_rows: AtomicU64,
    est_bytes: AtomicU64,
    parts: AtomicUsize,
    /// [`clock`] nanoseconds plus one; 0 = not yet.
    started: AtomicU64,
    finished: AtomicU64,
}

/// A point-in-time reading of [`CopyProgress`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProgressSnapshot {
    pub phase: CopyPhase,
    /// Rows streamed so far.
    pub rows: u64,
    /// COPY-format bytes streamed so far.
    pub bytes: u64,
    /// From the source's `pg_class.reltuples`; None when never analyzed.
    pub est_rows: Option<u64>,
    /// The source table's size on disk (`pg_table_size`), a rough guide
    /// only: COPY format is not the on-disk format.
    pub est_bytes: Option<u64>,
    pub elapsed: Duration,
    pub rows_per_sec: f64,
    /// From `est_rows` and the rate while data streams; zero when done.
    pub eta: Option<Duration>,
    /// Parallel streams.
    pub parts: usize,
}

fn clock_nanos() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
}

impl CopyProgress {
    /// The current state.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let phase = CopyPhase::from_u8(self.phase.load(Ordering::Relaxed));
        let rows = self.rows.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        let opt = |v: u64| v.checked_sub(1);
        let est_rows = opt(self.est_rows.load(Ordering::Relaxed));
        let est_bytes = opt(self.est_bytes.load(Ordering::Relaxed));
        let started = self.started.load(Ordering::Relaxed);
        let finished = self.finished.load(Ordering::Relaxed);
        let elapsed = if started == 0 {
            Duration::ZERO
        } else {
            let end = if finished != 0 {
                finished
            } else {
                clock_nanos()
            };
            Duration::from_nanos(end.saturating_sub(started))
        };
        let secs = elapsed.as_secs_f64();
        let rows_per_sec = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
        let eta = match phase {
            CopyPhase::Done => Some(Duration::ZERO),
            CopyPhase::Data => match est_rows {
                Some(est) if rows_per_sec > 0.0 => Some(Duration::from_secs_f64(
                    est.saturating_sub(rows) as f64 / rows_per_sec,
                )),
                _ => None,
            },
            _ => None,
        };
        ProgressSnapshot {
            phase,
            rows,
            bytes,
            est_rows,
            est_bytes,
            elapsed,
            rows_per_sec,
            eta,
            parts: self.parts.load(Ordering::Relaxed),
        }
    }

    fn start(&self) {
        self.phase
            .store(CopyPhase::Starting as u8, Ordering::Relaxed);
        for a in [
            &self.rows,
            &self.bytes,
            &self.est_rows,
            &self.est_bytes,
            &self.finished,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.parts.store(0, Ordering::Relaxed);
        self.started.store(clock_nanos(), Ordering::Relaxed);
    }

    fn set_phase(&self, phase: CopyPhase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    fn set_estimates(&self, rows: Option<u64>, bytes: Option<u64>) {
        let enc = |v: Option<u64>| v.map_or(0, |v| v.saturating_add(1));
        self.est_rows.store(enc(rows), Ordering::Relaxed);
        self.est_bytes.store(enc(bytes), Ordering::Relaxed);
    }

    fn add(&self, rows: u64, bytes: u64) {
        if rows > 0 {
            self.rows.fetch_add(rows, Ordering::Relaxed);
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn end(&self, phase: CopyPhase) {
        self.finished.store(clock_nanos(), Ordering::Relaxed);
        self.set_phase(phase);
    }
}

/// What a finished copy did.
#[derive(Debug, Clone)]
pub struct CopyOutcome {
    /// txid_current_snapshot()::text of the source transaction(s) the data
    /// was read under.
    pub snapshot: String,
    /// Rows written into the target (as the target's COPY reported them).
    pub rows: u64,
    /// COPY-format bytes streamed.
    pub bytes: u64,
    /// Parallel streams used.
    pub parts: usize,
    pub elapsed: Duration,
    /// Binary COPY (every copied column has the same type on both sides and
    /// no rewrite) or text COPY.
    pub binary: bool,
}

/// Copy the rows of `spec.src_table` into `spec.dest_table`: drop the
/// destination's indexes (DDL saved first), truncate it unless
/// `skip_truncate`, stream the rows under one source snapshot (in CTID
/// ranges over several connections when the table is big enough), and
/// rebuild the indexes. Cancelling `stop` aborts promptly: the server-side
/// work is cancelled and every transaction rolled back; dropped indexes stay
/// recorded in `londiste.table_info.dropped_ddl` for the next copy.
pub async fn copy_table(
    spec: &CopySpec,
    progress: &CopyProgress,
    stop: &CancellationToken,
) -> Result<CopyOutcome, CopyError> {
    progress.start();
    let run = Run {
        spec,
        progress,
        label: spec.label(),
        cancels: Mutex::new(Vec::new()),
        pending_ddl: Mutex::new(None),
    };
    let res = tokio::select! {
        biased;
        _ = stop.cancelled() => Err(CopyError::Cancelled {
            table: run.label.clone(),
            note: String::new(),
        }),
        r = run.run() => r,
    };
    match res {
        Ok(out) => {
            progress.end(CopyPhase::Done);
            Ok(out)
        }
        Err(mut e) => {
            // Whatever is still running server-side (a COPY, an index
            // build) is cancelled; the connections close as their clients
            // are gone, which rolls their transactions back.
            run.cancel_all();
            progress.end(CopyPhase::Failed);
            let note = run.ddl_note();
            if let Some(note) = &note {
                tracing::warn!("copy of {} failed{note}", run.label);
            }
            match (&mut e, note) {
                (CopyError::Cancelled { note: n, .. }, Some(note)) => *n = note,
                (CopyError::Db { hint, .. }, Some(note)) => hint.push_str(&note),
                (CopyError::Rewrite { note: n, .. }, Some(note)) => *n = note,
                _ => {}
            }
            Err(e)
        }
    }
}

/// One copy's shared state.
struct Run<'a> {
    spec: &'a CopySpec,
    progress: &'a CopyProgress,
    label: String,
    /// Every connection's cancel key, to stop server-side work on failure.
    cancels: Mutex<Vec<CancelToken>>,
    /// DDL dropped and not yet restored.
    pending_ddl: Mutex<Option<String>>,
}

/// A source column and how it maps.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    ty: String,
    generated: bool,
    /// Its binary form carries no database-specific OIDs (built-in types,
    /// enums, domains over those).
    portable: bool,
}

#[derive(Debug)]
struct TableMeta {
    oid: u32,
    /// `schema.table`, each part quoted by the server.
    qualified: String,
    relkind: String,
    columns: Vec<Column>,
    est_rows: Option<u64>,
    table_bytes: u64,
    relation_bytes: u64,
    block_size: u64,
    server_version: i32,
    primary_key: Vec<String>,
}

/// Part `i` of `n` reads pages `[from, to)` (open-ended when None).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageRange {
    from: Option<u64>,
    to: Option<u64>,
}

/// Split `blocks` pages into `parts` ranges; the first starts at page 0
/// without a bound and the last is open-ended, so pages added after the
/// size was read are copied too.
fn page_ranges(blocks: u64, parts: usize) -> Vec<PageRange> {
    let n = parts.max(1) as u64;
    (0..n)
        .map(|i| PageRange {
            from: (i > 0).then(|| blocks * i / n),
            to: (i + 1 < n).then(|| blocks * (i + 1) / n),
        })
        .collect()
}

impl PageRange {
    fn predicate(&self) -> Option<String> {
        // tid values cannot be bind parameters in COPY (a utility
        // statement); these are page numbers we computed, not input.
        let mut conds = Vec::new();
        if let Some(a) = self.from {
            conds.push(format!("ctid >= '({a},0)'::pg_catalog.tid"));
        }
        if let Some(b) = self.to {
            conds.push(format!("ctid < '({b},0)'::pg_catalog.tid"));
        }
        (!conds.is_empty()).then(|| conds.join(" AND "))
    }
}

/// The columns a copy reads and writes.
#[derive(Debug)]
struct ColumnPlan {
    /// Quoted source column list for the SELECT.
    src_list: String,
    /// Quoted destination column list, in the same order.
    dst_list: String,
    /// The source column names (what a [`RowRewrite`] sees).
    names: Arc<[String]>,
    binary: bool,
}

/// One index or constraint to drop before the copy and rebuild after.
#[derive(Debug)]
struct DropItem {
    drop_sql: String,
    restore: Vec<String>,
}

impl Run<'_> {
    async fn run(&self) -> Result<CopyOutcome, CopyError> {
        let started = Instant::now();
        let (src0, tgt0) =
            tokio::try_join!(self.connect(Side::Source), self.connect(Side::Target))?;

        let src_meta = self.table_meta(&src0, Side::Source).await?;
        let dst_meta = self.table_meta(&tgt0, Side::Target).await?;
        let plan = self.plan_columns(&src_meta, &dst_meta)?;
        let nparts = self.decide_parts(&src_meta);
        self.progress
            .set_estimates(src_meta.est_rows, Some(src_meta.table_bytes));
        self.progress.parts.store(nparts, Ordering::Relaxed);

        let mut sources = vec![src0];
        let mut targets = vec![tgt0];
        let more = try_join_all((1..nparts).map(|_| async {
            tokio::try_join!(self.connect(Side::Source), self.connect(Side::Target))
        }))
        .await?;
        for (s, t) in more {
            sources.push(s);
            targets.push(t);
        }

        let ddl = self.prepare_target(&targets[0], &dst_meta).await?;

        // Export the snapshot; the exporting transaction stays open (part 0
        // copies in it) until every other part has imported it.
        let (snap_id, snapshot, rel_bytes) = self.export_snapshot(&sources[0], &src_meta).await?;
        try_join_all(
            sources
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, c)| self.import_snapshot(i, c, &snap_id, &snapshot)),
        )
        .await?;

        self.progress.set_phase(CopyPhase::Data);
        let blocks = rel_bytes / src_meta.block_size.max(1);
        let ranges = page_ranges(blocks, nparts);
        let counts = try_join_all(
            sources
                .iter()
                .zip(targets.iter())
                .zip(ranges)
                .enumerate()
                .map(|(i, ((s, t), r))| self.copy_part(i, nparts, s, t, &src_meta, &plan, r)),
        )
        .await?;
        let rows: u64 = counts.iter().map(|(r, _)| r).sum();
        let bytes: u64 = counts.iter().map(|(_, b)| b).sum();
        // The server's counts are the truth; the live count only estimates
        // while the stream runs.
        self.progress.rows.store(rows, Ordering::Relaxed);
        drop(sources);

        self.progress.set_phase(CopyPhase::Indexes);
        if self.spec.ddl != DdlMode::DropOnly {
            self.restore(&targets, &ddl).await?;
        } else if let Ok(mut p) = self.pending_ddl.lock() {
            // Left dropped on purpose, saved in table_info.
            *p = None;
        }

        Ok(CopyOutcome {
            snapshot,
            rows,
            bytes,
            parts: nparts,
            elapsed: started.elapsed(),
            binary: plan.binary,
        })
    }

    fn connstr(&self, side: Side) -> &str {
        match side {
            Side::Source => &self.spec.source,
            Side::Target => &self.spec.target,
        }
    }

    fn table_name(&self, side: Side) -> &str {
        match side {
            Side::Source => &self.spec.src_table,
            Side::Target => &self.spec.dest_table,
        }
    }

    fn db_err(
        &self,
        side: Side,
        context: impl Into<String>,
        e: tokio_postgres::Error,
    ) -> CopyError {
        self.db_err_hint(side, context, e, "")
    }

    fn db_err_hint(
        &self,
        side: Side,
        context: impl Into<String>,
        e: tokio_postgres::Error,
        hint: &str,
    ) -> CopyError {
        CopyError::Db {
            table: self.label.clone(),
            side,
            connstr: mask_connstr(self.connstr(side)),
            cause: DbError::query(context, e),
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
        }
    }

    /// A connection with the session settings the copy relies on.
    async fn connect(&self, side: Side) -> Result<Client, CopyError> {
        let client = db::connect(self.connstr(side))
            .await
            .map_err(|cause| CopyError::Connect {
                table: self.label.clone(),
                side,
                cause,
            })?;
        if let Ok(mut c) = self.cancels.lock() {
            c.push(client.cancel_token());
        }
        // Text COPY depends on how values print on the source and parse on
        // the target: fix the styles on both ends (ISO dates, postgres
        // intervals, floats that round-trip). No timeouts cut a long copy.
        let mut setup = String::from(
            "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
             SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3",
        );
        if side == Side::Target {
            // User triggers must not fire on copied rows. Roles that may not
            // set it themselves go through londiste's definer function.
            let has_fn: bool = client
                .query_one(
                    "SELECT pg_catalog.to_regprocedure(\
                     'londiste.set_session_replication_role(text,boolean)') IS NOT NULL",
                    &[],
                )
                .await
                .map_err(|e| self.db_err(side, "checking for londiste", e))?
                .get(0);
            if has_fn {
                setup.push_str("; SELECT londiste.set_session_replication_role('replica', false)");
            } else {
                setup.push_str("; SET session_replication_role = replica");
            }
        }
        client.batch_execute(&setup).await.map_err(|e| {
            self.db_err_hint(
                side,
                "setting up the session",
                e,
                "the copy needs session_replication_role = replica on the target (superuser, or londiste installed)",
            )
        })?;
        Ok(client)
    }

    fn cancel_all(&self) {
        let tokens = match self.cancels.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(_) => return,
        };
        for t in tokens {
            tokio::spawn(async move {
                // An idle or closed backend ignores it.
                let _ = t.cancel_query(NoTls).await;
            });
        }
    }

    /// What an operator needs to know about dropped indexes after a failure.
    fn ddl_note(&self) -> Option<String> {
        let ddl = self.pending_ddl.lock().ok()?.clone()?;
        Some(match &self.spec.ddl_owner {
            Some((queue, table)) => format!(
                "; the destination's dropped indexes and constraints are saved in \
                 londiste.table_info.dropped_ddl (queue {queue:?}, table {table:?}) and \
                 the next copy restores them"
            ),
            None => format!(
                "; the destination's indexes and constraints were dropped and are NOT \
                 saved anywhere (no ddl_owner); recreate them with: {ddl}"
            ),
        })
    }

    async fn table_meta(&self, client: &Client, side: Side) -> Result<TableMeta, CopyError> {
        let name = self.table_name(side);
        let row = client
            .query_opt(
                "SELECT c.oid, c.relkind::text, c.reltuples::float8, \
                        pg_catalog.pg_table_size(c.oid)::int8, \
                        pg_catalog.pg_relation_size(c.oid)::int8, \
                        pg_catalog.current_setting('block_size')::int8, \
                        pg_catalog.current_setting('server_version_num')::int4, \
                        pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) \
                   FROM pg_catalog.pg_class c \
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.oid = pg_catalog.to_regclass($1)",
                &[&quote_fqname(name)],
            )
            .await
            .map_err(|e| self.db_err(side, format!("looking up table {name}"), e))?;
        let Some(row) = row else {
            return Err(CopyError::NoSuchTable {
                table: self.label.clone(),
                name: name.to_string(),
                side,
                connstr: mask_connstr(self.connstr(side)),
            });
        };
        let oid: u32 = row.get(0);
        let relkind: String = row.get(1);
        if relkind != "r" && relkind != "p" {
            return Err(CopyError::NotATable {
                table: self.label.clone(),
                name: name.to_string(),
                side,
                relkind,
            });
        }
        let reltuples: f64 = row.get(2);
        let nonneg = |v: i64| u64::try_from(v).unwrap_or(0);
        // Domains are followed down to their base type: a column is
        // portable in binary when that base is built in (its OIDs, also
        // those inside arrays, are the same in every database) or an enum
        // (sent as its label).
        let cols = client
            .query(
                "WITH RECURSIVE base(attnum, t, depth) AS ( \
                     SELECT a.attnum, a.atttypid, 0 \
                       FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                     UNION ALL \
                     SELECT b.attnum, ty.typbasetype, b.depth + 1 \
                       FROM base b JOIN pg_catalog.pg_type ty ON ty.oid = b.t \
                      WHERE ty.typtype = 'd') \
                 SELECT a.attname::text, \
                        pg_catalog.format_type(a.atttypid, a.atttypmod), \
                        a.attgenerated <> '', \
                        (SELECT bt.oid < 10000 OR bt.typtype = 'e' \
                           FROM base b JOIN pg_catalog.pg_type bt ON bt.oid = b.t \
                          WHERE b.attnum = a.attnum ORDER BY b.depth DESC LIMIT 1) \
                   FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(|e| self.db_err(side, format!("reading the columns of {name}"), e))?;
        let columns = cols
            .iter()
            .map(|r| Column {
                name: r.get(0),
                ty: r.get(1),
                generated: r.get(2),
                portable: r.get::<_, Option<bool>>(3).unwrap_or(false),
            })
            .collect();
        let primary_key = client
            .query(
                "SELECT a.attname::text \
                   FROM pg_catalog.pg_index i \
                   JOIN pg_catalog.pg_attribute a \
                     ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                  WHERE i.indrelid = $1 AND i.indisprimary \
                  ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(|e| self.db_err(side, format!("reading the primary key of {name}"), e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(TableMeta {
            oid,
            qualified: row.get(7),
            relkind,
            columns,
            est_rows: (reltuples >= 0.0).then_some(reltuples.round() as u64),
            table_bytes: nonneg(row.get(3)),
            relation_bytes: nonneg(row.get(4)),
            block_size: nonneg(row.get(5)),
            server_version: row.get(6),
            primary_key,
        })
    }

    /// The columns to copy (source order, or the column map's) and whether
    /// binary COPY is safe.
    fn plan_columns(&self, src: &TableMeta, dst: &TableMeta) -> Result<ColumnPlan, CopyError> {
        let rewrite = self.spec.rewrite.as_deref();
        let keep = |name: &str| rewrite.is_none_or(|r| r.keep(name));
        let mut pairs: Vec<(&Column, &Column)> = Vec::new();
        let columns_err = |reason: String| CopyError::Columns {
            table: self.label.clone(),
            reason,
        };
        match &self.spec.column_map {
            None => {
                for s in src.columns.iter().filter(|c| !c.generated) {
                    let Some(d) = dst.columns.iter().find(|d| d.name == s.name) else {
                        continue;
                    };
                    if !d.generated && keep(&s.name) {
                        pairs.push((s, d));
                    }
                }
            }
            Some(map) => {
                if map.is_empty() {
                    return Err(columns_err(
                        "the column map is empty; name at least one column to copy".into(),
                    ));
                }
                let fix = "fix the handler's column map or the table";
                for (sname, dname) in map {
                    let s = src.columns.iter().find(|c| &c.name == sname).ok_or_else(|| {
                        columns_err(format!(
                            "column {sname:?} of the column map is not in the source table {}; {fix}",
                            self.spec.src_table
                        ))
                    })?;
                    let d = dst.columns.iter().find(|c| &c.name == dname).ok_or_else(|| {
                        columns_err(format!(
                            "column {dname:?} of the column map is not in the destination table {}; {fix}",
                            self.spec.dest_table
                        ))
                    })?;
                    if d.generated {
                        return Err(columns_err(format!(
                            "column {dname:?} of the destination table {} is generated and \
                             cannot be copied into; {fix}",
                            self.spec.dest_table
                        )));
                    }
                    if pairs.iter().any(|(_, p)| p.name == d.name) {
                        return Err(columns_err(format!(
                            "destination column {dname:?} appears twice in the column map; {fix}"
                        )));
                    }
                    if keep(sname) {
                        pairs.push((s, d));
                    }
                }
            }
        }
        if pairs.is_empty() {
            if rewrite.is_some() {
                return Err(columns_err(format!(
                    "the handler's row rewrite keeps none of the columns the source {} and \
                     destination {} have in common; nothing to copy (check the handler's rules)",
                    self.spec.src_table, self.spec.dest_table
                )));
            }
            return Err(CopyError::NoCommonColumns {
                table: self.label.clone(),
                src: self.spec.src_table.clone(),
                dest: self.spec.dest_table.clone(),
            });
        }
        let missing: Vec<String> = dst
            .primary_key
            .iter()
            .filter(|k| !pairs.iter().any(|(_, d)| &&d.name == k))
            // a generated key column fills itself
            .filter(|k| !dst.columns.iter().any(|c| &c.name == *k && c.generated))
            .map(|k| quote_ident(k))
            .collect();
        if !missing.is_empty() {
            return Err(CopyError::KeyColumnsMissing {
                table: self.label.clone(),
                src: self.spec.src_table.clone(),
                dest: self.spec.dest_table.clone(),
                columns: missing.join(", "),
            });
        }
        let binary = rewrite.is_none()
            && pairs
                .iter()
                .all(|(s, d)| s.ty == d.ty && s.portable && d.portable);
        let list = |names: Vec<&str>| {
            names
                .into_iter()
                .map(quote_ident)
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(ColumnPlan {
            src_list: list(pairs.iter().map(|(s, _)| s.name.as_str()).collect()),
            dst_list: list(pairs.iter().map(|(_, d)| d.name.as_str()).collect()),
            names: pairs.iter().map(|(s, _)| s.name.clone()).collect(),
            binary,
        })
    }

    fn decide_parts(&self, src: &TableMeta) -> usize {
        let want = self.spec.parts.max(1);
        let blocks = src.relation_bytes / src.block_size.max(1);
        // Without TID range scans (before 14) every part would read the
        // whole table.
        if want > 1
            && src.relkind == "r"
            && src.server_version >= 140000
            && src.relation_bytes >= self.spec.min_part_bytes
            && blocks >= 2
        {
            want.min(usize::try_from(blocks).unwrap_or(usize::MAX))
        } else {
            1
        }
    }

    /// Lock, drop indexes and constraints (DDL saved first), truncate, all
    /// committed; returns the statements that rebuild what was dropped.
    async fn prepare_target(
        &self,
        client: &Client,
        dst: &TableMeta,
    ) -> Result<Vec<String>, CopyError> {
        let side = Side::Target;
        let dest = &dst.qualified;
        let err = |what: &str, e| self.db_err(side, format!("{what} ({dest})"), e);
        // With only pg_catalog on the search path every name in the saved
        // DDL comes out schema-qualified, so it means the same whoever runs
        // it later.
        client
            .batch_execute(&format!(
                "BEGIN; SET LOCAL search_path = pg_catalog; \
                 LOCK TABLE {dest} IN ACCESS EXCLUSIVE MODE"
            ))
            .await
            .map_err(|e| err("locking the destination table", e))?;

        let saved: Option<(String, String, Option<String>)> = match &self.spec.ddl_owner {
            None => None,
            Some((queue, table)) => {
                let row = client
                    .query_opt(
                        "SELECT t.table_name, t.dropped_ddl FROM londiste.table_info t \
                          WHERE t.queue_name = $1 AND t.local \
                            AND t.table_name = londiste.make_fqname($2) \
                            FOR UPDATE",
                        &[queue, table],
                    )
                    .await
                    .map_err(|e| err("reading londiste.table_info", e))?;
                let Some(row) = row else {
                    return Err(CopyError::NotRegistered {
                        table: self.label.clone(),
                        queue: queue.clone(),
                        name: table.clone(),
                        note: "no such row".into(),
                    });
                };
                Some((queue.clone(), row.get(0), row.get(1)))
            }
        };

        let items = if self.spec.ddl == DdlMode::Untouched {
            Vec::new()
        } else {
            self.droppable(client, dst).await?
        };
        let previous = saved
            .as_ref()
            .and_then(|(_, _, d)| d.as_deref())
            .filter(|d| !d.trim().is_empty());
        let (to_drop, ddl): (Vec<&DropItem>, Vec<String>) = match previous {
            // A previous copy died after dropping: what it saved is the
            // truth. Objects it had already rebuilt are dropped again so
            // nothing is built twice.
            Some(prev) => {
                let stmts = split_statements(prev);
                let set: HashSet<&str> = stmts.iter().map(|s| s.as_str()).collect();
                let drop = items
                    .iter()
                    .filter(|i| i.restore.iter().any(|s| set.contains(s.as_str())))
                    .collect();
                (drop, stmts)
            }
            None => {
                let ddl = items
                    .iter()
                    .flat_map(|i| i.restore.iter().cloned())
                    .collect();
                (items.iter().collect(), ddl)
            }
        };
        let ddl_text = join_statements(&ddl);
        if previous.is_none() && !ddl.is_empty() {
            if let Some((queue, name, _)) = &saved {
                let row = client
                    .query_one(
                        "SELECT ret_code, ret_note FROM londiste.local_set_table_struct($1, $2, $3)",
                        &[queue, name, &ddl_text],
                    )
                    .await
                    .map_err(|e| err("saving the index DDL in londiste.table_info", e))?;
                let code: i32 = row.get(0);
                if code != 200 {
                    return Err(CopyError::NotRegistered {
                        table: self.label.clone(),
                        queue: queue.clone(),
                        name: name.clone(),
                        note: row.get(1),
                    });
                }
            }
        }
        for item in &to_drop {
            client
                .batch_execute(&item.drop_sql)
                .await
                .map_err(|e| err(&format!("dropping for the copy: {}", item.drop_sql), e))?;
        }
        if !self.spec.skip_truncate {
            let only = if dst.relkind == "p" { "" } else { "ONLY " };
            client
                .batch_execute(&format!("TRUNCATE {only}{dest}"))
                .await
                .map_err(|e| {
                    self.db_err_hint(
                        side,
                        format!("truncating {dest}"),
                        e,
                        "foreign keys pointing at the table must be dropped before the copy",
                    )
                })?;
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| err("committing the preparation", e))?;
        if !ddl.is_empty() {
            if let Ok(mut p) = self.pending_ddl.lock() {
                *p = Some(ddl_text);
            }
        }
        Ok(ddl)
    }

    /// The destination's indexes and primary/unique/exclusion constraints
    /// that no foreign key depends on, each with its drop and rebuild SQL.
    async fn droppable(
        &self,
        client: &Client,
        dst: &TableMeta,
    ) -> Result<Vec<DropItem>, CopyError> {
        let side = Side::Target;
        let dest = &dst.qualified;
        let mut items = Vec::new();
        // Primary and unique keys are rebuilt as a plain unique index first
        // and attached afterwards (`USING INDEX`): the index builds then run
        // in parallel, the attaching is instant.
        let cons = client
            .query(
                "SELECT c.conname::text, c.contype::text, c.condeferrable, c.condeferred, \
                        pg_catalog.pg_get_constraintdef(c.oid), \
                        pg_catalog.pg_get_indexdef(c.conindid), ic.relname::text, \
                        coalesce(i.indisreplident, false), coalesce(i.indisclustered, false), \
                        pg_catalog.obj_description(c.oid, 'pg_constraint') \
                   FROM pg_catalog.pg_constraint c \
                   LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid \
                   LEFT JOIN pg_catalog.pg_class ic ON ic.oid = c.conindid \
                  WHERE c.conrelid = $1 AND c.contype IN ('p', 'u', 'x') AND c.conparentid = 0 \
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f \
                                     WHERE f.contype = 'f' AND f.conindid = c.conindid) \
                  ORDER BY c.contype, c.conname",
                &[&dst.oid],
            )
            .await
            .map_err(|e| self.db_err(side, format!("reading the constraints of {dest}"), e))?;
        for r in &cons {
            let name: String = r.get(0);
            let kind: String = r.get(1);
            let deferrable: bool = r.get(2);
            let deferred: bool = r.get(3);
            let def: String = r.get(4);
            let index_def: Option<String> = r.get(5);
            let index_name: Option<String> = r.get(6);
            let qname = quote_ident(&name);
            let mut restore = Vec::new();
            match (kind.as_str(), index_def, &index_name) {
                ("p" | "u", Some(idef), Some(iname)) => {
                    let what = if kind == "p" { "PRIMARY KEY" } else { "UNIQUE" };
                    let defer = match (deferrable, deferred) {
                        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
                        (true, false) => " DEFERRABLE",
                        _ => "",
                    };
                    restore.push(idef);
                    restore.push(format!(
                        "ALTER TABLE {dest} ADD CONSTRAINT {qname} {what} USING INDEX {}{defer}",
                        quote_ident(iname)
                    ));
                }
                _ => restore.push(format!("ALTER TABLE {dest} ADD CONSTRAINT {qname} {def}")),
            }
            if let Some(iname) = &index_name {
                index_extras(&mut restore, dest, iname, r.get(7), r.get(8));
            }
            if let Some(comment) = r.get::<_, Option<String>>(9) {
                restore.push(format!(
                    "COMMENT ON CONSTRAINT {qname} ON {dest} IS {}",
                    quote_literal(&comment)
                ));
            }
            items.push(DropItem {
                drop_sql: format!("ALTER TABLE {dest} DROP CONSTRAINT {qname}"),
                restore,
            });
        }
        let idx = client
            .query(
                "SELECT n.nspname::text, ic.relname::text, \
                        pg_catalog.pg_get_indexdef(i.indexrelid), i.indisreplident, i.indisclustered, \
                        pg_catalog.obj_description(i.indexrelid, 'pg_class') \
                   FROM pg_catalog.pg_index i \
                   JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace \
                  WHERE i.indrelid = $1 \
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c \
                                     WHERE c.conindid = i.indexrelid) \
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h \
                                     WHERE h.inhrelid = i.indexrelid) \
                  ORDER BY ic.relname",
                &[&dst.oid],
            )
            .await
            .map_err(|e| self.db_err(side, format!("reading the indexes of {dest}"), e))?;
        for r in &idx {
            let schema: String = r.get(0);
            let name: String = r.get(1);
            let qindex = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
            let mut restore = vec![r.get::<_, String>(2)];
            index_extras(&mut restore, dest, &name, r.get(3), r.get(4));
            if let Some(comment) = r.get::<_, Option<String>>(5) {
                restore.push(format!(
                    "COMMENT ON INDEX {qindex} IS {}",
                    quote_literal(&comment)
                ));
            }
            items.push(DropItem {
                drop_sql: format!("DROP INDEX {qindex}"),
                restore,
            });
        }
        Ok(items)
    }

    async fn export_snapshot(
        &self,
        client: &Client,
        src: &TableMeta,
    ) -> Result<(String, String, u64), CopyError> {
        let side = Side::Source;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| self.db_err(side, "opening the source transaction", e))?;
        let row = client
            .query_one(
                "SELECT pg_catalog.pg_export_snapshot(), \
                        pg_catalog.txid_current_snapshot()::text, \
                        pg_catalog.pg_relation_size($1::pg_catalog.oid::pg_catalog.regclass)::int8",
                &[&src.oid],
            )
            .await
            .map_err(|e| self.db_err(side, "exporting the source snapshot", e))?;
        Ok((
            row.get(0),
            row.get(1),
            u64::try_from(row.get::<_, i64>(2)).unwrap_or(0),
        ))
    }

    async fn import_snapshot(
        &self,
        part: usize,
        client: &Client,
        snap_id: &str,
        want: &str,
    ) -> Result<(), CopyError> {
        let side = Side::Source;
        // SET TRANSACTION SNAPSHOT is a utility statement: it takes no bind
        // parameters, so the id (which the server made) goes in as a quoted
        // literal.
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                quote_literal(snap_id)
            ))
            .await
            .map_err(|e| {
                self.db_err(side, format!("importing the snapshot into part {part}"), e)
            })?;
        let got: String = client
            .query_one("SELECT pg_catalog.txid_current_snapshot()::text", &[])
            .await
            .map_err(|e| self.db_err(side, format!("checking the snapshot of part {part}"), e))?
            .get(0);
        if got != want {
            return Err(CopyError::SnapshotMismatch {
                table: self.label.clone(),
                part,
                got,
                want: want.to_string(),
            });
        }
        Ok(())
    }

    /// Stream one part; returns (rows the target took, bytes streamed).
    #[allow(clippy::too_many_arguments)]
    async fn copy_part(
        &self,
        part: usize,
        nparts: usize,
        src: &Client,
        tgt: &Client,
        src_meta: &TableMeta,
        plan: &ColumnPlan,
        range: PageRange,
    ) -> Result<(u64, u64), CopyError> {
        let binary = plan.binary;
        let spec = self.spec;
        let what = if nparts > 1 {
            format!("COPY part {}/{nparts}", part + 1)
        } else {
            "COPY".to_string()
        };
        let only = if src_meta.relkind == "p" { "" } else { "ONLY " };
        let mut conds: Vec<String> = range.predicate().into_iter().collect();
        if let Some(c) = spec.condition.as_deref().filter(|c| !c.trim().is_empty()) {
            // The handler's filter is SQL by design.
            conds.push(format!("({c})"));
        }
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let format = if binary { " (FORMAT binary)" } else { "" };
        let out_sql = format!(
            "COPY (SELECT {} FROM {only}{}{filter}) TO STDOUT{format}",
            plan.src_list,
            quote_fqname(&spec.src_table)
        );
        let in_sql = format!(
            "COPY {} ({}) FROM STDIN{format}",
            quote_fqname(&spec.dest_table),
            plan.dst_list
        );

        tgt.batch_execute("BEGIN")
            .await
            .map_err(|e| self.db_err(Side::Target, format!("{what}: BEGIN"), e))?;
        let sink = tgt
            .copy_in::<_, Bytes>(in_sql.as_str())
            .await
            .map_err(|e| self.db_err(Side::Target, format!("{what}: {in_sql}"), e))?;
        let mut sink = pin!(sink);
        let stream = src.copy_out(out_sql.as_str()).await.map_err(|e| {
            self.db_err_hint(
                Side::Source,
                format!("{what}: {out_sql}"),
                e,
                "check the copy condition and the source table",
            )
        })?;
        let mut stream = pin!(stream);

        let bytes = match &spec.rewrite {
            Some(rw) => {
                self.stream_rewritten(&what, stream.as_mut(), sink.as_mut(), rw, &plan.names)
                    .await?
            }
            None => {
                self.stream_raw(&what, binary, stream.as_mut(), sink.as_mut())
                    .await?
            }
        };
        let rows = sink
            .as_mut()
            .finish()
            .await
            .map_err(|e| self.db_err(Side::Target, format!("{what}: finishing"), e))?;
        tgt.batch_execute("COMMIT")
            .await
            .map_err(|e| self.db_err(Side::Target, format!("{what}: COMMIT"), e))?;
        src.batch_execute("COMMIT")
            .await
            .map_err(|e| self.db_err(Side::Source, format!("{what}: ending the read"), e))?;
        Ok((rows, bytes))
    }

    /// The plain path of [`Self::copy_part`]: bytes passed through as they
    /// come, gathered into chunks. Returns the bytes streamed.
    async fn stream_raw(
        &self,
        what: &str,
        binary: bool,
        mut stream: Pin<&mut CopyOutStream>,
        mut sink: Pin<&mut CopyInSink<Bytes>>,
    ) -> Result<u64, CopyError> {
        let mut counter = RowCounter::new(binary);
        let mut buf = BytesMut::with_capacity(CHUNK * 2);
        let mut bytes = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| self.db_err(Side::Source, format!("{what}: reading rows"), e))?;
            let rows = counter.feed(&chunk);
            bytes += chunk.len() as u64;
            self.progress.add(rows, chunk.len() as u64);
            buf.extend_from_slice(&chunk);
            if buf.len() >= CHUNK {
                sink.send(buf.split().freeze())
                    .await
                    .map_err(|e| self.db_err(Side::Target, format!("{what}: writing rows"), e))?;
            }
        }
        if !buf.is_empty() {
            sink.send(buf.split().freeze())
                .await
                .map_err(|e| self.db_err(Side::Target, format!("{what}: writing rows"), e))?;
        }
        Ok(bytes)
    }

    /// The rewrite path of [`Self::copy_part`]: text rows cut at line ends
    /// into chunks, each rewritten on the blocking pool while the next one
    /// streams in (one chunk in flight per part, so rows stay in order).
    /// Returns the bytes read from the source.
    async fn stream_rewritten(
        &self,
        what: &str,
        mut stream: Pin<&mut CopyOutStream>,
        mut sink: Pin<&mut CopyInSink<Bytes>>,
        rw: &Arc<dyn RowRewrite>,
        columns: &Arc<[String]>,
    ) -> Result<u64, CopyError> {
        let mut counter = RowCounter::new(false);
        let mut carry = BytesMut::with_capacity(CHUNK * 2);
        let mut bytes = 0u64;
        let mut rows_handed = 0u64;
        let mut pending: Option<tokio::task::JoinHandle<Result<Bytes, String>>> = None;
        loop {
            let (work, done) = match stream.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(|e| {
                        self.db_err(Side::Source, format!("{what}: reading rows"), e)
                    })?;
                    let rows = counter.feed(&chunk);
                    bytes += chunk.len() as u64;
                    self.progress.add(rows, chunk.len() as u64);
                    carry.extend_from_slice(&chunk);
                    if carry.len() < CHUNK {
                        continue;
                    }
                    // Whole rows only; a row longer than a chunk waits for
                    // its end.
                    let Some(end) = carry.iter().rposition(|&c| c == b'\n') else {
                        continue;
                    };
                    (carry.split_to(end + 1).freeze(), false)
                }
                None => (carry.split().freeze(), true),
            };
            if let Some(h) = pending.take() {
                let out = self.rewritten(what, h).await?;
                sink.send(out)
                    .await
                    .map_err(|e| self.db_err(Side::Target, format!("{what}: writing rows"), e))?;
            }
            if !work.is_empty() {
                let first_row = rows_handed;
                rows_handed += work.iter().filter(|&&c| c == b'\n').count() as u64;
                let rw = Arc::clone(rw);
                let columns = Arc::clone(columns);
                pending = Some(tokio::task::spawn_blocking(move || {
                    rewrite_copy_rows(&work, &columns, rw.as_ref(), first_row)
                }));
            }
            if done {
                break;
            }
        }
        if let Some(h) = pending.take() {
            let out = self.rewritten(what, h).await?;
            sink.send(out)
                .await
                .map_err(|e| self.db_err(Side::Target, format!("{what}: writing rows"), e))?;
        }
        Ok(bytes)
    }

    async fn rewritten(
        &self,
        what: &str,
        h: tokio::task::JoinHandle<Result<Bytes, String>>,
    ) -> Result<Bytes, CopyError> {
        let err = |reason: String| CopyError::Rewrite {
            table: self.label.clone(),
            what: what.to_string(),
            reason,
            note: String::new(),
        };
        match h.await {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(reason)) => Err(err(reason)),
            Err(e) => Err(err(format!("the rewrite task failed: {e}"))),
        }
    }

    /// Rebuild what was dropped: index builds spread over the target
    /// connections, then the constraint attachments and the clearing of the
    /// saved DDL in one transaction.
    async fn restore(&self, targets: &[Client], ddl: &[String]) -> Result<(), CopyError> {
        if ddl.is_empty() {
            return Ok(());
        }
        let side = Side::Target;
        let restore_hint = |owner: bool| {
            if owner {
                "the DDL stays saved in londiste.table_info.dropped_ddl; fix the cause (duplicate rows?) and copy again"
            } else {
                "fix the cause (duplicate rows?) and recreate the index by hand"
            }
        };
        let owner = self.spec.ddl_owner.is_some();
        let (builds, rest): (Vec<&String>, Vec<&String>) = ddl.iter().partition(|s| {
            s.trim_start()
                .get(..6)
                .is_some_and(|w| w.eq_ignore_ascii_case("create"))
        });
        let queue = Mutex::new(builds.into_iter().collect::<VecDeque<_>>());
        let next = || queue.lock().ok().and_then(|mut q| q.pop_front());
        try_join_all(targets.iter().map(|c| async {
            while let Some(stmt) = next() {
                c.batch_execute(stmt).await.map_err(|e| {
                    self.db_err_hint(side, format!("restoring: {stmt}"), e, restore_hint(owner))
                })?;
            }
            Ok::<(), CopyError>(())
        }))
        .await?;

        let c = &targets[0];
        c.batch_execute("BEGIN")
            .await
            .map_err(|e| self.db_err(side, "restoring: BEGIN", e))?;
        for stmt in rest {
            c.batch_execute(stmt).await.map_err(|e| {
                self.db_err_hint(side, format!("restoring: {stmt}"), e, restore_hint(owner))
            })?;
        }
        if let Some((queue, table)) = &self.spec.ddl_owner {
            let row = c
                .query_one(
                    "SELECT ret_code, ret_note FROM londiste.local_set_table_struct($1, londiste.make_fqname($2), NULL)",
                    &[queue, table],
                )
                .await
                .map_err(|e| self.db_err(side, "clearing londiste.table_info.dropped_ddl", e))?;
            let code: i32 = row.get(0);
            if code != 200 {
                return Err(CopyError::NotRegistered {
                    table: self.label.clone(),
                    queue: queue.clone(),
                    name: table.clone(),
                    note: row.get(1),
                });
            }
        }
        c.batch_execute("COMMIT")
            .await
            .map_err(|e| self.db_err(side, "restoring: COMMIT", e))?;
        if let Ok(mut p) = self.pending_ddl.lock() {
            *p = None;
        }
        Ok(())
    }
}

// Comments go into the saved DDL as quoted literals: that text is run
// later, possibly by londiste.local_remove_table, and cannot carry bind
// parameters.

/// Replica identity and CLUSTER marks live on the index: put them back too.
fn index_extras(
    restore: &mut Vec<String>,
    dest: &str,
    index: &str,
    replident: bool,
    clustered: bool,
) {
    if replident {
        restore.push(format!(
            "ALTER TABLE {dest} REPLICA IDENTITY USING INDEX {}",
            quote_ident(index)
        ));
    }
    if clustered {
        restore.push(format!(
            "ALTER TABLE {dest} CLUSTER ON {}",
            quote_ident(index)
        ));
    }
}

fn join_statements(stmts: &[String]) -> String {
    stmts.iter().map(|s| format!("{s};\n")).collect()
}

/// Split SQL text into statements at top-level semicolons, minding quoted
/// strings (`'…'`, `E'…'`), quoted identifiers, dollar quotes and comments.
/// Statements come back trimmed, without the semicolon; empty ones are
/// left out.
fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() {
            out.push(s.to_string());
        }
    };
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escapes = i > 0 && (b[i - 1] == b'E' || b[i - 1] == b'e') && {
                    // E'…' only when the E starts a token.
                    i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_')
                };
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => {
                // $tag$ … $tag$, where tag is empty or an identifier; not a
                // parameter ($1) nor part of an identifier (a$b).
                let prev_ident = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80)
                {
                    j += 1;
                }
                let tag_ok = !prev_ident
                    && j < b.len()
                    && b[j] == b'$'
                    && !b.get(i + 1).is_some_and(|c| c.is_ascii_digit());
                if tag_ok {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                } else {
                    i += 1;
                }
            }
            b';' => {
                push(&sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        push(&sql[start..]);
    }
    out
}

/// Rewrite whole text-COPY rows (`data` ends at a row end); `first_row`
/// rows of this stream came before, for error messages. Values are named
/// by row number only: they may be what the rewrite exists to hide.
fn rewrite_copy_rows(
    data: &[u8],
    columns: &[String],
    rw: &dyn RowRewrite,
    first_row: u64,
) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 4);
    let mut row: Vec<Option<String>> = Vec::with_capacity(columns.len());
    for (i, line) in data.split_inclusive(|&c| c == b'\n').enumerate() {
        let n = first_row + i as u64 + 1;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        parse_copy_text_row(line, &mut row).map_err(|e| format!("row {n}: {e}"))?;
        if row.len() != columns.len() {
            return Err(format!(
                "row {n}: {} values for {} columns",
                row.len(),
                columns.len()
            ));
        }
        rw.rewrite(columns, &mut row)
            .map_err(|e| format!("row {n}: {e}"))?;
        if row.len() != columns.len() {
            return Err(format!(
                "row {n}: the rewrite returned {} values for {} columns",
                row.len(),
                columns.len()
            ));
        }
        write_copy_text_row(&row, &mut out);
    }
    Ok(Bytes::from(out))
}

/// One line of text COPY (without its newline) into its values.
fn parse_copy_text_row(line: &[u8], row: &mut Vec<Option<String>>) -> Result<(), String> {
    row.clear();
    for (i, field) in line.split(|&c| c == b'\t').enumerate() {
        row.push(unescape_copy_field(field).map_err(|e| format!("value {}: {e}", i + 1))?);
    }
    Ok(())
}

/// A text-COPY value: `\N` is NULL; backslash escapes `\b \f \n \r \t
/// \v`, octal `\ooo`, hex `\xhh`, and `\c` for any other character c.
fn unescape_copy_field(raw: &[u8]) -> Result<Option<String>, String> {
    if raw == b"\\N" {
        return Ok(None);
    }
    let bytes = if raw.contains(&b'\\') {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let c = raw[i];
            i += 1;
            if c != b'\\' || i == raw.len() {
                out.push(c);
                continue;
            }
            let e = raw[i];
            i += 1;
            match e {
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'v' => out.push(11),
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match raw.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push((v & 0xff) as u8);
                }
                b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                    let mut v = 0u8;
                    for _ in 0..2 {
                        match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                            Some(d) => {
                                v = v * 16 + d as u8;
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(v);
                }
                other => out.push(other),
            }
        }
        out
    } else {
        raw.to_vec()
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "not valid UTF-8".to_string())
}

/// Values as one text-COPY line, newline included.
fn write_copy_text_row(row: &[Option<String>], out: &mut Vec<u8>) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        let Some(v) = v else {
            out.extend_from_slice(b"\\N");
            continue;
        };
        for &c in v.as_bytes() {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                8 => out.extend_from_slice(b"\\b"),
                12 => out.extend_from_slice(b"\\f"),
                11 => out.extend_from_slice(b"\\v"),
                _ => out.push(c),
            }
        }
    }
    out.push(b'\n');
}

/// Counts rows in a COPY stream chunk by chunk, as they pass.
#[derive(Debug)]
enum RowCounter {
    /// One line per row (newlines inside values are escaped).
    Text,
    Binary(BinaryCounter),
}

impl RowCounter {
    fn new(binary: bool) -> Self {
        if binary {
            RowCounter::Binary(BinaryCounter::default())
        } else {
            RowCounter::Text
        }
    }

    /// Rows completed within `chunk`.
    fn feed(&mut self, chunk: &[u8]) -> u64 {
        match self {
            RowCounter::Text => chunk.iter().filter(|&&c| c == b'\n').count() as u64,
            RowCounter::Binary(b) => b.feed(chunk),
        }
    }
}

/// The binary COPY format: an 11-byte signature, int32 flags, int32 length
/// of a header extension and the extension; then per tuple an int16 field
/// count and per field an int32 length (-1 = NULL) and that many bytes; an
/// int16 -1 ends the data.
#[derive(Debug, Default)]
struct BinaryCounter {
    state: BinState,
    /// Bytes of the current fixed-size item gathered so far.
    acc: [u8; 19],
    acc_len: usize,
    /// Bytes to pass over (header extension, field data).
    skip: u64,
    fields_left: u16,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum BinState {
    #[default]
    Header,
    TupleStart,
    FieldLen,
    /// The last field's data is passed: the tuple is complete.
    TupleEnd,
    Trailer,
}

impl BinaryCounter {
    fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut rows = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64);
                data = &data[n as usize..];
                self.skip -= n;
                if self.skip > 0 {
                    return rows;
                }
            }
            match self.state {
                BinState::Trailer => return rows,
                BinState::TupleEnd => {
                    rows += 1;
                    self.state = BinState::TupleStart;
                }
                BinState::Header => {
                    let Some(h) = self.take(&mut data, 19) else {
                        return rows;
                    };
                    self.skip = u64::from(u32::from_be_bytes([h[15], h[16], h[17], h[18]]));
                    self.state = BinState::TupleStart;
                }
                BinState::TupleStart => {
                    let Some(h) = self.take(&mut data, 2) else {
                        return rows;
                    };
                    let n = i16::from_be_bytes([h[0], h[1]]);
                    if n < 0 {
                        self.state = BinState::Trailer;
                    } else if n == 0 {
                        self.state = BinState::TupleEnd;
                    } else {
                        self.fields_left = n as u16;
                        self.state = BinState::FieldLen;
                    }
                }
                BinState::FieldLen => {
                    let Some(h) = self.take(&mut data, 4) else {
                        return rows;
                    };
                    let len = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
                    self.skip = u64::try_from(len).unwrap_or(0);
                    self.fields_left -= 1;
                    if self.fields_left == 0 {
                        self.state = BinState::TupleEnd;
                    }
                }
            }
        }
    }

    /// The next `n` bytes of a fixed-size item, once all have arrived.
    fn take(&mut self, data: &mut &[u8], n: usize) -> Option<[u8; 19]> {
        let k = (n - self.acc_len).min(data.len());
        self.acc[self.acc_len..self.acc_len + k].copy_from_slice(&data[..k]);
        self.acc_len += k;
        *data = &data[k..];
        if self.acc_len < n {
            return None;
        }
        self.acc_len = 0;
        Some(self.acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary_stream(rows: &[Vec<Option<&[u8]>>], ext: &[u8]) -> Vec<u8> {
        let mut v = b"PGCOPY\n\xff\r\n\0".to_vec();
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&(ext.len() as u32).to_be_bytes());
        v.extend_from_slice(ext);
        for r in rows {
            v.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(d) => {
                        v.extend_from_slice(&(d.len() as i32).to_be_bytes());
                        v.extend_from_slice(d);
                    }
                }
            }
        }
        v.extend_from_slice(&(-1i16).to_be_bytes());
        v
    }

    #[test]
    fn binary_counter_any_split() {
        let rows: Vec<Vec<Option<&[u8]>>> = vec![
            vec![Some(b"abc"), None, Some(b"")],
            vec![],
            vec![Some(&[0xff; 300]), Some(b"\xff\xff")],
            vec![None],
        ];
        let data = binary_stream(&rows, b"ext!");
        // whole
        let mut c = RowCounter::new(true);
        assert_eq!(c.feed(&data), 4);
        // every split point, and byte by byte
        for cut in 0..=data.len() {
            let mut c = RowCounter::new(true);
            let n = c.feed(&data[..cut]) + c.feed(&data[cut..]);
            assert_eq!(n, 4, "cut at {cut}");
        }
        let mut c = RowCounter::new(true);
        let n: u64 = data.iter().map(|b| c.feed(std::slice::from_ref(b))).sum();
        assert_eq!(n, 4);
        // a row counts only once its data is complete
        let mut c = RowCounter::new(true);
        let first_row_end = 19 + 4 + 2 + 4 + 3 + 4 + 4;
        assert_eq!(c.feed(&data[..first_row_end - 1]), 0);
        assert_eq!(c.feed(&data[first_row_end - 1..first_row_end]), 1);
    }

    #[test]
    fn text_counter() {
        let mut c = RowCounter::new(false);
        assert_eq!(c.feed(b"1\ta\\nb\n2\t\\N\n"), 2);
        assert_eq!(c.feed(b"3\tx"), 0);
        assert_eq!(c.feed(b"\n"), 1);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            page_ranges(10, 1),
            vec![PageRange {
                from: None,
                to: None
            }]
        );
        let r = page_ranges(10, 4);
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[0],
            PageRange {
                from: None,
                to: Some(2)
            }
        );
        assert_eq!(
            r[1],
            PageRange {
                from: Some(2),
                to: Some(5)
            }
        );
        assert_eq!(
            r[3],
            PageRange {
                from: Some(7),
                to: None
            }
        );
        assert_eq!(
            r[0].predicate().as_deref(),
            Some("ctid < '(2,0)'::pg_catalog.tid")
        );
        assert_eq!(
            r[1].predicate().as_deref(),
            Some("ctid >= '(2,0)'::pg_catalog.tid AND ctid < '(5,0)'::pg_catalog.tid")
        );
        // consecutive: each range starts where the previous ended
        for w in r.windows(2) {
            assert_eq!(w[0].to, w[1].from);
        }
    }

    #[test]
    fn splitting_statements() {
        let sql = "CREATE INDEX a ON s.t USING btree (x) WHERE (y <> 'a;b''c');\n\
                   ALTER TABLE \"we;ird\".t ADD CONSTRAINT c CHECK (z <> E'q\\';');\n\
                   -- a comment; here\n\
                   CREATE INDEX \"b;\" ON s.t (f($x$;$x$)) /* x; /* y; */ ; */;;\n  \n\
                   ALTER TABLE s.t ADD CONSTRAINT \"k\" PRIMARY KEY USING INDEX k";
        let s = split_statements(sql);
        assert_eq!(
            s,
            vec![
                "CREATE INDEX a ON s.t USING btree (x) WHERE (y <> 'a;b''c')",
                "ALTER TABLE \"we;ird\".t ADD CONSTRAINT c CHECK (z <> E'q\\';')",
                "-- a comment; here\nCREATE INDEX \"b;\" ON s.t (f($x$;$x$)) /* x; /* y; */ ; */",
                "ALTER TABLE s.t ADD CONSTRAINT \"k\" PRIMARY KEY USING INDEX k",
            ]
        );
        let stmts = vec![
            "CREATE INDEX i ON s.t (a)".to_string(),
            "ALTER TABLE s.t CLUSTER ON i".into(),
        ];
        assert_eq!(split_statements(&join_statements(&stmts)), stmts);
        assert!(split_statements("  ;\n ").is_empty());
    }

    #[test]
    fn progress_snapshot() {
        let p = CopyProgress::default();
        let s = p.snapshot();
        assert_eq!(s.phase, CopyPhase::Starting);
        assert_eq!(s.est_rows, None);
        assert_eq!(s.elapsed, Duration::ZERO);
        p.start();
        p.set_estimates(Some(0), None);
        p.set_phase(CopyPhase::Data);
        p.add(5, 100);
        let s = p.snapshot();
        assert_eq!(
            (s.rows, s.bytes, s.est_rows, s.est_bytes),
            (5, 100, Some(0), None)
        );
        assert_eq!(
            s.eta,
            if s.rows_per_sec > 0.0 {
                Some(Duration::ZERO)
            } else {
                None
            }
        );
        p.end(CopyPhase::Done);
        let a = p.snapshot();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(p.snapshot().elapsed, a.elapsed, "elapsed stops at the end");
        assert_eq!(a.eta, Some(Duration::ZERO));
    }

    #[test]
    fn copy_text_escapes_round_trip() {
        let values: Vec<Option<String>> = vec![
            Some("plain".into()),
            None,
            Some(String::new()),
            Some("tab\there\nnew\rline \\ back\\N".into()),
            Some("\u{8}\u{b}\u{c} ünï ☺".into()),
            Some("\\N".into()),
            Some("\\.".into()),
        ];
        let mut line = Vec::new();
        write_copy_text_row(&values, &mut line);
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "plain\t\\N\t\ttab\\there\\nnew\\rline \\\\ back\\\\N\t\\b\\v\\f ünï ☺\t\\\\N\t\\\\.\n"
        );
        assert_eq!(line.iter().filter(|&&c| c == b'\n').count(), 1);
        let mut back = Vec::new();
        parse_copy_text_row(line.strip_suffix(b"\n").unwrap(), &mut back).unwrap();
        assert_eq!(back, values);
        // what PostgreSQL may also send or accept: octal, hex, other escapes
        let mut row = Vec::new();
        parse_copy_text_row(b"\\101\\x42\\7\\x4g\\q\\\t\\N\t\\Nx\t", &mut row).unwrap();
        assert_eq!(
            row,
            vec![
                Some("AB\u{7}\u{4}gq\\".into()),
                None,
                Some("Nx".into()),
                Some(String::new())
            ]
        );
        assert!(parse_copy_text_row(b"\\377", &mut row).is_err());
    }

    struct Upper;

    impl RowRewrite for Upper {
        fn keep(&self, column: &str) -> bool {
            column != "drop"
        }
        fn rewrite(&self, columns: &[String], row: &mut Vec<Option<String>>) -> Result<(), String> {
            for (c, v) in columns.iter().zip(row.iter_mut()) {
                if c == "bad" && v.as_deref() == Some("x") {
                    return Err(format!("column {c}: refused"));
                }
                if let Some(v) = v {
                    *v = v.to_uppercase();
                }
            }
            Ok(())
        }
    }

    #[test]
    fn rewriting_copy_rows() {
        let cols = vec!["a".to_string(), "bad".to_string()];
        let out = rewrite_copy_rows(b"x\\ty\tz\n\\N\t\n", &cols, &Upper, 0).unwrap();
        assert_eq!(&out[..], b"X\\tY\tZ\n\\N\t\n");
        assert!(rewrite_copy_rows(b"", &cols, &Upper, 0).unwrap().is_empty());
        // a last line without its newline still counts
        assert_eq!(
            &rewrite_copy_rows(b"a\tb", &cols, &Upper, 0).unwrap()[..],
            b"A\tB\n"
        );
        let e = rewrite_copy_rows(b"a\tb\nc\tx\n", &cols, &Upper, 10).unwrap_err();
        assert_eq!(e, "row 12: column bad: refused");
        let e = rewrite_copy_rows(b"a\tb\tc\n", &cols, &Upper, 0).unwrap_err();
        assert_eq!(e, "row 1: 3 values for 2 columns");
    }

    #[test]
    fn spec_debug_masks_passwords() {
        let s = CopySpec::new("host=a password=pw", "host=b password=x", "s.t", "s.t");
        let d = format!("{s:?}");
        assert!(!d.contains("pw") && !d.contains("=x"), "{d}");
    }
}
