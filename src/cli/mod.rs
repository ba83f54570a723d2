//! The command line: argument parsing and dispatch. Each command family has
//! its own file; they print tables for people and JSON (`--json`) for
//! scripts, and return errors to `main`, which prints them and exits 1.

mod demo;
mod install;
mod pgq;

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};

/// skydeck — PgQ queues, cascades and replicas for PostgreSQL, with an
/// operations console.
#[derive(Debug, Parser)]
#[command(name = "skydeck", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade skydeck's SQL (schemas pgq, …) in a database.
    Install(install::InstallArgs),
    /// PgQ queue administration, producing and consuming (qadmin's
    /// non-interactive half).
    Pgq(pgq::PgqArgs),
    /// Start a throwaway local PostgreSQL with a queue, a producer and a
    /// consumer, and watch events flow. Everything is removed on exit.
    Demo(demo::DemoArgs),
    /// Benchmarks against the original (figures and same-run ratios).
    Bench(crate::bench::BenchArgs),
}

/// Where to connect: `--db`, else the libpq environment (PGHOST, …).
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Connection string, libpq key=value or postgresql:// URI.
    #[arg(long, value_name = "CONNSTR", global = true)]
    pub db: Option<String>,
}

impl DbArgs {
    pub fn connstr(&self) -> Result<String> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        crate::db::connstr_from_env().ok_or_else(|| {
            anyhow!("no database given: use --db CONNSTR (for example --db 'host=/tmp dbname=app') or set PGHOST/PGDATABASE")
        })
    }

    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        let cs = self.connstr()?;
        Ok(crate::db::connect(&cs).await?)
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Install(a) => install::run(a).await,
        Command::Pgq(a) => pgq::run(a).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Bench(a) => crate::bench::run(a).await,
    }
}

/// Parse a duration as Skytools config and options take them: a number of
/// seconds (`1.5`), or with a unit (`250ms`, `10s`, `5m`, `2h`, `1d`).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().with_context(|| {
        format!("bad duration {s:?}: expected a number with an optional unit (ms, s, m, h, d)")
    })?;
    let mult = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        other => {
            return Err(anyhow!(
                "bad duration {s:?}: unknown unit {other:?} (use ms, s, m, h or d)"
            ))
        }
    };
    let secs = v * mult;
    if !secs.is_finite() || secs < 0.0 {
        return Err(anyhow!("bad duration {s:?}: must be a non-negative number"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Print JSON to stdout, one document.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration(" 3 h").unwrap(), Duration::from_secs(10800));
        let e = parse_duration("5 fortnights").unwrap_err().to_string();
        assert!(e.contains("unknown unit \"fortnights\""), "{e}");
        let e = parse_duration("abc").unwrap_err().to_string();
        assert!(e.contains("bad duration \"abc\""), "{e}");
    }
}
