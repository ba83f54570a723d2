//! Batch semantics as a property (spec §1.4, §1.6, §1.7): random concurrent
//! producer transactions — committed, aborted, and long-running across
//! several ticks and rotations — random ticks, rotations (rotation_period
//! 0), consumption and retries. For every consumer:
//!
//! * every committed event is delivered exactly once as a fresh event, and
//!   once more for every retry the consumer asked for;
//! * no event of an aborted transaction is ever delivered;
//! * batches follow each other tick by tick (each batch starts at the tick
//!   the previous one ended at), and events within a batch come in ev_id
//!   order.
//!
//! Concurrency is modelled deterministically: several producer connections
//! whose transactions interleave as the generated operations say, so a
//! failing case shrinks to a short, replayable sequence.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use skydeck::pgq::{self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event};
use tokio_postgres::{Client, Transaction};

const PRODUCERS: usize = 3;
const CONSUMERS: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Begin(usize),
    Insert(usize, u8),
    Commit(usize),
    Abort(usize),
    Tick,
    Rotate,
    Consume(usize),
    RetryMaint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PRODUCERS).prop_map(Op::Begin),
        6 => (0..PRODUCERS, 1u8..4).prop_map(|(p, n)| Op::Insert(p, n)),
        2 => (0..PRODUCERS).prop_map(Op::Commit),
        1 => (0..PRODUCERS).prop_map(Op::Abort),
        4 => Just(Op::Tick),
        2 => Just(Op::Rotate),
        4 => (0..CONSUMERS).prop_map(Op::Consume),
        1 => Just(Op::RetryMaint),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    Committed,
    Aborted,
}

/// Records deliveries; consumer 1 asks for a retry of every third fresh
/// event it sees (consumer 0 never retries), so retries are exercised and
/// stay per-consumer.
struct Recorder {
    consumer: usize,
    /// payload -> list of ev_retry values seen
    seen: HashMap<String, Vec<Option<i32>>>,
    retries_asked: HashMap<String, u32>,
    last_tick: Option<i64>,
    problems: Vec<String>,
    fresh_count: u64,
}

impl BatchHandler for Recorder {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        if let Some(last) = self.last_tick {
            if batch.prev_tick_id != last {
                self.problems.push(format!(
                    "consumer {}: batch {} starts at tick {} but the previous ended at {last}",
                    self.consumer, batch.batch_id, batch.prev_tick_id
                ));
            }
        }
        self.last_tick = Some(batch.cur_tick_id);
        let mut prev = None;
        for ev in events {
            if let Some(p) = prev {
                if ev.ev_id <= p && ev.ev_retry.is_none() {
                    self.problems.push(format!(
                        "consumer {}: batch {}: ev_id {} after {p}",
                        self.consumer, batch.batch_id, ev.ev_id
                    ));
                }
            }
            prev = Some(ev.ev_id);
            let payload = ev.ev_data.clone().unwrap_or_default();
            self.seen
                .entry(payload.clone())
                .or_default()
                .push(ev.ev_retry);
            if ev.ev_retry.is_none() {
                self.fresh_count += 1;
                if self.consumer == 1 && self.fresh_count % 3 == 0 {
                    ctl.retry(ev, Duration::ZERO);
                    *self.retries_asked.entry(payload).or_default() += 1;
                }
            }
        }
        Ok(())
    }
}

struct World {
    admin: Client,
    producers: Vec<Client>,
    consumers: Vec<Consumer>,
    recorders: Vec<Recorder>,
    in_tx: Vec<Vec<String>>,
    open: Vec<bool>,
    fates: BTreeMap<String, Fate>,
    queue: String,
    seq: u64,
    rotations: u32,
}

/// What a case exercised, so fixed scenarios can check they test what
/// they claim to.
#[derive(Debug, Default)]
struct Stats {
    rotations: u32,
    retried: usize,
    delivered: usize,
    aborted: usize,
}

impl World {
    async fn apply(&mut self, op: &Op) {
        match *op {
            Op::Begin(p) => {
                if !self.open[p] {
                    self.producers[p].batch_execute("begin").await.unwrap();
                    self.open[p] = true;
                }
            }
            Op::Insert(p, n) => {
                for _ in 0..n {
                    self.seq += 1;
                    let payload = format!("p{p}-{}", self.seq);
                    pgq::insert_event(&self.producers[p], &self.queue, "ev", &payload)
                        .await
                        .unwrap();
                    if self.open[p] {
                        self.fates.insert(payload.clone(), Fate::Pending);
                        self.in_tx[p].push(payload);
                    } else {
                        self.fates.insert(payload, Fate::Committed);
                    }
                }
            }
            Op::Commit(p) | Op::Abort(p) => {
                if self.open[p] {
                    let commit = matches!(op, Op::Commit(_));
                    self.producers[p]
                        .batch_execute(if commit { "commit" } else { "rollback" })
                        .await
                        .unwrap();
                    self.open[p] = false;
                    for payload in self.in_tx[p].drain(..) {
                        self.fates.insert(
                            payload,
                            if commit {
                                Fate::Committed
                            } else {
                                Fate::Aborted
                            },
                        );
                    }
                }
            }
            Op::Tick => {
                // Thresholds are zero, so the ticker always ticks.
                pgq::ticker(&self.admin, &self.queue).await.unwrap();
            }
            Op::Rotate => {
                let before: i32 = self
                    .admin
                    .query_one(
                        "select queue_cur_table from pgq.queue where queue_name = $1",
                        &[&self.queue],
                    )
                    .await
                    .unwrap()
                    .get(0);
                self.admin
                    .query_one("select pgq.maint_rotate_tables_step1($1)", &[&self.queue])
                    .await
                    .unwrap();
                self.admin
                    .query_one("select pgq.maint_rotate_tables_step2()", &[])
                    .await
                    .unwrap();
                let after: i32 = self
                    .admin
                    .query_one(
                        "select queue_cur_table from pgq.queue where queue_name = $1",
                        &[&self.queue],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if after != before {
                    self.rotations += 1;
                }
            }
            Op::Consume(c) => {
                self.consumers[c]
                    .process_batch(&mut self.recorders[c])
                    .await
                    .unwrap();
            }
            Op::RetryMaint => {
                pgq::retry_maint(&self.admin).await.unwrap();
            }
        }
    }

    async fn drain(&mut self) {
        for p in 0..PRODUCERS {
            self.apply(&Op::Commit(p)).await;
        }
        // Retry events are due at once (0 s); two rounds of retry + tick +
        // consume bring every retry back.
        for _ in 0..3 {
            pgq::retry_maint(&self.admin).await.unwrap();
            self.apply(&Op::Tick).await;
            for c in 0..CONSUMERS {
                while self.consumers[c]
                    .process_batch(&mut self.recorders[c])
                    .await
                    .unwrap()
                    .is_some()
                {}
            }
        }
    }

    fn verify(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for r in &self.recorders {
            problems.extend(r.problems.iter().cloned());
            for (payload, fate) in &self.fates {
                let seen = r.seen.get(payload).cloned().unwrap_or_default();
                let fresh = seen.iter().filter(|x| x.is_none()).count();
                let retried = seen.len() - fresh;
                match fate {
                    Fate::Committed => {
                        if fresh != 1 {
                            problems.push(format!(
                                "consumer {}: committed {payload} delivered {fresh} times",
                                r.consumer
                            ));
                        }
                        let asked = r.retries_asked.get(payload).copied().unwrap_or(0) as usize;
                        if retried != asked {
                            problems.push(format!(
                                "consumer {}: {payload} retried {asked} times but came back {retried} times",
                                r.consumer
                            ));
                        }
                    }
                    Fate::Aborted => {
                        if !seen.is_empty() {
                            problems.push(format!(
                                "consumer {}: aborted {payload} delivered",
                                r.consumer
                            ));
                        }
                    }
                    Fate::Pending => problems.push(format!("{payload} still pending after drain")),
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            problems.truncate(20);
            Err(problems.join("\n"))
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The two tests of this file take turns: rotation waits for transactions
/// older than the last rotation cluster-wide, so one test's open
/// transactions would hold the other's rotations back.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

static CASE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn run_case(ops: Vec<Op>) -> Result<Stats, String> {
    static DB: tokio::sync::OnceCell<common::TestDb> = tokio::sync::OnceCell::const_new();
    let db = DB.get_or_init(|| common::installed_db("batches")).await;
    let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let queue = format!("prop q{n}");
    let admin = db.connect().await;
    pgq::create_queue(&admin, &queue).await.unwrap();
    for (k, v) in [
        ("ticker_max_count", "1"),
        ("ticker_max_lag", "0"),
        ("ticker_idle_period", "0"),
        ("rotation_period", "0"),
    ] {
        pgq::set_queue_config(&admin, &queue, k, v).await.unwrap();
    }
    let mut consumers = Vec::new();
    let mut recorders = Vec::new();
    for c in 0..CONSUMERS {
        let cons = Consumer::new(
            db.connect().await,
            &queue,
            &format!("c{c}"),
            ConsumerConfig::default(),
        )
        .await
        .unwrap();
        cons.register().await.unwrap();
        consumers.push(cons);
        recorders.push(Recorder {
            consumer: c,
            seen: HashMap::new(),
            retries_asked: HashMap::new(),
            last_tick: None,
            problems: Vec::new(),
            fresh_count: 0,
        });
    }
    let mut producers = Vec::new();
    for _ in 0..PRODUCERS {
        producers.push(db.connect().await);
    }
    let mut w = World {
        admin,
        producers,
        consumers,
        recorders,
        in_tx: vec![Vec::new(); PRODUCERS],
        open: vec![false; PRODUCERS],
        fates: BTreeMap::new(),
        queue: queue.clone(),
        seq: 0,
        rotations: 0,
    };
    for op in &ops {
        w.apply(op).await;
    }
    w.drain().await;
    let result = w.verify().map(|()| Stats {
        rotations: w.rotations,
        retried: w
            .recorders
            .iter()
            .map(|r| r.retries_asked.values().sum::<u32>() as usize)
            .sum(),
        delivered: w
            .recorders
            .iter()
            .map(|r| r.seen.values().map(Vec::len).sum::<usize>())
            .sum(),
        aborted: w.fates.values().filter(|f| **f == Fate::Aborted).count(),
    });
    for c in &w.consumers {
        c.unregister().await.unwrap();
    }
    pgq::drop_queue(&w.admin, &queue, true).await.unwrap();
    result
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        max_shrink_iters: 200,
        .. ProptestConfig::default()
    })]

    #[test]
    fn every_committed_event_exactly_once_in_order(ops in prop::collection::vec(op(), 10..150)) {
        let _turn = serial();
        let r = runtime().block_on(run_case(ops));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// A fixed scenario that always runs the hard case: a transaction open
/// across several ticks and a rotation commits late, having written to the
/// table that was current before the rotation and to the new one; its
/// events arrive once, in a later batch. While it is open no further
/// rotation may truncate what it wrote; after it commits and the consumers
/// move on, rotation resumes.
#[test]
fn long_transaction_across_ticks_and_rotations() {
    use Op::*;
    let ops = vec![
        Begin(0),
        Insert(0, 3),
        Insert(1, 2),
        Tick,
        Consume(0),
        Consume(1),
        Rotate,
        Insert(2, 1),
        Tick,
        Consume(0),
        Consume(1),
        Rotate,
        Tick,
        Insert(0, 2),
        Commit(0),
        Begin(1),
        Insert(1, 1),
        Abort(1),
        Tick,
        Consume(0),
        Consume(1),
        Consume(0),
        Consume(1),
        RetryMaint,
        Tick,
        Consume(0),
        Consume(1),
        Consume(0),
        Consume(1),
        Rotate,
        Insert(2, 2),
        Tick,
        Consume(0),
        Consume(1),
        Rotate,
    ];
    let _turn = serial();
    let stats = runtime().block_on(run_case(ops)).unwrap();
    assert!(stats.rotations >= 2, "{stats:?}");
    assert!(stats.retried >= 1, "{stats:?}");
    assert!(stats.aborted >= 1, "{stats:?}");
    assert!(stats.delivered >= 2 * 8, "{stats:?}");
}
