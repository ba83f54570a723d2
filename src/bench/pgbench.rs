//! pgbench, from the benchmark cluster's own binaries: initialising TPC-B
//! tables, running custom scripts, and reading its figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use super::proc;
use crate::cluster::{LocalCluster, SUPERUSER};

/// What one pgbench run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PgbenchRun {
    /// Transactions per second, without the initial connection time.
    pub tps: f64,
    /// Transactions processed.
    pub transactions: u64,
    /// Failed transactions (PostgreSQL 15 and later report them).
    pub failed: u64,
}

/// pgbench bound to one cluster (socket directory, port, superuser).
#[derive(Debug, Clone)]
pub struct Pgbench {
    exe: PathBuf,
    host: PathBuf,
    port: u16,
}

impl Pgbench {
    /// pgbench from the cluster's bindir; a clear error when it is missing.
    pub fn for_cluster(c: &LocalCluster) -> Result<Pgbench> {
        let exe = c.bindir().join("pgbench");
        if !exe.is_file() {
            bail!(
                "pgbench not found in {} (the cluster's PostgreSQL binaries); it ships with the \
                 server (Debian: package postgresql-<major>); install it, or point SKYDECK_PG_BINDIR \
                 at a bindir that has initdb, postgres and pgbench",
                c.bindir().display()
            );
        }
        Ok(Pgbench {
            exe,
            host: c.socket_dir().to_path_buf(),
            port: c.port(),
        })
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("-h")
            .arg(&self.host)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(SUPERUSER)
            .env("LC_ALL", "C")
            .env("PGAPPNAME", "skydeck-bench")
            .env_remove("PGOPTIONS")
            .env_remove("PGSERVICE")
            .env_remove("PGSSLMODE");
        cmd
    }

    /// `pgbench --version`, e.g. `pgbench (PostgreSQL) 15.18`.
    pub async fn version(&self) -> Result<String> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--version");
        let out = proc::run(cmd, Duration::from_secs(30), "pgbench --version").await?;
        Ok(out.stdout.trim().to_string())
    }

    /// `pgbench -i -s scale -q db`: the TPC-B tables with their primary keys.
    pub async fn init(&self, db: &str, scale: u32) -> Result<()> {
        let mut cmd = self.command();
        cmd.args(["-i", "-q", "-s", &scale.to_string(), db]);
        let what = format!("pgbench -i -s {scale} in database {db}");
        let out = proc::run(cmd, Duration::from_secs(3600), &what).await?;
        if !out.status.success() {
            bail!("{what} failed ({}):\n{}", out.status, out.tail(15));
        }
        Ok(())
    }

    /// Run pgbench with `args` (options, before the database name) against
    /// `db`; fails on a non-zero exit or failed transactions.
    pub async fn run(&self, db: &str, args: &[String], timeout: Duration) -> Result<PgbenchRun> {
        let mut cmd = self.command();
        cmd.args(args).arg(db);
        let what = format!("pgbench {} (database {db})", args.join(" "));
        let out = proc::run(cmd, timeout, &what).await?;
        if !out.status.success() {
            bail!("{what} failed ({}):\n{}", out.status, out.tail(15));
        }
        let run = parse_output(&out.stdout)
            .map_err(|e| anyhow!("{what}: {e}; its output:\n{}", out.stdout))?;
        if run.failed > 0 {
            bail!(
                "{what}: {} transaction(s) failed:\n{}",
                run.failed,
                out.tail(15)
            );
        }
        Ok(run)
    }
}

/// Read the figures from pgbench's report.
pub fn parse_output(s: &str) -> Result<PgbenchRun, String> {
    let mut tps = None;
    let mut transactions = None;
    let mut failed = 0;
    for line in s.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("number of transactions actually processed:") {
            let n = rest.trim().split('/').next().unwrap_or("").trim();
            transactions = n.parse::<u64>().ok();
        } else if let Some(rest) = line.strip_prefix("number of failed transactions:") {
            failed = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("tps = ") {
            // Before PostgreSQL 14 two lines were printed; prefer the one
            // that leaves out connection set-up, as 14+ does.
            let v = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok());
            let without = rest.contains("without") || rest.contains("excluding");
            if without || tps.is_none() {
                tps = v;
            }
        }
    }
    let tps = tps.ok_or("no \"tps = …\" line in pgbench's output")?;
    let transactions = transactions
        .ok_or("no \"number of transactions actually processed\" line in pgbench's output")?;
    if !(tps.is_finite() && tps > 0.0) || transactions == 0 {
        return Err(format!(
            "pgbench reported {transactions} transactions at {tps} tps"
        ));
    }
    Ok(PgbenchRun {
        tps,
        transactions,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pg15_output() {
        let out = "pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/x/consume.sql
scaling factor: 1
query mode: simple
number of clients: 1
number of threads: 1
maximum number of tries: 1
number of transactions per client: 200
number of transactions actually processed: 200/200
number of failed transactions: 0 (0.000%)
latency average = 2.228 ms
initial connection time = 2.870 ms
tps = 448.871163 (without initial connection time)
";
        assert_eq!(
            parse_output(out).unwrap(),
            PgbenchRun {
                tps: 448.871163,
                transactions: 200,
                failed: 0
            }
        );
    }

    #[test]
    fn reads_timed_and_old_output() {
        let out = "number of transactions actually processed: 146400
number of failed transactions: 3 (0.002%)
tps = 4870.1 (including connections establishing)
tps = 4880.5 (excluding connections establishing)
";
        let r = parse_output(out).unwrap();
        assert_eq!((r.tps, r.transactions, r.failed), (4880.5, 146400, 3));
    }

    #[test]
    fn rejects_what_is_not_a_report() {
        assert!(parse_output("connection to server failed").is_err());
        assert!(
            parse_output("number of transactions actually processed: 0/10\ntps = 0.0 (x)").is_err()
        );
    }
}
