//! `skydeck [-c skydeck.ini]`: the console hosting the deck's workers, and
//! `skydeck demo` with the console. The engine side runs here: a snapshot
//! every refresh period, actions carried out and answered; the `ui` crate
//! draws and reads keys.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use skydeck_ui::model::{Action, Reply, Snapshot};
use skydeck_ui::{ConsoleOptions, ExitReason, ThemeName};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Deck;
use crate::daemon::host::Host;
use crate::daemon::logging::{self, LogBuffer, Output};
use crate::daemon::pidfile::Pidfile;
use crate::daemon::run::{
    jobs_for, logfile_path, pidfile_path, status_path, write_status, STOP_GRACE,
};
use crate::daemon::{Policy, Supervisor};

/// Lines of log the console keeps for its Logs view.
const LOG_LINES: usize = 5000;

pub async fn run(deck_path: &Path, read_only: bool, verbosity: i32) -> Result<()> {
    let deck = Deck::load(deck_path)?;
    let jobs = jobs_for(&deck)?;
    let buffer = LogBuffer::new(LOG_LINES);
    let logfile = logfile_path(&deck);
    let _guard = logging::init(Output::Quiet(Some(&logfile)), verbosity, &buffer)
        .with_context(|| format!("setting up logging to {}", logfile.display()))?;
    // The console hosts the deck's workers: a daemon of the same deck at
    // the same time would tick the same databases twice.
    let pidfile = pidfile_path(&deck);
    let _pidfile = Pidfile::create(&pidfile)?;
    let title = deck.path.display().to_string();
    for w in &deck.warnings {
        tracing::warn!("{title}: {w}");
    }
    let supervisor = Supervisor::new(Policy::default());
    for j in jobs {
        supervisor.add(j);
    }
    let host = Host::new(
        supervisor.clone(),
        buffer,
        &title,
        read_only || deck.read_only,
    );
    let opts = ConsoleOptions {
        theme: ThemeName::from_str(deck.theme.name()).unwrap_or_default(),
        read_only: read_only || deck.read_only,
        refresh: deck.refresh_period,
        ..ConsoleOptions::default()
    };
    let status_file = status_path(&deck);
    let stop_control = CancellationToken::new();
    let control = tokio::spawn(crate::daemon::control::serve(
        crate::daemon::control::socket_path(&pidfile),
        host.clone(),
        stop_control.clone(),
    ));
    let result = host_console(host, opts, Some((status_file.clone(), title))).await;
    stop_control.cancel();
    let _ = control.await;
    supervisor.shutdown(STOP_GRACE).await;
    let _ = std::fs::remove_file(&status_file);
    result
}

/// The demo with the console on it.
pub async fn run_demo(rate: f64) -> Result<()> {
    let buffer = LogBuffer::new(LOG_LINES);
    let _guard = logging::init(Output::Quiet(None), 0, &buffer)?;
    eprintln!("skydeck demo: starting a throwaway PostgreSQL cluster …");
    let demo = super::demo::start(rate).await?;
    info!(
        "demo cluster {} is up: {}",
        demo.cluster.name(),
        demo.connstr
    );
    let host = Host::new(demo.supervisor.clone(), buffer, "demo", false);
    let opts = ConsoleOptions {
        refresh: Duration::from_secs(1),
        ..ConsoleOptions::default()
    };
    let result = host_console(host, opts, None).await;
    demo.supervisor.shutdown(Duration::from_secs(10)).await;
    drop(demo);
    eprintln!("skydeck demo: stopped and removed the cluster");
    result
}

/// Run the engine loop beside the console until the operator quits.
async fn host_console(
    host: Arc<Host>,
    opts: ConsoleOptions,
    status: Option<(std::path::PathBuf, String)>,
) -> Result<()> {
    let (snap_tx, snap_rx) = watch::channel(Arc::new(Snapshot::default()));
    let (act_tx, mut act_rx) = mpsc::channel::<Action>(64);
    let (res_tx, res_rx) = mpsc::channel::<Reply>(64);
    let stop = CancellationToken::new();
    let engine = {
        let host = host.clone();
        let stop = stop.clone();
        let mut period = opts.refresh;
        tokio::spawn(async move {
            let mut sigterm =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut next = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                        info!("Got SIGTERM, closing the console");
                        break;
                    }
                    _ = tokio::time::sleep_until(next) => {
                        let snap = host.snapshot().await;
                        let _ = snap_tx.send(Arc::new(snap));
                        if let Some((path, title)) = &status {
                            let _ = write_status(path, &host.supervisor, title, "console");
                        }
                        next = tokio::time::Instant::now() + period;
                    }
                    a = act_rx.recv() => {
                        let Some(a) = a else { break };
                        match &a {
                            Action::SetRefresh(d) => {
                                period = (*d).max(Duration::from_millis(100));
                                next = tokio::time::Instant::now();
                            }
                            Action::Refresh => next = tokio::time::Instant::now(),
                            _ => {}
                        }
                        // Long actions must not stall snapshots: run them aside.
                        let host = host.clone();
                        let res_tx = res_tx.clone();
                        tokio::spawn(async move {
                            // Steps of a long action, then its answer, in order.
                            let (tx, mut rx) = mpsc::unbounded_channel();
                            let forward = async {
                                while let Some(r) = rx.recv().await {
                                    if res_tx.send(r).await.is_err() {
                                        break;
                                    }
                                }
                            };
                            tokio::join!(host.answer(a, tx), forward);
                        });
                    }
                }
            }
            // Dropping the sender tells the console to close.
            drop(snap_tx);
        })
    };
    let exit = skydeck_ui::run(opts, snap_rx, act_tx, res_rx).await;
    stop.cancel();
    let _ = engine.await;
    match exit.context("running the console")? {
        ExitReason::Quit => info!("console: quit by the operator"),
        ExitReason::EngineClosed => info!("console: closed by the engine"),
    }
    Ok(())
}
