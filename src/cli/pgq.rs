//! `skydeck pgq …`: queue administration, producing and consuming.

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use tokio_postgres::Transaction;
use tokio_util::sync::CancellationToken;

use super::{parse_duration, print_json, DbArgs};
use crate::fmt::{secs, Table};
use crate::pgq::{
    self, BatchControl, BatchHandler, BatchInfo, Consumer, ConsumerConfig, Event, NewEvent, Payload,
};

#[derive(Debug, Args)]
pub struct PgqArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Print JSON instead of tables (one object per event for `consume`).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: PgqCommand,
}

#[derive(Debug, Subcommand)]
pub enum PgqCommand {
    /// Create a queue (no-op if it exists), optionally configuring it.
    CreateQueue {
        queue: String,
        /// PARAM=VALUE, as for set-config; repeatable.
        #[arg(long = "set", value_name = "PARAM=VALUE")]
        set: Vec<String>,
    },
    /// Drop a queue; refused while consumers are registered, unless --force.
    DropQueue {
        queue: String,
        /// Unregister its consumers first.
        #[arg(long)]
        force: bool,
    },
    /// Change queue settings: ticker_max_count, ticker_max_lag,
    /// ticker_idle_period, ticker_paused, rotation_period, external_ticker
    /// (qadmin's max_count, max_lag, idle_period, paused also work).
    SetConfig {
        queue: String,
        #[arg(value_name = "PARAM=VALUE", required = true)]
        settings: Vec<String>,
    },
    /// Register a consumer (at the latest tick, or at --at TICK, which also
    /// repositions an existing registration).
    Register {
        queue: String,
        consumer: String,
        #[arg(long, value_name = "TICK")]
        at: Option<i64>,
    },
    /// Unregister a consumer, dropping its position and retry events.
    Unregister { queue: String, consumer: String },
    /// Queues with ticker state, lag and event rate.
    Queues { queue: Option<String> },
    /// Consumers with lag, last seen and pending events.
    Consumers {
        queue: Option<String>,
        consumer: Option<String>,
    },
    /// Insert one event.
    Insert {
        queue: String,
        #[arg(value_name = "TYPE")]
        ev_type: String,
        #[arg(value_name = "DATA")]
        ev_data: String,
        #[arg(long)]
        extra1: Option<String>,
        #[arg(long)]
        extra2: Option<String>,
        #[arg(long)]
        extra3: Option<String>,
        #[arg(long)]
        extra4: Option<String>,
    },
    /// Run the ticker once: every queue that needs a tick, or the one named.
    Tick {
        queue: Option<String>,
        /// Tick the named queue now, whatever its thresholds say.
        #[arg(long, requires = "queue")]
        force: bool,
    },
    /// Move due retry events back into their queues.
    RetryMaint,
    /// Run table rotation now where it is due and safe; says why not
    /// elsewhere.
    Rotate { queue: Option<String> },
    /// Print events as they arrive, batch by batch (finishing each batch).
    Consume(ConsumeArgs),
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    pub queue: String,
    pub consumer: String,
    /// Register the consumer first if needed.
    #[arg(long)]
    pub register: bool,
    /// Decode row events (urlencoded, partial SQL, JSON) into columns.
    #[arg(long)]
    pub decode: bool,
    /// Stop after this many batches.
    #[arg(long, value_name = "N")]
    pub batches: Option<u64>,
    /// Stop as soon as no batch is ready.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Wait between polls when idle (default 1s).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub loop_delay: String,
    /// Only take ticks at least this old.
    #[arg(long, value_name = "DURATION")]
    pub min_lag: Option<String>,
    /// Merge ticks until a batch has this many events.
    #[arg(long, value_name = "N")]
    pub min_count: Option<i32>,
    /// Merge ticks until a batch spans this long.
    #[arg(long, value_name = "DURATION")]
    pub min_interval: Option<String>,
    /// Read batches through a cursor this many events at a time.
    #[arg(long, value_name = "N")]
    pub fetch_size: Option<i32>,
}

/// Map qadmin's short names and the `queue_` prefix to set_queue_config's.
fn config_param(p: &str) -> String {
    let p = p.strip_prefix("queue_").unwrap_or(p);
    match p {
        "max_count" => "ticker_max_count".into(),
        "max_lag" => "ticker_max_lag".into(),
        "idle_period" => "ticker_idle_period".into(),
        "paused" => "ticker_paused".into(),
        other => other.into(),
    }
}

fn split_setting(s: &str) -> Result<(String, String)> {
    let (k, v) = s.split_once('=').ok_or_else(|| {
        anyhow!("bad setting {s:?}: expected PARAM=VALUE, for example ticker_max_lag='2 seconds'")
    })?;
    let param = config_param(k.trim());
    if !pgq::QUEUE_PARAMS.contains(&param.as_str()) {
        bail!(
            "unknown queue setting {:?}; settable: {}",
            k.trim(),
            pgq::QUEUE_PARAMS.join(", ")
        );
    }
    Ok((param, v.trim().to_string()))
}

pub async fn run(a: PgqArgs) -> Result<()> {
    let mut client = a.db.connect().await?;
    let json = a.json;
    match a.cmd {
        PgqCommand::CreateQueue { queue, set } => {
            let settings: Vec<(String, String)> = set
                .iter()
                .map(|s| split_setting(s))
                .collect::<Result<_>>()?;
            let tx = client.transaction().await?;
            let created = pgq::create_queue(&tx, &queue).await?;
            for (k, v) in &settings {
                pgq::set_queue_config(&tx, &queue, k, v).await?;
            }
            tx.commit().await?;
            report(
                json,
                &Outcome::new(
                    "create-queue",
                    &queue,
                    created,
                    if created { "created" } else { "already exists" },
                ),
            )
        }
        PgqCommand::DropQueue { queue, force } => {
            if !pgq::queue_exists(&client, &queue).await? {
                return Err(pgq::PgqError::NoSuchQueue(queue).into());
            }
            pgq::drop_queue(&client, &queue, force).await?;
            report(json, &Outcome::new("drop-queue", &queue, true, "dropped"))
        }
        PgqCommand::SetConfig { queue, settings } => {
            let settings: Vec<(String, String)> = settings
                .iter()
                .map(|s| split_setting(s))
                .collect::<Result<_>>()?;
            let tx = client.transaction().await?;
            for (k, v) in &settings {
                pgq::set_queue_config(&tx, &queue, k, v).await?;
            }
            tx.commit().await?;
            let what: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            report(
                json,
                &Outcome::new("set-config", &queue, true, &what.join(", ")),
            )
        }
        PgqCommand::Register {
            queue,
            consumer,
            at,
        } => {
            let new = match at {
                Some(t) => pgq::register_consumer_at(&client, &queue, &consumer, t).await?,
                None => pgq::register_consumer(&client, &queue, &consumer).await?,
            };
            let note = match (new, at) {
                (true, _) => "registered".to_string(),
                (false, Some(t)) => format!("repositioned to tick {t}"),
                (false, None) => "already registered".to_string(),
            };
            report(
                json,
                &Outcome::new("register", &format!("{queue}/{consumer}"), new, &note),
            )
        }
        PgqCommand::Unregister { queue, consumer } => {
            let n = pgq::unregister_consumer(&client, &queue, &consumer).await?;
            let note = if n == 0 {
                "was not registered"
            } else {
                "unregistered"
            };
            report(
                json,
                &Outcome::new("unregister", &format!("{queue}/{consumer}"), n > 0, note),
            )
        }
        PgqCommand::Queues { queue } => {
            let qs = pgq::queue_info(&client, queue.as_deref()).await?;
            if let (Some(q), true) = (&queue, qs.is_empty()) {
                return Err(pgq::PgqError::NoSuchQueue(q.clone()).into());
            }
            if json {
                return print_json(&qs);
            }
            let mut t = Table::new([
                "queue",
                "last_tick",
                "ticker_lag",
                "ev_new",
                "ev/s",
                "table",
                "ticker",
                "max_count/lag/idle",
            ]);
            for q in &qs {
                let ticker = if q.queue_external_ticker {
                    "external"
                } else if q.queue_ticker_paused {
                    "paused"
                } else {
                    "local"
                };
                t.row([
                    q.queue_name.clone(),
                    q.last_tick_id.to_string(),
                    secs(q.ticker_lag),
                    q.ev_new.to_string(),
                    q.ev_per_sec
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    format!("{}/{}", q.queue_cur_table, q.queue_ntables),
                    ticker.to_string(),
                    format!(
                        "{}/{}/{}",
                        q.queue_ticker_max_count,
                        secs(q.queue_ticker_max_lag),
                        secs(q.queue_ticker_idle_period)
                    ),
                ]);
            }
            print_table(&t, "no queues");
            Ok(())
        }
        PgqCommand::Consumers { queue, consumer } => {
            if let Some(q) = &queue {
                if !pgq::queue_exists(&client, q).await? {
                    return Err(pgq::PgqError::NoSuchQueue(q.clone()).into());
                }
            }
            let cs = pgq::consumer_info(&client, queue.as_deref(), consumer.as_deref()).await?;
            if json {
                return print_json(&cs);
            }
            let mut t = Table::new([
                "queue",
                "consumer",
                "lag",
                "last_seen",
                "last_tick",
                "batch",
                "pending",
            ]);
            for c in &cs {
                t.row([
                    c.queue_name.clone(),
                    c.consumer_name.clone(),
                    secs(c.lag),
                    secs(c.last_seen),
                    opt(c.last_tick),
                    opt(c.current_batch),
                    opt(c.pending_events),
                ]);
            }
            print_table(&t, "no consumers");
            Ok(())
        }
        PgqCommand::Insert {
            queue,
            ev_type,
            ev_data,
            extra1,
            extra2,
            extra3,
            extra4,
        } => {
            let ev = NewEvent {
                ev_type: Some(ev_type),
                ev_data: Some(ev_data),
                ev_extra1: extra1,
                ev_extra2: extra2,
                ev_extra3: extra3,
                ev_extra4: extra4,
            };
            let id = pgq::insert_event_ex(&client, &queue, &ev).await?;
            if json {
                return print_json(&serde_json::json!({"queue": queue, "ev_id": id}));
            }
            println!("{id}");
            Ok(())
        }
        PgqCommand::Tick { queue, force } => {
            match (queue, force) {
                (None, _) => {
                    let n = pgq::ticker_all(&client).await?;
                    if json {
                        return print_json(&serde_json::json!({"ticked_queues": n}));
                    }
                    println!("ticked {n} queue(s)");
                }
                (Some(q), force) => {
                    if !pgq::queue_exists(&client, &q).await? {
                        return Err(pgq::PgqError::NoSuchQueue(q).into());
                    }
                    let id = if force {
                        Some(pgq::tick_now(&client, &q).await?)
                    } else {
                        pgq::ticker(&client, &q).await?
                    };
                    if json {
                        return print_json(&serde_json::json!({"queue": q, "tick_id": id}));
                    }
                    match id {
                        Some(id) => println!("{q}: tick {id}"),
                        None => println!("{q}: no tick needed (use --force to tick anyway)"),
                    }
                }
            }
            Ok(())
        }
        PgqCommand::RetryMaint => {
            let n = pgq::retry_maint(&client).await?;
            if json {
                return print_json(&serde_json::json!({"moved": n}));
            }
            println!("moved {n} retry event(s) back into their queues");
            Ok(())
        }
        PgqCommand::Rotate { queue } => {
            let reports = pgq::rotate(&client, queue.as_deref()).await?;
            if json {
                return print_json(&reports);
            }
            let mut t = Table::new(["queue", "table", "result"]);
            for r in &reports {
                t.row([
                    r.queue.clone(),
                    format!("{} -> {}", r.table_before, r.table_after),
                    if r.rotated {
                        "rotated".to_string()
                    } else {
                        format!("not rotated: {}", r.note.clone().unwrap_or_default())
                    },
                ]);
            }
            print_table(&t, "no queues");
            Ok(())
        }
        PgqCommand::Consume(c) => consume(client, c, json).await,
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn print_table(t: &Table, empty: &str) {
    if t.is_empty() {
        println!("({empty})");
    } else {
        print!("{}", t.render());
    }
}

#[derive(Debug, Serialize)]
struct Outcome {
    command: String,
    object: String,
    changed: bool,
    result: String,
}

impl Outcome {
    fn new(command: &str, object: &str, changed: bool, result: &str) -> Self {
        Outcome {
            command: command.into(),
            object: object.into(),
            changed,
            result: result.into(),
        }
    }
}

fn report(json: bool, o: &Outcome) -> Result<()> {
    if json {
        return print_json(o);
    }
    println!("{}: {}", o.object, o.result);
    Ok(())
}

struct Printer {
    queue: String,
    decode: bool,
    json: bool,
}

impl Printer {
    fn line(&self, batch: &BatchInfo, ev: &Event) -> Result<String> {
        let decoded = if self.decode {
            Some(pgq::decode(&self.queue, batch.batch_id, ev)?)
        } else {
            None
        };
        if self.json {
            let mut v = serde_json::json!({ "batch_id": batch.batch_id, "event": ev });
            if let Some(d) = decoded {
                v["decoded"] = serde_json::to_value(d)?;
            }
            return Ok(serde_json::to_string(&v)?);
        }
        let mut s = format!("batch {} ev {}", batch.batch_id, ev.ev_id);
        if let Some(r) = ev.ev_retry {
            s.push_str(&format!(" retry {r}"));
        }
        match decoded {
            Some(Payload::Row(r)) => {
                s.push_str(&format!(
                    " {} {}",
                    r.op.as_str(),
                    r.table.as_deref().unwrap_or("?")
                ));
                for (k, v) in r.columns.iter().chain(r.key.iter()) {
                    s.push_str(&format!(
                        " {}={}",
                        show(k),
                        v.as_deref().map(show).unwrap_or_else(|| "NULL".into())
                    ));
                }
            }
            _ => {
                for (k, v) in [
                    ("type", &ev.ev_type),
                    ("data", &ev.ev_data),
                    ("extra1", &ev.ev_extra1),
                    ("extra2", &ev.ev_extra2),
                    ("extra3", &ev.ev_extra3),
                    ("extra4", &ev.ev_extra4),
                ] {
                    if let Some(v) = v {
                        s.push_str(&format!(" {k}={}", show(v)));
                    }
                }
            }
        }
        Ok(s)
    }
}

/// A value as is when it is plain, else quoted with escapes.
fn show(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\'')
    {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

impl BatchHandler for Printer {
    async fn handle<'a>(
        &'a mut self,
        _tx: &'a Transaction<'_>,
        batch: &'a BatchInfo,
        events: &'a [Event],
        _ctl: &'a mut BatchControl,
    ) -> pgq::Result<()> {
        let mut out = std::io::stdout().lock();
        for ev in events {
            let line = self
                .line(batch, ev)
                .map_err(|e| pgq::PgqError::Handler(e.to_string()))?;
            writeln!(out, "{line}")
                .map_err(|e| pgq::PgqError::Handler(format!("writing to stdout: {e}")))?;
        }
        out.flush()
            .map_err(|e| pgq::PgqError::Handler(format!("writing to stdout: {e}")))?;
        Ok(())
    }
}

async fn consume(client: tokio_postgres::Client, a: ConsumeArgs, json: bool) -> Result<()> {
    let cfg = ConsumerConfig {
        min_lag: a.min_lag.as_deref().map(parse_duration).transpose()?,
        min_count: a.min_count,
        min_interval: a.min_interval.as_deref().map(parse_duration).transpose()?,
        fetch_size: a.fetch_size,
        idle_sleep: parse_duration(&a.loop_delay)?,
    };
    if !pgq::queue_exists(&client, &a.queue).await? {
        return Err(pgq::PgqError::NoSuchQueue(a.queue).into());
    }
    let mut consumer = Consumer::new(client, &a.queue, &a.consumer, cfg).await?;
    if a.register {
        consumer.register().await?;
    } else {
        let known =
            pgq::consumer_info(consumer.client(), Some(&a.queue), Some(&a.consumer)).await?;
        if known.is_empty() {
            bail!(
                "consumer {:?} is not registered on queue {:?}: register it with `skydeck pgq register {} {}` or pass --register",
                a.consumer,
                a.queue,
                a.queue,
                a.consumer
            );
        }
    }
    let mut printer = Printer {
        queue: a.queue.clone(),
        decode: a.decode,
        json,
    };
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.cancel();
            }
        });
    }
    let mut done = 0u64;
    loop {
        if stop.is_cancelled() || a.batches.is_some_and(|n| done >= n) {
            break;
        }
        match consumer
            .process_batch(&mut printer)
            .await
            .with_context(|| format!("consuming {}/{}", a.queue, a.consumer))?
        {
            Some(_) => done += 1,
            None if a.exit_when_idle => break,
            None => {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(consumer.config().idle_sleep) => {}
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_alias() {
        assert_eq!(
            split_setting("max_lag=2s").unwrap(),
            ("ticker_max_lag".into(), "2s".into())
        );
        assert_eq!(
            split_setting("queue_rotation_period = 1 hour").unwrap().0,
            "rotation_period"
        );
        let e = split_setting("bogus=1").unwrap_err().to_string();
        assert!(e.contains("unknown queue setting \"bogus\""), "{e}");
        let e = split_setting("ticker_max_lag").unwrap_err().to_string();
        assert!(e.contains("expected PARAM=VALUE"), "{e}");
    }

    #[test]
    fn show_quotes_what_needs_it() {
        assert_eq!(show("abc"), "abc");
        assert_eq!(show("a b"), "\"a b\"");
        assert_eq!(show(""), "\"\"");
    }
}
