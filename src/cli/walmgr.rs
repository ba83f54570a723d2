//! `skydeck walmgr JOB.ini COMMAND`: WAL archiving, base backups, standbys
//! and point-in-time restore (the original walmgr3's commands, for
//! PostgreSQL 12 and later). `--init-master` / `--init-slave` write a new
//! job file, as the original's options did.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::print_json;
use crate::fmt::Table;
use crate::walmgr::archive::{self, PidLock, Restored, BACKUPLOCK};
use crate::walmgr::restore::{RestoreOptions, Target};
use crate::walmgr::{backup, master, restore, status, WalConfig};

#[derive(Debug, Args)]
pub struct WalmgrArgs {
    /// The job file: `[walmgr]` with `master_data` (a master) or
    /// `slave_data` (a standby).
    pub job: PathBuf,
    /// Say what would be done; change nothing.
    #[arg(short = 'n', long = "not-really", global = true)]
    pub not_really: bool,
    /// Print JSON where the command shows data.
    #[arg(long, global = true)]
    pub json: bool,
    /// Write JOB.ini for a master (it must not exist): needs --pgdata and
    /// --archive.
    #[arg(long, conflicts_with = "init_slave", requires_all = ["pgdata", "archive"])]
    pub init_master: bool,
    /// Write JOB.ini for a standby (it must not exist): needs --pgdata and
    /// --archive; --primary-conninfo makes it stream.
    #[arg(long, requires_all = ["pgdata", "archive"])]
    pub init_slave: bool,
    /// With --init-…: the server's data directory.
    #[arg(long)]
    pub pgdata: Option<PathBuf>,
    /// With --init-…: the archive directory (walmgr_data).
    #[arg(long)]
    pub archive: Option<PathBuf>,
    /// With --init-slave: the standby's primary_conninfo.
    #[arg(long)]
    pub primary_conninfo: Option<String>,
    #[command(subcommand)]
    pub cmd: Option<WalmgrCommand>,
}

#[derive(Debug, Subcommand)]
pub enum WalmgrCommand {
    /// Master: archive through skydeck (archive_command, archive_mode,
    /// wal_level) and create the archive directories. Standby: create them.
    Setup,
    /// Master: stop archiving.
    Stop,
    /// Master: take a base backup into full_backup, then apply retention.
    Backup,
    /// Master: copy the segment being written into partial_wals.
    Sync,
    /// Master: `sync` every loop_delay, until interrupted.
    Syncdaemon,
    /// Master: run periodic_command if command_interval has passed.
    Periodic,
    /// Master: set synchronous_standby_names once one of NAMES is connected
    /// ('' turns it off, '*' is any standby).
    SynchStandby { names: String },
    /// The base backups in full_backup.
    Listbackups,
    /// Remove old data directories kept by restore, unfinished backups and
    /// temporary files; apply retention.
    Cleanup,
    /// Master's archive_command: store one WAL file (`xarchive %p %f`).
    Xarchive { src: PathBuf, name: String },
    /// Standby's restore_command: fetch one WAL file (`xrestore %f "%p" %r`),
    /// checked, or fail at once when it is not archived (or PAUSE is set).
    Xrestore {
        name: String,
        dst: PathBuf,
        /// Last restart point (%r); accepted for compatibility.
        restartpoint: Option<String>,
    },
    /// Store the ready segments after SEGMENT ahead of the server (run by
    /// xarchive with archive_async).
    #[command(hide = true)]
    Xpush { wal_dir: PathBuf, segment: String },
    /// The original's remote partial copy: BYTES bytes of stdin written at
    /// OFFSET into partial_wals/FILE (a 16 MB segment, zero-filled).
    Xpartialsync {
        file: String,
        offset: u64,
        bytes: u64,
    },
    /// On an archive host: a stored WAL file (`wal`) or partial segment
    /// (`partial`) on stdin, sent by a master with a remote archive.
    #[command(hide = true)]
    Xreceive { kind: String, name: String },
    /// On an archive host: a base backup set streamed by a master.
    #[command(hide = true, name = "xreceive-backup")]
    XreceiveBackup { name: String },
    /// Fetch the segments after SEGMENT into the spool (run by xrestore).
    #[command(hide = true)]
    Xprefetch { segment: String },
    /// Take the backup lock for PID (default: the caller).
    Xlock { pid: Option<i32> },
    /// Release the backup lock.
    Xrelease,
    /// Remove backup sets beyond retention (and the WAL they needed).
    Xrotate,
    /// Remove WAL older than the oldest kept backup (with retention set).
    Xpurgewals,
    /// Standby: rebuild the data directory from backup SET (default: the
    /// newest), as a standby or to a recovery target; with a master's job
    /// file, SET and DST are both needed.
    Restore {
        set: Option<String>,
        dst: Option<PathBuf>,
        /// Recover to this time (timestamptz), then end recovery.
        #[arg(long, conflicts_with_all = ["target_name", "target_lsn", "target_xid", "target_immediate"])]
        target_time: Option<String>,
        /// Recover to this restore point (pg_create_restore_point).
        #[arg(long, conflicts_with_all = ["target_lsn", "target_xid", "target_immediate"])]
        target_name: Option<String>,
        #[arg(long, conflicts_with_all = ["target_xid", "target_immediate"])]
        target_lsn: Option<String>,
        #[arg(long, conflicts_with = "target_immediate")]
        target_xid: Option<String>,
        /// Recover only to the end of the backup.
        #[arg(long)]
        target_immediate: bool,
        /// What to do at the target: promote (default), pause, shutdown.
        #[arg(long)]
        target_action: Option<String>,
    },
    /// Standby: pause replay.
    Pause,
    /// Standby: continue replay.
    Continue,
    /// Standby: end recovery and promote.
    Boot,
    /// Standby: build the data directory with pg_basebackup from
    /// primary_conninfo and configure it as a standby.
    Createslave,
    /// One screen of everything: WAL position, archiver, standby lag,
    /// archive, backups, retention.
    Status,
    /// Check every archived file and every backup against its checksum,
    /// and that every segment from the oldest backup on is archived.
    Verify,
}

pub async fn run(a: WalmgrArgs) -> Result<()> {
    if a.init_master || a.init_slave {
        if a.cmd.is_some() {
            bail!("--init-master/--init-slave write a job file; give no command with them");
        }
        let (Some(pgdata), Some(archive)) = (&a.pgdata, &a.archive) else {
            bail!("--init-master/--init-slave need --pgdata and --archive");
        };
        master::init_job(
            &a.job,
            a.init_master,
            pgdata,
            archive,
            a.primary_conninfo.as_deref(),
        )?;
        println!("wrote {}", a.job.display());
        return Ok(());
    }
    let Some(cmd) = a.cmd else {
        bail!(
            "no command: give one (setup, backup, restore, status … see `skydeck walmgr --help`) or --init-master/--init-slave"
        );
    };
    let cfg = WalConfig::load(&a.job)?;
    let dry = a.not_really;
    // With the archive on another host, what reads it runs there.
    if let Some(r) = &cfg.remote {
        let mut args: Vec<&str> = match &cmd {
            WalmgrCommand::Listbackups => vec!["listbackups"],
            WalmgrCommand::Verify => vec!["verify"],
            WalmgrCommand::Cleanup => vec!["cleanup"],
            WalmgrCommand::Restore { .. } => bail!(
                "the archive is on {}: run restore there, with its job file {}",
                r.host,
                r.slave_config
            ),
            _ => Vec::new(),
        };
        if !args.is_empty() {
            if a.json {
                args.push("--json");
            }
            if dry {
                args.push("-n");
            }
            let out = crate::walmgr::remote::command(r, &args)
                .stdin(std::process::Stdio::null())
                .output()
                .with_context(|| {
                    format!("running ssh for walmgr {} on {}", args.join(" "), r.host)
                })?;
            print!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                std::process::exit(out.status.code().unwrap_or(1));
            }
            return Ok(());
        }
    }
    let print = |lines: Vec<String>| {
        for l in lines {
            println!("{l}");
        }
    };
    match cmd {
        WalmgrCommand::Setup => print(master::setup(&cfg, dry).await?),
        WalmgrCommand::Stop => print(master::stop(&cfg, dry).await?),
        WalmgrCommand::Backup => {
            if dry {
                println!(
                    "would take a base backup into {}",
                    cfg.full_backup.display()
                );
                return Ok(());
            }
            let set = backup::backup(&cfg, &|l: &str| eprintln!("{l}")).await?;
            println!("{}", set.manifest.name);
        }
        WalmgrCommand::Sync => match master::sync(&cfg).await? {
            Some((name, n)) => {
                println!("{name}: {n} bytes copied to {}", cfg.partial_wals.display())
            }
            None => println!("nothing to copy: the current segment is empty or archived"),
        },
        WalmgrCommand::Syncdaemon => {
            cfg.master("syncdaemon")?;
            loop {
                match master::sync(&cfg).await {
                    Ok(Some((name, n))) => eprintln!("sync: {name} {n} bytes"),
                    Ok(None) => {}
                    Err(e) => eprintln!("sync failed: {e:#}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(cfg.loop_delay.max(Duration::from_millis(100))) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
        }
        WalmgrCommand::Periodic => {
            let m = cfg.master("periodic")?;
            if archive::run_periodic(&cfg, &m.data) {
                println!("periodic_command ran");
            } else {
                println!("periodic_command not due (or not set)");
            }
        }
        WalmgrCommand::SynchStandby { names } => {
            println!("{}", master::synch_standby(&cfg, &names, dry).await?)
        }
        WalmgrCommand::Listbackups => {
            let backup::Sets { sets, bad } = backup::scan_sets(&cfg)?;
            for b in &bad {
                eprintln!("BAD {}", b.describe());
            }
            if a.json {
                let v: Vec<_> = sets
                    .iter()
                    .map(|s| &s.manifest)
                    .map(|m| {
                        serde_json::json!({
                            "name": m.name, "finished": crate::fmt::time_utc(m.finished()),
                            "data_bytes": m.data_bytes, "stored_bytes": m.stored_bytes,
                            "start_wal": m.start_wal, "stop_wal": m.stop_wal,
                            "timeline": m.timeline, "files": m.files.len(), "codec": m.codec,
                        })
                    })
                    .collect();
                return print_json(&v);
            }
            if sets.is_empty() {
                println!("no backups in {}", cfg.full_backup.display());
                return Ok(());
            }
            let mut t = Table::new([
                "name",
                "finished",
                "size",
                "stored",
                "start WAL",
                "stop WAL",
                "tli",
            ]);
            for s in &sets {
                let m = &s.manifest;
                t.row([
                    m.name.clone(),
                    crate::fmt::time_utc(m.finished()),
                    skydeck_ui::fmt::bytes(m.data_bytes),
                    skydeck_ui::fmt::bytes(m.stored_bytes),
                    m.start_wal.clone(),
                    m.stop_wal.clone(),
                    m.timeline.to_string(),
                ]);
            }
            print!("{}", t.render());
        }
        WalmgrCommand::Cleanup => print(restore::cleanup(&cfg, dry)?),
        WalmgrCommand::Xarchive { src, name } => {
            archive::xarchive(&cfg, &src, &name)?;
        }
        WalmgrCommand::Xrestore { name, dst, .. } => match archive::xrestore(&cfg, &name, &dst) {
            Ok(Restored::Found) => {}
            Ok(Restored::Missing { why }) => {
                if !name.ends_with(".history") {
                    eprintln!("walmgr: {name} not restored: {why}");
                }
                // "Not there": the server goes on (streams, asks again, or
                // ends a targeted recovery).
                std::process::exit(1);
            }
            Err(e) => {
                // A damaged or unreadable archive file is not "not there":
                // an exit status above 125 stops recovery, so a boot can
                // never skip past it and lose what follows.
                eprintln!("skydeck: error: {e:#}");
                std::process::exit(255);
            }
        },
        WalmgrCommand::Xpush { wal_dir, segment } => {
            archive::xpush(&cfg, &wal_dir, &segment)?;
        }
        WalmgrCommand::Xpartialsync {
            file,
            offset,
            bytes,
        } => {
            let mut stdin = std::io::stdin().lock();
            archive::xpartialsync(&cfg, &file, offset, bytes, &mut stdin)?;
        }
        WalmgrCommand::Xreceive { kind, name } => {
            crate::walmgr::remote::receive(
                &cfg,
                crate::walmgr::remote::Kind::parse(&kind)?,
                &name,
            )?;
        }
        WalmgrCommand::XreceiveBackup { name } => {
            crate::walmgr::remote::receive_set(&cfg, &name)?;
        }
        WalmgrCommand::Xprefetch { segment } => {
            archive::xprefetch(&cfg, &segment)?;
        }
        WalmgrCommand::Xlock { pid } => {
            let lock = cfg.completed_wals.join(BACKUPLOCK);
            let pid = pid.unwrap_or_else(|| std::os::unix::process::parent_id() as i32);
            if !archive::lock_for(&lock, pid) {
                let holder = PidLock::holder(&lock).unwrap_or_default();
                println!("{holder}");
                bail!("the backup lock is held by pid {holder}");
            }
        }
        WalmgrCommand::Xrelease => {
            let _ = std::fs::remove_file(cfg.completed_wals.join(BACKUPLOCK));
        }
        WalmgrCommand::Xrotate | WalmgrCommand::Xpurgewals => {
            let r = backup::retention(&cfg, dry)?;
            let lines = r.describe();
            if lines.is_empty() {
                println!("retention ({}): nothing to remove", r.rule);
            }
            print(lines);
        }
        WalmgrCommand::Restore {
            set,
            dst,
            target_time,
            target_name,
            target_lsn,
            target_xid,
            target_immediate,
            target_action,
        } => {
            let target = if let Some(t) = target_time {
                Some(Target::Time(t))
            } else if let Some(n) = target_name {
                Some(Target::Name(n))
            } else if let Some(l) = target_lsn {
                Some(Target::Lsn(l))
            } else if let Some(x) = target_xid {
                Some(Target::Xid(x))
            } else if target_immediate {
                Some(Target::Immediate)
            } else {
                None
            };
            if target.is_none() && target_action.is_some() {
                bail!("--target-action needs a --target-… option");
            }
            let r = restore::restore(
                &cfg,
                &RestoreOptions {
                    set,
                    dst,
                    target,
                    target_action,
                    dry_run: dry,
                },
            )?;
            print(r.lines);
        }
        WalmgrCommand::Pause => println!("{}", restore::pause(&cfg).await?),
        WalmgrCommand::Continue => println!("{}", restore::resume(&cfg).await?),
        WalmgrCommand::Boot => {
            if dry {
                println!(
                    "would end recovery and promote the standby in {}",
                    cfg.data_dir().display()
                );
                return Ok(());
            }
            println!("{}", restore::boot(&cfg).await?)
        }
        WalmgrCommand::Createslave => print(restore::createslave(&cfg, dry)?),
        WalmgrCommand::Status => {
            let v = status::collect(&cfg).await;
            if a.json {
                return print_json(&v);
            }
            print!("{}", status::render(&v));
        }
        WalmgrCommand::Verify => {
            let bad = verify(&cfg, a.json)?;
            if bad > 0 {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// `verify`: prints every problem; returns how many there are.
fn verify(cfg: &WalConfig, json: bool) -> Result<usize> {
    let (n, bad_wal) = archive::verify_all(&cfg.completed_wals)?;
    let backup::Sets { sets, bad } = backup::scan_sets(cfg)?;
    let mut problems: Vec<String> = bad_wal
        .iter()
        .map(|d| format!("{}: {}", d.path.display(), d.error))
        .chain(bad.iter().map(backup::BadSet::describe))
        .collect();
    let mut files = 0;
    for s in &sets {
        files += s.manifest.files.len();
        for d in backup::verify_set(s) {
            problems.push(format!(
                "backup {}: {}: {}",
                s.manifest.name,
                d.path.display(),
                d.error
            ));
        }
    }
    if let Some(oldest) = sets.first().and_then(|s| s.manifest.start_segment()) {
        let gaps = archive::gaps_after(&cfg.completed_wals, oldest)?;
        if !gaps.is_empty() {
            problems.push(format!(
                "WAL missing from the archive after backup {}: {}{} — a restore cannot get past it",
                sets[0].manifest.name,
                gaps.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if gaps.len() > 5 { " …" } else { "" }
            ));
        }
    }
    if json {
        print_json(&serde_json::json!({
            "wal_files": n, "backups": sets.len(), "backup_files": files, "problems": problems,
        }))?;
    } else {
        for p in &problems {
            println!("BAD {p}");
        }
        println!(
            "checked {n} archived WAL files and {} backups ({files} files): {}",
            sets.len(),
            if problems.is_empty() {
                "all good".to_string()
            } else {
                format!("{} problems", problems.len())
            }
        );
    }
    Ok(problems.len())
}
