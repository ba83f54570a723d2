//! `skydeck bench ticker`: one ticker over many databases with many
//! queues — ticks per second sustained, CPU per tick cycle — against the
//! original pgqd on the same databases in the same run when it is
//! installed; and the console's render time for a deck of 1,000 queues.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::cluster::LocalCluster;
use crate::fmt::Table;
use crate::ticker::{self, PgBackend, Settings, Status};

#[derive(Debug, Args)]
pub struct TickerBenchArgs {
    /// Databases to create.
    #[arg(long, default_value_t = 100)]
    pub databases: usize,
    /// Queues per database.
    #[arg(long, default_value_t = 10)]
    pub queues: usize,
    /// The ticker period asked for, in seconds.
    #[arg(long, default_value_t = 0.1)]
    pub period: f64,
    /// How long each ticker runs.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Queues and consumers in the console's render measurement.
    #[arg(long, default_value_t = 1000)]
    pub render_queues: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TickerFigures {
    pub ticker: String,
    pub seconds: f64,
    /// `pgq.ticker()` rounds over all databases.
    pub rounds: u64,
    pub rounds_per_sec: f64,
    /// Ticks recorded (rows in pgq.tick), all queues.
    pub ticks: u64,
    pub ticks_per_sec: f64,
    /// Mean time between two rounds on one database.
    pub achieved_period_ms: f64,
    /// CPU (user + system) of the ticker process per round.
    pub cpu_us_per_round: f64,
    pub cpu_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderFigure {
    pub view: String,
    pub queues: usize,
    pub consumers: usize,
    pub ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub databases: usize,
    pub queues_per_database: usize,
    pub period_s: f64,
    pub tickers: Vec<TickerFigures>,
    pub render: Vec<RenderFigure>,
}

/// CPU seconds (user + system) of this process.
fn self_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we own.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(ru.ru_utime) + t(ru.ru_stime)
    }
}

/// CPU seconds of another process, from /proc.
fn proc_cpu(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) are split by ')'.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

async fn count_ticks(cluster: &LocalCluster, dbs: &[String]) -> Result<u64> {
    let mut total = 0u64;
    for d in dbs {
        let c = cluster.connect(d).await?;
        let n: i64 = c
            .query_one("select count(*) from pgq.tick", &[])
            .await?
            .get(0);
        total += n as u64;
    }
    Ok(total)
}

pub async fn run(a: TickerBenchArgs) -> Result<()> {
    if a.databases == 0 || a.queues == 0 || a.period <= 0.0 {
        bail!("--databases, --queues and --period must be positive");
    }
    let conns = (a.databases * 3 + 50).max(100);
    eprintln!("bench ticker: starting a cluster (max_connections {conns}) …");
    let cluster = {
        let c = conns.to_string();
        tokio::task::spawn_blocking(move || {
            LocalCluster::builder("bench_ticker")
                .setting("max_connections", &c)
                .start()
        })
        .await??
    };
    let admin = cluster.connect("postgres").await?;
    admin
        .batch_execute("create database ticker_template")
        .await?;
    {
        let mut t = cluster.connect("ticker_template").await?;
        crate::install::install(&mut t, &[]).await?;
        for q in 0..a.queues {
            let name = format!("q{q}");
            crate::pgq::create_queue(&t, &name).await?;
            // Every round ticks every queue: the heaviest steady load.
            for (k, v) in [("ticker_max_lag", "0"), ("ticker_idle_period", "0")] {
                crate::pgq::set_queue_config(&t, &name, k, v).await?;
            }
        }
    }
    let dbs: Vec<String> = (0..a.databases).map(|i| format!("tick{i:03}")).collect();
    eprintln!(
        "bench ticker: creating {} databases with {} queues each …",
        a.databases, a.queues
    );
    for d in &dbs {
        admin
            .batch_execute(&format!("create database {d} template ticker_template"))
            .await
            .with_context(|| format!("creating database {d}"))?;
    }
    let base = format!(
        "host={} port={} user=postgres",
        cluster.socket_dir().display(),
        cluster.port()
    );
    let period = Duration::from_secs_f64(a.period);
    let run_for = Duration::from_secs(a.seconds);
    let mut tickers = Vec::new();

    // skydeck's ticker, in this process.
    eprintln!("bench ticker: skydeck ticker for {} s …", a.seconds);
    let before = count_ticks(&cluster, &dbs).await?;
    let settings = Settings {
        base_connstr: base.clone(),
        initial_database: "postgres".into(),
        database_list: dbs.clone(),
        ticker_period: period,
        // Maintenance and retry as pgqd's defaults: not what is measured.
        ..Settings::default()
    };
    let backend = PgBackend::new(&base, "postgres").map_err(anyhow::Error::msg)?;
    let stop = CancellationToken::new();
    let (tx, rx) = watch::channel(Status::default());
    let task = tokio::spawn(ticker::run(backend, settings, stop.clone(), tx));
    // Wait until every database ticks, then measure a steady window.
    let ready_by = Instant::now() + Duration::from_secs(60);
    loop {
        let up = rx
            .borrow()
            .databases
            .values()
            .filter(|d| matches!(d.state, ticker::DbState::Ticking { .. }))
            .count();
        if up == dbs.len() {
            break;
        }
        if Instant::now() > ready_by {
            bail!(
                "only {up} of {} databases were ticking after 60 s",
                dbs.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rounds0: u64 = rx.borrow().databases.values().map(|d| d.tick_rounds).sum();
    let ticks0 = count_ticks(&cluster, &dbs).await?;
    let cpu0 = self_cpu();
    let t0 = Instant::now();
    tokio::time::sleep(run_for).await;
    let cpu1 = self_cpu();
    let elapsed = t0.elapsed().as_secs_f64();
    let rounds1: u64 = rx.borrow().databases.values().map(|d| d.tick_rounds).sum();
    stop.cancel();
    let _ = task.await;
    let ticks1 = count_ticks(&cluster, &dbs).await?;
    let _ = before;
    tickers.push(figures(
        "skydeck",
        elapsed,
        rounds1 - rounds0,
        ticks1 - ticks0,
        cpu1 - cpu0,
        dbs.len(),
    ));

    // The original pgqd on the same databases, when installed.
    let pgqd = ["/usr/sbin/pgqd", "/usr/bin/pgqd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file());
    match pgqd {
        None => eprintln!(
            "bench ticker: the original pgqd is not installed (Debian: pgqd); skipping it"
        ),
        Some(bin) => {
            eprintln!("bench ticker: the original pgqd for {} s …", a.seconds);
            let dir = cluster.socket_dir().join("pgqd-bench");
            std::fs::create_dir_all(&dir)?;
            let ini = dir.join("pgqd.ini");
            std::fs::write(
                &ini,
                format!(
                    "[pgqd]\nbase_connstr = {base}\ndatabase_list = {}\nticker_period = {}\nsyslog = 0\n\
                     logfile = {}\nstats_period = 1\n",
                    dbs.join(","),
                    a.period,
                    dir.join("pgqd.log").display()
                ),
            )?;
            let mut child = Command::new(bin)
                .arg(&ini)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {bin}"))?;
            // pgqd logs {ticks: N} per stats_period: rounds are read from it.
            tokio::time::sleep(Duration::from_secs(5)).await;
            let ticks0 = count_ticks(&cluster, &dbs).await?;
            let log = dir.join("pgqd.log");
            let lines0 = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count();
            let cpu0 = proc_cpu(child.id()).unwrap_or(0.0);
            let t0 = Instant::now();
            tokio::time::sleep(run_for).await;
            let cpu1 = proc_cpu(child.id()).unwrap_or(0.0);
            let elapsed = t0.elapsed().as_secs_f64();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let rounds: u64 = text
                .lines()
                .skip(lines0)
                .filter_map(|l| l.split("{ticks: ").nth(1))
                .filter_map(|r| r.split(',').next()?.trim().parse::<u64>().ok())
                .sum();
            // SAFETY: signalling our own child.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGINT);
            }
            let _ = child.wait();
            let ticks1 = count_ticks(&cluster, &dbs).await?;
            tickers.push(figures(
                "pgqd (original)",
                elapsed,
                rounds,
                ticks1 - ticks0,
                cpu1 - cpu0,
                dbs.len(),
            ));
        }
    }

    // The console's render time for a large deck.
    let mut render = Vec::new();
    let snap = Arc::new(skydeck_ui::fixtures::large_deck(a.render_queues));
    let consumers: usize = snap.queues.iter().map(|q| q.consumers.len()).sum();
    for view in [
        skydeck_ui::ViewId::Overview,
        skydeck_ui::ViewId::Queues,
        skydeck_ui::ViewId::Workers,
        skydeck_ui::ViewId::Logs,
    ] {
        // Median of 21 frames at 160×50.
        let mut times: Vec<f64> = (0..21)
            .map(|_| skydeck_ui::render_once(snap.clone(), view, 160, 50).as_secs_f64() * 1000.0)
            .collect();
        times.sort_by(f64::total_cmp);
        render.push(RenderFigure {
            view: format!("{view:?}"),
            queues: snap.queues.len(),
            consumers,
            ms: times[times.len() / 2],
        });
    }

    let report = Report {
        databases: a.databases,
        queues_per_database: a.queues,
        period_s: a.period,
        tickers,
        render,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    drop(cluster);
    Ok(())
}

fn figures(name: &str, secs: f64, rounds: u64, ticks: u64, cpu: f64, dbs: usize) -> TickerFigures {
    let rounds_per_sec = rounds as f64 / secs;
    TickerFigures {
        ticker: name.into(),
        seconds: secs,
        rounds,
        rounds_per_sec,
        ticks,
        ticks_per_sec: ticks as f64 / secs,
        achieved_period_ms: if rounds_per_sec > 0.0 {
            1000.0 * dbs as f64 / rounds_per_sec
        } else {
            f64::NAN
        },
        cpu_us_per_round: if rounds > 0 {
            cpu * 1e6 / rounds as f64
        } else {
            f64::NAN
        },
        cpu_percent: 100.0 * cpu / secs,
    }
}

fn print_report(r: &Report) {
    println!(
        "ticker over {} databases × {} queues ({} queues), period asked {:.3} s; every round ticks every queue",
        r.databases,
        r.queues_per_database,
        r.databases * r.queues_per_database,
        r.period_s
    );
    let mut t = Table::new([
        "ticker",
        "rounds/s",
        "ticks/s",
        "period (ms)",
        "CPU/round (µs)",
        "CPU %",
    ]);
    for f in &r.tickers {
        t.row([
            f.ticker.clone(),
            format!("{:.0}", f.rounds_per_sec),
            format!("{:.0}", f.ticks_per_sec),
            format!("{:.1}", f.achieved_period_ms),
            format!("{:.0}", f.cpu_us_per_round),
            format!("{:.1}", f.cpu_percent),
        ]);
    }
    print!("{}", t.render());
    if r.tickers.len() == 2 {
        let (s, p) = (&r.tickers[0], &r.tickers[1]);
        println!(
            "skydeck / pgqd: ticks/s {:.2}, CPU per round {:.2}",
            s.ticks_per_sec / p.ticks_per_sec,
            s.cpu_us_per_round / p.cpu_us_per_round
        );
    }
    println!();
    let mut t = Table::new(["console view", "queues", "consumers", "render (ms)"]);
    for f in &r.render {
        t.row([
            f.view.clone(),
            f.queues.to_string(),
            f.consumers.to_string(),
            format!("{:.2}", f.ms),
        ]);
    }
    print!("{}", t.render());
}
