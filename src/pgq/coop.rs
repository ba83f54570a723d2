//! Cooperative consumers (pgq_coop, spec §3.1): several subconsumers share
//! one consumer's batches, processing them in parallel.
//!
//! A batch is handed out in a short transaction of its own (handing out
//! locks the main consumer's row: a long transaction would serialise the
//! subconsumers), then processed, with the work and `pgq_coop.finish_batch`
//! in one transaction. A subconsumer that dies before that commits leaves
//! its batch attached to it, unfinished and unapplied; after
//! `dead_interval` of silence another subconsumer takes the batch over and
//! processes it — exactly once for work done in the queue's database.
//! Batches may finish out of order: there is no global order across
//! subconsumers.

use std::time::Duration;

use tokio_postgres::{Client, Statement};

use super::consumer::{deliver, BatchHandler, BatchSummary, ConsumerConfig};
use super::{BatchInfo, Result};
use crate::db::DbError;

/// One subconsumer of a cooperative consumer, with its own connection.
pub struct CoopConsumer {
    client: Client,
    queue: String,
    consumer: String,
    sub: String,
    cfg: ConsumerConfig,
    dead_interval: Option<Duration>,
    next: Statement,
    info: Statement,
    events: Statement,
    retry: Statement,
    finish: Statement,
}

impl CoopConsumer {
    /// `dead_interval`: take over the batch of a subconsumer silent this
    /// long (python-pgq's `subconsumer_timeout`); `None` never does.
    pub async fn new(
        client: Client,
        queue: &str,
        consumer: &str,
        sub: &str,
        cfg: ConsumerConfig,
        dead_interval: Option<Duration>,
    ) -> Result<CoopConsumer> {
        let ctx = format!("subconsumer {consumer}.{sub} on queue {queue:?}");
        let prep = |sql: &'static str| {
            let c = &client;
            let ctx = ctx.clone();
            async move {
                c.prepare(sql)
                    .await
                    .map_err(|e| DbError::query(format!("{ctx}: preparing {sql}"), e))
            }
        };
        let next = prep(
            "select pgq_coop.next_batch_custom($1, $2, $3, make_interval(secs => $4::float8), $5::int4, \
                    make_interval(secs => $6::float8), make_interval(secs => $7::float8))",
        )
        .await?;
        let info = prep(
            "select prev_tick_id, tick_id, batch_start, batch_end, seq_start, seq_end from pgq.get_batch_info($1)",
        )
        .await?;
        let events = prep(
            "select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4 \
             from pgq.get_batch_events($1)",
        )
        .await?;
        let retry = prep("select pgq.event_retry($1, $2, $3::int4)").await?;
        let finish = prep("select pgq_coop.finish_batch($1)").await?;
        Ok(CoopConsumer {
            client,
            queue: queue.into(),
            consumer: consumer.into(),
            sub: sub.into(),
            cfg,
            dead_interval,
            next,
            info,
            events,
            retry,
            finish,
        })
    }

    fn ctx(&self, what: &str) -> String {
        format!(
            "subconsumer {}.{} on queue {:?}: {what}",
            self.consumer, self.sub, self.queue
        )
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `register_subconsumer`: true when new.
    pub async fn register(&self) -> Result<bool> {
        let r = self
            .client
            .query_one(
                "select pgq_coop.register_subconsumer($1, $2, $3)",
                &[&self.queue, &self.consumer, &self.sub],
            )
            .await
            .map_err(|e| DbError::query(self.ctx("register"), e))?;
        Ok(r.get::<_, i32>(0) == 1)
    }

    /// `unregister_subconsumer`; with `close_batch` an open batch is dropped
    /// (its events are lost for the group), otherwise it is an error.
    pub async fn unregister(&self, close_batch: bool) -> Result<bool> {
        let handling: i32 = i32::from(close_batch);
        let r = self
            .client
            .query_one(
                "select pgq_coop.unregister_subconsumer($1, $2, $3, $4)",
                &[&self.queue, &self.consumer, &self.sub, &handling],
            )
            .await
            .map_err(|e| DbError::query(self.ctx("unregister"), e))?;
        Ok(r.get::<_, i32>(0) == 1)
    }

    /// Take a batch (our own unfinished one, a dead subconsumer's, or the
    /// next) and process it; `None` when there is none.
    pub async fn process_batch<H: BatchHandler>(
        &mut self,
        handler: &mut H,
    ) -> Result<Option<BatchSummary>> {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let row = self
            .client
            .query_one(
                &self.next,
                &[
                    &self.queue,
                    &self.consumer,
                    &self.sub,
                    &secs(self.cfg.min_lag),
                    &self.cfg.min_count,
                    &secs(self.cfg.min_interval),
                    &secs(self.dead_interval),
                ],
            )
            .await
            .map_err(|e| DbError::query(self.ctx("next_batch"), e))?;
        let Some(batch_id) = row.get::<_, Option<i64>>(0) else {
            return Ok(None);
        };
        let r = self
            .client
            .query_one(&self.info, &[&batch_id])
            .await
            .map_err(|e| DbError::query(self.ctx(&format!("get_batch_info({batch_id})")), e))?;
        let info = BatchInfo {
            batch_id,
            prev_tick_id: r.get(0),
            cur_tick_id: r.get(1),
            prev_tick_time: r.get(2),
            cur_tick_time: r.get(3),
            prev_tick_event_seq: r.get(4),
            cur_tick_event_seq: r.get(5),
        };
        let ctx_prefix = format!(
            "subconsumer {}.{} on queue {:?}",
            self.consumer, self.sub, self.queue
        );
        let ctx = move |w: &str| format!("{ctx_prefix}: {w}");
        let tx = self
            .client
            .transaction()
            .await
            .map_err(|e| DbError::query(ctx("begin"), e))?;
        let (count, retried) = deliver(
            &tx,
            &self.events,
            &self.retry,
            self.cfg.fetch_size,
            &info,
            handler,
            &ctx,
        )
        .await?;
        tx.query_one(&self.finish, &[&batch_id])
            .await
            .map_err(|e| DbError::query(ctx(&format!("finish_batch({batch_id})")), e))?;
        tx.commit()
            .await
            .map_err(|e| DbError::query(ctx(&format!("commit of batch {batch_id}")), e))?;
        Ok(Some(BatchSummary {
            batch: info,
            events: count,
            retried,
        }))
    }
}
