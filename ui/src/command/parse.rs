//! Turns a command line into a [`Command`]: actions for the engine, or
//! something the console does itself (navigate, filter, freeze …).

use std::fmt;
use std::time::Duration;

use super::grammar::{self, queue_param, walk, AssignState, Kind, Next, Slot, Walk, SPECS};
use super::lexer::{lex, Token};
use super::Context;
use crate::cascade;
use crate::fmt::{parse_period, quote_name};
use crate::model::{
    Action, CascadeView, LondisteView, NodeType, NodeView, TableView, TakeoverKind, TickerMode,
    WorkerState,
};
use crate::theme::ThemeName;
use crate::views::{ViewId, VIEWS};

/// Refresh periods the console accepts.
pub const MIN_REFRESH: Duration = Duration::from_millis(100);
pub const MAX_REFRESH: Duration = Duration::from_secs(3600);

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Actions for the engine. State-changing ones go through the
    /// confirmation popup (and are refused in read-only mode).
    Run(Vec<Action>),
    /// Navigate.
    Show(Target),
    Help,
    Version,
    Quit,
    /// `None` toggles.
    Freeze(Option<bool>),
    Theme(ThemeName),
    /// Filter the current view; empty clears.
    Filter(String),
    /// Start a switchover or failover: the console asks the engine for the
    /// dry run ([`Action::TakeoverPlan`]) and shows it; the takeover runs
    /// only after the operator has typed the confirmation.
    Takeover {
        queue: String,
        old: String,
        new: String,
        kind: TakeoverKind,
        all: bool,
    },
}

/// Where `show …` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    View(ViewId),
    Queue {
        database: String,
        queue: String,
    },
    Consumer {
        database: String,
        queue: String,
        consumer: String,
    },
    Worker(String),
    /// A node in the Nodes view; `node: None`: the cascade's header.
    Node {
        queue: String,
        node: Option<String>,
    },
    /// A table of a Londiste node in the Tables view (its node name);
    /// `table: None`: the node's header.
    Table {
        node: String,
        table: Option<String>,
    },
}

/// A command line that cannot run, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub String);

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

type Result<T> = std::result::Result<T, CommandError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(CommandError(msg.into()))
}

/// Parses one command line against the current snapshot.
pub fn parse(input: &str, ctx: &Context<'_>) -> Result<Command> {
    let toks: Vec<Token> = lex(input)
        .into_iter()
        .filter(|t| !t.is_punct(";"))
        .collect();
    let Some(first) = toks.first() else {
        return err("empty command");
    };
    if let Some(t) = toks.iter().find(|t| t.quote.is_some() && !t.closed) {
        return err(format!(
            "unterminated quote: {}{}",
            t.quote.unwrap_or('"'),
            t.text
        ));
    }
    if toks.len() == 1 && first.quote.is_none() {
        if let Some(view) = ViewId::from_name(&first.text) {
            return Ok(Command::Show(Target::View(view)));
        }
    }
    let Some(spec) = grammar::matching(&toks).into_iter().next() else {
        return Err(no_such_command(&toks));
    };
    let name = spec.name();
    let w = walk(spec, &toks[spec.words.len()..], input)
        .map_err(|e| CommandError(format!("{name}: {e} — usage: {}", spec.usage)))?;
    finish(&w).map_err(|e| CommandError(format!("{name}: {e} — usage: {}", spec.usage)))?;
    build(&w, ctx).map_err(|e| CommandError(format!("{name}: {}", e.0)))
}

/// Why no spec matched: an unknown first word, or a known one followed by
/// something else.
fn no_such_command(toks: &[Token]) -> CommandError {
    let mut depth = 0;
    let mut next: Vec<&str> = Vec::new();
    for spec in SPECS.iter().filter(|s| !s.hidden) {
        let k = spec
            .words
            .iter()
            .zip(toks)
            .take_while(|(w, t)| t.is_word(w))
            .count();
        if k > depth {
            depth = k;
            next.clear();
        }
        if k == depth && k > 0 && k < spec.words.len() && !next.contains(&spec.words[k]) {
            next.push(spec.words[k]);
        }
    }
    if depth == 0 {
        let views: Vec<&str> = VIEWS.iter().map(|v| v.name).collect();
        return CommandError(format!(
            "unknown command '{}' — `help` lists the commands; views: {}",
            toks[0].text,
            views.join(", ")
        ));
    }
    let said: Vec<&str> = toks[..depth].iter().map(|t| t.text.as_str()).collect();
    let said = said.join(" ");
    match toks.get(depth) {
        Some(t) => CommandError(format!(
            "{said}: expected {}, found '{}'",
            one_of(&next),
            t.text
        )),
        None => CommandError(format!("{said}: expected {}", one_of(&next))),
    }
}

fn one_of(words: &[&str]) -> String {
    match words {
        [] => "nothing more".into(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Checks that nothing required is missing at the end of the line.
fn finish(w: &Walk<'_>) -> std::result::Result<(), String> {
    match w.next {
        Next::Arg(i) => match w.spec.args[i..].iter().find(|a| !a.optional) {
            Some(a) => Err(format!("expected {}", a.slot.describe())),
            None => Ok(()),
        },
        Next::ClauseArg(c) => Err(format!(
            "expected {} after '{}'",
            c.slot.map_or("a value", Slot::describe),
            c.word
        )),
        Next::Assign(AssignState::Name) if w.assignments.is_empty() => {
            Err("expected name=value after 'set'".into())
        }
        Next::Assign(AssignState::Name) => Err("expected name=value after ','".into()),
        Next::Assign(AssignState::Eq | AssignState::Value) => Err("expected name=value".into()),
        Next::Assign(AssignState::Comma) | Next::Clauses | Next::Done => Ok(()),
    }
}

fn build(w: &Walk<'_>, ctx: &Context<'_>) -> Result<Command> {
    let text = |t: Option<&Token>| t.map(|t| t.text.clone());
    let is_all = |t: Option<&Token>| t.is_some_and(|t| t.quote.is_none() && t.text == "*");
    let db = ctx.database_arg(w.clause("in"))?;
    match w.spec.kind {
        Kind::CreateQueue => {
            let queue = text(w.arg(0)).unwrap_or_default();
            let database = match db {
                Some(d) => d,
                None => ctx.default_database()?,
            };
            Ok(Command::Run(vec![Action::CreateQueue { database, queue }]))
        }
        Kind::DropQueue => {
            let queue = text(w.arg(0)).unwrap_or_default();
            let database = ctx.queue_database(&queue, db.as_deref())?;
            Ok(Command::Run(vec![Action::DropQueue {
                database,
                queue,
                force: w.has("force"),
            }]))
        }
        Kind::AlterQueue => {
            if !w.has("set") {
                return err("nothing to change: add set max_lag='3s', … (idle_period, max_count, max_lag, paused, rotation_period, external_ticker)");
            }
            let mut params = Vec::new();
            for (name, value) in &w.assignments {
                let Some(param) = queue_param(name) else {
                    return Err(unknown_param(name));
                };
                params.push((param, value.clone()));
            }
            let queues = if is_all(w.arg(0)) {
                ctx.all_queues(db.as_deref())?
            } else {
                let queue = text(w.arg(0)).unwrap_or_default();
                vec![(ctx.queue_database(&queue, db.as_deref())?, queue)]
            };
            let mut actions = Vec::new();
            for (database, queue) in queues {
                for (param, value) in &params {
                    actions.push(Action::SetQueueConfig {
                        database: database.clone(),
                        queue: queue.clone(),
                        param: param.to_string(),
                        value: value.clone(),
                    });
                }
            }
            Ok(Command::Run(actions))
        }
        Kind::SetQueueConfig => {
            let queue = text(w.arg(0)).unwrap_or_default();
            let name = text(w.arg(1)).unwrap_or_default();
            let Some(param) = queue_param(&name) else {
                return Err(unknown_param(&name));
            };
            let database = ctx.queue_database(&queue, db.as_deref())?;
            Ok(Command::Run(vec![Action::SetQueueConfig {
                database,
                queue,
                param: param.to_string(),
                value: text(w.arg(2)).unwrap_or_default(),
            }]))
        }
        Kind::RegisterConsumer => {
            if w.has("at") || w.has("copy") {
                return err("'at <tick>' and 'copy <consumer>' are not supported by the console; it registers at the queue's last tick");
            }
            let consumer = text(w.arg(0)).unwrap_or_default();
            let (database, queue) = match w.clause("on") {
                Some(q) => (ctx.queue_database(&q.text, db.as_deref())?, q.text.clone()),
                None => ctx.current_queue(db.as_deref()).ok_or_else(|| {
                    CommandError(format!(
                        "which queue? add on <queue>: register consumer {} on <queue>",
                        quote_name(&consumer)
                    ))
                })?,
            };
            Ok(Command::Run(vec![Action::RegisterConsumer {
                database,
                queue,
                consumer,
            }]))
        }
        Kind::UnregisterConsumer => {
            let queue = w.clause("from").map(|t| t.text.clone());
            if is_all(w.arg(0)) {
                let (database, queue) = match queue {
                    Some(q) => (ctx.queue_database(&q, db.as_deref())?, q),
                    None => ctx.current_queue(db.as_deref()).ok_or_else(|| {
                        CommandError(
                            "which queue? add from <queue>: unregister consumer * from <queue>"
                                .into(),
                        )
                    })?,
                };
                let consumers = ctx.consumers_of(&database, &queue);
                if consumers.is_empty() {
                    return err(format!(
                        "queue {} in {} has no consumers",
                        quote_name(&queue),
                        quote_name(&database)
                    ));
                }
                return Ok(Command::Run(
                    consumers
                        .into_iter()
                        .map(|consumer| Action::UnregisterConsumer {
                            database: database.clone(),
                            queue: queue.clone(),
                            consumer,
                        })
                        .collect(),
                ));
            }
            let consumer = text(w.arg(0)).unwrap_or_default();
            let (database, queue) = match queue {
                Some(q) => (ctx.queue_database(&q, db.as_deref())?, q),
                None => ctx.consumer_queue(&consumer, db.as_deref())?,
            };
            Ok(Command::Run(vec![Action::UnregisterConsumer {
                database,
                queue,
                consumer,
            }]))
        }
        Kind::Tick => {
            let queues = if is_all(w.arg(0)) {
                let all: Vec<(String, String)> = ctx
                    .snapshot
                    .queues
                    .iter()
                    .filter(|q| q.ticker == TickerMode::Local)
                    .filter(|q| db.as_deref().is_none_or(|d| q.database == d))
                    .map(|q| (q.database.clone(), q.name.clone()))
                    .collect();
                if all.is_empty() {
                    return err("no locally ticked queues to tick");
                }
                all
            } else if let Some(q) = w.arg(0) {
                vec![(ctx.queue_database(&q.text, db.as_deref())?, q.text.clone())]
            } else {
                vec![ctx.current_queue(db.as_deref()).ok_or_else(|| {
                    CommandError(
                        "which queue? select one in the Queues view, or: tick <queue>".into(),
                    )
                })?]
            };
            Ok(Command::Run(
                queues
                    .into_iter()
                    .map(|(database, queue)| Action::Tick { database, queue })
                    .collect(),
            ))
        }
        Kind::MaintRotate => {
            if let Some(q) = w.arg(0).filter(|_| !is_all(w.arg(0))) {
                let database = ctx.queue_database(&q.text, db.as_deref())?;
                return Ok(Command::Run(vec![Action::Rotate {
                    database,
                    queue: Some(q.text.clone()),
                }]));
            }
            let dbs = ctx.databases(db)?;
            Ok(Command::Run(
                dbs.into_iter()
                    .map(|database| Action::Rotate {
                        database,
                        queue: None,
                    })
                    .collect(),
            ))
        }
        Kind::MaintRetry => Ok(Command::Run(
            ctx.databases(db)?
                .into_iter()
                .map(|database| Action::RetryMaint { database })
                .collect(),
        )),
        Kind::PauseWorker | Kind::ResumeWorker | Kind::RestartWorker => {
            let kind = w.spec.kind;
            let workers: Vec<String> = if is_all(w.arg(0)) {
                let ws: Vec<String> = ctx
                    .snapshot
                    .workers
                    .iter()
                    .filter(|x| match kind {
                        Kind::PauseWorker => !matches!(
                            x.state,
                            WorkerState::Paused | WorkerState::Stopped | WorkerState::Failed
                        ),
                        _ => x.state == WorkerState::Paused,
                    })
                    .map(|x| x.name.clone())
                    .collect();
                if ws.is_empty() {
                    return err(match kind {
                        Kind::PauseWorker => "no running workers to pause",
                        _ => "no paused workers to resume",
                    });
                }
                ws
            } else {
                vec![ctx.worker(&text(w.arg(0)).unwrap_or_default())?]
            };
            Ok(Command::Run(
                workers
                    .into_iter()
                    .map(|worker| match kind {
                        Kind::PauseWorker => Action::PauseWorker { worker },
                        Kind::ResumeWorker => Action::ResumeWorker { worker },
                        _ => Action::RestartWorker { worker },
                    })
                    .collect(),
            ))
        }
        Kind::PauseNode | Kind::ResumeNode | Kind::TagDead | Kind::TagAlive | Kind::DropNode => {
            let name = text(w.arg(0)).unwrap_or_default();
            let (c, n) = ctx.node(&name, w.clause("on").map(|t| t.text.as_str()))?;
            let queue = c.queue.clone();
            let node = n.name.clone();
            let action = match w.spec.kind {
                Kind::PauseNode => {
                    if n.worker.is_none() {
                        return err(format!(
                            "node {} of {} has no worker to pause",
                            quote_name(&node),
                            quote_name(&queue)
                        ));
                    }
                    Action::PauseNode { queue, node }
                }
                Kind::ResumeNode => Action::ResumeNode { queue, node },
                Kind::TagDead => Action::TagDead { queue, node },
                Kind::TagAlive => Action::TagAlive { queue, node },
                _ => Action::DropNode { queue, node },
            };
            Ok(Command::Run(vec![action]))
        }
        Kind::ChangeProvider => {
            let name = text(w.arg(0)).unwrap_or_default();
            let (c, n) = ctx.node(&name, w.clause("on").map(|t| t.text.as_str()))?;
            let Some(to) = w.clause("to") else {
                return err(format!(
                    "to which provider? change provider {} to <node> (roots and branches of {}: {})",
                    quote_name(&n.name),
                    quote_name(&c.queue),
                    list(providers(c, &n.name).into_iter())
                ));
            };
            let p = check_provider(c, n, &to.text)?;
            Ok(Command::Run(vec![Action::ChangeProvider {
                queue: c.queue.clone(),
                node: n.name.clone(),
                new_provider: p,
            }]))
        }
        Kind::Switchover => {
            let name = text(w.arg(0)).unwrap_or_default();
            let (c, n) = ctx.node(&name, w.clause("on").map(|t| t.text.as_str()))?;
            new_root_check(c, n)?;
            let old = cascade::root_of(c, &n.name)
                .filter(|r| r.name != n.name)
                .ok_or_else(|| {
                    CommandError(format!(
                        "{} reads from no one: which root should it replace?",
                        quote_name(&n.name)
                    ))
                })?;
            Ok(Command::Takeover {
                queue: c.queue.clone(),
                old: old.name.clone(),
                new: n.name.clone(),
                kind: TakeoverKind::Switchover,
                all: w.has("all"),
            })
        }
        Kind::Failover => {
            let name = text(w.arg(0)).unwrap_or_default();
            let (c, n) = ctx.node(&name, w.clause("on").map(|t| t.text.as_str()))?;
            new_root_check(c, n)?;
            let old = match w.clause("from") {
                Some(t) => cascade::node(c, &t.text).ok_or_else(|| {
                    CommandError(format!(
                        "no node {} in {} ({})",
                        quote_name(&t.text),
                        quote_name(&c.queue),
                        list(c.nodes.iter().map(|n| n.name.as_str()))
                    ))
                })?,
                None => cascade::failover_old(c, &n.name).ok_or_else(|| {
                    CommandError(format!(
                        "{} reads from no one: which dead node should it replace? add from <node>",
                        quote_name(&n.name)
                    ))
                })?,
            };
            if old.name == n.name {
                return err(format!("{} cannot take its own place", quote_name(&n.name)));
            }
            let kind = if cascade::is_root_like(old) {
                TakeoverKind::Failover
            } else {
                TakeoverKind::FailoverBranch
            };
            Ok(Command::Takeover {
                queue: c.queue.clone(),
                old: old.name.clone(),
                new: n.name.clone(),
                kind,
                all: true,
            })
        }
        Kind::ShowNode => match w.arg(0) {
            None => Ok(Command::Show(Target::View(ViewId::Nodes))),
            Some(t) => {
                let (c, n) = ctx.node(&t.text, w.clause("on").map(|t| t.text.as_str()))?;
                Ok(Command::Show(Target::Node {
                    queue: c.queue.clone(),
                    node: Some(n.name.clone()),
                }))
            }
        },
        Kind::ShowCascade => match w.arg(0) {
            None => Ok(Command::Show(Target::View(ViewId::Nodes))),
            Some(t) => {
                let c = ctx.cascade(&t.text)?;
                Ok(Command::Show(Target::Node {
                    queue: c.queue.clone(),
                    node: None,
                }))
            }
        },
        Kind::AddTable => {
            let on = w.clause("on").map(|t| t.text.as_str());
            let all = is_all(w.arg(0));
            let name = text(w.arg(0)).unwrap_or_default();
            let l = ctx.londiste(on, (!all).then_some(name.as_str()), Want::Missing)?;
            let tables = if all {
                if l.missing.is_empty() {
                    return err(format!(
                        "nothing to add: every table of {} is already on {}",
                        quote_name(&l.queue),
                        quote_name(&l.node)
                    ));
                }
                l.missing.clone()
            } else {
                if let Some(t) = find_table(l, &name) {
                    return err(format!(
                        "{} is already on {} ({})",
                        quote_name(&t.name),
                        quote_name(&l.node),
                        t.state
                    ));
                }
                match find_missing(l, &name) {
                    Some(t) => vec![t.to_string()],
                    None => {
                        return err(format!(
                            "{} cannot be added on {}: not in its missing list ({})",
                            quote_name(&name),
                            quote_name(&l.node),
                            list(l.missing.iter().map(String::as_str))
                        ))
                    }
                }
            };
            Ok(Command::Run(vec![Action::AddTables {
                worker: l.worker.clone(),
                tables,
            }]))
        }
        Kind::RemoveTable | Kind::ResyncTable | Kind::ChangeHandler => {
            let on = w.clause("on").map(|t| t.text.as_str());
            let name = text(w.arg(0)).unwrap_or_default();
            let l = ctx.londiste(on, Some(&name), Want::Local)?;
            let t = table_on(l, &name)?;
            let (worker, table) = (l.worker.clone(), t.name.clone());
            Ok(Command::Run(vec![match w.spec.kind {
                Kind::RemoveTable => Action::RemoveTable { worker, table },
                Kind::ResyncTable => Action::ResyncTable { worker, table },
                _ => Action::ChangeHandler {
                    worker,
                    table,
                    handler: text(w.clause("to")).filter(|h| !h.trim().is_empty()),
                },
            }]))
        }
        Kind::Execute => {
            let path = text(w.arg(0)).unwrap_or_default();
            let l = match w.clause("on") {
                Some(t) => ctx.londiste(Some(&t.text), None, Want::Any)?,
                // EXECUTE runs on the root: the selected node's root.
                None => {
                    let l = ctx.londiste(None, None, Want::Any)?;
                    crate::views::tables::root_of(ctx.snapshot, &l.queue).unwrap_or(l)
                }
            };
            Ok(Command::Run(vec![Action::ExecuteSql {
                worker: l.worker.clone(),
                path,
            }]))
        }
        Kind::Compare => {
            let on = w.clause("on").map(|t| t.text.as_str());
            let name = text(w.arg(0));
            let l = ctx.londiste(on, name.as_deref(), Want::Local)?;
            let tables = match name {
                Some(n) => vec![table_on(l, &n)?.name.clone()],
                None => Vec::new(),
            };
            Ok(Command::Run(vec![Action::CompareTables {
                worker: l.worker.clone(),
                tables,
            }]))
        }
        Kind::ShowTable => {
            let on = w.clause("on").map(|t| t.text.as_str());
            let name = text(w.arg(0));
            if name.is_none() && on.is_none() {
                return Ok(Command::Show(Target::View(ViewId::Tables)));
            }
            let l = ctx.londiste(on, name.as_deref(), Want::Local)?;
            let table = match name {
                Some(n) => Some(table_on(l, &n)?.name.clone()),
                None => None,
            };
            Ok(Command::Show(Target::Table {
                node: l.node.clone(),
                table,
            }))
        }
        Kind::ShowQueue => match w.arg(0).filter(|_| !is_all(w.arg(0))) {
            None => Ok(Command::Show(Target::View(ViewId::Queues))),
            Some(q) => {
                let database = ctx.queue_database(&q.text, db.as_deref())?;
                Ok(Command::Show(Target::Queue {
                    database,
                    queue: q.text.clone(),
                }))
            }
        },
        Kind::ShowConsumer => match w.arg(0).filter(|_| !is_all(w.arg(0))) {
            None => Ok(Command::Show(Target::View(ViewId::Queues))),
            Some(c) => {
                let (database, queue) = match w.clause("on") {
                    Some(q) => (ctx.queue_database(&q.text, db.as_deref())?, q.text.clone()),
                    None => ctx.consumer_queue(&c.text, db.as_deref())?,
                };
                Ok(Command::Show(Target::Consumer {
                    database,
                    queue,
                    consumer: c.text.clone(),
                }))
            }
        },
        Kind::ShowWorker => match w.arg(0).filter(|_| !is_all(w.arg(0))) {
            None => Ok(Command::Show(Target::View(ViewId::Workers))),
            Some(t) => Ok(Command::Show(Target::Worker(ctx.worker(&t.text)?))),
        },
        Kind::ShowDatabases => Ok(Command::Show(Target::View(ViewId::Overview))),
        Kind::ShowLogs => Ok(Command::Show(Target::View(ViewId::Logs))),
        Kind::ShowHelp | Kind::Help => Ok(Command::Help),
        Kind::ShowVersion => Ok(Command::Version),
        Kind::Refresh => match w.arg(0) {
            None => Ok(Command::Run(vec![Action::Refresh])),
            Some(t) => match parse_period(&t.text) {
                Some(d) if (MIN_REFRESH..=MAX_REFRESH).contains(&d) => {
                    Ok(Command::Run(vec![Action::SetRefresh(d)]))
                }
                Some(_) => err(format!("'{}' is out of range (100ms to 1h)", t.text)),
                None => err(format!("'{}' is not a period (try 500ms, 2s, 1m)", t.text)),
            },
        },
        Kind::Freeze => match w.arg(0).map(|t| t.text.to_ascii_lowercase()) {
            None => Ok(Command::Freeze(None)),
            Some(s) if s == "on" => Ok(Command::Freeze(Some(true))),
            Some(s) if s == "off" => Ok(Command::Freeze(Some(false))),
            Some(s) => err(format!("expected on or off, found '{s}'")),
        },
        Kind::Filter => Ok(Command::Filter(w.rest.clone().unwrap_or_default())),
        Kind::Theme => {
            let t = text(w.arg(0)).unwrap_or_default();
            t.parse().map(Command::Theme).map_err(CommandError)
        }
        Kind::Quit => Ok(Command::Quit),
    }
}

fn unknown_param(name: &str) -> CommandError {
    let known: Vec<&str> = grammar::QUEUE_PARAMS.iter().map(|(s, _)| *s).collect();
    CommandError(format!(
        "cannot change parameter '{name}' (known: {})",
        known.join(", ")
    ))
}

/// The roots and branches `node` could read from.
fn providers<'c>(c: &'c CascadeView, node: &str) -> Vec<&'c str> {
    c.nodes
        .iter()
        .filter(|p| {
            p.name != node
                && matches!(p.node_type, Some(NodeType::Root | NodeType::Branch))
                && !p.dead
                && !cascade::reads_from(c, &p.name, node)
        })
        .map(|p| p.name.as_str())
        .collect()
}

/// `to <provider>` must be a live root or branch of the same cascade that
/// does not read from the node (that would be a loop).
fn check_provider(c: &CascadeView, n: &NodeView, to: &str) -> Result<String> {
    let q = |s: &str| quote_name(s);
    let Some(p) = cascade::node(c, to) else {
        return err(format!(
            "no node {} in {} (roots and branches: {})",
            q(to),
            q(&c.queue),
            list(providers(c, &n.name).into_iter())
        ));
    };
    if p.name == n.name {
        return err(format!("{} cannot read from itself", q(&n.name)));
    }
    if n.node_type == Some(NodeType::Root) {
        return err(format!(
            "{} is the root: it reads from no one (switchover to another node instead)",
            q(&n.name)
        ));
    }
    if n.provider() == Some(p.name.as_str()) {
        return err(format!("{} already reads from {}", q(&n.name), q(&p.name)));
    }
    if p.node_type == Some(NodeType::Leaf) {
        return err(format!(
            "{} is a leaf: only a root or branch can be a provider ({})",
            q(&p.name),
            list(providers(c, &n.name).into_iter())
        ));
    }
    if p.dead {
        return err(format!("{} is tagged dead", q(&p.name)));
    }
    if cascade::reads_from(c, &p.name, &n.name) {
        return err(format!(
            "{} reads from {} (directly or not): that would be a loop",
            q(&p.name),
            q(&n.name)
        ));
    }
    Ok(p.name.clone())
}

/// Only a live branch can become the root.
fn new_root_check(c: &CascadeView, n: &NodeView) -> Result<()> {
    let q = |s: &str| quote_name(s);
    let branches = || {
        let old = cascade::root(c).map(|r| r.name.as_str()).unwrap_or("");
        list(
            cascade::takeover_candidates(c, old)
                .iter()
                .map(|b| b.name.as_str()),
        )
    };
    match n.node_type {
        Some(NodeType::Root) => err(format!(
            "{} is already the root of {}",
            q(&n.name),
            q(&c.queue)
        )),
        Some(NodeType::Leaf) => err(format!(
            "{} is a leaf: only a branch can take over (branches of {}: {})",
            q(&n.name),
            q(&c.queue),
            branches()
        )),
        _ if n.dead => err(format!("{} is tagged dead", q(&n.name))),
        _ => Ok(()),
    }
}

impl<'a> Context<'a> {
    /// The cascade of `queue`.
    fn cascade(&self, queue: &str) -> Result<&'a CascadeView> {
        cascade::find(self.snapshot, queue).ok_or_else(|| {
            CommandError(format!(
                "no cascade {} ({})",
                quote_name(queue),
                list(self.snapshot.cascades.iter().map(|c| c.queue.as_str()))
            ))
        })
    }

    /// The node `name`, in the cascade `on` names, else the one cascade
    /// that has it, else the selected cascade.
    fn node(&self, name: &str, on: Option<&str>) -> Result<(&'a CascadeView, &'a NodeView)> {
        if let Some(q) = on {
            let c = self.cascade(q)?;
            return match cascade::node(c, name) {
                Some(n) => Ok((c, n)),
                None => err(format!(
                    "no node {} in {} ({})",
                    quote_name(name),
                    quote_name(q),
                    list(c.nodes.iter().map(|n| n.name.as_str()))
                )),
            };
        }
        let found: Vec<(&CascadeView, &NodeView)> = self
            .snapshot
            .cascades
            .iter()
            .filter_map(|c| cascade::node(c, name).map(|n| (c, n)))
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => {
                if self.snapshot.cascades.is_empty() {
                    return err("this deck has no cascaded queues");
                }
                let mut all: Vec<&str> = self
                    .snapshot
                    .cascades
                    .iter()
                    .flat_map(|c| c.nodes.iter().map(|n| n.name.as_str()))
                    .collect();
                all.sort_unstable();
                all.dedup();
                err(format!(
                    "no node {} in any cascade ({})",
                    quote_name(name),
                    list(all.into_iter())
                ))
            }
            many => {
                if let Some(cur) = self.cascade {
                    if let Some(hit) = many.iter().find(|(c, _)| c.queue == cur) {
                        return Ok(*hit);
                    }
                }
                err(format!(
                    "node {} is in several cascades ({}): add on <queue>",
                    quote_name(name),
                    list(many.iter().map(|(c, _)| c.queue.as_str()))
                ))
            }
        }
    }

    /// The Londiste node a table command means: the one `on` names (node
    /// or worker name); else, among the nodes that have `table` (as
    /// `want` says), the one selected in the Tables view or the only one;
    /// with no table, the selected node or the deck's only one.
    fn londiste(
        &self,
        on: Option<&str>,
        table: Option<&str>,
        want: Want,
    ) -> Result<&'a LondisteView> {
        let all = &self.snapshot.londiste;
        if all.is_empty() {
            return err("this deck has no Londiste nodes");
        }
        let names = || list(all.iter().map(|l| l.node.as_str()));
        if let Some(on) = on {
            return all
                .iter()
                .find(|l| l.node == on)
                .or_else(|| all.iter().find(|l| l.worker == on))
                .ok_or_else(|| {
                    CommandError(format!("no Londiste node {} ({})", quote_name(on), names()))
                });
        }
        let has = |l: &LondisteView| match (table, want) {
            (Some(t), Want::Local) => find_table(l, t).is_some(),
            (Some(t), Want::Missing) => find_missing(l, t).is_some(),
            _ => true,
        };
        let found: Vec<&LondisteView> = all.iter().filter(|l| has(l)).collect();
        if let Some(cur) = self.londiste {
            if let Some(hit) = found.iter().find(|l| l.node == cur) {
                return Ok(hit);
            }
        }
        match (found.as_slice(), table) {
            ([one], _) => Ok(one),
            ([], Some(t)) if want == Want::Missing => err(format!(
                "no Londiste node can add {} ({}): add on <node>",
                quote_name(t),
                names()
            )),
            ([], Some(t)) => err(format!(
                "no Londiste node has table {} ({})",
                quote_name(t),
                names()
            )),
            (many, Some(t)) => err(format!(
                "{} is on several nodes ({}): add on <node>",
                quote_name(t),
                list(many.iter().map(|l| l.node.as_str()))
            )),
            (_, None) => err(format!("which node? add on <node> ({})", names())),
        }
    }

    /// The `in <db>` clause, checked against the deck.
    fn database_arg(&self, t: Option<&Token>) -> Result<Option<String>> {
        let Some(t) = t else { return Ok(None) };
        let dbs = &self.snapshot.databases;
        if dbs.is_empty() || dbs.iter().any(|d| d.name == t.text) {
            return Ok(Some(t.text.clone()));
        }
        err(format!(
            "no database {} in this deck ({})",
            quote_name(&t.text),
            list(dbs.iter().map(|d| d.name.as_str()))
        ))
    }

    /// For a new object: the selected queue's database, or the deck's only
    /// database.
    fn default_database(&self) -> Result<String> {
        if let Some((db, _)) = self.queue {
            return Ok(db.to_string());
        }
        match self.snapshot.databases.as_slice() {
            [one] => Ok(one.name.clone()),
            [] => err("this deck has no databases"),
            dbs => err(format!(
                "which database? add in <db> ({})",
                list(dbs.iter().map(|d| d.name.as_str()))
            )),
        }
    }

    /// The named database, or every database of the deck.
    fn databases(&self, db: Option<String>) -> Result<Vec<String>> {
        if let Some(d) = db {
            return Ok(vec![d]);
        }
        if self.snapshot.databases.is_empty() {
            return err("this deck has no databases");
        }
        Ok(self
            .snapshot
            .databases
            .iter()
            .map(|d| d.name.clone())
            .collect())
    }

    /// The database that holds `queue`.
    fn queue_database(&self, queue: &str, db: Option<&str>) -> Result<String> {
        if let Some(d) = db {
            return Ok(d.to_string());
        }
        let found: Vec<&str> = self
            .snapshot
            .queues
            .iter()
            .filter(|q| q.name == queue)
            .map(|q| q.database.as_str())
            .collect();
        match found.as_slice() {
            [one] => Ok(one.to_string()),
            [] => err(format!(
                "no queue {} in this deck (add in <db> if it was just created)",
                quote_name(queue)
            )),
            many => err(format!(
                "queue {} is in several databases ({}): add in <db>",
                quote_name(queue),
                list(many.iter().copied())
            )),
        }
    }

    fn all_queues(&self, db: Option<&str>) -> Result<Vec<(String, String)>> {
        let all: Vec<(String, String)> = self
            .snapshot
            .queues
            .iter()
            .filter(|q| db.is_none_or(|d| q.database == d))
            .map(|q| (q.database.clone(), q.name.clone()))
            .collect();
        if all.is_empty() {
            return err("no queues");
        }
        Ok(all)
    }

    /// The selected queue, if it is in `db` (when given).
    fn current_queue(&self, db: Option<&str>) -> Option<(String, String)> {
        self.queue
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .map(|(d, q)| (d.to_string(), q.to_string()))
    }

    fn consumers_of(&self, database: &str, queue: &str) -> Vec<String> {
        self.snapshot
            .queues
            .iter()
            .filter(|q| q.database == database && q.name == queue)
            .flat_map(|q| q.consumers.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// The queue a consumer is registered on, when that is unambiguous.
    fn consumer_queue(&self, consumer: &str, db: Option<&str>) -> Result<(String, String)> {
        let found: Vec<(String, String)> = self
            .snapshot
            .queues
            .iter()
            .filter(|q| db.is_none_or(|d| q.database == d))
            .filter(|q| q.consumers.iter().any(|c| c.name == consumer))
            .map(|q| (q.database.clone(), q.name.clone()))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => err(format!(
                "consumer {} is not registered on any queue here; name the queue: … from <queue>",
                quote_name(consumer)
            )),
            many => {
                if let Some(cur) = self.current_queue(db) {
                    if many.contains(&cur) {
                        return Ok(cur);
                    }
                }
                err(format!(
                    "consumer {} is registered on several queues ({}): add from <queue>",
                    quote_name(consumer),
                    list(many.iter().map(|(_, q)| q.as_str()))
                ))
            }
        }
    }

    fn worker(&self, name: &str) -> Result<String> {
        if self.snapshot.workers.iter().any(|w| w.name == name) {
            return Ok(name.to_string());
        }
        err(format!(
            "no worker {} ({})",
            quote_name(name),
            list(self.snapshot.workers.iter().map(|w| w.name.as_str()))
        ))
    }
}

/// `a, b, c` with at most six names, quoted as the command line wants them.
/// Which tables a node must have to be the one a command means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// The table is one of its tables.
    Local,
    /// The table is in its missing list.
    Missing,
    /// No table named.
    Any,
}

/// `name` among the node's tables; `orders` finds `public.orders`.
fn find_table<'l>(l: &'l LondisteView, name: &str) -> Option<&'l TableView> {
    l.tables.iter().find(|t| t.name == name).or_else(|| {
        let q = format!("public.{name}");
        l.tables.iter().find(|t| t.name == q)
    })
}

fn find_missing<'l>(l: &'l LondisteView, name: &str) -> Option<&'l str> {
    let q = format!("public.{name}");
    l.missing
        .iter()
        .find(|m| *m == name)
        .or_else(|| l.missing.iter().find(|m| **m == q))
        .map(String::as_str)
}

fn table_on<'l>(l: &'l LondisteView, name: &str) -> Result<&'l TableView> {
    find_table(l, name).ok_or_else(|| {
        CommandError(format!(
            "no table {} on {} ({})",
            quote_name(name),
            quote_name(&l.node),
            list(l.tables.iter().map(|t| t.name.as_str()))
        ))
    })
}

fn list<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let names: Vec<String> = names.map(quote_name).collect();
    if names.is_empty() {
        return "none".into();
    }
    if names.len() > 6 {
        format!("{}, … {} more", names[..6].join(", "), names.len() - 6)
    } else {
        names.join(", ")
    }
}
