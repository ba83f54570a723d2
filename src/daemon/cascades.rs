//! The engine side of the console's Nodes view: reads every cascade the
//! deck's cascade workers serve (through [`Admin::status`], the same call
//! as `skydeck londiste JOB.ini status`) into [`CascadeView`]s, and
//! carries out the node actions — pause, resume, change provider,
//! takeover and its dry run, tag-dead/alive, drop-node — reporting each
//! step as an [`ActionUpdate`] while it runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{
    Action, ActionUpdate, Alert, CascadeView, Level, NodeType, NodeView, PlanCheck, Reply,
    TakeoverKind, TakeoverPlan,
};
use tokio::sync::mpsc::UnboundedSender;

use super::supervisor::Supervisor;
use crate::cascade::admin::{Admin, NodeStatus, Plan, Progress, TakeoverOptions};
use crate::cascade::worker::CascadeView as WorkerView;
use crate::db::mask_connstr;

/// Longest a cascade's status may take before the snapshot goes on
/// without it (a node behind a black hole must not freeze the console).
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// How long an admin waits for a node to answer when choosing where to run.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(3);

/// The cascade workers of the deck, by queue, in job order.
pub fn cascade_jobs(sup: &Supervisor) -> BTreeMap<String, Vec<Arc<WorkerView>>> {
    let mut out: BTreeMap<String, Vec<Arc<WorkerView>>> = BTreeMap::new();
    for j in sup.jobs() {
        if let Some(v) = j.extra().and_then(|e| e.downcast::<WorkerView>().ok()) {
            out.entry(v.settings.queue.clone()).or_default().push(v);
        }
    }
    out
}

/// Host, port and database of a connection string, to recognise a node's
/// database among the deck's.
fn db_identity(connstr: &str) -> Option<(String, u16, String)> {
    let c: tokio_postgres::Config = connstr.parse().ok()?;
    let host = match c.get_hosts().first()? {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    Some((host, port, c.get_dbname()?.to_string()))
}

/// A node's database as the console names it: the deck's label when the
/// deck watches it, else `dbname@host:port`.
fn database_label(location: &str, known: &[(String, String)]) -> String {
    let Some(id) = db_identity(location) else {
        return String::new();
    };
    for (label, connstr) in known {
        if db_identity(connstr).as_ref() == Some(&id) {
            return label.clone();
        }
    }
    let (host, port, db) = id;
    let host = if host.starts_with('/') {
        "local".to_string()
    } else {
        host
    };
    format!("{db}@{host}:{port}")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// One cascade, read from the first of its workers' databases that
/// answers. `known`: the deck's databases (label, connstr).
pub async fn read_cascade(
    queue: &str,
    jobs: &[Arc<WorkerView>],
    known: &[(String, String)],
) -> Result<CascadeView, String> {
    let mut last_err = String::from("no worker serves it");
    for j in jobs {
        let admin = Admin::new(queue, &j.settings.db, &j.settings.worker);
        match tokio::time::timeout(STATUS_TIMEOUT, admin.status(&[])).await {
            Ok(Ok(nodes)) => return Ok(to_view(queue, nodes, known)),
            Ok(Err(e)) => last_err = e.to_string(),
            Err(_) => {
                last_err = format!("no answer within {}", crate::fmt::duration(STATUS_TIMEOUT))
            }
        }
    }
    Err(last_err)
}

fn to_view(queue: &str, nodes: Vec<NodeStatus>, known: &[(String, String)]) -> CascadeView {
    // Who lists whom as subscriber: the provider of a node nobody could read.
    let mut provider_of: BTreeMap<String, String> = BTreeMap::new();
    for n in &nodes {
        for s in &n.subscribers {
            provider_of.insert(s.clone(), n.name.clone());
        }
    }
    let views = nodes
        .into_iter()
        .map(|n| {
            let mut v = NodeView {
                name: n.name.clone(),
                database: database_label(&n.location, known),
                location: mask_connstr(&n.location),
                dead: n.dead,
                error: n.error.clone(),
                worker_error: n.worker_error.clone(),
                lag: n.lag.map(|s| Duration::from_secs_f64(s.max(0.0))),
                provider: provider_of.get(&n.name).cloned(),
                ..NodeView::default()
            };
            if let Some(i) = &n.info {
                v.node_type = NodeType::parse(&i.node_type);
                v.combined_queue = i.combined_queue.clone();
                v.combined_type = i.combined_type.as_deref().and_then(NodeType::parse);
                v.provider = i.provider_node.clone().or(v.provider);
                v.last_tick = i.worker_last_tick;
                v.global_watermark = i.global_watermark;
                v.local_watermark = i.local_watermark;
                v.worker = i.worker_name.clone();
                v.paused = i.worker_paused.unwrap_or(false);
                v.uptodate = i.worker_uptodate.unwrap_or(true);
                v.sync_watermark = i.sync_watermark().unwrap_or_default();
            }
            v
        })
        .collect();
    CascadeView {
        queue: queue.to_string(),
        nodes: views,
    }
}

/// Alerts about a cascade's nodes: failing workers, unreachable nodes.
pub fn alerts_for(c: &CascadeView, alerts: &mut Vec<Alert>) {
    for n in &c.nodes {
        let source = format!("{}/{}", c.queue, n.name);
        if let Some(e) = &n.error {
            alerts.push(Alert {
                level: Level::Warn,
                source,
                message: format!("node unreachable: {}", first_line(e)),
                since: Duration::ZERO,
            });
        } else if let Some(e) = &n.worker_error {
            alerts.push(Alert {
                level: Level::Error,
                source,
                message: format!("node worker failing: {}", first_line(e)),
                since: n.lag.unwrap_or_default(),
            });
        }
    }
}

/// Step reports of a running action, sent to the console as they happen.
pub(crate) struct Updates {
    pub(crate) action: Action,
    pub(crate) out: UnboundedSender<Reply>,
    pub(crate) refused: Option<Duration>,
}

impl Updates {
    fn send(&mut self, msg: &str, running: bool) {
        tracing::info!("console: {msg}");
        let _ = self.out.send(Reply::Update(ActionUpdate {
            action: self.action.clone(),
            step: msg.to_string(),
            running,
            elapsed: None,
            writes_refused: if running { None } else { self.refused.take() },
        }));
    }
}

impl Progress for Updates {
    fn step(&mut self, msg: &str) {
        self.send(msg, false)
    }
    fn running(&mut self, msg: &str) {
        self.send(msg, true)
    }
    fn writes_refused(&mut self, d: Duration) {
        self.refused = Some(d);
    }
}

/// An admin for `queue` running on one of the deck's nodes of it that
/// answers, other than `avoid` (the node being tagged dead or dropped).
async fn admin_for(
    queue: &str,
    jobs: &BTreeMap<String, Vec<Arc<WorkerView>>>,
    avoid: Option<&str>,
) -> Result<Admin, String> {
    let Some(list) = jobs.get(queue) else {
        let known: Vec<&str> = jobs.keys().map(String::as_str).collect();
        return Err(format!(
            "no worker of this deck serves cascade {queue:?} (the deck has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let mut errors = Vec::new();
    for j in list {
        let admin = Admin::new(queue, &j.settings.db, &j.settings.worker);
        let probe = async {
            let c = admin.local().await?;
            admin.local_node(&c).await
        };
        match tokio::time::timeout(LOCAL_TIMEOUT, probe).await {
            Ok(Ok(n)) if Some(n.node_name.as_str()) != avoid => return Ok(admin),
            Ok(Ok(n)) => errors.push(format!("{}: is {}", j.settings.worker, n.node_name)),
            Ok(Err(e)) => errors.push(format!("{}: {e}", j.settings.worker)),
            Err(_) => errors.push(format!("{}: no answer", j.settings.worker)),
        }
    }
    Err(format!(
        "no node of cascade {queue:?} hosted here answers ({})",
        errors.join("; ")
    ))
}

fn options(kind: TakeoverKind, all: bool) -> TakeoverOptions {
    TakeoverOptions {
        all,
        dead_root: kind == TakeoverKind::Failover,
        dead_branch: kind == TakeoverKind::FailoverBranch,
        dead: Vec::new(),
    }
}

/// The console's form of a dry run.
pub fn to_plan(p: Plan) -> TakeoverPlan {
    let mut notes = Vec::new();
    if p.kind.starts_with("failover") {
        notes.push(format!(
            "{} is treated as dead: events it had that no other node got stay behind; \
             resurrect it later to get them out (londiste … resurrect)",
            p.old
        ));
    }
    TakeoverPlan {
        kind: p.kind,
        old: p.old,
        new: p.new,
        checks: p
            .checks
            .into_iter()
            .map(|(what, ok, detail)| PlanCheck { what, ok, detail })
            .collect(),
        steps: p.steps,
        followers: p.followers,
        notes,
    }
}

/// Carry out a node action. `Ok(Some(plan))` for a dry run, `Ok(None)`
/// with the message for the rest. `None` when `action` is not a node
/// action.
pub async fn execute(
    sup: &Supervisor,
    action: &Action,
    out: &UnboundedSender<Reply>,
) -> Option<Result<(String, Option<TakeoverPlan>), String>> {
    let jobs = cascade_jobs(sup);
    let mut p = Updates {
        action: action.clone(),
        out: out.clone(),
        refused: None,
    };
    let e = |e: crate::cascade::node::CascadeError| e.to_string();
    let r = match action {
        Action::PauseNode { queue, node } | Action::ResumeNode { queue, node } => {
            let paused = matches!(action, Action::PauseNode { .. });
            async {
                let a = admin_for(queue, &jobs, None).await?;
                a.pause(Some(node), None, paused, &mut p).await.map_err(e)?;
                Ok((
                    format!(
                        "worker of {node} {}",
                        if paused { "paused" } else { "resumed" }
                    ),
                    None,
                ))
            }
            .await
        }
        Action::ChangeProvider {
            queue,
            node,
            new_provider,
        } => {
            async {
                let a = admin_for(queue, &jobs, None).await?;
                a.change_provider(Some(node), new_provider, &mut p)
                    .await
                    .map_err(e)?;
                Ok((format!("{node} now reads from {new_provider}"), None))
            }
            .await
        }
        Action::TagDead { queue, node } | Action::TagAlive { queue, node } => {
            let dead = matches!(action, Action::TagDead { .. });
            async {
                let a = admin_for(queue, &jobs, dead.then_some(node.as_str())).await?;
                a.tag(node, dead, &mut p).await.map_err(e)?;
                Ok((
                    format!("{node} tagged {}", if dead { "dead" } else { "alive" }),
                    None,
                ))
            }
            .await
        }
        Action::DropNode { queue, node } => {
            async {
                let a = admin_for(queue, &jobs, Some(node)).await?;
                a.drop_node(node, &mut p).await.map_err(e)?;
                Ok((format!("node {node} dropped from {queue}"), None))
            }
            .await
        }
        Action::TakeoverPlan {
            queue,
            old,
            new,
            kind,
            all,
        } => {
            async {
                let dead = *kind != TakeoverKind::Switchover;
                let a = admin_for(queue, &jobs, dead.then_some(old.as_str())).await?;
                let plan = a
                    .takeover_plan(Some(new), old, &options(*kind, *all))
                    .await
                    .map_err(e)?;
                Ok((
                    format!("{} of {old} by {new}: plan ready", plan.kind),
                    Some(to_plan(plan)),
                ))
            }
            .await
        }
        Action::Takeover {
            queue,
            old,
            new,
            kind,
            all,
        } => {
            async {
                let dead = *kind != TakeoverKind::Switchover;
                let a = admin_for(queue, &jobs, dead.then_some(old.as_str())).await?;
                let started = std::time::Instant::now();
                a.takeover(Some(new), old, &options(*kind, *all), &mut p)
                    .await
                    .map_err(e)?;
                Ok((
                    format!(
                        "{new} took over from {old} in {}",
                        crate::fmt::duration(started.elapsed())
                    ),
                    None,
                ))
            }
            .await
        }
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_databases_are_named_as_the_deck_names_them() {
        let known = vec![(
            "shop".to_string(),
            "host=/tmp/x port=5433 user=postgres dbname=shop".to_string(),
        )];
        assert_eq!(
            database_label("dbname=shop host=/tmp/x port=5433 password=secret", &known),
            "shop"
        );
        assert_eq!(
            database_label("dbname=stats host=db2 password=secret", &known),
            "stats@db2:5432"
        );
        assert_eq!(
            database_label("dbname=stats host=/tmp/x port=5433", &known),
            "stats@local:5433"
        );
        assert_eq!(database_label("not a conn string '", &known), "");
    }

    #[test]
    fn plans_name_the_failover_risk() {
        let p = Plan {
            kind: "failover of the root".into(),
            old: "a".into(),
            new: "b".into(),
            checks: vec![("b is a branch".into(), true, String::new())],
            steps: vec!["tag a dead".into()],
            followers: vec!["c".into()],
        };
        let t = to_plan(p);
        assert!(t.ok());
        assert_eq!(t.checks[0].what, "b is a branch");
        assert!(t.notes[0].contains("resurrect"), "{:?}", t.notes);
        assert_eq!(t.followers, vec!["c".to_string()]);
    }
}
