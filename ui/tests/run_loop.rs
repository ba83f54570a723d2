//! The run loop on a `TestBackend`, fed key events through a channel: the
//! same loop `run` drives in a real terminal.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use skydeck_ui::model::{Action, ActionResult, ActionUpdate, Reply, Snapshot, TakeoverPlan};
use skydeck_ui::{fixtures, run_loop, ConsoleOptions, ExitReason};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;

type Input = std::pin::Pin<Box<dyn Stream<Item = io::Result<TermEvent>> + Send>>;

struct Console {
    keys: mpsc::UnboundedSender<io::Result<TermEvent>>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    actions: mpsc::Receiver<Action>,
    results: mpsc::Sender<ActionResult>,
    task: JoinHandle<(io::Result<ExitReason>, Terminal<TestBackend>)>,
}

fn start(snap: Snapshot, action_capacity: usize) -> Console {
    let (keys, key_rx) = mpsc::unbounded_channel();
    let input: Input = Box::pin(futures_util::stream::unfold(key_rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }));
    let (snapshots, snap_rx) = watch::channel(Arc::new(snap));
    let (act_tx, actions) = mpsc::channel(action_capacity);
    let (results, res_rx) = mpsc::channel(16);
    let task = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 32)).expect("terminal");
        let r = run_loop(
            &mut terminal,
            input,
            ConsoleOptions::default(),
            snap_rx,
            act_tx,
            res_rx,
        )
        .await;
        (r, terminal)
    });
    Console {
        keys,
        snapshots,
        actions,
        results,
        task,
    }
}

impl Console {
    fn key(&self, c: char) {
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        self.code(KeyCode::Char(c), mods);
    }

    fn code(&self, code: KeyCode, mods: KeyModifiers) {
        self.keys
            .send(Ok(TermEvent::Key(KeyEvent::new(code, mods))))
            .expect("console running");
    }

    async fn action(&mut self) -> Action {
        timeout(Duration::from_secs(5), self.actions.recv())
            .await
            .expect("an action within 5 s")
            .expect("channel open")
    }

    async fn finish(self) -> (ExitReason, String) {
        let (r, terminal) = timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the console returns within 5 s")
            .expect("no panic");
        (r.expect("no io error"), terminal.backend().to_string())
    }
}

#[tokio::test]
async fn keys_become_actions_and_q_y_quits() {
    let mut c = start(fixtures::deck(), 16);
    c.key('2');
    c.key('t');
    c.key('y');
    let tick = c.action().await;
    assert_eq!(
        tick,
        Action::Tick {
            database: fixtures::SHOP.into(),
            queue: "orders".into()
        }
    );
    c.results
        .send(ActionResult {
            action: tick,
            ok: true,
            message: "tick 48214".into(),
        })
        .await
        .expect("console running");
    c.key('+');
    assert_eq!(c.action().await, Action::SetRefresh(Duration::from_secs(2)));
    c.code(KeyCode::Char('r'), KeyModifiers::CONTROL);
    assert_eq!(c.action().await, Action::Refresh);
    // A new snapshot shows up.
    let mut newer = fixtures::deck();
    newer.queues[0].last_tick_id = 48_214;
    c.snapshots.send(Arc::new(newer)).expect("console running");
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.key('q');
    c.key('y');
    let (reason, screen) = c.finish().await;
    assert_eq!(reason, ExitReason::Quit);
    assert!(screen.contains("48214"), "{screen}");
    assert!(screen.contains("Quit skydeck?"), "{screen}");
}

#[tokio::test]
async fn engine_closing_the_snapshot_channel_ends_the_console() {
    let c = start(fixtures::deck(), 16);
    let Console {
        snapshots,
        task,
        keys,
        ..
    } = c;
    drop(snapshots);
    let (r, _) = timeout(Duration::from_secs(5), task)
        .await
        .expect("returns")
        .expect("no panic");
    assert_eq!(r.expect("no io error"), ExitReason::EngineClosed);
    drop(keys);
}

#[tokio::test]
async fn a_gone_engine_is_reported_not_fatal() {
    let c = start(fixtures::deck(), 16);
    let Console {
        keys,
        snapshots,
        actions,
        results,
        task,
    } = c;
    drop(actions);
    let c = Console {
        keys,
        snapshots,
        actions: mpsc::channel(1).1,
        results,
        task,
    };
    c.key('r');
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.key('q');
    c.key('y');
    let (reason, screen) = c.finish().await;
    assert_eq!(reason, ExitReason::Quit);
    assert!(
        screen.contains("the engine is gone: refresh now was not sent"),
        "{screen}"
    );
}

#[tokio::test]
async fn a_full_action_channel_does_not_block_the_screen() {
    let c = start(fixtures::deck(), 1);
    c.key('r');
    c.key('r');
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.code(KeyCode::Char('c'), KeyModifiers::CONTROL);
    c.code(KeyCode::Char('c'), KeyModifiers::CONTROL);
    let (reason, screen) = c.finish().await;
    assert_eq!(reason, ExitReason::Quit);
    assert!(
        screen.contains("engine busy: refresh now was not sent"),
        "{screen}"
    );
}

async fn next_action(actions: &mut mpsc::Receiver<Action>) -> Action {
    timeout(Duration::from_secs(5), actions.recv())
        .await
        .expect("an action within 5 s")
        .expect("open")
}

/// An engine that sends steps and plans: a channel of [`Reply`].
#[tokio::test]
async fn steps_and_plans_reach_the_screen_through_replies() {
    let (keys, key_rx) = mpsc::unbounded_channel::<io::Result<TermEvent>>();
    let input: Input = Box::pin(futures_util::stream::unfold(key_rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }));
    let (_snapshots, snap_rx) = watch::channel(Arc::new(fixtures::deck()));
    let (act_tx, mut actions) = mpsc::channel(16);
    let (replies, res_rx) = mpsc::channel::<Reply>(16);
    let task = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 32)).expect("terminal");
        let r = run_loop(
            &mut terminal,
            input,
            ConsoleOptions::default(),
            snap_rx,
            act_tx,
            res_rx,
        )
        .await;
        (r, terminal)
    });
    let key = |c: char| {
        keys.send(Ok(TermEvent::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))))
        .expect("console running");
    };
    // A node action with a step before its result.
    key('5');
    for c in ":pause node stats_branch".chars() {
        key(c);
    }
    keys.send(Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))))
    .expect("console running");
    key('y');
    let pause = next_action(&mut actions).await;
    assert!(matches!(pause, Action::PauseNode { .. }), "{pause:?}");
    replies
        .send(Reply::Update(ActionUpdate {
            action: pause.clone(),
            step: "waiting for stats_branch_worker to acknowledge".into(),
            running: true,
            elapsed: None,
            writes_refused: None,
        }))
        .await
        .expect("console running");
    tokio::time::sleep(Duration::from_millis(150)).await;
    // A switchover of the selected branch: its dry run arrives as a plan.
    for c in ":show node stats_branch".chars() {
        key(c);
    }
    keys.send(Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))))
    .expect("console running");
    key('s');
    let ask = next_action(&mut actions).await;
    assert!(matches!(ask, Action::TakeoverPlan { .. }), "{ask:?}");
    replies
        .send(Reply::Plan {
            action: ask,
            plan: TakeoverPlan {
                kind: "switchover".into(),
                old: "shop_root".into(),
                new: "stats_branch".into(),
                steps: vec!["demote_root step 1 on shop_root".into()],
                ..TakeoverPlan::default()
            },
        })
        .await
        .expect("console running");
    tokio::time::sleep(Duration::from_millis(150)).await;
    keys.send(Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Esc,
        KeyModifiers::NONE,
    ))))
    .expect("console running");
    // Keys and replies travel on separate channels: let the escape land
    // before the result, so the result's line is the last one shown.
    tokio::time::sleep(Duration::from_millis(150)).await;
    replies
        .send(
            ActionResult {
                action: pause,
                ok: true,
                message: "worker of stats_branch paused".into(),
            }
            .into(),
        )
        .await
        .expect("console running");
    tokio::time::sleep(Duration::from_millis(150)).await;
    key('q');
    key('y');
    let (r, terminal) = timeout(Duration::from_secs(5), task)
        .await
        .expect("returns")
        .expect("no panic");
    assert_eq!(r.expect("no io error"), ExitReason::Quit);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("pause node stats_branch on replika: worker of stats_branch paused"),
        "{screen}"
    );
}
