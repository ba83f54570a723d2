//! The engine side of the console's Tables view on real databases (root →
//! leaf on one cluster, Londiste workers and a ticker under a supervisor):
//! the snapshot's Londiste nodes (tables, states, handler, sequences,
//! what can be added), and every table action as the console sends it —
//! add (then copied to `ok`), change handler, compare, execute on the
//! root, resync, remove — plus an unknown worker and read-only mode.

mod common;

use common::{ask, ask_ok, result};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skydeck::cascade::admin::{Admin, NodeKind};
use skydeck::cascade::{CascadeWorker, WorkerSettings};
use skydeck::cluster::LocalCluster;
use skydeck::daemon::host::Host;
use skydeck::daemon::logging::LogBuffer;
use skydeck::daemon::{Policy, Supervisor};
use skydeck::londiste::worker::{Londiste, LondisteSettings};
use skydeck::ticker::{Settings, TickerJob};
use skydeck_ui::model::{Action, NodeType, Reply, Snapshot};

const Q: &str = "tq";

async fn setup(read_only: bool) -> (LocalCluster, Arc<Host>, Arc<Supervisor>) {
    let cluster = LocalCluster::builder("tables_engine").start().unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    let mut quiet = |_: &str| {};
    for db in ["t_root", "t_leaf"] {
        admin
            .batch_execute(&format!("create database {db}"))
            .await
            .unwrap();
    }
    let root = cluster.connstr("t_root");
    let leaf = cluster.connstr("t_leaf");
    let rc = skydeck::db::connect(&root).await.unwrap();
    rc.batch_execute(
        "create table orders (id int primary key, total numeric);
         insert into orders select i, i * 1.5 from generate_series(1, 2000) i;
         create table items (id int primary key, name text);
         insert into items values (1, 'one'), (2, 'two');
         create sequence order_ids;",
    )
    .await
    .unwrap();
    Admin::londiste(Q, &root, "t_root_w")
        .create_root("t_root", &root, false, &mut quiet)
        .await
        .unwrap();
    Admin::londiste(Q, &leaf, "t_leaf_w")
        .create_subscriber(
            NodeKind::Leaf,
            "t_leaf",
            &leaf,
            &root,
            None,
            None,
            false,
            &mut quiet,
        )
        .await
        .unwrap();
    // The leaf has the tables (empty) already.
    skydeck::db::connect(&leaf)
        .await
        .unwrap()
        .batch_execute(
            "create table orders (id int primary key, total numeric);
             create table items (id int primary key, name text);",
        )
        .await
        .unwrap();
    let sup = Supervisor::new(Policy {
        min_backoff: Duration::from_millis(200),
        ..Policy::default()
    });
    sup.add(Arc::new(TickerJob::new(
        "ticker",
        Settings {
            base_connstr: format!(
                "host={} port={} user=postgres",
                cluster.socket_dir().display(),
                cluster.port()
            ),
            database_list: vec!["t_root".into(), "t_leaf".into()],
            ticker_period: Duration::from_millis(100),
            ..Settings::default()
        },
        String::new(),
    )));
    for (w, db, label) in [("t_root_w", &root, "t_root"), ("t_leaf_w", &leaf, "t_leaf")] {
        let mut s = WorkerSettings::new(Q, w, db);
        s.loop_delay = Duration::from_millis(200);
        let app = Arc::new(Londiste::new(Q, w, db, LondisteSettings::default()));
        sup.add(Arc::new(
            CascadeWorker::new(s, String::new(), label).with_applier(app),
        ));
    }
    let host = Host::new(sup.clone(), LogBuffer::new(100), "test", read_only);
    (cluster, host, sup)
}

/// Snapshots until `f` holds.
async fn until(
    host: &skydeck::daemon::host::Host,
    what: &str,
    ok: impl Fn(&skydeck_ui::model::Snapshot) -> bool,
) -> skydeck_ui::model::Snapshot {
    common::snapshot_until(host, what, ok, |s| s.londiste.clone()).await
}

fn state(s: &Snapshot, worker: &str, table: &str) -> Option<String> {
    s.londiste
        .iter()
        .find(|n| n.worker == worker)?
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_view_data_and_actions() {
    let (cluster, host, sup) = setup(false).await;

    // The root: nothing replicated yet, everything can be added.
    let s = until(&host, "both nodes", |s| s.londiste.len() == 2).await;
    let root = s.londiste.iter().find(|n| n.worker == "t_root_w").unwrap();
    assert_eq!(root.node, "t_root");
    assert_eq!(root.node_type, Some(NodeType::Root));
    assert!(root.error.is_none(), "{root:?}");
    assert!(root.tables.is_empty());
    assert_eq!(root.missing, ["public.items", "public.orders"]);

    ask_ok(
        &host,
        Action::AddTables {
            worker: "t_root_w".into(),
            tables: vec!["public.orders".into(), "public.items".into()],
        },
    )
    .await;
    let r = ask_ok(
        &host,
        Action::AddTables {
            worker: "t_leaf_w".into(),
            tables: vec!["public.orders".into(), "public.items".into()],
        },
    )
    .await;
    assert!(r.iter().any(|x| matches!(x, Reply::Update(_))), "{r:?}");
    let s = until(&host, "both tables ok on the leaf", |s| {
        state(s, "t_leaf_w", "public.orders").as_deref() == Some("ok")
            && state(s, "t_leaf_w", "public.items").as_deref() == Some("ok")
    })
    .await;
    let leaf = s.londiste.iter().find(|n| n.worker == "t_leaf_w").unwrap();
    assert_eq!(leaf.node_type, Some(NodeType::Leaf));
    assert!(leaf
        .tables
        .iter()
        .all(|t| t.copy.is_none() && t.last_error.is_none()));

    // Handler, then compare (equal), then an EXECUTE on the root.
    ask_ok(
        &host,
        Action::ChangeHandler {
            worker: "t_leaf_w".into(),
            table: "public.items".into(),
            handler: Some("londiste(ignore_truncate=1)".into()),
        },
    )
    .await;
    let s = host.snapshot().await;
    let leaf = s.londiste.iter().find(|n| n.worker == "t_leaf_w").unwrap();
    let items = leaf
        .tables
        .iter()
        .find(|t| t.name == "public.items")
        .unwrap();
    assert_eq!(
        items.handler.as_deref(),
        Some("londiste(ignore_truncate=1)")
    );
    let cmp = ask(
        &host,
        Action::CompareTables {
            worker: "t_leaf_w".into(),
            tables: vec![],
        },
    )
    .await;
    assert!(result(&cmp).ok, "{cmp:?}");
    assert!(result(&cmp).message.contains("2 table(s) equal"), "{cmp:?}");

    let dir = std::env::temp_dir().join(format!("skydeck-tables-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("001_add_note.sql");
    std::fs::write(
        &file,
        "--*-- Local-Table: public.orders\nalter table @public.orders@ add column note text;\n",
    )
    .unwrap();
    ask_ok(
        &host,
        Action::ExecuteSql {
            worker: "t_root_w".into(),
            path: file.display().to_string(),
        },
    )
    .await;
    let t = Instant::now();
    loop {
        let c = skydeck::db::connect(&cluster.connstr("t_leaf"))
            .await
            .unwrap();
        let n: i64 = c
            .query_one(
                "select count(*) from information_schema.columns where table_name = 'orders' and column_name = 'note'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 1 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "EXECUTE never reached the leaf"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same file again: already applied, runs nowhere.
    let again = ask_ok(
        &host,
        Action::ExecuteSql {
            worker: "t_root_w".into(),
            path: file.display().to_string(),
        },
    )
    .await;
    assert!(
        result(&again).message.contains("already applied"),
        "{again:?}"
    );

    // Resync copies again; remove ends it.
    ask_ok(
        &host,
        Action::ResyncTable {
            worker: "t_leaf_w".into(),
            table: "public.orders".into(),
        },
    )
    .await;
    until(&host, "orders ok again after resync", |s| {
        state(s, "t_leaf_w", "public.orders").as_deref() == Some("ok")
    })
    .await;
    ask_ok(
        &host,
        Action::RemoveTable {
            worker: "t_leaf_w".into(),
            table: "public.items".into(),
        },
    )
    .await;
    let s = host.snapshot().await;
    assert_eq!(state(&s, "t_leaf_w", "public.items"), None);
    let leaf = s.londiste.iter().find(|n| n.worker == "t_leaf_w").unwrap();
    assert!(
        leaf.missing.contains(&"public.items".to_string()),
        "{leaf:?}"
    );

    // Unknown worker: a clear refusal.
    let r = ask(
        &host,
        Action::ResyncTable {
            worker: "nobody".into(),
            table: "public.orders".into(),
        },
    )
    .await;
    assert!(!result(&r).ok);
    assert!(
        result(&r)
            .message
            .contains("no Londiste worker named \"nobody\""),
        "{r:?}"
    );
    sup.shutdown(Duration::from_secs(10)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_table_changes_but_compares() {
    let (_cluster, host, sup) = setup(true).await;
    let r = ask(
        &host,
        Action::AddTables {
            worker: "t_leaf_w".into(),
            tables: vec!["public.orders".into()],
        },
    )
    .await;
    assert!(!result(&r).ok);
    assert!(result(&r).message.contains("read-only"), "{r:?}");
    // compare is allowed (and fails cleanly: nothing is replicated yet).
    let r = ask(
        &host,
        Action::CompareTables {
            worker: "t_leaf_w".into(),
            tables: vec![],
        },
    )
    .await;
    assert!(!result(&r).ok);
    assert!(result(&r).message.contains("no table to work on"), "{r:?}");
    sup.shutdown(Duration::from_secs(10)).await;
}
