//! Typed calls of the londiste SQL API (spec §5.5). Results in the
//! `(ret_code, ret_note)` style go through [`crate::cascade::node::rc`]:
//! refusals (>= 400) are errors carrying the function, code and note.

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::cascade::node::{rc, CascadeError, Rc, Result};
use crate::db::{describe, DbError};
use crate::pgq::event::{url_decode_row, url_encode_row, Field};

/// A table's merge state (`table_info.merge_state`, spec §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "tick", rename_all = "kebab-case")]
pub enum MergeState {
    /// NULL: needs a copy.
    Missing,
    InCopy,
    CatchingUp,
    /// The copy caught up at this tick.
    WannaSync(i64),
    /// The main worker stopped at this tick; the copy must reach it.
    DoSync(i64),
    Ok,
}

impl MergeState {
    /// Parse the stored form; `?` (an old compat value) counts as ok.
    pub fn parse(s: Option<&str>) -> std::result::Result<MergeState, String> {
        let Some(s) = s else {
            return Ok(MergeState::Missing);
        };
        let tick = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| format!("bad tick in merge state {s:?}"))
        };
        Ok(match s {
            "in-copy" => MergeState::InCopy,
            "catching-up" => MergeState::CatchingUp,
            "ok" | "?" => MergeState::Ok,
            _ => {
                if let Some(t) = s.strip_prefix("wanna-sync:") {
                    MergeState::WannaSync(tick(t)?)
                } else if let Some(t) = s.strip_prefix("do-sync:") {
                    MergeState::DoSync(tick(t)?)
                } else {
                    return Err(format!("unknown merge state {s:?}"));
                }
            }
        })
    }

    /// The stored form (`None` for [`MergeState::Missing`]).
    pub fn stored(&self) -> Option<String> {
        match self {
            MergeState::Missing => None,
            MergeState::InCopy => Some("in-copy".into()),
            MergeState::CatchingUp => Some("catching-up".into()),
            MergeState::WannaSync(t) => Some(format!("wanna-sync:{t}")),
            MergeState::DoSync(t) => Some(format!("do-sync:{t}")),
            MergeState::Ok => Some("ok".into()),
        }
    }

    /// Counts against `parallel_copies`.
    pub fn is_copying(&self) -> bool {
        matches!(
            self,
            MergeState::InCopy
                | MergeState::CatchingUp
                | MergeState::WannaSync(_)
                | MergeState::DoSync(_)
        )
    }
}

impl std::fmt::Display for MergeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.stored().as_deref().unwrap_or("missing"))
    }
}

/// `table_attrs`, decoded (urlencoded in the table).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableAttrs(pub Vec<Field>);

impl TableAttrs {
    pub fn parse(s: Option<&str>) -> std::result::Result<TableAttrs, String> {
        match s {
            None | Some("") => Ok(TableAttrs::default()),
            Some(s) => url_decode_row(s).map(TableAttrs),
        }
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
    pub fn set(&mut self, key: &str, value: Option<&str>) {
        self.0.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.0.push((key.to_string(), Some(v.to_string())));
        }
    }
    pub fn encode(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| url_encode_row(&self.0))
    }
    /// `handler=NAME(args)`.
    pub fn handler(&self) -> Option<&str> {
        self.get("handler").filter(|h| !h.is_empty())
    }
    pub fn skip_truncate(&self) -> bool {
        matches!(self.get("skip_truncate"), Some("1" | "true"))
    }
    /// `copy_node=NODE` or `?` (find the nearest node that has it).
    pub fn copy_node(&self) -> Option<&str> {
        self.get("copy_node").filter(|n| !n.is_empty())
    }
    pub fn max_parallel_copy(&self) -> Option<u32> {
        self.get("max_parallel_copy").and_then(|v| v.parse().ok())
    }
}

/// One row of `get_table_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    pub table_name: String,
    pub local: bool,
    pub merge_state: MergeState,
    pub custom_snapshot: Option<String>,
    pub table_attrs: TableAttrs,
    pub dropped_ddl: Option<String>,
    pub copy_role: Option<String>,
    pub copy_pos: i32,
    pub dest_table: Option<String>,
}

impl TableInfo {
    /// The local table the rows go into.
    pub fn dest(&self) -> &str {
        self.dest_table.as_deref().unwrap_or(&self.table_name)
    }
}

/// One row of `get_seq_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqInfo {
    pub seq_name: String,
    pub last_value: Option<i64>,
    pub local: bool,
}

fn q(what: &str, e: tokio_postgres::Error) -> CascadeError {
    CascadeError::Db(DbError::query(format!("{what}: {}", describe(&e)), e))
}

/// Every table registered on `queue` here, in display order.
pub async fn tables(c: &impl GenericClient, queue: &str) -> Result<Vec<TableInfo>> {
    let rows = c
        .query(
            "select table_name, local, merge_state, custom_snapshot, table_attrs, dropped_ddl, \
                    copy_role, copy_pos, dest_table from londiste.get_table_list($1)",
            &[&queue],
        )
        .await
        .map_err(|e| q("londiste.get_table_list", e))?;
    rows.iter()
        .map(|r| {
            let name: String = r.get(0);
            let bad = |why: String| CascadeError::State(format!("table {name}: {why}"));
            Ok(TableInfo {
                merge_state: MergeState::parse(r.get(2)).map_err(bad)?,
                table_attrs: TableAttrs::parse(r.get(4)).map_err(bad)?,
                local: r.get(1),
                custom_snapshot: r.get(3),
                dropped_ddl: r.get(5),
                copy_role: r.get(6),
                copy_pos: r.get::<_, Option<i32>>(7).unwrap_or(0),
                dest_table: r.get(8),
                table_name: name,
            })
        })
        .collect()
}

/// Every sequence registered on `queue` here.
pub async fn seqs(c: &impl GenericClient, queue: &str) -> Result<Vec<SeqInfo>> {
    let rows = c
        .query(
            "select seq_name, last_value, local from londiste.get_seq_list($1)",
            &[&queue],
        )
        .await
        .map_err(|e| q("londiste.get_seq_list", e))?;
    Ok(rows
        .iter()
        .map(|r| SeqInfo {
            seq_name: r.get(0),
            last_value: r.get(1),
            local: r.get(2),
        })
        .collect())
}

/// `local_show_missing`: (kind 'r' or 'S', name).
pub async fn missing(c: &impl GenericClient, queue: &str) -> Result<Vec<(String, String)>> {
    let rows = c
        .query(
            "select obj_kind, obj_name from londiste.local_show_missing($1)",
            &[&queue],
        )
        .await
        .map_err(|e| q("londiste.local_show_missing", e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub async fn local_add_table(
    c: &impl GenericClient,
    queue: &str,
    table: &str,
    trigger_args: &[String],
    attrs: Option<&str>,
    dest: Option<&str>,
) -> Result<Rc> {
    rc(
        c,
        "londiste.local_add_table",
        "select * from londiste.local_add_table($1, $2, $3, $4, $5)",
        &[&queue, &table, &trigger_args, &attrs, &dest],
    )
    .await
}

pub async fn local_remove_table(c: &impl GenericClient, queue: &str, table: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.local_remove_table",
        "select * from londiste.local_remove_table($1, $2)",
        &[&queue, &table],
    )
    .await
}

pub async fn local_change_handler(
    c: &impl GenericClient,
    queue: &str,
    table: &str,
    trigger_args: &[String],
    attrs: Option<&str>,
) -> Result<Rc> {
    rc(
        c,
        "londiste.local_change_handler",
        "select * from londiste.local_change_handler($1, $2, $3, $4)",
        &[&queue, &table, &trigger_args, &attrs],
    )
    .await
}

pub async fn local_add_seq(c: &impl GenericClient, queue: &str, seq: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.local_add_seq",
        "select * from londiste.local_add_seq($1, $2)",
        &[&queue, &seq],
    )
    .await
}

pub async fn local_remove_seq(c: &impl GenericClient, queue: &str, seq: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.local_remove_seq",
        "select * from londiste.local_remove_seq($1, $2)",
        &[&queue, &seq],
    )
    .await
}

pub async fn set_table_state(
    c: &impl GenericClient,
    queue: &str,
    table: &str,
    snapshot: Option<&str>,
    state: MergeState,
) -> Result<Rc> {
    let st = state.stored();
    rc(
        c,
        "londiste.local_set_table_state",
        "select * from londiste.local_set_table_state($1, $2, $3, $4)",
        &[&queue, &table, &snapshot, &st],
    )
    .await
}

pub async fn set_table_attrs(
    c: &impl GenericClient,
    queue: &str,
    table: &str,
    attrs: Option<&str>,
) -> Result<Rc> {
    rc(
        c,
        "londiste.local_set_table_attrs",
        "select * from londiste.local_set_table_attrs($1, $2, $3)",
        &[&queue, &table, &attrs],
    )
    .await
}

pub async fn global_add_table(c: &impl GenericClient, queue: &str, table: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.global_add_table",
        "select * from londiste.global_add_table($1, $2)",
        &[&queue, &table],
    )
    .await
}

pub async fn global_remove_table(c: &impl GenericClient, queue: &str, table: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.global_remove_table",
        "select * from londiste.global_remove_table($1, $2)",
        &[&queue, &table],
    )
    .await
}

pub async fn global_update_seq(
    c: &impl GenericClient,
    queue: &str,
    seq: &str,
    value: i64,
) -> Result<Rc> {
    rc(
        c,
        "londiste.global_update_seq",
        "select * from londiste.global_update_seq($1, $2, $3)",
        &[&queue, &seq, &value],
    )
    .await
}

pub async fn global_remove_seq(c: &impl GenericClient, queue: &str, seq: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.global_remove_seq",
        "select * from londiste.global_remove_seq($1, $2)",
        &[&queue, &seq],
    )
    .await
}

/// Root: publish sequence values ahead of use (spec §5.8).
pub async fn root_check_seqs(c: &impl GenericClient, queue: &str) -> Result<Rc> {
    rc(
        c,
        "londiste.root_check_seqs",
        "select * from londiste.root_check_seqs($1)",
        &[&queue],
    )
    .await
}

/// A foreign key dropped for a copy, waiting to be restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingFkey {
    pub from_table: String,
    pub to_table: String,
    pub fkey_name: String,
    pub fkey_def: String,
}

fn fkeys(rows: &[tokio_postgres::Row]) -> Vec<PendingFkey> {
    rows.iter()
        .map(|r| PendingFkey {
            from_table: r.get("from_table"),
            to_table: r.get("to_table"),
            fkey_name: r.get("fkey_name"),
            fkey_def: r.get("fkey_def"),
        })
        .collect()
}

/// Foreign keys from or to `table` (live ones, in the catalog).
pub async fn table_fkeys(c: &impl GenericClient, table: &str) -> Result<Vec<PendingFkey>> {
    let rows = c
        .query("select * from londiste.find_table_fkeys($1)", &[&table])
        .await
        .map_err(|e| q("londiste.find_table_fkeys", e))?;
    Ok(fkeys(&rows))
}

/// Dropped foreign keys whose both tables are in sync again.
pub async fn valid_pending_fkeys(c: &impl GenericClient, queue: &str) -> Result<Vec<PendingFkey>> {
    let rows = c
        .query(
            "select * from londiste.get_valid_pending_fkeys($1)",
            &[&queue],
        )
        .await
        .map_err(|e| q("londiste.get_valid_pending_fkeys", e))?;
    Ok(fkeys(&rows))
}

/// Save a foreign key in pending_fkeys and drop it.
pub async fn drop_fkey(c: &impl GenericClient, from_table: &str, name: &str) -> Result<()> {
    c.query_one(
        "select londiste.drop_table_fkey($1, $2)",
        &[&from_table, &name],
    )
    .await
    .map_err(|e| q(&format!("dropping foreign key {name} of {from_table}"), e))?;
    Ok(())
}

/// Restore a pending foreign key: `NOT VALID` first, then `VALIDATE` (lazy
/// steps, each in its own call), until the function answers ''.
pub async fn restore_fkey(c: &impl GenericClient, from_table: &str, name: &str) -> Result<()> {
    loop {
        let sql: Option<String> = c
            .query_one(
                "select londiste.restore_table_fkey($1, $2, true)",
                &[&from_table, &name],
            )
            .await
            .map_err(|e| q(&format!("restoring foreign key {name} of {from_table}"), e))?
            .get(0);
        match sql.filter(|s| !s.is_empty()) {
            None => return Ok(()),
            Some(sql) => c
                .batch_execute(&sql)
                .await
                .map_err(|e| q(&format!("restoring foreign key {name} of {from_table}"), e))?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_states_round_trip() {
        for s in [
            MergeState::Missing,
            MergeState::InCopy,
            MergeState::CatchingUp,
            MergeState::WannaSync(42),
            MergeState::DoSync(7),
            MergeState::Ok,
        ] {
            assert_eq!(MergeState::parse(s.stored().as_deref()), Ok(s));
        }
        assert_eq!(MergeState::parse(Some("?")), Ok(MergeState::Ok));
        assert!(MergeState::parse(Some("do-sync:x")).is_err());
        assert!(MergeState::parse(Some("copying")).is_err());
    }

    #[test]
    fn table_attrs() {
        let mut a =
            TableAttrs::parse(Some("handler=bulk%28method%3d1%29&skip_truncate=1")).unwrap();
        assert_eq!(a.handler(), Some("bulk(method=1)"));
        assert!(a.skip_truncate());
        a.set("copy_node", Some("n2"));
        a.set("skip_truncate", None);
        assert_eq!(a.copy_node(), Some("n2"));
        assert!(!a.skip_truncate());
        let again = TableAttrs::parse(a.encode().as_deref()).unwrap();
        assert_eq!(again, a);
        assert_eq!(TableAttrs::parse(None).unwrap().encode(), None);
    }
}
