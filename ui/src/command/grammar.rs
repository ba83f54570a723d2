//! The command grammar, written once as data: the parser, the completion
//! and the help all read this table, so they cannot disagree.
//!
//! A command is leading keywords (`alter queue`), positional arguments
//! (some optional) and keyword clauses in any order (`in <db>`, `force`,
//! `set a=b, …`), as in qadmin.

use super::lexer::Token;

/// What an argument position holds (and what completes there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Queue,
    QueueOrAll,
    NewQueue,
    Consumer,
    ConsumerOrAll,
    NewConsumer,
    Worker,
    WorkerOrAll,
    Database,
    /// A node of a cascade.
    Node,
    /// A branch that could become the root.
    Branch,
    /// A node another can read from (root or branch).
    Provider,
    /// A cascaded queue.
    Cascade,
    /// A table of a Londiste node.
    Table,
    /// A table a Londiste node could add (its `missing` list), or `*`.
    MissingTable,
    /// A Londiste node (its node or worker name).
    LondisteNode,
    /// A table handler: `bulk`, `'dispatch(period=day)'`.
    Handler,
    /// A file path.
    File,
    /// A `set_queue_config` parameter name.
    Param,
    Value,
    /// `name=value, …` to the end of the line.
    Assignments,
    TickId,
    Period,
    Theme,
    OnOff,
    /// The rest of the line, verbatim.
    Text,
}

impl Slot {
    pub fn describe(self) -> &'static str {
        match self {
            Slot::Queue => "a queue name",
            Slot::QueueOrAll => "a queue name or *",
            Slot::NewQueue => "a name for the new queue",
            Slot::Consumer | Slot::NewConsumer => "a consumer name",
            Slot::ConsumerOrAll => "a consumer name or *",
            Slot::Worker => "a worker name",
            Slot::WorkerOrAll => "a worker name or *",
            Slot::Database => "a database",
            Slot::Node => "a node name",
            Slot::Branch => "a branch node",
            Slot::Provider => "a root or branch node",
            Slot::Cascade => "a cascaded queue",
            Slot::Table => "a table",
            Slot::MissingTable => "a table to add, or *",
            Slot::LondisteNode => "a Londiste node",
            Slot::Handler => "a handler",
            Slot::File => "a file path",
            Slot::Param => "a parameter name",
            Slot::Value => "a value",
            Slot::Assignments => "name=value",
            Slot::TickId => "a tick id",
            Slot::Period => "a period (500ms, 2s, 1m)",
            Slot::Theme => "dark, light or mono",
            Slot::OnOff => "on or off",
            Slot::Text => "text",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub slot: Slot,
    pub optional: bool,
}

const fn req(slot: Slot) -> Arg {
    Arg {
        slot,
        optional: false,
    }
}

const fn opt(slot: Slot) -> Arg {
    Arg {
        slot,
        optional: true,
    }
}

#[derive(Debug)]
pub struct Clause {
    pub word: &'static str,
    pub aliases: &'static [&'static str],
    pub slot: Option<Slot>,
}

impl Clause {
    pub fn is(&self, t: &Token) -> bool {
        t.is_word(self.word) || self.aliases.iter().any(|a| t.is_word(a))
    }
}

const IN_DB: Clause = Clause {
    word: "in",
    aliases: &[],
    slot: Some(Slot::Database),
};

/// `on <queue>`: which cascade (needed when a node name is in several).
const ON_CASCADE: Clause = Clause {
    word: "on",
    aliases: &[],
    slot: Some(Slot::Cascade),
};

/// `on <node>`: which Londiste node (by node or worker name).
const ON_NODE: Clause = Clause {
    word: "on",
    aliases: &[],
    slot: Some(Slot::LondisteNode),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CreateQueue,
    DropQueue,
    AlterQueue,
    SetQueueConfig,
    RegisterConsumer,
    UnregisterConsumer,
    Tick,
    MaintRotate,
    MaintRetry,
    PauseWorker,
    ResumeWorker,
    RestartWorker,
    PauseNode,
    ResumeNode,
    ChangeProvider,
    Switchover,
    Failover,
    TagDead,
    TagAlive,
    DropNode,
    AddTable,
    RemoveTable,
    ResyncTable,
    ChangeHandler,
    Execute,
    Compare,
    ShowQueue,
    ShowConsumer,
    ShowWorker,
    ShowNode,
    ShowCascade,
    ShowTable,
    ShowDatabases,
    ShowLogs,
    ShowHelp,
    ShowVersion,
    Refresh,
    Freeze,
    Filter,
    Theme,
    Help,
    Quit,
}

#[derive(Debug)]
pub struct Spec {
    pub words: &'static [&'static str],
    pub args: &'static [Arg],
    pub clauses: &'static [Clause],
    pub usage: &'static str,
    pub about: &'static str,
    pub kind: Kind,
    /// An alias: parsed, not offered by completion or help.
    pub hidden: bool,
}

impl Spec {
    pub fn name(&self) -> String {
        self.words.join(" ")
    }

    pub fn clause(&self, t: &Token) -> Option<&'static Clause> {
        if t.punct || t.quote.is_some() {
            return None;
        }
        // `clauses` is 'static data; find by word or alias.
        self.clauses.iter().find(|c| c.is(t))
    }

    pub fn changes_state(&self) -> bool {
        matches!(
            self.kind,
            Kind::CreateQueue
                | Kind::DropQueue
                | Kind::AlterQueue
                | Kind::SetQueueConfig
                | Kind::RegisterConsumer
                | Kind::UnregisterConsumer
                | Kind::Tick
                | Kind::MaintRotate
                | Kind::MaintRetry
                | Kind::PauseWorker
                | Kind::ResumeWorker
                | Kind::RestartWorker
                | Kind::PauseNode
                | Kind::ResumeNode
                | Kind::ChangeProvider
                | Kind::Switchover
                | Kind::Failover
                | Kind::TagDead
                | Kind::TagAlive
                | Kind::DropNode
                | Kind::AddTable
                | Kind::RemoveTable
                | Kind::ResyncTable
                | Kind::ChangeHandler
                | Kind::Execute
        )
    }
}

macro_rules! spec {
    ($kind:ident, [$($w:literal),+], [$($a:expr),*], [$($c:expr),*], $usage:literal, $about:literal) => {
        Spec {
            words: &[$($w),+],
            args: &[$($a),*],
            clauses: &[$($c),*],
            usage: $usage,
            about: $about,
            kind: Kind::$kind,
            hidden: false,
        }
    };
}

/// Parameter names `alter queue … set` accepts (qadmin's short names) and
/// the `pgq.set_queue_config` names they stand for.
pub const QUEUE_PARAMS: &[(&str, &str)] = &[
    ("idle_period", "ticker_idle_period"),
    ("max_count", "ticker_max_count"),
    ("max_lag", "ticker_max_lag"),
    ("paused", "ticker_paused"),
    ("rotation_period", "rotation_period"),
    ("external_ticker", "external_ticker"),
];

/// The full name for a short or full parameter name.
pub fn queue_param(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    let n = n.strip_prefix("queue_").unwrap_or(&n);
    QUEUE_PARAMS
        .iter()
        .find(|(short, full)| *short == n || *full == n)
        .map(|(_, full)| *full)
}

pub const SPECS: &[Spec] = &[
    spec!(CreateQueue, ["create", "queue"], [req(Slot::NewQueue)], [IN_DB],
        "create queue <queue> [in <db>]", "create a queue"),
    spec!(DropQueue, ["drop", "queue"], [req(Slot::Queue)],
        [Clause { word: "force", aliases: &[], slot: None }, IN_DB],
        "drop queue <queue> [force] [in <db>]",
        "drop a queue (force: unregister its consumers first)"),
    spec!(AlterQueue, ["alter", "queue"], [req(Slot::QueueOrAll)],
        [IN_DB, Clause { word: "set", aliases: &[], slot: Some(Slot::Assignments) }],
        "alter queue <queue|*> [in <db>] set max_lag='3s', max_count=500, idle_period='1m', paused=0",
        "change ticker settings"),
    spec!(SetQueueConfig, ["set", "queue", "config"],
        [req(Slot::Queue), req(Slot::Param), req(Slot::Value)], [IN_DB],
        "set queue config <queue> <param> <value> [in <db>]",
        "pgq.set_queue_config (ticker_max_lag, rotation_period …)"),
    spec!(RegisterConsumer, ["register", "consumer"], [req(Slot::NewConsumer)],
        [Clause { word: "on", aliases: &[], slot: Some(Slot::Queue) }, IN_DB,
         Clause { word: "at", aliases: &[], slot: Some(Slot::TickId) },
         Clause { word: "copy", aliases: &[], slot: Some(Slot::Consumer) }],
        "register consumer <consumer> [on <queue>] [in <db>]",
        "register a consumer at the queue's last tick"),
    spec!(UnregisterConsumer, ["unregister", "consumer"], [req(Slot::ConsumerOrAll)],
        [Clause { word: "from", aliases: &["on"], slot: Some(Slot::Queue) }, IN_DB],
        "unregister consumer <consumer|*> [from <queue>] [in <db>]",
        "unregister a consumer (its retry events go too)"),
    spec!(Tick, ["tick"], [opt(Slot::QueueOrAll)], [IN_DB],
        "tick [<queue>|*] [in <db>]", "tick now (the selected queue by default)"),
    spec!(MaintRotate, ["maint", "rotate"], [opt(Slot::QueueOrAll)], [IN_DB],
        "maint rotate [<queue>|*] [in <db>]", "rotate event tables that are due"),
    spec!(MaintRetry, ["maint", "retry"], [], [IN_DB],
        "maint retry [in <db>]", "move due retry events back into their queues"),
    spec!(PauseWorker, ["pause", "worker"], [req(Slot::WorkerOrAll)], [],
        "pause worker <worker|*>", "pause a hosted worker"),
    spec!(ResumeWorker, ["resume", "worker"], [req(Slot::WorkerOrAll)], [],
        "resume worker <worker|*>", "resume a paused worker"),
    spec!(RestartWorker, ["restart", "worker"], [req(Slot::Worker)], [],
        "restart worker <worker>", "stop and start a hosted worker"),
    spec!(PauseNode, ["pause", "node"], [req(Slot::Node)], [ON_CASCADE],
        "pause node <node> [on <queue>]", "pause a cascade node's worker (waits for it)"),
    spec!(ResumeNode, ["resume", "node"], [req(Slot::Node)], [ON_CASCADE],
        "resume node <node> [on <queue>]", "resume a paused node worker"),
    spec!(ChangeProvider, ["change", "provider"], [req(Slot::Node)],
        [Clause { word: "to", aliases: &[], slot: Some(Slot::Provider) }, ON_CASCADE],
        "change provider <node> to <provider> [on <queue>]",
        "make a node read from another root or branch"),
    spec!(Switchover, ["switchover", "to"], [req(Slot::Branch)],
        [Clause { word: "all", aliases: &[], slot: None }, ON_CASCADE],
        "switchover to <node> [all] [on <queue>]",
        "make a branch the root: dry run, then type its name (all: every subscriber follows)"),
    spec!(Failover, ["failover", "to"], [req(Slot::Branch)],
        [Clause { word: "from", aliases: &[], slot: Some(Slot::Node) }, ON_CASCADE],
        "failover to <node> [from <dead node>] [on <queue>]",
        "replace a dead root (or branch): dry run, then type `failover <dead node>`"),
    spec!(TagDead, ["tag", "dead"], [req(Slot::Node)], [ON_CASCADE],
        "tag dead <node> [on <queue>]", "mark a node dead on every live member"),
    spec!(TagAlive, ["tag", "alive"], [req(Slot::Node)], [ON_CASCADE],
        "tag alive <node> [on <queue>]", "clear a node's dead mark"),
    spec!(DropNode, ["drop", "node"], [req(Slot::Node)], [ON_CASCADE],
        "drop node <node> [on <queue>]", "remove a node from its cascade (not while it has subscribers)"),
    spec!(AddTable, ["add", "table"], [req(Slot::MissingTable)], [ON_NODE],
        "add table <table|*> [on <node>]",
        "replicate a table on a Londiste node (*: every missing one)"),
    spec!(RemoveTable, ["remove", "table"], [req(Slot::Table)], [ON_NODE],
        "remove table <table> [on <node>]", "stop replicating a table (on the root: everywhere)"),
    spec!(ResyncTable, ["resync", "table"], [req(Slot::Table)], [ON_NODE],
        "resync table <table> [on <node>]", "copy a table again from the provider"),
    spec!(ChangeHandler, ["change", "handler"], [req(Slot::Table)],
        [Clause { word: "to", aliases: &[], slot: Some(Slot::Handler) }, ON_NODE],
        "change handler <table> [to '<handler>'] [on <node>]",
        "set a table's handler, quoted when it has arguments (no to: remove it)"),
    spec!(Execute, ["execute"], [req(Slot::File)], [ON_NODE],
        "execute <file> [on <node>]", "run a SQL file on the root, then on every node through the queue"),
    spec!(Compare, ["compare"], [opt(Slot::Table)], [ON_NODE],
        "compare [<table>] [on <node>]", "compare tables with the provider (read-only; all without a table)"),
    spec!(ShowQueue, ["show", "queue"], [opt(Slot::QueueOrAll)], [IN_DB],
        "show queue [<queue>|*] [in <db>]", "go to the queue"),
    spec!(ShowConsumer, ["show", "consumer"], [opt(Slot::ConsumerOrAll)],
        [Clause { word: "on", aliases: &["from"], slot: Some(Slot::Queue) }, IN_DB],
        "show consumer [<consumer>|*] [on <queue>] [in <db>]", "go to the consumer"),
    spec!(ShowWorker, ["show", "worker"], [opt(Slot::WorkerOrAll)], [],
        "show worker [<worker>|*]", "go to the worker"),
    spec!(ShowNode, ["show", "node"], [opt(Slot::Node)], [ON_CASCADE],
        "show node [<node>] [on <queue>]", "go to the node in the Nodes view"),
    spec!(ShowCascade, ["show", "cascade"], [opt(Slot::Cascade)], [],
        "show cascade [<queue>]", "go to the cascade's tree"),
    spec!(ShowTable, ["show", "table"], [opt(Slot::Table)], [ON_NODE],
        "show table [<table>] [on <node>]", "go to the table in the Tables view"),
    spec!(ShowDatabases, ["show", "databases"], [], [], "show databases", "go to the overview"),
    spec!(ShowLogs, ["show", "logs"], [], [], "show logs", "go to the log"),
    spec!(ShowHelp, ["show", "help"], [], [], "show help", "this help"),
    spec!(ShowVersion, ["show", "version"], [], [], "show version", "skydeck's version"),
    spec!(Refresh, ["refresh"], [opt(Slot::Period)], [],
        "refresh [<period>]", "refresh now, or set the refresh period"),
    spec!(Freeze, ["freeze"], [opt(Slot::OnOff)], [],
        "freeze [on|off]", "hold the display still (data keeps coming)"),
    spec!(Filter, ["filter"], [opt(Slot::Text)], [],
        "filter [<text>]", "filter this view (no text: clear)"),
    spec!(Theme, ["theme"], [req(Slot::Theme)], [], "theme <dark|light|mono>", "switch colours"),
    spec!(Help, ["help"], [], [], "help", "keys and commands"),
    spec!(Quit, ["quit"], [], [], "quit", "stop the hosted workers and quit (asks first)"),
    Spec {
        words: &["exit"],
        args: &[],
        clauses: &[],
        usage: "exit",
        about: "",
        kind: Kind::Quit,
        hidden: true,
    },
    Spec {
        words: &["q"],
        args: &[],
        clauses: &[],
        usage: "q",
        about: "",
        kind: Kind::Quit,
        hidden: true,
    },
    Spec {
        words: &["show", "database"],
        args: &[],
        clauses: &[],
        usage: "show database",
        about: "",
        kind: Kind::ShowDatabases,
        hidden: true,
    },
    Spec {
        words: &["takeover", "to"],
        args: &[req(Slot::Branch)],
        clauses: &[Clause { word: "all", aliases: &[], slot: None }, ON_CASCADE],
        usage: "takeover to <node>",
        about: "",
        kind: Kind::Switchover,
        hidden: true,
    },
    Spec {
        words: &["show", "nodes"],
        args: &[],
        clauses: &[],
        usage: "show nodes",
        about: "",
        kind: Kind::ShowCascade,
        hidden: true,
    },
    Spec {
        words: &["show", "tables"],
        args: &[opt(Slot::Table)],
        clauses: &[ON_NODE],
        usage: "show tables",
        about: "",
        kind: Kind::ShowTable,
        hidden: true,
    },
    Spec {
        words: &["show", "log"],
        args: &[],
        clauses: &[],
        usage: "show log",
        about: "",
        kind: Kind::ShowLogs,
        hidden: true,
    },
];

/// Where the assignments of a `set` clause stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignState {
    /// A name is due (start, or after `,`).
    Name,
    /// `=` is due.
    Eq,
    /// The value is due.
    Value,
    /// A `,` or the end.
    Comma,
}

/// What may come after the words consumed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The positional argument with this index (optional ones may be
    /// skipped for a clause).
    Arg(usize),
    /// The argument of this clause.
    ClauseArg(&'static Clause),
    /// Any unused clause, or the end.
    Clauses,
    Assign(AssignState),
    /// Nothing more.
    Done,
}

impl PartialEq for Clause {
    fn eq(&self, other: &Self) -> bool {
        self.word == other.word
    }
}
impl Eq for Clause {}

/// A command's words matched against the spec, after its keywords.
#[derive(Debug)]
pub struct Walk<'t> {
    pub spec: &'static Spec,
    pub args: Vec<Option<&'t Token>>,
    pub clauses: Vec<(&'static Clause, Option<&'t Token>)>,
    pub assignments: Vec<(String, String)>,
    pub rest: Option<String>,
    pub next: Next,
}

impl<'t> Walk<'t> {
    pub fn arg(&self, i: usize) -> Option<&'t Token> {
        self.args.get(i).copied().flatten()
    }

    pub fn has(&self, word: &str) -> bool {
        self.clauses.iter().any(|(c, _)| c.word == word)
    }

    pub fn clause(&self, word: &str) -> Option<&'t Token> {
        self.clauses
            .iter()
            .find(|(c, _)| c.word == word)
            .and_then(|(_, t)| *t)
    }

    pub fn used(&self, c: &Clause) -> bool {
        self.clauses.iter().any(|(u, _)| u.word == c.word)
    }
}

/// Walks the words after a spec's keywords. `input` is the whole line
/// (for `Text`, which takes the rest verbatim). Errors are plain
/// messages; the caller names the command.
pub fn walk<'t>(spec: &'static Spec, toks: &'t [Token], input: &str) -> Result<Walk<'t>, String> {
    let mut w = Walk {
        spec,
        args: Vec::new(),
        clauses: Vec::new(),
        assignments: Vec::new(),
        rest: None,
        next: Next::Clauses,
    };
    let mut i = 0;
    loop {
        if w.args.len() < spec.args.len() {
            let ai = w.args.len();
            let arg = spec.args[ai];
            let Some(t) = toks.get(i) else {
                w.next = Next::Arg(ai);
                return Ok(w);
            };
            if t.is_punct(";") {
                i += 1;
                continue;
            }
            if arg.slot == Slot::Text {
                let rest = input[t.start..].trim().trim_end_matches(';').trim_end();
                w.rest = Some(rest.to_string());
                w.args.push(Some(t));
                w.next = Next::Done;
                return Ok(w);
            }
            if arg.optional && spec.clause(t).is_some() {
                w.args.push(None);
                continue;
            }
            if t.punct {
                if arg.slot == Slot::Value && t.is_punct("=") {
                    i += 1;
                    continue;
                }
                return Err(format!(
                    "expected {}, found '{}'",
                    arg.slot.describe(),
                    t.text
                ));
            }
            w.args.push(Some(t));
            i += 1;
            continue;
        }
        let Some(t) = toks.get(i) else {
            w.next = Next::Clauses;
            return Ok(w);
        };
        if t.is_punct(";") {
            i += 1;
            continue;
        }
        let Some(cl) = spec.clause(t) else {
            let free: Vec<&str> = spec
                .clauses
                .iter()
                .filter(|c| !w.used(c))
                .map(|c| c.word)
                .collect();
            return Err(if free.is_empty() {
                format!("unexpected '{}'", t.text)
            } else {
                format!("unexpected '{}' (expected {})", t.text, free.join(", "))
            });
        };
        if w.used(cl) {
            return Err(format!("'{}' given twice", cl.word));
        }
        i += 1;
        match cl.slot {
            None => w.clauses.push((cl, None)),
            Some(Slot::Assignments) => {
                w.clauses.push((cl, None));
                let state = assignments(&toks[i..], &mut w.assignments)?;
                w.next = Next::Assign(state);
                return Ok(w);
            }
            Some(slot) => match toks.get(i) {
                None => {
                    w.next = Next::ClauseArg(cl);
                    return Ok(w);
                }
                Some(a) if a.punct => {
                    return Err(format!(
                        "expected {} after '{}', found '{}'",
                        slot.describe(),
                        cl.word,
                        a.text
                    ))
                }
                Some(a) => {
                    w.clauses.push((cl, Some(a)));
                    i += 1;
                }
            },
        }
    }
}

fn assignments(toks: &[Token], out: &mut Vec<(String, String)>) -> Result<AssignState, String> {
    let mut state = AssignState::Name;
    let mut name = String::new();
    for t in toks {
        if t.is_punct(";") {
            continue;
        }
        state = match state {
            AssignState::Name if t.is_value() => {
                name = t.text.clone();
                AssignState::Eq
            }
            AssignState::Eq if t.is_punct("=") => AssignState::Value,
            AssignState::Value if t.is_value() => {
                out.push((std::mem::take(&mut name), t.text.clone()));
                AssignState::Comma
            }
            AssignState::Comma if t.is_punct(",") => AssignState::Name,
            AssignState::Name => return Err(format!("expected name=value, found '{}'", t.text)),
            AssignState::Eq => {
                return Err(format!("expected '=' after '{name}', found '{}'", t.text))
            }
            AssignState::Value => {
                return Err(format!("expected a value for '{name}', found '{}'", t.text))
            }
            AssignState::Comma => {
                return Err(format!("expected ',' between settings, found '{}'", t.text))
            }
        };
    }
    Ok(state)
}

/// The specs whose keywords the tokens start with, longest first; and how
/// many tokens the keywords took.
pub fn matching(toks: &[Token]) -> Vec<&'static Spec> {
    let mut found: Vec<&'static Spec> = SPECS
        .iter()
        .filter(|s| {
            s.words.len() <= toks.len() && s.words.iter().zip(toks).all(|(w, t)| t.is_word(w))
        })
        .collect();
    found.sort_by_key(|s| std::cmp::Reverse(s.words.len()));
    found
}
