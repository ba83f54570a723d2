//! Queues: one row per queue (ticks, lag in seconds and ticks, events/s,
//! rotation and what blocks it, retries), the selected queue's details and
//! its consumers (lag, last seen, pending events).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::fmt::{dur, dur_opt, num_opt, quote_name, rate};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{ConsumerView, QueueView, RotationPhase, Snapshot, TickerMode};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crate::widgets::{block, kv};
use crossterm::event::KeyCode;

use super::{matches, terms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Queues,
    Consumers,
}

/// Row order of the queue table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// As the engine lists them (database, then name).
    #[default]
    Name,
    /// Slowest consumer first.
    ConsumerLag,
    /// Oldest tick first.
    TickLag,
    /// Busiest first.
    Rate,
}

impl QueueSort {
    pub fn next(self) -> QueueSort {
        match self {
            QueueSort::Name => QueueSort::ConsumerLag,
            QueueSort::ConsumerLag => QueueSort::TickLag,
            QueueSort::TickLag => QueueSort::Rate,
            QueueSort::Rate => QueueSort::Name,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            QueueSort::Name => "name",
            QueueSort::ConsumerLag => "consumer lag",
            QueueSort::TickLag => "tick lag",
            QueueSort::Rate => "events/s",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct QueuesState {
    pub filter: String,
    pub sort: QueueSort,
    /// Indexes into `Snapshot::queues`, filtered and sorted.
    pub rows: Vec<usize>,
    pub nav: Nav,
    pub pane: Pane,
    pub consumers: Nav,
    /// The selection by name, so it survives new snapshots.
    selected: Option<(String, String)>,
    selected_consumer: Option<String>,
}

/// The slowest consumer's lag.
fn max_lag(q: &QueueView) -> Option<std::time::Duration> {
    q.consumers.iter().map(|c| c.lag).max()
}

fn rotation_label(p: &RotationPhase) -> String {
    match p {
        RotationPhase::Waiting { due_in } => format!("in {}", dur(*due_in)),
        RotationPhase::Due => "due".into(),
        RotationPhase::HalfDone => "step 2".into(),
        RotationPhase::Blocked { .. } => "BLOCKED".into(),
    }
}

fn ticker_label(t: TickerMode) -> &'static str {
    match t {
        TickerMode::Local => "local",
        TickerMode::External => "ext",
        TickerMode::Paused => "paused",
    }
}

/// Lag's style by [`crate::model::lag_level`]: fine under a minute, a
/// warning under ten.
pub(crate) fn lag_style(lag: std::time::Duration, theme: &Theme) -> Style {
    theme.level(crate::model::lag_level(lag))
}

fn ticker_lag_style(q: &QueueView, theme: &Theme) -> Style {
    if q.ticker != TickerMode::Local {
        return theme.muted;
    }
    let idle = q.idle_period.max(std::time::Duration::from_secs(1));
    if q.ticker_lag > idle * 5 {
        theme.error
    } else if q.ticker_lag > idle * 2 {
        theme.warn
    } else {
        theme.text
    }
}

impl QueuesState {
    /// Recomputes rows after new data, a filter or a sort; the selection
    /// stays on the same queue and consumer when they are still there.
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        let mut rows: Vec<usize> = (0..snap.queues.len())
            .filter(|&i| {
                if t.is_empty() {
                    return true;
                }
                let q = &snap.queues[i];
                let mut fields: Vec<&str> = vec![&q.database, &q.name, ticker_label(q.ticker)];
                if matches!(q.rotation.phase, RotationPhase::Blocked { .. }) {
                    fields.push("blocked");
                }
                fields.extend(q.consumers.iter().map(|c| c.name.as_str()));
                matches(&t, &fields)
            })
            .collect();
        let qs = &snap.queues;
        match self.sort {
            QueueSort::Name => {}
            QueueSort::ConsumerLag => rows.sort_by_key(|&i| std::cmp::Reverse(max_lag(&qs[i]))),
            QueueSort::TickLag => rows.sort_by_key(|&i| std::cmp::Reverse(qs[i].ticker_lag)),
            QueueSort::Rate => rows.sort_by(|&a, &b| {
                let r = |i: usize| qs[i].ev_per_sec.unwrap_or(-1.0);
                r(b).total_cmp(&r(a))
            }),
        }
        self.rows = rows;
        self.nav.set_len(self.rows.len());
        if let Some((db, name)) = &self.selected {
            if let Some(pos) = self
                .rows
                .iter()
                .position(|&i| qs[i].database == *db && qs[i].name == *name)
            {
                self.nav.selected = pos;
            }
        }
        // The same consumer, wherever it moved in the list.
        if let (Some(q), Some(name)) = (self.queue(snap), &self.selected_consumer) {
            let same_queue = self
                .selected
                .as_ref()
                .is_some_and(|(d, n)| q.database == *d && q.name == *n);
            if let Some(pos) = q
                .consumers
                .iter()
                .position(|c| c.name == *name)
                .filter(|_| same_queue)
            {
                self.consumers.set_len(q.consumers.len());
                self.consumers.selected = pos;
            }
        }
        self.remember(snap);
    }

    /// Records the selection by name and fits the consumer table to it.
    pub fn remember(&mut self, snap: &Snapshot) {
        let q = self.queue(snap);
        let key = q.map(|q| (q.database.clone(), q.name.clone()));
        if key != self.selected {
            self.consumers = Nav::default();
            self.selected_consumer = None;
        }
        self.selected = key;
        let consumers = q.map_or(&[][..], |q| q.consumers.as_slice());
        self.consumers.set_len(consumers.len());
        self.selected_consumer = consumers
            .get(self.consumers.selected)
            .map(|c| c.name.clone());
        if consumers.is_empty() {
            self.pane = Pane::Queues;
        }
    }

    pub fn queue<'s>(&self, snap: &'s Snapshot) -> Option<&'s QueueView> {
        self.nav
            .selected()
            .and_then(|i| self.rows.get(i))
            .and_then(|&i| snap.queues.get(i))
    }

    pub fn consumer<'s>(&self, snap: &'s Snapshot) -> Option<&'s ConsumerView> {
        let q = self.queue(snap)?;
        q.consumers.get(self.consumers.selected()?)
    }

    /// Selects a queue by name, clearing a filter that hides it.
    pub fn select_queue(&mut self, snap: &Snapshot, database: &str, queue: &str) -> bool {
        let find = |s: &Self| {
            s.rows
                .iter()
                .position(|&i| snap.queues[i].database == database && snap.queues[i].name == queue)
        };
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

    pub fn select_consumer(&mut self, snap: &Snapshot, consumer: &str) -> bool {
        let Some(pos) = self
            .queue(snap)
            .and_then(|q| q.consumers.iter().position(|c| c.name == consumer))
        else {
            return false;
        };
        self.consumers.select(pos);
        self.pane = Pane::Consumers;
        self.remember(snap);
        true
    }

    /// Moves the focused table's cursor.
    pub fn navigate(&mut self, snap: &Snapshot, intent: Intent, body: Rect) -> bool {
        let l = layout(body, self.pane, self.rows.len());
        let moved = match self.pane {
            Pane::Queues => self.nav.apply(intent, table::viewport(l.table)),
            Pane::Consumers => self.consumers.apply(intent, table::viewport(l.consumers)),
        };
        if moved {
            self.remember(snap);
        }
        moved
    }

    pub fn bindings(&self, snap: &Snapshot) -> Vec<Binding> {
        let mut b = Vec::new();
        movement(&mut b);
        let has_queue = self.queue(snap).is_some();
        match self.pane {
            Pane::Queues => {
                if self.queue(snap).is_some_and(|q| !q.consumers.is_empty()) {
                    b.push(Binding::new(
                        key_set![
                            Key::code(KeyCode::Enter),
                            Key::code(KeyCode::Right),
                            Key::ch('l')
                        ],
                        "enter",
                        "consumers",
                        Intent::Open,
                    ));
                }
                if has_queue {
                    b.push(
                        Binding::new(key_set![Key::ch('t')], "t", "tick", Intent::Tick).changing(),
                    );
                }
                b.push(
                    Binding::new(key_set![Key::ch('n')], "n", "new queue", Intent::NewQueue)
                        .changing(),
                );
                if has_queue {
                    b.push(
                        Binding::new(key_set![Key::ch('e')], "e", "alter", Intent::AlterQueue)
                            .changing(),
                    );
                    b.push(
                        Binding::new(
                            key_set![Key::ch('a')],
                            "a",
                            "add consumer",
                            Intent::RegisterConsumer,
                        )
                        .changing(),
                    );
                    b.push(
                        Binding::new(key_set![Key::ch('d')], "d", "drop queue", Intent::DropQueue)
                            .changing(),
                    );
                }
                b.push(Binding::new(
                    key_set![Key::ch('s')],
                    "s",
                    "sort",
                    Intent::Sort,
                ));
            }
            Pane::Consumers => {
                b.push(Binding::new(
                    key_set![
                        Key::code(KeyCode::Esc),
                        Key::code(KeyCode::Left),
                        Key::ch('h')
                    ],
                    "esc",
                    "queues",
                    Intent::Back,
                ));
                b.push(Binding::new(key_set![Key::ch('t')], "t", "tick", Intent::Tick).changing());
                b.push(
                    Binding::new(
                        key_set![Key::ch('a')],
                        "a",
                        "add consumer",
                        Intent::RegisterConsumer,
                    )
                    .changing(),
                );
                if self.consumer(snap).is_some() {
                    b.push(
                        Binding::new(
                            key_set![Key::ch('d')],
                            "d",
                            "unregister",
                            Intent::UnregisterConsumer,
                        )
                        .changing(),
                    );
                }
            }
        }
        b
    }

    pub fn status(&self, snap: &Snapshot) -> String {
        let mut s = format!("{} queues · sort: {}", snap.queues.len(), self.sort.label());
        let blocked = snap
            .queues
            .iter()
            .filter(|q| matches!(q.rotation.phase, RotationPhase::Blocked { .. }))
            .count();
        if blocked > 0 {
            s.push_str(&format!(" · {blocked} rotation blocked"));
        }
        s
    }

    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let l = layout(area, self.pane, self.rows.len());
        self.render_queues(snap, theme, l.table, buf);
        let q = self.queue(snap);
        render_detail(q, theme, l.detail, buf);
        self.render_consumers(q, theme, l.consumers, buf);
    }

    fn render_queues(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        const COLS: &[Col] = &[
            Col::left("Database", 16, 3),
            Col::grow("Queue", 14, 0),
            Col::left("Ticker", 6, 5),
            Col::right("Tick", 8, 6),
            Col::right("Tick lag", 8, 1),
            Col::right("Ev/s", 7, 2),
            Col::right("New", 6, 7),
            Col::right("Cons", 4, 5),
            Col::right("Max lag", 8, 1),
            Col::right("Ticks", 6, 6),
            Col::right("Retry", 6, 4),
            Col::left("Rotation", 11, 2),
        ];
        let empty = if !super::has_data(snap) {
            super::WAITING
        } else if snap.queues.is_empty() {
            "no queues in this deck — n creates one"
        } else {
            "no queue matches the filter — esc clears it"
        };
        let title = table::title("Queues", &self.nav, snap.queues.len(), &self.filter);
        DataTable {
            title: Line::from(title),
            cols: COLS,
            nav: self.nav,
            cursor: true,
            focused: self.pane == Pane::Queues,
            theme,
            empty,
        }
        .render(area, buf, |i| {
            let q = &snap.queues[self.rows[i]];
            let lag = max_lag(q);
            let lag_ticks = q.consumers.iter().filter_map(|c| c.lag_ticks).max();
            let (rot_style, ticker_style) = (
                match q.rotation.phase {
                    RotationPhase::Blocked { .. } => theme.error,
                    RotationPhase::Due => theme.warn,
                    _ => theme.text,
                },
                match q.ticker {
                    TickerMode::Paused => theme.warn,
                    TickerMode::External => theme.muted,
                    TickerMode::Local => theme.text,
                },
            );
            (
                vec![
                    lcell(q.database.clone(), theme.muted),
                    lcell(q.name.clone(), theme.text),
                    lcell(ticker_label(q.ticker), ticker_style),
                    rcell(q.last_tick_id.to_string(), theme.text),
                    rcell(dur(q.ticker_lag), ticker_lag_style(q, theme)),
                    rcell(rate(q.ev_per_sec), theme.text),
                    rcell(q.ev_new.to_string(), theme.text),
                    rcell(q.consumers.len().to_string(), theme.text),
                    rcell(
                        dur_opt(lag),
                        lag.map_or(theme.muted, |l| lag_style(l, theme)),
                    ),
                    rcell(num_opt(lag_ticks), theme.text),
                    rcell(
                        q.retry_pending.to_string(),
                        if q.retry_pending > 0 {
                            theme.warn
                        } else {
                            theme.muted
                        },
                    ),
                    lcell(rotation_label(&q.rotation.phase), rot_style),
                ],
                Style::new(),
            )
        });
    }

    fn render_consumers(&self, q: Option<&QueueView>, theme: &Theme, area: Rect, buf: &mut Buffer) {
        if area.height == 0 {
            return;
        }
        const COLS: &[Col] = &[
            Col::grow("Consumer", 14, 0),
            Col::right("Lag", 8, 1),
            Col::right("Ticks", 6, 3),
            Col::right("Last seen", 9, 2),
            Col::right("Last tick", 9, 5),
            Col::right("Batch", 8, 4),
            Col::right("Pending", 9, 2),
            Col::right("Retry", 6, 3),
        ];
        let title = match q {
            Some(q) => format!(
                " Consumers of {} ({}) ",
                quote_name(&q.name),
                q.consumers.len()
            ),
            None => " Consumers ".into(),
        };
        let empty = if q.is_some() {
            "no consumers — a registers one"
        } else {
            ""
        };
        DataTable {
            title: Line::from(title),
            cols: COLS,
            nav: self.consumers,
            cursor: self.pane == Pane::Consumers,
            focused: self.pane == Pane::Consumers,
            theme,
            empty,
        }
        .render(area, buf, |i| {
            let Some(c) = q.and_then(|q| q.consumers.get(i)) else {
                return (Vec::new(), Style::new());
            };
            (
                vec![
                    lcell(c.name.clone(), theme.text),
                    rcell(dur(c.lag), lag_style(c.lag, theme)),
                    rcell(num_opt(c.lag_ticks), theme.text),
                    rcell(dur(c.last_seen), lag_style(c.last_seen, theme)),
                    rcell(num_opt(c.last_tick), theme.muted),
                    rcell(num_opt(c.current_batch), theme.muted),
                    rcell(num_opt(c.pending_events), theme.text),
                    rcell(
                        c.retry_pending.to_string(),
                        if c.retry_pending > 0 {
                            theme.warn
                        } else {
                            theme.muted
                        },
                    ),
                ],
                Style::new(),
            )
        });
    }
}

fn render_detail(q: Option<&QueueView>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let b = block(" Queue ", false, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(q) = q else {
        Paragraph::new(Line::from("no queue selected").style(theme.muted)).render(inner, buf);
        return;
    };
    let t = |s: String| Span::styled(s, theme.text);
    let m = |s: String| Span::styled(s, theme.muted);
    let ticker = match q.ticker {
        TickerMode::Local => "local".to_string(),
        TickerMode::External => "from provider".to_string(),
        TickerMode::Paused => "PAUSED".to_string(),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(q.name.clone(), theme.title),
            m(format!(" in {}", q.database)),
        ]),
        kv(
            "ticker",
            vec![
                Span::styled(
                    ticker,
                    if q.ticker == TickerMode::Paused {
                        theme.warn
                    } else {
                        theme.text
                    },
                ),
                t(format!(" · tick {} · ", q.last_tick_id)),
                Span::styled(
                    format!("{} ago", dur(q.ticker_lag)),
                    ticker_lag_style(q, theme),
                ),
            ],
            theme,
        ),
        kv(
            "limits",
            vec![m(format!(
                "max_count {} · max_lag {} · idle {}",
                q.max_count,
                dur(q.max_lag),
                dur(q.idle_period)
            ))],
            theme,
        ),
        kv(
            "events",
            vec![t(format!(
                "{}/s · {} since last tick",
                rate(q.ev_per_sec),
                q.ev_new
            ))],
            theme,
        ),
    ];
    let r = &q.rotation;
    lines.push(kv(
        "rotation",
        vec![t(format!(
            "table {}/{} every {}, switched {} ago",
            r.cur_table,
            r.ntables,
            dur(r.period),
            dur(r.last_switch_age)
        ))],
        theme,
    ));
    let phase = match &r.phase {
        RotationPhase::Waiting { due_in } => t(format!("next in {}", dur(*due_in))),
        RotationPhase::Due => Span::styled("due: the next maintenance round rotates", theme.warn),
        RotationPhase::HalfDone => t("step 1 done, step 2 pending".into()),
        RotationPhase::Blocked { by_consumer } => {
            let who = q.consumers.iter().find(|c| c.name == *by_consumer);
            let lag = who.map_or(String::new(), |c| format!(" (lag {})", dur(c.lag)));
            Span::styled(
                format!("BLOCKED by {}{lag}", quote_name(by_consumer)),
                theme.error,
            )
        }
    };
    lines.push(kv("", vec![phase], theme));
    let batches_style = if q.open_batches > 0 {
        theme.text
    } else {
        theme.muted
    };
    let xact_old = q.oldest_xact_age.is_some_and(|a| a.as_secs() >= 3600);
    lines.push(kv(
        "holding",
        vec![
            Span::styled(
                format!(
                    "{} open batch{}",
                    q.open_batches,
                    if q.open_batches == 1 { "" } else { "es" }
                ),
                batches_style,
            ),
            m(" · oldest xact ".into()),
            Span::styled(
                dur_opt(q.oldest_xact_age),
                if xact_old { theme.warn } else { theme.text },
            ),
        ],
        theme,
    ));
    lines.push(kv(
        "retry",
        vec![Span::styled(
            format!("{} events waiting", q.retry_pending),
            if q.retry_pending > 0 {
                theme.warn
            } else {
                theme.muted
            },
        )],
        theme,
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// Where the queue table, the detail and the consumer table go.
pub struct QueuesLayout {
    pub table: Rect,
    pub detail: Rect,
    pub consumers: Rect,
}

/// Below 100 columns the bottom shows the detail while the queue table
/// has focus, the consumers while they do.
pub fn layout(body: Rect, pane: Pane, rows: usize) -> QueuesLayout {
    // The table takes what its rows need, at least 3/5 of the height when
    // they need more; the bottom keeps at least 10 rows.
    let want = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_add(3)
        .max(6);
    let table_h = want
        .min(body.height.saturating_sub(10).max(body.height * 3 / 5))
        .min(body.height);
    let bottom = body.height - table_h;
    let [table, rest] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(bottom)]).areas(body);
    if body.width >= 100 {
        let [detail, consumers] =
            Layout::horizontal([Constraint::Length(56), Constraint::Min(0)]).areas(rest);
        QueuesLayout {
            table,
            detail,
            consumers,
        }
    } else {
        let empty = Rect::new(rest.x, rest.y, rest.width, 0);
        let (detail, consumers) = match pane {
            Pane::Queues => (rest, empty),
            Pane::Consumers => (empty, rest),
        };
        QueuesLayout {
            table,
            detail,
            consumers,
        }
    }
}
