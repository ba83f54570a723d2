//! Every command → its Action (or console command), the errors, and tab
//! completion against the fixture deck.

use std::time::Duration;

use super::*;
use crate::fixtures::{self, ARCHIVE, SHOP, STATS};
use crate::model::{Action, Snapshot, TakeoverKind};
use crate::theme::ThemeName;
use crate::views::ViewId;

fn deck() -> Snapshot {
    fixtures::deck()
}

fn ok(snap: &Snapshot, line: &str) -> Command {
    match parse(line, &Context::new(snap)) {
        Ok(c) => c,
        Err(e) => panic!("{line}: {e}"),
    }
}

fn run(snap: &Snapshot, line: &str) -> Vec<Action> {
    match ok(snap, line) {
        Command::Run(a) => a,
        other => panic!("{line}: not actions: {other:?}"),
    }
}

fn fail(snap: &Snapshot, line: &str) -> String {
    match parse(line, &Context::new(snap)) {
        Ok(c) => panic!("{line}: parsed as {c:?}"),
        Err(e) => e.0,
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn create_and_drop_queue() {
    let d = deck();
    assert_eq!(
        run(&d, "create queue jobs in shop@db1:5432;"),
        [Action::CreateQueue {
            database: s(SHOP),
            queue: s("jobs")
        }]
    );
    // The selected queue's database is the default for a new queue.
    let ctx = Context::new(&d).with_queue(STATS, "metrics");
    assert_eq!(
        parse("CREATE QUEUE jobs", &ctx),
        Ok(Command::Run(vec![Action::CreateQueue {
            database: s(STATS),
            queue: s("jobs")
        }]))
    );
    assert_eq!(
        run(&d, "drop queue orders"),
        [Action::DropQueue {
            database: s(SHOP),
            queue: s("orders"),
            force: false
        }]
    );
    assert_eq!(
        run(&d, "drop queue \"billing events\" force"),
        [Action::DropQueue {
            database: s(SHOP),
            queue: s("billing events"),
            force: true
        }]
    );
    assert_eq!(
        run(&d, "drop queue gone in archive@db3:5432"),
        [Action::DropQueue {
            database: s(ARCHIVE),
            queue: s("gone"),
            force: false
        }]
    );
}

#[test]
fn alter_queue_maps_qadmin_names() {
    let d = deck();
    let base = |param: &str, value: &str| Action::SetQueueConfig {
        database: s(SHOP),
        queue: s("orders"),
        param: s(param),
        value: s(value),
    };
    assert_eq!(
        run(
            &d,
            "alter queue orders set idle_period='30 seconds', max_count=1000, max_lag='3s', paused=0;"
        ),
        [
            base("ticker_idle_period", "30 seconds"),
            base("ticker_max_count", "1000"),
            base("ticker_max_lag", "3s"),
            base("ticker_paused", "0"),
        ]
    );
    assert_eq!(
        run(&d, "alter queue orders set rotation_period = '1 hour'"),
        [base("rotation_period", "1 hour")]
    );
    // `*`: every queue (of the database, when named).
    let all = run(&d, "alter queue * in stats@db2:5432 set max_lag=5s");
    assert_eq!(all.len(), 2);
    assert!(all
        .iter()
        .all(|a| matches!(a, Action::SetQueueConfig { database, .. } if database == STATS)));
    assert_eq!(
        run(&d, "set queue config orders ticker_max_count 200"),
        [base("ticker_max_count", "200")]
    );
    assert_eq!(
        run(&d, "set queue config orders max_lag = '2 s'"),
        [base("ticker_max_lag", "2 s")]
    );
}

#[test]
fn consumers() {
    let d = deck();
    assert_eq!(
        run(&d, "register consumer audit_sink on audit"),
        [Action::RegisterConsumer {
            database: s(SHOP),
            queue: s("audit"),
            consumer: s("audit_sink")
        }]
    );
    let ctx = Context::new(&d).with_queue(SHOP, "orders");
    assert_eq!(
        parse("register consumer \"new reader\"", &ctx),
        Ok(Command::Run(vec![Action::RegisterConsumer {
            database: s(SHOP),
            queue: s("orders"),
            consumer: s("new reader")
        }]))
    );
    // The queue a consumer is on is found when it is unambiguous.
    assert_eq!(
        run(&d, "unregister consumer search_indexer"),
        [Action::UnregisterConsumer {
            database: s(SHOP),
            queue: s("orders"),
            consumer: s("search_indexer")
        }]
    );
    assert_eq!(
        run(&d, "unregister consumer ledger from \"billing events\""),
        [Action::UnregisterConsumer {
            database: s(SHOP),
            queue: s("billing events"),
            consumer: s("ledger")
        }]
    );
    let all = run(&d, "unregister consumer * from audit");
    assert_eq!(
        all,
        [
            Action::UnregisterConsumer {
                database: s(SHOP),
                queue: s("audit"),
                consumer: s("audit_archiver")
            },
            Action::UnregisterConsumer {
                database: s(SHOP),
                queue: s("audit"),
                consumer: s("audit_stream")
            },
        ]
    );
}

#[test]
fn tick_maint_workers() {
    let d = deck();
    assert_eq!(
        run(&d, "tick orders"),
        [Action::Tick {
            database: s(SHOP),
            queue: s("orders")
        }]
    );
    let ctx = Context::new(&d).with_queue(SHOP, "audit");
    assert_eq!(
        parse("tick", &ctx),
        Ok(Command::Run(vec![Action::Tick {
            database: s(SHOP),
            queue: s("audit")
        }]))
    );
    // `tick *` ticks the locally ticked queues only.
    assert_eq!(run(&d, "tick *").len(), 3);
    assert_eq!(
        run(&d, "maint rotate audit"),
        [Action::Rotate {
            database: s(SHOP),
            queue: Some(s("audit"))
        }]
    );
    assert_eq!(
        run(&d, "maint rotate in stats@db2:5432"),
        [Action::Rotate {
            database: s(STATS),
            queue: None
        }]
    );
    assert_eq!(run(&d, "maint retry").len(), 4, "one per database");
    assert_eq!(
        run(&d, "maint retry in shop@db1:5432"),
        [Action::RetryMaint { database: s(SHOP) }]
    );
    assert_eq!(
        run(&d, "pause worker pgqd"),
        [Action::PauseWorker { worker: s("pgqd") }]
    );
    assert_eq!(
        run(&d, "resume worker *"),
        [Action::ResumeWorker {
            worker: s("audit_archiver")
        }]
    );
    assert_eq!(
        run(&d, "restart worker replica_shop"),
        [Action::RestartWorker {
            worker: s("replica_shop")
        }]
    );
}

#[test]
fn show_navigates() {
    let d = deck();
    assert_eq!(
        ok(&d, "show queue audit"),
        Command::Show(Target::Queue {
            database: s(SHOP),
            queue: s("audit")
        })
    );
    assert_eq!(
        ok(&d, "show queue *"),
        Command::Show(Target::View(ViewId::Queues))
    );
    assert_eq!(
        ok(&d, "show queue"),
        Command::Show(Target::View(ViewId::Queues))
    );
    assert_eq!(
        ok(&d, "show consumer rollup"),
        Command::Show(Target::Consumer {
            database: s(STATS),
            queue: s("metrics"),
            consumer: s("rollup")
        })
    );
    assert_eq!(
        ok(&d, "show worker replica_shop"),
        Command::Show(Target::Worker(s("replica_shop")))
    );
    assert_eq!(
        ok(&d, "show logs"),
        Command::Show(Target::View(ViewId::Logs))
    );
    assert_eq!(
        ok(&d, "show databases"),
        Command::Show(Target::View(ViewId::Overview))
    );
    assert_eq!(ok(&d, "show help"), Command::Help);
    assert_eq!(ok(&d, "show version"), Command::Version);
    for (name, view) in [
        ("queues", ViewId::Queues),
        ("overview", ViewId::Overview),
        ("workers", ViewId::Workers),
        ("logs", ViewId::Logs),
        ("Logs", ViewId::Logs),
    ] {
        assert_eq!(ok(&d, name), Command::Show(Target::View(view)), "{name}");
    }
}

#[test]
fn console_commands() {
    let d = deck();
    assert_eq!(run(&d, "refresh"), [Action::Refresh]);
    assert_eq!(
        run(&d, "refresh 500ms"),
        [Action::SetRefresh(Duration::from_millis(500))]
    );
    assert_eq!(
        run(&d, "refresh 2"),
        [Action::SetRefresh(Duration::from_secs(2))]
    );
    assert_eq!(ok(&d, "freeze"), Command::Freeze(None));
    assert_eq!(ok(&d, "freeze off"), Command::Freeze(Some(false)));
    assert_eq!(ok(&d, "filter shop ord"), Command::Filter(s("shop ord")));
    assert_eq!(ok(&d, "filter"), Command::Filter(s("")));
    assert_eq!(ok(&d, "theme mono"), Command::Theme(ThemeName::Mono));
    assert_eq!(ok(&d, "help"), Command::Help);
    assert_eq!(ok(&d, "quit"), Command::Quit);
    assert_eq!(ok(&d, "exit;"), Command::Quit);
    assert_eq!(ok(&d, "q"), Command::Quit);
}

#[test]
fn errors_say_what_to_do() {
    let d = deck();
    assert_eq!(
        fail(&d, "frobnicate"),
        "unknown command 'frobnicate' — `help` lists the commands; views: overview, queues, workers, logs, nodes, tables, wal"
    );
    assert_eq!(
        fail(&d, "drop table x"),
        "drop: expected queue or node, found 'table'"
    );
    assert_eq!(
        fail(&d, "show everything"),
        "show: expected queue, consumer, worker, node, cascade, table, databases, logs, help or version, found 'everything'"
    );
    assert_eq!(fail(&d, "create"), "create: expected queue");
    assert_eq!(
        fail(&d, "create queue"),
        "create queue: expected a name for the new queue — usage: create queue <queue> [in <db>]"
    );
    assert_eq!(
        fail(&d, "create queue jobs"),
        "create queue: which database? add in <db> (shop@db1:5432, stats@db2:5432, archive@db3:5432, legacy@db4:5432)"
    );
    assert_eq!(
        fail(&d, "create queue jobs in nowhere"),
        "create queue: no database nowhere in this deck (shop@db1:5432, stats@db2:5432, archive@db3:5432, legacy@db4:5432)"
    );
    assert_eq!(
        fail(&d, "drop queue nope"),
        "drop queue: no queue nope in this deck (add in <db> if it was just created)"
    );
    assert_eq!(
        fail(&d, "drop queue orders sometimes"),
        "drop queue: unexpected 'sometimes' (expected force, in) — usage: drop queue <queue> [force] [in <db>]"
    );
    assert_eq!(
        fail(&d, "drop queue orders force force"),
        "drop queue: 'force' given twice — usage: drop queue <queue> [force] [in <db>]"
    );
    assert_eq!(
        fail(&d, "alter queue orders"),
        "alter queue: nothing to change: add set max_lag='3s', … (idle_period, max_count, max_lag, paused, rotation_period, external_ticker)"
    );
    assert_eq!(
        fail(&d, "alter queue orders set"),
        "alter queue: expected name=value after 'set' — usage: alter queue <queue|*> [in <db>] set max_lag='3s', max_count=500, idle_period='1m', paused=0"
    );
    assert!(fail(&d, "alter queue orders set max_lag 3")
        .starts_with("alter queue: expected '=' after 'max_lag', found '3'"));
    assert_eq!(
        fail(&d, "alter queue orders set colour='blue'"),
        "alter queue: cannot change parameter 'colour' (known: idle_period, max_count, max_lag, paused, rotation_period, external_ticker)"
    );
    assert_eq!(
        fail(&d, "register consumer x"),
        "register consumer: which queue? add on <queue>: register consumer x on <queue>"
    );
    assert_eq!(
        fail(&d, "register consumer x on orders at 5"),
        "register consumer: 'at <tick>' and 'copy <consumer>' are not supported by the console; it registers at the queue's last tick"
    );
    assert_eq!(
        fail(&d, "unregister consumer ghost"),
        "unregister consumer: consumer ghost is not registered on any queue here; name the queue: … from <queue>"
    );
    assert_eq!(
        fail(&d, "tick"),
        "tick: which queue? select one in the Queues view, or: tick <queue>"
    );
    assert_eq!(
        fail(&d, "tick orders in"),
        "tick: expected a database after 'in' — usage: tick [<queue>|*] [in <db>]"
    );
    assert_eq!(
        fail(&d, "pause worker nobody"),
        "pause worker: no worker nobody (pgqd, invoicing, search_indexer, replica_shop, archive_mover, audit_archiver, … 2 more)"
    );
    assert_eq!(
        fail(&d, "refresh soon"),
        "refresh: 'soon' is not a period (try 500ms, 2s, 1m)"
    );
    assert_eq!(
        fail(&d, "refresh 10ms"),
        "refresh: '10ms' is out of range (100ms to 1h)"
    );
    assert_eq!(
        fail(&d, "theme pink"),
        "theme: unknown theme 'pink' (dark, light or mono)"
    );
    assert_eq!(fail(&d, "tick \"orders"), "unterminated quote: \"orders");
    assert_eq!(fail(&d, "  ;"), "empty command");
}

#[test]
fn ambiguous_names_ask_for_the_database() {
    let mut d = deck();
    let mut twin = d.queues[0].clone();
    twin.database = s(STATS);
    d.queues.push(twin);
    assert_eq!(
        fail(&d, "tick orders"),
        "tick: queue orders is in several databases (shop@db1:5432, stats@db2:5432): add in <db>"
    );
    assert_eq!(
        run(&d, "tick orders in stats@db2:5432"),
        [Action::Tick {
            database: s(STATS),
            queue: s("orders")
        }]
    );
    assert_eq!(
        fail(&d, "unregister consumer invoicing"),
        "unregister consumer: consumer invoicing is registered on several queues (orders, orders): add from <queue>"
    );
    // The selected queue settles it.
    let ctx = Context::new(&d).with_queue(STATS, "orders");
    assert_eq!(
        parse("unregister consumer invoicing", &ctx),
        Ok(Command::Run(vec![Action::UnregisterConsumer {
            database: s(STATS),
            queue: s("orders"),
            consumer: s("invoicing")
        }]))
    );
}

// ----- completion ---------------------------------------------------------

fn names(input: &str, snap: &Snapshot) -> Vec<String> {
    complete(input, input.len(), &Context::new(snap))
        .candidates
        .into_iter()
        .map(|c| c.insert)
        .collect()
}

#[test]
fn completes_commands() {
    let d = deck();
    let first = names("", &d);
    for w in [
        "create",
        "drop",
        "alter",
        "register",
        "unregister",
        "tick",
        "show",
        "queues",
        "logs",
        "help",
        "quit",
    ] {
        assert!(first.contains(&s(w)), "{w} in {first:?}");
    }
    assert!(!first.contains(&s("exit")), "aliases are not offered");
    assert_eq!(names("cr", &d), ["create"]);
    assert_eq!(
        names("re", &d),
        ["refresh", "register", "remove", "restart", "resume", "resync"]
    );
    assert_eq!(
        names("show ", &d),
        [
            "cascade",
            "consumer",
            "databases",
            "help",
            "logs",
            "node",
            "queue",
            "table",
            "version",
            "worker"
        ]
    );
    assert_eq!(names("SHOW Q", &d), ["queue"]);
    assert_eq!(names("drop queue orders ", &d), ["force", "in"]);
    assert_eq!(names("drop queue orders force ", &d), ["in"]);
    assert_eq!(names("maint ", &d), ["retry", "rotate"]);
    assert_eq!(names("theme ", &d), ["dark", "light", "mono"]);
    assert_eq!(names("alter queue orders set ", &d).len(), 6);
    assert_eq!(
        names("alter queue orders set max_", &d),
        ["max_count=", "max_lag="]
    );
    assert_eq!(
        names("alter queue orders set max_lag=3, p", &d),
        ["paused="]
    );
    assert!(names("frobnicate ", &d).is_empty());
}

#[test]
fn completes_names_from_the_snapshot() {
    let d = deck();
    assert_eq!(
        names("drop queue ", &d),
        [
            "audit",
            "\"billing events\"",
            "exports",
            "metrics",
            "orders"
        ]
    );
    assert_eq!(names("drop queue b", &d), ["\"billing events\""]);
    assert_eq!(names("drop queue \"bil", &d), ["\"billing events\""]);
    assert_eq!(
        names("drop queue O", &d),
        ["orders"],
        "case-insensitive when nothing matches exactly"
    );
    assert_eq!(names("tick ", &d)[0], "*");
    assert_eq!(names("tick a", &d), ["audit"]);
    assert_eq!(
        names("tick in ", &d),
        [
            "archive@db3:5432",
            "legacy@db4:5432",
            "shop@db1:5432",
            "stats@db2:5432"
        ]
    );
    assert_eq!(names("tick in st", &d), ["stats@db2:5432"]);
    assert_eq!(
        names("drop queue in stats@db2:5432 ", &d),
        Vec::<String>::new(),
        "'in' before the queue is not the grammar"
    );
    // Queues of the named database only.
    assert_eq!(names("alter queue * in stats@db2:5432 ", &d), ["set"]);
    // Consumers of the queue named so far, or all of them.
    assert_eq!(
        names("unregister consumer a", &d),
        ["audit_archiver", "audit_stream"]
    );
    assert_eq!(
        names("show consumer ", &d).len(),
        7 + 3,
        "consumers, *, and the clauses on and in"
    );
    assert_eq!(names("unregister consumer * from ", &d).len(), 5);
    assert_eq!(names("unregister consumer x from au", &d), ["audit"]);
    assert_eq!(names("register consumer x on o", &d), ["orders"]);
    assert_eq!(names("pause worker re", &d), ["replica_shop"]);
    assert_eq!(names("restart worker ", &d).len(), 8);
}

#[test]
fn completion_replaces_the_word_being_typed() {
    let d = deck();
    let c = complete("drop queue bil", 14, &Context::new(&d));
    assert_eq!(c.range, 11..14);
    assert_eq!(c.candidates[0].display, "billing events");
    assert!(c.candidates[0].space);
    // In the middle of the line: only what is before the cursor counts.
    let c = complete("tick or in shop@db1:5432", 7, &Context::new(&d));
    assert_eq!(c.range, 5..7);
    assert_eq!(c.candidates[0].insert, "orders");
    let c = complete("tick ", 5, &Context::new(&d));
    assert_eq!(c.range, 5..5);
    let c = complete("alter queue orders set ma", 25, &Context::new(&d));
    assert!(!c.candidates[0].space, "no space after 'max_count='");
}

#[test]
fn common_prefix_of_candidates() {
    let mut d = deck();
    d.queues[1].name = s("billing events 2");
    let mut q = d.queues[1].clone();
    q.name = s("billing events");
    d.queues.push(q);
    let c = complete("drop queue bi", 13, &Context::new(&d));
    assert_eq!(c.candidates.len(), 2);
    assert_eq!(c.common_prefix().as_deref(), Some("\"billing events"));
    let c = complete("re", 2, &Context::new(&d));
    assert_eq!(c.common_prefix().as_deref(), Some("re"));
}

#[test]
fn help_lists_every_visible_command() {
    let lines = help_lines();
    assert!(lines
        .iter()
        .any(|(u, _)| u.starts_with("alter queue <queue|*>")));
    assert!(!lines.iter().any(|(u, _)| *u == "exit"));
    for spec in grammar::SPECS.iter().filter(|s| !s.hidden) {
        assert!(
            spec.usage.starts_with(&spec.name()),
            "{} / {}",
            spec.usage,
            spec.name()
        );
    }
}

// ----- cascades ----------------------------------------------------------------

fn takeover(snap: &Snapshot, line: &str) -> (String, String, String, TakeoverKind, bool) {
    match ok(snap, line) {
        Command::Takeover {
            queue,
            old,
            new,
            kind,
            all,
        } => (queue, old, new, kind, all),
        other => panic!("{line}: not a takeover: {other:?}"),
    }
}

#[test]
fn node_commands_become_actions() {
    let d = deck();
    let q = || s("replika");
    assert_eq!(
        run(&d, "pause node stats_branch"),
        [Action::PauseNode {
            queue: q(),
            node: s("stats_branch")
        }]
    );
    assert_eq!(
        run(&d, "RESUME NODE report_branch ON replika;"),
        [Action::ResumeNode {
            queue: q(),
            node: s("report_branch")
        }]
    );
    assert_eq!(
        run(&d, "change provider search_leaf to shop_root"),
        [Action::ChangeProvider {
            queue: q(),
            node: s("search_leaf"),
            new_provider: s("shop_root")
        }]
    );
    assert_eq!(
        run(&d, "tag dead archive_leaf"),
        [Action::TagDead {
            queue: q(),
            node: s("archive_leaf")
        }]
    );
    assert_eq!(
        run(&d, "tag alive dr_branch on replika"),
        [Action::TagAlive {
            queue: q(),
            node: s("dr_branch")
        }]
    );
    assert_eq!(
        run(&d, "drop node part1_merge"),
        [Action::DropNode {
            queue: s("part1"),
            node: s("part1_merge")
        }]
    );
    assert_eq!(
        ok(&d, "show node bi_leaf"),
        Command::Show(Target::Node {
            queue: q(),
            node: Some(s("bi_leaf"))
        })
    );
    assert_eq!(
        ok(&d, "show cascade part1"),
        Command::Show(Target::Node {
            queue: s("part1"),
            node: None
        })
    );
    assert_eq!(
        ok(&d, "show node"),
        Command::Show(Target::View(ViewId::Nodes))
    );
    assert_eq!(ok(&d, "nodes"), Command::Show(Target::View(ViewId::Nodes)));
}

#[test]
fn switchover_and_failover_commands() {
    let d = deck();
    assert_eq!(
        takeover(&d, "switchover to stats_branch"),
        (
            s("replika"),
            s("shop_root"),
            s("stats_branch"),
            TakeoverKind::Switchover,
            false
        )
    );
    assert!(takeover(&d, "switchover to report_branch all on replika").4);
    // A failover replaces the nearest dead node above, else the root.
    assert_eq!(
        takeover(&d, "failover to stats_branch"),
        (
            s("replika"),
            s("shop_root"),
            s("stats_branch"),
            TakeoverKind::Failover,
            true
        )
    );
    assert_eq!(
        takeover(&d, "failover to stats_branch from dr_branch"),
        (
            s("replika"),
            s("dr_branch"),
            s("stats_branch"),
            TakeoverKind::FailoverBranch,
            true
        )
    );
    assert_eq!(
        fail(&d, "switchover to search_leaf"),
        "switchover to: search_leaf is a leaf: only a branch can take over (branches of replika: report_branch, stats_branch)"
    );
    assert_eq!(
        fail(&d, "switchover to part1_root"),
        "switchover to: part1_root is already the root of part1"
    );
    assert_eq!(
        fail(&d, "failover to stats_branch from stats_branch"),
        "failover to: stats_branch cannot take its own place"
    );
    assert_eq!(fail(&d, "switchover"), "switchover: expected to");
    assert_eq!(
        fail(&d, "switchover to"),
        "switchover to: expected a branch node — usage: switchover to <node> [all] [on <queue>]"
    );
}

#[test]
fn node_names_resolve_to_their_cascade() {
    let mut d = deck();
    // The same node name in two cascades.
    let mut twin = d.cascades[0].clone();
    twin.queue = s("replika2");
    d.cascades.push(twin);
    assert_eq!(
        fail(&d, "pause node stats_branch"),
        "pause node: node stats_branch is in several cascades (replika, replika2): add on <queue>"
    );
    assert_eq!(
        run(&d, "pause node stats_branch on replika2"),
        [Action::PauseNode {
            queue: s("replika2"),
            node: s("stats_branch")
        }]
    );
    // The cascade selected in the Nodes view decides.
    let ctx = Context::new(&d).with_cascade("replika2");
    assert_eq!(
        parse("pause node stats_branch", &ctx),
        Ok(Command::Run(vec![Action::PauseNode {
            queue: s("replika2"),
            node: s("stats_branch")
        }]))
    );
    assert_eq!(
        fail(&d, "pause node stats_branch on nope"),
        "pause node: no cascade nope (replika, part1, replika2)"
    );
    assert_eq!(
        fail(&d, "pause node nope on part1"),
        "pause node: no node nope in part1 (part1_merge, part1_root)"
    );
    assert_eq!(
        fail(&d, "pause node dr_branch on replika"),
        "pause node: node dr_branch of replika has no worker to pause"
    );
    assert_eq!(
        fail(&fixtures::empty_deck(), "pause node x"),
        "pause node: this deck has no cascaded queues"
    );
}

#[test]
fn change_provider_refuses_loops_and_leaves() {
    let d = deck();
    assert_eq!(
        fail(&d, "change provider stats_branch"),
        "change provider: to which provider? change provider stats_branch to <node> (roots and branches of replika: shop_root, report_branch)"
    );
    assert_eq!(
        fail(&d, "change provider shop_root to stats_branch"),
        "change provider: shop_root is the root: it reads from no one (switchover to another node instead)"
    );
    assert_eq!(
        fail(&d, "change provider report_branch to bi_leaf"),
        "change provider: bi_leaf is a leaf: only a root or branch can be a provider (shop_root, stats_branch)"
    );
    assert_eq!(
        fail(&d, "change provider search_leaf to stats_branch"),
        "change provider: search_leaf already reads from stats_branch"
    );
    assert_eq!(
        fail(&d, "change provider search_leaf to search_leaf"),
        "change provider: search_leaf cannot read from itself"
    );
    // A branch cannot read from a node below it.
    let mut looped = deck();
    for n in &mut looped.cascades[0].nodes {
        if n.name == "search_leaf" {
            n.node_type = Some(crate::model::NodeType::Branch);
        }
    }
    assert_eq!(
        fail(&looped, "change provider stats_branch to search_leaf"),
        "change provider: search_leaf reads from stats_branch (directly or not): that would be a loop"
    );
}

#[test]
fn completes_node_names() {
    let d = deck();
    assert_eq!(names("tag dead a", &d), ["archive_leaf"]);
    assert_eq!(
        names("switchover to ", &d),
        ["report_branch", "stats_branch"]
    );
    assert_eq!(names("failover to s", &d), ["stats_branch"]);
    assert_eq!(names("failover to stats_branch ", &d), ["from", "on"]);
    assert_eq!(names("failover to stats_branch from d", &d), ["dr_branch"]);
    assert_eq!(names("switchover to stats_branch ", &d), ["all", "on"]);
    assert_eq!(
        names("change provider bi_leaf to ", &d),
        ["report_branch", "shop_root", "stats_branch"]
    );
    assert_eq!(names("change provider stats_branch ", &d), ["on", "to"]);
    assert_eq!(names("drop node part1_merge on ", &d), ["part1", "replika"]);
    assert_eq!(names("show cascade ", &d), ["part1", "replika"]);
    assert_eq!(names("pause node x on part1 ", &d), Vec::<String>::new());
}
