//! Cascaded queues on three real clusters: a root → branch → leaf chain
//! under a continuous write load (every event arrives once at every node,
//! in order), switchover root ↔ branch under load and back (nothing lost or
//! repeated, writes resume on the new root, the leaf follows).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skydeck::cascade::admin::{Admin, NodeKind, TakeoverOptions};
use skydeck::cascade::{Applier, CascadeWorker, WorkerSettings};
use skydeck::cluster::LocalCluster;
use skydeck::daemon::{Policy, Supervisor};
use skydeck::pgq::{self, BatchInfo, Event};
use tokio_postgres::{Client, Transaction};
use tokio_util::sync::CancellationToken;

const Q: &str = "cq";

/// Records every data event a node's worker applies, in its transaction.
struct Record;

impl Applier for Record {
    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'_>,
        _source: &'a Client,
        _batch: &'a BatchInfo,
        events: &'a [Event],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            for e in events {
                tx.execute(
                    "insert into received (ev_id, payload) values ($1, $2)",
                    &[&e.ev_id, &e.ev_data],
                )
                .await
                .map_err(|e| skydeck::db::describe(&e))?;
            }
            Ok(())
        })
    }
}

struct Node {
    name: &'static str,
    cluster: LocalCluster,
    connstr: String,
    admin: Admin,
}

async fn node(name: &'static str) -> Node {
    // Acknowledged commits must survive a crash (the failover test kills a
    // root): synchronous_commit on; fsync may stay off, the OS survives.
    let cluster = LocalCluster::builder(&format!("casc_{name}"))
        .setting("synchronous_commit", "on")
        .start()
        .unwrap();
    let admin_c = cluster.connect("postgres").await.unwrap();
    admin_c.batch_execute("create database app").await.unwrap();
    let connstr = cluster.connstr("app");
    let c = skydeck::db::connect(&connstr).await.unwrap();
    c.batch_execute(
        "create table received (seq bigserial primary key, ev_id bigint, payload text)",
    )
    .await
    .unwrap();
    if common::against_c_extension() {
        c.batch_execute("create extension pgq; create extension pgq_node")
            .await
            .unwrap();
    } else {
        let mut c = c;
        skydeck::install::install(&mut c, &["pgq".into(), "pgq_node".into()])
            .await
            .unwrap();
    }
    let mut admin = Admin::new(Q, &connstr, &format!("{name}_worker"));
    admin.timeout = Duration::from_secs(60);
    Node {
        name,
        cluster,
        connstr,
        admin,
    }
}

type StepLog = Arc<Mutex<Vec<(Instant, String)>>>;

fn steps() -> (StepLog, impl FnMut(&str) + Send) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    (log, move |s: &str| {
        eprintln!("  step: {s}");
        l2.lock().unwrap().push((Instant::now(), s.to_string()));
    })
}

fn worker(n: &Node) -> Arc<CascadeWorker> {
    let mut s = WorkerSettings::new(Q, &format!("{}_worker", n.name), &n.connstr);
    s.loop_delay = Duration::from_millis(500);
    s.local_wm_publish_period = Duration::from_secs(1);
    s.global_wm_publish_period = Duration::from_secs(1);
    Arc::new(CascadeWorker::new(s, String::new(), n.name).with_applier(Arc::new(Record)))
}

fn ticker_for(n: &Node, stop: &CancellationToken) -> tokio::task::JoinHandle<()> {
    common::ticker_for(&n.cluster, &["app"], stop)
}

/// Writes numbered events to whichever node is the root, in transactions
/// of 1–5 events; returns what committed, and on which node (index).
fn producer(
    nodes: Vec<String>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Vec<(String, usize)>> {
    tokio::spawn(async move {
        let mut committed = Vec::new();
        let mut target = 0usize;
        let mut n = 0u64;
        let mut conns: Vec<Option<Client>> = vec![None, None];
        while !stop.is_cancelled() {
            if conns[target].is_none() {
                conns[target] = skydeck::db::connect(&nodes[target]).await.ok();
            }
            let Some(c) = conns[target].as_mut() else {
                target = 1 - target;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let size = 1 + (n % 5);
            let mut batch = Vec::new();
            let r: Result<(), String> = async {
                let tx = c.transaction().await.map_err(|e| e.to_string())?;
                for _ in 0..size {
                    n += 1;
                    let payload = format!("e{n:07}");
                    pgq::insert_event(&tx, Q, "t", &payload)
                        .await
                        .map_err(|e| e.to_string())?;
                    batch.push(payload);
                }
                tx.commit().await.map_err(|e| e.to_string())
            }
            .await;
            match r {
                Ok(()) => committed.extend(batch.into_iter().map(|b| (b, target))),
                Err(e) if e.contains("disallowed") || e.contains("No such queue") => {
                    // Not the root (any more): write to the other node.
                    target = 1 - target;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => {
                    // A dead server: try the other node.
                    conns[target] = None;
                    target = 1 - target;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        committed
    })
}

async fn received(connstr: &str) -> Vec<String> {
    let c = skydeck::db::connect(connstr).await.unwrap();
    c.query("select payload from received order by seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn top_tick(c: &Client) -> i64 {
    c.query_one(
        "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1",
        &[&Q],
    )
    .await
    .unwrap()
    .get::<_, Option<i64>>(0)
    .unwrap_or(0)
}

/// Until every non-root node's worker has applied the root's top tick.
async fn settle(nodes: &[&Node], root_connstr: &str) {
    let root = skydeck::db::connect(root_connstr).await.unwrap();
    // A final tick after the last write.
    let _ = pgq::tick_now(&root, Q).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let top = top_tick(&root).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in nodes {
        if n.connstr == root_connstr {
            continue;
        }
        let c = skydeck::db::connect(&n.connstr).await.unwrap();
        loop {
            let info = skydeck::cascade::node::node_info(&c, Q)
                .await
                .unwrap()
                .unwrap();
            if info.worker_last_tick.unwrap_or(0) >= top {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} stuck at {:?} < {top}",
                n.name,
                info.worker_last_tick
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn assert_exactly_once(name: &str, got: &[String], want: &[String]) {
    let mut sorted = got.to_vec();
    sorted.sort();
    let mut dups = sorted.clone();
    dups.dedup();
    assert_eq!(dups.len(), sorted.len(), "{name}: duplicates");
    let mut w = want.to_vec();
    w.sort();
    let missing: Vec<&String> = w
        .iter()
        .filter(|x| sorted.binary_search(x).is_err())
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: {} missing, e.g. {missing:?}",
        w.len() - sorted.len()
    );
    assert_eq!(
        sorted, w,
        "{name}: received events differ from the committed ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_under_load_then_switchover_and_back() {
    let root = node("root").await;
    let branch = node("branch").await;
    let leaf = node("leaf").await;
    let (log, mut p) = steps();
    root.admin
        .create_root("root", &root.connstr, true, &mut p)
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
            true,
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
            true,
            &mut p,
        )
        .await
        .unwrap();
    {
        let r = skydeck::db::connect(&root.connstr).await.unwrap();
        pgq::set_queue_config(&r, Q, "ticker_max_lag", "100 milliseconds")
            .await
            .unwrap();
        pgq::set_queue_config(&r, Q, "ticker_idle_period", "1 second")
            .await
            .unwrap();
    }
    // A reference consumer on the root's queue: the order every node must see.
    let mut reference = pgq::Consumer::new(
        skydeck::db::connect(&root.connstr).await.unwrap(),
        Q,
        "reference",
        pgq::ConsumerConfig::default(),
    )
    .await
    .unwrap();
    reference.register().await.unwrap();

    let stop = CancellationToken::new();
    let tickers: Vec<_> = [&root, &branch, &leaf]
        .iter()
        .map(|n| ticker_for(n, &stop))
        .collect();
    let sup = Supervisor::new(Policy {
        min_backoff: Duration::from_millis(200),
        ..Policy::default()
    });
    for n in [&root, &branch, &leaf] {
        sup.add(worker(n));
    }
    let load_stop = CancellationToken::new();
    let load = producer(
        vec![root.connstr.clone(), branch.connstr.clone()],
        load_stop.clone(),
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    // Switchover under load: the branch becomes root.
    let t0 = Instant::now();
    branch
        .admin
        .takeover(None, "root", &TakeoverOptions::default(), &mut p)
        .await
        .unwrap();
    let switch1 = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // And back.
    let t0 = Instant::now();
    root.admin
        .takeover(None, "branch", &TakeoverOptions::default(), &mut p)
        .await
        .unwrap();
    let switch2 = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    load_stop.cancel();
    let written = load.await.unwrap();
    assert!(
        written.len() > 200,
        "the load wrote only {} events",
        written.len()
    );
    assert!(
        written.iter().any(|(_, t)| *t == 1),
        "no write reached the branch while it was root"
    );
    let committed: Vec<String> = written.iter().map(|(p, _)| p.clone()).collect();
    // A node applies what the cascade brings it: everything but what was
    // written to it directly while it was the root.
    let via_cascade = |node: usize| -> Vec<String> {
        written
            .iter()
            .filter(|(_, t)| *t != node)
            .map(|(p, _)| p.clone())
            .collect()
    };
    settle(&[&root, &branch, &leaf], &root.connstr).await;

    // The roles are back; the leaf still reads from the branch.
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    assert_eq!(
        skydeck::cascade::node::node_info(&rc, Q)
            .await
            .unwrap()
            .unwrap()
            .node_type,
        "root"
    );
    let bc = skydeck::db::connect(&branch.connstr).await.unwrap();
    let bi = skydeck::cascade::node::node_info(&bc, Q)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bi.node_type, "branch");
    assert_eq!(bi.provider_node.as_deref(), Some("root"));
    let lc = skydeck::db::connect(&leaf.connstr).await.unwrap();
    assert_eq!(
        skydeck::cascade::node::node_info(&lc, Q)
            .await
            .unwrap()
            .unwrap()
            .provider_node
            .as_deref(),
        Some("branch")
    );

    // Every committed event once at every node; the same order everywhere.
    let mut order = Vec::new();
    struct Collect<'a>(&'a mut Vec<String>);
    impl pgq::BatchHandler for Collect<'_> {
        async fn handle<'b>(
            &'b mut self,
            _tx: &'b Transaction<'_>,
            _b: &'b BatchInfo,
            events: &'b [Event],
            _c: &'b mut pgq::BatchControl,
        ) -> pgq::Result<()> {
            self.0.extend(
                events
                    .iter()
                    .filter(|e| e.ev_type.as_deref() == Some("t"))
                    .map(|e| e.ev_data.clone().unwrap()),
            );
            Ok(())
        }
    }
    while reference
        .process_batch(&mut Collect(&mut order))
        .await
        .unwrap()
        .is_some()
    {}
    assert_exactly_once("reference consumer on the root queue", &order, &committed);
    for (n, idx) in [(&branch, Some(1)), (&leaf, None), (&root, Some(0))] {
        let got = received(&n.connstr).await;
        let want: Vec<String> = match idx {
            Some(i) => {
                // While it was a branch it received everything else.
                let own: std::collections::HashSet<String> = written
                    .iter()
                    .filter(|(_, t)| *t == i)
                    .map(|(p, _)| p.clone())
                    .collect();
                let ordered: Vec<String> = order
                    .iter()
                    .filter(|p| !own.contains(*p))
                    .cloned()
                    .collect();
                if n.name == "root" {
                    // The root only applied while it was a branch (between
                    // the switchovers): a window of the stream, in order.
                    let mut seen = got.clone();
                    seen.sort();
                    seen.dedup();
                    assert_eq!(seen.len(), got.len(), "root: duplicates");
                    let positions: Vec<usize> = got
                        .iter()
                        .map(|g| {
                            ordered
                                .iter()
                                .position(|o| o == g)
                                .expect("an event from the stream")
                        })
                        .collect();
                    assert!(
                        positions.windows(2).all(|w| w[0] < w[1]),
                        "root: out of order"
                    );
                    continue;
                }
                assert_eq!(via_cascade(i).len(), ordered.len());
                ordered
            }
            None => order.clone(),
        };
        assert_exactly_once(n.name, &got, &want);
        assert_eq!(
            got, want,
            "{}: a different order than the root's consumers see",
            n.name
        );
    }
    let refused: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| s.clone())
        .filter(|s| s.contains("writes accepted again"))
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "both switchovers report when writes resumed"
    );
    eprintln!("switchovers took {switch1:?} and {switch2:?}; {refused:?}");
    stop.cancel();
    sup.shutdown(Duration::from_secs(10)).await;
    for t in tickers {
        let _ = t.await;
    }
}

async fn chain(names: [&'static str; 3], p: &mut (impl FnMut(&str) + Send)) -> (Node, Node, Node) {
    let root = node(names[0]).await;
    let branch = node(names[1]).await;
    let leaf = node(names[2]).await;
    root.admin
        .create_root(root.name, &root.connstr, true, p)
        .await
        .unwrap();
    branch
        .admin
        .create_subscriber(
            NodeKind::Branch,
            branch.name,
            &branch.connstr,
            &root.connstr,
            None,
            None,
            true,
            p,
        )
        .await
        .unwrap();
    leaf.admin
        .create_subscriber(
            NodeKind::Leaf,
            leaf.name,
            &leaf.connstr,
            &branch.connstr,
            None,
            None,
            true,
            p,
        )
        .await
        .unwrap();
    let r = skydeck::db::connect(&root.connstr).await.unwrap();
    pgq::set_queue_config(&r, Q, "ticker_max_lag", "100 milliseconds")
        .await
        .unwrap();
    pgq::set_queue_config(&r, Q, "ticker_idle_period", "1 second")
        .await
        .unwrap();
    (root, branch, leaf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_with_the_root_dead_then_resurrect() {
    let (_log, mut p) = steps();
    let (mut root, branch, leaf) = chain(["froot", "fbranch", "fleaf"], &mut p).await;
    let stop = CancellationToken::new();
    let tickers: Vec<_> = [&root, &branch, &leaf]
        .iter()
        .map(|n| ticker_for(n, &stop))
        .collect();
    let sup = Supervisor::new(Policy {
        min_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        ..Policy::default()
    });
    for n in [&root, &branch, &leaf] {
        sup.add(worker(n));
    }
    let load_stop = CancellationToken::new();
    let load = producer(
        vec![root.connstr.clone(), branch.connstr.clone()],
        load_stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The root's cluster dies with the load running.
    root.cluster.crash();
    let t0 = Instant::now();
    branch
        .admin
        .takeover(
            None,
            "froot",
            &TakeoverOptions {
                dead_root: true,
                ..TakeoverOptions::default()
            },
            &mut p,
        )
        .await
        .unwrap();
    eprintln!("failover took {:?}", t0.elapsed());
    // Writes resume on the new root; the leaf follows.
    tokio::time::sleep(Duration::from_secs(2)).await;
    load_stop.cancel();
    let written = load.await.unwrap();
    assert!(
        written.iter().any(|(_, t)| *t == 1),
        "no write reached the new root"
    );
    settle(&[&branch, &leaf], &branch.connstr).await;

    // The old root comes back and is resurrected.
    root.cluster.restart().unwrap();
    let dir = std::env::temp_dir().join(format!("skydeck-resurrect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lost_file = dir.join("lost.json");
    let n_lost = root.admin.resurrect(&lost_file, &mut p).await.unwrap();
    let lost: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&lost_file).unwrap()).unwrap();
    assert_eq!(lost.len(), n_lost);
    let lost_payloads: std::collections::HashSet<String> = lost
        .iter()
        .filter(|e| e["ev_type"] == "t")
        .map(|e| e["ev_data"].as_str().unwrap().to_string())
        .collect();
    // What the cascade has is everything written except the lost events;
    // the lost ones were written to the old root, and nothing else is missing.
    let leaf_got = received(&leaf.connstr).await;
    let got: std::collections::HashSet<&String> = leaf_got.iter().collect();
    for (payload, target) in &written {
        let in_cascade = got.contains(payload);
        let is_lost = lost_payloads.contains(payload);
        assert!(
            in_cascade != is_lost,
            "{payload} (written to node {target}): in cascade {in_cascade}, lost {is_lost}"
        );
        if is_lost {
            assert_eq!(
                *target, 0,
                "{payload}: only events of the old root can be lost"
            );
        }
    }
    assert_exactly_once("fleaf", &leaf_got, &leaf_got.clone());
    // The lost events are gone from the old root's queue.
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    let left: i64 = rc
        .query_one(
            "select count(*) from pgq.event_template e, pgq.queue q where e.ev_data = any($1) and q.queue_name = $2",
            &[&lost_payloads.iter().cloned().collect::<Vec<_>>(), &Q],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "lost events still in the old root's queue");
    // It follows the new root once resumed.
    let ri = skydeck::cascade::node::node_info(&rc, Q)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ri.node_type, "branch");
    assert_eq!(ri.provider_node.as_deref(), Some("fbranch"));
    root.admin.pause(None, None, false, &mut p).await.unwrap();
    let bc = skydeck::db::connect(&branch.connstr).await.unwrap();
    pgq::insert_event(&bc, Q, "t", "after-resurrect")
        .await
        .unwrap();
    settle(&[&root, &leaf], &branch.connstr).await;
    assert!(received(&root.connstr)
        .await
        .contains(&"after-resurrect".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
    stop.cancel();
    sup.shutdown(Duration::from_secs(10)).await;
    for t in tickers {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_at_random_moments_loses_and_repeats_nothing() {
    let (_log, mut p) = steps();
    let root = node("kroot").await;
    let branch = node("kbranch").await;
    root.admin
        .create_root("kroot", &root.connstr, true, &mut p)
        .await
        .unwrap();
    branch
        .admin
        .create_subscriber(
            NodeKind::Branch,
            "kbranch",
            &branch.connstr,
            &root.connstr,
            None,
            None,
            true,
            &mut p,
        )
        .await
        .unwrap();
    let rc = skydeck::db::connect(&root.connstr).await.unwrap();
    pgq::set_queue_config(&rc, Q, "ticker_max_lag", "50 milliseconds")
        .await
        .unwrap();
    // Consumers on both queues, registered before any event: they must see
    // the same stream.
    for (n, name) in [(&root, "ref_root"), (&branch, "ref_branch")] {
        let c = skydeck::db::connect(&n.connstr).await.unwrap();
        pgq::register_consumer(&c, Q, name).await.unwrap();
    }
    let stop = CancellationToken::new();
    let tickers: Vec<_> = [&root, &branch]
        .iter()
        .map(|n| ticker_for(n, &stop))
        .collect();
    let load_stop = CancellationToken::new();
    let load = producer(
        vec![root.connstr.clone(), branch.connstr.clone()],
        load_stop.clone(),
    );

    // Run the branch worker in a task of our own and kill it at random
    // moments: abort the task, and terminate its connections.
    let killer = skydeck::db::connect(&branch.connstr).await.unwrap();
    let killer_root = skydeck::db::connect(&root.connstr).await.unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let w = worker(&branch);
    for round in 0..12 {
        let token = CancellationToken::new();
        let ctx = skydeck::daemon::JobContext::standalone(token.clone());
        let task = tokio::spawn(skydeck::daemon::Job::run(w.clone(), ctx));
        tokio::time::sleep(Duration::from_millis(100 + next() % 400)).await;
        if round % 2 == 0 {
            task.abort();
            let _ = task.await;
        } else {
            // Its connections die under it (both ends).
            for k in [&killer, &killer_root] {
                let _ = k
                    .execute(
                        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'skydeck' \
                           and pid <> pg_backend_pid() and datname = current_database()",
                        &[],
                    )
                    .await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            token.cancel();
        }
    }
    load_stop.cancel();
    let written = load.await.unwrap();
    // Now let it finish in peace.
    let sup = Supervisor::new(Policy::default());
    sup.add(w);
    settle(&[&root, &branch], &root.connstr).await;
    let committed: Vec<String> = written.iter().map(|(p, _)| p.clone()).collect();
    assert_exactly_once("kbranch", &received(&branch.connstr).await, &committed);
    // The branch's queue is the root's: same events, ids and ticks.
    let mut streams = Vec::new();
    for (n, name) in [(&root, "ref_root"), (&branch, "ref_branch")] {
        let mut c = pgq::Consumer::new(
            skydeck::db::connect(&n.connstr).await.unwrap(),
            Q,
            name,
            pgq::ConsumerConfig::default(),
        )
        .await
        .unwrap();
        struct Ids(Vec<(i64, i64, String)>);
        impl pgq::BatchHandler for Ids {
            async fn handle<'b>(
                &'b mut self,
                _tx: &'b Transaction<'_>,
                b: &'b BatchInfo,
                events: &'b [Event],
                _c: &'b mut pgq::BatchControl,
            ) -> pgq::Result<()> {
                for e in events {
                    self.0.push((
                        b.cur_tick_id,
                        e.ev_id,
                        e.ev_data.clone().unwrap_or_default(),
                    ));
                }
                Ok(())
            }
        }
        let mut ids = Ids(Vec::new());
        while c.process_batch(&mut ids).await.unwrap().is_some() {}
        streams.push(ids.0);
    }
    assert!(!streams[0].is_empty());
    assert_eq!(
        streams[0], streams[1],
        "the branch's queue differs from the root's"
    );
    stop.cancel();
    sup.shutdown(Duration::from_secs(10)).await;
    for t in tickers {
        let _ = t.await;
    }
}
