//! `skydeck bench walmgr`: archive and restore throughput of walmgr's
//! `xarchive`/`xrestore` (each called once per segment, as the server
//! calls archive_command and restore_command) against the `cp` commands of
//! the PostgreSQL documentation, on the same real WAL segments, in the same
//! run; and a base backup against `pg_basebackup`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use super::pgbench::Pgbench;
use crate::cluster::LocalCluster;
use crate::fmt::Table;

#[derive(Debug, Args)]
pub struct WalmgrBenchArgs {
    /// pgbench scale of the data the WAL and the base backup come from.
    #[arg(long, default_value_t = 20)]
    pub scale: u32,
    /// WAL segments archived and restored per variant.
    #[arg(long, default_value_t = 16)]
    pub segments: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize, Clone)]
pub struct Transfer {
    pub name: String,
    pub seconds: f64,
    pub segments_per_sec: f64,
    pub mb_per_sec: f64,
    /// Bytes stored per byte of WAL.
    pub stored_ratio: f64,
}

#[derive(Debug, Serialize, Default)]
pub struct Report {
    pub segments: usize,
    pub segment_bytes: u64,
    pub archive: Vec<Transfer>,
    pub restore: Vec<Transfer>,
    pub backup_skydeck_s: f64,
    pub backup_skydeck_stored: u64,
    pub backup_data: u64,
    pub backup_pg_basebackup_s: f64,
    pub backup_pg_basebackup_bytes: u64,
}

fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => n += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    n
}

fn sh(cmd: &str) -> Result<()> {
    crate::walmgr::restore::sh(cmd, "the cp baseline")
}

/// `skydeck walmgr INI ARGS…` (in `cwd`); its stderr when it fails.
fn walmgr(exe: &Path, ini: &Path, args: &[&str], cwd: Option<&Path>) -> Result<()> {
    let mut cmd = Command::new(exe);
    cmd.arg("walmgr").arg(ini).args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {} walmgr", exe.display()))?;
    if !out.status.success() {
        bail!(
            "walmgr {} {}: {}",
            ini.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Run `each(segment)` for every segment in order; the seconds it took.
fn timed(segs: &[String], mut each: impl FnMut(&str) -> Result<()>) -> Result<f64> {
    let t0 = Instant::now();
    for s in segs {
        each(s)?;
    }
    Ok(t0.elapsed().as_secs_f64())
}

fn transfer(name: &str, secs: f64, segs: usize, seg_bytes: u64, stored: u64) -> Transfer {
    let total = seg_bytes * segs as u64;
    Transfer {
        name: name.into(),
        seconds: secs,
        segments_per_sec: segs as f64 / secs.max(1e-9),
        mb_per_sec: total as f64 / 1048576.0 / secs.max(1e-9),
        stored_ratio: stored as f64 / total.max(1) as f64,
    }
}

pub async fn run(a: WalmgrBenchArgs) -> Result<()> {
    eprintln!("bench walmgr: a cluster, pgbench scale {} …", a.scale);
    let cl = tokio::task::spawn_blocking(|| {
        LocalCluster::builder("bwal")
            .setting("fsync", "on")
            .setting("synchronous_commit", "on")
            .setting("full_page_writes", "on")
            .setting("archive_mode", "on")
            .setting("archive_command", "'/bin/true'")
            .setting("wal_keep_size", "'4GB'")
            .setting("max_wal_size", "'4GB'")
            .start()
    })
    .await??;
    let work = cl.socket_dir().join("walbench");
    let exe = crate::walmgr::exe_for_server(&work)?;
    let admin = cl.connect("postgres").await?;
    admin.batch_execute("create database bench").await?;
    let pgb = Pgbench::for_cluster(&cl)?;
    pgb.init("bench", a.scale).await?;
    admin.execute("select pg_switch_wal()", &[]).await?;
    admin.execute("checkpoint", &[]).await?;

    // The newest whole segments, staged as a pg_wal with .ready files.
    let stage = work.join("stage");
    let stage_wal = stage.join("pg_wal");
    std::fs::create_dir_all(stage_wal.join("archive_status"))?;
    let current: String = admin
        .query_one("select pg_walfile_name(pg_current_wal_lsn())", &[])
        .await?
        .get(0);
    let mut segs: Vec<String> = std::fs::read_dir(cl.data_dir().join("pg_wal"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| crate::walmgr::wal::Segment::parse(n).is_some() && *n < current)
        .collect();
    segs.sort();
    let segs: Vec<String> = segs.split_off(segs.len().saturating_sub(a.segments));
    if segs.len() < 4 {
        bail!(
            "only {} WAL segments to work with (at least 4 needed): raise --scale{}",
            segs.len(),
            if a.segments < 4 {
                " and --segments"
            } else {
                ""
            }
        );
    }
    for s in &segs {
        std::fs::copy(cl.data_dir().join("pg_wal").join(s), stage_wal.join(s))?;
    }
    let seg_bytes = std::fs::metadata(stage_wal.join(&segs[0]))?.len();
    let mut rep = Report {
        segments: segs.len(),
        segment_bytes: seg_bytes,
        ..Default::default()
    };
    eprintln!(
        "bench walmgr: archiving {} segments of {} per variant …",
        segs.len(),
        skydeck_ui::fmt::bytes(seg_bytes)
    );
    let mark_ready = || -> Result<()> {
        for s in &segs {
            let st = stage_wal.join("archive_status");
            let _ = std::fs::remove_file(st.join(format!("{s}.done")));
            std::fs::write(st.join(format!("{s}.ready")), b"")?;
        }
        Ok(())
    };

    // cp, as the documentation writes it.
    let cp_dir = work.join("cp-archive");
    std::fs::create_dir_all(&cp_dir)?;
    let secs = timed(&segs, |s| {
        sh(&format!(
            "test ! -f {d}/{s} && cp {p}/{s} {d}/{s}",
            d = cp_dir.display(),
            p = stage_wal.display()
        ))
    })?;
    rep.archive.push(transfer(
        "cp",
        secs,
        segs.len(),
        seg_bytes,
        dir_size(&cp_dir),
    ));

    let mut zstd_arch = None;
    for (n, (name, extra)) in [
        ("skydeck, no compression", "compression = none\n"),
        ("skydeck, lz4", "compression = lz4\n"),
        ("skydeck, zstd", "compression = zstd\n"),
        (
            "skydeck, zstd, push 4 ahead",
            "compression = zstd\narchive_async = 4\n",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let arch = work.join(format!("archive-{n}"));
        std::fs::create_dir_all(arch.join("logs.complete"))?;
        let ini = work.join(format!("master-{n}.ini"));
        std::fs::write(
            &ini,
            format!(
                "[walmgr]\nmaster_data = {}\nwalmgr_data = {}\n{extra}",
                stage.display(),
                arch.display()
            ),
        )?;
        mark_ready()?;
        let secs = timed(&segs, |s| {
            walmgr(
                &exe,
                &ini,
                &["xarchive", &format!("pg_wal/{s}"), s],
                Some(&stage),
            )?;
            let st = stage_wal.join("archive_status");
            let _ = std::fs::rename(st.join(format!("{s}.ready")), st.join(format!("{s}.done")));
            Ok(())
        })?;
        let stored = dir_size(&arch.join("logs.complete"));
        rep.archive
            .push(transfer(name, secs, segs.len(), seg_bytes, stored));
        if name == "skydeck, zstd" {
            zstd_arch = Some(arch);
        }
    }
    let zstd_arch = zstd_arch.expect("the zstd variant is in the list");

    // Restore: from the cp archive with cp; from the zstd archive with
    // xrestore, without and with prefetch.
    eprintln!("bench walmgr: restoring …");
    let dst = work.join("restore-dst");
    std::fs::create_dir_all(&dst)?;
    let secs = timed(&segs, |s| {
        sh(&format!(
            "cp {}/{s} {}/RECOVERYXLOG",
            cp_dir.display(),
            dst.display()
        ))
    })?;
    rep.restore
        .push(transfer("cp", secs, segs.len(), seg_bytes, 0));
    for (name, extra) in [
        ("skydeck, zstd", ""),
        ("skydeck, zstd, prefetch 4", "restore_prefetch = 4\n"),
    ] {
        let ini = work.join(format!("standby-{}.ini", rep.restore.len()));
        std::fs::write(
            &ini,
            format!(
                "[walmgr]\njob_name = bench_restore_{}\nslave_data = {}\nwalmgr_data = {}\n{extra}",
                rep.restore.len(),
                dst.display(),
                zstd_arch.display()
            ),
        )?;
        let to = dst.join("RECOVERYXLOG");
        let to = to.to_string_lossy();
        let secs = timed(&segs, |s| walmgr(&exe, &ini, &["xrestore", s, &to], None))?;
        rep.restore
            .push(transfer(name, secs, segs.len(), seg_bytes, 0));
    }

    // Base backups of the pgbench data.
    eprintln!("bench walmgr: base backups …");
    let bak = work.join("backup");
    let ini = work.join("master.ini");
    std::fs::write(
        &ini,
        format!(
            "[walmgr]\nmaster_data = {}\nmaster_db = {}\nwalmgr_data = {}\ncompression = zstd\n",
            cl.data_dir().display(),
            cl.connstr("postgres"),
            bak.display()
        ),
    )?;
    walmgr(&exe, &ini, &["setup"], None)?;
    let t0 = Instant::now();
    walmgr(&exe, &ini, &["backup"], None)?;
    rep.backup_skydeck_s = t0.elapsed().as_secs_f64();
    let cfg = crate::walmgr::WalConfig::load(&ini)?;
    if let Some(set) = crate::walmgr::backup::list_sets(&cfg)?.last() {
        rep.backup_skydeck_stored = set.manifest.stored_bytes;
        rep.backup_data = set.manifest.data_bytes;
    }
    let pgbb = work.join("pg_basebackup");
    let t0 = Instant::now();
    let out = Command::new(cl.bindir().join("pg_basebackup"))
        .arg("-D")
        .arg(&pgbb)
        .args(["-X", "none", "-c", "fast", "--no-password", "-d"])
        .arg(cl.connstr("postgres"))
        .output()
        .context("running pg_basebackup")?;
    if !out.status.success() {
        bail!("pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
    }
    rep.backup_pg_basebackup_s = t0.elapsed().as_secs_f64();
    rep.backup_pg_basebackup_bytes = dir_size(&pgbb);
    drop(admin);
    let _ = std::fs::remove_dir_all(&work);

    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    print!("{}", render(&rep));
    Ok(())
}

fn render(rep: &Report) -> String {
    let mut t = Table::new([
        "figure",
        "variant",
        "seconds",
        "segments/s",
        "MB/s",
        "vs cp",
        "stored",
    ]);
    for (what, list) in [("archive", &rep.archive), ("restore", &rep.restore)] {
        let base = list.first().map(|x| x.seconds).unwrap_or(0.0);
        for x in list.iter() {
            t.row([
                what.to_string(),
                x.name.clone(),
                format!("{:.2}", x.seconds),
                format!("{:.1}", x.segments_per_sec),
                format!("{:.0}", x.mb_per_sec),
                if base > 0.0 {
                    format!("{:.2}×", base / x.seconds.max(1e-9))
                } else {
                    "-".into()
                },
                if x.stored_ratio > 0.0 {
                    format!("{:.0}%", x.stored_ratio * 100.0)
                } else {
                    String::new()
                },
            ]);
        }
    }
    let mut s = t.render();
    s.push_str(&format!(
        "{} segments of {} each, one process per segment as the server runs them; \"vs cp\": cp's time / this time (above 1 is faster)\n",
        rep.segments,
        skydeck_ui::fmt::bytes(rep.segment_bytes)
    ));
    s.push_str(&format!(
        "base backup of {}: skydeck (zstd, 2 threads) {:.2} s, {} stored; pg_basebackup -X none {:.2} s, {} ({:.2}× of pg_basebackup's time)\n",
        skydeck_ui::fmt::bytes(rep.backup_data),
        rep.backup_skydeck_s,
        skydeck_ui::fmt::bytes(rep.backup_skydeck_stored),
        rep.backup_pg_basebackup_s,
        skydeck_ui::fmt::bytes(rep.backup_pg_basebackup_bytes),
        rep.backup_skydeck_s / rep.backup_pg_basebackup_s.max(1e-9)
    ));
    s
}
