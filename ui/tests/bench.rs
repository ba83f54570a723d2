//! The console's render time for 1,000 queues and 100 cascades of ten
//! nodes (printed, not asserted:
//! `cargo test -p skydeck-ui --test bench -- --nocapture`). `skydeck bench`
//! calls the same `render_once`.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::{fixtures, render_once, ViewId};

#[test]
fn queues_view_with_1000_queues() {
    let snap = Arc::new(fixtures::large_deck(1000));
    assert_eq!(snap.queues.len(), 1000);
    let mut times: Vec<Duration> = (0..20)
        .map(|_| render_once(Arc::clone(&snap), ViewId::Queues, 160, 50))
        .collect();
    times.sort();
    println!(
        "render 1000 queues (queues view, 160x50): median {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    for view in [
        ViewId::Overview,
        ViewId::Workers,
        ViewId::Logs,
        ViewId::Nodes,
    ] {
        println!(
            "render {view} (1000 queues, 500 log lines): {:?}",
            render_once(Arc::clone(&snap), view, 160, 50)
        );
    }
}
