//! Table handlers (spec §5.10): how a replicated table's events are
//! applied, how it is copied, and what add-table adds to its trigger.
//!
//! A table's handler is stored in its `table_attrs` as `NAME(k=v&…)`
//! (`--handler=NAME --handler-arg=k=v`). [`Handler::parse`] validates the
//! name and every argument against the handler's parameter list. The
//! built-in handlers:
//!
//! | name | events | copy |
//! |---|---|---|
//! | `londiste` | set-based replay ([`Replay`]) | the table |
//! | `bulk` | replay, `method` 0 update / 1 delete+insert / 2 merged | the table |
//! | `shard` (`part`) | replay of the local shard's events only | rows of the local shard |
//! | `applyfn` | `select FUNC(conf, tick, ev_id, …)` per event | the table |
//! | `multimaster` | applyfn calling `londiste.merge_on_time` | the table |
//! | `qtable` | ignored (a table that only feeds the queue) | none |
//! | `qsplitter` | forwarded into another local queue | none |
//! | `vtable`, `fake_local` | ignored (no table needed) | none |
//! | `dispatch` and variants | [`Dispatch`]: partitions, row modes | the table, fields mapped |
//! | `obfuscate` | rows rewritten by [`Obfuscator`] rules, then replay | rewritten rows |
//!
//! A [`Router`] takes a batch's row events, sends each to its table's
//! handler, and writes everything in the batch's transaction at
//! [`Router::flush`]. Row replay is flushed before function calls
//! (applyfn), dispatch loads and queue forwards.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_postgres::{GenericClient, Transaction};

use super::dispatch::Dispatch;
use super::obfuscate::Obfuscator;
use super::replay::{ApplyMode, Replay, TableTarget};
use super::sql::TableInfo;
use crate::db::{describe, quote_fqname, quote_ident, quote_literal};
use crate::pgq::{BatchInfo, Event};

/// A handler's arguments, `k=v` pairs in order.
pub type HandlerArgs = Vec<(String, String)>;

/// The job file's handler settings (`[londiste]` keys). Its `Debug`
/// output hides the obfuscator key.
#[derive(Clone, PartialEq)]
pub struct HandlerSettings {
    /// `shard_hash_func`: the hash the shard handler's trigger puts into
    /// ev_extra3 and its copy filters by.
    pub shard_hash_func: String,
    /// `shard_info_sql`: returns (shard_nr, shard_mask, shard_count) of
    /// this node.
    pub shard_info_sql: String,
    /// `obfuscator_map`: the obfuscate handler's rules (YAML).
    pub obfuscator_map: Option<PathBuf>,
    /// `obfuscator_key`: the obfuscate handler's hash key.
    pub obfuscator_key: String,
}

impl std::fmt::Debug for HandlerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerSettings")
            .field("shard_hash_func", &self.shard_hash_func)
            .field("shard_info_sql", &self.shard_info_sql)
            .field("obfuscator_map", &self.obfuscator_map)
            .field(
                "obfuscator_key",
                &if self.obfuscator_key.is_empty() {
                    ""
                } else {
                    "********"
                },
            )
            .finish()
    }
}

impl Default for HandlerSettings {
    fn default() -> Self {
        HandlerSettings {
            shard_hash_func: "partconf.get_hash_raw".into(),
            shard_info_sql: "select shard_nr, shard_mask, shard_count from partconf.conf".into(),
            obfuscator_map: None,
            obfuscator_key: String::new(),
        }
    }
}

impl HandlerSettings {
    pub fn from_section(s: &crate::config::Section) -> Result<Self, crate::config::ConfigError> {
        let d = HandlerSettings::default();
        Ok(HandlerSettings {
            shard_hash_func: s.get_str("shard_hash_func", &d.shard_hash_func)?,
            shard_info_sql: s.get_str("shard_info_sql", &d.shard_info_sql)?,
            obfuscator_map: s.get_opt("obfuscator_map")?.map(PathBuf::from),
            obfuscator_key: s.get_str("obfuscator_key", "")?,
        })
    }
}

/// The handlers with their one-line descriptions (`show-handlers`).
pub fn catalogue() -> Vec<(String, String)> {
    [
        (
            "londiste",
            "Apply rows as they changed (the default). Args: ignore_truncate=0|1.",
        ),
        (
            "bulk",
            "Apply rows set-based; method=0 updates, 1 updates as delete+insert, 2 also inserts replace.",
        ),
        (
            "shard",
            "Keep the local shard only: hash_key=COL (or key=), hash_expr=, disable_replay=0|1, ignore_truncate=0|1.",
        ),
        ("part", "Deprecated name of shard."),
        (
            "applyfn",
            "Call a function per event: func_name=NAME, func_conf=TEXT.",
        ),
        (
            "multimaster",
            "Apply through londiste.merge_on_time (newest timefield= wins); for tables written on several masters.",
        ),
        (
            "qtable",
            "A table that only feeds the queue: no copy, events ignored on replicas.",
        ),
        (
            "qsplitter",
            "Forward the table's events into another local queue: queue=NAME.",
        ),
        (
            "vtable",
            "Mark the table local without storing anything (no table needed).",
        ),
        ("fake_local", "Deprecated name of vtable."),
        (
            "obfuscate",
            "Rewrite rows by the job file's obfuscator_map rules (keep, skip, bool, hash32, hash64, hash, json).",
        ),
    ]
    .into_iter()
    .map(|(n, d)| (n.to_string(), d.to_string()))
    .chain(Dispatch::catalogue())
    .collect()
}

/// What a handler does with its table's events.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Replay into the table (londiste, bulk, obfuscate).
    Replay(ApplyMode),
    /// `select func(…)` per event (applyfn, multimaster).
    ApplyFn { func: String, conf: String },
    /// Nothing (qtable, vtable, fake_local).
    Ignore,
    /// Into another local queue (qsplitter).
    Forward { queue: String },
    /// The dispatch family.
    Dispatch,
}

/// The shard filter of a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardArgs {
    /// SQL expression over the table's columns giving the row's hash.
    pub hash_expr: String,
    /// Only cascade the events; nothing is applied or copied here.
    pub disable_replay: bool,
}

/// A table's handler, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    /// As stored (`londiste`, `bulk`, …).
    pub name: String,
    pub args: HandlerArgs,
    pub kind: Kind,
    pub ignore_truncate: bool,
    /// Sharded tables (shard, part; dispatch with a hash_key).
    pub shard: Option<ShardArgs>,
    /// Rows are rewritten by the obfuscator.
    pub obfuscate: bool,
}

fn arg<'a>(args: &'a HandlerArgs, k: &str) -> Option<&'a str> {
    args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn flag(name: &str, args: &HandlerArgs, k: &str) -> Result<bool, String> {
    match arg(args, k) {
        None | Some("0" | "false" | "") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(v) => Err(format!(
            "handler {name}: bad value {v:?} for {k} (use 0 or 1)"
        )),
    }
}

fn check_args(name: &str, args: &HandlerArgs, valid: &[&str]) -> Result<(), String> {
    for (k, _) in args {
        if !valid.contains(&k.as_str()) {
            return Err(if valid.is_empty() {
                format!("handler {name} takes no arguments (got {k:?})")
            } else {
                format!(
                    "handler {name} has no argument {k:?} (it takes: {})",
                    valid.join(", ")
                )
            });
        }
    }
    Ok(())
}

fn check_encoding(name: &str, args: &HandlerArgs) -> Result<(), String> {
    match arg(args, "encoding") {
        None => Ok(()),
        Some(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => Ok(()),
        Some(e) => Err(format!(
            "handler {name}: encoding {e:?} is not supported (events are UTF-8; only encoding=utf8 is accepted)"
        )),
    }
}

impl Handler {
    /// The handler stored in `table_attrs` (None: the default).
    pub fn parse(spec: Option<&str>, s: &HandlerSettings) -> Result<Handler, String> {
        match spec {
            None => Handler::build("londiste", Vec::new(), s),
            Some(h) => {
                let (name, args) = parse_handler(h)?;
                Handler::build(name, args, s)
            }
        }
    }

    /// A handler from its name and arguments, validated.
    pub fn build(name: &str, args: HandlerArgs, s: &HandlerSettings) -> Result<Handler, String> {
        let name = if name.is_empty() { "londiste" } else { name };
        let mut h = Handler {
            name: name.to_string(),
            kind: Kind::Replay(ApplyMode::Update),
            ignore_truncate: false,
            shard: None,
            obfuscate: false,
            args: Vec::new(),
        };
        match name {
            "londiste" => {
                check_args(name, &args, &["ignore_truncate", "encoding"])?;
                check_encoding(name, &args)?;
                h.ignore_truncate = flag(name, &args, "ignore_truncate")?;
            }
            "obfuscate" => {
                check_args(name, &args, &["ignore_truncate", "encoding"])?;
                check_encoding(name, &args)?;
                h.ignore_truncate = flag(name, &args, "ignore_truncate")?;
                h.obfuscate = true;
            }
            "bulk" => {
                check_args(name, &args, &["method"])?;
                h.kind = Kind::Replay(match arg(&args, "method").unwrap_or("0") {
                    "0" => ApplyMode::Update,
                    "1" => ApplyMode::DeleteInsert,
                    "2" => ApplyMode::Merged,
                    m => {
                        return Err(format!(
                        "handler bulk: unknown method {m:?} (0 update, 1 delete+insert, 2 merged)"
                    ))
                    }
                });
            }
            "shard" | "part" => {
                check_args(
                    name,
                    &args,
                    &[
                        "key",
                        "hash_key",
                        "hash_expr",
                        "encoding",
                        "ignore_truncate",
                        "disable_replay",
                    ],
                )?;
                check_encoding(name, &args)?;
                h.ignore_truncate = flag(name, &args, "ignore_truncate")?;
                h.shard = Some(shard_args(name, &args, s)?.ok_or_else(|| {
                    format!(
                        "handler {name}: give the hash column as hash_key=COLUMN (or key=COLUMN)"
                    )
                })?);
            }
            "applyfn" => {
                check_args(name, &args, &["func_name", "func_conf"])?;
                let func = arg(&args, "func_name")
                    .filter(|f| !f.is_empty())
                    .ok_or("handler applyfn: give the function as func_name=NAME")?;
                h.kind = Kind::ApplyFn {
                    func: func.to_string(),
                    conf: arg(&args, "func_conf").unwrap_or("").to_string(),
                };
            }
            "multimaster" => {
                // Every argument goes to the conflict function.
                let conf: Vec<(String, Option<String>)> = args
                    .iter()
                    .filter(|(k, _)| k != "func_name" && k != "func_conf")
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect();
                if !conf.iter().any(|(k, _)| k == "timefield") {
                    return Err(
                        "handler multimaster: give the time column as timefield=COLUMN".into(),
                    );
                }
                h.kind = Kind::ApplyFn {
                    func: "londiste.merge_on_time".into(),
                    conf: crate::pgq::event::url_encode_row(&conf),
                };
            }
            "qtable" | "vtable" | "fake_local" => {
                check_args(name, &args, &[])?;
                h.kind = Kind::Ignore;
            }
            "qsplitter" => {
                check_args(name, &args, &["queue"])?;
                let q = arg(&args, "queue")
                    .filter(|q| !q.is_empty())
                    .ok_or("handler qsplitter: give the target queue as queue=NAME")?;
                h.kind = Kind::Forward {
                    queue: q.to_string(),
                };
            }
            n if Dispatch::handles(n) => {
                // Validates every argument (the shard ones included).
                Dispatch::new(n, &args, "public.t", "public.t")?;
                h.kind = Kind::Dispatch;
                h.shard = shard_args(name, &args, s)?;
            }
            other => {
                return Err(format!(
                    "unknown handler {other:?}; `londiste JOB.ini show-handlers` lists them"
                ))
            }
        }
        h.args = args;
        Ok(h)
    }

    /// The handler string stored in table_attrs: `NAME` or `NAME(k=v&…)`.
    pub fn spec(&self) -> String {
        if self.args.is_empty() {
            self.name.clone()
        } else {
            let a: Vec<(String, Option<String>)> = self
                .args
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect();
            format!("{}({})", self.name, crate::pgq::event::url_encode_row(&a))
        }
    }

    /// What add-table adds to the table's trigger arguments, and whether
    /// the table starts in sync (no copy).
    pub fn trigger_args(&self, tgargs: &mut Vec<String>, expect_sync: &mut bool) {
        match self.name.as_str() {
            "qtable" => {
                tgargs.push("tgflags=BI".into());
                tgargs.push("SKIP".into());
                *expect_sync = true;
            }
            "vtable" | "fake_local" | "qsplitter" => tgargs.push("virtual_table".into()),
            "multimaster" => tgargs.push("no_merge".into()),
            _ => {}
        }
        if let Some(sh) = &self.shard {
            tgargs.push(format!("ev_extra3='hash='||{}", sh.hash_expr));
        }
    }

    /// Whether the table must exist on this node.
    pub fn needs_table(&self) -> bool {
        !matches!(self.kind, Kind::Ignore | Kind::Forward { .. })
            && !self.shard.as_ref().is_some_and(|s| s.disable_replay)
    }

    /// Whether the initial copy moves any rows.
    pub fn copies(&self) -> bool {
        self.needs_table()
    }
}

/// `hash_key`/`key`/`hash_expr`/`disable_replay` → the shard filter, if
/// the handler has a hash key.
fn shard_args(
    name: &str,
    args: &HandlerArgs,
    s: &HandlerSettings,
) -> Result<Option<ShardArgs>, String> {
    let key = arg(args, "hash_key").or(arg(args, "key"));
    let expr = match (arg(args, "hash_expr"), key) {
        (Some(e), _) if !e.is_empty() => e.to_string(),
        (_, Some(k)) if !k.is_empty() => {
            format!("{}({})", quote_fqname(&s.shard_hash_func), quote_ident(k))
        }
        _ => return Ok(None),
    };
    Ok(Some(ShardArgs {
        hash_expr: expr,
        disable_replay: flag(name, args, "disable_replay")?,
    }))
}

/// `NAME(k=v&k2=v2)` (commas also separate) → name and arguments.
pub fn parse_handler(h: &str) -> Result<(&str, HandlerArgs), String> {
    let Some(open) = h.find('(') else {
        return Ok((h.trim(), Vec::new()));
    };
    let name = h[..open].trim();
    let inner = h[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| format!("handler {h:?}: missing ')'"))?;
    let args = crate::pgq::event::url_decode_row(&inner.replace(',', "&"))
        .map_err(|e| format!("handler {h:?}: {e}"))?
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    Ok((name, args))
}

/// `--handler-arg` values (`k=v`) → arguments; a key given twice is an error.
pub fn parse_arg_list(list: &[String]) -> Result<HandlerArgs, String> {
    let mut out: HandlerArgs = Vec::new();
    for a in list {
        let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
        let k = k.trim();
        if out.iter().any(|(n, _)| n == k) {
            return Err(format!("handler argument {k:?} given twice"));
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// This node's shard: rows with `(hash & mask) = nr` are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardInfo {
    pub nr: i64,
    pub mask: i64,
}

impl ShardInfo {
    /// Runs the job file's `shard_info_sql` and checks what it returns.
    pub async fn load(c: &impl GenericClient, s: &HandlerSettings) -> Result<ShardInfo, String> {
        let r = c
            .query_opt(s.shard_info_sql.as_str(), &[])
            .await
            .map_err(|e| {
                format!(
                "shard handler: shard_info_sql ({}) failed: {}; set shard_info_sql in the job file \
                 to a query returning (shard_nr, shard_mask, shard_count)",
                s.shard_info_sql,
                describe(&e)
            )
            })?;
        let get = |r: &tokio_postgres::Row, i: usize| -> Option<i64> {
            r.try_get::<_, Option<i64>>(i)
                .ok()
                .flatten()
                .or_else(|| r.try_get::<_, Option<i32>>(i).ok().flatten().map(i64::from))
        };
        let (nr, mask, count) = match &r {
            Some(r) if r.len() >= 3 => (get(r, 0), get(r, 1), get(r, 2)),
            _ => (None, None, None),
        };
        let (Some(nr), Some(mask), Some(count)) = (nr, mask, count) else {
            return Err(format!(
                "shard handler: shard_info_sql ({}) returned no (shard_nr, shard_mask, shard_count) \
                 integers",
                s.shard_info_sql
            ));
        };
        if count & mask != 0 || mask + 1 != count {
            return Err(format!(
                "shard handler: invalid shard info: mask {mask} and count {count} (count must be a \
                 power of two and mask = count - 1)"
            ));
        }
        if nr < 0 || nr >= count {
            return Err(format!(
                "shard handler: invalid shard nr {nr} (0 ≤ nr < {count})"
            ));
        }
        Ok(ShardInfo { nr, mask })
    }

    /// Whether the event (hash in ev_extra3 `hash=N`) belongs here.
    pub fn keeps(&self, table: &str, ev: &Event) -> Result<bool, String> {
        let e3 = ev.ev_extra3.as_deref().ok_or_else(|| {
            format!(
                "shard handler, table {table}, event {}: ev_extra3 is empty; the root's trigger \
                 must put the hash there (add the table with --handler=shard on the root)",
                ev.ev_id
            )
        })?;
        let kv = crate::pgq::event::url_decode_row(e3)
            .map_err(|e| format!("shard handler, table {table}, event {}: {e}", ev.ev_id))?;
        let h = kv
            .iter()
            .find(|(k, _)| k == "hash")
            .and_then(|(_, v)| v.as_deref())
            .ok_or_else(|| {
                format!(
                    "shard handler, table {table}, event {}: ev_extra3 has no hash= key",
                    ev.ev_id
                )
            })?;
        let h: i64 = h.trim().parse().map_err(|_| {
            format!(
                "shard handler, table {table}, event {}: hash {h:?} is not an integer",
                ev.ev_id
            )
        })?;
        Ok(h & self.mask == self.nr)
    }

    /// The copy's (and compare's) row filter.
    pub fn condition(&self, sh: &ShardArgs) -> String {
        format!("(({}) & {}) = {}", sh.hash_expr, self.mask, self.nr)
    }
}

/// What the handlers share on one node: settings, the obfuscator, the
/// shard info once read.
pub struct HandlerEnv {
    pub settings: HandlerSettings,
    /// Loaded on first success (a bad map file is read again next time).
    obfuscator: std::sync::Mutex<Option<Arc<Obfuscator>>>,
    shard: tokio::sync::Mutex<Option<ShardInfo>>,
}

impl HandlerEnv {
    pub fn new(settings: HandlerSettings) -> HandlerEnv {
        HandlerEnv {
            settings,
            obfuscator: std::sync::Mutex::new(None),
            shard: tokio::sync::Mutex::new(None),
        }
    }

    /// The obfuscator, loaded from `obfuscator_map` on first use.
    pub fn obfuscator(&self) -> Result<Arc<Obfuscator>, String> {
        let mut g = self.obfuscator.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = &*g {
            return Ok(o.clone());
        }
        let path =
            self.settings.obfuscator_map.as_ref().ok_or(
                "obfuscate handler: set obfuscator_map = FILE (the rules) in the job file",
            )?;
        let o = Arc::new(Obfuscator::load(path, &self.settings.obfuscator_key)?);
        *g = Some(o.clone());
        Ok(o)
    }

    /// This node's shard (read once).
    pub async fn shard(&self, c: &impl GenericClient) -> Result<ShardInfo, String> {
        let mut g = self.shard.lock().await;
        if let Some(s) = *g {
            return Ok(s);
        }
        let s = ShardInfo::load(c, &self.settings).await?;
        *g = Some(s);
        Ok(s)
    }

    /// How a table is copied: rows filter, column map, row rewrite, and
    /// whether any rows are copied at all.
    pub async fn copy_plan(
        &self,
        target: &impl GenericClient,
        t: &TableInfo,
        src_cols: &[String],
    ) -> Result<CopyPlan, String> {
        let h = Handler::parse(t.table_attrs.handler(), &self.settings)
            .map_err(|e| format!("table {}: {e}", t.table_name))?;
        let mut plan = CopyPlan {
            copies: h.copies(),
            condition: None,
            column_map: None,
            rewrite: None,
            dest: t.dest().to_string(),
        };
        if !plan.copies {
            return Ok(plan);
        }
        if let Some(sh) = &h.shard {
            plan.condition = Some(self.shard(target).await?.condition(sh));
        }
        if h.kind == Kind::Dispatch {
            let d = Dispatch::new(&h.name, &h.args, &t.table_name, t.dest())?;
            plan.column_map = d.copy_columns(src_cols);
            plan.dest = d.dest().to_string();
        }
        if h.obfuscate {
            plan.rewrite = Some(self.obfuscator()?.copy_rewrite(&t.table_name)?);
        }
        Ok(plan)
    }
}

/// The row filter compare and repair put on both sides of table `t`
/// (the shard handler: this node's shard), or why the table cannot be
/// compared (its handler keeps no rows, or rows that differ from the
/// source's by design).
pub async fn compare_condition(
    local: &impl GenericClient,
    t: &TableInfo,
    s: &HandlerSettings,
) -> Result<Option<String>, String> {
    let h = Handler::parse(t.table_attrs.handler(), s)?;
    if !h.needs_table() || matches!(h.kind, Kind::ApplyFn { .. } | Kind::Dispatch) || h.obfuscate {
        return Err(format!(
            "handler {} does not keep a copy of the source's rows here; nothing to compare",
            h.name
        ));
    }
    match &h.shard {
        Some(sh) => Ok(Some(ShardInfo::load(local, s).await?.condition(sh))),
        None => Ok(None),
    }
}

/// How one table is copied (see [`HandlerEnv::copy_plan`]).
pub struct CopyPlan {
    pub copies: bool,
    pub condition: Option<String>,
    pub column_map: Option<Vec<(String, String)>>,
    pub rewrite: Option<Arc<dyn super::copy::RowRewrite>>,
    /// The table the rows go into.
    pub dest: String,
}

/// Routes a batch's row events to their tables' handlers; see the module
/// doc. Kept between batches for its caches; a failed batch's state is
/// dropped by [`Router::reset`].
pub struct Router {
    queue: String,
    env: Arc<HandlerEnv>,
    /// Per table: the handler string it was parsed from, and the handler.
    handlers: HashMap<String, (Option<String>, Arc<Handler>)>,
    /// Per table, where its rows go this batch.
    targets: HashMap<String, TableTarget>,
    dispatch: HashMap<String, Dispatch>,
    calls: Vec<String>,
    forward: Vec<(String, Event)>,
}

impl Router {
    pub fn new(queue: &str, env: Arc<HandlerEnv>) -> Router {
        Router {
            queue: queue.to_string(),
            env,
            handlers: HashMap::new(),
            targets: HashMap::new(),
            dispatch: HashMap::new(),
            calls: Vec::new(),
            forward: Vec::new(),
        }
    }

    /// Forget what a failed batch left pending.
    pub fn reset(&mut self) {
        self.targets.clear();
        self.dispatch.clear();
        self.calls.clear();
        self.forward.clear();
    }

    /// The table's handler (cached while its handler string is unchanged).
    pub fn handler(&mut self, t: &TableInfo) -> Result<Arc<Handler>, String> {
        let spec = t.table_attrs.handler().map(str::to_string);
        if let Some((s, h)) = self.handlers.get(&t.table_name) {
            if *s == spec {
                return Ok(h.clone());
            }
        }
        let h = Arc::new(
            Handler::parse(spec.as_deref(), &self.env.settings)
                .map_err(|e| format!("table {}: {e}", t.table_name))?,
        );
        self.handlers
            .insert(t.table_name.clone(), (spec, h.clone()));
        Ok(h)
    }

    /// Read what the batch's handlers need from the database (the shard
    /// info) before routing; `tables` are the tables with events.
    pub async fn begin(
        &mut self,
        c: &impl GenericClient,
        tables: &[&TableInfo],
    ) -> Result<(), String> {
        for t in tables {
            if self.handler(t)?.shard.is_some() {
                self.env.shard(c).await?;
                break;
            }
        }
        Ok(())
    }

    /// Send one row event of table `t` (local, in sync) to its handler.
    pub async fn route(
        &mut self,
        replay: &mut Replay,
        c: &impl GenericClient,
        t: &TableInfo,
        batch: &BatchInfo,
        ev: &Event,
    ) -> Result<(), String> {
        let h = self.handler(t)?;
        if let Some(sh) = &h.shard {
            if sh.disable_replay {
                return Ok(());
            }
            let info = self.env.shard(c).await?;
            if !info.keeps(&t.table_name, ev)? {
                return Ok(());
            }
        }
        let ty = ev.ev_type.as_deref().unwrap_or("");
        match &h.kind {
            Kind::Ignore => Ok(()),
            Kind::Replay(mode) => {
                if *mode != ApplyMode::Update && matches!(ty, "I" | "U" | "D") {
                    return Err(format!(
                        "table {}, event {}: handler {} needs full-row events (logutriga or \
                         jsontriga), not partial SQL (sqltriga)",
                        t.table_name, ev.ev_id, h.name
                    ));
                }
                if !self.targets.contains_key(&t.table_name) {
                    self.targets.insert(
                        t.table_name.clone(),
                        TableTarget {
                            table: t.table_name.clone(),
                            dest: t.dest().to_string(),
                            ignore_truncate: h.ignore_truncate,
                            mode: *mode,
                        },
                    );
                }
                let target = &self.targets[&t.table_name];
                if h.obfuscate && ty != "R" {
                    let ev = self.env.obfuscator()?.rewrite_event(&t.table_name, ev)?;
                    replay.push(target, batch.batch_id, &ev)
                } else {
                    replay.push(target, batch.batch_id, ev)
                }
                .map_err(|e| e.to_string())
            }
            Kind::ApplyFn { func, conf } => {
                self.calls
                    .push(applyfn_sql(func, conf, batch.cur_tick_id, ev));
                Ok(())
            }
            Kind::Forward { queue } => {
                self.forward.push((queue.clone(), ev.clone()));
                Ok(())
            }
            Kind::Dispatch => {
                let d = match self.dispatch.entry(t.table_name.clone()) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => v.insert(
                        Dispatch::new(&h.name, &h.args, &t.table_name, t.dest())
                            .map_err(|e| format!("table {}: {e}", t.table_name))?,
                    ),
                };
                d.push(batch, ev)
                    .map_err(|e| format!("table {}: {e}", t.table_name))
            }
        }
    }

    /// Whether anything but row replay is pending.
    pub fn has_pending(&self) -> bool {
        !self.calls.is_empty() || !self.forward.is_empty() || !self.dispatch.is_empty()
    }

    /// Write everything routed so far in `tx`: row replay, then function
    /// calls in event order, dispatch loads, queue forwards.
    pub async fn flush(&mut self, replay: &mut Replay, tx: &Transaction<'_>) -> Result<(), String> {
        replay.flush(tx).await.map_err(|e| e.to_string())?;
        if !self.has_pending() {
            return Ok(());
        }
        let calls = std::mem::take(&mut self.calls);
        for chunk in calls.chunks(200) {
            tx.batch_execute(&chunk.join("\n")).await.map_err(|e| {
                format!(
                    "queue {}: applyfn call failed: {} (statements: {})",
                    self.queue,
                    describe(&e),
                    chunk.first().map(String::as_str).unwrap_or("")
                )
            })?;
        }
        let mut dispatch: Vec<(String, Dispatch)> = self.dispatch.drain().collect();
        dispatch.sort_by(|a, b| a.0.cmp(&b.0));
        for (table, d) in dispatch.iter_mut() {
            d.flush(tx)
                .await
                .map_err(|e| format!("table {table}: {e}"))?;
        }
        let forward = std::mem::take(&mut self.forward);
        let mut by_queue: Vec<(String, Vec<Event>)> = Vec::new();
        for (q, ev) in forward {
            match by_queue.iter_mut().find(|(n, _)| *n == q) {
                Some((_, v)) => v.push(ev),
                None => by_queue.push((q, vec![ev])),
            }
        }
        for (q, evs) in by_queue {
            crate::pgq::producer::forward_events(tx, &q, &evs)
                .await
                .map_err(|e| format!("qsplitter: forwarding into queue {q:?}: {e}"))?;
        }
        Ok(())
    }

    /// The events a branch copies into its own queue, as the handlers of
    /// `tables` want them: the shard handler drops other shards' rows, the
    /// obfuscate handler rewrites them.
    pub async fn copy_events(
        &mut self,
        c: &impl GenericClient,
        tables: &HashMap<String, TableInfo>,
        events: Vec<Event>,
    ) -> Result<Vec<Event>, String> {
        let mut out = Vec::with_capacity(events.len());
        for ev in events {
            let ty = ev.ev_type.as_deref().unwrap_or("");
            if !super::worker::is_row_event(ty) {
                out.push(ev);
                continue;
            }
            let name = super::admin::fqname(ev.ev_extra1.as_deref().unwrap_or(""));
            let Some(t) = tables.get(&name).filter(|t| t.local) else {
                out.push(ev);
                continue;
            };
            let h = self.handler(t)?;
            if h.shard.is_some() {
                let info = self.env.shard(c).await?;
                if !info.keeps(&name, &ev)? {
                    continue;
                }
            }
            if h.obfuscate && ty != "R" {
                out.push(self.env.obfuscator()?.rewrite_event(&name, &ev)?);
            } else {
                out.push(ev);
            }
        }
        Ok(out)
    }
}

/// `select FUNC('conf', 'tick', 'ev_id', 'ev_time', …)`: the applyfn call.
/// Values are quoted literals rather than bind parameters on purpose: as
/// untyped literals they resolve against whatever argument types the
/// user's function declares (text, bigint, timestamptz, …).
fn applyfn_sql(func: &str, conf: &str, tick: i64, ev: &Event) -> String {
    let lit = |v: Option<&str>| v.map(quote_literal).unwrap_or_else(|| "NULL".into());
    let vals = [
        lit(Some(conf)),
        lit(Some(&tick.to_string())),
        lit(Some(&ev.ev_id.to_string())),
        lit(Some(&crate::fmt::time_sql(ev.ev_time))),
        lit(Some(&ev.ev_txid.to_string())),
        lit(ev.ev_retry.map(|r| r.to_string()).as_deref()),
        lit(ev.ev_type.as_deref()),
        lit(ev.ev_data.as_deref()),
        lit(ev.ev_extra1.as_deref()),
        lit(ev.ev_extra2.as_deref()),
        lit(ev.ev_extra3.as_deref()),
        lit(ev.ev_extra4.as_deref()),
    ];
    format!("select {}({});", quote_fqname(func), vals.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> HandlerSettings {
        HandlerSettings::default()
    }

    #[test]
    fn parsing_and_validation() {
        let h = Handler::parse(None, &s()).unwrap();
        assert_eq!(h.kind, Kind::Replay(ApplyMode::Update));
        let h = Handler::parse(Some("londiste(ignore_truncate=1)"), &s()).unwrap();
        assert!(h.ignore_truncate);
        let h = Handler::parse(Some("bulk(method=2)"), &s()).unwrap();
        assert_eq!(h.kind, Kind::Replay(ApplyMode::Merged));
        assert!(Handler::parse(Some("bulk(method=7)"), &s())
            .unwrap_err()
            .contains("unknown method"));
        assert!(Handler::parse(Some("bulk(foo=1)"), &s())
            .unwrap_err()
            .contains("no argument \"foo\""));
        assert!(Handler::parse(Some("londiste(encoding=latin1)"), &s()).is_err());
        assert!(Handler::parse(Some("qtable(x=1)"), &s())
            .unwrap_err()
            .contains("takes no arguments"));
        assert!(Handler::parse(Some("nosuch"), &s())
            .unwrap_err()
            .contains("unknown handler"));
        assert!(Handler::parse(Some("shard"), &s())
            .unwrap_err()
            .contains("hash_key"));
        assert!(Handler::parse(Some("applyfn"), &s())
            .unwrap_err()
            .contains("func_name"));
        assert!(Handler::parse(Some("qsplitter"), &s())
            .unwrap_err()
            .contains("queue=NAME"));
        // commas separate arguments as in the original
        let h = Handler::parse(Some("shard(key=id,disable_replay=1)"), &s()).unwrap();
        let sh = h.shard.clone().unwrap();
        assert!(sh.disable_replay);
        assert_eq!(sh.hash_expr, "partconf.get_hash_raw(id)");
        assert!(!h.needs_table());
        assert!(parse_handler("bulk(method=1").is_err());
    }

    #[test]
    fn the_key_stays_out_of_debug() {
        let h = HandlerSettings {
            obfuscator_key: "s3cret".into(),
            ..s()
        };
        let d = format!("{h:?}");
        assert!(!d.contains("s3cret") && d.contains("********"), "{d}");
    }

    #[test]
    fn trigger_args() {
        let mut tg = Vec::new();
        let mut es = false;
        Handler::parse(Some("qtable"), &s())
            .unwrap()
            .trigger_args(&mut tg, &mut es);
        assert_eq!(tg, ["tgflags=BI", "SKIP"]);
        assert!(es);
        let mut tg = Vec::new();
        Handler::parse(Some("part(hash_key=User Id)"), &s())
            .unwrap()
            .trigger_args(&mut tg, &mut es);
        assert_eq!(
            tg,
            ["ev_extra3='hash='||partconf.get_hash_raw(\"User Id\")"]
        );
        let mut tg = Vec::new();
        Handler::parse(Some("multimaster(timefield=ts)"), &s())
            .unwrap()
            .trigger_args(&mut tg, &mut es);
        assert_eq!(tg, ["no_merge"]);
        let h = Handler::parse(Some("multimaster(timefield=ts&altpk=a%2Cb)"), &s()).unwrap();
        assert_eq!(
            h.kind,
            Kind::ApplyFn {
                func: "londiste.merge_on_time".into(),
                conf: "timefield=ts&altpk=a%2cb".into()
            }
        );
        assert!(Handler::parse(Some("multimaster(altpk=a)"), &s())
            .unwrap_err()
            .contains("timefield"));
    }

    #[test]
    fn shard_filter() {
        let info = ShardInfo { nr: 1, mask: 3 };
        let ev = |e3: Option<&str>| Event {
            ev_id: 1,
            ev_time: std::time::UNIX_EPOCH,
            ev_txid: 1,
            ev_retry: None,
            ev_type: Some("I:id".into()),
            ev_data: Some("id=1".into()),
            ev_extra1: Some("public.t".into()),
            ev_extra2: None,
            ev_extra3: e3.map(str::to_string),
            ev_extra4: None,
        };
        assert!(info.keeps("t", &ev(Some("hash=5"))).unwrap());
        assert!(!info.keeps("t", &ev(Some("hash=6"))).unwrap());
        assert!(info.keeps("t", &ev(Some("hash=-3"))).unwrap());
        assert!(info
            .keeps("t", &ev(None))
            .unwrap_err()
            .contains("ev_extra3"));
        assert!(info
            .keeps("t", &ev(Some("x=1")))
            .unwrap_err()
            .contains("hash="));
        let sh = ShardArgs {
            hash_expr: "hashint4(id)".into(),
            disable_replay: false,
        };
        assert_eq!(info.condition(&sh), "((hashint4(id)) & 3) = 1");
    }

    #[test]
    fn applyfn_statement() {
        let ev = Event {
            ev_id: 7,
            ev_time: std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_500_001),
            ev_txid: 9,
            ev_retry: None,
            ev_type: Some("I:id".into()),
            ev_data: Some("id=1&t=it's".into()),
            ev_extra1: Some("public.t".into()),
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        };
        assert_eq!(
            applyfn_sql("my fn", "a=1", 3, &ev),
            "select public.\"my fn\"('a=1', '3', '7', '1970-01-01 00:00:01.500001+00', '9', NULL, \
             'I:id', 'id=1&t=it''s', 'public.t', NULL, NULL, NULL);"
        );
    }
}
