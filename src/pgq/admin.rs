//! Queue administration and information: the non-interactive half of qadmin.

use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use super::{ConsumerInfo, PgqError, QueueInfo, Result};
use crate::db::DbError;

fn ctx(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> DbError {
    let what = what.into();
    move |e| DbError::query(what, e)
}

/// `pgq.create_queue`: true when created, false when it already existed.
pub async fn create_queue(c: &impl GenericClient, queue: &str) -> Result<bool> {
    let r = c
        .query_one("select pgq.create_queue($1)", &[&queue])
        .await
        .map_err(ctx(format!("create queue {queue:?}")))?;
    Ok(r.get::<_, Option<i32>>(0) == Some(1))
}

/// `pgq.drop_queue`; with `force` its consumers are unregistered first.
pub async fn drop_queue(c: &impl GenericClient, queue: &str, force: bool) -> Result<()> {
    c.query_one("select pgq.drop_queue($1, $2)", &[&queue, &force])
        .await
        .map_err(ctx(format!("drop queue {queue:?}")))?;
    Ok(())
}

/// The parameters `pgq.set_queue_config` accepts (without the `queue_` prefix).
pub const QUEUE_PARAMS: &[&str] = &[
    "ticker_max_count",
    "ticker_max_lag",
    "ticker_idle_period",
    "ticker_paused",
    "rotation_period",
    "external_ticker",
];

/// `pgq.set_queue_config(queue, param, value)`.
pub async fn set_queue_config(
    c: &impl GenericClient,
    queue: &str,
    param: &str,
    value: &str,
) -> Result<()> {
    c.query_one(
        "select pgq.set_queue_config($1, $2, $3)",
        &[&queue, &param, &value],
    )
    .await
    .map_err(ctx(format!("set {param} = {value:?} on queue {queue:?}")))?;
    Ok(())
}

/// `pgq.register_consumer`: true when newly registered.
pub async fn register_consumer(
    c: &impl GenericClient,
    queue: &str,
    consumer: &str,
) -> Result<bool> {
    let r = c
        .query_one("select pgq.register_consumer($1, $2)", &[&queue, &consumer])
        .await
        .map_err(ctx(format!(
            "register consumer {consumer:?} on queue {queue:?}"
        )))?;
    Ok(r.get::<_, Option<i32>>(0) == Some(1))
}

/// `pgq.register_consumer_at`: registers at, or repositions to, `tick_id`.
pub async fn register_consumer_at(
    c: &impl GenericClient,
    queue: &str,
    consumer: &str,
    tick_id: i64,
) -> Result<bool> {
    let r = c
        .query_one(
            "select pgq.register_consumer_at($1, $2, $3)",
            &[&queue, &consumer, &tick_id],
        )
        .await
        .map_err(ctx(format!(
            "register consumer {consumer:?} on queue {queue:?} at tick {tick_id}"
        )))?;
    Ok(r.get::<_, Option<i32>>(0) == Some(1))
}

/// `pgq.unregister_consumer`: the number of subscriptions removed.
pub async fn unregister_consumer(
    c: &impl GenericClient,
    queue: &str,
    consumer: &str,
) -> Result<i32> {
    let r = c
        .query_one(
            "select pgq.unregister_consumer($1, $2)",
            &[&queue, &consumer],
        )
        .await
        .map_err(ctx(format!(
            "unregister consumer {consumer:?} from queue {queue:?}"
        )))?;
    Ok(r.get::<_, Option<i32>>(0).unwrap_or(0))
}

/// `pgq.get_queue_info()` (all queues) or `(queue)`.
pub async fn queue_info(c: &impl GenericClient, queue: Option<&str>) -> Result<Vec<QueueInfo>> {
    let rows = c
        .query(
            "select queue_name, queue_ntables, queue_cur_table, \
                    extract(epoch from queue_rotation_period)::float8, queue_switch_time, \
                    queue_external_ticker, queue_ticker_paused, queue_ticker_max_count, \
                    extract(epoch from queue_ticker_max_lag)::float8, \
                    extract(epoch from queue_ticker_idle_period)::float8, \
                    extract(epoch from ticker_lag)::float8, ev_per_sec, ev_new, last_tick_id \
             from pgq.get_queue_info($1::text)",
            &[&queue],
        )
        .await
        .map_err(ctx("reading pgq.get_queue_info()"))?;
    Ok(rows
        .iter()
        .map(|r| QueueInfo {
            queue_name: r.get(0),
            queue_ntables: r.get(1),
            queue_cur_table: r.get(2),
            queue_rotation_period: r.get::<_, Option<f64>>(3).unwrap_or(0.0),
            queue_switch_time: r.get(4),
            queue_external_ticker: r.get(5),
            queue_ticker_paused: r.get(6),
            queue_ticker_max_count: r.get(7),
            queue_ticker_max_lag: r.get::<_, Option<f64>>(8).unwrap_or(0.0),
            queue_ticker_idle_period: r.get::<_, Option<f64>>(9).unwrap_or(0.0),
            ticker_lag: r.get::<_, Option<f64>>(10).unwrap_or(f64::NAN),
            ev_per_sec: r.get(11),
            ev_new: r.get::<_, Option<i64>>(12).unwrap_or(0),
            last_tick_id: r.get::<_, Option<i64>>(13).unwrap_or(0),
        })
        .collect())
}

/// `pgq.get_consumer_info(queue, consumer)`; `None` means all.
pub async fn consumer_info(
    c: &impl GenericClient,
    queue: Option<&str>,
    consumer: Option<&str>,
) -> Result<Vec<ConsumerInfo>> {
    let rows = c
        .query(
            "select queue_name, consumer_name, extract(epoch from lag)::float8, \
                    extract(epoch from last_seen)::float8, last_tick, current_batch, next_tick, \
                    pending_events \
             from pgq.get_consumer_info($1::text, $2::text)",
            &[&queue, &consumer],
        )
        .await
        .map_err(ctx("reading pgq.get_consumer_info()"))?;
    Ok(rows
        .iter()
        .map(|r| ConsumerInfo {
            queue_name: r.get(0),
            consumer_name: r.get(1),
            lag: r.get::<_, Option<f64>>(2).unwrap_or(f64::NAN),
            last_seen: r.get::<_, Option<f64>>(3).unwrap_or(f64::NAN),
            last_tick: r.get(4),
            current_batch: r.get(5),
            next_tick: r.get(6),
            pending_events: r.get(7),
        })
        .collect())
}

/// Whether a queue exists.
pub async fn queue_exists(c: &impl GenericClient, queue: &str) -> Result<bool> {
    let r = c
        .query_one(
            "select exists (select 1 from pgq.queue where queue_name = $1)",
            &[&queue],
        )
        .await
        .map_err(ctx(format!("looking up queue {queue:?}")))?;
    Ok(r.get(0))
}

/// `pgq.ticker(queue)`: the new tick id, or `None` when no tick was needed.
pub async fn ticker(c: &impl GenericClient, queue: &str) -> Result<Option<i64>> {
    let r = c
        .query_one("select pgq.ticker($1)", &[&queue])
        .await
        .map_err(ctx(format!("ticking queue {queue:?}")))?;
    Ok(r.get(0))
}

/// `pgq.ticker()`: ticks every queue that needs it; the number ticked.
pub async fn ticker_all(c: &impl GenericClient) -> Result<i64> {
    let r = c
        .query_one("select pgq.ticker()", &[])
        .await
        .map_err(ctx("running pgq.ticker()"))?;
    Ok(r.get::<_, Option<i64>>(0).unwrap_or(0))
}

/// `pgq.force_tick(queue)`: makes the next ticker run tick; returns the
/// current last tick id.
pub async fn force_tick(c: &impl GenericClient, queue: &str) -> Result<i64> {
    let r = c
        .query_one("select pgq.force_tick($1)", &[&queue])
        .await
        .map_err(ctx(format!("force_tick on queue {queue:?}")))?;
    Ok(r.get::<_, Option<i64>>(0).unwrap_or(0))
}

/// Tick `queue` now, whatever the ticker thresholds say: `force_tick`
/// then `ticker`. Returns the new tick id (or the last one when the queue
/// has an external ticker or is paused).
pub async fn tick_now(c: &impl GenericClient, queue: &str) -> Result<i64> {
    let last = force_tick(c, queue).await?;
    match ticker(c, queue).await {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Ok(last),
        Err(e) => Err(e),
    }
}

/// Move due retry events back into their queues, as pgqd's retry loop does:
/// `pgq.maint_retry_events()` until it returns 0. Returns the total moved.
pub async fn retry_maint(c: &impl GenericClient) -> Result<i64> {
    let mut total = 0i64;
    loop {
        let r = c
            .query_one("select pgq.maint_retry_events()", &[])
            .await
            .map_err(ctx("running pgq.maint_retry_events()"))?;
        let n: i64 = r.get::<_, Option<i32>>(0).map(i64::from).unwrap_or(0);
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// What `rotate` did for one queue.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub queue: String,
    pub table_before: i32,
    pub table_after: i32,
    pub rotated: bool,
    /// Why not, when it did not.
    pub note: Option<String>,
}

/// Run the rotation maintenance now, as pgqd would: step 1 for each queue
/// (or the one named), committed, then step 2 in a later transaction.
/// Only queues whose rotation is due and safe rotate; the report says why
/// the others did not.
pub async fn rotate(client: &Client, queue: Option<&str>) -> Result<Vec<RotateReport>> {
    let queues: Vec<String> = match queue {
        Some(q) => {
            if !queue_exists(client, q).await? {
                return Err(PgqError::NoSuchQueue(q.to_string()));
            }
            vec![q.to_string()]
        }
        None => queue_info(client, None)
            .await?
            .into_iter()
            .map(|q| q.queue_name)
            .collect(),
    };
    let mut out = Vec::new();
    for q in &queues {
        let before = cur_table(client, q).await?;
        let diag = client
            .query_one(
                "select q.queue_switch_step2 is null, \
                        q.queue_switch_time + q.queue_rotation_period >= now(), \
                        (select c.co_name from pgq.subscription s join pgq.consumer c on c.co_id = s.sub_consumer \
                          join pgq.tick t on t.tick_queue = s.sub_queue and t.tick_id = s.sub_last_tick \
                          where s.sub_queue = q.queue_id \
                            and txid_snapshot_xmin(t.tick_snapshot) <= q.queue_switch_step2 \
                          order by s.sub_last_tick limit 1) \
                 from pgq.queue q where q.queue_name = $1",
                &[&q],
            )
            .await
            .map_err(ctx(format!("inspecting rotation state of {q:?}")))?;
        client
            .query_one("select pgq.maint_rotate_tables_step1($1)", &[&q])
            .await
            .map_err(ctx(format!("rotation step 1 on {q:?}")))?;
        let after = cur_table(client, q).await?;
        let note = if after != before {
            None
        } else if diag.get::<_, Option<bool>>(0) == Some(true) {
            Some("previous rotation not finished (step 2 pending)".to_string())
        } else if diag.get::<_, Option<bool>>(1) == Some(true) {
            Some("not due yet (rotation_period)".to_string())
        } else if let Some(c) = diag.get::<_, Option<String>>(2) {
            Some(format!("consumer {c:?} still needs the oldest table"))
        } else {
            Some("table lock not available (retried at next maintenance)".to_string())
        };
        out.push(RotateReport {
            queue: q.clone(),
            table_before: before,
            table_after: after,
            rotated: after != before,
            note,
        });
    }
    client
        .query_one("select pgq.maint_rotate_tables_step2()", &[])
        .await
        .map_err(ctx("rotation step 2"))?;
    Ok(out)
}

async fn cur_table(c: &impl GenericClient, queue: &str) -> Result<i32> {
    let r = c
        .query_one(
            "select queue_cur_table from pgq.queue where queue_name = $1",
            &[&queue],
        )
        .await
        .map_err(ctx(format!("reading cur_table of {queue:?}")))?;
    Ok(r.get(0))
}
