//! The keyboard model: keys → state changes and actions; the one gate for
//! actions (read-only refusal, confirmation yes/no); the command line with
//! completion and history; filters; quitting.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use crossterm::event::KeyCode;
use skydeck_ui::app::{Then, ToastKind};
use skydeck_ui::fixtures::{self, SHOP, STATS};
use skydeck_ui::model::{Action, ActionResult, Level, WorkerState};
use skydeck_ui::views::queues::Pane;
use skydeck_ui::views::VIEWS;
use skydeck_ui::{ConsoleOptions, Event, ExitReason, ViewId};

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn views_by_key_by_name_and_back() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, '2');
    assert_eq!(a.view(), ViewId::Queues);
    ch(&mut a, '4');
    assert_eq!(a.view(), ViewId::Logs);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), ViewId::Nodes);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), ViewId::Tables);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), ViewId::Wal);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), ViewId::Overview);
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.view(), ViewId::Wal);
    command(&mut a, "workers");
    assert_eq!(a.view(), ViewId::Workers);
    assert!(
        a.input().is_none(),
        "the command line closes after a command"
    );
    // esc walks back through the views visited.
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Wal);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Overview);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Wal);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Tables);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Nodes);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Overview);
    assert_eq!(a.exit_reason(), None, "esc never quits");
}

#[test]
fn no_key_is_bound_twice_in_any_view() {
    let mut a = app(ViewId::Overview);
    for v in VIEWS {
        a.set_view(v.id);
        for pane in [false, true] {
            if pane {
                if v.id != ViewId::Queues {
                    continue;
                }
                press(&mut a, KeyCode::Enter);
                assert_eq!(a.queues().pane, Pane::Consumers);
            }
            let b = a.bindings();
            for (i, x) in b.iter().enumerate() {
                for y in &b[i + 1..] {
                    for k in x.keys {
                        assert!(
                            !y.keys.contains(k),
                            "{:?}: {k:?} is both '{}' and '{}'",
                            v.id,
                            x.hint,
                            y.hint
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tick_asks_then_sends_and_shows_the_result() {
    let mut a = app(ViewId::Queues);
    assert_eq!(selected_queue(&a), format!("{SHOP}/orders"));
    ch(&mut a, 't');
    let c = a.confirm().expect("a confirmation");
    assert_eq!(c.title, "Tick queue?");
    assert_eq!(c.lines, [s("tick queue orders in shop@db1:5432")]);
    assert!(a.take_actions().is_empty(), "nothing is sent before yes");
    ch(&mut a, 'y');
    assert!(a.confirm().is_none());
    let tick = Action::Tick {
        database: s(SHOP),
        queue: s("orders"),
    };
    assert_eq!(a.take_actions(), std::slice::from_ref(&tick));
    assert_eq!(a.pending(), std::slice::from_ref(&tick));
    assert_eq!(toast(&a), "sent: tick queue orders in shop@db1:5432");
    a.update(
        Event::Result(ActionResult {
            action: tick.clone(),
            ok: true,
            message: s("tick 48214"),
        }),
        Instant::now(),
    );
    assert!(a.pending().is_empty());
    assert_eq!(
        toast(&a),
        "✓ tick queue orders in shop@db1:5432: tick 48214"
    );
    assert_eq!(a.toast().map(|t| t.kind), Some(ToastKind::Ok));
    a.update(
        Event::Result(ActionResult {
            action: tick,
            ok: false,
            message: s("ERROR: Ticker has been paused for this queue\nHINT: resume it"),
        }),
        Instant::now(),
    );
    assert_eq!(
        toast(&a),
        "✗ tick queue orders in shop@db1:5432: ERROR: Ticker has been paused for this queue · HINT: resume it"
    );
    assert_eq!(a.toast().map(|t| t.kind), Some(ToastKind::Error));
}

#[test]
fn enter_confirms_and_no_or_esc_cancels() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'd');
    let c = a.confirm().expect("drop asks");
    assert_eq!(c.title, "Drop queue?");
    assert_eq!(c.lines, [s("drop queue orders in shop@db1:5432")]);
    assert_eq!(
        c.notes,
        [s("3 consumers are registered (invoicing, search_indexer, londiste_shop_replica): PgQ refuses the drop — :drop queue orders force unregisters them")]
    );
    ch(&mut a, 'n');
    assert!(a.confirm().is_none());
    assert!(a.take_actions().is_empty());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    ch(&mut a, 'd');
    press(&mut a, KeyCode::Esc);
    assert!(a.confirm().is_none());
    assert!(a.take_actions().is_empty());
    ch(&mut a, 'd');
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.take_actions(),
        [Action::DropQueue {
            database: s(SHOP),
            queue: s("orders"),
            force: false
        }]
    );
}

#[test]
fn keys_behind_a_popup_do_nothing() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 't');
    ch(&mut a, '3');
    ch(&mut a, 'd');
    assert_eq!(a.view(), ViewId::Queues);
    assert_eq!(a.confirm().map(|c| c.title.as_str()), Some("Tick queue?"));
}

#[test]
fn read_only_refuses_state_changes_with_a_clear_message() {
    let mut a = read_only_app(ViewId::Queues);
    ch(&mut a, 't');
    assert!(a.confirm().is_none());
    assert!(a.take_actions().is_empty());
    assert_eq!(
        toast(&a),
        "read-only console: refused to tick queue orders in shop@db1:5432 — nothing was sent"
    );
    assert_eq!(a.toast().map(|t| t.kind), Some(ToastKind::Error));
    command(&mut a, "unregister consumer * from audit");
    assert!(a.take_actions().is_empty());
    assert_eq!(
        toast(&a),
        "read-only console: refused to 2 actions (unregister consumer audit_archiver from queue audit in shop@db1:5432, …) — nothing was sent"
    );
    // Keys that open a prefilled command line are refused up front.
    ch(&mut a, 'n');
    assert!(a.input().is_none());
    assert_eq!(
        toast(&a),
        "read-only console: refused to create queue… — nothing was sent"
    );
    // Looking is fine.
    ch(&mut a, 'r');
    assert_eq!(a.take_actions(), [Action::Refresh]);
    ch(&mut a, '+');
    assert_eq!(
        a.take_actions(),
        [Action::SetRefresh(Duration::from_secs(2))]
    );

    // The deck can make it read-only through the snapshot too.
    let mut snap = fixtures::deck();
    snap.read_only = true;
    let mut b = app_with(
        snap,
        ConsoleOptions {
            start_view: ViewId::Workers,
            ..ConsoleOptions::default()
        },
    );
    assert!(b.read_only());
    ch(&mut b, 'x');
    assert!(b.confirm().is_none());
    assert_eq!(
        toast(&b),
        "read-only console: refused to restart worker pgqd — nothing was sent"
    );
}

#[test]
fn quitting_asks_to_stop_the_hosted_workers() {
    let mut a = app(ViewId::Logs);
    ch(&mut a, 'q');
    let c = a.confirm().expect("quit asks");
    assert_eq!(c.title, "Quit skydeck?");
    assert_eq!(c.lines[0], "stop 7 hosted workers and quit?");
    assert!(c.lines[2].starts_with("pgqd, invoicing, search_indexer"));
    assert_eq!(c.then, Then::Quit);
    ch(&mut a, 'n');
    assert_eq!(a.exit_reason(), None);
    ch(&mut a, 'q');
    ch(&mut a, 'y');
    assert_eq!(a.exit_reason(), Some(ExitReason::Quit));

    // ctrl-c twice.
    let mut b = app(ViewId::Queues);
    ctrl(&mut b, 'c');
    assert!(b.confirm().is_some());
    ctrl(&mut b, 'c');
    assert_eq!(b.exit_reason(), Some(ExitReason::Quit));

    // :quit asks too.
    let mut c = app(ViewId::Queues);
    command(&mut c, "quit");
    assert!(c.confirm().is_some());

    // Nothing hosted: nothing to ask.
    let mut d = app_with(fixtures::empty_deck(), ConsoleOptions::default());
    ch(&mut d, 'q');
    assert_eq!(d.exit_reason(), Some(ExitReason::Quit));
}

#[test]
fn refresh_period_and_refresh_now() {
    let mut a = app(ViewId::Overview);
    assert_eq!(a.refresh(), Duration::from_secs(1));
    ch(&mut a, '+');
    assert_eq!(
        a.take_actions(),
        [Action::SetRefresh(Duration::from_secs(2))]
    );
    assert_eq!(a.refresh(), Duration::from_secs(2));
    ch(&mut a, '-');
    ch(&mut a, '-');
    assert_eq!(
        a.take_actions(),
        [
            Action::SetRefresh(Duration::from_secs(1)),
            Action::SetRefresh(Duration::from_millis(500))
        ]
    );
    ch(&mut a, '-');
    ch(&mut a, '-');
    assert_eq!(
        a.take_actions(),
        [Action::SetRefresh(Duration::from_millis(250))]
    );
    assert_eq!(toast(&a), "refresh every 250ms (the fastest)");
    ch(&mut a, 'r');
    ctrl(&mut a, 'r');
    assert_eq!(a.take_actions(), [Action::Refresh, Action::Refresh]);
    command(&mut a, "refresh 5s");
    assert_eq!(
        a.take_actions(),
        [Action::SetRefresh(Duration::from_secs(5))]
    );
    assert!(
        a.confirm().is_none(),
        "refreshing changes nothing: no question"
    );
}

#[test]
fn freeze_holds_the_display_and_catches_up() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'f');
    assert!(a.frozen());
    let mut newer = fixtures::deck();
    newer.queues[0].last_tick_id = 99_999;
    a.update(Event::Snapshot(Arc::new(newer)), Instant::now());
    assert_eq!(a.snapshot().queues[0].last_tick_id, 48_213, "frozen");
    press(&mut a, KeyCode::Char(' '));
    assert!(!a.frozen());
    assert_eq!(a.snapshot().queues[0].last_tick_id, 99_999, "caught up");
}

#[test]
fn filter_applies_as_typed_and_esc_restores() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, '/');
    typ(&mut a, "aud");
    assert_eq!(a.queues().rows.len(), 1);
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    press(&mut a, KeyCode::Enter);
    assert!(a.input().is_none());
    assert_eq!(a.queues().filter, "aud");
    // Editing again and cancelling puts the previous filter back.
    ch(&mut a, '/');
    typ(&mut a, "zzz");
    assert_eq!(a.queues().rows.len(), 0);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.queues().filter, "aud");
    assert_eq!(a.queues().rows.len(), 1);
    // esc in the view clears it.
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.queues().filter, "");
    assert_eq!(a.queues().rows.len(), 5);
    // Consumers and keywords match too.
    command(&mut a, "filter rollup");
    assert_eq!(selected_queue(&a), format!("{STATS}/metrics"));
    command(&mut a, "filter blocked");
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    // Each view has its own.
    ch(&mut a, '3');
    ch(&mut a, '/');
    typ(&mut a, "FAILED");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.workers().rows.len(), 1);
    ch(&mut a, '2');
    assert_eq!(a.queues().filter, "blocked");
}

#[test]
fn queue_and_consumer_navigation() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'j');
    ch(&mut a, 'j');
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    ch(&mut a, 'G');
    assert_eq!(selected_queue(&a), format!("{STATS}/exports"));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.queues().pane, Pane::Queues, "exports has no consumers");
    ch(&mut a, 'g');
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.queues().pane, Pane::Consumers);
    ch(&mut a, 'j');
    assert_eq!(
        a.queues().consumer(a.snapshot()).map(|c| c.name.as_str()),
        Some("search_indexer")
    );
    ch(&mut a, 'd');
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s(
            "unregister consumer search_indexer from queue orders in shop@db1:5432"
        )])
    );
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::UnregisterConsumer {
            database: s(SHOP),
            queue: s("orders"),
            consumer: s("search_indexer")
        }]
    );
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.queues().pane, Pane::Queues);
    assert_eq!(a.view(), ViewId::Queues);
}

#[test]
fn selection_survives_new_snapshots() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'j');
    ch(&mut a, 'j');
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    let mut newer = fixtures::deck();
    newer.queues.reverse();
    a.update(Event::Snapshot(Arc::new(newer)), Instant::now());
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    // The selected consumer too, when its queue's list changes order.
    command(&mut a, "show consumer londiste_shop_replica");
    let mut reordered = fixtures::deck();
    reordered.queues[0].consumers.reverse();
    a.update(Event::Snapshot(Arc::new(reordered)), Instant::now());
    assert_eq!(
        a.queues().consumer(a.snapshot()).map(|c| c.name.as_str()),
        Some("londiste_shop_replica")
    );
    assert_eq!(a.queues().consumers.selected, 0);
    // The selected queue goes away: the cursor stays in range.
    command(&mut a, "show queue audit");
    let mut fewer = fixtures::deck();
    fewer.queues.truncate(2);
    a.update(Event::Snapshot(Arc::new(fewer)), Instant::now());
    assert_eq!(selected_queue(&a), format!("{SHOP}/billing events"));
    assert_eq!(a.queues().pane, Pane::Queues);
}

#[test]
fn sort_by_consumer_lag() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 's');
    assert_eq!(toast(&a), "queues sorted by consumer lag");
    let first = a.queues().rows[0];
    assert_eq!(a.snapshot().queues[first].name, "audit");
    assert_eq!(
        selected_queue(&a),
        format!("{SHOP}/orders"),
        "the selection stays put"
    );
}

#[test]
fn keys_that_need_a_name_prefill_the_command_line() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'n');
    assert_eq!(input(&a), "create queue  in shop@db1:5432");
    typ(&mut a, "jobs");
    assert_eq!(input(&a), "create queue jobs in shop@db1:5432");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.confirm().map(|c| c.title.as_str()), Some("Create queue?"));
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::CreateQueue {
            database: s(SHOP),
            queue: s("jobs")
        }]
    );
    ch(&mut a, 'j');
    ch(&mut a, 'e');
    assert_eq!(
        input(&a),
        "alter queue \"billing events\" in shop@db1:5432 set "
    );
    press(&mut a, KeyCode::Esc);
    ch(&mut a, 'a');
    assert_eq!(
        input(&a),
        "register consumer  on \"billing events\" in shop@db1:5432"
    );
}

#[test]
fn tab_completes_and_cycles() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, ':');
    typ(&mut a, "tick aud");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "tick audit ");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s("tick queue audit in shop@db1:5432")])
    );
    press(&mut a, KeyCode::Esc);

    ch(&mut a, ':');
    typ(&mut a, "unregister consumer a");
    press(&mut a, KeyCode::Tab);
    assert_eq!(
        input(&a),
        "unregister consumer audit_",
        "the common prefix first"
    );
    let menu = a.input().and_then(|l| l.menu.clone()).expect("a menu");
    assert_eq!(menu.candidates.len(), 2);
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "unregister consumer audit_archiver");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "unregister consumer audit_stream");
    press(&mut a, KeyCode::BackTab);
    assert_eq!(input(&a), "unregister consumer audit_archiver");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.confirm().map(|c| c.title.as_str()),
        Some("Unregister consumer?")
    );
    press(&mut a, KeyCode::Esc);

    // Quoted names.
    ch(&mut a, ':');
    typ(&mut a, "drop queue bil");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "drop queue \"billing events\" ");
    typ(&mut a, "fo");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "drop queue \"billing events\" force ");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        a.confirm().map(|c| c.lines.clone()),
        Some(vec![s(
            "drop queue \"billing events\" in shop@db1:5432 (force: unregisters its consumers)"
        )])
    );
}

#[test]
fn command_errors_keep_the_line_and_history_recalls() {
    let mut a = app(ViewId::Overview);
    command(&mut a, "drop queue nope");
    assert_eq!(input(&a), "drop queue nope", "the line stays for fixing");
    assert_eq!(
        toast(&a),
        "drop queue: no queue nope in this deck (add in <db> if it was just created)"
    );
    press(&mut a, KeyCode::Esc);
    assert!(a.input().is_none());
    command(&mut a, "show worker replica_shop");
    assert_eq!(a.view(), ViewId::Workers);
    assert_eq!(
        a.workers().worker(a.snapshot()).map(|w| w.name.as_str()),
        Some("replica_shop")
    );
    ch(&mut a, ':');
    press(&mut a, KeyCode::Up);
    assert_eq!(input(&a), "show worker replica_shop");
    press(&mut a, KeyCode::Up);
    assert_eq!(input(&a), "drop queue nope");
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    assert_eq!(input(&a), "");
    // Backspace on an empty line closes it; so does ctrl-c.
    press(&mut a, KeyCode::Backspace);
    assert!(a.input().is_none());
    ch(&mut a, ':');
    typ(&mut a, "tick");
    ctrl(&mut a, 'c');
    assert!(a.input().is_none());
    assert_eq!(a.exit_reason(), None);
}

#[test]
fn paste_goes_into_the_command_line() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, ':');
    a.update(Event::Paste(s("show queue metrics\n")), Instant::now());
    assert_eq!(input(&a), "show queue metrics");
    press(&mut a, KeyCode::Enter);
    assert_eq!(selected_queue(&a), format!("{STATS}/metrics"));
}

#[test]
fn show_consumer_focuses_it() {
    let mut a = app(ViewId::Overview);
    command(&mut a, "show consumer rollup");
    assert_eq!(a.view(), ViewId::Queues);
    assert_eq!(selected_queue(&a), format!("{STATS}/metrics"));
    assert_eq!(a.queues().pane, Pane::Consumers);
    assert_eq!(
        a.queues().consumer(a.snapshot()).map(|c| c.name.as_str()),
        Some("rollup")
    );
}

#[test]
fn enter_on_an_alert_goes_to_its_source() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, 'j');
    ch(&mut a, 'j');
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), ViewId::Queues);
    assert_eq!(selected_queue(&a), format!("{SHOP}/audit"));
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), ViewId::Overview);
    ch(&mut a, 'k');
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), ViewId::Workers);
    assert_eq!(
        a.workers().worker(a.snapshot()).map(|w| w.name.as_str()),
        Some("archive_mover")
    );
}

#[test]
fn worker_keys() {
    let mut a = app(ViewId::Workers);
    ch(&mut a, 'p');
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::PauseWorker { worker: s("pgqd") }]
    );
    command(&mut a, "show worker audit_archiver");
    let w = a.workers().worker(a.snapshot()).expect("selected");
    assert_eq!(w.state, WorkerState::Paused);
    assert!(a.bindings().iter().any(|b| b.hint == "resume"));
    ch(&mut a, 'p');
    ch(&mut a, 'y');
    assert_eq!(
        a.take_actions(),
        [Action::ResumeWorker {
            worker: s("audit_archiver")
        }]
    );
    ch(&mut a, 'x');
    assert_eq!(
        a.confirm().map(|c| c.title.as_str()),
        Some("Restart worker?")
    );
}

#[test]
fn logs_level_filter_and_follow() {
    let mut a = app(ViewId::Logs);
    assert_eq!(a.logs().rows.len(), 40);
    assert_eq!(a.logs().top, None, "following the tail");
    ch(&mut a, 'v');
    ch(&mut a, 'v');
    ch(&mut a, 'v');
    assert_eq!(a.logs().min_level, Level::Warn);
    assert_eq!(a.logs().rows.len(), 12);
    ch(&mut a, '/');
    typ(&mut a, "refused");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.logs().rows.len(), 4);
    ch(&mut a, 'v');
    ch(&mut a, 'v');
    assert_eq!(a.logs().min_level, Level::Trace);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.logs().rows.len(), 40);
    ch(&mut a, 'k');
    assert!(a.logs().top.is_some(), "scrolling up stops following");
    ch(&mut a, 'G');
    assert_eq!(a.logs().top, None);
    ch(&mut a, 'g');
    assert_eq!(a.logs().top, Some(0));
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, '?');
    assert!(a.help_open());
    ch(&mut a, 'j');
    ch(&mut a, 't');
    assert!(
        a.confirm().is_none(),
        "keys go to the help while it is open"
    );
    press(&mut a, KeyCode::Esc);
    assert!(!a.help_open());
    command(&mut a, "help");
    assert!(a.help_open());
    ch(&mut a, '?');
    assert!(!a.help_open());
}

#[test]
fn toasts_expire() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 's');
    assert!(a.toast().is_some());
    a.update(Event::Tick, Instant::now() + Duration::from_secs(6));
    assert!(a.toast().is_none());
}

#[test]
fn theme_switch() {
    let mut a = app(ViewId::Overview);
    command(&mut a, "theme light");
    assert_eq!(a.theme().name, skydeck_ui::ThemeName::Light);
    assert_eq!(toast(&a), "theme light");
}
