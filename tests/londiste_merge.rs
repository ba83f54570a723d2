//! A merge leaf: two part queues (each with its own root database) feed one
//! table of a third database, whose combined queue is a root there. The two
//! parts' copies take turns as `_coordinate_copy` says — the lead empties
//! the table and drops its indexes, the other part adds its rows without
//! truncating, the lead rebuilds the indexes once both have copied — so the
//! table ends with both parts' rows, its primary key back, and replay from
//! both parts on top.  Then one part is resynced alone: the part in sync
//! copies again with it, so its rows are not lost to the lead's truncate.

mod common;

use std::sync::Arc;
use std::time::Duration;

use skydeck::cascade::admin::{Admin, NodeKind, Progress};
use skydeck::cascade::{CascadeWorker, WorkerSettings};
use skydeck::daemon::{Policy, Supervisor};
use skydeck::londiste::admin::{self as ladmin, AddTableOptions};
use skydeck::londiste::sql::{self, MergeState};
use skydeck::londiste::worker::{Londiste, LondisteSettings};
use tokio_util::sync::CancellationToken;

const TABLE: &str = "create table data (id int primary key, part text not null, v int not null);
                     create index data_v on data (v);";

fn worker(queue: &str, name: &str, connstr: &str) -> Arc<CascadeWorker> {
    let mut s = WorkerSettings::new(queue, &format!("{name}_worker"), connstr);
    s.loop_delay = Duration::from_millis(300);
    let ls = LondisteSettings {
        // small tables still split, so both parts copy with several streams
        min_part_bytes: 64 << 10,
        ..LondisteSettings::default()
    };
    let app = Arc::new(Londiste::new(queue, &s.worker, connstr, ls));
    Arc::new(CascadeWorker::new(s, String::new(), name).with_applier(app))
}

fn admin(queue: &str, name: &str, connstr: &str) -> Admin {
    let mut a = Admin::londiste(queue, connstr, &format!("{name}_worker"));
    a.timeout = Duration::from_secs(120);
    a
}

fn say() -> impl FnMut(&str) + Send {
    |s: &str| eprintln!("  step: {s}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_parts_copy_into_one_table() {
    let a = common::installed_db("lm_a").await;
    let b = common::installed_db("lm_b").await;
    let f = common::installed_db("lm_full").await;
    let (ca, cb, cf) = (a.connect().await, b.connect().await, f.connect().await);
    for c in [&ca, &cb, &cf] {
        c.batch_execute(TABLE).await.unwrap();
    }
    ca.batch_execute(
        "insert into data select i, 'a', i from generate_series(1, 40000, 2) i; analyze data",
    )
    .await
    .unwrap();
    cb.batch_execute(
        "insert into data select i, 'b', i from generate_series(2, 40000, 2) i; analyze data",
    )
    .await
    .unwrap();
    // Rows the copy must replace: the lead truncates.
    cf.batch_execute("insert into data values (-1, 'stale', 0)")
        .await
        .unwrap();

    let stop = CancellationToken::new();
    let _tick = common::ticker_for(common::cluster(), &[&a.name, &b.name, &f.name], &stop);
    let mut p = say();
    let ra = admin("p1", "a", &a.connstr);
    let rb = admin("p2", "b", &b.connstr);
    let rf = admin("fq", "f", &f.connstr);
    let l1 = admin("p1", "f1", &f.connstr);
    let l2 = admin("p2", "f2", &f.connstr);
    ra.create_root("a", &a.connstr, false, &mut p)
        .await
        .unwrap();
    rb.create_root("b", &b.connstr, false, &mut p)
        .await
        .unwrap();
    rf.create_root("f", &f.connstr, false, &mut p)
        .await
        .unwrap();
    l1.create_subscriber(
        NodeKind::Leaf,
        "f1",
        &f.connstr,
        &a.connstr,
        Some("fq"),
        None,
        false,
        &mut p,
    )
    .await
    .unwrap();
    l2.create_subscriber(
        NodeKind::Leaf,
        "f2",
        &f.connstr,
        &b.connstr,
        Some("fq"),
        None,
        false,
        &mut p,
    )
    .await
    .unwrap();
    let sup = Supervisor::new(Policy::default());
    for (q, n, c) in [
        ("p1", "a", &a.connstr),
        ("p2", "b", &b.connstr),
        ("fq", "f", &f.connstr),
        ("p1", "f1", &f.connstr),
        ("p2", "f2", &f.connstr),
    ] {
        sup.add(worker(q, n, c));
    }

    let o = AddTableOptions {
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    ladmin::add_tables(&ra, &["data".into()], &o, &mut p)
        .await
        .unwrap();
    ladmin::add_tables(&rb, &["data".into()], &o, &mut p)
        .await
        .unwrap();
    // Both part queues know the table before it is added on the leaf.
    common::wait_until(
        &cf,
        "both part queues register data",
        "select count(*) = 2 from londiste.table_info where table_name = 'public.data' \
           and queue_name in ('p1', 'p2')",
    )
    .await;
    // Two sources for one table: refused without --merge-all.
    let e = ladmin::add_tables(&l1, &["data".into()], &o, &mut p)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("merge-all"), "{e}");
    let om = AddTableOptions {
        merge_all: true,
        ..o.clone()
    };
    ladmin::add_tables(&l1, &["data".into()], &om, &mut p)
        .await
        .unwrap();
    // Writes on both roots while the parts copy.
    ca.batch_execute("update data set v = v + 1000000 where id < 100")
        .await
        .unwrap();
    cb.batch_execute("delete from data where id <= 10; insert into data values (100002, 'b', 7)")
        .await
        .unwrap();
    wait_parts_ok(&cf).await;
    ca.batch_execute("insert into data values (100001, 'a', 9)")
        .await
        .unwrap();
    catch_up(&[(&l1, &ca, "p1"), (&l2, &cb, "p2")], &mut p).await;

    assert_merged(&ca, &cb, &cf).await;

    // One part copied again alone (resync; the same for a part re-added or
    // joining later) must not empty the other part's rows: both copy again,
    // taking turns, with writes going on at both roots.
    ladmin::resync(&l1, &["data".into()], false, None, &mut p)
        .await
        .unwrap();
    ca.batch_execute("update data set v = v + 1 where id < 200")
        .await
        .unwrap();
    cb.batch_execute("insert into data values (100004, 'b', 4)")
        .await
        .unwrap();
    wait_parts_ok(&cf).await;
    catch_up(&[(&l1, &ca, "p1"), (&l2, &cb, "p2")], &mut p).await;
    assert_merged(&ca, &cb, &cf).await;

    sup.shutdown(Duration::from_secs(10)).await;
    stop.cancel();
}

/// Until both parts of `data` are in sync on the merge leaf.
async fn wait_parts_ok(cf: &tokio_postgres::Client) {
    common::wait_until(
        cf,
        "both parts in sync",
        "select count(*) = 2 from londiste.table_info where table_name = 'public.data' \
           and queue_name in ('p1', 'p2') and local and merge_state = 'ok'",
    )
    .await;
}

/// A tick after the writes on each part's root, then until each leaf has
/// applied it.
async fn catch_up(parts: &[(&Admin, &tokio_postgres::Client, &str)], p: &mut dyn Progress) {
    for (admin, root, queue) in parts {
        common::tick_after_writes(root, queue).await;
        admin.wait_for(true, p).await.unwrap();
    }
}

/// The merged table holds both parts' rows, nothing stale, nothing twice
/// (the key is back), its indexes, and both parts are in sync.
async fn assert_merged(
    ca: &tokio_postgres::Client,
    cb: &tokio_postgres::Client,
    cf: &tokio_postgres::Client,
) {
    let want: Vec<(i32, String, i32)> = {
        let mut v = Vec::new();
        for c in [ca, cb] {
            for r in c.query("select id, part, v from data", &[]).await.unwrap() {
                v.push((r.get(0), r.get(1), r.get(2)));
            }
        }
        v.sort();
        v
    };
    let got: Vec<(i32, String, i32)> = cf
        .query("select id, part, v from data order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the merged table differs from the two parts");
    let idx = common::texts(
        cf,
        "select indexname::text from pg_indexes where tablename = 'data' order by 1",
    )
    .await;
    assert_eq!(idx, ["data_pkey", "data_v"]);
    for q in ["p1", "p2"] {
        let t = sql::tables(cf, q)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.table_name == "public.data")
            .unwrap();
        assert_eq!(t.merge_state, MergeState::Ok, "{q}");
        assert!(t.dropped_ddl.is_none(), "{q}: {:?}", t.dropped_ddl);
    }
}
