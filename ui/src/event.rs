//! The one event type of the console's main loop: terminal input,
//! snapshot updates, action results (and steps and takeover plans), the
//! housekeeping tick, a render request and the engine going away.

use std::sync::Arc;

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind};

use crate::model::{Action, ActionResult, ActionUpdate, Reply, Snapshot, TakeoverPlan};

#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    /// Bracketed paste (goes into the command line or filter).
    Paste(String),
    Resize(u16, u16),
    /// The engine published a new snapshot.
    Snapshot(Arc<Snapshot>),
    /// The engine finished an action.
    Result(ActionResult),
    /// A step of an action still running.
    Update(ActionUpdate),
    /// The dry run of a takeover, asked for by `action`.
    Plan {
        action: Action,
        plan: TakeoverPlan,
    },
    /// Housekeeping (toasts expire); a few times a second.
    Tick,
    /// A frame is due.
    Render,
    /// The snapshot channel closed: the engine is shutting down.
    EngineClosed,
}

impl Event {
    /// The console's event for a terminal event (focus and mouse events
    /// have none).
    pub fn from_terminal(e: TermEvent) -> Option<Event> {
        match e {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => Some(Event::Key(k)),
            TermEvent::Paste(s) => Some(Event::Paste(s)),
            TermEvent::Resize(w, h) => Some(Event::Resize(w, h)),
            _ => None,
        }
    }
}

impl From<Reply> for Event {
    fn from(r: Reply) -> Event {
        match r {
            Reply::Result(r) => Event::Result(r),
            Reply::Update(u) => Event::Update(u),
            Reply::Plan { action, plan } => Event::Plan { action, plan },
        }
    }
}
