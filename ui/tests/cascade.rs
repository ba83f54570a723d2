//! The Nodes view and the cascade actions: the tree, keys and commands →
//! actions, the read-only gate, and switchover/failover end to end — the
//! picker, the engine's dry run, the typed confirmation, the live steps
//! and the outcome — with snapshots of each screen.
//!
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p
//! skydeck-ui` and reading the .snap files.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use skydeck_ui::app::ToastKind;
use skydeck_ui::fixtures;
use skydeck_ui::model::{
    Action, ActionResult, ActionUpdate, NodeType, PlanCheck, Snapshot, TakeoverKind, TakeoverPlan,
};
use skydeck_ui::takeover::Stage;
use skydeck_ui::{render_once, render_to_string, App, ConsoleOptions, Event, ViewId};

fn s(v: &str) -> String {
    v.to_string()
}

fn nodes_app() -> App {
    app(ViewId::Nodes)
}

/// The selected row as `queue/node` (`queue/` for a header).
fn selected(a: &App) -> String {
    match a.nodes().key(a.snapshot()) {
        Some(k) => format!("{}/{}", k.queue, k.node.unwrap_or_default()),
        None => String::new(),
    }
}

fn select(a: &mut App, node: &str) {
    command(a, &format!("show node {node}"));
    assert_eq!(selected(a).split('/').nth(1), Some(node), "{}", toast(a));
}

// ----- a clock the test controls ------------------------------------------

/// Feeds events at `t0 + ms`, so elapsed times on screen are exact.
struct Clock {
    t0: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock { t0: Instant::now() }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn key(&self, a: &mut App, code: KeyCode, ms: u64) {
        a.update(
            Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            self.at(ms),
        );
    }

    fn ch(&self, a: &mut App, c: char, ms: u64) {
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        a.update(
            Event::Key(KeyEvent::new(KeyCode::Char(c), mods)),
            self.at(ms),
        );
    }

    fn typ(&self, a: &mut App, text: &str, ms: u64) {
        for c in text.chars() {
            self.ch(a, c, ms);
        }
    }

    fn plan(&self, a: &mut App, plan: TakeoverPlan, ms: u64) -> bool {
        let action = a.takeover().expect("a takeover").plan_request();
        a.update(Event::Plan { action, plan }, self.at(ms))
    }

    fn step(&self, a: &mut App, text: &str, running: bool, ms: u64) {
        let action = a.takeover().expect("a takeover").action();
        a.update(
            Event::Update(ActionUpdate {
                action,
                step: s(text),
                running,
                elapsed: None,
                writes_refused: None,
            }),
            self.at(ms),
        );
    }

    fn result(&self, a: &mut App, ok: bool, message: &str, ms: u64) {
        let action = a.takeover().expect("a takeover").action();
        a.update(
            Event::Result(ActionResult {
                action,
                ok,
                message: s(message),
            }),
            self.at(ms),
        );
    }
}

fn check(what: &str, ok: bool, detail: &str) -> PlanCheck {
    PlanCheck {
        what: s(what),
        ok,
        detail: s(detail),
    }
}

/// The engine's dry run for a switchover of replika to stats_branch, as
/// `Admin::takeover_plan` words it. `archive_ok`: archive_leaf answers (or
/// the plan fails on it).
fn switchover_plan(archive_ok: bool) -> TakeoverPlan {
    let (old, new) = ("shop_root", "stats_branch");
    let archive = if archive_ok {
        check("archive_leaf is reachable", true, "leaf node")
    } else {
        check(
            "archive_leaf is reachable",
            false,
            "connection refused: is the server running on host \"db3\" and accepting TCP/IP connections on port 5432?",
        )
    };
    TakeoverPlan {
        kind: s("switchover"),
        old: s(old),
        new: s(new),
        checks: vec![
            archive,
            check("bi_leaf is reachable", true, "leaf node"),
            check("dr_branch is reachable", true, "skipped: dead"),
            check("report_branch is reachable", true, "branch node"),
            check("search_leaf is reachable", true, "leaf node"),
            check("shop_root is reachable", true, "root node"),
            check("stats_branch is reachable", true, "branch node"),
            check("stats_branch is a branch", true, ""),
            check(
                "stats_branch keeps up with shop_root",
                true,
                "1 tick(s) behind, worker running",
            ),
        ],
        steps: vec![
            format!("pause the worker on {old} (root)"),
            format!("demote_root step 1 on {old}: writes to the queue are refused from here"),
            format!("demote_root step 2 on {old}: the last tick"),
            format!("wait until {new} has applied the last tick"),
            format!("pause the worker on {new}"),
            format!("promote_branch on {new}: writes are accepted again, on {new}"),
            format!("register {old} as subscriber of {new} at the last tick"),
            format!("unregister {new} from {old}"),
            format!("resume the worker on {new}"),
            format!("demote_root step 3 on {old}: it becomes a branch reading from {new}"),
            format!("resume the worker on {old}"),
        ],
        followers: vec![],
        notes: vec![],
    }
}

/// The deck with the root of replika gone: unreachable and tagged dead.
fn dead_root_deck() -> Snapshot {
    let mut d = fixtures::deck();
    let c = &mut d.cascades[0];
    for n in &mut c.nodes {
        if n.name == "shop_root" {
            n.dead = true;
            n.lag = None;
        }
    }
    d
}

fn failover_plan() -> TakeoverPlan {
    let (old, new) = ("shop_root", "stats_branch");
    TakeoverPlan {
        kind: s("failover of the root"),
        old: s(old),
        new: s(new),
        checks: vec![
            check("shop_root is reachable", true, "skipped: dead"),
            check("dr_branch is reachable", true, "skipped: dead"),
            check("stats_branch is reachable", true, "branch node"),
            check("stats_branch is a branch", true, ""),
        ],
        steps: vec![
            format!("tag {old} dead on every live member"),
            format!(
                "find the live subscriber of {old} that is furthest ahead; catch {new} up from it"
            ),
            format!("pause the worker on {new}, promote_branch: {new} is the root"),
            format!("register {old}.gravestone on {new} at the last tick (for resurrect)"),
            format!("resume the worker on {new}"),
            format!("report_branch reads from {new} (change-provider)"),
        ],
        followers: vec![s("report_branch")],
        notes: vec![],
    }
}

/// From the Nodes view: `s` on stats_branch, the plan arrives at 400 ms.
fn switchover_with_plan(c: &Clock, plan: TakeoverPlan) -> App {
    let mut a = nodes_app();
    select(&mut a, "stats_branch");
    c.ch(&mut a, 's', 0);
    assert_eq!(
        a.take_actions(),
        [Action::TakeoverPlan {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Switchover,
            all: false,
        }]
    );
    assert!(c.plan(&mut a, plan, 400), "the plan is ours");
    a
}

fn screen(a: &App) -> String {
    render_to_string(a, W, H)
}

// ----- the Nodes view ------------------------------------------------------

#[test]
fn nodes_view_120() {
    let mut a = nodes_app();
    select(&mut a, "bi_leaf");
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn nodes_view_80() {
    let mut a = nodes_app();
    a.update(Event::Resize(80, 32), Instant::now());
    select(&mut a, "archive_leaf");
    insta::assert_snapshot!(render_to_string(&a, 80, 32));
}

#[test]
fn nodes_view_cascade_header_and_fold() {
    let mut a = nodes_app();
    assert_eq!(
        selected(&a),
        "replika/",
        "the first row is replika's header"
    );
    press(&mut a, KeyCode::Enter);
    assert!(a.nodes().collapsed.contains("replika"));
    assert_eq!(selected(&a), "replika/");
    let folded = screen(&a);
    press(&mut a, KeyCode::Enter);
    assert!(a.nodes().collapsed.is_empty());
    // Folded, a node of it can still be shown (it unfolds).
    press(&mut a, KeyCode::Enter);
    command(&mut a, "show node stats_branch on replika");
    assert_eq!(selected(&a), "replika/stats_branch");
    assert!(a.nodes().collapsed.is_empty());
    insta::assert_snapshot!(folded);
}

#[test]
fn nodes_view_by_key_name_and_command() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, '5');
    assert_eq!(a.view(), ViewId::Nodes);
    ch(&mut a, '1');
    command(&mut a, "nodes");
    assert_eq!(a.view(), ViewId::Nodes);
    ch(&mut a, '1');
    command(&mut a, "cascade");
    assert_eq!(a.view(), ViewId::Nodes);
    ch(&mut a, '1');
    command(&mut a, "show cascade part1");
    assert_eq!(selected(&a), "part1/");
    command(&mut a, "show node part1_merge");
    assert_eq!(selected(&a), "part1/part1_merge");
    command(&mut a, "show node nope");
    assert_eq!(
        toast(&a),
        "show node: no node nope in any cascade (archive_leaf, bi_leaf, dr_branch, part1_merge, part1_root, report_branch, … 3 more)"
    );
}

#[test]
fn nodes_filter_keeps_cascade_headers() {
    let mut a = nodes_app();
    command(&mut a, "filter paused");
    let rows: Vec<String> = a.nodes().rows.iter().map(|r| format!("{r:?}")).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(selected(&a), "replika/", "the cursor stays on the header");
    ch(&mut a, 'j');
    assert_eq!(selected(&a), "replika/report_branch");
    command(&mut a, "filter part1");
    assert_eq!(
        a.nodes().rows.len(),
        3,
        "the queue's name keeps all its nodes"
    );
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.nodes().rows.len(), 11);
}

#[test]
fn selection_survives_new_snapshots() {
    let mut a = nodes_app();
    select(&mut a, "bi_leaf");
    let mut newer = fixtures::deck();
    newer.cascades.reverse();
    newer.cascades[1].nodes.reverse();
    a.update(Event::Snapshot(Arc::new(newer)), Instant::now());
    assert_eq!(selected(&a), "replika/bi_leaf");
    // The node goes: the cursor goes to its cascade.
    let mut fewer = fixtures::deck();
    fewer.cascades[0].nodes.retain(|n| n.name != "bi_leaf");
    a.update(Event::Snapshot(Arc::new(fewer)), Instant::now());
    assert_eq!(selected(&a), "replika/");
}

#[test]
fn alert_on_a_node_goes_to_it() {
    let mut a = app(ViewId::Overview);
    for _ in 0..5 {
        ch(&mut a, 'j');
    }
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), ViewId::Nodes);
    assert_eq!(selected(&a), "replika/bi_leaf");
}

#[test]
fn many_cascades_render_fast() {
    // 500 cascades, 5,000 nodes: only the visible rows are drawn.
    let mut snap = fixtures::large_deck(100);
    snap.cascades = fixtures::many_cascades(500);
    let snap = Arc::new(snap);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| render_once(Arc::clone(&snap), ViewId::Nodes, 160, 50))
        .collect();
    times.sort();
    println!("Nodes view, 5000 nodes: median {:?}", times[2]);
    assert!(
        times[2] < Duration::from_secs(2),
        "rendering 5,000 nodes took {:?}",
        times[2]
    );
    let mut a = app_with(
        (*snap).clone(),
        ConsoleOptions {
            start_view: ViewId::Nodes,
            ..ConsoleOptions::default()
        },
    );
    command(&mut a, "show node n9 on cascade_250");
    assert_eq!(selected(&a), "cascade_250/n9");
    insta::assert_snapshot!(screen(&a));
}

// ----- node actions --------------------------------------------------------

#[test]
fn pause_resume_tag_and_drop_ask_naming_the_objects() {
    let mut a = nodes_app();
    select(&mut a, "stats_branch");
    ch(&mut a, 'p');
    let c = a.confirm().expect("pause asks");
    assert_eq!(c.title, "Pause node?");
    assert_eq!(c.lines, [s("pause node stats_branch on replika")]);
    assert_eq!(
        c.notes,
        [
            s("2 read from it: they fall behind until it is resumed (search_leaf, archive_leaf)"),
            s("the console waits until the worker acknowledges")
        ]
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::PauseNode {
            queue: s("replika"),
            node: s("stats_branch")
        }]
    );
    select(&mut a, "report_branch");
    assert!(a.bindings().iter().any(|b| b.hint == "resume"));
    ch(&mut a, 'p');
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ResumeNode {
            queue: s("replika"),
            node: s("report_branch")
        }]
    );
    select(&mut a, "dr_branch");
    assert!(
        a.bindings().iter().all(|b| b.hint != "pause"),
        "dead: no worker"
    );
    ch(&mut a, 't');
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s("tag node dr_branch alive on replika")])
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::TagAlive {
            queue: s("replika"),
            node: s("dr_branch")
        }]
    );
    select(&mut a, "stats_branch");
    ch(&mut a, 't');
    let c = a.confirm().expect("tag dead asks");
    assert_eq!(c.title, "Tag node dead?");
    assert_eq!(
        c.notes[0],
        "stats_branch answers right now (lag 1.6s): tag dead only a node that is gone"
    );
    ch(&mut a, 'n');
    assert!(a.take_actions().is_empty());
    ch(&mut a, 'd');
    let c = a.confirm().expect("drop asks");
    assert_eq!(c.lines, [s("drop node stats_branch from replika")]);
    assert!(
        c.notes[0].contains("the engine refuses the drop"),
        "{:?}",
        c.notes
    );
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.take_actions(),
        [Action::DropNode {
            queue: s("replika"),
            node: s("stats_branch")
        }]
    );
}

#[test]
fn change_provider_prefills_and_completes() {
    let mut a = nodes_app();
    select(&mut a, "search_leaf");
    ch(&mut a, 'c');
    assert_eq!(input(&a), "change provider search_leaf to  on replika");
    press(&mut a, KeyCode::Tab);
    let menu = a.input().and_then(|l| l.menu.clone()).expect("a menu");
    let names: Vec<&str> = menu.candidates.iter().map(|c| c.display.as_str()).collect();
    assert_eq!(names, ["report_branch", "shop_root", "stats_branch"]);
    typ(&mut a, "rep");
    press(&mut a, KeyCode::Tab);
    assert_eq!(
        input(&a),
        "change provider search_leaf to report_branch on replika"
    );
    press(&mut a, KeyCode::Enter);
    let c = a.confirm().expect("asks");
    assert_eq!(
        c.lines,
        [s(
            "change the provider of node search_leaf on replika to report_branch"
        )]
    );
    assert_eq!(
        c.notes,
        [s("search_leaf stops reading from stats_branch; it is paused while it moves to report_branch")]
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ChangeProvider {
            queue: s("replika"),
            node: s("search_leaf"),
            new_provider: s("report_branch")
        }]
    );
    // A provider must be a live root or branch that does not read from it.
    command(&mut a, "change provider stats_branch to search_leaf");
    assert_eq!(
        toast(&a),
        "change provider: search_leaf is a leaf: only a root or branch can be a provider (shop_root, report_branch)"
    );
    press(&mut a, KeyCode::Esc);
    command(&mut a, "change provider report_branch to dr_branch");
    assert_eq!(toast(&a), "change provider: dr_branch is tagged dead");
}

#[test]
fn node_commands_complete_names_and_cascades() {
    let mut a = nodes_app();
    ch(&mut a, ':');
    typ(&mut a, "pause node bi");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "pause node bi_leaf ");
    typ(&mut a, "on ");
    press(&mut a, KeyCode::Tab);
    let menu = a.input().and_then(|l| l.menu.clone()).expect("a menu");
    let names: Vec<&str> = menu.candidates.iter().map(|c| c.display.as_str()).collect();
    assert_eq!(names, ["part1", "replika"]);
    press(&mut a, KeyCode::Esc);
    ch(&mut a, ':');
    typ(&mut a, "switchover to ");
    press(&mut a, KeyCode::Tab);
    let menu = a.input().and_then(|l| l.menu.clone()).expect("a menu");
    let names: Vec<&str> = menu.candidates.iter().map(|c| c.display.as_str()).collect();
    assert_eq!(
        names,
        ["report_branch", "stats_branch"],
        "live branches only"
    );
    press(&mut a, KeyCode::Esc);
    ch(&mut a, ':');
    typ(&mut a, "swi");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "switchover ");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "switchover to ");
}

#[test]
fn read_only_refuses_every_node_action() {
    let mut a = app_with(
        fixtures::deck(),
        ConsoleOptions {
            start_view: ViewId::Nodes,
            read_only: true,
            ..ConsoleOptions::default()
        },
    );
    select(&mut a, "stats_branch");
    for (key, what) in [
        ('p', "pause node stats_branch on replika"),
        ('t', "tag node stats_branch dead on replika"),
        ('d', "drop node stats_branch from replika"),
    ] {
        ch(&mut a, key);
        assert!(a.confirm().is_none());
        assert_eq!(
            toast(&a),
            format!("read-only console: refused to {what} — nothing was sent")
        );
    }
    ch(&mut a, 'c');
    assert!(a.input().is_none());
    assert_eq!(
        toast(&a),
        "read-only console: refused to change provider stats_branch to… — nothing was sent"
    );
    command(&mut a, "resume node report_branch");
    assert_eq!(
        toast(&a),
        "read-only console: refused to resume node report_branch on replika — nothing was sent"
    );
    assert!(a.take_actions().is_empty());

    // A switchover shows its dry run and runs nothing.
    let c = Clock::new();
    c.ch(&mut a, 's', 0);
    assert!(matches!(
        a.take_actions().as_slice(),
        [Action::TakeoverPlan { .. }]
    ));
    c.plan(&mut a, switchover_plan(true), 300);
    c.typ(&mut a, "stats_branch", 400);
    assert_eq!(a.takeover().and_then(|t| t.typed()), Some(""), "no typing");
    c.key(&mut a, KeyCode::Enter, 500);
    assert!(a.takeover().is_none(), "enter closes");
    assert!(a.take_actions().is_empty(), "no takeover was sent");
}

// ----- switchover ------------------------------------------------------------

#[test]
fn switchover_plan_all_ok() {
    let c = Clock::new();
    let mut a = switchover_with_plan(&c, switchover_plan(true));
    a.update(Event::Tick, c.at(1400));
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn the_plan_scrolls_and_stops_at_its_end() {
    let c = Clock::new();
    let mut a = switchover_with_plan(&c, switchover_plan(true));
    for _ in 0..50 {
        c.key(&mut a, KeyCode::Down, 500);
    }
    let max = a.takeover().expect("open").scroll;
    assert!(max > 0 && max < 20, "scrolled to the end: {max}");
    assert!(screen(&a).contains("Subscribers that will follow: none"));
    c.key(&mut a, KeyCode::Up, 600);
    assert_eq!(
        a.takeover().expect("open").scroll,
        max - 1,
        "↑ moves at once"
    );
    c.key(&mut a, KeyCode::PageUp, 700);
    assert_eq!(a.takeover().expect("open").scroll, 0);
}

#[test]
fn switchover_plan_with_a_failed_check_refuses() {
    let c = Clock::new();
    let mut a = switchover_with_plan(&c, switchover_plan(false));
    insta::assert_snapshot!(screen(&a));
    // Nothing can be typed and nothing runs.
    c.typ(&mut a, "stats_branch", 500);
    c.key(&mut a, KeyCode::Enter, 600);
    assert!(a.takeover().is_none());
    assert!(a.take_actions().is_empty());
    assert_eq!(toast(&a), "switchover cancelled — nothing was sent");
}

#[test]
fn switchover_planning_and_plan_failure() {
    let c = Clock::new();
    let mut a = nodes_app();
    select(&mut a, "stats_branch");
    c.ch(&mut a, 's', 0);
    a.update(Event::Tick, c.at(700));
    let planning = screen(&a);
    let request = a.take_actions().remove(0);
    a.update(
        Event::Result(ActionResult {
            action: request.clone(),
            ok: false,
            message: s("cascade replika: cannot connect to shop_root: timeout after 10s"),
        }),
        c.at(10_800),
    );
    assert!(matches!(
        a.takeover().map(|t| &t.stage),
        Some(Stage::PlanFailed { .. })
    ));
    // ctrl-r asks again.
    a.update(
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        c.at(11_000),
    );
    assert_eq!(a.take_actions(), [request]);
    insta::assert_snapshot!(planning);
}

#[test]
fn typed_confirmation_empty_partial_matching() {
    let c = Clock::new();
    let mut a = switchover_with_plan(&c, switchover_plan(true));
    let popup_tail = |a: &App| {
        let text = screen(a);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len() - 6..].join("\n")
    };
    let empty = popup_tail(&a);
    // `y` is not a confirmation.
    c.ch(&mut a, 'y', 500);
    c.key(&mut a, KeyCode::Enter, 600);
    assert!(a.take_actions().is_empty(), "y + enter sends nothing");
    let wrong = popup_tail(&a);
    c.key(&mut a, KeyCode::Backspace, 700);
    c.typ(&mut a, "stats_b", 800);
    let partial = popup_tail(&a);
    c.key(&mut a, KeyCode::Enter, 900);
    assert!(a.take_actions().is_empty(), "a prefix sends nothing");
    c.typ(&mut a, "ranch", 1000);
    let matching = popup_tail(&a);
    insta::assert_snapshot!(format!(
        "empty:\n{empty}\n\nwrong:\n{wrong}\n\npartial:\n{partial}\n\nmatching:\n{matching}"
    ));
    c.key(&mut a, KeyCode::Enter, 1100);
    assert_eq!(
        a.take_actions(),
        [Action::Takeover {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Switchover,
            all: false,
        }]
    );
    assert!(a.takeover().is_some_and(|t| t.is_running()));
}

#[test]
fn tab_moves_every_subscriber_and_asks_again() {
    let c = Clock::new();
    let mut a = switchover_with_plan(&c, switchover_plan(true));
    c.key(&mut a, KeyCode::Tab, 500);
    let t = a.takeover().expect("open");
    assert!(t.all);
    assert!(matches!(t.stage, Stage::Planning { .. }));
    assert_eq!(
        a.take_actions(),
        [Action::TakeoverPlan {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Switchover,
            all: true,
        }]
    );
    // A plan for the old request is not ours any more.
    let old = Action::TakeoverPlan {
        queue: s("replika"),
        old: s("shop_root"),
        new: s("stats_branch"),
        kind: TakeoverKind::Switchover,
        all: false,
    };
    assert!(!a.update(
        Event::Plan {
            action: old,
            plan: switchover_plan(true)
        },
        c.at(600)
    ));
    let mut plan = switchover_plan(true);
    plan.followers = vec![s("report_branch"), s("dr_branch")];
    assert!(c.plan(&mut a, plan, 700));
    c.typ(&mut a, "stats_branch", 800);
    c.key(&mut a, KeyCode::Enter, 900);
    assert!(matches!(
        a.take_actions().as_slice(),
        [Action::Takeover { all: true, .. }]
    ));
}

/// Confirmed at 1 s; steps at 1.3–2.9 s.
fn running_switchover(c: &Clock) -> App {
    let mut a = switchover_with_plan(c, switchover_plan(true));
    c.typ(&mut a, "stats_branch", 900);
    c.key(&mut a, KeyCode::Enter, 1000);
    a.take_actions();
    c.step(
        &mut a,
        "switchover of shop_root by stats_branch",
        false,
        1000,
    );
    c.step(
        &mut a,
        "worker shop_root_worker on shop_root paused",
        false,
        1300,
    );
    c.step(
        &mut a,
        "Step 1: writing to the queue on shop_root is disabled",
        false,
        1500,
    );
    c.step(&mut a, "Step 2: last tick 20515 on shop_root", false, 1700);
    c.step(
        &mut a,
        "waiting for stats_branch to apply tick 20515 (at 20514)",
        true,
        2900,
    );
    a
}

#[test]
fn switchover_progress_live_then_done() {
    let c = Clock::new();
    let mut a = running_switchover(&c);
    a.update(Event::Tick, c.at(3200));
    let midway = screen(&a);
    let action = a.takeover().expect("open").action();
    for (ms, step) in [
        (3400, "worker stats_branch_worker on stats_branch paused"),
        (
            3600,
            "shop_root registered as subscriber of stats_branch at tick 20515",
        ),
        (3700, "stats_branch unregistered from shop_root"),
        (3800, "worker stats_branch_worker on stats_branch resumed"),
        (
            4100,
            "Step 3: shop_root demoted to branch reading from stats_branch",
        ),
        (4300, "worker shop_root_worker on shop_root resumed"),
    ] {
        c.step(&mut a, step, false, ms);
        if ms == 3400 {
            // The engine says how long writes were refused.
            a.update(
                Event::Update(ActionUpdate {
                    action: action.clone(),
                    step: s("stats_branch promoted to root: writes accepted again (2.1s after they were refused)"),
                    running: false,
                    elapsed: Some(Duration::from_millis(2_550)),
                    writes_refused: Some(Duration::from_millis(2_100)),
                }),
                c.at(3550),
            );
        }
    }
    c.result(&mut a, true, "switchover done in 3.4s", 4400);
    assert!(a.pending().is_empty());
    assert_eq!(a.take_actions(), [Action::Refresh], "then a fresh look");
    let done = screen(&a);
    insta::assert_snapshot!(format!("mid-way:\n{midway}\n\ndone:\n{done}"));
    c.key(&mut a, KeyCode::Enter, 5000);
    assert!(a.takeover().is_none());
}

#[test]
fn switchover_failure_names_the_step() {
    let c = Clock::new();
    let mut a = running_switchover(&c);
    c.result(
        &mut a,
        false,
        "ERROR: timed out after 300s waiting for stats_branch to reach tick 20515 (it is at 20514)\nHINT: resume its worker, then run the switchover again",
        301_700,
    );
    let t = a.takeover().expect("open");
    assert!(matches!(t.stage, Stage::Finished { ok: false, .. }));
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn running_takeover_hides_shows_and_reports() {
    let c = Clock::new();
    let mut a = running_switchover(&c);
    // Keys do nothing but esc, which hides it.
    c.ch(&mut a, 'q', 3000);
    assert!(a.takeover_open());
    assert_eq!(a.exit_reason(), None);
    c.key(&mut a, KeyCode::Esc, 3100);
    assert!(!a.takeover_open());
    assert!(a.takeover().is_some_and(|t| t.is_running()));
    assert_eq!(
        toast(&a),
        "switchover of replika to stats_branch keeps running — o in the Nodes view shows it"
    );
    assert!(a.bindings().iter().any(|b| b.hint == "takeover progress"));
    // One takeover at a time.
    select(&mut a, "report_branch");
    c.ch(&mut a, 's', 3200);
    assert!(toast(&a).starts_with("the switchover of replika to stats_branch is still running"));
    assert!(a.take_actions().is_empty());
    // Quitting now asks, and says why.
    c.ch(&mut a, 'q', 3300);
    let q = a.confirm().expect("quit asks");
    assert_eq!(q.title, "Quit during a takeover?");
    c.ch(&mut a, 'n', 3400);
    // The steps keep coming while hidden; the result says how it went.
    c.step(&mut a, "Step 3: shop_root demoted", false, 4000);
    c.result(&mut a, true, "switchover done", 4500);
    assert_eq!(a.toast().map(|t| t.kind), Some(ToastKind::Ok));
    assert_eq!(
        toast(&a),
        "✓ switchover of replika to stats_branch done in 3.5s — o in Nodes shows the steps"
    );
    c.ch(&mut a, 'o', 5000);
    assert!(a.takeover_open());
    c.key(&mut a, KeyCode::Esc, 5100);
    assert!(a.takeover().is_none());
}

#[test]
fn switchover_picker_from_a_header_or_a_root() {
    let c = Clock::new();
    let mut a = nodes_app();
    assert_eq!(selected(&a), "replika/");
    c.ch(&mut a, 's', 0);
    let p = a.picker().expect("a picker");
    assert_eq!(
        p.choices,
        [s("stats_branch"), s("report_branch")],
        "the healthiest first"
    );
    let shown = screen(&a);
    c.ch(&mut a, 'j', 100);
    c.ch(&mut a, 'k', 150);
    c.key(&mut a, KeyCode::Enter, 200);
    assert!(a.picker().is_none());
    assert_eq!(
        a.take_actions(),
        [Action::TakeoverPlan {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Switchover,
            all: false,
        }]
    );
    c.key(&mut a, KeyCode::Esc, 300);
    assert_eq!(
        toast(&a),
        "switchover cancelled — only the dry run was asked for"
    );
    // A leaf selected: the picker too.
    select(&mut a, "bi_leaf");
    c.ch(&mut a, 's', 400);
    assert!(a.picker().is_some());
    c.key(&mut a, KeyCode::Esc, 500);
    assert!(a.picker().is_none());
    assert!(a.take_actions().is_empty());
    insta::assert_snapshot!(shown);
}

#[test]
fn switchover_command_goes_through_the_same_flow() {
    let c = Clock::new();
    let mut a = app(ViewId::Overview);
    command(&mut a, "switchover to stats_branch");
    assert_eq!(a.view(), ViewId::Nodes);
    assert_eq!(selected(&a), "replika/stats_branch");
    assert!(matches!(
        a.take_actions().as_slice(),
        [Action::TakeoverPlan {
            kind: TakeoverKind::Switchover,
            all: false,
            ..
        }]
    ));
    c.key(&mut a, KeyCode::Esc, 100);
    command(&mut a, "switchover to report_branch all on replika");
    assert!(matches!(
        a.take_actions().as_slice(),
        [Action::TakeoverPlan { all: true, .. }]
    ));
    c.key(&mut a, KeyCode::Esc, 200);
    command(&mut a, "switchover to bi_leaf");
    assert_eq!(
        toast(&a),
        "switchover to: bi_leaf is a leaf: only a branch can take over (branches of replika: report_branch, stats_branch)"
    );
    press(&mut a, KeyCode::Esc);
    command(&mut a, "switchover to shop_root");
    assert_eq!(
        toast(&a),
        "switchover to: shop_root is already the root of replika"
    );
    assert!(a.take_actions().is_empty());
}

// ----- failover --------------------------------------------------------------

fn failover_app(c: &Clock) -> App {
    let mut a = app_with(
        dead_root_deck(),
        ConsoleOptions {
            start_view: ViewId::Nodes,
            ..ConsoleOptions::default()
        },
    );
    select(&mut a, "stats_branch");
    c.ch(&mut a, 'F', 0);
    assert_eq!(
        a.take_actions(),
        [Action::TakeoverPlan {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Failover,
            all: true,
        }]
    );
    assert!(c.plan(&mut a, failover_plan(), 600));
    a
}

#[test]
fn failover_warns_and_wants_the_dead_nodes_name() {
    let c = Clock::new();
    let mut a = failover_app(&c);
    c.typ(&mut a, "failover shop", 700);
    let shown = screen(&a);
    // The new node's name, or the dead one's alone, is not enough.
    c.typ(&mut a, "_root", 800);
    for _ in 0.."failover shop_root".len() {
        c.key(&mut a, KeyCode::Backspace, 900);
    }
    for wrong in ["stats_branch", "shop_root", "y", "failover stats_branch"] {
        c.typ(&mut a, wrong, 1000);
        c.key(&mut a, KeyCode::Enter, 1000);
        assert!(a.take_actions().is_empty(), "{wrong:?} sends nothing");
        a.update(
            Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            c.at(1000),
        );
    }
    c.typ(&mut a, "failover shop_root", 1100);
    c.key(&mut a, KeyCode::Enter, 1200);
    assert_eq!(
        a.take_actions(),
        [Action::Takeover {
            queue: s("replika"),
            old: s("shop_root"),
            new: s("stats_branch"),
            kind: TakeoverKind::Failover,
            all: true,
        }]
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn failover_of_a_dead_branch() {
    let c = Clock::new();
    let mut a = nodes_app();
    // dr_branch is dead: F on it picks who takes its place.
    select(&mut a, "dr_branch");
    c.ch(&mut a, 'F', 0);
    let p = a.picker().expect("a picker");
    assert_eq!(p.kind, TakeoverKind::FailoverBranch);
    assert_eq!(p.old, "dr_branch");
    assert_eq!(p.choices, [s("stats_branch"), s("report_branch")]);
    c.ch(&mut a, 'j', 50);
    c.key(&mut a, KeyCode::Enter, 100);
    assert_eq!(
        a.take_actions(),
        [Action::TakeoverPlan {
            queue: s("replika"),
            old: s("dr_branch"),
            new: s("report_branch"),
            kind: TakeoverKind::FailoverBranch,
            all: true,
        }]
    );
    assert_eq!(
        a.takeover().map(|t| t.phrase()),
        Some(s("failover dr_branch"))
    );
    c.key(&mut a, KeyCode::Esc, 200);
    // The same from the command line.
    command(&mut a, "failover to stats_branch from dr_branch");
    assert!(matches!(
        a.take_actions().as_slice(),
        [Action::TakeoverPlan {
            kind: TakeoverKind::FailoverBranch,
            ..
        }]
    ));
}

#[test]
fn no_key_is_bound_twice_in_the_nodes_view() {
    let mut a = nodes_app();
    for target in ["replika", "stats_branch", "dr_branch", "report_branch"] {
        if target == "replika" {
            command(&mut a, "show cascade replika");
        } else {
            select(&mut a, target);
        }
        let b = a.bindings();
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                for k in x.keys {
                    assert!(!y.keys.contains(k), "{target}: {k:?} twice");
                }
            }
        }
    }
    // Node types: the fixture has every kind.
    let types: Vec<Option<NodeType>> = fixtures::replika()
        .nodes
        .iter()
        .map(|n| n.node_type)
        .collect();
    assert!(types.contains(&Some(NodeType::Root)));
    assert!(types.contains(&None), "nodes that could not be read");
}
