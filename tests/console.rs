//! The console as a whole, in a real terminal: `skydeck demo` runs inside
//! tmux; the test reads the screen, switches views, runs a `:` command,
//! confirms it, sees the result, switches the demo's cascade over to its
//! branch from the Nodes view (dry run, typed confirmation, live steps)
//! and back, quits (confirming that the hosted workers stop) and checks
//! that everything was cleaned up and the terminal restored. Needs tmux
//! (CI installs it).

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn start(cmd: &str) -> Tmux {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("skydeck-test-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "140", "-y", "40"])
            // Keep the pane after the program exits, to read its last words.
            .arg(format!("{cmd}; echo EXITED=$?; sleep 30"))
            .env_remove("TMUX")
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { session }
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["send-keys", "-t", &self.session, k])
                .status()
                .unwrap()
                .success();
            assert!(ok, "tmux send-keys {k}");
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{what:?} did not appear within {timeout:?}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[test]
fn console_in_a_real_terminal() {
    if !Tmux::available() {
        assert!(
            std::env::var_os("SKYDECK_REQUIRE_ALL").is_none(),
            "tmux is needed to drive the console in a terminal"
        );
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_skydeck");
    let t = Tmux::start(&format!("{bin} demo"));

    // Overview: the demo database is up and its workers run.
    let s = t.wait_for("12 workers", Duration::from_secs(60));
    assert!(s.contains("Overview") && s.contains("Workers"), "{s}");
    t.wait_for("ticker", Duration::from_secs(30));

    // Queues view, by key.
    t.keys(&["2"]);
    // The demo registers its consumers while the console starts: wait for
    // the last one rather than for the first frame of the view.
    let s = t.wait_for("slow_reporter", Duration::from_secs(30));
    assert!(
        s.contains("Consumers of accounts") && s.contains("notifications"),
        "{s}"
    );

    // A command with completion, confirmed.
    t.keys(&[":", "tick acc", "Tab", "Enter"]);
    let s = t.wait_for("Tick queue?", Duration::from_secs(30));
    assert!(s.contains("tick queue accounts in demo"), "{s}");
    t.keys(&["y"]);
    t.wait_for("✓ tick queue accounts in demo", Duration::from_secs(30));

    // Workers and Logs views.
    t.keys(&["3"]);
    let s = t.wait_for("Restarts", Duration::from_secs(30));
    assert!(s.contains("producer") && s.contains("load"), "{s}");
    // The log has grown past one screen by now: filter it.
    t.keys(&["4", "/", "pgq version", "Enter"]);
    t.wait_for("pgq version ok", Duration::from_secs(30));

    // Nodes: the cascade main → replica → report, then a switchover to
    // replica and back, from the keyboard.
    t.keys(&["5"]);
    let s = t.wait_for("report", Duration::from_secs(30));
    assert!(s.contains("orders") && s.contains("main"), "{s}");
    switchover(&t, "main", "replica");
    switchover(&t, "replica", "main");

    // Tables: the demo's four pgbench tables, copied and `ok` on every node.
    t.keys(&["6"]);
    let s = t.wait_for("pgbench_history", Duration::from_secs(30));
    assert!(s.contains("pgbench_accounts") && s.contains("ok"), "{s}");

    // WAL: the demo's master and its standby, streaming; pause it and
    // continue (each confirmed).
    t.keys(&["7"]);
    let s = t.wait_for("streaming", Duration::from_secs(30));
    assert!(s.contains("wal_master") && s.contains("wal_standby"), "{s}");
    t.keys(&["j", "p"]);
    t.wait_for("Pause replay?", Duration::from_secs(30));
    t.keys(&["y"]);
    t.wait_for("PAUSED", Duration::from_secs(30));
    t.keys(&["c"]);
    t.wait_for("Continue replay?", Duration::from_secs(30));
    t.keys(&["y"]);
    t.wait_for("✓ continue WAL replay", Duration::from_secs(30));

    // Quit: asks, names the workers it will stop; then everything goes.
    t.keys(&["q"]);
    let s = t.wait_for("quit", Duration::from_secs(30));
    assert!(
        s.contains("12"),
        "the quit prompt names the hosted workers: {s}"
    );
    t.keys(&["y"]);
    let s = t.wait_for("EXITED=", Duration::from_secs(60));
    assert!(s.contains("EXITED=0"), "{s}");
    assert!(s.contains("stopped and removed the cluster"), "{s}");
    // The alternate screen is gone: the console's frame is not on screen.
    assert!(!s.contains("Consumers of accounts"), "{s}");
}

/// Select `new`, press s, read the dry run, type the name, watch it run
/// and see the tree with `new` as the root of `orders`.
fn switchover(t: &Tmux, old: &str, new: &str) {
    t.keys(&[":", &format!("show node {new}"), "Enter"]);
    t.wait_for(&format!("Node {new}"), Duration::from_secs(30));
    t.keys(&["s"]);
    let s = t.wait_for("To switch over, type", Duration::from_secs(30));
    assert!(
        s.contains(&format!("Switchover of orders: {old} → {new}")),
        "{s}"
    );
    assert!(s.contains("Checks: all"), "the dry run passes: {s}");
    t.keys(&[new, "Enter"]);
    let s = t.wait_for("switchover done in", Duration::from_secs(60));
    assert!(
        s.contains(&format!("{new} promoted to root"))
            && s.contains("writes to orders were refused for"),
        "{s}"
    );
    t.keys(&["Enter"]);
    // The tree now hangs from the new root.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = t.screen();
        let root_row = s
            .lines()
            .any(|l| l.contains(&format!("│{new} ")) && l.contains(" root "));
        if root_row {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{new} did not show as the root: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_on_a_deck_hosts_its_workers() {
    if !Tmux::available() {
        assert!(
            std::env::var_os("SKYDECK_REQUIRE_ALL").is_none(),
            "tmux is needed"
        );
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let cluster = skydeck::cluster::LocalCluster::builder("console_deck")
        .start()
        .unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    admin.batch_execute("create database app").await.unwrap();
    let mut app = cluster.connect("app").await.unwrap();
    skydeck::install::install(&mut app, &[]).await.unwrap();
    skydeck::pgq::create_queue(&app, "orders").await.unwrap();
    skydeck::pgq::register_consumer(&app, "orders", "mailer")
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("skydeck-console-deck-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("jobs")).unwrap();
    let deck = dir.join("skydeck.ini");
    std::fs::write(
        &deck,
        "[skydeck]\nconfig_list = jobs/*.ini\nrefresh_period = 0.3\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("jobs/ticker.ini"),
        format!(
            "[pgqd]\nbase_connstr = host={} port={} user=postgres\ndatabase_list = app\nticker_period = 0.2\n",
            cluster.socket_dir().display(),
            cluster.port()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_skydeck");
    let t = Tmux::start(&format!("{bin} -c {}", deck.display()));
    let s = t.wait_for("1 queues", Duration::from_secs(60));
    assert!(s.contains("app") && s.contains("up"), "{s}");

    // The console holds the deck's pidfile: a daemon for it is refused.
    let o = Command::new(bin)
        .args(["--daemon", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already running"));
    // `skydeck status` sees the console's workers.
    let o = Command::new(bin)
        .args(["status", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("skydeck console") && text.contains("ticker"),
        "{text}"
    );
    // The CLI acts on the console's workers through the control socket.
    let o = Command::new(bin)
        .args(["worker", "pause", "ticker", "-c"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.keys(&["3"]);
    t.wait_for("paused", Duration::from_secs(30));
    // And from the console's own command line.
    t.keys(&[":", "resume worker ticker", "Enter"]);
    t.wait_for("Resume", Duration::from_secs(30));
    t.keys(&["y"]);
    t.wait_for("✓", Duration::from_secs(30));
    // The consumer shows in the Queues view.
    t.keys(&["2"]);
    t.wait_for("mailer", Duration::from_secs(30));

    t.keys(&["q"]);
    t.wait_for("quit", Duration::from_secs(30));
    t.keys(&["y"]);
    let s = t.wait_for("EXITED=", Duration::from_secs(60));
    assert!(s.contains("EXITED=0"), "{s}");
    assert!(!dir.join("skydeck.pid").exists(), "pidfile left behind");
    assert!(
        !dir.join("skydeck.sock").exists(),
        "control socket left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
