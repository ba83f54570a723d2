//! The master side: `setup` (archiving on, through skydeck), `stop`
//! (archiving off), `sync` (the current partial segment into
//! `partial_wals`), `synch-standby`, and `init-master`/`init-slave`
//! (job-file templates).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::restore::{sh as run, sh_quote};
use super::wal::Segment;
use super::{archive, store, MasterConfig, Role, WalConfig};
use crate::db::{quote_literal, DbError};

/// A driver error with the step it broke, rendered with the server's
/// detail and hint.
fn at(step: &str) -> impl FnOnce(tokio_postgres::Error) -> DbError + '_ {
    move |e| DbError::query(step, e)
}

/// A connection to the master (`master_db`). The driver's error names the
/// (masked) connection string; this says which key of which file it is.
pub(super) async fn connect(cfg: &WalConfig, m: &MasterConfig) -> Result<tokio_postgres::Client> {
    crate::db::connect(m.db.expose()).await.with_context(|| {
        format!(
            "connecting to the master (master_db in {})",
            cfg.ini.display()
        )
    })
}

/// `pg_reload_conf()`, after ALTER SYSTEM.
async fn reload(c: &tokio_postgres::Client) -> Result<()> {
    c.execute("select pg_reload_conf()", &[])
        .await
        .map_err(at("reloading the configuration (pg_reload_conf)"))?;
    Ok(())
}

/// The archive_command a master runs.
pub fn archive_command(cfg: &WalConfig) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "skydeck".into());
    format!(
        "{} walmgr {} xarchive %p %f",
        sh_quote(&exe),
        sh_quote(&cfg.ini.display().to_string())
    )
}

/// Create the archive directories, owned by the server's user.
pub fn make_dirs(cfg: &WalConfig) -> Result<Vec<String>> {
    let data = cfg.data_dir();
    let owner = match cfg.role {
        Role::Master => super::owner_of(data),
        Role::Standby => data.parent().and_then(super::owner_of),
    };
    let mut lines = Vec::new();
    for d in [
        &cfg.completed_wals,
        &cfg.partial_wals,
        &cfg.full_backup,
        &cfg.spool_dir,
    ] {
        if !d.is_dir() {
            super::make_dir(d, owner)?;
            lines.push(format!("created {}", d.display()));
        }
    }
    private_spool(cfg)?;
    Ok(lines)
}

/// The spool holds markers that say "archived": only its owner may write
/// there.
fn private_spool(cfg: &WalConfig) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&cfg.spool_dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", cfg.spool_dir.display()))
}

/// `setup`: on the master, archive through `xarchive` (ALTER SYSTEM:
/// archive_command, archive_mode on, wal_level replica when minimal),
/// reload, and restart with `master_restart_cmd` when a setting needs it.
/// On a standby: create the directories.
pub async fn setup(cfg: &WalConfig, dry_run: bool) -> Result<Vec<String>> {
    if cfg.role == Role::Standby {
        return if dry_run {
            Ok(vec!["would create the archive directories".into()])
        } else {
            let mut l = make_dirs(cfg)?;
            if l.is_empty() {
                l.push("the archive directories exist".into());
            }
            Ok(l)
        };
    }
    let m = cfg.master("setup")?;
    let mut lines = match (&cfg.remote, dry_run) {
        (_, true) => Vec::new(),
        (None, false) => make_dirs(cfg)?,
        // The archive host creates its directories.
        (Some(r), false) => {
            // The archive host creates its directories; the spool is here.
            let mut l: Vec<String> = super::remote::run(r, &["setup"])?
                .lines()
                .map(|l| format!("{}: {l}", r.host))
                .collect();
            if !cfg.spool_dir.is_dir() {
                super::make_dir(&cfg.spool_dir, super::owner_of(&m.data))?;
                l.push(format!("created {}", cfg.spool_dir.display()));
            }
            private_spool(cfg)?;
            l
        }
    };
    let c = connect(cfg, m).await?;
    let row = c
        .query_one(
            "select current_setting('wal_level'), current_setting('archive_mode'),
                    current_setting('archive_command'), current_setting('server_version_num')::int",
            &[],
        )
        .await
        .map_err(at(
            "reading the master's settings (wal_level, archive_mode, archive_command, server_version_num)",
        ))?;
    let (wal_level, archive_mode, old_cmd, version): (String, String, String, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if version < 120000 {
        bail!("walmgr needs PostgreSQL 12 or later; the master runs {version}");
    }
    let cmd = archive_command(cfg);
    let mut restart = Vec::new();
    // ALTER SYSTEM takes no bind parameters: values go through
    // quote_literal.
    let mut stmts = Vec::new();
    if old_cmd != cmd {
        stmts.push(format!(
            "alter system set archive_command = {}",
            quote_literal(&cmd)
        ));
        lines.push(format!("archive_command = {cmd}"));
    }
    if archive_mode == "off" {
        stmts.push("alter system set archive_mode = 'on'".to_string());
        lines.push("archive_mode = on".into());
        restart.push("archive_mode");
    }
    if wal_level == "minimal" {
        stmts.push("alter system set wal_level = 'replica'".to_string());
        lines.push("wal_level = replica".into());
        restart.push("wal_level");
    }
    if stmts.is_empty() {
        lines.push("archiving is already set up".into());
        return Ok(lines);
    }
    if dry_run {
        return Ok(lines
            .into_iter()
            .map(|l| format!("would set {l}"))
            .collect());
    }
    for s in &stmts {
        c.batch_execute(s)
            .await
            .map_err(|e| DbError::query(format!("running {s}"), e))?;
    }
    reload(&c).await?;
    if !restart.is_empty() {
        match &m.restart_cmd {
            Some(rc) => {
                run(rc, "master_restart_cmd")?;
                lines.push("restarted the server with master_restart_cmd".into());
            }
            None => lines.push(format!(
                "restart the server to apply {} (or set master_restart_cmd)",
                restart.join(" and ")
            )),
        }
    }
    Ok(lines)
}

/// `stop`: stop archiving. With `master_restart_cmd`: archive_mode off and
/// a restart; without: archive_command `/bin/true` (WAL is then not
/// archived at all — a standby that needs it must be rebuilt).
pub async fn stop(cfg: &WalConfig, dry_run: bool) -> Result<Vec<String>> {
    let m = cfg.master("stop")?;
    let c = connect(cfg, m).await?;
    // (and no commit waits for a standby that is no longer fed)
    let stmts: Vec<&str> = match &m.restart_cmd {
        Some(_) => vec![
            "alter system set archive_mode = 'off'",
            "alter system set archive_command = ''",
            "alter system set synchronous_standby_names = ''",
        ],
        None => vec![
            "alter system set archive_command = '/bin/true'",
            "alter system set synchronous_standby_names = ''",
        ],
    };
    if dry_run {
        return Ok(stmts.iter().map(|s| format!("would run: {s}")).collect());
    }
    for s in &stmts {
        c.batch_execute(s)
            .await
            .map_err(|e| DbError::query(format!("running {s}"), e))?;
    }
    reload(&c).await?;
    let mut lines: Vec<String> = stmts.iter().map(|s| s.to_string()).collect();
    if let Some(rc) = &m.restart_cmd {
        run(rc, "master_restart_cmd")?;
        lines.push("restarted the server: archiving is off".into());
    } else {
        lines.push(
            "archiving stopped: WAL is no longer archived (archive_command = /bin/true)".into(),
        );
    }
    Ok(lines)
}

/// `sync`: copy the segment the master is writing, up to its current
/// position, into `partial_wals` (replacing the older copy), so a standby
/// booted from the archive loses at most what was written since. Partial
/// copies the archive now has whole are removed.
pub async fn sync(cfg: &WalConfig) -> Result<Option<(String, u64)>> {
    let m = cfg.master("sync")?;
    let c = connect(cfg, m).await?;
    let row = c
        .query_one(
            "select file_name, file_offset::int8,
                    pg_size_bytes(current_setting('wal_segment_size'))
               from pg_walfile_name_offset(pg_current_wal_lsn())",
            &[],
        )
        .await
        .map_err(at("reading the current WAL position"))?;
    let (name, offset, seg_size): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let Some(seg) = Segment::parse(&name) else {
        bail!("unexpected WAL file name {name:?}");
    };
    if offset == 0 {
        return Ok(None);
    }
    // Nothing written since the last sync: nothing to send.
    let last = cfg.spool_dir.join("partial.last");
    let position = format!("{name} {offset}");
    if fs::read_to_string(&last).is_ok_and(|l| l == position) {
        return Ok(None);
    }
    let path = m.data.join("pg_wal").join(&name);
    let f = fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    use std::io::Read;
    // What has been written, then zeros to the segment's size: the server
    // only takes whole-size segment files (replay stops at the zeros).
    let mut part = f
        .take(offset as u64)
        .chain(std::io::repeat(0).take(seg_size.saturating_sub(offset).max(0) as u64));
    if let Some(r) = &cfg.remote {
        // The archive host drops older partial copies itself.
        super::remote::push(cfg, r, super::remote::Kind::Partial, &mut part, &name)?;
        let _ = fs::write(&last, &position);
        return Ok(Some((name, offset as u64)));
    }
    if !cfg.partial_wals.is_dir() {
        super::make_dir(&cfg.partial_wals, super::owner_of(&m.data))?;
    }
    // Older partial copies are superseded by archived segments.
    archive::purge_before(&cfg.partial_wals, seg, false)?;
    if cfg.completed_wals.join(&name).exists() {
        return Ok(None);
    }
    store::store(
        &mut part,
        &cfg.partial_wals.join(&name),
        cfg.compression,
        true,
    )?;
    let _ = fs::write(&last, &position);
    Ok(Some((name, offset as u64)))
}

/// `synch-standby NAMES`: set `synchronous_standby_names` once one of the
/// named standbys is connected (`''` turns synchronous replication off,
/// `'*'` needs any standby).
pub async fn synch_standby(cfg: &WalConfig, names: &str, dry_run: bool) -> Result<String> {
    let m = cfg.master("synch-standby")?;
    let c = connect(cfg, m).await?;
    if !names.trim().is_empty() {
        let connected: Vec<String> = c
            .query(
                "select application_name from pg_stat_replication where state = 'streaming'",
                &[],
            )
            .await
            .map_err(at("reading pg_stat_replication"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let wanted: Vec<String> = names
            .split(',')
            .map(|n| n.trim().trim_matches('"').to_string())
            .filter(|n| !n.is_empty())
            .collect();
        let any = wanted.iter().any(|w| w == "*");
        let satisfied =
            (any && !connected.is_empty()) || wanted.iter().any(|w| connected.contains(w));
        if !satisfied {
            bail!(
                "none of {names} is connected as a streaming standby (connected: {}); \
                 setting it now would block every commit",
                if connected.is_empty() {
                    "none".to_string()
                } else {
                    connected.join(", ")
                }
            );
        }
    }
    let stmt = format!(
        "alter system set synchronous_standby_names = {}",
        quote_literal(names)
    );
    if dry_run {
        return Ok(format!("would run: {stmt}"));
    }
    c.batch_execute(&stmt)
        .await
        .map_err(|e| DbError::query(format!("running {stmt}"), e))?;
    reload(&c).await?;
    Ok(if names.trim().is_empty() {
        "synchronous replication off".into()
    } else {
        format!("synchronous_standby_names = '{names}'")
    })
}

/// `init-master` / `init-slave`: write a job file to start from. Refuses to
/// overwrite one.
pub fn init_job(
    path: &Path,
    master: bool,
    data: &Path,
    archive: &Path,
    primary: Option<&str>,
) -> Result<()> {
    if path.exists() {
        bail!("{} exists; not overwriting it", path.display());
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "walmgr".into());
    let mut s = format!(
        "[walmgr]\njob_name = {name}\nwalmgr_data = {}\n",
        archive.display()
    );
    if master {
        s.push_str(&format!(
            "master_data = {}\nmaster_db = dbname=postgres\n# keep_backups = 3\n# retention_window = 7d\ncompression = zstd\n",
            data.display()
        ));
    } else {
        s.push_str(&format!("slave_data = {}\n", data.display()));
        match primary {
            Some(p) => s.push_str(&format!("primary_conninfo = {p}\n")),
            None => s.push_str("# primary_conninfo = host=MASTER user=replicator\n"),
        }
        s.push_str("# slave_db = dbname=postgres port=5433\n# slave_start_cmd = pg_ctl -D %(slave_data)s start\n");
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // It may come to hold a password (primary_conninfo): owner only.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(s.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_master_that_does_not_answer_is_named_once() {
        let text = "[walmgr]\nmaster_data = /srv/pg\nwalmgr_data = /srv/wal\n\
                    master_db = host=127.0.0.1 port=1 password=s3cret dbname=x connect_timeout=5\n";
        let job = crate::config::JobFile::parse("/srv/jobs/m.ini", text.as_bytes()).unwrap();
        let cfg = WalConfig::from_job(&job).unwrap();
        let e = format!("{:#}", sync(&cfg).await.unwrap_err());
        assert!(
            e.starts_with("connecting to the master (master_db in /srv/jobs/m.ini): "),
            "{e}"
        );
        assert_eq!(e.matches("port=1").count(), 1, "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
