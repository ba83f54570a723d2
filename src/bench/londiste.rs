//! `skydeck bench londiste`: skydeck's Londiste against native logical
//! replication, on four clusters (a source and a destination for each, so
//! neither pays for the other's triggers or WAL decoding), with the same
//! data: `pgbench -i -s SCALE`, `pgbench_history` with an added primary key,
//! and a one-row heartbeat table.
//!
//! 1. Initial copy of the five tables: skydeck (add-table on the leaf with
//!    `--create` until every table is `ok`), a plain `COPY … TO STDOUT |
//!    COPY … FROM STDIN` pipe per table (then the primary keys), and native
//!    `CREATE SUBSCRIPTION … copy_data` until every table is ready.
//! 2. Steady state: `pgbench -n -M prepared -c4 -j2 -T N` on each source in
//!    turn; the lag is read from the heartbeat every 0.5 s (source writes
//!    `clock_timestamp()`, the destination's copy is compared with now);
//!    catch-up is the time from pgbench's end until a marker is visible.
//! 3. Backlog: apply paused (worker paused / subscription disabled) during
//!    `pgbench -T M`, then resumed: events applied per second until the
//!    marker arrives.
//!
//! The original's figures (baseline.md §2: 49.3 s copy, 24.3 k ev/s
//! backlog) are printed for reference, not re-measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::pgbench::Pgbench;
use crate::cascade::admin::{Admin, NodeKind};
use crate::cascade::{CascadeWorker, WorkerSettings};
use crate::cluster::LocalCluster;
use crate::daemon::{Policy, Supervisor};
use crate::fmt::Table;
use crate::londiste::admin::{self as ladmin, AddTableOptions};
use crate::londiste::worker::{Londiste, LondisteSettings};

const Q: &str = "replika";
const TABLES: [&str; 5] = [
    "public.pgbench_accounts",
    "public.pgbench_branches",
    "public.pgbench_tellers",
    "public.pgbench_history",
    "public.bench_hb",
];

#[derive(Debug, Args)]
pub struct LondisteBenchArgs {
    /// pgbench scale of the data (20 = 2 M accounts, about 300 MB).
    #[arg(long, default_value_t = 20)]
    pub scale: u32,
    /// Seconds of pgbench for the steady-state measurement.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds of pgbench while apply is paused (backlog measurement).
    #[arg(long, default_value_t = 30)]
    pub backlog_seconds: u64,
    /// The source queue's `ticker_max_lag` in milliseconds (the longest a
    /// change waits for a tick); the ticker checks every tenth of it.
    #[arg(long, default_value_t = 100)]
    pub ticker_max_lag_ms: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize, Default)]
pub struct Steady {
    pub tps: f64,
    pub lag_p50_s: f64,
    pub lag_max_s: f64,
    pub catch_up_s: f64,
}

#[derive(Debug, Serialize, Default)]
pub struct Report {
    pub scale: u32,
    pub ticker_max_lag_ms: u64,
    pub copy_skydeck_s: f64,
    pub copy_pipe_s: f64,
    pub copy_native_s: f64,
    pub steady_skydeck: Steady,
    pub steady_native: Steady,
    pub backlog_events_skydeck: u64,
    pub backlog_skydeck_ev_per_sec: f64,
    pub backlog_events_native: u64,
    pub backlog_native_ev_per_sec: f64,
    pub data_equal: bool,
}

struct Cl {
    cluster: LocalCluster,
}

impl Cl {
    async fn start(name: &str, logical: bool) -> Result<Cl> {
        let n = name.to_string();
        let cluster = tokio::task::spawn_blocking(move || {
            let mut b = LocalCluster::builder(&format!("blond_{n}"))
                .setting("fsync", "on")
                .setting("synchronous_commit", "on")
                .setting("shared_buffers", "512MB")
                .setting("max_wal_size", "4GB")
                .setting("checkpoint_timeout", "30min");
            if logical {
                b = b
                    .setting("wal_level", "logical")
                    .setting("max_replication_slots", "10")
                    .setting("max_wal_senders", "10");
            }
            b.start()
        })
        .await??;
        Ok(Cl { cluster })
    }
    async fn db(&self, name: &str) -> Result<String> {
        self.cluster
            .connect("postgres")
            .await?
            .batch_execute(&format!("create database {name}"))
            .await?;
        Ok(self.cluster.connstr(name))
    }
}

/// pgbench data plus the history key and the heartbeat.
async fn source_data(cl: &Cl, connstr: &str, db: &str, scale: u32) -> Result<()> {
    Pgbench::for_cluster(&cl.cluster)?.init(db, scale).await?;
    let c = crate::db::connect(connstr).await?;
    c.batch_execute(
        "alter table pgbench_history add column hid bigserial primary key;
         create table bench_hb (id int primary key, ts timestamptz not null);
         insert into bench_hb values (1, clock_timestamp());",
    )
    .await
    .context("preparing the source tables")?;
    c.batch_execute("vacuum analyze")
        .await
        .context("vacuum analyze")?;
    Ok(())
}

/// `CREATE TABLE` (and separately the primary keys) of the five tables as
/// on the source.
async fn schema(src: &str) -> Result<(String, String)> {
    let c = crate::db::connect(src).await?;
    let mut tables = String::new();
    let mut keys = String::new();
    for t in TABLES {
        let ddl = ladmin::table_ddl(&c, t, t, false).await?;
        for stmt in ddl.lines() {
            if stmt.starts_with("alter table") {
                keys.push_str(stmt);
                keys.push('\n');
            } else {
                tables.push_str(stmt);
                tables.push('\n');
            }
        }
    }
    Ok((tables, keys))
}

fn psql(cl: &LocalCluster) -> String {
    format!(
        "{} -X -q -v ON_ERROR_STOP=1 -h {} -p {} -U postgres",
        cl.bindir().join("psql").display(),
        cl.socket_dir().display(),
        cl.port()
    )
}

/// The plain pipe, table by table, then the keys.
async fn copy_pipe(src: &Cl, src_db: &str, dst: &Cl, dst_db: &str, src_conn: &str) -> Result<f64> {
    let dconn = dst.db(dst_db).await?;
    let (tables, keys) = schema(src_conn).await?;
    let d = crate::db::connect(&dconn).await?;
    d.batch_execute(&tables).await?;
    let t0 = Instant::now();
    for t in TABLES {
        let sh = format!(
            "{} -d {src_db} -c \"copy {t} to stdout\" | {} -d {dst_db} -c \"copy {t} from stdin\"",
            psql(&src.cluster),
            psql(&dst.cluster)
        );
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(&sh);
        let out = super::proc::run(cmd, Duration::from_secs(1800), "copy pipe").await?;
        if !out.status.success() {
            bail!("copy pipe of {t} failed: {}", out.tail(10));
        }
    }
    d.batch_execute(&keys).await?;
    Ok(t0.elapsed().as_secs_f64())
}

fn worker(name: &str, connstr: &str) -> Arc<CascadeWorker> {
    let mut s = WorkerSettings::new(Q, &format!("{name}_worker"), connstr);
    s.loop_delay = Duration::from_secs(1);
    let ls = LondisteSettings {
        parallel_copies: 5,
        ..LondisteSettings::default()
    };
    let app = Arc::new(Londiste::new(Q, &s.worker, connstr, ls));
    Arc::new(CascadeWorker::new(s, String::new(), name).with_applier(app))
}

/// Writes a heartbeat on the source; returns it as the destination will
/// show it once replicated.
async fn beat(src: &tokio_postgres::Client) -> Result<String> {
    let row = src
        .query_one(
            "update bench_hb set ts = clock_timestamp() where id = 1 returning ts::text",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Whether the destination has the heartbeat `mark`.
async fn seen(dst: &tokio_postgres::Client, mark: &str) -> Result<bool> {
    let row = dst
        .query_one("select ts::text from bench_hb where id = 1", &[])
        .await?;
    Ok(row.get::<_, String>(0) == mark)
}

/// Heartbeat lag sampler: every 0.5 s write the time on the source and
/// read the destination's copy.
fn sampler(
    src: String,
    dst: String,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Result<Vec<f64>>> {
    tokio::spawn(async move {
        let s = crate::db::connect(&src).await?;
        let d = crate::db::connect(&dst).await?;
        let mut lags = Vec::new();
        while !stop.is_cancelled() {
            // A heartbeat every 0.5 s; its lag is the time until the
            // destination has it, polled every 10 ms.
            let t0 = Instant::now();
            let mark = beat(&s).await?;
            loop {
                if seen(&d, &mark).await? {
                    lags.push(t0.elapsed().as_secs_f64());
                    break;
                }
                if stop.is_cancelled() {
                    // Still not there when the run ends: count it as seen now.
                    lags.push(t0.elapsed().as_secs_f64());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if let Some(rest) = Duration::from_millis(500).checked_sub(t0.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        Ok(lags)
    })
}

/// Write a marker on the source; time until the destination has it.
async fn marker(src: &str, dst: &str, limit: Duration) -> Result<f64> {
    let s = crate::db::connect(src).await?;
    let d = crate::db::connect(dst).await?;
    let t0 = Instant::now();
    let mark = beat(&s).await?;
    loop {
        if seen(&d, &mark).await? {
            return Ok(t0.elapsed().as_secs_f64());
        }
        if t0.elapsed() > limit {
            bail!(
                "the destination did not catch up within {}",
                crate::fmt::duration(limit)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn steady(pgb: &Pgbench, db: &str, src: &str, dst: &str, seconds: u64) -> Result<Steady> {
    let stop = CancellationToken::new();
    let sm = sampler(src.to_string(), dst.to_string(), stop.clone());
    let args: Vec<String> = [
        "-n",
        "-M",
        "prepared",
        "-c",
        "4",
        "-j",
        "2",
        "-T",
        &seconds.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = pgb
        .run(db, &args, Duration::from_secs(seconds + 600))
        .await?;
    stop.cancel();
    let mut lags = sm.await??;
    let catch_up = marker(src, dst, Duration::from_secs(600)).await?;
    Ok(Steady {
        tps: run.tps,
        lag_p50_s: pct(&mut lags, 0.5),
        lag_max_s: pct(&mut lags, 1.0),
        catch_up_s: catch_up,
    })
}

async fn wait_subscription_ready(dst: &str) -> Result<()> {
    let d = crate::db::connect(dst).await?;
    let t0 = Instant::now();
    loop {
        let n: i64 = d
            .query_one(
                "select count(*) filter (where srsubstate <> 'r') + \
                        (5 - count(*)) from pg_subscription_rel",
                &[],
            )
            .await?
            .get(0);
        if n == 0 {
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(1800) {
            bail!("the subscription did not finish its initial copy in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn md5_accounts(connstr: &str) -> Result<String> {
    let c = crate::db::connect(connstr).await?;
    Ok(c.query_one(
        "select md5(string_agg(aid || ':' || abalance, ',' order by aid)) from pgbench_accounts",
        &[],
    )
    .await?
    .get(0))
}

pub async fn run(a: LondisteBenchArgs) -> Result<()> {
    let mut rep = Report {
        scale: a.scale,
        ticker_max_lag_ms: a.ticker_max_lag_ms,
        ..Default::default()
    };
    eprintln!("bench londiste: 4 clusters, pgbench scale {} …", a.scale);
    let lroot = Cl::start("lroot", false).await?;
    let lleaf = Cl::start("lleaf", false).await?;
    let nsrc = Cl::start("nsrc", true).await?;
    let ndst = Cl::start("ndst", false).await?;
    let lsrc_conn = lroot.db("src").await?;
    let ldst_conn = lleaf.db("dst").await?;
    let nsrc_conn = nsrc.db("src").await?;
    let ndst_conn = ndst.db("dst").await?;
    source_data(&lroot, &lsrc_conn, "src", a.scale).await?;
    source_data(&nsrc, &nsrc_conn, "src", a.scale).await?;

    // 1a. The plain pipe.
    eprintln!("bench londiste: COPY pipe …");
    rep.copy_pipe_s = copy_pipe(&lroot, "src", &lleaf, "pipe", &lsrc_conn).await?;

    // 1b. skydeck.
    eprintln!("bench londiste: skydeck initial copy …");
    let mut quiet = |_: &str| {};
    let root_admin = Admin::londiste(Q, &lsrc_conn, "root_worker");
    let mut leaf_admin = Admin::londiste(Q, &ldst_conn, "leaf_worker");
    leaf_admin.timeout = Duration::from_secs(3600);
    root_admin
        .create_root("root", &lsrc_conn, false, &mut quiet)
        .await?;
    leaf_admin
        .create_subscriber(
            NodeKind::Leaf,
            "leaf",
            &ldst_conn,
            &lsrc_conn,
            None,
            None,
            false,
            &mut quiet,
        )
        .await?;
    let stop = CancellationToken::new();
    {
        let c = crate::db::connect(&lsrc_conn).await?;
        crate::pgq::set_queue_config(
            &c,
            Q,
            "ticker_max_lag",
            &format!("{} milliseconds", a.ticker_max_lag_ms),
        )
        .await?;
    }
    let tick = super::spawn_ticker(
        &lroot.cluster,
        "src",
        Duration::from_millis((a.ticker_max_lag_ms / 10).max(10)),
        &stop,
    )?;
    let sup = Supervisor::new(Policy::default());
    sup.add(worker("root", &lsrc_conn));
    sup.add(worker("leaf", &ldst_conn));
    let all: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    let o = AddTableOptions {
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    ladmin::add_tables(&root_admin, &all, &o, &mut quiet).await?;
    let t0 = Instant::now();
    let o_leaf = AddTableOptions {
        create: Some(false),
        lock_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    ladmin::add_tables(&leaf_admin, &all, &o_leaf, &mut quiet).await?;
    ladmin::wait_sync(&leaf_admin, &mut quiet).await?;
    rep.copy_skydeck_s = t0.elapsed().as_secs_f64();

    // 1c. Native logical replication.
    eprintln!("bench londiste: native initial copy …");
    let (tables, keys) = schema(&nsrc_conn).await?;
    let nd = crate::db::connect(&ndst_conn).await?;
    nd.batch_execute(&format!("{tables}{keys}")).await?;
    let ns = crate::db::connect(&nsrc_conn).await?;
    ns.batch_execute(&format!(
        "create publication bench_pub for table {}",
        TABLES.join(", ")
    ))
    .await?;
    let t0 = Instant::now();
    nd.batch_execute(&format!(
        "create subscription bench_sub connection {} publication bench_pub with (copy_data = true)",
        crate::db::quote_literal(&nsrc.cluster.connstr("src"))
    ))
    .await
    .context("create subscription")?;
    wait_subscription_ready(&ndst_conn).await?;
    rep.copy_native_s = t0.elapsed().as_secs_f64();

    // 2. Steady state, skydeck then native.
    eprintln!("bench londiste: steady state, {} s each …", a.seconds);
    let lpgb = Pgbench::for_cluster(&lroot.cluster)?;
    let npgb = Pgbench::for_cluster(&nsrc.cluster)?;
    rep.steady_skydeck = steady(&lpgb, "src", &lsrc_conn, &ldst_conn, a.seconds).await?;
    rep.steady_native = steady(&npgb, "src", &nsrc_conn, &ndst_conn, a.seconds).await?;

    // 3. Backlog: paused apply, then resumed.
    eprintln!(
        "bench londiste: backlog, {} s of writes each …",
        a.backlog_seconds
    );
    let bargs: Vec<String> = [
        "-n",
        "-M",
        "prepared",
        "-c",
        "4",
        "-j",
        "2",
        "-T",
        &a.backlog_seconds.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    leaf_admin.pause(None, None, true, &mut quiet).await?;
    let run = lpgb
        .run("src", &bargs, Duration::from_secs(a.backlog_seconds + 600))
        .await?;
    rep.backlog_events_skydeck = run.transactions * 4;
    let lm = tokio::spawn({
        let (s, d) = (lsrc_conn.clone(), ldst_conn.clone());
        async move { marker(&s, &d, Duration::from_secs(1800)).await }
    });
    let t0 = Instant::now();
    leaf_admin.pause(None, None, false, &mut quiet).await?;
    let _ = lm.await??;
    rep.backlog_skydeck_ev_per_sec = rep.backlog_events_skydeck as f64 / t0.elapsed().as_secs_f64();
    nd.batch_execute("alter subscription bench_sub disable")
        .await?;
    let run = npgb
        .run("src", &bargs, Duration::from_secs(a.backlog_seconds + 600))
        .await?;
    rep.backlog_events_native = run.transactions * 4;
    let nm = tokio::spawn({
        let (s, d) = (nsrc_conn.clone(), ndst_conn.clone());
        async move { marker(&s, &d, Duration::from_secs(1800)).await }
    });
    let t0 = Instant::now();
    nd.batch_execute("alter subscription bench_sub enable")
        .await?;
    let _ = nm.await??;
    rep.backlog_native_ev_per_sec = rep.backlog_events_native as f64 / t0.elapsed().as_secs_f64();

    rep.data_equal = md5_accounts(&lsrc_conn).await? == md5_accounts(&ldst_conn).await?
        && md5_accounts(&nsrc_conn).await? == md5_accounts(&ndst_conn).await?;
    nd.batch_execute("drop subscription bench_sub").await.ok();
    sup.shutdown(Duration::from_secs(10)).await;
    stop.cancel();
    let _ = tick.await;

    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    let ratio = |x: f64, y: f64| {
        if y > 0.0 {
            format!("{:.2}", x / y)
        } else {
            "-".into()
        }
    };
    let mut t = Table::new([
        "figure",
        "skydeck",
        "native LR",
        "skydeck/native",
        "reference",
    ]);
    t.row([
        format!("initial copy, scale {}", a.scale),
        crate::fmt::secs(rep.copy_skydeck_s),
        crate::fmt::secs(rep.copy_native_s),
        ratio(rep.copy_skydeck_s, rep.copy_native_s),
        format!(
            "COPY pipe + PK {} (this run); original londiste 49.3 s (baseline)",
            crate::fmt::secs(rep.copy_pipe_s)
        ),
    ]);
    let (s, n) = (&rep.steady_skydeck, &rep.steady_native);
    t.row([
        "source tps under pgbench -c4".to_string(),
        format!("{:.0}", s.tps),
        format!("{:.0}", n.tps),
        ratio(s.tps, n.tps),
        "original: 0.87 of native".to_string(),
    ]);
    t.row([
        "lag p50 / max".to_string(),
        format!(
            "{} / {}",
            crate::fmt::secs(s.lag_p50_s),
            crate::fmt::secs(s.lag_max_s)
        ),
        format!(
            "{} / {}",
            crate::fmt::secs(n.lag_p50_s),
            crate::fmt::secs(n.lag_max_s)
        ),
        String::new(),
        "original: mean 1.8 s, max 2.5 s (0.5 s resolution)".to_string(),
    ]);
    t.row([
        "catch-up after pgbench".to_string(),
        crate::fmt::secs(s.catch_up_s),
        crate::fmt::secs(n.catch_up_s),
        String::new(),
        "original: 2.8 s".to_string(),
    ]);
    t.row([
        "backlog drain".to_string(),
        crate::fmt::rate(rep.backlog_skydeck_ev_per_sec),
        crate::fmt::rate(rep.backlog_native_ev_per_sec),
        ratio(
            rep.backlog_skydeck_ev_per_sec,
            rep.backlog_native_ev_per_sec,
        ),
        "original: 24.3 k ev/s, 0.17 of native".to_string(),
    ]);
    t.row([
        "data equal at the end".to_string(),
        rep.data_equal.to_string(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    print!("{}", t.render());
    println!(
        "skydeck's source queue ticks at least every {} ms (ticker_max_lag); lag: a heartbeat every 0.5 s, the time until the destination has it (polled every 10 ms)",
        a.ticker_max_lag_ms
    );
    Ok(())
}
