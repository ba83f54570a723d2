//! `skydeck demo`: the embedded default. It starts a throwaway cluster,
//! installs PgQ, creates queues fed by a table trigger and by direct
//! inserts, and hosts — under the same supervisor as the daemon — the
//! ticker, a producer load and consumers (one of them deliberately slow),
//! and a cascaded queue `orders` over three databases (root `main`,
//! branch `replica`, leaf `report`) on which Londiste replicates a
//! pgbench-like schema (copied live when the demo starts) under a writer
//! that follows the root through a switchover; and a WAL-shipping standby
//! of the cluster (walmgr: archive through skydeck, a base backup, a
//! standby restored from it that streams and falls back to the archive);
//! then opens the console on it. `--headless --seconds N` runs the same
//! without the console and prints a summary. Everything it starts is
//! stopped and removed on exit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tokio_postgres::Transaction;

use crate::cascade::admin::{Admin, NodeKind};
use crate::cascade::worker::{CascadeWorker, WorkerSettings};
use crate::cluster::LocalCluster;
use crate::daemon::logging::{self, LogBuffer, Output};
use crate::daemon::{Job, JobContext, JobError, JobFuture, Phase, Policy, Supervisor};
use crate::fmt::Table;
use crate::londiste::admin::{self as ladmin, AddTableOptions};
use crate::londiste::worker::{Londiste, LondisteSettings};
use crate::pgq::{self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event};
use crate::ticker::{self, TickerJob};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without the console for this long, then print a summary.
    #[arg(long)]
    pub headless: bool,
    /// How long a headless demo runs, in seconds.
    #[arg(long, default_value_t = 10, requires = "headless")]
    pub seconds: u64,
    /// Writes per second of the producer.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
}

const DB: &str = "demo";

/// The cascaded queue and its nodes: (node, database, kind, provider).
const CASCADE_QUEUE: &str = "orders";
const CASCADE: [(&str, &str, Option<NodeKind>, &str); 3] = [
    ("main", DB, None, ""),
    ("replica", "demo_replica", Some(NodeKind::Branch), "main"),
    ("report", "demo_report", Some(NodeKind::Leaf), "replica"),
];

/// Rows of the demo's pgbench-like accounts table.
const ACCOUNTS: i32 = 200_000;

/// The replicated schema on the cascade's root: pgbench's four tables
/// (history with a key, as Londiste needs one).
const CASCADE_SETUP: &str = "
create table pgbench_branches (bid int primary key, bbalance int not null default 0, filler char(88));
create table pgbench_tellers (tid int primary key, bid int not null, tbalance int not null default 0, filler char(84));
create table pgbench_accounts (aid int primary key, bid int not null, abalance int not null default 0, filler char(84));
create table pgbench_history (hid bigserial primary key, tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
insert into pgbench_branches (bid) select i from generate_series(1, 2) i;
insert into pgbench_tellers (tid, bid) select i, 1 + i % 2 from generate_series(1, 10) i;
insert into pgbench_accounts (aid, bid, filler) select i, 1 + i % 2, '' from generate_series(1, 200000) i;
analyze;
";

const SETUP: &str = "
create table public.accounts (
    id      int primary key,
    owner   text not null,
    balance numeric(12,2) not null default 0
);
create trigger accounts_to_queue after insert or update or delete on public.accounts
    for each row execute procedure pgq.logutriga('accounts');
create table public.audit_log (
    id      bigserial primary key,
    happened timestamptz not null default now(),
    what    text not null
);
create trigger audit_to_queue after insert on public.audit_log
    for each row execute procedure pgq.jsontriga('audit');
";

/// Writes to the demo tables at a steady rate.
struct Producer {
    connstr: String,
    rate: f64,
    writes: Arc<AtomicU64>,
}

impl Job for Producer {
    fn name(&self) -> &str {
        "producer"
    }
    fn kind(&self) -> &str {
        "load"
    }
    fn fingerprint(&self) -> String {
        format!("{}", self.rate)
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let c = crate::db::connect(&self.connstr)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            ctx.report(|s| s.databases = vec![DB.into()]);
            let owners = ["ada", "grace", "linus", "barbara", "ken", "margaret"];
            let mut rng = 0x2545_f491_4f6c_dd1du64 ^ std::process::id() as u64;
            let mut next = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let pause = Duration::from_secs_f64(1.0 / self.rate.clamp(0.1, 10_000.0));
            let q = |e: tokio_postgres::Error| JobError::Retry(crate::db::describe(&e));
            while !ctx.stop.is_cancelled() {
                let id = (next() % 50) as i32;
                let owner = owners[(next() % owners.len() as u64) as usize];
                let amount = (next() % 10_000) as f64 / 100.0;
                match next() % 10 {
                    0 => {
                        c.execute("delete from public.accounts where id = $1", &[&id])
                            .await
                            .map_err(q)?;
                    }
                    1 => {
                        c.execute(
                            "insert into public.audit_log (what) values ($1)",
                            &[&format!("{owner} looked at account {id}")],
                        )
                        .await
                        .map_err(q)?;
                    }
                    2 => {
                        pgq::insert_event(
                            &c,
                            "notifications",
                            "mail",
                            &format!("to={owner}&account={id}"),
                        )
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    }
                    _ => {
                        c.execute(
                            "insert into public.accounts (id, owner, balance) values ($1, $2, $3::float8) \
                             on conflict (id) do update \
                             set balance = accounts.balance + excluded.balance, owner = excluded.owner",
                            &[&id, &owner, &amount],
                        )
                        .await
                        .map_err(q)?;
                    }
                }
                let n = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
                ctx.report(|s| s.counters = vec![("writes".into(), n)]);
                tokio::select! {
                    _ = ctx.stop.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            Ok(())
        })
    }
}

/// Writes order events into the cascade's root, wherever it is: when the
/// root refuses (a switchover demoted it), it asks the nodes which one is
/// the root now and goes on there.
struct OrderWriter {
    /// (database, connection string) of every node.
    nodes: Vec<(String, String)>,
    rate: f64,
    writes: Arc<AtomicU64>,
}

impl OrderWriter {
    /// A connection to the current root, and its database.
    async fn root(&self) -> Option<(String, tokio_postgres::Client)> {
        for (db, connstr) in &self.nodes {
            let Ok(c) = crate::db::connect(connstr).await else {
                continue;
            };
            let t = c
                .query_opt(
                    "select node_type from pgq_node.get_node_info($1) where ret_code = 100",
                    &[&CASCADE_QUEUE],
                )
                .await;
            if let Ok(Some(r)) = t {
                if r.get::<_, Option<String>>(0).as_deref() == Some("root") {
                    return Some((db.clone(), c));
                }
            }
        }
        None
    }
}

impl Job for OrderWriter {
    fn name(&self) -> &str {
        "order_writer"
    }
    fn kind(&self) -> &str {
        "load"
    }
    fn fingerprint(&self) -> String {
        format!("{}", self.rate)
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let pause = Duration::from_secs_f64(1.0 / self.rate.clamp(0.1, 10_000.0));
            let mut order = 0u64;
            while !ctx.stop.is_cancelled() {
                let Some((db, c)) = self.root().await else {
                    // Mid-switchover there is no root for a moment.
                    tokio::select! {
                        _ = ctx.stop.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                    continue;
                };
                tracing::info!("order_writer: writing to the root of {CASCADE_QUEUE} in {db}");
                ctx.report(|s| {
                    s.databases = vec![db.clone()];
                    s.phase = Phase::Running;
                });
                while !ctx.stop.is_cancelled() {
                    order += 1;
                    let aid = ((order * 7919) % ACCOUNTS as u64) as i32 + 1;
                    let tid = (order % 10) as i32 + 1;
                    let bid = (order % 2) as i32 + 1;
                    let delta = (order % 199) as i32 - 99;
                    let r = c
                        .batch_execute(&format!(
                            "begin;
                             update pgbench_accounts set abalance = abalance + {delta} where aid = {aid};
                             update pgbench_tellers set tbalance = tbalance + {delta} where tid = {tid};
                             update pgbench_branches set bbalance = bbalance + {delta} where bid = {bid};
                             insert into pgbench_history (tid, bid, aid, delta, mtime)
                                  values ({tid}, {bid}, {aid}, {delta}, now());
                             commit;"
                        ))
                        .await;
                    if let Err(e) = r {
                        let _ = c.batch_execute("rollback").await;
                        tracing::info!(
                            "order_writer: {db} refuses writes ({}): finding the root",
                            crate::db::describe(&e)
                        );
                        order -= 1;
                        break;
                    }
                    let n = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
                    ctx.report(|s| s.counters = vec![("transactions".into(), n)]);
                    tokio::select! {
                        _ = ctx.stop.cancelled() => break,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
            Ok(())
        })
    }
}

/// Consumes one queue, optionally slowly, counting what it sees.
struct DemoConsumer {
    connstr: String,
    queue: &'static str,
    name: &'static str,
    delay_per_batch: Duration,
    events: Arc<AtomicU64>,
}

struct Count<'a> {
    events: &'a AtomicU64,
    delay: Duration,
    queue: &'a str,
    decode_errors: u64,
}

impl BatchHandler for Count<'_> {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for e in events {
            if pgq::decode(self.queue, batch.batch_id, e).is_err() {
                self.decode_errors += 1;
            }
        }
        self.events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(())
    }
}

impl Job for DemoConsumer {
    fn name(&self) -> &str {
        self.name
    }
    fn kind(&self) -> &str {
        "consumer"
    }
    fn fingerprint(&self) -> String {
        self.queue.to_string()
    }
    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let cfg = ConsumerConfig {
                idle_sleep: Duration::from_secs(1),
                ..Default::default()
            };
            let mut consumer = Consumer::connect(&self.connstr, self.queue, self.name, cfg)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            consumer
                .register()
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            ctx.report(|s| s.databases = vec![DB.into()]);
            let mut h = Count {
                events: &self.events,
                delay: self.delay_per_batch,
                queue: self.queue,
                decode_errors: 0,
            };
            let mut batches = 0u64;
            while !ctx.stop.is_cancelled() {
                let done = consumer
                    .process_batch(&mut h)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                let lag = pgq::consumer_info(consumer.client(), Some(self.queue), Some(self.name))
                    .await
                    .ok()
                    .and_then(|v| v.first().map(|c| Duration::from_secs_f64(c.lag.max(0.0))));
                match done {
                    Some(_) => {
                        batches += 1;
                        let events = self.events.load(Ordering::Relaxed);
                        let bad = h.decode_errors;
                        ctx.report(|s| {
                            s.phase = Phase::Running;
                            s.lag = lag;
                            s.counters = vec![
                                ("batches".into(), batches),
                                ("events".into(), events),
                                ("undecodable".into(), bad),
                            ];
                        });
                    }
                    None => {
                        ctx.report(|s| {
                            s.phase = Phase::Idle;
                            s.lag = lag;
                        });
                        tokio::select! {
                            _ = ctx.stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

/// What the demo set up, for the summary and the console.
pub struct Demo {
    pub cluster: LocalCluster,
    /// The walmgr standby of `cluster` (None when it could not be built).
    pub standby: Option<LocalCluster>,
    pub supervisor: Arc<Supervisor>,
    pub connstr: String,
    writes: Arc<AtomicU64>,
    consumed: Vec<(&'static str, &'static str, Arc<AtomicU64>)>,
}

/// Start the cluster, the schema and the jobs.
pub async fn start(rate: f64) -> Result<Demo> {
    let cluster = tokio::task::spawn_blocking(|| {
        LocalCluster::builder("demo")
            .setting("archive_mode", "on")
            .start()
    })
    .await
    .context("starting the demo cluster")??;
    let admin = cluster
        .connect("postgres")
        .await
        .context("connecting to the demo cluster")?;
    admin
        .batch_execute(&format!("create database {DB}"))
        .await?;
    let connstr = cluster.connstr(DB);
    let mut c = crate::db::connect(&connstr).await?;
    crate::install::install(&mut c, &[]).await?;
    for q in ["accounts", "audit", "notifications"] {
        pgq::create_queue(&c, q).await?;
        pgq::set_queue_config(&c, q, "ticker_max_lag", "500 milliseconds").await?;
        pgq::set_queue_config(&c, q, "ticker_idle_period", "5 seconds").await?;
    }
    // Short rotation so the console shows it happening.
    pgq::set_queue_config(&c, "accounts", "rotation_period", "30 seconds").await?;
    c.batch_execute(SETUP)
        .await
        .context("creating the demo tables")?;
    let nodes = create_cascade(&cluster, &admin).await?;

    let supervisor = Supervisor::new(Policy::default());
    let settings = ticker::Settings {
        base_connstr: format!(
            "host={} port={} user=postgres",
            cluster.socket_dir().display(),
            cluster.port()
        ),
        database_list: CASCADE.iter().map(|n| n.1.to_string()).collect(),
        ticker_period: Duration::from_millis(200),
        retry_period: Duration::from_secs(5),
        maint_period: Duration::from_secs(10),
        check_period: Duration::from_secs(10),
        stats_period: Duration::from_secs(30),
        ..ticker::Settings::default()
    };
    supervisor.add(Arc::new(TickerJob::new("ticker", settings, String::new())));
    let writes = Arc::new(AtomicU64::new(0));
    supervisor.add(Arc::new(Producer {
        connstr: connstr.clone(),
        rate,
        writes: writes.clone(),
    }));
    for (node, db, _, _) in CASCADE {
        let mut s = WorkerSettings::new(
            CASCADE_QUEUE,
            &format!("orders_{node}"),
            &cluster.connstr(db),
        );
        s.loop_delay = Duration::from_millis(500);
        s.local_wm_publish_period = Duration::from_secs(5);
        s.global_wm_publish_period = Duration::from_secs(5);
        let app = Arc::new(Londiste::new(
            CASCADE_QUEUE,
            &s.worker,
            &s.db,
            LondisteSettings {
                parallel_copies: 2,
                ..LondisteSettings::default()
            },
        ));
        supervisor.add(Arc::new(
            CascadeWorker::new(s, String::new(), db).with_applier(app),
        ));
    }
    supervisor.add(Arc::new(OrderWriter {
        nodes,
        rate: (rate / 4.0).max(1.0),
        writes: Arc::new(AtomicU64::new(0)),
    }));
    let standby = match wal_standby(&cluster, &supervisor).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("demo: no WAL standby: {e:#}");
            None
        }
    };
    let mut consumed = Vec::new();
    for (queue, name, delay) in [
        ("accounts", "replica", Duration::ZERO),
        ("accounts", "slow_reporter", Duration::from_secs(2)),
        ("audit", "auditor", Duration::ZERO),
        ("notifications", "mailer", Duration::ZERO),
    ] {
        let events = Arc::new(AtomicU64::new(0));
        supervisor.add(Arc::new(DemoConsumer {
            connstr: connstr.clone(),
            queue,
            name,
            delay_per_batch: delay,
            events: events.clone(),
        }));
        consumed.push((queue, name, events));
    }
    Ok(Demo {
        cluster,
        standby,
        supervisor,
        connstr,
        writes,
        consumed,
    })
}

/// walmgr on the demo cluster: archiving through skydeck into an archive
/// beside it, a base backup, and a standby restored from it that streams
/// from the cluster (and falls back to the archive). Both jobs are hosted.
async fn wal_standby(cluster: &LocalCluster, sup: &Arc<Supervisor>) -> Result<LocalCluster> {
    use std::os::unix::fs::PermissionsExt;
    // The server runs archive_command and restore_command as its own user:
    // they get a copy of this binary and job files they can read.
    let dir = cluster.socket_dir().join("walmgr");
    let exe = crate::walmgr::exe_for_server(&dir)?;
    let owner = crate::walmgr::owner_of(&cluster.data_dir());
    let standby = tokio::task::spawn_blocking(|| {
        LocalCluster::builder("demo-standby")
            .setting("hot_standby", "on")
            .unstarted()
    })
    .await??;
    let job = |name: &str, body: String| -> Result<std::path::PathBuf> {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "[walmgr]\njob_name = {}\n{body}",
                name.trim_end_matches(".ini")
            ),
        )?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        crate::walmgr::give_to(&p, owner)?;
        Ok(p)
    };
    let archive = dir.join("archive");
    let master = job(
        "wal_master.ini",
        format!(
            "master_data = {}\nmaster_db = {}\nwalmgr_data = {}\nkeep_backups = 2\nloop_delay = 5\n",
            cluster.data_dir().display(),
            cluster.connstr("postgres"),
            archive.display()
        ),
    )?;
    let standby_job = job(
        "wal_standby.ini",
        format!(
            "slave_data = {}\nslave_db = {}\nprimary_conninfo = {}\nwalmgr_data = {}\nloop_delay = 5\n",
            standby.data_dir().display(),
            standby.connstr("postgres"),
            cluster.connstr("postgres"),
            archive.display()
        ),
    )?;
    // (a backup or a restore takes a while: off the async threads)
    let run = |job: &std::path::Path, cmd: &'static str| {
        let (exe, job) = (exe.clone(), job.to_path_buf());
        async move {
            let what = format!("running walmgr {cmd} for {}", job.display());
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(&exe)
                    .arg("walmgr")
                    .arg(&job)
                    .arg(cmd)
                    .stdin(std::process::Stdio::null())
                    .output()
            })
            .await
            .map_err(anyhow::Error::new)
            .and_then(|r| r.map_err(anyhow::Error::new))
            .with_context(|| what.clone())?;
            if !out.status.success() {
                anyhow::bail!(
                    "{what}: {} ({})",
                    String::from_utf8_lossy(&out.stderr).trim(),
                    out.status
                );
            }
            Ok(())
        }
    };
    run(&master, "setup").await?;
    run(&master, "backup").await?;
    run(&standby_job, "restore").await?;
    let mut standby = standby;
    let standby =
        tokio::task::spawn_blocking(move || standby.start_existing().map(|_| standby)).await??;
    for j in [&master, &standby_job] {
        let file = crate::config::JobFile::load(j)?;
        sup.add(crate::daemon::run::job_for(&file)?);
    }
    Ok(standby)
}

/// The cascade of the demo: `main` (root, in the demo database) → `replica`
/// (branch) → `report` (leaf), each in a database of its own. Returns the
/// nodes' (database, connection string).
async fn create_cascade(
    cluster: &LocalCluster,
    admin: &tokio_postgres::Client,
) -> Result<Vec<(String, String)>> {
    let mut nodes = Vec::new();
    let mut quiet = |_: &str| {};
    for (node, db, kind, provider) in CASCADE {
        if db != DB {
            admin
                .batch_execute(&format!("create database {db}"))
                .await?;
        }
        let connstr = cluster.connstr(db);
        let a = Admin::londiste(CASCADE_QUEUE, &connstr, &format!("orders_{node}"));
        if kind.is_none() {
            crate::db::connect(&connstr)
                .await?
                .batch_execute(CASCADE_SETUP)
                .await
                .context("creating the replicated tables")?;
        }
        match kind {
            None => a.create_root(node, &connstr, false, &mut quiet).await,
            Some(kind) => {
                let provider = cluster.connstr(
                    CASCADE
                        .iter()
                        .find(|n| n.0 == provider)
                        .map(|n| n.1)
                        .unwrap_or(DB),
                );
                a.create_subscriber(
                    kind, node, &connstr, &provider, None, None, false, &mut quiet,
                )
                .await
            }
        }
        .with_context(|| format!("creating cascade node {node} in {db}"))?;
        if kind != Some(NodeKind::Leaf) {
            // The same ticker settings on root and branch: either may
            // become the root (a leaf has no queue of its own).
            let c = crate::db::connect(&connstr).await?;
            pgq::set_queue_config(&c, CASCADE_QUEUE, "ticker_max_lag", "500 milliseconds").await?;
            pgq::set_queue_config(&c, CASCADE_QUEUE, "ticker_idle_period", "5 seconds").await?;
        }
        // Every node replicates the four tables: the branch creates them
        // with their indexes, the leaf with the key only; both copy them
        // once their workers run.
        let tables: Vec<String> = ["branches", "tellers", "accounts", "history"]
            .iter()
            .map(|t| format!("public.pgbench_{t}"))
            .collect();
        let o = AddTableOptions {
            create: kind.map(|k| k == NodeKind::Branch),
            // The leaf copies from the nearest node that has the table in
            // sync: the root, while the branch is still copying.
            find_copy_node: kind == Some(NodeKind::Leaf),
            lock_timeout: Duration::from_secs(10),
            ..AddTableOptions::default()
        };
        ladmin::add_tables(&a, &tables, &o, &mut quiet)
            .await
            .with_context(|| format!("adding the tables on {node}"))?;
        nodes.push((db.to_string(), connstr));
    }
    Ok(nodes)
}

pub async fn run(a: DemoArgs) -> Result<()> {
    if !a.headless {
        return super::console::run_demo(a.rate).await;
    }
    let buffer = LogBuffer::new(1000);
    let _guard = logging::init(Output::Stderr(None), -1, &buffer)?;
    eprintln!("skydeck demo: starting a throwaway PostgreSQL cluster …");
    let demo = start(a.rate).await?;
    eprintln!(
        "skydeck demo: running headless for {} s on {} (try `skydeck pgq --db \"{}\" queues`)",
        a.seconds,
        demo.cluster.name(),
        demo.connstr
    );
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(a.seconds)) => {}
        _ = tokio::signal::ctrl_c() => eprintln!("skydeck demo: interrupted"),
    }
    let summary = summary(&demo).await;
    demo.supervisor.shutdown(Duration::from_secs(10)).await;
    print!("{summary}");
    eprintln!("skydeck demo: stopping and removing the cluster");
    drop(demo);
    Ok(())
}

/// The headless summary: queues, consumers, workers.
pub async fn summary(demo: &Demo) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "writes by the producer: {}\n\n",
        demo.writes.load(Ordering::Relaxed)
    ));
    if let Ok(c) = crate::db::connect(&demo.connstr).await {
        if let Ok(qs) = pgq::queue_info(&c, None).await {
            let mut t = Table::new(["queue", "last_tick", "ticker_lag", "ev/s"]);
            for q in qs {
                t.row([
                    q.queue_name,
                    q.last_tick_id.to_string(),
                    crate::fmt::secs(q.ticker_lag),
                    q.ev_per_sec
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_else(|| "-".into()),
                ]);
            }
            out.push_str(&t.render());
            out.push('\n');
        }
        if let Ok(cs) = pgq::consumer_info(&c, None, None).await {
            let mut t = Table::new(["queue", "consumer", "events", "lag", "pending"]);
            for ci in cs {
                let seen = demo
                    .consumed
                    .iter()
                    .find(|(q, n, _)| *q == ci.queue_name && *n == ci.consumer_name)
                    .map(|(_, _, e)| e.load(Ordering::Relaxed).to_string())
                    .unwrap_or_else(|| "-".into());
                t.row([
                    ci.queue_name,
                    ci.consumer_name,
                    seen,
                    crate::fmt::secs(ci.lag),
                    ci.pending_events
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "-".into()),
                ]);
            }
            out.push_str(&t.render());
            out.push('\n');
        }
    }
    if let Some(sb) = &demo.standby {
        out.push_str(&format!(
            "WAL standby of {}: cluster {} on port {}\n",
            demo.cluster.name(),
            sb.name(),
            sb.port()
        ));
        for j in crate::daemon::wal::wal_jobs(&demo.supervisor) {
            out.push_str(&crate::walmgr::status::render(
                &crate::walmgr::status::collect(&j.cfg).await,
            ));
        }
        out.push('\n');
    }
    let mut t = Table::new(["worker", "kind", "state", "restarts", "counters"]);
    for s in demo.supervisor.statuses() {
        let counters: Vec<String> = s.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.row([
            s.name,
            s.kind,
            format!("{:?}", s.phase).to_lowercase(),
            s.restarts.to_string(),
            counters.join(" "),
        ]);
    }
    out.push_str(&t.render());
    out
}
