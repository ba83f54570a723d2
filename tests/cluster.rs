//! The throwaway-cluster harness itself: start, connect, restart, crash,
//! cleanup on drop, and the server log kept when a test panics.

use std::fs;

use skydeck::cluster::{base_dir, LocalCluster};

#[tokio::test]
async fn start_connect_restart_and_remove() {
    let mut c = LocalCluster::builder("harness")
        .setting("work_mem", "'8MB'")
        .start()
        .unwrap();
    let dir = c.socket_dir().to_path_buf();
    assert!(c.data_dir().join("PG_VERSION").is_file());
    let client = c.connect("postgres").await.unwrap();
    let row = client.query_one("select current_setting('work_mem'), current_setting('fsync'), current_setting('lc_messages')", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "8MB");
    assert_eq!(row.get::<_, String>(1), "off");
    assert_eq!(row.get::<_, String>(2), "C");

    // When we are root the server must not be.
    let pid = c.pid().unwrap();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let server_uid: u32 = uid_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    if unsafe { libc::geteuid() } == 0 {
        assert_ne!(server_uid, 0, "postgres runs as root");
    }

    c.create_database("has space \"and quotes\"").await.unwrap();
    let other = c.connect("has space \"and quotes\"").await.unwrap();
    assert_eq!(
        other
            .query_one("select current_database()", &[])
            .await
            .unwrap()
            .get::<_, String>(0),
        "has space \"and quotes\""
    );

    // A TCP connection string works too.
    let (tcp, conn) = tokio_postgres::connect(&c.tcp_connstr("postgres"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    tcp.simple_query("select 1").await.unwrap();

    drop(client);
    drop(other);
    drop(tcp);
    c.crash();
    assert!(!c.is_running());
    c.restart().unwrap();
    let client = c.connect("postgres").await.unwrap();
    client.simple_query("select 1").await.unwrap();
    drop(client);
    drop(c);
    assert!(
        !dir.exists(),
        "cluster directory {} not removed",
        dir.display()
    );
}

#[test]
fn log_is_kept_and_shown_when_a_test_panics() {
    let handle = std::thread::spawn(|| {
        let c = LocalCluster::builder("panicky").start().unwrap();
        let _keep = &c;
        panic!("deliberate panic with a live cluster");
    });
    assert!(handle.join().is_err());
    let failed = base_dir().join("failed-logs");
    let found = fs::read_dir(&failed)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("panicky-{}-", std::process::id()))
        });
    assert!(
        found,
        "no kept log for the panicking cluster in {}",
        failed.display()
    );
}

#[test]
fn bad_binaries_give_a_clear_error() {
    let err = LocalCluster::builder("nobin")
        .bindir("/nonexistent/bin")
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no PostgreSQL server binaries found"), "{err}");
    assert!(err.contains("SKYDECK_PG_BINDIR"), "{err}");
}
