//! Tables: every Londiste node's tables and sequences — merge state
//! (ok green, copy states yellow, waiting grey), handler, lag, a progress
//! bar for each copy (rows, rate, ETA, bytes) and the last error; the
//! selected node, table or sequence in full below. Add (a picker of the
//! node's missing tables), remove, resync, change handler, execute a SQL
//! file and compare start here.
//!
//! A node is a header row (enter folds it) followed by its tables, then a
//! `sequences` row and its sequences; the rows are rebuilt once per
//! snapshot and only the visible ones are drawn.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Widget, Wrap};

use crate::fmt::{bytes, count, dur, first_line, grouped, rate, truncate, width};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{CopyView, LondisteView, MergeState, NodeType, SeqView, Snapshot, TableView};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crate::widgets::{block, centered, kv, popup_padded};

use super::{matches, terms};

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRow {
    /// A node's header: `londiste[l]`.
    Node { l: usize },
    /// `londiste[l].tables[t]`.
    Table { l: usize, t: usize },
    /// The `sequences` line of `londiste[l]`.
    Seqs { l: usize },
    /// `londiste[l].seqs[s]`.
    Seq { l: usize, s: usize },
}

impl TableRow {
    /// The node the row belongs to.
    pub fn node(&self) -> usize {
        match *self {
            TableRow::Node { l }
            | TableRow::Table { l, .. }
            | TableRow::Seqs { l }
            | TableRow::Seq { l, .. } => l,
        }
    }
}

/// What a row shows, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Node,
    Table(String),
    Seqs,
    Seq(String),
}

/// What the cursor is on, by name (survives new snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKey {
    pub queue: String,
    pub node: String,
    pub item: Item,
}

/// The Tables view's state: filter, rows, cursor and folds.
#[derive(Debug, Clone, Default)]
pub struct TablesState {
    pub filter: String,
    pub rows: Vec<TableRow>,
    pub nav: Nav,
    /// Nodes folded to their header (`queue/node`).
    pub collapsed: BTreeSet<String>,
    selected: Option<TableKey>,
}

/// `queue/node`: how folds are remembered.
pub fn fold_key(l: &LondisteView) -> String {
    format!("{}/{}", l.queue, l.node)
}

fn type_rank(t: Option<NodeType>) -> u8 {
    match t {
        Some(NodeType::Root) => 0,
        Some(NodeType::Branch) => 1,
        Some(NodeType::Leaf) => 2,
        None => 3,
    }
}

/// `root`, `branch`, `leaf` or `?`.
pub fn type_label(l: &LondisteView) -> &'static str {
    l.node_type.map_or("?", NodeType::as_str)
}

/// Nodes in display order: by queue, the root first, then by name.
pub fn order(snap: &Snapshot) -> Vec<usize> {
    let mut v: Vec<usize> = (0..snap.londiste.len()).collect();
    v.sort_by(|&a, &b| {
        let (x, y) = (&snap.londiste[a], &snap.londiste[b]);
        (&x.queue, type_rank(x.node_type), &x.node).cmp(&(
            &y.queue,
            type_rank(y.node_type),
            &y.node,
        ))
    });
    v
}

/// A word for the state's class, for filters: `ok`, `copying`, `waiting`.
fn state_class(s: MergeState) -> &'static str {
    match s {
        MergeState::Ok => "ok",
        MergeState::Missing => "waiting",
        MergeState::Unknown => "unknown",
        _ => "copying",
    }
}

/// What the merge state means, in a few words.
pub fn state_meaning(s: MergeState) -> String {
    match s {
        MergeState::Missing => {
            "waiting for its copy (the worker starts one when a copy slot is free)".into()
        }
        MergeState::InCopy => "the copy process is loading its data".into(),
        MergeState::CatchingUp => {
            "data copied; the copy process applies the events since its snapshot".into()
        }
        MergeState::WannaSync(t) => {
            format!("the copy caught up at tick {t}; the worker stops there next")
        }
        MergeState::DoSync(t) => {
            format!("the worker stopped at tick {t}; the copy finishes up to it")
        }
        MergeState::Ok => "replayed by the worker".into(),
        MergeState::Unknown => "unknown state".into(),
    }
}

/// The style of a table's state.
pub fn state_style(t: &TableView, theme: &Theme) -> Style {
    match t.merge_state() {
        MergeState::Ok => theme.ok,
        MergeState::Missing if t.last_error.is_some() => theme.error,
        MergeState::Missing => theme.muted,
        _ => theme.warn,
    }
}

/// Counts of a node's tables by state (`errors`: tables with a last
/// error, whatever their state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub ok: usize,
    pub copying: usize,
    pub waiting: usize,
    pub errors: usize,
}

/// Counts the node's tables by state.
pub fn counts(l: &LondisteView) -> Counts {
    let mut c = Counts {
        total: l.tables.len(),
        ..Counts::default()
    };
    for t in &l.tables {
        let s = t.merge_state();
        if s == MergeState::Ok {
            c.ok += 1;
        } else if s.is_copying() {
            c.copying += 1;
        } else if s == MergeState::Missing {
            c.waiting += 1;
        }
        if t.last_error.is_some() {
            c.errors += 1;
        }
    }
    c
}

/// The parts of a node's summary, the most serious first:
/// `1 error`, `5 copying`, `2 waiting`; each with its style.
fn summary_parts(l: &LondisteView, theme: &Theme) -> Vec<(String, Style)> {
    let c = counts(l);
    let mut parts: Vec<(String, Style)> = Vec::new();
    if c.errors > 0 {
        let s = if c.errors == 1 { "" } else { "s" };
        parts.push((format!("{} error{s}", c.errors), theme.error));
    }
    if c.copying > 0 {
        parts.push((format!("{} copying", c.copying), theme.warn));
    }
    if c.waiting > 0 {
        parts.push((format!("{} waiting", c.waiting), theme.muted));
    }
    parts
}

/// A node's state in one word or two: the most serious of its tables'
/// (`1 error`, `5 copying` …), `all ok`, or UNREACHABLE.
fn summary(l: &LondisteView, theme: &Theme) -> (String, Style) {
    if l.error.is_some() {
        return ("UNREACHABLE".into(), theme.error);
    }
    match summary_parts(l, theme).into_iter().next() {
        Some(first) => first,
        None if l.tables.is_empty() => ("no tables".into(), theme.muted),
        None => ("all ok".into(), theme.ok),
    }
}

fn node_fields(l: &LondisteView) -> [&str; 5] {
    [
        l.queue.as_str(),
        l.node.as_str(),
        l.worker.as_str(),
        l.database.as_str(),
        type_label(l),
    ]
}

fn table_fields<'a>(t: &'a TableView, out: &mut Vec<&'a str>) {
    out.clear();
    out.push(t.name.as_str());
    out.push(t.state.as_str());
    out.push(state_class(t.merge_state()));
    out.extend(t.dest.as_deref());
    out.extend(t.handler.as_deref());
    if let Some(e) = &t.last_error {
        out.push("error");
        out.push(e.as_str());
    }
}

impl TablesState {
    /// Recomputes the rows after new data, a filter or a fold; the cursor
    /// stays on the same row (or its node) when it is still there.
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        let mut rows = Vec::new();
        let mut fields = Vec::new();
        for l in order(snap) {
            let lv = &snap.londiste[l];
            let whole = !t.is_empty() && matches(&t, &node_fields(lv));
            let folded = t.is_empty() && self.collapsed.contains(&fold_key(lv));
            let mut children = Vec::new();
            if !folded {
                for (ti, tv) in lv.tables.iter().enumerate() {
                    let keep = t.is_empty() || whole || {
                        table_fields(tv, &mut fields);
                        matches(&t, &fields)
                    };
                    if keep {
                        children.push(TableRow::Table { l, t: ti });
                    }
                }
                let seqs: Vec<usize> = lv
                    .seqs
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        t.is_empty()
                            || whole
                            || matches(
                                &t,
                                &[
                                    s.name.as_str(),
                                    "sequence",
                                    if s.local { "local" } else { "not local" },
                                ],
                            )
                    })
                    .map(|(i, _)| i)
                    .collect();
                if !seqs.is_empty() {
                    children.push(TableRow::Seqs { l });
                    children.extend(seqs.into_iter().map(|s| TableRow::Seq { l, s }));
                }
            }
            if !t.is_empty() && !whole && children.is_empty() {
                continue;
            }
            rows.push(TableRow::Node { l });
            rows.extend(children);
        }
        self.rows = rows;
        self.nav.set_len(self.rows.len());
        if let Some(key) = self.selected.clone() {
            if let Some(pos) = self.position(snap, &key) {
                self.nav.selected = pos;
            } else if let Some(pos) = self.position(
                snap,
                &TableKey {
                    item: Item::Node,
                    ..key
                },
            ) {
                // The row went (or its node was folded): its node.
                self.nav.selected = pos;
            }
        }
        self.remember(snap);
    }

    fn item_key(snap: &Snapshot, row: &TableRow) -> Option<TableKey> {
        let lv = snap.londiste.get(row.node())?;
        let item = match *row {
            TableRow::Node { .. } => Item::Node,
            TableRow::Table { t, .. } => Item::Table(lv.tables.get(t)?.name.clone()),
            TableRow::Seqs { .. } => Item::Seqs,
            TableRow::Seq { s, .. } => Item::Seq(lv.seqs.get(s)?.name.clone()),
        };
        Some(TableKey {
            queue: lv.queue.clone(),
            node: lv.node.clone(),
            item,
        })
    }

    fn position(&self, snap: &Snapshot, key: &TableKey) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| Self::item_key(snap, r).as_ref() == Some(key))
    }

    fn remember(&mut self, snap: &Snapshot) {
        self.selected = self.key(snap);
    }

    fn row(&self) -> Option<&TableRow> {
        self.rows.get(self.nav.selected()?)
    }

    /// What the cursor is on.
    pub fn key(&self, snap: &Snapshot) -> Option<TableKey> {
        Self::item_key(snap, self.row()?)
    }

    /// The node of the selected row.
    pub fn node<'s>(&self, snap: &'s Snapshot) -> Option<&'s LondisteView> {
        snap.londiste.get(self.row()?.node())
    }

    /// The selected table (none on a header or a sequence).
    pub fn table<'s>(&self, snap: &'s Snapshot) -> Option<(&'s LondisteView, &'s TableView)> {
        match *self.row()? {
            TableRow::Table { l, t } => {
                let lv = snap.londiste.get(l)?;
                Some((lv, lv.tables.get(t)?))
            }
            _ => None,
        }
    }

    /// The selected sequence.
    pub fn seq<'s>(&self, snap: &'s Snapshot) -> Option<(&'s LondisteView, &'s SeqView)> {
        match *self.row()? {
            TableRow::Seq { l, s } => {
                let lv = snap.londiste.get(l)?;
                Some((lv, lv.seqs.get(s)?))
            }
            _ => None,
        }
    }

    /// Puts the cursor on `table` of `node` (a node or worker name; its
    /// header when `table` is `None`), clearing the filter and unfolding
    /// if needed.
    pub fn select(&mut self, snap: &Snapshot, node: &str, table: Option<&str>) -> bool {
        let Some(lv) = snap
            .londiste
            .iter()
            .find(|l| l.node == node)
            .or_else(|| snap.londiste.iter().find(|l| l.worker == node))
        else {
            return false;
        };
        let key = TableKey {
            queue: lv.queue.clone(),
            node: lv.node.clone(),
            item: match table {
                Some(t) => Item::Table(t.to_string()),
                None => Item::Node,
            },
        };
        let mut pos = self.position(snap, &key);
        let fold = fold_key(lv);
        if pos.is_none() && (!self.filter.is_empty() || self.collapsed.contains(&fold)) {
            self.filter.clear();
            self.collapsed.remove(&fold);
            self.rebuild(snap);
            pos = self.position(snap, &key);
        }
        let Some(pos) = pos else { return false };
        self.nav.select(pos);
        self.remember(snap);
        true
    }

    /// Folds or unfolds the selected node.
    pub fn toggle_fold(&mut self, snap: &Snapshot) {
        let Some(lv) = self.node(snap) else { return };
        let k = fold_key(lv);
        if !self.collapsed.remove(&k) {
            self.collapsed.insert(k);
        }
        self.selected = Some(TableKey {
            queue: lv.queue.clone(),
            node: lv.node.clone(),
            item: Item::Node,
        });
        self.rebuild(snap);
    }

    /// Moves the cursor; false when `intent` is not a movement.
    pub fn navigate(&mut self, snap: &Snapshot, intent: Intent, body: Rect) -> bool {
        let moved = self.nav.apply(intent, table::viewport(layout(body).table));
        if moved {
            self.remember(snap);
        }
        moved
    }

    /// Keys for what is selected.
    pub fn bindings(&self, snap: &Snapshot) -> Vec<Binding> {
        let mut b = Vec::new();
        movement(&mut b);
        let Some(row) = self.row() else { return b };
        if let TableRow::Node { .. } = row {
            let folded = self
                .node(snap)
                .is_some_and(|l| self.collapsed.contains(&fold_key(l)));
            b.push(Binding::new(
                key_set![Key::code(KeyCode::Enter)],
                "enter",
                if folded { "unfold" } else { "fold" },
                Intent::Open,
            ));
        }
        b.push(
            Binding::new(key_set![Key::ch('a')], "a", "add tables", Intent::AddTables).changing(),
        );
        let on_table = matches!(row, TableRow::Table { .. });
        if on_table {
            b.push(
                Binding::new(key_set![Key::ch('r')], "r", "resync", Intent::ResyncTable).changing(),
            );
            b.push(
                Binding::new(
                    key_set![Key::ch('d'), Key::ch('x')],
                    "d/x",
                    "remove",
                    Intent::RemoveTable,
                )
                .changing(),
            );
            b.push(
                Binding::new(
                    key_set![Key::ch('h')],
                    "h",
                    "handler",
                    Intent::ChangeHandler,
                )
                .changing(),
            );
        }
        b.push(
            Binding::new(
                key_set![Key::ch('e')],
                "e",
                "execute SQL",
                Intent::ExecuteSql,
            )
            .changing(),
        );
        b.push(Binding::new(
            key_set![Key::ch('c')],
            "c",
            if on_table { "compare" } else { "compare all" },
            Intent::CompareTables,
        ));
        b
    }

    /// The status line: nodes, tables by state, sequences.
    pub fn status(&self, snap: &Snapshot) -> String {
        let n = snap.londiste.len();
        if n == 0 {
            return "no Londiste nodes".into();
        }
        let mut all = Counts::default();
        let mut seqs = 0;
        for l in &snap.londiste {
            let c = counts(l);
            all.total += c.total;
            all.ok += c.ok;
            all.copying += c.copying;
            all.waiting += c.waiting;
            all.errors += c.errors;
            seqs += l.seqs.len();
        }
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        let mut s = format!(
            "{n} Londiste node{} · {} table{} · {} ok",
            plural(n),
            all.total,
            plural(all.total),
            all.ok
        );
        if all.copying > 0 {
            s.push_str(&format!(" · {} copying", all.copying));
        }
        if all.waiting > 0 {
            s.push_str(&format!(" · {} waiting for a copy", all.waiting));
        }
        if all.errors > 0 {
            s.push_str(&format!(" · {} with errors", all.errors));
        }
        let down = snap.londiste.iter().filter(|l| l.error.is_some()).count();
        if down > 0 {
            s.push_str(&format!(" · {down} unreachable"));
        }
        s.push_str(&format!(" · {seqs} sequence{}", plural(seqs)));
        s
    }

    /// Draws the list and the detail pane into `area` (the view's body).
    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        if super::has_data(snap) && snap.londiste.is_empty() {
            render_empty(theme, area, buf);
            return;
        }
        let l = layout(area);
        let wide = l.table.width >= 102;
        let (cols, bar, prog_w): (&[Col], usize, usize) =
            if wide { (WIDE, 8, 36) } else { (NARROW, 8, 28) };
        let empty = if !super::has_data(snap) {
            super::WAITING
        } else {
            "no table matches the filter — esc clears it"
        };
        let total: usize = snap
            .londiste
            .iter()
            .map(|l| 1 + l.tables.len() + l.seqs.len() + usize::from(!l.seqs.is_empty()))
            .sum();
        DataTable {
            title: Line::from(table::title("Tables", &self.nav, total, &self.filter)),
            cols,
            nav: self.nav,
            cursor: true,
            focused: true,
            theme,
            empty,
        }
        .render(l.table, buf, |i| {
            let cells = match self.rows[i] {
                TableRow::Node { l } => node_cells(&snap.londiste[l], self, theme),
                TableRow::Table { l, t } => {
                    let lv = &snap.londiste[l];
                    table_cells(lv, &lv.tables[t], wide, bar, prog_w, theme)
                }
                TableRow::Seqs { l } => {
                    let lv = &snap.londiste[l];
                    let local = lv.seqs.iter().filter(|s| s.local).count();
                    vec![
                        lcell("  sequences", theme.title),
                        lcell(format!("{local}/{} local", lv.seqs.len()), theme.muted),
                    ]
                }
                TableRow::Seq { l, s } => seq_cells(&snap.londiste[l].seqs[s], wide, theme),
            };
            (cells, Style::new())
        });
        if l.detail.height > 0 {
            if let Some((lv, t)) = self.table(snap) {
                render_table(lv, t, theme, l.detail, buf);
            } else if let Some((lv, s)) = self.seq(snap) {
                render_seq(lv, s, theme, l.detail, buf);
            } else if let Some(lv) = self.node(snap) {
                render_node(lv, snap, theme, l.detail, buf);
            } else {
                block(" Table ", false, theme).render(l.detail, buf);
            }
        }
    }
}

/// Columns when there is room: every one, the progress bar at full size.
const WIDE: &[Col] = &[
    Col::left("Table", 26, 0),
    Col::left("State", 16, 1),
    Col::left("Handler", 12, 4),
    Col::right("Lag", 6, 3),
    Col::left("Progress", 36, 2),
    Col::grow("Last error", 12, 5),
];

/// Columns for a narrow terminal (80 columns): a shorter bar, no handler.
const NARROW: &[Col] = &[
    Col::left("Table", 21, 0),
    Col::left("State", 11, 1),
    Col::left("Handler", 10, 5),
    Col::right("Lag", 6, 3),
    Col::left("Progress", 28, 2),
    Col::grow("Last error", 8, 4),
];

fn node_cells<'a>(lv: &LondisteView, st: &TablesState, theme: &Theme) -> Vec<Cell<'a>> {
    let fold = if st.collapsed.contains(&fold_key(lv)) {
        "▸"
    } else {
        "▾"
    };
    let (sum, sum_style) = summary(lv, theme);
    let c = counts(lv);
    let mut progress = if lv.error.is_some() {
        "not read".to_string()
    } else {
        format!("{}/{} ok", c.ok, c.total)
    };
    for (part, _) in summary_parts(lv, theme).into_iter().skip(1) {
        progress.push_str(&format!(" · {part}"));
    }
    let last = match &lv.error {
        Some(e) => lcell(first_line(e).to_string(), theme.error),
        None if lv.missing.is_empty() => {
            lcell(format!("{} · {}", lv.queue, lv.database), theme.muted)
        }
        None => lcell(
            format!(
                "{} to add · {} · {}",
                lv.missing.len(),
                lv.queue,
                lv.database
            ),
            theme.muted,
        ),
    };
    vec![
        lcell(
            format!("{fold} {}", lv.node),
            if lv.error.is_some() {
                theme.muted
            } else {
                theme.title
            },
        ),
        lcell(sum, sum_style),
        lcell(type_label(lv), theme.muted),
        lag_cell(lv, theme),
        lcell(progress, theme.muted),
        last,
    ]
}

fn lag_cell<'a>(lv: &LondisteView, theme: &Theme) -> Cell<'a> {
    match lv.lag {
        Some(l) => rcell(dur(l), super::queues::lag_style(l, theme)),
        None => rcell("-", theme.muted),
    }
}

/// The state as it fits the column: `wanna-sync` without its tick when
/// narrow (the detail pane has it).
fn state_text(t: &TableView, wide: bool) -> String {
    let s = if t.state.trim().is_empty() {
        "missing"
    } else {
        t.state.trim()
    };
    if wide {
        s.to_string()
    } else {
        s.split(':').next().unwrap_or(s).to_string()
    }
}

fn table_cells<'a>(
    lv: &LondisteView,
    t: &TableView,
    wide: bool,
    bar: usize,
    prog_w: usize,
    theme: &Theme,
) -> Vec<Cell<'a>> {
    let mut name = format!("  {}", t.name);
    if let Some(d) = t.dest.as_deref().filter(|d| *d != t.name) {
        name.push_str(&format!(" → {d}"));
    }
    let name = truncate(&name, if wide { 26 } else { 21 });
    let ok = t.merge_state() == MergeState::Ok;
    vec![
        lcell(name, theme.text),
        lcell(state_text(t, wide), state_style(t, theme)),
        lcell(
            truncate(
                t.handler.as_deref().unwrap_or_default(),
                if wide { 12 } else { 10 },
            ),
            theme.text,
        ),
        if ok {
            lag_cell(lv, theme)
        } else {
            rcell("", theme.muted)
        },
        Cell::from(Line::from(progress_spans(t, bar, prog_w, theme))),
        lcell(
            t.last_error
                .as_deref()
                .map(first_line)
                .unwrap_or_default()
                .to_string(),
            theme.error,
        ),
    ]
}

fn seq_cells<'a>(s: &SeqView, wide: bool, theme: &Theme) -> Vec<Cell<'a>> {
    vec![
        lcell(
            truncate(&format!("  {}", s.name), if wide { 26 } else { 21 }),
            theme.text,
        ),
        if s.local {
            lcell("local", theme.ok)
        } else {
            lcell("not local", theme.muted)
        },
        lcell("", theme.muted),
        rcell("", theme.muted),
        lcell(
            s.last_value
                .map_or_else(String::new, |v| format!("last value {v}")),
            theme.muted,
        ),
    ]
}

/// How far a copy is, 0–1, when the source's estimate is known.
pub fn fraction(c: &CopyView) -> Option<f64> {
    match c.phase.as_str() {
        "indexes" | "done" => Some(1.0),
        _ => {
            let est = c.est_rows.filter(|&e| e > 0)?;
            Some((c.rows as f64 / est as f64).clamp(0.0, 1.0))
        }
    }
}

/// `38%`: never 100% before the data is all in.
fn percent(c: &CopyView, f: f64) -> u32 {
    let p = (f * 100.0).floor() as u32;
    if c.phase == "data" {
        p.min(99)
    } else {
        p
    }
}

/// The progress cell: a bar and what fits of percent, rate, ETA, size;
/// for a table past its copy (or waiting), where it stands.
pub fn progress_spans<'a>(t: &TableView, bar: usize, max: usize, theme: &Theme) -> Vec<Span<'a>> {
    let state = t.merge_state();
    let Some(c) = &t.copy else {
        let text = match state {
            MergeState::Missing if t.last_error.is_some() => "copy failed",
            MergeState::Missing => "waiting for a copy slot",
            MergeState::InCopy => "copy starting…",
            MergeState::CatchingUp => "catching up",
            MergeState::WannaSync(_) => "caught up, waiting",
            MergeState::DoSync(_) => "syncing",
            MergeState::Ok | MergeState::Unknown => "",
        };
        return vec![Span::styled(text, theme.muted)];
    };
    if c.phase == "starting" {
        return vec![Span::styled("starting copy…", theme.warn)];
    }
    let mut spans = Vec::new();
    let mut used = 0;
    match fraction(c) {
        Some(f) => {
            let filled = ((f * bar as f64).round() as usize).min(bar);
            spans.push(Span::styled("█".repeat(filled), theme.ok));
            spans.push(Span::styled("░".repeat(bar - filled), theme.muted));
            let pct = format!(" {}%", percent(c, f));
            used += bar + width(&pct);
            spans.push(Span::styled(pct, theme.text));
        }
        None => {
            let rows = format!("{} rows", count(c.rows));
            used += width(&rows);
            spans.push(Span::styled(rows, theme.text));
        }
    }
    let mut pieces: Vec<String> = Vec::new();
    match c.phase.as_str() {
        "indexes" => pieces.push("indexes".into()),
        "done" => pieces.push(format!("{} rows", count(c.rows))),
        _ => {
            pieces.push(format!("{}/s", rate(Some(c.rows_per_sec))));
            if let Some(eta) = c.eta {
                pieces.push(format!("ETA {}", short_dur(eta)));
            }
        }
    }
    pieces.push(bytes(c.bytes));
    for p in pieces {
        let w = width(&p) + 1;
        if used + w > max {
            break;
        }
        used += w;
        spans.push(Span::styled(format!(" {p}"), theme.muted));
    }
    spans
}

/// A duration in whole seconds under a minute (`39s`), else as [`dur`].
fn short_dur(d: std::time::Duration) -> String {
    if d.as_secs() < 60 {
        format!("{}s", d.as_secs())
    } else {
        dur(d)
    }
}

/// The progress in full, for the detail pane.
pub fn progress_line(c: &CopyView) -> String {
    let mut s = match (c.phase.as_str(), c.est_rows.filter(|&e| e > 0)) {
        ("starting", _) => return "starting: the copy process is opening its snapshot".into(),
        (_, Some(est)) => {
            let f = fraction(c).unwrap_or(0.0);
            format!(
                "{} of ~{} rows ({}%)",
                grouped(c.rows),
                grouped(est),
                percent(c, f)
            )
        }
        (_, None) => format!("{} rows", grouped(c.rows)),
    };
    s.push_str(&format!(" · {}", bytes(c.bytes)));
    match c.phase.as_str() {
        "indexes" => s.push_str(" · data in, building indexes"),
        "done" => s.push_str(" · copied"),
        _ => {
            s.push_str(&format!(" · {} rows/s", rate(Some(c.rows_per_sec))));
            if let Some(eta) = c.eta {
                s.push_str(&format!(" · ETA {}", short_dur(eta)));
            }
        }
    }
    if c.parts > 1 {
        s.push_str(&format!(" · {} parts", c.parts));
    }
    s
}

fn render_empty(theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(" Tables ", true, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: &'static str| Line::from(Span::styled(s, theme.muted));
    let k = |s: &'static str| Line::from(Span::styled(s, theme.key));
    let lines = vec![
        Line::from(Span::styled("No Londiste nodes in this deck.", theme.text)),
        Line::default(),
        m("To add one, create the node with its job file (a [londiste] section with db and queue_name),"),
        m("then list the file in the deck's config_list and start skydeck on the deck again:"),
        k("  skydeck londiste JOB.ini create-root NODE   (or create-branch / create-leaf NODE --provider=…)"),
        k("  config_list = jobs/*.ini                    (in the deck's [skydeck] section)"),
        m("Its tables and sequences show here once the engine reads them; a then adds tables."),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn node_head<'a>(lv: &LondisteView, theme: &Theme) -> Vec<Span<'a>> {
    let mut v = vec![
        Span::styled(lv.node.clone(), theme.title),
        Span::styled(
            format!(" · {} of {} on ", type_label(lv), lv.queue),
            theme.muted,
        ),
        Span::styled(
            if lv.database.is_empty() {
                "?".to_string()
            } else {
                lv.database.clone()
            },
            theme.text,
        ),
    ];
    if lv.error.is_some() {
        v.push(Span::styled(" UNREACHABLE", theme.error));
    }
    v
}

fn render_node(lv: &LondisteView, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(format!(" Node {} ", lv.node), false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: String| Span::styled(s, theme.muted);
    let t = |s: String| Span::styled(s, theme.text);
    let mut lines = vec![Line::from(node_head(lv, theme))];
    if let Some(e) = &lv.error {
        for (i, line) in e.lines().enumerate() {
            lines.push(kv(
                if i == 0 { "error" } else { "" },
                vec![Span::styled(line.to_string(), theme.error)],
                theme,
            ));
        }
    }
    lines.push(kv(
        "worker",
        vec![
            t(lv.worker.clone()),
            m(" · lag ".into()),
            match lv.lag {
                Some(l) => Span::styled(dur(l), super::queues::lag_style(l, theme)),
                None => m("-".into()),
            },
        ],
        theme,
    ));
    let c = counts(lv);
    let mut tables = vec![t(format!("{} · {} ok", c.total, c.ok))];
    for (part, style) in summary_parts(lv, theme) {
        tables.push(m(" · ".into()));
        tables.push(Span::styled(part, style));
    }
    lines.push(kv("tables", tables, theme));
    let local = lv.seqs.iter().filter(|s| s.local).count();
    lines.push(kv(
        "sequences",
        vec![m(format!("{} · {local} local", lv.seqs.len()))],
        theme,
    ));
    let missing = if lv.missing.is_empty() {
        "none: every table of the set is here".to_string()
    } else {
        let shown: Vec<&str> = lv.missing.iter().take(6).map(String::as_str).collect();
        let more = lv.missing.len().saturating_sub(shown.len());
        format!(
            "{} can be added (a): {}{}",
            lv.missing.len(),
            shown.join(", "),
            if more > 0 {
                format!(", … {more} more")
            } else {
                String::new()
            }
        )
    };
    lines.push(kv("missing", vec![m(missing)], theme));
    if lv.node_type != Some(NodeType::Root) {
        if let Some(root) = root_of(snap, &lv.queue) {
            lines.push(kv(
                "execute",
                vec![m(format!(
                    "e runs a SQL file on the root {} ({})",
                    root.node, root.worker
                ))],
                theme,
            ));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The root node of `queue` among the Londiste nodes, if the deck has it.
pub fn root_of<'s>(snap: &'s Snapshot, queue: &str) -> Option<&'s LondisteView> {
    snap.londiste
        .iter()
        .find(|l| l.queue == queue && l.node_type == Some(NodeType::Root))
}

fn render_table(lv: &LondisteView, t: &TableView, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(format!(" Table {} ", t.name), false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: String| Span::styled(s, theme.muted);
    let tx = |s: String| Span::styled(s, theme.text);
    let mut head = vec![Span::styled(t.name.clone(), theme.title)];
    if let Some(d) = t.dest.as_deref().filter(|d| *d != t.name) {
        head.push(tx(format!(" → {d}")));
    }
    head.push(m(format!(
        " · on {} ({}), worker {}",
        lv.node,
        type_label(lv),
        lv.worker
    )));
    let state = t.merge_state();
    let mut lines = vec![
        Line::from(head),
        kv(
            "state",
            vec![
                Span::styled(state_text(t, true), state_style(t, theme)),
                m(format!(" — {}", state_meaning(state))),
            ],
            theme,
        ),
    ];
    if let Some(c) = &t.copy {
        lines.push(kv("progress", vec![tx(progress_line(c))], theme));
    }
    if let Some(e) = &t.last_error {
        for (i, line) in e.lines().enumerate() {
            lines.push(kv(
                if i == 0 { "error" } else { "" },
                vec![Span::styled(line.to_string(), theme.error)],
                theme,
            ));
        }
    }
    lines.push(kv(
        "handler",
        vec![match &t.handler {
            Some(h) => tx(h.clone()),
            None => m("none (plain replay)".into()),
        }],
        theme,
    ));
    lines.push(kv(
        "lag",
        vec![match (state, lv.lag) {
            (MergeState::Ok, Some(l)) => Span::styled(dur(l), super::queues::lag_style(l, theme)),
            (MergeState::Ok, None) => m("-".into()),
            _ => m("- (the worker replays it once it is ok)".into()),
        }],
        theme,
    ));
    if t.last_error.is_none() {
        lines.push(kv("error", vec![m("none".into())], theme));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn render_seq(lv: &LondisteView, s: &SeqView, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(format!(" Sequence {} ", s.name), false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let m = |s: String| Span::styled(s, theme.muted);
    let lines = vec![
        Line::from(vec![
            Span::styled(s.name.clone(), theme.title),
            m(format!(
                " · on {} ({}) of {}",
                lv.node,
                type_label(lv),
                lv.queue
            )),
        ]),
        kv(
            "local",
            vec![if s.local && lv.node_type == Some(NodeType::Root) {
                Span::styled("yes: its values are published to the other nodes", theme.ok)
            } else if s.local {
                Span::styled("yes: kept ahead of the root's values", theme.ok)
            } else {
                m("no: known to the set, not kept on this node".into())
            }],
            theme,
        ),
        kv(
            "last value",
            vec![Span::styled(
                s.last_value.map_or_else(|| "-".into(), |v| v.to_string()),
                theme.text,
            )],
            theme,
        ),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The list above, the detail pane below.
pub struct TablesLayout {
    pub table: Rect,
    pub detail: Rect,
}

/// Splits the body: the detail pane shrinks, then goes, on short terminals.
pub fn layout(body: Rect) -> TablesLayout {
    let detail = if body.height >= 26 {
        9
    } else if body.height >= 14 {
        6
    } else {
        0
    };
    let [table, detail] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail)]).areas(body);
    TablesLayout { table, detail }
}

// ----- the add-table picker ------------------------------------------------

/// Choosing which of a node's missing tables to add: typing filters, space
/// marks, enter adds the marked ones (or the one under the cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPicker {
    pub queue: String,
    pub node: String,
    pub worker: String,
    /// Every missing table, in the engine's order.
    pub choices: Vec<String>,
    /// Marked with space.
    pub chosen: BTreeSet<String>,
    pub filter: String,
    /// Position in [`AddPicker::shown`].
    pub cursor: usize,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerKey {
    Stay,
    Cancel,
    /// Enter: these tables.
    Add(Vec<String>),
}

impl AddPicker {
    /// The picker of `lv`'s missing tables, nothing marked.
    pub fn new(lv: &LondisteView) -> AddPicker {
        AddPicker {
            queue: lv.queue.clone(),
            node: lv.node.clone(),
            worker: lv.worker.clone(),
            choices: lv.missing.clone(),
            chosen: BTreeSet::new(),
            filter: String::new(),
            cursor: 0,
        }
    }

    /// Indices into `choices` that match the filter.
    pub fn shown(&self) -> Vec<usize> {
        let t = terms(&self.filter);
        self.choices
            .iter()
            .enumerate()
            .filter(|(_, c)| matches(&t, &[c.as_str()]))
            .map(|(i, _)| i)
            .collect()
    }

    /// The table under the cursor.
    pub fn current(&self) -> Option<&str> {
        let shown = self.shown();
        shown.get(self.cursor).map(|&i| self.choices[i].as_str())
    }

    /// The marked tables, in the engine's order.
    pub fn selection(&self) -> Vec<String> {
        self.choices
            .iter()
            .filter(|c| self.chosen.contains(*c))
            .cloned()
            .collect()
    }

    /// `Add tables to stats_branch (stats_branch_worker)`.
    pub fn title(&self) -> String {
        format!("Add tables to {} ({})", self.node, self.worker)
    }

    /// Handles one key.
    pub fn key(&mut self, key: &KeyEvent) -> PickerKey {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let n = self.shown().len();
        let last = n.saturating_sub(1);
        match key.code {
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => self.cursor = (self.cursor + 1).min(last),
            KeyCode::PageUp => self.cursor = self.cursor.saturating_sub(10),
            KeyCode::PageDown => self.cursor = (self.cursor + 10).min(last),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = last,
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.cursor = 0;
            }
            KeyCode::Esc => return PickerKey::Cancel,
            KeyCode::Char('c') if ctrl => return PickerKey::Cancel,
            KeyCode::Char('a') if ctrl => {
                let shown: Vec<String> = self
                    .shown()
                    .iter()
                    .map(|&i| self.choices[i].clone())
                    .collect();
                if shown.iter().all(|c| self.chosen.contains(c)) {
                    for c in &shown {
                        self.chosen.remove(c);
                    }
                } else {
                    self.chosen.extend(shown);
                }
            }
            KeyCode::Char(' ') if !ctrl && !alt => {
                if let Some(c) = self.current().map(str::to_string) {
                    if !self.chosen.remove(&c) {
                        self.chosen.insert(c);
                    }
                }
            }
            KeyCode::Backspace => {
                self.filter.pop();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                self.filter.push(c);
                self.cursor = 0;
            }
            KeyCode::Enter => {
                let mut sel = self.selection();
                if sel.is_empty() {
                    sel.extend(self.current().map(str::to_string));
                }
                if !sel.is_empty() {
                    return PickerKey::Add(sel);
                }
            }
            _ => {}
        }
        PickerKey::Stay
    }
}

/// Draws the picker over `area` (the view's body).
pub fn render_picker(p: &AddPicker, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let shown = p.shown();
    let name_w = p.choices.iter().map(|c| width(c)).max().unwrap_or(0);
    let help = "space mark · ctrl-a all · enter add · esc cancel";
    let body_w = (name_w + 8)
        .max(width(&p.title()) + 4)
        .max(width(help))
        .max(44);
    let w = (body_w as u16 + 4).min(area.width.saturating_sub(2));
    let h = (shown.len().max(1) as u16 + 5).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let inner = popup_padded(r, buf, &p.title(), theme);
    let [filter, list, _, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let marked = format!("{} of {} marked", p.chosen.len(), p.choices.len());
    let filter_line = if p.filter.is_empty() {
        Line::from(vec![
            Span::styled("filter: ", theme.muted),
            Span::styled("type to filter", theme.muted),
            Span::styled(format!(" · {marked}"), theme.muted),
        ])
    } else {
        Line::from(vec![
            Span::styled("filter: ", theme.muted),
            Span::styled(p.filter.clone(), theme.input),
            Span::styled(format!(" · {} shown · {marked}", shown.len()), theme.muted),
        ])
    };
    Paragraph::new(filter_line).render(filter, buf);
    let height = usize::from(list.height);
    if shown.is_empty() {
        Paragraph::new(Line::from(Span::styled(
            if p.choices.is_empty() {
                "nothing to add"
            } else {
                "no table matches the filter — esc clears it"
            },
            theme.muted,
        )))
        .render(list, buf);
    } else {
        let start =
            crate::widgets::table::visible_range(shown.len(), Some(p.cursor), 0, height).start;
        let rows: Vec<Line> = shown
            .iter()
            .enumerate()
            .skip(start)
            .take(height)
            .map(|(pos, &i)| {
                let name = &p.choices[i];
                let sel = pos == p.cursor;
                let mark = if p.chosen.contains(name) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let style = if sel { theme.selected } else { theme.text };
                Line::from(vec![
                    Span::styled(if sel { "> " } else { "  " }, style),
                    Span::styled(format!("{mark} "), style),
                    Span::styled(
                        truncate(name, usize::from(list.width).saturating_sub(6)),
                        style,
                    ),
                ])
            })
            .collect();
        Paragraph::new(rows).render(list, buf);
    }
    Paragraph::new(Line::from(Span::styled(help, theme.muted))).render(hint, buf);
}
