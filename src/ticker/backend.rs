//! The ticker's real backend: tokio-postgres connections.

use tokio_postgres::{Client, Config, NoTls};

use super::{Backend, Conn, Ticked};
use crate::db::{describe, quote_ident};

/// Connects with `base_connstr` plus the database name.
#[derive(Debug, Clone)]
pub struct PgBackend {
    base: Config,
    initial_database: String,
}

impl PgBackend {
    /// `base_connstr` is a libpq key=value string or URI without (or with,
    /// then overridden) a database name.
    pub fn new(base_connstr: &str, initial_database: &str) -> Result<Self, String> {
        let mut base: Config = base_connstr.parse().map_err(|e| {
            format!(
                "bad base_connstr {}: {e}",
                crate::db::mask_connstr(base_connstr)
            )
        })?;
        if base.get_application_name().is_none() {
            base.application_name("skydeck ticker");
        }
        Ok(PgBackend {
            base,
            initial_database: initial_database.to_string(),
        })
    }

    async fn open(&self, dbname: &str) -> Result<Client, String> {
        let mut cfg = self.base.clone();
        cfg.dbname(dbname);
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(std::time::Duration::from_secs(10));
        }
        let (client, conn) = cfg.connect(NoTls).await.map_err(|e| describe(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }
}

/// One connection of one loop.
pub struct PgConn {
    client: Client,
}

const TICK_SQL: &str = "\
with t as materialized (
    select q.queue_id, q.queue_name, pgq.ticker(q.queue_name) as tick_id
      from pgq.queue q
     where not q.queue_external_ticker and not q.queue_ticker_paused
     order by q.queue_name)
select queue_name, tick_id, pg_catalog.pg_notify('pgq_tick.' || queue_id, tick_id::text)::text
  from t where tick_id is not null";

impl Backend for PgBackend {
    type Conn = PgConn;

    async fn connect(&self, dbname: &str) -> Result<PgConn, String> {
        Ok(PgConn {
            client: self.open(dbname).await?,
        })
    }

    async fn list_databases(&self) -> Result<Vec<String>, String> {
        let c = self.open(&self.initial_database).await?;
        let rows = c
            .query(
                "select datname from pg_catalog.pg_database \
                 where not datistemplate and datallowconn order by datname",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// Quote a function name as pgqd does: `schema.name` part by part.
fn quote_func(name: &str) -> String {
    match name.split_once('.') {
        Some((s, f)) => format!("{}.{}", quote_ident(s), quote_ident(f)),
        None => quote_ident(name),
    }
}

impl Conn for PgConn {
    async fn pgq_version(&mut self) -> Result<Option<String>, String> {
        let has: bool = self
            .client
            .query_one(
                "select exists (select 1 from pg_catalog.pg_namespace where nspname = 'pgq')",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        if !has {
            return Ok(None);
        }
        let v: Option<String> = self
            .client
            .query_one("select pgq.version()::text", &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        Ok(Some(v.unwrap_or_default()))
    }

    async fn tick(&mut self) -> Result<Vec<Ticked>, String> {
        let rows = self
            .client
            .query(TICK_SQL, &[])
            .await
            .map_err(|e| describe(&e))?;
        Ok(rows
            .iter()
            .map(|r| Ticked {
                queue: r.get(0),
                tick_id: r.get(1),
            })
            .collect())
    }

    async fn retry(&mut self) -> Result<u64, String> {
        let mut total = 0u64;
        loop {
            let n: Option<i32> = self
                .client
                .query_one("select pgq.maint_retry_events()", &[])
                .await
                .map_err(|e| describe(&e))?
                .get(0);
            match n {
                Some(n) if n > 0 => total += n as u64,
                _ => return Ok(total),
            }
        }
    }

    async fn maint(&mut self) -> Result<u64, String> {
        let ops = self
            .client
            .query(
                "select func_name, func_arg from pgq.maint_operations()",
                &[],
            )
            .await
            .map_err(|e| format!("pgq.maint_operations(): {}", describe(&e)))?;
        let mut done = 0u64;
        for op in ops {
            let func: String = op.get(0);
            let arg: Option<String> = op.get(1);
            let lower = func.to_ascii_lowercase();
            if lower == "vacuum" || lower == "vacuum analyze" {
                let Some(table) = arg else { continue };
                let sql = format!("{lower} {}", crate::db::quote_fqname(&table));
                self.client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| format!("{sql}: {}", describe(&e)))?;
                done += 1;
                continue;
            }
            let sql = match &arg {
                Some(_) => format!("select ({}($1))::int8", quote_func(&func)),
                None => format!("select ({}())::int8", quote_func(&func)),
            };
            // A non-zero result means "call me again at once"; bounded so a
            // misbehaving function cannot spin forever.
            for _ in 0..10_000 {
                let row = match &arg {
                    Some(a) => self.client.query_one(sql.as_str(), &[a]).await,
                    None => self.client.query_one(sql.as_str(), &[]).await,
                }
                .map_err(|e| {
                    format!("{func}({}): {}", arg.as_deref().unwrap_or(""), describe(&e))
                })?;
                done += 1;
                let again: Option<i64> = row.get(0);
                if again.unwrap_or(0) == 0 {
                    break;
                }
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_are_quoted_part_by_part() {
        assert_eq!(
            quote_func("pgq.maint_rotate_tables_step1"),
            "pgq.maint_rotate_tables_step1"
        );
        assert_eq!(quote_func("My Schema.f"), "\"My Schema\".f");
        assert_eq!(quote_func("f\"; drop"), "\"f\"\"; drop\"");
    }

    #[test]
    fn bad_base_connstr_is_masked() {
        let e = PgBackend::new("host=h password=secret port=notaport", "template1").unwrap_err();
        assert!(e.contains("password=***"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }
}
