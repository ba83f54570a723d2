//! PgQ from Rust: queue administration, producing and consuming events.
//!
//! The functions here are thin, typed wrappers over the SQL API in
//! `sql/pgq.sql` (the same API as Skytools 3's pgq), so they work the same
//! against skydeck's SQL and against the original C extension. Names reach
//! SQL only as bind parameters.
//!
//! * [`admin`]: create/drop/configure queues, register consumers, tick,
//!   maintenance, information;
//! * [`producer`]: single events and bulk `COPY`;
//! * [`consumer`]: the batch loop, with exactly-once processing for work done
//!   in the queue's own database;
//! * [`coop`]: cooperative subconsumers sharing one consumer's batches
//!   (pgq_coop);
//! * [`remote`]: exactly once into another database (pgq_ext);
//! * [`event`]: decoding payloads (urlencoded, partial SQL, JSON).

pub mod admin;
pub mod consumer;
pub mod coop;
pub mod event;
pub mod producer;
pub mod remote;

use std::time::SystemTime;

use serde::Serialize;
use tokio_postgres::Row;

pub use admin::*;
pub use consumer::{BatchControl, BatchHandler, BatchSummary, Consumer, ConsumerConfig};
pub use coop::CoopConsumer;
pub use event::{decode, DecodeError, Op, Payload, RowChange};
pub use producer::{bulk_insert, insert_event, insert_event_ex, NewEvent};
pub use remote::{RemoteConsumer, Tracking};

use crate::db::DbError;

/// Errors of the PgQ API.
#[derive(Debug, thiserror::Error)]
pub enum PgqError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("no such queue: {0:?} (see `skydeck pgq queues`)")]
    NoSuchQueue(String),
    #[error("{0}")]
    Handler(String),
}

impl PgqError {
    /// The server's message text, for errors that came from PostgreSQL.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            PgqError::Db(e) => e.server_message(),
            _ => None,
        }
    }
}

pub type Result<T, E = PgqError> = std::result::Result<T, E>;

/// One event as a consumer sees it (`pgq.get_batch_events` columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub ev_id: i64,
    #[serde(serialize_with = "crate::fmt::ser_time")]
    pub ev_time: SystemTime,
    pub ev_txid: i64,
    pub ev_retry: Option<i32>,
    pub ev_type: Option<String>,
    pub ev_data: Option<String>,
    pub ev_extra1: Option<String>,
    pub ev_extra2: Option<String>,
    pub ev_extra3: Option<String>,
    pub ev_extra4: Option<String>,
}

/// The column list every event query selects, in [`Event::from_row`] order.
pub(crate) const EVENT_COLUMNS: &str =
    "ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4";

impl Event {
    pub(crate) fn from_row(r: &Row) -> Event {
        Event {
            ev_id: r.get(0),
            ev_time: r.get(1),
            ev_txid: r.get(2),
            ev_retry: r.get(3),
            ev_type: r.get(4),
            ev_data: r.get(5),
            ev_extra1: r.get(6),
            ev_extra2: r.get(7),
            ev_extra3: r.get(8),
            ev_extra4: r.get(9),
        }
    }
}

/// A batch as `pgq.next_batch_info` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchInfo {
    pub batch_id: i64,
    pub cur_tick_id: i64,
    pub prev_tick_id: i64,
    #[serde(serialize_with = "crate::fmt::ser_time")]
    pub cur_tick_time: SystemTime,
    #[serde(serialize_with = "crate::fmt::ser_time")]
    pub prev_tick_time: SystemTime,
    pub cur_tick_event_seq: i64,
    pub prev_tick_event_seq: i64,
}

/// A row of `pgq.get_queue_info()`; intervals in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueInfo {
    pub queue_name: String,
    pub queue_ntables: i32,
    pub queue_cur_table: i32,
    pub queue_rotation_period: f64,
    #[serde(serialize_with = "crate::fmt::ser_time")]
    pub queue_switch_time: SystemTime,
    pub queue_external_ticker: bool,
    pub queue_ticker_paused: bool,
    pub queue_ticker_max_count: i32,
    pub queue_ticker_max_lag: f64,
    pub queue_ticker_idle_period: f64,
    pub ticker_lag: f64,
    pub ev_per_sec: Option<f64>,
    pub ev_new: i64,
    pub last_tick_id: i64,
}

/// A row of `pgq.get_consumer_info()`; intervals in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerInfo {
    pub queue_name: String,
    pub consumer_name: String,
    pub lag: f64,
    pub last_seen: f64,
    pub last_tick: Option<i64>,
    pub current_batch: Option<i64>,
    pub next_tick: Option<i64>,
    pub pending_events: Option<i64>,
}
