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
    let tick = common::ticker_for(common::cluster(), &[&root.dbname], &stop);
    let mut p = say();
    root.admin
        .create_root("root", &root.connstr, false, &mut p)
        .await
        .unwrap();
    branch
        .admin
        .create_subscriber(
            NodeKind::Branch,
            "branch",
            &branch.connstr,
            &root.connstr,
            None,
            None,
            false,
            &mut p,
        )
        .await
        .unwrap();
    leaf.admin
        .create_subscriber(
            NodeKind::Leaf,
            "leaf",
            &leaf.connstr,
            &branch.connstr,
            None,
            None,
            false,
            &mut p,
        )
        .await
        .unwrap();
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

    tokio::time::sleep(Duration::from_millis(500)).await;
    wstop.cancel();
    let txs = w.await.unwrap();
    assert!(txs > 50, "the writer ran {txs} transactions");
    tick_after_writes(&rc).await;
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
         insert into accounts values (-1, 0, 0, 'extra');
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

/// Make the ticker tick after the last write, so `wait_for` the root's
/// last tick covers every write.
async fn tick_after_writes(root: &tokio_postgres::Client) {
    let top =
        "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
               where q.queue_name = $1";
    let last: i64 = root
        .query_one("select pgq.force_tick($1)", &[&Q])
        .await
        .unwrap()
        .get(0);
    let t0 = std::time::Instant::now();
    while root
        .query_one(top, &[&Q])
        .await
        .unwrap()
        .get::<_, Option<i64>>(0)
        .unwrap_or(0)
        <= last
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no tick after force_tick"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
