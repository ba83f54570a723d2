//! Producing events: one at a time through `pgq.insert_event`, or in bulk
//! with `COPY` into the queue's current event table.

use std::pin::pin;
use std::time::SystemTime;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{GenericClient, Transaction};

use super::Result;
use crate::db::{quote_fqname, DbError};

/// An event to insert. Every field may be NULL, as in `pgq.insert_event`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEvent {
    pub ev_type: Option<String>,
    pub ev_data: Option<String>,
    pub ev_extra1: Option<String>,
    pub ev_extra2: Option<String>,
    pub ev_extra3: Option<String>,
    pub ev_extra4: Option<String>,
}

impl NewEvent {
    pub fn new(ev_type: impl Into<String>, ev_data: impl Into<String>) -> Self {
        NewEvent {
            ev_type: Some(ev_type.into()),
            ev_data: Some(ev_data.into()),
            ..Default::default()
        }
    }
    pub fn extra1(mut self, v: impl Into<String>) -> Self {
        self.ev_extra1 = Some(v.into());
        self
    }
    pub fn extra2(mut self, v: impl Into<String>) -> Self {
        self.ev_extra2 = Some(v.into());
        self
    }
    pub fn extra3(mut self, v: impl Into<String>) -> Self {
        self.ev_extra3 = Some(v.into());
        self
    }
    pub fn extra4(mut self, v: impl Into<String>) -> Self {
        self.ev_extra4 = Some(v.into());
        self
    }
}

/// `pgq.insert_event(queue, type, data)`: the new event id. The event
/// becomes visible to consumers with the first tick after the caller's
/// transaction commits.
pub async fn insert_event(
    c: &impl GenericClient,
    queue: &str,
    ev_type: &str,
    ev_data: &str,
) -> Result<i64> {
    let r = c
        .query_one(
            "select pgq.insert_event($1, $2, $3)",
            &[&queue, &ev_type, &ev_data],
        )
        .await
        .map_err(|e| DbError::query(format!("insert event into queue {queue:?}"), e))?;
    Ok(r.get(0))
}

/// `pgq.insert_event` with all seven arguments.
pub async fn insert_event_ex(c: &impl GenericClient, queue: &str, ev: &NewEvent) -> Result<i64> {
    let r = c
        .query_one(
            "select pgq.insert_event($1, $2, $3, $4, $5, $6, $7)",
            &[
                &queue,
                &ev.ev_type,
                &ev.ev_data,
                &ev.ev_extra1,
                &ev.ev_extra2,
                &ev.ev_extra3,
                &ev.ev_extra4,
            ],
        )
        .await
        .map_err(|e| DbError::query(format!("insert event into queue {queue:?}"), e))?;
    Ok(r.get(0))
}

/// The columns a new event is written with (its id from the sequence).
const NEW_EVENT_COLUMNS: &str =
    "ev_time, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4";
const NEW_EVENT_TYPES: [Type; 7] = [
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// Insert many events with one binary `COPY` into the queue's current
/// event table, inside the caller's transaction (the table name is only
/// valid until it commits: rotation may switch tables). Event ids come
/// from the queue's sequence. Returns the number of events written.
///
/// Needs INSERT on the event tables (`pgq_admin`); `queue_disable_insert`
/// is honoured (`pgq.current_event_table` refuses), `queue_per_tx_limit` is
/// not (it counts `insert_event` calls).
pub async fn bulk_insert(tx: &Transaction<'_>, queue: &str, events: &[NewEvent]) -> Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let now: SystemTime = tx
        .query_one("select now()", &[])
        .await
        .map_err(|e| DbError::query(format!("bulk insert into queue {queue:?}: now()"), e))?
        .get(0);
    let rows = events.iter().map(|ev| -> [&(dyn ToSql + Sync); 7] {
        [
            &now,
            &ev.ev_type,
            &ev.ev_data,
            &ev.ev_extra1,
            &ev.ev_extra2,
            &ev.ev_extra3,
            &ev.ev_extra4,
        ]
    });
    copy_into_queue(
        tx,
        queue,
        "bulk insert into",
        NEW_EVENT_COLUMNS,
        &NEW_EVENT_TYPES,
        rows,
    )
    .await
}

/// Copy events as they are — ids, times and payloads kept — into the
/// queue's current event table with one binary `COPY`: how a cascade
/// branch takes over its provider's events. The caller's transaction must
/// run in `session_replication_role = replica` when the queue refuses
/// inserts (a branch's queue does). Retry events are not copied (their
/// owner is a subscription of the provider).
pub async fn copy_events(
    tx: &Transaction<'_>,
    queue: &str,
    events: &[super::Event],
) -> Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows = events.iter().map(|ev| -> [&(dyn ToSql + Sync); 8] {
        [
            &ev.ev_id,
            &ev.ev_time,
            &ev.ev_type,
            &ev.ev_data,
            &ev.ev_extra1,
            &ev.ev_extra2,
            &ev.ev_extra3,
            &ev.ev_extra4,
        ]
    });
    copy_into_queue(
        tx,
        queue,
        "copy events into",
        "ev_id, ev_time, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4",
        &[
            Type::INT8,
            Type::TIMESTAMPTZ,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        rows,
    )
    .await
}

/// Insert copies of `events` into another queue with one binary `COPY`:
/// new ids from that queue's sequence, times and payloads kept (how the
/// qsplitter handler forwards a table's events). Inside the caller's
/// transaction.
pub async fn forward_events(
    tx: &Transaction<'_>,
    queue: &str,
    events: &[super::Event],
) -> Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows = events.iter().map(|ev| -> [&(dyn ToSql + Sync); 7] {
        [
            &ev.ev_time,
            &ev.ev_type,
            &ev.ev_data,
            &ev.ev_extra1,
            &ev.ev_extra2,
            &ev.ev_extra3,
            &ev.ev_extra4,
        ]
    });
    copy_into_queue(
        tx,
        queue,
        "forward events into",
        NEW_EVENT_COLUMNS,
        &NEW_EVENT_TYPES,
        rows,
    )
    .await
}

/// One binary `COPY` of `rows` into the queue's current event table
/// (`what` names the operation in errors).
async fn copy_into_queue<'r, const N: usize>(
    tx: &Transaction<'_>,
    queue: &str,
    what: &str,
    columns: &str,
    types: &[Type; N],
    rows: impl Iterator<Item = [&'r (dyn ToSql + Sync); N]>,
) -> Result<u64> {
    let table: String = tx
        .query_one("select pgq.current_event_table($1)", &[&queue])
        .await
        .map_err(|e| DbError::query(format!("{what} queue {queue:?}: current_event_table"), e))?
        .get(0);
    let ctx = |step: &str| format!("{what} queue {queue:?} ({table}): {step}");
    let sql = format!(
        "copy {} ({columns}) from stdin (format binary)",
        quote_fqname(&table)
    );
    let sink = tx
        .copy_in(sql.as_str())
        .await
        .map_err(|e| DbError::query(ctx("COPY"), e))?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, types));
    for row in rows {
        writer
            .as_mut()
            .write(&row)
            .await
            .map_err(|e| DbError::query(ctx("writing rows"), e))?;
    }
    Ok(writer
        .finish()
        .await
        .map_err(|e| DbError::query(ctx("finishing COPY"), e))?)
}
