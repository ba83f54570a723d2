//! The Rust PgQ API against a real cluster: producing (single and bulk
//! COPY), the consumer loop (all-at-once and cursor), exactly-once under
//! handler failures and killed connections, retries, decoding of what the
//! triggers write, and hostile names end to end.

mod common;

use std::time::Duration;

use skydeck::pgq::{
    self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event, NewEvent, Op,
    Payload,
};
use tokio_postgres::{Client, Transaction};

async fn queue_with_zero_thresholds(c: &Client, q: &str) {
    pgq::create_queue(c, q).await.unwrap();
    for (k, v) in [
        ("ticker_max_count", "1"),
        ("ticker_max_lag", "0"),
        ("ticker_idle_period", "0"),
    ] {
        pgq::set_queue_config(c, q, k, v).await.unwrap();
    }
}

/// Collects events; optionally fails (after writing) on a chosen event.
#[derive(Default)]
struct Collect {
    events: Vec<Event>,
    batches: Vec<BatchInfo>,
}

impl BatchHandler for Collect {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        if self.batches.last().map(|b| b.batch_id) != Some(batch.batch_id) {
            self.batches.push(batch.clone());
        }
        self.events.extend_from_slice(events);
        Ok(())
    }
}

async fn drain(consumer: &mut Consumer, h: &mut impl BatchHandler) -> usize {
    let mut n = 0;
    while consumer.process_batch(h).await.unwrap().is_some() {
        n += 1;
    }
    n
}

#[tokio::test]
async fn produce_single_and_bulk_then_consume() {
    let db = common::installed_db("api_produce").await;
    let mut c = db.connect().await;
    queue_with_zero_thresholds(&c, "q").await;
    let mut consumer = Consumer::new(db.connect().await, "q", "reader", ConsumerConfig::default())
        .await
        .unwrap();
    assert!(consumer.register().await.unwrap());
    assert!(
        !consumer.register().await.unwrap(),
        "second register is a no-op"
    );

    let id1 = pgq::insert_event(&c, "q", "single", "one").await.unwrap();
    let id2 = pgq::insert_event_ex(
        &c,
        "q",
        &NewEvent::new("full", "two")
            .extra1("e1")
            .extra2("e2")
            .extra3("e3")
            .extra4("e4"),
    )
    .await
    .unwrap();
    assert!(id2 > id1);

    // Bulk: 5000 events in the caller's transaction, with NULLs and
    // awkward text; a rolled-back bulk insert leaves nothing.
    let events: Vec<NewEvent> = (0..5000)
        .map(|i| NewEvent {
            ev_type: Some("bulk".into()),
            ev_data: Some(format!("row {i}\ttab\\back 'q' \"dq\" ü")),
            ev_extra1: if i % 2 == 0 {
                Some(format!("x{i}"))
            } else {
                None
            },
            ..Default::default()
        })
        .collect();
    let tx = c.transaction().await.unwrap();
    assert_eq!(pgq::bulk_insert(&tx, "q", &events).await.unwrap(), 5000);
    tx.commit().await.unwrap();
    let tx = c.transaction().await.unwrap();
    pgq::bulk_insert(&tx, "q", &[NewEvent::new("bulk", "rolled back")])
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    pgq::ticker(&c, "q").await.unwrap();
    let mut h = Collect::default();
    assert_eq!(drain(&mut consumer, &mut h).await, 1);
    assert_eq!(h.events.len(), 5002);
    assert_eq!(h.events[0].ev_type.as_deref(), Some("single"));
    assert_eq!(h.events[1].ev_extra4.as_deref(), Some("e4"));
    for (i, ev) in h.events[2..].iter().enumerate() {
        assert_eq!(
            ev.ev_data.as_deref(),
            Some(format!("row {i}\ttab\\back 'q' \"dq\" ü").as_str())
        );
        assert_eq!(ev.ev_extra1.is_some(), i % 2 == 0);
        assert_eq!(ev.ev_retry, None);
    }
    assert!(
        h.events.windows(2).all(|w| w[0].ev_id < w[1].ev_id),
        "ev_id order"
    );
    assert!(!h
        .events
        .iter()
        .any(|e| e.ev_data.as_deref() == Some("rolled back")));

    // The consumer is caught up: nothing pending.
    let info = pgq::consumer_info(&c, Some("q"), Some("reader"))
        .await
        .unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].current_batch, None);
    assert_eq!(info[0].last_tick, Some(h.batches[0].cur_tick_id));
}

#[tokio::test]
async fn cursor_mode_hands_events_over_in_chunks() {
    let db = common::installed_db("api_cursor").await;
    let mut c = db.connect().await;
    queue_with_zero_thresholds(&c, "q").await;
    let cfg = ConsumerConfig {
        fetch_size: Some(300),
        ..Default::default()
    };
    let mut consumer = Consumer::new(db.connect().await, "q", "cur", cfg)
        .await
        .unwrap();
    consumer.register().await.unwrap();
    let tx = c.transaction().await.unwrap();
    let events: Vec<NewEvent> = (0..1000)
        .map(|i| NewEvent::new("t", i.to_string()))
        .collect();
    pgq::bulk_insert(&tx, "q", &events).await.unwrap();
    tx.commit().await.unwrap();
    pgq::ticker(&c, "q").await.unwrap();

    struct Chunks(Vec<usize>, Vec<String>);
    impl BatchHandler for Chunks {
        async fn handle<'a>(
            &'a mut self,
            _tx: &'a Transaction<'_>,
            _b: &'a BatchInfo,
            events: &'a [Event],
            _ctl: &'a mut BatchControl,
        ) -> pgq::Result<()> {
            self.0.push(events.len());
            self.1
                .extend(events.iter().map(|e| e.ev_data.clone().unwrap()));
            Ok(())
        }
    }
    let mut h = Chunks(Vec::new(), Vec::new());
    let s = consumer.process_batch(&mut h).await.unwrap().unwrap();
    assert_eq!(s.events, 1000);
    assert_eq!(h.0, vec![300, 300, 300, 100]);
    let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(h.1, want);
    assert!(consumer.process_batch(&mut h).await.unwrap().is_none());
}

/// Applies each event into `applied` in the batch's transaction, and can be
/// told to fail or to have its connection killed at a given point.
struct Apply {
    fail_after: Option<usize>,
    seen: usize,
    retry_every: Option<usize>,
}

impl BatchHandler for Apply {
    async fn handle<'a>(
        &'a mut self,
        tx: &'a Transaction<'_>,
        _b: &'a BatchInfo,
        events: &'a [Event],
        ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for ev in events {
            tx.execute(
                "insert into applied (payload, retry) values ($1, $2)",
                &[&ev.ev_data, &ev.ev_retry],
            )
            .await
            .map_err(|e| pgq::PgqError::Handler(skydeck::db::describe(&e)))?;
            self.seen += 1;
            if self.fail_after == Some(self.seen) {
                return Err(pgq::PgqError::Handler("injected failure".into()));
            }
            if let Some(k) = self.retry_every {
                if ev.ev_retry.is_none() && self.seen % k == 0 {
                    ctl.retry(ev, Duration::ZERO);
                }
            }
        }
        Ok(())
    }
}

async fn applied(c: &Client) -> Vec<(String, Option<i32>)> {
    c.query(
        "select payload, retry from applied order by payload, retry nulls first",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test]
async fn exactly_once_when_the_handler_fails_or_the_connection_dies() {
    let db = common::installed_db("api_exactly_once").await;
    let c = db.connect().await;
    c.batch_execute("create table applied (payload text, retry int)")
        .await
        .unwrap();
    queue_with_zero_thresholds(&c, "q").await;
    let mut consumer = Consumer::new(db.connect().await, "q", "apply", ConsumerConfig::default())
        .await
        .unwrap();
    consumer.register().await.unwrap();
    let total = 60usize;
    for round in 0..3 {
        for i in 0..20 {
            pgq::insert_event(&c, "q", "t", &format!("{:03}", round * 20 + i))
                .await
                .unwrap();
        }
        pgq::ticker(&c, "q").await.unwrap();
    }

    // 1. The handler fails half way: nothing of that batch stays applied.
    let mut h = Apply {
        fail_after: Some(7),
        seen: 0,
        retry_every: None,
    };
    let err = consumer.process_batch(&mut h).await.unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(applied(&c).await.is_empty());

    // 2. The connection is killed while the batch is open (terminated from
    // outside between the handler's work and the commit): a new consumer
    // on a new connection resumes and nothing is lost or repeated.
    let pid: i32 = consumer
        .client()
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    struct KillMidway {
        admin: Client,
        pid: i32,
    }
    impl BatchHandler for KillMidway {
        async fn handle<'a>(
            &'a mut self,
            tx: &'a Transaction<'_>,
            _b: &'a BatchInfo,
            events: &'a [Event],
            _ctl: &'a mut BatchControl,
        ) -> pgq::Result<()> {
            for ev in events {
                tx.execute("insert into applied (payload) values ($1)", &[&ev.ev_data])
                    .await
                    .map_err(|e| pgq::PgqError::Handler(e.to_string()))?;
            }
            self.admin
                .query_one("select pg_terminate_backend($1)", &[&self.pid])
                .await
                .unwrap();
            Ok(())
        }
    }
    let mut killer = KillMidway {
        admin: db.connect().await,
        pid,
    };
    assert!(consumer.process_batch(&mut killer).await.is_err());
    assert!(applied(&c).await.is_empty());
    drop(consumer);

    // 3. A task aborted in the middle of a batch (the consumer process
    // dying): its transaction never commits.
    let mut consumer = Consumer::new(db.connect().await, "q", "apply", ConsumerConfig::default())
        .await
        .unwrap();
    struct Slow;
    impl BatchHandler for Slow {
        async fn handle<'a>(
            &'a mut self,
            tx: &'a Transaction<'_>,
            _b: &'a BatchInfo,
            events: &'a [Event],
            _ctl: &'a mut BatchControl,
        ) -> pgq::Result<()> {
            for ev in events {
                tx.execute("insert into applied (payload) values ($1)", &[&ev.ev_data])
                    .await
                    .map_err(|e| pgq::PgqError::Handler(e.to_string()))?;
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    }
    let task = tokio::spawn(async move {
        let mut slow = Slow;
        let _ = consumer.process_batch(&mut slow).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort();
    let _ = task.await;
    // The aborted task's connection closes; its transaction rolls back.
    for _ in 0..100 {
        let n: i64 = c
            .query_one("select count(*) from pg_stat_activity where state like 'idle in transaction%' and datname = current_database()", &[])
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(applied(&c).await.is_empty());

    // 4. Now run to the end, retrying every 5th event once.
    let mut consumer = Consumer::new(db.connect().await, "q", "apply", ConsumerConfig::default())
        .await
        .unwrap();
    let mut h = Apply {
        fail_after: None,
        seen: 0,
        retry_every: Some(5),
    };
    drain(&mut consumer, &mut h).await;
    assert_eq!(pgq::retry_maint(&c).await.unwrap(), 12);
    pgq::ticker(&c, "q").await.unwrap();
    drain(&mut consumer, &mut h).await;
    let rows = applied(&c).await;
    let fresh: Vec<&String> = rows
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(p, _)| p)
        .collect();
    let want: Vec<String> = (0..total).map(|i| format!("{i:03}")).collect();
    assert_eq!(
        fresh,
        want.iter().collect::<Vec<_>>(),
        "every event applied exactly once"
    );
    let retried: Vec<&(String, Option<i32>)> = rows.iter().filter(|(_, r)| r.is_some()).collect();
    assert_eq!(retried.len(), 12);
    assert!(retried.iter().all(|(_, r)| *r == Some(1)));
}

#[tokio::test]
async fn trigger_events_decode_to_the_rows_written() {
    let db = common::installed_db("api_decode").await;
    let c = db.connect().await;
    queue_with_zero_thresholds(&c, "rows").await;
    c.batch_execute(
        r#"
        create table "Odd Table" (
            "Id" int primary key,
            "first name" text,
            note text,
            amount numeric,
            flag bool,
            tags text[]
        );
        create trigger u after insert or update or delete on "Odd Table"
            for each row execute procedure pgq.logutriga('rows');
        create table plain (id int primary key, v text);
        create trigger s after insert or update or delete on plain
            for each row execute procedure pgq.sqltriga('rows');
        create table js (id int primary key, v text, b bool, n int8);
        create trigger j after insert or update or delete on js
            for each row execute procedure pgq.jsontriga('rows');
        "#,
    )
    .await
    .unwrap();
    let nasty = "it's a \"test\" & 100% = ü\\ \n end";
    c.execute(
        r#"insert into "Odd Table" values (1, $1, null, 12.50, true, '{a,"b c"}')"#,
        &[&nasty],
    )
    .await
    .unwrap();
    c.execute(r#"update "Odd Table" set note = 'x' where "Id" = 1"#, &[])
        .await
        .unwrap();
    c.execute(r#"delete from "Odd Table" where "Id" = 1"#, &[])
        .await
        .unwrap();
    c.execute("insert into plain values (7, $1)", &[&nasty])
        .await
        .unwrap();
    c.execute("update plain set v = 'w' where id = 7", &[])
        .await
        .unwrap();
    c.execute("delete from plain where id = 7", &[])
        .await
        .unwrap();
    c.execute(
        "insert into js values (3, $1, false, -9223372036854775808)",
        &[&nasty],
    )
    .await
    .unwrap();
    pgq::ticker(&c, "rows").await.unwrap();

    let mut consumer = Consumer::new(db.connect().await, "rows", "dec", ConsumerConfig::default())
        .await
        .unwrap();
    // Registered after the events: reposition to the first tick.
    let first: i64 = c
        .query_one(
            "select min(tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = 'rows'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    pgq::register_consumer_at(&c, "rows", "dec", first)
        .await
        .unwrap();
    let mut h = Collect::default();
    drain(&mut consumer, &mut h).await;
    let rows: Vec<_> = h
        .events
        .iter()
        .map(|e| match pgq::decode("rows", 0, e).unwrap() {
            Payload::Row(r) => r,
            Payload::Other => panic!("not a row event: {e:?}"),
        })
        .collect();
    assert_eq!(rows.len(), 7);

    let ins = &rows[0];
    assert_eq!(ins.op, Op::Insert);
    assert_eq!(ins.table.as_deref(), Some("public.Odd Table"));
    assert_eq!(ins.pkey, vec!["Id"]);
    assert_eq!(ins.get("first name"), Some(Some(nasty)));
    assert_eq!(ins.get("note"), Some(None));
    assert_eq!(ins.get("amount"), Some(Some("12.50")));
    assert_eq!(ins.get("flag"), Some(Some("t")));
    assert_eq!(ins.get("tags"), Some(Some("{a,\"b c\"}")));
    assert_eq!(rows[1].op, Op::Update);
    assert_eq!(rows[1].get("note"), Some(Some("x")));
    assert_eq!(rows[2].op, Op::Delete);
    assert_eq!(rows[2].get("Id"), Some(Some("1")));

    assert_eq!(rows[3].op, Op::Insert);
    assert_eq!(rows[3].encoding, pgq::event::Encoding::PartialSql);
    assert_eq!(rows[3].get("v"), Some(Some(nasty)));
    assert_eq!(rows[4].op, Op::Update);
    assert_eq!(
        rows[4].columns,
        vec![("v".to_string(), Some("w".to_string()))]
    );
    assert_eq!(rows[4].key, vec![("id".to_string(), Some("7".to_string()))]);
    assert_eq!(rows[5].op, Op::Delete);
    assert_eq!(rows[5].key, vec![("id".to_string(), Some("7".to_string()))]);

    assert_eq!(rows[6].encoding, pgq::event::Encoding::Json);
    assert_eq!(rows[6].table.as_deref(), Some("public.js"));
    assert_eq!(rows[6].pkey, vec!["id"]);
    assert_eq!(rows[6].get("v"), Some(Some(nasty)));
    assert_eq!(rows[6].get("b"), Some(Some("f")));
    assert_eq!(rows[6].get("n"), Some(Some("-9223372036854775808")));
}

#[tokio::test]
async fn hostile_queue_and_consumer_names_work_end_to_end() {
    let db = common::installed_db("api_hostile").await;
    let mut c = db.connect().await;
    let names = [
        "Mixed Case",
        "quote's \"double\"",
        "semi;colon -- comment",
        "ünïcødé 队列",
        "back\\slash",
        "drop table x; --",
    ];
    for q in names {
        queue_with_zero_thresholds(&c, q).await;
        let consumer_name = format!("{q} consumer");
        let mut consumer = Consumer::new(
            db.connect().await,
            q,
            &consumer_name,
            ConsumerConfig::default(),
        )
        .await
        .unwrap();
        consumer.register().await.unwrap();
        pgq::insert_event(&c, q, "t", q).await.unwrap();
        let tx = c.transaction().await.unwrap();
        pgq::bulk_insert(&tx, q, &[NewEvent::new("bulk", q)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        pgq::ticker(&c, q).await.unwrap();
        let mut h = Collect::default();
        drain(&mut consumer, &mut h).await;
        let got: Vec<&str> = h
            .events
            .iter()
            .map(|e| e.ev_data.as_deref().unwrap())
            .collect();
        assert_eq!(got, vec![q, q], "queue {q:?}");
        let info = pgq::consumer_info(&c, Some(q), Some(&consumer_name))
            .await
            .unwrap();
        assert_eq!(info.len(), 1, "queue {q:?}");
        assert_eq!(pgq::queue_info(&c, Some(q)).await.unwrap()[0].queue_name, q);
        assert_eq!(consumer.unregister().await.unwrap(), 1);
        pgq::drop_queue(&c, q, false).await.unwrap();
    }
    assert!(pgq::queue_info(&c, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_keep_their_text() {
    let db = common::installed_db("api_errors").await;
    let c = db.connect().await;
    let err = pgq::insert_event(&c, "nope", "t", "d").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("insert event into queue \"nope\""), "{msg}");
    assert!(err.server_message().is_some(), "{msg}");
    let err = pgq::register_consumer(&c, "nope", "c").await.unwrap_err();
    assert!(
        err.to_string().contains("Event queue not created yet"),
        "{err}"
    );
    let mut consumer = Consumer::new(db.connect().await, "nope", "c", ConsumerConfig::default())
        .await
        .unwrap();
    let err = consumer
        .process_batch(&mut Collect::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Not subscriber to queue: nope/c"),
        "{err}"
    );
}

/// `batch_events_where`: a batch's events filtered on the server (what a
/// Londiste leaf with local_only fetches), in event order.
#[tokio::test]
async fn filtered_batch_events() {
    let db = common::installed_db("api_filter").await;
    let c = db.connect().await;
    queue_with_zero_thresholds(&c, "fq").await;
    let consumer = Consumer::new(db.connect().await, "fq", "f", ConsumerConfig::default())
        .await
        .unwrap();
    consumer.register().await.unwrap();
    for (i, t) in ["public.a", "public.b", "pgq.x", "public.a", "public.c"]
        .iter()
        .enumerate()
    {
        pgq::insert_event_ex(
            &c,
            "fq",
            &NewEvent::new("I:id", format!("id={i}")).extra1(*t),
        )
        .await
        .unwrap();
    }
    pgq::ticker(&c, "fq").await.unwrap();
    let b = consumer.open_batch().await.unwrap().expect("a batch");
    let got = consumer
        .batch_events_where(
            consumer.client(),
            b.batch_id,
            "ev_extra1 in ('public.a', 'public.c')",
        )
        .await
        .unwrap();
    let data: Vec<&str> = got.iter().map(|e| e.ev_data.as_deref().unwrap()).collect();
    assert_eq!(data, ["id=0", "id=3", "id=4"]);
    assert_eq!(
        consumer
            .batch_events(consumer.client(), b.batch_id)
            .await
            .unwrap()
            .len(),
        5
    );
    let e = consumer
        .batch_events_where(consumer.client(), b.batch_id, "no_such_column = 1")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no_such_column"), "{e}");
}
