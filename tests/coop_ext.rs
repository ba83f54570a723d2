//! Cooperative consumers (four subconsumers share a queue, one dies in the
//! middle of a batch and another finishes it) and exactly-once delivery
//! into another database through pgq_ext (batch- and tick-tracked), with
//! the consumer killed at random moments.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skydeck::cluster::LocalCluster;
use skydeck::pgq::{
    self, BatchControl, BatchHandler, BatchInfo, ConsumerConfig, CoopConsumer, Event, NewEvent,
    RemoteConsumer, Tracking,
};
use tokio_postgres::Transaction;

/// Applies events into `applied` (in the batch's transaction); can be made
/// to hang forever half-way through a batch, to die there.
struct Apply {
    who: String,
    hang: Option<Arc<AtomicBool>>,
}

impl BatchHandler for Apply {
    async fn handle<'a>(
        &'a mut self,
        tx: &'a Transaction<'_>,
        _b: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for (i, e) in events.iter().enumerate() {
            tx.execute(
                "insert into applied (payload, who) values ($1, $2)",
                &[&e.ev_data, &self.who],
            )
            .await
            .map_err(|e| pgq::PgqError::Handler(skydeck::db::describe(&e)))?;
            if i == events.len() / 2 {
                if let Some(h) = &self.hang {
                    if h.load(Ordering::SeqCst) {
                        // Die here: the task is aborted while we wait.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                }
            }
        }
        Ok(())
    }
}

async fn fill(
    c: &mut tokio_postgres::Client,
    queue: &str,
    batches: usize,
    per: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    for b in 0..batches {
        let tx = c.transaction().await.unwrap();
        let evs: Vec<NewEvent> = (0..per)
            .map(|i| NewEvent::new("t", format!("b{b:03}e{i:03}")))
            .collect();
        all.extend(evs.iter().map(|e| e.ev_data.clone().unwrap()));
        pgq::bulk_insert(&tx, queue, &evs).await.unwrap();
        tx.commit().await.unwrap();
        pgq::ticker(c, queue).await.unwrap();
    }
    all
}

fn assert_once(got: &[String], want: &[String]) {
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for g in got {
        *counts.entry(g).or_default() += 1;
    }
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "applied more than once: {dups:?}");
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !counts.contains_key(w))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "never applied: {missing:?} ({} in all)",
        want.len() - counts.len()
    );
    assert_eq!(got.len(), want.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_subconsumers_share_a_queue_and_take_over_a_dead_ones_batch() {
    if common::against_c_extension() {
        eprintln!("SKIPPED: pgq_coop has no packaged original");
        return;
    }
    let db = common::installed_db("coop").await;
    let mut c = db.connect().await;
    c.batch_execute("create table applied (payload text, who text)")
        .await
        .unwrap();
    pgq::create_queue(&c, "cq").await.unwrap();
    pgq::set_queue_config(&c, "cq", "ticker_max_count", "1")
        .await
        .unwrap();
    pgq::set_queue_config(&c, "cq", "ticker_max_lag", "0")
        .await
        .unwrap();
    let mut subs = Vec::new();
    for i in 0..4 {
        let s = CoopConsumer::new(
            db.connect().await,
            "cq",
            "group",
            &format!("s{i}"),
            ConsumerConfig::default(),
            Some(Duration::from_secs(1)),
        )
        .await
        .unwrap();
        assert!(s.register().await.unwrap());
        subs.push(s);
    }
    let want = fill(&mut c, "cq", 40, 25).await;

    // Subconsumer 0 takes a batch and dies in the middle of it.
    let hang = Arc::new(AtomicBool::new(true));
    let mut doomed = subs.remove(0);
    let h2 = hang.clone();
    let dying = tokio::spawn(async move {
        let mut a = Apply {
            who: "s0".into(),
            hang: Some(h2),
        };
        let _ = doomed.process_batch(&mut a).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    dying.abort();
    let _ = dying.await;

    // The others share the rest in parallel, and after the dead interval
    // one of them takes the dead one's batch over.
    let mut tasks = Vec::new();
    for (i, mut s) in subs.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut a = Apply {
                who: format!("s{}", i + 1),
                hang: None,
            };
            let mut batches = 0;
            let mut idle_since = Instant::now();
            while idle_since.elapsed() < Duration::from_secs(3) {
                match s.process_batch(&mut a).await.unwrap() {
                    Some(_) => {
                        batches += 1;
                        idle_since = Instant::now();
                    }
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            batches
        }));
    }
    let mut per_sub = Vec::new();
    for t in tasks {
        per_sub.push(t.await.unwrap());
    }
    let got: Vec<String> = c
        .query("select payload from applied", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_once(&got, &want);
    assert!(
        per_sub.iter().filter(|n| **n > 0).count() >= 2,
        "the work was not shared: {per_sub:?}"
    );
    let by_dead: i64 = c
        .query_one("select count(*) from applied where who = 's0'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        by_dead, 0,
        "the dead subconsumer's half-done work was rolled back"
    );
}

async fn remote_run(tracking: Tracking) {
    let source = common::installed_db(&format!("remote_src_{tracking:?}")).await;
    let target_cluster = LocalCluster::builder(&format!("remote_tgt_{tracking:?}"))
        .start()
        .unwrap();
    let admin = target_cluster.connect("postgres").await.unwrap();
    admin.batch_execute("create database tgt").await.unwrap();
    let tconn = target_cluster.connstr("tgt");
    {
        // pgq_ext has no packaged original: skydeck's is the target side
        // in either mode.
        let mut t = skydeck::db::connect(&tconn).await.unwrap();
        skydeck::install::install(&mut t, &["pgq_ext".into()])
            .await
            .unwrap();
        t.batch_execute("create table applied (payload text, who text)")
            .await
            .unwrap();
    }
    let mut sc = source.connect().await;
    pgq::create_queue(&sc, "rq").await.unwrap();
    pgq::set_queue_config(&sc, "rq", "ticker_max_count", "1")
        .await
        .unwrap();
    pgq::set_queue_config(&sc, "rq", "ticker_max_lag", "0")
        .await
        .unwrap();
    pgq::register_consumer(&sc, "rq", "remote").await.unwrap();
    let want = fill(&mut sc, "rq", 60, 20).await;

    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let killer_src = source.connect().await;
    let killer_tgt = skydeck::db::connect(&tconn).await.unwrap();
    for round in 0..16 {
        let src = pgq::Consumer::new(
            source.connect().await,
            "rq",
            "remote",
            ConsumerConfig::default(),
        )
        .await
        .unwrap();
        let tgt = skydeck::db::connect(&tconn).await.unwrap();
        let mut rc = RemoteConsumer::new(src, tgt, tracking);
        let task = tokio::spawn(async move {
            let mut a = Apply {
                who: "remote".into(),
                hang: None,
            };
            while rc
                .process_batch(&mut a)
                .await
                .map(|b| b.is_some())
                .unwrap_or(false)
            {}
        });
        tokio::time::sleep(Duration::from_millis(next() % 40)).await;
        if round % 2 == 0 {
            task.abort();
        } else {
            for k in [&killer_src, &killer_tgt] {
                let _ = k
                    .execute(
                        "select pg_terminate_backend(pid) from pg_stat_activity \
                          where application_name = 'skydeck' and pid <> pg_backend_pid() and datname = current_database()",
                        &[],
                    )
                    .await;
            }
        }
        let _ = task.await;
    }
    // Finish in peace.
    let src = pgq::Consumer::new(
        source.connect().await,
        "rq",
        "remote",
        ConsumerConfig::default(),
    )
    .await
    .unwrap();
    let mut rc = RemoteConsumer::new(src, skydeck::db::connect(&tconn).await.unwrap(), tracking);
    let mut a = Apply {
        who: "remote".into(),
        hang: None,
    };
    while rc.process_batch(&mut a).await.unwrap().is_some() {}
    let got: Vec<String> = rc
        .target()
        .query("select payload from applied", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_once(&got, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_exactly_once_by_batch_under_random_kills() {
    remote_run(Tracking::Batch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_exactly_once_by_tick_under_random_kills() {
    remote_run(Tracking::Tick).await;
}
