//! The console on the fixture deck with a pretend engine: snapshots every
//! refresh period (queues' ticks move), actions answered after a moment.
//! For trying the keyboard model in a real terminal:
//!
//! `cargo run -p skydeck-ui --example console_demo [dark|light|mono] [ro]`
//!
//! Quit with `q` then `y`.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{Action, ActionResult};
use skydeck_ui::{fixtures, run, ConsoleOptions, ThemeName};
use tokio::sync::{mpsc, watch};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let theme: ThemeName = args
        .first()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    let read_only = args.iter().any(|a| a == "ro");
    // `panic`: a task elsewhere panics after 2 s (the console takes the
    // screen back); `crash`: the console's own thread panics on a key.
    if args.iter().any(|a| a == "panic") {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            panic!("a worker fell over");
        });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    rt.block_on(async move {
        let (snap_tx, snap_rx) = watch::channel(Arc::new(fixtures::deck()));
        let (act_tx, mut act_rx) = mpsc::channel::<Action>(64);
        let (res_tx, res_rx) = mpsc::channel::<ActionResult>(64);
        let engine = tokio::spawn(async move {
            let mut period = Duration::from_secs(1);
            let mut tick = 0i64;
            loop {
                tokio::select! {
                    a = act_rx.recv() => {
                        let Some(a) = a else { break };
                        match &a {
                            Action::SetRefresh(d) => period = *d,
                            Action::Refresh => {}
                            _ => {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                                let ok = !matches!(a, Action::DropQueue { force: false, .. });
                                let message = if ok { "done".into() } else {
                                    "ERROR: cannot drop queue, consumers still attached\nHINT: use force".into()
                                };
                                let _ = res_tx.send(ActionResult { action: a, ok, message }).await;
                                continue;
                            }
                        }
                    }
                    _ = tokio::time::sleep(period) => {}
                }
                tick += 1;
                let mut s = fixtures::deck();
                for q in &mut s.queues {
                    q.last_tick_id += tick;
                }
                s.taken_at += Duration::from_secs(tick as u64);
                if snap_tx.send(Arc::new(s)).is_err() {
                    break;
                }
            }
        });
        let opts = ConsoleOptions {
            theme,
            read_only,
            ..ConsoleOptions::default()
        };
        let reason = run(opts, snap_rx, act_tx, res_rx).await;
        engine.abort();
        println!("console returned: {reason:?}");
        Ok(())
    })
}
