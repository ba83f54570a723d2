//! The console's state and everything that changes it. Keys, snapshots
//! and action results come in through [`App::update`]; actions for the
//! engine come out of [`App::take_actions`]; [`App::exit_reason`] says
//! when to stop. Rendering (in `render.rs`) only reads this.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use crate::cascade;
use crate::command::{self, complete, Candidate, Command, Context, Target};
use crate::describe::{confirm_title, describe};
use crate::event::Event;
use crate::fmt::{ago, bytes, dur, first_line, one_line, period, quote_name};
use crate::keys::{self, Binding, Intent};
use crate::model::{
    Action, ActionResult, ActionUpdate, LondisteView, NodeType, Snapshot, TakeoverKind,
    TakeoverPlan, TickerMode, WalRole, WalSource, WalView, WorkerState,
};
use crate::render;
use crate::takeover::{Picker, Stage, Takeover};
use crate::theme::{Theme, ThemeName};
use crate::views::logs::LogsState;
use crate::views::nodes::NodesState;
use crate::views::overview::OverviewState;
use crate::views::queues::{Pane, QueuesState};
use crate::views::tables::{self as tables_view, AddPicker, PickerKey, TablesState};
use crate::views::wal::{self as wal_view, BootConfirm, WalState};
use crate::views::workers::WorkersState;
use crate::views::ViewId;
use crate::widgets::typed::TypedKey;

/// How the console starts. The deck's `[skydeck]` section fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleOptions {
    pub theme: ThemeName,
    /// Refuse every state-changing action (the snapshot's `read_only`
    /// also turns this on).
    pub read_only: bool,
    /// The refresh period the engine starts with (shown in the header;
    /// `+`/`-` change it through [`Action::SetRefresh`]).
    pub refresh: Duration,
    pub start_view: ViewId,
    /// The shortest time between two frames.
    pub frame_interval: Duration,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            theme: ThemeName::Dark,
            read_only: false,
            refresh: Duration::from_secs(1),
            start_view: ViewId::Overview,
            frame_interval: Duration::from_millis(50),
        }
    }
}

/// Why the console returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// The operator quit (and confirmed stopping the hosted workers, if
    /// there were any): stop them.
    Quit,
    /// The engine closed the snapshot channel; it is shutting down.
    EngineClosed,
}

/// Refresh periods `+` and `-` step through.
pub const REFRESH_STEPS: &[Duration] = &[
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
];

const TOAST_OK: Duration = Duration::from_secs(5);
const TOAST_ERROR: Duration = Duration::from_secs(15);
const HISTORY: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Ok,
    Error,
}

/// The one-line message under the view: action results, refusals,
/// command errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub kind: ToastKind,
    pub text: String,
    pub until: Instant,
}

/// What a confirmation leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Send(Vec<Action>),
    Quit,
}

/// The confirmation popup: what will happen, naming every object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    /// Warnings (a drop that will fail without force …).
    pub notes: Vec<String>,
    pub then: Then,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Command,
    Filter,
    /// A value an action needs (a handler, a file path): see
    /// [`InputLine::prompt`].
    Prompt,
}

/// What a prompt's value is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptFor {
    /// The new handler of `table` (empty: none); `current` is the one it
    /// has.
    Handler {
        worker: String,
        table: String,
        current: Option<String>,
    },
    /// The path of a SQL file to execute through `worker`'s node.
    ExecuteSql { worker: String },
}

/// A one-line question on the input row: `label` then the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub label: String,
    pub what: PromptFor,
}

/// A popup with an answer to read (a compare's result): enter or esc
/// closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub title: String,
    pub lines: Vec<String>,
    pub ok: bool,
    pub scroll: u16,
}

/// The completion menu over the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub candidates: Vec<Candidate>,
    /// The candidate in the input now (Tab cycles).
    pub selected: Option<usize>,
    /// Bytes of the input the menu replaces.
    pub start: usize,
    pub end: usize,
}

/// The `:` command line or the `/` filter being typed.
#[derive(Debug, Clone)]
pub struct InputLine {
    pub kind: InputKind,
    pub input: Input,
    pub menu: Option<Menu>,
    /// The filter before editing began (esc puts it back).
    pub previous: String,
    /// For [`InputKind::Prompt`]: the question.
    pub prompt: Option<Prompt>,
    history_pos: Option<usize>,
}

impl InputLine {
    fn new(kind: InputKind, value: &str, cursor_byte: usize) -> InputLine {
        let chars = value[..cursor_byte.min(value.len())].chars().count();
        InputLine {
            kind,
            input: Input::new(value.to_string()).with_cursor(chars),
            menu: None,
            previous: String::new(),
            prompt: None,
            history_pos: None,
        }
    }

    /// What is drawn before the value: `:`, `/` or the prompt's label.
    pub fn prefix(&self) -> String {
        match (&self.kind, &self.prompt) {
            (InputKind::Command, _) => ":".into(),
            (InputKind::Filter, _) => "/".into(),
            (InputKind::Prompt, Some(p)) => format!("{}: ", p.label),
            (InputKind::Prompt, None) => "> ".into(),
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// The cursor as a byte offset.
    pub fn cursor_byte(&self) -> usize {
        let v = self.input.value();
        v.char_indices()
            .nth(self.input.cursor())
            .map_or(v.len(), |(i, _)| i)
    }

    fn set(&mut self, value: String, cursor_byte: usize) {
        let chars = value[..cursor_byte.min(value.len())].chars().count();
        self.input = Input::new(value).with_cursor(chars);
    }

    fn replace(&mut self, start: usize, end: usize, text: &str) -> usize {
        let v = self.input.value();
        let mut s = String::with_capacity(v.len() + text.len());
        s.push_str(&v[..start]);
        s.push_str(text);
        s.push_str(&v[end.min(v.len())..]);
        let cursor = start + text.len();
        self.set(s, cursor);
        cursor
    }
}

/// The whole console state.
pub struct App {
    pub(crate) snapshot: Arc<Snapshot>,
    /// The newest snapshot while frozen.
    held: Option<Arc<Snapshot>>,
    pub(crate) theme: Theme,
    read_only: bool,
    pub(crate) refresh: Duration,
    pub(crate) frozen: bool,
    pub(crate) view: ViewId,
    back: Vec<ViewId>,
    pub(crate) overview: OverviewState,
    pub(crate) queues: QueuesState,
    pub(crate) workers: WorkersState,
    pub(crate) logs: LogsState,
    pub(crate) nodes: NodesState,
    pub(crate) tables: TablesState,
    pub(crate) wal: WalState,
    pub(crate) input: Option<InputLine>,
    /// Scroll position of the help popup, when open.
    pub(crate) help: Option<u16>,
    pub(crate) confirm: Option<Confirm>,
    /// The switchover or failover under way (shown unless hidden).
    pub(crate) takeover: Option<Takeover>,
    /// Choosing the node that takes over.
    pub(crate) picker: Option<Picker>,
    /// Choosing the tables to add (Tables view).
    pub(crate) add_picker: Option<AddPicker>,
    /// Promoting a standby: the typed confirmation (WAL view).
    pub(crate) boot: Option<BootConfirm>,
    /// An answer to read (a compare's result).
    pub(crate) report: Option<Report>,
    pub(crate) toast: Option<Toast>,
    /// Actions sent, waiting for their result.
    pub(crate) pending: Vec<Action>,
    outbox: Vec<Action>,
    exit: Option<ExitReason>,
    /// The terminal's size (for page sizes).
    pub(crate) size: Rect,
    history: Vec<String>,
    pub(crate) now: Instant,
}

impl App {
    pub fn new(opts: &ConsoleOptions, snapshot: Arc<Snapshot>) -> App {
        let mut app = App {
            snapshot,
            held: None,
            theme: Theme::new(opts.theme),
            read_only: opts.read_only,
            refresh: opts.refresh,
            frozen: false,
            view: opts.start_view,
            back: Vec::new(),
            overview: OverviewState::default(),
            queues: QueuesState::default(),
            workers: WorkersState::default(),
            logs: LogsState::default(),
            nodes: NodesState::default(),
            tables: TablesState::default(),
            wal: WalState::default(),
            input: None,
            help: None,
            confirm: None,
            takeover: None,
            picker: None,
            add_picker: None,
            boot: None,
            report: None,
            toast: None,
            pending: Vec::new(),
            outbox: Vec::new(),
            exit: None,
            size: Rect::new(0, 0, 120, 40),
            history: Vec::new(),
            now: Instant::now(),
        };
        app.rebuild();
        app
    }

    // ----- what the run loop and tests read -------------------------------

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    pub fn view(&self) -> ViewId {
        self.view
    }

    pub fn set_view(&mut self, view: ViewId) {
        self.go(view);
    }

    /// Shows the Tables view with the cursor on `table` of `node` (a node
    /// or worker name; the node's header when `table` is `None`), clearing
    /// the filter or unfolding the node if needed. False when there is no
    /// such row.
    pub fn select_table(&mut self, node: &str, table: Option<&str>) -> bool {
        self.go(ViewId::Tables);
        let snap = Arc::clone(&self.snapshot);
        self.tables.select(&snap, node, table)
    }

    /// Shows the WAL view with the cursor on the walmgr job `worker`
    /// (clearing the filter if needed). False when there is no such job.
    pub fn select_wal(&mut self, worker: &str) -> bool {
        self.go(ViewId::Wal);
        let snap = Arc::clone(&self.snapshot);
        self.wal.select(&snap, worker)
    }

    pub fn read_only(&self) -> bool {
        self.read_only || self.snapshot.read_only
    }

    pub fn refresh(&self) -> Duration {
        self.refresh
    }

    pub fn frozen(&self) -> bool {
        self.frozen
    }

    pub fn toast(&self) -> Option<&Toast> {
        self.toast.as_ref()
    }

    pub fn confirm(&self) -> Option<&Confirm> {
        self.confirm.as_ref()
    }

    pub fn input(&self) -> Option<&InputLine> {
        self.input.as_ref()
    }

    pub fn help_open(&self) -> bool {
        self.help.is_some()
    }

    pub fn pending(&self) -> &[Action] {
        &self.pending
    }

    pub fn queues(&self) -> &QueuesState {
        &self.queues
    }

    pub fn workers(&self) -> &WorkersState {
        &self.workers
    }

    pub fn logs(&self) -> &LogsState {
        &self.logs
    }

    pub fn overview(&self) -> &OverviewState {
        &self.overview
    }

    pub fn nodes(&self) -> &NodesState {
        &self.nodes
    }

    pub fn tables(&self) -> &TablesState {
        &self.tables
    }

    pub fn wal(&self) -> &WalState {
        &self.wal
    }

    /// The typed confirmation of a standby's promotion, when open.
    pub fn boot(&self) -> Option<&BootConfirm> {
        self.boot.as_ref()
    }

    /// The add-table picker, when open.
    pub fn add_picker(&self) -> Option<&AddPicker> {
        self.add_picker.as_ref()
    }

    /// The answer popup (a compare's result), when open.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// The switchover or failover under way, shown or hidden.
    pub fn takeover(&self) -> Option<&Takeover> {
        self.takeover.as_ref()
    }

    /// The takeover popup is on screen.
    pub fn takeover_open(&self) -> bool {
        self.takeover.as_ref().is_some_and(|t| !t.hidden)
    }

    /// The picker of the node that takes over, when open.
    pub fn picker(&self) -> Option<&Picker> {
        self.picker.as_ref()
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Actions to hand to the engine (drains them).
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.outbox)
    }

    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.exit
    }

    /// Workers that quitting stops.
    pub fn hosted_workers(&self) -> Vec<&str> {
        self.snapshot
            .workers
            .iter()
            .filter(|w| w.state != WorkerState::Stopped)
            .map(|w| w.name.as_str())
            .collect()
    }

    // ----- events ---------------------------------------------------------

    /// Handles one event; returns whether the screen needs redrawing.
    pub fn update(&mut self, event: Event, now: Instant) -> bool {
        self.now = now;
        match event {
            Event::Key(k) => {
                if k.kind == KeyEventKind::Release {
                    return false;
                }
                self.on_key(k);
                true
            }
            Event::Paste(text) => {
                if let Some(t) = self.takeover.as_mut().filter(|t| !t.hidden) {
                    let typing = t.accepts_typing();
                    if let Stage::Plan { confirm, .. } = &mut t.stage {
                        if typing {
                            confirm.paste(&text);
                            return true;
                        }
                    }
                    return false;
                }
                if let Some(p) = self.add_picker.as_mut() {
                    p.filter.extend(text.chars().filter(|c| !c.is_control()));
                    p.cursor = 0;
                    return true;
                }
                if let Some(b) = self.boot.as_mut() {
                    b.confirm.paste(&text);
                    return true;
                }
                if let Some(line) = &mut self.input {
                    for c in text.chars().filter(|c| !c.is_control()) {
                        line.input.handle(tui_input::InputRequest::InsertChar(c));
                    }
                    line.menu = None;
                    self.after_input_edit();
                    true
                } else {
                    false
                }
            }
            Event::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                true
            }
            Event::Snapshot(s) => self.set_snapshot(s),
            Event::Result(r) => {
                self.on_result(r);
                true
            }
            Event::Update(u) => {
                self.on_update(u);
                true
            }
            Event::Plan { action, plan } => self.on_plan(&action, plan),
            Event::Tick => {
                let expired = self.expire_toast();
                // The clocks of a plan being made or a takeover running.
                expired
                    || self.takeover_open() && self.takeover.as_ref().is_some_and(Takeover::is_live)
            }
            Event::Render | Event::EngineClosed => false,
        }
    }

    /// A new snapshot: shown now, or held while frozen.
    pub fn set_snapshot(&mut self, snap: Arc<Snapshot>) -> bool {
        if self.frozen {
            self.held = Some(snap);
            return false;
        }
        self.snapshot = snap;
        self.rebuild();
        true
    }

    fn rebuild(&mut self) {
        let s = &self.snapshot;
        self.overview.rebuild(s);
        self.queues.rebuild(s);
        self.workers.rebuild(s);
        self.logs.rebuild(s);
        self.nodes.rebuild(s);
        self.tables.rebuild(s);
        self.wal.rebuild(s);
    }

    pub fn on_result(&mut self, r: ActionResult) {
        if let Some(i) = self.pending.iter().position(|a| *a == r.action) {
            self.pending.remove(i);
        }
        let now = self.now;
        if let Some(t) = self.takeover.as_mut() {
            if t.on_result(&r, now) {
                if matches!(t.stage, Stage::Finished { .. }) {
                    // Show where the cascade stands now.
                    self.outbox.push(Action::Refresh);
                    if t.hidden {
                        if let Some((ok, text)) = t.outcome() {
                            let kind = if ok { ToastKind::Ok } else { ToastKind::Error };
                            self.say(kind, format!("{text} — o in Nodes shows the steps"));
                        }
                    }
                }
                return;
            }
        }
        let mut msg = one_line(&r.message);
        if let Action::CompareTables { worker, .. } = &r.action {
            // The answer goes in a popup; the status line only says so.
            msg.clear();
            let lines: Vec<String> = r.message.lines().map(str::to_string).collect();
            self.report = Some(Report {
                title: format!(
                    "Compare on {}: {}",
                    quote_name(worker),
                    if r.ok { "done" } else { "failed" }
                ),
                lines: if lines.is_empty() {
                    vec!["(no output)".into()]
                } else {
                    lines
                },
                ok: r.ok,
                scroll: 0,
            });
        }
        let what = describe(&r.action);
        let text = if msg.is_empty() {
            what
        } else {
            format!("{what}: {msg}")
        };
        if r.ok {
            self.say(ToastKind::Ok, format!("✓ {text}"));
        } else {
            self.say(ToastKind::Error, format!("✗ {text}"));
        }
    }

    /// A step of an action still running: into the takeover popup when it
    /// is the takeover's, else into the status line.
    pub fn on_update(&mut self, u: ActionUpdate) {
        let now = self.now;
        if let Some(t) = self.takeover.as_mut() {
            if t.on_update(&u, now) {
                return;
            }
        }
        let what = describe(&u.action);
        self.say(ToastKind::Info, format!("⋯ {what}: {}", one_line(&u.step)));
    }

    /// A takeover's dry run arrived; returns whether it is shown.
    pub fn on_plan(&mut self, action: &Action, plan: TakeoverPlan) -> bool {
        let now = self.now;
        self.takeover
            .as_mut()
            .is_some_and(|t| t.on_plan(action, plan, now))
    }

    fn expire_toast(&mut self) -> bool {
        if self.toast.as_ref().is_some_and(|t| t.until <= self.now) {
            self.toast = None;
            return true;
        }
        false
    }

    pub(crate) fn say(&mut self, kind: ToastKind, text: impl Into<String>) {
        let life = if kind == ToastKind::Error {
            TOAST_ERROR
        } else {
            TOAST_OK
        };
        self.toast = Some(Toast {
            kind,
            text: text.into(),
            until: self.now + life,
        });
    }

    // ----- keys -----------------------------------------------------------

    /// The focused component's bindings, then the global ones. The same
    /// list dispatches keys, draws the hint bar and fills the help.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut b = self.view_bindings();
        let global = self.global_bindings(&b);
        b.extend(global);
        b
    }

    /// The focused view's own keys.
    pub fn view_bindings(&self) -> Vec<Binding> {
        let s = &self.snapshot;
        match self.view {
            ViewId::Overview => self.overview.bindings(),
            ViewId::Queues => self.queues.bindings(s),
            ViewId::Workers => self.workers.bindings(s),
            ViewId::Logs => self.logs.bindings(),
            ViewId::Nodes => self
                .nodes
                .bindings(s, self.takeover.as_ref().is_some_and(|t| t.hidden)),
            ViewId::Tables => self.tables.bindings(s),
            ViewId::Wal => self.wal.bindings(s),
        }
    }

    /// Keys that work in every view (`esc back` only when the view has no
    /// back of its own and there is somewhere to go).
    pub fn global_bindings(&self, own: &[Binding]) -> Vec<Binding> {
        let own_back = own.iter().any(|x| x.intent == Intent::Back);
        let mut b = Vec::new();
        keys::global(&mut b, !own_back && self.can_go_back());
        if self.view == ViewId::Tables {
            // `r` resyncs a table here (on any row, so that it never
            // refreshes by surprise); ctrl-r still refreshes.
            for g in &mut b {
                if g.intent == Intent::Refresh {
                    g.keys = key_set![keys::Key::ctrl('r')];
                    g.label = "ctrl-r";
                }
            }
        }
        b
    }

    fn can_go_back(&self) -> bool {
        !self.view_filter().is_empty() || !self.back.is_empty()
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if self.takeover_open() {
            self.takeover_key(key);
        } else if self.picker.is_some() {
            self.picker_key(key);
        } else if self.confirm.is_some() {
            self.confirm_key(key);
        } else if self.add_picker.is_some() {
            self.add_picker_key(key);
        } else if self.boot.is_some() {
            self.boot_key(key);
        } else if self.report.is_some() {
            self.report_key(key);
        } else if self.help.is_some() {
            self.help_key(key);
        } else if self.input.is_some() {
            self.input_key(key);
        } else if let Some(b) = self.bindings().into_iter().find(|b| b.matches(&key)) {
            self.apply(b.intent);
        }
    }

    fn confirm_key(&mut self, key: KeyEvent) {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        let is_quit = matches!(self.confirm.as_ref().map(|c| &c.then), Some(Then::Quit));
        let yes = matches!(
            key.code,
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter
        ) && !key.modifiers.contains(KeyModifiers::CONTROL)
            || (ctrl_c && is_quit);
        let no = matches!(
            key.code,
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q')
        ) || ctrl_c;
        if yes {
            if let Some(c) = self.confirm.take() {
                match c.then {
                    Then::Send(actions) => self.send(actions),
                    Then::Quit => self.exit = Some(ExitReason::Quit),
                }
            }
        } else if no {
            self.confirm = None;
            self.say(ToastKind::Info, "cancelled — nothing was sent");
        }
    }

    /// Keys while the takeover popup is open. Typing goes into the
    /// confirmation once the plan passed; only the exact phrase sends.
    fn takeover_key(&mut self, key: KeyEvent) {
        let now = self.now;
        let Some(t) = self.takeover.as_mut() else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let typing = t.accepts_typing();
        match (&mut t.stage, key.code) {
            (Stage::Running { .. }, KeyCode::Esc) => {
                t.hidden = true;
                let what = t.describe();
                self.say(
                    ToastKind::Info,
                    format!("{what} keeps running — o in the Nodes view shows it"),
                );
            }
            (Stage::Running { .. }, _) => {}
            (Stage::Finished { .. }, KeyCode::Esc | KeyCode::Enter) => self.takeover = None,
            (Stage::Finished { .. }, KeyCode::Char('c')) if ctrl => self.takeover = None,
            (Stage::Finished { .. }, _) => {}
            (_, KeyCode::Esc) => self.cancel_takeover(),
            (_, KeyCode::Char('c')) if ctrl => self.cancel_takeover(),
            (Stage::PlanFailed { .. } | Stage::Plan { .. }, KeyCode::Char('r')) if ctrl => {
                t.replan(now);
                let a = t.plan_request();
                self.outbox.push(a);
            }
            (Stage::Plan { .. }, KeyCode::Tab)
                if t.kind == TakeoverKind::Switchover && !t.read_only =>
            {
                t.all = !t.all;
                t.replan(now);
                let a = t.plan_request();
                self.outbox.push(a);
            }
            (
                Stage::Plan { .. },
                KeyCode::Up | KeyCode::PageUp | KeyCode::Down | KeyCode::PageDown,
            ) => {
                // Never past the end, so that ↑ moves at once.
                let max = crate::takeover::max_scroll(t, now, self.size);
                t.scroll = match key.code {
                    KeyCode::Up => t.scroll.saturating_sub(1),
                    KeyCode::PageUp => t.scroll.saturating_sub(10),
                    KeyCode::Down => t.scroll.saturating_add(1),
                    _ => t.scroll.saturating_add(10),
                }
                .min(max);
            }
            (Stage::Plan { confirm, .. }, _) if typing => match confirm.key(&key) {
                TypedKey::Stay => {}
                TypedKey::Cancel => self.cancel_takeover(),
                TypedKey::Submit => {
                    t.start(now);
                    let a = t.action();
                    self.send(vec![a]);
                }
            },
            (Stage::Plan { .. } | Stage::PlanFailed { .. }, KeyCode::Enter) => {
                // Nothing to run: enter closes, as esc does.
                self.cancel_takeover();
            }
            _ => {}
        }
    }

    fn cancel_takeover(&mut self) {
        if let Some(t) = self.takeover.take() {
            let sent = if matches!(t.stage, Stage::Planning { .. }) {
                "only the dry run was asked for"
            } else {
                "nothing was sent"
            };
            self.say(ToastKind::Info, format!("{} cancelled — {sent}", t.noun()));
        }
    }

    fn picker_key(&mut self, key: KeyEvent) {
        let Some(p) = self.picker.as_mut() else {
            return;
        };
        let n = p.choices.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => p.selected = p.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                p.selected = (p.selected + 1).min(n.saturating_sub(1));
            }
            KeyCode::Home | KeyCode::Char('g') => p.selected = 0,
            KeyCode::End | KeyCode::Char('G') => p.selected = n.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(p) = self.picker.take() {
                    if let Some(new) = p.choice() {
                        self.start_takeover(
                            p.queue.clone(),
                            p.old.clone(),
                            new.to_string(),
                            p.kind,
                            false,
                        );
                    }
                }
            }
            KeyCode::Esc | KeyCode::Char('q') => {
                self.picker = None;
                self.say(ToastKind::Info, "cancelled — nothing was sent");
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.picker = None;
            }
            _ => {}
        }
    }

    /// Opens the takeover popup and asks the engine for the dry run. A
    /// read-only console shows the dry run and refuses the rest.
    pub fn start_takeover(
        &mut self,
        queue: String,
        old: String,
        new: String,
        kind: TakeoverKind,
        all: bool,
    ) {
        if let Some(t) = &self.takeover {
            if t.is_running() {
                self.say(
                    ToastKind::Error,
                    format!(
                        "the {} is still running: one takeover at a time — o in Nodes shows it",
                        t.describe()
                    ),
                );
                return;
            }
        }
        let t = Takeover::new(queue, old, new, kind, all, self.read_only(), self.now);
        let a = t.plan_request();
        self.takeover = Some(t);
        self.send(vec![a]);
    }

    fn add_picker_key(&mut self, key: KeyEvent) {
        let Some(p) = self.add_picker.as_mut() else {
            return;
        };
        match p.key(&key) {
            PickerKey::Stay => {}
            PickerKey::Cancel => {
                self.add_picker = None;
                self.say(ToastKind::Info, "cancelled — nothing was sent");
            }
            PickerKey::Add(tables) => {
                let worker = p.worker.clone();
                self.add_picker = None;
                self.request(vec![Action::AddTables { worker, tables }]);
            }
        }
    }

    fn boot_key(&mut self, key: KeyEvent) {
        let Some(b) = self.boot.as_mut() else {
            return;
        };
        match b.confirm.key(&key) {
            TypedKey::Stay => {}
            TypedKey::Cancel => {
                self.boot = None;
                self.say(ToastKind::Info, "cancelled — nothing was sent");
            }
            TypedKey::Submit => {
                let a = b.action();
                self.boot = None;
                self.send(vec![a]);
            }
        }
    }

    fn report_key(&mut self, key: KeyEvent) {
        let Some(r) = self.report.as_mut() else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.report = None,
            KeyCode::Char('c') if ctrl => self.report = None,
            KeyCode::Down | KeyCode::Char('j') => r.scroll = r.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => r.scroll = r.scroll.saturating_sub(1),
            KeyCode::PageDown => r.scroll = r.scroll.saturating_add(10),
            KeyCode::PageUp => r.scroll = r.scroll.saturating_sub(10),
            _ => {}
        }
    }

    fn help_key(&mut self, key: KeyEvent) {
        let scroll = self.help.unwrap_or(0);
        self.help = match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::F(1) => None,
            KeyCode::Down | KeyCode::Char('j') => Some(scroll.saturating_add(1)),
            KeyCode::Up | KeyCode::Char('k') => Some(scroll.saturating_sub(1)),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(scroll.saturating_add(10)),
            KeyCode::PageUp => Some(scroll.saturating_sub(10)),
            KeyCode::Home | KeyCode::Char('g') => Some(0),
            _ => Some(scroll),
        };
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.help = None;
        }
    }

    fn input_key(&mut self, key: KeyEvent) {
        let Some(line) = self.input.as_mut() else {
            return;
        };
        let kind = line.kind;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc if kind == InputKind::Prompt => self.cancel_prompt(),
            KeyCode::Char('c') if ctrl && kind == InputKind::Prompt => self.cancel_prompt(),
            KeyCode::Esc => self.close_input(false),
            KeyCode::Char('c') if ctrl => self.close_input(false),
            KeyCode::Enter => match kind {
                InputKind::Command => {
                    let text = line.value().to_string();
                    self.execute(&text);
                }
                InputKind::Filter => self.close_input(true),
                InputKind::Prompt => self.submit_prompt(),
            },
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down
                if kind == InputKind::Prompt => {}
            KeyCode::Tab if kind == InputKind::Command => self.tab(false),
            KeyCode::BackTab if kind == InputKind::Command => self.tab(true),
            KeyCode::Up if kind == InputKind::Command => self.recall(true),
            KeyCode::Down if kind == InputKind::Command => self.recall(false),
            KeyCode::Backspace if line.value().is_empty() && kind != InputKind::Prompt => {
                self.close_input(false)
            }
            _ => {
                line.input.handle_event(&crossterm::event::Event::Key(key));
                line.menu = None;
                self.after_input_edit();
            }
        }
    }

    /// A filter applies as it is typed.
    fn after_input_edit(&mut self) {
        if let Some(line) = &self.input {
            if line.kind == InputKind::Filter {
                let text = line.value().to_string();
                self.set_filter(text);
            }
        }
    }

    fn close_input(&mut self, keep: bool) {
        if let Some(line) = self.input.take() {
            if line.kind == InputKind::Filter && !keep {
                self.set_filter(line.previous);
            }
        }
    }

    pub(crate) fn open_command(&mut self, text: &str, cursor_byte: usize) {
        self.input = Some(InputLine::new(InputKind::Command, text, cursor_byte));
    }

    /// Asks for a value on the input row, `value` prefilled.
    fn open_prompt(&mut self, label: String, what: PromptFor, value: &str) {
        let mut line = InputLine::new(InputKind::Prompt, value, value.len());
        line.prompt = Some(Prompt { label, what });
        self.input = Some(line);
    }

    fn cancel_prompt(&mut self) {
        self.input = None;
        self.say(ToastKind::Info, "cancelled — nothing was sent");
    }

    /// Enter on a prompt: the action it was for goes to the gate.
    fn submit_prompt(&mut self) {
        let Some(line) = self.input.as_ref() else {
            return;
        };
        let Some(prompt) = line.prompt.clone() else {
            self.input = None;
            return;
        };
        let value = line.value().trim().to_string();
        match prompt.what {
            PromptFor::Handler {
                worker,
                table,
                current,
            } => {
                let handler = (!value.is_empty()).then_some(value);
                self.input = None;
                if handler == current {
                    self.say(
                        ToastKind::Info,
                        format!(
                            "the handler of {} is already {} — nothing was sent",
                            quote_name(&table),
                            handler.as_deref().map_or("none".into(), quote_name)
                        ),
                    );
                    return;
                }
                self.request(vec![Action::ChangeHandler {
                    worker,
                    table,
                    handler,
                }]);
            }
            PromptFor::ExecuteSql { worker } => {
                if value.is_empty() {
                    self.say(
                        ToastKind::Error,
                        "type the path of a SQL file (esc cancels)",
                    );
                    return;
                }
                self.input = None;
                self.toast = None;
                self.request(vec![Action::ExecuteSql {
                    worker,
                    path: value,
                }]);
            }
        }
    }

    /// A state-changing key that asks for more first (a picker, a
    /// prompt): refused at once in read-only mode.
    fn refuse_read_only(&mut self, what: &str) -> bool {
        if !self.read_only() {
            return false;
        }
        self.say(
            ToastKind::Error,
            format!("read-only console: refused to {what} — nothing was sent"),
        );
        true
    }

    fn open_filter(&mut self) {
        let current = self.view_filter().to_string();
        let mut line = InputLine::new(InputKind::Filter, &current, current.len());
        line.previous = current;
        self.input = Some(line);
    }

    fn recall(&mut self, older: bool) {
        let Some(line) = self.input.as_mut() else {
            return;
        };
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let pos = match (line.history_pos, older) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(p), true) => Some(p.saturating_sub(1)),
            (Some(p), false) if p >= last => None,
            (Some(p), false) => Some(p + 1),
        };
        line.history_pos = pos;
        let text = pos.map_or(String::new(), |p| self.history[p].clone());
        let len = text.len();
        line.set(text, len);
        line.menu = None;
    }

    /// Tab: complete the word at the cursor; again: cycle the candidates.
    fn tab(&mut self, backwards: bool) {
        let (value, cursor, menu) = match &self.input {
            Some(l) => (l.value().to_string(), l.cursor_byte(), l.menu.clone()),
            None => return,
        };
        if let Some(mut menu) = menu.filter(|m| m.candidates.len() > 1) {
            let n = menu.candidates.len();
            let next = match (menu.selected, backwards) {
                (None, false) => 0,
                (None, true) => n - 1,
                (Some(i), false) => (i + 1) % n,
                (Some(i), true) => (i + n - 1) % n,
            };
            menu.selected = Some(next);
            let insert = menu.candidates[next].insert.clone();
            if let Some(line) = self.input.as_mut() {
                menu.end = line.replace(menu.start, menu.end, &insert);
                line.menu = Some(menu);
            }
            return;
        }
        let comp = {
            let ctx = self.command_context();
            complete(&value, cursor, &ctx)
        };
        let Some(line) = self.input.as_mut() else {
            return;
        };
        match comp.candidates.as_slice() {
            [] => {}
            [one] => {
                let next_is_space = value[cursor..].starts_with(' ');
                let text = if one.space && !next_is_space {
                    format!("{} ", one.insert)
                } else {
                    one.insert.clone()
                };
                line.replace(comp.range.start, comp.range.end, &text);
                line.menu = None;
            }
            _ => {
                let prefix = comp.common_prefix().unwrap_or_default();
                let typed = &value[comp.range.clone()];
                let end = if prefix.len() > typed.len() {
                    line.replace(comp.range.start, comp.range.end, &prefix)
                } else {
                    comp.range.end
                };
                line.menu = Some(Menu {
                    candidates: comp.candidates,
                    selected: None,
                    start: comp.range.start,
                    end,
                });
            }
        }
    }

    /// What the command line knows: the data and the selected queue.
    pub fn command_context(&self) -> Context<'_> {
        let mut ctx = Context::new(&self.snapshot);
        if let Some(q) = self.queues.queue(&self.snapshot) {
            ctx = ctx.with_queue(&q.database, &q.name);
        }
        if let Some(c) = self.nodes.cascade(&self.snapshot) {
            ctx = ctx.with_cascade(&c.queue);
        }
        if let Some(l) = self.tables.node(&self.snapshot) {
            ctx = ctx.with_londiste(&l.node);
        }
        ctx
    }

    fn execute(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            self.close_input(false);
            return;
        }
        if self.history.last().map(String::as_str) != Some(text) {
            self.history.push(text.to_string());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        let parsed = command::parse(text, &self.command_context());
        match parsed {
            Ok(cmd) => {
                self.input = None;
                self.run_command(cmd);
            }
            Err(e) => {
                if let Some(line) = self.input.as_mut() {
                    line.history_pos = None;
                }
                self.say(ToastKind::Error, e.0);
            }
        }
    }

    /// Runs a parsed command (from the command line, or a test).
    pub fn run_command(&mut self, cmd: Command) {
        match cmd {
            Command::Run(actions) => self.request(actions),
            Command::Show(target) => self.show(target),
            Command::Help => self.help = Some(0),
            Command::Version => self.say(
                ToastKind::Info,
                format!("skydeck console {}", env!("CARGO_PKG_VERSION")),
            ),
            Command::Quit => self.ask_quit(),
            Command::Freeze(on) => {
                let on = on.unwrap_or(!self.frozen);
                if on != self.frozen {
                    self.toggle_freeze();
                }
            }
            Command::Theme(t) => {
                self.theme = Theme::new(t);
                self.say(ToastKind::Info, format!("theme {t}"));
            }
            Command::Filter(text) => self.set_filter(text),
            Command::Takeover {
                queue,
                old,
                new,
                kind,
                all,
            } => {
                self.go(ViewId::Nodes);
                let snap = Arc::clone(&self.snapshot);
                self.nodes.select(&snap, &queue, Some(&new));
                self.start_takeover(queue, old, new, kind, all);
            }
        }
    }

    fn show(&mut self, target: Target) {
        match target {
            Target::View(v) => self.go(v),
            Target::Queue { database, queue } => {
                self.go(ViewId::Queues);
                self.queues.pane = Pane::Queues;
                if !self.queues.select_queue(&self.snapshot, &database, &queue) {
                    self.say(
                        ToastKind::Error,
                        format!(
                            "no queue {} in {}",
                            quote_name(&queue),
                            quote_name(&database)
                        ),
                    );
                }
            }
            Target::Consumer {
                database,
                queue,
                consumer,
            } => {
                self.go(ViewId::Queues);
                let snap = Arc::clone(&self.snapshot);
                if !self.queues.select_queue(&snap, &database, &queue)
                    || !self.queues.select_consumer(&snap, &consumer)
                {
                    self.say(
                        ToastKind::Error,
                        format!(
                            "no consumer {} on queue {}",
                            quote_name(&consumer),
                            quote_name(&queue)
                        ),
                    );
                }
            }
            Target::Worker(w) => {
                self.go(ViewId::Workers);
                if !self.workers.select(&self.snapshot, &w) {
                    self.say(ToastKind::Error, format!("no worker {}", quote_name(&w)));
                }
            }
            Target::Table { node, table } => {
                if !self.select_table(&node, table.as_deref()) {
                    self.say(
                        ToastKind::Error,
                        match table {
                            Some(t) => {
                                format!("no table {} on {}", quote_name(&t), quote_name(&node))
                            }
                            None => format!("no Londiste node {}", quote_name(&node)),
                        },
                    );
                }
            }
            Target::Node { queue, node } => {
                self.go(ViewId::Nodes);
                let snap = Arc::clone(&self.snapshot);
                if !self.nodes.select(&snap, &queue, node.as_deref()) {
                    self.say(
                        ToastKind::Error,
                        match node {
                            Some(n) => {
                                format!("no node {} in {}", quote_name(&n), quote_name(&queue))
                            }
                            None => format!("no cascade {}", quote_name(&queue)),
                        },
                    );
                }
            }
        }
    }

    fn go(&mut self, view: ViewId) {
        if view != self.view {
            self.back.push(self.view);
            if self.back.len() > 32 {
                self.back.remove(0);
            }
            self.view = view;
        }
    }

    pub(crate) fn view_filter(&self) -> &str {
        match self.view {
            ViewId::Overview => &self.overview.filter,
            ViewId::Queues => &self.queues.filter,
            ViewId::Workers => &self.workers.filter,
            ViewId::Logs => &self.logs.filter,
            ViewId::Nodes => &self.nodes.filter,
            ViewId::Tables => &self.tables.filter,
            ViewId::Wal => &self.wal.filter,
        }
    }

    /// Sets the focused view's filter and recomputes its rows.
    pub fn set_filter(&mut self, text: String) {
        let s = &self.snapshot;
        match self.view {
            ViewId::Overview => {
                self.overview.filter = text;
                self.overview.rebuild(s);
            }
            ViewId::Queues => {
                self.queues.filter = text;
                self.queues.rebuild(s);
            }
            ViewId::Workers => {
                self.workers.filter = text;
                self.workers.rebuild(s);
            }
            ViewId::Logs => {
                self.logs.filter = text;
                self.logs.rebuild(s);
            }
            ViewId::Nodes => {
                self.nodes.filter = text;
                self.nodes.rebuild(s);
            }
            ViewId::Tables => {
                self.tables.filter = text;
                self.tables.rebuild(s);
            }
            ViewId::Wal => {
                self.wal.filter = text;
                self.wal.rebuild(s);
            }
        }
    }

    fn body(&self) -> Rect {
        render::screen(self.size, self).body
    }

    /// Carries out what a key binding means.
    pub fn apply(&mut self, intent: Intent) {
        let snap = Arc::clone(&self.snapshot);
        let body = self.body();
        match intent {
            Intent::Up
            | Intent::Down
            | Intent::PageUp
            | Intent::PageDown
            | Intent::Top
            | Intent::Bottom => {
                match self.view {
                    ViewId::Overview => self.overview.navigate(intent, &snap, body),
                    ViewId::Queues => self.queues.navigate(&snap, intent, body),
                    ViewId::Workers => self.workers.navigate(&snap, intent, body),
                    ViewId::Logs => self.logs.navigate(intent, body),
                    ViewId::Nodes => self.nodes.navigate(&snap, intent, body),
                    ViewId::Tables => self.tables.navigate(&snap, intent, body),
                    ViewId::Wal => self.wal.navigate(&snap, intent, body),
                };
            }
            Intent::Open => match self.view {
                ViewId::Overview => self.open_alert(),
                ViewId::Queues => {
                    if self
                        .queues
                        .queue(&snap)
                        .is_some_and(|q| !q.consumers.is_empty())
                    {
                        self.queues.pane = Pane::Consumers;
                    }
                }
                ViewId::Nodes => self.nodes.toggle_fold(&snap),
                ViewId::Tables => self.tables.toggle_fold(&snap),
                ViewId::Workers | ViewId::Logs | ViewId::Wal => {}
            },
            Intent::Back => self.go_back(),
            Intent::Help => self.help = Some(0),
            Intent::CommandLine => self.open_command("", 0),
            Intent::Filter => self.open_filter(),
            Intent::View(v) => self.go(v),
            Intent::NextView => self.go(self.view.next()),
            Intent::PrevView => self.go(self.view.prev()),
            Intent::Refresh => {
                self.send(vec![Action::Refresh]);
                self.say(ToastKind::Info, "refresh requested");
            }
            Intent::Faster => self.step_refresh(false),
            Intent::Slower => self.step_refresh(true),
            Intent::Freeze => self.toggle_freeze(),
            Intent::Quit => self.ask_quit(),
            Intent::Tick => {
                if let Some(q) = self.queues.queue(&snap) {
                    self.request(vec![Action::Tick {
                        database: q.database.clone(),
                        queue: q.name.clone(),
                    }]);
                }
            }
            Intent::NewQueue => {
                let db = self
                    .queues
                    .queue(&snap)
                    .map(|q| q.database.clone())
                    .or_else(|| {
                        (snap.databases.len() == 1).then(|| snap.databases[0].name.clone())
                    });
                self.prefill(
                    "create queue ",
                    db.map(|d| format!(" in {}", quote_name(&d))),
                );
            }
            Intent::AlterQueue => {
                if let Some(q) = self.queues.queue(&snap) {
                    let text = format!(
                        "alter queue {} in {} set ",
                        quote_name(&q.name),
                        quote_name(&q.database)
                    );
                    self.prefill(&text, None);
                }
            }
            Intent::RegisterConsumer => {
                if let Some(q) = self.queues.queue(&snap) {
                    let rest =
                        format!(" on {} in {}", quote_name(&q.name), quote_name(&q.database));
                    self.prefill("register consumer ", Some(rest));
                }
            }
            Intent::DropQueue => {
                if let Some(q) = self.queues.queue(&snap) {
                    self.request(vec![Action::DropQueue {
                        database: q.database.clone(),
                        queue: q.name.clone(),
                        force: false,
                    }]);
                }
            }
            Intent::UnregisterConsumer => {
                if let (Some(q), Some(c)) = (self.queues.queue(&snap), self.queues.consumer(&snap))
                {
                    self.request(vec![Action::UnregisterConsumer {
                        database: q.database.clone(),
                        queue: q.name.clone(),
                        consumer: c.name.clone(),
                    }]);
                }
            }
            Intent::Sort => {
                self.queues.sort = self.queues.sort.next();
                self.queues.rebuild(&snap);
                self.queues
                    .nav
                    .scroll_into_view(crate::widgets::table::viewport(
                        crate::views::queues::layout(
                            body,
                            self.queues.pane,
                            self.queues.rows.len(),
                        )
                        .table,
                    ));
                self.say(
                    ToastKind::Info,
                    format!("queues sorted by {}", self.queues.sort.label()),
                );
            }
            Intent::PauseResume => {
                if let Some(w) = self.workers.worker(&snap) {
                    let worker = w.name.clone();
                    let a = if w.state == WorkerState::Paused {
                        Action::ResumeWorker { worker }
                    } else {
                        Action::PauseWorker { worker }
                    };
                    self.request(vec![a]);
                }
            }
            Intent::Restart => {
                if let Some(w) = self.workers.worker(&snap) {
                    self.request(vec![Action::RestartWorker {
                        worker: w.name.clone(),
                    }]);
                }
            }
            Intent::Level => {
                self.logs.cycle_level();
                self.logs.rebuild(&snap);
            }
            Intent::PauseNode => {
                if let Some((c, n)) = self.nodes.node(&snap) {
                    let (queue, node) = (c.queue.clone(), n.name.clone());
                    self.request(vec![if n.paused {
                        Action::ResumeNode { queue, node }
                    } else {
                        Action::PauseNode { queue, node }
                    }]);
                }
            }
            Intent::TagNode => {
                if let Some((c, n)) = self.nodes.node(&snap) {
                    let (queue, node) = (c.queue.clone(), n.name.clone());
                    self.request(vec![if n.dead {
                        Action::TagAlive { queue, node }
                    } else {
                        Action::TagDead { queue, node }
                    }]);
                }
            }
            Intent::DropNode => {
                if let Some((c, n)) = self.nodes.node(&snap) {
                    self.request(vec![Action::DropNode {
                        queue: c.queue.clone(),
                        node: n.name.clone(),
                    }]);
                }
            }
            Intent::ChangeProvider => {
                if let Some((c, n)) = self.nodes.node(&snap) {
                    let head = format!("change provider {} to ", quote_name(&n.name));
                    self.prefill(&head, Some(format!(" on {}", quote_name(&c.queue))));
                }
            }
            Intent::Switchover => self.takeover_from_view(false),
            Intent::Failover => self.takeover_from_view(true),
            Intent::ShowTakeover => {
                if let Some(t) = self.takeover.as_mut() {
                    t.hidden = false;
                }
            }
            Intent::AddTables => self.add_tables(&snap),
            Intent::RemoveTable => {
                if let Some((l, t)) = self.tables.table(&snap) {
                    self.request(vec![Action::RemoveTable {
                        worker: l.worker.clone(),
                        table: t.name.clone(),
                    }]);
                }
            }
            Intent::ResyncTable => {
                if let Some((l, t)) = self.tables.table(&snap) {
                    self.request(vec![Action::ResyncTable {
                        worker: l.worker.clone(),
                        table: t.name.clone(),
                    }]);
                }
            }
            Intent::ChangeHandler => {
                if let Some((l, t)) = self.tables.table(&snap) {
                    let what = format!("change the handler of {}", quote_name(&t.name));
                    if self.refuse_read_only(&what) {
                        return;
                    }
                    let label = format!("handler for {} on {} (empty: none)", t.name, l.node);
                    let current = t.handler.clone();
                    self.open_prompt(
                        label,
                        PromptFor::Handler {
                            worker: l.worker.clone(),
                            table: t.name.clone(),
                            current: current.clone(),
                        },
                        current.as_deref().unwrap_or(""),
                    );
                }
            }
            Intent::ExecuteSql => {
                if let Some(l) = self.tables.node(&snap) {
                    // EXECUTE runs on the root: address it when the deck has it.
                    let target = if l.node_type == Some(NodeType::Root) {
                        l
                    } else {
                        tables_view::root_of(&snap, &l.queue).unwrap_or(l)
                    };
                    let what = format!("execute a SQL file on {}", quote_name(&target.node));
                    if self.refuse_read_only(&what) {
                        return;
                    }
                    let label = format!("SQL file to execute on {} ({})", target.node, l.queue);
                    self.open_prompt(
                        label,
                        PromptFor::ExecuteSql {
                            worker: target.worker.clone(),
                        },
                        "",
                    );
                }
            }
            Intent::CompareTables => {
                if let Some((l, t)) = self.tables.table(&snap) {
                    self.request(vec![Action::CompareTables {
                        worker: l.worker.clone(),
                        tables: vec![t.name.clone()],
                    }]);
                } else if let Some(l) = self.tables.node(&snap) {
                    self.request(vec![Action::CompareTables {
                        worker: l.worker.clone(),
                        tables: Vec::new(),
                    }]);
                }
            }
            Intent::WalBackup
            | Intent::WalSync
            | Intent::WalPause
            | Intent::WalContinue
            | Intent::WalBoot => self.wal_action(&snap, intent),
        }
    }

    /// `b` `s` `p` `c` `P` in the WAL view: the action for the selected
    /// job when it applies to its role and state; else a message saying
    /// why not, and nothing is sent.
    fn wal_action(&mut self, snap: &Snapshot, intent: Intent) {
        let Some(w) = self.wal.job(snap) else {
            return;
        };
        let worker = w.worker.clone();
        let name = quote_name(&worker);
        let (what, verb, role, action) = match intent {
            Intent::WalBackup => (
                "backup now",
                "back up",
                WalRole::Master,
                Action::WalBackup { worker },
            ),
            Intent::WalSync => ("sync", "sync", WalRole::Master, Action::WalSync { worker }),
            Intent::WalPause => (
                "pause replay",
                "pause",
                WalRole::Standby,
                Action::WalPause { worker },
            ),
            Intent::WalContinue => (
                "continue replay",
                "continue",
                WalRole::Standby,
                Action::WalContinue { worker },
            ),
            Intent::WalBoot => (
                "promote (boot)",
                "promote",
                WalRole::Standby,
                Action::WalBoot { worker },
            ),
            _ => return,
        };
        let why_not = if w.role != role {
            Some(format!(
                "{what} is for {}s: {name} is a {}",
                wal_view::role_label(role),
                wal_view::role_label(w.role)
            ))
        } else if w.role == WalRole::Standby && w.source == WalSource::Promoted {
            Some(format!(
                "{name} was promoted: it is out of recovery, there is nothing to {verb}"
            ))
        } else if w.error.is_some() {
            // Its paused state was not read: let the engine answer.
            None
        } else {
            match action {
                Action::WalPause { .. } if w.paused => Some(format!(
                    "replay on {name} is already paused (c continues it)"
                )),
                Action::WalContinue { .. } if !w.paused => {
                    Some(format!("replay on {name} is not paused"))
                }
                _ => None,
            }
        };
        if let Some(why) = why_not {
            self.say(ToastKind::Info, format!("{why} — nothing was sent"));
            return;
        }
        if matches!(action, Action::WalBoot { .. }) {
            // Promoting cannot be undone: the job's name is typed, not y.
            if !self.refuse_read_only(&describe(&action)) {
                self.boot = Some(BootConfirm::new(w));
            }
            return;
        }
        self.request(vec![action]);
    }

    /// `a` in the Tables view: the picker of the node's missing tables.
    fn add_tables(&mut self, snap: &Snapshot) {
        let Some(l) = self.tables.node(snap) else {
            return;
        };
        if self.refuse_read_only(&format!("add tables to {}", quote_name(&l.node))) {
            return;
        }
        if l.missing.is_empty() {
            self.say(
                ToastKind::Info,
                format!(
                    "nothing to add: every table of {} is already on {}",
                    quote_name(&l.queue),
                    quote_name(&l.node)
                ),
            );
            return;
        }
        self.add_picker = Some(AddPicker::new(l));
    }

    /// `s` / `F` in the Nodes view: the selected branch takes over, or a
    /// picker lists the branches that could.
    fn takeover_from_view(&mut self, failover: bool) {
        let snap = Arc::clone(&self.snapshot);
        let Some(c) = self.nodes.cascade(&snap) else {
            return;
        };
        let selected = self.nodes.node(&snap).map(|(_, n)| n);
        let noun = if failover { "failover" } else { "switchover" };
        // The node being replaced.
        let old = match (failover, selected) {
            // A dead or unreachable node selected: that is what fails.
            (true, Some(n)) if n.is_down() => Some(n),
            (true, Some(n)) if n.node_type == Some(NodeType::Branch) => {
                cascade::failover_old(c, &n.name)
            }
            (false, Some(n)) if n.node_type == Some(NodeType::Branch) => {
                cascade::root_of(c, &n.name).filter(|r| r.name != n.name)
            }
            _ => cascade::root(c),
        };
        let Some(old) = old else {
            self.say(
                ToastKind::Error,
                format!(
                    "{}: no root found — nothing to take over",
                    quote_name(&c.queue)
                ),
            );
            return;
        };
        let kind = match (failover, cascade::is_root_like(old)) {
            (false, _) => TakeoverKind::Switchover,
            (true, true) => TakeoverKind::Failover,
            (true, false) => TakeoverKind::FailoverBranch,
        };
        // The selected live branch takes over at once.
        if let Some(n) = selected
            .filter(|n| n.node_type == Some(NodeType::Branch) && !n.is_down() && n.name != old.name)
        {
            self.start_takeover(
                c.queue.clone(),
                old.name.clone(),
                n.name.clone(),
                kind,
                false,
            );
            return;
        }
        // The healthiest first: the picker's default is the safe choice.
        let mut cands = cascade::takeover_candidates(c, &old.name);
        cands.sort_by_key(|n| {
            (
                !cascade::markers(n).is_empty(),
                cascade::behind(c, n).unwrap_or(i64::MAX),
                n.name.clone(),
            )
        });
        let choices: Vec<String> = cands.iter().map(|n| n.name.clone()).collect();
        if choices.is_empty() {
            self.say(
                ToastKind::Error,
                format!(
                    "{noun} of {}: no live branch can take the place of {}",
                    quote_name(&c.queue),
                    quote_name(&old.name)
                ),
            );
            return;
        }
        self.picker = Some(Picker {
            queue: c.queue.clone(),
            kind,
            old: old.name.clone(),
            choices,
            selected: 0,
        });
    }

    /// Opens the command line with `head`, the cursor after it, and
    /// `tail` after the cursor (`create queue | in shop`).
    fn prefill(&mut self, head: &str, tail: Option<String>) {
        if self.read_only() {
            self.say(
                ToastKind::Error,
                format!(
                    "read-only console: refused to {}… — nothing was sent",
                    head.trim_end()
                ),
            );
            return;
        }
        let text = format!("{head}{}", tail.unwrap_or_default());
        self.open_command(&text, head.len());
    }

    fn open_alert(&mut self) {
        let snap = Arc::clone(&self.snapshot);
        let Some(source) = self.overview.alert_source(&snap) else {
            return;
        };
        if let Some(q) = snap.queues.iter().find(|q| q.name == source) {
            self.show(Target::Queue {
                database: q.database.clone(),
                queue: q.name.clone(),
            });
        } else if snap.wal.iter().any(|w| w.worker == source) {
            // A walmgr job: its own view says more than the worker's row.
            self.select_wal(source);
        } else if snap.workers.iter().any(|w| w.name == source) {
            self.show(Target::Worker(source.to_string()));
        } else if let Some(q) = snap
            .queues
            .iter()
            .find(|q| q.consumers.iter().any(|c| c.name == source))
        {
            self.show(Target::Consumer {
                database: q.database.clone(),
                queue: q.name.clone(),
                consumer: source.to_string(),
            });
        } else if let Some((queue, node)) = snap.cascades.iter().find_map(|c| {
            let node = source
                .strip_prefix(c.queue.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(source);
            cascade::node(c, node).map(|n| (c.queue.clone(), n.name.clone()))
        }) {
            self.show(Target::Node {
                queue,
                node: Some(node),
            });
        } else {
            self.say(ToastKind::Info, format!("{source}: shown above"));
        }
    }

    fn go_back(&mut self) {
        if !self.view_filter().is_empty() {
            self.set_filter(String::new());
        } else if self.view == ViewId::Queues && self.queues.pane == Pane::Consumers {
            self.queues.pane = Pane::Queues;
        } else if let Some(v) = self.back.pop() {
            self.view = v;
        }
    }

    fn step_refresh(&mut self, slower: bool) {
        let cur = self.refresh;
        let next = if slower {
            REFRESH_STEPS.iter().copied().find(|&d| d > cur)
        } else {
            REFRESH_STEPS.iter().rev().copied().find(|&d| d < cur)
        };
        match next {
            Some(d) => {
                self.send(vec![Action::SetRefresh(d)]);
                self.say(ToastKind::Info, format!("refresh every {}", period(d)));
            }
            None => self.say(
                ToastKind::Info,
                format!(
                    "refresh every {} (the {})",
                    period(cur),
                    if slower { "slowest" } else { "fastest" }
                ),
            ),
        }
    }

    fn toggle_freeze(&mut self) {
        self.frozen = !self.frozen;
        if self.frozen {
            self.say(
                ToastKind::Info,
                "frozen: the display holds still, data keeps coming (f resumes)",
            );
        } else {
            if let Some(s) = self.held.take() {
                self.snapshot = s;
                self.rebuild();
            }
            self.say(ToastKind::Info, "live again");
        }
    }

    fn ask_quit(&mut self) {
        let hosted: Vec<String> = self.hosted_workers().into_iter().map(quote_name).collect();
        let running = self
            .takeover
            .as_ref()
            .filter(|t| t.is_running())
            .map(Takeover::describe);
        if hosted.is_empty() && running.is_none() {
            self.exit = Some(ExitReason::Quit);
            return;
        }
        if let Some(what) = running {
            self.confirm = Some(Confirm {
                title: "Quit during a takeover?".into(),
                lines: vec![
                    format!("the {what} is still running"),
                    "quit anyway?".into(),
                ],
                notes: vec![
                    "quitting may stop it half-way: the cascade is then left between two roots — wait for it to end".into(),
                ],
                then: Then::Quit,
            });
            return;
        }
        let n = hosted.len();
        let mut lines = vec![format!(
            "stop {n} hosted worker{} and quit?",
            if n == 1 { "" } else { "s" }
        )];
        lines.push(String::new());
        lines.extend(wrap_names(&hosted, 56));
        self.confirm = Some(Confirm {
            title: "Quit skydeck?".into(),
            lines,
            notes: vec![
                "open batches are finished or abandoned cleanly, never half-applied".into(),
            ],
            then: Then::Quit,
        });
    }

    /// The one gate every action passes: read-only refusal, confirmation
    /// for state changes, straight through for the rest. An action that
    /// needs a typed name (boot, takeover) is refused here: only its own
    /// popup sends it.
    pub fn request(&mut self, actions: Vec<Action>) {
        if actions.is_empty() {
            return;
        }
        if !actions.iter().any(Action::changes_state) {
            self.send(actions);
            return;
        }
        if self.read_only() {
            let what = match actions.as_slice() {
                [one] => describe(one),
                many => format!("{} actions ({}, …)", many.len(), describe(&many[0])),
            };
            self.say(
                ToastKind::Error,
                format!("read-only console: refused to {what} — nothing was sent"),
            );
            return;
        }
        if let Some(a) = actions.iter().find(|a| a.needs_typed_confirmation()) {
            // Only its own popup sends it, once the name is typed.
            self.say(
                ToastKind::Error,
                format!(
                    "refused to {}: it is confirmed by typing a name in its own popup, not by y — nothing was sent",
                    describe(a)
                ),
            );
            return;
        }
        self.confirm = Some(self.confirmation(actions));
    }

    fn confirmation(&self, actions: Vec<Action>) -> Confirm {
        const MAX: usize = 12;
        let mut lines: Vec<String> = actions.iter().take(MAX).map(describe).collect();
        if actions.len() > MAX {
            lines.push(format!("… and {} more", actions.len() - MAX));
        }
        let mut notes = Vec::new();
        let snap = &self.snapshot;
        for a in &actions {
            match a {
                Action::DropQueue {
                    database,
                    queue,
                    force: false,
                } => {
                    if let Some(q) = snap
                        .queues
                        .iter()
                        .find(|q| q.database == *database && q.name == *queue)
                    {
                        if !q.consumers.is_empty() {
                            let names: Vec<String> =
                                q.consumers.iter().map(|c| quote_name(&c.name)).collect();
                            notes.push(format!(
                                "{} consumers are registered ({}): PgQ refuses the drop — :drop queue {} force unregisters them",
                                q.consumers.len(),
                                names.join(", "),
                                quote_name(queue)
                            ));
                        }
                    }
                }
                Action::DropQueue { force: true, .. } => {
                    notes.push("its events and consumer positions are lost".into());
                }
                Action::Tick { database, queue } => {
                    if let Some(q) = snap
                        .queues
                        .iter()
                        .find(|q| q.database == *database && q.name == *queue)
                    {
                        match q.ticker {
                            TickerMode::External => notes.push(format!(
                                "{} takes its ticks from its provider: a local tick fails",
                                quote_name(queue)
                            )),
                            TickerMode::Paused => notes.push(format!(
                                "the ticker of {} is paused: a tick fails",
                                quote_name(queue)
                            )),
                            TickerMode::Local => {}
                        }
                    }
                }
                Action::UnregisterConsumer { .. }
                    if !notes.iter().any(|n| n.starts_with("its retry")) =>
                {
                    notes.push("its retry events are deleted too".into());
                }
                Action::PauseNode { queue, node } => {
                    if let Some(c) = cascade::find(snap, queue) {
                        let subs = cascade::subscribers(c, node);
                        if !subs.is_empty() {
                            let names: Vec<String> =
                                subs.iter().map(|n| quote_name(&n.name)).collect();
                            notes.push(format!(
                                "{} read from it: they fall behind until it is resumed ({})",
                                names.len(),
                                names.join(", ")
                            ));
                        }
                    }
                    notes.push("the console waits until the worker acknowledges".into());
                }
                Action::ChangeProvider {
                    queue,
                    node,
                    new_provider,
                } => {
                    if let Some(n) = cascade::find(snap, queue).and_then(|c| cascade::node(c, node))
                    {
                        if let Some(old) = n.provider() {
                            notes.push(format!(
                                "{} stops reading from {}; it is paused while it moves to {}",
                                quote_name(node),
                                quote_name(old),
                                quote_name(new_provider)
                            ));
                        }
                    }
                }
                Action::TagDead { queue, node } => {
                    if let Some(c) = cascade::find(snap, queue) {
                        if let Some(n) = cascade::node(c, node) {
                            if !n.is_down() {
                                notes.push(format!(
                                    "{} answers right now{}: tag dead only a node that is gone",
                                    quote_name(node),
                                    n.lag
                                        .map_or(String::new(), |l| format!(" (lag {})", dur(l)))
                                ));
                            }
                        }
                        let subs = cascade::subscribers(c, node);
                        if !subs.is_empty() {
                            let names: Vec<String> =
                                subs.iter().map(|n| quote_name(&n.name)).collect();
                            notes.push(format!(
                                "its subscribers ({}) need a new provider: failover or change provider",
                                names.join(", ")
                            ));
                        }
                    }
                    notes.push("no live member contacts it any more".into());
                }
                Action::DropNode { queue, node } => {
                    if let Some(c) = cascade::find(snap, queue) {
                        let subs = cascade::subscribers(c, node);
                        if !subs.is_empty() {
                            let names: Vec<String> =
                                subs.iter().map(|n| quote_name(&n.name)).collect();
                            notes.push(format!(
                                "{} still has subscribers ({}): the engine refuses the drop — move them first",
                                quote_name(node),
                                names.join(", ")
                            ));
                        }
                    }
                    notes.push("its queue and positions on that node are dropped".into());
                }
                Action::AddTables { worker, tables } => {
                    if let Some(l) = londiste_node(snap, worker) {
                        notes.push(if l.node_type == Some(NodeType::Root) {
                            format!(
                                "triggers are created on {}: from now on their changes go into {}",
                                if tables.len() == 1 { "it" } else { "them" },
                                quote_name(&l.queue)
                            )
                        } else {
                            format!(
                                "{} emptied and copied from the provider, then replayed (a few copies at a time)",
                                if tables.len() == 1 { "it is" } else { "each is" }
                            )
                        });
                    }
                }
                Action::RemoveTable { worker, table } => {
                    if let Some(l) = londiste_node(snap, worker) {
                        if l.node_type == Some(NodeType::Root) {
                            notes.push(format!(
                                "{} is the root: every node of {} stops replicating it",
                                quote_name(&l.node),
                                quote_name(&l.queue)
                            ));
                        } else {
                            notes.push(
                                "its triggers and replication state go; its rows stay".into(),
                            );
                        }
                        if table_of(l, table).is_some_and(|t| t.merge_state().is_copying()) {
                            notes.push("its copy under way is abandoned".into());
                        }
                    }
                }
                Action::ResyncTable { worker, table } => {
                    if let Some(l) = londiste_node(snap, worker) {
                        if l.node_type == Some(NodeType::Root) {
                            notes.push(format!(
                                "{} is the root: there is no provider to copy from — the engine refuses",
                                quote_name(&l.node)
                            ));
                        } else {
                            notes.push("it is emptied and copied again from the provider; it is not replayed until the copy has caught up".into());
                        }
                        if let Some(t) = table_of(l, table) {
                            if t.merge_state().is_copying() {
                                notes.push("a copy is under way: it starts over".into());
                            }
                        }
                    }
                }
                Action::ChangeHandler { worker, table, .. } => {
                    if let Some(t) = londiste_node(snap, worker).and_then(|l| table_of(l, table)) {
                        notes.push(format!(
                            "now: {}",
                            t.handler.as_deref().unwrap_or("no handler (plain replay)")
                        ));
                    }
                    notes.push("its trigger is created again for the new handler".into());
                }
                Action::ExecuteSql { worker, .. } => {
                    notes.push("one transaction on the root, then on every node as it replays the queue; a file of the same name applied before is skipped".into());
                    if let Some(l) = londiste_node(snap, worker) {
                        if l.node_type != Some(NodeType::Root) {
                            notes.push(format!(
                                "{} is not the root: execute runs on the root only — the engine refuses it here",
                                quote_name(&l.node)
                            ));
                        }
                    }
                }
                Action::WalBackup { worker } => {
                    if let Some(w) = wal_job(snap, worker) {
                        match w.backups.first() {
                            Some(b) => notes.push(format!(
                                "the newest backup, {}, finished {} ({} of data)",
                                quote_name(&b.name),
                                b.age
                                    .map_or_else(|| "at an unknown time".into(), |a| ago(Some(a))),
                                bytes(b.size)
                            )),
                            None => notes.push("it is the first base backup of this master".into()),
                        }
                        if !w.retention.is_empty() {
                            notes.push(format!("retention: {}", w.retention));
                        }
                        if let Some(e) = &w.error {
                            notes.push(format!(
                                "reading this job failed ({}): the backup may fail too",
                                first_line(e)
                            ));
                        }
                    }
                    notes.push(
                        "the master keeps running; the backup reads its whole data directory"
                            .into(),
                    );
                }
                Action::WalSync { worker } => {
                    let at = wal_job(snap, worker)
                        .and_then(|w| w.current_lsn.as_deref())
                        .map_or(String::new(), |l| format!(" (now {l})"));
                    notes.push(format!(
                        "standbys restoring from the archive can then replay up to the current position{at}"
                    ));
                }
                Action::WalPause { worker } => {
                    let streaming =
                        wal_job(snap, worker).is_some_and(|w| w.source == WalSource::Streaming);
                    notes.push(if streaming {
                        "it keeps receiving WAL but stops applying it: its lag grows until c continues".into()
                    } else {
                        "it stops applying WAL: its lag grows until c continues".into()
                    });
                }
                Action::WalContinue { worker } => {
                    if let Some(w) = wal_job(snap, worker) {
                        let mut s = format!(
                            "replay goes on from {}",
                            w.replay_lsn.as_deref().unwrap_or("where it stopped")
                        );
                        if let Some(behind) = wal_view::lag_text(w) {
                            s.push_str(&format!(", {behind}"));
                        }
                        notes.push(s);
                    }
                }
                _ => {}
            }
        }
        Confirm {
            title: confirm_title(&actions),
            lines,
            notes,
            then: Then::Send(actions),
        }
    }

    fn send(&mut self, actions: Vec<Action>) {
        let n = actions.len();
        let first = actions.first().map(describe);
        let mut changed = false;
        for a in actions {
            if let Action::SetRefresh(d) = a {
                self.refresh = d;
            }
            if a.awaits_result() {
                self.pending.push(a.clone());
                changed = true;
            }
            self.outbox.push(a);
        }
        if changed {
            match (n, first) {
                (1, Some(what)) => self.say(ToastKind::Info, format!("sent: {what}")),
                _ => self.say(ToastKind::Info, format!("sent {n} actions")),
            }
        }
    }
}

/// The walmgr job named `worker`.
fn wal_job<'s>(snap: &'s Snapshot, worker: &str) -> Option<&'s WalView> {
    snap.wal.iter().find(|w| w.worker == worker)
}

/// The Londiste node whose worker is `worker`.
fn londiste_node<'s>(snap: &'s Snapshot, worker: &str) -> Option<&'s LondisteView> {
    snap.londiste.iter().find(|l| l.worker == worker)
}

fn table_of<'l>(l: &'l LondisteView, table: &str) -> Option<&'l crate::model::TableView> {
    l.tables.iter().find(|t| t.name == table)
}

/// Names joined by commas into lines of at most `width`.
fn wrap_names(names: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for (i, n) in names.iter().enumerate() {
        let piece = if i + 1 < names.len() {
            format!("{n},")
        } else {
            n.clone()
        };
        if !cur.is_empty() && cur.len() + 1 + piece.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&piece);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}
