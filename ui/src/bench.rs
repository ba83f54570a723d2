//! Rendering without a terminal: for `skydeck bench` (the console's render
//! time for a large deck), snapshot tests and screenshots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use crate::app::{App, ConsoleOptions};
use crate::model::Snapshot;
use crate::render;
use crate::views::ViewId;

/// Time for one refresh of `view` at `width`×`height`: taking the snapshot
/// in (filter, sort, selection) and drawing a frame into an off-screen
/// buffer. The number `skydeck bench ticker` reports for 1,000 queues.
pub fn render_once(snapshot: Arc<Snapshot>, view: ViewId, width: u16, height: u16) -> Duration {
    let opts = ConsoleOptions {
        start_view: view,
        ..ConsoleOptions::default()
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    let mut app = App::new(&opts, Arc::new(Snapshot::default()));
    app.update(crate::event::Event::Resize(width, height), Instant::now());
    let start = Instant::now();
    app.set_snapshot(snapshot);
    terminal
        .draw(|f| render::draw(f, &app))
        .expect("test backend");
    start.elapsed()
}

/// Draws `app` into an off-screen buffer of `width`×`height`.
pub fn render_to_buffer(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|f| render::draw(f, app))
        .expect("test backend");
    terminal.backend().buffer().clone()
}

/// Draws `app` and returns the screen as text, one quoted line per row
/// (the `TestBackend` format snapshot tests compare).
pub fn render_to_string(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|f| render::draw(f, app))
        .expect("test backend");
    terminal.backend().to_string()
}
