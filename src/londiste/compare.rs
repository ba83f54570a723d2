//! compare and repair (spec §5.12): check that a replicated table holds the
//! same rows here as on the node it replicates from, and produce (or apply)
//! the SQL that makes it so.
//!
//! The other side (the source) is the provider, or the nearest node further
//! up that has the table in sync when the provider does not replicate it.
//! Both sides are brought to the same logical point first: once this node
//! and the source have caught up with the root, the table is locked on
//! the root in SHARE mode (no writer can change it), a tick is forced
//! there, and once the source and this node have both applied that tick,
//! neither can change the table until the lock goes. Both sides then open a
//! REPEATABLE READ snapshot. compare (and repair without `--apply`)
//! releases the lock at once and reads the snapshots; `repair --apply`
//! keeps it until the fix is committed, so no later change of the table
//! can be overwritten by it.
//!
//! The SHARE lock and the wait for the nodes under it are bounded by the
//! job file's `lock_timeout` (unless `force`): a table whose lock is held
//! elsewhere fails with a message after that time, the others go on.
//! Tables are worked on in parallel ([`SyncOptions::parallel`] at a time),
//! each on its own connections; their progress lines are whole lines
//! prefixed with the table's name.
//!
//! The checksum is md5-based over the text form of the common columns,
//! read with the same session settings on both sides (time zone, date
//! style, float digits, bytea output), so it is the same across PostgreSQL
//! versions, unlike the original's `hashtext()`.
//!
//! Repair reads both sides ordered by the primary key (each key column's
//! text form in byte order, the same on both servers) and merges the two
//! streams: rows missing here → INSERT, extra rows → DELETE, different rows
//! → UPDATE of the columns that differ. Values go into the SQL as quoted
//! literals (it is a script to read or to apply); `--apply` runs it here in
//! `replica` role, in one transaction per table.
//!
//! Both per-table functions take an optional `condition`: an SQL boolean
//! expression over the table's columns, applied to both sides (a handler
//! that replicates only part of a table, such as shard, passes its copy
//! condition). It is SQL text from the node's own configuration, put into
//! the query as it is, like `--repair-where`.

use std::cmp::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, stream, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::handler::HandlerSettings;
use super::sql::{self, MergeState, TableInfo};
use crate::cascade::admin::{Admin, Progress};
use crate::cascade::node::{self, CascadeError, Result};
use crate::db::{describe, mask_connstr, quote_fqname, quote_ident, quote_literal, DbError};

const SESSION: &str = "set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'; \
    set local intervalstyle = 'postgres'; set local extra_float_digits = 3; \
    set local bytea_output = 'hex'";

/// Tables compared or repaired at once when nothing else is asked.
pub const DEFAULT_PARALLEL: usize = 4;

fn state(msg: impl Into<String>) -> CascadeError {
    CascadeError::State(msg.into())
}

fn q(what: String, e: tokio_postgres::Error) -> CascadeError {
    CascadeError::Db(DbError::query(format!("{what}: {}", describe(&e)), e))
}

/// How compare and repair bring the two sides together.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Longest wait for the SHARE lock on the root's table, and for the
    /// provider and this node to apply the tick forced under it (job file
    /// `lock_timeout`).
    pub lock_timeout: Duration,
    /// Wait for the lock without limit, and for the nodes up to the
    /// admin's timeout (`--force`).
    pub force: bool,
    /// Tables worked on at once (0 counts as 1).
    pub parallel: usize,
    /// The job file's handler keys: a sharded table is compared and
    /// repaired on the local shard's rows only.
    pub handlers: HandlerSettings,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            lock_timeout: Duration::from_secs(10),
            force: false,
            parallel: DEFAULT_PARALLEL,
            handlers: HandlerSettings::default(),
        }
    }
}

/// What repair does besides bringing the sides together.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    pub sync: SyncOptions,
    /// Run the fixing SQL here (in `replica` role) instead of only
    /// returning it.
    pub apply: bool,
    /// Only rows matching this SQL condition (`--repair-where`), on both
    /// sides.
    pub repair_where: Option<String>,
}

/// How one table compared.
#[derive(Debug, Clone, Serialize)]
pub struct TableCompare {
    pub table: String,
    pub source_rows: i64,
    pub source_checksum: String,
    pub local_rows: i64,
    pub local_checksum: String,
    /// Why the table could not be compared (the counts are then zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TableCompare {
    /// Same row count and checksum on both sides (false when it failed).
    pub fn equal(&self) -> bool {
        self.error.is_none()
            && self.source_rows == self.local_rows
            && self.source_checksum == self.local_checksum
    }

    fn failed(table: &str, error: String) -> Self {
        TableCompare {
            table: table.to_string(),
            source_rows: 0,
            source_checksum: String::new(),
            local_rows: 0,
            local_checksum: String::new(),
            error: Some(error),
        }
    }
}

/// What repair found (and did) for one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableRepair {
    pub table: String,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    /// The fixing SQL (also written to `fix.<table>.sql` by the CLI).
    #[serde(skip)]
    pub sql: String,
    pub applied: bool,
    /// Why the table could not be repaired (nothing was changed then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A node above this one in the cascade.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub node: String,
    /// Its connection string.
    pub location: String,
    /// Its worker (None on the root, which has nothing to apply).
    pub worker: Option<String>,
}

/// Where compare and repair read: the nearest node above this one that
/// replicates the table (the provider, or further up when the provider
/// does not have it), and the root whose lock stops changes to it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The nodes above this one: the provider first, the root last.
    pub chain: Vec<Upstream>,
    /// This node's worker.
    pub local_worker: String,
}

impl Source {
    /// The nodes above this one (an error on the root, which has none).
    pub async fn of(admin: &Admin) -> Result<Source> {
        let local = admin.local().await?;
        let info = admin.local_node(&local).await?;
        if info.is_root() {
            return Err(state(
                "this is the root: compare and repair run on a replica (use a replica's job file)",
            ));
        }
        let mut loc = info.provider_location.clone().ok_or_else(|| {
            state(format!(
                "node {} has no provider location: repair the cascade first",
                info.node_name
            ))
        })?;
        let mut chain = Vec::new();
        for _ in 0..64 {
            let c = crate::db::connect(&loc).await?;
            let n = node::node_info(&c, &admin.queue).await?.ok_or_else(|| {
                state(format!(
                    "{} has no node for queue {:?}",
                    mask_connstr(&loc),
                    admin.queue
                ))
            })?;
            let next = n.provider_location.clone();
            chain.push(Upstream {
                node: n.node_name.clone(),
                location: loc,
                worker: if n.is_root() {
                    None
                } else {
                    n.worker_name.clone()
                },
            });
            if n.is_root() {
                return Ok(Source {
                    chain,
                    local_worker: info
                        .worker_name
                        .clone()
                        .unwrap_or_else(|| admin.worker.clone()),
                });
            }
            loc = next.ok_or_else(|| state(format!("node {} has no provider", n.node_name)))?;
        }
        Err(state(
            "no root found within 64 providers: the cascade has a loop",
        ))
    }

    fn root(&self) -> Result<&Upstream> {
        self.chain
            .last()
            .ok_or_else(|| state("no node above this one: is this the root?"))
    }
}

/// What [`each_table`] does to every table.
#[derive(Clone, Copy)]
enum Work<'o> {
    Compare(&'o SyncOptions),
    Repair(&'o RepairOptions),
}

enum Outcome {
    Compare(TableCompare),
    Repair(TableRepair),
}

impl Work<'_> {
    fn sync(&self) -> &SyncOptions {
        match self {
            Work::Compare(o) => o,
            Work::Repair(o) => &o.sync,
        }
    }

    async fn run(
        self,
        admin: &Admin,
        src: &Source,
        t: &TableInfo,
        cond: Option<String>,
        p: &mut dyn Progress,
    ) -> Result<Outcome> {
        Ok(match self {
            Work::Compare(o) => Outcome::Compare(compare_table(admin, src, t, cond, o, p).await?),
            Work::Repair(o) => Outcome::Repair(repair_table(admin, src, t, cond, o, p).await?),
        })
    }

    /// A table that failed: its error, nothing else.
    fn failed(self, table: &str, error: String) -> Outcome {
        match self {
            Work::Compare(_) => Outcome::Compare(TableCompare::failed(table, error)),
            Work::Repair(_) => Outcome::Repair(TableRepair {
                table: table.to_string(),
                error: Some(error),
                ..Default::default()
            }),
        }
    }
}

/// Compare or repair the tables `names` (all when empty), `parallel` at
/// once; a table that fails is reported as failed, the others go on.
/// Returns the progress back for the summary line.
async fn each_table<'p>(
    admin: &Admin,
    names: &[String],
    work: Work<'_>,
    p: &'p mut dyn Progress,
) -> Result<(Vec<Outcome>, &'p mut dyn Progress)> {
    let local = admin.local().await?;
    let tables = pick(admin, &local, names).await?;
    let conds = conditions(&local, &tables, &work.sync().handlers).await;
    let src = Source::of(admin).await?;
    let sink = Mutex::new(p);
    // Futures built first, then run: a closure inside the stream would
    // make the whole future not `Send` (rustc's higher-ranked lifetimes).
    let jobs: Vec<_> = tables
        .iter()
        .zip(conds)
        .map(|(t, cond)| {
            let (sink, src) = (&sink, &src);
            async move {
                let mut tp = TableProgress {
                    table: &t.table_name,
                    sink,
                };
                let r = match cond {
                    Ok(cond) => work.run(admin, src, t, cond, &mut tp).await,
                    Err(e) => Err(CascadeError::State(e)),
                };
                r.unwrap_or_else(|e| {
                    tp.step(&format!("FAILED: {e}"));
                    work.failed(&t.table_name, e.to_string())
                })
            }
        })
        .collect();
    let out: Vec<Outcome> = stream::iter(jobs)
        .buffered(work.sync().parallel.max(1))
        .collect()
        .await;
    Ok((out, sink.into_inner().unwrap_or_else(|e| e.into_inner())))
}

/// One table's progress lines: whole lines, prefixed with its name, sent
/// to the progress shared by the tables running at once.
struct TableProgress<'a, 'p> {
    table: &'a str,
    sink: &'a Mutex<&'p mut dyn Progress>,
}

impl Progress for TableProgress<'_, '_> {
    fn step(&mut self, msg: &str) {
        let line = format!("{}: {msg}", self.table);
        self.sink
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .step(&line);
    }

    fn running(&mut self, msg: &str) {
        let line = format!("{}: {msg}", self.table);
        self.sink
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running(&line);
    }
}

/// Forwards only `running` (the waits before the lock are not steps worth
/// a line each).
struct Quiet<'a>(&'a mut dyn Progress);

impl Progress for Quiet<'_> {
    fn step(&mut self, _msg: &str) {}
    fn running(&mut self, msg: &str) {
        self.0.running(msg)
    }
}

/// Columns present on both sides, key columns first (in key order), then
/// the others by the local column order; and the key column count.
async fn common_columns(
    src: &Client,
    dst: &Client,
    src_t: &str,
    dst_t: &str,
) -> Result<(Vec<String>, usize)> {
    let cols_sql = "select a.attname, coalesce(a.attnum = any(i.indkey), false) as is_key, \
                           array_position(i.indkey::int2[], a.attnum) as key_pos \
                      from pg_attribute a \
                      left join pg_index i on i.indrelid = a.attrelid and i.indisprimary \
                     where a.attrelid = londiste.find_table_oid($1) and a.attnum > 0 \
                       and not a.attisdropped and a.attgenerated = '' \
                     order by a.attnum";
    let s = src
        .query(cols_sql, &[&src_t])
        .await
        .map_err(|e| q(format!("reading the columns of {src_t} on the source"), e))?;
    let d = dst
        .query(cols_sql, &[&dst_t])
        .await
        .map_err(|e| q(format!("reading the columns of {dst_t}"), e))?;
    if d.is_empty() {
        return Err(state(format!("table {dst_t} does not exist here")));
    }
    if s.is_empty() {
        return Err(state(format!(
            "table {src_t} does not exist on the source node"
        )));
    }
    let src_names: Vec<String> = s.iter().map(|r| r.get(0)).collect();
    let mut keys: Vec<(i32, String)> = d
        .iter()
        .filter(|r| r.get::<_, bool>(1))
        .map(|r| {
            (
                r.get::<_, Option<i32>>(2).unwrap_or(0),
                r.get::<_, String>(0),
            )
        })
        .collect();
    keys.sort();
    if keys.is_empty() {
        return Err(state(format!("table {dst_t} has no primary key")));
    }
    let mut cols: Vec<String> = Vec::new();
    for (_, k) in &keys {
        if !src_names.contains(k) {
            return Err(state(format!(
                "key column {k} of {dst_t} does not exist in the source table {src_t}"
            )));
        }
        cols.push(k.clone());
    }
    for r in &d {
        let n: String = r.get(0);
        if !r.get::<_, bool>(1) && src_names.contains(&n) {
            cols.push(n);
        }
    }
    Ok((cols, keys.len()))
}

/// The tables to work on: local and `ok` here (all of them when `names`
/// is empty). A name (not a glob) that is no local table is an error.
async fn pick(admin: &Admin, local: &Client, names: &[String]) -> Result<Vec<TableInfo>> {
    let all: Vec<TableInfo> = sql::tables(local, &admin.queue)
        .await?
        .into_iter()
        .filter(|t| t.local)
        .collect();
    for n in names {
        let n = super::admin::fqname(n);
        if !all
            .iter()
            .any(|t| super::admin::glob_match(&n, &t.table_name))
        {
            return Err(state(format!(
                "table {n} is not replicated on this node (see `tables`)"
            )));
        }
    }
    let mut out = Vec::new();
    for t in all {
        let wanted = names.is_empty()
            || names
                .iter()
                .any(|n| super::admin::glob_match(&super::admin::fqname(n), &t.table_name));
        if !wanted {
            continue;
        }
        if t.merge_state != MergeState::Ok {
            if names.is_empty() {
                continue;
            }
            return Err(state(format!(
                "table {} is {} here, not ok: wait for its copy (wait-sync)",
                t.table_name, t.merge_state
            )));
        }
        out.push(t);
    }
    if out.is_empty() {
        return Err(state(
            "no table to work on (none is replicated and in sync here)",
        ));
    }
    Ok(out)
}

/// The nearest node above this one where the table is replicated and in
/// sync, with a connection to it.
async fn find_source<'s>(
    admin: &Admin,
    src: &'s Source,
    t: &TableInfo,
    p: &mut dyn Progress,
) -> Result<(&'s Upstream, Client)> {
    let mut seen = Vec::new();
    for up in &src.chain {
        let c = crate::db::connect(&up.location).await?;
        let theirs = sql::tables(&c, &admin.queue).await?;
        match theirs.iter().find(|x| x.table_name == t.table_name) {
            Some(x) if x.local && x.merge_state == MergeState::Ok => {
                if !seen.is_empty() {
                    p.step(&format!("reading from {} ({})", up.node, seen.join("; ")));
                }
                return Ok((up, c));
            }
            Some(x) if x.local => seen.push(format!("{} on {}", x.merge_state, up.node)),
            _ => seen.push(format!("not replicated on {}", up.node)),
        }
    }
    Err(state(format!(
        "no node above this one has it in sync ({}): nothing to compare with",
        seen.join("; ")
    )))
}

async fn last_tick(c: &Client, queue: &str) -> Result<i64> {
    let top: Option<i64> = c
        .query_one(
            "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
              where q.queue_name = $1",
            &[&queue],
        )
        .await
        .map_err(|e| q("reading the root's last tick".into(), e))?
        .get(0);
    Ok(top.unwrap_or(0))
}

/// Wait until the source (when it is not the root) and this node have
/// applied `tick`, for at most `limit`.
#[allow(clippy::too_many_arguments)]
async fn wait_nodes(
    admin: &Admin,
    src: &Source,
    up: &Upstream,
    pc: &Client,
    local: &Client,
    tick: i64,
    limit: Duration,
    p: &mut dyn Progress,
) -> Result<()> {
    let mut a = admin.clone();
    a.timeout = limit;
    if let Some(w) = &up.worker {
        a.wait_completed(pc, &up.node, w, tick, p).await?;
    }
    a.wait_completed(local, "this node", &src.local_worker, tick, p)
        .await
}

/// Bring both sides to one point for `table`: lock it on the root, force a
/// tick, and wait until the source and this node have applied it. The
/// returned client holds the lock (in an open transaction) until it is
/// rolled back or dropped.
#[allow(clippy::too_many_arguments)]
async fn sync_point(
    admin: &Admin,
    src: &Source,
    up: &Upstream,
    pc: &Client,
    local: &Client,
    table: &str,
    opts: &SyncOptions,
    p: &mut dyn Progress,
) -> Result<Client> {
    let ticker = crate::db::connect(&src.root()?.location).await?;
    // Catch up first, without the lock: under it only the last ticks are
    // waited for, and the root's writers are held up no longer than that.
    let now = last_tick(&ticker, &admin.queue).await?;
    wait_nodes(admin, src, up, pc, local, now, admin.timeout, &mut Quiet(p)).await?;

    let root = crate::db::connect(&src.root()?.location).await?;
    // The timeouts are integers of our own making, not user text.
    let limits = if opts.force {
        "begin; set local lock_timeout = 0; set local statement_timeout = 0".to_string()
    } else {
        format!(
            "begin; set local lock_timeout = {}",
            opts.lock_timeout.as_millis().max(1)
        )
    };
    root.batch_execute(&limits)
        .await
        .map_err(|e| q("starting the lock transaction on the root".into(), e))?;
    let started = Instant::now();
    let lock = format!("lock table only {} in share mode", quote_fqname(table));
    if let Err(e) = root.batch_execute(&lock).await {
        if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            return Err(state(format!(
                "could not lock it on the root within lock_timeout ({}): another session holds \
                 a conflicting lock; retry later, raise lock_timeout in the job file, or use \
                 --force to wait for the lock",
                crate::fmt::duration(opts.lock_timeout)
            )));
        }
        return Err(q("locking it on the root in SHARE mode".into(), e));
    }
    p.step(&format!(
        "locked on the root in SHARE mode ({})",
        crate::fmt::duration(started.elapsed())
    ));
    let last = crate::pgq::admin::force_tick(&ticker, &admin.queue)
        .await
        .map_err(|e| state(e.to_string()))?;
    let started = Instant::now();
    let tick = loop {
        let top = last_tick(&ticker, &admin.queue).await?;
        if top > last {
            break top;
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(state(format!(
                "no new tick on the root after 30 s: is a ticker (pgqd) running for queue {:?}?",
                admin.queue
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let limit = if opts.force {
        admin.timeout
    } else {
        opts.lock_timeout
    };
    wait_nodes(admin, src, up, pc, local, tick, limit, p)
        .await
        .map_err(|e| {
            state(format!(
                "while it was locked on the root: {e} (the lock is released; is the worker \
                 running and keeping up? --force waits up to {})",
                crate::fmt::duration(admin.timeout)
            ))
        })?;
    Ok(root)
}

/// Open a REPEATABLE READ snapshot with the common session settings.
async fn snapshot(c: &Client, side: &str) -> Result<()> {
    c.batch_execute(&format!(
        "begin isolation level repeatable read read only; {SESSION}; select 1"
    ))
    .await
    .map_err(|e| q(format!("opening a snapshot on {side}"), e))
}

async fn release(c: &Client) {
    // A failed rollback ends with the connection: the lock goes either way.
    let _ = c.batch_execute("rollback").await;
}

/// ` where (a) and (b)` for the conditions given, or nothing.
fn where_clause(conds: &[Option<&str>]) -> String {
    let parts: Vec<String> = conds
        .iter()
        .flatten()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| format!("({c})"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" where {}", parts.join(" and "))
    }
}

async fn checksum(c: &Client, table: &str, cols: &[String], filter: &str) -> Result<(i64, String)> {
    let row = cols
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select count(*), coalesce(sum(('x' || substr(md5(row({row})::text), 1, 16))::bit(64)::bigint), 0)::text \
           from only {}{filter}",
        quote_fqname(table)
    );
    let r = c
        .query_one(&sql, &[])
        .await
        .map_err(|e| q(format!("checksum of {table}"), e))?;
    Ok((r.get(0), r.get(1)))
}

/// Compare one table: row count and checksum on its source (see
/// [`Source`]) and here, at one point of the stream. `condition` (SQL over the table's columns)
/// limits both sides to the matching rows.
pub async fn compare_table(
    admin: &Admin,
    src: &Source,
    t: &TableInfo,
    condition: Option<String>,
    opts: &SyncOptions,
    p: &mut dyn Progress,
) -> Result<TableCompare> {
    let (up, pc) = find_source(admin, src, t, p).await?;
    let local = admin.local().await?;
    let (cols, _) = common_columns(&pc, &local, &t.table_name, t.dest()).await?;
    let lock = sync_point(admin, src, up, &pc, &local, &t.table_name, opts, p).await?;
    let snaps = async {
        snapshot(&pc, "the source").await?;
        snapshot(&local, "this node").await
    }
    .await;
    release(&lock).await;
    drop(lock);
    snaps?;
    let filter = where_clause(&[condition.as_deref()]);
    let (s, l) = tokio::join!(
        checksum(&pc, &t.table_name, &cols, &filter),
        checksum(&local, t.dest(), &cols, &filter)
    );
    release(&pc).await;
    release(&local).await;
    let ((sr, sc), (lr, lc)) = (s?, l?);
    let r = TableCompare {
        table: t.table_name.clone(),
        source_rows: sr,
        source_checksum: sc,
        local_rows: lr,
        local_checksum: lc,
        error: None,
    };
    p.step(&format!(
        "source {} rows, checksum {}; here {} rows, checksum {}{}",
        r.source_rows,
        r.source_checksum,
        r.local_rows,
        r.local_checksum,
        if r.equal() { "" } else { " — DIFFERENT" }
    ));
    Ok(r)
}

/// compare: per table, row count and checksum on its source and here,
/// `opts.parallel` tables at a time. A table that fails (its lock held
/// elsewhere past lock_timeout, say) is in the result with its error; the
/// others go on.
pub async fn compare_with(
    admin: &Admin,
    names: &[String],
    opts: &SyncOptions,
    p: &mut dyn Progress,
) -> Result<Vec<TableCompare>> {
    let (out, p) = each_table(admin, names, Work::Compare(opts), p).await?;
    let out: Vec<TableCompare> = out
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Compare(c) => Some(c),
            Outcome::Repair(_) => None,
        })
        .collect();
    let failed = out.iter().filter(|t| t.error.is_some()).count();
    let equal = out.iter().filter(|t| t.equal()).count();
    p.step(&format!(
        "compared {} table(s): {equal} equal, {} different, {failed} failed",
        out.len(),
        out.len() - equal - failed
    ));
    Ok(out)
}

/// compare with the default parallelism (see [`compare_with`]).
pub async fn compare(
    admin: &Admin,
    names: &[String],
    lock_timeout: Duration,
    force: bool,
    p: &mut dyn Progress,
) -> Result<Vec<TableCompare>> {
    let opts = SyncOptions {
        lock_timeout,
        force,
        parallel: DEFAULT_PARALLEL,
        ..SyncOptions::default()
    };
    compare_with(admin, names, &opts, p).await
}

/// Per table, the row filter its handler puts on both sides (the shard
/// handler: the local shard), or why it cannot be compared.
async fn conditions(
    local: &Client,
    tables: &[TableInfo],
    s: &HandlerSettings,
) -> Vec<std::result::Result<Option<String>, String>> {
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        out.push(super::handler::compare_condition(local, t, s).await);
    }
    out
}

type Row = Vec<Option<String>>;

fn lit(v: &Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) => quote_literal(s),
    }
}

fn where_key(cols: &[String], nk: usize, r: &Row) -> String {
    cols[..nk]
        .iter()
        .zip(r)
        .map(|(c, v)| format!("{} = {}", quote_ident(c), lit(v)))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn key_cmp(a: &Row, b: &Row, nk: usize) -> Ordering {
    // Keys are never NULL; byte order is collate "C" order.
    a[..nk]
        .iter()
        .map(|v| v.as_deref().unwrap_or("").as_bytes())
        .cmp(
            b[..nk]
                .iter()
                .map(|v| v.as_deref().unwrap_or("").as_bytes()),
        )
}

async fn rows(
    c: &Client,
    table: &str,
    cols: &[String],
    nk: usize,
    filter: &str,
) -> Result<tokio_postgres::RowStream> {
    let list = cols
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let order = cols[..nk]
        .iter()
        .map(|c| format!("{}::text collate \"C\"", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select {list} from only {}{filter} order by {order}",
        quote_fqname(table)
    );
    c.query_raw(sql.as_str(), std::iter::empty::<&str>())
        .await
        .map_err(|e| q(format!("reading {table}"), e))
}

fn row_of(r: &tokio_postgres::Row) -> Row {
    (0..r.len())
        .map(|i| r.get::<_, Option<String>>(i))
        .collect()
}

/// The fixing SQL for `dest` from the two sorted row streams.
async fn merge_rows(
    table: &str,
    dest: &str,
    cols: &[String],
    nk: usize,
    src: tokio_postgres::RowStream,
    dst: tokio_postgres::RowStream,
    r: &mut TableRepair,
) -> Result<()> {
    pin_mut!(src);
    pin_mut!(dst);
    let dest = quote_fqname(dest);
    let next = |e: tokio_postgres::Error| q(format!("reading {table}"), e);
    let mut a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
    let mut b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
    let col_list = cols
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    loop {
        match (a.take(), b.take()) {
            (None, None) => break,
            (Some(x), None) => {
                push_insert(r, &dest, &col_list, &x);
                a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
            }
            (None, Some(y)) => {
                push_delete(r, &dest, cols, nk, &y);
                b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
            }
            (Some(x), Some(y)) => match key_cmp(&x, &y, nk) {
                Ordering::Less => {
                    push_insert(r, &dest, &col_list, &x);
                    b = Some(y);
                    a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
                }
                Ordering::Greater => {
                    push_delete(r, &dest, cols, nk, &y);
                    a = Some(x);
                    b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
                }
                Ordering::Equal => {
                    push_update(r, &dest, cols, nk, &x, &y);
                    a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
                    b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
                }
            },
        }
    }
    Ok(())
}

fn push_insert(r: &mut TableRepair, dest: &str, col_list: &str, x: &Row) {
    let vals = x.iter().map(lit).collect::<Vec<_>>().join(", ");
    r.sql.push_str(&format!(
        "insert into {dest} ({col_list}) values ({vals});\n"
    ));
    r.inserts += 1;
}

fn push_delete(r: &mut TableRepair, dest: &str, cols: &[String], nk: usize, y: &Row) {
    r.sql.push_str(&format!(
        "delete from only {dest} where {};\n",
        where_key(cols, nk, y)
    ));
    r.deletes += 1;
}

fn push_update(r: &mut TableRepair, dest: &str, cols: &[String], nk: usize, x: &Row, y: &Row) {
    let set: Vec<String> = cols
        .iter()
        .zip(x.iter().zip(y))
        .skip(nk)
        .filter(|(_, (u, v))| u != v)
        .map(|(c, (u, _))| format!("{} = {}", quote_ident(c), lit(u)))
        .collect();
    if !set.is_empty() {
        r.sql.push_str(&format!(
            "update only {dest} set {} where {};\n",
            set.join(", "),
            where_key(cols, nk, x)
        ));
        r.updates += 1;
    }
}

/// Repair one table: the SQL that makes it here equal to its source,
/// applied when `opts.apply`. `condition` (SQL over the table's columns)
/// limits both sides to the matching rows, as `opts.repair_where` does.
pub async fn repair_table(
    admin: &Admin,
    src: &Source,
    t: &TableInfo,
    condition: Option<String>,
    opts: &RepairOptions,
    p: &mut dyn Progress,
) -> Result<TableRepair> {
    let (up, pc) = find_source(admin, src, t, p).await?;
    let local = admin.local().await?;
    let (cols, nk) = common_columns(&pc, &local, &t.table_name, t.dest()).await?;
    let lock = sync_point(admin, src, up, &pc, &local, &t.table_name, &opts.sync, p).await?;
    let snaps = async {
        snapshot(&pc, "the source").await?;
        snapshot(&local, "this node").await
    }
    .await;
    if !opts.apply || snaps.is_err() {
        release(&lock).await;
    }
    snaps?;
    let filter = where_clause(&[condition.as_deref(), opts.repair_where.as_deref()]);
    let mut r = TableRepair {
        table: t.table_name.clone(),
        ..Default::default()
    };
    let merged = async {
        let s = rows(&pc, &t.table_name, &cols, nk, &filter).await?;
        let d = rows(&local, t.dest(), &cols, nk, &filter).await?;
        merge_rows(&t.table_name, t.dest(), &cols, nk, s, d, &mut r).await
    }
    .await;
    release(&pc).await;
    release(&local).await;
    merged?;
    if opts.apply && !r.sql.is_empty() {
        // Still under the root's lock: no change of the table can come in
        // between the reading and this.
        let applied = async {
            local
                .batch_execute("begin; set local session_replication_role = replica")
                .await
                .map_err(|e| q("starting the repair transaction here".into(), e))?;
            local
                .batch_execute(&r.sql)
                .await
                .map_err(|e| q(format!("applying the repair of {}", t.dest()), e))?;
            local
                .batch_execute("commit")
                .await
                .map_err(|e| q(format!("committing the repair of {}", t.dest()), e))
        }
        .await;
        if applied.is_err() {
            release(&local).await;
        }
        r.applied = applied.is_ok();
        release(&lock).await;
        applied?;
    } else if opts.apply {
        release(&lock).await;
    }
    p.step(&format!(
        "{} insert(s), {} update(s), {} delete(s){}",
        r.inserts,
        r.updates,
        r.deletes,
        if r.applied { ", applied" } else { "" }
    ));
    Ok(r)
}

/// repair: per table, the SQL that makes it here equal to its source
/// (applied when `opts.apply`), `opts.sync.parallel` tables at a time. A
/// table that fails is in the result with its error; the others go on.
pub async fn repair_with(
    admin: &Admin,
    names: &[String],
    opts: &RepairOptions,
    p: &mut dyn Progress,
) -> Result<Vec<TableRepair>> {
    let (out, p) = each_table(admin, names, Work::Repair(opts), p).await?;
    let out: Vec<TableRepair> = out
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Repair(r) => Some(r),
            Outcome::Compare(_) => None,
        })
        .collect();
    let failed = out.iter().filter(|t| t.error.is_some()).count();
    let fixes = out.iter().filter(|t| !t.sql.is_empty()).count();
    p.step(&format!(
        "repair of {} table(s): {fixes} with differences{}, {} equal, {failed} failed",
        out.len(),
        if opts.apply { " (fixed)" } else { "" },
        out.len() - fixes - failed
    ));
    Ok(out)
}

/// repair with the default parallelism (see [`repair_with`]).
pub async fn repair(
    admin: &Admin,
    names: &[String],
    apply: bool,
    repair_where: Option<&str>,
    lock_timeout: Duration,
    force: bool,
    p: &mut dyn Progress,
) -> Result<Vec<TableRepair>> {
    let opts = RepairOptions {
        sync: SyncOptions {
            lock_timeout,
            force,
            parallel: DEFAULT_PARALLEL,
            ..SyncOptions::default()
        },
        apply,
        repair_where: repair_where.map(str::to_string),
    };
    repair_with(admin, names, &opts, p).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_byte_order() {
        let r = |k: &str| vec![Some(k.to_string()), Some("v".to_string())];
        assert_eq!(key_cmp(&r("10"), &r("9"), 1), Ordering::Less);
        assert_eq!(key_cmp(&r("B"), &r("a"), 1), Ordering::Less);
        assert_eq!(key_cmp(&r("ä"), &r("z"), 1), Ordering::Greater);
        assert_eq!(key_cmp(&r("x"), &r("x"), 1), Ordering::Equal);
    }

    #[test]
    fn literals_and_keys() {
        let cols = vec!["id".to_string(), "Name".to_string()];
        let row = vec![Some("1".to_string()), Some("it's".to_string())];
        assert_eq!(where_key(&cols, 1, &row), "id = '1'");
        assert_eq!(lit(&row[1]), "'it''s'");
        assert_eq!(lit(&None), "NULL");
    }

    #[test]
    fn conditions_combine() {
        assert_eq!(where_clause(&[None, None]), "");
        assert_eq!(where_clause(&[Some("  "), None]), "");
        assert_eq!(where_clause(&[Some("id % 2 = 0")]), " where (id % 2 = 0)");
        assert_eq!(
            where_clause(&[Some("a or b"), Some("c")]),
            " where (a or b) and (c)"
        );
    }

    #[test]
    fn statements_for_differences() {
        let cols = vec!["id".to_string(), "v".to_string(), "W x".to_string()];
        let mut r = TableRepair::default();
        let row = |id: &str, v: Option<&str>| {
            vec![
                Some(id.to_string()),
                v.map(str::to_string),
                Some("w".to_string()),
            ]
        };
        push_insert(&mut r, "public.t", "id, v, \"W x\"", &row("1", None));
        push_update(
            &mut r,
            "public.t",
            &cols,
            1,
            &row("2", Some("a")),
            &row("2", Some("b")),
        );
        push_update(
            &mut r,
            "public.t",
            &cols,
            1,
            &row("3", Some("a")),
            &row("3", Some("a")),
        );
        push_delete(&mut r, "public.t", &cols, 1, &row("4", Some("x")));
        assert_eq!((r.inserts, r.updates, r.deletes), (1, 1, 1));
        assert_eq!(
            r.sql,
            "insert into public.t (id, v, \"W x\") values ('1', NULL, 'w');\n\
             update only public.t set v = 'a' where id = '2';\n\
             delete from only public.t where id = '4';\n"
        );
    }

    #[test]
    fn table_lines_are_whole_and_prefixed() {
        let mut lines: Vec<String> = Vec::new();
        {
            let mut sink = |s: &str| lines.push(s.to_string());
            let m: Mutex<&mut dyn Progress> = Mutex::new(&mut sink);
            let mut a = TableProgress {
                table: "public.a",
                sink: &m,
            };
            let mut b = TableProgress {
                table: "public.b",
                sink: &m,
            };
            a.step("one");
            b.step("two");
            a.step("three");
        }
        assert_eq!(lines, ["public.a: one", "public.b: two", "public.a: three"]);
    }

    #[test]
    fn a_failed_table_is_not_equal() {
        let t = TableCompare::failed("public.t", "lock".into());
        assert!(!t.equal());
        let ok = TableCompare { error: None, ..t };
        assert!(ok.equal());
    }
}
