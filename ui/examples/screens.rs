//! Prints every view of the fixture deck as text, for a quick look at a
//! layout: `cargo run -p skydeck-ui --example screens [WIDTH] [HEIGHT]`.

use std::sync::Arc;
use std::time::Instant;

use skydeck_ui::views::VIEWS;
use skydeck_ui::{fixtures, render_to_string, App, ConsoleOptions, Event};

fn main() {
    let mut args = std::env::args().skip(1);
    let w: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(120);
    let h: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    for view in VIEWS {
        let opts = ConsoleOptions {
            start_view: view.id,
            ..ConsoleOptions::default()
        };
        let mut app = App::new(&opts, Arc::new(fixtures::deck()));
        app.update(Event::Resize(w, h), Instant::now());
        println!("{}", render_to_string(&app, w, h));
    }
}
