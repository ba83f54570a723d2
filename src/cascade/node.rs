//! Typed calls of the pgq_node SQL API (spec §4.4).
//!
//! pgq_node functions answer `(ret_code, ret_note, …)`: 1xx informational,
//! 2xx done, 3xx warnings, 4xx/5xx refusals. [`rc`] turns a refusal into an
//! error carrying the function, the code and the server's note.

use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use crate::db::{describe, DbError};

#[derive(Debug, thiserror::Error)]
pub enum CascadeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{func}: {code} {note}")]
    Refused {
        func: String,
        code: i32,
        note: String,
    },
    #[error("{0}")]
    State(String),
}

impl From<crate::pgq::PgqError> for CascadeError {
    fn from(e: crate::pgq::PgqError) -> Self {
        CascadeError::State(e.to_string())
    }
}

pub type Result<T, E = CascadeError> = std::result::Result<T, E>;

/// A `(ret_code, ret_note)` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rc {
    pub code: i32,
    pub note: String,
}

impl Rc {
    pub fn ok(&self) -> bool {
        self.code < 400
    }
}

/// Call a function returning `(ret_code, ret_note, …)`; refusals (>= 400)
/// are errors.
pub async fn rc(
    c: &impl GenericClient,
    func: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Rc> {
    let r = c
        .query_one(sql, params)
        .await
        .map_err(|e| DbError::query(format!("{func}: {}", describe(&e)), e))?;
    let code: i32 = r.get(0);
    let note: String = r.get::<_, Option<String>>(1).unwrap_or_default();
    if code >= 400 {
        return Err(CascadeError::Refused {
            func: func.to_string(),
            code,
            note,
        });
    }
    Ok(Rc { code, note })
}

/// What `pgq_node.get_node_info` says about the local node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    pub node_type: String,
    pub node_name: String,
    pub global_watermark: Option<i64>,
    pub local_watermark: Option<i64>,
    pub provider_node: Option<String>,
    #[serde(skip)]
    pub provider_location: Option<String>,
    pub combined_queue: Option<String>,
    pub combined_type: Option<String>,
    pub worker_name: Option<String>,
    pub worker_paused: Option<bool>,
    pub worker_uptodate: Option<bool>,
    pub worker_last_tick: Option<i64>,
    pub node_attrs: Option<String>,
    pub target_for: Vec<String>,
}

impl NodeInfo {
    pub fn is_root(&self) -> bool {
        self.node_type == "root"
    }
    pub fn is_branch(&self) -> bool {
        self.node_type == "branch"
    }
    pub fn is_leaf(&self) -> bool {
        self.node_type == "leaf"
    }
    /// The `sync_watermark` node attribute's node list, when set.
    pub fn sync_watermark(&self) -> Option<Vec<String>> {
        let attrs = self.node_attrs.as_deref()?;
        let fields = crate::pgq::event::url_decode_row(attrs).ok()?;
        fields
            .into_iter()
            .find(|(k, _)| k == "sync_watermark")
            .map(|(_, v)| {
                v.unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
    }
}

/// `get_node_info(queue)`; `None` when the queue has no node here (404).
pub async fn node_info(c: &impl GenericClient, queue: &str) -> Result<Option<NodeInfo>> {
    let r = c
        .query_one(
            "select ret_code, ret_note, node_type, node_name, global_watermark, local_watermark, \
                    provider_node, provider_location, combined_queue, combined_type, worker_name, \
                    worker_paused, worker_uptodate, worker_last_tick, node_attrs, target_for \
               from pgq_node.get_node_info($1)",
            &[&queue],
        )
        .await
        .map_err(|e| DbError::query(format!("get_node_info({queue:?})"), e))?;
    let code: i32 = r.get(0);
    if code == 404 || r.get::<_, Option<String>>(2).is_none() {
        return Ok(None);
    }
    if code >= 400 {
        return Err(CascadeError::Refused {
            func: "get_node_info".into(),
            code,
            note: r.get::<_, Option<String>>(1).unwrap_or_default(),
        });
    }
    Ok(Some(NodeInfo {
        node_type: r.get(2),
        node_name: r.get(3),
        global_watermark: r.get(4),
        local_watermark: r.get(5),
        provider_node: r.get(6),
        provider_location: r.get(7),
        combined_queue: r.get(8),
        combined_type: r.get(9),
        worker_name: r.get(10),
        worker_paused: r.get(11),
        worker_uptodate: r.get(12),
        worker_last_tick: r.get(13),
        node_attrs: r.get(14),
        target_for: r.get::<_, Option<Vec<String>>>(15).unwrap_or_default(),
    }))
}

/// What every cascaded consumer polls before each batch
/// (`get_consumer_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerState {
    pub node_type: String,
    pub node_name: String,
    pub completed_tick: Option<i64>,
    pub provider_node: Option<String>,
    #[serde(skip)]
    pub provider_location: Option<String>,
    pub paused: bool,
    pub uptodate: bool,
    pub cur_error: Option<String>,
}

pub async fn consumer_state(
    c: &impl GenericClient,
    queue: &str,
    consumer: &str,
) -> Result<ConsumerState> {
    let r = c
        .query_one(
            "select ret_code, ret_note, node_type, node_name, completed_tick, provider_node, \
                    provider_location, paused, uptodate, cur_error \
               from pgq_node.get_consumer_state($1, $2)",
            &[&queue, &consumer],
        )
        .await
        .map_err(|e| DbError::query(format!("get_consumer_state({queue:?}, {consumer:?})"), e))?;
    let code: i32 = r.get(0);
    if code >= 400 {
        return Err(CascadeError::Refused {
            func: "get_consumer_state".into(),
            code,
            note: r.get::<_, Option<String>>(1).unwrap_or_default(),
        });
    }
    Ok(ConsumerState {
        node_type: r.get(2),
        node_name: r.get(3),
        completed_tick: r.get(4),
        provider_node: r.get(5),
        provider_location: r.get(6),
        paused: r.get::<_, Option<bool>>(7).unwrap_or(false),
        uptodate: r.get::<_, Option<bool>>(8).unwrap_or(false),
        cur_error: r.get(9),
    })
}

/// A member of the cascade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub node_name: String,
    #[serde(skip)]
    pub node_location: String,
    pub dead: bool,
}

pub async fn locations(c: &impl GenericClient, queue: &str) -> Result<Vec<Location>> {
    let rows = c
        .query(
            "select node_name, node_location, dead from pgq_node.get_queue_locations($1) order by node_name",
            &[&queue],
        )
        .await
        .map_err(|e| DbError::query(format!("get_queue_locations({queue:?})"), e))?;
    Ok(rows
        .iter()
        .map(|r| Location {
            node_name: r.get(0),
            node_location: r.get(1),
            dead: r.get::<_, Option<bool>>(2).unwrap_or(false),
        })
        .collect())
}

/// A node reading from this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub node_name: String,
    pub worker_name: String,
    pub node_watermark: Option<i64>,
}

pub async fn subscribers(c: &impl GenericClient, queue: &str) -> Result<Vec<Subscriber>> {
    let rows = c
        .query(
            "select node_name, worker_name, node_watermark from pgq_node.get_subscriber_info($1) order by 1",
            &[&queue],
        )
        .await
        .map_err(|e| DbError::query(format!("get_subscriber_info({queue:?})"), e))?;
    Ok(rows
        .iter()
        .map(|r| Subscriber {
            node_name: r.get(0),
            worker_name: r.get(1),
            node_watermark: r.get(2),
        })
        .collect())
}

macro_rules! rc_fn {
    ($(#[$m:meta])* $name:ident, $sql:literal, ($($arg:ident: $ty:ty),*)) => {
        $(#[$m])*
        // The arguments are the SQL function's.
        #[allow(clippy::too_many_arguments)]
        pub async fn $name(c: &impl GenericClient, $($arg: $ty),*) -> Result<Rc> {
            rc(c, concat!("pgq_node.", stringify!($name)), $sql, &[$(&$arg),*]).await
        }
    };
}

rc_fn!(
    /// Add or update a member (NULL location keeps the old one).
    register_location,
    "select ret_code, ret_note from pgq_node.register_location($1, $2, $3, $4)",
    (queue: &str, node: &str, location: Option<&str>, dead: bool)
);
rc_fn!(
    unregister_location,
    "select ret_code, ret_note from pgq_node.unregister_location($1, $2)",
    (queue: &str, node: &str)
);
rc_fn!(
    /// Initialise the local node.
    create_node,
    "select ret_code, ret_note from pgq_node.create_node($1, $2, $3, $4, $5, $6, $7)",
    (queue: &str, node_type: &str, node_name: &str, worker: &str, provider: Option<&str>, global_watermark: Option<i64>, combined_queue: Option<&str>)
);
rc_fn!(
    drop_node,
    "select ret_code, ret_note from pgq_node.drop_node($1, $2)",
    (queue: &str, node: &str)
);
rc_fn!(
    set_node_attrs,
    "select ret_code, ret_note from pgq_node.set_node_attrs($1, $2)",
    (queue: &str, attrs: &str)
);
rc_fn!(
    unregister_subscriber,
    "select ret_code, ret_note from pgq_node.unregister_subscriber($1, $2)",
    (queue: &str, node: &str)
);
rc_fn!(
    set_subscriber_watermark,
    "select ret_code, ret_note from pgq_node.set_subscriber_watermark($1, $2, $3)",
    (queue: &str, node: &str, watermark: i64)
);
rc_fn!(
    /// Root: `None` publishes its own local watermark.
    set_global_watermark,
    "select ret_code, ret_note from pgq_node.set_global_watermark($1, $2)",
    (queue: &str, watermark: Option<i64>)
);
rc_fn!(
    set_partition_watermark,
    "select ret_code, ret_note from pgq_node.set_partition_watermark($1, $2, $3)",
    (combined_queue: &str, part_queue: &str, watermark: i64)
);
rc_fn!(
    change_consumer_provider,
    "select ret_code, ret_note from pgq_node.change_consumer_provider($1, $2, $3)",
    (queue: &str, consumer: &str, provider: &str)
);
rc_fn!(
    set_consumer_uptodate,
    "select ret_code, ret_note from pgq_node.set_consumer_uptodate($1, $2, $3)",
    (queue: &str, consumer: &str, uptodate: bool)
);
rc_fn!(
    set_consumer_paused,
    "select ret_code, ret_note from pgq_node.set_consumer_paused($1, $2, $3)",
    (queue: &str, consumer: &str, paused: bool)
);
rc_fn!(
    /// In the same transaction as the batch's work.
    set_consumer_completed,
    "select ret_code, ret_note from pgq_node.set_consumer_completed($1, $2, $3)",
    (queue: &str, consumer: &str, tick_id: i64)
);
rc_fn!(
    set_consumer_error,
    "select ret_code, ret_note from pgq_node.set_consumer_error($1, $2, $3)",
    (queue: &str, consumer: &str, message: &str)
);
rc_fn!(
    promote_branch,
    "select ret_code, ret_note from pgq_node.promote_branch($1)",
    (queue: &str)
);
rc_fn!(
    register_consumer,
    "select ret_code, ret_note from pgq_node.register_consumer($1, $2, $3, $4)",
    (queue: &str, consumer: &str, provider: &str, custom_tick: Option<i64>)
);
rc_fn!(
    unregister_consumer,
    "select ret_code, ret_note from pgq_node.unregister_consumer($1, $2)",
    (queue: &str, consumer: &str)
);

/// `register_subscriber` on the provider: the global watermark the new
/// subscriber starts from.
pub async fn register_subscriber(
    c: &impl GenericClient,
    queue: &str,
    node: &str,
    worker: &str,
    custom_tick: Option<i64>,
) -> Result<(Rc, Option<i64>)> {
    let r = c
        .query_one(
            "select ret_code, ret_note, global_watermark from pgq_node.register_subscriber($1, $2, $3, $4)",
            &[&queue, &node, &worker, &custom_tick],
        )
        .await
        .map_err(|e| DbError::query(format!("register_subscriber({queue:?}, {node:?})"), e))?;
    let code: i32 = r.get(0);
    let note: String = r.get::<_, Option<String>>(1).unwrap_or_default();
    if code >= 400 {
        return Err(CascadeError::Refused {
            func: "pgq_node.register_subscriber".into(),
            code,
            note,
        });
    }
    Ok((Rc { code, note }, r.get(2)))
}

/// `demote_root(queue, step, new_provider)`: the last tick (step 2).
pub async fn demote_root(
    c: &impl GenericClient,
    queue: &str,
    step: i32,
    new_provider: Option<&str>,
) -> Result<(Rc, Option<i64>)> {
    let r = c
        .query_one(
            "select ret_code, ret_note, last_tick from pgq_node.demote_root($1, $2, $3)",
            &[&queue, &step, &new_provider],
        )
        .await
        .map_err(|e| DbError::query(format!("demote_root({queue:?}, {step})"), e))?;
    let code: i32 = r.get(0);
    let note: String = r.get::<_, Option<String>>(1).unwrap_or_default();
    if code >= 400 {
        return Err(CascadeError::Refused {
            func: format!("pgq_node.demote_root step {step}"),
            code,
            note,
        });
    }
    Ok((Rc { code, note }, r.get(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_watermark_attr() {
        let mut n = NodeInfo {
            node_type: "branch".into(),
            node_name: "b".into(),
            global_watermark: None,
            local_watermark: None,
            provider_node: None,
            provider_location: None,
            combined_queue: None,
            combined_type: None,
            worker_name: None,
            worker_paused: None,
            worker_uptodate: None,
            worker_last_tick: None,
            node_attrs: Some("sync_watermark=n4%2cn5&other=1".into()),
            target_for: vec![],
        };
        assert_eq!(
            n.sync_watermark(),
            Some(vec!["n4".to_string(), "n5".to_string()])
        );
        n.node_attrs = Some("other=1".into());
        assert_eq!(n.sync_watermark(), None);
        n.node_attrs = None;
        assert_eq!(n.sync_watermark(), None);
    }
}
