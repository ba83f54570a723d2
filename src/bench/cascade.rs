//! `skydeck bench cascade`: a root → branch cascade on two clusters.
//! * copy rate: a producer writes as fast as it can (1,000 events per
//!   statement, the core benchmark's fastest `insert_event` form) while the
//!   branch worker copies; figures: producer rate, copy rate, the branch's
//!   lag when the producer stops and the time to catch up;
//! * switchover root ↔ branch with writes running: duration and how long
//!   writes were refused, there and back;
//! * failover: the root's cluster killed, the branch takes over.
//!
//! The original's switchover figures (baseline.md §3, 12–13 s with writes
//! stopped) are printed for reference; they are not re-measured here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cascade::admin::{Admin, NodeKind, TakeoverOptions};
use crate::cascade::{CascadeWorker, WorkerSettings};
use crate::cluster::LocalCluster;
use crate::daemon::{Policy, Supervisor};
use crate::fmt::Table;

const Q: &str = "bench";

#[derive(Debug, Args)]
pub struct CascadeBenchArgs {
    /// Seconds of full-speed writing for the copy-rate measurement.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize, Default)]
pub struct Report {
    pub producer_ev_per_sec: f64,
    pub copy_ev_per_sec: f64,
    pub copied_events: u64,
    pub lag_at_stop_s: f64,
    pub catch_up_s: f64,
    pub switchover_s: f64,
    pub switchover_writes_refused_ms: Option<f64>,
    pub switchback_s: f64,
    pub switchback_writes_refused_ms: Option<f64>,
    pub failover_s: f64,
}

struct Node {
    cluster: LocalCluster,
    connstr: String,
    admin: Admin,
}

async fn node(name: &str) -> Result<Node> {
    let n = name.to_string();
    let cluster = tokio::task::spawn_blocking(move || {
        LocalCluster::builder(&format!("bench_{n}"))
            .setting("synchronous_commit", "on")
            .setting("fsync", "on")
            .start()
    })
    .await??;
    cluster
        .connect("postgres")
        .await?
        .batch_execute("create database app")
        .await?;
    let connstr = cluster.connstr("app");
    let mut c = crate::db::connect(&connstr).await?;
    crate::install::install(&mut c, &["pgq".into(), "pgq_node".into()]).await?;
    let mut admin = Admin::new(Q, &connstr, &format!("{name}_worker"));
    admin.timeout = Duration::from_secs(120);
    Ok(Node {
        cluster,
        connstr,
        admin,
    })
}

async fn completed(n: &Node, worker: &str) -> Result<i64> {
    let c = crate::db::connect(&n.connstr).await?;
    Ok(crate::cascade::node::consumer_state(&c, Q, worker)
        .await?
        .completed_tick
        .unwrap_or(0))
}

async fn top_tick(connstr: &str) -> Result<i64> {
    let c = crate::db::connect(connstr).await?;
    let r = c
        .query_one(
            "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1",
            &[&Q],
        )
        .await?;
    Ok(r.get::<_, Option<i64>>(0).unwrap_or(0))
}

/// Writes to whichever node accepts, `per` events per statement.
fn producer(
    targets: Vec<String>,
    per: i32,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut n = 0u64;
        let mut t = 0usize;
        let sql = "select count(pgq.insert_event($1, 'I:id', 'id=' || i || '&aid=' || i || '&bid=1&abalance=0&filler=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')) \
                   from generate_series(1, $2::int4) i";
        let mut conn: Option<tokio_postgres::Client> = None;
        while !stop.is_cancelled() {
            if conn.is_none() {
                conn = crate::db::connect(&targets[t]).await.ok();
            }
            let Some(c) = conn.as_ref() else {
                t = (t + 1) % targets.len();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            match c.query_one(sql, &[&Q, &per]).await {
                Ok(_) => n += per as u64,
                Err(_) => {
                    conn = None;
                    t = (t + 1) % targets.len();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        n
    })
}

fn refused_ms(steps: &[String]) -> Option<f64> {
    // "... writes accepted again (38ms after they were refused)"
    let s = steps
        .iter()
        .rev()
        .find(|s| s.contains("writes accepted again"))?;
    let inner = s.split('(').nth(1)?.split(" after").next()?;
    parse_dur_ms(inner)
}

fn parse_dur_ms(s: &str) -> Option<f64> {
    if let Some(v) = s.strip_suffix("ms") {
        return v.parse().ok();
    }
    s.strip_suffix('s')
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v * 1000.0)
}

pub async fn run(a: CascadeBenchArgs) -> Result<()> {
    eprintln!("bench cascade: starting root and branch clusters …");
    let root = node("root").await?;
    let branch = node("branch").await?;
    let steps = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = steps.clone();
    let mut p = move |s: &str| {
        eprintln!("  {s}");
        s2.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(s.to_string());
    };
    root.admin
        .create_root("root", &root.connstr, true, &mut p)
        .await?;
    branch
        .admin
        .create_subscriber(
            NodeKind::Branch,
            "branch",
            &branch.connstr,
            &root.connstr,
            None,
            None,
            true,
            &mut p,
        )
        .await?;
    {
        let c = crate::db::connect(&root.connstr).await?;
        crate::pgq::set_queue_config(&c, Q, "ticker_max_lag", "100 milliseconds").await?;
    }
    let stop = CancellationToken::new();
    let tickers = vec![
        super::spawn_ticker(&root.cluster, "app", Duration::from_millis(100), &stop)?,
        super::spawn_ticker(&branch.cluster, "app", Duration::from_millis(100), &stop)?,
    ];
    let sup = Supervisor::new(Policy::default());
    for (n, name) in [(&root, "root"), (&branch, "branch")] {
        let mut s = WorkerSettings::new(Q, &format!("{name}_worker"), &n.connstr);
        s.loop_delay = Duration::from_millis(500);
        sup.add(Arc::new(CascadeWorker::new(s, String::new(), name)));
    }
    let mut rep = Report::default();

    // 1. Copy rate at full producer speed.
    eprintln!(
        "bench cascade: producer at full speed for {} s …",
        a.seconds
    );
    let t_start_tick = top_tick(&root.connstr).await?;
    let stop_p = CancellationToken::new();
    let prod = producer(vec![root.connstr.clone()], 1000, stop_p.clone());
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    stop_p.cancel();
    let produced = prod.await?;
    let write_s = t0.elapsed().as_secs_f64();
    rep.producer_ev_per_sec = produced as f64 / write_s;
    let rc = crate::db::connect(&root.connstr).await?;
    let _ = crate::pgq::tick_now(&rc, Q).await;
    let target = top_tick(&root.connstr).await?;
    let at_stop = completed(&branch, "branch_worker").await?;
    let lag_row = rc
        .query_one(
            "select extract(epoch from now() - t.tick_time)::float8 from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue \
              where q.queue_name = $1 and t.tick_id = $2",
            &[&Q, &at_stop],
        )
        .await
        .ok();
    rep.lag_at_stop_s = lag_row.map(|r| r.get::<_, f64>(0)).unwrap_or(0.0).max(0.0);
    let t1 = Instant::now();
    while completed(&branch, "branch_worker").await? < target {
        if t1.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the branch did not catch up within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rep.catch_up_s = t1.elapsed().as_secs_f64();
    let bc = crate::db::connect(&branch.connstr).await?;
    let copied: i64 = bc
        .query_one(
            "select count(*) from pgq.event_template e where e.ev_type = 'I:id'",
            &[],
        )
        .await
        .context("counting copied events")?
        .get(0);
    rep.copied_events = copied as u64;
    rep.copy_ev_per_sec = copied as f64 / (write_s + rep.catch_up_s);
    let _ = t_start_tick;

    // 2. Switchover there and back with writes running.
    eprintln!("bench cascade: switchover under load …");
    let stop_p = CancellationToken::new();
    let prod = producer(
        vec![root.connstr.clone(), branch.connstr.clone()],
        10,
        stop_p.clone(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    steps.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let t = Instant::now();
    branch
        .admin
        .takeover(None, "root", &TakeoverOptions::default(), &mut p)
        .await?;
    rep.switchover_s = t.elapsed().as_secs_f64();
    rep.switchover_writes_refused_ms = refused_ms(&steps.lock().unwrap_or_else(|e| e.into_inner()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    steps.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let t = Instant::now();
    root.admin
        .takeover(None, "branch", &TakeoverOptions::default(), &mut p)
        .await?;
    rep.switchback_s = t.elapsed().as_secs_f64();
    rep.switchback_writes_refused_ms = refused_ms(&steps.lock().unwrap_or_else(|e| e.into_inner()));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // 3. Failover: the root's server dies.
    eprintln!("bench cascade: failover …");
    let mut root = root;
    root.cluster.crash();
    let t = Instant::now();
    branch
        .admin
        .takeover(
            None,
            "root",
            &TakeoverOptions {
                dead_root: true,
                ..TakeoverOptions::default()
            },
            &mut p,
        )
        .await?;
    rep.failover_s = t.elapsed().as_secs_f64();
    stop_p.cancel();
    let _ = prod.await;
    stop.cancel();
    sup.shutdown(Duration::from_secs(10)).await;
    for t in tickers {
        let _ = t.await;
    }

    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    let mut t = Table::new(["figure", "value", "target / reference"]);
    t.row([
        "producer (1000 events/statement)".to_string(),
        crate::fmt::rate(rep.producer_ev_per_sec),
        "the core benchmark's insert rate".to_string(),
    ]);
    t.row([
        "branch copy rate".to_string(),
        crate::fmt::rate(rep.copy_ev_per_sec),
        format!(
            "{:.2} × the producer (keep up: ≥ 1)",
            rep.copy_ev_per_sec / rep.producer_ev_per_sec.max(1.0)
        ),
    ]);
    t.row([
        "branch lag when the producer stopped".to_string(),
        crate::fmt::secs(rep.lag_at_stop_s),
        String::new(),
    ]);
    t.row([
        "catch-up after the producer stopped".to_string(),
        crate::fmt::secs(rep.catch_up_s),
        String::new(),
    ]);
    let ms = |v: Option<f64>| {
        v.map(|x| format!("{x:.0} ms"))
            .unwrap_or_else(|| "-".into())
    };
    t.row([
        "switchover root → branch, writes running".to_string(),
        crate::fmt::secs(rep.switchover_s),
        "< 2 s (original: 12–13 s with writes stopped)".to_string(),
    ]);
    t.row([
        "  writes refused".to_string(),
        ms(rep.switchover_writes_refused_ms),
        "well under 1 s".to_string(),
    ]);
    t.row([
        "switchover back".to_string(),
        crate::fmt::secs(rep.switchback_s),
        "< 2 s".to_string(),
    ]);
    t.row([
        "  writes refused".to_string(),
        ms(rep.switchback_writes_refused_ms),
        "well under 1 s".to_string(),
    ]);
    t.row([
        "failover (root killed)".to_string(),
        crate::fmt::secs(rep.failover_s),
        String::new(),
    ]);
    print!("{}", t.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_window_is_read_from_the_steps() {
        let steps = vec![
            "Step 1".to_string(),
            "branch promoted to root: writes accepted again (38ms after they were refused)"
                .to_string(),
        ];
        assert_eq!(refused_ms(&steps), Some(38.0));
        assert_eq!(parse_dur_ms("1.5s"), Some(1500.0));
        assert_eq!(refused_ms(&["x".to_string()]), None);
    }
}
