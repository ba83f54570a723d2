//! Helpers shared by the console's tests: an app on the fixture deck,
//! key presses, typing.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use skydeck_ui::model::{Action, ActionResult, Snapshot};
use skydeck_ui::{fixtures, App, ConsoleOptions, Event, ViewId};

pub const W: u16 = 120;
pub const H: u16 = 32;

pub fn app_with(snap: Snapshot, opts: ConsoleOptions) -> App {
    let mut app = App::new(&opts, Arc::new(snap));
    app.update(Event::Resize(W, H), Instant::now());
    app
}

/// The fixture deck, on `view`.
pub fn app(view: ViewId) -> App {
    app_with(
        fixtures::deck(),
        ConsoleOptions {
            start_view: view,
            ..ConsoleOptions::default()
        },
    )
}

pub fn read_only_app(view: ViewId) -> App {
    app_with(
        fixtures::deck(),
        ConsoleOptions {
            start_view: view,
            read_only: true,
            ..ConsoleOptions::default()
        },
    )
}

pub fn press(app: &mut App, code: KeyCode) {
    app.update(
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        Instant::now(),
    );
}

pub fn ctrl(app: &mut App, c: char) {
    app.update(
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
        Instant::now(),
    );
}

pub fn ch(app: &mut App, c: char) {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    app.update(
        Event::Key(KeyEvent::new(KeyCode::Char(c), mods)),
        Instant::now(),
    );
}

/// Presses each character of `s`.
pub fn typ(app: &mut App, s: &str) {
    for c in s.chars() {
        ch(app, c);
    }
}

/// `:` + the command + enter.
pub fn command(app: &mut App, line: &str) {
    ch(app, ':');
    typ(app, line);
    press(app, KeyCode::Enter);
}

pub fn toast(app: &App) -> String {
    app.toast().map(|t| t.text.clone()).unwrap_or_default()
}

pub fn input(app: &App) -> String {
    app.input()
        .map(|l| l.value().to_string())
        .unwrap_or_default()
}

/// The selected queue as `database/queue`.
pub fn selected_queue(app: &App) -> String {
    app.queues()
        .queue(app.snapshot())
        .map(|q| format!("{}/{}", q.database, q.name))
        .unwrap_or_default()
}

/// The daemon's answer to `action` arrives.
pub fn result(app: &mut App, action: Action, ok: bool, message: &str) {
    app.update(
        Event::Result(ActionResult {
            action,
            ok,
            message: message.to_string(),
        }),
        Instant::now(),
    );
}
