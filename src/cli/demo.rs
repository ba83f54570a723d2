//! `skydeck demo`: the embedded default. Until the console exists it starts
//! a throwaway cluster with a queue, a table whose changes `logutriga`
//! turns into events, a producer writing to it, a ticker, and prints the
//! decoded events as a consumer receives them. Everything is stopped and
//! removed on exit (Ctrl-C, or after `--duration`).

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::parse_duration;
use crate::cluster::LocalCluster;
use crate::pgq::{
    self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event, Payload,
};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself after this long (default: run until Ctrl-C).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Writes per second of the producer.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
}

const QUEUE: &str = "demo";
const CONSUMER: &str = "demo_watcher";

const SETUP: &str = "
create table public.accounts (
    id      int primary key,
    owner   text not null,
    balance numeric(12,2) not null default 0
);
create trigger accounts_to_queue after insert or update or delete on public.accounts
    for each row execute procedure pgq.logutriga('demo');
";

pub async fn run(a: DemoArgs) -> Result<()> {
    let duration = a.duration.as_deref().map(parse_duration).transpose()?;
    eprintln!("skydeck demo: starting a throwaway PostgreSQL cluster …");
    let cluster = tokio::task::spawn_blocking(|| LocalCluster::builder("demo").start())
        .await
        .context("starting the demo cluster")??;
    let result = demo(&cluster, duration, a.rate).await;
    eprintln!("skydeck demo: stopping and removing the cluster");
    drop(cluster);
    result
}

async fn demo(cluster: &LocalCluster, duration: Option<Duration>, rate: f64) -> Result<()> {
    let connstr = cluster.connstr("postgres");
    let mut admin = crate::db::connect(&connstr).await?;
    crate::install::install(&mut admin, &[]).await?;
    pgq::create_queue(&admin, QUEUE).await?;
    pgq::set_queue_config(&admin, QUEUE, "ticker_max_lag", "500 milliseconds").await?;
    pgq::set_queue_config(&admin, QUEUE, "ticker_idle_period", "2 seconds").await?;
    admin
        .batch_execute(SETUP)
        .await
        .context("creating the demo table")?;
    pgq::register_consumer(&admin, QUEUE, CONSUMER).await?;

    eprintln!("skydeck demo: cluster is up. In another terminal, try:");
    eprintln!("  skydeck pgq --db \"{connstr}\" queues");
    eprintln!("  skydeck pgq --db \"{connstr}\" consumers");
    eprintln!("  psql \"{connstr}\" -c 'select * from public.accounts'");
    eprintln!("skydeck demo: events as consumer {CONSUMER:?} receives them (Ctrl-C to stop):");

    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.cancel();
            }
        });
    }
    if let Some(d) = duration {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            stop.cancel();
        });
    }

    let ticker = tokio::spawn(tick_loop(crate::db::connect(&connstr).await?, stop.clone()));
    let producer = tokio::spawn(produce(
        crate::db::connect(&connstr).await?,
        stop.clone(),
        rate,
    ));

    let cfg = ConsumerConfig {
        idle_sleep: Duration::from_millis(200),
        ..Default::default()
    };
    let mut consumer =
        Consumer::new(crate::db::connect(&connstr).await?, QUEUE, CONSUMER, cfg).await?;
    let consumed = consumer.run(&mut Watcher, &stop).await;
    stop.cancel();
    let _ = ticker.await;
    let produced = producer.await.context("producer task")?;
    consumed?;
    produced?;
    Ok(())
}

/// A minimal in-process pgqd until the ticker subsystem lands.
async fn tick_loop(client: tokio_postgres::Client, stop: CancellationToken) -> Result<()> {
    let mut n = 0u64;
    while !stop.is_cancelled() {
        pgq::ticker_all(&client).await?;
        n += 1;
        if n % 20 == 0 {
            pgq::retry_maint(&client).await?;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    Ok(())
}

async fn produce(client: tokio_postgres::Client, stop: CancellationToken, rate: f64) -> Result<()> {
    let owners = ["ada", "grace", "linus", "barbara", "ken", "margaret"];
    let mut rng = 0x2545_f491_4f6c_dd1du64 ^ std::process::id() as u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let pause = Duration::from_secs_f64(1.0 / rate.clamp(0.1, 1000.0));
    while !stop.is_cancelled() {
        let id = (next() % 20) as i32;
        let owner = owners[(next() % owners.len() as u64) as usize];
        let amount = (next() % 10_000) as f64 / 100.0;
        if next() % 5 == 0 {
            client
                .execute("delete from public.accounts where id = $1", &[&id])
                .await?;
        } else {
            client
                .execute(
                    "insert into public.accounts (id, owner, balance) values ($1, $2, $3::float8) \
                     on conflict (id) do update \
                     set balance = accounts.balance + excluded.balance, owner = excluded.owner",
                    &[&id, &owner, &amount],
                )
                .await?;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    Ok(())
}

struct Watcher;

impl BatchHandler for Watcher {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a tokio_postgres::Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        for ev in events {
            match pgq::decode(QUEUE, batch.batch_id, ev)? {
                Payload::Row(r) => {
                    let cols: Vec<String> = r
                        .columns
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NULL")))
                        .collect();
                    println!(
                        "batch {:>4}  event {:>6}  {:<6} {}  {}",
                        batch.batch_id,
                        ev.ev_id,
                        r.op.as_str(),
                        r.table.as_deref().unwrap_or("?"),
                        cols.join(" ")
                    );
                }
                Payload::Other => println!(
                    "batch {:>4}  event {:>6}  {} {}",
                    batch.batch_id,
                    ev.ev_id,
                    ev.ev_type.as_deref().unwrap_or(""),
                    ev.ev_data.as_deref().unwrap_or("")
                ),
            }
        }
        Ok(())
    }
}
