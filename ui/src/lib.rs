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
//!   never sent in read-only mode), except the read-only dry runs and
//!   checks ([`model::Action::TakeoverPlan`],
//!   [`model::Action::CompareTables`]); answer each with an
//!   [`model::ActionResult`].
//! * The Tables view reads [`model::Snapshot::londiste`] (one
//!   [`model::LondisteView`] per Londiste node) and sends the table actions
//!   ([`model::Action::AddTables`] …) addressed by the node's worker name.
//! * The WAL view reads [`model::Snapshot::wal`] (one [`model::WalView`]
//!   per walmgr job) and sends [`model::Action::WalBackup`],
//!   [`model::Action::WalSync`], [`model::Action::WalPause`],
//!   [`model::Action::WalContinue`] and [`model::Action::WalBoot`]
//!   addressed by the job's name.
//! * Nothing may write to stdout/stderr while the console runs: log lines
//!   go to `Snapshot::logs` (the Logs view).
//! * [`render_once`] times one refresh of a view off-screen (for `skydeck
//!   bench`); [`fixtures`] has sample decks, [`fixtures::large_deck`] any size.
//!
//! # Keys
//!
//! Everywhere: `1`–`7` (or `tab`/`shift-tab`, or `:name`) Overview, Queues,
//! Workers, Logs, Nodes, Tables, WAL · `/` filter (as typed; `enter` keeps, `esc`
//! restores) · `:` command line · `?` help · `esc` back (clears the filter,
//! leaves the consumer pane, returns to the previous view) · `r`/`ctrl-r`
//! refresh now (in Tables only `ctrl-r`: `r` resyncs there) · `+`/`-`
//! refresh period · `f`/space freeze · `q`/`ctrl-c` quit (asks:
//! `y`/`enter` quits, `n`/`esc` stays; `ctrl-c` twice quits).
//! Lists: `↑↓`/`jk`, `pgup`/`pgdn`, `g`/`G`.
//! Overview: `enter` goes to an alert's source.
//! Queues: `enter` consumers, `t` tick, `n` new queue, `e` alter, `a` add
//! consumer, `d` drop queue (in the consumer pane: unregister), `s` sort.
//! Workers: `p` pause/resume, `x` restart. Logs: `v` minimum level, `G`
//! follow. Nodes: `enter` fold, `s` switchover, `F` failover, `p`
//! pause/resume, `c` change provider, `t` tag dead/alive, `d` drop node,
//! `o` the hidden takeover's progress.
//! Tables (Londiste): `enter` fold a node, `a` add tables (a picker of the
//! node's missing tables: type to filter, space marks, enter adds), `d`/`x`
//! remove, `r` resync, `h` change handler (a prompt; empty removes it), `e`
//! execute a SQL file (a prompt for the path; sent to the root), `c`
//! compare (no confirmation; its answer opens in a popup).
//! WAL (walmgr): `b` backup now and `s` sync (masters), `p` pause replay,
//! `c` continue, `P` promote (boot; standbys) — boot asks for the job's
//! name to be typed, the others for `y`; a key for the other role says why
//! and sends nothing. The key-hint bar and the help are computed from the
//! same key lists ([`App::bindings`]).
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
//! pause|resume node <node> [on <queue>]   change provider <node> to <provider> [on <queue>]
//! switchover to <node> [all] [on <queue>]   failover to <node> [from <dead node>] [on <queue>]
//! tag dead|alive <node> [on <queue>]   drop node <node> [on <queue>]   show node|cascade …
//! add table <table|*> [on <node>]   remove table <table> [on <node>]   resync table <table> [on <node>]
//! change handler <table> [to '<handler>'] [on <node>]   execute <file> [on <node>]
//! compare [<table>] [on <node>]   show table [<table>] [on <node>]
//! refresh [<period>]   freeze [on|off]   filter [<text>]   theme <dark|light|mono>
//! help   quit   overview   queues   workers   logs   nodes   tables   wal
//! ```
//!
//! # Modules
//!
//! * [`app`]: the state and the keyboard model (one gate for actions:
//!   read-only refusal, then the confirmation popup).
//! * [`views`]: Overview, Queues, Workers, Logs, Nodes, Tables, WAL — a
//!   list, each with a key and a `:name`.
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
