//! Switchover and failover, keyboard-driven: pick the new root, read the
//! engine's dry run (every check, the numbered steps, the subscribers that
//! follow), type the confirmation that names the nodes, then watch each
//! step live until it ends.
//!
//! [`Takeover`] is the flow's state; the app feeds it keys and the
//! engine's replies, and [`render`] draws it (reading, never changing).
//!
//! ```text
//! Planning ──plan──▶ Plan ──typed name + enter──▶ Running ──result──▶ Finished
//!    │                 │ (a check failed, or read-only: no way on)
//!    └─error──▶ PlanFailed
//! ```

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::cascade;
use crate::fmt::{dur, width};
use crate::model::{
    Action, ActionResult, ActionUpdate, NodeView, Snapshot, TakeoverKind, TakeoverPlan,
};
use crate::theme::Theme;
use crate::widgets::typed::TypedConfirm;
use crate::widgets::wrap::{wrap, wrap_after};
use crate::widgets::{centered, popup, popup_padded};

/// One step the engine reported, and when (since the action began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub text: String,
    pub at: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The plan was asked for at `asked`.
    Planning { asked: Instant },
    /// The engine could not make one.
    PlanFailed { error: String },
    /// The dry run, and the confirmation: the [`Takeover::phrase`] typed
    /// so far.
    Plan {
        plan: TakeoverPlan,
        received: Instant,
        confirm: TypedConfirm,
    },
    /// Sent at `started`; the steps reported so far and the one under way.
    Running {
        plan: TakeoverPlan,
        started: Instant,
        steps: Vec<Step>,
        current: Option<Step>,
        writes_refused: Option<Duration>,
    },
    /// Ended; on an error, `failed_at` is the step that was under way.
    Finished {
        plan: TakeoverPlan,
        steps: Vec<Step>,
        ok: bool,
        message: String,
        total: Duration,
        writes_refused: Option<Duration>,
        failed_at: Option<Step>,
    },
}

/// A switchover or failover in the making.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takeover {
    pub queue: String,
    pub old: String,
    pub new: String,
    pub kind: TakeoverKind,
    /// The other subscribers of `old` read from `new` too.
    pub all: bool,
    /// A read-only console shows the dry run and nothing more.
    pub read_only: bool,
    /// Behind the view while it runs or after it ended (esc); `o` in the
    /// Nodes view brings it back.
    pub hidden: bool,
    pub stage: Stage,
    /// How far the plan is scrolled.
    pub scroll: u16,
}

impl Takeover {
    pub fn new(
        queue: String,
        old: String,
        new: String,
        kind: TakeoverKind,
        all: bool,
        read_only: bool,
        now: Instant,
    ) -> Takeover {
        Takeover {
            queue,
            old,
            new,
            kind,
            all: all || kind != TakeoverKind::Switchover,
            read_only,
            hidden: false,
            stage: Stage::Planning { asked: now },
            scroll: 0,
        }
    }

    /// The dry-run request.
    pub fn plan_request(&self) -> Action {
        Action::TakeoverPlan {
            queue: self.queue.clone(),
            old: self.old.clone(),
            new: self.new.clone(),
            kind: self.kind,
            all: self.all,
        }
    }

    /// The takeover itself.
    pub fn action(&self) -> Action {
        Action::Takeover {
            queue: self.queue.clone(),
            old: self.old.clone(),
            new: self.new.clone(),
            kind: self.kind,
            all: self.all,
        }
    }

    pub fn is_failover(&self) -> bool {
        self.kind != TakeoverKind::Switchover
    }

    /// `switchover` or `failover`.
    pub fn noun(&self) -> &'static str {
        if self.is_failover() {
            "failover"
        } else {
            "switchover"
        }
    }

    /// What the operator must type: the new root's name for a switchover;
    /// `failover` and the dead node's name for a failover.
    pub fn phrase(&self) -> String {
        if self.is_failover() {
            format!("failover {}", self.old)
        } else {
            self.new.clone()
        }
    }

    /// The typed confirmation, when the plan is shown.
    pub fn typed(&self) -> Option<&str> {
        match &self.stage {
            Stage::Plan { confirm, .. } => Some(&confirm.typed),
            _ => None,
        }
    }

    /// The plan, once there is one.
    pub fn plan(&self) -> Option<&TakeoverPlan> {
        match &self.stage {
            Stage::Plan { plan, .. }
            | Stage::Running { plan, .. }
            | Stage::Finished { plan, .. } => Some(plan),
            Stage::Planning { .. } | Stage::PlanFailed { .. } => None,
        }
    }

    /// Typing goes to the confirmation: the plan passed and the console
    /// may run it.
    pub fn accepts_typing(&self) -> bool {
        matches!(&self.stage, Stage::Plan { plan, .. } if plan.ok()) && !self.read_only
    }

    pub fn is_running(&self) -> bool {
        matches!(self.stage, Stage::Running { .. })
    }

    /// Waiting for the engine (the clock on screen moves).
    pub fn is_live(&self) -> bool {
        matches!(self.stage, Stage::Planning { .. } | Stage::Running { .. })
    }

    /// The plan asked for by `action` arrived. Returns whether it was ours.
    pub fn on_plan(&mut self, action: &Action, plan: TakeoverPlan, now: Instant) -> bool {
        if !matches!(self.stage, Stage::Planning { .. }) || *action != self.plan_request() {
            return false;
        }
        self.stage = Stage::Plan {
            plan,
            received: now,
            confirm: TypedConfirm::new(self.phrase()),
        };
        self.scroll = 0;
        true
    }

    /// A step of the running takeover.
    pub fn on_update(&mut self, u: &ActionUpdate, now: Instant) -> bool {
        if u.action != self.action() {
            return false;
        }
        let Stage::Running {
            started,
            steps,
            current,
            writes_refused,
            ..
        } = &mut self.stage
        else {
            return false;
        };
        let step = Step {
            text: u.step.clone(),
            at: u
                .elapsed
                .unwrap_or_else(|| now.saturating_duration_since(*started)),
        };
        if u.running {
            *current = Some(step);
        } else {
            *current = None;
            steps.push(step);
        }
        if u.writes_refused.is_some() {
            *writes_refused = u.writes_refused;
        }
        true
    }

    /// The answer to the plan request (when it failed) or to the takeover.
    pub fn on_result(&mut self, r: &ActionResult, now: Instant) -> bool {
        if matches!(self.stage, Stage::Planning { .. }) && r.action == self.plan_request() {
            self.stage = Stage::PlanFailed {
                error: if r.ok {
                    format!("the engine answered without a plan: {}", r.message)
                } else {
                    r.message.clone()
                },
            };
            return true;
        }
        if r.action != self.action() {
            return false;
        }
        let Stage::Running {
            plan,
            started,
            steps,
            current,
            writes_refused,
        } = &mut self.stage
        else {
            return false;
        };
        let total = now.saturating_duration_since(*started);
        self.stage = Stage::Finished {
            plan: std::mem::take(plan),
            steps: std::mem::take(steps),
            ok: r.ok,
            message: r.message.clone(),
            total,
            writes_refused: *writes_refused,
            failed_at: if r.ok { None } else { current.take() },
        };
        true
    }

    /// The confirmation matched: from here the engine runs it.
    pub fn start(&mut self, now: Instant) {
        if let Stage::Plan { plan, .. } = &mut self.stage {
            self.stage = Stage::Running {
                plan: std::mem::take(plan),
                started: now,
                steps: Vec::new(),
                current: None,
                writes_refused: None,
            };
        }
    }

    /// Ask again (ctrl-r, or `all` toggled).
    pub fn replan(&mut self, now: Instant) {
        self.stage = Stage::Planning { asked: now };
        self.scroll = 0;
    }

    /// One line for the toast when it ends behind the view.
    pub fn outcome(&self) -> Option<(bool, String)> {
        let Stage::Finished {
            ok,
            message,
            total,
            writes_refused,
            ..
        } = &self.stage
        else {
            return None;
        };
        Some(if *ok {
            let mut s = format!("✓ {} done in {}", self.describe(), dur(*total));
            if let Some(w) = writes_refused {
                s.push_str(&format!(" · writes refused for {}", dur(*w)));
            }
            (true, s)
        } else {
            (
                false,
                format!(
                    "✗ {} failed: {}",
                    self.describe(),
                    crate::fmt::one_line(message)
                ),
            )
        })
    }

    /// `switchover of replika to stats_branch`.
    pub fn describe(&self) -> String {
        format!("{} of {} to {}", self.noun(), self.queue, self.new)
    }

    fn title(&self) -> String {
        match self.kind {
            TakeoverKind::Switchover => {
                format!("Switchover of {}: {} → {}", self.queue, self.old, self.new)
            }
            TakeoverKind::Failover => format!(
                "FAILOVER of {}: dead root {} → {}",
                self.queue, self.old, self.new
            ),
            TakeoverKind::FailoverBranch => format!(
                "FAILOVER of {}: dead branch {} → {}",
                self.queue, self.old, self.new
            ),
        }
    }

    fn summary(&self) -> String {
        match self.kind {
            TakeoverKind::Switchover => format!(
                "{} becomes the root of {}; {} becomes a branch reading from it.",
                self.new, self.queue, self.old
            ),
            TakeoverKind::Failover => format!(
                "{} becomes the root of {} in place of {}, which is tagged dead.",
                self.new, self.queue, self.old
            ),
            TakeoverKind::FailoverBranch => format!(
                "{} takes the place of the branch {}, which is tagged dead; its subscribers read from {}.",
                self.new, self.old, self.new
            ),
        }
    }

    /// What a failover loses, said before anything runs.
    pub fn warning(&self) -> Option<String> {
        self.is_failover().then(|| {
            format!(
                "Events that reached {old} but were not yet copied to a live node are LOST to the cascade \
                 until `resurrect` runs on {old} (it writes them to resurrect-lost-events.json). \
                 Fail over only a node that is really gone.",
                old = self.old
            )
        })
    }

    /// The key hints for the popup as it is now: (key, what).
    pub fn hints(&self) -> Vec<(&'static str, &'static str)> {
        match &self.stage {
            Stage::Planning { .. } => vec![("esc", "cancel")],
            Stage::PlanFailed { .. } => vec![("ctrl-r", "ask again"), ("esc", "close")],
            Stage::Plan { .. } if self.accepts_typing() => {
                let mut h = vec![("enter", "run when typed"), ("↑↓", "scroll")];
                if !self.is_failover() {
                    h.push(("tab", "all subscribers"));
                }
                h.push(("ctrl-r", "check again"));
                h.push(("esc", "cancel"));
                h
            }
            Stage::Plan { .. } => {
                let mut h = vec![("↑↓", "scroll")];
                if !self.is_failover() && !self.read_only {
                    h.push(("tab", "all subscribers"));
                }
                h.push(("ctrl-r", "check again"));
                h.push(("esc", "close"));
                h
            }
            Stage::Running { .. } => vec![("esc", "hide (it keeps running)")],
            Stage::Finished { .. } => vec![("enter/esc", "close")],
        }
    }
}

/// Choosing the node that takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub queue: String,
    pub kind: TakeoverKind,
    pub old: String,
    pub choices: Vec<String>,
    pub selected: usize,
}

impl Picker {
    pub fn title(&self) -> String {
        match self.kind {
            TakeoverKind::Switchover => format!("Switchover: the new root of {}", self.queue),
            TakeoverKind::Failover => format!(
                "Failover: the new root of {} (dead root {})",
                self.queue, self.old
            ),
            TakeoverKind::FailoverBranch => {
                format!("Failover: who takes the place of {}", self.old)
            }
        }
    }

    pub fn choice(&self) -> Option<&str> {
        self.choices.get(self.selected).map(String::as_str)
    }
}

/// Lines of `text` wrapped to `w`, the first after `first`, the rest
/// indented to line up under it.
fn wrapped<'a>(first: Span<'a>, text: &str, style: Style, w: usize) -> Vec<Line<'a>> {
    wrapped_after(vec![first], text, style, w)
}

/// [`wrapped`] after several spans.
fn wrapped_after<'a>(first: Vec<Span<'a>>, text: &str, style: Style, w: usize) -> Vec<Line<'a>> {
    wrap_after(first, &[Span::styled(text, style)], w)
}

fn secs(d: Duration) -> String {
    format!("{:>6}", dur(d))
}

/// The popup's frame and text, for drawing and for the scroll limit.
struct Built<'a> {
    frame: Rect,
    head: Vec<Line<'a>>,
    body: Vec<Line<'a>>,
    foot: Vec<Line<'a>>,
}

impl Built<'_> {
    /// Head, body and foot areas inside the frame (its border and a
    /// one-column margin off).
    fn areas(&self) -> [Rect; 3] {
        let f = self.frame;
        let inner = Rect::new(
            f.x.saturating_add(2),
            f.y.saturating_add(1),
            f.width.saturating_sub(4),
            f.height.saturating_sub(2),
        );
        let head_h = (self.head.len() as u16).min(inner.height);
        let foot_h = (self.foot.len() as u16).min(inner.height.saturating_sub(head_h));
        Layout::vertical([
            Constraint::Length(head_h),
            Constraint::Min(0),
            Constraint::Length(foot_h),
        ])
        .areas(inner)
    }

    /// How far the body can scroll.
    fn max_scroll(&self) -> usize {
        let [_, body, _] = self.areas();
        self.body.len().saturating_sub(usize::from(body.height))
    }
}

fn build<'a>(t: &Takeover, theme: &Theme, now: Instant, area: Rect) -> Built<'a> {
    let pw = area.width.saturating_sub(4).min(104);
    // Text width inside the frame and its one-column margins.
    let w = usize::from(pw.saturating_sub(4)).max(1);
    let m = theme.muted;

    // Fixed at the top: what it does, the failover warning, where it stands.
    let mut head: Vec<Line> = Vec::new();
    for l in wrap(&t.summary(), w) {
        head.push(Line::from(Span::styled(l, theme.text)));
    }
    if let Some(warn) = t.warning() {
        head.extend(wrapped(
            Span::styled("! ", theme.error),
            &warn,
            theme.error,
            w,
        ));
    }
    let state = match &t.stage {
        Stage::Planning { asked } => Line::from(Span::styled(
            format!(
                "asking the engine for the dry run… {}",
                dur(now.saturating_duration_since(*asked))
            ),
            theme.info,
        )),
        Stage::PlanFailed { .. } => Line::from(Span::styled("no plan: nothing was changed", m)),
        Stage::Plan { received, .. } => Line::from(Span::styled(
            format!(
                "dry run, checked {} ago — nothing has changed yet",
                dur(now.saturating_duration_since(*received))
            ),
            m,
        )),
        Stage::Running { started, .. } => Line::from(Span::styled(
            format!(
                "running for {} — every step as the engine reports it",
                dur(now.saturating_duration_since(*started))
            ),
            theme.info,
        )),
        Stage::Finished { ok: true, .. } => Line::from(Span::styled("finished", theme.ok)),
        Stage::Finished { ok: false, .. } => {
            Line::from(Span::styled("stopped on an error", theme.error))
        }
    };
    head.push(state);
    head.push(Line::default());

    let body = body_lines(t, theme, now, w);
    let foot = foot_lines(t, theme, w);

    // As tall as the text, at most the screen.
    let want = u16::try_from(head.len() + body.len() + foot.len() + 2).unwrap_or(u16::MAX);
    let frame = centered(area, pw, want.min(area.height.saturating_sub(2)));
    Built {
        frame,
        head,
        body,
        foot,
    }
}

/// How far the plan can scroll in a screen of `area` (the app clamps the
/// arrow keys to it).
pub fn max_scroll(t: &Takeover, now: Instant, area: Rect) -> u16 {
    let b = build(t, &Theme::default(), now, area);
    u16::try_from(b.max_scroll()).unwrap_or(u16::MAX)
}

/// Draws the takeover popup over `area`.
pub fn render(t: &Takeover, theme: &Theme, now: Instant, area: Rect, buf: &mut Buffer) {
    let b = build(t, theme, now, area);
    let title = t.title();
    popup(b.frame, buf, &title, theme);
    let [ha, ba, fa] = b.areas();
    if ba.width == 0 {
        return;
    }
    let max = b.max_scroll();
    let Built {
        head, body, foot, ..
    } = b;
    Paragraph::new(head).render(ha, buf);
    let h = usize::from(ba.height);
    // The plan scrolls by hand; progress keeps its newest line in view.
    let top = match t.stage {
        Stage::Running { .. } | Stage::Finished { .. } => max,
        _ => usize::from(t.scroll).min(max),
    };
    let more_below = top + h < body.len();
    let mut shown: Vec<Line> = body.into_iter().skip(top).take(h).collect();
    if more_below && !shown.is_empty() {
        let last = shown.len() - 1;
        shown[last] = Line::from(Span::styled("  ↓ more (↑↓ scroll)", theme.muted));
    }
    Paragraph::new(shown).render(ba, buf);
    Paragraph::new(foot).render(fa, buf);
}

fn check_lines<'a>(plan: &TakeoverPlan, theme: &Theme, w: usize, out: &mut Vec<Line<'a>>) {
    let failed = plan.checks.iter().filter(|c| !c.ok).count();
    let head = if failed == 0 {
        Span::styled(
            format!("Checks: all {} passed", plan.checks.len()),
            theme.title,
        )
    } else {
        Span::styled(
            format!("Checks: {failed} of {} FAILED", plan.checks.len()),
            theme.error,
        )
    };
    out.push(Line::from(head));
    if plan.checks.is_empty() {
        out.push(Line::from(Span::styled(
            "  (the engine made none)",
            theme.muted,
        )));
    }
    // Failed checks first: they are why nothing can run.
    let ordered = plan
        .checks
        .iter()
        .filter(|c| !c.ok)
        .chain(plan.checks.iter().filter(|c| c.ok));
    let what_w = plan
        .checks
        .iter()
        .map(|c| width(&c.what))
        .max()
        .unwrap_or(0)
        .min(w / 2);
    for c in ordered {
        let (mark, style) = if c.ok {
            ("  ✓ ", theme.ok)
        } else {
            ("  ✗ ", theme.error)
        };
        let pad = what_w.saturating_sub(width(&c.what));
        let first = vec![
            Span::styled(mark, style),
            Span::styled(
                format!("{}{}  ", c.what, " ".repeat(pad)),
                if c.ok { theme.text } else { theme.error },
            ),
        ];
        let detail_style = if c.ok { theme.muted } else { theme.error };
        out.extend(wrapped_after(first, &c.detail, detail_style, w));
    }
}

/// The steps done, numbered, with their time.
fn done_lines<'a>(steps: &[Step], theme: &Theme, w: usize, out: &mut Vec<Line<'a>>) {
    for (i, s) in steps.iter().enumerate() {
        out.extend(wrapped_after(
            vec![
                Span::styled(format!(" {:>2} ", i + 1), theme.muted),
                Span::styled(format!("✓ {} ", secs(s.at)), theme.ok),
            ],
            &s.text,
            theme.text,
            w,
        ));
    }
}

fn body_lines<'a>(t: &Takeover, theme: &Theme, now: Instant, w: usize) -> Vec<Line<'a>> {
    let mut out: Vec<Line> = Vec::new();
    match &t.stage {
        Stage::Planning { .. } => {
            out.push(Line::from(Span::styled(
                format!(
                    "The engine is checking every node of {} (reachable, types, positions).",
                    t.queue
                ),
                theme.muted,
            )));
        }
        Stage::PlanFailed { error } => {
            out.push(Line::from(Span::styled(
                "✗ The engine could not make a plan:",
                theme.error,
            )));
            for l in error.lines() {
                out.extend(wrapped(Span::raw("  "), l, theme.error, w));
            }
        }
        Stage::Plan { plan, .. } => {
            check_lines(plan, theme, w, &mut out);
            out.push(Line::default());
            out.push(Line::from(Span::styled(
                format!("Steps ({})", plan.steps.len()),
                theme.title,
            )));
            for (i, s) in plan.steps.iter().enumerate() {
                out.extend(wrapped(
                    Span::styled(format!("  {:>2}. ", i + 1), theme.muted),
                    s,
                    theme.text,
                    w,
                ));
            }
            out.push(Line::default());
            let follow = if plan.followers.is_empty() {
                "none".to_string()
            } else {
                plan.followers.join(", ")
            };
            let mut spans = vec![
                Span::styled("Subscribers that will follow: ", theme.title),
                Span::styled(follow, theme.text),
            ];
            if !t.is_failover() {
                spans.push(Span::styled(
                    if t.all {
                        "  (all: every subscriber of the old root moves; tab: only the new root)"
                    } else {
                        "  (tab: move every subscriber of the old root too)"
                    },
                    theme.muted,
                ));
            }
            out.push(Line::from(spans));
            for n in &plan.notes {
                out.extend(wrapped(Span::styled("! ", theme.warn), n, theme.warn, w));
            }
        }
        Stage::Running {
            started,
            steps,
            current,
            ..
        } => {
            out.push(Line::from(Span::styled("Progress", theme.title)));
            done_lines(steps, theme, w, &mut out);
            let n = steps.len() + 1;
            match current {
                Some(c) => out.extend(wrapped(
                    Span::styled(format!(" {n:>2} ⋯ {} ", secs(c.at)), theme.info),
                    &c.text,
                    theme.info,
                    w,
                )),
                None => out.push(Line::from(Span::styled(
                    format!(
                        " {n:>2} ⋯ {} waiting for the next step…",
                        secs(now.saturating_duration_since(*started))
                    ),
                    theme.info,
                ))),
            }
        }
        Stage::Finished {
            steps,
            ok,
            message,
            total,
            failed_at,
            ..
        } => {
            out.push(Line::from(Span::styled("Progress", theme.title)));
            done_lines(steps, theme, w, &mut out);
            if !ok {
                let n = steps.len() + 1;
                let mut lines = message.lines();
                // The step under way, then the error under it; or the
                // error itself as the failed step.
                match failed_at {
                    Some(f) => out.extend(wrapped(
                        Span::styled(format!(" {n:>2} ✗ {} ", secs(f.at)), theme.error),
                        &f.text,
                        theme.error,
                        w,
                    )),
                    None => out.extend(wrapped(
                        Span::styled(format!(" {n:>2} ✗ {} ", secs(*total)), theme.error),
                        lines.next().unwrap_or("failed"),
                        theme.error,
                        w,
                    )),
                }
                for l in lines {
                    out.extend(wrapped(Span::raw(" ".repeat(13)), l, theme.error, w));
                }
            }
        }
    }
    out
}

fn foot_lines<'a>(t: &Takeover, theme: &Theme, w: usize) -> Vec<Line<'a>> {
    let rule = Line::from(Span::styled("─".repeat(w), theme.border));
    let mut out = vec![rule];
    match &t.stage {
        Stage::Planning { .. } => out.push(Line::from(Span::styled(
            "Nothing runs before you have read the plan and typed the confirmation.",
            theme.muted,
        ))),
        Stage::PlanFailed { .. } => out.push(Line::from(Span::styled(
            format!(
                "The {} cannot run without a plan — ctrl-r asks again.",
                t.noun()
            ),
            theme.error,
        ))),
        Stage::Plan { plan, .. } if t.read_only => {
            out.push(Line::from(Span::styled(
                format!(
                    "read-only console: refused to run the {} — this is the dry run only, nothing was sent.",
                    t.noun()
                ),
                theme.error,
            )));
            if !plan.ok() {
                out.push(Line::from(Span::styled(
                    "(a check failed as well)",
                    theme.muted,
                )));
            }
        }
        Stage::Plan { plan, .. } if !plan.ok() => {
            let n = plan.checks.iter().filter(|c| !c.ok).count();
            out.extend(wrapped(
                Span::styled("✗ ", theme.error),
                &format!(
                    "{n} check{} failed: the {} is refused. Fix what it names, then ctrl-r checks again.",
                    if n == 1 { "" } else { "s" },
                    t.noun()
                ),
                theme.error,
                w,
            ));
        }
        Stage::Plan { confirm, .. } => {
            let ask = if t.is_failover() {
                "To fail over, type"
            } else {
                "To switch over, type the new root's name"
            };
            out.extend(confirm.lines(ask, &format!("enter runs the {}", t.noun()), theme));
        }
        Stage::Running { .. } => out.push(Line::from(Span::styled(
            format!(
                "The {} cannot be stopped half-way from here; esc hides this (o in Nodes shows it again).",
                t.noun()
            ),
            theme.muted,
        ))),
        Stage::Finished {
            ok: true,
            total,
            writes_refused,
            ..
        } => {
            let mut spans = vec![Span::styled(
                format!("✓ {} done in {}", t.noun(), dur(*total)),
                theme.ok,
            )];
            if let Some(wr) = writes_refused {
                spans.push(Span::styled(
                    format!(" · writes to {} were refused for {}", t.queue, dur(*wr)),
                    theme.text,
                ));
            }
            out.push(Line::from(spans));
            out.push(Line::from(Span::styled(
                match t.kind {
                    TakeoverKind::Switchover => format!(
                        "{} is the root of {}; {} reads from it.",
                        t.new, t.queue, t.old
                    ),
                    TakeoverKind::Failover => format!(
                        "{} is the root of {}; {} is tagged dead (resurrect on it recovers its lost events).",
                        t.new, t.queue, t.old
                    ),
                    TakeoverKind::FailoverBranch => format!(
                        "{} has taken the place of {}, which is tagged dead.",
                        t.new, t.old
                    ),
                },
                theme.muted,
            )));
        }
        Stage::Finished {
            ok: false,
            steps,
            total,
            failed_at,
            ..
        } => {
            let at = steps.len() + 1;
            let which = match (failed_at, steps.last()) {
                (Some(f), _) => format!("“{}”", f.text),
                (None, Some(last)) => format!("the one after “{}”", last.text),
                (None, None) => "before the first step".to_string(),
            };
            out.extend(wrapped(
                Span::styled("✗ ", theme.error),
                &format!(
                    "the {} failed at step {at} after {}: {which}",
                    t.noun(),
                    dur(*total),
                ),
                theme.error,
                w,
            ));
            out.push(Line::from(Span::styled(
                "The cascade may be half-way: the Nodes view shows where each node stands now.",
                theme.warn,
            )));
        }
    }
    out
}

/// Draws the picker of the node that takes over.
pub fn render_picker(p: &Picker, snap: &Snapshot, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let c = cascade::find(snap, &p.queue);
    let node = |name: &str| -> Option<&NodeView> { c.and_then(|c| cascade::node(c, name)) };
    let lines: Vec<(String, String)> = p
        .choices
        .iter()
        .map(|name| {
            let detail = match node(name) {
                Some(n) => {
                    let mut d = format!(
                        "{:<7} lag {:>6}",
                        cascade::type_label(n),
                        crate::fmt::dur_opt(n.lag)
                    );
                    if let Some(b) = c.and_then(|c| cascade::behind(c, n)) {
                        d.push_str(&format!(" · {b} behind"));
                    }
                    for m in cascade::markers(n) {
                        d.push(' ');
                        d.push_str(m.label());
                    }
                    d
                }
                None => String::new(),
            };
            (name.clone(), detail)
        })
        .collect();
    let name_w = lines.iter().map(|(n, _)| width(n)).max().unwrap_or(0);
    let body_w = lines
        .iter()
        .map(|(_, d)| name_w + 4 + width(d))
        .max()
        .unwrap_or(0)
        .max(width(&p.title()) + 4)
        .max(40);
    let w = (body_w as u16 + 4).min(area.width.saturating_sub(2));
    let h = (lines.len() as u16 + 4).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let inner = popup_padded(r, buf, &p.title(), theme);
    let [list, _, help] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let height = usize::from(list.height);
    let start =
        crate::widgets::table::visible_range(lines.len(), Some(p.selected), 0, height).start;
    let rows: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, (n, d))| {
            let sel = i == p.selected;
            let style = if sel { theme.selected } else { theme.text };
            Line::from(vec![
                Span::styled(if sel { "> " } else { "  " }, style),
                Span::styled(format!("{n:<name_w$}  "), style),
                Span::styled(d.clone(), if sel { theme.selected } else { theme.muted }),
            ])
        })
        .collect();
    Paragraph::new(rows).render(list, buf);
    Paragraph::new(Line::from(Span::styled(
        "enter: show its dry run (nothing runs yet)",
        theme.muted,
    )))
    .render(help, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases() {
        let now = Instant::now();
        let s = Takeover::new(
            "q".into(),
            "r".into(),
            "b".into(),
            TakeoverKind::Switchover,
            false,
            false,
            now,
        );
        assert_eq!(s.phrase(), "b");
        let f = Takeover::new(
            "q".into(),
            "r".into(),
            "b".into(),
            TakeoverKind::Failover,
            false,
            false,
            now,
        );
        assert_eq!(f.phrase(), "failover r");
        assert!(f.all, "a failover moves every subscriber");
    }
}
