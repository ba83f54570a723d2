//! Existing Skytools 3 clients work against skydeck's SQL unchanged: the
//! original pgqd (C) ticks, retries and rotates skydeck's queues, and
//! python3-pgq produces (single and bulk) and consumes with retries.
//!
//! These need Debian's `pgqd` and `python3-pgq`; without them the tests say
//! so and pass, unless `SKYDECK_REQUIRE_ALL=1` (CI) makes it a failure.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skydeck::pgq;

fn have(what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    let msg = format!("{what} is not installed on this machine");
    assert!(
        std::env::var_os("SKYDECK_REQUIRE_ALL").is_none(),
        "{msg}, and SKYDECK_REQUIRE_ALL is set"
    );
    eprintln!("SKIPPED: {msg}");
    false
}

fn pgqd_path() -> Option<String> {
    ["/usr/sbin/pgqd", "/usr/bin/pgqd"]
        .iter()
        .find(|p| Path::new(p).is_file())
        .map(|p| p.to_string())
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn last_tick(c: &tokio_postgres::Client, q: &str) -> i64 {
    pgq::queue_info(c, Some(q)).await.unwrap()[0].last_tick_id
}

#[tokio::test]
async fn original_pgqd_ticks_retries_and_rotates() {
    let Some(pgqd) = pgqd_path() else {
        have("pgqd (the original ticker daemon)", false);
        return;
    };
    let db = common::installed_db("compat_pgqd").await;
    let c = db.connect().await;
    pgq::create_queue(&c, "pq").await.unwrap();
    for (k, v) in [
        ("ticker_max_lag", "0"),
        ("ticker_max_count", "1"),
        ("rotation_period", "0"),
    ] {
        pgq::set_queue_config(&c, "pq", k, v).await.unwrap();
    }
    pgq::register_consumer(&c, "pq", "c").await.unwrap();

    let dir = std::env::temp_dir().join(format!("skydeck-compat-pgqd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("pgqd.log");
    let ini = dir.join("pgqd.ini");
    let cl = common::cluster();
    std::fs::write(
        &ini,
        format!(
            "[pgqd]\nbase_connstr = host={} port={} user=postgres\ndatabase_list = {}\n\
             logfile = {}\npidfile = {}\nticker_period = 0.2\nretry_period = 1\nmaint_period = 1\n\
             check_period = 5\nstats_period = 2\nsyslog = 0\n",
            cl.socket_dir().display(),
            cl.port(),
            db.name,
            log.display(),
            dir.join("pgqd.pid").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(&pgqd)
        .arg("-v")
        .arg(&ini)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let t0 = last_tick(&c, "pq").await;
        for i in 0..10 {
            pgq::insert_event(&c, "pq", "t", &format!("e{i}"))
                .await
                .unwrap();
        }
        wait_for("pgqd to tick", Duration::from_secs(20), || async {
            last_tick(&c, "pq").await > t0
        })
        .await;

        // Consume, asking for a retry of one event; pgqd brings it back.
        let mut consumer = pgq::Consumer::new(
            db.connect().await,
            "pq",
            "c",
            pgq::ConsumerConfig::default(),
        )
        .await
        .unwrap();
        struct H(Vec<(String, Option<i32>)>);
        impl pgq::BatchHandler for H {
            async fn handle<'a>(
                &'a mut self,
                _tx: &'a tokio_postgres::Transaction<'_>,
                _b: &'a pgq::BatchInfo,
                events: &'a [pgq::Event],
                ctl: &'a mut pgq::BatchControl,
            ) -> pgq::Result<()> {
                for e in events {
                    let d = e.ev_data.clone().unwrap();
                    if d == "e3" && e.ev_retry.is_none() {
                        ctl.retry(e, Duration::ZERO);
                    }
                    self.0.push((d, e.ev_retry));
                }
                Ok(())
            }
        }
        let mut h = H(Vec::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !h.0.iter().any(|(d, r)| d == "e3" && *r == Some(1)) {
            assert!(
                Instant::now() < deadline,
                "retry not delivered by pgqd: {:?}",
                h.0
            );
            if consumer.process_batch(&mut h).await.unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let fresh: Vec<&str> =
            h.0.iter()
                .filter(|(_, r)| r.is_none())
                .map(|(d, _)| d.as_str())
                .collect();
        assert_eq!(
            fresh,
            (0..10)
                .map(|i| format!("e{i}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );

        // Maintenance rotates the tables (rotation_period 0).
        let table0 = pgq::queue_info(&c, Some("pq")).await.unwrap()[0].queue_cur_table;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Keep the consumer moving so rotation is not blocked.
            pgq::insert_event(&c, "pq", "t", "more").await.unwrap();
            while consumer.process_batch(&mut h).await.unwrap().is_some() {}
            if pgq::queue_info(&c, Some("pq")).await.unwrap()[0].queue_cur_table != table0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "pgqd did not rotate the queue's tables"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }))
    .await;
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = result {
        eprintln!("--- pgqd log ---\n{text}");
        std::panic::resume_unwind(panic);
    }
    assert!(text.contains("pgq version ok"), "pgqd log:\n{text}");
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("WARNING"))
        .collect();
    assert!(
        bad.is_empty(),
        "pgqd reported problems:\n{}",
        bad.join("\n")
    );
}

const PY_CONSUMER: &str = r#"
import json, sys
import pgq

out_path, want = sys.argv[2], int(sys.argv[3])

class Compat(pgq.Consumer):
    seen = 0
    def process_event(self, db, ev):
        with open(out_path, 'a') as f:
            f.write(json.dumps({'id': ev.id, 'type': ev.type, 'data': ev.data,
                                'extra1': ev.extra1, 'retry': ev.retry}) + '\n')
        if ev.data == 'retry-me' and not ev.retry:
            ev.tag_retry(0)
        else:
            ev.tag_done()
        Compat.seen += 1
        if Compat.seen >= want:
            self.looping = 0

Compat('compat_consumer', 'db', [sys.argv[1]]).start()
"#;

const PY_PRODUCER: &str = r#"
import sys
import psycopg2, pgq
db = psycopg2.connect(sys.argv[1])
cur = db.cursor()
pgq.insert_event(cur, 'pyq', 'py', 'single', 'x1', None, None, None)
pgq.insert_event(cur, 'pyq', 'py', 'retry-me')
# ev_time has no default: bulk producers give it.
pgq.bulk_insert_events(cur, [['bulk', 'b%d' % i, 'public.t', '2026-01-01 00:00:00+00'] for i in range(5)],
                       ['type', 'data', 'extra1', 'time'], 'pyq')
db.commit()
"#;

#[tokio::test]
async fn python_pgq_produces_and_consumes() {
    let py = "/usr/bin/python3";
    let ok = Command::new(py)
        .args(["-c", "import pgq, psycopg2"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have("python3-pgq", ok) {
        return;
    }
    let db = common::installed_db("compat_python").await;
    let c = db.connect().await;
    pgq::create_queue(&c, "pyq").await.unwrap();
    for (k, v) in [
        ("ticker_max_lag", "0"),
        ("ticker_max_count", "1"),
        ("ticker_idle_period", "0"),
    ] {
        pgq::set_queue_config(&c, "pyq", k, v).await.unwrap();
    }
    pgq::register_consumer(&c, "pyq", "compat_consumer")
        .await
        .unwrap();
    let out = Command::new(py)
        .args(["-c", PY_PRODUCER, &db.connstr])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python producer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pgq::insert_event(&c, "pyq", "rust", "from rust")
        .await
        .unwrap();
    pgq::ticker(&c, "pyq").await.unwrap();

    let dir = std::env::temp_dir().join(format!("skydeck-compat-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ini = dir.join("consumer.ini");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &ini,
        format!(
            "[compat_consumer]\njob_name = compat_consumer\ndb = {}\nqueue_name = pyq\nlogfile = {}\n\
             pidfile = {}\nloop_delay = 0.1\nuse_skylog = 0\n",
            db.connstr,
            dir.join("consumer.log").display(),
            dir.join("consumer.pid").display()
        ),
    )
    .unwrap();
    // 8 fresh events + 1 retry.
    let mut child = Command::new(py)
        .args([
            "-c",
            PY_CONSUMER,
            ini.to_str().unwrap(),
            events.to_str().unwrap(),
            "9",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            assert!(status.success(), "python consumer failed: {err}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "python consumer did not finish; log:\n{}",
                std::fs::read_to_string(dir.join("consumer.log")).unwrap_or_default()
            );
        }
        // Play pgqd: bring retries back and tick.
        pgq::retry_maint(&c).await.unwrap();
        pgq::ticker(&c, "pyq").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let datas: Vec<&str> = lines.iter().map(|v| v["data"].as_str().unwrap()).collect();
    assert_eq!(
        datas,
        vec![
            "single",
            "retry-me",
            "b0",
            "b1",
            "b2",
            "b3",
            "b4",
            "from rust",
            "retry-me"
        ]
    );
    assert_eq!(lines[0]["extra1"], "x1");
    assert_eq!(lines[2]["extra1"], "public.t");
    assert_eq!(lines[8]["retry"], 1);
    assert!(lines
        .windows(2)
        .take(7)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    let info = pgq::consumer_info(&c, Some("pyq"), Some("compat_consumer"))
        .await
        .unwrap();
    assert_eq!(info[0].current_batch, None);
}
