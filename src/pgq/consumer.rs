//! The consumer: the batch loop of spec §1.4 / §3.3.
//!
//! `next_batch` → events (`get_batch_events`, or a cursor for large batches)
//! → the handler → `event_retry` for what it postponed → `finish_batch`.
//!
//! **Exactly once, same database.** [`Consumer::process_batch`] runs all of
//! that in one transaction and hands the handler that transaction: work the
//! handler does through it commits together with `finish_batch`, or not at
//! all. A consumer killed at any point leaves the batch unfinished and the
//! next run gets the same events again (under a new batch id: the open
//! batch was rolled back with everything else).
//!
//! **Other targets.** When the work lands in another database, one
//! transaction cannot cover both. Then: open the batch and commit
//! ([`Consumer::open_batch`]), apply the events in the target and record the
//! batch's `cur_tick_id` for this consumer *in the target's transaction*,
//! skipping a batch whose tick is already recorded there, then
//! [`Consumer::finish_batch`]. A crash between the target commit and
//! `finish_batch` re-delivers a batch the target recognises and skips.
//! `pgq_ext` (a later issue) packages the recording side.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Statement, Transaction};
use tokio_util::sync::CancellationToken;

use super::{admin, BatchInfo, Event, Result, EVENT_COLUMNS};
use crate::db::DbError;

/// Batch selection and fetching, as python-pgq's `pgq_*` keys.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Skip ticks younger than this (`pgq_min_lag`).
    pub min_lag: Option<Duration>,
    /// Merge ticks until this many events (`pgq_min_count`).
    pub min_count: Option<i32>,
    /// Merge ticks until they span this long (`pgq_min_interval`).
    pub min_interval: Option<Duration>,
    /// Fetch events through a cursor this many at a time, handing them to
    /// the handler chunk by chunk (`pgq_lazy_fetch`); `None` fetches a
    /// batch in one call.
    pub fetch_size: Option<i32>,
    /// Sleep when no batch is ready (`loop_delay`).
    pub idle_sleep: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            min_lag: None,
            min_count: None,
            min_interval: None,
            fetch_size: None,
            idle_sleep: Duration::from_secs(1),
        }
    }
}

/// What a handler asks for besides its own work: events to retry later.
#[derive(Debug, Default)]
pub struct BatchControl {
    retries: Vec<(i64, i32)>,
}

impl BatchControl {
    /// Postpone `ev` for this consumer; it comes back in a later batch after
    /// `after` (rounded up to whole seconds), with `ev_retry` incremented.
    pub fn retry(&mut self, ev: &Event, after: Duration) {
        let secs = after.as_secs_f64().ceil().min(i32::MAX as f64) as i32;
        self.retries.push((ev.ev_id, secs));
    }

    /// Events postponed so far in this batch.
    pub fn retried(&self) -> usize {
        self.retries.len()
    }
}

/// Processes events. Called once per batch with all its events, or once per
/// cursor fetch when [`ConsumerConfig::fetch_size`] is set — always inside the
/// batch's transaction, in `ev_id` order. An error rolls the batch back.
pub trait BatchHandler: Send {
    fn handle<'a>(
        &'a mut self,
        tx: &'a Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        ctl: &'a mut BatchControl,
    ) -> impl Future<Output = Result<()>> + Send + 'a;
}

/// What one processed batch amounted to.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    pub batch: BatchInfo,
    pub events: usize,
    pub retried: usize,
}

struct Stmts {
    next_batch: Statement,
    events: Statement,
    finish: Statement,
    retry: Statement,
}

/// A registered consumer of one queue, with its own connection.
pub struct Consumer {
    client: Client,
    queue: String,
    name: String,
    cfg: ConsumerConfig,
    stmts: Stmts,
    /// Tick notifications (see [`crate::ticker::tick_channel`]), when the
    /// consumer connected itself and listens.
    wakeups: Option<tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .field("name", &self.name)
            .field("cfg", &self.cfg)
            .finish()
    }
}

const CURSOR: &str = "skydeck_batch_cursor";

impl Consumer {
    /// Wrap a connection; prepares the statements of the loop. Does not
    /// register (see [`Consumer::register`]).
    pub async fn new(
        client: Client,
        queue: &str,
        name: &str,
        cfg: ConsumerConfig,
    ) -> Result<Consumer> {
        let prep = |sql: &'static str| {
            let c = &client;
            async move {
                c.prepare(sql)
                    .await
                    .map_err(|e| DbError::query(format!("preparing the consumer loop ({sql})"), e))
            }
        };
        let stmts = Stmts {
            next_batch: prep(
                "select batch_id, cur_tick_id, prev_tick_id, cur_tick_time, prev_tick_time, \
                        cur_tick_event_seq, prev_tick_event_seq \
                 from pgq.next_batch_custom($1, $2, make_interval(secs => $3::float8), $4::int4, \
                                            make_interval(secs => $5::float8))",
            )
            .await?,
            events: prep(
                "select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, \
                        ev_extra3, ev_extra4 from pgq.get_batch_events($1)",
            )
            .await?,
            finish: prep("select pgq.finish_batch($1)").await?,
            retry: prep("select pgq.event_retry($1, $2, $3::int4)").await?,
        };
        Ok(Consumer {
            client,
            queue: queue.to_string(),
            name: name.to_string(),
            cfg,
            stmts,
            wakeups: None,
        })
    }

    /// Connect, and listen on the queue's tick channel so that
    /// [`Consumer::run`] wakes as soon as skydeck's ticker ticks the queue
    /// (with another ticker, such as the original pgqd, it polls every
    /// `idle_sleep` as before).
    pub async fn connect(
        connstr: &str,
        queue: &str,
        name: &str,
        cfg: ConsumerConfig,
    ) -> Result<Consumer> {
        let (client, rx) = crate::db::connect_with_notifications(connstr).await?;
        let mut c = Consumer::new(client, queue, name, cfg).await?;
        c.listen().await?;
        c.wakeups = Some(rx);
        Ok(c)
    }

    async fn listen(&self) -> Result<()> {
        let row = self
            .client
            .query_opt(
                "select queue_id from pgq.queue where queue_name = $1",
                &[&self.queue],
            )
            .await
            .map_err(|e| DbError::query(self.ctx("looking up the queue"), e))?;
        let Some(row) = row else {
            return Err(super::PgqError::NoSuchQueue(self.queue.clone()));
        };
        let id: i32 = row.get(0);
        let channel = crate::ticker::tick_channel(id);
        self.client
            .batch_execute(&format!("listen {}", crate::db::quote_ident(&channel)))
            .await
            .map_err(|e| DbError::query(self.ctx(&format!("listen {channel}")), e))?;
        Ok(())
    }

    /// Wait until the next tick notification, `idle_sleep`, or `stop`,
    /// whichever comes first; false when stopped.
    async fn idle(&mut self, stop: &CancellationToken) -> bool {
        self.wait_for_tick(stop, self.cfg.idle_sleep).await
    }

    /// Wait until the queue's next tick notification (when listening), or
    /// `max`, or `stop`; false when stopped.
    pub async fn wait_for_tick(&mut self, stop: &CancellationToken, max: Duration) -> bool {
        let sleep = tokio::time::sleep(max);
        match self.wakeups.as_mut() {
            Some(rx) => {
                tokio::select! {
                    _ = stop.cancelled() => return false,
                    _ = sleep => {}
                    n = rx.recv() => {
                        if n.is_none() {
                            // The connection is gone; the next query says why.
                            self.wakeups = None;
                        }
                        // Several ticks may have queued up: one wake is enough.
                        if let Some(rx) = self.wakeups.as_mut() {
                            while rx.try_recv().is_ok() {}
                        }
                    }
                }
            }
            None => {
                tokio::select! {
                    _ = stop.cancelled() => return false,
                    _ = sleep => {}
                }
            }
        }
        true
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn config(&self) -> &ConsumerConfig {
        &self.cfg
    }
    /// The consumer's connection, for setup work of the caller's own.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Register on the queue (no-op when registered): true when new.
    pub async fn register(&self) -> Result<bool> {
        admin::register_consumer(&self.client, &self.queue, &self.name).await
    }

    /// Unregister, dropping its position and pending retries.
    pub async fn unregister(&self) -> Result<i32> {
        admin::unregister_consumer(&self.client, &self.queue, &self.name).await
    }

    fn ctx(&self, what: &str) -> String {
        format!("consumer {:?} on queue {:?}: {what}", self.name, self.queue)
    }

    /// `next_batch_custom` through `c`: the open batch (the same one again
    /// if it was never finished) or `None` when no batch is ready.
    pub async fn next_batch_on(&self, c: &impl GenericClient) -> Result<Option<BatchInfo>> {
        self.parts().next_batch(c).await
    }

    fn parts(&self) -> ConsumerRef<'_> {
        ConsumerRef {
            queue: &self.queue,
            name: &self.name,
            cfg: &self.cfg,
            stmts: &self.stmts,
        }
    }

    /// Open (or re-open) a batch in its own committed transaction: the
    /// first step for work that lands in another database.
    pub async fn open_batch(&self) -> Result<Option<BatchInfo>> {
        self.next_batch_on(&self.client).await
    }

    /// Like [`Consumer::open_batch`], but merging ticks until the batch
    /// holds `min_count` events or spans `min_interval` (a consumer that is
    /// behind catches up in fewer, bigger batches). `None` when no tick is
    /// far enough yet: open a plain batch then.
    pub async fn open_batch_merged(
        &self,
        min_count: i32,
        min_interval: Duration,
    ) -> Result<Option<BatchInfo>> {
        let cfg = ConsumerConfig {
            min_count: Some(min_count),
            min_interval: Some(min_interval),
            ..self.cfg.clone()
        };
        ConsumerRef {
            queue: &self.queue,
            name: &self.name,
            cfg: &cfg,
            stmts: &self.stmts,
        }
        .next_batch(&self.client)
        .await
    }

    /// All events of an open batch.
    pub async fn batch_events(&self, c: &impl GenericClient, batch_id: i64) -> Result<Vec<Event>> {
        let rows = c
            .query(&self.stmts.events, &[&batch_id])
            .await
            .map_err(|e| DbError::query(self.ctx(&format!("get_batch_events({batch_id})")), e))?;
        Ok(rows.iter().map(Event::from_row).collect())
    }

    /// The events of an open batch that match `extra_where` (an SQL
    /// condition on the event columns, as `get_batch_cursor` takes it):
    /// filtered on the server, so the rest never travels.
    pub async fn batch_events_where(
        &self,
        c: &impl GenericClient,
        batch_id: i64,
        extra_where: &str,
    ) -> Result<Vec<Event>> {
        let ctx = || self.ctx(&format!("filtered events of batch {batch_id}"));
        let sql: String = c
            .query_one("select pgq.batch_event_sql($1)", &[&batch_id])
            .await
            .map_err(|e| DbError::query(ctx(), e))?
            .get(0);
        let sql = format!(
            "select {EVENT_COLUMNS} from ({}) _evs where {extra_where} order by 1",
            sql.trim_end().trim_end_matches(" order by 1")
        );
        let rows = c
            .query(&sql, &[])
            .await
            .map_err(|e| DbError::query(ctx(), e))?;
        Ok(rows.iter().map(Event::from_row).collect())
    }

    /// Postpone one event of an open batch by `secs` seconds.
    pub async fn event_retry(
        &self,
        c: &impl GenericClient,
        batch_id: i64,
        ev_id: i64,
        secs: i32,
    ) -> Result<()> {
        c.query_one(&self.stmts.retry, &[&batch_id, &ev_id, &secs])
            .await
            .map_err(|e| {
                DbError::query(self.ctx(&format!("event_retry({batch_id}, {ev_id})")), e)
            })?;
        Ok(())
    }

    /// `finish_batch` through `c`: the consumer moves past the batch.
    pub async fn finish_batch_on(&self, c: &impl GenericClient, batch_id: i64) -> Result<()> {
        c.query_one(&self.stmts.finish, &[&batch_id])
            .await
            .map_err(|e| DbError::query(self.ctx(&format!("finish_batch({batch_id})")), e))?;
        Ok(())
    }

    /// `finish_batch` in its own transaction.
    pub async fn finish_batch(&self, batch_id: i64) -> Result<()> {
        self.finish_batch_on(&self.client, batch_id).await
    }

    /// Process the next batch, if one is ready, in one transaction (see the
    /// module docs). `None` when there was no batch.
    pub async fn process_batch<H: BatchHandler>(
        &mut self,
        handler: &mut H,
    ) -> Result<Option<BatchSummary>> {
        let ctx_begin = self.ctx("begin");
        let tx = self
            .client
            .transaction()
            .await
            .map_err(|e| DbError::query(ctx_begin, e))?;
        // Borrow the pieces separately: `tx` holds `self.client` mutably.
        let me = ConsumerRef {
            queue: &self.queue,
            name: &self.name,
            cfg: &self.cfg,
            stmts: &self.stmts,
        };
        let Some(info) = me.next_batch(&tx).await? else {
            tx.rollback()
                .await
                .map_err(|e| DbError::query(me.ctx("rollback"), e))?;
            return Ok(None);
        };
        let (count, retried) = deliver(
            &tx,
            &self.stmts.events,
            &self.stmts.retry,
            self.cfg.fetch_size,
            &info,
            handler,
            &|w| me.ctx(w),
        )
        .await?;
        tx.query_one(&self.stmts.finish, &[&info.batch_id])
            .await
            .map_err(|e| DbError::query(me.ctx(&format!("finish_batch({})", info.batch_id)), e))?;
        tx.commit().await.map_err(|e| {
            DbError::query(me.ctx(&format!("commit of batch {}", info.batch_id)), e)
        })?;
        Ok(Some(BatchSummary {
            batch: info,
            events: count,
            retried,
        }))
    }

    /// Process batches until `stop` is cancelled, waiting for a tick
    /// notification (or `idle_sleep` at most) when none is ready. A batch in progress is finished, never cut
    /// short: cancellation is looked at between batches and while idle.
    /// Returns the number of batches processed.
    pub async fn run<H: BatchHandler>(
        &mut self,
        handler: &mut H,
        stop: &CancellationToken,
    ) -> Result<u64> {
        let mut n = 0u64;
        while !stop.is_cancelled() {
            match self.process_batch(handler).await? {
                Some(_) => n += 1,
                None => {
                    if !self.idle(stop).await {
                        break;
                    }
                }
            }
        }
        Ok(n)
    }
}

/// Hand an open batch's events to `handler` inside `tx` — all at once, or
/// through a cursor `fetch_size` at a time — then record the retries it
/// asked for. Returns (events, retries). Shared by every kind of consumer.
pub(crate) async fn deliver<H: BatchHandler>(
    tx: &Transaction<'_>,
    events_stmt: &Statement,
    retry_stmt: &Statement,
    fetch_size: Option<i32>,
    info: &BatchInfo,
    handler: &mut H,
    ctx: &(dyn Fn(&str) -> String + Sync),
) -> Result<(usize, usize)> {
    let mut ctl = BatchControl::default();
    let mut count = 0usize;
    match fetch_size {
        None => {
            let rows = tx
                .query(events_stmt, &[&info.batch_id])
                .await
                .map_err(|e| {
                    DbError::query(ctx(&format!("get_batch_events({})", info.batch_id)), e)
                })?;
            let events: Vec<Event> = rows.iter().map(Event::from_row).collect();
            count = events.len();
            handler.handle(tx, info, &events, &mut ctl).await?;
        }
        Some(n) => {
            let n = n.max(1);
            let first = tx
                .query(
                    &format!("select {EVENT_COLUMNS} from pgq.get_batch_cursor($1, $2, $3)"),
                    &[&info.batch_id, &CURSOR, &n],
                )
                .await
                .map_err(|e| {
                    DbError::query(ctx(&format!("get_batch_cursor({})", info.batch_id)), e)
                })?;
            let mut chunk: Vec<Event> = first.iter().map(Event::from_row).collect();
            let mut more = chunk.len() as i32 >= n;
            loop {
                if !chunk.is_empty() {
                    count += chunk.len();
                    handler.handle(tx, info, &chunk, &mut ctl).await?;
                }
                if !more {
                    break;
                }
                let rows = tx
                    .query(&format!("fetch {n} from {CURSOR}"), &[])
                    .await
                    .map_err(|e| DbError::query(ctx("fetching from the batch cursor"), e))?;
                chunk = rows.iter().map(Event::from_row).collect();
                more = chunk.len() as i32 >= n;
            }
            tx.batch_execute(&format!("close {CURSOR}"))
                .await
                .map_err(|e| DbError::query(ctx("closing the batch cursor"), e))?;
        }
    }
    for (ev_id, secs) in &ctl.retries {
        tx.query_one(retry_stmt, &[&info.batch_id, ev_id, secs])
            .await
            .map_err(|e| {
                DbError::query(ctx(&format!("event_retry({}, {ev_id})", info.batch_id)), e)
            })?;
    }
    Ok((count, ctl.retries.len()))
}

/// The consumer's fields without the client, so a transaction can hold the
/// client while we still prepare queries.
struct ConsumerRef<'a> {
    queue: &'a str,
    name: &'a str,
    cfg: &'a ConsumerConfig,
    stmts: &'a Stmts,
}

impl ConsumerRef<'_> {
    fn ctx(&self, what: &str) -> String {
        format!("consumer {:?} on queue {:?}: {what}", self.name, self.queue)
    }

    async fn next_batch(&self, c: &impl GenericClient) -> Result<Option<BatchInfo>> {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let params: [&(dyn ToSql + Sync); 5] = [
            &self.queue,
            &self.name,
            &secs(self.cfg.min_lag),
            &self.cfg.min_count,
            &secs(self.cfg.min_interval),
        ];
        let row = c
            .query_one(&self.stmts.next_batch, &params)
            .await
            .map_err(|e| DbError::query(self.ctx("next_batch"), e))?;
        let batch_id: Option<i64> = row.get(0);
        Ok(batch_id.map(|batch_id| BatchInfo {
            batch_id,
            cur_tick_id: row.get(1),
            prev_tick_id: row.get(2),
            cur_tick_time: row.get(3),
            prev_tick_time: row.get(4),
            cur_tick_event_seq: row.get(5),
            prev_tick_event_seq: row.get(6),
        }))
    }
}
