//! Every add-table option of spec §5.3 through the binary, as an operator
//! types it, each checked by its effect in the database (trigger
//! definitions, `londiste.table_info`, rows copied or not); the errors an
//! operator meets; and compare/repair of several tables in parallel,
//! including a table whose root lock is held elsewhere (lock_timeout).
//!
//! The tests share the binary's cluster (separate databases, queues and
//! job files); each runs alone as well. Workers and the CLI are the real
//! binary; a ticker runs in the test process for the roots.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use skydeck::db::quote_fqname;
use skydeck::londiste::sql::TableAttrs;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

/// A scratch directory (job files, worker logs, fix files), removed at the
/// end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("skydeck-lopt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    /// A job file for a Londiste node of `queue` on `connstr`.
    fn job(&self, name: &str, connstr: &str, queue: &str, extra: &str) -> String {
        let p = self.0.join(format!("{name}.ini"));
        std::fs::write(
            &p,
            format!(
                "[londiste]\njob_name = {name}_worker\ndb = {connstr}\nqueue_name = {queue}\n\
                 loop_delay = 0.2\nparallel_copies = 4\n{extra}"
            ),
        )
        .unwrap();
        p.to_str().unwrap().to_string()
    }

    /// `skydeck ARGS` run in this directory: exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .args(args)
            .current_dir(&self.0)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// `skydeck ARGS`, which must succeed: stdout and stderr.
    fn ok(&self, args: &[&str]) -> (String, String) {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "skydeck {args:?}:\n{out}\n{err}");
        (out, err)
    }

    /// `skydeck ARGS`, which must fail: its exit code and stderr.
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let (code, out, err) = self.run(args);
        assert_ne!(code, 0, "skydeck {args:?} succeeded:\n{out}\n{err}");
        (code, err)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Worker processes (`londiste JOB worker`), killed when dropped; their
/// output goes to one log, shown when a wait fails.
struct Workers {
    kids: Vec<Child>,
    log: PathBuf,
}

impl Workers {
    fn new(dir: &Scratch) -> Workers {
        Workers {
            kids: Vec::new(),
            log: dir.0.join("workers.log"),
        }
    }

    fn start(&mut self, ini: &str) {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let kid = Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .args(["londiste", ini, "worker"])
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        self.kids.push(kid);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for k in &mut self.kids {
            let _ = k.kill();
            let _ = k.wait();
        }
    }
}

/// The in-process ticker for some databases, stopped when dropped.
struct Ticker(CancellationToken);

impl Ticker {
    fn start(dbs: &[&str]) -> Ticker {
        let stop = CancellationToken::new();
        common::ticker_for(common::cluster(), dbs, &stop);
        Ticker(stop)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A database of the shared cluster with a connection.
struct Db {
    name: String,
    connstr: String,
    c: Client,
}

async fn db(hint: &str, ddl: &str) -> Db {
    let d = common::fresh_db(hint).await;
    let c = d.connect().await;
    if !ddl.is_empty() {
        c.batch_execute(ddl)
            .await
            .unwrap_or_else(|e| panic!("{hint}: {}", skydeck::db::describe(&e)));
    }
    Db {
        name: d.name,
        connstr: d.connstr,
        c,
    }
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("select count(*) from {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count {table}: {}", skydeck::db::describe(&e)))
        .get(0)
}

/// `londiste.table_info` of one table: local, merge_state, table_attrs,
/// dest_table (None when the table is not registered).
type Info = (bool, Option<String>, Option<String>, Option<String>);

async fn info(c: &Client, queue: &str, table: &str) -> Option<Info> {
    c.query_opt(
        "select local, merge_state, table_attrs, dest_table from londiste.table_info \
          where queue_name = $1 and table_name = $2",
        &[&queue, &table],
    )
    .await
    .unwrap()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
}

/// The decoded `table_attrs` of one table.
async fn attrs(c: &Client, queue: &str, table: &str) -> TableAttrs {
    let raw = info(c, queue, table).await.and_then(|i| i.2);
    TableAttrs::parse(raw.as_deref()).unwrap()
}

/// The definitions of the non-internal triggers on `table` (quoted name).
async fn triggers(c: &Client, table: &str) -> Vec<String> {
    c.query(
        "select pg_get_triggerdef(oid) from pg_trigger \
          where tgrelid = $1::text::regclass and not tgisinternal order by tgname",
        &[&table],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.get(0))
    .collect()
}

async fn wait_until(c: &Client, what: &str, sql: &str, log: &dyn Fn() -> String) {
    let t0 = Instant::now();
    loop {
        let done: bool = c.query_one(sql, &[]).await.unwrap().get(0);
        if done {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "timed out: {what}\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Have the root tick after its last writes, then wait until each node
/// (job file) has applied that tick.
async fn settle(dir: &Scratch, root: &Client, queue: &str, nodes: &[&str]) {
    let top = "select coalesce(max(t.tick_id), 0) from pgq.tick t \
                 join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1";
    let last: i64 = root
        .query_one("select pgq.force_tick($1)", &[&queue])
        .await
        .unwrap()
        .get(0);
    let t0 = Instant::now();
    while root
        .query_one(top, &[&queue])
        .await
        .unwrap()
        .get::<_, i64>(0)
        <= last
    {
        assert!(t0.elapsed() < Duration::from_secs(30), "no tick on {queue}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for n in nodes {
        dir.ok(&["londiste", n, "wait-root"]);
    }
}

/// The options that act on the root: globs, --all, --trigger-flags,
/// --trigger-arg, --no-triggers; and the errors of add-table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_side_options_and_errors() {
    let root = db(
        "lo_root",
        "create table g_one (id int primary key, v text);
         create table g_two (id int primary key, v text);
         create table flags (id int primary key, v text);
         create table args (id int primary key, v text, secret text);
         create table bare (id int primary key, v text);
         create table rest_a (id int primary key);
         create table rest_b (id int primary key);",
    )
    .await;
    let dir = Scratch::new("root");
    let ini = dir.job("lo_root", &root.connstr, "oq", "");
    let ini = ini.as_str();
    dir.ok(&["londiste", ini, "create-root", "lo_root", &root.connstr]);
    let c = &root.c;

    // A glob adds exactly the tables it matches.
    let (_, err) = dir.ok(&["londiste", ini, "add-table", "g_*"]);
    assert!(
        err.contains("public.g_one") && err.contains("public.g_two"),
        "{err}"
    );
    for t in ["public.g_one", "public.g_two"] {
        assert_eq!(info(c, "oq", t).await.map(|i| i.0), Some(true), "{t}");
        assert_eq!(
            info(c, "oq", t).await.and_then(|i| i.1).as_deref(),
            Some("ok")
        );
    }
    assert_eq!(info(c, "oq", "public.flags").await, None);
    let defs = triggers(c, "g_one").await;
    assert!(
        defs.iter()
            .any(|d| d.contains("AFTER INSERT OR DELETE OR UPDATE")
                && d.contains("pgq.logutriga('oq')")),
        "{defs:?}"
    );
    assert!(
        defs.iter().any(|d| d.contains("_londiste_oq_truncate")),
        "{defs:?}"
    );

    // --trigger-flags: BEFORE, INSERT only, sqltriga.
    dir.ok(&["londiste", ini, "add-table", "flags", "--trigger-flags=BIQ"]);
    let defs = triggers(c, "flags").await;
    assert!(
        defs.iter().any(
            |d| d.contains("BEFORE INSERT ON public.flags") && d.contains("pgq.sqltriga('oq')")
        ),
        "{defs:?}"
    );

    // --trigger-arg: passed to the trigger, and the trigger obeys it.
    dir.ok(&[
        "londiste",
        ini,
        "add-table",
        "args",
        "--trigger-arg=ignore=secret",
        "--trigger-arg=backup",
    ]);
    let defs = triggers(c, "args").await;
    assert!(
        defs.iter()
            .any(|d| d.contains("pgq.logutriga('oq', 'ignore=secret', 'backup')")),
        "{defs:?}"
    );
    c.batch_execute("insert into args values (1, 'seen', 'hidden'); update args set v = 'again'")
        .await
        .unwrap();
    let pfx: String = c
        .query_one(
            "select queue_data_pfx from pgq.queue where queue_name = 'oq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let evs: Vec<(String, Option<String>, Option<String>)> = c
        .query(
            &format!(
                "select ev_type, ev_data, ev_extra2 from {} where ev_extra1 = 'public.args' order by ev_id",
                quote_fqname(&pfx)
            ),
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(
        evs.iter()
            .all(|(_, d, _)| !d.as_deref().unwrap_or("").contains("secret")),
        "ignore=secret: {evs:?}"
    );
    // backup: an update carries the old row in ev_extra2.
    assert!(
        evs[1].2.as_deref().is_some_and(|o| o.contains("v=seen")),
        "backup: {evs:?}"
    );

    // --no-triggers: registered, no trigger on the table.
    dir.ok(&["londiste", ini, "add-table", "bare", "--no-triggers"]);
    assert_eq!(info(c, "oq", "public.bare").await.map(|i| i.0), Some(true));
    assert_eq!(triggers(c, "bare").await, Vec::<String>::new());

    // --all: every table still missing.
    let (out, _) = dir.ok(&["londiste", ini, "missing"]);
    assert!(
        out.contains("public.rest_a") && out.contains("public.rest_b"),
        "{out}"
    );
    dir.ok(&["londiste", ini, "add-table", "--all"]);
    for t in ["public.rest_a", "public.rest_b"] {
        assert_eq!(info(c, "oq", t).await.map(|i| i.0), Some(true), "{t}");
    }
    let (out, _) = dir.ok(&["londiste", ini, "missing"]);
    assert!(!out.contains("public."), "{out}");

    // Errors an operator meets.
    let (code, err) = dir.fails(&["londiste", ini, "add-table", "nosuch"]);
    assert_eq!(code, 1);
    assert!(err.contains("table public.nosuch not found"), "{err}");
    let (code, err) = dir.fails(&["londiste", ini, "add-table", "nomatch_*"]);
    assert_eq!(code, 1);
    assert!(err.contains("public.nomatch_*: no table matches"), "{err}");
    let (code, err) = dir.fails(&["londiste", ini, "add-table"]);
    assert_eq!(code, 1);
    assert!(err.contains("name the tables to add"), "{err}");
    let (code, err) = dir.fails(&[
        "londiste",
        ini,
        "add-table",
        "g_one",
        "--max-parallel-copy=many",
    ]);
    assert_eq!(code, 2, "a bad option value is a usage error");
    assert!(
        err.contains("invalid value 'many'") && err.contains("--max-parallel-copy"),
        "{err}"
    );
    let (code, err) = dir.fails(&["londiste", ini, "add-table", "g_one", "--no-such-option"]);
    assert_eq!(code, 2);
    assert!(err.contains("--no-such-option"), "{err}");
    let (_, err) = dir.fails(&[
        "londiste",
        ini,
        "add-table",
        "g_one",
        "g_two",
        "--dest-table=x",
    ]);
    assert!(
        err.contains("--dest-table needs exactly one table"),
        "{err}"
    );
    let (_, err) = dir.fails(&[
        "londiste",
        ini,
        "add-table",
        "g_one",
        "--merge-all",
        "--no-merge",
    ]);
    assert!(
        err.contains("--merge-all and --no-merge exclude each other"),
        "{err}"
    );
}

const HOSTILE_SCHEMA: &str = "Sch ü \"x\"";
const HOSTILE_TABLE: &str = "Tab 'q' \"Ä\" x";

fn hostile() -> String {
    format!("{HOSTILE_SCHEMA}.{HOSTILE_TABLE}")
}

/// The options that act on a replica: --create, --create-full (a hostile
/// name and a serial column), --dest-table, --expect-sync, --skip-truncate,
/// --copy-node, --find-copy-node, --max-parallel-copy, --skip-non-existing,
/// --wait-sync, --handler=londiste --handler-arg=ignore_truncate=1; on a
/// root → branch → leaf cascade with workers running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_side_options() {
    let h = quote_fqname(&hostile());
    let root = db(
        "lr_root",
        &format!(
            "create table plain (id int primary key, v text not null default 'd' check (v <> ''));
             create index plain_v on plain (v);
             insert into plain select i, 'p' || i from generate_series(1, 50) i;
             create schema {schema};
             create table {h} (
                 \"Id\" serial primary key,
                 \"Mixed Case\" text not null default 'dflt',
                 n int check (n >= 0),
                 \"ü\" text
             );
             create unique index \"Uniq ü\" on {h} (n);
             insert into {h} (n, \"ü\") select i, 'ü ' || i from generate_series(1, 20) i;
             create table exp (id int primary key, v text);
             insert into exp select i, 'e' from generate_series(1, 5) i;
             create table skipt (id int primary key, v text);
             insert into skipt select i, 's' from generate_series(1, 10) i;
             create table renamed (id int primary key, v text);
             insert into renamed values (1, 'a'), (2, 'b');
             create table th (id int primary key, v text);
             insert into th select i, 'h' from generate_series(1, 10) i;
             create table mpc (id int primary key);
             insert into mpc select generate_series(1, 7);
             create table fc1 (id int primary key, v text);
             insert into fc1 select i, 'f' from generate_series(1, 30) i;
             create table fc2 (id int primary key, v text);
             insert into fc2 select i, 'g' from generate_series(1, 40) i;
             create table sk_nolocal (id int primary key);
             create table sk_notonbranch (id int primary key);",
            schema = skydeck::db::quote_ident(HOSTILE_SCHEMA)
        ),
    )
    .await;
    let branch = db(
        "lr_branch",
        "create table exp (id int primary key, v text);
         create table skipt (id int primary key, v text);
         insert into skipt values (999, 'kept here');
         create table renamed_here (id int primary key, v text);
         create table sk_nolocal (id int primary key);",
    )
    .await;
    let leaf = db(
        "lr_leaf",
        "create table plain (id int primary key, v text);
         create table fc1 (id int primary key, v text);
         create table fc2 (id int primary key, v text);",
    )
    .await;
    let dir = Scratch::new("replica");
    let jr = dir.job("lr_root", &root.connstr, "rq", "");
    let jb = dir.job("lr_branch", &branch.connstr, "rq", "");
    let jl = dir.job("lr_leaf", &leaf.connstr, "rq", "");
    let (jr, jb, jl) = (jr.as_str(), jb.as_str(), jl.as_str());
    dir.ok(&["londiste", jr, "create-root", "lr_root", &root.connstr]);
    dir.ok(&[
        "londiste",
        jb,
        "create-branch",
        "lr_branch",
        &branch.connstr,
        "--provider",
        &root.connstr,
    ]);
    dir.ok(&[
        "londiste",
        jl,
        "create-leaf",
        "lr_leaf",
        &leaf.connstr,
        "--provider",
        &branch.connstr,
    ]);
    let _ticker = Ticker::start(&[&root.name]);
    let mut w = Workers::new(&dir);
    for j in [jr, jb, jl] {
        w.start(j);
    }
    dir.ok(&["londiste", jr, "add-table", "--all"]);
    let (b, l) = (&branch.c, &leaf.c);

    // --create-full --wait-sync: the hostile table with everything, and its
    // rows, as soon as the command returns.
    let hn = hostile();
    dir.ok(&[
        "londiste",
        jb,
        "add-table",
        &hn,
        "--create-full",
        "--wait-sync",
    ]);
    assert_eq!(
        info(b, "rq", &hn).await.and_then(|i| i.1).as_deref(),
        Some("ok")
    );
    assert_eq!(count(b, &h).await, 20);
    // The serial column's sequence, in the hostile schema, behind the
    // column's default.
    let seqs: i64 = b
        .query_one(
            "select count(*) from pg_class where relkind = 'S' and relnamespace = $1::text::regnamespace",
            &[&skydeck::db::quote_ident(HOSTILE_SCHEMA)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seqs, 1, "the serial column's sequence");
    let owner: Option<String> = b
        .query_one("select pg_get_serial_sequence($1, 'Id')", &[&h])
        .await
        .unwrap()
        .get(0);
    assert!(
        owner.is_some(),
        "the sequence belongs to the column as a serial's does"
    );
    let defaults: Vec<String> = b
        .query(
            "select pg_get_expr(adbin, adrelid) from pg_attrdef where adrelid = $1::text::regclass order by adnum",
            &[&h],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        defaults.len() == 2 && defaults[0].starts_with("nextval(") && defaults[1] == "'dflt'::text",
        "{defaults:?}"
    );
    let cons: Vec<String> = b
        .query(
            "select contype::text from pg_constraint where conrelid = $1::text::regclass order by 1",
            &[&h],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(cons, ["c", "p"], "check and primary key");
    let idx: Vec<String> = b
        .query(
            "select indexrelid::regclass::text from pg_index where indrelid = $1::text::regclass order by 1",
            &[&h],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert!(idx.iter().any(|i| i.contains("Uniq ü")), "{idx:?}");

    // --create: table and primary key only.
    dir.ok(&["londiste", jb, "add-table", "plain", "--create"]);
    // --expect-sync: ok at once, nothing copied.
    dir.ok(&["londiste", jb, "add-table", "exp", "--expect-sync"]);
    assert_eq!(
        info(b, "rq", "public.exp")
            .await
            .and_then(|i| i.1)
            .as_deref(),
        Some("ok")
    );
    // --skip-truncate: the copy keeps the rows the table had.
    dir.ok(&["londiste", jb, "add-table", "skipt", "--skip-truncate"]);
    let st = info(b, "rq", "public.skipt").await.unwrap();
    assert_eq!(st.2.as_deref(), Some("skip_truncate=1"), "{st:?}");
    // --dest-table: into another local table.
    dir.ok(&[
        "londiste",
        jb,
        "add-table",
        "renamed",
        "--dest-table=renamed_here",
    ]);
    assert_eq!(
        info(b, "rq", "public.renamed")
            .await
            .and_then(|i| i.3)
            .as_deref(),
        Some("public.renamed_here")
    );
    // The dest table's trigger keeps the global name in the events.
    let defs = triggers(b, "renamed_here").await;
    assert!(
        defs.iter()
            .any(|d| d.contains("'ev_extra1=''public.renamed''')")),
        "{defs:?}"
    );
    // --handler=londiste --handler-arg=ignore_truncate=1.
    dir.ok(&[
        "londiste",
        jb,
        "add-table",
        "th",
        "--create",
        "--handler=londiste",
        "--handler-arg=ignore_truncate=1",
    ]);
    assert_eq!(
        attrs(b, "rq", "public.th").await.handler(),
        Some("londiste(ignore_truncate=1)")
    );
    // --max-parallel-copy: stored for the copy.
    dir.ok(&[
        "londiste",
        jb,
        "add-table",
        "mpc",
        "--create",
        "--max-parallel-copy=2",
    ]);
    assert_eq!(
        attrs(b, "rq", "public.mpc").await.max_parallel_copy(),
        Some(2)
    );
    dir.ok(&["londiste", jb, "add-table", "sk_nolocal"]);
    dir.ok(&["londiste", jb, "wait-sync"]);

    assert_eq!(count(b, "plain").await, 50);
    let (ncons, nidx): (i64, i64) = {
        let r = b
            .query_one(
                "select (select count(*) from pg_constraint where conrelid = 'plain'::regclass), \
                        (select count(*) from pg_index where indrelid = 'plain'::regclass)",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((ncons, nidx), (1, 1), "--create: the primary key only");
    let dflt: i64 = b
        .query_one(
            "select count(*) from pg_attrdef where adrelid = 'plain'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dflt, 0, "--create: no defaults");
    assert_eq!(count(b, "exp").await, 0, "--expect-sync copied rows");
    assert_eq!(count(b, "skipt").await, 11, "--skip-truncate");
    assert_eq!(count(b, "skipt where id = 999").await, 1);
    assert_eq!(count(b, "renamed_here").await, 2);
    assert_eq!(count(b, "th").await, 10);
    assert_eq!(count(b, "mpc").await, 7);

    // Leaf: --copy-node and --find-copy-node copy from the root, past the
    // branch that does not replicate those tables; --skip-non-existing
    // skips what the leaf lacks or the branch does not replicate.
    dir.ok(&["londiste", jl, "add-table", "fc1", "--copy-node=lr_root"]);
    assert_eq!(
        attrs(l, "rq", "public.fc1").await.copy_node(),
        Some("lr_root")
    );
    dir.ok(&["londiste", jl, "add-table", "fc2", "--find-copy-node"]);
    assert_eq!(attrs(l, "rq", "public.fc2").await.copy_node(), Some("?"));
    let (code, _) = dir.fails(&["londiste", jl, "add-table", "sk_notonbranch"]);
    assert_eq!(code, 1);
    let (_, err) = dir.ok(&[
        "londiste",
        jl,
        "add-table",
        "plain",
        "sk_nolocal",
        "sk_notonbranch",
        "--skip-non-existing",
    ]);
    assert!(err.contains("skipping public.sk_notonbranch"), "{err}");
    assert!(err.contains("skipping public.sk_nolocal"), "{err}");
    assert_eq!(info(l, "rq", "public.plain").await.map(|i| i.0), Some(true));
    for t in ["public.sk_nolocal", "public.sk_notonbranch"] {
        assert_eq!(info(l, "rq", t).await.map(|i| i.0), Some(false), "{t}");
    }
    dir.ok(&["londiste", jl, "wait-sync"]);
    assert_eq!(count(l, "fc1").await, 30);
    assert_eq!(count(l, "fc2").await, 40);
    assert_eq!(count(l, "plain").await, 50);
    // The branch has no such tables at all: the rows came from the root.
    let on_branch: i64 = b
        .query_one(
            "select count(*) from pg_class where relname in ('fc1', 'fc2')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(on_branch, 0);

    // Replay after the copies: the options keep acting.
    let rc = &root.c;
    rc.batch_execute(&format!(
        "insert into {h} (n, \"ü\") values (100, 'new');
         insert into exp values (100, 'after');
         update renamed set v = 'changed' where id = 1;
         truncate th; insert into th values (100, 'after truncate');
         truncate plain;
         insert into fc1 values (100, 'new'); insert into fc2 values (100, 'new');"
    ))
    .await
    .unwrap();
    settle(&dir, rc, "rq", &[jb, jl]).await;
    assert_eq!(count(b, &h).await, 21);
    assert_eq!(
        count(b, &format!("{h} where n = 100 and \"Mixed Case\" = 'dflt'")).await,
        1
    );
    assert_eq!(count(b, "exp").await, 1, "--expect-sync: replay only");
    assert_eq!(count(b, "renamed_here where v = 'changed'").await, 1);
    assert_eq!(count(b, "th").await, 11, "ignore_truncate=1 kept the rows");
    assert_eq!(
        count(b, "plain").await,
        0,
        "a truncate without the handler arg"
    );
    assert_eq!(count(l, "plain").await, 0);
    assert_eq!(count(l, "fc1").await, 31);
    assert_eq!(count(l, "fc2").await, 41);

    // compare on the leaf: plain against the branch (whose worker must
    // apply the forced tick too), fc1 and fc2 against the root, past the
    // branch that lacks them.
    let (out, err) = dir.ok(&["londiste", jl, "compare"]);
    assert!(out.contains("3 table(s): 3 equal"), "{out}\n{err}");
    for t in ["fc1", "fc2"] {
        assert!(
            err.contains(&format!(
                "public.{t}: reading from lr_root (not replicated on lr_branch)"
            )),
            "{err}"
        );
    }
    assert!(
        err.contains("public.plain: lr_branch has applied tick"),
        "{err}"
    );
    // On the branch the options show: tables in sync by --expect-sync,
    // --skip-truncate and ignore_truncate=1 differ from the root; the exit
    // code counts them.
    let (code, out, err) = dir.run(&["londiste", jb, "compare"]);
    assert_eq!(code, 3, "{out}\n{err}");
    let result = |t: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{t} ")))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("{t} not in:\n{out}"))
    };
    for t in ["public.exp", "public.skipt", "public.th"] {
        assert_eq!(result(t), "DIFFERENT", "{out}");
    }
    for t in [hn.as_str(), "public.plain", "public.renamed", "public.mpc"] {
        assert_eq!(result(t), "equal", "{out}");
    }
    // repair of the hostile table: quoted names and values in the fix.
    b.batch_execute(&format!(
        "begin; set local session_replication_role = replica;
         update {h} set \"ü\" = 'it''s \"damaged\"' where n = 3;
         delete from {h} where n = 4;
         commit;"
    ))
    .await
    .unwrap();
    let (code, _, _) = dir.run(&["londiste", jb, "compare", &hn]);
    assert_eq!(code, 1);
    let (out, _) = dir.ok(&["londiste", jb, "repair", &hn, "--apply"]);
    assert!(out.contains("applied"), "{out}");
    dir.ok(&["londiste", jb, "compare", &hn]);
    drop(w);
}

/// --merge-all and --no-merge: one leaf database under two root queues
/// that bring the same table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_options() {
    let part = |lo: i32| {
        format!(
            "create table merged (id int primary key, v text);
             insert into merged select i, 'part' from generate_series({lo}, {}) i;",
            lo + 49
        )
    };
    let ra = db("lm_ra", &part(1)).await;
    let rb = db("lm_rb", &part(51)).await;
    let leaf = db(
        "lm_leaf",
        "create table merged (id int primary key, v text);",
    )
    .await;
    let dir = Scratch::new("merge");
    let jra = dir.job("lm_ra", &ra.connstr, "ma", "");
    let jrb = dir.job("lm_rb", &rb.connstr, "mb", "");
    let jla = dir.job("lm_la", &leaf.connstr, "ma", "");
    let jlb = dir.job("lm_lb", &leaf.connstr, "mb", "");
    let (jra, jrb, jla, jlb) = (jra.as_str(), jrb.as_str(), jla.as_str(), jlb.as_str());
    dir.ok(&["londiste", jra, "create-root", "lm_ra", &ra.connstr]);
    dir.ok(&["londiste", jrb, "create-root", "lm_rb", &rb.connstr]);
    for (j, name, prov) in [(jla, "lm_la", &ra.connstr), (jlb, "lm_lb", &rb.connstr)] {
        dir.ok(&[
            "londiste",
            j,
            "create-leaf",
            name,
            &leaf.connstr,
            "--provider",
            prov,
        ]);
    }
    let _ticker = Ticker::start(&[&ra.name, &rb.name]);
    let mut w = Workers::new(&dir);
    for j in [jla, jlb] {
        w.start(j);
    }
    dir.ok(&["londiste", jra, "add-table", "merged"]);
    dir.ok(&["londiste", jrb, "add-table", "merged"]);
    let l = &leaf.c;
    // Both queues know the table here (the leaves' workers follow the
    // roots' add-table events).
    let log = || w.log();
    wait_until(
        l,
        "merged registered from both queues",
        "select count(*) = 2 from londiste.table_info where table_name = 'public.merged'",
        &log,
    )
    .await;

    // Two sources for one table: the operator must choose.
    let (code, err) = dir.fails(&["londiste", jla, "add-table", "merged"]);
    assert_eq!(code, 1);
    assert!(err.contains("use merge-all or no-merge"), "{err}");
    assert_eq!(
        info(l, "ma", "public.merged").await.map(|i| i.0),
        Some(false)
    );

    // --no-merge: this queue only.
    dir.ok(&[
        "londiste",
        jla,
        "add-table",
        "merged",
        "--no-merge",
        "--wait-sync",
    ]);
    assert_eq!(
        info(l, "ma", "public.merged").await.map(|i| i.0),
        Some(true)
    );
    assert_eq!(
        info(l, "mb", "public.merged").await.map(|i| i.0),
        Some(false)
    );
    assert_eq!(count(l, "merged").await, 50);
    assert_eq!(count(l, "merged where id > 50").await, 0);

    // --merge-all: local in both queues at once, rows from both parts.
    dir.ok(&["londiste", jla, "remove-table", "merged"]);
    l.batch_execute("truncate merged").await.unwrap();
    dir.ok(&[
        "londiste",
        jla,
        "add-table",
        "merged",
        "--merge-all",
        "--skip-truncate",
    ]);
    for q in ["ma", "mb"] {
        let i = info(l, q, "public.merged").await.unwrap();
        assert!(i.0, "not local in {q}: {i:?}");
        assert_eq!(i.2.as_deref(), Some("skip_truncate=1"), "{q}: {i:?}");
    }
    dir.ok(&["londiste", jla, "wait-sync"]);
    dir.ok(&["londiste", jlb, "wait-sync"]);
    assert_eq!(count(l, "merged").await, 100, "{}", w.log());
    ra.c.batch_execute("insert into merged values (1000, 'a')")
        .await
        .unwrap();
    rb.c.batch_execute("insert into merged values (2000, 'b')")
        .await
        .unwrap();
    settle(&dir, &ra.c, "ma", &[jla]).await;
    settle(&dir, &rb.c, "mb", &[jlb]).await;
    assert_eq!(count(l, "merged").await, 102);
    drop(w);
}

/// compare and repair over several tables at once, one of them damaged;
/// then a table whose root lock is held elsewhere fails after lock_timeout
/// while the others are compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_compare_repair_and_lock_timeout() {
    let mut ddl = String::new();
    for t in ["c1", "c2", "c3", "c4"] {
        ddl.push_str(&format!(
            "create table {t} (id int primary key, v text, n numeric);
             insert into {t} select i, md5('{t}' || i), i / 7.0 from generate_series(1, 2000) i;"
        ));
    }
    let root = db("lc_root", &ddl).await;
    let leaf = db("lc_leaf", "").await;
    let dir = Scratch::new("compare");
    let jr = dir.job("lc_root", &root.connstr, "cq", "");
    let jl = dir.job("lc_leaf", &leaf.connstr, "cq", "lock_timeout = 3\n");
    let (jr, jl) = (jr.as_str(), jl.as_str());
    dir.ok(&["londiste", jr, "create-root", "lc_root", &root.connstr]);
    dir.ok(&[
        "londiste",
        jl,
        "create-leaf",
        "lc_leaf",
        &leaf.connstr,
        "--provider",
        &root.connstr,
    ]);
    let _ticker = Ticker::start(&[&root.name]);
    let mut w = Workers::new(&dir);
    w.start(jr);
    w.start(jl);
    dir.ok(&["londiste", jr, "add-table", "--all"]);
    dir.ok(&[
        "londiste",
        jl,
        "add-table",
        "--all",
        "--create",
        "--wait-sync",
    ]);

    let (out, err) = dir.ok(&["londiste", jl, "compare", "--parallel", "3"]);
    assert!(
        out.contains("4 table(s): 4 equal, 0 different, 0 failed"),
        "{out}"
    );
    // Progress lines are whole lines, each about one table or the summary.
    for line in err.lines() {
        let msg = line.split_once(' ').map(|(_, m)| m).unwrap_or(line);
        assert!(
            msg.starts_with("public.c") || msg.starts_with("compared 4 table(s)"),
            "stray line {line:?} in:\n{err}"
        );
    }

    // Damage one table here; compare names it and exits with 1.
    leaf.c
        .batch_execute(
            "begin; set local session_replication_role = replica;
             delete from c2 where id = 7;
             update c2 set v = 'damaged' where id = 8;
             insert into c2 values (-1, 'extra', 0);
             commit;",
        )
        .await
        .unwrap();
    let (code, out, err) = dir.run(&["londiste", jl, "compare", "--json"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let r: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(r.len(), 4, "{out}");
    for t in &r {
        let bad = t["table"] == "public.c2";
        assert_eq!(
            t["source_rows"] != t["local_rows"] || t["source_checksum"] != t["local_checksum"],
            bad,
            "{t}"
        );
    }

    // --repair-where limits both sides.
    let (out, _) = dir.ok(&["londiste", jl, "repair", "c2", "--repair-where", "id >= 8"]);
    assert!(out.contains("wrote fix.public.c2.sql"), "{out}");
    let fix = std::fs::read_to_string(dir.0.join("fix.public.c2.sql")).unwrap();
    assert!(
        fix.lines().count() == 1 && fix.starts_with("update only public.c2 set v = "),
        "{fix}"
    );
    // repair without --apply: a fix file for the damaged table only.
    let (out, _) = dir.ok(&["londiste", jl, "repair", "c*", "--parallel", "4"]);
    assert!(out.contains("wrote fix.public.c2.sql"), "{out}");
    let fix = std::fs::read_to_string(dir.0.join("fix.public.c2.sql")).unwrap();
    assert_eq!(fix.lines().count(), 3, "{fix}");
    for want in [
        "insert into public.c2 (id, v, n) values ('7', ",
        "update only public.c2 set v = '",
        "' where id = '8';",
        "delete from only public.c2 where id = '-1';",
    ] {
        assert!(fix.contains(want), "{want} missing in:\n{fix}");
    }
    assert!(!dir.0.join("fix.public.c1.sql").exists());
    assert_eq!(
        count(&leaf.c, "c2 where v = 'damaged'").await,
        1,
        "not applied"
    );
    // --apply fixes it; compare agrees.
    let (out, _) = dir.ok(&["londiste", jl, "repair", "--apply"]);
    assert!(out.contains("applied"), "{out}");
    assert_eq!(
        count(&leaf.c, "c2 where v = 'damaged' or id in (-1)").await,
        0
    );
    assert_eq!(count(&leaf.c, "c2").await, 2000);
    dir.ok(&["londiste", jl, "compare"]);

    // A lock on one root table held elsewhere: that table fails after
    // lock_timeout (3 s here), the others are compared meanwhile.
    let holder = skydeck::db::connect(&root.connstr).await.unwrap();
    holder
        .batch_execute("begin; lock table c3 in access exclusive mode")
        .await
        .unwrap();
    let t0 = Instant::now();
    let (code, out, err) = dir.run(&["londiste", jl, "compare"]);
    let took = t0.elapsed();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("4 table(s): 3 equal, 0 different, 1 failed"),
        "{out}"
    );
    assert!(
        out.contains("public.c3: could not lock it on the root within lock_timeout"),
        "{out}\n{err}"
    );
    assert!(took >= Duration::from_secs(3), "failed before lock_timeout");
    assert!(took < Duration::from_secs(30), "compare took {took:?}");
    // The table's failure came after the others were done (their lines
    // precede it), not after waiting for the lock.
    let failed_at = err.find("public.c3: FAILED").expect("the failure line");
    for t in ["public.c1", "public.c2", "public.c4"] {
        let done = err
            .find(&format!("{t}: source 2000 rows"))
            .unwrap_or_else(|| panic!("{t} not compared:\n{err}"));
        assert!(done < failed_at, "{t} waited for c3:\n{err}");
    }
    // --force waits for the lock past lock_timeout: it goes after 4 s here.
    let t0 = Instant::now();
    let forced = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["londiste", jl, "compare", "c3", "--force"])
        .current_dir(&dir.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    holder.batch_execute("rollback").await.unwrap();
    let o = tokio::task::spawn_blocking(move || forced.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("1 table(s): 1 equal"), "{out}");
    assert!(
        t0.elapsed() >= Duration::from_secs(4),
        "--force did not wait"
    );
    drop(w);
}
