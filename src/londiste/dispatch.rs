//! The `dispatch` handler family (spec §5.10): a loader for partitioned
//! and aggregating targets.
//!
//! Each row event of the table is filtered by `event_types`, reshaped by
//! `skip_fields` / `fields` (a list of columns, `src:dst` renames), and sent
//! to a destination by `table_mode`: `part` — a partition of the
//! destination named by `part_name` (default `PARENT_YYYY[_MM[_DD[_HH]]]` by
//! `period`) for the row's time (`part_mode`: the batch's end tick, the
//! event's time, a date column `part_field`, or now; UTC), created when
//! missing by `part_template` or `part_func` (default
//! `londiste.create_partition`) between `pre_part` and `post_part`, with
//! `retention_period` dropping old partitions and `ignore_old_events`
//! skipping rows for them; `direct` — the destination itself; `ignore` —
//! nowhere. `row_mode` decides what a change becomes: `plain` as it
//! happened, `keep_latest` updates as delete + insert, `keep_all` updates
//! as inserts and deletes dropped. `load_mode`/`method` pick how: rows are
//! applied set-based through [`Replay`] (method 0 update, 1 delete+insert,
//! 2 merged) and keep_all / method 3 are plain inserts (the target needs no
//! primary key). `load_mode=direct` applies like method 0 (skydeck applies
//! set-based either way), `analyze` is accepted for compatibility (there
//! are no temporary tables to analyze).
//!
//! Generated names: `{,bulk_}{hourly,daily,monthly,yearly}_{event,batch,
//! field,time}` (table_mode part, row_mode keep_latest, the period and
//! part_mode from the name, `bulk_` = load_mode bulk), `direct`,
//! `bulk_direct`. Arguments given win over a name's defaults.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use tokio_postgres::Transaction;

use super::replay::{ApplyMode, Replay, TableTarget};
use crate::db::{describe, quote_fqname, quote_ident};
use crate::pgq::event::{self, Op, Payload};
use crate::pgq::{BatchInfo, Event};

/// Every argument dispatch takes (the shard ones are handled by the caller).
const ARGS: &[&str] = &[
    "table_mode",
    "part_func",
    "part_mode",
    "part_field",
    "period",
    "part_name",
    "part_template",
    "pre_part",
    "post_part",
    "row_mode",
    "event_types",
    "load_mode",
    "method",
    "fields",
    "skip_fields",
    "table",
    "retention_period",
    "ignore_old_events",
    "ignore_truncate",
    "encoding",
    "analyze",
    "hash_key",
    "key",
    "hash_expr",
    "disable_replay",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableMode {
    Part,
    Direct,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartMode {
    BatchTime,
    EventTime,
    DateField,
    CurrentTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowMode {
    Plain,
    KeepLatest,
    KeepAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Hour,
    Day,
    Month,
    Year,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Month => "month",
            Period::Year => "year",
        }
    }
}

/// One change bound for a destination.
struct Pending {
    dest: String,
    part_time: Option<String>,
    /// Inserted as is (keep_all, method 3): no key needed.
    insert_only: bool,
    op: Op,
    row: Vec<(String, Option<String>)>,
    pkeys: Vec<String>,
    ev_id: i64,
    ev_txid: i64,
}

/// The dispatch handler of one table; see the module doc.
pub struct Dispatch {
    table: String,
    dest: String,
    table_mode: TableMode,
    part_mode: PartMode,
    part_field: Option<String>,
    period: Period,
    part_name: String,
    part_template: Option<String>,
    pre_part: Option<String>,
    post_part: Option<String>,
    part_func: String,
    retention_period: Option<String>,
    ignore_old_events: bool,
    ignore_truncate: bool,
    row_mode: RowMode,
    event_types: Vec<char>,
    method: u8,
    field_map: Option<Vec<(String, String)>>,
    skip_fields: Vec<String>,
    pending: Vec<Pending>,
    /// A truncate (direct mode) comes first at the next flush; the rows
    /// pushed before it are gone with it.
    truncate: bool,
    /// Partitions known to exist, and those ignored as obsolete.
    known: HashSet<String>,
    ignored: HashSet<String>,
    replay: Replay,
}

/// The defaults a generated name stands for.
fn name_defaults(name: &str) -> Option<Vec<(&'static str, &'static str)>> {
    match name {
        "dispatch" => return Some(Vec::new()),
        "direct" => return Some(vec![("load_mode", "direct"), ("table_mode", "direct")]),
        "bulk_direct" => return Some(vec![("load_mode", "bulk"), ("table_mode", "direct")]),
        _ => {}
    }
    let (load, rest) = match name.strip_prefix("bulk_") {
        Some(r) => ("bulk", r),
        None => ("direct", name),
    };
    let (period, mode) = rest.split_once('_')?;
    let period = match period {
        "hourly" => "hour",
        "daily" => "day",
        "monthly" => "month",
        "yearly" => "year",
        _ => return None,
    };
    let mode = match mode {
        "event" => "event_time",
        "batch" => "batch_time",
        "field" => "date_field",
        "time" => "current_time",
        _ => return None,
    };
    Some(vec![
        ("table_mode", "part"),
        ("row_mode", "keep_latest"),
        ("load_mode", load),
        ("period", period),
        ("part_mode", mode),
    ])
}

fn pick<'a>(
    name: &str,
    k: &str,
    v: Option<&'a str>,
    allowed: &[&'a str],
) -> Result<&'a str, String> {
    match v {
        None => Ok(allowed[0]),
        Some(v) if allowed.contains(&v) => Ok(v),
        Some(v) => Err(format!(
            "handler {name}: bad value {v:?} for {k} (one of: {})",
            allowed.join(", ")
        )),
    }
}

fn flag(name: &str, k: &str, v: Option<&str>) -> Result<bool, String> {
    match v {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(v) => Err(format!("handler {name}: bad value {v:?} for {k} (0 or 1)")),
    }
}

impl Dispatch {
    /// Whether `name` is dispatch or one of its generated variants.
    pub fn handles(name: &str) -> bool {
        name_defaults(name).is_some()
    }

    /// (name, description) of every dispatch handler, for show-handlers.
    pub fn catalogue() -> Vec<(String, String)> {
        let mut v = vec![
            (
                "dispatch".to_string(),
                "Partitions by time, row modes, field maps, retention (table_mode, part_mode, period, row_mode, load_mode, method, fields …).".to_string(),
            ),
            ("direct".into(), "dispatch with table_mode=direct.".into()),
            (
                "bulk_direct".into(),
                "dispatch with table_mode=direct, load_mode=bulk.".into(),
            ),
        ];
        for load in ["", "bulk_"] {
            for period in ["hourly", "daily", "monthly", "yearly"] {
                for mode in ["event", "batch", "field", "time"] {
                    let n = format!("{load}{period}_{mode}");
                    let d = name_defaults(&n).unwrap_or_default();
                    let desc = d
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    v.push((n, format!("dispatch with {desc}.")));
                }
            }
        }
        v
    }

    /// A validated handler for `table` (global name) into `dest`.
    pub fn new(
        name: &str,
        args: &[(String, String)],
        table: &str,
        dest: &str,
    ) -> Result<Dispatch, String> {
        let defaults = name_defaults(name).ok_or_else(|| format!("unknown handler {name:?}"))?;
        let mut seen = HashSet::new();
        for (k, _) in args {
            if !ARGS.contains(&k.as_str()) {
                return Err(format!(
                    "handler {name} has no argument {k:?} (it takes: {})",
                    ARGS.join(", ")
                ));
            }
            if !seen.insert(k.as_str()) {
                return Err(format!("handler {name}: argument {k:?} given twice"));
            }
        }
        let get = |k: &str| -> Option<&str> {
            args.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .or_else(|| defaults.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
        };
        let table_mode = match pick(
            name,
            "table_mode",
            get("table_mode"),
            &["part", "direct", "ignore"],
        )? {
            "part" => TableMode::Part,
            "direct" => TableMode::Direct,
            _ => TableMode::Ignore,
        };
        let part_mode = match pick(
            name,
            "part_mode",
            get("part_mode"),
            &["batch_time", "event_time", "date_field", "current_time"],
        )? {
            "batch_time" => PartMode::BatchTime,
            "event_time" => PartMode::EventTime,
            "date_field" => PartMode::DateField,
            _ => PartMode::CurrentTime,
        };
        let part_field = get("part_field")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if table_mode == TableMode::Part && part_mode == PartMode::DateField && part_field.is_none()
        {
            return Err(format!(
                "handler {name}: part_mode date_field needs part_field=COLUMN"
            ));
        }
        let period = match pick(
            name,
            "period",
            get("period"),
            &["day", "month", "year", "hour"],
        )? {
            "hour" => Period::Hour,
            "day" => Period::Day,
            "month" => Period::Month,
            _ => Period::Year,
        };
        let row_mode = match pick(
            name,
            "row_mode",
            get("row_mode"),
            &["plain", "keep_all", "keep_latest"],
        )? {
            "plain" => RowMode::Plain,
            "keep_all" => RowMode::KeepAll,
            _ => RowMode::KeepLatest,
        };
        let load_mode = pick(name, "load_mode", get("load_mode"), &["direct", "bulk"])?;
        let method: u8 = match get("method").unwrap_or("0") {
            m @ ("0" | "1" | "2" | "3") => m.parse().unwrap_or(0),
            m => {
                return Err(format!(
                    "handler {name}: bad value {m:?} for method (0, 1, 2 or 3)"
                ))
            }
        };
        let method = if load_mode == "direct" { 0 } else { method };
        let event_types: Vec<char> = match get("event_types").unwrap_or("*") {
            "*" => vec!['I', 'U', 'D'],
            list => {
                let mut v = Vec::new();
                for t in list.split(',') {
                    match t.trim().to_ascii_uppercase().as_str() {
                        "I" => v.push('I'),
                        "U" => v.push('U'),
                        "D" => v.push('D'),
                        other => {
                            return Err(format!(
                                "handler {name}: unsupported event type {other:?} in event_types (I, U, D)"
                            ))
                        }
                    }
                }
                v
            }
        };
        let field_map = match get("fields").unwrap_or("*") {
            "*" => None,
            list => Some(
                list.split(',')
                    .map(|f| match f.split_once(':') {
                        Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
                        None => (f.trim().to_string(), f.trim().to_string()),
                    })
                    .collect(),
            ),
        };
        let skip_fields = get("skip_fields")
            .map(|s| {
                s.split(',')
                    .map(|f| f.trim().to_lowercase())
                    .filter(|f| !f.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        match get("encoding") {
            None => {}
            Some(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            Some(e) => {
                return Err(format!(
                    "handler {name}: encoding {e:?} is not supported (events are UTF-8; only encoding=utf8)"
                ))
            }
        }
        flag(name, "analyze", get("analyze"))?;
        let dest = match get("table").filter(|t| !t.is_empty()) {
            Some(t) => super::admin::fqname(t),
            None => dest.to_string(),
        };
        let part_name = match get("part_name").filter(|s| !s.is_empty()) {
            Some(p) => p.to_string(),
            None => {
                let parts = ["year", "month", "day", "hour"];
                let n = match period {
                    Period::Year => 1,
                    Period::Month => 2,
                    Period::Day => 3,
                    Period::Hour => 4,
                };
                std::iter::once("parent")
                    .chain(parts[..n].iter().copied())
                    .map(|p| format!("%({p})s"))
                    .collect::<Vec<_>>()
                    .join("_")
            }
        };
        Ok(Dispatch {
            table: table.to_string(),
            dest,
            table_mode,
            part_mode,
            part_field,
            period,
            part_name,
            part_template: get("part_template")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            pre_part: get("pre_part")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            post_part: get("post_part")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            part_func: get("part_func")
                .filter(|s| !s.is_empty())
                .unwrap_or("londiste.create_partition")
                .to_string(),
            retention_period: get("retention_period")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            ignore_old_events: flag(name, "ignore_old_events", get("ignore_old_events"))?,
            ignore_truncate: flag(name, "ignore_truncate", get("ignore_truncate"))?,
            row_mode,
            event_types,
            method,
            field_map,
            skip_fields,
            pending: Vec::new(),
            truncate: false,
            known: HashSet::new(),
            ignored: HashSet::new(),
            replay: Replay::new(table),
        })
    }

    /// The table rows go into (`table=` or the table's destination).
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// For the copy: (source, destination) column pairs after skip_fields
    /// and fields; None when all columns go as they are.
    pub fn copy_columns(&self, src_cols: &[String]) -> Option<Vec<(String, String)>> {
        if self.field_map.is_none() && self.skip_fields.is_empty() {
            return None;
        }
        let kept: Vec<&String> = src_cols
            .iter()
            .filter(|c| !self.skip_fields.contains(&c.to_lowercase()))
            .collect();
        Some(match &self.field_map {
            None => kept.into_iter().map(|c| (c.clone(), c.clone())).collect(),
            Some(m) => m
                .iter()
                .filter(|(s, _)| kept.contains(&s))
                .cloned()
                .collect(),
        })
    }

    fn map_row(&self, row: Vec<(String, Option<String>)>) -> Vec<(String, Option<String>)> {
        let row: Vec<(String, Option<String>)> = row
            .into_iter()
            .filter(|(k, _)| !self.skip_fields.contains(&k.to_lowercase()))
            .collect();
        match &self.field_map {
            None => row,
            // A mapped field the row lacks is NULL, as in the original.
            Some(m) => m
                .iter()
                .map(|(s, d)| {
                    let v = row
                        .iter()
                        .find(|(k, _)| k == s)
                        .and_then(|(_, v)| v.clone());
                    (d.clone(), v)
                })
                .collect(),
        }
    }

    fn map_pkeys(&self, pkeys: &[String]) -> Vec<String> {
        pkeys
            .iter()
            .filter(|k| !self.skip_fields.contains(&k.to_lowercase()))
            .filter_map(|k| match &self.field_map {
                None => Some(k.clone()),
                Some(m) => m.iter().find(|(s, _)| s == k).map(|(_, d)| d.clone()),
            })
            .collect()
    }

    /// `YYYY-MM-DD HH:MM:SS` of the row's partition time (UTC).
    fn part_time(
        &self,
        batch: &BatchInfo,
        ev: &Event,
        row: &[(String, Option<String>)],
    ) -> Result<String, String> {
        let t = |s: SystemTime| crate::fmt::time_sql(s)[..19].to_string();
        match self.part_mode {
            PartMode::BatchTime => Ok(t(batch.cur_tick_time)),
            PartMode::EventTime => Ok(t(ev.ev_time)),
            PartMode::CurrentTime => Ok(t(SystemTime::now())),
            PartMode::DateField => {
                let f = self.part_field.as_deref().unwrap_or("");
                let v = row
                    .iter()
                    .find(|(k, _)| k == f)
                    .and_then(|(_, v)| v.as_deref())
                    .ok_or_else(|| {
                        format!(
                            "table {}, event {}: part_field {f} is NULL or missing",
                            self.table, ev.ev_id
                        )
                    })?;
                // Byte checks only: any text may come in, and slicing a
                // multi-byte character would panic.
                let b = v.as_bytes();
                let ok = b.len() >= 10
                    && (0..10).all(|i| match i {
                        4 | 7 => b[i] == b'-',
                        _ => b[i].is_ascii_digit(),
                    });
                if !ok {
                    return Err(format!(
                        "table {}, event {}: part_field {f} value {v:?} is not a date (YYYY-MM-DD…)",
                        self.table, ev.ev_id
                    ));
                }
                let hour = v
                    .get(11..13)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
                Ok(format!("{} {}:00:00", &v[..10], hour.unwrap_or("00")))
            }
        }
    }

    fn part_name_for(&self, time: &str) -> String {
        self.part_name
            .replace("%(parent)s", &self.dest)
            .replace("%(year)s", &time[0..4])
            .replace("%(month)s", &time[5..7])
            .replace("%(day)s", &time[8..10])
            .replace("%(hour)s", &time[11..13])
    }

    /// Record one row event of the table.
    pub fn push(&mut self, batch: &BatchInfo, ev: &Event) -> Result<(), String> {
        if self.table_mode == TableMode::Ignore {
            return Ok(());
        }
        let rc = match event::decode(&self.table, batch.batch_id, ev).map_err(|e| e.to_string())? {
            Payload::Row(r) => r,
            Payload::Other => {
                return Err(format!("event {}: not a row event", ev.ev_id));
            }
        };
        if rc.encoding == event::Encoding::PartialSql && rc.op != Op::Truncate {
            return Err(format!(
                "event {}: dispatch needs full-row events (logutriga or jsontriga), not partial SQL",
                ev.ev_id
            ));
        }
        let op = rc.op;
        if op == Op::Truncate {
            if self.ignore_truncate {
                return Ok(());
            }
            if self.table_mode == TableMode::Part {
                return Err(format!(
                    "event {}: a truncate of partitioned dispatch table {}: set ignore_truncate=1 \
                     or truncate the partitions by hand",
                    ev.ev_id, self.table
                ));
            }
            self.pending.clear();
            self.truncate = true;
            return Ok(());
        }
        let letter = match op {
            Op::Insert => 'I',
            Op::Update => 'U',
            _ => 'D',
        };
        if !self.event_types.contains(&letter) {
            return Ok(());
        }
        let raw_row = rc.columns;
        let pkeys = self.map_pkeys(&rc.pkey);
        let (dest, part_time) = match self.table_mode {
            TableMode::Part => {
                let t = self.part_time(batch, ev, &raw_row)?;
                (self.part_name_for(&t), Some(t))
            }
            _ => (self.dest.clone(), None),
        };
        let row = self.map_row(raw_row);
        let insert_only = self.row_mode == RowMode::KeepAll || self.method == 3;
        let ops: &[Op] = match (self.row_mode, op) {
            (RowMode::KeepAll, Op::Delete) => &[],
            (RowMode::KeepAll, _) => &[Op::Insert],
            (RowMode::KeepLatest, Op::Update) => &[Op::Delete, Op::Insert],
            (_, Op::Insert) => &[Op::Insert],
            (_, Op::Update) => &[Op::Update],
            _ => &[Op::Delete],
        };
        if self.method == 3 && self.row_mode != RowMode::KeepAll && op != Op::Insert {
            return Err(format!(
                "event {}: method 3 loads inserts only, got {}",
                ev.ev_id,
                op.as_str()
            ));
        }
        for o in ops {
            self.pending.push(Pending {
                dest: dest.clone(),
                part_time: part_time.clone(),
                insert_only,
                op: *o,
                row: row.clone(),
                pkeys: pkeys.clone(),
                ev_id: ev.ev_id,
                ev_txid: ev.ev_txid,
            });
        }
        Ok(())
    }

    /// Write what was pushed since the last flush, in `tx`.
    pub async fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), String> {
        let pending = std::mem::take(&mut self.pending);
        if std::mem::take(&mut self.truncate) {
            // Direct mode only (part mode refuses at push); every pending
            // row came after it.
            tx.batch_execute(&format!("TRUNCATE {} CASCADE", quote_fqname(&self.dest)))
                .await
                .map_err(|e| format!("truncating {}: {}", self.dest, describe(&e)))?;
        }
        // Partitions first.
        let mut parts: Vec<(&str, &str)> = Vec::new();
        for p in &pending {
            if let Some(t) = &p.part_time {
                if !parts.iter().any(|(d, _)| *d == p.dest) {
                    parts.push((&p.dest, t));
                }
            }
        }
        let parts: Vec<(String, String)> = parts
            .into_iter()
            .map(|(d, t)| (d.to_string(), t.to_string()))
            .collect();
        for (part, time) in &parts {
            self.check_part(tx, part, time, &pending).await?;
        }
        let mut inserts: HashMap<String, Vec<&Pending>> = HashMap::new();
        let mut keyed = false;
        for p in &pending {
            if self.ignored.contains(&p.dest) {
                continue;
            }
            if p.insert_only {
                inserts.entry(p.dest.clone()).or_default().push(p);
                continue;
            }
            keyed = true;
            let mode = match (self.row_mode, self.method) {
                (RowMode::KeepLatest, _) => ApplyMode::DeleteInsert,
                (_, 1) => ApplyMode::DeleteInsert,
                (_, 2) => ApplyMode::Merged,
                _ => ApplyMode::Update,
            };
            let target = TableTarget {
                table: self.table.clone(),
                dest: p.dest.clone(),
                ignore_truncate: true,
                mode,
            };
            let letter = match p.op {
                Op::Insert => "I",
                Op::Update => "U",
                _ => "D",
            };
            let ev = Event {
                ev_id: p.ev_id,
                ev_time: SystemTime::UNIX_EPOCH,
                ev_txid: p.ev_txid,
                ev_retry: None,
                ev_type: Some(format!("{letter}:{}", p.pkeys.join(","))),
                ev_data: Some(event::url_encode_row(&p.row)),
                ev_extra1: Some(self.table.clone()),
                ev_extra2: None,
                ev_extra3: None,
                ev_extra4: None,
            };
            self.replay
                .push(&target, 0, &ev)
                .map_err(|e| e.to_string())?;
        }
        if keyed {
            self.replay.flush(tx).await.map_err(|e| e.to_string())?;
        }
        let mut dests: Vec<&String> = inserts.keys().collect();
        dests.sort();
        for d in dests {
            let rows = &inserts[d];
            // One statement per column set: json_populate_recordset casts
            // each value with the column's input function.
            let mut groups: Vec<(Vec<&str>, Vec<&Pending>)> = Vec::new();
            for p in rows {
                let cols: Vec<&str> = p.row.iter().map(|(k, _)| k.as_str()).collect();
                match groups.iter_mut().find(|(c, _)| *c == cols) {
                    Some((_, v)) => v.push(p),
                    None => groups.push((cols, vec![p])),
                }
            }
            for (cols, ps) in groups {
                for chunk in ps.chunks(10_000) {
                    let arr = serde_json::Value::Array(
                        chunk
                            .iter()
                            .map(|p| {
                                serde_json::Value::Object(
                                    p.row
                                        .iter()
                                        .map(|(k, v)| {
                                            (
                                                k.clone(),
                                                v.clone()
                                                    .map(serde_json::Value::String)
                                                    .unwrap_or(serde_json::Value::Null),
                                            )
                                        })
                                        .collect(),
                                )
                            })
                            .collect(),
                    );
                    let q = quote_fqname(d);
                    let list = cols
                        .iter()
                        .map(|c| quote_ident(c))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sel = cols
                        .iter()
                        .map(|c| format!("r.{}", quote_ident(c)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO {q} ({list}) SELECT {sel} FROM json_populate_recordset(NULL::{q}, $1::text::json) r"
                    );
                    tx.execute(&sql, &[&arr.to_string()]).await.map_err(|e| {
                        format!(
                            "inserting {} row(s) into {d} (events {}..{}): {}",
                            chunk.len(),
                            chunk.first().map(|p| p.ev_id).unwrap_or(0),
                            chunk.last().map(|p| p.ev_id).unwrap_or(0),
                            describe(&e)
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Create partition `part` when missing (or mark it ignored).
    async fn check_part(
        &mut self,
        tx: &Transaction<'_>,
        part: &str,
        time: &str,
        pending: &[Pending],
    ) -> Result<(), String> {
        if self.known.contains(part) || self.ignored.contains(part) {
            return Ok(());
        }
        let period = self.period.name();
        if let (true, Some(ret)) = (self.ignore_old_events, &self.retention_period) {
            let old: bool = tx
                .query_one(
                    "select londiste.is_obsolete_partition($1, $2::text::interval, $3)",
                    &[&part, ret, &period],
                )
                .await
                .map_err(|e| format!("checking partition {part}: {}", describe(&e)))?
                .get(0);
            if old {
                tracing::info!(
                    "table {}: rows for obsolete partition {part} ignored",
                    self.table
                );
                self.ignored.insert(part.to_string());
                return Ok(());
            }
        }
        let exists: bool = tx
            .query_one("select to_regclass($1) is not null", &[&quote_fqname(part)])
            .await
            .map_err(|e| format!("looking up partition {part}: {}", describe(&e)))?
            .get(0);
        if exists {
            self.known.insert(part.to_string());
            return Ok(());
        }
        let pkeys = pending
            .iter()
            .find(|p| p.dest == part)
            .map(|p| p.pkeys.join(","))
            .unwrap_or_default();
        let qpart = quote_fqname(part);
        let vars: Vec<(&str, String)> = vec![
            ("dest", qpart.clone()),
            ("part", qpart.clone()),
            ("parent", quote_fqname(&self.dest)),
            ("pkeys", pkeys.clone()),
            ("schema_table", qpart.replace('.', "__")),
            ("part_field", self.part_field.clone().unwrap_or_default()),
            ("part_time", time.to_string()),
            ("period", period.to_string()),
        ];
        let fill = |tmpl: &str| {
            let mut s = tmpl.to_string();
            for (k, v) in &vars {
                s = s.replace(&format!("%({k})s"), v);
            }
            s.replace("%%", "%")
        };
        if let Some(t) = &self.pre_part {
            tx.batch_execute(&fill(t))
                .await
                .map_err(|e| format!("pre_part for {part}: {}", describe(&e)))?;
        }
        match &self.part_template {
            Some(t) => tx
                .batch_execute(&fill(t))
                .await
                .map_err(|e| format!("part_template for {part}: {}", describe(&e)))?,
            None => {
                let sql = format!(
                    "select {}($1, $2, $3, $4, $5::text::timestamptz, $6)",
                    quote_fqname(&self.part_func)
                );
                let field = self.part_field.clone();
                tx.query(
                    &sql,
                    &[
                        &self.dest,
                        &part,
                        &pkeys,
                        &field,
                        &format!("{time}+00"),
                        &period,
                    ],
                )
                .await
                .map_err(|e| {
                    format!(
                        "creating partition {part} with {}: {}",
                        self.part_func,
                        describe(&e)
                    )
                })?;
            }
        }
        if let Some(t) = &self.post_part {
            tx.batch_execute(&fill(t))
                .await
                .map_err(|e| format!("post_part for {part}: {}", describe(&e)))?;
        }
        tracing::info!("table {}: created partition {part}", self.table);
        self.known.insert(part.to_string());
        if let Some(ret) = &self.retention_period {
            let rows = tx
                .query(
                    "select * from londiste.drop_obsolete_partitions($1, $2::text::interval, $3)",
                    &[&self.dest, ret, &period],
                )
                .await
                .map_err(|e| format!("retention of {}: {}", self.dest, describe(&e)))?;
            for r in rows {
                let name: String = r.get(0);
                tracing::info!("table {}: dropped obsolete partition {name}", self.table);
                if self.ignore_old_events {
                    self.ignored.insert(name.clone());
                }
                self.known.remove(&name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_and_defaults() {
        assert!(Dispatch::handles("dispatch") && Dispatch::handles("bulk_hourly_field"));
        assert!(!Dispatch::handles("weekly_event") && !Dispatch::handles("bulk"));
        assert_eq!(Dispatch::catalogue().len(), 3 + 32);
        let d = Dispatch::new("bulk_monthly_event", &[], "public.t", "public.t").unwrap();
        assert_eq!(d.period, Period::Month);
        assert_eq!(d.part_mode, PartMode::EventTime);
        assert_eq!(d.row_mode, RowMode::KeepLatest);
        assert_eq!(d.part_name, "%(parent)s_%(year)s_%(month)s");
        assert_eq!(d.part_name_for("2024-03-05 07:00:00"), "public.t_2024_03");
        // arguments win over the name's defaults
        let d = Dispatch::new(
            "daily_batch",
            &a(&[("period", "hour")]),
            "public.t",
            "public.t",
        )
        .unwrap();
        assert_eq!(
            d.part_name_for("2024-03-05 07:00:00"),
            "public.t_2024_03_05_07"
        );
        let d = Dispatch::new("direct", &a(&[("table", "x.y")]), "public.t", "public.t").unwrap();
        assert_eq!((d.table_mode, d.dest()), (TableMode::Direct, "x.y"));
    }

    #[test]
    fn argument_errors() {
        let e = |args: &[(&str, &str)]| {
            Dispatch::new("dispatch", &a(args), "public.t", "public.t")
                .err()
                .unwrap_or_default()
        };
        assert!(e(&[("colour", "red")]).contains("no argument \"colour\""));
        assert!(e(&[("period", "week")]).contains("bad value \"week\" for period"));
        assert!(e(&[("method", "4")]).contains("method"));
        assert!(e(&[("event_types", "I,X")]).contains("\"X\""));
        assert!(e(&[("part_mode", "date_field")]).contains("part_field"));
        assert!(e(&[("encoding", "latin1")]).contains("encoding"));
        assert!(e(&[("ignore_truncate", "yes")]).contains("0 or 1"));
        assert!(e(&[("row_mode", "plain"), ("row_mode", "plain")]).contains("twice"));
        // shard arguments are accepted
        assert!(e(&[("hash_key", "id"), ("disable_replay", "0")]).is_empty());
    }

    #[test]
    fn part_field_values_are_checked() {
        let d = Dispatch::new(
            "daily_field",
            &a(&[("part_field", "ts")]),
            "public.t",
            "public.t",
        )
        .unwrap();
        let b = BatchInfo {
            batch_id: 1,
            cur_tick_id: 2,
            prev_tick_id: 1,
            cur_tick_time: SystemTime::UNIX_EPOCH,
            prev_tick_time: SystemTime::UNIX_EPOCH,
            cur_tick_event_seq: 0,
            prev_tick_event_seq: 0,
        };
        let ev = Event {
            ev_id: 9,
            ev_time: SystemTime::UNIX_EPOCH,
            ev_txid: 1,
            ev_retry: None,
            ev_type: None,
            ev_data: None,
            ev_extra1: None,
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        };
        let t = |v: &str| d.part_time(&b, &ev, &[("ts".into(), Some(v.into()))]);
        assert_eq!(t("2024-02-03 17:04:05").unwrap(), "2024-02-03 17:00:00");
        assert_eq!(t("2024-02-03").unwrap(), "2024-02-03 00:00:00");
        for bad in ["2024-ä2-03xx", "20240203", "yesterday", "2024-02-0é"] {
            assert!(t(bad).unwrap_err().contains("not a date"), "{bad}");
        }
    }

    #[test]
    fn fields_and_copy_columns() {
        let d = Dispatch::new(
            "direct",
            &a(&[("fields", "id,name:who,gone"), ("skip_fields", "Secret")]),
            "public.t",
            "public.t",
        )
        .unwrap();
        let row = vec![
            ("id".to_string(), Some("1".to_string())),
            ("name".to_string(), Some("x".to_string())),
            ("secret".to_string(), Some("s".to_string())),
        ];
        assert_eq!(
            d.map_row(row),
            vec![
                ("id".to_string(), Some("1".to_string())),
                ("who".to_string(), Some("x".to_string())),
                ("gone".to_string(), None)
            ]
        );
        let cols: Vec<String> = ["id", "name", "secret"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            d.copy_columns(&cols).unwrap(),
            vec![("id".into(), "id".into()), ("name".into(), "who".into())]
        );
        assert_eq!(
            d.map_pkeys(&["id".into(), "secret".into()]),
            vec!["id".to_string()]
        );
    }
}
