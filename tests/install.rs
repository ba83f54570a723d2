//! `skydeck install`: fresh install, idempotent re-run, upgrade, and the
//! refusals (C extension, foreign schema, newer revision, no privilege),
//! each leaving the database as it was.

mod common;

use skydeck::install::{self, Action, InstallError, Installed};

#[tokio::test]
async fn install_reapply_and_upgrade() {
    let _g = common::install_lock().await;
    let db = common::fresh_db("inst_basic").await;
    let mut c = db.connect().await;
    let pgq = install::component("pgq").unwrap();
    assert_eq!(install::inspect(&c, pgq).await.unwrap(), Installed::Absent);

    let r = install::install(&mut c, &["pgq".into()]).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].action, Action::Installed);
    assert_eq!(r[0].before, Installed::Absent);
    match install::inspect(&c, pgq).await.unwrap() {
        Installed::Skydeck {
            revision,
            api_version,
        } => {
            assert_eq!(revision, pgq.revision());
            assert_eq!(api_version, "3.5.2");
        }
        other => panic!("after install: {other:?}"),
    }

    // Objects made by users of the schema survive a re-run.
    pgq_queue_with_event(&c, "keep").await;
    let r = install::install(&mut c, &["pgq".into()]).await.unwrap();
    assert_eq!(r[0].action, Action::Reapplied);
    let n: i64 = c
        .query_one("select count(*) from pgq.event_template", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "re-install kept the queued event");

    // An older revision is upgraded.
    c.batch_execute(
        "create or replace function pgq.skydeck_revision() returns int language sql as 'select 0'",
    )
    .await
    .unwrap();
    let r = install::install(&mut c, &["pgq".into()]).await.unwrap();
    assert_eq!(r[0].action, Action::Upgraded);
    assert_eq!(
        r[0].before,
        Installed::Skydeck {
            revision: 0,
            api_version: "3.5.2".into()
        }
    );

    let checks = install::check(&c, &["pgq".into()]).await.unwrap();
    assert_eq!(checks[0].verdict, "current");

    // Everything: each component once, requirements first.
    let r = install::install(&mut c, &[]).await.unwrap();
    let names: Vec<&str> = r.iter().map(|x| x.component.as_str()).collect();
    let all: Vec<&str> = install::COMPONENTS.iter().map(|c| c.name).collect();
    assert_eq!(names, all);
}

async fn pgq_queue_with_event(c: &tokio_postgres::Client, q: &str) {
    skydeck::pgq::create_queue(c, q).await.unwrap();
    skydeck::pgq::insert_event(c, q, "t", "kept").await.unwrap();
}

#[tokio::test]
async fn refuses_a_newer_revision_and_changes_nothing() {
    let _g = common::install_lock().await;
    let db = common::fresh_db("inst_newer").await;
    let mut c = db.connect().await;
    install::install(&mut c, &[]).await.unwrap();
    c.batch_execute(
        "create or replace function pgq.skydeck_revision() returns int language sql as 'select 999'",
    )
    .await
    .unwrap();
    let err = install::install(&mut c, &[]).await.unwrap_err();
    assert!(
        matches!(err, InstallError::Newer { installed: 999, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("revision 999 is installed, newer than"),
        "{msg}"
    );
    assert!(msg.contains("downgrades are not supported"), "{msg}");
    let checks = install::check(&c, &[]).await.unwrap();
    assert!(
        checks[0].verdict.contains("newer than this skydeck"),
        "{}",
        checks[0].verdict
    );
}

#[tokio::test]
async fn refuses_a_foreign_schema() {
    let _g = common::install_lock().await;
    let db = common::fresh_db("inst_foreign").await;
    let mut c = db.connect().await;
    c.batch_execute(
        "create schema pgq; create function pgq.version() returns text language sql as $$select '3.2.6'$$;
         create table pgq.queue (x int);",
    )
    .await
    .unwrap();
    let err = install::install(&mut c, &[]).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, InstallError::Foreign { .. }), "{msg}");
    assert!(
        msg.contains(
            "schema pgq exists but was not installed by skydeck (its version() says 3.2.6)"
        ),
        "{msg}"
    );
    assert!(msg.contains("ALTER SCHEMA pgq RENAME TO pgq_old"), "{msg}");
    // Untouched: still the foreign table, no skydeck functions.
    let n: i64 = c
        .query_one(
            "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'pgq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn refuses_the_c_extension() {
    let db = common::fresh_db("inst_cext").await;
    let mut c = db.connect().await;
    let available: i64 = c
        .query_one(
            "select count(*) from pg_available_extensions where name = 'pgq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if available == 0 {
        let msg =
            "the C pgq extension is not installed on this machine (Debian: postgresql-15-pgq3)";
        assert!(std::env::var_os("SKYDECK_REQUIRE_ALL").is_none(), "{msg}");
        eprintln!("SKIPPED refuses_the_c_extension: {msg}");
        return;
    }
    common::create_c_extension(&c, &db.name).await;
    let _g = common::install_lock().await;
    let err = install::install(&mut c, &[]).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, InstallError::Extension { .. }), "{msg}");
    assert!(msg.contains("the C extension pgq 3.5"), "{msg}");
    assert!(msg.contains("DROP EXTENSION pgq CASCADE"), "{msg}");
    let checks = install::check(&c, &[]).await.unwrap();
    assert!(matches!(checks[0].installed, Installed::Extension { .. }));
}

#[tokio::test]
async fn without_privileges_nothing_is_left_behind() {
    let _g = common::install_lock().await;
    let db = common::fresh_db("inst_weak").await;
    let admin = db.connect().await;
    admin
        .batch_execute(&format!(
            "do $$ begin if not exists (select 1 from pg_roles where rolname = 'weak_installer') then \
             create role weak_installer login; end if; end $$; \
             revoke create on database {0} from public; revoke create on schema public from public",
            db.name
        ))
        .await
        .unwrap();
    let cs = format!(
        "{} user=weak_installer",
        db.connstr.replace(" user=postgres", "")
    );
    let mut weak = skydeck::db::connect(&cs).await.unwrap();
    let err = install::install(&mut weak, &[]).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sql/pgq.sql"), "{msg}");
    assert!(msg.contains("permission denied"), "{msg}");
    let schemas: i64 = admin
        .query_one(
            "select count(*) from pg_namespace where nspname = 'pgq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(schemas, 0, "a failed install left the pgq schema behind");
}

#[tokio::test]
async fn concurrent_installs_in_two_databases() {
    // Roles are cluster-wide: two first installs at once must not trip
    // over each other creating them. A cluster of its own, so the roles do
    // not exist yet.
    let cluster = skydeck::cluster::LocalCluster::builder("inst_conc")
        .start()
        .unwrap();
    let admin = cluster.connect("postgres").await.unwrap();
    admin.batch_execute("create database a").await.unwrap();
    admin.batch_execute("create database b").await.unwrap();
    for _round in 0..3 {
        let mut ca = cluster.connect("a").await.unwrap();
        let mut cb = cluster.connect("b").await.unwrap();
        let (ra, rb) = tokio::join!(
            install::install(&mut ca, &[]),
            install::install(&mut cb, &[])
        );
        ra.unwrap();
        rb.unwrap();
        // Start over: drop what the round made, roles included.
        for db in ["a", "b"] {
            let c = cluster.connect(db).await.unwrap();
            c.batch_execute(
                "drop schema if exists pgq, pgq_node, pgq_coop, pgq_ext, londiste cascade",
            )
            .await
            .unwrap();
        }
        admin
            .batch_execute(
                "drop role if exists londiste_writer; drop role if exists londiste_reader; \
                 drop role pgq_admin; drop role pgq_writer; drop role pgq_reader",
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn unknown_component_is_named() {
    let err = install::resolve(&["pgqq".into()]).unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown component \"pgqq\"; known: pgq, pgq_node, pgq_coop, pgq_ext, londiste"
    );
    // A component brings what it needs.
    let r: Vec<&str> = install::resolve(&["pgq_node".into()])
        .unwrap()
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(r, vec!["pgq", "pgq_node"]);
}
