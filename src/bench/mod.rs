//! `skydeck bench …`: benchmarks that set up their own clusters and print
//! figures with same-run ratios against the named baseline.

mod cascade;
mod londiste;
mod pgbench;
mod pgq;
mod proc;
mod report;
mod ticker;
mod walmgr;

use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// PgQ: insert rates, consumer rate, trigger overhead (pgbench TPC-B),
    /// against the C extension when it is installed.
    Pgq(pgq::PgqBenchArgs),
    /// The ticker over many databases and queues (ticks/s, CPU per round)
    /// against the original pgqd, and the console's render time.
    Ticker(ticker::TickerBenchArgs),
    /// Cascade: the branch's copy rate against a full-speed producer,
    /// switchover under load there and back, failover.
    Cascade(cascade::CascadeBenchArgs),
    /// Londiste: initial copy (pgbench scale 20) against a COPY pipe and
    /// native logical replication, steady-state lag, backlog drain.
    Londiste(londiste::LondisteBenchArgs),
    /// walmgr: archive and restore throughput (none, lz4, zstd, pushed
    /// ahead, prefetched) against cp, and a base backup against
    /// pg_basebackup.
    Walmgr(walmgr::WalmgrBenchArgs),
}

pub async fn run(a: BenchArgs) -> Result<()> {
    match a.which {
        BenchCommand::Pgq(a) => pgq::run(a).await,
        BenchCommand::Ticker(a) => ticker::run(a).await,
        BenchCommand::Cascade(a) => cascade::run(a).await,
        BenchCommand::Londiste(a) => londiste::run(a).await,
        BenchCommand::Walmgr(a) => walmgr::run(a).await,
    }
}

/// skydeck's ticker for database `db` of a bench cluster, every `period`.
fn spawn_ticker(
    cl: &crate::cluster::LocalCluster,
    db: &str,
    period: std::time::Duration,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let base = format!(
        "host={} port={} user=postgres",
        cl.socket_dir().display(),
        cl.port()
    );
    let settings = crate::ticker::Settings {
        base_connstr: base.clone(),
        initial_database: "postgres".into(),
        database_list: vec![db.into()],
        ticker_period: period,
        ..crate::ticker::Settings::default()
    };
    let backend = crate::ticker::PgBackend::new(&base, "postgres").map_err(anyhow::Error::msg)?;
    let (tx, _rx) = tokio::sync::watch::channel(crate::ticker::Status::default());
    Ok(tokio::spawn(crate::ticker::run(
        backend,
        settings,
        stop.clone(),
        tx,
    )))
}
