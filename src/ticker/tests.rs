//! The ticker's schedule and backoff, with paused tokio time and a scripted
//! backend (these tests check timing only; tests/ticker.rs runs the real
//! thing against real clusters).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;

#[derive(Default)]
struct Script {
    dbs: Vec<String>,
    list_failures: u32,
    connect_failures: HashMap<String, u32>,
    pgq: HashMap<String, Option<String>>,
    tick_failures: HashMap<String, u32>,
    calls: Vec<(Duration, String, &'static str)>,
}

#[derive(Clone)]
struct Fake {
    script: Arc<Mutex<Script>>,
    t0: Instant,
}

impl Fake {
    fn new(dbs: &[&str]) -> Self {
        let mut s = Script {
            dbs: dbs.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        };
        for d in dbs {
            s.pgq.insert(d.to_string(), Some("3.5.2".into()));
        }
        Fake {
            script: Arc::new(Mutex::new(s)),
            t0: Instant::now(),
        }
    }
    fn log(&self, db: &str, what: &'static str) {
        self.script
            .lock()
            .unwrap()
            .calls
            .push((self.t0.elapsed(), db.to_string(), what));
    }
    /// Times (whole seconds, rounded down) of calls of one kind on one db.
    fn times(&self, db: &str, what: &str) -> Vec<u64> {
        self.script
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(_, d, w)| d == db && *w == what)
            .map(|(t, _, _)| t.as_millis() as u64 / 1000)
            .collect()
    }
    fn count(&self, db: &str, what: &str) -> usize {
        self.times(db, what).len()
    }
}

struct FakeConn {
    fake: Fake,
    db: String,
}

impl Conn for FakeConn {
    async fn pgq_version(&mut self) -> Result<Option<String>, String> {
        self.fake.log(&self.db, "version");
        Ok(self
            .fake
            .script
            .lock()
            .unwrap()
            .pgq
            .get(&self.db)
            .cloned()
            .flatten())
    }
    async fn tick(&mut self) -> Result<Vec<Ticked>, String> {
        self.fake.log(&self.db, "tick");
        let mut s = self.fake.script.lock().unwrap();
        if let Some(n) = s.tick_failures.get_mut(&self.db) {
            if *n > 0 {
                *n -= 1;
                return Err("server closed the connection unexpectedly".into());
            }
        }
        Ok(vec![Ticked {
            queue: "q".into(),
            tick_id: 1,
        }])
    }
    async fn retry(&mut self) -> Result<u64, String> {
        self.fake.log(&self.db, "retry");
        Ok(2)
    }
    async fn maint(&mut self) -> Result<u64, String> {
        self.fake.log(&self.db, "maint");
        Ok(3)
    }
}

impl Backend for Fake {
    type Conn = FakeConn;
    async fn connect(&self, db: &str) -> Result<FakeConn, String> {
        self.log(db, "connect");
        let mut s = self.script.lock().unwrap();
        if !s.dbs.iter().any(|d| d == db) {
            return Err(format!("database \"{db}\" does not exist"));
        }
        if let Some(n) = s.connect_failures.get_mut(db) {
            if *n > 0 {
                *n -= 1;
                return Err("connection refused".into());
            }
        }
        Ok(FakeConn {
            fake: self.clone(),
            db: db.to_string(),
        })
    }
    async fn list_databases(&self) -> Result<Vec<String>, String> {
        self.log("-", "list");
        let mut s = self.script.lock().unwrap();
        if s.list_failures > 0 {
            s.list_failures -= 1;
            return Err("connection refused".into());
        }
        Ok(s.dbs.clone())
    }
}

fn settings() -> Settings {
    Settings {
        check_period: Duration::from_secs(60),
        retry_period: Duration::from_secs(30),
        maint_period: Duration::from_secs(120),
        ticker_period: Duration::from_secs(1),
        stats_period: Duration::from_secs(30),
        connection_lifetime: Duration::from_secs(3600),
        max_backoff: Duration::from_secs(60),
        ..Settings::default()
    }
}

struct Running {
    stop: CancellationToken,
    status: tokio::sync::watch::Receiver<Status>,
    handle: tokio::task::JoinHandle<()>,
}

fn start(fake: &Fake, s: Settings) -> Running {
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::watch::channel(Status::default());
    let handle = tokio::spawn(run(fake.clone(), s, stop.clone(), tx));
    Running {
        stop,
        status: rx,
        handle,
    }
}

async fn finish(r: Running) {
    r.stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), r.handle)
        .await
        .expect("ticker stops promptly when cancelled")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn ticks_retries_and_maintains_on_their_periods() {
    let fake = Fake::new(&["a"]);
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_millis(250_500)).await;
    // tick at 0, 1, 2, … 250
    assert_eq!(fake.count("a", "tick"), 251);
    assert_eq!(
        fake.times("a", "retry"),
        vec![0, 30, 60, 90, 120, 150, 180, 210, 240]
    );
    assert_eq!(fake.times("a", "maint"), vec![0, 120, 240]);
    // three connections: ticker, retry, maintenance
    assert_eq!(fake.count("a", "connect"), 3);
    let st = r.status.borrow().clone();
    let a = &st.databases["a"];
    assert_eq!(
        a.state,
        DbState::Ticking {
            pgq_version: "3.5.2".into()
        }
    );
    assert_eq!(a.tick_rounds, 251);
    assert_eq!(a.retried_events, 18);
    assert_eq!(a.maint_ops, 9);
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn sub_second_ticks() {
    let fake = Fake::new(&["a"]);
    let r = start(
        &fake,
        Settings {
            ticker_period: Duration::from_millis(100),
            ..settings()
        },
    );
    tokio::time::sleep(Duration::from_millis(2_050)).await;
    assert_eq!(fake.count("a", "tick"), 21);
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn connection_failures_back_off_exponentially_then_recover() {
    let fake = Fake::new(&["a"]);
    fake.script
        .lock()
        .unwrap()
        .connect_failures
        .insert("a".into(), 8);
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_secs(200)).await;
    // Attempts at 0, 1, 3, 7, 15, 31, 63 (waits 1..32 s), then the cap of
    // 60 s: 123, 183 — the 9th attempt succeeds.
    let connects = fake.times("a", "connect");
    assert_eq!(&connects[..9], &[0, 1, 3, 7, 15, 31, 63, 123, 183]);
    let ticks = fake.times("a", "tick");
    assert_eq!(ticks.first(), Some(&183));
    let st = r.status.borrow().clone();
    assert!(matches!(st.databases["a"].state, DbState::Ticking { .. }));
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_tick_reconnects_and_reports_down() {
    let fake = Fake::new(&["a"]);
    fake.script
        .lock()
        .unwrap()
        .tick_failures
        .insert("a".into(), 3);
    let mut r = start(&fake, settings());
    // Watch for the Down state while it happens.
    let mut saw_down = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let DbState::Down { error } = &r
            .status
            .borrow()
            .databases
            .get("a")
            .map(|d| d.state.clone())
            .unwrap_or(DbState::Connecting)
        {
            saw_down = Some(error.clone());
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), r.status.changed()).await;
    }
    assert_eq!(
        saw_down.as_deref(),
        Some("server closed the connection unexpectedly")
    );
    // Failed ticks at 0, 1 (after 1 s), 3 (after 2 s); ok at 7 (after 4 s).
    let ticks = fake.times("a", "tick");
    assert_eq!(&ticks[..5], &[0, 1, 3, 7, 8]);
    assert!(matches!(
        r.status.borrow().databases["a"].state,
        DbState::Ticking { .. }
    ));
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn database_without_pgq_is_rechecked_every_check_period() {
    let fake = Fake::new(&["a"]);
    fake.script.lock().unwrap().pgq.insert("a".into(), None);
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_secs(130)).await;
    assert_eq!(fake.times("a", "version"), vec![0, 60, 120]);
    assert_eq!(fake.count("a", "tick"), 0);
    assert_eq!(fake.count("a", "retry"), 0, "no retry loop without pgq");
    assert!(matches!(
        r.status.borrow().databases["a"].state,
        DbState::NoPgq { .. }
    ));
    // PgQ gets installed: picked up at the next check.
    fake.script
        .lock()
        .unwrap()
        .pgq
        .insert("a".into(), Some("3.5.2".into()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.times("a", "tick").first(), Some(&180));
    assert_eq!(fake.times("a", "retry").first(), Some(&180));
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn old_pgq_versions_are_ignored() {
    let fake = Fake::new(&["a"]);
    fake.script
        .lock()
        .unwrap()
        .pgq
        .insert("a".into(), Some("2.1.8".into()));
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fake.count("a", "tick"), 0);
    assert_eq!(
        r.status.borrow().databases["a"].state,
        DbState::NoPgq {
            reason: "unusable pgq version 2.1.8".into()
        }
    );
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn databases_appear_and_vanish() {
    let fake = Fake::new(&["a", "b"]);
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(fake.count("b", "tick") > 0);
    {
        let mut s = fake.script.lock().unwrap();
        s.dbs = vec!["a".into(), "c".into()];
        s.pgq.insert("c".into(), Some("3.5.2".into()));
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let b_ticks = fake.count("b", "tick");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(fake.count("b", "tick"), b_ticks, "b is no longer ticked");
    assert_eq!(fake.times("c", "tick").first(), Some(&60));
    let dbs: Vec<String> = r.status.borrow().databases.keys().cloned().collect();
    assert_eq!(dbs, vec!["a", "c"]);
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn discovery_failure_keeps_the_current_set_and_backs_off() {
    let fake = Fake::new(&["a"]);
    fake.script.lock().unwrap().list_failures = 3;
    let r = start(&fake, settings());
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Listing at 0, 1, 3 fails; at 7 it works.
    assert_eq!(&fake.times("-", "list")[..4], &[0, 1, 3, 7]);
    assert_eq!(fake.times("a", "tick").first(), Some(&7));
    assert_eq!(r.status.borrow().discovery_error, None);
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn a_fixed_database_list_is_not_discovered() {
    let fake = Fake::new(&["a", "b"]);
    let r = start(
        &fake,
        Settings {
            database_list: vec!["b".into()],
            ..settings()
        },
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fake.count("-", "list"), 0);
    assert_eq!(fake.count("a", "tick"), 0);
    assert!(fake.count("b", "tick") > 0);
    finish(r).await;
}

#[tokio::test(start_paused = true)]
async fn connection_lifetime_reconnects_the_ticker() {
    let fake = Fake::new(&["a"]);
    let r = start(
        &fake,
        Settings {
            connection_lifetime: Duration::from_secs(10),
            ..settings()
        },
    );
    tokio::time::sleep(Duration::from_millis(35_500)).await;
    // ticker connections at 0, 10, 20, 30 plus one each for retry and maint
    assert_eq!(fake.count("a", "connect"), 6);
    finish(r).await;
}

#[test]
fn stats_line_resets() {
    let s = Stats::default();
    s.ticks.fetch_add(5, Ordering::Relaxed);
    s.retry.fetch_add(2, Ordering::Relaxed);
    assert_eq!(s.take_line(), "{ticks: 5, maint: 0, retry: 2}");
    assert_eq!(s.take_line(), "{ticks: 0, maint: 0, retry: 0}");
}

#[test]
fn backoff_doubles_to_the_cap_and_resets() {
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
    let v: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
    assert_eq!(v, vec![1, 2, 4, 8, 10, 10]);
    b.reset();
    assert_eq!(b.next_delay().as_secs(), 1);
}
