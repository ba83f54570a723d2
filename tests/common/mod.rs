//! Shared test support: one throwaway cluster per test binary (tests use
//! separate databases, so they do not interfere and each can run alone).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use skydeck::cluster::LocalCluster;

/// The binary's shared cluster, started on first use.
pub fn cluster() -> &'static LocalCluster {
    static C: OnceLock<LocalCluster> = OnceLock::new();
    C.get_or_init(|| {
        LocalCluster::builder("test")
            .start()
            .unwrap_or_else(|e| panic!("starting the test cluster: {e}"))
    })
}

/// A fresh, empty database on the shared cluster.
pub async fn fresh_db(hint: &str) -> TestDb {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let clean: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{clean}_{n}");
    let c = cluster();
    let admin = c.connect("postgres").await.expect("connect to postgres db");
    for sql in [
        format!("drop database if exists {name}"),
        format!("create database {name}"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {}", skydeck::db::describe(&e)));
    }
    TestDb {
        name: name.clone(),
        connstr: c.connstr(&name),
    }
}

/// A fresh database with skydeck's SQL installed — or, with
/// `SKYDECK_TEST_AGAINST=c-extension`, the original C extension, to check
/// that a test encodes the original's behaviour.
pub async fn installed_db(hint: &str) -> TestDb {
    let db = fresh_db(hint).await;
    let mut client = db.connect().await;
    if against_c_extension() {
        create_c_extension(&client, &db.name).await;
    } else {
        install_skydeck(&mut client, &db.name).await;
    }
    db
}

/// The C extension creates its cluster-wide roles without guarding against
/// a concurrent creation, so every install in a test binary (skydeck's or
/// the extension's) takes this lock.
static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Hold while installing by other means (see [`INSTALL`]).
pub async fn install_lock() -> tokio::sync::MutexGuard<'static, ()> {
    INSTALL.lock().await
}

/// skydeck's SQL, as `skydeck install` puts it.
pub async fn install_skydeck(client: &mut tokio_postgres::Client, dbname: &str) {
    let _g = INSTALL.lock().await;
    skydeck::install::install(client, &[])
        .await
        .unwrap_or_else(|e| panic!("install into {dbname}: {e}"));
}

/// `CREATE EXTENSION pgq` (the original), and its londiste (with pgq_node)
/// where available: skydeck's install brings londiste too, and pgq's
/// maintenance list depends on whether it is there.
pub async fn create_c_extension(client: &tokio_postgres::Client, dbname: &str) {
    let _g = INSTALL.lock().await;
    client
        .batch_execute(
            "create extension pgq; \
             do $$ begin \
                 if exists (select 1 from pg_available_extensions where name = 'londiste') then \
                     create extension londiste cascade; \
                 end if; \
             end $$",
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create extension pgq in {dbname}: {}",
                skydeck::db::describe(&e)
            )
        });
}

/// Whether the tests run against the original C extension.
pub fn against_c_extension() -> bool {
    std::env::var("SKYDECK_TEST_AGAINST").as_deref() == Ok("c-extension")
}

pub struct TestDb {
    pub name: String,
    pub connstr: String,
}

impl TestDb {
    pub async fn connect(&self) -> tokio_postgres::Client {
        skydeck::db::connect(&self.connstr)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }
}

/// skydeck's ticker (pgqd in process) for `dbs` of `cluster`, every
/// 100 ms, until `stop`.
pub fn ticker_for(
    cluster: &LocalCluster,
    dbs: &[&str],
    stop: &tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let base = format!(
        "host={} port={} user=postgres",
        cluster.socket_dir().display(),
        cluster.port()
    );
    let settings = skydeck::ticker::Settings {
        base_connstr: base.clone(),
        initial_database: "postgres".into(),
        database_list: dbs.iter().map(|d| d.to_string()).collect(),
        ticker_period: std::time::Duration::from_millis(100),
        retry_period: std::time::Duration::from_secs(5),
        maint_period: std::time::Duration::from_secs(5),
        ..skydeck::ticker::Settings::default()
    };
    let backend = skydeck::ticker::PgBackend::new(&base, "postgres").expect("ticker backend");
    let (tx, _rx) = tokio::sync::watch::channel(skydeck::ticker::Status::default());
    tokio::spawn(skydeck::ticker::run(backend, settings, stop.clone(), tx))
}

/// The engine's snapshots until one satisfies `ok` (at most 90 s; on
/// timeout the assertion shows `what` and `shown` of the last snapshot).
pub async fn snapshot_until<D: std::fmt::Debug>(
    host: &skydeck::daemon::host::Host,
    what: &str,
    ok: impl Fn(&skydeck_ui::model::Snapshot) -> bool,
    shown: impl Fn(&skydeck_ui::model::Snapshot) -> D,
) -> skydeck_ui::model::Snapshot {
    let t0 = std::time::Instant::now();
    loop {
        let s = host.snapshot().await;
        if ok(&s) {
            return s;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(90),
            "timed out waiting for {what}: {:#?}",
            shown(&s)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Every reply of the engine to `a`, the final one last.
pub async fn ask(
    host: &skydeck::daemon::host::Host,
    a: skydeck_ui::model::Action,
) -> Vec<skydeck_ui::model::Reply> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    host.answer(a, tx).await;
    let mut out = Vec::new();
    while let Some(r) = rx.recv().await {
        out.push(r);
    }
    out
}

/// The final result among `replies`.
pub fn result(replies: &[skydeck_ui::model::Reply]) -> &skydeck_ui::model::ActionResult {
    match replies.last() {
        Some(skydeck_ui::model::Reply::Result(r)) => r,
        other => panic!("no result last: {other:?}"),
    }
}

/// Every reply to `a`, which must succeed.
pub async fn ask_ok(
    host: &skydeck::daemon::host::Host,
    a: skydeck_ui::model::Action,
) -> Vec<skydeck_ui::model::Reply> {
    let r = ask(host, a).await;
    assert!(result(&r).ok, "{r:?}");
    r
}

/// Force a tick on `queue` and wait until the ticker has made a newer one,
/// so a node that reaches the root's last tick has every earlier write.
#[allow(dead_code)]
pub async fn tick_after_writes(root: &tokio_postgres::Client, queue: &str) {
    let top =
        "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
               where q.queue_name = $1";
    let last: i64 = root
        .query_one("select pgq.force_tick($1)", &[&queue])
        .await
        .unwrap()
        .get(0);
    let t0 = std::time::Instant::now();
    while root
        .query_one(top, &[&queue])
        .await
        .unwrap()
        .get::<_, Option<i64>>(0)
        .unwrap_or(0)
        <= last
    {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "no tick after force_tick"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Poll `sql` (one boolean) until it is true; fail after 90 s naming `what`.
#[allow(dead_code)]
pub async fn wait_until(c: &tokio_postgres::Client, what: &str, sql: &str) {
    let t0 = std::time::Instant::now();
    loop {
        let ok: bool = c.query_one(sql, &[]).await.unwrap().get(0);
        if ok {
            return;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(90),
            "timed out: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A cascade chain: the first node a root, the last a leaf, branches
/// between, each subscribed to the one before. `(admin, node name, connstr)`.
#[allow(dead_code)]
pub async fn create_chain(nodes: &[(&skydeck::cascade::admin::Admin, &str, &str)]) {
    use skydeck::cascade::admin::NodeKind;
    let mut p = |s: &str| eprintln!("  step: {s}");
    for (i, (admin, name, connstr)) in nodes.iter().enumerate() {
        if i == 0 {
            admin
                .create_root(name, connstr, false, &mut p)
                .await
                .unwrap();
            continue;
        }
        let kind = if i + 1 == nodes.len() {
            NodeKind::Leaf
        } else {
            NodeKind::Branch
        };
        admin
            .create_subscriber(
                kind,
                name,
                connstr,
                nodes[i - 1].2,
                None,
                None,
                false,
                &mut p,
            )
            .await
            .unwrap();
    }
}

/// The first column of every row `sql` returns, as text.
pub async fn texts(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}
