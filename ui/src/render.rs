//! Drawing the whole screen from the [`App`]: header with the view tabs,
//! the focused view, the command line, the status/toast line and the
//! key-hint bar; popups (completion, help, confirmation, the takeover
//! and its picker, a standby's promotion) on top. Reads the state, never changes it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui::Frame;

use crate::app::{App, InputKind, Then, ToastKind};
use crate::command::help_lines;
use crate::describe::describe;
use crate::fmt::{clock, period, truncate, width};
use crate::views::{has_data, ViewId, VIEWS};
use crate::widgets::{centered, popup, popup_padded};

/// Below this the console shows only "terminal too small".
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;

/// The rows of the screen.
pub struct Screen {
    pub header: Rect,
    pub body: Rect,
    pub input: Option<Rect>,
    pub status: Rect,
    pub hints: Rect,
}

/// The screen's rows for this app state: the status line grows to three
/// rows for a long error (a server error with its DETAIL and HINT).
pub fn screen(area: Rect, app: &App) -> Screen {
    let input = app.input.is_some();
    let status_rows = match &app.toast {
        Some(t) if t.kind == ToastKind::Error => {
            let w = usize::from(area.width.saturating_sub(1)).max(1);
            (width(&t.text) + 1).div_ceil(w).clamp(1, 3) as u16
        }
        _ => 1,
    };
    let [header, body, input_row, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(u16::from(input)),
        Constraint::Length(status_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    Screen {
        header,
        body,
        input: input.then_some(input_row),
        status,
        hints,
    }
}

/// Draws the app and places the cursor in the command line.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    frame.render_widget(app, area);
    if let Some(p) = cursor_position(app, area) {
        frame.set_cursor_position(p);
    }
}

/// Where the terminal cursor goes: in the command line or filter.
pub fn cursor_position(app: &App, area: Rect) -> Option<Position> {
    if too_small(area)
        || app.confirm.is_some()
        || app.help.is_some()
        || app.takeover_open()
        || app.picker.is_some()
        || app.add_picker.is_some()
        || app.boot.is_some()
        || app.report.is_some()
    {
        return None;
    }
    let line = app.input.as_ref()?;
    let r = screen(area, app).input?;
    let pw = prefix_width(line, r);
    let w = usize::from(r.width).saturating_sub(pw + 1);
    let scroll = line.input.visual_scroll(w);
    let x = line.input.visual_cursor().saturating_sub(scroll);
    Some(Position::new(r.x + (pw + x) as u16, r.y))
}

/// Cells the input row's prefix takes (a long prompt label is cut to
/// leave room for the value).
fn prefix_width(line: &crate::app::InputLine, r: Rect) -> usize {
    width(&line.prefix()).min(usize::from(r.width).saturating_sub(20).max(1))
}

fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if too_small(area) {
            render_too_small(area, buf, self);
            return;
        }
        let s = screen(area, self);
        header(self, s.header, buf);
        let snap = &self.snapshot;
        let theme = &self.theme;
        match self.view {
            ViewId::Overview => self.overview.render(snap, theme, s.body, buf),
            ViewId::Queues => self.queues.render(snap, theme, s.body, buf),
            ViewId::Workers => self.workers.render(snap, theme, s.body, buf),
            ViewId::Logs => self.logs.render(snap, theme, s.body, buf),
            ViewId::Nodes => self.nodes.render(snap, theme, s.body, buf),
            ViewId::Tables => self.tables.render(snap, theme, s.body, buf),
            ViewId::Wal => self.wal.render(snap, theme, s.body, buf),
        }
        if let Some(r) = s.input {
            input_line(self, r, buf);
        }
        status_line(self, s.status, buf);
        hint_bar(self, s.hints, buf);
        if let Some(r) = s.input {
            completion_menu(self, r, s.body, buf);
        }
        if let Some(scroll) = self.help {
            help(self, scroll, area, buf);
        }
        if let Some(p) = &self.picker {
            crate::takeover::render_picker(p, snap, theme, s.body, buf);
        }
        if let Some(p) = &self.add_picker {
            crate::views::tables::render_picker(p, theme, s.body, buf);
        }
        if self.report.is_some() {
            report(self, area, buf);
        }
        if let Some(b) = &self.boot {
            crate::views::wal::render_boot(b, theme, area, buf);
        }
        if self.confirm.is_some() {
            confirm(self, area, buf);
        }
        if let Some(t) = self.takeover.as_ref().filter(|t| !t.hidden) {
            crate::takeover::render(t, theme, self.now, area, buf);
        }
    }
}

fn render_too_small(area: Rect, buf: &mut Buffer, app: &App) {
    let text = Text::from(vec![
        Line::from(format!(
            "terminal too small: {}×{}",
            area.width, area.height
        ))
        .style(app.theme.warn),
        Line::from(format!("skydeck needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::from("(q quits)").style(app.theme.muted),
    ]);
    let h = 3.min(area.height);
    let r = Rect::new(area.x, area.y + (area.height - h) / 2, area.width, h);
    Paragraph::new(text)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(r, buf);
}

fn header(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    buf.set_style(area, t.header);
    let snap = &app.snapshot;
    let mut right: Vec<Span> = Vec::new();
    if app.read_only() {
        right.push(Span::styled(" READ-ONLY ", t.badge));
        right.push(Span::raw(" "));
    }
    if app.frozen {
        right.push(Span::styled(" FROZEN ", t.badge));
        right.push(Span::raw(" "));
    }
    right.push(Span::styled(
        format!("↻ {} ", period(app.refresh)),
        t.header,
    ));
    right.push(Span::styled(
        if has_data(snap) {
            format!("{} ", clock(snap.taken_at))
        } else {
            "no data yet ".into()
        },
        t.header,
    ));
    let right_w: usize = right.iter().map(|s| width(&s.content)).sum();
    let avail = usize::from(area.width).saturating_sub(right_w + 1);

    let mut left = vec![Span::styled(" skydeck ", t.tab_active)];
    if !snap.deck.is_empty() {
        left.push(Span::styled(
            format!(" {} ", truncate(&snap.deck, 24)),
            t.header,
        ));
    }
    let used: usize = left.iter().map(|s| width(&s.content)).sum();
    let tab_w = |short: bool| -> usize {
        VIEWS
            .iter()
            .map(|v| {
                let title = if short && v.id != app.view {
                    0
                } else {
                    width(v.title) + 1
                };
                width(v.key_label) + title + 3
            })
            .sum()
    };
    let short = used + tab_w(false) > avail;
    if used + tab_w(true) > avail && left.len() > 1 {
        // Too narrow for the deck's name too.
        left.pop();
    }
    for v in VIEWS {
        let label = if short && v.id != app.view {
            format!(" {} ", v.key_label)
        } else {
            format!(" {} {} ", v.key_label, v.title)
        };
        let style = if v.id == app.view {
            t.tab_active
        } else {
            t.tab
        };
        left.push(Span::styled(label, style));
        left.push(Span::styled(" ", t.header));
    }
    Paragraph::new(Line::from(left)).render(area, buf);
    Paragraph::new(Line::from(right))
        .alignment(Alignment::Right)
        .render(area, buf);
}

fn input_line(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(line) = &app.input else { return };
    let t = &app.theme;
    let pw = prefix_width(line, area);
    let prefix = truncate(&line.prefix(), pw);
    let w = usize::from(area.width).saturating_sub(pw + 1);
    let scroll = line.input.visual_scroll(w);
    let value: String = {
        // Skip `scroll` columns.
        let mut skipped = 0;
        line.value()
            .chars()
            .skip_while(|c| {
                let cw = width(&c.to_string());
                if skipped + cw <= scroll {
                    skipped += cw;
                    true
                } else {
                    false
                }
            })
            .collect()
    };
    Paragraph::new(Line::from(vec![
        Span::styled(prefix, t.key),
        Span::styled(value, t.input),
    ]))
    .render(area, buf);
}

fn completion_menu(app: &App, input: Rect, body: Rect, buf: &mut Buffer) {
    let Some(menu) = app.input.as_ref().and_then(|l| l.menu.as_ref()) else {
        return;
    };
    let t = &app.theme;
    let n = menu.candidates.len();
    let rows = n.min(8) as u16;
    let h = (rows + 2).min(body.height);
    if h < 3 {
        return;
    }
    let w = menu
        .candidates
        .iter()
        .map(|c| width(&c.display))
        .max()
        .unwrap_or(0)
        .max(12) as u16
        + 4;
    let value = app.input.as_ref().map_or("", |l| l.value());
    let col = width(&value[..menu.start.min(value.len())]) as u16;
    let x = (input.x + 1 + col)
        .min(input.right().saturating_sub(w))
        .max(input.x);
    let area = Rect::new(x, input.y.saturating_sub(h), w.min(input.width), h);
    let title = format!("{n} matches");
    let inner = popup(area, buf, &title, t);
    let height = usize::from(inner.height);
    let sel = menu.selected.unwrap_or(0);
    let start = crate::widgets::table::visible_range(n, Some(sel), 0, height).start;
    let lines: Vec<Line> = menu.candidates[start..(start + height).min(n)]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let style = if menu.selected == Some(start + i) {
                t.selected
            } else {
                t.text
            };
            Line::from(Span::styled(format!(" {} ", c.display), style))
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let line = if let Some(toast) = &app.toast {
        let style = match toast.kind {
            ToastKind::Info => t.info,
            ToastKind::Ok => t.ok,
            ToastKind::Error => t.error,
        };
        Paragraph::new(Line::from(Span::styled(format!(" {}", toast.text), style)))
            .wrap(Wrap { trim: false })
            .render(area, buf);
        return;
    } else if let Some(first) = app.pending.first() {
        let more = if app.pending.len() > 1 {
            format!(" (+{} more)", app.pending.len() - 1)
        } else {
            String::new()
        };
        Line::from(Span::styled(
            format!(" ⋯ waiting: {}{more}", describe(first)),
            t.info,
        ))
    } else {
        let snap = &app.snapshot;
        let s = match app.view {
            ViewId::Overview => app.overview.status(snap),
            ViewId::Queues => app.queues.status(snap),
            ViewId::Workers => app.workers.status(snap),
            ViewId::Logs => app.logs.status(snap),
            ViewId::Nodes => app.nodes.status(snap),
            ViewId::Tables => app.tables.status(snap),
            ViewId::Wal => app.wal.status(snap),
        };
        Line::from(Span::styled(format!(" {s}"), t.muted))
    };
    Paragraph::new(line).render(area, buf);
}

/// Keys of the focused component, most useful first; `? help` and `q quit`
/// always fit.
fn hint_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let items: Vec<(&str, &str, Style)> = if let Some(tk) =
        app.takeover.as_ref().filter(|tk| !tk.hidden)
    {
        tk.hints()
            .into_iter()
            .map(|(k, h)| (k, h, t.hint))
            .collect()
    } else if app.picker.is_some() {
        vec![
            ("↑↓", "move", t.hint),
            ("enter", "dry run", t.hint),
            ("esc", "cancel", t.hint),
        ]
    } else if app.confirm.is_some() {
        vec![("y/enter", "confirm", t.hint), ("n/esc", "cancel", t.hint)]
    } else if app.add_picker.is_some() {
        vec![
            ("↑↓", "move", t.hint),
            ("space", "mark", t.hint),
            ("ctrl-a", "mark all", t.hint),
            ("enter", "add", t.hint),
            ("esc", "cancel", t.hint),
        ]
    } else if app.boot.is_some() {
        vec![
            ("type", "the job name", t.hint),
            ("enter", "promote when typed", t.hint),
            ("esc", "cancel", t.hint),
        ]
    } else if app.report.is_some() {
        vec![("↑↓", "scroll", t.hint), ("enter/esc", "close", t.hint)]
    } else if app.help.is_some() {
        vec![("↑↓", "scroll", t.hint), ("esc", "close", t.hint)]
    } else if let Some(line) = &app.input {
        match line.kind {
            InputKind::Command => vec![
                ("tab", "complete", t.hint),
                ("enter", "run", t.hint),
                ("↑↓", "history", t.hint),
                ("esc", "cancel", t.hint),
            ],
            InputKind::Filter => vec![("enter", "keep filter", t.hint), ("esc", "cancel", t.hint)],
            InputKind::Prompt => vec![
                ("enter", "next: confirm", t.hint),
                ("esc", "cancel", t.hint),
            ],
        }
    } else {
        let ro = app.read_only();
        app.bindings()
            .into_iter()
            .filter(|b| b.bar)
            .map(|b| {
                (
                    b.label,
                    b.hint,
                    if ro && b.changes_state {
                        t.muted
                    } else {
                        t.hint
                    },
                )
            })
            .collect()
    };
    let cost = |(k, h, _): &(&str, &str, Style)| width(k) + width(h) + 4;
    let (tail, head): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|(k, _, _)| *k == "?" || *k == "q");
    let mut budget =
        usize::from(area.width).saturating_sub(tail.iter().map(cost).sum::<usize>() + 1);
    let mut shown = Vec::new();
    for item in head {
        let c = cost(&item);
        if c <= budget {
            budget -= c;
            shown.push(item);
        }
    }
    shown.extend(tail);
    let mut spans = vec![Span::raw(" ")];
    for (k, h, style) in shown {
        let key_style = if style == t.muted { t.muted } else { t.key };
        spans.push(Span::styled(k.to_string(), key_style));
        spans.push(Span::styled(format!(" {h}   "), style));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn help(app: &App, scroll: u16, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let r = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    let inner = popup(r, buf, "Help", t);
    let mut lines: Vec<Line> = Vec::new();
    let section = |s: String| Line::from(Span::styled(s, t.title));
    lines.push(section(format!("Keys — {}", app.view.title())));
    let own = app.view_bindings();
    if own.is_empty() {
        lines.push(Line::from(Span::styled(
            "  (none besides the ones below)",
            t.muted,
        )));
    }
    for b in &own {
        lines.push(key_line(b.label, b.hint, b.changes_state, t));
    }
    lines.push(Line::default());
    lines.push(section("Keys — everywhere".into()));
    for b in &app.global_bindings(&own) {
        lines.push(key_line(b.label, b.hint, b.changes_state, t));
    }
    lines.push(key_line(
        "ctrl-c",
        "quit (twice: without asking again)",
        false,
        t,
    ));
    lines.push(Line::default());
    lines.push(section("Views (key, or :name)".into()));
    for v in VIEWS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<10}", v.key_label), t.key),
            Span::styled(format!("{:<12}", v.name), t.text),
            Span::styled(v.about, t.muted),
        ]));
    }
    lines.push(Line::default());
    lines.push(section(
        "Commands (: then the command; tab completes, ↑↓ recall)".into(),
    ));
    let uw = help_lines()
        .iter()
        .map(|(u, _)| width(u))
        .max()
        .unwrap_or(0)
        .min(60);
    for (usage, about) in help_lines() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {usage:<uw$}  "), t.text),
            Span::styled(about, t.muted),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "  Names with spaces go in double quotes: drop queue \"billing events\". <db> is a database as the Overview names it.",
        t.muted,
    )));
    lines.push(Line::from(Span::styled(
        "  Everything that changes state asks first, naming what it touches; a read-only console refuses it.",
        t.muted,
    )));
    lines.push(Line::from(Span::styled(
        "  Switchover and failover show the engine's dry run first and run only once you type the node's name.",
        t.muted,
    )));
    let max = (lines.len() as u16).saturating_sub(inner.height);
    Paragraph::new(lines)
        .scroll((scroll.min(max), 0))
        .render(inner, buf);
}

fn key_line<'a>(label: &'a str, hint: &'a str, changes: bool, t: &crate::theme::Theme) -> Line<'a> {
    let mut spans = vec![
        Span::styled(format!("  {label:<10}"), t.key),
        Span::styled(hint, t.text),
    ];
    if changes {
        spans.push(Span::styled(" (asks first)", t.muted));
    }
    Line::from(spans)
}

/// An answer to read: a compare's result, line by line.
fn report(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(r) = &app.report else { return };
    let t = &app.theme;
    let body_w = r
        .lines
        .iter()
        .map(|l| width(l) + 2)
        .max()
        .unwrap_or(0)
        .max(width(&r.title) + 4)
        .max(36);
    let w = (body_w as u16 + 4)
        .min(100)
        .min(area.width.saturating_sub(2));
    let inner_w = usize::from(w.saturating_sub(4)).max(1);
    let rows: usize = r
        .lines
        .iter()
        .map(|l| width(l).div_ceil(inner_w).max(1))
        .sum();
    let h = (rows as u16 + 4).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    let inner = popup_padded(rect, buf, &r.title, t);
    let [body, _, buttons] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let style = if r.ok { t.text } else { t.error };
    let lines: Vec<Line> = r
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(l.clone(), style)))
        .collect();
    let max = (rows as u16).saturating_sub(body.height);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((r.scroll.min(max), 0))
        .render(body, buf);
    Paragraph::new(Line::from(vec![
        Span::styled("enter", t.key),
        Span::styled(" close", t.text),
    ]))
    .alignment(Alignment::Center)
    .render(buttons, buf);
}

fn confirm(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(c) = &app.confirm else { return };
    let t = &app.theme;
    let body_w = c
        .lines
        .iter()
        .chain(&c.notes)
        .map(|l| width(l) + 2)
        .max()
        .unwrap_or(0)
        .max(width(&c.title) + 4)
        .max(36);
    let w = (body_w as u16 + 4)
        .min(90)
        .min(area.width.saturating_sub(2));
    let inner_w = usize::from(w.saturating_sub(4)).max(1);
    // Wrapped height of the body.
    let rows = |s: &str| width(s).div_ceil(inner_w).max(1);
    let body_rows: usize = c.lines.iter().map(|l| rows(l)).sum::<usize>()
        + c.notes
            .iter()
            .map(|l| rows(&format!("! {l}")))
            .sum::<usize>()
        + usize::from(!c.notes.is_empty());
    let h = (body_rows as u16 + 4).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let inner = popup_padded(r, buf, &c.title, t);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(l.clone(), t.text)))
        .collect();
    if !c.notes.is_empty() {
        lines.push(Line::default());
        for n in &c.notes {
            lines.push(Line::from(Span::styled(format!("! {n}"), t.warn)));
        }
    }
    let [body, _, buttons] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(body, buf);
    let yes = match c.then {
        Then::Quit => "quit",
        Then::Send(_) => "yes",
    };
    Paragraph::new(Line::from(vec![
        Span::styled("y", t.key),
        Span::styled(format!(" {yes}    "), t.text),
        Span::styled("n", t.key),
        Span::styled(" cancel", t.text),
    ]))
    .alignment(Alignment::Center)
    .render(buttons, buf);
}
