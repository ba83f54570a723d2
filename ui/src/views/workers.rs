//! Workers: every task the supervisor hosts, its state, restarts and last
//! error; the selected one in full below.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::fmt::{dur, dur_opt, one_line};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{Snapshot, WorkerState, WorkerView};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crate::widgets::{block, kv};

use super::overview::state_label;
use super::{matches, terms};

#[derive(Debug, Clone, Default)]
pub struct WorkersState {
    pub filter: String,
    pub rows: Vec<usize>,
    pub nav: Nav,
    selected: Option<String>,
}

impl WorkersState {
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        self.rows = (0..snap.workers.len())
            .filter(|&i| {
                let w = &snap.workers[i];
                let mut fields: Vec<&str> = vec![&w.name, &w.kind, state_label(w.state)];
                fields.extend(w.databases.iter().map(String::as_str));
                fields.push(w.last_error.as_deref().unwrap_or(""));
                matches(&t, &fields)
            })
            .collect();
        self.nav.set_len(self.rows.len());
        if let Some(name) = &self.selected {
            if let Some(pos) = self
                .rows
                .iter()
                .position(|&i| snap.workers[i].name == *name)
            {
                self.nav.selected = pos;
            }
        }
        self.remember(snap);
    }

    fn remember(&mut self, snap: &Snapshot) {
        self.selected = self.worker(snap).map(|w| w.name.clone());
    }

    pub fn worker<'s>(&self, snap: &'s Snapshot) -> Option<&'s WorkerView> {
        let i = *self.rows.get(self.nav.selected()?)?;
        snap.workers.get(i)
    }

    pub fn select(&mut self, snap: &Snapshot, name: &str) -> bool {
        let find = |s: &Self| s.rows.iter().position(|&i| snap.workers[i].name == name);
        let mut pos = find(self);
        if pos.is_none() && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild(snap);
            pos = find(self);
        }
        let Some(pos) = pos else { return false };
        self.nav.select(pos);
        self.remember(snap);
        true
    }

    pub fn navigate(&mut self, snap: &Snapshot, intent: Intent, body: Rect) -> bool {
        let moved = self.nav.apply(intent, table::viewport(layout(body).table));
        if moved {
            self.remember(snap);
        }
        moved
    }

    pub fn bindings(&self, snap: &Snapshot) -> Vec<Binding> {
        let mut b = Vec::new();
        movement(&mut b);
        if let Some(w) = self.worker(snap) {
            let hint = if w.state == WorkerState::Paused {
                "resume"
            } else {
                "pause"
            };
            b.push(Binding::new(key_set![Key::ch('p')], "p", hint, Intent::PauseResume).changing());
            b.push(
                Binding::new(key_set![Key::ch('x')], "x", "restart", Intent::Restart).changing(),
            );
        }
        b
    }

    pub fn status(&self, snap: &Snapshot) -> String {
        let running = snap
            .workers
            .iter()
            .filter(|w| matches!(w.state, WorkerState::Running | WorkerState::Idle))
            .count();
        format!("{} workers · {running} running", snap.workers.len())
    }

    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let l = layout(area);
        const COLS: &[Col] = &[
            Col::grow("Worker", 14, 0),
            Col::left("Kind", 8, 2),
            Col::left("State", 8, 0),
            Col::right("For", 6, 1),
            Col::right("Restarts", 8, 1),
            Col::right("Retry in", 8, 3),
            Col::right("Lag", 7, 3),
            Col::left("Databases", 18, 5),
            Col::grow("Last error", 20, 4),
        ];
        let empty = if !super::has_data(snap) {
            super::WAITING
        } else if snap.workers.is_empty() {
            "no hosted workers (config_list in the deck names the jobs)"
        } else {
            "no worker matches the filter — esc clears it"
        };
        DataTable {
            title: Line::from(table::title(
                "Workers",
                &self.nav,
                snap.workers.len(),
                &self.filter,
            )),
            cols: COLS,
            nav: self.nav,
            cursor: true,
            focused: true,
            theme,
            empty,
        }
        .render(l.table, buf, |i| {
            let w = &snap.workers[self.rows[i]];
            (
                vec![
                    lcell(w.name.clone(), theme.text),
                    lcell(w.kind.clone(), theme.muted),
                    lcell(state_label(w.state), theme.worker_state(w.state)),
                    rcell(dur(w.state_for), theme.muted),
                    rcell(
                        w.restarts.to_string(),
                        if w.restarts > 0 {
                            theme.warn
                        } else {
                            theme.muted
                        },
                    ),
                    rcell(dur_opt(w.retry_in), theme.muted),
                    rcell(
                        dur_opt(w.lag),
                        w.lag
                            .map_or(theme.muted, |l| super::queues::lag_style(l, theme)),
                    ),
                    lcell(w.databases.join(", "), theme.muted),
                    lcell(
                        w.last_error.as_deref().map(one_line).unwrap_or_default(),
                        theme.error,
                    ),
                ],
                Style::new(),
            )
        });
        render_detail(self.worker(snap), theme, l.detail, buf);
    }
}

fn render_detail(w: Option<&WorkerView>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let b = block(" Worker ", false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(w) = w else {
        return;
    };
    let m = |s: String| Span::styled(s, theme.muted);
    let mut state = vec![
        Span::styled(state_label(w.state), theme.worker_state(w.state)),
        m(format!(
            " for {} · {} restarts",
            dur(w.state_for),
            w.restarts
        )),
    ];
    if let Some(r) = w.retry_in {
        state.push(Span::styled(
            format!(" · next start in {}", dur(r)),
            theme.warn,
        ));
    }
    if let Some(l) = w.lag {
        state.push(m(" · lag ".into()));
        state.push(Span::styled(dur(l), super::queues::lag_style(l, theme)));
    }
    let counters = if w.counters.is_empty() {
        vec![m("none".into())]
    } else {
        let s: Vec<String> = w.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
        vec![Span::styled(s.join(" · "), theme.text)]
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(w.name.clone(), theme.title),
            m(format!(" · {} on {}", w.kind, w.databases.join(", "))),
        ]),
        kv("state", state, theme),
        kv("counters", counters, theme),
    ];
    match &w.last_error {
        Some(e) => {
            let mut first = true;
            for line in e.lines() {
                let label = if first { "last error" } else { "" };
                first = false;
                lines.push(kv(
                    label,
                    vec![Span::styled(line.to_string(), theme.error)],
                    theme,
                ));
            }
        }
        None => lines.push(kv("last error", vec![m("none".into())], theme)),
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

pub struct WorkersLayout {
    pub table: Rect,
    pub detail: Rect,
}

pub fn layout(body: Rect) -> WorkersLayout {
    let detail = if body.height >= 16 { 8 } else { 0 };
    let [table, detail] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail)]).areas(body);
    WorkersLayout { table, detail }
}
