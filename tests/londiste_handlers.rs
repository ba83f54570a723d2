//! Londiste's table handlers end to end on real databases, root → branch →
//! leaf: bulk (its three methods), shard (copy, replay and the events the
//! branch passes on filtered by the hash the root's trigger adds), applyfn,
//! multimaster (londiste.merge_on_time), qtable, qsplitter, vtable; plus
//! add-table's refusal of bad handler arguments and change-handler.

mod common;

use std::sync::Arc;
use std::time::Duration;

use skydeck::cascade::admin::Admin;
use skydeck::cascade::{CascadeWorker, WorkerSettings};
use skydeck::daemon::{Policy, Supervisor};
use skydeck::londiste::admin::{self as ladmin, AddTableOptions};
use skydeck::londiste::compare;
use skydeck::londiste::handler::HandlerSettings;
use skydeck::londiste::sql::{self, MergeState};
use skydeck::londiste::worker::{Londiste, LondisteSettings, RegisterFilter};
use tokio_util::sync::CancellationToken;

const Q: &str = "hq";

/// On every node: the tables (those a node does not need are dropped
/// again where the test says), the hash function, the applyfn target.
const SCHEMA: &str = r#"
create function shard_hash(i int) returns int language sql immutable as 'select $1';
create table b0 (id int primary key, v text);
create table b1 (id int primary key, v text);
create table b2 (id int primary key, v text);
create table sh (id int primary key, v text);
create table mm (id int primary key, v text, ts timestamp not null);
create table af (id int primary key, v text);
create table qs (id int primary key, v text);
create table qt (id int primary key, v text);
create table vt (id int primary key, v text);
create table ob (id int primary key, name text, flag text, secret text, j jsonb);
create table ev (id int primary key, v text, ts timestamp);
create table evlog (id int primary key, v text, secret text);
create table evlog_all (src_id int, v text);
create table fn_log (n serial, conf text, tick text, ev_type text, ev_data text, extra1 text);
create function "Log Ev"(conf text, tick text, ev_id text, ev_time text, ev_txid text,
    ev_retry text, ev_type text, ev_data text, e1 text, e2 text, e3 text, e4 text)
  returns void language sql as
  'insert into fn_log (conf, tick, ev_type, ev_data, extra1) values ($1, $2, $7, $8, $9)';
"#;

struct Db {
    dbname: String,
    connstr: String,
    admin: Admin,
    name: &'static str,
}

async fn db(name: &'static str) -> Db {
    let d = common::installed_db(&format!("lh_{name}")).await;
    d.connect().await.batch_execute(SCHEMA).await.unwrap();
    let mut admin = Admin::londiste(Q, &d.connstr, &format!("{name}_worker"));
    admin.timeout = Duration::from_secs(120);
    Db {
        dbname: d.name,
        connstr: d.connstr,
        admin,
        name,
    }
}

const OBF_KEY: &str = "k3y";
const OBF_MAP: &str =
    "public.ob:\n  id: keep\n  name: hash\n  flag: bool\n  j:\n    a: keep\n    b: hash32\n";

/// Branch and leaf are shard 1 of 2: odd hashes. The obfuscate rules in a
/// file as the job file names them.
fn handler_settings() -> HandlerSettings {
    let map = std::env::temp_dir().join(format!("skydeck-lh-{}.yaml", std::process::id()));
    std::fs::write(&map, OBF_MAP).unwrap();
    HandlerSettings {
        shard_hash_func: "public.shard_hash".into(),
        shard_info_sql: "select 1, 1, 2".into(),
        obfuscator_map: Some(map),
        obfuscator_key: OBF_KEY.into(),
    }
}

/// The leaf fetches only its tables' events and keeps out of the
/// registrations of the queue tables and of `late`.
fn leaf_register() -> RegisterFilter {
    RegisterFilter {
        skip_tables: vec!["public.q*".into(), "late".into()],
        ..RegisterFilter::default()
    }
}

fn worker(d: &Db) -> Arc<CascadeWorker> {
    let mut s = WorkerSettings::new(Q, &format!("{}_worker", d.name), &d.connstr);
    s.loop_delay = Duration::from_millis(300);
    let leaf = d.name == "leaf";
    let ls = LondisteSettings {
        parallel_copies: 4,
        handlers: handler_settings(),
        local_only: leaf,
        register: if leaf {
            leaf_register()
        } else {
            RegisterFilter::default()
        },
        ..LondisteSettings::default()
    };
    let app = Arc::new(Londiste::new(Q, &s.worker, &d.connstr, ls));
    Arc::new(CascadeWorker::new(s, String::new(), d.name).with_applier(app))
}

fn opts(handler: Option<&str>, args: &[&str]) -> AddTableOptions {
    AddTableOptions {
        handler: handler.map(str::to_string),
        handler_args: args.iter().map(|s| s.to_string()).collect(),
        lock_timeout: Duration::from_secs(10),
        handler_settings: handler_settings(),
        ..Default::default()
    }
}

fn say() -> impl FnMut(&str) + Send {
    |s: &str| eprintln!("  step: {s}")
}

async fn rows(connstr: &str, sql: &str) -> Vec<String> {
    let c = skydeck::db::connect(connstr).await.unwrap();
    common::texts(&c, sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handlers_end_to_end() {
    let root = db("root").await;
    let branch = db("branch").await;
    let leaf = db("leaf").await;
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    let bc = skydeck::db::connect(&branch.connstr).await.unwrap();
    let lc = skydeck::db::connect(&leaf.connstr).await.unwrap();
    // vtable and qtable need no table below the root.
    bc.batch_execute("drop table vt").await.unwrap();
    // The leaf keeps only what the obfuscate rules keep, typed for it.
    lc.batch_execute(
        "drop table vt; drop table qt; drop table qs; drop table ob;
         create table ob (id int primary key, name uuid, flag bool, j jsonb)",
    )
    .await
    .unwrap();
    rc.batch_execute(
        "insert into b0 select i, 'r' || i from generate_series(1, 20) i;
         insert into b1 select i, 'r' || i from generate_series(1, 20) i;
         insert into b2 select i, 'r' || i from generate_series(1, 20) i;
         insert into sh select i, 'r' || i from generate_series(1, 20) i;
         insert into mm select i, 'r' || i, '2020-01-01' from generate_series(1, 5) i;
         insert into af values (1, 'before');
         insert into ev values (1, 'old', '2023-12-31 10:00');
         insert into evlog values (1, 'first', 's');
         insert into ob values (1, 'Alice', 'x', 's1', '{\"a\": 1, \"b\": \"bee\", \"z\": 2}'),
                               (2, null, '', 's2', null);",
    )
    .await
    .unwrap();

    let stop = CancellationToken::new();
    let _tick = common::ticker_for(common::cluster(), &[&root.dbname, &branch.dbname], &stop);
    let mut p = say();
    common::create_chain(&[
        (&root.admin, "root", &root.connstr),
        (&branch.admin, "branch", &branch.connstr),
        (&leaf.admin, "leaf", &leaf.connstr),
    ])
    .await;
    // qsplitter's target queue on the branch.
    bc.batch_execute("select pgq.create_queue('side')")
        .await
        .unwrap();
    let sup = Supervisor::new(Policy::default());
    for d in [&root, &branch, &leaf] {
        sup.add(worker(d));
    }

    // Bad handler arguments are refused before anything is registered.
    for (h, args, want) in [
        (Some("bulk"), &["method=9"][..], "unknown method"),
        (Some("bulk"), &["colour=red"][..], "no argument \"colour\""),
        (Some("shard"), &[][..], "hash_key"),
        (Some("qsplitter"), &[][..], "queue=NAME"),
        (Some("bulk(method=1)"), &[][..], "--handler-arg"),
        (Some("nosuch"), &[][..], "unknown handler"),
        (None, &["method=1", "method=2"][..], "given twice"),
    ] {
        let e = ladmin::add_tables(&root.admin, &["b0".into()], &opts(h, args), &mut p)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{h:?} {args:?}: {e}");
    }
    assert!(sql::tables(&rc, Q).await.unwrap().is_empty());

    // Root.
    for t in [
        "b0", "b1", "b2", "mm", "af", "qs", "vt", "ob", "ev", "evlog",
    ] {
        ladmin::add_tables(&root.admin, &[t.into()], &opts(None, &[]), &mut p)
            .await
            .unwrap();
    }
    ladmin::add_tables(
        &root.admin,
        &["sh".into()],
        &opts(Some("shard"), &["key=id"]),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &root.admin,
        &["qt".into()],
        &opts(Some("qtable"), &[]),
        &mut p,
    )
    .await
    .unwrap();
    // Adding it again says so and changes nothing.
    assert!(
        ladmin::add_tables(&root.admin, &["b0".into()], &opts(None, &[]), &mut p)
            .await
            .unwrap()
            .is_empty()
    );
    let tg: String = rc
        .query_one(
            "select pg_get_triggerdef(oid) from pg_trigger where tgrelid = 'sh'::regclass and tgname = '_londiste_hq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        tg.contains("ev_extra3=''hash=''||public.shard_hash(id)"),
        "{tg}"
    );

    // Branch.
    for t in ["b0", "b1", "b2", "mm", "af", "ob", "ev", "evlog"] {
        ladmin::add_tables(&branch.admin, &[t.into()], &opts(None, &[]), &mut p)
            .await
            .unwrap();
    }
    ladmin::add_tables(
        &branch.admin,
        &["sh".into()],
        &opts(Some("shard"), &["key=id"]),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &branch.admin,
        &["qs".into()],
        &opts(Some("qsplitter"), &["queue=side"]),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &branch.admin,
        &["qt".into()],
        &opts(Some("qtable"), &[]),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::add_tables(
        &branch.admin,
        &["vt".into()],
        &opts(Some("vtable"), &[]),
        &mut p,
    )
    .await
    .unwrap();
    ladmin::wait_sync(&branch.admin, &mut p).await.unwrap();

    // Leaf.
    for (t, h, args) in [
        ("b0", "bulk", &[][..]),
        ("b1", "bulk", &["method=1"][..]),
        ("b2", "bulk", &["method=2"][..]),
        ("sh", "londiste", &[][..]),
        ("mm", "multimaster", &["timefield=ts"][..]),
        (
            "af",
            "applyfn",
            &["func_name=public.Log Ev", "func_conf=c=1"][..],
        ),
        ("vt", "vtable", &[][..]),
        ("ob", "obfuscate", &[][..]),
        ("ev", "daily_field", &["part_field=ts"][..]),
        (
            "evlog",
            "direct",
            &[
                "row_mode=keep_all",
                "fields=id:src_id,v",
                "table=public.evlog_all",
            ][..],
        ),
    ] {
        let o = AddTableOptions {
            register: leaf_register(),
            ..opts(Some(h), args)
        };
        ladmin::add_tables(&leaf.admin, &[t.into()], &o, &mut p)
            .await
            .unwrap();
    }
    ladmin::wait_sync(&leaf.admin, &mut p).await.unwrap();

    // The shard's initial copy: odd ids only, on branch and leaf.
    let odd: Vec<String> = (1..=20)
        .filter(|i| i % 2 == 1)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        rows(&branch.connstr, "select id::text from sh order by sh.id").await,
        odd
    );
    assert_eq!(
        rows(&leaf.connstr, "select id::text from sh order by sh.id").await,
        odd
    );
    // The handler strings add-table stored.
    let lt = sql::tables(&lc, Q).await.unwrap();
    let attrs = |n: &str| {
        lt.iter()
            .find(|t| t.table_name == format!("public.{n}"))
            .unwrap()
            .table_attrs
            .handler()
            .map(str::to_string)
    };
    assert_eq!(attrs("b1").as_deref(), Some("bulk(method=1)"));
    assert_eq!(
        attrs("af").as_deref(),
        Some("applyfn(func_name=public.Log+Ev&func_conf=c%3d1)")
    );
    assert!(lt
        .iter()
        .all(|t| !t.local || t.merge_state == MergeState::Ok));

    // The leaf drifts: rows missing or extra, written behind the worker's back.
    lc.batch_execute(
        "set session_replication_role = replica;
         delete from b0 where id = 1; delete from b1 where id = 1;
         insert into b2 values (1000, 'leaf');
         update mm set ts = '2030-01-01', v = 'leaf wins' where id = 2;",
    )
    .await
    .unwrap();

    // Changes on the root.
    rc.batch_execute(
        "update b0 set v = 'u' where id in (1, 2);
         update b1 set v = 'u' where id in (1, 2);
         insert into b2 values (1000, 'root');
         update b2 set v = 'u' where id = 2;
         delete from b0 where id = 3; delete from b1 where id = 3; delete from b2 where id = 3;
         insert into sh select i, 'n' || i from generate_series(21, 30) i;
         update sh set v = 'u' where id in (1, 2);
         update mm set v = 'root', ts = '2021-01-01' where id in (1, 2);
         insert into af values (2, 'x');
         update af set v = 'y' where id = 1;
         insert into qs values (1, 'a'), (2, 'b');
         update qs set v = 'c' where id = 1;
         insert into qt values (1, 'q');
         insert into vt values (1, 'v');
         update ob set name = 'Bob', secret = 'zz' where id = 1;
         insert into ev values (2, 'a', '2024-01-01 10:00'), (3, 'b', '2024-01-02 23:59'),
                               (4, 'c', '2024-01-01 00:00');
         update ev set v = 'a2' where id = 2;
         delete from ev where id = 4;
         insert into evlog values (2, 'second', 's2');
         update evlog set v = 'first again' where id = 1;
         delete from evlog where id = 2;
         insert into ob values (3, 'Carol', 't', 's3', '{\"b\": 5}');",
    )
    .await
    .unwrap();
    common::tick_after_writes(&rc, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();

    // bulk 0: the update of a missing row does nothing; 1: it inserts it.
    assert_eq!(
        rows(
            &leaf.connstr,
            "select id || ':' || v from b0 where id <= 3 order by id"
        )
        .await,
        ["2:u"]
    );
    assert_eq!(
        rows(
            &leaf.connstr,
            "select id || ':' || v from b1 where id <= 3 order by id"
        )
        .await,
        ["1:u", "2:u"]
    );
    // bulk 2: the insert replaces the row the leaf had.
    assert_eq!(
        rows(
            &leaf.connstr,
            "select id || ':' || v from b2 where id in (2, 3, 1000) order by id"
        )
        .await,
        ["2:u", "1000:root"]
    );
    // shard: the branch applied and passed on only odd ids.
    let odd_after: Vec<String> = (1..=30)
        .filter(|i| i % 2 == 1)
        .map(|i| {
            format!(
                "{i}:{}",
                if i == 1 {
                    "u".to_string()
                } else if i > 20 {
                    format!("n{i}")
                } else {
                    format!("r{i}")
                }
            )
        })
        .collect();
    for d in [&branch, &leaf] {
        assert_eq!(
            rows(&d.connstr, "select id || ':' || v from sh order by id").await,
            odd_after,
            "{}",
            d.name
        );
    }
    // obfuscate: the copy and the replayed events carry the rules' values,
    // never the source's (the leaf has no column for the skipped secret).
    let o = skydeck::londiste::obfuscate::Obfuscator::parse(OBF_MAP, "test map", OBF_KEY).unwrap();
    let hashed = |v: &str| {
        let ev = skydeck::pgq::Event {
            ev_id: 1,
            ev_time: std::time::UNIX_EPOCH,
            ev_txid: 1,
            ev_retry: None,
            ev_type: Some("I:id".into()),
            ev_data: Some(format!("id=1&name={v}")),
            ev_extra1: Some("public.ob".into()),
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        };
        let out = o.rewrite_event("public.ob", &ev).unwrap().ev_data.unwrap();
        out.split('&')
            .find_map(|kv| kv.strip_prefix("name="))
            .unwrap()
            .to_string()
    };
    let ob = rows(
        &leaf.connstr,
        "select concat_ws('|', id, name, flag, j) from ob order by id",
    )
    .await;
    let (bob, carol) = (hashed("Bob"), hashed("Carol"));
    assert_ne!(bob, "Bob");
    assert_eq!(bob.len(), 36, "a uuid: {bob}");
    assert_eq!(ob.len(), 3, "{ob:?}");
    assert!(
        ob[0].starts_with(&format!("1|{bob}|t|{{\"a\": 1, \"b\": ")),
        "{ob:?}"
    );
    assert!(!ob[0].contains("bee") && !ob[0].contains('z'), "{ob:?}");
    // NULL name and j stay NULL (concat_ws leaves them out), '' is false.
    assert_eq!(ob[1], "2|f", "{ob:?}");
    assert!(
        ob[2].starts_with(&format!("3|{carol}|t|{{\"b\": ")),
        "{ob:?}"
    );

    // dispatch, daily by a date column: rows in day partitions created on
    // the way (the copied row stays in the parent), an update as delete +
    // insert, a delete gone.
    assert_eq!(
        rows(
            &leaf.connstr,
            "select tableoid::regclass::text || ':' || id || ':' || v from ev order by id"
        )
        .await,
        ["ev:1:old", "ev_2024_01_01:2:a2", "ev_2024_01_02:3:b"]
    );
    // dispatch direct, keep_all with a field map into another table: every
    // version kept, the delete ignored, the copy mapped too.
    assert_eq!(
        rows(
            &leaf.connstr,
            "select src_id || ':' || v from evlog_all order by src_id, v"
        )
        .await,
        ["1:first", "1:first again", "2:second"]
    );

    // compare and repair look at the local shard only.
    let co = compare::SyncOptions {
        handlers: handler_settings(),
        ..Default::default()
    };
    let r = compare::compare_with(&branch.admin, &["sh".into()], &co, &mut p)
        .await
        .unwrap();
    assert!(r[0].equal(), "{r:?}");
    assert_eq!(r[0].local_rows, 15);
    let r = compare::compare_with(&leaf.admin, &["vt".into(), "af".into()], &co, &mut p)
        .await
        .unwrap();
    for t in &r {
        assert!(
            t.error
                .as_deref()
                .unwrap_or("")
                .contains("nothing to compare"),
            "{t:?}"
        );
    }
    // ... and the root has them all.
    assert_eq!(
        rows(&root.connstr, "select count(*)::text from sh").await,
        ["30"]
    );
    // multimaster: the leaf's newer row stays, the older one is replaced.
    assert_eq!(
        rows(
            &leaf.connstr,
            "select id || ':' || v from mm where id <= 2 order by id"
        )
        .await,
        ["1:root", "2:leaf wins"]
    );
    // applyfn: the function saw every event, in order, with its conf.
    let log = rows(
        &leaf.connstr,
        "select conf || '|' || ev_type || '|' || ev_data || '|' || extra1 from fn_log order by n",
    )
    .await;
    assert_eq!(
        log,
        ["c=1|I:id|id=2&v=x|public.af", "c=1|U:id|id=1&v=y|public.af"]
    );
    let af_rows = rows(&leaf.connstr, "select id || ':' || v from af order by id").await;
    assert_eq!(af_rows, ["1:before"], "applyfn leaves the table alone");
    // qsplitter: the table's events went into queue side, nothing into qs.
    let pfx: String = bc
        .query_one(
            "select queue_data_pfx from pgq.queue where queue_name = 'side'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let fwd = rows(
        &branch.connstr,
        &format!("select ev_type || ' ' || ev_data || ' ' || ev_extra1 from {pfx} order by ev_id"),
    )
    .await;
    assert_eq!(
        fwd,
        [
            "I:id id=1&v=a public.qs",
            "I:id id=2&v=b public.qs",
            "U:id id=1&v=c public.qs"
        ]
    );
    assert_eq!(
        rows(&branch.connstr, "select count(*)::text from qs").await,
        ["0"]
    );
    // qtable: the root keeps no row, the branch ignores the event.
    assert_eq!(
        rows(&root.connstr, "select count(*)::text from qt").await,
        ["0"]
    );
    assert_eq!(
        rows(&branch.connstr, "select count(*)::text from qt").await,
        ["0"]
    );

    // Registrations: the leaf skips the queue tables and `late`, also when
    // the root adds it later; the branch takes everything.
    rc.batch_execute("create table late (id int primary key)")
        .await
        .unwrap();
    ladmin::add_tables(&root.admin, &["late".into()], &opts(None, &[]), &mut p)
        .await
        .unwrap();
    common::tick_after_writes(&rc, Q).await;
    leaf.admin.wait_for(true, &mut p).await.unwrap();
    let names = |ts: Vec<sql::TableInfo>| {
        let mut v: Vec<String> = ts.into_iter().map(|t| t.table_name).collect();
        v.sort();
        v
    };
    let all = [
        "public.af",
        "public.b0",
        "public.b1",
        "public.b2",
        "public.ev",
        "public.evlog",
        "public.late",
        "public.mm",
        "public.ob",
        "public.qs",
        "public.qt",
        "public.sh",
        "public.vt",
    ];
    assert_eq!(names(sql::tables(&bc, Q).await.unwrap()), all);
    assert_eq!(
        names(sql::tables(&lc, Q).await.unwrap()),
        all.iter()
            .filter(|n| !["public.late", "public.qs", "public.qt"].contains(n))
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    );

    // change-handler: the leaf's b0 goes back to the default.
    ladmin::change_handler(&leaf.admin, "b0", None, &[], &handler_settings(), &mut p)
        .await
        .unwrap();
    let lt = sql::tables(&lc, Q).await.unwrap();
    assert!(lt
        .iter()
        .find(|t| t.table_name == "public.b0")
        .unwrap()
        .table_attrs
        .handler()
        .is_none());
    let e = ladmin::change_handler(
        &leaf.admin,
        "b0",
        Some("bulk"),
        &["method=x".into()],
        &handler_settings(),
        &mut p,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown method"), "{e}");

    sup.shutdown(Duration::from_secs(10)).await;
    stop.cancel();
}
