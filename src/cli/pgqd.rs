//! `skydeck pgqd [pgqd.ini]`: the ticker alone, in the foreground, as a
//! drop-in for the original pgqd (same config file, same stats line, same
//! signals: SIGINT stops, SIGTERM stops fast, SIGHUP re-reads the config).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info};

use crate::config::PgqdConfig;
use crate::daemon::logging::{self, LogBuffer, Output};
use crate::daemon::pidfile::{self, Pidfile};
use crate::daemon::run::{KILL_GRACE, STOP_GRACE};
use crate::daemon::{Policy, Supervisor};
use crate::ticker::{self, TickerJob};

#[derive(Debug, Args)]
pub struct PgqdArgs {
    /// pgqd.ini with a [pgqd] section; without it, the defaults and the
    /// libpq environment (PGHOST …) are used.
    pub config: Option<PathBuf>,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings on the console.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a sample config and exit.
    #[arg(long)]
    pub ini: bool,
    /// Stop the running pgqd of this config (SIGINT).
    #[arg(short = 's', long = "stop", requires = "config")]
    pub stop: bool,
    /// Stop it fast (SIGTERM).
    #[arg(short = 'k', long = "kill", requires = "config")]
    pub kill: bool,
    /// Make it re-read its config (SIGHUP).
    #[arg(short = 'r', long = "reload", requires = "config")]
    pub reload: bool,
}

pub const SAMPLE_INI: &str = "\
[pgqd]
# where to log (besides stderr); and the pidfile that refuses a second instance
#logfile = ~/log/pgqd.log
#pidfile = ~/pid/pgqd.pid

# connection string without dbname=
#base_connstr = host=127.0.0.1 port=5432 user=postgres

# where to list the databases from
#initial_database = template1

# databases to tick; empty: every database that has the pgq schema
#database_list =

# how often to look for new databases, and for pgq in them
#check_period = 60

# how often to move due retry events back into their queues
#retry_period = 30

# how often to run pgq.maint_operations() (rotation, vacuum, extra maintenance)
#maint_period = 120

# how often to tick; fractions of a second are fine
#ticker_period = 1

# how often to log {ticks: N, maint: N, retry: N}
#stats_period = 30

# reconnect the ticker connection after this long
#connection_lifetime = 3600
";

fn load(path: Option<&PathBuf>) -> Result<PgqdConfig> {
    match path {
        Some(p) => Ok(PgqdConfig::load(p)?),
        None => {
            let mut c = PgqdConfig::default();
            if let Some(env) = crate::db::connstr_from_env() {
                // dbname from the environment is the database list, not the base.
                c.base_connstr = env
                    .split(' ')
                    .filter(|kv| !kv.starts_with("dbname="))
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            Ok(c)
        }
    }
}

pub async fn run(a: PgqdArgs) -> Result<()> {
    if a.ini {
        print!("{SAMPLE_INI}");
        return Ok(());
    }
    let cfg = load(a.config.as_ref())?;
    let sig = if a.stop {
        Some(libc::SIGINT)
    } else if a.kill {
        Some(libc::SIGTERM)
    } else if a.reload {
        Some(libc::SIGHUP)
    } else {
        None
    };
    if let Some(sig) = sig {
        let Some(pf) = &cfg.pidfile else {
            bail!(
                "{}: no pidfile in [pgqd], so there is no running instance to signal",
                a.config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        };
        let pid = pidfile::signal(pf, sig)?;
        eprintln!("sent signal {sig} to pgqd (pid {pid})");
        return Ok(());
    }
    let verbosity = if a.quiet { -1 } else { a.verbose as i32 };
    let buffer = LogBuffer::new(100);
    let _guard = logging::init(Output::Stderr(cfg.logfile.as_deref()), verbosity, &buffer)
        .context("setting up logging")?;
    let _pid = match &cfg.pidfile {
        Some(p) => Some(Pidfile::create(p)?),
        None => None,
    };
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let sup = Supervisor::new(Policy::default());
    let name = cfg.job_name.clone();
    sup.add(Arc::new(TickerJob::new(
        &name,
        ticker::Settings::from(&cfg),
        String::new(),
    )));
    crate::daemon::run::sd_notify("READY=1");
    let mut current = ticker::Settings::from(&cfg);
    let grace = loop {
        tokio::select! {
            _ = sigint.recv() => { info!("Got SIGINT, shutting down"); break STOP_GRACE; }
            _ = sigterm.recv() => { info!("Got SIGTERM, fast exit"); break KILL_GRACE; }
            _ = sighup.recv() => {
                info!("Got SIGHUP, re-reading config");
                match load(a.config.as_ref()) {
                    Ok(newer) => {
                        let settings = ticker::Settings::from(&newer);
                        if settings != current {
                            // Same name: the new ticker replaces the old one.
                            sup.add(Arc::new(TickerJob::new(&name, settings.clone(), String::new())));
                            current = settings;
                        } else {
                            // Nothing changed: re-check the databases now.
                            sup.restart(&name).ok();
                        }
                    }
                    Err(e) => error!("keeping the running config: {e:#}"),
                }
            }
        }
    };
    crate::daemon::run::sd_notify("STOPPING=1");
    sup.shutdown(grace).await;
    Ok(())
}
