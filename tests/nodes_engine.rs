//! The engine side of the console's Nodes view, on a real cascade (root →
//! branch → leaf, three databases of one cluster, workers and ticker under
//! a supervisor): the snapshot's cascade tree, and every node action as
//! the console sends it — pause/resume with their steps, the takeover dry
//! run, a switchover with its live steps and write pause, change of
//! provider, tag-dead/alive, a failover of the root, refusals (drop of a node with subscribers,
//! unknown cascade, read-only mode).

mod common;

use common::{ask, ask_ok, result};
use std::sync::Arc;
use std::time::Duration;

use skydeck::cascade::admin::{Admin, NodeKind};
use skydeck::cascade::{CascadeWorker, WorkerSettings};
use skydeck::cluster::LocalCluster;
use skydeck::daemon::host::Host;
use skydeck::daemon::logging::LogBuffer;
use skydeck::daemon::{Policy, Supervisor};
use skydeck::ticker::{Settings, TickerJob};
use skydeck_ui::model::{Action, NodeType, Reply, Snapshot, TakeoverKind};

const Q: &str = "nq";

/// (node, database, kind, provider)
const NODES: [(&str, &str, Option<NodeKind>, &str); 3] = [
    ("n_root", "n_root", None, ""),
    ("n_branch", "n_branch", Some(NodeKind::Branch), "n_root"),
    ("n_leaf", "n_leaf", Some(NodeKind::Leaf), "n_branch"),
];

async fn setup(read_only: bool) -> (LocalCluster, Arc<Host>, Arc<Supervisor>) {
    let cluster = LocalCluster::builder("nodes_engine").start().unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    let mut quiet = |_: &str| {};
    for (node, db, kind, provider) in NODES {
        admin
            .batch_execute(&format!("create database {db}"))
            .await
            .unwrap();
        let a = Admin::new(Q, &cluster.connstr(db), &format!("{node}_w"));
        match kind {
            None => a
                .create_root(node, &cluster.connstr(db), false, &mut quiet)
                .await
                .unwrap(),
            Some(k) => a
                .create_subscriber(
                    k,
                    node,
                    &cluster.connstr(db),
                    &cluster.connstr(provider),
                    None,
                    None,
                    false,
                    &mut quiet,
                )
                .await
                .unwrap(),
        }
    }
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
            database_list: NODES.iter().map(|n| n.1.to_string()).collect(),
            ticker_period: Duration::from_millis(100),
            ..Settings::default()
        },
        String::new(),
    )));
    for (node, db, _, _) in NODES {
        let mut s = WorkerSettings::new(Q, &format!("{node}_w"), &cluster.connstr(db));
        s.loop_delay = Duration::from_millis(200);
        sup.add(Arc::new(CascadeWorker::new(s, String::new(), db)));
    }
    let host = Host::new(sup.clone(), LogBuffer::new(100), "test", read_only);
    (cluster, host, sup)
}

fn steps(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::Update(u) => Some(format!("{}{}", if u.running { "… " } else { "" }, u.step)),
            _ => None,
        })
        .collect()
}

/// Snapshots until `ok` holds for the cascade.
async fn until(
    host: &skydeck::daemon::host::Host,
    what: &str,
    ok: impl Fn(&skydeck_ui::model::Snapshot) -> bool,
) -> skydeck_ui::model::Snapshot {
    common::snapshot_until(host, what, ok, |s| s.cascades.clone()).await
}

fn node<'a>(s: &'a Snapshot, name: &str) -> &'a skydeck_ui::model::NodeView {
    s.cascades
        .iter()
        .flat_map(|c| c.nodes.iter())
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name} in {:#?}", s.cascades))
}

fn q(s: &str) -> String {
    s.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_view_data_and_actions() {
    let (_cluster, host, sup) = setup(false).await;

    // The tree: types, providers, databases as the deck labels them, lag
    // (the leaf's from its provider's queue).
    let s = until(&host, "every node with a lag", |s| {
        s.cascades.len() == 1 && s.cascades[0].nodes.iter().all(|n| n.lag.is_some())
    })
    .await;
    let c = &s.cascades[0];
    assert_eq!(c.queue, Q);
    assert_eq!(c.nodes.len(), 3);
    let root = node(&s, "n_root");
    assert_eq!(root.node_type, Some(NodeType::Root));
    assert_eq!(root.provider(), None);
    assert_eq!(root.database, "n_root");
    assert!(!root.location.is_empty());
    let branch = node(&s, "n_branch");
    assert_eq!(branch.node_type, Some(NodeType::Branch));
    assert_eq!(branch.provider(), Some("n_root"));
    assert_eq!(branch.worker.as_deref(), Some("n_branch_w"));
    let leaf = node(&s, "n_leaf");
    assert_eq!(leaf.node_type, Some(NodeType::Leaf));
    assert_eq!(leaf.provider(), Some("n_branch"));
    assert!(leaf.last_tick.is_some() && !leaf.paused && leaf.uptodate);

    // Pause: a running step while the worker acknowledges, then the result.
    let r = ask_ok(
        &host,
        Action::PauseNode {
            queue: q(Q),
            node: q("n_leaf"),
        },
    )
    .await;
    let st = steps(&r);
    assert!(
        st.iter()
            .any(|s| s.starts_with("… waiting for n_leaf_w on n_leaf")),
        "{st:?}"
    );
    assert!(
        st.iter().any(|s| s.contains("n_leaf_w on n_leaf: paused")),
        "{st:?}"
    );
    until(&host, "leaf paused", |s| node(s, "n_leaf").paused).await;
    ask_ok(
        &host,
        Action::ResumeNode {
            queue: q(Q),
            node: q("n_leaf"),
        },
    )
    .await;
    until(&host, "leaf running", |s| !node(s, "n_leaf").paused).await;

    // The dry run is a plan, not a result, and changes nothing.
    let plan_req = Action::TakeoverPlan {
        queue: q(Q),
        old: q("n_root"),
        new: q("n_branch"),
        kind: TakeoverKind::Switchover,
        all: false,
    };
    let r = ask(&host, plan_req.clone()).await;
    let Some(Reply::Plan { action, plan }) = r.last() else {
        panic!("no plan: {r:?}")
    };
    assert_eq!(*action, plan_req);
    assert_eq!(plan.kind, "switchover");
    assert!(plan.ok(), "{plan:?}");
    assert!(
        plan.steps
            .iter()
            .any(|s| s.contains("promote_branch on n_branch")),
        "{plan:?}"
    );
    assert_eq!(
        node(&host.snapshot().await, "n_root").node_type,
        Some(NodeType::Root)
    );

    // The switchover itself: its steps live, the write pause measured.
    let r = ask_ok(
        &host,
        Action::Takeover {
            queue: q(Q),
            old: q("n_root"),
            new: q("n_branch"),
            kind: TakeoverKind::Switchover,
            all: false,
        },
    )
    .await;
    let st = steps(&r);
    for want in [
        "Step 1: writing to the queue on n_root is disabled",
        "n_branch promoted to root",
        "Step 3: n_root demoted to branch reading from n_branch",
    ] {
        assert!(st.iter().any(|s| s.contains(want)), "{want}: {st:?}");
    }
    let refused: Vec<_> = r
        .iter()
        .filter_map(|x| match x {
            Reply::Update(u) => u.writes_refused,
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "one update ends the write pause: {r:?}");
    let s = until(&host, "n_branch is the root", |s| {
        node(s, "n_branch").node_type == Some(NodeType::Root)
            && node(s, "n_root").provider() == Some("n_branch")
    })
    .await;
    assert_eq!(node(&s, "n_leaf").provider(), Some("n_branch"));

    // Change provider: the leaf reads from the old root, now a branch.
    ask_ok(
        &host,
        Action::ChangeProvider {
            queue: q(Q),
            node: q("n_leaf"),
            new_provider: q("n_root"),
        },
    )
    .await;
    until(&host, "leaf under n_root", |s| {
        node(s, "n_leaf").provider() == Some("n_root")
    })
    .await;

    // Drop refuses a node that others read from, and names them.
    let r = ask(
        &host,
        Action::DropNode {
            queue: q(Q),
            node: q("n_root"),
        },
    )
    .await;
    let res = result(&r);
    assert!(!res.ok && res.message.contains("n_leaf"), "{res:?}");

    // Tag dead and alive: the dead mark shows, then goes.
    ask_ok(
        &host,
        Action::TagDead {
            queue: q(Q),
            node: q("n_leaf"),
        },
    )
    .await;
    until(&host, "leaf dead", |s| node(s, "n_leaf").dead).await;
    ask_ok(
        &host,
        Action::TagAlive {
            queue: q(Q),
            node: q("n_leaf"),
        },
    )
    .await;
    until(&host, "leaf alive", |s| !node(s, "n_leaf").dead).await;

    // Failover of the root (treated as dead: the command does not contact
    // it): n_root takes over with the leaf that reads from it.
    let plan_req = Action::TakeoverPlan {
        queue: q(Q),
        old: q("n_branch"),
        new: q("n_root"),
        kind: TakeoverKind::Failover,
        all: true,
    };
    let r = ask(&host, plan_req).await;
    let Some(Reply::Plan { plan, .. }) = r.last() else {
        panic!("no plan: {r:?}")
    };
    assert_eq!(plan.kind, "failover of the root", "{plan:?}");
    assert!(
        plan.notes.iter().any(|n| n.contains("resurrect")),
        "{plan:?}"
    );
    let r = ask_ok(
        &host,
        Action::Takeover {
            queue: q(Q),
            old: q("n_branch"),
            new: q("n_root"),
            kind: TakeoverKind::Failover,
            all: true,
        },
    )
    .await;
    let st = steps(&r);
    for want in [
        "n_branch tagged dead",
        "n_root promoted to root",
        "n_branch.gravestone registered on n_root",
    ] {
        assert!(st.iter().any(|s| s.contains(want)), "{want}: {st:?}");
    }
    let s = until(&host, "n_root is the root, n_branch dead", |s| {
        node(s, "n_root").node_type == Some(NodeType::Root) && node(s, "n_branch").dead
    })
    .await;
    assert_eq!(node(&s, "n_leaf").provider(), Some("n_root"));

    // A cascade the deck does not serve: says which it does.
    let r = ask(
        &host,
        Action::PauseNode {
            queue: q("nope"),
            node: q("x"),
        },
    )
    .await;
    let res = result(&r);
    assert!(
        !res.ok && res.message.contains("\"nope\"") && res.message.contains(Q),
        "{res:?}"
    );
    sup.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_node_actions_but_plans() {
    let (_cluster, host, sup) = setup(true).await;
    let r = ask(
        &host,
        Action::PauseNode {
            queue: q(Q),
            node: q("n_leaf"),
        },
    )
    .await;
    let res = result(&r);
    assert!(!res.ok && res.message.contains("read-only"), "{res:?}");
    let r = ask(
        &host,
        Action::TakeoverPlan {
            queue: q(Q),
            old: q("n_root"),
            new: q("n_branch"),
            kind: TakeoverKind::Switchover,
            all: true,
        },
    )
    .await;
    assert!(matches!(r.last(), Some(Reply::Plan { .. })), "{r:?}");
    sup.shutdown(Duration::from_secs(5)).await;
}
