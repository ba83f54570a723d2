//! Londiste's table and sequence commands (spec §5.2, §5.3): add-table and
//! its options, remove-table, change-handler, add-seq, remove-seq, tables,
//! seqs, missing, resync, wait-sync. Steps are reported through the
//! cascade's [`Progress`], as every admin command does.

use std::time::Duration;

use tokio_postgres::{Client, GenericClient};

use super::handler::{parse_arg_list, Handler, HandlerSettings};
use super::sql::{self, MergeState, TableAttrs, TableInfo};
use super::worker::RegisterFilter;
use crate::cascade::admin::{Admin, Progress};
use crate::cascade::node::{CascadeError, NodeInfo, Result};
use crate::db::{describe, quote_fqname, DbError};

/// What add-table does with each table (the options of spec §5.3).
#[derive(Debug, Clone, Default)]
pub struct AddTableOptions {
    /// Every missing table (`--all`).
    pub all: bool,
    pub dest_table: Option<String>,
    /// Accept names found in no list.
    pub force: bool,
    pub expect_sync: bool,
    pub skip_truncate: bool,
    /// Create the local table from the provider's: `Some(false)` table and
    /// primary key, `Some(true)` with defaults, constraints and indexes.
    pub create: Option<bool>,
    pub trigger_flags: Option<String>,
    pub trigger_args: Vec<String>,
    pub no_triggers: bool,
    pub handler: Option<String>,
    pub handler_args: Vec<String>,
    pub find_copy_node: bool,
    pub copy_node: Option<String>,
    pub merge_all: bool,
    pub no_merge: bool,
    pub max_parallel_copy: Option<u32>,
    pub skip_non_existing: bool,
    /// `statement_timeout` while registering (job file `lock_timeout`).
    pub lock_timeout: Duration,
    /// The job file's handler keys (the shard hash function).
    pub handler_settings: HandlerSettings,
    /// The job file's register_only/skip filters.
    pub register: RegisterFilter,
}

fn state(msg: impl Into<String>) -> CascadeError {
    CascadeError::State(msg.into())
}

/// `schema.table`, schema defaulting to public.
pub fn fqname(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("public.{name}")
    }
}

/// Shell-style glob (`*`, `?`) against a name.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some('?'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}

fn is_glob(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// Expand table arguments (globs, default schema) against `candidates`.
fn expand(args: &[String], candidates: &[String], force: bool) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for a in args {
        let a = fqname(a);
        if is_glob(&a) {
            let hits: Vec<&String> = candidates.iter().filter(|c| glob_match(&a, c)).collect();
            if hits.is_empty() {
                return Err(state(format!("{a}: no table matches")));
            }
            for h in hits {
                if !out.contains(h) {
                    out.push(h.clone());
                }
            }
        } else if candidates.contains(&a) || force {
            if !out.contains(&a) {
                out.push(a);
            }
        } else {
            return Err(state(format!(
                "table {a} not found (see `missing` for what can be added; --force accepts it anyway)"
            )));
        }
    }
    Ok(out)
}

/// The provider's connection (non-root nodes).
async fn provider(info: &NodeInfo) -> Result<Client> {
    let loc = info
        .provider_location
        .as_deref()
        .ok_or_else(|| state(format!("node {} has no provider location", info.node_name)))?;
    Ok(crate::db::connect(loc).await?)
}

/// Bring the global table list in line with the provider's.
async fn sync_global_tables(
    admin: &Admin,
    local: &Client,
    prov: &Client,
    register: &RegisterFilter,
    p: &mut dyn Progress,
) -> Result<Vec<TableInfo>> {
    let theirs: Vec<TableInfo> = sql::tables(prov, &admin.queue)
        .await?
        .into_iter()
        .filter(|t| register.table(&t.table_name))
        .collect();
    let ours = sql::tables(local, &admin.queue).await?;
    for t in &theirs {
        if !ours.iter().any(|o| o.table_name == t.table_name) {
            sql::global_add_table(local, &admin.queue, &t.table_name).await?;
            p.step(&format!("registered global table {}", t.table_name));
        }
    }
    for o in &ours {
        if !theirs.iter().any(|t| t.table_name == o.table_name) {
            sql::global_remove_table(local, &admin.queue, &o.table_name).await?;
            p.step(&format!(
                "removed global table {} (gone upstream)",
                o.table_name
            ));
        }
    }
    Ok(theirs)
}

async fn table_exists(c: &impl GenericClient, name: &str) -> Result<bool> {
    let r = c
        .query_one("select londiste.find_table_oid($1) is not null", &[&name])
        .await
        .map_err(|e| DbError::query(format!("looking up table {name}: {}", describe(&e)), e))?;
    Ok(r.get(0))
}

/// `CREATE TABLE` for `dest` from `src` on the provider: columns and
/// primary key; `full` adds defaults, check/unique/exclusion constraints
/// and indexes.
pub async fn table_ddl(prov: &Client, src: &str, dest: &str, full: bool) -> Result<String> {
    // By regclass: the provider need not have the londiste schema.
    let src_q = quote_fqname(src);
    let cols = prov
        .query(
            "select quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) \
                    || case when a.attnotnull then ' not null' else '' end \
                    || case when $2 and d.adbin is not null and a.attgenerated = '' \
                            then ' default ' || pg_get_expr(d.adbin, d.adrelid) else '' end \
               from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
              where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped \
              order by a.attnum",
            &[&src_q, &full],
        )
        .await
        .map_err(|e| DbError::query(format!("reading the structure of {src}: {}", describe(&e)), e))?;
    if cols.is_empty() {
        return Err(state(format!("table {src} does not exist on the provider")));
    }
    let cols: Vec<String> = cols.iter().map(|r| r.get(0)).collect();
    let q = quote_fqname(dest);
    let mut sql = String::new();
    let schema = dest.split_once('.').map(|(s, _)| s).unwrap_or("public");
    sql.push_str(&format!(
        "create schema if not exists {};\n",
        crate::db::quote_ident(schema)
    ));
    let mut owned: Vec<(String, String)> = Vec::new();
    if full {
        // Sequences the defaults use (serial columns) come first.
        for r in prov
            .query(
                "select pg_get_serial_sequence($1, a.attname), quote_ident(a.attname) \
                   from pg_attribute a \
                  where a.attrelid = to_regclass($2) and a.attnum > 0 and not a.attisdropped",
                &[&src_q, &src_q],
            )
            .await
            .map_err(|e| {
                DbError::query(
                    format!("reading the sequences of {src}: {}", describe(&e)),
                    e,
                )
            })?
        {
            if let Some(seq) = r.get::<_, Option<String>>(0) {
                sql.push_str(&format!("create sequence if not exists {seq};\n"));
                owned.push((seq, r.get::<_, String>(1)));
            }
        }
    }
    sql.push_str(&format!(
        "create table {q} (\n    {}\n);\n",
        cols.join(",\n    ")
    ));
    // As a serial column's: the sequence belongs to the column (dropped
    // with it; pg_get_serial_sequence finds it).
    for (seq, col) in owned {
        sql.push_str(&format!("alter sequence {seq} owned by {q}.{col};\n"));
    }
    let kinds = if full { "pcux" } else { "p" };
    for r in prov
        .query(
            "select quote_ident(conname), pg_get_constraintdef(oid) from pg_constraint \
              where conrelid = to_regclass($1) and strpos($2, contype::text) > 0 \
              order by contype, conname",
            &[&src_q, &kinds],
        )
        .await
        .map_err(|e| DbError::query(format!("reading constraints of {src}: {}", describe(&e)), e))?
    {
        let (name, def): (String, String) = (r.get(0), r.get(1));
        sql.push_str(&format!("alter table {q} add constraint {name} {def};\n"));
    }
    if full {
        for r in prov
            .query(
                "select pg_get_indexdef(i.indexrelid) from pg_index i \
                  where i.indrelid = to_regclass($1) \
                    and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid) \
                  order by i.indexrelid",
                &[&src_q],
            )
            .await
            .map_err(|e| DbError::query(format!("reading indexes of {src}: {}", describe(&e)), e))?
        {
            // The definition names the source table: point it at dest.
            let def: String = r.get(0);
            let Some(at) = def
                .find(&format!(" ON {src_q} "))
                .or_else(|| def.find(&format!(" ON ONLY {src_q} ")))
            else {
                continue;
            };
            let rest = &def[at..];
            let rest = rest.replacen(&src_q, &q, 1);
            let head = def[..at].replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1);
            let head = head.replacen(
                "CREATE UNIQUE INDEX ",
                "CREATE UNIQUE INDEX IF NOT EXISTS ",
                1,
            );
            sql.push_str(&format!("{head}{rest};\n"));
        }
    }
    Ok(sql)
}

/// add-table: register each table locally (and globally on the root).
pub async fn add_tables(
    admin: &Admin,
    args: &[String],
    o: &AddTableOptions,
    p: &mut dyn Progress,
) -> Result<Vec<String>> {
    if o.dest_table.is_some() && (o.all || args.len() != 1 || args.iter().any(|a| is_glob(a))) {
        return Err(state("--dest-table needs exactly one table"));
    }
    if o.merge_all && o.no_merge {
        return Err(state("--merge-all and --no-merge exclude each other"));
    }
    let mut local = admin.local().await?;
    let info = admin.local_node(&local).await?;
    let prov = if info.is_root() {
        None
    } else {
        Some(provider(&info).await?)
    };
    let provider_tables = match &prov {
        Some(c) => Some(sync_global_tables(admin, &local, c, &o.register, p).await?),
        None => None,
    };
    let missing: Vec<String> = sql::missing(&local, &admin.queue)
        .await?
        .into_iter()
        .filter(|(k, _)| k == "r")
        .map(|(_, n)| n)
        .collect();
    // Tables already local here are said so, not "not found".
    let ours: Vec<String> = sql::tables(&local, &admin.queue)
        .await?
        .into_iter()
        .filter(|t| t.local)
        .map(|t| t.table_name)
        .collect();
    let mut args: Vec<String> = args.to_vec();
    args.retain(|a| {
        let n = fqname(a);
        let here = !is_glob(&n) && ours.contains(&n);
        if here {
            p.step(&format!("{n}: already added here"));
        }
        !here
    });
    let mut names = if o.all {
        missing.clone()
    } else if args.is_empty() {
        Vec::new()
    } else {
        let mut cands = missing.clone();
        if let Some(pt) = &provider_tables {
            cands.extend(pt.iter().map(|t| t.table_name.clone()));
        }
        expand(&args, &cands, o.force)?
    };
    if names.is_empty() {
        p.step("nothing to add");
        return Ok(Vec::new());
    }
    // Non-root: the provider must have the table in sync.
    if let Some(pt) = &provider_tables {
        let mut keep = Vec::new();
        for n in names {
            let ok = pt
                .iter()
                .any(|t| t.table_name == n && t.local && t.merge_state == MergeState::Ok);
            let known = pt.iter().any(|t| t.table_name == n);
            if ok || o.expect_sync || o.find_copy_node || o.copy_node.is_some() {
                if !known {
                    return Err(state(format!(
                        "table {n} is not in the cascade's table set"
                    )));
                }
                keep.push(n);
            } else if o.skip_non_existing {
                p.step(&format!("skipping {n}: not local on the provider"));
            } else {
                return Err(state(format!(
                    "table {n} is not replicated on the provider yet (add it there first, or use \
                     --find-copy-node / --copy-node=NODE / --expect-sync)"
                )));
            }
        }
        names = keep;
    }
    let mut attrs = TableAttrs::default();
    let handler = match &o.handler {
        None if o.handler_args.is_empty() => None,
        h => {
            let name = h.as_deref().unwrap_or("londiste").trim();
            if name.contains('(') {
                return Err(state(format!(
                    "--handler={name}: give the handler's name alone and its arguments with \
                     --handler-arg=KEY=VALUE"
                )));
            }
            let args = parse_arg_list(&o.handler_args).map_err(state)?;
            let h = Handler::build(name, args, &o.handler_settings).map_err(state)?;
            attrs.set("handler", Some(&h.spec()));
            Some(h)
        }
    };
    if o.skip_truncate {
        attrs.set("skip_truncate", Some("1"));
    }
    if o.find_copy_node {
        attrs.set("copy_node", Some("?"));
    } else if let Some(n) = &o.copy_node {
        attrs.set("copy_node", Some(n));
    }
    if let Some(m) = o.max_parallel_copy {
        attrs.set("max_parallel_copy", Some(&m.to_string()));
    }
    let mut tgargs: Vec<String> = Vec::new();
    if let Some(f) = &o.trigger_flags {
        tgargs.push(format!("tgflags={f}"));
    }
    tgargs.extend(o.trigger_args.iter().cloned());
    let mut expect_sync = o.expect_sync;
    if let Some(h) = &handler {
        h.trigger_args(&mut tgargs, &mut expect_sync);
    }
    if expect_sync {
        tgargs.push("expect_sync".into());
    }
    if o.no_triggers {
        tgargs.push("no_triggers".into());
    }
    if o.merge_all {
        tgargs.push("merge_all".into());
    }
    if o.no_merge {
        tgargs.push("no_merge".into());
    }
    let mut added = Vec::new();
    for n in &names {
        let dest = o.dest_table.as_deref().map(fqname);
        let dest_name = dest.clone().unwrap_or_else(|| n.clone());
        let needs_table = handler.as_ref().is_none_or(|h| h.needs_table());
        if needs_table && !table_exists(&local, &dest_name).await? {
            match (o.create, &prov) {
                (Some(full), Some(prov)) => {
                    let ddl = table_ddl(prov, n, &dest_name, full).await?;
                    local.batch_execute(&ddl).await.map_err(|e| {
                        DbError::query(format!("creating {dest_name}: {}", describe(&e)), e)
                    })?;
                    p.step(&format!("created table {dest_name} from the provider's {n}"));
                }
                (Some(_), None) => {
                    return Err(state(format!(
                        "table {dest_name} does not exist; --create needs a provider (this is the root)"
                    )))
                }
                (None, _) if o.skip_non_existing => {
                    p.step(&format!("skipping {n}: table {dest_name} does not exist here"));
                    continue;
                }
                (None, _) => {
                    return Err(state(format!(
                        "table {dest_name} does not exist here (create it, or use --create / --create-full)"
                    )))
                }
            }
        }
        let tx = local
            .transaction()
            .await
            .map_err(|e| DbError::query("begin", e))?;
        let ms = o.lock_timeout.as_millis();
        tx.batch_execute(&format!("set local statement_timeout = {ms}"))
            .await
            .map_err(|e| DbError::query("set statement_timeout", e))?;
        let rc = sql::local_add_table(
            &tx,
            &admin.queue,
            n,
            &tgargs,
            attrs.encode().as_deref(),
            dest.as_deref(),
        )
        .await?;
        tx.commit().await.map_err(|e| DbError::query("commit", e))?;
        p.step(&format!("{}: {}", rc.code, rc.note));
        added.push(n.clone());
    }
    wake_worker(admin, &local).await;
    Ok(added)
}

/// Wake the local worker so it starts copies at once.
async fn wake_worker(admin: &Admin, c: &Client) {
    let _ = c
        .execute(
            "select pg_notify($1, $2)",
            &[&crate::cascade::worker::WAKE_CHANNEL, &admin.worker],
        )
        .await;
}

/// remove-table.
pub async fn remove_tables(
    admin: &Admin,
    args: &[String],
    all: bool,
    p: &mut dyn Progress,
) -> Result<()> {
    let local = admin.local().await?;
    let ours: Vec<String> = sql::tables(&local, &admin.queue)
        .await?
        .into_iter()
        .filter(|t| t.local)
        .map(|t| t.table_name)
        .collect();
    let names = if all {
        ours.clone()
    } else {
        expand(args, &ours, false)?
    };
    for n in names {
        let rc = sql::local_remove_table(&local, &admin.queue, &n).await?;
        p.step(&format!("{}: {}", rc.code, rc.note));
    }
    wake_worker(admin, &local).await;
    Ok(())
}

/// change-handler: a new handler (or none) for one table.
pub async fn change_handler(
    admin: &Admin,
    table: &str,
    handler: Option<&str>,
    handler_args: &[String],
    settings: &HandlerSettings,
    p: &mut dyn Progress,
) -> Result<()> {
    let local = admin.local().await?;
    let name = fqname(table);
    let t = sql::tables(&local, &admin.queue)
        .await?
        .into_iter()
        .find(|t| t.table_name == name && t.local)
        .ok_or_else(|| state(format!("table {name} is not local on this node")))?;
    let mut attrs = t.table_attrs.clone();
    let spec = match handler {
        None if handler_args.is_empty() => None,
        h => {
            let args = parse_arg_list(handler_args).map_err(state)?;
            Some(Handler::build(h.unwrap_or("londiste"), args, settings).map_err(state)?)
        }
    };
    // The trigger is recreated with what the new handler adds to it.
    let mut tgargs = Vec::new();
    if let Some(h) = &spec {
        h.trigger_args(&mut tgargs, &mut false);
    }
    let spec = spec.map(|h| h.spec());
    if attrs.handler().map(str::to_string) == spec {
        p.step(&format!("{name}: handler unchanged"));
        return Ok(());
    }
    attrs.set("handler", spec.as_deref());
    let rc = sql::local_change_handler(
        &local,
        &admin.queue,
        &name,
        &tgargs,
        attrs.encode().as_deref(),
    )
    .await?;
    p.step(&format!("{}: {}", rc.code, rc.note));
    Ok(())
}

/// add-seq.
pub async fn add_seqs(
    admin: &Admin,
    args: &[String],
    all: bool,
    create: bool,
    skip_non_existing: bool,
    register: &RegisterFilter,
    p: &mut dyn Progress,
) -> Result<()> {
    let local = admin.local().await?;
    let info = admin.local_node(&local).await?;
    let prov = if info.is_root() {
        None
    } else {
        Some(provider(&info).await?)
    };
    if let Some(prov) = &prov {
        let theirs = sql::seqs(prov, &admin.queue).await?;
        let ours = sql::seqs(&local, &admin.queue).await?;
        for s in &theirs {
            if !register.seq(&s.seq_name) {
                continue;
            }
            if let (false, Some(v)) = (ours.iter().any(|o| o.seq_name == s.seq_name), s.last_value)
            {
                sql::global_update_seq(&local, &admin.queue, &s.seq_name, v).await?;
            }
        }
    }
    let missing: Vec<String> = sql::missing(&local, &admin.queue)
        .await?
        .into_iter()
        .filter(|(k, _)| k == "S")
        .map(|(_, n)| n)
        .collect();
    let names = if all {
        missing.clone()
    } else {
        expand(args, &missing, false)?
    };
    for n in names {
        let exists: bool = local
            .query_one("select londiste.find_seq_oid($1) is not null", &[&n])
            .await
            .map_err(|e| DbError::query(format!("looking up sequence {n}"), e))?
            .get(0);
        if !exists {
            if create {
                let q = quote_fqname(&n);
                let schema = n.split_once('.').map(|(s, _)| s).unwrap_or("public");
                local
                    .batch_execute(&format!(
                        "create schema if not exists {}; create sequence {q}",
                        crate::db::quote_ident(schema)
                    ))
                    .await
                    .map_err(|e| DbError::query(format!("creating sequence {n}"), e))?;
                p.step(&format!("created sequence {n}"));
            } else if skip_non_existing {
                p.step(&format!("skipping {n}: sequence does not exist here"));
                continue;
            } else {
                return Err(state(format!(
                    "sequence {n} does not exist here (create it, or use --create)"
                )));
            }
        }
        let rc = sql::local_add_seq(&local, &admin.queue, &n).await?;
        p.step(&format!("{}: {}", rc.code, rc.note));
    }
    if info.is_root() {
        // Publish the values now, not at the worker's next loop: a node
        // below may add the sequence right away.
        sql::root_check_seqs(&local, &admin.queue).await?;
    }
    Ok(())
}

/// remove-seq.
pub async fn remove_seqs(admin: &Admin, args: &[String], p: &mut dyn Progress) -> Result<()> {
    let local = admin.local().await?;
    for a in args {
        let rc = sql::local_remove_seq(&local, &admin.queue, &fqname(a)).await?;
        p.step(&format!("{}: {}", rc.code, rc.note));
    }
    Ok(())
}

/// resync: copy the tables again.
pub async fn resync(
    admin: &Admin,
    args: &[String],
    find_copy_node: bool,
    copy_node: Option<&str>,
    p: &mut dyn Progress,
) -> Result<()> {
    let local = admin.local().await?;
    let info = admin.local_node(&local).await?;
    if info.is_root() {
        return Err(state("resync copies from a provider; the root has none"));
    }
    let ours = sql::tables(&local, &admin.queue).await?;
    let names = expand(
        args,
        &ours
            .iter()
            .filter(|t| t.local)
            .map(|t| t.table_name.clone())
            .collect::<Vec<_>>(),
        false,
    )?;
    let prov = provider(&info).await?;
    let theirs = sql::tables(&prov, &admin.queue).await?;
    for n in names {
        let t = ours
            .iter()
            .find(|t| t.table_name == n)
            .expect("expanded from ours");
        if copy_node.is_none()
            && !find_copy_node
            && !theirs.iter().any(|x| x.table_name == n && x.local)
        {
            return Err(state(format!(
                "table {n} is not local on the provider (use --find-copy-node or --copy-node=NODE)"
            )));
        }
        let mut attrs = t.table_attrs.clone();
        if find_copy_node {
            attrs.set("copy_node", Some("?"));
        } else if let Some(c) = copy_node {
            attrs.set("copy_node", Some(c));
        }
        if attrs != t.table_attrs {
            sql::set_table_attrs(&local, &admin.queue, &n, attrs.encode().as_deref()).await?;
        }
        sql::set_table_state(&local, &admin.queue, &n, None, MergeState::Missing).await?;
        p.step(&format!("{n}: will be copied again"));
    }
    wake_worker(admin, &local).await;
    Ok(())
}

/// wait-sync: until every local table is `ok`.
pub async fn wait_sync(admin: &Admin, p: &mut dyn Progress) -> Result<()> {
    let local = admin.local().await?;
    let start = std::time::Instant::now();
    let mut last = usize::MAX;
    loop {
        let ts: Vec<TableInfo> = sql::tables(&local, &admin.queue)
            .await?
            .into_iter()
            .filter(|t| t.local)
            .collect();
        let pending: Vec<&TableInfo> = ts
            .iter()
            .filter(|t| t.merge_state != MergeState::Ok)
            .collect();
        if pending.len() != last {
            if pending.is_empty() {
                p.step(&format!("all {} table(s) in sync", ts.len()));
                return Ok(());
            }
            p.running(&format!("{}/{} table(s) to copy", pending.len(), ts.len()));
            last = pending.len();
        }
        if start.elapsed() > admin.timeout {
            return Err(state(format!(
                "still waiting after {}: {}",
                crate::fmt::duration(admin.timeout),
                pending
                    .iter()
                    .map(|t| format!("{} ({})", t.table_name, t.merge_state))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("public.*", "public.t1"));
        assert!(glob_match("public.t?", "public.t1"));
        assert!(!glob_match("public.t?", "public.t12"));
        assert!(glob_match("*", "x.y"));
        assert!(!glob_match("a*", "b"));
        let c = vec!["public.a1".to_string(), "public.a2".into(), "s.b".into()];
        assert_eq!(
            expand(&["a*".into()], &c, false).unwrap(),
            vec!["public.a1", "public.a2"]
        );
        assert!(expand(&["zz".into()], &c, false).is_err());
        assert_eq!(expand(&["zz".into()], &c, true).unwrap(), vec!["public.zz"]);
    }
}
