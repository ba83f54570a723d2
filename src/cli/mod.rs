//! The command line: argument parsing and dispatch. Each command family has
//! its own file; they print tables for people and JSON (`--json`) for
//! scripts, and return errors to `main`, which prints them and exits 1.

mod cascade;
mod console;
mod demo;
mod install;
mod londiste;
mod pgq;
mod pgqd;
mod status;
mod walmgr;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};

/// skydeck — PgQ queues, cascades and replicas for PostgreSQL, with an
/// operations console.
///
/// Without a command: the full-screen console for the deck (`-c`), hosting
/// its workers. `--daemon` runs the same workers headless.
#[derive(Debug, Parser)]
#[command(name = "skydeck", version, about, long_about, propagate_version = true)]
pub struct Cli {
    /// The deck file: `[skydeck]` with `config_list` of job files.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        default_value = "skydeck.ini",
        global = true
    )]
    pub config: PathBuf,
    /// Run the deck's workers headless: log to the deck's logfile, keep a
    /// pidfile; SIGHUP reloads, SIGINT/SIGTERM stop.
    #[arg(long, conflicts_with_all = ["stop", "reload", "kill"])]
    pub daemon: bool,
    /// Stop the running daemon of this deck, letting workers finish (SIGINT).
    #[arg(long, conflicts_with_all = ["reload", "kill"])]
    pub stop: bool,
    /// Make the running daemon re-read its deck (SIGHUP).
    #[arg(long, conflicts_with = "kill")]
    pub reload: bool,
    /// Stop the running daemon fast (SIGTERM).
    #[arg(long)]
    pub kill: bool,
    /// Console: refuse every action that changes state.
    #[arg(long)]
    pub read_only: bool,
    /// More logging (-v debug, -vv trace).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade skydeck's SQL (schemas pgq, …) in a database.
    Install(install::InstallArgs),
    /// PgQ queue administration, producing and consuming (qadmin's
    /// non-interactive half).
    Pgq(pgq::PgqArgs),
    /// Londiste: replicated tables and sequences (add-table, compare, repair,
    /// execute …) and the cascade commands (create-root, status, takeover …)
    ///
    /// The original's rename-node, check and fkeys were broken stubs and are
    /// left out (foreign keys are dropped and restored around copies by the
    /// worker).
    Londiste(londiste::LondisteArgs),
    /// Cascaded queues without Londiste (the original's setadm): the same
    /// commands.
    Cascade(cascade::CascadeArgs),
    /// The ticker and maintenance daemon alone, in the foreground: a drop-in
    /// for the original pgqd (same pgqd.ini).
    Pgqd(pgqd::PgqdArgs),
    /// WAL archiving, base backups, standbys and point-in-time restore
    /// (the original walmgr's commands, for PostgreSQL 12 and later).
    Walmgr(walmgr::WalmgrArgs),
    /// Pause, resume or restart a worker of the running daemon or console of
    /// the deck (`-c`).
    Worker {
        #[arg(value_enum)]
        what: WorkerCommand,
        /// The worker (job) name, as `skydeck status` lists it.
        name: String,
    },
    /// What the running daemon of the deck (`-c`) is doing.
    Status {
        /// Print the status file's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start a throwaway local PostgreSQL with a queue, a producer and a
    /// consumer, and watch events flow. Everything is removed on exit.
    Demo(demo::DemoArgs),
    /// Benchmarks against the original (figures and same-run ratios).
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum WorkerCommand {
    Pause,
    Resume,
    Restart,
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

/// Plain warnings on stderr, for commands that do not set up logging of
/// their own.
pub(super) fn init_stderr_warnings() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .try_init();
}

pub async fn run(cli: Cli) -> Result<()> {
    let signal = if cli.stop {
        Some(libc::SIGINT)
    } else if cli.reload {
        Some(libc::SIGHUP)
    } else if cli.kill {
        Some(libc::SIGTERM)
    } else {
        None
    };
    if let Some(sig) = signal {
        let deck = crate::config::Deck::load(&cli.config)?;
        let path = crate::daemon::run::pidfile_path(&deck);
        let pid = crate::daemon::pidfile::signal(&path, sig)?;
        eprintln!(
            "sent {} to skydeck (pid {pid})",
            match sig {
                libc::SIGINT => "stop (SIGINT)",
                libc::SIGHUP => "reload (SIGHUP)",
                _ => "kill (SIGTERM)",
            }
        );
        return Ok(());
    }
    if cli.daemon {
        return crate::daemon::run::run_daemon(&cli.config, cli.verbose as i32).await;
    }
    // pgqd, the demo and the console set up logging of their own.
    let own_logging = match &cli.command {
        None | Some(Command::Pgqd(_)) | Some(Command::Demo(_)) => true,
        Some(Command::Cascade(a)) => matches!(a.cmd, cascade::CascadeCommand::Worker),
        Some(Command::Londiste(a)) => matches!(
            a.cmd,
            londiste::LondisteCommand::Cascade(cascade::CascadeCommand::Worker)
        ),
        _ => false,
    };
    if !own_logging {
        init_stderr_warnings();
    }
    match cli.command {
        None => console::run(&cli.config, cli.read_only, cli.verbose as i32).await,
        Some(Command::Pgqd(a)) => pgqd::run(a).await,
        Some(Command::Status { json }) => status::run(&cli.config, json),
        Some(Command::Worker { what, name }) => worker(&cli.config, what, name).await,
        Some(Command::Install(a)) => install::run(a).await,
        Some(Command::Pgq(a)) => pgq::run(a).await,
        Some(Command::Demo(a)) => demo::run(a).await,
        Some(Command::Bench(a)) => crate::bench::run(a).await,
        Some(Command::Londiste(a)) => londiste::run(a).await,
        Some(Command::Cascade(a)) => cascade::run(a).await,
        Some(Command::Walmgr(a)) => walmgr::run(a).await,
    }
}

/// `skydeck worker pause|resume|restart NAME`: through the control socket.
async fn worker(deck: &std::path::Path, what: WorkerCommand, worker: String) -> Result<()> {
    use skydeck_ui::model::Action;
    let d = crate::config::Deck::load(deck)?;
    let sock = crate::daemon::control::socket_path(&crate::daemon::run::pidfile_path(&d));
    let action = match what {
        WorkerCommand::Pause => Action::PauseWorker { worker },
        WorkerCommand::Resume => Action::ResumeWorker { worker },
        WorkerCommand::Restart => Action::RestartWorker { worker },
    };
    let r = crate::daemon::control::request(&sock, &action)
        .await
        .map_err(|e| anyhow!(e))?;
    if !r.ok {
        return Err(anyhow!(r.message));
    }
    println!("{}", r.message);
    Ok(())
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
