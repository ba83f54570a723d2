//! Londiste through the binary, as an operator runs it: job files,
//! `create-root`/`create-leaf`, `add-table`, `tables`, `compare`, and the
//! leaf's `worker` process killed with SIGKILL at random moments of its
//! copies and of replay, many times, while the root takes writes. At the
//! end every table is equal and nothing was applied twice (the writes are
//! mostly inserts of new keys: a repeated batch would stop the worker on a
//! duplicate key).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

fn skydeck(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = skydeck(args);
    assert_eq!(code, 0, "skydeck {args:?}:\n{out}\n{err}");
    out
}

fn job(dir: &Path, name: &str, connstr: &str) -> PathBuf {
    let p = dir.join(format!("{name}.ini"));
    std::fs::write(
        &p,
        format!(
            "[londiste]\njob_name = {name}_worker\ndb = {connstr}\nqueue_name = kq\n\
             loop_delay = 0.2\nparallel_copies = 2\n"
        ),
    )
    .unwrap();
    p
}

fn worker(ini: &Path, log: &Path) -> Child {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["londiste", ini.to_str().unwrap(), "worker"])
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap()
}

/// Inserts of new keys and updates of old ones, in small transactions.
fn writer(connstr: String, stop: CancellationToken) -> tokio::task::JoinHandle<i64> {
    tokio::spawn(async move {
        let c = skydeck::db::connect(&connstr).await.unwrap();
        let mut n = 0i64;
        while !stop.is_cancelled() {
            n += 1;
            c.batch_execute(&format!(
                "begin;
                 insert into big values ({id}, 'new {n}');
                 insert into small values ({n}, {n});
                 update big set v = v || '+' where id = {old};
                 commit;",
                id = 1_000_000 + n,
                old = (n * 7919) % 400_000 + 1
            ))
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        n
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaf_worker_killed_at_random_moments() {
    let root = common::fresh_db("lk_root").await;
    let leaf = common::fresh_db("lk_leaf").await;
    let rc = root.connect().await;
    rc.batch_execute(
        "create table big (id int primary key, v text);
         insert into big select i, repeat('v', 200) from generate_series(1, 400000) i;
         create table small (id int primary key, n int);",
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("skydeck-lkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (jr, jl) = (
        job(&dir, "root", &root.connstr),
        job(&dir, "leaf", &leaf.connstr),
    );
    let (jr_s, jl_s) = (jr.to_str().unwrap(), jl.to_str().unwrap());
    ok(&["londiste", jr_s, "create-root", "root", &root.connstr]);
    ok(&[
        "londiste",
        jl_s,
        "create-leaf",
        "leaf",
        &leaf.connstr,
        "--provider",
        &root.connstr,
    ]);
    let stop = CancellationToken::new();
    let tick = common::ticker_for(common::cluster(), &[&root.name], &stop);
    let log = dir.join("workers.log");
    let mut root_w = worker(&jr, &log);
    ok(&["londiste", jr_s, "add-table", "--all"]);
    let wstop = CancellationToken::new();
    let w = writer(root.connstr.clone(), wstop.clone());
    ok(&["londiste", jl_s, "add-table", "--all", "--create"]);

    // Kill the leaf's worker again and again: during the copies (the big
    // table takes a while) and during replay.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut kills = 0;
    let t0 = Instant::now();
    while kills < 12 {
        let copy_marks = || {
            let t = std::fs::read_to_string(&log).unwrap_or_default();
            t.matches("copying table").count() + t.matches("resuming the copy").count()
        };
        let copies_before = copy_marks();
        let mut lw = worker(&jl, &log);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if kills < 3 {
            // The first kills land inside a copy: wait until one starts
            // (or resumes).
            let t = Instant::now();
            while copy_marks() == copies_before && t.elapsed() < Duration::from_secs(3) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(x % 150)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(150 + x % 1200)).await;
        }
        let _ = lw.kill();
        let _ = lw.wait();
        kills += 1;
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "kill loop too slow"
        );
    }
    let mut lw = worker(&jl, &log);
    let wait = skydeck(&["londiste", jl_s, "wait-sync"]);
    assert_eq!(
        wait.0,
        0,
        "wait-sync: {}\n{}\nworker log:\n{}",
        wait.1,
        wait.2,
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    wstop.cancel();
    let writes = w.await.unwrap();
    assert!(writes > 20, "writer made {writes} transactions");
    let waited = skydeck(&["londiste", jl_s, "wait-root"]);
    assert_eq!(waited.0, 0, "{}\n{}", waited.1, waited.2);

    let tables: serde_json::Value =
        serde_json::from_str(&ok(&["londiste", jl_s, "tables", "--json"])).unwrap();
    let states: Vec<String> = tables
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["merge_state"]["state"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(states, ["ok", "ok"], "{tables}");
    // compare through the binary: exit 0 = every table equal.
    let (code, out, err) = skydeck(&["londiste", jl_s, "compare"]);
    assert_eq!(code, 0, "compare: {out}\n{err}");
    let lc = leaf.connect().await;
    for t in ["big", "small"] {
        let q = format!(
            "select count(*), md5(coalesce(string_agg(t::text, ',' order by id), '')) from {t} t"
        );
        let a = rc.query_one(&q, &[]).await.unwrap();
        let b = lc.query_one(&q, &[]).await.unwrap();
        assert_eq!(
            (a.get::<_, i64>(0), a.get::<_, String>(1)),
            (b.get::<_, i64>(0), b.get::<_, String>(1)),
            "{t} differs"
        );
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let resumed = log_text.matches("resuming the copy").count();
    assert!(resumed > 0, "no copy was interrupted:\n{log_text}");
    eprintln!(
        "{kills} kills; copies started {} times, resumed {resumed} times, finished {} times",
        log_text.matches("copying table").count(),
        log_text.matches("is in sync").count()
    );
    let _ = lw.kill();
    let _ = lw.wait();
    let _ = root_w.kill();
    let _ = root_w.wait();
    stop.cancel();
    let _ = tick.await;
    let _ = std::fs::remove_dir_all(&dir);
}
