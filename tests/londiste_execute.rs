//! Londiste EXECUTE against real databases: scripts run on the root once,
//! travel as EXECUTE events with their attributes, roll back whole on a
//! failing statement, are refused below the root, and are replayed on
//! another node inside the batch transaction with the node's own decision
//! (run / skip / partial-match error) and `@table@` renames.

mod common;

use skydeck::londiste::execute::{
    decide, execute_on_root, replay_execute, Decision, ExecAttrs, ExecError, FileOutcome,
};
use skydeck::pgq::Event;
use tokio_postgres::Client;

/// Run a londiste / pgq_node function returning (ret_code, ret_note) and
/// insist on a 2xx code.
async fn rc(c: &Client, sql: &str) {
    let row = c
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
    let code: i32 = row.get(0);
    let note: Option<String> = row.get(1);
    assert!((200..300).contains(&code), "{sql}: {code} {note:?}");
}

async fn sql(c: &Client, sql: &str) {
    c.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
}

/// A root node of queue `q` with tables t1 and t2 registered, a counter
/// table (not replicated) the scripts write to, and a consumer `reader`
/// that sees what the root puts into the queue.
async fn root(hint: &str) -> (common::TestDb, Client) {
    let db = common::installed_db(hint).await;
    let c = db.connect().await;
    rc(
        &c,
        "select * from pgq_node.register_location('q', 'root1', 'dbname=root1', false)",
    )
    .await;
    rc(
        &c,
        "select * from pgq_node.create_node('q', 'root', 'root1', 'w_root', null, null, null)",
    )
    .await;
    sql(
        &c,
        "create table t1 (id int primary key, v text);
         create table t2 (id int primary key);
         create table counter (file text);
         select pgq.set_queue_config('q', 'ticker_max_count', '1');
         select pgq.set_queue_config('q', 'ticker_max_lag', '0');
         select pgq.set_queue_config('q', 'ticker_idle_period', '0');
         select pgq.register_consumer('q', 'reader');",
    )
    .await;
    rc(&c, "select * from londiste.local_add_table('q', 't1')").await;
    rc(
        &c,
        "select * from londiste.local_add_table('q', 'public.t2')",
    )
    .await;
    (db, c)
}

/// A branch of `q` (provider root1) in its own database: t1 applied into
/// `public.t1_copy`, t2 known but not applied here, t3 applied into a
/// table dropped since, t4 into `public."Mixed"`, sequence s1 applied.
async fn branch(hint: &str) -> (common::TestDb, Client) {
    let db = common::installed_db(hint).await;
    let c = db.connect().await;
    for s in [
        "select * from pgq_node.register_location('q', 'root1', 'dbname=root1', false)",
        "select * from pgq_node.register_location('q', 'br1', 'dbname=br1', false)",
        "select * from pgq_node.create_node('q', 'branch', 'br1', 'w_br', 'root1', 1, null)",
    ] {
        rc(&c, s).await;
    }
    sql(
        &c,
        "create table t1_copy (id int primary key, v text);
         create table t3_dest (id int primary key);
         create table \"Mixed\" (id int primary key);
         create table counter (file text);
         create sequence s1;",
    )
    .await;
    for s in [
        "select * from londiste.global_add_table('q', 'public.t1')",
        "select * from londiste.global_add_table('q', 'public.t2')",
        "select * from londiste.global_add_table('q', 'public.t3')",
        "select * from londiste.global_add_table('q', 'public.t4')",
        "select * from londiste.local_add_table('q', 'public.t1', array['expect_sync'], null, 'public.t1_copy')",
        "select * from londiste.local_add_table('q', 'public.t3', array['expect_sync'], null, 'public.t3_dest')",
        "select * from londiste.local_add_table('q', 'public.t4', array['expect_sync'], null, 'public.Mixed')",
        "select * from londiste.global_update_seq('q', 'public.s1', 100)",
        "select * from londiste.local_add_seq('q', 'public.s1')",
    ] {
        rc(&c, s).await;
    }
    sql(&c, "drop table t3_dest").await;
    (db, c)
}

/// Tick the root's queue and read the reader's next batch (finished).
async fn next_events(c: &Client) -> Vec<Event> {
    sql(c, "select pgq.ticker('q')").await;
    let batch: Option<i64> = c
        .query_one("select pgq.next_batch('q', 'reader')", &[])
        .await
        .unwrap()
        .get(0);
    let Some(batch) = batch else {
        return Vec::new();
    };
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

fn executes(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.ev_type.as_deref() == Some("EXECUTE"))
        .collect()
}

async fn counter(c: &Client) -> Vec<String> {
    c.query("select file from counter order by file", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn applied(c: &Client) -> Vec<String> {
    c.query(
        "select execute_file from londiste.applied_execute order by 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn exists(c: &Client, rel: &str) -> bool {
    c.query_one("select to_regclass($1::text) is not null", &[&rel])
        .await
        .unwrap()
        .get(0)
}

async fn has_column(c: &Client, table: &str, column: &str) -> bool {
    c.query_one(
        "select exists (select 1 from pg_attribute where attrelid = $1::text::regclass \
                          and attname = $2::text and not attisdropped)",
        &[&table, &column],
    )
    .await
    .unwrap()
    .get(0)
}

fn file(name: &str, sql: &str) -> (String, String) {
    (name.to_string(), sql.to_string())
}

const A_SQL: &str = "-- adds a column to t1 wherever t1 is applied\n\
                     --*-- Local-Table: t1\n\
                     alter table @t1@ add column extra text;\n\
                     insert into counter values ('a');\n";

#[tokio::test]
async fn execute_on_root_runs_once_and_queues_the_script() {
    let (_db, mut c) = root("exec_root").await;
    next_events(&c).await; // the add-table events

    // The script writes into a replicated table: in role local the pgq
    // trigger does not log it, the script itself travels.
    let b_sql = "insert into t1 (id, v) values (1, 'from b');\ninsert into counter values ('b');";
    let out = execute_on_root(&mut c, "q", &[file("a.sql", A_SQL), file("b.sql", b_sql)])
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            FileOutcome::Executed {
                file: "a.sql".into(),
                statements: 2
            },
            FileOutcome::Executed {
                file: "b.sql".into(),
                statements: 2
            },
        ]
    );
    assert!(has_column(&c, "public.t1", "extra").await);
    assert_eq!(counter(&c).await, ["a", "b"]);
    let role: String = c
        .query_one("show session_replication_role", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        role, "origin",
        "the role change was local to the transaction"
    );

    let events = next_events(&c).await;
    assert_eq!(
        events.len(),
        2,
        "only the two EXECUTE events, no row events: {events:?}"
    );
    let ex = executes(&events);
    assert_eq!(ex.len(), 2);
    assert_eq!(
        ex[0].ev_data.as_deref(),
        Some(A_SQL),
        "the script as written"
    );
    assert_eq!(ex[0].ev_extra1.as_deref(), Some("a.sql"));
    assert_eq!(ex[0].ev_extra2.as_deref(), Some("local-table=t1"));
    assert_eq!(ex[1].ev_data.as_deref(), Some(b_sql));
    assert_eq!(ex[1].ev_extra1.as_deref(), Some("b.sql"));
    assert_eq!(ex[1].ev_extra2.as_deref(), Some(""));

    // Again, with one new file: the old ones are skipped, nothing twice.
    let out = execute_on_root(
        &mut c,
        "q",
        &[
            file("a.sql", A_SQL),
            file("b.sql", "insert into counter values ('b again');"),
            file("c.sql", "insert into counter values ('c');"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        [
            FileOutcome::AlreadyApplied {
                file: "a.sql".into()
            },
            FileOutcome::AlreadyApplied {
                file: "b.sql".into()
            },
            FileOutcome::Executed {
                file: "c.sql".into(),
                statements: 1
            },
        ]
    );
    assert_eq!(counter(&c).await, ["a", "b", "c"]);
    let events = next_events(&c).await;
    let ex = executes(&events);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].ev_extra1.as_deref(), Some("c.sql"));
    assert_eq!(applied(&c).await, ["a.sql", "b.sql", "c.sql"]);

    // A script about tables the root does not apply is recorded and sent
    // down the cascade without running here.
    let out = execute_on_root(
        &mut c,
        "q",
        &[file(
            "d.sql",
            "--*-- Local-Table: public.elsewhere\ninsert into counter values ('d');",
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        [FileOutcome::Skipped {
            file: "d.sql".into()
        }]
    );
    assert_eq!(counter(&c).await, ["a", "b", "c"]);
    let events = next_events(&c).await;
    assert_eq!(executes(&events).len(), 1);
    assert_eq!(
        executes(&events)[0].ev_extra2.as_deref(),
        Some("local-table=public.elsewhere")
    );
}

#[tokio::test]
async fn failing_statement_rolls_back_every_file() {
    let (_db, mut c) = root("exec_fail").await;
    next_events(&c).await;

    let bad = "create table made_by_bad (id int);\n\n  insert into no_such_table\n    values (1);\nselect 1;";
    let err = execute_on_root(
        &mut c,
        "q",
        &[
            file(
                "ok.sql",
                "create table made_by_ok (id int); insert into counter values ('ok');",
            ),
            file("bad.sql", bad),
        ],
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("\"bad.sql\"")
            && msg.contains("statement 2")
            && msg.contains("line 3")
            && msg.contains("insert into no_such_table")
            && msg.contains("no_such_table\" does not exist")
            && msg.contains("42P01"),
        "{msg}"
    );
    match err {
        ExecError::File { file, cause } => {
            assert_eq!(file, "bad.sql");
            assert!(
                matches!(
                    *cause,
                    ExecError::Statement {
                        number: 2,
                        line: 3,
                        ref first_line,
                        ..
                    } if first_line == "insert into no_such_table"
                ),
                "{cause:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    for rel in ["made_by_ok", "made_by_bad"] {
        assert!(!exists(&c, rel).await, "{rel} rolled back");
    }
    assert!(counter(&c).await.is_empty());
    assert!(applied(&c).await.is_empty());
    assert!(executes(&next_events(&c).await).is_empty());

    // Partly matching attributes fail the whole call as well.
    let err = execute_on_root(
        &mut c,
        "q",
        &[
            file("ok.sql", "create table made_by_ok (id int);"),
            file("half.sql", "--*-- Local-Table: t1, nosuch\nselect 1;"),
        ],
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("half.sql")
            && msg.contains("SQL only partially matches local setup")
            && msg.contains("Local-Table t1")
            && msg.contains("Local-Table nosuch"),
        "{msg}"
    );
    assert!(!exists(&c, "made_by_ok").await);

    // Bad headers, unterminated quotes and COMMIT fail before anything runs.
    for (f, text, want) in [
        (
            "hdr.sql",
            "--*-- Local-Tabel: t1\nselect 1;",
            "unknown attribute \"Local-Tabel\"",
        ),
        (
            "quote.sql",
            "select 1;\nselect 'oops;\n",
            "unterminated string starting on line 2",
        ),
        (
            "commit.sql",
            "create table x (id int);\ncommit;",
            "COMMIT is not allowed",
        ),
    ] {
        let err = execute_on_root(
            &mut c,
            "q",
            &[
                file("ok.sql", "create table made_by_ok (id int);"),
                file(f, text),
            ],
        )
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(f) && msg.contains(want), "{msg}");
        assert!(!exists(&c, "made_by_ok").await);
    }
    assert!(applied(&c).await.is_empty());
    assert!(executes(&next_events(&c).await).is_empty());
}

#[tokio::test]
async fn execute_refused_below_the_root() {
    let (_db, mut c) = branch("exec_notroot").await;
    let err = execute_on_root(
        &mut c,
        "q",
        &[file("a.sql", "create table should_not_exist (id int);")],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ExecError::NotRoot { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("not the root of queue \"q\"") && msg.contains("root node"),
        "{msg}"
    );
    assert!(!exists(&c, "should_not_exist").await);
    assert!(applied(&c).await.is_empty());
}

/// Replay `ev` on `c` in a fresh transaction in role replica, as a worker's
/// batch would; commit when `commit`.
async fn replay(c: &mut Client, ev: &Event, commit: bool) -> Result<FileOutcome, ExecError> {
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("set local session_replication_role = replica")
        .await
        .unwrap();
    let out = replay_execute(&tx, "q", ev).await;
    // Back to replica after the script, and after an error that left the
    // transaction usable (a server error aborts it: nothing to check).
    if let Ok(row) = tx.query_one("show session_replication_role", &[]).await {
        assert_eq!(row.get::<_, String>(0), "replica", "{out:?}");
    }
    if out.is_ok() && commit {
        tx.commit().await.unwrap();
    }
    out
}

#[tokio::test]
async fn replay_on_a_branch() {
    let (_rdb, mut r) = root("exec_replay_root").await;
    let (_bdb, mut b) = branch("exec_replay_branch").await;
    next_events(&r).await;

    let out = execute_on_root(
        &mut r,
        "q",
        &[
            file("a.sql", A_SQL),
            file(
                "b.sql",
                "--*-- Local-Table: public.t2\n\
                 alter table @public.t2@ add column y int;\n\
                 insert into counter values ('b');",
            ),
            file("c.sql", "--*-- Local-Table: t1,\n--*--   t2\nselect 1;"),
            file(
                "d.sql",
                "create table made_by_d (id int);\ninsert into counter values ('d');",
            ),
        ],
    )
    .await
    .unwrap();
    assert!(
        out.iter()
            .all(|o| matches!(o, FileOutcome::Executed { .. })),
        "{out:?}"
    );
    let events = next_events(&r).await;
    let ex = executes(&events);
    assert_eq!(ex.len(), 4);
    let (a, bb, cc, d) = (ex[0], ex[1], ex[2], ex[3]);

    // a: runs once, into the destination table.
    assert_eq!(
        replay(&mut b, a, true).await.unwrap(),
        FileOutcome::Executed {
            file: "a.sql".into(),
            statements: 2
        }
    );
    assert!(has_column(&b, "public.t1_copy", "extra").await);
    assert_eq!(counter(&b).await, ["a"]);
    assert_eq!(
        replay(&mut b, a, true).await.unwrap(),
        FileOutcome::AlreadyApplied {
            file: "a.sql".into()
        }
    );
    assert_eq!(counter(&b).await, ["a"]);

    // b: t2 is not applied here (and does not exist): skipped, recorded.
    assert_eq!(
        replay(&mut b, bb, true).await.unwrap(),
        FileOutcome::Skipped {
            file: "b.sql".into()
        }
    );
    assert_eq!(counter(&b).await, ["a"]);

    // c: t1 is applied here, t2 is not.
    let err = replay(&mut b, cc, true).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("EXECUTE event {}", cc.ev_id))
            && msg.contains("c.sql")
            && msg.contains("SQL only partially matches local setup"),
        "{msg}"
    );
    match err.root_cause() {
        ExecError::PartialMatch { matched, unmatched } => {
            assert_eq!(matched, &["Local-Table t1"]);
            assert_eq!(unmatched, &["Local-Table t2"]);
        }
        other => panic!("{other:?}"),
    }

    // d: the DDL belongs to the batch transaction.
    assert!(matches!(
        replay(&mut b, d, false).await.unwrap(),
        FileOutcome::Executed { statements: 2, .. }
    ));
    assert!(!exists(&b, "made_by_d").await, "rolled back with the batch");
    assert_eq!(applied(&b).await, ["a.sql", "b.sql"]);
    assert!(matches!(
        replay(&mut b, d, true).await.unwrap(),
        FileOutcome::Executed { .. }
    ));
    assert!(exists(&b, "made_by_d").await);
    assert_eq!(counter(&b).await, ["a", "d"]);
    assert_eq!(applied(&b).await, ["a.sql", "b.sql", "d.sql"]);
    // A non-root node does not put EXECUTE events into its queue itself
    // (its worker copies the root's).
    let n: i64 = b
        .query_one(
            "select count(*) from pgq.event_template where ev_type = 'EXECUTE'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no events in the branch's own queue");

    // Not an EXECUTE event.
    let mut wrong = a.clone();
    wrong.ev_type = Some("I:id".into());
    let err = replay(&mut b, &wrong, false).await.unwrap_err();
    assert!(matches!(err, ExecError::BadEvent { .. }), "{err:?}");
}

fn header(sql: &str) -> ExecAttrs {
    ExecAttrs::parse_header(sql).unwrap()
}

#[tokio::test]
async fn decisions_on_a_node() {
    let (_db, c) = branch("exec_decide").await;
    sql(
        &c,
        "create schema s_have;
         create view public.v_have as select 1 as x;
         create function s_have.f_have(a int, b int) returns int language sql as 'select a + b';",
    )
    .await;
    let run = |renames: &[(&str, &str)]| Decision::Run {
        renames: renames
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    };
    let cases: Vec<(&str, Decision)> = vec![
        ("", run(&[])),
        ("--*-- Need-Schema: s_have", run(&[])),
        ("--*-- Need-Schema: s_missing", Decision::Skip),
        ("--*-- Need-Function: s_have.f_have(2)", run(&[])),
        ("--*-- Need-Function: s_have.f_have(1)", Decision::Skip),
        ("--*-- Need-Function: f_have(2)", Decision::Skip),
        ("--*-- Need-View: v_have", run(&[])),
        ("--*-- Need-View: public.t1_copy", Decision::Skip),
        ("--*-- Need-Table: t1_copy, public.Mixed", run(&[])),
        ("--*-- Need-Table: t1", Decision::Skip),
        ("--*-- Need-Sequence: s1", run(&[])),
        ("--*-- Need-Sequence: t1_copy", Decision::Skip),
        ("--*-- Local-Sequence: s1", run(&[("s1", "public.s1")])),
        ("--*-- Local-Sequence: public.s2", Decision::Skip),
        (
            "--*-- Local-Table: t1, public.t4",
            run(&[("t1", "public.t1_copy"), ("public.t4", "public.\"Mixed\"")]),
        ),
        ("--*-- Local-Table: t2", Decision::Skip),
        ("--*-- Local-Table: t3", run(&[("t3", "public.t3_dest")])),
        ("--*-- Local-Destination: t3", Decision::Skip),
        (
            "--*-- Local-Destination: public.t1",
            run(&[("public.t1", "public.t1_copy")]),
        ),
        (
            "--*-- Local-Table: t1\n--*-- Need-Schema: s_have\n--*-- Local-Sequence: s1",
            run(&[("t1", "public.t1_copy"), ("s1", "public.s1")]),
        ),
        (
            "--*-- Local-Table: t2\n--*-- Need-Schema: s_missing",
            Decision::Skip,
        ),
    ];
    for (hdr, want) in cases {
        let got = decide(&c, "q", &header(hdr))
            .await
            .unwrap_or_else(|e| panic!("{hdr}: {e}"));
        assert_eq!(got, want, "{hdr}");
    }

    let err = decide(
        &c,
        "q",
        &header("--*-- Need-Schema: s_have\n--*-- Need-View: nope, v_have"),
    )
    .await
    .unwrap_err();
    match err {
        ExecError::PartialMatch { matched, unmatched } => {
            assert_eq!(matched, ["Need-Schema s_have", "Need-View v_have"]);
            assert_eq!(unmatched, ["Need-View nope"]);
        }
        other => panic!("{other:?}"),
    }

    // decide works inside a transaction too (the replay's case)
    let mut c2 = _db.connect().await;
    let tx = c2.transaction().await.unwrap();
    assert_eq!(
        decide(&tx, "q", &header("--*-- Local-Table: t1"))
            .await
            .unwrap(),
        run(&[("t1", "public.t1_copy")])
    );
}
