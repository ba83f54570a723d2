//! Key bindings. Each focused component lists its own [`Binding`]s; the
//! same list dispatches keys and draws the key-hint bar and the help, so
//! hints never drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::views::ViewId;

/// A key as a binding names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub const fn ch(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: false,
        }
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    pub const fn code(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    /// Whether a terminal key event is this key. Shift is part of the
    /// character (`G`, `?`, `+`), so it is ignored for characters.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.kind == KeyEventKind::Release {
            return false;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        if alt || ctrl != self.ctrl {
            return false;
        }
        match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) if self.ctrl => a.eq_ignore_ascii_case(&b),
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
            (a, b) => a == b,
        }
    }
}

/// What a key does. Views interpret the movement intents for their
/// focused table; the rest are handled by the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Open what is selected (an alert's source, a queue's consumers).
    Open,
    /// Back to the previous pane or view; clears a filter first.
    Back,
    Help,
    CommandLine,
    Filter,
    View(ViewId),
    NextView,
    PrevView,
    Refresh,
    Faster,
    Slower,
    Freeze,
    Quit,
    // Queues
    Tick,
    NewQueue,
    DropQueue,
    AlterQueue,
    RegisterConsumer,
    UnregisterConsumer,
    Sort,
    // Workers
    PauseResume,
    Restart,
    // Logs
    Level,
    // Nodes
    /// Pause or resume the selected node's worker.
    PauseNode,
    /// Prefill `change provider <node> to …`.
    ChangeProvider,
    /// Switchover: the selected branch becomes the root (or pick one).
    Switchover,
    /// Failover from a dead root or branch.
    Failover,
    /// Tag the selected node dead, or alive again.
    TagNode,
    DropNode,
    /// Show the takeover popup again (it was hidden while running).
    ShowTakeover,
    // Tables
    /// Open the picker of the node's missing tables.
    AddTables,
    RemoveTable,
    ResyncTable,
    /// Ask for the selected table's new handler.
    ChangeHandler,
    /// Ask for the path of a SQL file to execute.
    ExecuteSql,
    /// Compare the selected table (or, on a node, every table).
    CompareTables,
    // WAL
    /// Take a base backup of the selected master.
    WalBackup,
    /// Copy the selected master's partial segment to the archive.
    WalSync,
    /// Pause replay on the selected standby.
    WalPause,
    /// Continue replay on the selected standby.
    WalContinue,
    /// Promote the selected standby (a typed confirmation first).
    WalBoot,
}

/// One entry of a component's key list.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in hints: `t`, `↑↓`, `enter`.
    pub label: &'static str,
    /// What it does, in two or three words.
    pub hint: &'static str,
    pub intent: Intent,
    /// Shown in the key-hint bar (all bindings are in the help).
    pub bar: bool,
    /// Leads to a state-changing action (refused in read-only mode).
    pub changes_state: bool,
}

impl Binding {
    pub const fn new(
        keys: &'static [Key],
        label: &'static str,
        hint: &'static str,
        intent: Intent,
    ) -> Binding {
        Binding {
            keys,
            label,
            hint,
            intent,
            bar: true,
            changes_state: false,
        }
    }

    /// Listed in the help only.
    pub const fn help_only(mut self) -> Binding {
        self.bar = false;
        self
    }

    pub const fn changing(mut self) -> Binding {
        self.changes_state = true;
        self
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(ev))
    }
}

pub(crate) const UP: &[Key] = &[Key::code(KeyCode::Up), Key::ch('k')];
pub(crate) const DOWN: &[Key] = &[Key::code(KeyCode::Down), Key::ch('j')];
pub(crate) const PAGE_UP: &[Key] = &[Key::code(KeyCode::PageUp), Key::ctrl('b')];
pub(crate) const PAGE_DOWN: &[Key] = &[Key::code(KeyCode::PageDown), Key::ctrl('f')];
pub(crate) const TOP: &[Key] = &[Key::code(KeyCode::Home), Key::ch('g')];
pub(crate) const BOTTOM: &[Key] = &[Key::code(KeyCode::End), Key::ch('G')];
pub(crate) const ESC: &[Key] = &[Key::code(KeyCode::Esc)];

/// Movement keys every table has (one hint for the arrows).
pub(crate) fn movement(out: &mut Vec<Binding>) {
    out.push(Binding::new(UP, "↑↓", "move", Intent::Up));
    out.push(Binding::new(DOWN, "j/k", "move", Intent::Down).help_only());
    out.push(Binding::new(PAGE_UP, "pgup", "page up", Intent::PageUp).help_only());
    out.push(Binding::new(PAGE_DOWN, "pgdn", "page down", Intent::PageDown).help_only());
    out.push(Binding::new(TOP, "g/home", "first", Intent::Top).help_only());
    out.push(Binding::new(BOTTOM, "G/end", "last", Intent::Bottom).help_only());
}

/// Keys that work in every view, after the view's own.
pub(crate) fn global(out: &mut Vec<Binding>, can_go_back: bool) {
    if can_go_back {
        out.push(Binding::new(ESC, "esc", "back", Intent::Back));
    }
    out.push(Binding::new(
        key_set![Key::ch('/')],
        "/",
        "filter",
        Intent::Filter,
    ));
    out.push(Binding::new(
        key_set![Key::ch(':')],
        ":",
        "command",
        Intent::CommandLine,
    ));
    for v in crate::views::VIEWS {
        let keys = std::slice::from_ref(&v.key);
        out.push(Binding::new(keys, v.key_label, v.title, Intent::View(v.id)).help_only());
    }
    out.push(
        Binding::new(
            key_set![Key::code(KeyCode::Tab)],
            "tab",
            "next view",
            Intent::NextView,
        )
        .help_only(),
    );
    out.push(
        Binding::new(
            key_set![Key::code(KeyCode::BackTab)],
            "shift-tab",
            "previous view",
            Intent::PrevView,
        )
        .help_only(),
    );
    out.push(
        Binding::new(
            key_set![Key::ch('r'), Key::ctrl('r')],
            "r",
            "refresh",
            Intent::Refresh,
        )
        .help_only(),
    );
    out.push(
        Binding::new(
            key_set![Key::ch('+'), Key::ch('=')],
            "+",
            "refresh slower",
            Intent::Slower,
        )
        .help_only(),
    );
    out.push(
        Binding::new(
            key_set![Key::ch('-')],
            "-",
            "refresh faster",
            Intent::Faster,
        )
        .help_only(),
    );
    out.push(Binding::new(
        key_set![Key::ch('f'), Key::ch(' ')],
        "f",
        "freeze",
        Intent::Freeze,
    ));
    out.push(Binding::new(
        key_set![Key::ch('?'), Key::code(KeyCode::F(1))],
        "?",
        "help",
        Intent::Help,
    ));
    out.push(Binding::new(
        key_set![Key::ch('q'), Key::ctrl('c')],
        "q",
        "quit",
        Intent::Quit,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn matching() {
        assert!(Key::ch('G').matches(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert!(!Key::ch('g').matches(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert!(Key::ctrl('r').matches(&ev(KeyCode::Char('r'), KeyModifiers::CONTROL)));
        assert!(!Key::ch('r').matches(&ev(KeyCode::Char('r'), KeyModifiers::CONTROL)));
        assert!(!Key::ch('r').matches(&ev(KeyCode::Char('r'), KeyModifiers::ALT)));
        assert!(Key::code(KeyCode::BackTab).matches(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)));
    }

    #[test]
    fn global_keys_are_distinct() {
        let mut b = Vec::new();
        movement(&mut b);
        global(&mut b, true);
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                for k in x.keys {
                    assert!(
                        !y.keys.contains(k),
                        "{k:?} bound twice ({} / {})",
                        x.hint,
                        y.hint
                    );
                }
            }
        }
    }
}
