//! `skydeck status`: what a running daemon (or console) of a deck is doing,
//! from the status file it keeps beside its pidfile.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::Deck;
use crate::daemon::run::{pidfile_path, status_path, StatusFile};
use crate::fmt::{secs, Table};

pub fn run(deck_path: &Path, json: bool) -> Result<()> {
    let deck = Deck::load(deck_path)?;
    let pidfile = pidfile_path(&deck);
    let running = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        // SAFETY: signal 0 only checks that the process exists.
        .filter(|pid| unsafe { libc::kill(*pid, 0) } == 0);
    let Some(pid) = running else {
        bail!(
            "no skydeck is running for {} (no live pid in {}); start it with `skydeck --daemon -c {}`",
            deck_path.display(),
            pidfile.display(),
            deck_path.display()
        );
    };
    let sp = status_path(&deck);
    let text = std::fs::read_to_string(&sp).with_context(|| {
        format!(
            "skydeck (pid {pid}) is running but its status file {} is not readable",
            sp.display()
        )
    })?;
    let st: StatusFile =
        serde_json::from_str(&text).with_context(|| format!("status file {}", sp.display()))?;
    if json {
        println!("{text}");
        return Ok(());
    }
    let age = std::time::SystemTime::now()
        .duration_since(st.updated_at)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    println!(
        "skydeck {} (pid {}) for {}, status {} old",
        st.mode,
        st.pid,
        st.deck,
        secs(age)
    );
    let mut t = Table::new([
        "worker",
        "kind",
        "state",
        "restarts",
        "counters",
        "last error",
    ]);
    for w in &st.workers {
        let counters: Vec<String> = w["counters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| format!("{}={}", c[0].as_str().unwrap_or(""), c[1]))
                    .collect()
            })
            .unwrap_or_default();
        t.row([
            w["name"].as_str().unwrap_or("").to_string(),
            w["kind"].as_str().unwrap_or("").to_string(),
            w["phase"].as_str().unwrap_or("").to_string(),
            w["restarts"].to_string(),
            counters.join(" "),
            w["last_error"].as_str().unwrap_or("-").to_string(),
        ]);
    }
    print!("{}", t.render());
    if !st.databases.is_empty() {
        let mut t = Table::new([
            "database",
            "job",
            "state",
            "ticks",
            "retried",
            "maint ops",
            "last error",
        ]);
        for d in &st.databases {
            t.row([
                d["name"].as_str().unwrap_or("").to_string(),
                d["job"].as_str().unwrap_or("").to_string(),
                d["state"]["state"].as_str().unwrap_or("").to_string(),
                d["ticks"].to_string(),
                d["retried_events"].to_string(),
                d["maint_ops"].to_string(),
                d["last_error"].as_str().unwrap_or("-").to_string(),
            ]);
        }
        print!("\n{}", t.render());
    }
    Ok(())
}
