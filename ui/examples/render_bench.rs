//! Renders the Queues view of a deck with many queues and prints how long
//! one refresh takes (taking the snapshot in, then drawing a frame).
//!
//! `cargo run --release -p skydeck-ui --example render_bench [QUEUES] [WIDTHxHEIGHT]`

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::{fixtures, render_once, ViewId};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let (w, h) = args
        .next()
        .and_then(|s| {
            let (w, h) = s.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((160, 50));
    let snap = Arc::new(fixtures::large_deck(n));
    let runs = 50;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| render_once(Arc::clone(&snap), ViewId::Queues, w, h))
        .collect();
    times.sort();
    println!(
        "queues view, {n} queues × 3 consumers, {w}x{h}: median {:?}, min {:?}, max {:?} over {runs} renders",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
}
