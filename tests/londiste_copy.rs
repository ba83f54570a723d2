//! The Londiste initial copy against real databases (two databases of the
//! shared cluster as source and target): every column type and hostile
//! names, a big table split into CTID ranges with its indexes rebuilt,
//! concurrent writers checked against the returned snapshot, the text path
//! for differing types, extra columns, the copy condition, skip_truncate,
//! a cancelled copy resumed from the DDL saved in londiste.table_info, a
//! failing part, the errors, and progress; column maps (renamed and fewer
//! columns) and row rewrites (text COPY parsed and re-escaped, in parts).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use skydeck::londiste::copy::{
    copy_table, CopyError, CopyOutcome, CopyPhase, CopyProgress, CopySpec, RowRewrite,
};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

async fn exec(c: &Client, sql: &str) {
    c.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
}

/// Both databases run `ddl`.
async fn on_both(a: &Client, b: &Client, ddl: &str) {
    exec(a, ddl).await;
    exec(b, ddl).await;
}

async fn copy(spec: &CopySpec) -> Result<CopyOutcome, CopyError> {
    copy_table(spec, &CopyProgress::default(), &CancellationToken::new()).await
}

/// md5 and count of `select cols from table order by order_by`, each row
/// as its text form.
async fn digest(c: &Client, table: &str, cols: &str, order_by: &str) -> (String, i64) {
    let sql = format!(
        "select coalesce(md5(string_agg(r::text, E'\\n' order by {order_by})), ''), count(*) \
           from (select {cols} from {table} t) r"
    );
    let row = c
        .query_one(sql.as_str(), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
    (row.get(0), row.get(1))
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(format!("select count(*) from {table}").as_str(), &[])
        .await
        .unwrap()
        .get(0)
}

/// Index and constraint definitions of a table, sorted: compare before and
/// after a copy.
async fn definitions(c: &Client, table: &str) -> Vec<String> {
    let rows = c
        .query(
            "select 'index ' || pg_get_indexdef(indexrelid) || ' replident=' || indisreplident \
                    || ' clustered=' || indisclustered \
                    || ' comment=' || coalesce(obj_description(indexrelid, 'pg_class'), '-') \
               from pg_index where indrelid = $1::text::regclass \
             union all \
             select 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) \
                    || ' deferrable=' || condeferrable || ' deferred=' || condeferred \
                    || ' comment=' || coalesce(obj_description(oid, 'pg_constraint'), '-') \
               from pg_constraint where conrelid = $1::text::regclass \
             order by 1",
            &[&table],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

async fn dbs(hint: &str) -> (TestDb, TestDb, Client, Client) {
    let src = common::fresh_db(&format!("{hint}_src")).await;
    let dst = common::fresh_db(&format!("{hint}_dst")).await;
    let (s, d) = (src.connect().await, dst.connect().await);
    (src, dst, s, d)
}

const TYPES_DDL: &str = r#"
create type "Mööd ""m""" as enum ('sad', 'ok', 'happy ☺', 'with''quote');
create domain posint as int4 check (value > 0);
create domain tags as text[];
create schema "Sch ëma ""q"" X";
create table "Sch ëma ""q"" X"."Tab ""le"" ñ.x" (
    "Id" int8 primary key,
    n numeric(20,5), nn numeric, i2 int2, f4 float4, f8 float8, b bool,
    t text, vc varchar(10), ch char(3), by bytea,
    ts timestamp, tstz timestamptz, d date, tm time, tmtz timetz, iv interval,
    j json, jb jsonb, ia int4[], ta text[], na numeric[], u uuid, ip inet, cidr cidr,
    mood "Mööd ""m""", p posint, tg tags, pt point, rng int4range, bits bit varying(16),
    "Col ümlaut ""x""" text, "select" int4, "MixedCase" text
);
create table "Sch ëma ""q"" X".moods (
    id int4 primary key,
    ms "Mööd ""m"""[],
    t text
);
"#;

const TYPES_DATA: &str = r#"
insert into "Sch ëma ""q"" X"."Tab ""le"" ñ.x"
select i,
       case when i % 7 = 0 then null else i * 1.5 + 0.00001 end,
       case when i % 11 = 0 then 'NaN'::numeric else (10::numeric ^ (i % 40)) / 3 end,
       (i % 30000)::int2,
       case i % 5 when 0 then 'NaN' when 1 then '-Infinity' when 2 then '-0' else i / 7.0 end,
       case i % 4 when 0 then 'Infinity' when 1 then 1e308 else pi() * i end,
       case when i % 3 = 0 then null else i % 2 = 0 end,
       case i % 6
           when 0 then null
           when 1 then E'tab\there\nnewline\\backslash \\N ''q'' "dq"'
           when 2 then 'ünïcødé ☺ 日本語 ' || i
           when 3 then ''
           when 4 then E'\r\n\\.\n'
           else repeat('long ', 500) end,
       left('vc' || i, 10), 'c' || (i % 10),
       case when i % 5 = 0 then null else decode(md5(i::text) || '00ff5c0a', 'hex') end,
       '2001-02-03 04:05:06.789'::timestamp + i * interval '1 hour 1 second',
       '2001-02-03 04:05:06.789+02'::timestamptz - i * interval '1 day',
       date '2000-01-01' + i, time '12:34:56.789' , timetz '01:02:03+05:30',
       i * interval '1 day 2 hours 3.5 seconds',
       case when i % 4 = 0 then null else json_build_object('a', i, 'b', E'x\ty', 'c', array[1, 2]) end,
       jsonb_build_object('k', i, 'nested', jsonb_build_object('ü', 'v', 'n', null)),
       case when i % 9 = 0 then null else array[i, null, -i] end,
       array[E'a,b', 'c"d', E'e\\f', null, '{x}', ''],
       array[1.5, null, 'NaN']::numeric[],
       md5(i::text)::uuid, ('10.0.' || (i % 256) || '.1')::inet, '192.168.0.0/16',
       (array['sad', 'ok', 'happy ☺', 'with''quote'])[1 + i % 4]::"Mööd ""m""",
       case when i % 8 = 0 then null else i end,
       array['t' || i, null],
       point(i, -i), int4range(i, i + 10), (i % 65536)::bit(16)::varbit,
       'col ' || i, i, 'Mixed ' || i
  from generate_series(1, 2000) i;
insert into "Sch ëma ""q"" X".moods
select i, case when i % 3 = 0 then null
               else array['sad', 'happy ☺', null, 'with''quote']::"Mööd ""m"""[] end,
       case i % 5
           when 0 then null
           when 1 then E'tab\there\nnewline\\backslash \\N ''q'' "dq"'
           when 2 then E'\\.'
           when 3 then E'\r\n\\.\n'
           else 'ünïcødé ☺ 日本語 ' || i end
  from generate_series(1, 500) i;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_and_hostile_names() {
    let (src, dst, s, d) = dbs("types").await;
    on_both(&s, &d, TYPES_DDL).await;
    exec(&s, TYPES_DATA).await;
    let table = "Sch ëma \"q\" X.Tab \"le\" ñ.x";
    let quoted = "\"Sch ëma \"\"q\"\" X\".\"Tab \"\"le\"\" ñ.x\"";

    let out = copy(&CopySpec::new(&src.connstr, &dst.connstr, table, table))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.binary,
        "same types on both sides (enums, domains): binary"
    );
    assert_eq!(out.rows, 2000);
    assert_eq!(out.parts, 1);
    let want = digest(&s, quoted, "t.*", "\"Id\"").await;
    assert_eq!(want.1, 2000);
    assert_eq!(digest(&d, quoted, "t.*", "\"Id\"").await, want);

    // An array of an enum carries the enum's OID in binary form, which
    // differs between the databases: text COPY.
    let moods = "\"Sch ëma \"\"q\"\" X\".moods";
    let out = copy(&CopySpec::new(
        &src.connstr,
        &dst.connstr,
        "Sch ëma \"q\" X.moods",
        "Sch ëma \"q\" X.moods",
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.binary, "enum array: text COPY");
    assert_eq!(out.rows, 500);
    let want = digest(&s, moods, "t.*", "id").await;
    assert_eq!(digest(&d, moods, "t.*", "id").await, want);
}

/// A table with every kind of index: primary key, unique constraint
/// (deferrable), exclusion constraint, unique index, partial index,
/// expression index, check constraint, replica identity and cluster mark.
const BIG_DDL: &str = "
create table big (
    id int8 primary key,
    code text not null,
    grp int4 not null,
    pad text,
    constraint big_grp_check check (grp >= 0),
    constraint big_pair unique (grp, id) deferrable initially deferred,
    constraint big_ex exclude using btree (code with =)
);
create unique index big_code_uq on big (code);
create index big_grp_part on big (grp) where grp > 10;
create index \"Big Lower\" on big (lower(pad));
alter table big replica identity using index big_code_uq;
alter table big cluster on \"Big Lower\";
comment on index big_code_uq is E'unique; it''s a \\\\ backslash';
comment on constraint big_pkey on big is 'the key';
";

async fn fill_big(c: &Client, n: i64) {
    exec(
        c,
        &format!(
            "insert into big select i, 'c' || i, i % 50, repeat(md5(i::text), 2) \
               from generate_series(1, {n}) i; analyze big"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_table_in_parts_keeps_every_index() {
    let (src, dst, s, d) = dbs("big").await;
    on_both(&s, &d, BIG_DDL).await;
    fill_big(&s, 300_000).await;
    // Rows already in the target go (truncate).
    exec(
        &d,
        "insert into big select -i, 'old' || i, 1, 'x' from generate_series(1, 100) i",
    )
    .await;
    let before = definitions(&d, "public.big").await;
    assert_eq!(before.len(), 10, "{before:#?}");
    assert!(
        before.iter().any(|d| d.ends_with("comment=the key")),
        "{before:#?}"
    );
    assert!(
        before
            .iter()
            .any(|d| d.ends_with("comment=unique; it's a \\ backslash")),
        "{before:#?}"
    );

    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.big", "public.big");
    spec.parts = 4;
    spec.min_part_bytes = 1;
    let progress = CopyProgress::default();
    let out = copy_table(&spec, &progress, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.parts, 4);
    assert_eq!(out.rows, 300_000);
    assert!(out.binary);
    let want = digest(&s, "big", "t.*", "id").await;
    assert_eq!(digest(&d, "big", "t.*", "id").await, want);
    assert_eq!(
        definitions(&d, "public.big").await,
        before,
        "every index and constraint back, the same, once"
    );
    let p = progress.snapshot();
    assert_eq!(p.phase, CopyPhase::Done);
    assert_eq!(p.rows, 300_000);
    assert_eq!(p.bytes, out.bytes);
    assert!(p.bytes > 0);
    assert_eq!(p.parts, 4);
    let est = p.est_rows.expect("analyzed source: reltuples known");
    assert!((290_000..=310_000).contains(&est), "est_rows {est}");
    assert!(p.est_bytes.is_some_and(|b| b > 0));
    assert!(p.elapsed > Duration::ZERO && p.elapsed <= out.elapsed + Duration::from_secs(1));
    assert!(p.rows_per_sec > 0.0);
    assert_eq!(p.eta, Some(Duration::ZERO));

    // The same table below the split threshold: one stream.
    spec.min_part_bytes = u64::MAX;
    let out = copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((out.parts, out.rows), (1, 300_000));
    assert_eq!(digest(&d, "big", "t.*", "id").await, want);
    assert_eq!(definitions(&d, "public.big").await, before);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Insert(i64, i64),
    Update(i64, i64),
    Delete(i64),
}

/// One writer, one transaction per change, each recorded with its txid:
/// what the copy must contain is exactly the changes whose txid is visible
/// in the returned snapshot (no xmin involved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_match_the_snapshot() {
    let (src, dst, s, d) = dbs("conc").await;
    let ddl = "create table cw (id int8 primary key, val int8 not null, pad text)";
    on_both(&s, &d, ddl).await;
    const N: i64 = 150_000;
    exec(
        &s,
        &format!("insert into cw select i, i, repeat('p', 100) from generate_series(1, {N}) i"),
    )
    .await;
    exec(&s, "vacuum analyze cw").await;

    let stop = Arc::new(AtomicBool::new(false));
    let writer_db = src.connect().await;
    let stop_w = stop.clone();
    let writer = tokio::spawn(async move {
        let mut log: Vec<(i64, Op)> = Vec::new();
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next_id = N + 1;
        let mut after_stop = 0;
        while after_stop < 30 {
            if stop_w.load(Ordering::Relaxed) {
                after_stop += 1;
            }
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = rng >> 33;
            let id = 1 + (r % (next_id as u64 - 1)) as i64;
            let val = (r % 1_000_000) as i64 + 10_000_000;
            let tx_sql = match r % 3 {
                0 => {
                    let op = Op::Insert(next_id, val);
                    next_id += 1;
                    (op, "insert into cw values ($1, $2, 'new')")
                }
                1 => (Op::Update(id, val), "update cw set val = $2 where id = $1"),
                _ => (
                    Op::Delete(id),
                    "delete from cw where id = $1 and $2::int8 is not null",
                ),
            };
            let (op, sql) = tx_sql;
            let (a, b) = match op {
                Op::Insert(a, b) | Op::Update(a, b) => (a, b),
                Op::Delete(a) => (a, 0),
            };
            writer_db.batch_execute("begin").await.unwrap();
            let n = writer_db.execute(sql, &[&a, &b]).await.unwrap();
            let txid: i64 = writer_db
                .query_one("select txid_current()", &[])
                .await
                .unwrap()
                .get(0);
            writer_db.batch_execute("commit").await.unwrap();
            if n == 1 {
                log.push((txid, op));
            }
        }
        log
    });
    // Let some changes land before the copy starts.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "cw", "cw");
    spec.parts = 4;
    spec.min_part_bytes = 1;
    let out = copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    stop.store(true, Ordering::Relaxed);
    let log = writer.await.unwrap();
    assert_eq!(out.parts, 4);

    let txids: Vec<i64> = log.iter().map(|(t, _)| *t).collect();
    let visible: Vec<bool> = s
        .query(
            "select txid_visible_in_snapshot(x, $2::text::txid_snapshot) \
               from unnest($1::int8[]) with ordinality u(x, n) order by n",
            &[&txids, &out.snapshot],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let seen = visible.iter().filter(|v| **v).count();
    assert!(seen > 0, "some changes committed before the snapshot");
    assert!(seen < log.len(), "some changes committed after it");
    assert!(
        visible.windows(2).all(|w| w[0] || !w[1]),
        "one sequential writer: the visible changes are a prefix"
    );

    let mut want: BTreeMap<i64, i64> = (1..=N).map(|i| (i, i)).collect();
    for ((_, op), vis) in log.iter().zip(&visible) {
        if !vis {
            continue;
        }
        match *op {
            Op::Insert(id, v) | Op::Update(id, v) => {
                want.insert(id, v);
            }
            Op::Delete(id) => {
                want.remove(&id);
            }
        }
    }
    let got: BTreeMap<i64, i64> = d
        .query("select id, val from cw", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "target differs from the source as of the snapshot"
    );
    assert_eq!(out.rows as usize, want.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differing_types_extra_columns_condition_skip_truncate() {
    let (src, dst, s, d) = dbs("diff").await;
    // int4 -> int8 and a column on each side only: text COPY of the
    // common columns; the target's own column gets its default.
    exec(
        &s,
        "create table tx (id int4 primary key, a int4, b text, only_src text); \
         insert into tx select i, i * 10, 'b' || i, 'gone' from generate_series(1, 1000) i; \
         create table cond (id int4 primary key, v int4); \
         insert into cond select i, i from generate_series(1, 100) i",
    )
    .await;
    exec(
        &d,
        "create table tx (only_dst text default 'dflt', b text, a int8, id int8 primary key); \
         create table cond (id int4 primary key, v int4); \
         insert into cond select i, -i from generate_series(1001, 1010) i",
    )
    .await;
    let out = copy(&CopySpec::new(
        &src.connstr,
        &dst.connstr,
        "tx",
        "public.tx",
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.binary, "int4 -> int8: text COPY");
    assert_eq!(out.rows, 1000);
    assert_eq!(
        digest(&d, "tx", "id, a, b", "id").await,
        digest(&s, "tx", "id, a, b", "id").await
    );
    let dflt: i64 = d
        .query_one("select count(*) from tx where only_dst = 'dflt'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(dflt, 1000);

    // condition + skip_truncate: even rows join the rows already there.
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.cond", "public.cond");
    spec.condition = Some("v % 2 = 0".into());
    spec.skip_truncate = true;
    let out = copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rows, 50);
    assert_eq!(count(&d, "cond").await, 60);
    let odd: i64 = d
        .query_one(
            "select count(*) from cond where id <= 100 and v % 2 <> 0",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(odd, 0);
    assert_eq!(count(&d, "cond where id > 1000").await, 10, "kept");
    // Without skip_truncate the old rows go.
    spec.skip_truncate = false;
    spec.condition = None;
    copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&d, "cond").await, 100);
}

/// A root node with the table registered and in-copy, as the worker
/// leaves it before starting the copy.
async fn register_in_copy(d: &Client, table: &str) {
    exec(
        d,
        &format!(
            "select * from pgq_node.register_location('q', 'n1', 'dbname=n1', false); \
             select * from pgq_node.create_node('q', 'root', 'n1', 'w', null, null, null); \
             select * from londiste.local_add_table('q', '{table}'); \
             select * from londiste.local_set_table_state('q', '{table}', null, 'in-copy')"
        ),
    )
    .await;
    let state: Option<String> = d
        .query_one(
            "select merge_state from londiste.table_info where queue_name = 'q' and table_name = $1",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state.as_deref(), Some("in-copy"));
}

async fn dropped_ddl(d: &Client, table: &str) -> Option<String> {
    d.query_one(
        "select dropped_ddl from londiste.table_info where queue_name = 'q' and table_name = $1",
        &[&table],
    )
    .await
    .unwrap()
    .get(0)
}

/// Wait until nothing holds a lock on `table` (the copy's transactions
/// are gone).
async fn wait_unlocked(d: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = d
            .query_one(
                "select count(*) from pg_locks where relation = $1::text::regclass",
                &[&table],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "locks on {table} still held");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_copy_keeps_ddl_and_next_copy_restores_it() {
    let src = common::fresh_db("cancel_src").await;
    let dst = common::installed_db("cancel_dst").await;
    let (s, d) = (src.connect().await, dst.connect().await);
    on_both(&s, &d, BIG_DDL).await;
    fill_big(&s, 300_000).await;
    let before = definitions(&d, "public.big").await;
    register_in_copy(&d, "public.big").await;
    // The trigger londiste added is not an index: it stays and does not fire.
    let before_with_trigger = definitions(&d, "public.big").await;
    assert_eq!(before, before_with_trigger);

    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.big", "public.big");
    spec.parts = 2;
    spec.min_part_bytes = 1;
    spec.ddl_owner = Some(("q".into(), "public.big".into()));
    let progress = CopyProgress::default();
    let stop = CancellationToken::new();
    let canceller = async {
        loop {
            let p = progress.snapshot();
            if p.phase == CopyPhase::Data && p.rows > 1000 {
                stop.cancel();
                return p;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let (res, at) = tokio::join!(copy_table(&spec, &progress, &stop), canceller);
    assert!(at.rows < 300_000, "cancelled mid-stream: {at:?}");
    let err = res.expect_err("cancelled");
    assert!(matches!(err, CopyError::Cancelled { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("dropped_ddl"), "{msg}");
    assert_eq!(progress.snapshot().phase, CopyPhase::Failed);
    wait_unlocked(&d, "public.big").await;

    let saved = dropped_ddl(&d, "public.big").await.expect("DDL saved");
    let no_indexes = definitions(&d, "public.big").await;
    assert_eq!(
        no_indexes,
        vec![
            "constraint big_grp_check CHECK ((grp >= 0)) deferrable=false deferred=false comment=-"
        ],
        "indexes dropped, check constraint kept"
    );
    assert_eq!(saved.matches("CREATE ").count(), 5, "{saved}");

    // As if a copy had died half way through restoring: one index back.
    let first = saved.split(";\n").next().unwrap();
    assert!(first.starts_with("CREATE UNIQUE INDEX"), "{first}");
    exec(&d, first).await;

    let progress = CopyProgress::default();
    let out = copy_table(&spec, &progress, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rows, 300_000);
    assert_eq!(dropped_ddl(&d, "public.big").await, None, "cleared");
    assert_eq!(
        definitions(&d, "public.big").await,
        before,
        "every index restored exactly once"
    );
    assert_eq!(
        digest(&d, "big", "t.*", "id").await,
        digest(&s, "big", "t.*", "id").await
    );
    assert_eq!(progress.snapshot().rows, 300_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_part_stops_the_others() {
    let (src, dst, s, d) = dbs("fail").await;
    on_both(
        &s,
        &d,
        "create table f (id int4 primary key, v int4, pad text)",
    )
    .await;
    exec(
        &s,
        "insert into f select i, i, repeat('x', 200) from generate_series(1, 100000) i",
    )
    .await;
    // Rows near the end of the table break a constraint the target keeps.
    exec(&d, "alter table f add constraint f_v check (v < 99000)").await;
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "f", "f");
    spec.parts = 3;
    spec.min_part_bytes = 1;
    let err = copy(&spec).await.expect_err("check violation");
    let msg = err.to_string();
    assert!(matches!(err, CopyError::Db { .. }), "{msg}");
    assert!(msg.contains("COPY part 3/3"), "{msg}");
    assert!(msg.contains("f_v"), "{msg}");
    assert!(msg.contains("NOT saved"), "in-memory DDL is shown: {msg}");
    wait_unlocked(&d, "public.f").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_problem() {
    let (src, dst, s, d) = dbs("errs").await;
    on_both(&s, &d, "create table a (id int4 primary key, x text)").await;
    exec(
        &d,
        "create table nokey (k2 int4, id int4, primary key (id, k2))",
    )
    .await;
    exec(&s, "create table nokey (id int4, other text)").await;
    exec(&d, "create table nothing (z int4)").await;
    exec(
        &s,
        "create table nothing (y int4); create view v as select 1 as id",
    )
    .await;

    let secret_src = format!("{} password=s3cret", src.connstr);
    let e = copy(&CopySpec::new(
        &secret_src,
        &dst.connstr,
        "public.missing",
        "a",
    ))
    .await
    .expect_err("no such table");
    let msg = e.to_string();
    assert!(matches!(e, CopyError::NoSuchTable { .. }), "{msg}");
    assert!(
        msg.contains("public.missing") && msg.contains("source"),
        "{msg}"
    );
    assert!(
        !msg.contains("s3cret") && msg.contains("password=***"),
        "{msg}"
    );

    let e = copy(&CopySpec::new(&src.connstr, &dst.connstr, "a", "nope"))
        .await
        .expect_err("no dest");
    assert!(
        matches!(&e, CopyError::NoSuchTable { side, .. } if side.to_string() == "target"),
        "{e}"
    );

    let e = copy(&CopySpec::new(&src.connstr, &dst.connstr, "nokey", "nokey"))
        .await
        .expect_err("key column missing");
    let msg = e.to_string();
    assert!(matches!(e, CopyError::KeyColumnsMissing { .. }), "{msg}");
    assert!(msg.contains("k2"), "{msg}");

    let e = copy(&CopySpec::new(
        &src.connstr,
        &dst.connstr,
        "nothing",
        "nothing",
    ))
    .await
    .expect_err("no common column");
    assert!(matches!(e, CopyError::NoCommonColumns { .. }), "{e}");

    let e = copy(&CopySpec::new(&src.connstr, &dst.connstr, "v", "a"))
        .await
        .expect_err("a view");
    assert!(matches!(e, CopyError::NotATable { .. }), "{e}");

    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "a", "a");
    spec.condition = Some("no_such_column > 0".into());
    let e = copy(&spec).await.expect_err("bad condition");
    assert!(e.to_string().contains("copy condition"), "{e}");
    // The failed copy put the dropped primary key back? No: it was dropped
    // in memory only, and the error says how to recreate it.
    assert!(e.to_string().contains("NOT saved"), "{e}");

    // Not registered in londiste.table_info.
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "a", "a");
    exec(&d, "create schema londiste; create table londiste.table_info (queue_name text, table_name text, local bool, dropped_ddl text); create function londiste.make_fqname(text) returns text language sql as $$ select $1 $$").await;
    spec.ddl_owner = Some(("q".into(), "public.a".into()));
    let e = copy(&spec).await.expect_err("not registered");
    assert!(matches!(e, CopyError::NotRegistered { .. }), "{e}");
    assert!(e.to_string().contains("add the table"), "{e}");
    let _ = s;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_table_and_progress() {
    let (src, dst, s, d) = dbs("empty").await;
    on_both(&s, &d, "create table e (id int4 primary key)").await;
    let progress = CopyProgress::default();
    let out = copy_table(
        &CopySpec::new(&src.connstr, &dst.connstr, "e", "e"),
        &progress,
        &CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rows, 0);
    let p = progress.snapshot();
    assert_eq!((p.phase, p.rows), (CopyPhase::Done, 0));
    assert_eq!(p.est_rows, None, "never analyzed: reltuples -1");
    // Snapshot text looks like xmin:xmax:xip.
    assert_eq!(out.snapshot.matches(':').count(), 2, "{}", out.snapshot);
    assert_eq!(definitions(&d, "public.e").await.len(), 2);
    let _ = serde_json::to_string(&p).unwrap();
}

/// Keeps every column and changes nothing: the text path's parsing and
/// re-escaping alone.
struct Identity;

impl RowRewrite for Identity {
    fn keep(&self, _column: &str) -> bool {
        true
    }
    fn rewrite(&self, _columns: &[String], _row: &mut Vec<Option<String>>) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_rewrite_keeps_every_hostile_value() {
    let (src, dst, s, d) = dbs("rw_types").await;
    on_both(&s, &d, TYPES_DDL).await;
    exec(&s, TYPES_DATA).await;
    let table = "Sch ëma \"q\" X.Tab \"le\" ñ.x";
    let quoted = "\"Sch ëma \"\"q\"\" X\".\"Tab \"\"le\"\" ñ.x\"";
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, table, table);
    spec.rewrite = Some(Arc::new(Identity));
    spec.parts = 2;
    spec.min_part_bytes = 1;
    let progress = CopyProgress::default();
    let out = copy_table(&spec, &progress, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.binary, "a rewrite copies text");
    assert_eq!((out.rows, out.parts), (2000, 2));
    assert_eq!(progress.snapshot().rows, 2000);
    let want = digest(&s, quoted, "t.*", "\"Id\"").await;
    assert_eq!(digest(&d, quoted, "t.*", "\"Id\"").await, want);

    let moods = "\"Sch ëma \"\"q\"\" X\".moods";
    let mut spec = CopySpec::new(
        &src.connstr,
        &dst.connstr,
        "Sch ëma \"q\" X.moods",
        "Sch ëma \"q\" X.moods",
    );
    spec.rewrite = Some(Arc::new(Identity));
    let out = copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rows, 500);
    assert_eq!(
        digest(&d, moods, "t.*", "id").await,
        digest(&s, moods, "t.*", "id").await
    );
}

/// Upper-cases (ASCII, as upper() in a C-locale database) column `a`,
/// drops column `b`, refuses a value "boom".
struct Shout {
    seen: std::sync::Mutex<Option<Vec<String>>>,
}

impl RowRewrite for Shout {
    fn keep(&self, column: &str) -> bool {
        column != "b"
    }
    fn rewrite(&self, columns: &[String], row: &mut Vec<Option<String>>) -> Result<(), String> {
        if let Ok(mut s) = self.seen.lock() {
            s.get_or_insert_with(|| columns.to_vec());
        }
        for (c, v) in columns.iter().zip(row.iter_mut()) {
            if c == "a" {
                if v.as_deref() == Some("boom") {
                    return Err("column a: refused".into());
                }
                *v = v.as_ref().map(|s| s.to_ascii_uppercase());
            }
        }
        Ok(())
    }
}

fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_map_renames_and_rewrites_in_parts() {
    let (src, dst, s, d) = dbs("colmap").await;
    exec(
        &s,
        "create table cm (id int8 primary key, a text, b int4, c text, d text); \
         insert into cm select i, case when i % 7 = 0 then null \
                                       else E'row\\t' || i || E' ünï \\\\ x\\n' end, \
                               i, 'c', 'd' \
           from generate_series(1, 60000) i; analyze cm",
    )
    .await;
    exec(
        &d,
        "create table cm_dst (key int8 primary key, alpha text, beta int4, \
                              gen int8 generated always as (key * 2) stored, \
                              extra text default 'dflt')",
    )
    .await;

    // Renamed and fewer columns, same types: still binary.
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.cm", "public.cm_dst");
    spec.column_map = pairs(&[("id", "key"), ("a", "alpha"), ("b", "beta")]);
    let out = copy(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(out.binary);
    assert_eq!(out.rows, 60000);
    assert_eq!(
        digest(&d, "cm_dst", "key, alpha, beta, gen", "key").await,
        digest(&s, "cm", "id, a, b, id * 2", "id").await
    );
    assert_eq!(count(&d, "cm_dst where extra = 'dflt'").await, 60000);

    // The same map with a rewrite, split into CTID ranges: text COPY, the
    // dropped column stays NULL, the rewrite sees the source names.
    let shout = Arc::new(Shout {
        seen: std::sync::Mutex::new(None),
    });
    spec.rewrite = Some(shout.clone());
    spec.parts = 3;
    spec.min_part_bytes = 1;
    let progress = CopyProgress::default();
    let out = copy_table(&spec, &progress, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.binary);
    assert_eq!((out.rows, out.parts), (60000, 3));
    let p = progress.snapshot();
    assert_eq!(
        (p.phase, p.rows, p.bytes),
        (CopyPhase::Done, 60000, out.bytes)
    );
    assert_eq!(
        digest(&d, "cm_dst", "key, alpha, beta", "key").await,
        digest(&s, "cm", "id, upper(a), null::int4", "id").await
    );
    assert_eq!(
        shout.seen.lock().unwrap().as_deref(),
        Some(&["id".to_string(), "a".to_string()][..])
    );

    // Map errors name the column and the side.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("id", "key"), ("zz", "alpha")],
            "column \"zz\" of the column map is not in the source table public.cm",
        ),
        (
            &[("id", "key"), ("a", "zz")],
            "column \"zz\" of the column map is not in the destination table public.cm_dst",
        ),
        (
            &[("id", "key"), ("a", "gen")],
            "\"gen\" of the destination table public.cm_dst is generated",
        ),
        (
            &[("id", "key"), ("a", "key")],
            "destination column \"key\" appears twice",
        ),
        (&[], "the column map is empty"),
        (&[("a", "alpha")], "primary key column(s) key"),
    ];
    spec.rewrite = None;
    spec.parts = 1;
    for (map, want) in cases {
        spec.column_map = pairs(map);
        let e = copy(&spec).await.expect_err(want).to_string();
        assert!(e.contains(want), "{map:?}: {e}");
    }
    // A refused row fails the copy and says where (the destination's key,
    // dropped for the copy, is not saved anywhere without ddl_owner: last).
    spec.column_map = pairs(&[("id", "key"), ("a", "alpha"), ("b", "beta")]);
    spec.rewrite = Some(shout.clone());
    spec.parts = 3;
    exec(&s, "update cm set a = 'boom' where id = 30000").await;
    let e = copy(&spec).await.expect_err("refused row");
    let msg = e.to_string();
    assert!(matches!(e, CopyError::Rewrite { .. }), "{msg}");
    assert!(
        msg.contains("column a: refused")
            && msg.contains("row ")
            && !msg.contains("boom")
            && msg.contains("NOT saved anywhere"),
        "{msg}"
    );
}
