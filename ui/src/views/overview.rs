//! Overview: every database and every hosted worker, healthy or not, and
//! the alerts. Enter on an alert goes to what it is about.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::fmt::{dur, one_line};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{DatabaseState, Level, Snapshot, WorkerState};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crossterm::event::KeyCode;

use super::{matches, terms};

#[derive(Debug, Clone, Default)]
pub struct OverviewState {
    pub filter: String,
    pub dbs: Vec<usize>,
    pub workers: Vec<usize>,
    pub alerts: Vec<usize>,
    /// The cursor is on the alerts.
    pub nav: Nav,
}

pub(crate) fn level_label(l: Level) -> &'static str {
    match l {
        Level::Trace => "TRACE",
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warn => "WARN",
        Level::Error => "ERROR",
    }
}

pub(crate) fn state_label(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Starting => "starting",
        WorkerState::Running => "running",
        WorkerState::Idle => "idle",
        WorkerState::Paused => "paused",
        WorkerState::Backoff => "backoff",
        WorkerState::Stopped => "stopped",
        WorkerState::Failed => "FAILED",
    }
}

impl OverviewState {
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        self.dbs = (0..snap.databases.len())
            .filter(|&i| {
                let d = &snap.databases[i];
                let state = match d.state {
                    DatabaseState::Up { .. } => "up",
                    DatabaseState::Down { .. } => "down",
                };
                matches(&t, &[&d.name, state])
            })
            .collect();
        self.workers = (0..snap.workers.len())
            .filter(|&i| {
                let w = &snap.workers[i];
                matches(
                    &t,
                    &[
                        &w.name,
                        &w.kind,
                        state_label(w.state),
                        w.last_error.as_deref().unwrap_or(""),
                    ],
                )
            })
            .collect();
        self.alerts = (0..snap.alerts.len())
            .filter(|&i| {
                let a = &snap.alerts[i];
                matches(&t, &[&a.source, &a.message, level_label(a.level)])
            })
            .collect();
        self.nav.set_len(self.alerts.len());
    }

    pub fn alert_source<'s>(&self, snap: &'s Snapshot) -> Option<&'s str> {
        let i = *self.alerts.get(self.nav.selected()?)?;
        snap.alerts.get(i).map(|a| a.source.as_str())
    }

    pub fn navigate(&mut self, intent: Intent, snap: &Snapshot, body: Rect) -> bool {
        let l = layout(body, snap);
        self.nav.apply(intent, table::viewport(l.alerts))
    }

    pub fn bindings(&self) -> Vec<Binding> {
        let mut b = Vec::new();
        if self.nav.len > 0 {
            movement(&mut b);
            b.push(Binding::new(
                key_set![Key::code(KeyCode::Enter)],
                "enter",
                "go to source",
                Intent::Open,
            ));
        }
        b
    }

    pub fn status(&self, snap: &Snapshot) -> String {
        let down = snap
            .databases
            .iter()
            .filter(|d| matches!(d.state, DatabaseState::Down { .. }))
            .count();
        let bad = snap
            .workers
            .iter()
            .filter(|w| matches!(w.state, WorkerState::Backoff | WorkerState::Failed))
            .count();
        format!(
            "{} databases ({down} down) · {} workers ({bad} failing) · {} alerts",
            snap.databases.len(),
            snap.workers.len(),
            snap.alerts.len()
        )
    }

    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let l = layout(area, snap);
        summary(snap, theme).render(l.summary, buf);
        // `Workers 8`, `Workers 3 of 8 (filter)`, `Workers 8 (5 more: 3 Workers)`.
        let note = |name: &str, n: usize, total: usize, area: Rect, key: &str| {
            let mut s = if n == total {
                format!(" {name} {total}")
            } else {
                format!(" {name} {n} of {total}")
            };
            let shown = table::viewport(area);
            if n > shown {
                s.push_str(&format!(" ({} more: {key})", n - shown));
            }
            s.push(' ');
            s
        };
        let waiting = !super::has_data(snap);

        const DB_COLS: &[Col] = &[
            Col::left("Database", 18, 0),
            Col::left("State", 5, 0),
            Col::left("Server", 7, 3),
            Col::left("PgQ", 5, 2),
            Col::right("Queues", 6, 4),
            Col::grow("Detail", 20, 1),
        ];
        let mut nav = Nav::default();
        nav.set_len(self.dbs.len());
        DataTable {
            title: Line::from(note(
                "Databases",
                self.dbs.len(),
                snap.databases.len(),
                l.dbs,
                "/ filters",
            )),
            cols: DB_COLS,
            nav,
            cursor: false,
            focused: false,
            theme,
            empty: if waiting {
                super::WAITING
            } else {
                "no databases in this deck"
            },
        }
        .render(l.dbs, buf, |i| {
            let d = &snap.databases[self.dbs[i]];
            let queues = snap.queues.iter().filter(|q| q.database == d.name).count();
            let cells = match &d.state {
                DatabaseState::Up {
                    server_version,
                    pgq_version,
                } => vec![
                    lcell(d.name.clone(), theme.text),
                    lcell("up", theme.ok),
                    lcell(server_version.clone(), theme.muted),
                    match pgq_version {
                        Some(v) => lcell(v.clone(), theme.muted),
                        None => lcell("none", theme.warn),
                    },
                    rcell(queues.to_string(), theme.text),
                    match pgq_version {
                        Some(_) => lcell(d.connstr.clone(), theme.muted),
                        None => lcell("PgQ is not installed (skydeck install)", theme.warn),
                    },
                ],
                DatabaseState::Down {
                    error,
                    down_for,
                    retry_in,
                } => vec![
                    lcell(d.name.clone(), theme.error),
                    lcell("DOWN", theme.error),
                    lcell("-", theme.muted),
                    lcell("-", theme.muted),
                    rcell(queues.to_string(), theme.muted),
                    lcell(
                        format!(
                            "{} for {}{}: {}",
                            "down",
                            dur(*down_for),
                            retry_in.map_or(String::new(), |r| format!(", retry in {}", dur(r))),
                            one_line(error)
                        ),
                        theme.error,
                    ),
                ],
            };
            (cells, Style::new())
        });

        const W_COLS: &[Col] = &[
            Col::grow("Worker", 14, 0),
            Col::left("Kind", 8, 3),
            Col::left("State", 8, 0),
            Col::right("For", 6, 2),
            Col::right("Rst", 3, 4),
            Col::grow("Last error", 20, 1),
        ];
        let mut nav = Nav::default();
        nav.set_len(self.workers.len());
        DataTable {
            title: Line::from(note(
                "Workers",
                self.workers.len(),
                snap.workers.len(),
                l.workers,
                "3 Workers",
            )),
            cols: W_COLS,
            nav,
            cursor: false,
            focused: false,
            theme,
            empty: if waiting { "" } else { "no hosted workers" },
        }
        .render(l.workers, buf, |i| {
            let w = &snap.workers[self.workers[i]];
            let error = w.last_error.as_deref().map(one_line).unwrap_or_default();
            let error = match (w.state, w.retry_in) {
                (WorkerState::Backoff, Some(r)) => format!("restart in {} — {error}", dur(r)),
                _ => error,
            };
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
                    lcell(error, theme.error),
                ],
                Style::new(),
            )
        });

        const A_COLS: &[Col] = &[
            Col::left("Level", 5, 0),
            Col::left("Source", 18, 1),
            Col::right("Since", 6, 2),
            Col::grow("Message", 30, 0),
        ];
        DataTable {
            title: Line::from(table::title(
                "Alerts",
                &self.nav,
                snap.alerts.len(),
                &self.filter,
            )),
            cols: A_COLS,
            nav: self.nav,
            cursor: true,
            focused: true,
            theme,
            empty: if waiting {
                ""
            } else {
                "no alerts — all is well"
            },
        }
        .render(l.alerts, buf, |i| {
            let a = &snap.alerts[self.alerts[i]];
            (
                vec![
                    lcell(level_label(a.level), theme.level(a.level)),
                    lcell(a.source.clone(), theme.text),
                    rcell(dur(a.since), theme.muted),
                    lcell(one_line(&a.message), theme.level(a.level).patch(theme.text)),
                ],
                Style::new(),
            )
        });
    }
}

fn summary<'a>(snap: &Snapshot, theme: &Theme) -> Paragraph<'a> {
    if !super::has_data(snap) {
        return Paragraph::new(Line::from(super::WAITING).style(theme.muted));
    }
    let down = snap
        .databases
        .iter()
        .filter(|d| matches!(d.state, DatabaseState::Down { .. }))
        .count();
    let consumers: usize = snap.queues.iter().map(|q| q.consumers.len()).sum();
    let mut spans = vec![Span::styled(
        format!(" {} databases", snap.databases.len()),
        theme.text,
    )];
    if down > 0 {
        spans.push(Span::styled(format!(" ({down} down)"), theme.error));
    }
    spans.push(Span::styled(
        format!(" · {} queues · {consumers} consumers", snap.queues.len()),
        theme.text,
    ));
    let errors = snap
        .alerts
        .iter()
        .filter(|a| a.level == Level::Error)
        .count();
    spans.push(Span::styled(
        format!(" · {} alerts", snap.alerts.len()),
        theme.text,
    ));
    if errors > 0 {
        spans.push(Span::styled(format!(" ({errors} errors)"), theme.error));
    }
    spans.push(Span::styled(
        format!(" · {} workers", snap.workers.len()),
        theme.text,
    ));
    let order = [
        WorkerState::Running,
        WorkerState::Idle,
        WorkerState::Starting,
        WorkerState::Paused,
        WorkerState::Backoff,
        WorkerState::Failed,
        WorkerState::Stopped,
    ];
    let mut parts = Vec::new();
    for s in order {
        let n = snap.workers.iter().filter(|w| w.state == s).count();
        if n > 0 {
            parts.push(Span::styled(
                format!("{n} {}", state_label(s)),
                theme.worker_state(s),
            ));
        }
    }
    if !parts.is_empty() {
        spans.push(Span::styled(" (", theme.muted));
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(", ", theme.muted));
            }
            spans.push(p);
        }
        spans.push(Span::styled(")", theme.muted));
    }
    Paragraph::new(Line::from(spans))
}

pub struct OverviewLayout {
    pub summary: Rect,
    pub dbs: Rect,
    pub workers: Rect,
    pub alerts: Rect,
}

/// Wide terminals put databases and workers side by side.
pub fn layout(body: Rect, snap: &Snapshot) -> OverviewLayout {
    let [summary, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let avail = rest.height;
    let alerts_min = (snap.alerts.len() as u16 + 3)
        .clamp(4, 8)
        .min((avail / 2).max(4))
        .min(avail);
    let rows = |n: usize| (n.max(1) as u16).saturating_add(3);
    if body.width >= 110 {
        let top = rows(snap.databases.len().max(snap.workers.len()))
            .min(avail.saturating_sub(alerts_min))
            .max(avail.min(4));
        let [top, alerts] =
            Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(rest);
        let [dbs, workers] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
        OverviewLayout {
            summary,
            dbs,
            workers,
            alerts,
        }
    } else {
        let room = avail.saturating_sub(alerts_min);
        let dbs_h = rows(snap.databases.len()).min(room / 2).max(room.min(4));
        let mut workers_h = rows(snap.workers.len()).min(room.saturating_sub(dbs_h));
        if workers_h < 4 {
            // A table with no room for a row helps nobody; alerts take it.
            workers_h = 0;
        }
        let [dbs, workers, alerts] = Layout::vertical([
            Constraint::Length(dbs_h),
            Constraint::Length(workers_h),
            Constraint::Min(0),
        ])
        .areas(rest);
        OverviewLayout {
            summary,
            dbs,
            workers,
            alerts,
        }
    }
}
