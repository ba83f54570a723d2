//! The Tables view (Londiste): the list of every node's tables and
//! sequences with merge states and copy progress, the filter, the
//! add-table picker, each confirmation, the read-only refusals, compare's
//! answer, the empty state and a narrow terminal — with snapshots of each
//! screen, and the action every key sends.
//!
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p
//! skydeck-ui --test tables` and reading the .snap files.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use crossterm::event::KeyCode;
use skydeck_ui::app::ToastKind;
use skydeck_ui::fixtures;
use skydeck_ui::model::{Action, MergeState, Snapshot};
use skydeck_ui::views::tables::Item;
use skydeck_ui::{render_once, render_to_string, App, ConsoleOptions, Event, ViewId};

const BRANCH: &str = "stats_branch";
const BRANCH_WORKER: &str = "stats_branch_worker";
const ROOT: &str = "shop_root";
const ROOT_WORKER: &str = "shop_root_worker";

fn s(v: &str) -> String {
    v.to_string()
}

fn tables_app() -> App {
    app(ViewId::Tables)
}

fn screen(a: &App) -> String {
    render_to_string(a, W, H)
}

/// Puts the cursor on `table` of `node`.
fn select(a: &mut App, node: &str, table: &str) {
    assert!(a.select_table(node, Some(table)), "no {table} on {node}");
    assert_eq!(selected(a), format!("{node}/{table}"));
}

/// The selected row as `node/table` (`node/` for a header).
fn selected(a: &App) -> String {
    match a.tables().key(a.snapshot()) {
        Some(k) => match k.item {
            Item::Node => format!("{}/", k.node),
            Item::Table(t) => format!("{}/{t}", k.node),
            Item::Seqs => format!("{}/sequences", k.node),
            Item::Seq(q) => format!("{}/seq {q}", k.node),
        },
        None => String::new(),
    }
}

/// Both nodes on one screen: the root folded to its header.
fn fold_root(a: &mut App) {
    assert!(a.select_table(ROOT, None));
    press(a, KeyCode::Enter);
    assert!(a.tables().collapsed.contains("replika/shop_root"));
}

// ----- the view --------------------------------------------------------------

#[test]
fn tables_view_two_nodes() {
    let mut a = tables_app();
    assert_eq!(selected(&a), "shop_root/", "the root comes first");
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.order_items");
    let text = screen(&a);
    // Every merge state, both copies with a bar, the error, the sequences.
    for want in [
        "in-copy",
        "catching-up",
        "wanna-sync:20514",
        "do-sync:20513",
        "missing",
        "███░░░░░ 38% 48.2k/s ETA 39s 812 MB",
        "████████ 100% indexes 9.1 GB",
        "copy failed: ERR",
        "public.audit_log_id_seq",
        "not local",
        "1,204,332 of ~3,100,000 rows (38%) · 812 MB · 48.2k rows/s · ETA 39s · 4 parts",
    ] {
        assert!(text.contains(want), "{want:?} not on screen:\n{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn states_parse_and_colour_by_class() {
    let snap = fixtures::deck();
    let branch = snap
        .londiste
        .iter()
        .find(|l| l.node == BRANCH)
        .expect("the branch");
    let states: Vec<MergeState> = branch.tables.iter().map(|t| t.merge_state()).collect();
    assert_eq!(
        states,
        [
            MergeState::Ok,
            MergeState::InCopy,
            MergeState::InCopy,
            MergeState::CatchingUp,
            MergeState::WannaSync(20_514),
            MergeState::DoSync(20_513),
            MergeState::Missing,
            MergeState::Missing,
            MergeState::Ok,
            MergeState::Ok,
        ]
    );
    assert_eq!(MergeState::parse(""), MergeState::Missing);
    assert_eq!(MergeState::parse("?"), MergeState::Ok);
    assert_eq!(MergeState::parse("do-sync:x"), MergeState::Unknown);
    // Colours: ok green, copy states yellow, waiting grey, a failed copy red.
    let a = tables_app();
    let theme = a.theme();
    use skydeck_ui::views::tables::state_style;
    assert_eq!(state_style(&branch.tables[0], theme), theme.ok);
    assert_eq!(state_style(&branch.tables[1], theme), theme.warn);
    assert_eq!(state_style(&branch.tables[4], theme), theme.warn);
    assert_eq!(state_style(&branch.tables[6], theme), theme.muted);
    assert_eq!(state_style(&branch.tables[7], theme), theme.error);
}

#[test]
fn node_header_and_sequence_details() {
    let mut a = tables_app();
    assert!(a.select_table(BRANCH, None));
    let text = screen(&a);
    assert!(text.contains("stats_branch · branch of replika on stats@db2:5432"));
    assert!(text.contains(
        "4 can be added (a): public.gift_cards, public.newsletter, public.reviews, public.wishlists"
    ));
    assert!(text.contains("e runs a SQL file on the root shop_root (shop_root_worker)"));
    ch(&mut a, 'j');
    assert_eq!(selected(&a), "stats_branch/public.orders");
    ch(&mut a, 'G');
    assert_eq!(selected(&a), "stats_branch/seq public.audit_log_id_seq");
    let text = screen(&a);
    assert!(text.contains("no: known to the set, not kept on this node"));
}

#[test]
fn tables_view_by_key_and_name() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, '6');
    assert_eq!(a.view(), ViewId::Tables);
    ch(&mut a, '1');
    command(&mut a, "tables");
    assert_eq!(a.view(), ViewId::Tables);
    ch(&mut a, '1');
    command(&mut a, "londiste");
    assert_eq!(a.view(), ViewId::Tables);
    // The help lists the view and its keys.
    ch(&mut a, '?');
    let help = screen(&a);
    assert!(help.contains("Keys — Tables"), "{help}");
    assert!(help.contains("tables"), "{help}");
}

#[test]
fn tables_filtered() {
    let mut a = tables_app();
    ch(&mut a, '/');
    typ(&mut a, "copying");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.tables().filter, "copying");
    // The branch's header and its five tables between in-copy and ok.
    assert_eq!(a.tables().rows.len(), 6, "{:?}", a.tables().rows);
    assert_eq!(selected(&a), "stats_branch/");
    insta::assert_snapshot!(screen(&a));
    // A word of a node keeps all its rows; a table's name matches on both.
    command(&mut a, "filter orders");
    assert_eq!(a.tables().rows.len(), 8, "{:?}", a.tables().rows);
    command(&mut a, "filter error");
    assert_eq!(a.tables().rows.len(), 2);
    ch(&mut a, 'j');
    assert_eq!(selected(&a), "stats_branch/public.refunds");
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.tables().rows.len(), 30, "esc clears the filter");
    assert_eq!(selected(&a), "stats_branch/public.refunds");
}

#[test]
fn selection_survives_new_snapshots() {
    let mut a = tables_app();
    select(&mut a, BRANCH, "public.products");
    let mut newer = fixtures::deck();
    newer.londiste.reverse();
    for l in &mut newer.londiste {
        l.tables.reverse();
    }
    a.update(Event::Snapshot(Arc::new(newer)), Instant::now());
    assert_eq!(selected(&a), "stats_branch/public.products");
    // The table goes: the cursor goes to its node.
    let mut fewer = fixtures::deck();
    for l in &mut fewer.londiste {
        l.tables.retain(|t| t.name != "public.products");
    }
    a.update(Event::Snapshot(Arc::new(fewer)), Instant::now());
    assert_eq!(selected(&a), "stats_branch/");
}

#[test]
fn tables_narrow_80x24() {
    let mut a = tables_app();
    a.update(Event::Resize(80, 24), Instant::now());
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.order_items");
    insta::assert_snapshot!(render_to_string(&a, 80, 24));
}

#[test]
fn empty_state_says_how_to_add_a_node() {
    let a = app_with(
        fixtures::empty_deck(),
        ConsoleOptions {
            start_view: ViewId::Tables,
            ..ConsoleOptions::default()
        },
    );
    let text = screen(&a);
    assert!(text.contains("No Londiste nodes in this deck."));
    insta::assert_snapshot!(text);
    // Before the first snapshot: the usual wait line.
    let a = app_with(
        Snapshot::default(),
        ConsoleOptions {
            start_view: ViewId::Tables,
            ..ConsoleOptions::default()
        },
    );
    assert!(screen(&a).contains("waiting for the first snapshot"));
}

#[test]
fn an_unreachable_node_shows_its_error() {
    let mut snap = fixtures::deck();
    let l = &mut snap.londiste[0];
    l.error = Some(s(
        "connection refused: is the server running on host \"db2\"?\nHINT: check the deck",
    ));
    l.tables.clear();
    l.seqs.clear();
    let mut a = app_with(
        snap,
        ConsoleOptions {
            start_view: ViewId::Tables,
            ..ConsoleOptions::default()
        },
    );
    assert!(a.select_table(BRANCH, None));
    let text = screen(&a);
    assert!(text.contains("UNREACHABLE"), "{text}");
    assert!(text.contains("HINT: check the deck"), "{text}");
    assert!(a.tables().status(a.snapshot()).contains("1 unreachable"));
}

#[test]
fn many_tables_render_fast() {
    // 40 nodes of 500 tables: only the visible rows are drawn.
    let mut snap = fixtures::large_deck(100);
    snap.londiste = fixtures::many_tables(40, 500);
    let snap = Arc::new(snap);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| render_once(Arc::clone(&snap), ViewId::Tables, 160, 50))
        .collect();
    times.sort();
    println!("Tables view, 20,000 tables: median {:?}", times[2]);
    assert!(
        times[2] < Duration::from_secs(2),
        "rendering 20,000 tables took {:?}",
        times[2]
    );
}

// ----- keys → actions --------------------------------------------------------

#[test]
fn each_key_sends_its_action_after_confirmation() {
    let mut a = tables_app();
    let table = "public.order_items";
    select(&mut a, BRANCH, table);
    for (key, want) in [
        (
            'd',
            Action::RemoveTable {
                worker: s(BRANCH_WORKER),
                table: s(table),
            },
        ),
        (
            'x',
            Action::RemoveTable {
                worker: s(BRANCH_WORKER),
                table: s(table),
            },
        ),
        (
            'r',
            Action::ResyncTable {
                worker: s(BRANCH_WORKER),
                table: s(table),
            },
        ),
    ] {
        ch(&mut a, key);
        assert!(a.confirm().is_some(), "{key} asks first");
        assert!(a.take_actions().is_empty(), "{key}: nothing before yes");
        ch(&mut a, 'y');
        assert_eq!(a.take_actions(), std::slice::from_ref(&want), "{key}");
        assert_eq!(a.pending(), std::slice::from_ref(&want));
        result(&mut a, want, true, "done");
        assert!(a.pending().is_empty());
    }
    // h: a prompt with the current handler, then the confirmation.
    select(&mut a, BRANCH, "public.coupons");
    ch(&mut a, 'h');
    assert_eq!(input(&a), "bulk(method=1)");
    ctrl(&mut a, 'u');
    typ(&mut a, "bulk(method=2)");
    press(&mut a, KeyCode::Enter);
    assert!(a.input().is_none());
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ChangeHandler {
            worker: s(BRANCH_WORKER),
            table: s("public.coupons"),
            handler: Some(s("bulk(method=2)")),
        }]
    );
    // e: a path, then the confirmation; sent to the root's worker.
    ch(&mut a, 'e');
    typ(&mut a, "sql/add_discount.sql");
    press(&mut a, KeyCode::Enter);
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ExecuteSql {
            worker: s(ROOT_WORKER),
            path: s("sql/add_discount.sql"),
        }]
    );
    // c: no confirmation.
    ch(&mut a, 'c');
    assert!(a.confirm().is_none());
    assert_eq!(
        a.take_actions(),
        [Action::CompareTables {
            worker: s(BRANCH_WORKER),
            tables: vec![s("public.coupons")],
        }]
    );
    // On a node's header: c compares every table, a opens the picker.
    assert!(a.select_table(BRANCH, None));
    ch(&mut a, 'c');
    assert_eq!(
        a.take_actions(),
        [Action::CompareTables {
            worker: s(BRANCH_WORKER),
            tables: vec![],
        }]
    );
    ch(&mut a, 'a');
    assert!(a.add_picker().is_some());
    press(&mut a, KeyCode::Enter);
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::AddTables {
            worker: s(BRANCH_WORKER),
            tables: vec![s("public.gift_cards")],
        }],
        "enter with nothing marked adds the table under the cursor"
    );
    // Table keys do nothing on a header.
    for key in ['d', 'x', 'h', 'r'] {
        ch(&mut a, key);
        assert!(a.confirm().is_none() && a.input().is_none(), "{key}");
    }
    assert!(a.take_actions().is_empty());
}

#[test]
fn r_resyncs_here_and_ctrl_r_refreshes() {
    let mut a = tables_app();
    assert!(a.select_table(ROOT, None));
    ch(&mut a, 'r');
    assert!(a.take_actions().is_empty(), "r never refreshes in Tables");
    ctrl(&mut a, 'r');
    assert_eq!(a.take_actions(), [Action::Refresh]);
    let b = a.bindings();
    let refresh = b
        .iter()
        .find(|x| x.intent == skydeck_ui::keys::Intent::Refresh)
        .expect("refresh is bound");
    assert_eq!(refresh.label, "ctrl-r");
    // Elsewhere r still refreshes.
    ch(&mut a, '1');
    ch(&mut a, 'r');
    assert_eq!(a.take_actions(), [Action::Refresh]);
}

#[test]
fn add_table_picker_with_a_selection() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.orders");
    ch(&mut a, 'a');
    let p = a.add_picker().expect("the picker");
    assert_eq!(p.worker, BRANCH_WORKER);
    assert_eq!(
        p.choices,
        [
            "public.gift_cards",
            "public.newsletter",
            "public.reviews",
            "public.wishlists"
        ]
    );
    ch(&mut a, ' ');
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    ch(&mut a, ' ');
    // Typing filters; j and k are letters here.
    typ(&mut a, "wish");
    let p = a.add_picker().expect("the picker");
    assert_eq!(p.filter, "wish");
    assert_eq!(p.shown().len(), 1);
    ch(&mut a, ' ');
    // esc clears the filter first: every table again, three marked.
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.add_picker().map(|p| p.filter.as_str()), Some(""));
    let picker = screen(&a);
    assert_eq!(
        a.add_picker().map(|p| p.selection()),
        Some(vec![
            s("public.gift_cards"),
            s("public.reviews"),
            s("public.wishlists")
        ])
    );
    // Enter adds the marked tables (whatever the cursor is on).
    press(&mut a, KeyCode::Enter);
    assert!(a.add_picker().is_none());
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Add 3 tables?");
    assert_eq!(
        c.lines,
        [s(
            "add 3 tables on stats_branch_worker: public.gift_cards, public.reviews, public.wishlists"
        )]
    );
    let confirm = screen(&a);
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::AddTables {
            worker: s(BRANCH_WORKER),
            tables: vec![
                s("public.gift_cards"),
                s("public.reviews"),
                s("public.wishlists")
            ],
        }]
    );
    insta::assert_snapshot!(format!("{picker}\n\nconfirmation:\n{confirm}"));
}

#[test]
fn the_picker_cancels_and_knows_when_there_is_nothing_to_add() {
    let mut a = tables_app();
    assert!(a.select_table(ROOT, None));
    ch(&mut a, 'a');
    ch(&mut a, ' ');
    press(&mut a, KeyCode::Esc);
    assert!(a.add_picker().is_none());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    let mut snap = fixtures::deck();
    for l in &mut snap.londiste {
        l.missing.clear();
    }
    a.update(Event::Snapshot(Arc::new(snap)), Instant::now());
    ch(&mut a, 'a');
    assert!(a.add_picker().is_none());
    assert_eq!(
        toast(&a),
        "nothing to add: every table of replika is already on shop_root"
    );
    assert!(a.take_actions().is_empty());
}

#[test]
fn confirm_remove() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.order_items");
    ch(&mut a, 'd');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Remove table?");
    assert_eq!(
        c.lines,
        [s("remove table public.order_items on stats_branch_worker")]
    );
    assert_eq!(
        c.notes,
        [
            s("its triggers and replication state go; its rows stay"),
            s("its copy under way is abandoned")
        ]
    );
    insta::assert_snapshot!(screen(&a));
    ch(&mut a, 'n');
    assert!(a.take_actions().is_empty());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    // On the root it goes from every node.
    select(&mut a, ROOT, "public.orders");
    ch(&mut a, 'x');
    let c = a.confirm().expect("asks");
    assert_eq!(
        c.notes,
        [s(
            "shop_root is the root: every node of replika stops replicating it"
        )]
    );
}

#[test]
fn confirm_resync() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.refunds");
    ch(&mut a, 'r');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Resync table?");
    assert_eq!(
        c.lines,
        [s(
            "resync table public.refunds on stats_branch_worker (copy it again)"
        )]
    );
    insta::assert_snapshot!(screen(&a));
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.take_actions(),
        [Action::ResyncTable {
            worker: s(BRANCH_WORKER),
            table: s("public.refunds"),
        }]
    );
    // The root has no provider: the note says the engine refuses.
    select(&mut a, ROOT, "public.orders");
    ch(&mut a, 'r');
    let c = a.confirm().expect("asks");
    assert!(
        c.notes[0].contains("no provider to copy from"),
        "{:?}",
        c.notes
    );
}

#[test]
fn confirm_change_handler() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.events_2025");
    ch(&mut a, 'h');
    let line = a.input().expect("a prompt");
    assert_eq!(line.value(), "dispatch(period=month)");
    let prompt = screen(&a);
    assert!(
        prompt.contains(
            "handler for public.events_2025 on stats_branch (empty: none): dispatch(period=month)"
        ),
        "{prompt}"
    );
    ctrl(&mut a, 'u');
    typ(&mut a, "dispatch(period=day)");
    press(&mut a, KeyCode::Enter);
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Change handler?");
    assert_eq!(
        c.notes,
        [
            s("now: dispatch(period=month)"),
            s("its trigger is created again for the new handler")
        ]
    );
    let confirm = screen(&a);
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ChangeHandler {
            worker: s(BRANCH_WORKER),
            table: s("public.events_2025"),
            handler: Some(s("dispatch(period=day)")),
        }]
    );
    insta::assert_snapshot!(format!("{prompt}\n\nconfirmation:\n{confirm}"));

    // Empty removes the handler.
    ch(&mut a, 'h');
    ctrl(&mut a, 'u');
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s(
            "remove the handler of public.events_2025 on stats_branch_worker"
        )])
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ChangeHandler {
            worker: s(BRANCH_WORKER),
            table: s("public.events_2025"),
            handler: None,
        }]
    );
    // Unchanged: nothing to send.
    ch(&mut a, 'h');
    press(&mut a, KeyCode::Enter);
    assert!(a.confirm().is_none());
    assert_eq!(
        toast(&a),
        "the handler of public.events_2025 is already \"dispatch(period=month)\" — nothing was sent"
    );
    // esc cancels the prompt.
    ch(&mut a, 'h');
    press(&mut a, KeyCode::Esc);
    assert!(a.input().is_none());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    assert!(a.take_actions().is_empty());
}

#[test]
fn confirm_execute() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.orders");
    ch(&mut a, 'e');
    assert_eq!(input(&a), "");
    // Enter on nothing asks again.
    press(&mut a, KeyCode::Enter);
    assert!(a.input().is_some());
    assert_eq!(toast(&a), "type the path of a SQL file (esc cancels)");
    typ(&mut a, "sql/2025-10 add discount.sql");
    press(&mut a, KeyCode::Enter);
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Execute SQL file?");
    assert_eq!(
        c.lines,
        [s(
            "execute SQL file \"sql/2025-10 add discount.sql\" on shop_root_worker"
        )]
    );
    insta::assert_snapshot!(screen(&a));
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ExecuteSql {
            worker: s(ROOT_WORKER),
            path: s("sql/2025-10 add discount.sql"),
        }]
    );
}

#[test]
fn execute_without_the_root_in_the_deck_warns() {
    let mut snap = fixtures::deck();
    snap.londiste.retain(|l| l.node == BRANCH);
    let mut a = app_with(
        snap,
        ConsoleOptions {
            start_view: ViewId::Tables,
            ..ConsoleOptions::default()
        },
    );
    ch(&mut a, 'e');
    typ(&mut a, "x.sql");
    press(&mut a, KeyCode::Enter);
    let c = a.confirm().expect("asks");
    assert_eq!(
        c.lines,
        [s("execute SQL file x.sql on stats_branch_worker")]
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("stats_branch is not the root: execute runs on the root only")),
        "{:?}",
        c.notes
    );
}

#[test]
fn compare_shows_its_answer() {
    let mut a = tables_app();
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.orders");
    ch(&mut a, 'c');
    let sent = a.take_actions();
    assert_eq!(
        sent,
        [Action::CompareTables {
            worker: s(BRANCH_WORKER),
            tables: vec![s("public.orders")],
        }]
    );
    assert_eq!(a.pending(), sent.as_slice(), "shown as waiting");
    assert_eq!(
        toast(&a),
        "sent: compare table public.orders on stats_branch_worker with its provider"
    );
    result(
        &mut a,
        sent[0].clone(),
        false,
        "public.orders: srcdb shop@db1:5432: 48213 rows, checksum=-1270341718\npublic.orders: dstdb stats@db2:5432: 48212 rows, checksum=884211357\npublic.orders: MISMATCH — run repair to see the rows",
    );
    assert!(a.pending().is_empty());
    let r = a.report().expect("the answer in a popup");
    assert_eq!(r.title, "Compare on stats_branch_worker: failed");
    assert_eq!(r.lines.len(), 3);
    assert_eq!(a.toast().map(|t| t.kind), Some(ToastKind::Error));
    insta::assert_snapshot!(screen(&a));
    press(&mut a, KeyCode::Enter);
    assert!(a.report().is_none());
}

#[test]
fn read_only_refuses_and_still_compares() {
    let mut a = read_only_app(ViewId::Tables);
    fold_root(&mut a);
    select(&mut a, BRANCH, "public.order_items");
    for (key, what) in [
        (
            'd',
            "remove table public.order_items on stats_branch_worker",
        ),
        (
            'x',
            "remove table public.order_items on stats_branch_worker",
        ),
        (
            'r',
            "resync table public.order_items on stats_branch_worker (copy it again)",
        ),
        ('h', "change the handler of public.order_items"),
        ('e', "execute a SQL file on shop_root"),
        ('a', "add tables to stats_branch"),
    ] {
        ch(&mut a, key);
        assert!(
            a.confirm().is_none() && a.input().is_none() && a.add_picker().is_none(),
            "{key} opened something"
        );
        assert_eq!(
            toast(&a),
            format!("read-only console: refused to {what} — nothing was sent"),
            "{key}"
        );
    }
    assert!(a.take_actions().is_empty());
    ch(&mut a, 'd');
    insta::assert_snapshot!(screen(&a));
    // Compare changes nothing: it goes.
    ch(&mut a, 'c');
    assert_eq!(
        a.take_actions(),
        [Action::CompareTables {
            worker: s(BRANCH_WORKER),
            tables: vec![s("public.order_items")],
        }]
    );
}

// ----- the command line ------------------------------------------------------

fn menu(a: &App) -> Vec<String> {
    a.input()
        .and_then(|l| l.menu.clone())
        .map(|m| m.candidates.into_iter().map(|c| c.display).collect())
        .unwrap_or_default()
}

#[test]
fn table_commands_ask_and_send() {
    let mut a = tables_app();
    // The node selected in the Tables view is the default.
    assert!(a.select_table(BRANCH, None));
    command(&mut a, "resync table invoices");
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s(
            "resync table public.invoices on stats_branch_worker (copy it again)"
        )])
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ResyncTable {
            worker: s(BRANCH_WORKER),
            table: s("public.invoices"),
        }]
    );
    command(&mut a, "remove table public.orders on shop_root");
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::RemoveTable {
            worker: s(ROOT_WORKER),
            table: s("public.orders"),
        }]
    );
    command(&mut a, "change handler coupons to 'bulk(method=2)'");
    ch(&mut a, 'y');
    command(&mut a, "change handler coupons");
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [
            Action::ChangeHandler {
                worker: s(BRANCH_WORKER),
                table: s("public.coupons"),
                handler: Some(s("bulk(method=2)")),
            },
            Action::ChangeHandler {
                worker: s(BRANCH_WORKER),
                table: s("public.coupons"),
                handler: None,
            }
        ]
    );
    command(&mut a, "add table *");
    assert_eq!(
        a.confirm().map(|c| c.title.clone()),
        Some(s("Add 4 tables?"))
    );
    ch(&mut a, 'y');
    // Only the root can add public.sessions.
    command(&mut a, "add table sessions");
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [
            Action::AddTables {
                worker: s(BRANCH_WORKER),
                tables: vec![
                    s("public.gift_cards"),
                    s("public.newsletter"),
                    s("public.reviews"),
                    s("public.wishlists")
                ],
            },
            Action::AddTables {
                worker: s(ROOT_WORKER),
                tables: vec![s("public.sessions")],
            }
        ]
    );
    // Execute goes to the root of the selected node's queue.
    command(&mut a, "execute sql/x.sql");
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ExecuteSql {
            worker: s(ROOT_WORKER),
            path: s("sql/x.sql"),
        }]
    );
    // Compare needs no confirmation.
    command(&mut a, "compare");
    command(&mut a, "compare orders on shop_root_worker");
    assert!(a.confirm().is_none());
    assert_eq!(
        a.take_actions(),
        [
            Action::CompareTables {
                worker: s(BRANCH_WORKER),
                tables: vec![],
            },
            Action::CompareTables {
                worker: s(ROOT_WORKER),
                tables: vec![s("public.orders")],
            }
        ]
    );
}

#[test]
fn table_commands_say_what_is_wrong() {
    let mut a = tables_app();
    assert!(a.select_table(BRANCH, None));
    for (line, want) in [
        (
            "add table public.orders on stats_branch",
            "add table: public.orders is already on stats_branch (ok)",
        ),
        (
            "add table nope",
            "add table: no Londiste node can add nope (stats_branch, shop_root): add on <node>",
        ),
        (
            "resync table nope",
            "resync table: no Londiste node has table nope (stats_branch, shop_root)",
        ),
        (
            "remove table orders on nowhere",
            "remove table: no Londiste node nowhere (stats_branch, shop_root)",
        ),
        (
            "change handler coupons to bulk(method=2)",
            "change handler: unexpected '=' (expected on) — usage: change handler <table> [to '<handler>'] [on <node>]",
        ),
    ] {
        command(&mut a, line);
        assert_eq!(toast(&a), want, "{line}");
        press(&mut a, KeyCode::Esc);
    }
    assert!(a.take_actions().is_empty());
    let mut ro = read_only_app(ViewId::Tables);
    command(&mut ro, "resync table public.orders on stats_branch");
    assert_eq!(
        toast(&ro),
        "read-only console: refused to resync table public.orders on stats_branch_worker (copy it again) — nothing was sent"
    );
}

#[test]
fn show_table_and_completion() {
    let mut a = app(ViewId::Overview);
    command(&mut a, "show table refunds on stats_branch");
    assert_eq!(a.view(), ViewId::Tables);
    assert_eq!(selected(&a), "stats_branch/public.refunds");
    command(&mut a, "show table");
    assert_eq!(a.view(), ViewId::Tables);
    ch(&mut a, ':');
    typ(&mut a, "resync table public.ord");
    press(&mut a, KeyCode::Tab);
    assert_eq!(
        menu(&a),
        [
            "public.order_history",
            "public.order_items",
            "public.orders"
        ]
    );
    press(&mut a, KeyCode::Esc);
    ch(&mut a, ':');
    typ(&mut a, "add table ");
    press(&mut a, KeyCode::Tab);
    assert_eq!(
        menu(&a),
        [
            "*",
            "public.gift_cards",
            "public.newsletter",
            "public.reviews",
            "public.sessions",
            "public.tmp_import",
            "public.wishlists"
        ]
    );
    press(&mut a, KeyCode::Esc);
    ch(&mut a, ':');
    typ(&mut a, "add table public.sessions on ");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "add table public.sessions on shop_root ");
    press(&mut a, KeyCode::Esc);
    ch(&mut a, ':');
    typ(&mut a, "change handler public.coupons to bu");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "change handler public.coupons to bulk ");
}
