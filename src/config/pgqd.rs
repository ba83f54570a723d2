//! The `[pgqd]` section: the ticker and maintenance daemon's settings.
//!
//! Keys, defaults and forms are pgqd's (`src/pgqd.c` of pgq/pgqd, parsed by
//! libusual's cfparser), with these differences:
//! * Values go through Skytools interpolation like every job file, so a
//!   literal `%` must be written `%%` (pgqd reads values verbatim).
//! * Periods also accept units ("500ms", "5min", see
//!   [`value::parse_duration`](super::value::parse_duration)) and must be
//!   greater than 0; `ticker_period` may be below one second.
//!   `stats_period` keeps its fraction (pgqd truncates it to whole seconds).
//! * `syslog` takes the boolean words as well as pgqd's integers.
//! * `syslog_facility` must be one pgqd knows (pgqd silently falls back to
//!   `daemon` on anything else).
//! * Unknown keys are refused, as pgqd does ("unknown parameter"); the
//!   predefined variables and `config_format` are allowed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ini::{Section, PREDEFINED};
use super::ConfigError;

/// The keys pgqd reads.
pub const PGQD_KEYS: [&str; 14] = [
    "logfile",
    "pidfile",
    "base_connstr",
    "initial_database",
    "database_list",
    "syslog",
    "syslog_ident",
    "syslog_facility",
    "check_period",
    "retry_period",
    "maint_period",
    "ticker_period",
    "stats_period",
    "connection_lifetime",
];

/// The syslog facilities pgqd (libusual) knows.
pub const SYSLOG_FACILITIES: [&str; 12] = [
    "auth", "authpriv", "daemon", "user", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// pgqd's settings, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct PgqdConfig {
    /// The job's name (`job_name`, default the file name without extension).
    pub job_name: String,
    /// Log file; `None` when empty or not set (default).
    pub logfile: Option<PathBuf>,
    /// Pid file; `None` when empty or not set (default).
    pub pidfile: Option<PathBuf>,
    /// Connect string without `dbname`; pgqd appends `dbname='<db>'`. Default "".
    pub base_connstr: String,
    /// Database used to list the others. Default `template1`.
    pub initial_database: String,
    /// Databases to tick; empty (default) means every database that allows
    /// connections. Comma separated.
    pub database_list: Vec<String>,
    /// Also log to syslog. Default on.
    pub syslog: bool,
    /// Syslog ident. Default `pgqd`.
    pub syslog_ident: String,
    /// Syslog facility, one of [`SYSLOG_FACILITIES`]. Default `daemon`.
    pub syslog_facility: String,
    /// How often to look for new databases, and to re-check one without
    /// pgq. Default 60 s.
    pub check_period: Duration,
    /// How often to move due retry events back into the queue. Default 30 s.
    pub retry_period: Duration,
    /// How often to run maintenance (rotation, vacuum). Default 120 s.
    pub maint_period: Duration,
    /// How often to call `pgq.ticker()`. Default 1 s.
    pub ticker_period: Duration,
    /// How often to log stats. Default 30 s.
    pub stats_period: Duration,
    /// Reconnect the ticker connection after this age; `None` for 0 (never).
    /// Default 3600 s.
    pub connection_lifetime: Option<Duration>,
}

impl Default for PgqdConfig {
    fn default() -> Self {
        PgqdConfig {
            job_name: "pgqd".to_string(),
            logfile: None,
            pidfile: None,
            base_connstr: String::new(),
            initial_database: "template1".to_string(),
            database_list: Vec::new(),
            syslog: true,
            syslog_ident: "pgqd".to_string(),
            syslog_facility: "daemon".to_string(),
            check_period: Duration::from_secs(60),
            retry_period: Duration::from_secs(30),
            maint_period: Duration::from_secs(120),
            ticker_period: Duration::from_secs(1),
            stats_period: Duration::from_secs(30),
            connection_lifetime: Some(Duration::from_secs(3600)),
        }
    }
}

impl PgqdConfig {
    /// Read a `[pgqd]` section, checking every value.
    pub fn from_section(section: &Section) -> Result<PgqdConfig, ConfigError> {
        for key in section.own_keys() {
            if !PGQD_KEYS.contains(&key) && !PREDEFINED.contains(&key) && key != "config_format" {
                return Err(section.unknown_key(key, &PGQD_KEYS));
            }
        }
        let d = PgqdConfig::default();
        let period = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
            let v = section.get_duration(key, default)?;
            if v.is_zero() {
                return Err(section.bad_value(key, "must be greater than 0"));
            }
            Ok(v)
        };
        let syslog_facility = section.get_str("syslog_facility", &d.syslog_facility)?;
        if !SYSLOG_FACILITIES.contains(&syslog_facility.as_str()) {
            return Err(section.bad_value(
                "syslog_facility",
                format!("expected one of {}", SYSLOG_FACILITIES.join(", ")),
            ));
        }
        let lifetime = section.get_duration("connection_lifetime", Duration::from_secs(3600))?;
        Ok(PgqdConfig {
            job_name: section.get_str("job_name", &d.job_name)?,
            logfile: section.get_path("logfile", None)?,
            pidfile: section.get_path("pidfile", None)?,
            base_connstr: section.get_str("base_connstr", &d.base_connstr)?,
            initial_database: section.get_str("initial_database", &d.initial_database)?,
            database_list: section.get_list("database_list", &[])?,
            syslog: section
                .get_with("syslog", parse_syslog)?
                .unwrap_or(d.syslog),
            syslog_ident: section.get_str("syslog_ident", &d.syslog_ident)?,
            syslog_facility,
            check_period: period("check_period", d.check_period)?,
            retry_period: period("retry_period", d.retry_period)?,
            maint_period: period("maint_period", d.maint_period)?,
            ticker_period: period("ticker_period", d.ticker_period)?,
            stats_period: period("stats_period", d.stats_period)?,
            connection_lifetime: (!lifetime.is_zero()).then_some(lifetime),
        })
    }

    /// Load a pgqd job file (`pgqd.ini`) and read its `[pgqd]` section.
    pub fn load(path: impl AsRef<Path>) -> Result<PgqdConfig, ConfigError> {
        let path = path.as_ref();
        let job = super::JobFile::load(path)?;
        if job.kind != super::JobKind::Pgqd {
            return Err(ConfigError::MissingSection {
                path: path.into(),
                message: format!(
                    "no [pgqd] section (this is a {} job file); pgqd reads [pgqd]",
                    job.kind
                )
                .into(),
            });
        }
        Self::from_section(&job.section)
    }
}

/// pgqd reads `syslog` as a C integer (`strtol` base 0: decimal, `0x` hex,
/// leading-`0` octal), non-zero meaning on; the boolean words are accepted
/// too.
fn parse_syslog(s: &str) -> Result<bool, String> {
    if let Ok(b) = super::value::parse_bool(s) {
        return Ok(b);
    }
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let parsed = if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        u64::from_str_radix(&unsigned[1..], 8)
    } else {
        unsigned.parse::<u64>()
    };
    match parsed {
        Ok(n) => Ok(n != 0),
        Err(_) => Err("expected 1 (also log to syslog) or 0".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{IniFile, LoadOptions};

    fn section(text: &str) -> Section {
        IniFile::parse(
            "/etc/skydeck/pgqd.ini",
            text.as_bytes(),
            &LoadOptions::default(),
        )
        .unwrap()
        .section("pgqd")
        .unwrap()
        .clone()
    }

    #[test]
    fn defaults_match_pgqd() {
        let c = PgqdConfig::from_section(&section("[pgqd]\n")).unwrap();
        assert_eq!(c, PgqdConfig::default());
    }

    #[test]
    fn every_key_is_read() {
        let c = PgqdConfig::from_section(&section(
            "[pgqd]\nlogfile = log/%(job_name)s.log\npidfile = /run/pgqd.pid\n\
             base_connstr = host=/tmp port=5433\ninitial_database = postgres\n\
             database_list = a, b,c\nsyslog = 0\nsyslog_ident = ticker\nsyslog_facility = local3\n\
             check_period = 3\nretry_period = 0.5\nmaint_period = 7\nticker_period = 100ms\n\
             stats_period = 1.5\nconnection_lifetime = 0\n",
        ))
        .unwrap();
        assert_eq!(c.job_name, "pgqd");
        assert_eq!(c.logfile, Some(PathBuf::from("/etc/skydeck/log/pgqd.log")));
        assert_eq!(c.pidfile, Some(PathBuf::from("/run/pgqd.pid")));
        assert_eq!(c.base_connstr, "host=/tmp port=5433");
        assert_eq!(c.initial_database, "postgres");
        assert_eq!(c.database_list, ["a", "b", "c"]);
        assert!(!c.syslog);
        assert_eq!(c.syslog_ident, "ticker");
        assert_eq!(c.syslog_facility, "local3");
        assert_eq!(c.check_period, Duration::from_secs(3));
        assert_eq!(c.retry_period, Duration::from_millis(500));
        assert_eq!(c.maint_period, Duration::from_secs(7));
        assert_eq!(c.ticker_period, Duration::from_millis(100));
        assert_eq!(c.stats_period, Duration::from_millis(1500));
        assert_eq!(c.connection_lifetime, None);
    }

    #[test]
    fn syslog_as_pgqd_reads_it() {
        for (v, want) in [
            ("1", true),
            ("0", false),
            ("2", true),
            ("0x0", false),
            ("010", true),
            ("yes", true),
            ("off", false),
            ("-1", true),
        ] {
            assert_eq!(parse_syslog(v), Ok(want), "{v}");
        }
        for v in ["", "--1", "maybe", "09", "0x"] {
            assert!(parse_syslog(v).is_err(), "{v}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let err = PgqdConfig::from_section(&section("[pgqd]\nticker_period = 0\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config /etc/skydeck/pgqd.ini: key 'ticker_period' in section [pgqd] has bad value '0': \
             must be greater than 0"
        );
        let err = PgqdConfig::from_section(&section("[pgqd]\nticker_perod = 1\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config /etc/skydeck/pgqd.ini: unknown key 'ticker_perod' in section [pgqd]; \
             did you mean 'ticker_period'?"
        );
    }
}
