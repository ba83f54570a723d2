//! The headless host and `skydeck pgqd`, as processes: start, stats line,
//! signals, pidfile refusing a second instance, reload with a changed deck,
//! `skydeck status`, stop — and a PostgreSQL that is killed and comes back
//! while the daemon runs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use skydeck::cluster::LocalCluster;

fn skydeck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    for v in ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "NOTIFY_SOCKET"] {
        c.env_remove(v);
    }
    c
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("skydeck-daemon-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("jobs")).unwrap();
    d
}

fn pgqd_ini(c: &LocalCluster, dbs: &str, extra: &str) -> String {
    format!(
        "[pgqd]\nbase_connstr = host={} port={} user=postgres\ndatabase_list = {dbs}\n\
         ticker_period = 0.2\nretry_period = 1\nmaint_period = 1\ncheck_period = 1\nstats_period = 1\n{extra}",
        c.socket_dir().display(),
        c.port()
    )
}

/// Lines of a child's stderr, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(
    rx: &mpsc::Receiver<String>,
    what: &str,
    timeout: Duration,
    seen: &mut Vec<String>,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if l.contains(what) {
                    return l;
                }
            }
            Err(_) => panic!(
                "no line containing {what:?} within {timeout:?}; got:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgqd_in_the_foreground() {
    let db = common::installed_db("daemon_pgqd").await;
    let c = db.connect().await;
    skydeck::pgq::create_queue(&c, "q").await.unwrap();
    skydeck::pgq::set_queue_config(&c, "q", "ticker_max_lag", "0")
        .await
        .unwrap();
    let dir = scratch("pgqd");
    let ini = dir.join("pgqd.ini");
    let pidfile = dir.join("pgqd.pid");
    std::fs::write(
        &ini,
        pgqd_ini(
            common::cluster(),
            &db.name,
            &format!("pidfile = {}\n", pidfile.display()),
        ),
    )
    .unwrap();

    let mut child = skydeck()
        .arg("pgqd")
        .arg(&ini)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_line(&rx, "pgq version ok", Duration::from_secs(20), &mut seen);
    let stats = wait_line(&rx, "{ticks: ", Duration::from_secs(30), &mut seen);
    assert!(
        stats.contains("maint: ") && stats.contains("retry: "),
        "{stats}"
    );
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        child.id().to_string()
    );

    // A second instance is refused.
    let second = skydeck().arg("pgqd").arg(&ini).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("already running with pid {}", child.id())),
        "{err}"
    );

    // The queue really gets ticks.
    let before = skydeck::pgq::queue_info(&c, Some("q")).await.unwrap()[0].last_tick_id;
    skydeck::pgq::insert_event(&c, "q", "t", "x").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while skydeck::pgq::queue_info(&c, Some("q")).await.unwrap()[0].last_tick_id == before {
        assert!(Instant::now() < deadline, "no tick from skydeck pgqd");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // -r reloads, -s stops; the pidfile goes away.
    let r = skydeck().args(["pgqd", "-r"]).arg(&ini).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    wait_line(
        &rx,
        "Got SIGHUP, re-reading config",
        Duration::from_secs(30),
        &mut seen,
    );
    let s = skydeck().args(["pgqd", "-s"]).arg(&ini).output().unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    wait_line(
        &rx,
        "Got SIGINT, shutting down",
        Duration::from_secs(30),
        &mut seen,
    );
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
    assert!(!pidfile.exists(), "pidfile left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pgqd_config_errors_are_clear() {
    let dir = scratch("pgqd-bad");
    let ini = dir.join("bad.ini");
    std::fs::write(&ini, "[pgqd]\nticker_period = soon\n").unwrap();
    let o = skydeck().arg("pgqd").arg(&ini).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.ini") && err.contains("ticker_period") && err.contains("soon"),
        "{err}"
    );
    let o = skydeck().args(["pgqd", "-s"]).arg(&ini).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_status(
    deck: &Path,
    what: &str,
    timeout: Duration,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let o = skydeck()
            .args(["status", "--json", "-c"])
            .arg(deck)
            .output()
            .unwrap();
        if o.status.success() {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
                if f(&v) {
                    return v;
                }
                if Instant::now() > deadline {
                    panic!("timed out waiting for {what}; last status:\n{v:#}");
                }
            }
        } else if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn db_state(st: &serde_json::Value, db: &str) -> String {
    st["databases"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == db))
        .map(|d| d["state"]["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_runs_reloads_survives_a_restart_and_stops() {
    let mut cluster = LocalCluster::builder("daemon").start().unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    for d in ["one", "two"] {
        admin
            .batch_execute(&format!("create database {d}"))
            .await
            .unwrap();
        let mut c = cluster.connect(d).await.unwrap();
        skydeck::install::install(&mut c, &[]).await.unwrap();
        skydeck::pgq::create_queue(&c, "q").await.unwrap();
    }
    drop(admin);
    let dir = scratch("deck");
    let deck = dir.join("skydeck.ini");
    std::fs::write(
        &deck,
        "[skydeck]\nconfig_list = jobs/*.ini\nrefresh_period = 0.2\nlogfile = log/skydeck.log\npidfile = run/skydeck.pid\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("jobs/ticker_one.ini"),
        pgqd_ini(&cluster, "one", ""),
    )
    .unwrap();

    // systemd readiness: a datagram socket standing in for systemd's.
    let notify_path = dir.join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = skydeck()
        .args(["--daemon", "-c"])
        .arg(&deck)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let n = notify.recv(&mut buf).expect("READY=1 from the daemon");
    assert_eq!(&buf[..n], b"READY=1");
    let st = wait_status(&deck, "ticker_one ticking", Duration::from_secs(30), |s| {
        db_state(s, "one") == "ticking"
    });
    assert_eq!(st["mode"], "daemon");
    assert_eq!(st["workers"][0]["name"], "ticker_one");
    assert_eq!(st["workers"][0]["kind"], "ticker");
    let pidfile = dir.join("run/skydeck.pid");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        child.id().to_string()
    );
    let status_file = dir.join("run/skydeck.status.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&status_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // Logs go to the file, not to the terminal.
    let log = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .flatten()
        .next()
        .expect("a log file")
        .path();
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("pgq version ok"));

    // A second daemon for the same deck is refused.
    let o = skydeck()
        .args(["--daemon", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already running"));

    // The human form of status.
    let o = skydeck()
        .args(["status", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("ticker_one") && text.contains("one"),
        "{text}"
    );

    // Workers are controlled through the running daemon, with the
    // console's code.
    let o = skydeck()
        .args(["worker", "pause", "ticker_one", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "worker ticker_one paused"
    );
    wait_status(&deck, "paused", Duration::from_secs(30), |s| {
        s["workers"][0]["phase"] == "paused"
    });
    let o = skydeck()
        .args(["worker", "pause", "nobody", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no worker named \"nobody\""));
    let o = skydeck()
        .args(["worker", "resume", "ticker_one", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_status(&deck, "running again", Duration::from_secs(30), |s| {
        db_state(s, "one") == "ticking" && s["workers"][0]["phase"] == "running"
    });

    // Reload with a second job: only it starts.
    std::fs::write(
        dir.join("jobs/ticker_two.ini"),
        pgqd_ini(&cluster, "two", ""),
    )
    .unwrap();
    let o = skydeck()
        .args(["--reload", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let st = wait_status(&deck, "two ticking", Duration::from_secs(30), |s| {
        db_state(s, "two") == "ticking"
    });
    let one = st["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "ticker_one")
        .unwrap();
    assert_eq!(one["restarts"], 0, "the unchanged job was not restarted");

    // PostgreSQL dies and comes back: the workers resume on their own.
    cluster.crash();
    wait_status(&deck, "databases down", Duration::from_secs(30), |s| {
        db_state(s, "one") == "down"
    });
    cluster.restart().unwrap();
    wait_status(&deck, "ticking again", Duration::from_secs(60), |s| {
        db_state(s, "one") == "ticking" && db_state(s, "two") == "ticking"
    });

    // --stop: graceful exit, pidfile and status file removed.
    let o = skydeck()
        .args(["--stop", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(wait_exit(&mut child, Duration::from_secs(60)).success());
    assert!(!pidfile.exists());
    assert!(!status_file.exists());
    assert!(
        !dir.join("run/skydeck.sock").exists(),
        "control socket left behind"
    );
    let o = skydeck()
        .args(["status", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no skydeck is running"));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("Got SIGINT, shutting down"), "{log_text}");
    assert!(log_text.contains("reloaded"), "{log_text}");
    // Nothing was printed on the terminal but errors.
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.trim().is_empty(), "daemon wrote to stderr:\n{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
