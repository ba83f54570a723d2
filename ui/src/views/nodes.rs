//! Nodes: the cascade tree of every cascaded queue — root, branches,
//! leaves and merge leaves along their provider links — with each node's
//! lag, last tick, PAUSED / NOT UPTODATE / DEAD / UNREACHABLE markers and
//! the first line of its error; the selected node (or cascade) in full
//! below. Switchover, failover, pause/resume, change provider, tag
//! dead/alive and drop node start here.
//!
//! A cascade is a header row (enter folds it) followed by its nodes; the
//! rows are rebuilt once per snapshot and only the visible ones are drawn.

use std::collections::BTreeSet;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::cascade::{self, markers, Marker};
use crate::fmt::{dur, num_opt};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{CascadeView, NodeType, NodeView, Snapshot};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crate::widgets::{block, first_marker, kv};

use super::{matches, terms};

/// One row of the tree table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRow {
    /// A cascade's header: `cascades[c]`.
    Cascade { c: usize },
    /// `cascades[c].nodes[n]`, drawn after `prefix` (the tree lines).
    Node { c: usize, n: usize, prefix: String },
}

/// What the cursor is on, by name (survives new snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeKey {
    pub queue: String,
    /// `None`: the cascade's header.
    pub node: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NodesState {
    pub filter: String,
    pub rows: Vec<NodeRow>,
    pub nav: Nav,
    /// Cascades folded to their header (by queue name).
    pub collapsed: BTreeSet<String>,
    selected: Option<NodeKey>,
}

/// The markers of a node as one cell: the most serious, `+n` for more.
fn marker_cell(n: &NodeView) -> (String, Option<Marker>) {
    match first_marker(&markers(n), Marker::label) {
        None => ("ok".into(), None),
        Some((text, first)) => (text, Some(first)),
    }
}

pub(crate) fn marker_style(m: Option<Marker>, theme: &Theme) -> Style {
    match m {
        None => theme.ok,
        Some(m) if m.is_failure() => theme.error,
        Some(_) => theme.warn,
    }
}

fn node_fields<'a>(c: &'a CascadeView, n: &'a NodeView, out: &mut Vec<&'a str>) {
    out.clear();
    out.extend([
        c.queue.as_str(),
        n.name.as_str(),
        n.database.as_str(),
        cascade::type_label(n),
    ]);
    out.extend(markers(n).iter().map(|m| m.label()));
    out.extend(n.provider.as_deref());
    out.extend(n.worker.as_deref());
    out.extend(n.worker_error.as_deref());
    out.extend(n.error.as_deref());
    out.extend(n.combined_queue.as_deref());
}

impl NodesState {
    /// Recomputes the rows after new data, a filter or a fold; the cursor
    /// stays on the same node (or cascade) when it is still there.
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        let mut rows = Vec::new();
        let mut fields = Vec::new();
        for (ci, c) in snap.cascades.iter().enumerate() {
            let whole = !t.is_empty() && matches(&t, &[&c.queue]);
            let folded = self.collapsed.contains(&c.queue) && t.is_empty();
            let mut nodes = Vec::new();
            if !folded || !t.is_empty() {
                for (ni, prefix) in cascade::tree(c) {
                    let keep = t.is_empty() || whole || {
                        node_fields(c, &c.nodes[ni], &mut fields);
                        matches(&t, &fields)
                    };
                    if keep {
                        nodes.push(NodeRow::Node {
                            c: ci,
                            n: ni,
                            prefix,
                        });
                    }
                }
            }
            if !t.is_empty() && nodes.is_empty() {
                continue;
            }
            rows.push(NodeRow::Cascade { c: ci });
            if !folded {
                rows.extend(nodes);
            }
        }
        self.rows = rows;
        self.nav.set_len(self.rows.len());
        if let Some(key) = self.selected.clone() {
            if let Some(pos) = self.position(snap, &key) {
                self.nav.selected = pos;
            } else if let Some(pos) = self.position(
                snap,
                &NodeKey {
                    queue: key.queue.clone(),
                    node: None,
                },
            ) {
                // The node went (or its cascade was folded): its cascade.
                self.nav.selected = pos;
            }
        }
        self.remember(snap);
    }

    fn position(&self, snap: &Snapshot, key: &NodeKey) -> Option<usize> {
        self.rows.iter().position(|r| match (r, &key.node) {
            (NodeRow::Cascade { c }, None) => snap.cascades[*c].queue == key.queue,
            (NodeRow::Node { c, n, .. }, Some(name)) => {
                let cv = &snap.cascades[*c];
                cv.queue == key.queue && cv.nodes[*n].name == *name
            }
            _ => false,
        })
    }

    fn remember(&mut self, snap: &Snapshot) {
        self.selected = self.key(snap);
    }

    /// What the cursor is on.
    pub fn key(&self, snap: &Snapshot) -> Option<NodeKey> {
        match self.rows.get(self.nav.selected()?)? {
            NodeRow::Cascade { c } => Some(NodeKey {
                queue: snap.cascades.get(*c)?.queue.clone(),
                node: None,
            }),
            NodeRow::Node { c, n, .. } => {
                let cv = snap.cascades.get(*c)?;
                Some(NodeKey {
                    queue: cv.queue.clone(),
                    node: Some(cv.nodes.get(*n)?.name.clone()),
                })
            }
        }
    }

    /// The cascade of the selected row (header or node).
    pub fn cascade<'s>(&self, snap: &'s Snapshot) -> Option<&'s CascadeView> {
        match self.rows.get(self.nav.selected()?)? {
            NodeRow::Cascade { c } | NodeRow::Node { c, .. } => snap.cascades.get(*c),
        }
    }

    /// The selected node (none when the cursor is on a header).
    pub fn node<'s>(&self, snap: &'s Snapshot) -> Option<(&'s CascadeView, &'s NodeView)> {
        match self.rows.get(self.nav.selected()?)? {
            NodeRow::Node { c, n, .. } => {
                let cv = snap.cascades.get(*c)?;
                Some((cv, cv.nodes.get(*n)?))
            }
            NodeRow::Cascade { .. } => None,
        }
    }

    /// Puts the cursor on `node` of `queue` (its header when `node` is
    /// `None`), clearing the filter and unfolding if needed.
    pub fn select(&mut self, snap: &Snapshot, queue: &str, node: Option<&str>) -> bool {
        let key = NodeKey {
            queue: queue.to_string(),
            node: node.map(str::to_string),
        };
        let mut pos = self.position(snap, &key);
        if pos.is_none() && (!self.filter.is_empty() || self.collapsed.contains(queue)) {
            self.filter.clear();
            self.collapsed.remove(queue);
            self.rebuild(snap);
            pos = self.position(snap, &key);
        }
        let Some(pos) = pos else { return false };
        self.nav.select(pos);
        self.remember(snap);
        true
    }

    /// Folds or unfolds the selected cascade.
    pub fn toggle_fold(&mut self, snap: &Snapshot) {
        let Some(c) = self.cascade(snap) else { return };
        let q = c.queue.clone();
        if !self.collapsed.remove(&q) {
            self.collapsed.insert(q.clone());
        }
        self.selected = Some(NodeKey {
            queue: q,
            node: None,
        });
        self.rebuild(snap);
    }

    pub fn navigate(&mut self, snap: &Snapshot, intent: Intent, body: Rect) -> bool {
        let moved = self.nav.apply(intent, table::viewport(layout(body).table));
        if moved {
            self.remember(snap);
        }
        moved
    }

    /// Keys for what is selected; `takeover_hidden`: a takeover runs (or
    /// ended) behind the view.
    pub fn bindings(&self, snap: &Snapshot, takeover_hidden: bool) -> Vec<Binding> {
        let mut b = Vec::new();
        movement(&mut b);
        let header = matches!(
            self.nav.selected().and_then(|i| self.rows.get(i)),
            Some(NodeRow::Cascade { .. })
        );
        if takeover_hidden {
            b.push(Binding::new(
                key_set![Key::ch('o')],
                "o",
                "takeover progress",
                Intent::ShowTakeover,
            ));
        }
        if header {
            let folded = self
                .cascade(snap)
                .is_some_and(|c| self.collapsed.contains(&c.queue));
            b.push(Binding::new(
                key_set![Key::code(KeyCode::Enter)],
                "enter",
                if folded { "unfold" } else { "fold" },
                Intent::Open,
            ));
        }
        if self.cascade(snap).is_some() {
            b.push(
                Binding::new(
                    key_set![Key::ch('s')],
                    "s",
                    "switchover",
                    Intent::Switchover,
                )
                .changing(),
            );
            b.push(
                Binding::new(key_set![Key::ch('F')], "F", "failover", Intent::Failover).changing(),
            );
        }
        if let Some((_, n)) = self.node(snap) {
            if n.worker.is_some() && !n.dead {
                let hint = if n.paused { "resume" } else { "pause" };
                b.push(
                    Binding::new(key_set![Key::ch('p')], "p", hint, Intent::PauseNode).changing(),
                );
            }
            if n.node_type != Some(NodeType::Root) {
                b.push(
                    Binding::new(
                        key_set![Key::ch('c')],
                        "c",
                        "change provider",
                        Intent::ChangeProvider,
                    )
                    .changing(),
                );
            }
            let hint = if n.dead { "tag alive" } else { "tag dead" };
            b.push(Binding::new(key_set![Key::ch('t')], "t", hint, Intent::TagNode).changing());
            b.push(
                Binding::new(key_set![Key::ch('d')], "d", "drop node", Intent::DropNode).changing(),
            );
        }
        b
    }

    pub fn status(&self, snap: &Snapshot) -> String {
        let all = || snap.cascades.iter().flat_map(|c| c.nodes.iter());
        let n = all().count();
        let mut s = format!(
            "{} cascade{} · {n} node{}",
            snap.cascades.len(),
            if snap.cascades.len() == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" }
        );
        for (m, what) in [
            (Marker::Dead, "dead"),
            (Marker::Unreachable, "unreachable"),
            (Marker::Error, "erroring"),
            (Marker::Paused, "paused"),
        ] {
            let k = all().filter(|x| markers(x).contains(&m)).count();
            if k > 0 {
                s.push_str(&format!(" · {k} {what}"));
            }
        }
        s
    }

    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let l = layout(area);
        const COLS: &[Col] = &[
            Col::left("Node", 26, 0),
            Col::left("Type", 6, 1),
            Col::left("Status", 14, 0),
            Col::right("Lag", 7, 1),
            Col::right("Last tick", 9, 3),
            Col::right("Behind", 6, 4),
            Col::left("Database", 18, 5),
            Col::grow("Error", 20, 2),
        ];
        let empty = if !super::has_data(snap) {
            super::WAITING
        } else if snap.cascades.is_empty() {
            "no cascaded queues in this deck (no pgq_node nodes on the watched databases)"
        } else {
            "no node matches the filter — esc clears it"
        };
        let total: usize = snap.cascades.iter().map(|c| c.nodes.len() + 1).sum();
        DataTable {
            title: Line::from(table::title("Cascades", &self.nav, total, &self.filter)),
            cols: COLS,
            nav: self.nav,
            cursor: true,
            focused: true,
            theme,
            empty,
        }
        .render(l.table, buf, |i| match &self.rows[i] {
            NodeRow::Cascade { c } => {
                let cv = &snap.cascades[*c];
                let fold = if self.collapsed.contains(&cv.queue) {
                    "▸"
                } else {
                    "▾"
                };
                let (summary, style) = cascade_summary(cv, theme);
                (
                    vec![
                        lcell(format!("{fold} {}", cv.queue), theme.title),
                        lcell("", theme.muted),
                        lcell(summary, style),
                        lcell("", theme.muted),
                        rcell(
                            num_opt(cascade::root(cv).and_then(|r| r.last_tick)),
                            theme.muted,
                        ),
                        lcell("", theme.muted),
                        lcell("", theme.muted),
                        lcell(
                            format!("{} nodes · {}", cv.nodes.len(), root_line(cv)),
                            theme.muted,
                        ),
                    ],
                    Style::new(),
                )
            }
            NodeRow::Node { c, n, prefix } => {
                let cv = &snap.cascades[*c];
                let nv = &cv.nodes[*n];
                let (status, m) = marker_cell(nv);
                let mut name = format!("{prefix}{}", nv.name);
                if let (true, Some(q)) = (nv.is_merge_leaf(), &nv.combined_queue) {
                    name.push_str(&format!(" ⇢ {q}"));
                }
                let name_style = if nv.is_down() {
                    theme.muted
                } else if nv.node_type == Some(NodeType::Root) {
                    theme.title
                } else {
                    theme.text
                };
                let behind = cascade::behind(cv, nv);
                (
                    vec![
                        lcell(name, name_style),
                        lcell(cascade::type_label(nv), theme.muted),
                        lcell(status, marker_style(m, theme)),
                        rcell(
                            crate::fmt::dur_opt(nv.lag),
                            nv.lag
                                .map_or(theme.muted, |l| super::queues::lag_style(l, theme)),
                        ),
                        rcell(num_opt(nv.last_tick), theme.muted),
                        rcell(
                            behind.map_or_else(String::new, |b| b.to_string()),
                            if behind.unwrap_or(0) > 0 {
                                theme.warn
                            } else {
                                theme.muted
                            },
                        ),
                        lcell(nv.database.clone(), theme.muted),
                        lcell(
                            cascade::first_error(nv).unwrap_or_default().to_string(),
                            theme.error,
                        ),
                    ],
                    Style::new(),
                )
            }
        });
        if l.detail.height > 0 {
            match (self.node(snap), self.cascade(snap)) {
                (Some((c, n)), _) => render_node(c, n, theme, l.detail, buf),
                (None, Some(c)) => render_cascade(c, theme, l.detail, buf),
                (None, None) => {
                    block(" Node ", false, theme).render(l.detail, buf);
                }
            }
        }
    }
}

/// `7 nodes · 1 dead` for a header row, styled by the worst.
fn cascade_summary(c: &CascadeView, theme: &Theme) -> (String, Style) {
    let mut worst: Option<Marker> = None;
    let mut bad = 0;
    for n in &c.nodes {
        if let Some(&m) = markers(n).first() {
            bad += 1;
            if worst.is_none_or(|w| (m as u8) < (w as u8)) {
                worst = Some(m);
            }
        }
    }
    let text = match worst {
        None => "all ok".to_string(),
        Some(_) if bad == 1 => "1 issue".to_string(),
        Some(_) => format!("{bad} issues"),
    };
    (text, marker_style(worst, theme))
}

fn root_line(c: &CascadeView) -> String {
    let roots: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| n.node_type == Some(NodeType::Root))
        .map(|n| n.name.as_str())
        .collect();
    match roots.as_slice() {
        [] => "no root found".into(),
        [one] => format!("root {one}"),
        many => format!("{} roots: {}", many.len(), many.join(", ")),
    }
}

fn names(nodes: &[&NodeView]) -> String {
    if nodes.is_empty() {
        return "none".into();
    }
    let v: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    v.join(", ")
}

fn render_cascade(c: &CascadeView, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(format!(" Cascade {} ", c.queue), false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: String| Span::styled(s, theme.muted);
    let count = |t: NodeType| c.nodes.iter().filter(|n| n.node_type == Some(t)).count();
    let merge = c.nodes.iter().filter(|n| n.is_merge_leaf()).count();
    let mut lines = vec![Line::from(vec![
        Span::styled(c.queue.clone(), theme.title),
        m(format!(
            " · {} nodes: {} · {} branches · {} leaves{}",
            c.nodes.len(),
            root_line(c),
            count(NodeType::Branch),
            count(NodeType::Leaf),
            if merge > 0 {
                format!(" ({merge} merge)")
            } else {
                String::new()
            }
        )),
    ])];
    // Nodes that are gone, then workers that need a look.
    for (label, kinds) in [
        ("down", &[Marker::Dead, Marker::Unreachable][..]),
        (
            "workers",
            &[Marker::Error, Marker::Paused, Marker::NotUptodate][..],
        ),
    ] {
        let mut spans: Vec<Span> = Vec::new();
        for n in cascade::tree(c).into_iter().map(|(i, _)| &c.nodes[i]) {
            let Some(mk) = markers(n).into_iter().find(|x| kinds.contains(x)) else {
                continue;
            };
            if !spans.is_empty() {
                spans.push(m(" · ".into()));
            }
            spans.push(Span::styled(n.name.clone(), theme.text));
            spans.push(Span::styled(
                format!(" {}", mk.label()),
                marker_style(Some(mk), theme),
            ));
        }
        if spans.is_empty() {
            spans.push(Span::styled("all ok", theme.ok));
        }
        lines.push(kv(label, spans, theme));
    }
    let max_lag = c
        .nodes
        .iter()
        .filter_map(|n| n.lag.map(|l| (l, n.name.as_str())))
        .max();
    lines.push(kv(
        "max lag",
        vec![match max_lag {
            Some((l, who)) => Span::styled(
                format!("{} ({who})", dur(l)),
                super::queues::lag_style(l, theme),
            ),
            None => m("-".into()),
        }],
        theme,
    ));
    let old = cascade::root(c).map(|r| r.name.as_str()).unwrap_or("");
    lines.push(kv(
        "takeover",
        vec![m(format!(
            "s switchover or F failover: the new root among {}",
            names(&cascade::takeover_candidates(c, old))
        ))],
        theme,
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn render_node(c: &CascadeView, n: &NodeView, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(format!(" Node {} ", n.name), false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: String| Span::styled(s, theme.muted);
    let t = |s: String| Span::styled(s, theme.text);
    let kind = match (n.node_type, &n.combined_queue) {
        (Some(NodeType::Leaf), Some(q)) => format!(
            "merge leaf into {q}{}",
            n.combined_type
                .map_or(String::new(), |t| format!(" ({} there)", t.as_str()))
        ),
        (Some(t), _) => t.as_str().to_string(),
        (None, _) => "node (type unknown)".into(),
    };
    let mut head = vec![
        Span::styled(n.name.clone(), theme.title),
        m(format!(" · {kind} of {} on ", c.queue)),
        t(if n.database.is_empty() {
            "?".into()
        } else {
            n.database.clone()
        }),
    ];
    for mk in markers(n) {
        head.push(m(" ".into()));
        head.push(Span::styled(mk.label(), marker_style(Some(mk), theme)));
    }
    let subs = cascade::subscribers(c, &n.name);
    let provider = match (n.provider(), n.node_type) {
        (Some(p), _) => p.to_string(),
        (None, Some(NodeType::Root)) => "none (root)".into(),
        (None, _) => "unknown".into(),
    };
    let mut lines = vec![
        Line::from(head),
        kv(
            "provider",
            vec![t(provider), m(format!(" · subscribers: {}", names(&subs)))],
            theme,
        ),
    ];
    let mut worker = vec![t(n.worker.clone().unwrap_or_else(|| "-".into()))];
    if n.paused {
        worker.push(Span::styled(" PAUSED", theme.warn));
    }
    if !n.uptodate {
        worker.push(Span::styled(" NOT UPTODATE", theme.warn));
    }
    worker.push(m(" · lag ".into()));
    worker.push(match n.lag {
        Some(l) => Span::styled(dur(l), super::queues::lag_style(l, theme)),
        None => m("-".into()),
    });
    worker.push(m(format!(" · last tick {}", num_opt(n.last_tick))));
    if let Some(b) = cascade::behind(c, n) {
        worker.push(m(format!(" ({b} behind the root)")));
    }
    lines.push(kv("worker", worker, theme));
    let mut wm = vec![m(format!(
        "global {} · local {}",
        num_opt(n.global_watermark),
        num_opt(n.local_watermark)
    ))];
    if !n.sync_watermark.is_empty() {
        wm.push(m(format!(
            " · sync_watermark {}",
            n.sync_watermark.join(",")
        )));
    }
    lines.push(kv("watermark", wm, theme));
    if let Some(e) = &n.error {
        lines.push(kv(
            "error",
            vec![Span::styled(
                format!("cannot read the node: {e}"),
                theme.error,
            )],
            theme,
        ));
    }
    match &n.worker_error {
        Some(e) => {
            for (i, line) in e.lines().enumerate() {
                lines.push(kv(
                    if i == 0 { "error" } else { "" },
                    vec![Span::styled(line.to_string(), theme.error)],
                    theme,
                ));
            }
        }
        None if n.error.is_none() => lines.push(kv("error", vec![m("none".into())], theme)),
        None => {}
    }
    if !n.location.is_empty() {
        lines.push(kv("location", vec![m(n.location.clone())], theme));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

pub struct NodesLayout {
    pub table: Rect,
    pub detail: Rect,
}

pub fn layout(body: Rect) -> NodesLayout {
    let detail = if body.height >= 18 {
        9
    } else if body.height >= 14 {
        6
    } else {
        0
    };
    let [table, detail] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail)]).areas(body);
    NodesLayout { table, detail }
}
