//! skydeck's terminal console. It renders [`model::Snapshot`]s handed to it
//! and emits [`model::Action`]s; it holds no database connection and knows
//! nothing about PostgreSQL.
//!
//! # For the engine
//!
//! ```ignore
//! let reason = skydeck_ui::run(opts, snapshots_rx, actions_tx, results_rx).await?;
//! ```
//!
//! * [`run`]`(ConsoleOptions, watch::Receiver<Arc<Snapshot>>,
//!   mpsc::Sender<Action>, mpsc::Receiver<ActionResult>) ->
//!   io::Result<ExitReason>` takes the terminal (raw mode, alternate screen,
//!   a panic hook that restores it) until the operator quits
//!   ([`ExitReason::Quit`]: stop the hosted workers) or the engine drops the
//!   snapshot sender ([`ExitReason::EngineClosed`]).
//! * The engine publishes a snapshot every refresh period, and at once on
//!   [`model::Action::Refresh`]; [`model::Action::SetRefresh`] changes the
//!   period. Every other action has been confirmed by the operator (and is
//!   never sent in read-only mode); answer each with an
//!   [`model::ActionResult`].
//! * Nothing may write to stdout/stderr while the console runs: log lines
//!   go to `Snapshot::logs` (the Logs view).
//! * [`render_once`] times one refresh of a view off-screen (for `skydeck
//!   bench`); [`fixtures`] has sample decks, [`fixtures::large_deck`] any size.
//!
//! # Keys
//!
//! Everywhere: `1`–`4` (or `tab`/`shift-tab`, or `:name`) Overview, Queues,
//! Workers, Logs · `/` filter (as typed; `enter` keeps, `esc` restores) ·
//! `:` command line · `?` help · `esc` back (clears the filter, leaves the
//! consumer pane, returns to the previous view) · `r`/`ctrl-r` refresh now
//! · `+`/`-` refresh period · `f`/space freeze · `q`/`ctrl-c` quit (asks:
//! `y`/`enter` quits, `n`/`esc` stays; `ctrl-c` twice quits).
//! Tables: `↑↓`/`jk`, `pgup`/`pgdn`, `g`/`G`.
//! Overview: `enter` goes to an alert's source.
//! Queues: `enter` consumers, `t` tick, `n` new queue, `e` alter, `a` add
//! consumer, `d` drop queue (in the consumer pane: unregister), `s` sort.
//! Workers: `p` pause/resume, `x` restart. Logs: `v` minimum level, `G`
//! follow. The key-hint bar and the help are computed from the same key
//! lists ([`App::bindings`]).
//!
//! # Commands
//!
//! qadmin's, plus the console's own; `;` optional, keywords in any case,
//! names with spaces in double quotes, `<db>` as the Overview names it.
//! The table is [`command::grammar::SPECS`]; `help` lists it.
//!
//! ```text
//! create queue <queue> [in <db>]
//! drop queue <queue> [force] [in <db>]
//! alter queue <queue|*> [in <db>] set max_lag='3s', max_count=500, idle_period='1m', paused=0
//! set queue config <queue> <param> <value> [in <db>]
//! register consumer <consumer> [on <queue>] [in <db>]
//! unregister consumer <consumer|*> [from <queue>] [in <db>]
//! tick [<queue>|*] [in <db>]
//! maint rotate [<queue>|*] [in <db>]      maint retry [in <db>]
//! pause worker <worker|*>   resume worker <worker|*>   restart worker <worker>
//! show queue|consumer|worker [<name>] …   show databases|logs|help|version
//! refresh [<period>]   freeze [on|off]   filter [<text>]   theme <dark|light|mono>
//! help   quit   overview   queues   workers   logs
//! ```
//!
//! # Modules
//!
//! * [`app`]: the state and the keyboard model (one gate for actions:
//!   read-only refusal, then the confirmation popup).
//! * [`views`]: Overview, Queues, Workers, Logs — a list, each with a key and
//!   a `:name`.
//! * [`command`]: the command line's parser and tab completion, from one
//!   grammar table.
//! * [`render`]: drawing, pure; [`bench`](mod@bench): off-screen rendering and timing.
//! * [`fixtures`]: realistic sample snapshots.

/// A `&'static [Key]` from key constructors (`&[Key::ch('t')]` alone is
/// not promoted to a static because the constructors are function calls).
macro_rules! key_set {
    ($($k:expr),+ $(,)?) => {{
        const KEYS: &[$crate::keys::Key] = &[$($k),+];
        KEYS
    }};
}

pub mod app;
pub mod bench;
pub mod cascade;
pub mod command;
pub mod describe;
pub mod event;
pub mod fixtures;
pub mod fmt;
pub mod keys;
pub mod model;
pub mod render;
pub mod takeover;
mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;

pub use app::{App, ConsoleOptions, ExitReason};
pub use bench::{render_once, render_to_buffer, render_to_string};
pub use event::Event;
pub use terminal::{run, run_loop};
pub use theme::ThemeName;
pub use views::ViewId;
