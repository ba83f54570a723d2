//! `skydeck londiste JOB.ini COMMAND` and `skydeck cascade JOB.ini COMMAND`:
//! the cascade administration with the original command and option names.
//! Londiste's table commands join the first family with the Londiste issue.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};

use super::print_json;
use crate::cascade::admin::{Admin, NodeKind, Progress, TakeoverOptions};
use crate::cascade::{CascadeWorker, WorkerSettings};
use crate::config::{JobFile, Section};
use crate::daemon::{Policy, Supervisor};
use crate::fmt::Table;

#[derive(Debug, Args)]
pub struct CascadeArgs {
    /// The job file: `[londiste]` (or `[londiste3]`) with `db` and `queue_name`.
    pub job: PathBuf,
    /// Print JSON (members, status, node-info, takeover --dry-run).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: CascadeCommand,
    /// Run for `skydeck londiste` (create-* installs londiste too).
    #[arg(skip)]
    pub londiste: bool,
}

#[derive(Debug, Subcommand)]
pub enum CascadeCommand {
    /// Make this database the root of the cascade.
    CreateRoot {
        /// Node name (default: `node_name` in the job file).
        name: Option<String>,
        /// How other nodes reach this one (default: `public_node_location`).
        connstr: Option<String>,
        /// Skip checking that the public connection string reaches this database.
        #[arg(long)]
        nocheck: bool,
    },
    /// Make this database a branch (a full copy of the queue) under a provider.
    CreateBranch(CreateArgs),
    /// Make this database a leaf (no queue of its own) under a provider.
    CreateLeaf(CreateArgs),
    /// The members of the cascade.
    Members,
    /// Every node: type, provider, lag, last tick, paused, errors — as a tree.
    Status {
        /// Treat these nodes as dead (do not contact them).
        #[arg(long)]
        dead: Vec<String>,
    },
    /// The local node and its subscribers.
    NodeStatus,
    /// The local node's `get_node_info`.
    NodeInfo,
    /// Pause a node's worker (or another consumer) and wait until it stops.
    Pause(Target),
    /// Resume a node's worker (or another consumer).
    Resume(Target),
    /// Make a node read from another provider.
    ChangeProvider {
        /// The new provider node.
        #[arg(long)]
        provider: String,
        /// The node to move (default: this one).
        #[arg(long)]
        node: Option<String>,
    },
    /// Switchover (OLD alive) or failover (--dead-root/--dead-branch): the
    /// local node (or --node) takes OLD's place.
    Takeover {
        old: String,
        /// The node taking over (default: this one).
        #[arg(long)]
        node: Option<String>,
        /// Move every other subscriber of OLD too.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        dead_root: bool,
        #[arg(long)]
        dead_branch: bool,
        /// Treat these nodes as dead.
        #[arg(long)]
        dead: Vec<String>,
        /// Show the checks and the steps; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Mark a node dead everywhere.
    TagDead { node: String },
    /// Mark a node alive again everywhere.
    TagAlive { node: String },
    /// Remove a node from the cascade.
    DropNode { node: String },
    /// Bring back an old root (or branch) after a failover: its lost events
    /// go to a JSON file and out of its queue; it then follows the cascade.
    Resurrect {
        /// Where to write the lost events.
        #[arg(long, default_value = "resurrect-lost-events.json")]
        lost_events: PathBuf,
    },
    /// Wait until this node has applied the root's current tick.
    WaitRoot,
    /// Wait until this node has applied its provider's current tick.
    WaitProvider,
    /// Run this node's worker in the foreground.
    Worker,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub name: Option<String>,
    pub connstr: Option<String>,
    /// The provider's connection string (default: `initial_provider_location`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Leaf: also copy events into this queue on the same database (a merge leaf).
    #[arg(long)]
    pub merge: Option<String>,
    /// Branch: nodes that keep their watermarks in sync (comma separated).
    #[arg(long)]
    pub sync_watermark: Option<String>,
    #[arg(long)]
    pub nocheck: bool,
}

#[derive(Debug, Args)]
pub struct Target {
    /// The node whose worker (default: this node).
    #[arg(long)]
    pub node: Option<String>,
    /// Another cascaded consumer instead of the worker.
    #[arg(long)]
    pub consumer: Option<String>,
}

/// What the commands need from the job file.
pub struct Job {
    pub file: JobFile,
    pub queue: String,
    pub db: String,
    pub settings: WorkerSettings,
}

fn section_str(s: &Section, key: &str) -> Result<Option<String>> {
    Ok(s.get_opt(key)?.filter(|v| !v.is_empty()))
}

/// Read a cascade/Londiste job file.
pub fn load_job(path: &std::path::Path) -> Result<Job> {
    let file = JobFile::load(path)?;
    let settings = crate::cascade::settings_from_job(&file)?;
    Ok(Job {
        queue: settings.queue.clone(),
        db: settings.db.clone(),
        settings,
        file,
    })
}

/// Step reports with a timestamp, as they happen.
pub(crate) struct Printer;

impl Progress for Printer {
    fn step(&mut self, msg: &str) {
        eprintln!(
            "{} {msg}",
            crate::fmt::time_utc(std::time::SystemTime::now())
        );
    }
}

pub async fn run(a: CascadeArgs) -> Result<()> {
    if !matches!(a.cmd, CascadeCommand::Worker) {
        super::init_stderr_warnings();
    }
    let job = load_job(&a.job)?;
    let admin = if a.londiste {
        Admin::londiste(&job.queue, &job.db, &job.file.job_name)
    } else {
        Admin::new(&job.queue, &job.db, &job.file.job_name)
    };
    let s = &job.file.section;
    let mut p = Printer;
    match a.cmd {
        CascadeCommand::CreateRoot {
            name,
            connstr,
            nocheck,
        } => {
            let name = name
                .or(section_str(s, "node_name")?)
                .ok_or_else(|| anyhow!("give the node a name"))?;
            let connstr = connstr
                .or(section_str(s, "public_node_location")?)
                .unwrap_or_else(|| job.db.clone());
            admin.create_root(&name, &connstr, !nocheck, &mut p).await?;
        }
        CascadeCommand::CreateBranch(c) => {
            create(&admin, &job, NodeKind::Branch, c, &mut p).await?
        }
        CascadeCommand::CreateLeaf(c) => create(&admin, &job, NodeKind::Leaf, c, &mut p).await?,
        CascadeCommand::Members => {
            let m = admin.members().await?;
            if a.json {
                return print_json(&m);
            }
            let mut t = Table::new(["node", "dead", "location"]);
            for l in m {
                t.row([
                    l.node_name,
                    l.dead.to_string(),
                    crate::db::mask_connstr(&l.node_location),
                ]);
            }
            print!("{}", t.render());
        }
        CascadeCommand::Status { dead } => {
            let st = admin.status(&dead).await?;
            if a.json {
                return print_json(&st);
            }
            print!("{}", render_tree(&st));
        }
        CascadeCommand::NodeStatus | CascadeCommand::NodeInfo => {
            let c = admin.local().await?;
            let info = admin.local_node(&c).await?;
            let subs = crate::cascade::node::subscribers(&c, &job.queue).await?;
            if a.json {
                return print_json(&serde_json::json!({ "node": info, "subscribers": subs }));
            }
            let mut t = Table::new(["key", "value"]);
            let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
            t.row([
                "node".to_string(),
                format!("{} ({})", info.node_name, info.node_type),
            ]);
            t.row([
                "provider".to_string(),
                info.provider_node.clone().unwrap_or_else(|| "-".into()),
            ]);
            t.row([
                "worker".to_string(),
                info.worker_name.clone().unwrap_or_else(|| "-".into()),
            ]);
            t.row(["worker last tick".to_string(), opt(info.worker_last_tick)]);
            t.row(["global watermark".to_string(), opt(info.global_watermark)]);
            t.row(["local watermark".to_string(), opt(info.local_watermark)]);
            t.row([
                "paused / uptodate".to_string(),
                format!(
                    "{:?} / {:?}",
                    info.worker_paused.unwrap_or(false),
                    info.worker_uptodate.unwrap_or(false)
                ),
            ]);
            if let Some(cq) = &info.combined_queue {
                t.row([
                    "combined queue".to_string(),
                    format!("{cq} ({})", info.combined_type.clone().unwrap_or_default()),
                ]);
            }
            if let Some(at) = &info.node_attrs {
                t.row(["attributes".to_string(), at.clone()]);
            }
            print!("{}", t.render());
            if !subs.is_empty() {
                let mut t = Table::new(["subscriber", "worker", "watermark"]);
                for x in subs {
                    t.row([x.node_name, x.worker_name, opt(x.node_watermark)]);
                }
                print!("\n{}", t.render());
            }
        }
        CascadeCommand::Pause(t) => {
            admin
                .pause(t.node.as_deref(), t.consumer.as_deref(), true, &mut p)
                .await?
        }
        CascadeCommand::Resume(t) => {
            admin
                .pause(t.node.as_deref(), t.consumer.as_deref(), false, &mut p)
                .await?
        }
        CascadeCommand::ChangeProvider { provider, node } => {
            admin
                .change_provider(node.as_deref(), &provider, &mut p)
                .await?
        }
        CascadeCommand::Takeover {
            old,
            node,
            all,
            dead_root,
            dead_branch,
            dead,
            dry_run,
        } => {
            if dead_root && dead_branch {
                bail!("--dead-root and --dead-branch exclude each other");
            }
            let opt = TakeoverOptions {
                all,
                dead_root,
                dead_branch,
                dead,
            };
            if dry_run {
                let plan = admin.takeover_plan(node.as_deref(), &old, &opt).await?;
                if a.json {
                    return print_json(&plan);
                }
                println!(
                    "{}: {} takes over from {} (dry run: nothing changes)",
                    plan.kind, plan.new, plan.old
                );
                println!("\nchecks:");
                for (what, ok, detail) in &plan.checks {
                    println!(
                        "  [{}] {what}{}",
                        if *ok { "ok" } else { "FAIL" },
                        if detail.is_empty() {
                            String::new()
                        } else {
                            format!(" — {detail}")
                        }
                    );
                }
                println!("\nsteps:");
                for (i, s) in plan.steps.iter().enumerate() {
                    println!("  {}. {s}", i + 1);
                }
                if !plan.ok() {
                    bail!("the takeover would be refused: see the failed checks");
                }
                return Ok(());
            }
            admin.takeover(node.as_deref(), &old, &opt, &mut p).await?;
        }
        CascadeCommand::TagDead { node } => admin.tag(&node, true, &mut p).await?,
        CascadeCommand::TagAlive { node } => admin.tag(&node, false, &mut p).await?,
        CascadeCommand::DropNode { node } => admin.drop_node(&node, &mut p).await?,
        CascadeCommand::Resurrect { lost_events } => {
            let n = admin.resurrect(&lost_events, &mut p).await?;
            println!("{n} lost event(s) in {}", lost_events.display());
        }
        CascadeCommand::WaitRoot => admin.wait_for(true, &mut p).await?,
        CascadeCommand::WaitProvider => admin.wait_for(false, &mut p).await?,
        CascadeCommand::Worker => run_worker(job, None).await?,
    }
    Ok(())
}

async fn create(
    admin: &Admin,
    job: &Job,
    kind: NodeKind,
    c: CreateArgs,
    p: &mut dyn Progress,
) -> Result<()> {
    let s = &job.file.section;
    let name = c
        .name
        .or(section_str(s, "node_name")?)
        .ok_or_else(|| anyhow!("give the node a name"))?;
    let connstr = c
        .connstr
        .or(section_str(s, "public_node_location")?)
        .unwrap_or_else(|| job.db.clone());
    let provider = c
        .provider
        .or(section_str(s, "initial_provider_location")?)
        .ok_or_else(|| {
            anyhow!("--provider CONNSTR is needed (or initial_provider_location in the job file)")
        })?;
    admin
        .create_subscriber(
            kind,
            &name,
            &connstr,
            &provider,
            c.merge.as_deref(),
            c.sync_watermark.as_deref(),
            !c.nocheck,
            p,
        )
        .await?;
    Ok(())
}

/// The worker in the foreground (as `londiste JOB.ini worker`).
pub(crate) async fn run_worker(
    job: Job,
    applier: Option<Arc<dyn crate::cascade::Applier>>,
) -> Result<()> {
    let buffer = crate::daemon::logging::LogBuffer::new(100);
    let _g = crate::daemon::logging::init(crate::daemon::logging::Output::Stderr(None), 0, &buffer)
        .context("setting up logging")?;
    let sup = Supervisor::new(Policy::default());
    let label = job.queue.clone();
    let mut w = CascadeWorker::new(
        job.settings,
        format!("{:016x}", job.file.fingerprint()),
        &label,
    );
    if let Some(a) = applier {
        w = w.with_applier(a);
    }
    sup.add(Arc::new(w));
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = sigint.recv() => tracing::info!("Got SIGINT, shutting down"),
        _ = sigterm.recv() => tracing::info!("Got SIGTERM, fast exit"),
    }
    sup.shutdown(Duration::from_secs(30)).await;
    Ok(())
}

/// The cascade as a tree from the root(s).
pub fn render_tree(st: &[crate::cascade::admin::NodeStatus]) -> String {
    let mut out = String::new();
    let by_name: std::collections::BTreeMap<&str, &crate::cascade::admin::NodeStatus> =
        st.iter().map(|n| (n.name.as_str(), n)).collect();
    let children = |parent: &str| -> Vec<&crate::cascade::admin::NodeStatus> {
        st.iter()
            .filter(|n| {
                n.info.as_ref().and_then(|i| i.provider_node.as_deref()) == Some(parent)
                    && n.name != parent
            })
            .collect()
    };
    fn line(n: &crate::cascade::admin::NodeStatus) -> String {
        let mut s = n.name.clone();
        match (&n.info, &n.error) {
            (_, Some(e)) => s.push_str(&format!("  UNREACHABLE: {e}")),
            (None, None) if n.dead => s.push_str("  DEAD"),
            (None, None) => {}
            (Some(i), None) => {
                s.push_str(&format!(" ({})", i.node_type));
                if let Some(l) = n.lag {
                    s.push_str(&format!("  lag {}", crate::fmt::secs(l)));
                }
                if let Some(t) = i.worker_last_tick {
                    s.push_str(&format!("  tick {t}"));
                }
                if i.worker_paused == Some(true) {
                    s.push_str("  PAUSED");
                }
                if i.worker_uptodate == Some(false) {
                    s.push_str("  NOT UPTODATE");
                }
                if let Some(cq) = &i.combined_queue {
                    s.push_str(&format!("  merge -> {cq}"));
                }
                if n.dead {
                    s.push_str("  DEAD");
                }
            }
        }
        if let Some(e) = &n.worker_error {
            s.push_str(&format!("\n      ERR: {e}"));
        }
        s
    }
    fn walk<'a>(
        n: &'a crate::cascade::admin::NodeStatus,
        depth: usize,
        children: &dyn Fn(&str) -> Vec<&'a crate::cascade::admin::NodeStatus>,
        seen: &mut std::collections::BTreeSet<String>,
        out: &mut String,
    ) {
        if !seen.insert(n.name.clone()) {
            return;
        }
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}+--", "   ".repeat(depth - 1))
        };
        out.push_str(&format!("{indent}{}\n", line(n)));
        for c in children(&n.name) {
            walk(c, depth + 1, children, seen, out);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let roots: Vec<&crate::cascade::admin::NodeStatus> = st
        .iter()
        .filter(|n| n.info.as_ref().is_some_and(|i| i.node_type == "root"))
        .collect();
    for r in roots {
        walk(r, 0, &children, &mut seen, &mut out);
    }
    // Nodes not reached from a root (dead providers, unreachable nodes).
    for n in st {
        if !seen.contains(&n.name) {
            walk(by_name[n.name.as_str()], 0, &children, &mut seen, &mut out);
        }
    }
    out
}
