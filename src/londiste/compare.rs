//! compare and repair (spec §5.12): check that a replicated table holds the
//! same rows here as on its provider, and produce (or apply) the SQL that
//! makes it so.
//!
//! Both sides are brought to the same logical point first: the table is
//! locked on the root in SHARE mode (no writer can change it), a tick is
//! forced there, and once the provider and this node have both applied
//! that tick, neither can change the table until the lock goes. The sides
//! are then read while the lock is held.
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

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, TryStreamExt};
use serde::Serialize;
use tokio_postgres::Client;

use super::sql::{self, MergeState};
use crate::cascade::admin::{Admin, Progress};
use crate::cascade::node::{CascadeError, Result};
use crate::db::{describe, quote_fqname, quote_ident, quote_literal, DbError};

const SESSION: &str = "set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'; \
    set local intervalstyle = 'postgres'; set local extra_float_digits = 3; \
    set local bytea_output = 'hex'";

fn state(msg: impl Into<String>) -> CascadeError {
    CascadeError::State(msg.into())
}

fn q(what: String, e: tokio_postgres::Error) -> CascadeError {
    CascadeError::Db(DbError::query(format!("{what}: {}", describe(&e)), e))
}

/// How one table compared.
#[derive(Debug, Clone, Serialize)]
pub struct TableCompare {
    pub table: String,
    pub source_rows: i64,
    pub source_checksum: String,
    pub local_rows: i64,
    pub local_checksum: String,
}

impl TableCompare {
    pub fn equal(&self) -> bool {
        self.source_rows == self.local_rows && self.source_checksum == self.local_checksum
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
        .map_err(|e| q(format!("reading the columns of {src_t}"), e))?;
    let d = dst
        .query(cols_sql, &[&dst_t])
        .await
        .map_err(|e| q(format!("reading the columns of {dst_t}"), e))?;
    if d.is_empty() {
        return Err(state(format!("table {dst_t} does not exist here")));
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
/// is empty).
async fn pick(admin: &Admin, local: &Client, names: &[String]) -> Result<Vec<sql::TableInfo>> {
    let all = sql::tables(local, &admin.queue).await?;
    let mut out = Vec::new();
    for t in all.into_iter().filter(|t| t.local) {
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
                "table {} is {} here, not ok: wait for its copy",
                t.table_name, t.merge_state
            )));
        }
        out.push(t);
    }
    if out.is_empty() {
        return Err(state("no table to compare (none local and in sync here)"));
    }
    Ok(out)
}

/// Lock `table` on the root, force a tick, and wait until the provider and
/// this node have applied it. The returned client holds the lock (in an
/// open transaction) until dropped or rolled back.
async fn sync_point(
    admin: &Admin,
    local: &Client,
    provider_worker: Option<(&Client, &str)>,
    table: &str,
    lock_timeout: Duration,
    force: bool,
    p: &mut dyn Progress,
) -> Result<Client> {
    let (root, _) = admin.find_root(&admin.db).await?;
    root.batch_execute("begin")
        .await
        .map_err(|e| q("begin on the root".into(), e))?;
    if !force {
        root.batch_execute(&format!(
            "set local statement_timeout = {}",
            lock_timeout.as_millis()
        ))
        .await
        .map_err(|e| q("statement_timeout".into(), e))?;
    }
    root.batch_execute(&format!(
        "lock table only {} in share mode",
        quote_fqname(table)
    ))
    .await
    .map_err(|e| {
        q(
            format!("locking {table} on the root (lock_timeout, or --force to wait)"),
            e,
        )
    })?;
    p.step(&format!("locked {table} on the root"));
    // Force a tick through another connection and wait for the ticker.
    let (tc, _) = admin.find_root(&admin.db).await?;
    let last = crate::pgq::admin::force_tick(&tc, &admin.queue)
        .await
        .map_err(|e| state(e.to_string()))?;
    let started = Instant::now();
    let tick = loop {
        let top: Option<i64> = tc
            .query_one(
                "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
                  where q.queue_name = $1",
                &[&admin.queue],
            )
            .await
            .map_err(|e| q("reading the root's last tick".into(), e))?
            .get(0);
        if let Some(t) = top.filter(|t| *t > last) {
            break t;
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(state(format!(
                "no new tick on the root after 30 s: is a ticker running for queue {:?}?",
                admin.queue
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if let Some((pc, pworker)) = provider_worker {
        admin
            .wait_completed(pc, "the provider", pworker, tick, p)
            .await?;
    }
    let info = admin.local_node(local).await?;
    let worker = info
        .worker_name
        .clone()
        .unwrap_or_else(|| admin.worker.clone());
    admin
        .wait_completed(local, "this node", &worker, tick, p)
        .await?;
    Ok(root)
}

/// The provider's connection and its worker (None when it is the root).
async fn provider(admin: &Admin, local: &Client) -> Result<(Client, Option<String>)> {
    let info = admin.local_node(local).await?;
    if info.is_root() {
        return Err(state(
            "this is the root: compare and repair run on a replica",
        ));
    }
    let loc = info
        .provider_location
        .clone()
        .ok_or_else(|| state("this node has no provider location"))?;
    let pc = crate::db::connect(&loc).await?;
    let pinfo = admin.local_node(&pc).await?;
    let worker = if pinfo.is_root() {
        None
    } else {
        pinfo.worker_name.clone()
    };
    Ok((pc, worker))
}

async fn checksum(c: &Client, table: &str, cols: &[String]) -> Result<(i64, String)> {
    let row = cols
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select count(*), coalesce(sum(('x' || substr(md5(row({row})::text), 1, 16))::bit(64)::bigint), 0)::text \
           from only {}",
        quote_fqname(table)
    );
    c.batch_execute(&format!("begin; {SESSION}"))
        .await
        .map_err(|e| q("session settings".into(), e))?;
    let r = c.query_one(&sql, &[]).await;
    let _ = c.batch_execute("rollback").await;
    let r = r.map_err(|e| q(format!("checksum of {table}"), e))?;
    Ok((r.get(0), r.get(1)))
}

/// compare: per table, row count and checksum on the provider and here.
pub async fn compare(
    admin: &Admin,
    names: &[String],
    lock_timeout: Duration,
    force: bool,
    p: &mut dyn Progress,
) -> Result<Vec<TableCompare>> {
    let local = admin.local().await?;
    let tables = pick(admin, &local, names).await?;
    let (pc, pworker) = provider(admin, &local).await?;
    let mut out = Vec::new();
    for t in tables {
        let (cols, _) = common_columns(&pc, &local, &t.table_name, t.dest()).await?;
        let lock = sync_point(
            admin,
            &local,
            pworker.as_deref().map(|w| (&pc, w)),
            &t.table_name,
            lock_timeout,
            force,
            p,
        )
        .await?;
        let (sr, sc) = checksum(&pc, &t.table_name, &cols).await?;
        let (lr, lc) = checksum(&local, t.dest(), &cols).await?;
        let _ = lock.batch_execute("rollback").await;
        let r = TableCompare {
            table: t.table_name.clone(),
            source_rows: sr,
            source_checksum: sc,
            local_rows: lr,
            local_checksum: lc,
        };
        p.step(&format!(
            "{}: source {} rows, checksum {}; here {} rows, checksum {}{}",
            r.table,
            r.source_rows,
            r.source_checksum,
            r.local_rows,
            r.local_checksum,
            if r.equal() { "" } else { " — DIFFERENT" }
        ));
        out.push(r);
    }
    Ok(out)
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
    filter: Option<&str>,
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
    let cond = filter.map(|f| format!(" where {f}")).unwrap_or_default();
    let sql = format!(
        "select {list} from only {}{cond} order by {order}",
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

/// repair: the SQL that makes each table here equal to the provider's;
/// applied (in `replica` role) when `apply`.
#[allow(clippy::too_many_arguments)]
pub async fn repair(
    admin: &Admin,
    names: &[String],
    apply: bool,
    repair_where: Option<&str>,
    lock_timeout: Duration,
    force: bool,
    p: &mut dyn Progress,
) -> Result<Vec<TableRepair>> {
    let mut local = admin.local().await?;
    let tables = pick(admin, &local, names).await?;
    let (pc, pworker) = provider(admin, &local).await?;
    let mut out = Vec::new();
    for t in tables {
        let (cols, nk) = common_columns(&pc, &local, &t.table_name, t.dest()).await?;
        let lock = sync_point(
            admin,
            &local,
            pworker.as_deref().map(|w| (&pc, w)),
            &t.table_name,
            lock_timeout,
            force,
            p,
        )
        .await?;
        for c in [&pc, &local] {
            c.batch_execute(&format!("begin isolation level repeatable read; {SESSION}"))
                .await
                .map_err(|e| q("session settings".into(), e))?;
        }
        let dest = quote_fqname(t.dest());
        let mut r = TableRepair {
            table: t.table_name.clone(),
            ..Default::default()
        };
        {
            let src = rows(&pc, &t.table_name, &cols, nk, repair_where).await?;
            let dst = rows(&local, t.dest(), &cols, nk, repair_where).await?;
            pin_mut!(src);
            pin_mut!(dst);
            let next = |e: tokio_postgres::Error| q(format!("reading {}", t.table_name), e);
            let mut a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
            let mut b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
            let col_list = cols
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            loop {
                let ord = match (&a, &b) {
                    (None, None) => break,
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(x), Some(y)) => key_cmp(x, y, nk),
                };
                match ord {
                    Ordering::Less => {
                        let x = a.take().expect("some");
                        let vals = x.iter().map(lit).collect::<Vec<_>>().join(", ");
                        r.sql.push_str(&format!(
                            "insert into {dest} ({col_list}) values ({vals});\n"
                        ));
                        r.inserts += 1;
                        a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
                    }
                    Ordering::Greater => {
                        let y = b.take().expect("some");
                        r.sql.push_str(&format!(
                            "delete from only {dest} where {};\n",
                            where_key(&cols, nk, &y)
                        ));
                        r.deletes += 1;
                        b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
                    }
                    Ordering::Equal => {
                        let x = a.take().expect("some");
                        let y = b.take().expect("some");
                        let set: Vec<String> = cols
                            .iter()
                            .zip(x.iter().zip(&y))
                            .skip(nk)
                            .filter(|(_, (u, v))| u != v)
                            .map(|(c, (u, _))| format!("{} = {}", quote_ident(c), lit(u)))
                            .collect();
                        if !set.is_empty() {
                            r.sql.push_str(&format!(
                                "update only {dest} set {} where {};\n",
                                set.join(", "),
                                where_key(&cols, nk, &x)
                            ));
                            r.updates += 1;
                        }
                        a = src.try_next().await.map_err(next)?.map(|x| row_of(&x));
                        b = dst.try_next().await.map_err(next)?.map(|x| row_of(&x));
                    }
                }
            }
        }
        for c in [&pc, &local] {
            let _ = c.batch_execute("rollback").await;
        }
        if apply && !r.sql.is_empty() {
            let tx = local
                .transaction()
                .await
                .map_err(|e| q("begin".into(), e))?;
            tx.batch_execute("set local session_replication_role = replica")
                .await
                .map_err(|e| q("set session_replication_role".into(), e))?;
            tx.batch_execute(&r.sql)
                .await
                .map_err(|e| q(format!("applying the repair of {}", t.table_name), e))?;
            tx.commit().await.map_err(|e| q("commit".into(), e))?;
            r.applied = true;
        }
        let _ = lock.batch_execute("rollback").await;
        p.step(&format!(
            "{}: {} insert(s), {} update(s), {} delete(s){}",
            r.table,
            r.inserts,
            r.updates,
            r.deletes,
            if r.applied { ", applied" } else { "" }
        ));
        out.push(r);
    }
    Ok(out)
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
}
