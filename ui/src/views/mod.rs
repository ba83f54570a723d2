//! The console's views. They are a list: each has a key (`1`..) and a
//! `:name`; a new view is an entry here and a module beside this one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::keys::Key;

pub mod logs;
pub mod nodes;
pub mod overview;
pub mod queues;
pub mod tables;
pub mod wal;
pub mod workers;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewId {
    #[default]
    Overview,
    Queues,
    Workers,
    Logs,
    Nodes,
    Tables,
    Wal,
}

/// One entry of the view list.
#[derive(Debug)]
pub struct ViewSpec {
    pub id: ViewId,
    /// The key that shows it, and how hints write it.
    pub key: Key,
    pub key_label: &'static str,
    /// `:name`.
    pub name: &'static str,
    /// Other words that reach it from the command line.
    pub aliases: &'static [&'static str],
    pub title: &'static str,
    pub about: &'static str,
}

/// Every view, in tab order.
pub const VIEWS: &[ViewSpec] = &[
    ViewSpec {
        id: ViewId::Overview,
        key: Key::ch('1'),
        key_label: "1",
        name: "overview",
        aliases: &["ov", "home"],
        title: "Overview",
        about: "every database and worker at a glance; alerts",
    },
    ViewSpec {
        id: ViewId::Queues,
        key: Key::ch('2'),
        key_label: "2",
        name: "queues",
        aliases: &[],
        title: "Queues",
        about: "ticks, lag, events/s, rotation, retries; consumers",
    },
    ViewSpec {
        id: ViewId::Workers,
        key: Key::ch('3'),
        key_label: "3",
        name: "workers",
        aliases: &[],
        title: "Workers",
        about: "hosted tasks: state, restarts, last error",
    },
    ViewSpec {
        id: ViewId::Logs,
        key: Key::ch('4'),
        key_label: "4",
        name: "logs",
        aliases: &["log"],
        title: "Logs",
        about: "the tail of the log, filterable",
    },
    ViewSpec {
        id: ViewId::Nodes,
        key: Key::ch('5'),
        key_label: "5",
        name: "nodes",
        aliases: &["node", "cascade", "cascades"],
        title: "Nodes",
        about: "cascade trees: lag, paused/dead nodes; switchover, failover",
    },
    ViewSpec {
        id: ViewId::Tables,
        key: Key::ch('6'),
        key_label: "6",
        name: "tables",
        aliases: &["table", "londiste", "seqs"],
        title: "Tables",
        about: "Londiste tables per node: merge state, copy progress, sequences",
    },
    ViewSpec {
        id: ViewId::Wal,
        key: Key::ch('7'),
        key_label: "7",
        name: "wal",
        aliases: &["walmgr", "standby", "standbys", "backups"],
        title: "WAL",
        about: "walmgr masters and standbys: archive, backlog, replay lag, base backups",
    },
];

impl ViewId {
    pub fn spec(self) -> &'static ViewSpec {
        VIEWS
            .iter()
            .find(|v| v.id == self)
            .expect("every ViewId is in VIEWS")
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }

    /// Position in [`VIEWS`].
    pub fn index(self) -> usize {
        VIEWS.iter().position(|v| v.id == self).unwrap_or(0)
    }

    /// The view reached by `:word`, if any.
    pub fn from_name(word: &str) -> Option<ViewId> {
        let w = word.to_ascii_lowercase();
        VIEWS
            .iter()
            .find(|v| v.name == w || v.aliases.contains(&w.as_str()))
            .map(|v| v.id)
    }

    pub fn next(self) -> ViewId {
        VIEWS[(self.index() + 1) % VIEWS.len()].id
    }

    pub fn prev(self) -> ViewId {
        VIEWS[(self.index() + VIEWS.len() - 1) % VIEWS.len()].id
    }
}

impl fmt::Display for ViewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ViewId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ViewId::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = VIEWS.iter().map(|v| v.name).collect();
            format!("unknown view '{s}' ({})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_consistent() {
        for (i, v) in VIEWS.iter().enumerate() {
            assert_eq!(v.id.index(), i);
            assert_eq!(ViewId::from_name(v.name), Some(v.id));
            assert_eq!(v.name.parse::<ViewId>(), Ok(v.id));
        }
        for (i, a) in VIEWS.iter().enumerate() {
            for b in &VIEWS[i + 1..] {
                assert_ne!(a.key, b.key, "view keys are unique");
            }
        }
        assert_eq!(ViewId::Logs.next(), ViewId::Nodes);
        assert_eq!(ViewId::Nodes.next(), ViewId::Tables);
        assert_eq!(ViewId::Tables.next(), ViewId::Wal);
        assert_eq!(ViewId::Wal.next(), ViewId::Overview);
        assert_eq!(ViewId::Overview.prev(), ViewId::Wal);
        assert_eq!("cascade".parse::<ViewId>(), Ok(ViewId::Nodes));
        assert_eq!("tables".parse::<ViewId>(), Ok(ViewId::Tables));
        assert_eq!("londiste".parse::<ViewId>(), Ok(ViewId::Tables));
        assert_eq!("wal".parse::<ViewId>(), Ok(ViewId::Wal));
        assert_eq!("walmgr".parse::<ViewId>(), Ok(ViewId::Wal));
        assert!("wall".parse::<ViewId>().is_err());
    }
}

/// The words of a filter, lower-cased. A row matches when every word is
/// in one of its fields (case-insensitive).
pub(crate) fn terms(filter: &str) -> Vec<String> {
    filter.split_whitespace().map(str::to_lowercase).collect()
}

pub(crate) fn matches(terms: &[String], fields: &[&str]) -> bool {
    if terms.is_empty() {
        return true;
    }
    let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    terms
        .iter()
        .all(|t| fields.iter().any(|f| f.contains(t.as_str())))
}

/// Message shown in place of data before the first snapshot arrives.
pub(crate) const WAITING: &str = "waiting for the first snapshot from the engine…";

pub(crate) fn has_data(snap: &crate::model::Snapshot) -> bool {
    snap.taken_at != std::time::UNIX_EPOCH
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn all_words_must_match_some_field() {
        let t = terms("Shop  ORD");
        assert!(matches(&t, &["shop@db1", "orders"]));
        assert!(!matches(&t, &["shop@db1", "audit"]));
        assert!(matches(&terms(""), &["x"]));
        assert!(matches(&terms("billing ev"), &["billing events"]));
    }
}
