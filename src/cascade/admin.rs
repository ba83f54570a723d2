//! Cascade administration (spec §4.8): create nodes, members and status,
//! pause/resume, change provider, switchover and failover (`takeover`),
//! tag-dead/tag-alive, drop-node, resurrect, wait-root/wait-provider.
//!
//! Every multi-step operation reports each step through a [`Progress`] as
//! it happens (the CLI prints them; the console shows them live), and
//! takeover can first produce a [`Plan`]: what will be checked and
//! changed, without changing anything.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use super::node::{self, CascadeError, Location, NodeInfo, Result};
use super::worker::WAKE_CHANNEL;
use crate::db::DbError;

/// Where step reports go.
pub trait Progress: Send {
    /// A step is done.
    fn step(&mut self, msg: &str);
    /// A step has begun and may take a while (`waiting for …`); the next
    /// `step` ends it.
    fn running(&mut self, _msg: &str) {}
    /// A switchover has ended its write pause: writes to the queue were
    /// refused for `_d`.
    fn writes_refused(&mut self, _d: Duration) {}
}

impl<F: FnMut(&str) + Send> Progress for F {
    fn step(&mut self, msg: &str) {
        self(msg)
    }
}

/// The node this admin runs on: its queue, database and worker.
#[derive(Debug, Clone)]
pub struct Admin {
    pub queue: String,
    /// The local node's database (job file `db`).
    pub db: String,
    /// The local node's worker name (job name).
    pub worker: String,
    /// Longest wait for a worker to acknowledge or catch up.
    pub timeout: Duration,
    /// The SQL components create-* installs when absent (Londiste jobs add
    /// `londiste`).
    pub components: &'static [&'static str],
}

fn state(msg: impl Into<String>) -> CascadeError {
    CascadeError::State(msg.into())
}

async fn connect(connstr: &str) -> Result<Client> {
    Ok(crate::db::connect(connstr).await?)
}

/// Kinds of non-root node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Branch,
    Leaf,
}

impl NodeKind {
    fn as_str(self) -> &'static str {
        match self {
            NodeKind::Branch => "branch",
            NodeKind::Leaf => "leaf",
        }
    }
}

/// One node as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    /// The node's connection string as the members list has it (with any
    /// password: mask it before showing it).
    #[serde(skip)]
    pub location: String,
    pub dead: bool,
    /// Subscribers registered on this node (empty when not read).
    pub subscribers: Vec<String>,
    /// Lag of each consumer of this node's queue, in seconds: where a
    /// leaf's lag is read (it has no queue of its own).
    #[serde(skip)]
    pub consumer_lags: BTreeMap<String, f64>,
    /// Members this node has tagged dead.
    #[serde(skip)]
    pub tags_dead: Vec<String>,
    /// Set when the node could not be read.
    pub error: Option<String>,
    pub info: Option<NodeInfo>,
    /// The worker's error, first line.
    pub worker_error: Option<String>,
    /// Seconds since the worker's last finished tick was taken.
    pub lag: Option<f64>,
}

/// What `takeover` will do, for `--dry-run` and the console's checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub kind: String,
    pub old: String,
    pub new: String,
    /// Checks made now: (what, ok, detail).
    pub checks: Vec<(String, bool, String)>,
    /// The steps, in order.
    pub steps: Vec<String>,
    /// Subscribers of the old node that will read from the new one.
    pub followers: Vec<String>,
}

impl Plan {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|(_, ok, _)| *ok)
    }
}

/// How to take over.
#[derive(Debug, Clone, Default)]
pub struct TakeoverOptions {
    /// Re-parent every other subscriber of the old node too.
    pub all: bool,
    /// The old node is a dead root (failover).
    pub dead_root: bool,
    /// The old node is a dead branch (failover).
    pub dead_branch: bool,
    /// Nodes to treat as dead.
    pub dead: Vec<String>,
}

impl Admin {
    pub fn new(queue: &str, db: &str, worker: &str) -> Self {
        Admin {
            queue: queue.to_string(),
            db: db.to_string(),
            worker: worker.to_string(),
            timeout: Duration::from_secs(300),
            components: &["pgq", "pgq_node"],
        }
    }

    /// An admin for a Londiste node: create-* installs londiste too.
    pub fn londiste(queue: &str, db: &str, worker: &str) -> Self {
        Admin {
            components: &["pgq", "pgq_node", "londiste"],
            ..Admin::new(queue, db, worker)
        }
    }

    pub async fn local(&self) -> Result<Client> {
        connect(&self.db).await
    }

    /// The local node, or an error saying it is not set up.
    pub async fn local_node(&self, c: &Client) -> Result<NodeInfo> {
        node::node_info(c, &self.queue).await?.ok_or_else(|| {
            state(format!(
                "queue {:?} has no cascade node in this database: create it with create-root, create-branch or create-leaf",
                self.queue
            ))
        })
    }

    async fn members_of(&self, c: &Client) -> Result<BTreeMap<String, Location>> {
        Ok(node::locations(c, &self.queue)
            .await?
            .into_iter()
            .map(|l| (l.node_name.clone(), l))
            .collect())
    }

    /// A connection to member `name`, by the local member list.
    pub async fn node_client(&self, name: &str) -> Result<Client> {
        let c = self.local().await?;
        let m = self.members_of(&c).await?;
        let l = m.get(name).ok_or_else(|| {
            state(format!(
                "no node named {name:?} in the cascade of queue {:?}",
                self.queue
            ))
        })?;
        connect(&l.node_location).await
    }

    /// Install pgq and pgq_node where they are missing; what is there
    /// (skydeck's, or the original extensions) is used as it is.
    async fn install_sql(&self, c: &mut Client, p: &mut dyn Progress) -> Result<()> {
        let mut missing = Vec::new();
        for &name in self.components {
            let comp = crate::install::component(name)
                .ok_or_else(|| state(format!("no component {name}")))?;
            match crate::install::inspect(c, comp).await? {
                crate::install::Installed::Absent => missing.push(name.to_string()),
                crate::install::Installed::Foreign { .. } => {
                    return Err(state(format!(
                        "schema {name} exists but was not installed by skydeck nor as an extension"
                    )))
                }
                _ => {}
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let r = crate::install::install(c, &missing)
            .await
            .map_err(|e| state(e.to_string()))?;
        for x in r {
            p.step(&format!("{}: {}", x.component, x.action));
        }
        Ok(())
    }

    /// Refuse a public connection string that reaches another database.
    async fn check_public(&self, local: &Client, public: &str) -> Result<()> {
        let q = "select d.oid, current_database()::text, (pg_control_system()).system_identifier \
                   from pg_database d where d.datname = current_database()";
        let a = local
            .query_one(q, &[])
            .await
            .map_err(|e| DbError::query("identifying the local database", e))?;
        let remote = connect(public).await.map_err(|e| {
            state(format!(
                "the node's public connection string does not work: {e}; other nodes will use it to reach this one (--nocheck skips this check)"
            ))
        })?;
        let b = remote
            .query_one(q, &[])
            .await
            .map_err(|e| DbError::query("identifying the public database", e))?;
        let (ao, an, asys): (u32, String, i64) = (a.get(0), a.get(1), a.get(2));
        let (bo, bn, bsys): (u32, String, i64) = (b.get(0), b.get(1), b.get(2));
        if ao != bo || an != bn || asys != bsys {
            return Err(state(format!(
                "the public connection string {} reaches database {bn:?} of another cluster or database, not this node's {an:?} \
                 (--nocheck skips this check)",
                crate::db::mask_connstr(public)
            )));
        }
        Ok(())
    }

    /// `create-root NAME PUBLIC_CONNSTR`.
    pub async fn create_root(
        &self,
        name: &str,
        public: &str,
        check: bool,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let mut c = self.local().await?;
        self.install_sql(&mut c, p).await?;
        if let Some(n) = node::node_info(&c, &self.queue).await? {
            p.step(&format!(
                "Node is already initialized as {} {:?}",
                n.node_type, n.node_name
            ));
            return Ok(());
        }
        if check {
            self.check_public(&c, public).await?;
        }
        let tx = c
            .transaction()
            .await
            .map_err(|e| DbError::query("begin", e))?;
        node::register_location(&tx, &self.queue, name, Some(public), false).await?;
        let r = node::create_node(
            &tx,
            &self.queue,
            "root",
            name,
            &self.worker,
            None,
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(|e| DbError::query("commit", e))?;
        p.step(&r.note);
        Ok(())
    }

    /// Follow providers from `connstr` up to the root.
    pub(crate) async fn find_root(&self, connstr: &str) -> Result<(Client, NodeInfo)> {
        let mut loc = connstr.to_string();
        for _ in 0..64 {
            let c = connect(&loc).await?;
            let n = node::node_info(&c, &self.queue).await?.ok_or_else(|| {
                state(format!(
                    "{} has no node for queue {:?}",
                    crate::db::mask_connstr(&loc),
                    self.queue
                ))
            })?;
            if n.is_root() {
                return Ok((c, n));
            }
            loc = n
                .provider_location
                .clone()
                .ok_or_else(|| state(format!("node {} has no provider", n.node_name)))?;
        }
        Err(state(
            "no root found within 64 providers: the cascade has a loop",
        ))
    }

    /// `create-branch` / `create-leaf NAME PUBLIC_CONNSTR --provider CONNSTR`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_subscriber(
        &self,
        kind: NodeKind,
        name: &str,
        public: &str,
        provider: &str,
        merge: Option<&str>,
        sync_watermark: Option<&str>,
        check: bool,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let mut c = self.local().await?;
        self.install_sql(&mut c, p).await?;
        if let Some(n) = node::node_info(&c, &self.queue).await? {
            p.step(&format!(
                "Node is already initialized as {} {:?}",
                n.node_type, n.node_name
            ));
            return Ok(());
        }
        if merge.is_some() && kind != NodeKind::Leaf {
            return Err(state("--merge is only for leaves"));
        }
        if check {
            self.check_public(&c, public).await?;
        }
        let (root, root_info) = self.find_root(provider).await?;
        p.step(&format!("Root node: {}", root_info.node_name));
        let members = node::locations(&root, &self.queue).await?;
        if members.iter().any(|m| m.node_name == name) {
            return Err(state(format!(
                "node name {name:?} is already used in this cascade; pick another or drop-node the old one"
            )));
        }
        let prov = connect(provider).await?;
        let prov_info = node::node_info(&prov, &self.queue)
            .await?
            .ok_or_else(|| state("the provider has no node for this queue"))?;
        if prov_info.is_leaf() {
            return Err(state(format!(
                "cannot subscribe to leaf node {}",
                prov_info.node_name
            )));
        }
        node::register_location(&root, &self.queue, name, Some(public), false).await?;
        p.step(&format!(
            "Location registered on root {}",
            root_info.node_name
        ));
        if prov_info.node_name != root_info.node_name {
            node::register_location(&prov, &self.queue, name, Some(public), false).await?;
        }
        let (_, global_wm) =
            node::register_subscriber(&prov, &self.queue, name, &self.worker, None).await?;
        p.step(&format!(
            "Subscriber registered on {} at global watermark {}",
            prov_info.node_name,
            global_wm
                .map(|w| w.to_string())
                .unwrap_or_else(|| "-".into())
        ));
        let tx = c
            .transaction()
            .await
            .map_err(|e| DbError::query("begin", e))?;
        for m in node::locations(&prov, &self.queue).await? {
            node::register_location(
                &tx,
                &self.queue,
                &m.node_name,
                Some(&m.node_location),
                m.dead,
            )
            .await?;
        }
        node::register_location(&tx, &self.queue, name, Some(public), false).await?;
        let r = node::create_node(
            &tx,
            &self.queue,
            kind.as_str(),
            name,
            &self.worker,
            Some(&prov_info.node_name),
            global_wm,
            merge,
        )
        .await?;
        if let Some(nodes) = sync_watermark {
            let attrs =
                crate::pgq::event::url_encode_row(&[("sync_watermark".into(), Some(nodes.into()))]);
            node::set_node_attrs(&tx, &self.queue, &attrs).await?;
        }
        tx.commit().await.map_err(|e| DbError::query("commit", e))?;
        p.step(&r.note);
        Ok(())
    }

    /// The members as the local node knows them.
    pub async fn members(&self) -> Result<Vec<Location>> {
        let c = self.local().await?;
        node::locations(&c, &self.queue).await
    }

    /// Every member's node info, read in parallel; dead members are not
    /// contacted.
    pub async fn status(&self, dead: &[String]) -> Result<Vec<NodeStatus>> {
        let members = self.members().await?;
        let queue = self.queue.clone();
        let mut tasks = tokio::task::JoinSet::new();
        for m in members {
            let queue = queue.clone();
            let is_dead = m.dead || dead.contains(&m.node_name);
            tasks.spawn(async move {
                let mut st = NodeStatus {
                    name: m.node_name.clone(),
                    location: m.node_location.clone(),
                    dead: is_dead,
                    subscribers: Vec::new(),
                    consumer_lags: BTreeMap::new(),
                    tags_dead: Vec::new(),
                    error: None,
                    info: None,
                    worker_error: None,
                    lag: None,
                };
                if is_dead {
                    return st;
                }
                let c = match tokio::time::timeout(Duration::from_secs(10), connect(&m.node_location)).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        st.error = Some(e.to_string());
                        return st;
                    }
                    Err(_) => {
                        st.error = Some("no answer within 10 s".into());
                        return st;
                    }
                };
                match node::node_info(&c, &queue).await {
                    Ok(Some(n)) => {
                        if let Some(w) = &n.worker_name {
                            if let Ok(cs) = node::consumer_state(&c, &queue, w).await {
                                st.worker_error = cs.cur_error.map(|e| e.lines().next().unwrap_or("").to_string());
                            }
                        }
                        if let Ok(subs) = node::subscribers(&c, &queue).await {
                            st.subscribers = subs.into_iter().map(|s| s.node_name).collect();
                        }
                        if let Ok(locs) = node::locations(&c, &queue).await {
                            st.tags_dead = locs
                                .into_iter()
                                .filter(|l| l.dead)
                                .map(|l| l.node_name)
                                .collect();
                        }
                        if !n.is_leaf() || n.combined_queue.is_some() {
                            if let Ok(rows) = c
                                .query(
                                    "select consumer_name, extract(epoch from lag)::float8 \
                                       from pgq.get_consumer_info($1)",
                                    &[&queue],
                                )
                                .await
                            {
                                st.consumer_lags = rows
                                    .iter()
                                    .filter_map(|r| Some((r.get(0), r.get::<_, Option<f64>>(1)?)))
                                    .collect();
                            }
                        }
                        if let Some(t) = n.worker_last_tick {
                            st.lag = c
                                .query_opt(
                                    "select extract(epoch from now() - t.tick_time)::float8 from pgq.tick t \
                                       join pgq.queue q on q.queue_id = t.tick_queue \
                                      where q.queue_name = $1 and t.tick_id = $2",
                                    &[&queue, &t],
                                )
                                .await
                                .ok()
                                .flatten()
                                .map(|r| r.get(0));
                        }
                        st.info = Some(n);
                    }
                    Ok(None) => st.error = Some("no node for this queue".into()),
                    Err(e) => st.error = Some(e.to_string()),
                }
                st
            });
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            if let Ok(s) = r {
                out.push(s);
            }
        }
        // Dead for one live member is dead: whichever node this admin runs
        // on, the node a failover left behind shows as dead (it does not
        // know it itself).
        let tagged: Vec<(String, Vec<String>)> = out
            .iter()
            .filter(|s| s.info.is_some())
            .map(|s| (s.name.clone(), s.tags_dead.clone()))
            .collect();
        for s in out.iter_mut() {
            if tagged
                .iter()
                .any(|(by, dead)| *by != s.name && dead.contains(&s.name))
            {
                s.dead = true;
            }
        }
        // A leaf's lag: its worker's, as its provider's queue reports it.
        let by_name: BTreeMap<String, BTreeMap<String, f64>> = out
            .iter()
            .map(|s| (s.name.clone(), s.consumer_lags.clone()))
            .collect();
        for s in out.iter_mut().filter(|s| s.lag.is_none()) {
            let Some(i) = &s.info else { continue };
            if let (Some(p), Some(w)) = (&i.provider_node, &i.worker_name) {
                s.lag = by_name.get(p).and_then(|m| m.get(w)).copied();
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The worker of `node` (the local one when `None`), on that node.
    async fn worker_of(&self, node_name: Option<&str>) -> Result<(Client, NodeInfo, String)> {
        let c = match node_name {
            Some(n) => self.node_client(n).await?,
            None => self.local().await?,
        };
        let info = self.local_node(&c).await?;
        let w = info
            .worker_name
            .clone()
            .ok_or_else(|| state(format!("node {} has no worker", info.node_name)))?;
        Ok((c, info, w))
    }

    /// Wake a worker now (it polls its state before every batch).
    async fn wake(c: &Client, worker: &str) -> Result<()> {
        c.query_one("select pg_notify($1, $2)", &[&WAKE_CHANNEL, &worker])
            .await
            .map_err(|e| DbError::query("waking the worker", e))?;
        Ok(())
    }

    /// Set `paused` and wait until the worker acknowledges.
    pub async fn set_paused(
        &self,
        c: &Client,
        node_name: &str,
        consumer: &str,
        paused: bool,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let r = node::set_consumer_paused(c, &self.queue, consumer, paused).await?;
        if r.code == 201 {
            p.step(&format!(
                "{consumer} on {node_name}: already {}",
                if paused { "paused" } else { "running" }
            ));
            return Ok(());
        }
        Self::wake(c, consumer).await?;
        let started = Instant::now();
        p.running(&format!(
            "waiting for {consumer} on {node_name} to acknowledge the {}",
            if paused { "pause" } else { "resume" }
        ));
        loop {
            let st = node::consumer_state(c, &self.queue, consumer).await?;
            if st.uptodate {
                p.step(&format!(
                    "{consumer} on {node_name}: {} (acknowledged in {})",
                    if paused { "paused" } else { "resumed" },
                    crate::fmt::duration(started.elapsed())
                ));
                return Ok(());
            }
            if started.elapsed() > self.timeout {
                return Err(state(format!(
                    "worker {consumer} on {node_name} did not acknowledge within {}: is it running?",
                    crate::fmt::duration(self.timeout)
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `pause` / `resume` of a node's worker (or another consumer).
    pub async fn pause(
        &self,
        node_name: Option<&str>,
        consumer: Option<&str>,
        paused: bool,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let (c, info, w) = self.worker_of(node_name).await?;
        let consumer = consumer.unwrap_or(&w);
        self.set_paused(&c, &info.node_name, consumer, paused, p)
            .await
    }

    /// Wait until `node`'s worker has completed `tick` (or later).
    pub(crate) async fn wait_completed(
        &self,
        c: &Client,
        node_name: &str,
        worker: &str,
        tick: i64,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let started = Instant::now();
        let mut shown = None;
        loop {
            let st = node::consumer_state(c, &self.queue, worker).await?;
            if st.completed_tick.is_some_and(|t| t >= tick) {
                p.step(&format!(
                    "{node_name} has applied tick {tick} ({})",
                    crate::fmt::duration(started.elapsed())
                ));
                return Ok(());
            }
            if let Some(e) = st.cur_error {
                if started.elapsed() > Duration::from_secs(5) {
                    return Err(state(format!("{node_name}'s worker reports: {e}")));
                }
            }
            if shown != Some(st.completed_tick) {
                shown = Some(st.completed_tick);
                p.running(&format!(
                    "waiting for {node_name} to apply tick {tick} (at {})",
                    st.completed_tick
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "none".into())
                ));
            }
            if started.elapsed() > self.timeout {
                return Err(state(format!(
                    "{node_name} did not reach tick {tick} within {} (it is at {:?})",
                    crate::fmt::duration(self.timeout),
                    st.completed_tick
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `change-provider`: make `node` (the local one by default) read from
    /// `new_provider` (a node name).
    pub async fn change_provider(
        &self,
        node_name: Option<&str>,
        new_provider: &str,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let (c, info, w) = self.worker_of(node_name).await?;
        if info.node_name == new_provider {
            return Err(state(format!(
                "node {new_provider} cannot read from itself"
            )));
        }
        if info.is_root() {
            return Err(state(format!(
                "{} is the root: it has no provider",
                info.node_name
            )));
        }
        let old = info.provider_node.clone();
        let members = self.members_of(&c).await?;
        let newloc = members
            .get(new_provider)
            .ok_or_else(|| state(format!("no node named {new_provider:?} in the cascade")))?;
        let newc = connect(&newloc.node_location).await?;
        let new_info = self.local_node(&newc).await?;
        if new_info.is_leaf() {
            return Err(state(format!("cannot read from leaf node {new_provider}")));
        }
        self.set_paused(&c, &info.node_name, &w, true, p).await?;
        let st = node::consumer_state(&c, &self.queue, &w).await?;
        let tick = st.completed_tick;
        if let Some(me) = members.get(&info.node_name) {
            node::register_location(
                &newc,
                &self.queue,
                &me.node_name,
                Some(&me.node_location),
                false,
            )
            .await?;
        }
        node::register_subscriber(&newc, &self.queue, &info.node_name, &w, tick).await?;
        p.step(&format!(
            "{} registered on {new_provider} at tick {}",
            info.node_name,
            tick.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
        ));
        node::change_consumer_provider(&c, &self.queue, &w, new_provider).await?;
        p.step(&format!("{} now reads from {new_provider}", info.node_name));
        self.set_paused(&c, &info.node_name, &w, false, p).await?;
        if let Some(old) = old.filter(|o| o != new_provider) {
            if let Some(ol) = members.get(&old).filter(|l| !l.dead) {
                match connect(&ol.node_location).await {
                    Ok(oc) => {
                        let _ =
                            node::unregister_subscriber(&oc, &self.queue, &info.node_name).await;
                        p.step(&format!("{} unregistered from {old}", info.node_name));
                    }
                    Err(e) => p.step(&format!(
                        "could not unregister from {old} ({e}); it keeps a stale subscription"
                    )),
                }
            }
        }
        Ok(())
    }

    /// `tag-dead` / `tag-alive NODE`: on the local node and every live member.
    pub async fn tag(&self, name: &str, dead: bool, p: &mut dyn Progress) -> Result<()> {
        let c = self.local().await?;
        let members = self.members_of(&c).await?;
        if !members.contains_key(name) {
            return Err(state(format!("no node named {name:?} in the cascade")));
        }
        node::register_location(&c, &self.queue, name, None, dead).await?;
        for m in members.values() {
            if m.node_name == name && dead {
                continue;
            }
            if m.dead && m.node_name != name {
                continue;
            }
            match connect(&m.node_location).await {
                Ok(mc) => {
                    if node::node_info(&mc, &self.queue).await?.is_some() {
                        node::register_location(&mc, &self.queue, name, None, dead).await?;
                        p.step(&format!(
                            "{name} tagged {} on {}",
                            if dead { "dead" } else { "alive" },
                            m.node_name
                        ));
                    }
                }
                Err(e) => p.step(&format!("{} not reachable ({e}): not updated", m.node_name)),
            }
        }
        Ok(())
    }

    /// `drop-node NAME`.
    pub async fn drop_node(&self, name: &str, p: &mut dyn Progress) -> Result<()> {
        let c = self.local().await?;
        let members = self.members_of(&c).await?;
        let target = members
            .get(name)
            .ok_or_else(|| state(format!("no node named {name:?} in the cascade")))?;
        // Refuse while others still read from it.
        if !target.dead {
            if let Ok(tc) = connect(&target.node_location).await {
                let subs = node::subscribers(&tc, &self.queue)
                    .await
                    .unwrap_or_default();
                if !subs.is_empty() {
                    let names: Vec<&str> = subs.iter().map(|s| s.node_name.as_str()).collect();
                    return Err(state(format!(
                        "node {name} still has subscribers ({}): move them first (change-provider)",
                        names.join(", ")
                    )));
                }
                let _ = node::drop_node(&tc, &self.queue, name).await?;
                p.step(&format!("node {name} dropped on itself"));
            }
        }
        for m in members.values().filter(|m| m.node_name != name && !m.dead) {
            match connect(&m.node_location).await {
                Ok(mc) => {
                    if node::node_info(&mc, &self.queue).await?.is_some() {
                        match node::drop_node(&mc, &self.queue, name).await {
                            Ok(_) => p.step(&format!("node {name} forgotten on {}", m.node_name)),
                            Err(e) => p.step(&format!("{}: {e}", m.node_name)),
                        }
                    }
                }
                Err(e) => p.step(&format!("{} not reachable ({e})", m.node_name)),
            }
        }
        Ok(())
    }

    /// `wait-provider` / `wait-root`: until the local worker has applied
    /// the provider's (root's) current tick.
    pub async fn wait_for(&self, root: bool, p: &mut dyn Progress) -> Result<()> {
        let c = self.local().await?;
        let info = self.local_node(&c).await?;
        let loc = if root {
            self.find_root(&self.db)
                .await
                .map(|(_, n)| n)
                .map(|n| n.node_name)?
        } else {
            info.provider_node
                .clone()
                .ok_or_else(|| state("this node has no provider"))?
        };
        let pc = self.node_client(&loc).await?;
        let top: i64 = pc
            .query_one(
                "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1",
                &[&self.queue],
            )
            .await
            .map_err(|e| DbError::query("reading the provider's last tick", e))?
            .get::<_, Option<i64>>(0)
            .unwrap_or(0);
        let w = info
            .worker_name
            .clone()
            .unwrap_or_else(|| self.worker.clone());
        self.wait_completed(&c, &info.node_name, &w, top, p).await
    }

    /// Look at the cascade and say what `takeover` would do.
    pub async fn takeover_plan(
        &self,
        new_name: Option<&str>,
        old: &str,
        opt: &TakeoverOptions,
    ) -> Result<Plan> {
        let local = self.local().await?;
        let members = self.members_of(&local).await?;
        let new_name = match new_name {
            Some(n) => n.to_string(),
            None => self.local_node(&local).await?.node_name,
        };
        let mut checks = Vec::new();
        let mut infos: BTreeMap<String, NodeInfo> = BTreeMap::new();
        let failover = opt.dead_root || opt.dead_branch;
        for m in members.values() {
            let presumed_dead =
                m.dead || opt.dead.contains(&m.node_name) || (failover && m.node_name == old);
            if presumed_dead {
                checks.push((
                    format!("{} is reachable", m.node_name),
                    m.node_name != old || failover,
                    "skipped: dead".into(),
                ));
                continue;
            }
            match tokio::time::timeout(Duration::from_secs(10), connect(&m.node_location)).await {
                Ok(Ok(c)) => match node::node_info(&c, &self.queue).await {
                    Ok(Some(n)) => {
                        checks.push((
                            format!("{} is reachable", m.node_name),
                            true,
                            format!("{} node", n.node_type),
                        ));
                        infos.insert(m.node_name.clone(), n);
                    }
                    Ok(None) => checks.push((
                        format!("{} is reachable", m.node_name),
                        false,
                        "no node for this queue".into(),
                    )),
                    Err(e) => checks.push((
                        format!("{} is reachable", m.node_name),
                        false,
                        e.to_string(),
                    )),
                },
                Ok(Err(e)) => checks.push((
                    format!("{} is reachable", m.node_name),
                    false,
                    e.to_string(),
                )),
                Err(_) => checks.push((
                    format!("{} is reachable", m.node_name),
                    false,
                    "no answer within 10 s".into(),
                )),
            }
        }
        let new_info = infos.get(&new_name).cloned();
        let old_info = infos.get(old).cloned();
        match &new_info {
            Some(n) if n.is_branch() => {
                checks.push((format!("{new_name} is a branch"), true, String::new()))
            }
            Some(n) => checks.push((
                format!("{new_name} is a branch"),
                false,
                format!("it is a {}: only a branch can take over", n.node_type),
            )),
            None => checks.push((
                format!("{new_name} is known"),
                false,
                "not reachable or not a member".into(),
            )),
        }
        if !members.contains_key(old) {
            checks.push((format!("{old} is a member"), false, "unknown node".into()));
        }
        let old_is_root = old_info
            .as_ref()
            .map(|o| o.is_root())
            .unwrap_or(opt.dead_root);
        if let (Some(n), Some(o)) = (&new_info, &old_info) {
            let behind = match (o.worker_last_tick, n.worker_last_tick) {
                (Some(a), Some(b)) => a - b,
                _ => 0,
            };
            checks.push((
                format!("{new_name} keeps up with {old}"),
                true,
                format!(
                    "{behind} tick(s) behind, worker {}",
                    if n.worker_paused == Some(true) {
                        "PAUSED"
                    } else {
                        "running"
                    }
                ),
            ));
            if n.worker_paused == Some(true) {
                checks.push((
                    format!("{new_name}'s worker runs"),
                    false,
                    "paused: resume it first".into(),
                ));
            }
        }
        let followers: Vec<String> = infos
            .iter()
            .filter(|(name, i)| **name != new_name && i.provider_node.as_deref() == Some(old))
            .map(|(name, _)| name.clone())
            .collect();
        let kind = match (old_is_root, failover) {
            (true, false) => "switchover",
            (true, true) => "failover of the root",
            (false, false) => "branch takeover",
            (false, true) => "failover of a branch",
        };
        let mut steps = Vec::new();
        if failover {
            steps.push(format!("tag {old} dead on every live member"));
        }
        if old_is_root && !failover {
            steps.push(format!("pause the worker on {old} (root)"));
            steps.push(format!(
                "demote_root step 1 on {old}: writes to the queue are refused from here"
            ));
            steps.push(format!("demote_root step 2 on {old}: the last tick"));
            steps.push(format!("wait until {new_name} has applied the last tick"));
            steps.push(format!("pause the worker on {new_name}"));
            steps.push(format!(
                "promote_branch on {new_name}: writes are accepted again, on {new_name}"
            ));
            steps.push(format!(
                "register {old} as subscriber of {new_name} at the last tick"
            ));
            steps.push(format!("unregister {new_name} from {old}"));
            steps.push(format!("resume the worker on {new_name}"));
            steps.push(format!(
                "demote_root step 3 on {old}: it becomes a branch reading from {new_name}"
            ));
            steps.push(format!("resume the worker on {old}"));
        } else if old_is_root {
            steps.push(format!("find the live subscriber of {old} that is furthest ahead; catch {new_name} up from it"));
            steps.push(format!(
                "pause the worker on {new_name}, promote_branch: {new_name} is the root"
            ));
            steps.push(format!(
                "register {old}.gravestone on {new_name} at the last tick (for resurrect)"
            ));
            steps.push(format!("resume the worker on {new_name}"));
        } else {
            steps.push(format!("{new_name} reads from {old}'s provider"));
            if !failover {
                steps.push(format!("{old} reads from {new_name}"));
            }
        }
        if opt.all || failover {
            for f in &followers {
                steps.push(format!("{f} reads from {new_name} (change-provider)"));
            }
        }
        Ok(Plan {
            kind: kind.into(),
            old: old.into(),
            new: new_name,
            checks,
            steps,
            followers: if opt.all || failover {
                followers
            } else {
                Vec::new()
            },
        })
    }

    /// `takeover OLD`: run on (or for) the new node.
    pub async fn takeover(
        &self,
        new_name: Option<&str>,
        old: &str,
        opt: &TakeoverOptions,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let plan = self.takeover_plan(new_name, old, opt).await?;
        let failed: Vec<String> = plan
            .checks
            .iter()
            .filter(|(_, ok, _)| !ok)
            .map(|(w, _, d)| format!("{w}: {d}"))
            .collect();
        if !failed.is_empty() {
            return Err(state(format!("takeover refused: {}", failed.join("; "))));
        }
        let new = plan.new.clone();
        let started = Instant::now();
        p.step(&format!("{} of {old} by {new}", plan.kind));
        let failover = opt.dead_root || opt.dead_branch;
        if failover {
            self.tag(old, true, p).await?;
        }
        match plan.kind.as_str() {
            "switchover" => self.switchover(old, &new, p).await?,
            "failover of the root" => self.root_failover(old, &new, p).await?,
            _ => self.branch_takeover(old, &new, failover, p).await?,
        }
        if opt.all || failover {
            for f in &plan.followers {
                self.change_provider(Some(f), &new, p).await?;
            }
        }
        p.step(&format!(
            "{} done in {}",
            plan.kind,
            crate::fmt::duration(started.elapsed())
        ));
        Ok(())
    }

    async fn switchover(&self, old: &str, new: &str, p: &mut dyn Progress) -> Result<()> {
        let oc = self.node_client(old).await?;
        let nc = self.node_client(new).await?;
        let oinfo = self.local_node(&oc).await?;
        let ninfo = self.local_node(&nc).await?;
        let ow = oinfo
            .worker_name
            .clone()
            .ok_or_else(|| state("old root has no worker"))?;
        let nw = ninfo
            .worker_name
            .clone()
            .ok_or_else(|| state("new node has no worker"))?;
        if ninfo.provider_node.as_deref() != Some(old) {
            p.step(&format!(
                "{new} does not read from {old}: moving it there first"
            ));
            self.change_provider(Some(new), old, p).await?;
        }
        self.set_paused(&oc, old, &ow, true, p).await?;
        let writes_off = Instant::now();
        node::demote_root(&oc, &self.queue, 1, None).await?;
        p.step(&format!(
            "Step 1: writing to the queue on {old} is disabled"
        ));
        let (_, last) = node::demote_root(&oc, &self.queue, 2, None).await?;
        let last = last.ok_or_else(|| state("demote_root step 2 returned no last tick"))?;
        p.step(&format!("Step 2: last tick {last} on {old}"));
        // Wake the new node's worker through the queue's tick channel.
        let qid: Option<i32> = oc
            .query_opt(
                "select queue_id from pgq.queue where queue_name = $1",
                &[&self.queue],
            )
            .await
            .map_err(|e| DbError::query("queue id", e))?
            .map(|r| r.get(0));
        if let Some(qid) = qid {
            let _ = oc
                .query_one(
                    "select pg_notify($1, $2)",
                    &[&crate::ticker::tick_channel(qid), &last.to_string()],
                )
                .await;
        }
        Self::wake(&nc, &nw).await?;
        self.wait_completed(&nc, new, &nw, last, p).await?;
        self.set_paused(&nc, new, &nw, true, p).await?;
        node::promote_branch(&nc, &self.queue).await?;
        let refused = writes_off.elapsed();
        p.writes_refused(refused);
        p.step(&format!(
            "{new} promoted to root: writes accepted again ({} after they were refused)",
            crate::fmt::duration(refused)
        ));
        node::register_subscriber(&nc, &self.queue, old, &ow, Some(last)).await?;
        p.step(&format!(
            "{old} registered as subscriber of {new} at tick {last}"
        ));
        let _ = node::unregister_subscriber(&oc, &self.queue, new).await;
        p.step(&format!("{new} unregistered from {old}"));
        self.set_paused(&nc, new, &nw, false, p).await?;
        node::demote_root(&oc, &self.queue, 3, Some(new)).await?;
        p.step(&format!(
            "Step 3: {old} demoted to branch reading from {new}"
        ));
        self.set_paused(&oc, old, &ow, false, p).await?;
        Ok(())
    }

    async fn root_failover(&self, old: &str, new: &str, p: &mut dyn Progress) -> Result<()> {
        let nc = self.node_client(new).await?;
        let ninfo = self.local_node(&nc).await?;
        let nw = ninfo
            .worker_name
            .clone()
            .ok_or_else(|| state("new node has no worker"))?;
        let members = self.members_of(&nc).await?;
        // Catch up from whichever live subscriber of the dead root got furthest.
        let mut best: Option<(String, i64)> = None;
        for m in members
            .values()
            .filter(|m| !m.dead && m.node_name != old && m.node_name != new)
        {
            if let Ok(c) = connect(&m.node_location).await {
                if let Ok(Some(i)) = node::node_info(&c, &self.queue).await {
                    if i.provider_node.as_deref() == Some(old) && i.is_branch() {
                        if let Some(t) = i.worker_last_tick {
                            if best.as_ref().is_none_or(|(_, b)| t > *b) {
                                best = Some((m.node_name.clone(), t));
                            }
                        }
                    }
                }
            }
        }
        let my_tick = ninfo.worker_last_tick.unwrap_or(0);
        if let Some((ahead, t)) = best.filter(|(_, t)| *t > my_tick) {
            p.step(&format!(
                "{ahead} is ahead ({t} > {my_tick}): catching {new} up from it"
            ));
            self.change_provider(Some(new), &ahead, p).await?;
            self.wait_completed(&nc, new, &nw, t, p).await?;
        }
        self.set_paused(&nc, new, &nw, true, p).await?;
        let last: i64 = nc
            .query_one(
                "select max(t.tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1",
                &[&self.queue],
            )
            .await
            .map_err(|e| DbError::query("reading the new root's last tick", e))?
            .get::<_, Option<i64>>(0)
            .unwrap_or(0);
        node::promote_branch(&nc, &self.queue).await?;
        p.step(&format!("{new} promoted to root at tick {last}"));
        let grave = format!("{old}.gravestone");
        node::register_subscriber(&nc, &self.queue, old, &grave, Some(last)).await?;
        p.step(&format!(
            "{grave} registered on {new} at tick {last} (resurrect starts there)"
        ));
        self.set_paused(&nc, new, &nw, false, p).await?;
        Ok(())
    }

    async fn branch_takeover(
        &self,
        old: &str,
        new: &str,
        failover: bool,
        p: &mut dyn Progress,
    ) -> Result<()> {
        let members = {
            let c = self.local().await?;
            self.members_of(&c).await?
        };
        let old_provider = if failover {
            // The dead branch's provider, from any live node that knew it.
            let mut prov = None;
            for m in members.values().filter(|m| !m.dead && m.node_name != old) {
                if let Ok(c) = connect(&m.node_location).await {
                    if let Ok(subs) = node::subscribers(&c, &self.queue).await {
                        if subs.iter().any(|s| s.node_name == old) {
                            prov = Some(m.node_name.clone());
                            break;
                        }
                    }
                }
            }
            prov.ok_or_else(|| {
                state(format!(
                    "no live node has {old} as subscriber: cannot tell its provider"
                ))
            })?
        } else {
            let oc = self.node_client(old).await?;
            self.local_node(&oc)
                .await?
                .provider_node
                .ok_or_else(|| state(format!("{old} has no provider")))?
        };
        self.change_provider(Some(new), &old_provider, p).await?;
        if !failover {
            self.change_provider(Some(old), new, p).await?;
        }
        Ok(())
    }
}

impl Admin {
    /// `resurrect`: bring back an old root (or branch) that was failed over
    /// while dead. Events it has that the cascade never got ("lost") are
    /// written to `lost_file` (a JSON array) and removed from its queue;
    /// it then reads from the node holding its gravestone, from where the
    /// cascade continued. Its worker stays paused until resumed.
    pub async fn resurrect(
        &self,
        lost_file: &std::path::Path,
        p: &mut dyn Progress,
    ) -> Result<usize> {
        if lost_file.exists() {
            return Err(state(format!(
                "{} exists: move it away first (it may hold events from an earlier resurrect)",
                lost_file.display()
            )));
        }
        let mut local = self.local().await?;
        let info = self.local_node(&local).await?;
        let me = info.node_name.clone();
        let my_worker = info
            .worker_name
            .clone()
            .unwrap_or_else(|| self.worker.clone());
        let grave = format!("{me}.gravestone");
        // Who holds our gravestone, and at which tick.
        let members = self.members_of(&local).await?;
        let mut holder: Option<(String, Client, i64)> = None;
        for m in members.values().filter(|m| m.node_name != me && !m.dead) {
            let Ok(c) = connect(&m.node_location).await else {
                continue;
            };
            if let Ok(subs) = node::subscribers(&c, &self.queue).await {
                if subs
                    .iter()
                    .any(|s| s.node_name == me && s.worker_name == grave)
                {
                    let t = crate::pgq::consumer_info(&c, Some(&self.queue), Some(&grave))
                        .await
                        .map_err(|e| state(e.to_string()))?
                        .first()
                        .and_then(|ci| ci.last_tick)
                        .ok_or_else(|| {
                            state(format!("{grave} has no position on {}", m.node_name))
                        })?;
                    holder = Some((m.node_name.clone(), c, t));
                    break;
                }
            }
        }
        let (holder_name, hc, gtick) = holder.ok_or_else(|| {
            state(format!(
                "no live node holds {grave}: was {me} failed over with takeover --dead-root/--dead-branch?"
            ))
        })?;
        p.step(&format!("{grave} is on {holder_name} at tick {gtick}"));
        // Stop being a root, pointing at the gravestone's node.
        node::set_consumer_paused(&local, &self.queue, &my_worker, true).await?;
        if info.is_root() {
            for step in 1..=3 {
                let np = (step == 3).then_some(holder_name.as_str());
                node::demote_root(&local, &self.queue, step, np).await?;
            }
            p.step(&format!(
                "{me} demoted to branch reading from {holder_name} (worker paused)"
            ));
        } else {
            node::change_consumer_provider(&local, &self.queue, &my_worker, &holder_name).await?;
            p.step(&format!(
                "{me} now reads from {holder_name} (worker paused)"
            ));
        }
        for s in node::subscribers(&local, &self.queue).await? {
            node::unregister_subscriber(&local, &self.queue, &s.node_name).await?;
            p.step(&format!("old subscriber {} unregistered", s.node_name));
        }
        for c in crate::pgq::consumer_info(&local, Some(&self.queue), None)
            .await
            .map_err(|e| state(e.to_string()))?
        {
            if !c.consumer_name.starts_with('.') {
                crate::pgq::unregister_consumer(&local, &self.queue, &c.consumer_name)
                    .await
                    .map_err(|e| state(e.to_string()))?;
                p.step(&format!("consumer {} unregistered", c.consumer_name));
            }
        }
        // Dump what came after the gravestone: the lost events.
        let dumper = format!("{me}.dumper");
        crate::pgq::register_consumer_at(&local, &self.queue, &dumper, gtick)
            .await
            .map_err(|e| state(format!("positioning {dumper} at tick {gtick}: {e}")))?;
        let mut lost: Vec<serde_json::Value> = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        loop {
            let b = local
                .query_one(
                    "select batch_id, cur_tick_id, prev_tick_id from pgq.next_batch_info($1, $2)",
                    &[&self.queue, &dumper],
                )
                .await
                .map_err(|e| DbError::query("next batch of lost events", e))?;
            let Some(batch_id) = b.get::<_, Option<i64>>(0) else {
                break;
            };
            let (cur, prev): (i64, i64) = (b.get(1), b.get(2));
            let rows = local
                .query(
                    "select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4 \
                       from pgq.get_batch_events($1)",
                    &[&batch_id],
                )
                .await
                .map_err(|e| DbError::query("reading lost events", e))?;
            for r in &rows {
                let t: std::time::SystemTime = r.get(1);
                ids.push(r.get(0));
                lost.push(serde_json::json!({
                    "ev_id": r.get::<_, i64>(0),
                    "ev_time": crate::fmt::time_utc(t),
                    "ev_txid": r.get::<_, i64>(2),
                    "ev_retry": r.get::<_, Option<i32>>(3),
                    "ev_type": r.get::<_, Option<String>>(4),
                    "ev_data": r.get::<_, Option<String>>(5),
                    "ev_extra1": r.get::<_, Option<String>>(6),
                    "ev_extra2": r.get::<_, Option<String>>(7),
                    "ev_extra3": r.get::<_, Option<String>>(8),
                    "ev_extra4": r.get::<_, Option<String>>(9),
                    "tick_id": cur,
                    "prev_tick_id": prev,
                }));
            }
            local
                .query_one("select pgq.finish_batch($1)", &[&batch_id])
                .await
                .map_err(|e| DbError::query("finishing a batch of lost events", e))?;
        }
        crate::pgq::unregister_consumer(&local, &self.queue, &dumper)
            .await
            .map_err(|e| state(e.to_string()))?;
        let text = serde_json::to_string_pretty(&lost).map_err(|e| state(e.to_string()))?;
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(lost_file)
                .map_err(|e| state(format!("writing {}: {e}", lost_file.display())))?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| state(format!("writing {}: {e}", lost_file.display())))?;
        }
        p.step(&format!(
            "{} lost event(s) written to {}",
            lost.len(),
            lost_file.display()
        ));
        // Remove them, and the ticks after the gravestone, in one transaction.
        let tx = local
            .transaction()
            .await
            .map_err(|e| DbError::query("begin", e))?;
        let row = tx
            .query_one(
                "select queue_id, queue_data_pfx from pgq.queue where queue_name = $1",
                &[&self.queue],
            )
            .await
            .map_err(|e| DbError::query("reading the queue", e))?;
        let (qid, pfx): (i32, String) = (row.get(0), row.get(1));
        let parent = crate::db::quote_fqname(&pfx);
        tx.execute(
            &format!("delete from {parent} where ev_id = any($1)"),
            &[&ids],
        )
        .await
        .map_err(|e| DbError::query("deleting lost events", e))?;
        tx.execute(
            "delete from pgq.tick where tick_queue = $1 and tick_id > $2",
            &[&qid, &gtick],
        )
        .await
        .map_err(|e| DbError::query("deleting ticks after the gravestone", e))?;
        node::set_consumer_completed(&tx, &self.queue, &my_worker, gtick).await?;
        tx.commit().await.map_err(|e| DbError::query("commit", e))?;
        p.step(&format!(
            "lost events and ticks after {gtick} removed; {me} continues from tick {gtick}"
        ));
        // The gravestone becomes a real subscription.
        node::unregister_subscriber(&hc, &self.queue, &me).await?;
        node::register_subscriber(&hc, &self.queue, &me, &my_worker, Some(gtick)).await?;
        p.step(&format!("{me} subscribed to {holder_name} at tick {gtick}"));
        if let Some(gw) = node::node_info(&hc, &self.queue)
            .await?
            .and_then(|n| n.global_watermark)
        {
            let _ = node::set_global_watermark(&local, &self.queue, Some(gw)).await;
        }
        node::register_location(&hc, &self.queue, &me, None, false).await?;
        let _ = self.tag(&me, false, p).await;
        p.step(&format!("{me}'s worker stays paused: resume it when ready"));
        Ok(lost.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_from_closures() {
        let mut seen = Vec::new();
        {
            let mut f = |s: &str| seen.push(s.to_string());
            let p: &mut dyn Progress = &mut f;
            p.step("one");
            p.step("two");
        }
        assert_eq!(seen, vec!["one", "two"]);
    }

    #[test]
    fn plan_ok_needs_every_check() {
        let mut p = Plan {
            kind: "switchover".into(),
            old: "a".into(),
            new: "b".into(),
            checks: vec![("x".into(), true, String::new())],
            steps: vec![],
            followers: vec![],
        };
        assert!(p.ok());
        p.checks.push(("y".into(), false, "down".into()));
        assert!(!p.ok());
    }
}
