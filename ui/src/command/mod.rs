//! The `:` command line: qadmin's commands (create queue, drop queue,
//! register and unregister consumer, alter queue … set, tick, show …) and
//! the console's own (refresh, freeze, filter, theme, help, quit).
//!
//! One grammar table ([`grammar::SPECS`]) drives the parser, the tab
//! completion and the help.

mod complete;
pub mod grammar;
mod lexer;
mod parse;

pub use complete::{complete, Candidate, Completion};
pub use lexer::{lex, Token};
pub use parse::{parse, Command, CommandError, Target, MAX_REFRESH, MIN_REFRESH};

use crate::model::Snapshot;

/// What the command line knows besides its text: the data, and what is
/// selected (the default for commands that leave a name out).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    /// The selected queue in the Queues view: (database, queue).
    pub queue: Option<(&'a str, &'a str)>,
    /// The cascade selected in the Nodes view (its queue name): the
    /// default when a node name is in several cascades.
    pub cascade: Option<&'a str>,
    /// The Londiste node selected in the Tables view (its node name): the
    /// default for table commands.
    pub londiste: Option<&'a str>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Context<'a> {
        Context {
            snapshot,
            queue: None,
            cascade: None,
            londiste: None,
        }
    }

    pub fn with_londiste(mut self, node: &'a str) -> Context<'a> {
        self.londiste = Some(node);
        self
    }

    pub fn with_cascade(mut self, queue: &'a str) -> Context<'a> {
        self.cascade = Some(queue);
        self
    }

    pub fn with_queue(mut self, database: &'a str, queue: &'a str) -> Context<'a> {
        self.queue = Some((database, queue));
        self
    }
}

/// One line per command for the help: usage and what it does.
pub fn help_lines() -> Vec<(&'static str, &'static str)> {
    grammar::SPECS
        .iter()
        .filter(|s| !s.hidden)
        .map(|s| (s.usage, s.about))
        .collect()
}

#[cfg(test)]
mod tests;
