//! The `skydeck` binary: install and every `pgq` subcommand, in table and
//! JSON form, and the errors an operator meets (unknown queue, bad
//! setting, dead server, no database given) — clear, with secrets masked.

mod common;

use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn skydeck(args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(args)
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .env_remove("PGPORT")
        .env_remove("PGUSER")
        .output()
        .expect("run skydeck");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> String {
    let o = skydeck(args);
    assert_eq!(
        o.code, 0,
        "skydeck {args:?} failed:\n{}\n{}",
        o.stdout, o.stderr
    );
    o.stdout
}

fn fails(args: &[&str]) -> String {
    let o = skydeck(args);
    assert_eq!(
        o.code, 1,
        "skydeck {args:?} should fail:\n{}\n{}",
        o.stdout, o.stderr
    );
    assert!(o.stderr.starts_with("skydeck: error: "), "{}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    o.stderr
}

#[test]
fn help_lists_the_commands() {
    let h = ok(&["--help"]);
    for cmd in ["install", "pgq", "demo", "bench"] {
        assert!(h.contains(cmd), "{h}");
    }
    let h = ok(&["pgq", "--help"]);
    for cmd in [
        "create-queue",
        "drop-queue",
        "set-config",
        "register",
        "unregister",
        "queues",
        "consumers",
        "insert",
        "tick",
        "retry-maint",
        "rotate",
        "consume",
    ] {
        assert!(h.contains(cmd), "pgq --help lacks {cmd}:\n{h}");
    }
}

#[tokio::test]
async fn install_and_the_pgq_commands() {
    let db = common::fresh_db("cli_pgq").await;
    let cs = db.connstr.as_str();

    assert_eq!(
        ok(&["install", "--db", cs, "pgq"]),
        "pgq: installed (revision 1)\n"
    );
    assert_eq!(
        ok(&["install", "--db", cs, "pgq"]),
        "pgq: already current, re-applied (revision 1)\n"
    );
    let check = ok(&["install", "--db", cs, "--check", "pgq"]);
    assert!(check.contains("skydeck revision 1 (API 3.5.2)"), "{check}");
    assert!(check.contains("current"), "{check}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["install", "--db", cs, "--check", "--json", "pgq"])).unwrap();
    assert_eq!(j[0]["installed"]["state"], "skydeck");

    let q = "orders q";
    assert_eq!(
        ok(&[
            "pgq",
            "--db",
            cs,
            "create-queue",
            q,
            "--set",
            "max_count=1",
            "--set",
            "ticker_max_lag=0",
            "--set",
            "idle_period=0"
        ]),
        "orders q: created\n"
    );
    assert_eq!(
        ok(&["pgq", "--db", cs, "create-queue", q]),
        "orders q: already exists\n"
    );
    assert_eq!(
        ok(&["pgq", "--db", cs, "set-config", q, "rotation_period=0"]),
        "orders q: rotation_period=0\n"
    );
    let queues: serde_json::Value =
        serde_json::from_str(&ok(&["pgq", "--db", cs, "queues", "--json"])).unwrap();
    assert_eq!(queues[0]["queue_name"], q);
    assert_eq!(queues[0]["queue_ticker_max_count"], 1);
    assert_eq!(queues[0]["queue_rotation_period"], 0.0);
    let table = ok(&["pgq", "--db", cs, "queues"]);
    assert!(table.starts_with("queue"), "{table}");
    assert!(table.contains("orders q"), "{table}");

    assert_eq!(
        ok(&["pgq", "--db", cs, "register", q, "watcher"]),
        "orders q/watcher: registered\n"
    );
    assert_eq!(
        ok(&["pgq", "--db", cs, "register", q, "watcher"]),
        "orders q/watcher: already registered\n"
    );
    let id = ok(&[
        "pgq",
        "--db",
        cs,
        "insert",
        q,
        "I:id",
        "id=1&name=a+b",
        "--extra1",
        "public.orders",
    ]);
    assert!(id.trim().parse::<i64>().is_ok(), "{id}");
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "pgq",
        "--db",
        cs,
        "--json",
        "insert",
        q,
        "note",
        "hello world",
    ]))
    .unwrap();
    assert!(j["ev_id"].as_i64().is_some());
    let tick = ok(&["pgq", "--db", cs, "tick", q, "--force"]);
    assert!(tick.starts_with("orders q: tick "), "{tick}");

    let consumers = ok(&["pgq", "--db", cs, "consumers", q]);
    assert!(consumers.contains("watcher"), "{consumers}");
    let out = ok(&[
        "pgq",
        "--db",
        cs,
        "consume",
        q,
        "watcher",
        "--exit-when-idle",
        "--decode",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].ends_with("INSERT public.orders id=1 name=\"a b\""),
        "{out}"
    );
    assert!(
        lines[1].ends_with("type=note data=\"hello world\""),
        "{out}"
    );
    // Finished: nothing more.
    assert_eq!(
        ok(&[
            "pgq",
            "--db",
            cs,
            "consume",
            q,
            "watcher",
            "--exit-when-idle"
        ]),
        ""
    );

    ok(&["pgq", "--db", cs, "insert", q, "t", "again"]);
    ok(&["pgq", "--db", cs, "tick", q]);
    let out = ok(&[
        "pgq",
        "--db",
        cs,
        "--json",
        "consume",
        q,
        "watcher",
        "--exit-when-idle",
        "--batches",
        "1",
    ]);
    let ev: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(ev["event"]["ev_data"], "again");
    assert!(ev["batch_id"].as_i64().is_some());

    assert_eq!(
        ok(&["pgq", "--db", cs, "retry-maint"]),
        "moved 0 retry event(s) back into their queues\n"
    );
    let rot = ok(&["pgq", "--db", cs, "rotate", q]);
    assert!(rot.contains("orders q"), "{rot}");
    let ticked = ok(&["pgq", "--db", cs, "tick"]);
    assert!(ticked.starts_with("ticked "), "{ticked}");

    let e = fails(&["pgq", "--db", cs, "drop-queue", q]);
    assert!(
        e.contains("cannot drop queue, consumers still attached"),
        "{e}"
    );
    assert_eq!(
        ok(&["pgq", "--db", cs, "unregister", q, "watcher"]),
        "orders q/watcher: unregistered\n"
    );
    assert_eq!(
        ok(&["pgq", "--db", cs, "drop-queue", q]),
        "orders q: dropped\n"
    );
    assert_eq!(ok(&["pgq", "--db", cs, "queues"]), "(no queues)\n");
}

#[tokio::test]
async fn operator_errors_are_clear() {
    let db = common::fresh_db("cli_errors").await;
    let cs = db.connstr.as_str();
    ok(&["install", "--db", cs]);

    let e = fails(&["pgq", "--db", cs, "queues", "ghost"]);
    assert!(e.contains("no such queue: \"ghost\""), "{e}");
    let e = fails(&[
        "pgq",
        "--db",
        cs,
        "consume",
        "ghost",
        "c",
        "--exit-when-idle",
    ]);
    assert!(e.contains("no such queue: \"ghost\""), "{e}");
    ok(&["pgq", "--db", cs, "create-queue", "q"]);
    let e = fails(&[
        "pgq",
        "--db",
        cs,
        "consume",
        "q",
        "nobody",
        "--exit-when-idle",
    ]);
    assert!(e.contains("not registered on queue \"q\""), "{e}");
    assert!(e.contains("--register"), "{e}");
    let e = fails(&["pgq", "--db", cs, "set-config", "q", "speed=11"]);
    assert!(e.contains("unknown queue setting \"speed\""), "{e}");
    let e = fails(&[
        "pgq",
        "--db",
        cs,
        "set-config",
        "q",
        "ticker_max_lag=banana",
    ]);
    assert!(e.contains("invalid input syntax for type interval"), "{e}");
    let e = fails(&[
        "pgq",
        "--db",
        cs,
        "consume",
        "q",
        "c",
        "--register",
        "--loop-delay",
        "soon",
    ]);
    assert!(e.contains("bad duration \"soon\""), "{e}");
    let e = fails(&["pgq", "--db", cs, "insert", "ghost", "t", "d"]);
    assert!(e.contains("insert event into queue \"ghost\""), "{e}");

    // A dead server: the error names it, masks the password.
    let dead = "host=127.0.0.1 port=1 user=x password=hunter2 dbname=x connect_timeout=2";
    let e = fails(&["pgq", "--db", dead, "queues"]);
    assert!(
        e.contains("cannot connect to host=127.0.0.1 port=1 user=x password=*** dbname=x"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let e = fails(&[
        "install",
        "--db",
        "postgresql://bob:hunter2@127.0.0.1:1/db?connect_timeout=2",
    ]);
    assert!(e.contains("postgresql://bob:***@127.0.0.1:1/db"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = fails(&["pgq", "--db", "host=h password='unterminated", "queues"]);
    assert!(e.contains("bad connection string"), "{e}");
    assert!(!e.contains("unterminated"), "{e}");

    let e = fails(&["pgq", "queues"]);
    assert!(e.contains("no database given: use --db CONNSTR"), "{e}");
}

#[test]
fn headless_demo_runs_and_cleans_up() {
    let o = skydeck(&["demo", "--headless", "--seconds", "4", "--rate", "40"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    // Every consumer saw events, none undecodable; every worker is alive.
    for consumer in ["replica", "auditor", "mailer"] {
        let line = o
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(consumer) && l.contains("events="))
            .unwrap_or_else(|| panic!("no worker line for {consumer}:\n{}", o.stdout));
        assert!(!line.contains("events=0 "), "{line}");
        assert!(line.contains("undecodable=0"), "{line}");
    }
    assert!(o.stdout.contains("ticker"), "{}", o.stdout);
    assert!(
        !o.stdout.contains("failed") && !o.stdout.contains("backoff"),
        "{}",
        o.stdout
    );
    // The cluster the demo printed is gone.
    let dir = o
        .stderr
        .split("host=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("demo printed its connection string");
    assert!(
        !std::path::Path::new(dir).exists(),
        "demo left {dir} behind"
    );
    assert!(
        o.stderr.contains("stopping and removing the cluster"),
        "{}",
        o.stderr
    );
}
