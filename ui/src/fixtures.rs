//! Fixed, realistic snapshots for tests, benchmarks and screenshots: a
//! deck with a database down, queues with lag and a blocked rotation,
//! consumers, workers in every state (Backoff and Failed with errors),
//! cascades (root, branches, leaves, a merge leaf; a dead node, a paused
//! worker, an erroring node, an unreachable node), Londiste nodes with
//! tables in every merge state (two copies under way) and sequences,
//! walmgr masters and standbys (streaming, archive mode and paused, an
//! archive that fails), alerts and a log tail. Everything is
//! deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::*;

/// 2025-10-09T08:53:20Z: when every fixture snapshot was "taken".
pub fn taken_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn s(v: u64) -> Duration {
    Duration::from_secs(v)
}

fn up(name: &str, host: &str, server: &str, pgq: Option<&str>) -> DatabaseView {
    let dbname = name.split('@').next().unwrap_or(name);
    DatabaseView {
        name: name.into(),
        connstr: format!("host={host} port=5432 dbname={dbname} user=skytools password=***"),
        state: DatabaseState::Up {
            server_version: server.into(),
            pgq_version: pgq.map(Into::into),
        },
    }
}

fn rotation(cur: i32, last_switch: Duration, phase: RotationPhase) -> RotationView {
    RotationView {
        cur_table: cur,
        ntables: 3,
        period: s(2 * 3600),
        last_switch_age: last_switch,
        phase,
    }
}

#[allow(clippy::too_many_arguments)]
fn consumer(
    name: &str,
    lag: Duration,
    lag_ticks: i64,
    last_seen: Duration,
    last_tick: i64,
    batch: Option<i64>,
    pending: i64,
    retry: i64,
) -> ConsumerView {
    ConsumerView {
        name: name.into(),
        lag,
        lag_ticks: Some(lag_ticks),
        last_seen,
        last_tick: Some(last_tick),
        current_batch: batch,
        pending_events: Some(pending),
        retry_pending: retry,
    }
}

fn queue(database: &str, name: &str, ticker: TickerMode, last_tick_id: i64) -> QueueView {
    QueueView {
        database: database.into(),
        name: name.into(),
        ticker,
        last_tick_id,
        ticker_lag: ms(800),
        ev_per_sec: Some(0.0),
        ev_new: 0,
        max_count: 500,
        max_lag: s(3),
        idle_period: s(60),
        rotation: rotation(1, s(1800), RotationPhase::Waiting { due_in: s(5400) }),
        retry_pending: 0,
        open_batches: 0,
        oldest_xact_age: Some(ms(1200)),
        consumers: Vec::new(),
    }
}

fn worker(
    name: &str,
    kind: &str,
    dbs: &[&str],
    state: WorkerState,
    state_for: Duration,
) -> WorkerView {
    WorkerView {
        name: name.into(),
        kind: kind.into(),
        databases: dbs.iter().map(|d| d.to_string()).collect(),
        state,
        state_for,
        restarts: 0,
        retry_in: None,
        last_error: None,
        lag: None,
        counters: Vec::new(),
    }
}

fn location(db: &str) -> String {
    let (dbname, rest) = db.split_once('@').unwrap_or((db, "localhost:5432"));
    let (host, port) = rest.split_once(':').unwrap_or((rest, "5432"));
    format!("host={host} port={port} dbname={dbname} user=skytools password=***")
}

fn node(name: &str, db: &str, t: Option<NodeType>, provider: Option<&str>) -> NodeView {
    NodeView {
        name: name.into(),
        database: db.into(),
        location: location(db),
        node_type: t,
        provider: provider.map(Into::into),
        worker: t.map(|_| format!("{name}_worker")),
        ..NodeView::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn live(
    name: &str,
    db: &str,
    t: NodeType,
    provider: Option<&str>,
    tick: i64,
    lag: Duration,
    gw: i64,
    lw: i64,
) -> NodeView {
    NodeView {
        last_tick: Some(tick),
        lag: Some(lag),
        global_watermark: Some(gw),
        local_watermark: Some(lw),
        ..node(name, db, Some(t), provider)
    }
}

/// The cascade `replika` (Londiste from shop): root `shop_root`; branches
/// `stats_branch`, `report_branch` (worker PAUSED) and `dr_branch`
/// (tagged DEAD); leaves `search_leaf` (NOT UPTODATE after a provider
/// change), `archive_leaf` (UNREACHABLE: its database is down) and
/// `bi_leaf` (its worker fails on a duplicate key).
pub fn replika() -> CascadeView {
    use NodeType::*;
    let root = NodeView {
        provider: Some("shop_root".into()),
        ..live(
            "shop_root",
            SHOP,
            Root,
            None,
            20_514,
            ms(900),
            20_390,
            20_301,
        )
    };
    let stats = NodeView {
        sync_watermark: vec!["stats_branch".into(), "report_branch".into()],
        ..live(
            "stats_branch",
            STATS,
            Branch,
            Some("shop_root"),
            20_513,
            ms(1_600),
            20_390,
            20_470,
        )
    };
    let report = NodeView {
        paused: true,
        ..live(
            "report_branch",
            "report@db5:5432",
            Branch,
            Some("shop_root"),
            20_301,
            s(252),
            20_390,
            20_180,
        )
    };
    let dr = NodeView {
        dead: true,
        ..node("dr_branch", "dr@db6:5432", None, Some("shop_root"))
    };
    let search = NodeView {
        uptodate: false,
        ..live(
            "search_leaf",
            "search@db7:5432",
            Leaf,
            Some("stats_branch"),
            20_512,
            ms(2_300),
            20_390,
            20_512,
        )
    };
    let archive = NodeView {
        error: Some(
            "connection refused: is the server running on host \"db3\" and accepting TCP/IP connections on port 5432?"
                .into(),
        ),
        ..node("archive_leaf", ARCHIVE, None, Some("stats_branch"))
    };
    let bi = NodeView {
        worker_error: Some(
            "ERROR: duplicate key value violates unique constraint \"orders_pkey\" (SQLSTATE 23505)\nDETAIL: Key (id)=(48213) already exists.\nCONTEXT: londiste replay of public.orders"
                .into(),
        ),
        ..live(
            "bi_leaf",
            "bi@db8:5432",
            Leaf,
            Some("report_branch"),
            20_180,
            s(361),
            20_390,
            20_180,
        )
    };
    CascadeView {
        queue: "replika".into(),
        nodes: vec![search, root, bi, stats, archive, report, dr],
    }
}

/// The cascade `part1`: a partition root and a merge leaf on shop that
/// copies its events into `replika` (where shop is the root).
pub fn part1() -> CascadeView {
    use NodeType::*;
    let root = live(
        "part1_root",
        "part1@db9:5432",
        Root,
        None,
        7_703,
        ms(700),
        7_650,
        7_690,
    );
    let merge = NodeView {
        combined_queue: Some("replika".into()),
        combined_type: Some(Root),
        ..live(
            "part1_merge",
            SHOP,
            Leaf,
            Some("part1_root"),
            7_702,
            ms(1_100),
            7_650,
            7_702,
        )
    };
    CascadeView {
        queue: "part1".into(),
        nodes: vec![merge, root],
    }
}

/// `n` cascades of ten nodes each (a root, three branches, six leaves),
/// lags varied, every seventh node paused and every eleventh erroring;
/// for benchmarks and scrolling.
pub fn many_cascades(n: usize) -> Vec<CascadeView> {
    (0..n)
        .map(|i| {
            let db = |k: usize| format!("c{i:03}n{k}@db{}:5432", (i + k) % 16);
            let mut nodes = Vec::with_capacity(10);
            for k in 0..10usize {
                let (t, provider) = match k {
                    0 => (NodeType::Root, None),
                    1..=3 => (NodeType::Branch, Some("n0".to_string())),
                    _ => (NodeType::Leaf, Some(format!("n{}", 1 + (k - 4) % 3))),
                };
                let seq = i * 10 + k;
                let mut nv = live(
                    &format!("n{k}"),
                    &db(k),
                    t,
                    provider.as_deref(),
                    100_000 - (seq % 5) as i64,
                    ms(300 + (seq as u64 * 173) % 90_000),
                    99_000,
                    99_500,
                );
                nv.paused = seq % 7 == 3;
                if seq % 11 == 5 {
                    nv.worker_error = Some(format!("ERROR: relation \"t{seq}\" does not exist"));
                }
                nodes.push(nv);
            }
            CascadeView {
                queue: format!("cascade_{i:03}"),
                nodes,
            }
        })
        .collect()
}

pub const SHOP: &str = "shop@db1:5432";
pub const STATS: &str = "stats@db2:5432";
pub const ARCHIVE: &str = "archive@db3:5432";
pub const LEGACY: &str = "legacy@db4:5432";

/// The main fixture: four databases (one down, one without PgQ), five
/// queues, eight workers, alerts and a log tail.
pub fn deck() -> Snapshot {
    let databases = vec![
        up(SHOP, "db1", "16.4", Some("3.5")),
        up(STATS, "db2", "15.8", Some("3.5")),
        DatabaseView {
            name: ARCHIVE.into(),
            connstr: "host=db3 port=5432 dbname=archive user=skytools password=***".into(),
            state: DatabaseState::Down {
                error: "connection refused: is the server running on host \"db3\" and accepting TCP/IP connections on port 5432?".into(),
                down_for: s(252),
                retry_in: Some(s(18)),
            },
        },
        up(LEGACY, "db4", "13.16", None),
    ];

    let mut orders = queue(SHOP, "orders", TickerMode::Local, 48_213);
    orders.ev_per_sec = Some(152.4);
    orders.ev_new = 37;
    orders.open_batches = 1;
    orders.retry_pending = 14;
    orders.rotation = rotation(1, s(47 * 60), RotationPhase::Waiting { due_in: s(73 * 60) });
    orders.consumers = vec![
        consumer(
            "invoicing",
            ms(1200),
            1,
            ms(300),
            48_212,
            Some(90_211),
            120,
            0,
        ),
        consumer(
            "search_indexer",
            s(250),
            215,
            s(12),
            47_998,
            None,
            38_200,
            14,
        ),
        consumer(
            "londiste_shop_replica",
            ms(2100),
            2,
            ms(900),
            48_211,
            Some(90_214),
            310,
            0,
        ),
    ];

    let mut billing = queue(SHOP, "billing events", TickerMode::Local, 1_200);
    billing.ticker_lag = s(12);
    billing.ev_per_sec = Some(0.2);
    billing.ev_new = 2;
    billing.rotation = rotation(2, s(2 * 3600 + 60), RotationPhase::Due);
    billing.consumers = vec![consumer("ledger", s(14), 1, s(3), 1_199, None, 2, 0)];

    let mut audit = queue(SHOP, "audit", TickerMode::Local, 9_876);
    audit.ticker_lag = ms(1500);
    audit.ev_per_sec = Some(48.0);
    audit.ev_new = 12;
    audit.open_batches = 2;
    audit.oldest_xact_age = Some(s(3 * 3600 + 120));
    audit.rotation = rotation(
        0,
        s(6 * 3600 + 20 * 60),
        RotationPhase::Blocked {
            by_consumer: "audit_archiver".into(),
        },
    );
    audit.consumers = vec![
        consumer(
            "audit_archiver",
            s(6 * 3600 + 14 * 60),
            1_432,
            s(6 * 3600 + 10 * 60),
            8_444,
            Some(77_001),
            1_204_332,
            0,
        ),
        consumer("audit_stream", ms(900), 1, ms(200), 9_875, None, 12, 0),
    ];

    let mut metrics = queue(STATS, "metrics", TickerMode::External, 310_442);
    metrics.ticker_lag = ms(1500);
    metrics.ev_per_sec = Some(12_480.0);
    metrics.ev_new = 18_720;
    metrics.max_count = 2_000;
    metrics.rotation = rotation(2, s(3 * 60), RotationPhase::HalfDone);
    metrics.consumers = vec![consumer(
        "rollup",
        s(2),
        1,
        ms(500),
        310_441,
        Some(5_512),
        24_960,
        0,
    )];

    let mut exports = queue(STATS, "exports", TickerMode::Paused, 77);
    exports.ticker_lag = s(25 * 60);
    exports.ev_per_sec = None;
    exports.oldest_xact_age = None;
    exports.rotation = rotation(1, s(40 * 60), RotationPhase::Waiting { due_in: s(80 * 60) });

    let queues = vec![orders, billing, audit, metrics, exports];

    let mut pgqd = worker(
        "pgqd",
        "ticker",
        &[SHOP, STATS, ARCHIVE],
        WorkerState::Running,
        s(3 * 3600 + 7 * 60),
    );
    pgqd.counters = vec![
        ("ticks".into(), 48_213),
        ("maint".into(), 312),
        ("retry".into(), 14),
    ];
    let mut invoicing = worker(
        "invoicing",
        "consumer",
        &[SHOP],
        WorkerState::Running,
        s(3 * 3600 + 7 * 60),
    );
    invoicing.lag = Some(ms(1200));
    invoicing.counters = vec![("batches".into(), 48_101), ("events".into(), 1_903_554)];
    let mut indexer = worker(
        "search_indexer",
        "consumer",
        &[SHOP],
        WorkerState::Idle,
        s(4),
    );
    indexer.lag = Some(s(250));
    indexer.restarts = 1;
    indexer.counters = vec![
        ("batches".into(), 47_880),
        ("events".into(), 1_865_002),
        ("retries".into(), 14),
    ];
    let mut replica = worker(
        "replica_shop",
        "londiste",
        &[SHOP, STATS],
        WorkerState::Backoff,
        s(48),
    );
    replica.restarts = 3;
    replica.retry_in = Some(s(12));
    replica.lag = Some(ms(2100));
    replica.last_error = Some(
        "ERROR: could not obtain lock on relation \"public.orders\" (SQLSTATE 55P03)\nHINT: another session holds an ACCESS EXCLUSIVE lock; retry later".into(),
    );
    let mut mover = worker(
        "archive_mover",
        "consumer",
        &[SHOP, ARCHIVE],
        WorkerState::Failed,
        s(9 * 60),
    );
    mover.restarts = 5;
    mover.last_error =
        Some("config jobs/archive.ini: key 'dst_db' is missing in section [queue_mover]".into());
    let mut archiver = worker(
        "audit_archiver",
        "consumer",
        &[SHOP],
        WorkerState::Paused,
        s(6 * 3600 + 10 * 60),
    );
    archiver.lag = Some(s(6 * 3600 + 14 * 60));
    let walmgr = worker(
        "walmgr_main",
        "walmgr",
        &[SHOP],
        WorkerState::Starting,
        ms(1200),
    );
    let rollup = worker(
        "rollup",
        "consumer",
        &[STATS],
        WorkerState::Stopped,
        s(25 * 60),
    );
    let workers = vec![
        pgqd, invoicing, indexer, replica, mover, archiver, walmgr, rollup,
    ];

    let alerts = vec![
        Alert {
            level: Level::Error,
            source: ARCHIVE.into(),
            message: "database down: connection refused (retry in 18s)".into(),
            since: s(252),
        },
        Alert {
            level: Level::Error,
            source: "archive_mover".into(),
            message:
                "failed: config jobs/archive.ini: key 'dst_db' is missing in section [queue_mover]"
                    .into(),
            since: s(9 * 60),
        },
        Alert {
            level: Level::Warn,
            source: "audit".into(),
            message: "rotation blocked by consumer audit_archiver (lag 6h14m)".into(),
            since: s(3600 + 120),
        },
        Alert {
            level: Level::Warn,
            source: "replica_shop".into(),
            message: "restarting in 12s after 3 failures".into(),
            since: s(48),
        },
        Alert {
            level: Level::Info,
            source: "exports".into(),
            message: "ticker paused".into(),
            since: s(25 * 60),
        },
        Alert {
            level: Level::Error,
            source: "replika/bi_leaf".into(),
            message: "node worker failing: ERROR: duplicate key value violates unique constraint \"orders_pkey\"".into(),
            since: s(361),
        },
        Alert {
            level: Level::Warn,
            source: "replika/archive_leaf".into(),
            message: "node unreachable: connection refused".into(),
            since: s(252),
        },
    ];

    Snapshot {
        taken_at: taken_at(),
        deck: "skydeck.ini".into(),
        read_only: false,
        databases,
        queues,
        workers,
        alerts,
        logs: logs(40),
        cascades: vec![replika(), part1()],
        londiste: londiste(),
        wal: wal(),
    }
}

fn backup(name: &str, age: Duration, size: u64, stored: u64, start_wal: &str) -> WalBackupView {
    WalBackupView {
        name: name.into(),
        age: Some(age),
        size,
        stored,
        start_wal: start_wal.into(),
    }
}

const GB: u64 = 1 << 30;
const MB: u64 = 1 << 20;

/// Four walmgr jobs: the master `walmgr_main` (shop's server, a healthy
/// archive, two old failures, three base backups); its standbys
/// `walmgr_standby` (streaming, under a kilobyte behind) and `walmgr_dr`
/// (archive mode, replay PAUSED, 14 minutes behind); and the master
/// `walmgr_legacy` whose archive is not writable: archiving FAILING, a
/// backlog of 212 segments, the job's error set. The engine lists them in
/// any order: the view puts the masters first.
pub fn wal() -> Vec<WalView> {
    let shop_backups = vec![
        backup(
            "20251009T065000Z",
            s(2 * 3600 + 3 * 60),
            9_771_050_000,
            3_650_000_000,
            "000000010000002F00000042",
        ),
        backup(
            "20251008T065000Z",
            s(26 * 3600 + 3 * 60),
            9_612_300_000,
            3_590_000_000,
            "000000010000002E000000A0",
        ),
        backup(
            "20251007T065000Z",
            s(50 * 3600 + 3 * 60),
            9_480_100_000,
            3_540_000_000,
            "000000010000002D00000010",
        ),
    ];
    let archive = "/srv/walarchive/shop/completed";
    let retention = "keep 3 backups · oldest WAL 000000010000002D00000010";
    let main = WalView {
        worker: "walmgr_main".into(),
        role: WalRole::Master,
        data_dir: "/var/lib/postgresql/16/main".into(),
        archive_dir: archive.into(),
        current_lsn: Some("2F/8A0012C8".into()),
        current_segment: Some("000000010000002F0000008A".into()),
        last_archived: Some("000000010000002F00000089".into()),
        last_archived_age: Some(ms(12_400)),
        archive_backlog: Some(0),
        archived_count: 12_877,
        failed_count: 2,
        last_failed: Some("000000010000002E000000F1".into()),
        last_failed_age: Some(s(3 * 86_400 + 4 * 3600)),
        backups: shop_backups.clone(),
        archive_segments: 1_204,
        archive_bytes: 6_012_000_000,
        retention: retention.into(),
        ..WalView::default()
    };
    let standby = WalView {
        worker: "walmgr_standby".into(),
        role: WalRole::Standby,
        data_dir: "/var/lib/postgresql/16/standby".into(),
        archive_dir: archive.into(),
        receive_lsn: Some("2F/8A0012C8".into()),
        replay_lsn: Some("2F/8A000F10".into()),
        lag_bytes: Some(952),
        lag: Some(ms(850)),
        source: WalSource::Streaming,
        backups: shop_backups.clone(),
        archive_segments: 1_204,
        archive_bytes: 6_012_000_000,
        retention: retention.into(),
        ..WalView::default()
    };
    let dr = WalView {
        worker: "walmgr_dr".into(),
        role: WalRole::Standby,
        data_dir: "/srv/pgdata/dr".into(),
        archive_dir: archive.into(),
        // Archive mode: no walreceiver, nothing "received".
        receive_lsn: None,
        replay_lsn: Some("2F/4C7F2A10".into()),
        lag_bytes: Some(1_031_857_336),
        lag: Some(s(14 * 60 + 5)),
        source: WalSource::Archive,
        paused: true,
        backups: shop_backups,
        archive_segments: 1_204,
        archive_bytes: 6_012_000_000,
        retention: retention.into(),
        ..WalView::default()
    };
    let legacy = WalView {
        worker: "walmgr_legacy".into(),
        role: WalRole::Master,
        data_dir: "/var/lib/postgresql/13/main".into(),
        archive_dir: "/mnt/backup/legacy/completed".into(),
        current_lsn: Some("A/1F3C0098".into()),
        current_segment: Some("000000010000000A0000001F".into()),
        last_archived: Some("00000001000000090000004A".into()),
        last_archived_age: Some(s(3600 + 52 * 60)),
        archive_backlog: Some(212),
        archived_count: 88_410,
        failed_count: 1_873,
        last_failed: Some("00000001000000090000004B".into()),
        last_failed_age: Some(s(40)),
        backups: vec![backup(
            "20250930T031000Z",
            s(9 * 86_400 + 5 * 3600 + 43 * 60),
            212 * GB,
            61 * GB,
            "000000010000000800000012",
        )],
        archive_segments: 9_410,
        archive_bytes: 39 * GB + 310 * MB,
        retention: "keep 1 backup · oldest WAL 000000010000000800000012".into(),
        error: Some(
            "archive /mnt/backup/legacy/completed: Permission denied (os error 13)\nHINT: the archive directory must be writable by the postgres OS user on db4"
                .into(),
        ),
        ..WalView::default()
    };
    vec![standby, main, dr, legacy]
}

fn table(name: &str, state: &str) -> TableView {
    TableView {
        name: name.into(),
        state: state.into(),
        ..TableView::default()
    }
}

fn seq(name: &str, local: bool, last_value: Option<i64>) -> SeqView {
    SeqView {
        name: name.into(),
        local,
        last_value,
    }
}

/// The tables of `replika`, in `table_info.nr` order.
const REPLIKA_TABLES: &[&str] = &[
    "public.orders",
    "public.order_items",
    "public.events_2025",
    "public.customers",
    "public.invoices",
    "public.products",
    "public.audit_log",
    "public.refunds",
    "public.coupons",
    "public.order_history",
];

/// Two Londiste nodes of `replika`: the root `shop_root` (every table
/// `ok`, a dispatch handler, two tables in the database not yet added)
/// and the branch `stats_branch` with a table in every merge state — two
/// copies under way (one with its row estimate, one building indexes), one
/// catching up, one at wanna-sync, one at do-sync, one waiting for its
/// copy and one whose copy failed — a handler, a renamed destination,
/// sequences local and not, and four tables it could add.
pub fn londiste() -> Vec<LondisteView> {
    let root_tables: Vec<TableView> = REPLIKA_TABLES
        .iter()
        .map(|n| {
            let mut t = table(n, "ok");
            if *n == "public.events_2025" {
                t.handler = Some("dispatch(period=month)".into());
            }
            t
        })
        .collect();
    let root = LondisteView {
        queue: "replika".into(),
        node: "shop_root".into(),
        worker: "shop_root_worker".into(),
        database: SHOP.into(),
        node_type: Some(NodeType::Root),
        lag: Some(ms(900)),
        tables: root_tables,
        seqs: vec![
            seq("public.orders_id_seq", true, Some(150_034)),
            seq("public.customers_id_seq", true, Some(78_213)),
            seq("public.audit_log_id_seq", true, Some(1_230_000)),
        ],
        missing: vec!["public.sessions".into(), "public.tmp_import".into()],
        error: None,
    };

    let order_items = TableView {
        copy: Some(CopyView {
            phase: "data".into(),
            rows: 1_204_332,
            bytes: 812 * 1024 * 1024,
            est_rows: Some(3_100_000),
            rows_per_sec: 48_210.0,
            eta: Some(s(39)),
            parts: 4,
        }),
        ..table("public.order_items", "in-copy")
    };
    let events = TableView {
        handler: Some("dispatch(period=month)".into()),
        copy: Some(CopyView {
            phase: "indexes".into(),
            rows: 52_004_113,
            bytes: 9_771_050_000,
            est_rows: Some(51_800_000),
            rows_per_sec: 0.0,
            eta: None,
            parts: 1,
        }),
        ..table("public.events_2025", "in-copy")
    };
    let refunds = TableView {
        last_error: Some(
            "copy failed: ERROR: relation \"public.refunds\" does not exist (SQLSTATE 42P01)\nHINT: create it on stats@db2:5432, or add the table with --create\nCONTEXT: COPY public.refunds from shop_root"
                .into(),
        ),
        ..table("public.refunds", "missing")
    };
    let coupons = TableView {
        handler: Some("bulk(method=1)".into()),
        ..table("public.coupons", "ok")
    };
    let history = TableView {
        dest: Some("history.order_history".into()),
        ..table("public.order_history", "ok")
    };
    let branch = LondisteView {
        queue: "replika".into(),
        node: "stats_branch".into(),
        worker: "stats_branch_worker".into(),
        database: STATS.into(),
        node_type: Some(NodeType::Branch),
        lag: Some(ms(1_600)),
        tables: vec![
            table("public.orders", "ok"),
            order_items,
            events,
            table("public.customers", "catching-up"),
            table("public.invoices", "wanna-sync:20514"),
            table("public.products", "do-sync:20513"),
            table("public.audit_log", "missing"),
            refunds,
            coupons,
            history,
        ],
        seqs: vec![
            seq("public.orders_id_seq", true, Some(150_034)),
            seq("public.customers_id_seq", true, Some(78_213)),
            seq("public.audit_log_id_seq", false, Some(1_230_000)),
        ],
        missing: vec![
            "public.gift_cards".into(),
            "public.newsletter".into(),
            "public.reviews".into(),
            "public.wishlists".into(),
        ],
        error: None,
    };
    // The engine lists them in any order: the view puts the root first.
    vec![branch, root]
}

/// `nodes` Londiste nodes of `tables` tables each, every seventh copying
/// and every thirteenth with an error; for benchmarks and scrolling.
pub fn many_tables(nodes: usize, tables: usize) -> Vec<LondisteView> {
    (0..nodes)
        .map(|i| LondisteView {
            queue: format!("q{:02}", i / 4),
            node: format!("node_{i:03}"),
            worker: format!("node_{i:03}_worker"),
            database: format!("db{i:03}@db{}:5432", i % 16),
            node_type: Some(if i % 4 == 0 {
                NodeType::Root
            } else {
                NodeType::Leaf
            }),
            lag: Some(ms(200 + (i as u64 * 331) % 20_000)),
            tables: (0..tables)
                .map(|k| {
                    let seq = i * tables + k;
                    let mut t = table(&format!("s{:02}.t{k:05}", k % 20), "ok");
                    if seq % 7 == 3 {
                        t.state = "in-copy".into();
                        t.copy = Some(CopyView {
                            phase: "data".into(),
                            rows: (seq as u64 * 997) % 1_000_000,
                            bytes: (seq as u64 * 997) % 1_000_000 * 120,
                            est_rows: Some(1_000_000),
                            rows_per_sec: 10_000.0,
                            eta: Some(s(60)),
                            parts: 1,
                        });
                    }
                    if seq % 13 == 5 {
                        t.last_error = Some(format!("ERROR: relation \"t{k}\" is locked"));
                    }
                    t
                })
                .collect(),
            seqs: vec![seq("public.id_seq", true, Some(i as i64 * 1000))],
            missing: vec![format!("public.extra_{i}")],
            error: None,
        })
        .collect()
}

/// `n` log lines ending at [`taken_at`], one every 1.5 s.
pub fn logs(n: usize) -> Vec<LogLine> {
    const LINES: &[(Level, &str, &str)] = &[
        (Level::Info, "pgqd", "{ticks: 12, maint: 1, retry: 0}"),
        (
            Level::Info,
            "invoicing",
            "{count: 37, duration: 0.0123, idle: 0.98}",
        ),
        (Level::Debug, "search_indexer", "batch 90198: 512 events"),
        (
            Level::Warn,
            "replica_shop",
            "could not obtain lock on relation \"public.orders\"; retrying in 12s",
        ),
        (Level::Info, "pgqd", "rotate orders: table 1 → 2"),
        (
            Level::Error,
            "archive_mover",
            "config jobs/archive.ini: key 'dst_db' is missing in section [queue_mover]",
        ),
        (Level::Info, "rollup", "stopped"),
        (
            Level::Warn,
            "pgqd",
            "archive@db3:5432: connection refused; next attempt in 18s",
        ),
        (
            Level::Info,
            "invoicing",
            "{count: 41, duration: 0.0131, idle: 0.97}",
        ),
        (Level::Trace, "walmgr_main", "checking archive_command"),
    ];
    let end = taken_at();
    (0..n)
        .map(|i| {
            let (level, target, message) = LINES[i % LINES.len()];
            LogLine {
                time: end - ms(1500 * (n - 1 - i) as u64),
                level,
                target: target.into(),
                message: message.into(),
            }
        })
        .collect()
}

/// A deck with nothing in it yet.
pub fn empty_deck() -> Snapshot {
    Snapshot {
        taken_at: taken_at(),
        deck: "empty.ini".into(),
        ..Snapshot::default()
    }
}

/// `n` queues over four databases, three consumers each, lags and
/// rotation phases varied; for benchmarks and scrolling tests.
pub fn large_deck(n: usize) -> Snapshot {
    let dbs = [
        "app1@db1:5432",
        "app2@db2:5432",
        "app3@db3:5432",
        "app4@db4:5432",
    ];
    let queues = (0..n)
        .map(|i| {
            let i64i = i as i64;
            let mut q = queue(
                dbs[i % dbs.len()],
                &format!("queue_{i:04}"),
                TickerMode::Local,
                10_000 + i64i * 7,
            );
            q.ticker_lag = ms(200 + (i as u64 * 37) % 4000);
            q.ev_per_sec = Some((i % 97) as f64 * 3.5);
            q.ev_new = (i64i * 13) % 500;
            q.retry_pending = if i % 11 == 0 { i64i % 40 } else { 0 };
            q.open_batches = (i % 3) as i64;
            q.rotation.phase = match i % 17 {
                0 => RotationPhase::Blocked {
                    by_consumer: format!("c{i:04}_a"),
                },
                1 => RotationPhase::Due,
                2 => RotationPhase::HalfDone,
                _ => RotationPhase::Waiting {
                    due_in: s(60 * (i as u64 % 120)),
                },
            };
            q.consumers = ["a", "b", "c"]
                .iter()
                .enumerate()
                .map(|(k, suffix)| {
                    let lag = ms(500 + ((i * 31 + k * 977) % 600_000) as u64);
                    consumer(
                        &format!("c{i:04}_{suffix}"),
                        lag,
                        (lag.as_millis() / 1000) as i64,
                        ms(300),
                        q.last_tick_id - 1,
                        None,
                        (i64i * 17 + k as i64 * 5) % 10_000,
                        0,
                    )
                })
                .collect();
            q
        })
        .collect();
    let workers = (0..12)
        .map(|i| {
            let state = [
                WorkerState::Running,
                WorkerState::Idle,
                WorkerState::Running,
                WorkerState::Backoff,
            ][i % 4];
            worker(
                &format!("worker_{i:02}"),
                "consumer",
                &[dbs[i % dbs.len()]],
                state,
                s(60 * i as u64),
            )
        })
        .collect();
    Snapshot {
        taken_at: taken_at(),
        deck: "large.ini".into(),
        read_only: false,
        databases: dbs
            .iter()
            .map(|d| up(d, "localhost", "16.4", Some("3.5")))
            .collect(),
        queues,
        workers,
        alerts: Vec::new(),
        logs: logs(500),
        cascades: many_cascades((n / 10).max(1)),
        londiste: many_tables((n / 100).max(1), 50),
        wal: Vec::new(),
    }
}
