//! The obfuscate handler against real databases: a copy through the rule
//! map (keep / skip / bool / hash32 / hash64 / hash / JSON rules) into a
//! table holding only the kept columns, split into CTID ranges; the events
//! logutriga and jsontriga write, rewritten; hand-made urlencoded and JSON
//! events; and the errors. Expected values come from the original Python
//! handler (python3, hashlib.blake2s), hard-coded here.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use skydeck::londiste::copy::{copy_table, CopyProgress, CopySpec};
use skydeck::londiste::obfuscate::Obfuscator;
use skydeck::pgq::{self, event::url_decode_row, Event};
use tokio_postgres::{Client, SimpleQueryMessage};
use tokio_util::sync::CancellationToken;

const KEY: &str = "people-key";

const MAP: &str = r#"# the rules of this test
public.people:
  id: keep
  name: hash        # a uuid
  email: hash32
  phone: hash64
  note: skip
  flag: bool
  nick: bool
  active: keep
  data:
    a: keep
    b: hash
    c:
      d: hash32
      e: keep
    f: bool
    g: hash64
  prefs:
    lang: keep
    tz: hash32
'public.other':
  id: keep
"#;

const SOURCE_DDL: &str = "
create table public.people (
    id int8 primary key,
    name text, email text, phone text, note text, flag text, nick text,
    data json, prefs jsonb, secret text, active bool
)";

/// Only the kept columns, typed for what the rules produce.
const DEST_DDL: &str = "
create table public.people (
    id int8 primary key,
    name uuid, email int4, phone int8, flag bool, nick bool,
    data json, prefs jsonb, active bool
)";

const ROWS: &str = r#"
insert into public.people values
 (1, 'Ann Lee', 'ann@example.com', '+1 555 0100', 'secret note', 'yes', '',
  '{"a": [1, "x"], "b": "ünï", "c": {"d": 42, "e": null}, "f": 0, "g": 1.5, "z": "dropped"}',
  '{"lang": "et", "tz": "Europe/Tallinn", "x": 1}', 'zzz', true),
 (2, E'tab\there\nnl\\bs', null, '', null, null, 'x', null, null, null, false),
 (3, 'ünïcødé ☺', 'x', 'y', 'n', 'f', 'f',
  '{"c": 5, "b": true, "f": "", "a": {"k": "v"}, "g": "big"}', '{"tz": 2}', 's', null),
 (4, 'd', 'e', 'f', 'g', 'h', 'i', '[1, 2]', '{}', 't', true)
"#;

/// What the original handler's copy makes of ROWS (text forms; NULL =
/// None), columns id, name, email, phone, flag, nick, data, prefs, active.
fn expected_rows() -> Vec<[Option<&'static str>; 9]> {
    vec![
        [
            Some("1"),
            Some("44553c62-9716-9591-3e44-97f4425edca9"),
            Some("1316112288"),
            Some("-8269645727962844201"),
            Some("t"),
            Some("f"),
            Some(
                r#"{"a": [1, "x"], "b": "4dfd391a-8cec-061d-2783-abbf77b73abd", "c": {"d": -257560818}, "f": "f", "g": 7920701900626255430}"#,
            ),
            Some(r#"{"lang": "et", "tz": -1315337955}"#),
            Some("t"),
        ],
        [
            Some("2"),
            Some("26bedffa-54e1-7ed7-5fd6-09446065d59a"),
            None,
            Some("3127920102218279922"),
            None,
            Some("t"),
            None,
            None,
            Some("f"),
        ],
        [
            Some("3"),
            Some("95688103-8ee3-b020-7617-dee0c0b7d456"),
            Some("-1301486145"),
            Some("-1940170538312974732"),
            Some("t"),
            Some("t"),
            Some(
                r#"{"a": {"k": "v"}, "b": "9fb75826-48ce-9d88-12bc-1ef3d698a377", "f": "f", "g": 5368997414934036883}"#,
            ),
            Some(r#"{"tz": 1078595233}"#),
            None,
        ],
        [
            Some("4"),
            Some("a8e525ee-85be-ec16-533f-dc275b7161df"),
            Some("-1840111457"),
            Some("-5447268576671105322"),
            Some("t"),
            Some("t"),
            Some("{}"),
            Some("{}"),
            Some("t"),
        ],
    ]
}

const KEPT: [&str; 9] = [
    "id", "name", "email", "phone", "flag", "nick", "data", "prefs", "active",
];

async fn exec(c: &Client, sql: &str) {
    c.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
}

/// Rows of `sql` in text form (simple query protocol).
async fn text_rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// A scratch file holding `text`, removed on drop.
struct MapFile(PathBuf);

impl MapFile {
    fn new(text: &str) -> MapFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "skydeck-obfuscate-{}-{}.yaml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        MapFile(path)
    }
}

impl Drop for MapFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn obfuscator() -> Obfuscator {
    let f = MapFile::new(MAP);
    Obfuscator::load(&f.0, KEY).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_through_the_rules_in_parts() {
    let src = common::fresh_db("obf_copy_src").await;
    let dst = common::fresh_db("obf_copy_dst").await;
    let (s, d) = (src.connect().await, dst.connect().await);
    exec(&s, SOURCE_DDL).await;
    exec(&s, ROWS).await;
    // enough rows for a split copy
    exec(
        &s,
        "insert into public.people \
         select i, 'n' || i, 'e' || i, case when i % 3 = 0 then null else 'p' || i end, \
                'note', case when i % 2 = 0 then '' else 'x' end, null, \
                case when i % 5 = 0 then null else ('{\"b\": \"v' || i || '\", \"g\": ' || i || '}')::json end, \
                case when i % 2 = 0 then null else ('{\"lang\": \"l' || i || '\"}')::jsonb end, 'secret', i % 2 = 0 \
           from generate_series(10, 20009) i; analyze public.people",
    )
    .await;
    exec(&d, DEST_DDL).await;

    let obf = obfuscator();
    assert!(obf.has_table("public.people") && obf.has_table("public.other"));
    assert!(!obf.has_table("public.nope"));
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.people", "public.people");
    spec.rewrite = Some(obf.copy_rewrite("public.people").unwrap());
    spec.parts = 3;
    spec.min_part_bytes = 64 << 10;
    let progress = CopyProgress::default();
    let out = copy_table(&spec, &progress, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.parts, 3, "{out:?}");
    assert!(!out.binary);
    assert_eq!(out.rows, 20004);
    assert_eq!(progress.snapshot().rows, 20004);

    // The hand-made rows, against the original's output.
    let cols = "id, name, email, phone, flag, nick, data, prefs, active";
    let got = text_rows(
        &d,
        &format!("select {cols} from public.people where id < 10 order by id"),
    )
    .await;
    let want = expected_rows();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        for (i, col) in KEPT.iter().enumerate() {
            if *col == "prefs" {
                continue; // jsonb prints its own way: compared below
            }
            assert_eq!(g[i].as_deref(), w[i], "row {:?}, column {col}", w[0]);
        }
    }
    for w in &want {
        let same: bool = d
            .query_one(
                "select prefs is not distinct from $2::text::jsonb from public.people where id = $1::text::int8",
                &[&w[0], &w[7]],
            )
            .await
            .unwrap()
            .get(0);
        assert!(same, "prefs of row {:?}", w[0]);
    }

    // The generated rows: each equals the hook applied to the source row.
    let hook = obf.copy_rewrite("public.people").unwrap();
    let names: Vec<String> = KEPT.iter().map(|c| c.to_string()).collect();
    let sql = format!("select {cols} from public.people where id >= 10 order by id");
    let source = text_rows(&s, &sql).await;
    let target = text_rows(&d, &sql).await;
    assert_eq!(source.len(), 20000);
    assert_eq!(target.len(), 20000);
    for (mut row, t) in source.into_iter().zip(target) {
        hook.rewrite(&names, &mut row).unwrap();
        assert_eq!(row, t);
    }
}

/// Queue `q` with a tick per call and consumer "reader".
async fn queue(c: &Client, q: &str) {
    pgq::create_queue(c, q).await.unwrap();
    for (k, v) in [
        ("ticker_max_count", "1"),
        ("ticker_max_lag", "0"),
        ("ticker_idle_period", "0"),
    ] {
        pgq::set_queue_config(c, q, k, v).await.unwrap();
    }
    pgq::register_consumer(c, q, "reader").await.unwrap();
}

async fn next_events(c: &Client, q: &str) -> Vec<Event> {
    pgq::ticker(c, q).await.unwrap();
    let batch: Option<i64> = c
        .query_one("select pgq.next_batch($1, 'reader')", &[&q])
        .await
        .unwrap()
        .get(0);
    let batch = batch.expect("a batch");
    let rows = c
        .query(
            "select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, \
                    ev_extra3, ev_extra4 from pgq.get_batch_events($1) order by ev_id",
            &[&batch],
        )
        .await
        .unwrap();
    c.query_one("select pgq.finish_batch($1)", &[&batch])
        .await
        .unwrap();
    rows.iter()
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
        .collect()
}

fn fields(data: &str) -> Vec<(String, Option<String>)> {
    url_decode_row(data).unwrap()
}

fn field_names(f: &[(String, Option<String>)]) -> Vec<&str> {
    f.iter().map(|(k, _)| k.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_events_rewritten() {
    let db = common::installed_db("obf_events").await;
    let c = db.connect().await;
    exec(&c, SOURCE_DDL).await;
    queue(&c, "lq").await;
    queue(&c, "jq").await;
    exec(
        &c,
        "create trigger l_ev after insert or update or delete on public.people \
             for each row execute procedure pgq.logutriga('lq', 'backup');
         create trigger l_tr after truncate on public.people \
             for each statement execute procedure pgq.logutriga('lq');
         create trigger j_ev after insert or update or delete on public.people \
             for each row execute procedure pgq.jsontriga('jq', 'backup');",
    )
    .await;
    exec(&c, ROWS).await;
    exec(
        &c,
        "update public.people set name = 'Bob', email = 'bob@example.com' where id = 1;
         delete from public.people where id = 2;
         truncate public.people;",
    )
    .await;
    let obf = obfuscator();
    let want = expected_rows();

    // logutriga: urlencoded rows, the old row of the update in ev_extra2
    let evs = next_events(&c, "lq").await;
    let types: Vec<&str> = evs.iter().filter_map(|e| e.ev_type.as_deref()).collect();
    assert_eq!(types, ["I:id", "I:id", "I:id", "I:id", "U:id", "D:id", "R"]);
    let out: Vec<Event> = evs
        .iter()
        .map(|e| obf.rewrite_event("public.people", e).unwrap())
        .collect();
    // source column order, skipped columns gone
    let order = [
        "id", "name", "email", "phone", "flag", "nick", "data", "prefs", "active",
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(out[i].ev_type.as_deref(), Some("I:id"));
        assert_eq!(out[i].ev_extra1, evs[i].ev_extra1);
        let f = fields(out[i].ev_data.as_deref().unwrap());
        assert_eq!(field_names(&f), order);
        for (k, (name, v)) in f.iter().enumerate() {
            if name == "prefs" {
                continue; // jsonb text: checked for row 1 below
            }
            assert_eq!(v.as_deref(), w[k], "insert {i}, column {name}");
        }
    }
    let f = fields(out[0].ev_data.as_deref().unwrap());
    assert_eq!(
        f[7].1.as_deref(),
        Some(r#"{"lang": "et", "tz": -1315337955}"#)
    );
    // the update: new row and old row both rewritten
    let new = fields(out[4].ev_data.as_deref().unwrap());
    let old = fields(out[4].ev_extra2.as_deref().unwrap());
    assert_eq!(field_names(&new), order);
    assert_eq!(field_names(&old), order);
    let get = |f: &[(String, Option<String>)], k: &str| {
        f.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone())
    };
    assert_eq!(
        get(&new, "name").as_deref(),
        Some("c851cd80-300e-d95f-4e14-cd654ca2a71e")
    );
    assert_eq!(get(&new, "email").as_deref(), Some("-40043031"));
    assert_eq!(
        get(&old, "name").as_deref(),
        Some("44553c62-9716-9591-3e44-97f4425edca9")
    );
    assert_eq!(get(&old, "email").as_deref(), Some("1316112288"));
    let raw = format!("{:?}", out[4]);
    assert!(!raw.contains("Ann") && !raw.contains("secret"), "{raw}");
    // the delete
    let del = fields(out[5].ev_data.as_deref().unwrap());
    assert_eq!(
        get(&del, "name").as_deref(),
        Some("26bedffa-54e1-7ed7-5fd6-09446065d59a")
    );
    // truncate passes as is
    assert_eq!(out[6], evs[6]);

    // jsontriga: typed JSON values (ints and booleans stay typed)
    let evs = next_events(&c, "jq").await;
    assert_eq!(evs.len(), 6, "{evs:?}");
    let out0 = obf.rewrite_event("public.people", &evs[0]).unwrap();
    assert_eq!(out0.ev_type, evs[0].ev_type);
    let v: serde_json::Value = serde_json::from_str(out0.ev_data.as_deref().unwrap()).unwrap();
    let expect = serde_json::json!({
        "id": 1,
        "name": "44553c62-9716-9591-3e44-97f4425edca9",
        "email": 1316112288,
        "phone": -8269645727962844201i64,
        "flag": "t",
        "nick": "f",
        "data": want[0][6].unwrap(),
        "prefs": r#"{"lang": "et", "tz": -1315337955}"#,
        "active": true,
    });
    assert_eq!(v, expect);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, order);
    let upd = obf.rewrite_event("public.people", &evs[4]).unwrap();
    let old: serde_json::Value =
        serde_json::from_str(upd.ev_extra2.as_deref().expect("backup row")).unwrap();
    assert_eq!(old["name"], "44553c62-9716-9591-3e44-97f4425edca9");
    assert!(old.get("secret").is_none() && old.get("note").is_none());
}

fn event(ty: &str, data: &str) -> Event {
    Event {
        ev_id: 42,
        ev_time: SystemTime::now(),
        ev_txid: 1,
        ev_retry: None,
        ev_type: Some(ty.into()),
        ev_data: Some(data.into()),
        ev_extra1: Some("public.people".into()),
        ev_extra2: None,
        ev_extra3: Some("x3".into()),
        ev_extra4: None,
    }
}

#[test]
fn hand_made_events_match_the_original() {
    let obf = obfuscator();
    // urlencoded
    let ev = event(
        "I:id",
        "id=1&name=Ann+Lee&email=ann%40example.com&note=secret&flag=yes&nick=&\
         data=%7B%22b%22%3A+%22x%22%2C+%22c%22%3A+%7B%22d%22%3A+7%7D%7D&secret=zzz&active=t",
    );
    let out = obf.rewrite_event("public.people", &ev).unwrap();
    assert_eq!(out.ev_type.as_deref(), Some("I:id"));
    assert_eq!(out.ev_extra3.as_deref(), Some("x3"));
    let got: HashMap<String, Option<String>> = fields(out.ev_data.as_deref().unwrap())
        .into_iter()
        .collect();
    let want: HashMap<String, Option<String>> = [
        ("id", "1"),
        ("name", "44553c62-9716-9591-3e44-97f4425edca9"),
        ("email", "1316112288"),
        ("flag", "t"),
        ("nick", "f"),
        (
            "data",
            r#"{"b": "fd6c9d1b-c947-9d5f-0176-482350b72fd8", "c": {"d": 261867989}}"#,
        ),
        ("active", "t"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
    .collect();
    assert_eq!(got, want);

    // JSON: an integer hashes as its digits, a JSON true as Python's 1,
    // a null under a hash rule stays null; output as json.dumps writes it
    let ev = event(
        r#"{"op":"UPDATE","table":["public","people"],"pkey":["id"]}"#,
        r#"{"id":1,"name":"Ann Lee","email":12345,"phone":null,"flag":true,"nick":false,"note":"s","data":"{\"g\": 2.5, \"a\": {\"k\": [1]}}","active":true,"prefs":"{\"tz\": \"UTC\"}"}"#,
    );
    let out = obf.rewrite_event("public.people", &ev).unwrap();
    assert_eq!(out.ev_type, ev.ev_type);
    assert_eq!(
        out.ev_data.as_deref(),
        Some(
            r#"{"id": 1, "name": "44553c62-9716-9591-3e44-97f4425edca9", "email": -1804622600, "phone": null, "flag": "t", "nick": "f", "data": "{\"a\": {\"k\": [1]}, \"g\": -445944171986504411}", "active": true, "prefs": "{\"tz\": 62014092}"}"#
        )
    );
    // the old row of an update is rewritten too
    let mut ev = ev;
    ev.ev_extra2 = Some(
        r#"{"id":1,"name":"Old Name","email":"old@example.com","flag":false,"nick":"","note":"s"}"#
            .into(),
    );
    let out = obf.rewrite_event("public.people", &ev).unwrap();
    assert_eq!(
        out.ev_extra2.as_deref(),
        Some(
            r#"{"id": 1, "name": "5c5880e3-afc2-8dfc-0152-de4c3c730f6f", "email": 1466902836, "flag": "f", "nick": "f"}"#
        )
    );
}

#[test]
fn errors_name_the_problem() {
    let obf = obfuscator();
    // a table the map does not name
    let e = obf
        .rewrite_event("public.nope", &event("I:id", "id=1"))
        .unwrap_err();
    assert!(
        e.contains("public.nope")
            && e.contains("skydeck-obfuscate-")
            && e.contains("public.people"),
        "{e}"
    );
    assert!(obf.copy_rewrite("public.nope").is_err());
    // sqltriga
    let e = obf
        .rewrite_event("public.people", &event("I", "(id,name) values ('1','x')"))
        .unwrap_err();
    assert!(
        e.contains("event 42") && e.contains("public.people") && e.contains("sqltriga"),
        "{e}"
    );
    // a value that cannot be hashed, a broken JSON column
    let e = obf
        .rewrite_event(
            "public.people",
            &event("I:id", r#"{"id": 1, "email": [1]}"#),
        )
        .unwrap_err();
    assert!(e.contains("\"email\"") && e.contains("array"), "{e}");
    let e = obf
        .rewrite_event("public.people", &event("I:id", "id=1&data=%7Bx"))
        .unwrap_err();
    assert!(
        e.contains("\"data\"") && e.contains("not valid JSON"),
        "{e}"
    );
    // bad YAML: file and line
    let f = MapFile::new("public.t:\n  a: keep\n  b: [hash]\n");
    let e = Obfuscator::load(&f.0, KEY).unwrap_err();
    assert!(
        e.starts_with(&format!("{}:3: ", f.0.display())) && e.contains("flow collection"),
        "{e}"
    );
    let f = MapFile::new("public.t:\n  a: keep\n  b: hush\n");
    let e = Obfuscator::load(&f.0, KEY).unwrap_err();
    assert!(
        e.starts_with(&format!("{}:3: ", f.0.display())) && e.contains("unknown rule \"hush\""),
        "{e}"
    );
    let missing = std::env::temp_dir().join("skydeck-obfuscate-no-such-map.yaml");
    let e = Obfuscator::load(&missing, KEY).unwrap_err();
    assert!(
        e.contains("no-such-map.yaml") && e.contains("cannot read"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_errors() {
    let src = common::fresh_db("obf_err_src").await;
    let dst = common::fresh_db("obf_err_dst").await;
    let (s, d) = (src.connect().await, dst.connect().await);
    exec(
        &s,
        "create table public.other (id int8 primary key, x text)",
    )
    .await;
    exec(&s, "insert into public.other values (1, 'a')").await;
    // the destination's key is not among the kept columns
    exec(
        &d,
        "create table public.other (id int8, x text primary key)",
    )
    .await;
    let obf = obfuscator();
    let mut spec = CopySpec::new(&src.connstr, &dst.connstr, "public.other", "public.other");
    spec.rewrite = Some(obf.copy_rewrite("public.other").unwrap());
    let e = copy_table(&spec, &CopyProgress::default(), &CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("primary key column(s) x of"), "{e}");
    // nothing kept at all
    exec(
        &d,
        "drop table public.other; create table public.other (x text)",
    )
    .await;
    let e = copy_table(&spec, &CopyProgress::default(), &CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("keeps none of the columns"), "{e}");
}
