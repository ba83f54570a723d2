//! `skydeck bench pgq`: PgQ measured the way the published baseline measured
//! Skytools 3, on a throwaway cluster with production durability, against
//! skydeck's SQL and — when the package is installed — the original C
//! extension in a second database of the same cluster, interleaved run by
//! run so that both see the same machine.
//!
//! * insert: 1 event per commit; 100 prepared `insert_event` per
//!   transaction; 1000 per statement (`generate_series`); the same rows as
//!   a plain `INSERT … SELECT` into an index-free table (the reference);
//!   bulk `COPY` through [`crate::pgq::bulk_insert`]. Each on a freshly
//!   recreated queue after a `CHECKPOINT`, driven by pgbench like the
//!   baseline (the COPY by the Rust producer).
//! * consume: 200 batches of 1000 events, read once by each consumer: the
//!   Rust [`Consumer::process_batch`], the bare SQL loop in pgbench, and
//!   python3-pgq's `pgq.Consumer` when `/usr/bin/python3` has it.
//! * trigger: pgbench TPC-B with and without `pgq.logutriga` on its four
//!   tables, alternating, `VACUUM ANALYZE` and `CHECKPOINT` before each run;
//!   and the same transaction committed one by one in a procedure (one
//!   backend, no client round trip, `synchronous_commit = off` for that
//!   session): the CPU a transaction costs, with far less noise than four
//!   pgbench clients waiting on fsync.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use super::pgbench::Pgbench;
use super::proc::{self, ScratchDir};
use super::report::{GoalOn, Metric, Metrics, Target, Unit};
use crate::cluster::{quote_conn_value, LocalCluster};
use crate::db::{self, quote_fqname, quote_ident, quote_literal};
use crate::pgq::{
    self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event, NewEvent,
};

/// The queue of the insert variants.
const INSERT_QUEUE: &str = "bench";
/// The queue the consumers read.
const CONSUME_QUEUE: &str = "bench_consume";
/// The queue `logutriga` writes to during TPC-B.
const TRIGGER_QUEUE: &str = "trg";
/// The index-free table of the raw-INSERT reference.
const RAW_TABLE: &str = "bench_raw_ev";
const TRIGGER_NAME: &str = "bench_logutriga";
const TPCB_TABLES: [&str; 4] = [
    "pgbench_accounts",
    "pgbench_branches",
    "pgbench_tellers",
    "pgbench_history",
];
const SKYDECK_DB: &str = "bench_skydeck";
const CEXT_DB: &str = "bench_cext";
/// Debian's interpreter: the one that sees python3-pgq in dist-packages.
const PYTHON: &str = "/usr/bin/python3";
const PY_CONSUMER: &str = include_str!("pgq_consumer.py");
/// `filler=` length that makes ev_data about 100 bytes with 6-digit ids.
const FILLER_LEN: usize = 55;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Insert rates (1/txn, 100/txn, 1000/statement, bulk COPY, raw INSERT).
    Insert,
    /// Consumer rates (Rust, SQL loop in pgbench, python3-pgq).
    Consume,
    /// Trigger overhead on pgbench TPC-B.
    Trigger,
}

#[derive(Debug, Args)]
pub struct PgqBenchArgs {
    /// Repetitions of every measurement; figures are medians, ratios are
    /// taken within a run and then their median (as the baseline).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub runs: u32,
    /// Length of each pgbench TPC-B run in seconds [default: 30, the
    /// baseline's; 5 with --quick].
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub tpcb_seconds: Option<u32>,
    /// Small sizes and short TPC-B runs: a smoke run, not a measurement.
    #[arg(long)]
    pub quick: bool,
    /// Print the results as JSON (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Run only these parts (repeatable, or a comma-separated list).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PART")]
    pub only: Vec<Part>,
}

/// How much work each part does.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    single_events: u64,
    stmt100_txns: u64,
    batch1000_txns: u64,
    bulk_txns: u64,
    consume_batches: u64,
    batch_size: u64,
    tpcb_scale: u32,
    tpcb_seconds: u32,
    tpcb_clients: u32,
    /// TPC-B transactions of the in-server loop (one backend, no client).
    loop_txns: u32,
}

impl Sizes {
    fn new(quick: bool, tpcb_seconds: Option<u32>) -> Sizes {
        if quick {
            Sizes {
                single_events: 1_000,
                stmt100_txns: 100,
                batch1000_txns: 20,
                bulk_txns: 20,
                consume_batches: 20,
                batch_size: 1000,
                tpcb_scale: 1,
                tpcb_seconds: tpcb_seconds.unwrap_or(5),
                tpcb_clients: 4,
                loop_txns: 2_000,
            }
        } else {
            Sizes {
                single_events: 20_000,
                stmt100_txns: 2_000,
                batch1000_txns: 200,
                bulk_txns: 200,
                consume_batches: 200,
                batch_size: 1000,
                tpcb_scale: 10,
                tpcb_seconds: tpcb_seconds.unwrap_or(30),
                tpcb_clients: 4,
                loop_txns: 30_000,
            }
        }
    }

    fn consume_events(&self) -> u64 {
        self.consume_batches * self.batch_size
    }
}

// The metric keys, in display order.
const INS_SINGLE: &str = "insert.single_c1";
const INS_STMT100: &str = "insert.stmt100_c1";
const INS_BATCH: &str = "insert.batch1000_c1";
const INS_RAW: &str = "insert.raw_batch1000_c1";
const INS_BULK: &str = "insert.bulk_copy_c1";
const INS_PGQ_VS_RAW: &str = "insert.pgq_vs_raw";
const CON_RUST: &str = "consume.rust";
const CON_SQL: &str = "consume.sql_loop";
const CON_PY: &str = "consume.python";
const CON_RUST_VS_PY: &str = "consume.rust_vs_python";
const CON_RUST_VS_SQL: &str = "consume.rust_vs_sql_loop";
const CON_PY_VS_SQL: &str = "consume.python_vs_sql_loop";
const TRG_OFF: &str = "trigger.off";
const TRG_ON: &str = "trigger.on";
const TRG_RATIO: &str = "trigger.on_vs_off";
const LOOP_OFF: &str = "trigger.loop_off";
const LOOP_ON: &str = "trigger.loop_on";
const LOOP_RATIO: &str = "trigger.loop_on_vs_off";
const LOOP_FLOOR: &str = "trigger.loop_floor";

fn metrics() -> Metrics {
    const ON_PAR: &str = "skydeck/C >= 0.95 (on par)";
    Metrics(vec![
        Metric::new(
            INS_SINGLE,
            "insert",
            "insert, 1 event per commit",
            Unit::EvPerSec,
        )
        .baseline(5_013.0)
        .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        Metric::new(
            INS_STMT100,
            "insert",
            "insert, 100 insert_event per txn",
            Unit::EvPerSec,
        )
        .baseline(11_809.0)
        .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        Metric::new(
            INS_BATCH,
            "insert",
            "insert, 1000 per statement",
            Unit::EvPerSec,
        )
        .baseline(119_548.0)
        .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        Metric::new(
            INS_BULK,
            "insert",
            "insert, bulk COPY (1000 per txn)",
            Unit::EvPerSec,
        )
        .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        Metric::new(
            INS_RAW,
            "insert",
            "plain INSERT of the same rows",
            Unit::RowsPerSec,
        )
        .baseline(697_520.0),
        Metric::ratio(
            INS_PGQ_VS_RAW,
            "insert",
            "1000 per statement / plain INSERT",
            INS_BATCH,
            INS_RAW,
        )
        .baseline(0.18),
        Metric::new(
            CON_RUST,
            "consume",
            "consume, Rust Consumer::process_batch",
            Unit::EvPerSec,
        ),
        Metric::new(
            CON_SQL,
            "consume",
            "consume, SQL loop (pgbench)",
            Unit::EvPerSec,
        )
        .baseline(448_871.0),
        Metric::new(
            CON_PY,
            "consume",
            "consume, python3-pgq Consumer",
            Unit::EvPerSec,
        )
        .baseline(155_330.0),
        Metric::ratio(
            CON_RUST_VS_PY,
            "consume",
            "consume, Rust / Python",
            CON_RUST,
            CON_PY,
        )
        .goal(GoalOn::Skydeck, 2.5, ">= 2.5"),
        Metric::ratio(
            CON_RUST_VS_SQL,
            "consume",
            "consume, Rust / SQL loop",
            CON_RUST,
            CON_SQL,
        )
        .goal(GoalOn::Skydeck, 0.8, "close to 1 (>= 0.8)"),
        Metric::ratio(
            CON_PY_VS_SQL,
            "consume",
            "consume, Python / SQL loop",
            CON_PY,
            CON_SQL,
        )
        .baseline(0.34),
        Metric::new(TRG_OFF, "trigger", "TPC-B, no trigger", Unit::Tps).baseline(4_880.0),
        Metric::new(TRG_ON, "trigger", "TPC-B, logutriga on 4 tables", Unit::Tps)
            .baseline(3_593.0)
            .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        Metric::ratio(
            TRG_RATIO,
            "trigger",
            "TPC-B, with / without trigger",
            TRG_ON,
            TRG_OFF,
        )
        .baseline(0.767)
        .goal(GoalOn::SkydeckVsC, 0.95, ON_PAR),
        // The same transaction in a procedure that commits after each one:
        // no client round trips, no fsync wait, no other backend, so the
        // figures show the CPU a transaction costs with little noise.
        Metric::new(
            LOOP_OFF,
            "trigger",
            "TPC-B in one backend, no trigger",
            Unit::Tps,
        ),
        Metric::new(
            LOOP_ON,
            "trigger",
            "TPC-B in one backend, logutriga on 4 tables",
            Unit::Tps,
        ),
        Metric::ratio(
            LOOP_RATIO,
            "trigger",
            "one backend, with / without trigger",
            LOOP_ON,
            LOOP_OFF,
        ),
        // What any PL/pgSQL trigger pays before it does logutriga's work:
        // one that only queues a constant event through pgq.insert_event
        // (no row access, no encoding, no checks).  Set against the C
        // logutriga's row above, it shows how close PL/pgSQL can come.
        Metric::new(
            LOOP_FLOOR,
            "trigger",
            "one backend, PL/pgSQL trigger only calling insert_event",
            Unit::Tps,
        ),
    ])
}

/// The machine and the cluster, as the header shows them.
#[derive(Debug, Default, Serialize)]
struct Header {
    cores: usize,
    cpu: String,
    memory_gib: f64,
    kernel: String,
    postgres: String,
    bindir: String,
    settings: serde_json::Map<String, serde_json::Value>,
    build: &'static str,
    skydeck_pgq: String,
    c_extension: Option<String>,
    python: String,
    pgbench: String,
}

/// A part that could not run, and why.
#[derive(Debug, Serialize)]
struct Note {
    part: String,
    reason: String,
}

/// A measurement that failed.
#[derive(Debug, Serialize)]
struct Failure {
    part: String,
    target: Target,
    error: String,
}

#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    bench: &'static str,
    header: &'a Header,
    runs: u32,
    quick: bool,
    parts: &'a [Part],
    sizes: &'a Sizes,
    metrics: Vec<super::report::MetricJson>,
    skipped: &'a [Note],
    failures: &'a [Failure],
}

/// One database under test.
struct TargetDb {
    target: Target,
    db: String,
    admin: Client,
}

pub async fn run(a: PgqBenchArgs) -> Result<()> {
    let mut parts: Vec<Part> = Vec::new();
    for p in if a.only.is_empty() {
        vec![Part::Insert, Part::Consume, Part::Trigger]
    } else {
        a.only.clone()
    } {
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    let sizes = Sizes::new(a.quick, a.tpcb_seconds);
    progress("starting a throwaway cluster (fsync=on, synchronous_commit=on, full_page_writes=on, shared_buffers=128MB)");
    let cluster = tokio::task::spawn_blocking(|| {
        LocalCluster::builder("bench-pgq")
            .setting("fsync", "on")
            .setting("synchronous_commit", "on")
            .setting("full_page_writes", "on")
            .setting("shared_buffers", "128MB")
            .tcp(false)
            .start()
    })
    .await
    .context("starting the benchmark cluster")?
    .context("starting the benchmark cluster")?;
    let result = tokio::select! {
        r = bench(&cluster, &a, &parts, sizes) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    progress("stopping and removing the cluster");
    drop(cluster);
    result
}

fn progress(msg: &str) {
    eprintln!("skydeck bench pgq: {msg}");
}

async fn bench(
    cluster: &LocalCluster,
    a: &PgqBenchArgs,
    parts: &[Part],
    sizes: Sizes,
) -> Result<()> {
    let pgbench = Pgbench::for_cluster(cluster)?;
    let mut b = Bench {
        cluster,
        pgbench,
        scratch: ScratchDir::new("skydeck-bench-pgq")?,
        sizes,
        runs: a.runs as usize,
        dbs: Vec::new(),
        metrics: metrics(),
        failures: Vec::new(),
        skipped: Vec::new(),
        broken: HashSet::new(),
        python: Err(String::new()),
        header: Header::default(),
    };
    b.setup(parts).await?;
    if !a.json {
        print!("{}", b.header_text(parts));
    }
    for part in parts {
        match part {
            Part::Insert => b.insert_part().await,
            Part::Consume => b.consume_part().await,
            Part::Trigger => b.trigger_part().await,
        }
        b.metrics.derive_ratios();
        if !a.json {
            if let Some(t) = b.metrics.section_table(part_name(*part), b.runs) {
                println!("\n== {} (per run) ==\n{}", part_name(*part), t.render());
            }
        }
    }
    let with_c = b.dbs.iter().any(|d| d.target == Target::CExtension);
    if a.json {
        crate::cli::print_json(&JsonReport {
            bench: "pgq",
            header: &b.header,
            runs: a.runs,
            quick: a.quick,
            parts,
            sizes: &b.sizes,
            metrics: b.metrics.to_json(),
            skipped: &b.skipped,
            failures: &b.failures,
        })?;
    } else {
        println!("\n== summary (medians of {} run(s)) ==", b.runs);
        print!("{}", b.metrics.summary_table(with_c).render());
        println!(
            "baseline: what Skytools 3 gave on the 2-vCPU bench VM (Debian 12, PostgreSQL 15.18, \
             medians of 3), for reference only; compare systems by the same-run ratios."
        );
        if with_c {
            println!(
                "skydeck/C: median of per-run ratios. The plain-INSERT and no-trigger rows run no PgQ \
                 code: their skydeck/C shows the noise between the two databases."
            );
        }
        for n in &b.skipped {
            println!("skipped: {}: {}", n.part, n.reason);
        }
        for f in &b.failures {
            println!(
                "FAILED: {} against {}: {}",
                f.part,
                f.target.label(),
                f.error
            );
        }
    }
    if !b.failures.is_empty() {
        let what: Vec<String> = b
            .failures
            .iter()
            .map(|f| format!("{} ({})", f.part, f.target.label()))
            .collect();
        bail!(
            "{} measurement(s) failed: {}",
            b.failures.len(),
            what.join(", ")
        );
    }
    Ok(())
}

fn part_name(p: Part) -> &'static str {
    match p {
        Part::Insert => "insert",
        Part::Consume => "consume",
        Part::Trigger => "trigger",
    }
}

struct Bench<'c> {
    cluster: &'c LocalCluster,
    pgbench: Pgbench,
    scratch: ScratchDir,
    sizes: Sizes,
    runs: usize,
    dbs: Vec<TargetDb>,
    metrics: Metrics,
    failures: Vec<Failure>,
    skipped: Vec<Note>,
    /// (metric, target) pairs that failed once and are not tried again.
    broken: HashSet<(&'static str, Target)>,
    /// The Python consumer: its description, or why it cannot run.
    python: Result<String, String>,
    header: Header,
}

impl Bench<'_> {
    async fn connect(&self, dbname: &str) -> Result<Client> {
        Ok(db::connect(&self.cluster.connstr(dbname)).await?)
    }

    // ---- setup -------------------------------------------------------

    async fn setup(&mut self, parts: &[Part]) -> Result<()> {
        let postgres = self.connect("postgres").await?;
        let available = postgres
            .query_opt(
                "select default_version from pg_catalog.pg_available_extensions where name = 'pgq'",
                &[],
            )
            .await
            .map_err(|e| db::DbError::query("looking for the pgq extension", e))?
            .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default());

        self.cluster
            .create_database(SKYDECK_DB)
            .await
            .map_err(|e| anyhow!("creating database {SKYDECK_DB}: {}", db::describe(&e)))?;
        let mut sk = self.connect(SKYDECK_DB).await?;
        match crate::install::install(&mut sk, &[]).await {
            Ok(_) => {
                let v: Option<String> = sk
                    .query_one("select pgq.version()::text", &[])
                    .await
                    .ok()
                    .and_then(|r| r.get(0));
                let rev = crate::install::component("pgq")
                    .map(|c| c.revision())
                    .unwrap_or(0);
                self.header.skydeck_pgq = format!(
                    "pgq revision {rev} (version() {}), database {SKYDECK_DB}",
                    v.unwrap_or_else(|| "?".into())
                );
                self.dbs.push(TargetDb {
                    target: Target::Skydeck,
                    db: SKYDECK_DB.into(),
                    admin: sk,
                });
            }
            Err(e) => {
                self.header.skydeck_pgq = "NOT INSTALLED (see failures)".into();
                self.failures.push(Failure {
                    part: "install".into(),
                    target: Target::Skydeck,
                    error: format!("skydeck install: {e:#}"),
                });
                progress(&format!("installing skydeck's SQL failed: {e:#}"));
            }
        }

        match available {
            None => {
                self.skipped.push(Note {
                    part: "C extension comparison".into(),
                    reason: "the pgq extension is not available in this PostgreSQL (Debian: apt-get install \
                             postgresql-<major>-pgq3)"
                        .into(),
                });
            }
            Some(_) => {
                let created = async {
                    self.cluster.create_database(CEXT_DB).await.map_err(|e| {
                        anyhow!("creating database {CEXT_DB}: {}", db::describe(&e))
                    })?;
                    let c = self.connect(CEXT_DB).await?;
                    c.batch_execute("create extension pgq")
                        .await
                        .map_err(|e| anyhow!("CREATE EXTENSION pgq: {}", db::describe(&e)))?;
                    let v: String = c
                        .query_one(
                            "select extversion from pg_catalog.pg_extension where extname = 'pgq'",
                            &[],
                        )
                        .await
                        .map_err(|e| {
                            anyhow!("reading the extension version: {}", db::describe(&e))
                        })?
                        .get(0);
                    Ok::<_, anyhow::Error>((c, v))
                }
                .await;
                match created {
                    Ok((c, v)) => {
                        self.header.c_extension = Some(format!(
                            "pgq {v} (CREATE EXTENSION pgq, database {CEXT_DB})"
                        ));
                        self.dbs.push(TargetDb {
                            target: Target::CExtension,
                            db: CEXT_DB.into(),
                            admin: c,
                        });
                    }
                    Err(e) => {
                        self.failures.push(Failure {
                            part: "install".into(),
                            target: Target::CExtension,
                            error: format!("{e:#}"),
                        });
                        progress(&format!("setting up the C extension failed: {e:#}"));
                    }
                }
            }
        }
        if self.dbs.is_empty() {
            bail!(
                "nothing to measure: {}",
                self.failures
                    .iter()
                    .map(|f| f.error.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }

        if parts.contains(&Part::Consume) {
            self.python = python_consumer_available().await;
            if let Err(why) = &self.python {
                progress(&format!("the python3-pgq consumer is skipped: {why}"));
                self.skipped.push(Note {
                    part: "consume, python3-pgq Consumer".into(),
                    reason: why.clone(),
                });
            }
        }
        self.header_facts(&postgres).await;
        Ok(())
    }

    async fn header_facts(&mut self, c: &Client) {
        let h = &mut self.header;
        h.cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        h.cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split(':').nth(1))
            })
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        h.memory_gib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
            .unwrap_or(0.0);
        h.kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        h.postgres = c
            .query_one("select version()", &[])
            .await
            .map(|r| r.get::<_, String>(0))
            .unwrap_or_else(|e| format!("? ({})", db::describe(&e)));
        h.bindir = self.cluster.bindir().display().to_string();
        let names = [
            "fsync",
            "synchronous_commit",
            "full_page_writes",
            "shared_buffers",
            "wal_level",
            "max_wal_size",
            "checkpoint_timeout",
            "wal_buffers",
            "autovacuum",
        ];
        for n in names {
            if let Ok(r) = c.query_one("select current_setting($1)", &[&n]).await {
                h.settings
                    .insert(n.to_string(), serde_json::Value::String(r.get(0)));
            }
        }
        h.build = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        h.python = match &self.python {
            Ok(v) => v.clone(),
            Err(why) if why.is_empty() => "not used".into(),
            Err(why) => format!("skipped: {why}"),
        };
        h.pgbench = self
            .pgbench
            .version()
            .await
            .unwrap_or_else(|e| format!("? ({e:#})"));
        h.pgbench = format!("{} ({})", h.pgbench, self.pgbench.exe().display());
    }

    fn header_text(&self, parts: &[Part]) -> String {
        let h = &self.header;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "skydeck bench pgq: PgQ insert, consume and trigger overhead"
        );
        let _ = writeln!(
            s,
            "machine      {} cores ({}), {} GiB RAM, Linux {}",
            h.cores, h.cpu, h.memory_gib, h.kernel
        );
        let _ = writeln!(s, "PostgreSQL   {} ({})", h.postgres, h.bindir);
        let set: Vec<String> = h
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let _ = writeln!(s, "settings     {} (the rest default)", set.join(" "));
        let _ = writeln!(s, "skydeck      {}, {} build", h.skydeck_pgq, h.build);
        if h.build == "debug" {
            let _ = writeln!(
                s,
                "             (an unoptimised build: the Rust client figures are not representative; \
                 use a release build to measure)"
            );
        }
        let _ = writeln!(
            s,
            "C extension  {}",
            h.c_extension
                .as_deref()
                .unwrap_or("not available (skydeck's figures only)")
        );
        if parts.contains(&Part::Consume) {
            let _ = writeln!(s, "python       {}", h.python);
        }
        let _ = writeln!(s, "pgbench      {}", h.pgbench);
        let z = &self.sizes;
        let _ = writeln!(
            s,
            "runs         {} per figure (medians; ratios are taken within a run, then their median); \
             skydeck and the C extension alternate run by run",
            self.runs
        );
        let _ = writeln!(
            s,
            "sizes        insert: {} single, {}x100, {}x1000, bulk {}x1000; consume: {} batches x {}; \
             TPC-B: scale {}, -c{} -j2 -T{} -M prepared",
            z.single_events,
            z.stmt100_txns,
            z.batch1000_txns,
            z.bulk_txns,
            z.consume_batches,
            z.batch_size,
            z.tpcb_scale,
            z.tpcb_clients,
            z.tpcb_seconds
        );
        s
    }

    /// Targets in the order of run `run`: alternating who goes first.
    fn order(&self, run: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.dbs.len()).collect();
        if run % 2 == 1 {
            v.reverse();
        }
        v
    }

    fn record(
        &mut self,
        key: &'static str,
        target: Target,
        run: usize,
        r: Result<f64>,
        unit: &str,
    ) {
        let label = self.metrics.get(key).map(|m| m.label).unwrap_or(key);
        match r {
            Ok(v) => {
                progress(&format!(
                    "run {}/{} {label}, {}: {v:.0} {unit}",
                    run + 1,
                    self.runs,
                    target.label()
                ));
                self.metrics.push(key, target, v);
            }
            Err(e) => {
                progress(&format!(
                    "run {}/{} {label}, {}: FAILED: {e:#}",
                    run + 1,
                    self.runs,
                    target.label()
                ));
                self.fail(key, target, format!("{e:#}"));
            }
        }
    }

    fn fail(&mut self, key: &'static str, target: Target, error: String) {
        self.broken.insert((key, target));
        let part = self
            .metrics
            .get(key)
            .map(|m| m.label)
            .unwrap_or(key)
            .to_string();
        self.failures.push(Failure {
            part,
            target,
            error,
        });
    }

    fn is_broken(&self, key: &'static str, target: Target) -> bool {
        self.broken.contains(&(key, target))
    }

    // ---- insert ------------------------------------------------------

    async fn insert_part(&mut self) {
        let variants = [INS_SINGLE, INS_STMT100, INS_BATCH, INS_RAW, INS_BULK];
        let scripts = match self.insert_scripts() {
            Ok(s) => s,
            Err(e) => {
                for t in self.dbs.iter().map(|d| d.target).collect::<Vec<_>>() {
                    for key in variants {
                        self.fail(key, t, format!("writing the pgbench scripts: {e:#}"));
                    }
                }
                return;
            }
        };
        for run in 0..self.runs {
            for key in variants {
                for i in self.order(run) {
                    let target = self.dbs[i].target;
                    if self.is_broken(key, target) {
                        continue;
                    }
                    let unit = if key == INS_RAW { "rows/s" } else { "ev/s" };
                    let r = self.insert_once(i, key, &scripts).await;
                    self.record(key, target, run, r, unit);
                }
            }
        }
        for d in &self.dbs {
            let _ = drop_queue_if_exists(&d.admin, INSERT_QUEUE).await;
            let _ = d
                .admin
                .batch_execute(&format!(
                    "drop table if exists public.{}",
                    quote_ident(RAW_TABLE)
                ))
                .await;
        }
    }

    fn insert_scripts(&self) -> Result<InsertScripts> {
        let q = quote_literal(INSERT_QUEUE);
        // pgbench -M prepared turns every `:word` into a parameter, even in
        // a literal (baseline "Problems met" 3): hence 'I' || ':' || 'id'.
        let ev_type = "'I' || ':' || 'id'";
        let filler = "x".repeat(FILLER_LEN);
        let one = format!(
            "\\set n random(100000, 999999)\n\
             SELECT pgq.insert_event({q}, {ev_type}, 'id=' || CAST(:n AS text) || '&aid=' || CAST(:n AS text) \
             || '&bid=1&abalance=0&filler={filler}');\n"
        );
        let series_data =
            format!("'id=' || i || '&aid=' || i || '&bid=1&abalance=0&filler={filler}'");
        let single = self.scratch.write("insert_single.sql", &one)?;
        let stmt100 = self.scratch.write(
            "insert_stmt100.sql",
            &format!("BEGIN;\n{}COMMIT;\n", one.repeat(100)),
        )?;
        let batch = self.scratch.write(
            "insert_batch1000.sql",
            &format!(
                "SELECT count(pgq.insert_event({q}, {ev_type}, {series_data})) \
                 FROM generate_series(100001, 101000) i;\n"
            ),
        )?;
        let raw = self.scratch.write(
            "insert_raw1000.sql",
            &format!(
                "INSERT INTO public.{} (ev_type, ev_data) SELECT {ev_type}, {series_data} \
                 FROM generate_series(100001, 101000) i;\n",
                quote_ident(RAW_TABLE)
            ),
        )?;
        let s = |p: std::path::PathBuf| p.display().to_string();
        Ok(InsertScripts {
            single: s(single),
            stmt100: s(stmt100),
            batch: s(batch),
            raw: s(raw),
        })
    }

    /// One insert variant on a fresh queue (or raw table) after a checkpoint.
    async fn insert_once(
        &self,
        i: usize,
        key: &'static str,
        scripts: &InsertScripts,
    ) -> Result<f64> {
        let d = &self.dbs[i];
        let z = &self.sizes;
        if key == INS_RAW {
            let t = quote_ident(RAW_TABLE);
            // The pgq event-table columns and defaults, without the index.
            d.admin
                .batch_execute(&format!(
                    "drop table if exists public.{t};
                     create table public.{t} (
                         ev_id     bigserial,
                         ev_time   timestamptz not null default now(),
                         ev_txid   bigint not null default txid_current(),
                         ev_owner  int4,
                         ev_retry  int4,
                         ev_type   text,
                         ev_data   text,
                         ev_extra1 text,
                         ev_extra2 text,
                         ev_extra3 text,
                         ev_extra4 text
                     ) with (fillfactor = 100, autovacuum_enabled = off, toast.autovacuum_enabled = off);"
                ))
                .await
                .map_err(|e| anyhow!("creating {RAW_TABLE}: {}", db::describe(&e)))?;
        } else {
            recreate_queue(&d.admin, INSERT_QUEUE).await?;
        }
        checkpoint(&d.admin).await?;
        let pgbench = |script: &str, txns: u64| {
            let args: Vec<String> = [
                "-n",
                "-c",
                "1",
                "-j",
                "1",
                "-M",
                "prepared",
                "-t",
                &txns.to_string(),
                "-f",
                script,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            async move {
                self.pgbench
                    .run(&d.db, &args, Duration::from_secs(3600))
                    .await
                    .map(|r| (r.tps, r.transactions))
            }
        };
        let (rate, expected) = match key {
            INS_SINGLE => {
                let (tps, n) = pgbench(&scripts.single, z.single_events).await?;
                (tps, n)
            }
            INS_STMT100 => {
                let (tps, n) = pgbench(&scripts.stmt100, z.stmt100_txns).await?;
                (tps * 100.0, n * 100)
            }
            INS_BATCH => {
                let (tps, n) = pgbench(&scripts.batch, z.batch1000_txns).await?;
                (tps * 1000.0, n * 1000)
            }
            INS_RAW => {
                let (tps, n) = pgbench(&scripts.raw, z.batch1000_txns).await?;
                (tps * 1000.0, n * 1000)
            }
            INS_BULK => self.bulk_copy(d).await?,
            other => bail!("unknown insert variant {other}"),
        };
        let stored = if key == INS_RAW {
            let q = format!("select count(*) from public.{}", quote_ident(RAW_TABLE));
            d.admin
                .query_one(q.as_str(), &[])
                .await
                .map_err(|e| anyhow!("counting {RAW_TABLE}: {}", db::describe(&e)))?
                .get::<_, i64>(0)
        } else {
            queue_event_count(&d.admin, INSERT_QUEUE).await?
        };
        if stored as u64 != expected {
            bail!("{expected} events were inserted but the table holds {stored}");
        }
        Ok(rate)
    }

    /// `pgq::bulk_insert`: `bulk_txns` transactions of `batch_size` events.
    async fn bulk_copy(&self, d: &TargetDb) -> Result<(f64, u64)> {
        let z = &self.sizes;
        let filler = "x".repeat(FILLER_LEN);
        let batches: Vec<Vec<NewEvent>> = (0..z.bulk_txns)
            .map(|t| {
                (0..z.batch_size)
                    .map(|i| {
                        let id = 100_000 + t * z.batch_size + i;
                        NewEvent::new(
                            "I:id",
                            format!("id={id}&aid={id}&bid=1&abalance=0&filler={filler}"),
                        )
                    })
                    .collect()
            })
            .collect();
        let mut c = self.connect(&d.db).await?;
        let t0 = Instant::now();
        let mut n = 0u64;
        for b in &batches {
            let tx = c
                .transaction()
                .await
                .map_err(|e| anyhow!("begin: {}", db::describe(&e)))?;
            n += pgq::bulk_insert(&tx, INSERT_QUEUE, b).await?;
            tx.commit()
                .await
                .map_err(|e| anyhow!("commit: {}", db::describe(&e)))?;
        }
        let secs = t0.elapsed().as_secs_f64();
        Ok((n as f64 / secs, n))
    }

    // ---- consume -----------------------------------------------------

    fn consumer_names(&self, run: usize) -> [String; 3] {
        [
            format!("rust_{}", run + 1),
            format!("sql_{}", run + 1),
            format!("py_{}", run + 1),
        ]
    }

    async fn consume_part(&mut self) {
        let keys = [CON_RUST, CON_SQL, CON_PY];
        let with_python = self.python.is_ok();
        for i in 0..self.dbs.len() {
            let target = self.dbs[i].target;
            progress(&format!(
                "filling queue {CONSUME_QUEUE} in {}: {} x ({} events + pgq.ticker)",
                target.label(),
                self.sizes.consume_batches,
                self.sizes.batch_size
            ));
            if let Err(e) = self.consume_fill(i, with_python).await {
                let e = format!("preparing the consumer queue: {e:#}");
                progress(&format!("{}: FAILED: {e}", target.label()));
                for key in keys {
                    if key != CON_PY || with_python {
                        self.fail(key, target, e.clone());
                    }
                }
            }
        }
        if let Some(d) = self.dbs.first() {
            if let Err(e) = checkpoint(&d.admin).await {
                progress(&format!("checkpoint: {e:#}"));
            }
        }
        for run in 0..self.runs {
            let names = self.consumer_names(run);
            for (k, key) in keys.into_iter().enumerate() {
                if key == CON_PY && !with_python {
                    continue;
                }
                for i in self.order(run) {
                    let target = self.dbs[i].target;
                    if self.is_broken(key, target) {
                        continue;
                    }
                    let name = &names[k];
                    let r = match key {
                        CON_RUST => self.consume_rust(i, name).await,
                        CON_SQL => self.consume_sql(i, name).await,
                        _ => self.consume_python(i, name).await,
                    };
                    let r = match r {
                        Ok(v) => self.check_consumer_done(i, name).await.map(|_| v),
                        Err(e) => Err(e),
                    };
                    self.record(key, target, run, r, "ev/s");
                }
            }
        }
        for d in &self.dbs {
            let _ = drop_queue_if_exists(&d.admin, CONSUME_QUEUE).await;
        }
    }

    /// A fresh queue, every consumer of every run registered, then the
    /// batches: each `batch_size` events in one transaction followed by
    /// `pgq.ticker`, with no other ticker running.
    async fn consume_fill(&self, i: usize, with_python: bool) -> Result<()> {
        let d = &self.dbs[i];
        let z = &self.sizes;
        recreate_queue(&d.admin, CONSUME_QUEUE).await?;
        for run in 0..self.runs {
            for (k, name) in self.consumer_names(run).iter().enumerate() {
                if k == 2 && !with_python {
                    continue;
                }
                pgq::register_consumer(&d.admin, CONSUME_QUEUE, name).await?;
            }
        }
        let filler = "x".repeat(FILLER_LEN);
        let insert = d
            .admin
            .prepare(&format!(
                "select count(pgq.insert_event($1, 'I:id', 'id=' || i || '&aid=' || i || \
                 '&bid=1&abalance=0&filler={filler}')) from generate_series($2::int8, $3::int8) i"
            ))
            .await
            .map_err(|e| anyhow!("preparing the fill: {}", db::describe(&e)))?;
        for b in 0..z.consume_batches {
            let from = (100_000 + b * z.batch_size) as i64;
            let to = from + z.batch_size as i64 - 1;
            d.admin
                .query_one(&insert, &[&CONSUME_QUEUE, &from, &to])
                .await
                .map_err(|e| anyhow!("inserting batch {}: {}", b + 1, db::describe(&e)))?;
            if pgq::ticker(&d.admin, CONSUME_QUEUE).await?.is_none() {
                bail!(
                    "pgq.ticker({CONSUME_QUEUE:?}) made no tick after {} new events (batch {})",
                    z.batch_size,
                    b + 1
                );
            }
        }
        let stored = queue_event_count(&d.admin, CONSUME_QUEUE).await?;
        if stored as u64 != z.consume_events() {
            bail!(
                "the queue holds {stored} events, expected {}",
                z.consume_events()
            );
        }
        Ok(())
    }

    /// Every consumer must end on the queue's last tick with no open batch.
    async fn check_consumer_done(&self, i: usize, name: &str) -> Result<()> {
        let d = &self.dbs[i];
        let r = d
            .admin
            .query_one(
                "select c.last_tick, c.current_batch, q.last_tick_id \
                 from pgq.get_consumer_info($1, $2) c, pgq.get_queue_info($1) q",
                &[&CONSUME_QUEUE, &name],
            )
            .await
            .map_err(|e| anyhow!("checking consumer {name}: {}", db::describe(&e)))?;
        let (last, open, top): (Option<i64>, Option<i64>, Option<i64>) =
            (r.get(0), r.get(1), r.get(2));
        if last != top || open.is_some() {
            bail!(
                "consumer {name} did not read the whole queue: at tick {last:?} (queue at {top:?}), \
                 open batch {open:?}"
            );
        }
        Ok(())
    }

    async fn consume_rust(&self, i: usize, name: &str) -> Result<f64> {
        let d = &self.dbs[i];
        let z = &self.sizes;
        let client = self.connect(&d.db).await?;
        let mut consumer =
            Consumer::new(client, CONSUME_QUEUE, name, ConsumerConfig::default()).await?;
        let mut h = Touch::default();
        let total = z.consume_events() as usize;
        let t0 = Instant::now();
        let mut batches = 0u64;
        while h.events < total {
            if consumer.process_batch(&mut h).await?.is_none() {
                bail!(
                    "consumer {name}: no batch ready after {batches} batches and {} events (expected {total})",
                    h.events
                );
            }
            batches += 1;
        }
        let secs = t0.elapsed().as_secs_f64();
        if h.events != total || batches != z.consume_batches || h.touched == 0 {
            bail!(
                "consumer {name}: {} events in {batches} batches, expected {total} in {}",
                h.events,
                z.consume_batches
            );
        }
        Ok(total as f64 / secs)
    }

    async fn consume_sql(&self, i: usize, name: &str) -> Result<f64> {
        let d = &self.dbs[i];
        let z = &self.sizes;
        let (q, c) = (quote_literal(CONSUME_QUEUE), quote_literal(name));
        let script = self.scratch.write(
            &format!("consume_{}_{name}.sql", d.db),
            &format!(
                "SELECT pgq.next_batch({q}, {c}) AS b \\gset\n\
                 SELECT * FROM pgq.get_batch_events(:b);\n\
                 SELECT pgq.finish_batch(:b);\n"
            ),
        )?;
        let args: Vec<String> = vec![
            "-n".into(),
            "-c".into(),
            "1".into(),
            "-j".into(),
            "1".into(),
            "-t".into(),
            z.consume_batches.to_string(),
            "-f".into(),
            script.display().to_string(),
        ];
        let r = self
            .pgbench
            .run(&d.db, &args, Duration::from_secs(3600))
            .await?;
        Ok(r.tps * z.batch_size as f64)
    }

    async fn consume_python(&self, i: usize, name: &str) -> Result<f64> {
        let d = &self.dbs[i];
        let z = &self.sizes;
        let script = self.scratch.write("pgq_consumer.py", PY_CONSUMER)?;
        // configparser interpolates %(name)s: a literal % is doubled.
        let connstr = format!(
            "host={} port={} user={} dbname={}",
            quote_conn_value(&self.cluster.socket_dir().display().to_string()),
            self.cluster.port(),
            crate::cluster::SUPERUSER,
            quote_conn_value(&d.db)
        )
        .replace('%', "%%");
        let ini = self.scratch.write(
            &format!("consumer_{}_{name}.ini", d.db),
            &format!(
                "[bench_pgq_consumer]\n\
                 job_name = {name}\n\
                 db = {connstr}\n\
                 queue_name = {CONSUME_QUEUE}\n\
                 consumer_name = {name}\n\
                 stop_after = {}\n\
                 loop_delay = 0.2\n\
                 logfile =\n\
                 pidfile =\n\
                 use_skylog = 0\n",
                z.consume_events()
            ),
        )?;
        let mut cmd = Command::new(PYTHON);
        cmd.arg(&script)
            .arg("-q")
            .arg(&ini)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("LC_ALL", "C.UTF-8")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME");
        let out = proc::run(
            cmd,
            Duration::from_secs(1800),
            &format!("python3-pgq consumer {name}"),
        )
        .await?;
        if !out.status.success() {
            bail!(
                "python3-pgq consumer {name} failed ({}):\n{}",
                out.status,
                out.tail(15)
            );
        }
        let line = out
            .stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| {
                anyhow!(
                    "python3-pgq consumer {name} printed no result:\n{}",
                    out.tail(15)
                )
            })?;
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("python3-pgq consumer {name}: bad result {line:?}"))?;
        let events = v["events"].as_u64().unwrap_or(0);
        let secs = v["seconds"].as_f64().unwrap_or(0.0);
        if events != z.consume_events() || secs <= 0.0 {
            bail!(
                "python3-pgq consumer {name}: {events} events in {secs} s, expected {}",
                z.consume_events()
            );
        }
        Ok(events as f64 / secs)
    }

    // ---- trigger -----------------------------------------------------

    async fn trigger_part(&mut self) {
        for i in 0..self.dbs.len() {
            let target = self.dbs[i].target;
            progress(&format!(
                "pgbench -i -s {} in {} (+ bigserial primary key on pgbench_history)",
                self.sizes.tpcb_scale,
                target.label()
            ));
            if let Err(e) = self.tpcb_init(i).await {
                let e = format!("preparing TPC-B: {e:#}");
                progress(&format!("{}: FAILED: {e}", target.label()));
                for key in [TRG_OFF, TRG_ON, LOOP_OFF, LOOP_ON, LOOP_FLOOR] {
                    self.fail(key, target, e.clone());
                }
            }
        }
        for run in 0..self.runs {
            for i in self.order(run) {
                let target = self.dbs[i].target;
                let modes = if run % 2 == 0 {
                    [false, true]
                } else {
                    [true, false]
                };
                for on in modes {
                    let (key, loop_key) = if on {
                        (TRG_ON, LOOP_ON)
                    } else {
                        (TRG_OFF, LOOP_OFF)
                    };
                    let logutriga = on.then(logutriga_call);
                    if !self.is_broken(loop_key, target) {
                        let r = self.tpcb_loop_run(i, logutriga.as_deref()).await;
                        self.record(loop_key, target, run, r, "tps");
                    }
                    if !self.is_broken(key, target) {
                        let r = self.tpcb_pgbench(i, logutriga.as_deref()).await;
                        self.record(key, target, run, r, "tps");
                    }
                }
                if !self.is_broken(LOOP_FLOOR, target) {
                    let r = self.tpcb_loop_run(i, Some(&floor_call())).await;
                    self.record(LOOP_FLOOR, target, run, r, "tps");
                }
            }
        }
    }

    async fn tpcb_init(&self, i: usize) -> Result<()> {
        let d = &self.dbs[i];
        self.pgbench.init(&d.db, self.sizes.tpcb_scale).await?;
        d.admin
            .batch_execute(
                "alter table public.pgbench_history add column hid bigserial primary key",
            )
            .await
            .map_err(|e| {
                anyhow!(
                    "adding the primary key to pgbench_history: {}",
                    db::describe(&e)
                )
            })?;
        d.admin
            .batch_execute(TPCB_LOOP_SQL)
            .await
            .map_err(|e| anyhow!("creating the TPC-B loop procedure: {}", db::describe(&e)))?;
        d.admin
            .batch_execute(FLOOR_TRIGGER_SQL)
            .await
            .map_err(|e| anyhow!("creating the floor trigger function: {}", db::describe(&e)))?;
        Ok(())
    }

    /// Puts a row trigger calling `call` (`schema.function(args)`) on the
    /// four TPC-B tables: one simple-protocol query, so all four or none,
    /// and a failure leaves no transaction open on the connection.
    async fn create_tpcb_triggers(&self, i: usize, call: &str) -> Result<()> {
        let mut sql = String::new();
        for t in TPCB_TABLES {
            let _ = writeln!(
                sql,
                "create trigger {} after insert or update or delete on public.{} \
                 for each row execute procedure {call};",
                quote_ident(TRIGGER_NAME),
                quote_ident(t),
            );
        }
        self.dbs[i]
            .admin
            .batch_execute(&sql)
            .await
            .map_err(|e| anyhow!("creating the triggers ({call}): {}", db::describe(&e)))
    }

    async fn drop_tpcb_triggers(&self, i: usize) -> Result<()> {
        let mut sql = String::new();
        for t in TPCB_TABLES {
            let _ = writeln!(
                sql,
                "drop trigger if exists {} on public.{};",
                quote_ident(TRIGGER_NAME),
                quote_ident(t)
            );
        }
        self.dbs[i]
            .admin
            .batch_execute(&sql)
            .await
            .map_err(|e| anyhow!("dropping the triggers: {}", db::describe(&e)))
    }

    /// Checks the trigger queue holds 4 events per transaction (`slack`
    /// more transactions allowed: ones cut off by pgbench's -T), then drops
    /// it so the next run's VACUUM need not walk them.
    async fn check_trigger_events(&self, i: usize, txns: u64, slack: u64) -> Result<()> {
        let c = &self.dbs[i].admin;
        let events = queue_event_count(c, TRIGGER_QUEUE).await? as u64;
        drop_queue_if_exists(c, TRIGGER_QUEUE).await?;
        if events < 4 * txns || events > 4 * (txns + slack) {
            bail!("the triggers queued {events} events for {txns} transactions (expected 4 per transaction)");
        }
        Ok(())
    }

    /// Runs `n` TPC-B transactions in the server, one backend, and returns
    /// their rate.  synchronous_commit is off for this session only: the
    /// figure is the CPU of a transaction, not the disk's flush.
    async fn tpcb_loop(&self, i: usize, n: u32) -> Result<f64> {
        let d = &self.dbs[i];
        let call = |n: u32| format!("call public.skydeck_bench_tpcb({n})");
        let run = async {
            d.admin
                .batch_execute("set synchronous_commit = off")
                .await?;
            // warms the session's caches (the trigger's among them)
            d.admin.batch_execute(&call(loop_warmup(n))).await?;
            let t0 = Instant::now();
            d.admin.batch_execute(&call(n)).await?;
            Ok::<f64, tokio_postgres::Error>(t0.elapsed().as_secs_f64())
        };
        let secs = run.await;
        let reset = d.admin.batch_execute("reset synchronous_commit").await;
        let secs = secs
            .and_then(|s| reset.map(|()| s))
            .map_err(|e| anyhow!("the in-server TPC-B loop: {}", db::describe(&e)))?;
        Ok(f64::from(n) / secs.max(1e-9))
    }

    /// Vacuum and a checkpoint, so each measurement starts from the same
    /// state (not the previous run's dead rows and dirty pages).
    async fn settle(&self, i: usize) -> Result<()> {
        let c = &self.dbs[i].admin;
        c.batch_execute("vacuum analyze")
            .await
            .map_err(|e| anyhow!("vacuum analyze: {}", db::describe(&e)))?;
        checkpoint(c).await
    }

    /// Runs `work` with a row trigger calling `trigger` on the four TPC-B
    /// tables (none: no trigger), then checks the trigger queued 4 events
    /// for each of the transactions `work` reports, `slack` more allowed.
    async fn with_triggers<F, Fut>(
        &self,
        i: usize,
        trigger: Option<&str>,
        slack: u64,
        work: F,
    ) -> Result<f64>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(f64, u64)>>,
    {
        let Some(call) = trigger else {
            self.settle(i).await?;
            return work().await.map(|(tps, _)| tps);
        };
        recreate_queue(&self.dbs[i].admin, TRIGGER_QUEUE).await?;
        self.create_tpcb_triggers(i, call).await?;
        let r = async {
            self.settle(i).await?;
            work().await
        }
        .await;
        self.drop_tpcb_triggers(i).await?;
        let (tps, txns) = r?;
        self.check_trigger_events(i, txns, slack).await?;
        Ok(tps)
    }

    /// The in-server loop's rate, with `trigger` on the tables.
    async fn tpcb_loop_run(&self, i: usize, trigger: Option<&str>) -> Result<f64> {
        let n = self.sizes.loop_txns;
        self.with_triggers(i, trigger, 0, || async move {
            let tps = self.tpcb_loop(i, n).await?;
            // the warm-up's transactions fire the trigger too
            Ok((tps, u64::from(n + loop_warmup(n))))
        })
        .await
    }

    /// pgbench's tps, with `trigger` on the tables.
    async fn tpcb_pgbench(&self, i: usize, trigger: Option<&str>) -> Result<f64> {
        let z = &self.sizes;
        // a transaction cut off by -T may add its events
        self.with_triggers(i, trigger, u64::from(z.tpcb_clients), || async move {
            let clients = z.tpcb_clients.to_string();
            let secs = z.tpcb_seconds.to_string();
            let args: Vec<String> = [
                "-n", "-c", &clients, "-j", "2", "-T", &secs, "-M", "prepared",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let timeout = Duration::from_secs(u64::from(z.tpcb_seconds) + 600);
            let run = self.pgbench.run(&self.dbs[i].db, &args, timeout).await?;
            Ok((run.tps, run.transactions))
        })
        .await
    }
}

/// The trigger of the logutriga figures.
fn logutriga_call() -> String {
    format!("pgq.logutriga({})", quote_literal(TRIGGER_QUEUE))
}

/// The trigger of the floor figure (see LOOP_FLOOR).
fn floor_call() -> String {
    format!(
        "public.skydeck_bench_floor({})",
        quote_literal(TRIGGER_QUEUE)
    )
}

/// Transactions the in-server loop runs before the `n` it times.
fn loop_warmup(n: u32) -> u32 {
    n / 10 + 1
}

/// pgbench's TPC-B transaction (the same statements, random keys over the
/// whole scale), committed one by one in a procedure.
const TPCB_LOOP_SQL: &str = r#"
create or replace procedure public.skydeck_bench_tpcb(n integer)
language plpgsql as $$
declare
    nbranches integer;
    a integer;
    t integer;
    b integer;
    delta integer;
    bal integer;
begin
    select count(*) into nbranches from public.pgbench_branches;
    for i in 1 .. n loop
        a := 1 + floor(random() * 100000 * nbranches)::integer;
        t := 1 + floor(random() * 10 * nbranches)::integer;
        b := 1 + floor(random() * nbranches)::integer;
        delta := floor(random() * 10001)::integer - 5000;
        update public.pgbench_accounts set abalance = abalance + delta where aid = a;
        select abalance into bal from public.pgbench_accounts where aid = a;
        update public.pgbench_tellers set tbalance = tbalance + delta where tid = t;
        update public.pgbench_branches set bbalance = bbalance + delta where bid = b;
        insert into public.pgbench_history (tid, bid, aid, delta, mtime)
            values (t, b, a, delta, current_timestamp);
        commit;
    end loop;
end;
$$;
"#;

/// The floor of a PL/pgSQL trigger (see LOOP_FLOOR): it reads its queue
/// from its argument, as any trigger must, and queues a constant event.
const FLOOR_TRIGGER_SQL: &str = r#"
create or replace function public.skydeck_bench_floor()
returns trigger language plpgsql as $$
declare
    ev bigint;
begin
    ev := pgq.insert_event(TG_ARGV[0], 'U:aid', 'aid=1', 'public.pgbench_accounts', null, null, null);
    return null;
end;
$$;
"#;

struct InsertScripts {
    single: String,
    stmt100: String,
    batch: String,
    raw: String,
}

/// The benchmark's handler: reads every event's type and data, as a real
/// consumer must at least.
#[derive(Default)]
struct Touch {
    events: usize,
    touched: usize,
}

impl BatchHandler for Touch {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a Transaction<'_>,
        _batch: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for ev in events {
            self.touched += ev.ev_type.as_deref().map_or(0, str::len)
                + ev.ev_data.as_deref().map_or(0, str::len);
        }
        self.events += events.len();
        Ok(())
    }
}

/// Whether `/usr/bin/python3` can import python3-pgq: its description, or
/// why not.
async fn python_consumer_available() -> Result<String, String> {
    if !std::path::Path::new(PYTHON).is_file() {
        return Err(format!(
            "{PYTHON} not found (Debian: apt-get install python3-pgq)"
        ));
    }
    let mut cmd = Command::new(PYTHON);
    cmd.args([
        "-c",
        "import sys, pgq; print('Python %s, python3-pgq %s' % (sys.version.split()[0], getattr(pgq, '__version__', '?')))",
    ]);
    match proc::run(cmd, Duration::from_secs(60), "checking python3-pgq").await {
        Ok(out) if out.status.success() => Ok(format!("{PYTHON}: {}", out.stdout.trim())),
        Ok(out) => Err(format!(
            "`{PYTHON} -c 'import pgq'` failed: {} (Debian: apt-get install python3-pgq)",
            out.tail(1)
        )),
        Err(e) => Err(format!("{e:#}")),
    }
}

async fn checkpoint(c: &Client) -> Result<()> {
    c.batch_execute("checkpoint")
        .await
        .map_err(|e| anyhow!("checkpoint: {}", db::describe(&e)))
}

async fn drop_queue_if_exists(c: &Client, queue: &str) -> Result<()> {
    if pgq::queue_exists(c, queue).await? {
        pgq::drop_queue(c, queue, true).await?;
    }
    Ok(())
}

async fn recreate_queue(c: &Client, queue: &str) -> Result<()> {
    drop_queue_if_exists(c, queue).await?;
    pgq::create_queue(c, queue).await?;
    Ok(())
}

/// Rows in all of a queue's event tables.
async fn queue_event_count(c: &Client, queue: &str) -> Result<i64> {
    let pfx: String = c
        .query_one(
            "select queue_data_pfx from pgq.queue where queue_name = $1",
            &[&queue],
        )
        .await
        .map_err(|e| anyhow!("looking up queue {queue:?}: {}", db::describe(&e)))?
        .get(0);
    let q = format!("select count(*) from {}", quote_fqname(&pfx));
    Ok(c.query_one(q.as_str(), &[])
        .await
        .map_err(|e| {
            anyhow!(
                "counting the events of queue {queue:?}: {}",
                db::describe(&e)
            )
        })?
        .get(0))
}
