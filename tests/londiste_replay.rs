//! The Londiste replay engine against real events: source tables with the
//! PgQ triggers (urlencoded, partial SQL, JSON), DML at the source, ticks,
//! batches read with `pgq.next_batch`/`get_batch_events`, pushed into a
//! `Replay` and flushed into destination tables (another schema of the same
//! database, another TimeZone, `session_replication_role = replica`), and
//! the two sides compared row for row.

mod common;

use std::collections::HashMap;

use skydeck::londiste::replay::{Replay, ReplayError, TableTarget};
use skydeck::pgq::{self, Event};
use tokio_postgres::Client;

const CONSUMER: &str = "replay";

/// The trigger functions and what they encode.
const TRIGGERS: [&str; 3] = ["logutriga", "sqltriga", "jsontriga"];

/// A database with a queue, a source and a destination connection in
/// different time zones.
struct Env {
    _db: common::TestDb,
    src: Client,
    dst: Client,
    queue: String,
}

async fn env(hint: &str) -> Env {
    let db = common::installed_db(hint).await;
    let src = db.connect().await;
    let dst = db.connect().await;
    src.batch_execute("set timezone = 'America/New_York'; set datestyle = 'ISO, MDY'")
        .await
        .unwrap();
    dst.batch_execute("set timezone = 'Asia/Kathmandu'; set datestyle = 'ISO, DMY'")
        .await
        .unwrap();
    let queue = "rq".to_string();
    pgq::create_queue(&src, &queue).await.unwrap();
    for (k, v) in [
        ("ticker_max_count", "1"),
        ("ticker_max_lag", "0"),
        ("ticker_idle_period", "0"),
    ] {
        pgq::set_queue_config(&src, &queue, k, v).await.unwrap();
    }
    pgq::register_consumer(&src, &queue, CONSUMER)
        .await
        .unwrap();
    Env {
        _db: db,
        src,
        dst,
        queue,
    }
}

/// Row and truncate triggers of kind `trigger` on `table` (quoted).
fn triggers_sql(table: &str, trigger: &str, queue: &str) -> String {
    format!(
        "create trigger row_ev after insert or update or delete on {table} \
             for each row execute procedure pgq.{trigger}('{queue}');
         create trigger trunc_ev after truncate on {table} \
             for each statement execute procedure pgq.{trigger}('{queue}');"
    )
}

fn exec_err(e: &tokio_postgres::Error) -> String {
    skydeck::db::describe(e)
}

impl Env {
    async fn tick(&self) {
        pgq::ticker(&self.src, &self.queue).await.unwrap();
    }

    /// The next batch: (batch id, events), or None when caught up.
    async fn next_batch(&self) -> Option<(i64, Vec<Event>)> {
        let id: Option<i64> = self
            .src
            .query_one("select pgq.next_batch($1, $2)", &[&self.queue, &CONSUMER])
            .await
            .unwrap()
            .get(0);
        let id = id?;
        let rows = self
            .src
            .query(
                "select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, \
                        ev_extra2, ev_extra3, ev_extra4 from pgq.get_batch_events($1)",
                &[&id],
            )
            .await
            .unwrap();
        let events = rows
            .iter()
            .map(|r| Event {
                ev_id: r.get(0),
                ev_time: r.get(1),
                ev_txid: r.get(2),
                ev_retry: r.get(3),
                ev_type: r.get(4),
                ev_data: r.get(5),
                ev_extra1: r.get(6),
                ev_extra2: r.get(7),
                ev_extra3: r.get(8),
                ev_extra4: r.get(9),
            })
            .collect();
        Some((id, events))
    }

    async fn finish(&self, batch_id: i64) {
        self.src
            .execute("select pgq.finish_batch($1)", &[&batch_id])
            .await
            .unwrap();
    }

    /// Tick, then push every pending batch into `replay`; flush after each
    /// batch (`per_batch`) or once at the end; commit; finish the batches.
    async fn replay(
        &mut self,
        replay: &mut Replay,
        targets: &HashMap<String, TableTarget>,
        per_batch: bool,
    ) -> Result<usize, ReplayError> {
        self.tick().await;
        let mut done = Vec::new();
        let mut events = 0;
        while let Some((batch_id, evs)) = self.next_batch().await {
            for ev in &evs {
                let name = ev.ev_extra1.as_deref().unwrap_or("");
                let target = targets
                    .get(name)
                    .unwrap_or_else(|| panic!("no target for {name:?}: {ev:?}"));
                replay.push(target, batch_id, ev)?;
            }
            events += evs.len();
            done.push(batch_id);
            if per_batch {
                self.flush(replay).await?;
                self.finish(batch_id).await;
            } else {
                // Later batches are only visible once this one is finished;
                // finishing early is fine for a test (nothing is retried).
                self.finish(batch_id).await;
            }
        }
        if !per_batch {
            self.flush(replay).await?;
        }
        Ok(events)
    }

    async fn flush(&mut self, replay: &mut Replay) -> Result<(), ReplayError> {
        let tx = self.dst.transaction().await.unwrap();
        tx.batch_execute("set local session_replication_role = replica")
            .await
            .unwrap();
        replay.flush(&tx).await?;
        tx.commit().await.unwrap();
        Ok(())
    }
}

/// Row count and md5 of the rows' text (the given columns, ordered).
async fn digest(c: &Client, table: &str, cols: &str, order: &str) -> (i64, String) {
    let sql = format!(
        "select count(*), md5(coalesce(string_agg(row({cols})::text, E'\\n' order by {order}), '')) \
           from {table}"
    );
    let r = c
        .query_one(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", exec_err(&e)));
    (r.get(0), r.get(1))
}

async fn dump(c: &Client, table: &str, cols: &str, order: &str) -> String {
    let sql = format!("select row({cols})::text from {table} order by {order}");
    c.query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn assert_same(c: &Client, src: &str, dst: &str, cols: &str, order: &str, what: &str) {
    let a = digest(c, src, cols, order).await;
    let b = digest(c, dst, cols, order).await;
    if a != b {
        panic!(
            "{what}: {src} and {dst} differ\n--- {src}:\n{}\n--- {dst}:\n{}",
            dump(c, src, cols, order).await,
            dump(c, dst, cols, order).await
        );
    }
}

fn targets(pairs: &[(&str, &str)]) -> HashMap<String, TableTarget> {
    pairs
        .iter()
        .map(|(t, d)| {
            (
                t.to_string(),
                TableTarget {
                    table: t.to_string(),
                    dest: d.to_string(),
                    ignore_truncate: false,
                    mode: Default::default(),
                },
            )
        })
        .collect()
}

// ---------------------------------------------------------------- random

/// splitmix64: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const RANDOM_COLS: &str = "id, u, v, n, a, j, b, ts, d";
const RANDOM_TYPES: [(&str, &str); 8] = [
    ("u", "int"),
    ("v", "text"),
    ("n", "numeric"),
    ("a", "int[]"),
    ("j", "jsonb"),
    ("b", "bool"),
    ("ts", "timestamptz"),
    ("d", "date"),
];

fn random_value(rng: &mut Rng, col: &str) -> Option<String> {
    if rng.chance(12) {
        return None;
    }
    let v = match col {
        "u" => rng.below(30).to_string(),
        "v" => rng
            .pick(&[
                "",
                "plain",
                "it's",
                "back\\slash \\\\ two",
                "new\nline\r\n",
                "tab\there",
                "quote\" double",
                "ünïcødé ✓ 日本",
                "a&b=c%20+d",
                "NULL",
                "null",
                "  spaces  ",
                "E'x'",
                "{\"not\":\"json\"}",
            ])
            .to_string(),
        "n" => rng
            .pick(&["0", "12.50", "-0.001", "1e10", "3.14159265358979", "-7"])
            .to_string(),
        "a" => rng.pick(&["{}", "{1,2,3}", "{NULL,5}", "{-1}"]).to_string(),
        "j" => rng
            .pick(&[
                "{\"a\": 1}",
                "[1, \"x\", null]",
                "\"str\"",
                "null",
                "{\"q\": \"it's \\\"x\\\" \\\\ \\n\"}",
            ])
            .to_string(),
        "b" => rng.pick(&["true", "false"]).to_string(),
        "ts" => format!(
            "2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+0{}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1_000_000),
            rng.below(10)
        ),
        "d" => format!(
            "20{:02}-{:02}-{:02}",
            rng.below(50),
            1 + rng.below(12),
            1 + rng.below(28)
        ),
        _ => unreachable!("{col}"),
    };
    Some(v)
}

/// Run one statement at the source; constraint violations (which the
/// source refuses, so no event) are fine.
async fn src_exec(c: &Client, sql: &str, params: &[Option<String>]) {
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    if let Err(e) = c.execute(sql, &refs).await {
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        assert!(
            code == "23505" || code == "23P01",
            "{sql} {params:?}: {}",
            exec_err(&e)
        );
    }
}

async fn random_op(c: &Client, rng: &mut Rng, table: &str) {
    let id = rng.below(12) as i32;
    let roll = rng.below(100);
    if roll < 35 {
        // insert, with a random subset of the columns (the rest default)
        let mut cols = vec!["id".to_string()];
        let mut vals = vec!["$1::text::int".to_string()];
        let mut params = vec![Some(id.to_string())];
        for (col, ty) in RANDOM_TYPES {
            if rng.chance(80) {
                cols.push(col.to_string());
                params.push(random_value(rng, col));
                vals.push(format!("${}::text::{ty}", params.len()));
            }
        }
        let sql = format!(
            "insert into {table} ({}) values ({}) on conflict do nothing",
            cols.join(", "),
            vals.join(", ")
        );
        src_exec(c, &sql, &params).await;
    } else if roll < 72 {
        // update of a random subset of the columns
        let mut sets = Vec::new();
        let mut params = vec![Some(id.to_string())];
        for (col, ty) in RANDOM_TYPES {
            if rng.chance(35) {
                params.push(random_value(rng, col));
                sets.push(format!("{col} = ${}::text::{ty}", params.len()));
            }
        }
        if sets.is_empty() {
            // a no-op update still makes an event
            sets.push("v = v".to_string());
        }
        let sql = format!(
            "update {table} set {} where id = $1::text::int",
            sets.join(", ")
        );
        src_exec(c, &sql, &params).await;
    } else if roll < 88 {
        src_exec(
            c,
            &format!("delete from {table} where id = $1::text::int"),
            &[Some(id.to_string())],
        )
        .await;
    } else if roll < 93 {
        let r = rng.below(3);
        let sql = if rng.chance(50) {
            format!("update {table} set v = coalesce(v, '') || 'x', n = n + 1 where id % 3 = {r}")
        } else {
            format!("delete from {table} where id % 4 = {r}")
        };
        src_exec(c, &sql, &[]).await;
    } else if roll < 99 {
        // swap two rows' unique values the only way the source allows:
        // through a NULL, in one transaction
        let other = rng.below(12) as i32;
        let sql = format!(
            "select (select u from {table} where id = $1), (select u from {table} where id = $2)"
        );
        let r = c.query_one(&sql, &[&id, &other]).await.unwrap();
        let (ua, ub): (Option<i32>, Option<i32>) = (r.get(0), r.get(1));
        if let (Some(ua), Some(ub), true) = (ua, ub, id != other) {
            let sql = format!(
                "begin;
                 update {table} set u = null where id = {id};
                 update {table} set u = {ua} where id = {other};
                 update {table} set u = {ub}, v = 'swapped' where id = {id};
                 commit;"
            );
            c.batch_execute(&sql).await.unwrap();
        }
    } else if rng.chance(40) {
        src_exec(c, &format!("truncate {table}"), &[]).await;
    }
}

#[tokio::test]
async fn random_batches_replay_to_equal_tables_in_every_encoding() {
    let mut env = env("replay_random").await;
    let seed: u64 = std::env::var("SKYDECK_REPLAY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2024);
    let mut rng = Rng(seed);
    env.src
        .batch_execute("create schema src; create schema dst;")
        .await
        .unwrap();
    let mut pairs = Vec::new();
    for trig in TRIGGERS {
        let ddl = "(id int primary key, u int unique, v text, n numeric, a int[], j jsonb, \
                   b bool default true, ts timestamptz, d date default '2000-01-01')";
        let src = format!("src.t_{trig}");
        let dst = format!("dst.t_{trig}");
        env.src
            .batch_execute(&format!(
                "create table {src} {ddl}; create table {dst} {ddl}; {}",
                triggers_sql(&src, trig, &env.queue)
            ))
            .await
            .unwrap();
        pairs.push((src, dst));
    }
    let map = targets(
        &pairs
            .iter()
            .map(|(s, d)| (s.as_str(), d.as_str()))
            .collect::<Vec<_>>(),
    );
    let mut replay = Replay::new(&env.queue);
    let rounds = 240;
    let mut events = 0;
    for round in 0..rounds {
        // one to three batches before applying, each with 1..40 operations
        let batches = 1 + rng.below(3);
        for b in 0..batches {
            for _ in 0..1 + rng.below(40) {
                let t = &pairs[rng.below(3) as usize].0;
                random_op(&env.src, &mut rng, t).await;
            }
            if b + 1 < batches {
                env.tick().await;
            }
        }
        let per_batch = rng.chance(50);
        events += env
            .replay(&mut replay, &map, per_batch)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}, round {round}: {e}"));
        for (s, d) in &pairs {
            assert_same(
                &env.src,
                s,
                d,
                RANDOM_COLS,
                "id",
                &format!("seed {seed}, round {round}"),
            )
            .await;
        }
    }
    let st = replay.stats().clone();
    eprintln!("seed {seed}: {events} events, {st:?}");
    assert_eq!(st.events as usize, events);
    assert!(st.merged_away > 0, "{st:?}");
    assert!(
        st.fallbacks > 0,
        "swaps fall back to ordered replay: {st:?}"
    );
    assert!(st.truncates > 0, "{st:?}");
    assert!(
        st.statements < events as u64,
        "fewer statements than events: {st:?}"
    );
}

// ---------------------------------------------------------------- types

#[tokio::test]
async fn every_column_type_round_trips_in_every_encoding() {
    let mut env = env("replay_types").await;
    env.src
        .batch_execute(
            "create schema src; create schema dst;
             create type mood as enum ('sad', 'ok', 'very happy', 'it''s');
             create domain posint as int check (value > 0);",
        )
        .await
        .unwrap();
    let ddl = "(k1 text, k2 date, i2 smallint, i4 int, i8 bigint, num numeric(14,3), \
               f4 real, f8 double precision, b bool, t text, vc varchar(20), ch char(5), \
               by bytea, ts timestamp, tstz timestamptz, tm time, d date, iv interval, \
               ai int[], at text[], js json, jb jsonb, e mood, ea mood[], dom posint, \
               uu uuid, ip inet, primary key (k1, k2))";
    let cols = "k1, k2, i2, i4, i8, num, f4, f8, b, t, vc, ch, by, ts, tstz, tm, d, iv, ai, at, \
                js, jb, e, ea, dom, uu, ip";
    let mut pairs = Vec::new();
    for trig in TRIGGERS {
        let src = format!("src.ty_{trig}");
        let dst = format!("dst.ty_{trig}");
        env.src
            .batch_execute(&format!(
                "create table {src} {ddl}; create table {dst} {ddl}; {}",
                triggers_sql(&src, trig, &env.queue)
            ))
            .await
            .unwrap();
        pairs.push((src, dst));
    }
    let map = targets(
        &pairs
            .iter()
            .map(|(s, d)| (s.as_str(), d.as_str()))
            .collect::<Vec<_>>(),
    );
    let rows = [
        // everything at an edge
        r#"('a''b', '2024-02-29', -32768, -2147483648, -9223372036854775808, -12345678901.125,
            'NaN', '-Infinity', false, E'quote '' dq " bs \\ nl \n cr \r tab \t end', 'ünï ✓',
            'ab', '\x00ff27'::bytea, '2000-01-01 00:00:00.123456', '2024-06-01 12:34:56.789012+05:30',
            '23:59:59.999999', '0001-01-01', '1 year 2 mons -3 days 04:05:06.7', '{1,NULL,-3}',
            '{NULL,"a,b","c\"d","",NULL}', '{"a" : [1, 2], "b":"x\u00e9"}', '{"z": null, "a": [true, 1.5e300]}',
            'very happy', '{sad,"it''s"}', 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.1.2.3/8')"#,
        r#"('a''b', '1999-12-31', 32767, 2147483647, 9223372036854775807, 0.000,
            '-0', '1.5e-300', true, '', '', '', '\x'::bytea, 'infinity', '-infinity',
            '00:00', 'infinity', '-178000000 years', '{}', '{}', 'null', '"str"',
            'it''s', '{}', 2147483647, '00000000-0000-0000-0000-000000000000', '::1')"#,
        // NULL everywhere but the key
        r#"('日本 語', '2020-01-01', null, null, null, null, null, null, null, null, null, null,
            null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)"#,
        r#"(E'back\\slash\nnew', '2020-01-02', 1, 2, 3, 4.5, 3.25, 0.1, true, 'NULL', 'null',
            'x', '\\x5c'::bytea, '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '12:00', '2000-02-29',
            '00:00:00.000001', '{2}', '{"\\"}', '[]', '{}', 'sad', null, 7,
            'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::/32')"#,
    ];
    for (src, _) in &pairs {
        for r in rows {
            env.src
                .batch_execute(&format!("insert into {src} values {r}"))
                .await
                .unwrap_or_else(|e| panic!("{src}: {}", exec_err(&e)));
        }
    }
    let mut replay = Replay::new(&env.queue);
    env.replay(&mut replay, &map, true).await.unwrap();
    for (s, d) in &pairs {
        assert_same(&env.src, s, d, cols, "k1, k2", "inserts").await;
    }
    // updates (partial ones in sqltriga), to NULL and back, and deletes
    for (src, _) in &pairs {
        env.src
            .batch_execute(&format!(
                "update {src} set tstz = '2030-03-03 03:03:03.3-03', iv = '-1 day', e = 'ok'
                   where k1 = 'a''b';
                 update {src} set t = E'new \\\\ \\n ''x''', jb = '[{{\"n\": \"\\\\u0000 x\"}}]'
                   where k2 = '2020-01-01';
                 update {src} set ai = null, by = '\\xdeadbeef' where k2 = '2020-01-02';
                 update {src} set ai = '{{9,8}}' where k2 = '2020-01-02';
                 delete from {src} where k2 = '1999-12-31';
                 insert into {src} (k1, k2, t) values ('a''b', '1999-12-31', 'again');"
            ))
            .await
            .unwrap_or_else(|e| panic!("{src}: {}", exec_err(&e)));
    }
    env.replay(&mut replay, &map, true).await.unwrap();
    for (s, d) in &pairs {
        assert_same(&env.src, s, d, cols, "k1, k2", "updates and deletes").await;
    }
    let n: i64 = env
        .dst
        .query_one("select count(*) from dst.ty_jsontriga", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
}

// ---------------------------------------------------------------- names

#[tokio::test]
async fn hostile_identifiers() {
    let mut env = env("replay_names").await;
    let schema = "Sch \"Q\" ü;";
    let qs = skydeck::db::quote_ident(schema);
    let dschema = "Dst 'x' \"y\"";
    let qd = skydeck::db::quote_ident(dschema);
    env.src
        .batch_execute(&format!("create schema {qs}; create schema {qd};"))
        .await
        .unwrap();
    let ddl = r#"("Id Col" int, "select" text, "Mixed""Quote" text, "ü n i" int,
                 "a,b=c&d" text, primary key ("Id Col", "select"))"#;
    let cols = r#""Id Col", "select", "Mixed""Quote", "ü n i", "a,b=c&d""#;
    let mut pairs = Vec::new();
    for trig in TRIGGERS {
        let table = format!("Tab.le 'x' Ü {trig}");
        let src = format!("{schema}.{table}");
        let dst = format!("{dschema}.{table}");
        let (qsrc, qdst) = (
            skydeck::db::quote_fqname(&src),
            skydeck::db::quote_fqname(&dst),
        );
        env.src
            .batch_execute(&format!(
                "create table {qsrc} {ddl}; create table {qdst} {ddl}; {}",
                triggers_sql(&qsrc, trig, &env.queue)
            ))
            .await
            .unwrap();
        env.src
            .batch_execute(&format!(
                r#"insert into {qsrc} values (1, 'from', 'x"y', 1, 'v&=,'), (2, 'where', null, 2, '');
                   update {qsrc} set "Mixed""Quote" = 'upd' where "Id Col" = 1;
                   update {qsrc} set "ü n i" = 20 where "Id Col" = 2;
                   update {qsrc} set "ü n i" = 21, "a,b=c&d" = 'z' where "Id Col" = 2;
                   delete from {qsrc} where "Id Col" = 1;
                   insert into {qsrc} values (1, 'from', 'back', 3, 'q');"#
            ))
            .await
            .unwrap();
        pairs.push((src, dst, qsrc, qdst));
    }
    let map = targets(
        &pairs
            .iter()
            .map(|(s, d, _, _)| (s.as_str(), d.as_str()))
            .collect::<Vec<_>>(),
    );
    let mut replay = Replay::new(&env.queue);
    env.replay(&mut replay, &map, true).await.unwrap();
    for (_, _, qs, qd) in &pairs {
        assert_same(
            &env.src,
            qs,
            qd,
            cols,
            r#""Id Col", "select""#,
            "hostile names",
        )
        .await;
        let (n, _) = digest(&env.dst, qd, cols, "1").await;
        assert_eq!(n, 2);
    }
}

// ---------------------------------------------------------------- fallback

#[tokio::test]
async fn unique_swap_falls_back_to_ordered_replay() {
    let mut env = env("replay_swap").await;
    for trig in TRIGGERS {
        env.src
            .batch_execute(&format!(
                "create table src_{trig} (id int primary key, u text not null unique, n int);
                 create table dst_{trig} (id int primary key, u text not null unique, n int);
                 {}
                 insert into src_{trig} select i, 'u' || i, i from generate_series(1, 5) i;",
                triggers_sql(&format!("src_{trig}"), trig, &env.queue)
            ))
            .await
            .unwrap();
    }
    let map = targets(&[
        ("public.src_logutriga", "public.dst_logutriga"),
        ("public.src_sqltriga", "public.dst_sqltriga"),
        ("public.src_jsontriga", "public.dst_jsontriga"),
    ]);
    let mut replay = Replay::new(&env.queue);
    env.replay(&mut replay, &map, true).await.unwrap();
    assert_eq!(replay.stats().fallbacks, 0);
    for trig in TRIGGERS {
        // rotate u over rows 1..3 through a temporary value; also other work
        env.src
            .batch_execute(&format!(
                "begin;
                 update src_{trig} set u = 'tmp' where id = 1;
                 update src_{trig} set u = 'u1' where id = 2;
                 update src_{trig} set u = 'u2' where id = 3;
                 update src_{trig} set u = 'u3' where id = 1;
                 commit;
                 update src_{trig} set n = n * 10;
                 delete from src_{trig} where id = 5;
                 insert into src_{trig} values (6, 'u5', 6);"
            ))
            .await
            .unwrap();
    }
    env.replay(&mut replay, &map, true).await.unwrap();
    for trig in TRIGGERS {
        assert_same(
            &env.src,
            &format!("src_{trig}"),
            &format!("dst_{trig}"),
            "id, u, n",
            "id",
            trig,
        )
        .await;
    }
    let st = replay.stats();
    assert_eq!(st.fallbacks, 3, "one per table: {st:?}");

    // A source never sends an insert for a key it just updated, but a
    // trigger pkey= that differs from the destination's key, or two tables
    // merged into one, can: the merge does not model it and replays the
    // segment in order (the update hits no row here, the insert then adds
    // it, the second update changes it).
    let made = |ev_id: i64, ty: &str, data: &str| Event {
        ev_id,
        ev_time: std::time::UNIX_EPOCH,
        ev_txid: 1,
        ev_retry: None,
        ev_type: Some(ty.to_string()),
        ev_data: Some(data.to_string()),
        ev_extra1: Some("public.src_logutriga".into()),
        ev_extra2: None,
        ev_extra3: None,
        ev_extra4: None,
    };
    let t = &map["public.src_logutriga"];
    replay
        .push(t, 1, &made(1, "U:id", "id=9&u=u9&n=1"))
        .unwrap();
    replay
        .push(t, 1, &made(2, "I:id", "id=9&u=u9&n=9"))
        .unwrap();
    replay
        .push(t, 1, &made(3, "U:id", "id=9&u=u9&n=2"))
        .unwrap();
    env.flush(&mut replay).await.unwrap();
    assert_eq!(replay.stats().fallbacks, 4);
    let n: i32 = env
        .dst
        .query_one("select n from dst_logutriga where id = 9", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test]
async fn ordered_replay_error_names_the_event() {
    let mut env = env("replay_ordered_err").await;
    env.src
        .batch_execute(&format!(
            "create table src_t (id int primary key, u int unique);
             create table dst_t (id int primary key, u int unique);
             {}
             insert into src_t values (1, 1), (2, 2);",
            triggers_sql("src_t", "logutriga", &env.queue)
        ))
        .await
        .unwrap();
    let map = targets(&[("public.src_t", "public.dst_t")]);
    let mut replay = Replay::new(&env.queue);
    env.replay(&mut replay, &map, true).await.unwrap();
    // the destination drifts: a row the source does not have holds u = 30
    env.dst
        .batch_execute("insert into dst_t values (99, 30)")
        .await
        .unwrap();
    env.src
        .batch_execute(
            "update src_t set u = 10 where id = 1;
             update src_t set u = 20 where id = 2;
             update src_t set u = 30 where id = 1;",
        )
        .await
        .unwrap();
    let e = env.replay(&mut replay, &map, true).await.unwrap_err();
    let msg = e.to_string();
    // the batch is still open: the failing event is its last one
    let (batch_id, events) = env.next_batch().await.unwrap();
    let last = events.last().unwrap();
    assert!(
        msg.contains(&format!(
            "batch {batch_id}, event {} (txid {})",
            last.ev_id, last.ev_txid
        )),
        "{msg}"
    );
    assert!(msg.contains("table public.src_t"), "{msg}");
    assert!(msg.contains("UPDATE into public.dst_t"), "{msg}");
    assert!(msg.contains("23505"), "{msg}");
    assert!(msg.contains("londiste compare"), "{msg}");
    assert!(matches!(e, ReplayError::Event { .. }), "{e:?}");
    assert_eq!(e.code().map(|c| c.code()), Some("23505"));
}

// ---------------------------------------------------------------- truncate

#[tokio::test]
async fn truncate_mid_batch_and_ignore_truncate() {
    let mut env = env("replay_truncate").await;
    env.src
        .batch_execute(&format!(
            "create table a (id int primary key, v text);
             create table b (id int primary key, v text);
             create table da (id int primary key, v text);
             create table db (id int primary key, v text);
             {} {}",
            triggers_sql("a", "sqltriga", &env.queue),
            triggers_sql("b", "jsontriga", &env.queue),
        ))
        .await
        .unwrap();
    // b's destination is referenced by another table: TRUNCATE … CASCADE
    // empties it too
    env.dst
        .batch_execute(
            "create table da_child (id int primary key references da on delete cascade);",
        )
        .await
        .unwrap();
    let map = targets(&[("public.a", "public.da"), ("public.b", "public.db")]);
    let mut replay = Replay::new(&env.queue);
    env.src
        .batch_execute("insert into a values (1, 'x'), (2, 'y'); insert into b values (1, 'x');")
        .await
        .unwrap();
    env.replay(&mut replay, &map, true).await.unwrap();
    env.dst
        .batch_execute("insert into da_child values (1)")
        .await
        .unwrap();
    // one batch: events before, a truncate, events after (same keys again)
    env.src
        .batch_execute(
            "update a set v = 'before' where id = 1;
             insert into a values (3, 'z');
             insert into b values (2, 'y');
             truncate a;
             insert into a values (1, 'after'), (3, 'again');
             update b set v = 'after' where id = 2;",
        )
        .await
        .unwrap();
    env.replay(&mut replay, &map, true).await.unwrap();
    assert_same(&env.src, "a", "da", "id, v", "id", "a").await;
    assert_same(&env.src, "b", "db", "id, v", "id", "b").await;
    let child: i64 = env
        .dst
        .query_one("select count(*) from da_child", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(child, 0, "TRUNCATE … CASCADE");
    assert_eq!(replay.stats().truncates, 1);

    // ignore_truncate: the destination keeps its rows
    let mut map = map;
    if let Some(t) = map.get_mut("public.b") {
        t.ignore_truncate = true;
    }
    env.src
        .batch_execute("truncate b; insert into b values (7, 'new');")
        .await
        .unwrap();
    env.replay(&mut replay, &map, false).await.unwrap();
    let rows: Vec<(i32, String)> = env
        .dst
        .query("select id, v from db order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "x".to_string()),
            (2, "after".to_string()),
            (7, "new".to_string())
        ]
    );
    assert_eq!(replay.stats().truncates, 1);
    assert_eq!(replay.stats().truncates_ignored, 1);
}

// ---------------------------------------------------------------- dest

#[tokio::test]
async fn dest_table_rename_and_generated_columns() {
    let mut env = env("replay_dest").await;
    env.src
        .batch_execute(&format!(
            "create schema other;
             create table src_t (id int primary key, v text, g int generated always as (id * 2) stored,
                                 extra int default 5);
             create table other.renamed (id int primary key, v text,
                                         g int generated always as (id * 2) stored,
                                         extra int default 5, local_only text default 'local');
             {}",
            triggers_sql("src_t", "logutriga", &env.queue)
        ))
        .await
        .unwrap();
    let map = targets(&[("public.src_t", "other.renamed")]);
    let mut replay = Replay::new(&env.queue);
    env.src
        .batch_execute(
            "insert into src_t (id, v) values (1, 'a'), (2, 'b'), (3, 'c');
             update src_t set v = 'bb', extra = 6 where id = 2;
             delete from src_t where id = 3;",
        )
        .await
        .unwrap();
    env.replay(&mut replay, &map, true).await.unwrap();
    assert_same(
        &env.src,
        "src_t",
        "other.renamed",
        "id, v, g, extra",
        "id",
        "renamed",
    )
    .await;
    let local: Vec<String> = env
        .dst
        .query("select local_only from other.renamed", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        local,
        vec!["local", "local"],
        "columns not in events keep defaults"
    );

    // a partitioned destination (no ONLY for it)
    env.src
        .batch_execute(&format!(
            "create table src_p (id int primary key, v text);
             create table dst_p (id int primary key, v text) partition by range (id);
             create table dst_p_lo partition of dst_p for values from (minvalue) to (100);
             create table dst_p_hi partition of dst_p for values from (100) to (maxvalue);
             {}
             insert into src_p select i, 'v' || i from generate_series(90, 110) i;",
            triggers_sql("src_p", "jsontriga", &env.queue)
        ))
        .await
        .unwrap();
    let map = targets(&[
        ("public.src_t", "other.renamed"),
        ("public.src_p", "public.dst_p"),
    ]);
    env.replay(&mut replay, &map, true).await.unwrap();
    env.src
        .batch_execute(
            "update src_p set v = 'u' where id % 2 = 0;
             delete from src_p where id % 3 = 0;",
        )
        .await
        .unwrap();
    env.replay(&mut replay, &map, true).await.unwrap();
    assert_same(&env.src, "src_p", "dst_p", "id, v", "id", "partitioned").await;
}

#[tokio::test]
async fn structure_errors_are_clear() {
    let mut env = env("replay_errors").await;
    env.src
        .batch_execute(&format!(
            "create table src_t (id int primary key, v text, newcol int);
             create table dst_nocol (id int primary key, v text);
             create table dst_nopk (id int, v text, newcol int);
             create table dst_ok (id int primary key, v text, newcol int);
             {}",
            triggers_sql("src_t", "logutriga", &env.queue)
        ))
        .await
        .unwrap();
    env.src
        .batch_execute("insert into src_t values (1, 'a', 7)")
        .await
        .unwrap();
    env.tick().await;
    let (batch_id, events) = env.next_batch().await.unwrap();
    let ev_id = events[0].ev_id;
    let check = |dest: &str| {
        let mut t = TableTarget::new("public.src_t");
        t.dest = dest.to_string();
        t
    };
    let mut outcomes = Vec::new();
    for dest in [
        "public.dst_nocol",
        "public.missing",
        "public.dst_nopk",
        "public.dst_ok",
    ] {
        let mut replay = Replay::new(&env.queue);
        for ev in &events {
            replay.push(&check(dest), batch_id, ev).unwrap();
        }
        let tx = env.dst.transaction().await.unwrap();
        let r = replay.flush(&tx).await;
        tx.rollback().await.unwrap();
        outcomes.push(r);
    }
    let msg = |r: &Result<(), ReplayError>| match r {
        Err(e) => e.to_string(),
        Ok(()) => String::new(),
    };
    let m = msg(&outcomes[0]);
    assert!(
        matches!(outcomes[0], Err(ReplayError::MissingColumn { .. }))
            && m.contains("column \"newcol\"")
            && m.contains("public.dst_nocol")
            && m.contains(&format!("batch {batch_id}, event {ev_id}"))
            && m.contains("EXECUTE"),
        "{m}"
    );
    let m = msg(&outcomes[1]);
    assert!(
        matches!(outcomes[1], Err(ReplayError::MissingTable { .. }))
            && m.contains("public.missing")
            && m.contains("table public.src_t"),
        "{m}"
    );
    let m = msg(&outcomes[2]);
    assert!(
        matches!(outcomes[2], Err(ReplayError::NoPrimaryKey { .. }))
            && m.contains("public.dst_nopk")
            && m.contains("primary key"),
        "{m}"
    );
    assert!(outcomes[3].is_ok(), "{}", msg(&outcomes[3]));

    // A column added later: the cached structure is looked at again.
    let mut replay = Replay::new(&env.queue);
    let mut t = check("public.dst_nocol");
    t.dest = "public.dst_nocol".into();
    env.dst
        .batch_execute("alter table dst_nocol drop column v")
        .await
        .unwrap();
    let tx = env.dst.transaction().await.unwrap();
    replay.push(&t, batch_id, &events[0]).unwrap();
    let e = replay.flush(&tx).await.unwrap_err();
    tx.rollback().await.unwrap();
    assert!(e.to_string().contains("column \"v\""), "{e}");
    env.dst
        .batch_execute("alter table dst_nocol add column v text, add column newcol int")
        .await
        .unwrap();
    replay.push(&t, batch_id, &events[0]).unwrap();
    let tx = env.dst.transaction().await.unwrap();
    replay.flush(&tx).await.unwrap();
    tx.commit().await.unwrap();

    // a non-row event is refused at push
    let mut bad = events[0].clone();
    bad.ev_type = Some("pgq.location-info".into());
    let e = replay.push(&t, batch_id, &bad).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("batch {batch_id}, event {ev_id}")),
        "{e}"
    );
}

// ---------------------------------------------------------------- merging

#[tokio::test]
async fn many_updates_of_few_rows_merge_into_few_statements() {
    let mut env = env("replay_merge").await;
    for trig in TRIGGERS {
        env.src
            .batch_execute(&format!(
                "create table src_{trig} (id int primary key, n int, v text);
                 create table dst_{trig} (id int primary key, n int, v text);
                 {}
                 insert into src_{trig} select i, 0, 'x' from generate_series(1, 10) i;",
                triggers_sql(&format!("src_{trig}"), trig, &env.queue)
            ))
            .await
            .unwrap();
    }
    let map = targets(&[
        ("public.src_logutriga", "public.dst_logutriga"),
        ("public.src_sqltriga", "public.dst_sqltriga"),
        ("public.src_jsontriga", "public.dst_jsontriga"),
    ]);
    let mut replay = Replay::new(&env.queue);
    env.replay(&mut replay, &map, true).await.unwrap();
    for trig in TRIGGERS {
        env.src
            .batch_execute(&format!(
                "do $$ begin
                   for i in 1 .. 1000 loop
                     update src_{trig} set n = n + 1 where id = 1 + i % 10;
                   end loop;
                 end $$;"
            ))
            .await
            .unwrap();
    }
    let before = replay.stats().clone();
    let events = env.replay(&mut replay, &map, true).await.unwrap();
    assert_eq!(events, 3000);
    let st = replay.stats();
    for trig in TRIGGERS {
        assert_same(
            &env.src,
            &format!("src_{trig}"),
            &format!("dst_{trig}"),
            "id, n, v",
            "id",
            trig,
        )
        .await;
    }
    let statements = st.statements - before.statements;
    assert_eq!(statements, 3, "one UPDATE per table: {st:?}");
    assert_eq!(st.merged_away - before.merged_away, 3000 - 30);
    assert_eq!(st.updated - before.updated, 30);
    assert_eq!(st.fallbacks, 0);
}
