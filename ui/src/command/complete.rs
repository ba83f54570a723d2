//! Tab completion from the grammar: keywords where the grammar has them,
//! names (queues, consumers, workers, databases) from the snapshot where
//! it expects a name, quoted when they need it.

use std::collections::BTreeSet;
use std::ops::Range;

use super::grammar::{self, walk, AssignState, Next, Slot, Walk, SPECS};
use super::lexer::{lex, Token};
use super::Context;
use crate::fmt::quote_name;
use crate::model::NodeType;
use crate::theme::ThemeName;
use crate::views::VIEWS;

/// What Tab can put at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// The bytes of the input a candidate replaces (the word being typed).
    pub range: Range<usize>,
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// As listed: the plain name.
    pub display: String,
    /// As inserted: quoted when needed.
    pub insert: String,
    /// Whether a space follows once it is chosen (`max_lag=` has none).
    pub space: bool,
}

impl Completion {
    /// The longest text all candidates start with (for a first Tab).
    pub fn common_prefix(&self) -> Option<String> {
        let (first, rest) = self.candidates.split_first()?;
        let mut prefix = first.insert.as_str();
        for c in rest {
            let n: usize = prefix
                .chars()
                .zip(c.insert.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a.len_utf8())
                .sum();
            prefix = &prefix[..n];
        }
        Some(prefix.to_string())
    }
}

/// Londiste's table handlers, offered after `change handler … to`.
const HANDLERS: &[&str] = &[
    "applyfn",
    "bulk",
    "dispatch",
    "londiste",
    "multimaster",
    "obfuscate",
    "qsplitter",
    "qtable",
    "shard",
    "vtable",
];

enum Expect {
    Word(&'static str),
    Slot(Slot),
    Param,
    Eq,
}

/// Candidates for the word at `cursor` (a byte offset into `input`).
pub fn complete(input: &str, cursor: usize, ctx: &Context<'_>) -> Completion {
    let cursor = cursor.min(input.len());
    let before = &input[..cursor];
    let toks: Vec<Token> = lex(before)
        .into_iter()
        .filter(|t| !t.is_punct(";"))
        .collect();
    let (done, partial) = match toks.split_last() {
        Some((last, init)) if last.end == before.len() && !last.punct => (init, Some(last)),
        _ => (&toks[..], None),
    };
    let range = partial.map_or(cursor..cursor, |p| p.start..cursor);
    let typed = partial.map_or("", |p| p.text.as_str());
    let force_quote = partial.is_some_and(|p| p.quote.is_some());

    let mut keywords: BTreeSet<&str> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut params = false;
    let mut eq = false;
    for (expect, w) in expectations(done, before) {
        match expect {
            Expect::Word(k) => {
                keywords.insert(k);
            }
            Expect::Param => params = true,
            Expect::Eq => eq = true,
            Expect::Slot(slot) => slot_values(slot, w.as_ref(), ctx, &mut keywords, &mut names),
        }
    }

    let mut out = Vec::new();
    let lower = typed.to_lowercase();
    for k in keywords {
        if k.starts_with(&lower) {
            out.push(Candidate {
                display: k.to_string(),
                insert: k.to_string(),
                space: true,
            });
        }
    }
    if params {
        for (short, _) in grammar::QUEUE_PARAMS {
            if short.starts_with(&lower) {
                out.push(Candidate {
                    display: format!("{short}="),
                    insert: format!("{short}="),
                    space: false,
                });
            }
        }
    }
    if eq && typed.is_empty() {
        out.push(Candidate {
            display: "=".into(),
            insert: "=".into(),
            space: false,
        });
    }
    let mut matched: Vec<&String> = names.iter().filter(|n| n.starts_with(typed)).collect();
    if matched.is_empty() {
        matched = names
            .iter()
            .filter(|n| n.to_lowercase().starts_with(&lower))
            .collect();
    }
    for n in matched {
        let insert = if force_quote {
            format!("\"{}\"", n.replace('"', "\"\""))
        } else {
            quote_name(n)
        };
        out.push(Candidate {
            display: n.clone(),
            insert,
            space: true,
        });
    }
    Completion {
        range,
        candidates: out,
    }
}

/// What the grammar allows after the complete words `done`, with the walk
/// so far (for names that depend on earlier words: consumers of the queue
/// named by `on`, queues of the database named by `in`).
fn expectations<'t>(done: &'t [Token], input: &str) -> Vec<(Expect, Option<Walk<'t>>)> {
    let mut out = Vec::new();
    if done.is_empty() {
        for v in VIEWS {
            out.push((Expect::Word(v.name), None));
        }
    }
    for spec in SPECS.iter().filter(|s| !s.hidden) {
        let k = spec
            .words
            .iter()
            .zip(done)
            .take_while(|(w, t)| t.is_word(w))
            .count();
        if k < spec.words.len() {
            if k == done.len() {
                out.push((Expect::Word(spec.words[k]), None));
            }
            continue;
        }
        let Ok(w) = walk(spec, &done[spec.words.len()..], input) else {
            continue;
        };
        match w.next {
            Next::Arg(i) => {
                let arg = spec.args[i];
                if arg.optional {
                    for c in spec.clauses {
                        out.push((Expect::Word(c.word), None));
                    }
                }
                out.push((Expect::Slot(arg.slot), Some(w)));
            }
            Next::ClauseArg(c) => {
                if let Some(slot) = c.slot {
                    out.push((Expect::Slot(slot), Some(w)));
                }
            }
            Next::Clauses => {
                for c in spec.clauses.iter().filter(|c| !w.used(c)) {
                    out.push((Expect::Word(c.word), None));
                }
            }
            Next::Assign(AssignState::Name) => out.push((Expect::Param, None)),
            Next::Assign(AssignState::Eq) => out.push((Expect::Eq, None)),
            Next::Assign(_) | Next::Done => {}
        }
    }
    out
}

fn slot_values(
    slot: Slot,
    w: Option<&Walk<'_>>,
    ctx: &Context<'_>,
    keywords: &mut BTreeSet<&'static str>,
    names: &mut BTreeSet<String>,
) {
    let db = w.and_then(|w| w.clause("in")).map(|t| t.text.as_str());
    let queue = w.and_then(|w| {
        w.clause("on")
            .or(w.clause("from"))
            .or_else(|| match w.spec.args.first() {
                Some(a) if matches!(a.slot, Slot::Queue | Slot::QueueOrAll) => w.arg(0),
                _ => None,
            })
            .map(|t| t.text.as_str())
    });
    let snap = ctx.snapshot;
    let queues = || {
        snap.queues
            .iter()
            .filter(move |q| db.is_none_or(|d| q.database == d))
    };
    match slot {
        Slot::Queue | Slot::QueueOrAll => {
            names.extend(queues().map(|q| q.name.clone()));
            if slot == Slot::QueueOrAll {
                keywords.insert("*");
            }
        }
        Slot::Consumer | Slot::ConsumerOrAll | Slot::NewConsumer => {
            names.extend(
                queues()
                    .filter(|q| slot == Slot::NewConsumer || queue.is_none_or(|n| q.name == n))
                    .flat_map(|q| q.consumers.iter().map(|c| c.name.clone())),
            );
            if slot == Slot::ConsumerOrAll {
                keywords.insert("*");
            }
        }
        Slot::Worker | Slot::WorkerOrAll => {
            names.extend(snap.workers.iter().map(|w| w.name.clone()));
            if slot == Slot::WorkerOrAll {
                keywords.insert("*");
            }
        }
        Slot::Database => names.extend(snap.databases.iter().map(|d| d.name.clone())),
        Slot::Cascade => names.extend(snap.cascades.iter().map(|c| c.queue.clone())),
        Slot::Node | Slot::Branch | Slot::Provider => {
            // `on <queue>` names the cascade; else every cascade (the one
            // selected in the Nodes view first does not matter: a set).
            let on = w.and_then(|w| w.clause("on")).map(|t| t.text.as_str());
            let node = w
                .and_then(|w| w.arg(0))
                .map(|t| t.text.as_str())
                .filter(|_| slot == Slot::Provider);
            for c in snap
                .cascades
                .iter()
                .filter(|c| on.is_none_or(|q| c.queue == q))
                .filter(|c| node.is_none_or(|n| crate::cascade::node(c, n).is_some()))
            {
                for n in &c.nodes {
                    let keep = match slot {
                        Slot::Branch => n.node_type == Some(NodeType::Branch) && !n.dead,
                        Slot::Provider => {
                            let me = node.unwrap_or("");
                            n.name != me
                                && matches!(n.node_type, Some(NodeType::Root | NodeType::Branch))
                                && !n.dead
                                && !crate::cascade::reads_from(c, &n.name, me)
                        }
                        _ => true,
                    };
                    if keep {
                        names.insert(n.name.clone());
                    }
                }
            }
        }
        Slot::Table | Slot::MissingTable => {
            // `on <node>` when already given; else every node's (a set).
            let on = w.and_then(|w| w.clause("on")).map(|t| t.text.as_str());
            for l in snap
                .londiste
                .iter()
                .filter(|l| on.is_none_or(|n| l.node == n || l.worker == n))
            {
                if slot == Slot::Table {
                    names.extend(l.tables.iter().map(|t| t.name.clone()));
                } else {
                    names.extend(l.missing.iter().cloned());
                }
            }
            if slot == Slot::MissingTable {
                keywords.insert("*");
            }
        }
        Slot::LondisteNode => {
            // The nodes that have the table named before, if any.
            let table = w
                .and_then(|w| w.arg(0))
                .map(|t| t.text.as_str())
                .filter(|t| *t != "*");
            let missing = w.is_some_and(|w| {
                w.spec
                    .args
                    .first()
                    .is_some_and(|a| a.slot == Slot::MissingTable)
            });
            for l in &snap.londiste {
                let keep = table.is_none_or(|t| {
                    if missing {
                        l.missing.iter().any(|m| m == t)
                    } else {
                        l.tables.iter().any(|x| x.name == t)
                    }
                });
                if keep {
                    names.insert(l.node.clone());
                }
            }
        }
        Slot::Handler => {
            for h in HANDLERS {
                keywords.insert(h);
            }
        }
        Slot::Param => {
            for (_, full) in grammar::QUEUE_PARAMS {
                keywords.insert(full);
            }
        }
        Slot::Theme => {
            for t in ThemeName::ALL {
                keywords.insert(t.as_str());
            }
        }
        Slot::OnOff => {
            keywords.insert("on");
            keywords.insert("off");
        }
        Slot::Period => {
            for p in ["500ms", "1s", "2s", "5s", "10s", "30s"] {
                keywords.insert(p);
            }
        }
        Slot::NewQueue
        | Slot::Value
        | Slot::Assignments
        | Slot::TickId
        | Slot::Text
        | Slot::File => {}
    }
}
