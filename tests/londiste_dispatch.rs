//! The dispatch handler against a real database, events made by hand:
//! partition templates and pre/post SQL, retention and ignored old events,
//! event_types, method 3 (inserts only), bulk method 2 (inserts replace),
//! keep_latest in a partition, truncate in direct mode, hostile names.

mod common;

use std::time::{Duration, SystemTime};

use skydeck::londiste::dispatch::Dispatch;
use skydeck::pgq::{BatchInfo, Event};
use tokio_postgres::Client;

fn batch() -> BatchInfo {
    BatchInfo {
        batch_id: 1,
        cur_tick_id: 2,
        prev_tick_id: 1,
        cur_tick_time: SystemTime::now(),
        prev_tick_time: SystemTime::now(),
        cur_tick_event_seq: 0,
        prev_tick_event_seq: 0,
    }
}

fn ev(id: i64, ty: &str, data: &str, table: &str) -> Event {
    Event {
        ev_id: id,
        ev_time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200), // 2024-01-01
        ev_txid: 100 + id,
        ev_retry: None,
        ev_type: Some(ty.into()),
        ev_data: Some(data.into()),
        ev_extra1: Some(table.into()),
        ev_extra2: None,
        ev_extra3: None,
        ev_extra4: None,
    }
}

fn args(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn run(c: &mut Client, d: &mut Dispatch, events: &[Event]) -> Result<(), String> {
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("set local session_replication_role = replica")
        .await
        .unwrap();
    for e in events {
        d.push(&batch(), e)?;
    }
    d.flush(&tx).await?;
    tx.commit().await.unwrap();
    Ok(())
}

#[tokio::test]
async fn partitions_templates_and_retention() {
    let db = common::installed_db("ldisp_part").await;
    let mut c = db.connect().await;
    c.batch_execute(
        "create table r (id int primary key, v text, ts timestamp);
         create table \"Odd T\" (\"Id\" int primary key, \"V v\" text, ts date);
         select londiste.create_partition('public.r', 'public.r_2000_01_01', 'id', 'ts',
                                          '2000-01-01', 'day');",
    )
    .await
    .unwrap();

    // Retention: an event for a long-gone day is ignored, a new partition
    // drops the old one.
    let today = &skydeck::fmt::time_sql(SystemTime::now())[..10];
    let mut d = Dispatch::new(
        "daily_field",
        &args(&[
            ("part_field", "ts"),
            ("retention_period", "3 days"),
            ("ignore_old_events", "1"),
        ]),
        "public.r",
        "public.r",
    )
    .unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(
                1,
                "I:id",
                "id=1&v=old&ts=2001-05-05+10%3A00%3A00",
                "public.r",
            ),
            ev(
                2,
                "I:id",
                &format!("id=2&v=now&ts={today}+08%3A00%3A00"),
                "public.r",
            ),
        ],
    )
    .await
    .unwrap();
    let today_part = format!("r_{}", today.replace('-', "_"));
    assert_eq!(
        common::texts(
            &c,
            "select c.relname::text from pg_class c where c.relname like 'r\\_%' and c.relkind = 'r' order by 1"
        )
        .await,
        std::slice::from_ref(&today_part)
    );
    assert_eq!(
        common::texts(&c, "select tableoid::regclass::text || ':' || id from r").await,
        [format!("{today_part}:2")]
    );

    // part_template, pre_part, post_part, monthly by a date column, on a
    // hostile table name.
    let mut d = Dispatch::new(
        "dispatch",
        &args(&[
            ("part_mode", "date_field"),
            ("part_field", "ts"),
            ("period", "month"),
            ("row_mode", "plain"),
            ("pre_part", "create table if not exists pre_log (what text); insert into pre_log values ('%(part)s %(period)s %(part_time)s')"),
            ("part_template", "create table %(part)s (like %(parent)s including all) inherits (%(parent)s)"),
            ("post_part", "comment on table %(part)s is 'post ok, 100%%'"),
        ]),
        "public.Odd T",
        "public.Odd T",
    )
    .unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(3, "I:Id", "Id=1&V+v=a&ts=2024-02-03", "public.Odd T"),
            ev(4, "I:Id", "Id=2&V+v=b&ts=2024-02-28", "public.Odd T"),
            ev(5, "U:Id", "Id=2&V+v=b2&ts=2024-02-28", "public.Odd T"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        common::texts(
            &c,
            "select tableoid::regclass::text || ':' || \"Id\" || ':' || \"V v\" from \"Odd T\" order by 1"
        )
        .await,
        ["\"Odd T_2024_02\":1:a", "\"Odd T_2024_02\":2:b2"]
    );
    assert_eq!(
        common::texts(&c, "select what from pre_log").await,
        ["public.\"Odd T_2024_02\" month 2024-02-03 00:00:00"]
    );
    assert_eq!(
        common::texts(
            &c,
            "select obj_description('public.\"Odd T_2024_02\"'::regclass, 'pg_class')"
        )
        .await,
        ["post ok, 100%"]
    );
}

#[tokio::test]
async fn row_modes_methods_and_filters() {
    let db = common::installed_db("ldisp_rows").await;
    let mut c = db.connect().await;
    c.batch_execute(
        "create table m (id int primary key, v text);
         insert into m values (1, 'local');
         create table logonly (id int, v text);",
    )
    .await
    .unwrap();

    // bulk method 2: an insert replaces the row the table has; updates of
    // missing rows insert them.
    let mut d = Dispatch::new(
        "bulk_direct",
        &args(&[("method", "2"), ("row_mode", "plain")]),
        "public.m",
        "public.m",
    )
    .unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(1, "I:id", "id=1&v=replaced", "public.m"),
            ev(2, "U:id", "id=5&v=upserted", "public.m"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        common::texts(&c, "select id || ':' || v from m order by id").await,
        ["1:replaced", "5:upserted"]
    );

    // event_types=I: updates and deletes are dropped.
    let mut d = Dispatch::new(
        "direct",
        &args(&[("event_types", "i")]),
        "public.m",
        "public.m",
    )
    .unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(3, "U:id", "id=1&v=changed", "public.m"),
            ev(4, "D:id", "id=5&v=upserted", "public.m"),
            ev(5, "I:id", "id=6&v=new", "public.m"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        common::texts(&c, "select id || ':' || v from m order by id").await,
        ["1:replaced", "5:upserted", "6:new"]
    );

    // truncate in direct mode: rows before it go, rows after it stay.
    let mut d = Dispatch::new("direct", &[], "public.m", "public.m").unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(6, "I:id", "id=7&v=before", "public.m"),
            ev(7, "R", "", "public.m"),
            ev(8, "I:id", "id=8&v=after", "public.m"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        common::texts(&c, "select id || ':' || v from m").await,
        ["8:after"]
    );

    // method 3 loads inserts into a table without a key; anything else is
    // an error naming the event.
    let mut d = Dispatch::new(
        "bulk_direct",
        &args(&[("method", "3"), ("row_mode", "plain"), ("table", "logonly")]),
        "public.m",
        "public.m",
    )
    .unwrap();
    run(
        &mut c,
        &mut d,
        &[
            ev(9, "I:id", "id=1&v=x", "public.m"),
            ev(10, "I:id", "id=1&v=x", "public.m"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        common::texts(&c, "select count(*)::text from logonly").await,
        ["2"]
    );
    let e = run(&mut c, &mut d, &[ev(11, "U:id", "id=1&v=y", "public.m")])
        .await
        .unwrap_err();
    assert!(e.contains("event 11") && e.contains("inserts only"), "{e}");

    // partial SQL and a truncate of a partitioned target are refused.
    let mut d = Dispatch::new("hourly_event", &[], "public.m", "public.m").unwrap();
    let e = d.push(
        &batch(),
        &ev(12, "I", "(id, v) values (1, 'x')", "public.m"),
    );
    assert!(e.unwrap_err().contains("partial SQL"));
    let e = d.push(&batch(), &ev(13, "R", "", "public.m"));
    assert!(e.unwrap_err().contains("ignore_truncate"));
    // hourly by event time: the partition is named for the event's hour.
    let mut d = Dispatch::new(
        "hourly_event",
        &args(&[("table", "logonly"), ("row_mode", "keep_all")]),
        "public.m",
        "public.m",
    )
    .unwrap();
    run(&mut c, &mut d, &[ev(14, "U:id", "id=3&v=z", "public.m")])
        .await
        .unwrap();
    assert_eq!(
        common::texts(
            &c,
            "select tableoid::regclass::text || ':' || v from logonly where v = 'z'"
        )
        .await,
        ["logonly_2024_01_01_00:z"]
    );
}
