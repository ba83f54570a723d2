//! Logs: the tail of the log, filterable by text and minimum level. The
//! only place log lines reach the screen. Follows the tail until scrolled.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::fmt::{clock_ms, one_line};
use crate::keys::{Binding, Intent, Key, BOTTOM, DOWN, PAGE_DOWN, PAGE_UP, TOP, UP};
use crate::model::{Level, Snapshot};
use crate::theme::Theme;
use crate::widgets::block;

use super::overview::level_label;
use super::{matches, terms};

#[derive(Debug, Clone)]
pub struct LogsState {
    pub filter: String,
    pub min_level: Level,
    /// Indexes into `Snapshot::logs` that pass the filter.
    pub rows: Vec<usize>,
    /// First line shown; `None` follows the tail.
    pub top: Option<usize>,
}

impl Default for LogsState {
    fn default() -> Self {
        LogsState {
            filter: String::new(),
            min_level: Level::Trace,
            rows: Vec::new(),
            top: None,
        }
    }
}

impl LogsState {
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        self.rows = (0..snap.logs.len())
            .filter(|&i| {
                let l = &snap.logs[i];
                l.level >= self.min_level
                    && matches(&t, &[&l.target, &l.message, level_label(l.level)])
            })
            .collect();
    }

    /// The first line shown in a viewport of `height`.
    pub fn start(&self, height: usize) -> usize {
        let max = self.rows.len().saturating_sub(height);
        self.top.map_or(max, |t| t.min(max))
    }

    pub fn navigate(&mut self, intent: Intent, body: Rect) -> bool {
        let h = viewport(body);
        let max = self.rows.len().saturating_sub(h);
        let cur = self.start(h);
        let to = match intent {
            Intent::Up => cur.saturating_sub(1),
            Intent::Down => cur + 1,
            Intent::PageUp => cur.saturating_sub(h.max(1)),
            Intent::PageDown => cur + h.max(1),
            Intent::Top => 0,
            Intent::Bottom => max,
            _ => return false,
        };
        self.top = if to >= max { None } else { Some(to) };
        true
    }

    pub fn cycle_level(&mut self) {
        self.min_level = match self.min_level {
            Level::Trace => Level::Debug,
            Level::Debug => Level::Info,
            Level::Info => Level::Warn,
            Level::Warn => Level::Error,
            Level::Error => Level::Trace,
        };
    }

    pub fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(UP, "↑↓", "scroll", Intent::Up),
            Binding::new(DOWN, "j/k", "scroll", Intent::Down).help_only(),
            Binding::new(PAGE_UP, "pgup", "page up", Intent::PageUp).help_only(),
            Binding::new(PAGE_DOWN, "pgdn", "page down", Intent::PageDown).help_only(),
            Binding::new(TOP, "g", "oldest", Intent::Top).help_only(),
            Binding::new(BOTTOM, "G", "follow", Intent::Bottom),
            Binding::new(key_set![Key::ch('v')], "v", "level", Intent::Level),
        ]
    }

    pub fn status(&self, snap: &Snapshot) -> String {
        format!(
            "{} of {} lines · level ≥ {} · {}",
            self.rows.len(),
            snap.logs.len(),
            level_label(self.min_level),
            if self.top.is_none() {
                "following"
            } else {
                "scrolled (G follows)"
            }
        )
    }

    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let mut title = format!(" Logs {}/{}", self.rows.len(), snap.logs.len());
        if self.min_level > Level::Trace {
            title.push_str(&format!(" · level ≥ {}", level_label(self.min_level)));
        }
        if !self.filter.is_empty() {
            title.push_str(&format!(" · filter \"{}\"", self.filter));
        }
        title.push_str(if self.top.is_none() {
            " · following "
        } else {
            " "
        });
        let b = block(title, true, theme);
        let inner = b.inner(area);
        b.render(area, buf);
        let h = usize::from(inner.height);
        if self.rows.is_empty() {
            let msg = if !super::has_data(snap) {
                super::WAITING
            } else if snap.logs.is_empty() {
                "the log is empty"
            } else {
                "no line matches — esc clears the filter, v changes the level"
            };
            Paragraph::new(Line::from(msg).style(theme.muted)).render(inner, buf);
            return;
        }
        let start = self.start(h);
        let end = (start + h).min(self.rows.len());
        let lines: Vec<Line> = self.rows[start..end]
            .iter()
            .map(|&i| {
                let l = &snap.logs[i];
                Line::from(vec![
                    Span::styled(clock_ms(l.time), theme.muted),
                    Span::raw(" "),
                    Span::styled(format!("{:<5}", level_label(l.level)), theme.level(l.level)),
                    Span::raw(" "),
                    Span::styled(format!("{:<14}", l.target), theme.info),
                    Span::raw(" "),
                    Span::styled(one_line(&l.message), theme.level(l.level).patch(theme.text)),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

/// Lines in the log viewport (inside the border).
pub fn viewport(body: Rect) -> usize {
    usize::from(body.height.saturating_sub(2))
}
