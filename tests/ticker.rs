//! The in-process ticker against real clusters: ticks, NOTIFY on the
//! queue's channel, consumers woken by it, rotation and retry through
//! `maint_operations`, databases appearing and vanishing, and a server
//! that goes away and comes back.

mod common;

use std::time::{Duration, Instant};

use skydeck::cluster::LocalCluster;
use skydeck::pgq::{self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event};
use skydeck::ticker::{self, DbState, PgBackend, Settings, Status};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn fast(base_connstr: String, dbs: Vec<String>) -> Settings {
    Settings {
        base_connstr,
        initial_database: "postgres".into(),
        database_list: dbs,
        check_period: Duration::from_millis(500),
        retry_period: Duration::from_millis(300),
        maint_period: Duration::from_millis(300),
        ticker_period: Duration::from_millis(100),
        stats_period: Duration::from_secs(30),
        connection_lifetime: Duration::from_secs(3600),
        max_backoff: Duration::from_secs(1),
    }
}

fn base_of(c: &LocalCluster) -> String {
    format!(
        "host={} port={} user=postgres",
        c.socket_dir().display(),
        c.port()
    )
}

struct Running {
    stop: CancellationToken,
    status: watch::Receiver<Status>,
    task: tokio::task::JoinHandle<()>,
}

fn start(s: Settings) -> Running {
    let backend = PgBackend::new(&s.base_connstr, &s.initial_database).unwrap();
    let stop = CancellationToken::new();
    let (tx, rx) = watch::channel(Status::default());
    let task = tokio::spawn(ticker::run(backend, s, stop.clone(), tx));
    Running {
        stop,
        status: rx,
        task,
    }
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the ticker stops within 30 s")
            .unwrap();
    }

    async fn wait_for(&mut self, what: &str, timeout: Duration, f: impl Fn(&Status) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if f(&self.status.borrow()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; status: {:?}",
                *self.status.borrow()
            );
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(200)), self.status.changed())
                    .await;
        }
    }
}

#[derive(Default)]
struct Seen(Vec<(String, Option<i32>)>);

impl BatchHandler for Seen {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a tokio_postgres::Transaction<'_>,
        _b: &'a BatchInfo,
        events: &'a [Event],
        ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for e in events {
            let d = e.ev_data.clone().unwrap_or_default();
            if d == "retry me" && e.ev_retry.is_none() {
                ctl.retry(e, Duration::ZERO);
            }
            self.0.push((d, e.ev_retry));
        }
        Ok(())
    }
}

async fn cur_table(c: &tokio_postgres::Client, q: &str) -> i32 {
    pgq::queue_info(c, Some(q)).await.unwrap()[0].queue_cur_table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_notifies_rotates_and_retries() {
    let db = common::installed_db("ticker_work").await;
    let c = db.connect().await;
    pgq::create_queue(&c, "tq").await.unwrap();
    for (k, v) in [
        ("ticker_max_lag", "0"),
        ("ticker_max_count", "1"),
        ("rotation_period", "0"),
    ] {
        pgq::set_queue_config(&c, "tq", k, v).await.unwrap();
    }
    let queue_id: i32 = c
        .query_one(
            "select queue_id from pgq.queue where queue_name = 'tq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // A bystander listening on the queue's channel.
    let (listener, mut notes) = skydeck::db::connect_with_notifications(&db.connstr)
        .await
        .unwrap();
    listener
        .batch_execute(&format!("listen \"{}\"", ticker::tick_channel(queue_id)))
        .await
        .unwrap();

    let cfg = ConsumerConfig {
        // Long: the consumer must be woken by the NOTIFY, not by polling.
        idle_sleep: Duration::from_secs(3600),
        ..Default::default()
    };
    let mut consumer = Consumer::connect(&db.connstr, "tq", "c", cfg)
        .await
        .unwrap();
    consumer.register().await.unwrap();

    let cl = common::cluster();
    let mut t = start(fast(base_of(cl), vec![db.name.clone()]));
    t.wait_for("the ticker to start", Duration::from_secs(20), |s| {
        matches!(
            s.databases.get(&db.name).map(|d| &d.state),
            Some(DbState::Ticking { .. })
        )
    })
    .await;

    pgq::insert_event(&c, "tq", "t", "hello").await.unwrap();
    pgq::insert_event(&c, "tq", "t", "retry me").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(30), notes.recv())
        .await
        .expect("a tick notification")
        .unwrap();
    assert_eq!(n.channel(), ticker::tick_channel(queue_id));
    assert!(
        n.payload().parse::<i64>().unwrap() > 1,
        "payload is the tick id: {}",
        n.payload()
    );

    // The consumer runs in the background; the NOTIFY wakes it.
    let stop_consumer = CancellationToken::new();
    let sc = stop_consumer.clone();
    let runner = tokio::spawn(async move {
        let mut seen = Seen::default();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if seen.0.iter().any(|(d, r)| d == "retry me" && *r == Some(1)) {
                break;
            }
            let stop = CancellationToken::new();
            let s2 = stop.clone();
            // Run until the first batch is done, then look again.
            let h = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(700)).await;
                s2.cancel();
            });
            consumer.run(&mut seen, &stop).await.unwrap();
            h.abort();
            if sc.is_cancelled() {
                break;
            }
        }
        seen
    });
    let seen = runner.await.unwrap();
    stop_consumer.cancel();
    let fresh: Vec<&str> = seen
        .0
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(fresh, vec!["hello", "retry me"]);
    assert!(
        seen.0.iter().any(|(d, r)| d == "retry me" && *r == Some(1)),
        "the retry came back through the ticker's retry loop: {:?}",
        seen.0
    );

    // Maintenance rotates (rotation_period 0). The consumer stopped, so its
    // position would rightly hold the next rotation back: let it go first.
    pgq::unregister_consumer(&c, "tq", "c").await.unwrap();
    let t0 = cur_table(&c, "tq").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while cur_table(&c, "tq").await == t0 {
        assert!(
            Instant::now() < deadline,
            "no rotation by the maintenance loop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let st = t.status.borrow().clone();
    let d = &st.databases[&db.name];
    assert!(
        d.ticks >= 2 && d.retried_events >= 1 && d.maint_ops >= 1,
        "{d:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_databases_and_survives_a_server_restart() {
    let mut cluster = LocalCluster::builder("ticker_disc").start().unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    admin
        .batch_execute("create database withpgq")
        .await
        .unwrap();
    admin.batch_execute("create database plain").await.unwrap();
    let mut w = cluster.connect("withpgq").await.unwrap();
    skydeck::install::install(&mut w, &[]).await.unwrap();
    pgq::create_queue(&w, "q").await.unwrap();
    pgq::set_queue_config(&w, "q", "ticker_max_lag", "0")
        .await
        .unwrap();
    drop(w);

    let mut t = start(fast(base_of(&cluster), vec![]));
    t.wait_for(
        "withpgq ticking, plain without pgq",
        Duration::from_secs(20),
        |s| {
            matches!(
                s.databases.get("withpgq").map(|d| &d.state),
                Some(DbState::Ticking { .. })
            ) && matches!(
                s.databases.get("plain").map(|d| &d.state),
                Some(DbState::NoPgq { .. })
            )
        },
    )
    .await;
    assert!(!t.status.borrow().databases.contains_key("template1"));

    // A new database with PgQ is found; a dropped one is let go.
    admin.batch_execute("create database later").await.unwrap();
    let mut l = cluster.connect("later").await.unwrap();
    skydeck::install::install(&mut l, &[]).await.unwrap();
    drop(l);
    t.wait_for("the new database", Duration::from_secs(20), |s| {
        matches!(
            s.databases.get("later").map(|d| &d.state),
            Some(DbState::Ticking { .. })
        )
    })
    .await;
    admin
        .batch_execute("drop database plain with (force)")
        .await
        .unwrap();
    t.wait_for("the dropped database to go", Duration::from_secs(20), |s| {
        !s.databases.contains_key("plain")
    })
    .await;
    drop(admin);

    // The server dies and comes back: the ticker resumes by itself.
    let before = t.status.borrow().databases["withpgq"].tick_rounds;
    cluster.crash();
    t.wait_for(
        "the database to be reported down",
        Duration::from_secs(20),
        |s| {
            matches!(
                s.databases.get("withpgq").map(|d| &d.state),
                Some(DbState::Down { .. })
            )
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.restart().unwrap();
    t.wait_for(
        "ticking again after the restart",
        Duration::from_secs(30),
        |s| {
            s.databases.get("withpgq").is_some_and(|d| {
                matches!(d.state, DbState::Ticking { .. }) && d.tick_rounds > before + 3
            })
        },
    )
    .await;
    let c = cluster.connect("withpgq").await.unwrap();
    let id = pgq::insert_event(&c, "q", "t", "after restart")
        .await
        .unwrap();
    assert!(id > 0);
    let last = pgq::queue_info(&c, Some("q")).await.unwrap()[0].last_tick_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    while pgq::queue_info(&c, Some("q")).await.unwrap()[0].last_tick_id == last {
        assert!(Instant::now() < deadline, "no tick after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.stop().await;
}

#[tokio::test]
async fn ticker_against_the_original_extension() {
    // The ticker is a client of the pgq API: it works the same against the
    // original C extension.
    let c = common::cluster();
    let db = common::fresh_db("ticker_cext").await;
    let client = db.connect().await;
    let available: i64 = client
        .query_one(
            "select count(*) from pg_available_extensions where name = 'pgq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if available == 0 {
        assert!(
            std::env::var_os("SKYDECK_REQUIRE_ALL").is_none(),
            "the C pgq extension is not installed"
        );
        eprintln!("SKIPPED: the C pgq extension is not installed");
        return;
    }
    common::create_c_extension(&client, &db.name).await;
    pgq::create_queue(&client, "cq").await.unwrap();
    pgq::set_queue_config(&client, "cq", "ticker_max_lag", "0")
        .await
        .unwrap();
    let mut t = start(fast(base_of(c), vec![db.name.clone()]));
    pgq::insert_event(&client, "cq", "t", "x").await.unwrap();
    t.wait_for("ticks on the C extension", Duration::from_secs(20), |s| {
        s.databases.get(&db.name).is_some_and(|d| d.ticks >= 1)
    })
    .await;
    t.stop().await;
}
