//! Reading a cascade from its nodes: the tree (provider links), the root,
//! subscribers and ancestors, what a node's markers are. Pure functions
//! over [`CascadeView`]; the Nodes view, the command line and the
//! takeover flow share them.

use std::collections::{HashMap, HashSet};

use crate::model::{CascadeView, NodeType, NodeView, Snapshot};

/// The cascade of `queue`.
pub fn find<'s>(snap: &'s Snapshot, queue: &str) -> Option<&'s CascadeView> {
    snap.cascades.iter().find(|c| c.queue == queue)
}

/// The node called `name`.
pub fn node<'c>(c: &'c CascadeView, name: &str) -> Option<&'c NodeView> {
    c.nodes.iter().find(|n| n.name == name)
}

/// Nodes whose worker reads from `name`.
pub fn subscribers<'c>(c: &'c CascadeView, name: &str) -> Vec<&'c NodeView> {
    c.nodes
        .iter()
        .filter(|n| n.provider() == Some(name))
        .collect()
}

/// The provider chain above `name`, nearest first (stops at a loop or an
/// unknown provider).
pub fn ancestors<'c>(c: &'c CascadeView, name: &str) -> Vec<&'c NodeView> {
    let mut out: Vec<&NodeView> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    seen.insert(name);
    let mut cur = node(c, name);
    while let Some(p) = cur.and_then(NodeView::provider) {
        if !seen.insert(p) {
            break;
        }
        let Some(pn) = node(c, p) else { break };
        out.push(pn);
        cur = Some(pn);
    }
    out
}

/// Whether `name` reads from `other`, directly or through others.
pub fn reads_from(c: &CascadeView, name: &str, other: &str) -> bool {
    ancestors(c, name).iter().any(|a| a.name == other)
}

/// The top of `name`'s provider chain: the root it reads from (itself
/// for a root).
pub fn root_of<'c>(c: &'c CascadeView, name: &str) -> Option<&'c NodeView> {
    ancestors(c, name).last().copied().or_else(|| node(c, name))
}

/// The cascade's root: the node of type root (the first if there are
/// several), else the top of the first node's chain.
pub fn root(c: &CascadeView) -> Option<&NodeView> {
    c.nodes
        .iter()
        .find(|n| n.node_type == Some(NodeType::Root))
        .or_else(|| c.nodes.first().and_then(|n| root_of(c, &n.name)))
}

/// Ticks between the root's last tick and the node's.
pub fn behind(c: &CascadeView, n: &NodeView) -> Option<i64> {
    let r = root(c)?;
    if r.name == n.name {
        return None;
    }
    Some((r.last_tick? - n.last_tick?).max(0))
}

/// Branches that could take `old`'s place (alive, not `old`), by name.
pub fn takeover_candidates<'c>(c: &'c CascadeView, old: &str) -> Vec<&'c NodeView> {
    let mut v: Vec<&NodeView> = c
        .nodes
        .iter()
        .filter(|n| n.name != old && n.node_type == Some(NodeType::Branch) && !n.is_down())
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Whether `n` stands at the top of its tree: a root, or a node of
/// unknown type that reads from no one. (A dead node that had a provider
/// was a branch or leaf.)
pub fn is_root_like(n: &NodeView) -> bool {
    match n.node_type {
        Some(t) => t == NodeType::Root,
        None => n.provider().is_none(),
    }
}

/// What a failover by `new` replaces: the nearest dead or unreachable node
/// above it, else its root.
pub fn failover_old<'c>(c: &'c CascadeView, new: &str) -> Option<&'c NodeView> {
    ancestors(c, new)
        .into_iter()
        .find(|a| a.is_down())
        .or_else(|| root_of(c, new).filter(|r| r.name != new))
}

/// The tree, depth first: each node's index in `c.nodes` and the prefix
/// that draws its branch (`├─ `, `│  └─ ` …). Roots come first, then nodes
/// whose provider is unknown; siblings are branches before leaves, then by
/// name. A node in a provider loop still appears, at the top level.
pub fn tree(c: &CascadeView) -> Vec<(usize, String)> {
    let idx: HashMap<&str, usize> = c
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); c.nodes.len()];
    let mut tops: Vec<usize> = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        let parent = n
            .provider()
            .and_then(|p| idx.get(p).copied())
            .filter(|_| n.node_type != Some(NodeType::Root));
        match parent {
            Some(p) => children[p].push(i),
            None => tops.push(i),
        }
    }
    let key = |i: &usize| {
        let n = &c.nodes[*i];
        (type_rank(n), n.name.clone())
    };
    for ch in &mut children {
        ch.sort_by_key(key);
    }
    tops.sort_by_key(key);
    let mut out = Vec::with_capacity(c.nodes.len());
    let mut seen = vec![false; c.nodes.len()];
    for &t in &tops {
        walk(t, "", "", &children, &mut seen, &mut out);
    }
    // Nodes in a provider loop were reached from nowhere.
    for i in 0..c.nodes.len() {
        if !seen[i] {
            walk(i, "", "", &children, &mut seen, &mut out);
        }
    }
    out
}

fn walk(
    i: usize,
    prefix: &str,
    cont: &str,
    children: &[Vec<usize>],
    seen: &mut [bool],
    out: &mut Vec<(usize, String)>,
) {
    if seen[i] {
        return;
    }
    seen[i] = true;
    out.push((i, prefix.to_string()));
    let kids: Vec<usize> = children[i].iter().copied().filter(|&k| !seen[k]).collect();
    let n = kids.len();
    for (k, child) in kids.into_iter().enumerate() {
        let last = k + 1 == n;
        let p = format!("{cont}{}", if last { "└─ " } else { "├─ " });
        let c = format!("{cont}{}", if last { "   " } else { "│  " });
        walk(child, &p, &c, children, seen, out);
    }
}

fn type_rank(n: &NodeView) -> u8 {
    match n.node_type {
        Some(NodeType::Root) => 0,
        Some(NodeType::Branch) => 1,
        Some(NodeType::Leaf) => 2,
        None => 3,
    }
}

/// `root`, `branch`, `leaf`, `merge` (a merge leaf), `?` (unknown).
pub fn type_label(n: &NodeView) -> &'static str {
    if n.is_merge_leaf() {
        return "merge";
    }
    n.node_type.map_or("?", NodeType::as_str)
}

/// What is wrong with a node, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Dead,
    Unreachable,
    Error,
    Paused,
    NotUptodate,
}

impl Marker {
    pub fn label(self) -> &'static str {
        match self {
            Marker::Dead => "DEAD",
            Marker::Unreachable => "UNREACHABLE",
            Marker::Paused => "PAUSED",
            Marker::NotUptodate => "NOT UPTODATE",
            Marker::Error => "ERROR",
        }
    }

    /// Serious: the node does not work (as opposed to paused or catching up).
    pub fn is_failure(self) -> bool {
        matches!(self, Marker::Dead | Marker::Unreachable | Marker::Error)
    }
}

pub fn markers(n: &NodeView) -> Vec<Marker> {
    let mut m = Vec::new();
    if n.dead {
        m.push(Marker::Dead);
    }
    if n.error.is_some() && !n.dead {
        m.push(Marker::Unreachable);
    }
    if !n.is_down() {
        if n.worker_error.is_some() {
            m.push(Marker::Error);
        }
        if n.paused {
            m.push(Marker::Paused);
        }
        if !n.uptodate {
            m.push(Marker::NotUptodate);
        }
    }
    m
}

/// The first line of the node's trouble: why it cannot be read, else its
/// worker's error.
pub fn first_error(n: &NodeView) -> Option<&str> {
    n.error
        .as_deref()
        .or(n.worker_error.as_deref())
        .map(|e| e.lines().next().unwrap_or("").trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(name: &str, t: NodeType, provider: Option<&str>) -> NodeView {
        NodeView {
            name: name.into(),
            node_type: Some(t),
            provider: provider.map(Into::into),
            ..NodeView::default()
        }
    }

    #[test]
    fn tree_prefixes_and_order() {
        let c = CascadeView {
            queue: "q".into(),
            nodes: vec![
                n("l2", NodeType::Leaf, Some("b1")),
                n("b1", NodeType::Branch, Some("r")),
                n("r", NodeType::Root, Some("r")),
                n("l1", NodeType::Leaf, Some("r")),
                n("l3", NodeType::Leaf, Some("b1")),
                n("x", NodeType::Leaf, Some("gone")),
                n("loop1", NodeType::Branch, Some("loop2")),
                n("loop2", NodeType::Branch, Some("loop1")),
            ],
        };
        let t: Vec<String> = tree(&c)
            .into_iter()
            .map(|(i, p)| format!("{p}{}", c.nodes[i].name))
            .collect();
        assert_eq!(
            t,
            [
                "r",
                "├─ b1",
                "│  ├─ l2",
                "│  └─ l3",
                "└─ l1",
                "x",
                "loop1",
                "└─ loop2"
            ]
        );
        assert_eq!(root_of(&c, "l3").map(|r| r.name.as_str()), Some("r"));
        assert!(reads_from(&c, "l3", "r"));
        assert!(!reads_from(&c, "r", "l3"));
        assert_eq!(ancestors(&c, "loop1").len(), 1, "loops end");
        assert_eq!(
            subscribers(&c, "b1")
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>(),
            ["l2", "l3"]
        );
    }

    #[test]
    fn failover_replaces_the_nearest_dead_node() {
        let mut dead = n("b1", NodeType::Branch, Some("r"));
        dead.dead = true;
        let c = CascadeView {
            queue: "q".into(),
            nodes: vec![
                n("r", NodeType::Root, None),
                dead,
                n("b2", NodeType::Branch, Some("b1")),
                n("b3", NodeType::Branch, Some("r")),
            ],
        };
        assert_eq!(failover_old(&c, "b2").map(|n| n.name.as_str()), Some("b1"));
        assert_eq!(failover_old(&c, "b3").map(|n| n.name.as_str()), Some("r"));
        assert_eq!(failover_old(&c, "r").map(|n| n.name.as_str()), None);
        let cands: Vec<&str> = takeover_candidates(&c, "r")
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(cands, ["b2", "b3"]);
    }
}
