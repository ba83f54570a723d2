//! Exactly once into another database (pgq_ext, spec §3.2).
//!
//! The batch is opened on the queue's database and committed there (so its
//! id stays the same until it is finished); its work is done in the target
//! database together with a record of the batch — `pgq_ext.set_batch_done`
//! (by batch id) or `pgq_ext.set_last_tick` (by tick, which survives the
//! consumer moving to another node of a cascade) — in one target
//! transaction; only then is the batch finished on the queue's database.
//! After a crash between the target's commit and the finish, the same batch
//! comes back, the target says it is done, and it is only finished.
//!
//! The target needs skydeck's `pgq_ext` component (or the original
//! extension). Retries are refused: recording them would need the queue's
//! database in the target's transaction.

use tokio_postgres::Client;

use super::consumer::{BatchControl, BatchHandler, BatchSummary, Consumer};
use super::{PgqError, Result};
use crate::db::DbError;

/// How the target remembers what it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// `is_batch_done` / `set_batch_done` (python-pgq's RemoteConsumer).
    Batch,
    /// `get_last_tick` / `set_last_tick` (python-pgq's SerialConsumer):
    /// also refuses a batch that does not start where the target is.
    Tick,
}

/// A consumer of one queue applying into another database.
pub struct RemoteConsumer {
    source: Consumer,
    target: Client,
    tracking: Tracking,
    /// pgq_ext's subconsumer id ('' for a plain consumer).
    sub: String,
}

impl RemoteConsumer {
    pub fn new(source: Consumer, target: Client, tracking: Tracking) -> Self {
        RemoteConsumer {
            source,
            target,
            tracking,
            sub: String::new(),
        }
    }

    pub fn source(&self) -> &Consumer {
        &self.source
    }

    pub fn target(&self) -> &Client {
        &self.target
    }

    fn ctx(&self, what: &str) -> String {
        format!(
            "consumer {:?} on queue {:?} (target-tracked): {what}",
            self.source.name(),
            self.source.queue()
        )
    }

    /// Process the next batch, if any (see the module docs).
    pub async fn process_batch<H: BatchHandler>(
        &mut self,
        handler: &mut H,
    ) -> Result<Option<BatchSummary>> {
        let Some(info) = self.source.open_batch().await? else {
            return Ok(None);
        };
        let events = self
            .source
            .batch_events(self.source.client(), info.batch_id)
            .await?;
        let name = self.source.name().to_string();
        let ctx_batch = self.ctx(&format!("batch {}", info.batch_id));
        let tx = self
            .target
            .transaction()
            .await
            .map_err(|e| DbError::query(format!("{ctx_batch}: begin on the target"), e))?;
        let done = match self.tracking {
            Tracking::Batch => tx
                .query_one(
                    "select pgq_ext.is_batch_done($1, $2, $3)",
                    &[&name, &self.sub, &info.batch_id],
                )
                .await
                .map_err(|e| DbError::query(format!("{ctx_batch}: is_batch_done"), e))?
                .get::<_, bool>(0),
            Tracking::Tick => {
                let last: Option<i64> = tx
                    .query_one("select pgq_ext.get_last_tick($1, $2)", &[&name, &self.sub])
                    .await
                    .map_err(|e| DbError::query(format!("{ctx_batch}: get_last_tick"), e))?
                    .get(0);
                match last {
                    Some(t) if t == info.cur_tick_id => true,
                    Some(t) if t != info.prev_tick_id => {
                        return Err(PgqError::Handler(format!(
                            "{ctx_batch}: the target has tick {t}, the batch is {}..{}: positions differ \
                             (rewind the consumer to tick {t}, or reset the target's tick)",
                            info.prev_tick_id, info.cur_tick_id
                        )))
                    }
                    _ => false,
                }
            }
        };
        let mut count = 0;
        if !done {
            let mut ctl = BatchControl::default();
            handler.handle(&tx, &info, &events, &mut ctl).await?;
            if ctl.retried() > 0 {
                return Err(PgqError::Handler(format!(
                    "{ctx_batch}: retries are not supported when the work is tracked in another database"
                )));
            }
            count = events.len();
            match self.tracking {
                Tracking::Batch => {
                    tx.query_one(
                        "select pgq_ext.set_batch_done($1, $2, $3)",
                        &[&name, &self.sub, &info.batch_id],
                    )
                    .await
                    .map_err(|e| DbError::query(format!("{ctx_batch}: set_batch_done"), e))?;
                }
                Tracking::Tick => {
                    tx.query_one(
                        "select pgq_ext.set_last_tick($1, $2, $3)",
                        &[&name, &self.sub, &info.cur_tick_id],
                    )
                    .await
                    .map_err(|e| DbError::query(format!("{ctx_batch}: set_last_tick"), e))?;
                }
            }
        }
        tx.commit()
            .await
            .map_err(|e| DbError::query(format!("{ctx_batch}: commit on the target"), e))?;
        self.source.finish_batch(info.batch_id).await?;
        Ok(Some(BatchSummary {
            batch: info,
            events: count,
            retried: 0,
        }))
    }
}
