//! The terminal run loop: raw mode and the alternate screen, a panic hook
//! that gives the terminal back, and one `select!` over input, snapshots,
//! action results, housekeeping and frame deadlines.

use std::io::{self, Stdout};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, EventStream};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use futures_util::{Stream, StreamExt};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use crate::app::{App, ConsoleOptions, ExitReason, ToastKind};
use crate::describe::describe;
use crate::event::Event;
use crate::model::{Action, Reply, Snapshot};
use crate::render;

/// How often housekeeping runs (toast expiry, terminal recovery).
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// Runs the console in the current terminal until the operator quits or
/// the engine closes the snapshot channel.
///
/// * `snapshots`: the engine publishes a new [`Snapshot`] every refresh
///   period (and on [`Action::Refresh`]); dropping the sender ends the
///   console with [`ExitReason::EngineClosed`].
/// * `actions`: what the operator asked for, already confirmed (and never
///   state-changing in read-only mode). Sent with `try_send`: a full
///   channel shows "engine busy" instead of blocking the screen.
/// * `results`: the engine's answers: [`ActionResult`](crate::model::ActionResult)s
///   (shown in the status line), and — with a channel of [`Reply`] —
///   the steps of long actions ([`Reply::Update`]) and takeover dry runs
///   ([`Reply::Plan`]). Any `Into<Reply>` works, so a channel of
///   `ActionResult` still does.
///
/// Enters raw mode and the alternate screen and installs a panic hook that
/// restores the terminal (the previous hook runs after it, so the panic
/// message lands on the normal screen). Nothing else may write to stdout or
/// stderr while this runs: logs belong in `Snapshot::logs`.
///
/// Quitting: `q` (or ctrl-c), then `y` (or enter, or ctrl-c again) when
/// workers are hosted.
pub async fn run<R>(
    opts: ConsoleOptions,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    actions: mpsc::Sender<Action>,
    results: mpsc::Receiver<R>,
) -> io::Result<ExitReason>
where
    R: Into<Reply> + Send,
{
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let reason = run_loop(
        &mut terminal,
        EventStream::new(),
        opts,
        snapshots,
        actions,
        results,
    )
    .await;
    drop(terminal);
    drop(guard);
    reason
}

/// The loop behind [`run`], on any backend and input stream (tests drive
/// it with a `TestBackend` and a channel of key events).
pub async fn run_loop<B, S, R>(
    terminal: &mut Terminal<B>,
    mut input: S,
    opts: ConsoleOptions,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    actions: mpsc::Sender<Action>,
    mut results: mpsc::Receiver<R>,
) -> io::Result<ExitReason>
where
    R: Into<Reply>,
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<crossterm::event::Event>> + Unpin,
{
    let frame = opts.frame_interval;
    let first = Arc::clone(&snapshots.borrow_and_update());
    let mut app = App::new(&opts, first);
    let size = terminal.size().map_err(io::Error::other)?;
    app.update(Event::Resize(size.width, size.height), Instant::now());
    let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut results_open = true;
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= frame) {
            terminal
                .draw(|f| render::draw(f, &app))
                .map_err(io::Error::other)?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let next_frame = last_draw.map_or_else(Instant::now, |t| t + frame);
        let event = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(e)) => match Event::from_terminal(e) {
                    Some(e) => e,
                    None => continue,
                },
                Some(Err(e)) => return Err(e),
                None => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "terminal input closed")),
            },
            changed = snapshots.changed() => match changed {
                Ok(()) => Event::Snapshot(Arc::clone(&snapshots.borrow_and_update())),
                Err(_) => Event::EngineClosed,
            },
            r = results.recv(), if results_open => match r {
                Some(r) => Event::from(r.into()),
                None => {
                    results_open = false;
                    continue;
                }
            },
            _ = tokio::time::sleep_until(next_frame.into()), if dirty => Event::Render,
            _ = housekeeping.tick() => Event::Tick,
        };
        match event {
            Event::EngineClosed => return Ok(ExitReason::EngineClosed),
            Event::Render => {}
            Event::Tick => {
                if let Some(msg) = recover_terminal() {
                    // The screen was cleared: draw a blank frame so that the
                    // next one writes every cell. (`Terminal::clear` asks the
                    // terminal for the cursor position, and the answer would
                    // race the input stream for stdin.)
                    terminal
                        .draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))
                        .map_err(io::Error::other)?;
                    app.say(
                        ToastKind::Error,
                        format!("a panic elsewhere in skydeck (screen restored): {msg}"),
                    );
                    dirty = true;
                }
                dirty |= app.update(Event::Tick, Instant::now());
            }
            e => dirty |= app.update(e, Instant::now()),
        }
        for a in app.take_actions() {
            let what = describe(&a);
            match actions.try_send(a) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => app.say(
                    ToastKind::Error,
                    format!("engine busy: {what} was not sent — try again"),
                ),
                Err(TrySendError::Closed(_)) => app.say(
                    ToastKind::Error,
                    format!("the engine is gone: {what} was not sent"),
                ),
            }
            dirty = true;
        }
        if let Some(reason) = app.exit_reason() {
            return Ok(reason);
        }
    }
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Set by the panic hook when it gave the terminal back; the loop takes
/// the screen again if the process lives on (a worker task panicked and
/// tokio caught it).
static TERMINAL_LOST: AtomicBool = AtomicBool::new(false);
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
/// Whether the console holds the terminal now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
}

fn take_terminal(out: &mut Stdout) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    )
}

/// If a panic gave the terminal back while the console runs, takes it
/// again and returns the panic's message.
fn recover_terminal() -> Option<String> {
    if !TERMINAL_LOST.swap(false, Ordering::SeqCst) || !ACTIVE.load(Ordering::SeqCst) {
        return None;
    }
    let _ = take_terminal(&mut io::stdout());
    let msg = LAST_PANIC.lock().ok().and_then(|mut m| m.take());
    Some(msg.unwrap_or_else(|| "unknown panic".into()))
}

/// Raw mode, alternate screen and the panic hook while alive.
struct TerminalGuard {
    previous: Arc<Hook>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
        let chained = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) {
                restore_terminal();
                TERMINAL_LOST.store(true, Ordering::SeqCst);
                if let Ok(mut m) = LAST_PANIC.lock() {
                    *m = Some(panic_message(info));
                }
            }
            chained(info);
        }));
        let guard = TerminalGuard { previous };
        ACTIVE.store(true, Ordering::SeqCst);
        take_terminal(&mut io::stdout())?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
        restore_terminal();
        let _ = std::panic::take_hook();
        let previous = Arc::clone(&self.previous);
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

fn panic_message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    match info.location() {
        Some(l) => format!("{msg} at {}:{}", l.file(), l.line()),
        None => msg,
    }
}
