//! Londiste end to end on real databases: root → branch → leaf, tables
//! added while writes run on the root, copied (in parallel, split into CTID
//! ranges), handed over to the worker by the copy/sync protocol, and equal
//! on every node at the end.

mod common;

use std::sync::Arc;
use std::time::Duration;

use skydeck::cascade::admin::{Admin, NodeKind};
use skydeck::cascade::{CascadeWorker, WorkerSettings};
use skydeck::daemon::{Policy, Supervisor};
use skydeck::londiste::admin::{self as ladmin, AddTableOptions};
use skydeck::londiste::compare;
use skydeck::londiste::sql::{self, MergeState};
use skydeck::londiste::worker::{Londiste, LondisteSettings};
use tokio_util::sync::CancellationToken;

const Q: &str = "lq";

const SCHEMA: &str = r#"
create type mood as enum ('sad', 'ok', 'happy');
create schema "Odd Schema";
"#;

const TABLES: &str = r#"
create table accounts (aid int primary key, bid int not null, abalance int not null default 0, filler text);
create index accounts_bid on accounts (bid);
create table "Odd Schema"."Mixed ""Tbl""" (
    id bigint primary key,
    "Num" numeric(12,3),
    arr int[],
    j jsonb,
    b bytea,
    ts timestamptz,
    m mood,
    "t ü" text
);
"#;

struct Db {
    dbname: String,
    connstr: String,
    admin: Admin,
    name: &'static str,
}

async fn db(name: &'static str) -> Db {
    let d = common::installed_db(&format!("ld_{name}")).await;
    let c = d.connect().await;
    c.batch_execute(SCHEMA).await.unwrap();
    let mut admin = Admin::londiste(Q, &d.connstr, &format!("{name}_worker"));
    admin.timeout = Duration::from_secs(120);
    Db {
        dbname: d.name,
        connstr: d.connstr,
        admin,
        name,
    }
}

fn worker(d: &Db) -> Arc<CascadeWorker> {
    let mut s = WorkerSettings::new(Q, &format!("{}_worker", d.name), &d.connstr);
    s.loop_delay = Duration::from_millis(300);
    s.local_wm_publish_period = Duration::from_secs(1);
    s.global_wm_publish_period = Duration::from_secs(1);
    let ls = LondisteSettings {
        parallel_copies: 2,
        copy_parts: 3,
        min_part_bytes: 64 << 10,
        ..LondisteSettings::default()
    };
    let app = Arc::new(Londiste::new(Q, &s.worker, &d.connstr, ls));
    Arc::new(CascadeWorker::new(s, String::new(), d.name).with_applier(app))
}

fn say() -> impl FnMut(&str) + Send {
    |s: &str| eprintln!("  step: {s}")
}

/// Random changes on the root in small committed transactions.
fn writer(connstr: String, stop: CancellationToken) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let c = skydeck::db::connect(&connstr).await.unwrap();
        let mut n = 0u64;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        while !stop.is_cancelled() {
            let a = (next() % 30_000) as i32;
            let b = (next() % 30_000) as i32;
            let id = (next() % 600) as i64;
            let sql = format!(
                "begin;
                 update accounts set abalance = abalance + 1 where aid = {a};
                 delete from accounts where aid = {b};
                 insert into accounts values ({b}, 1, 0, 'again') on conflict (aid) do update set filler = 'upd';
                 insert into \"Odd Schema\".\"Mixed \"\"Tbl\"\"\" values ({id}, 1.5, '{{1,2}}', '{{\"k\": 1}}', '\\x00ff', now(), 'ok', 'ü \"q\" ''s''')
                   on conflict (id) do update set \"Num\" = excluded.\"Num\" + 1, m = 'happy';
                 commit;"
            );
            c.batch_execute(&sql).await.unwrap();
            n += 1;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        n
    })
}

async fn checksum(connstr: &str, table: &str, order: &str) -> (i64, String) {
    let c = skydeck::db::connect(connstr).await.unwrap();
    let r = c
        .query_one(
            &format!(
                "select count(*), coalesce(md5(string_agg(t::text, '|' order by {order})), '') from {table} t"
            ),
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tables_copy_and_replay_under_writes() {
    let root = db("root").await;
    let branch = db("branch").await;
    let leaf = db("leaf").await;
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    rc.batch_execute(TABLES).await.unwrap();
    rc.batch_execute(
        "insert into accounts select i, i % 10, 0, repeat('x', 80) from generate_series(1, 30000) i;
         insert into \"Odd Schema\".\"Mixed \"\"Tbl\"\"\"
           select i, i * 1.25, array[i, null], jsonb_build_object('i', i, 'u', 'ü'), '\\xdeadbeef',
                  '2024-03-01 12:00+02'::timestamptz + i * interval '1 hour',
                  (array['sad','ok','happy'])[1 + i % 3]::mood, E'tab\\there\\nline ' || i
             from generate_series(1, 300) i;
         analyze;",
    )
    .await
    .unwrap();

    let stop = CancellationToken::new();
    let tick = common::ticker_for(common::cluster(), &[&root.dbname, &branch.dbname], &stop);
    let mut p = say();
    common::create_chain(&[
        (&root.admin, "root", &root.connstr),
        (&branch.admin, "branch", &branch.connstr),
        (&leaf.admin, "leaf", &leaf.connstr),
    ])
    .await;
    let sup = Supervisor::new(Policy::default());
    for d in [&root, &branch, &leaf] {
        sup.add(worker(d));
    }

    // Root: every table; writes start right away.
    let o = AddTableOptions {
        all: true,
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let added = ladmin::add_tables(&root.admin, &[], &o, &mut p)
        .await
        .unwrap();
    assert_eq!(added.len(), 2, "{added:?}");
    let wstop = CancellationToken::new();
    let w = writer(root.connstr.clone(), wstop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Branch: tables created from the root's, copied under writes.
    let o_branch = AddTableOptions {
        all: false,
        create: Some(true),
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    ladmin::add_tables(&branch.admin, &["*.*".into()], &o_branch, &mut p)
        .await
        .unwrap();
    ladmin::wait_sync(&branch.admin, &mut p).await.unwrap();
    // Leaf: table and primary key only.
    let o_leaf = AddTableOptions {
        all: false,
        create: Some(false),
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    ladmin::add_tables(
        &leaf.admin,
        &["public.accounts".into(), "Odd Schema.*".into()],
        &o_leaf,
        &mut p,
    )
    .await
    .unwrap();
    ladmin::wait_sync(&leaf.admin, &mut p).await.unwrap();

    // DDL through EXECUTE while the writer runs: every node gets the new
    // column at the same point of the stream, and later rows carry it.
    let mut rcm = skydeck::db::connect(&root.connstr).await.unwrap();
    let ran = skydeck::londiste::execute::execute_on_root(
        &mut rcm,
        Q,
        &[(
            "001_accounts_note.sql".to_string(),
            "--*-- Local-Table: public.accounts\n\
             alter table @public.accounts@ add column note text default 'n';\n"
                .to_string(),
        )],
    )
    .await
    .unwrap();
    assert!(
        matches!(
            ran[0],
            skydeck::londiste::execute::FileOutcome::Executed { .. }
        ),
        "{ran:?}"
    );
    rc.batch_execute("update accounts set note = 'after ddl' where aid between 100 and 120")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    wstop.cancel();
    let txs = w.await.unwrap();
    assert!(txs > 50, "the writer ran {txs} transactions");
    common::tick_after_writes(&rc, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();

    for (table, order) in [
        ("public.accounts", "aid"),
        ("\"Odd Schema\".\"Mixed \"\"Tbl\"\"\"", "id"),
    ] {
        let want = checksum(&root.connstr, table, order).await;
        assert!(want.0 > 0);
        for d in [&branch, &leaf] {
            let got = checksum(&d.connstr, table, order).await;
            if got != want {
                eprintln!("{}", diff(&root.connstr, &d.connstr, table, order).await);
            }
            assert_eq!(got, want, "{table} on {} differs from the root", d.name);
        }
    }
    // Every table ended `ok`; the copy consumers are gone.
    for d in [&branch, &leaf] {
        let c = skydeck::db::connect(&d.connstr).await.unwrap();
        for t in sql::tables(&c, Q).await.unwrap() {
            assert!(t.local);
            assert_eq!(
                t.merge_state,
                MergeState::Ok,
                "{} on {}",
                t.table_name,
                d.name
            );
        }
        let copies: i64 = c
            .query_one(
                "select count(*) from pgq_node.local_state where consumer_name like '%.copy.%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(copies, 0, "copy consumers left on {}", d.name);
    }
    // The branch got the full structure, the leaf only the key.
    let bc = skydeck::db::connect(&branch.connstr).await.unwrap();
    let lc = skydeck::db::connect(&leaf.connstr).await.unwrap();
    let idx = "select count(*) from pg_indexes where tablename = 'accounts'";
    assert_eq!(bc.query_one(idx, &[]).await.unwrap().get::<_, i64>(0), 2);
    assert_eq!(lc.query_one(idx, &[]).await.unwrap().get::<_, i64>(0), 1);

    // Switchover root -> branch and back: the tables stay equal, writes
    // on the new root reach the leaf.
    let mut quiet = |_: &str| {};
    branch
        .admin
        .takeover(None, "root", &Default::default(), &mut quiet)
        .await
        .unwrap();
    let bw = skydeck::db::connect(&branch.connstr).await.unwrap();
    bw.batch_execute("insert into accounts values (-5, 5, 5, 'on the new root', 'x'); update accounts set abalance = 77 where aid = 9;")
        .await
        .unwrap();
    common::tick_after_writes(&bw, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();
    root.admin
        .takeover(None, "branch", &Default::default(), &mut quiet)
        .await
        .unwrap();
    rc.batch_execute("delete from accounts where aid = -5")
        .await
        .unwrap();
    common::tick_after_writes(&rc, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();
    for (table, order) in [
        ("public.accounts", "aid"),
        ("\"Odd Schema\".\"Mixed \"\"Tbl\"\"\"", "id"),
    ] {
        let want = checksum(&root.connstr, table, order).await;
        for d in [&branch, &leaf] {
            let got = checksum(&d.connstr, table, order).await;
            assert_eq!(
                got, want,
                "{table} on {} differs after the switchovers",
                d.name
            );
        }
    }

    // compare sees a damaged table; repair fixes exactly that.
    let cmp = compare::compare(&leaf.admin, &[], Duration::from_secs(10), false, &mut p)
        .await
        .unwrap();
    assert_eq!(cmp.len(), 2);
    assert!(cmp.iter().all(|t| t.equal()), "{cmp:?}");
    lc.batch_execute(
        "begin; set local session_replication_role = replica;
         delete from accounts where aid = 7;
         update accounts set filler = 'damaged' where aid = 8;
         insert into accounts values (-1, 0, 0, 'extra', 'n');
         commit;",
    )
    .await
    .unwrap();
    let cmp = compare::compare(
        &leaf.admin,
        &["accounts".into()],
        Duration::from_secs(10),
        false,
        &mut p,
    )
    .await
    .unwrap();
    assert_eq!(cmp.len(), 1);
    assert!(!cmp[0].equal(), "{cmp:?}");
    let fix = compare::repair(
        &leaf.admin,
        &["accounts".into()],
        true,
        None,
        Duration::from_secs(10),
        false,
        &mut p,
    )
    .await
    .unwrap();
    assert_eq!(
        (fix[0].inserts, fix[0].updates, fix[0].deletes),
        (1, 1, 1),
        "{}",
        fix[0].sql
    );
    assert!(fix[0].applied);
    let cmp = compare::compare(&leaf.admin, &[], Duration::from_secs(10), false, &mut p)
        .await
        .unwrap();
    assert!(cmp.iter().all(|t| t.equal()), "{cmp:?}");

    sup.shutdown(Duration::from_secs(10)).await;
    stop.cancel();
    let _ = tick.await;
}

/// The rows that differ, for the failure message.
async fn diff(a: &str, b: &str, table: &str, key: &str) -> String {
    let read = |c: String| async move {
        let c = skydeck::db::connect(&c).await.unwrap();
        c.query(&format!("select {key}::text, t::text from {table} t"), &[])
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect::<std::collections::BTreeMap<String, String>>()
    };
    let (x, y) = (read(a.to_string()).await, read(b.to_string()).await);
    let mut out = String::new();
    for (k, v) in &x {
        match y.get(k) {
            None => out.push_str(&format!("missing {v}\n")),
            Some(w) if w != v => out.push_str(&format!("root {v}\n here {w}\n")),
            _ => {}
        }
    }
    for (k, w) in &y {
        if !x.contains_key(k) {
            out.push_str(&format!("extra {w}\n"));
        }
    }
    out.lines().take(30).collect::<Vec<_>>().join("\n")
}

/// Sequences, foreign keys and the add-table options that change where and
/// how rows land: --dest-table, --expect-sync, --skip-truncate,
/// --no-triggers; remove-table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sequences_fkeys_and_table_options() {
    let root = db("oroot").await;
    let leaf = db("oleaf").await;
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    let ddl = "create table parent (id int primary key, name text);
               create table child (id int primary key, pid int references parent, v text);
               create table renamed (id int primary key, v text);
               create table presynced (id int primary key, v text);
               create table kept (id int primary key, v text);
               create sequence ids;";
    rc.batch_execute(ddl).await.unwrap();
    rc.batch_execute(
        "insert into parent select i, 'p' || i from generate_series(1, 100) i;
         insert into child select i, 1 + i % 100, 'c' from generate_series(1, 1000) i;
         insert into renamed values (1, 'a'), (2, 'b');
         insert into kept values (1, 'from root');",
    )
    .await
    .unwrap();
    let lc = skydeck::db::connect(&leaf.connstr).await.unwrap();
    lc.batch_execute(ddl).await.unwrap();
    lc.batch_execute(
        "create table renamed_here (id int primary key, v text);
         insert into kept values (99, 'leaf only');",
    )
    .await
    .unwrap();
    let stop = CancellationToken::new();
    let tick = common::ticker_for(common::cluster(), &[&root.dbname], &stop);
    let mut p = say();
    root.admin
        .create_root("oroot", &root.connstr, false, &mut p)
        .await
        .unwrap();
    leaf.admin
        .create_subscriber(
            NodeKind::Leaf,
            "oleaf",
            &leaf.connstr,
            &root.connstr,
            None,
            None,
            false,
            &mut p,
        )
        .await
        .unwrap();
    let sup = Supervisor::new(Policy::default());
    sup.add(worker(&root));
    sup.add(worker(&leaf));
    let o = |f: &dyn Fn(&mut AddTableOptions)| {
        let mut o = AddTableOptions {
            lock_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        f(&mut o);
        o
    };
    ladmin::add_tables(&root.admin, &[], &o(&|o| o.all = true), &mut p)
        .await
        .unwrap();
    ladmin::add_seqs(
        &root.admin,
        &["ids".into()],
        false,
        false,
        false,
        &Default::default(),
        &mut p,
    )
    .await
    .unwrap();
    // Leaf: FK-linked tables copied (their FK dropped meanwhile), one table
    // into another name, one declared in sync, one kept as it is.
    ladmin::add_tables(
        &leaf.admin,
        &["parent".into(), "child".into()],
        &o(&|_| {}),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &leaf.admin,
        &["renamed".into()],
        &o(&|o| o.dest_table = Some("renamed_here".into())),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &leaf.admin,
        &["presynced".into()],
        &o(&|o| o.expect_sync = true),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &leaf.admin,
        &["kept".into()],
        &o(&|o| {
            o.skip_truncate = true;
            o.no_triggers = true
        }),
        &mut p,
    )
    .await
    .unwrap();
    let e = ladmin::add_tables(
        &leaf.admin,
        &["renamed".into(), "kept".into()],
        &o(&|o| o.dest_table = Some("x".into())),
        &mut p,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("--dest-table needs exactly one table"),
        "{e}"
    );
    let e = ladmin::add_tables(&leaf.admin, &["nosuch".into()], &o(&|_| {}), &mut p)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("table public.nosuch not found"),
        "{e}"
    );
    // presynced starts ok: no copy.
    let st = sql::tables(&lc, Q).await.unwrap();
    let pre = st
        .iter()
        .find(|t| t.table_name == "public.presynced")
        .unwrap();
    assert_eq!(pre.merge_state, MergeState::Ok);
    ladmin::add_seqs(
        &leaf.admin,
        &["ids".into()],
        false,
        false,
        false,
        &Default::default(),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::wait_sync(&leaf.admin, &mut p).await.unwrap();

    rc.batch_execute(
        "insert into parent values (101, 'new'); insert into child values (1001, 101, 'new');
         insert into renamed values (3, 'c'); insert into presynced values (1, 'after');
         update kept set v = 'changed' where id = 1;
         select nextval('ids') from generate_series(1, 5);",
    )
    .await
    .unwrap();
    common::tick_after_writes(&rc, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();
    for (t, want) in [
        ("parent", 101i64),
        ("child", 1001),
        ("renamed_here", 3),
        ("presynced", 1),
        ("kept", 2),
    ] {
        let n: i64 = lc
            .query_one(&format!("select count(*) from {t}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, want, "{t} on the leaf");
    }
    let kept: String = lc
        .query_one("select v from kept where id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, "changed");
    // The foreign key is back once both sides are in sync.
    common::wait_until(
        &lc,
        "child's foreign key restored",
        "select count(*) = 1 from pg_constraint where conrelid = 'child'::regclass and contype = 'f' \
           and convalidated",
    )
    .await;
    let pending: i64 = lc
        .query_one("select count(*) from londiste.pending_fkeys", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 0);
    // The sequence: the root publishes ahead, the leaf's is moved forward.
    common::wait_until(
        &lc,
        "leaf sequence ahead of the root's",
        "select last_value >= 5 from ids",
    )
    .await;
    let seqs = sql::seqs(&lc, Q).await.unwrap();
    assert!(
        seqs.iter().any(|s| s.seq_name == "public.ids" && s.local),
        "{seqs:?}"
    );
    // A leaf that fell behind catches up in merged batches: paused while
    // 30 ticks pile up, it needs far fewer batches than ticks.
    let batches = |sup: &Supervisor| {
        sup.statuses()
            .into_iter()
            .find(|s| s.name == "oleaf_worker")
            .and_then(|s| s.counters.into_iter().find(|(k, _)| k == "batches"))
            .map(|(_, v)| v)
            .unwrap_or(0)
    };
    leaf.admin.pause(None, None, true, &mut p).await.unwrap();
    let before = batches(&sup);
    for i in 0..30 {
        rc.execute(
            "insert into presynced values ($1, 'backlog')",
            &[&(100 + i)],
        )
        .await
        .unwrap();
        common::tick_after_writes(&rc, Q).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    leaf.admin.pause(None, None, false, &mut p).await.unwrap();
    leaf.admin.wait_for(true, &mut p).await.unwrap();
    let n: i64 = lc
        .query_one("select count(*) from presynced where v = 'backlog'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 30);
    let used = batches(&sup) - before;
    eprintln!("backlog of 30 ticks applied in {used} batch(es)");
    assert!(used < 15, "30 ticks of backlog took {used} batches");

    // A leaf refuses local writes to replicated tables (deny trigger).
    let denied = lc
        .batch_execute("insert into parent values (500, 'local')")
        .await;
    assert!(
        denied.is_err(),
        "the leaf accepted a write to a replicated table"
    );
    // remove-table: no longer replicated, triggers gone, rows kept.
    ladmin::remove_tables(&leaf.admin, &["parent".into()], false, &mut p)
        .await
        .unwrap();
    lc.batch_execute("insert into parent values (500, 'local now')")
        .await
        .unwrap();
    let st = sql::tables(&lc, Q).await.unwrap();
    assert!(!st
        .iter()
        .any(|t| t.table_name == "public.parent" && t.local));

    sup.shutdown(Duration::from_secs(10)).await;
    stop.cancel();
    let _ = tick.await;
}
