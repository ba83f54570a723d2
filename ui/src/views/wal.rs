//! WAL: every walmgr job, a two-line row group each. Masters show their
//! current position and segment, the archive backlog, the last archived
//! segment and its age, archived and failed counts; standbys what they
//! have received and replayed, how far behind they are (bytes and time)
//! and where their WAL comes from (streaming, the archive); markers flag
//! what needs a look (ERROR, FAILING, BACKLOG, LAGGING, PAUSED …). The
//! selected job is shown in full below, then its base backups, newest
//! first. Backup now and sync (masters), pause, continue and boot
//! (standbys; boot after typing the job's name) start here.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Widget, Wrap};

use crate::describe::describe;
use crate::fmt::{ago, bytes, dash, dur, dur_opt, first_line, grouped, truncate};
use crate::keys::{movement, Binding, Intent, Key};
use crate::model::{Action, Level, Snapshot, WalBackupView, WalRole, WalSource, WalView};
use crate::theme::Theme;
use crate::widgets::table::{self, lcell, rcell, Col, DataTable, Nav};
use crate::widgets::typed::TypedConfirm;
use crate::widgets::wrap::{wrap, wrap_after, NBSP};
use crate::widgets::{block, centered, first_marker, kv, popup_padded};

use super::{matches, terms};

/// Lines per job in the list.
pub const ROW_H: u16 = 2;

/// Something about a job an operator should see in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalMarker {
    /// Reading the job failed (server down, archive unreadable …).
    Error,
    /// Master: the last archive attempt failed (a failure newer than the
    /// last success).
    Failing,
    /// Master: a failure within [`WalView::RECENT_FAILURE`]; archiving
    /// works since.
    RecentFailure,
    /// Master: segments pile up for the archiver.
    Backlog(Level),
    /// Standby: far behind, in bytes or in time.
    Lagging(Level),
    /// Standby: replay paused.
    Paused,
    /// No base backup at all.
    NoBackup,
}

impl WalMarker {
    /// As the list and the detail pane write it: `FAILING`.
    pub fn label(self) -> &'static str {
        match self {
            WalMarker::Error => "ERROR",
            WalMarker::Failing => "FAILING",
            WalMarker::RecentFailure => "FAILED",
            WalMarker::Backlog(_) => "BACKLOG",
            WalMarker::Lagging(_) => "LAGGING",
            WalMarker::Paused => "PAUSED",
            WalMarker::NoBackup => "NO BACKUP",
        }
    }

    /// How it is coloured: warn or error.
    pub fn level(self) -> Level {
        match self {
            WalMarker::Error | WalMarker::Failing => Level::Error,
            WalMarker::Backlog(l) | WalMarker::Lagging(l) => l,
            WalMarker::RecentFailure | WalMarker::Paused | WalMarker::NoBackup => Level::Warn,
        }
    }
}

/// The markers the status line counts jobs by, the most serious first (a
/// narrow status line cuts the end).
const TALLIED: [&str; 5] = [
    "in error",
    "archive failing",
    "backlog",
    "lagging",
    "paused",
];

impl WalMarker {
    /// Where the status line counts a job with this marker: its index in
    /// [`TALLIED`]; `None` when the line does not count it.
    fn tally(self) -> Option<usize> {
        match self {
            WalMarker::Error => Some(0),
            WalMarker::Failing => Some(1),
            WalMarker::Backlog(_) => Some(2),
            WalMarker::Lagging(_) => Some(3),
            WalMarker::Paused => Some(4),
            WalMarker::RecentFailure | WalMarker::NoBackup => None,
        }
    }
}

/// `master` or `standby`.
pub fn role_label(r: WalRole) -> &'static str {
    match r {
        WalRole::Master => "master",
        WalRole::Standby => "standby",
    }
}

/// `streaming`, `archive`, `promoted` or `unknown`.
pub fn source_label(s: WalSource) -> &'static str {
    match s {
        WalSource::Unknown => "unknown",
        WalSource::Streaming => "streaming",
        WalSource::Archive => "archive",
        WalSource::Promoted => "promoted",
    }
}

/// What the job is doing, in a word: `archiving` for a master (`unknown`
/// when it could not be read), the WAL source for a standby.
pub fn mode(w: &WalView) -> &'static str {
    match w.role {
        WalRole::Master if w.current_lsn.is_none() && w.error.is_some() => "unknown",
        WalRole::Master => "archiving",
        WalRole::Standby => source_label(w.source),
    }
}

/// The job's markers, the most serious first.
pub fn markers(w: &WalView) -> Vec<WalMarker> {
    let mut m = Vec::new();
    if w.error.is_some() {
        m.push(WalMarker::Error);
    }
    match w.role {
        WalRole::Master => {
            if w.archive_failing() {
                m.push(WalMarker::Failing);
            } else if w.recent_failure() {
                m.push(WalMarker::RecentFailure);
            }
            let b = w.backlog_level();
            if b != Level::Info {
                m.push(WalMarker::Backlog(b));
            }
        }
        WalRole::Standby if w.source != WalSource::Promoted => {
            let l = w.lag_level();
            if l != Level::Info {
                m.push(WalMarker::Lagging(l));
            }
            if w.paused {
                m.push(WalMarker::Paused);
            }
        }
        WalRole::Standby => {}
    }
    if w.backups.is_empty() {
        m.push(WalMarker::NoBackup);
    }
    // Stable: among equals, the order above.
    m.sort_by_key(|x| std::cmp::Reverse(x.level()));
    m
}

/// Jobs in display order: masters first, then by name.
pub fn order(snap: &Snapshot) -> Vec<usize> {
    let mut v: Vec<usize> = (0..snap.wal.len()).collect();
    v.sort_by(|&a, &b| {
        let (x, y) = (&snap.wal[a], &snap.wal[b]);
        (x.role == WalRole::Standby, &x.worker).cmp(&(y.role == WalRole::Standby, &y.worker))
    });
    v
}

/// `backlog 212` (`backlog -` when not read).
fn backlog_text(w: &WalView) -> String {
    match w.archive_backlog {
        Some(n) => format!("backlog {}", grouped(n)),
        None => "backlog -".into(),
    }
}

/// How far behind a standby is: `984 MB (14m05s) behind`, either alone
/// when only one is known; `None` when neither is.
pub fn lag_text(w: &WalView) -> Option<String> {
    match (w.lag_bytes, w.lag) {
        (Some(b), Some(l)) => Some(format!("{} ({}) behind", bytes(b), dur(l))),
        (Some(b), None) => Some(format!("{} behind", bytes(b))),
        (None, Some(l)) => Some(format!("{} behind", dur(l))),
        (None, None) => None,
    }
}

/// The WAL view's state: filter, rows (indices into `Snapshot::wal`) and
/// cursor.
#[derive(Debug, Clone, Default)]
pub struct WalState {
    /// As typed after `/`.
    pub filter: String,
    /// The jobs shown, in display order (indices into `Snapshot::wal`).
    pub rows: Vec<usize>,
    /// Cursor and scroll position over `rows`.
    pub nav: Nav,
    /// The selected job's name (survives new snapshots).
    selected: Option<String>,
}

impl WalState {
    /// Recomputes the rows after new data or a filter; the cursor stays on
    /// the same job while it is there.
    pub fn rebuild(&mut self, snap: &Snapshot) {
        let t = terms(&self.filter);
        let mut fields: Vec<&str> = Vec::new();
        self.rows = order(snap)
            .into_iter()
            .filter(|&i| {
                let w = &snap.wal[i];
                let marks = markers(w);
                fields.clear();
                fields.extend([
                    w.worker.as_str(),
                    role_label(w.role),
                    mode(w),
                    w.data_dir.as_str(),
                    w.archive_dir.as_str(),
                ]);
                fields.extend(marks.iter().map(|m| m.label()));
                fields.extend(w.error.as_deref());
                matches(&t, &fields)
            })
            .collect();
        self.nav.set_len(self.rows.len());
        if let Some(name) = self.selected.clone() {
            if let Some(pos) = self.position(snap, &name) {
                self.nav.selected = pos;
            }
        }
        self.remember(snap);
    }

    fn position(&self, snap: &Snapshot, worker: &str) -> Option<usize> {
        self.rows
            .iter()
            .position(|&i| snap.wal.get(i).is_some_and(|w| w.worker == worker))
    }

    fn remember(&mut self, snap: &Snapshot) {
        self.selected = self.job(snap).map(|w| w.worker.clone());
    }

    /// The selected job.
    pub fn job<'s>(&self, snap: &'s Snapshot) -> Option<&'s WalView> {
        snap.wal.get(*self.rows.get(self.nav.selected()?)?)
    }

    /// Puts the cursor on the job `worker` (clearing the filter if it
    /// hides it); false when there is no such job.
    pub fn select(&mut self, snap: &Snapshot, worker: &str) -> bool {
        let mut pos = self.position(snap, worker);
        if pos.is_none() && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild(snap);
            pos = self.position(snap, worker);
        }
        let Some(pos) = pos else { return false };
        self.nav.select(pos);
        self.remember(snap);
        true
    }

    /// Moves the cursor; false when `intent` is not a movement.
    pub fn navigate(&mut self, snap: &Snapshot, intent: Intent, body: Rect) -> bool {
        let rows = self.job(snap).map_or(0, |w| detail_height(w, body.width));
        let list = layout(body, self.rows.len(), rows).list;
        let moved = self.nav.apply(intent, table::viewport_tall(list, ROW_H));
        if moved {
            self.remember(snap);
        }
        moved
    }

    /// Keys for the selected job: every WAL key is bound (a key for the
    /// other role says why it does not apply); the bar shows the ones for
    /// this job's role.
    pub fn bindings(&self, snap: &Snapshot) -> Vec<Binding> {
        let mut b = Vec::new();
        movement(&mut b);
        let Some(w) = self.job(snap) else { return b };
        let master = w.role == WalRole::Master;
        let shown = |x: Binding, on: bool| if on { x } else { x.help_only() };
        b.push(shown(
            Binding::new(key_set![Key::ch('b')], "b", "backup now", Intent::WalBackup).changing(),
            master,
        ));
        b.push(shown(
            Binding::new(key_set![Key::ch('s')], "s", "sync", Intent::WalSync).changing(),
            master,
        ));
        b.push(shown(
            Binding::new(
                key_set![Key::ch('p')],
                "p",
                "pause replay",
                Intent::WalPause,
            )
            .changing(),
            !master,
        ));
        b.push(shown(
            Binding::new(key_set![Key::ch('c')], "c", "continue", Intent::WalContinue).changing(),
            !master,
        ));
        b.push(shown(
            Binding::new(
                key_set![Key::ch('P')],
                "P",
                "promote (boot)",
                Intent::WalBoot,
            )
            .changing(),
            !master,
        ));
        b
    }

    /// The status line: jobs by role and what needs a look.
    pub fn status(&self, snap: &Snapshot) -> String {
        let n = snap.wal.len();
        if n == 0 {
            return "no walmgr jobs".into();
        }
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        let masters = snap
            .wal
            .iter()
            .filter(|w| w.role == WalRole::Master)
            .count();
        let standbys = n - masters;
        let mut s = format!(
            "{n} walmgr job{} ({masters} master{}, {standbys} standby{})",
            plural(n),
            plural(masters),
            if standbys == 1 { "" } else { "s" }
        );
        // Jobs by the markers they show (one of each kind at most), so
        // the line always agrees with the list.
        let mut tally = [0usize; TALLIED.len()];
        for w in &snap.wal {
            for m in markers(w) {
                if let Some(i) = m.tally() {
                    tally[i] += 1;
                }
            }
        }
        for (k, what) in tally.into_iter().zip(TALLIED) {
            if k > 0 {
                s.push_str(&format!(" · {k} {what}"));
            }
        }
        s
    }

    /// Draws the list, the selected job and its backups into `area` (the
    /// view's body).
    pub fn render(&self, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
        if super::has_data(snap) && snap.wal.is_empty() {
            render_empty(theme, area, buf);
            return;
        }
        let job = self.job(snap);
        let text_w = usize::from(area.width.saturating_sub(2));
        let lines = job
            .map(|w| detail_lines(w, theme, text_w))
            .unwrap_or_default();
        let rows = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        let l = layout(area, self.rows.len(), rows);
        let wide = l.list.width >= 102;
        let empty = if !super::has_data(snap) {
            super::WAITING
        } else {
            "no walmgr job matches the filter — esc clears it"
        };
        DataTable {
            title: Line::from(table::title(
                "WAL jobs",
                &self.nav,
                snap.wal.len(),
                &self.filter,
            )),
            cols: if wide { WIDE } else { NARROW },
            nav: self.nav,
            cursor: true,
            focused: true,
            theme,
            empty,
        }
        .render_tall(l.list, buf, ROW_H, |i| {
            (
                job_cells(&snap.wal[self.rows[i]], wide, theme),
                Style::new(),
            )
        });
        if l.detail.height > 0 {
            match job {
                Some(w) => {
                    let b = block(format!(" Job {} ", w.worker), false, theme);
                    let inner = b.inner(l.detail);
                    b.render(l.detail, buf);
                    Paragraph::new(lines).render(inner, buf);
                }
                None => block(" Job ", false, theme).render(l.detail, buf),
            }
        }
        if l.backups.height > 0 {
            if let Some(w) = job {
                render_backups(w, theme, l.backups, buf);
            }
        }
    }
}

/// Columns when there is room.
const WIDE: &[Col] = &[
    Col::left("Job", 20, 0),
    Col::left("State", 11, 1),
    Col::left("WAL", 24, 2),
    Col::right("Lag/backlog", 12, 3),
    Col::left("Archive", 21, 4),
    Col::left("Last backup", 11, 5),
    Col::grow("Error", 12, 6),
];

/// Columns for 80 columns: the archive before the last backup.
const NARROW: &[Col] = &[
    Col::left("Job", 14, 0),
    Col::left("State", 10, 1),
    Col::left("WAL", 24, 2),
    Col::right("Lag/backlog", 11, 3),
    Col::left("Archive", 15, 4),
    Col::left("Backup", 9, 5),
    Col::grow("Error", 8, 6),
];

/// A cell of two lines.
fn two<'a>(a: Span<'a>, b: Span<'a>) -> Cell<'a> {
    Cell::from(Text::from(vec![Line::from(a), Line::from(b)]))
}

/// A right-aligned cell of two lines.
fn two_right<'a>(a: Span<'a>, b: Span<'a>) -> Cell<'a> {
    Cell::from(Text::from(vec![
        Line::from(a).right_aligned(),
        Line::from(b).right_aligned(),
    ]))
}

/// The markers as one cell line: the most serious, `+n` for more; `ok`.
fn marker_span<'a>(w: &WalView, theme: &Theme) -> Span<'a> {
    match first_marker(&markers(w), WalMarker::label) {
        None => Span::styled("ok", theme.ok),
        Some((text, first)) => Span::styled(text, theme.level(first.level())),
    }
}

/// `37 failed · 40.0s` (the age of the last failure when `with_age`),
/// styled by how recent; `0 failed` muted.
fn failures_text(w: &WalView, with_age: bool, theme: &Theme) -> (String, Style) {
    if w.failed_count == 0 {
        return ("0 failed".into(), theme.muted);
    }
    let mut s = format!("{} failed", grouped(w.failed_count));
    if let Some(a) = w.last_failed_age.filter(|_| with_age) {
        s.push_str(&format!(" · {}", dur(a)));
    }
    let style = if w.archive_failing() {
        theme.error
    } else if w.recent_failure() {
        theme.warn
    } else {
        theme.muted
    };
    (s, style)
}

fn job_cells<'a>(w: &WalView, wide: bool, theme: &Theme) -> Vec<Cell<'a>> {
    let m = |s: String| Span::styled(s, theme.muted);
    let tx = |s: String| Span::styled(s, theme.text);
    let name_w = if wide { 20 } else { 14 };
    let job = two(
        Span::styled(truncate(&w.worker, name_w), theme.title),
        m(role_label(w.role).into()),
    );
    let state = two(tx(mode(w).into()), marker_span(w, theme));
    let (pos, behind, archive) = match w.role {
        WalRole::Master => {
            let pos = two(
                tx(format!("current {}", dash(w.current_lsn.as_deref()))),
                m(dash(w.current_segment.as_deref())),
            );
            let backlog = backlog_text(w);
            let behind = two_right(
                Span::styled(backlog, theme.level(w.backlog_level())),
                m(String::new()),
            );
            let last = match w.last_archived_age {
                Some(a) => tx(format!("last {}", ago(Some(a)))),
                None => m("none archived".into()),
            };
            let (fail, style) = failures_text(w, wide, theme);
            (pos, behind, two(last, Span::styled(fail, style)))
        }
        WalRole::Standby => {
            let pos = two(
                tx(format!("received {}", dash(w.receive_lsn.as_deref()))),
                tx(format!("replayed {}", dash(w.replay_lsn.as_deref()))),
            );
            let style = theme.level(w.lag_level());
            let behind = if w.source == WalSource::Promoted {
                two_right(m("-".into()), m(String::new()))
            } else {
                two_right(
                    Span::styled(dur_opt(w.lag), style),
                    Span::styled(w.lag_bytes.map_or_else(|| "-".into(), bytes), style),
                )
            };
            let archive = two(
                m(format!("{} segments", grouped(w.archive_segments))),
                m(bytes(w.archive_bytes)),
            );
            (pos, behind, archive)
        }
    };
    let backup = match w.backups.first() {
        Some(b) => two(tx(ago(b.age)), m(bytes(b.size))),
        None => two(Span::styled("none", theme.warn), m(String::new())),
    };
    let mut err = w.error.as_deref().unwrap_or_default().lines();
    let error = two(
        Span::styled(err.next().unwrap_or_default().to_string(), theme.error),
        Span::styled(err.next().unwrap_or_default().to_string(), theme.error),
    );
    vec![job, state, pos, behind, archive, backup, error]
}

/// The selected job in full, every line wrapped to `text_w` cells (the
/// values' continuation lines under the value): as many lines as rows.
fn detail_lines<'a>(w: &WalView, theme: &Theme, text_w: usize) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    for (i, line) in detail_kv(w, theme).into_iter().enumerate() {
        let mut first = line.spans;
        // The head wraps as a whole; the others after their label.
        let body = first.split_off(usize::from(i > 0).min(first.len()));
        out.extend(wrap_after(first, &body, text_w));
    }
    out
}

/// The height of the selected job's detail in a body `area_w` wide: its
/// lines, as drawn (the theme does not change them).
fn detail_height(w: &WalView, area_w: u16) -> u16 {
    let text_w = usize::from(area_w.saturating_sub(2));
    let n = detail_lines(w, &Theme::default(), text_w).len();
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The head line, then `label value` lines.
fn detail_kv<'a>(w: &WalView, theme: &Theme) -> Vec<Line<'a>> {
    let m = |s: String| Span::styled(s, theme.muted);
    let tx = |s: String| Span::styled(s, theme.text);
    let mut head = vec![
        Span::styled(w.worker.clone(), theme.title),
        m(format!(" · {} · ", role_label(w.role))),
        tx(mode(w).into()),
    ];
    for mk in markers(w) {
        head.push(Span::raw(" "));
        // `NO BACKUP` stays on one line.
        head.push(Span::styled(
            mk.label().replace(' ', &NBSP.to_string()),
            theme.level(mk.level()),
        ));
    }
    let mut lines = vec![Line::from(head)];
    if let Some(e) = &w.error {
        for (i, line) in e.lines().enumerate() {
            lines.push(kv(
                if i == 0 { "error" } else { "" },
                vec![Span::styled(line.to_string(), theme.error)],
                theme,
            ));
        }
    }
    lines.push(kv("data", vec![tx(dash(Some(&w.data_dir)))], theme));
    lines.push(kv(
        "archive",
        vec![
            tx(dash(Some(&w.archive_dir))),
            m(format!(
                " · {} segments · {}",
                grouped(w.archive_segments),
                bytes(w.archive_bytes)
            )),
        ],
        theme,
    ));
    match w.role {
        WalRole::Master => {
            let backlog = backlog_text(w);
            lines.push(kv(
                "current",
                vec![
                    tx(dash(w.current_lsn.as_deref())),
                    m(format!(
                        " · segment {} · ",
                        dash(w.current_segment.as_deref())
                    )),
                    Span::styled(backlog, theme.level(w.backlog_level())),
                ],
                theme,
            ));
            let mut archived = vec![tx(dash(w.last_archived.as_deref()))];
            if let Some(a) = w.last_archived_age {
                archived.push(m(format!(" · {}", ago(Some(a)))));
            }
            archived.push(m(format!(" · {} in all", grouped(w.archived_count))));
            lines.push(kv("archived", archived, theme));
            let failures = if w.failed_count == 0 {
                vec![m("none".into())]
            } else {
                let (_, style) = failures_text(w, false, theme);
                let mut s = format!(
                    "{} · last {}",
                    grouped(w.failed_count),
                    dash(w.last_failed.as_deref())
                );
                if let Some(a) = w.last_failed_age {
                    s.push_str(&format!(" {}", ago(Some(a))));
                }
                vec![Span::styled(s, style)]
            };
            lines.push(kv("failures", failures, theme));
        }
        WalRole::Standby => {
            lines.push(kv(
                "source",
                vec![match w.source {
                    WalSource::Streaming => tx("streaming from the primary (walreceiver)".into()),
                    WalSource::Archive => {
                        tx("archive: restoring segments (restore_command)".into())
                    }
                    WalSource::Promoted => {
                        Span::styled("promoted: out of recovery, read-write", theme.info)
                    }
                    WalSource::Unknown => m("unknown (not read, or the server is down)".into()),
                }],
                theme,
            ));
            lines.push(kv(
                "position",
                vec![
                    m("received ".into()),
                    tx(dash(w.receive_lsn.as_deref())),
                    m(" · replayed ".into()),
                    tx(dash(w.replay_lsn.as_deref())),
                ],
                theme,
            ));
            if w.source != WalSource::Promoted {
                let style = theme.level(w.lag_level());
                lines.push(kv(
                    "lag",
                    vec![
                        Span::styled(w.lag_bytes.map_or_else(|| "-".into(), bytes), style),
                        m(" · ".into()),
                        Span::styled(dur_opt(w.lag), style),
                    ],
                    theme,
                ));
                lines.push(kv(
                    "replay",
                    vec![if w.paused {
                        Span::styled("PAUSED — c continues", theme.warn)
                    } else {
                        m("running — p pauses".into())
                    }],
                    theme,
                ));
            }
        }
    }
    lines.push(kv(
        "retention",
        vec![tx(dash(Some(w.retention.as_str())))],
        theme,
    ));
    lines.push(kv(
        "backups",
        vec![match w.backups.first() {
            Some(b) => m(format!(
                "{} · newest {}{} ({} stored)",
                w.backups.len(),
                b.age
                    .map_or_else(String::new, |a| format!("{}, ", ago(Some(a)))),
                bytes(b.size),
                bytes(b.stored)
            )),
            None => Span::styled("none yet", theme.warn),
        }],
        theme,
    ));
    lines
}

/// Backup columns.
const BACKUP_COLS: &[Col] = &[
    Col::grow("Backup", 18, 0),
    Col::right("Finished", 10, 1),
    Col::right("Size", 9, 2),
    Col::right("Stored", 9, 3),
    Col::left("Start WAL", 24, 2),
];

fn backup_cells<'a>(b: &WalBackupView, theme: &Theme) -> Vec<Cell<'a>> {
    vec![
        lcell(b.name.clone(), theme.text),
        rcell(ago(b.age), theme.text),
        rcell(bytes(b.size), theme.text),
        rcell(bytes(b.stored), theme.muted),
        lcell(b.start_wal.clone(), theme.muted),
    ]
}

fn render_backups(w: &WalView, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let n = w.backups.len();
    let title = format!(
        " Backups of {} · {n}{} ",
        w.worker,
        if n > 1 { ", newest first" } else { "" }
    );
    let empty = match w.role {
        WalRole::Master => "no base backup yet — b takes one",
        WalRole::Standby => "no base backup in the archive",
    };
    let mut nav = Nav::default();
    nav.set_len(n);
    DataTable {
        title: Line::from(title),
        cols: BACKUP_COLS,
        nav,
        cursor: false,
        focused: false,
        theme,
        empty,
    }
    .render(area, buf, |i| {
        (backup_cells(&w.backups[i], theme), Style::new())
    });
}

fn render_empty(theme: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(" WAL ", true, theme);
    let inner = b.inner(area);
    b.render(area, buf);
    let lines = vec![
        Line::from(Span::styled(
            "no walmgr jobs in this deck: add a [walmgr] job file to config_list",
            theme.text,
        )),
        Line::from(Span::styled(
            "(a job with master_data is a master, one with slave_data a standby)",
            theme.muted,
        )),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The list above, the selected job and its backups below.
pub struct WalLayout {
    pub list: Rect,
    pub detail: Rect,
    pub backups: Rect,
}

/// Splits the body: the list as tall as its jobs (at least three of them
/// when it has to scroll), the detail pane `detail_rows` tall (and its border),
/// the backups the rest (gone when fewer than one row fits).
pub fn layout(body: Rect, jobs: usize, detail_rows: u16) -> WalLayout {
    let h = body.height;
    let jobs = u16::try_from(jobs.max(1)).unwrap_or(u16::MAX);
    let list_want = jobs.saturating_mul(ROW_H).saturating_add(3);
    let list_min = list_want.min(3 * ROW_H + 3);
    let detail_want = if detail_rows == 0 {
        0
    } else {
        detail_rows.saturating_add(2)
    };
    let list = list_want
        .min(
            h.saturating_sub(detail_want.saturating_add(4))
                .max(list_min),
        )
        .min(h);
    let rest = h - list;
    let mut detail = detail_want.min(rest);
    let mut backups = rest - detail;
    if backups < 4 {
        detail += backups;
        backups = 0;
    }
    let [list, detail, backups] = Layout::vertical([
        Constraint::Length(list),
        Constraint::Length(detail),
        Constraint::Length(backups),
    ])
    .areas(body);
    WalLayout {
        list,
        detail,
        backups,
    }
}

// ----- boot: the typed confirmation ------------------------------------------

/// Promoting a standby (`walmgr boot`): nothing is sent until the
/// operator has typed the job's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootConfirm {
    pub worker: String,
    /// What is true of the standby now, and what promoting it does.
    pub notes: Vec<String>,
    /// The job's name, typed so far.
    pub confirm: TypedConfirm,
}

impl BootConfirm {
    /// The confirmation for the standby `w`.
    pub fn new(w: &WalView) -> BootConfirm {
        let mut now = format!(
            "now: {} · replayed {}",
            mode(w),
            dash(w.replay_lsn.as_deref())
        );
        if let Some(behind) = lag_text(w) {
            now.push_str(&format!(" · {behind}"));
        }
        if w.paused {
            now.push_str(" · replay PAUSED");
        }
        let mut notes = vec![now];
        if let Some(e) = &w.error {
            notes.push(format!("reading this job failed: {}", first_line(e)));
        }
        notes.extend([
            format!("recovery ends: {} becomes a read-write primary on a new timeline", w.worker),
            "it stops following its master: stop or fence the old master first — two primaries split the data".into(),
            "there is no way back: to be a standby again it needs a new base backup".into(),
        ]);
        BootConfirm {
            worker: w.worker.clone(),
            notes,
            confirm: TypedConfirm::new(w.worker.clone()),
        }
    }

    /// The boot it confirms.
    pub fn action(&self) -> Action {
        Action::WalBoot {
            worker: self.worker.clone(),
        }
    }

    /// `Promote standby walmgr_dr?`
    pub fn title(&self) -> String {
        format!("Promote standby {}?", self.worker)
    }
}

/// Draws the boot confirmation over `area` (the whole screen).
pub fn render_boot(b: &BootConfirm, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let pw = area.width.saturating_sub(4).min(88);
    let w = usize::from(pw.saturating_sub(4)).max(1);
    let mut lines: Vec<Line> = wrap(&describe(&b.action()), w)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, theme.text)))
        .collect();
    lines.push(Line::default());
    for (i, n) in b.notes.iter().enumerate() {
        let style = if i == 0 { theme.text } else { theme.warn };
        for (k, part) in wrap(n, w.saturating_sub(2)).into_iter().enumerate() {
            let mark = match (i, k) {
                (0, _) | (_, 1..) => "  ",
                _ => "! ",
            };
            lines.push(Line::from(vec![
                Span::styled(mark, theme.warn),
                Span::styled(part, style),
            ]));
        }
    }
    lines.push(Line::default());
    lines.extend(b.confirm.lines(
        "To promote, type the job name",
        &format!("enter promotes {}", b.worker),
        theme,
    ));
    let want = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let r = centered(area, pw, want.min(area.height.saturating_sub(2)));
    let inner = popup_padded(r, buf, &b.title(), theme);
    // Keep the prompt in view on a short screen: drop lines from the top.
    let skip = lines.len().saturating_sub(usize::from(inner.height));
    let shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    Paragraph::new(shown).render(inner, buf);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn master() -> WalView {
        WalView {
            worker: "m".into(),
            role: WalRole::Master,
            last_archived_age: Some(Duration::from_secs(10)),
            backups: vec![WalBackupView::default()],
            ..WalView::default()
        }
    }

    #[test]
    fn failing_means_a_failure_newer_than_the_last_success() {
        let mut w = master();
        assert!(markers(&w).is_empty());
        w.failed_count = 3;
        w.last_failed_age = Some(Duration::from_secs(4 * 86_400));
        assert!(!w.archive_failing() && !w.recent_failure());
        assert!(markers(&w).is_empty(), "an old failure is history");
        w.last_failed_age = Some(Duration::from_secs(600));
        assert_eq!(markers(&w), [WalMarker::RecentFailure]);
        w.last_failed_age = Some(Duration::from_secs(5));
        assert!(w.archive_failing());
        w.archive_backlog = Some(WalView::BACKLOG_ERROR);
        w.error = Some("x".into());
        assert_eq!(
            markers(&w),
            [
                WalMarker::Error,
                WalMarker::Failing,
                WalMarker::Backlog(Level::Error)
            ]
        );
        w.last_archived_age = None;
        assert!(w.archive_failing(), "never archived, failed: failing");
    }

    #[test]
    fn standby_lag_by_bytes_or_time() {
        let mut w = WalView {
            role: WalRole::Standby,
            source: WalSource::Streaming,
            lag_bytes: Some(952),
            lag: Some(Duration::from_millis(850)),
            backups: vec![WalBackupView::default()],
            ..WalView::default()
        };
        assert_eq!(w.lag_level(), Level::Info);
        w.lag_bytes = Some(WalView::LAG_BYTES_WARN);
        assert_eq!(w.lag_level(), Level::Warn);
        w.lag = Some(Duration::from_secs(600));
        assert_eq!(w.lag_level(), Level::Error);
        w.paused = true;
        assert_eq!(
            markers(&w),
            [WalMarker::Lagging(Level::Error), WalMarker::Paused]
        );
        w.source = WalSource::Promoted;
        assert!(markers(&w).is_empty(), "a promoted standby lags nothing");
        w.backups.clear();
        assert_eq!(markers(&w), [WalMarker::NoBackup]);
    }

    #[test]
    fn status_counts_what_the_markers_show() {
        // A promoted standby whose PAUSE file is left over: the engine
        // says paused, but nothing is paused any more.
        let promoted = WalView {
            worker: "old_standby".into(),
            role: WalRole::Standby,
            source: WalSource::Promoted,
            paused: true,
            lag: Some(Duration::from_secs(900)),
            backups: vec![WalBackupView::default()],
            ..WalView::default()
        };
        assert!(markers(&promoted).is_empty());
        let paused = WalView {
            worker: "standby".into(),
            source: WalSource::Archive,
            ..promoted.clone()
        };
        assert_eq!(
            markers(&paused),
            [WalMarker::Lagging(Level::Error), WalMarker::Paused]
        );
        let mut failing = master();
        failing.failed_count = 1;
        failing.last_failed_age = Some(Duration::from_secs(1));
        failing.error = Some("down".into());
        let snap = Snapshot {
            wal: vec![failing, promoted, paused],
            ..Snapshot::default()
        };
        assert_eq!(
            WalState::default().status(&snap),
            "3 walmgr jobs (1 master, 2 standbys) · 1 in error · 1 archive failing · 1 lagging · 1 paused"
        );
    }

    #[test]
    fn layout_keeps_three_jobs_and_the_detail() {
        let l = layout(Rect::new(0, 0, 120, 29), 4, 9);
        assert_eq!(
            (l.list.height, l.detail.height, l.backups.height),
            (11, 11, 7)
        );
        let l = layout(Rect::new(0, 0, 80, 21), 4, 9);
        assert_eq!(
            (l.list.height, l.detail.height, l.backups.height),
            (9, 12, 0)
        );
        let l = layout(Rect::new(0, 0, 80, 6), 4, 9);
        assert_eq!(l.list.height, 6);
        // A detail as tall as a u16 goes (a very long error): no overflow.
        let l = layout(Rect::new(0, 0, 80, 24), 4, u16::MAX);
        assert_eq!(l.list.height, 9, "the list keeps three jobs");
        assert_eq!(l.detail.height, 15);
    }

    #[test]
    fn boot_wants_the_exact_name() {
        let w = WalView {
            worker: "walmgr_dr".into(),
            role: WalRole::Standby,
            ..WalView::default()
        };
        let b = BootConfirm::new(&w);
        assert_eq!(b.confirm.phrase, "walmgr_dr");
        assert_eq!(
            b.action(),
            Action::WalBoot {
                worker: "walmgr_dr".into()
            }
        );
    }
}
