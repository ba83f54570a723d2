//! Snapshot tests of every view and popup, rendered into ratatui's
//! `TestBackend` from the fixture deck. Review changes with
//! `INSTA_UPDATE=always cargo test -p skydeck-ui` and reading the .snap
//! files (or `cargo insta review`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::*;
use crossterm::event::KeyCode;
use ratatui::style::Color;
use skydeck_ui::model::{Action, ActionResult, Snapshot};
use skydeck_ui::render::cursor_position;
use skydeck_ui::{
    fixtures, render_to_buffer, render_to_string, ConsoleOptions, Event, ThemeName, ViewId,
};

fn screen(app: &skydeck_ui::App) -> String {
    render_to_string(app, W, H)
}

#[test]
fn overview() {
    let a = app(ViewId::Overview);
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn overview_narrow() {
    let mut a = app(ViewId::Overview);
    a.update(Event::Resize(80, 24), Instant::now());
    insta::assert_snapshot!(render_to_string(&a, 80, 24));
}

#[test]
fn queues_with_consumers() {
    let mut a = app(ViewId::Queues);
    command(&mut a, "show queue audit");
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn queues_consumer_pane_focused() {
    let mut a = app(ViewId::Queues);
    press(&mut a, KeyCode::Enter);
    ch(&mut a, 'j');
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn queues_narrow() {
    let mut a = app(ViewId::Queues);
    a.update(Event::Resize(80, 24), Instant::now());
    ch(&mut a, 'j');
    ch(&mut a, 'j');
    insta::assert_snapshot!(render_to_string(&a, 80, 24));
}

#[test]
fn queues_large_deck_scrolled() {
    let mut a = app_with(
        fixtures::large_deck(1000),
        ConsoleOptions {
            start_view: ViewId::Queues,
            ..ConsoleOptions::default()
        },
    );
    command(&mut a, "show queue queue_0500");
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn workers_with_backoff_error() {
    let mut a = app(ViewId::Workers);
    command(&mut a, "show worker replica_shop");
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn logs_with_filter() {
    let mut a = app(ViewId::Logs);
    ch(&mut a, 'v');
    ch(&mut a, 'v');
    ch(&mut a, '/');
    typ(&mut a, "pgqd");
    press(&mut a, KeyCode::Enter);
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn help_popup() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, '?');
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn command_line_with_completions() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, ':');
    typ(&mut a, "drop queue ");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab);
    let text = screen(&a);
    insta::assert_snapshot!(text);
    // The cursor sits after the inserted candidate.
    let pos = cursor_position(&a, ratatui::layout::Rect::new(0, 0, W, H)).expect("cursor");
    assert_eq!((pos.x, pos.y), (1 + "drop queue audit".len() as u16, H - 3));
}

#[test]
fn command_line_error() {
    let mut a = app(ViewId::Overview);
    command(&mut a, "alter queue orders set colour='blue'");
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn confirm_drop_queue() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'd');
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn confirm_many_actions() {
    let mut a = app(ViewId::Queues);
    command(
        &mut a,
        "alter queue * set max_lag='5 seconds', idle_period='30 seconds'",
    );
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn confirm_quit() {
    let mut a = app(ViewId::Workers);
    ch(&mut a, 'q');
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn read_only_refusal() {
    let mut a = read_only_app(ViewId::Queues);
    ch(&mut a, 'd');
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn action_result_toasts() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, 'd');
    ch(&mut a, 'y');
    let sent = a.take_actions();
    // While waiting, with no toast, the status line says so.
    a.update(
        Event::Tick,
        Instant::now() + std::time::Duration::from_secs(6),
    );
    let waiting = screen(&a);
    a.update(
        Event::Result(ActionResult {
            action: sent[0].clone(),
            ok: false,
            message: "ERROR: cannot drop queue, consumers still attached (SQLSTATE P0001)\nHINT: drop queue orders force".into(),
        }),
        Instant::now(),
    );
    let failed = screen(&a);
    a.update(
        Event::Result(ActionResult {
            action: Action::Tick {
                database: fixtures::SHOP.into(),
                queue: "orders".into(),
            },
            ok: true,
            message: "tick 48214".into(),
        }),
        Instant::now(),
    );
    let ok = screen(&a);
    let last_lines = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len() - 4..].join("\n")
    };
    insta::assert_snapshot!(format!(
        "waiting:\n{}\n\nfailed:\n{}\n\nok:\n{}",
        last_lines(&waiting),
        last_lines(&failed),
        last_lines(&ok)
    ));
}

#[test]
fn frozen_read_only_header() {
    let mut snap = fixtures::deck();
    snap.read_only = true;
    let mut a = app_with(snap, ConsoleOptions::default());
    ch(&mut a, 'f');
    ch(&mut a, '+');
    insta::assert_snapshot!(screen(&a).lines().next().unwrap_or_default().to_string());
}

#[test]
fn terminal_too_small() {
    let a = app(ViewId::Queues);
    insta::assert_snapshot!(render_to_string(&a, 40, 10));
}

#[test]
fn tiny_terminals_do_not_panic() {
    let mut a = app(ViewId::Queues);
    ch(&mut a, ':');
    typ(&mut a, "drop queue ");
    press(&mut a, KeyCode::Tab);
    for view in [
        ViewId::Overview,
        ViewId::Queues,
        ViewId::Workers,
        ViewId::Logs,
    ] {
        a.set_view(view);
        for w in [0u16, 1, 2, 10, 49, 50, 51, 79] {
            for h in [0u16, 1, 2, 5, 11, 12, 13, 20] {
                let _ = render_to_buffer(&a, w, h);
            }
        }
    }
    let mut b = app(ViewId::Queues);
    ch(&mut b, '?');
    let _ = render_to_string(&b, 50, 12);
    let mut c = app(ViewId::Queues);
    ch(&mut c, 'q');
    let _ = render_to_string(&c, 50, 12);
}

#[test]
fn empty_deck() {
    let a = app_with(fixtures::empty_deck(), ConsoleOptions::default());
    let mut b = app_with(fixtures::empty_deck(), ConsoleOptions::default());
    ch(&mut b, '2');
    insta::assert_snapshot!(format!("{}\n{}", screen(&a), screen(&b)));
}

#[test]
fn before_the_first_snapshot() {
    let a = app_with(Snapshot::default(), ConsoleOptions::default());
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn mono_theme_uses_no_colour() {
    let a = app_with(
        fixtures::deck(),
        ConsoleOptions {
            theme: ThemeName::Mono,
            start_view: ViewId::Queues,
            ..ConsoleOptions::default()
        },
    );
    let buf = render_to_buffer(&a, W, H);
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    // The dark theme does colour, and all themes draw the same text.
    let dark = app(ViewId::Queues);
    let dbuf = render_to_buffer(&dark, W, H);
    assert!(dbuf.content().iter().any(|c| c.fg != Color::Reset));
    assert_eq!(render_to_string(&a, W, H), screen(&dark));
    let light = app_with(
        fixtures::deck(),
        ConsoleOptions {
            theme: ThemeName::Light,
            start_view: ViewId::Queues,
            ..ConsoleOptions::default()
        },
    );
    assert_eq!(render_to_string(&light, W, H), screen(&dark));
}

#[test]
fn rendering_reads_state_only() {
    // The same app renders the same screen twice (no hidden state moves).
    let a = app(ViewId::Queues);
    assert_eq!(screen(&a), screen(&a));
    let snap = Arc::clone(a.snapshot());
    let _ = screen(&a);
    assert!(Arc::ptr_eq(&snap, a.snapshot()));
}
