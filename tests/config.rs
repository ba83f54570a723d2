//! Configuration files from disk: every bad fixture gives its exact message,
//! the good fixtures and the shipped examples load with the values they
//! say, a deck reload tells what changed, and no input makes the loaders
//! panic.
//!
//! Bad fixtures: `tests/fixtures/config/bad/<case>.err` holds the expected
//! message for `<case>.ini` (a file, a directory, or absent). `deck_*`
//! cases are loaded with `Deck::load`, the cases listed in [`read_key`]
//! with `JobFile::load` plus one typed read, all others with
//! `JobFile::load`. To add a case, add the two files (and a line in
//! `read_key` if it needs a typed read).

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use skydeck::config::{
    ConfigError, ConfigFormat, Deck, IniFile, JobFile, JobKind, LoadOptions, PgqdConfig, Theme,
};

const BAD: &str = "tests/fixtures/config/bad";
const GOOD: &str = "tests/fixtures/config/good";

/// Cases whose error comes from reading one key with a typed accessor.
fn read_key(case: &str, job: &JobFile) -> Option<Result<(), ConfigError>> {
    let s = &job.section;
    Some(match case {
        "bad_int" => s.get_int("parallel_copies", 1).map(drop),
        "bad_float" => s.get_float("loop_delay", 1.0).map(drop),
        "bad_bool" => s.get_bool("local_only", false).map(drop),
        "bad_size" => s.get_bytes("log_size", 10 << 20).map(drop),
        _ => return None,
    })
}

fn load_case(case: &str) -> Result<(), ConfigError> {
    let path = format!("{BAD}/{case}.ini");
    if case.starts_with("deck_") {
        return Deck::load(&path).map(drop);
    }
    let job = JobFile::load(&path)?;
    match read_key(case, &job) {
        Some(result) => result,
        None => Ok(()),
    }
}

#[test]
fn every_bad_fixture_gives_its_message() {
    let mut cases: Vec<String> = std::fs::read_dir(BAD)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".err").map(str::to_string)
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "fixtures went missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let want = std::fs::read_to_string(format!("{BAD}/{case}.err")).unwrap();
        let want = want.trim_end_matches('\n');
        match load_case(case) {
            Ok(()) => failures.push(format!("{case}: loaded without error, expected\n  {want}")),
            Err(e) if e.to_string() != want => {
                failures.push(format!("{case}:\n  got:  {e}\n  want: {want}"))
            }
            Err(e) => assert!(
                e.path().starts_with(BAD),
                "{case}: error names {:?}",
                e.path()
            ),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_ini_has_an_err_file() {
    for entry in std::fs::read_dir(BAD).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(case) = name.strip_suffix(".ini") {
            assert!(
                Path::new(&format!("{BAD}/{case}.err")).exists(),
                "{name} has no {case}.err"
            );
        }
    }
}

#[test]
fn pgqd_sample() {
    let c = PgqdConfig::load(format!("{GOOD}/pgqd.ini")).unwrap();
    let home = std::env::var("HOME").unwrap();
    let home = home.trim_end_matches('/');
    assert_eq!(c.job_name, "pgqd");
    assert_eq!(
        c.logfile,
        Some(PathBuf::from(format!("{home}/log/pgqd.log")))
    );
    assert_eq!(
        c.pidfile,
        Some(PathBuf::from(format!("{home}/pid/pgqd.pid")))
    );
    assert_eq!(c.base_connstr, "host=/var/run/postgresql port=5432");
    assert_eq!(c.initial_database, "template1");
    assert_eq!(c.database_list, ["app", "billing"]);
    assert!(c.syslog);
    assert_eq!(c.syslog_ident, "pgqd");
    assert_eq!(c.syslog_facility, "local0");
    assert_eq!(c.ticker_period, Duration::from_millis(500));
    assert_eq!(c.check_period, Duration::from_secs(60));
    assert_eq!(c.retry_period, Duration::from_secs(30));
    assert_eq!(c.maint_period, Duration::from_secs(120));
    assert_eq!(c.stats_period, Duration::from_secs(30));
    assert_eq!(c.connection_lifetime, Some(Duration::from_secs(3600)));

    let job = JobFile::load(format!("{GOOD}/pgqd.ini")).unwrap();
    assert_eq!(job.kind, JobKind::Pgqd);
    assert_eq!(PgqdConfig::from_section(&job.section).unwrap(), c);
    // A londiste file is not a pgqd file.
    let err = PgqdConfig::load(format!("{GOOD}/londiste.ini")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "config {GOOD}/londiste.ini: no [pgqd] section (this is a londiste job file); pgqd reads [pgqd]"
        )
    );
}

#[test]
fn londiste_classic() {
    let job = JobFile::load(format!("{GOOD}/londiste.ini")).unwrap();
    assert_eq!(job.kind, JobKind::Londiste);
    assert_eq!(job.section.name(), "londiste3");
    assert_eq!(job.job_name, "leaf_app");
    let s = &job.section;
    assert_eq!(
        s.require("db").unwrap(),
        "dbname=leaf_app host=db2 user=replicator"
    );
    assert_eq!(s.require("logfile").unwrap(), "~/log/leaf_app.log");
    assert_eq!(s.get_float("loop_delay", 1.0).unwrap(), 0.5);
    assert_eq!(s.get_int("parallel_copies", 1).unwrap(), 2);
    assert_eq!(
        s.get_list("threaded_copy_tables", &[]).unwrap(),
        ["public.big_*", "public.huge"]
    );
    assert!(s.get_bool("local_only", false).unwrap());
    assert_eq!(
        s.get_duration("lock_timeout", Duration::ZERO).unwrap(),
        Duration::from_secs(10)
    );
    assert_eq!(s.get_bytes("log_size", 0).unwrap(), 10 << 20);
    assert_eq!(
        s.require("compare_fmt").unwrap(),
        "%(cnt)d rows, checksum=%(chksum)s"
    );
    assert_eq!(s.require("service_name").unwrap(), "londiste3");
    assert_eq!(job.ini.format(), ConfigFormat::Classic);
}

#[test]
fn londiste_extended() {
    let job = JobFile::load(format!("{GOOD}/londiste_ext.ini")).unwrap();
    assert_eq!(job.kind, JobKind::Londiste);
    assert_eq!(job.job_name, "londiste_ext");
    assert_eq!(job.ini.format(), ConfigFormat::Extended);
    let s = &job.section;
    assert_eq!(
        s.require("db").unwrap(),
        "dbname=app host=db3 application_name=londiste_ext"
    );
    assert_eq!(s.require("queue_name").unwrap(), "app_events");
    assert_eq!(s.require("note").unwrap(), "100% of $5");
    assert_eq!(
        s.get_path("logfile", None).unwrap(),
        Some(PathBuf::from("/var/log/skytools/londiste_ext.log"))
    );
}

#[test]
fn walmgr_job() {
    let job = JobFile::load(format!("{GOOD}/walmgr.ini")).unwrap();
    assert_eq!(job.kind, JobKind::Walmgr);
    assert_eq!(job.job_name, "wal-master");
    assert_eq!(
        job.section.require("completed_wals").unwrap(),
        "standby1:/var/lib/walmgr/logs.complete"
    );
}

#[test]
fn deck_with_globs() {
    let dir = format!("{GOOD}/deck");
    let deck = Deck::load(format!("{dir}/skydeck.ini")).unwrap();
    let jobs: Vec<(&str, &str, String)> = deck
        .jobs
        .iter()
        .map(|j| {
            (
                j.job_name.as_str(),
                j.kind.name(),
                j.path.to_string_lossy().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [
            ("leaf", "londiste", format!("{dir}/jobs/leaf.ini")),
            ("pgqd", "pgqd", format!("{dir}/jobs/pgqd.ini")),
            ("wal", "walmgr", format!("{dir}/jobs/wal.ini")),
            (
                "consumer",
                "simple_consumer",
                format!("{dir}/extra/consumer.ini")
            ),
        ]
    );
    assert_eq!(
        deck.config_list,
        ["jobs/*.ini", "extra/[a-m]*.ini", "*.ini", "later/*.ini"]
    );
    assert_eq!(
        deck.warnings,
        [format!(
            "config {dir}/skydeck.ini: config_list entry 'later/*.ini' matches no files"
        )]
    );
    let abs_dir = std::path::absolute(&dir).unwrap();
    assert_eq!(deck.logfile, Some(abs_dir.join("log/skydeck.log")));
    assert_eq!(
        deck.pidfile,
        Some(PathBuf::from("/run/skydeck/skydeck.pid"))
    );
    assert_eq!(deck.refresh_period, Duration::from_millis(500));
    assert_eq!(deck.theme, Theme::Light);
    assert!(deck.read_only);
    assert_eq!(deck.keymap.as_deref(), Some("vim"));
    assert_eq!(deck.job("pgqd").unwrap().kind, JobKind::Pgqd);
    assert!(deck.job("nope").is_none());
}

#[test]
fn shipped_example_deck_loads() {
    let deck = Deck::load("assets/examples/skydeck.ini").unwrap();
    assert!(deck.warnings.is_empty(), "{:?}", deck.warnings);
    assert_eq!(deck.jobs.len(), 1);
    let job = &deck.jobs[0];
    assert_eq!((job.job_name.as_str(), &job.kind), ("pgqd", &JobKind::Pgqd));
    let c = PgqdConfig::from_section(&job.section).unwrap();
    assert_eq!(
        c,
        PgqdConfig {
            syslog: false,
            ..PgqdConfig::default()
        }
    );
    assert_eq!(deck.theme, Theme::Dark);
    assert_eq!(deck.refresh_period, Duration::from_secs(1));
    assert!(!deck.read_only);
    assert_eq!((deck.logfile.as_ref(), deck.pidfile.as_ref()), (None, None));
}

/// A scratch copy of a deck directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("skydeck-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("jobs")).unwrap();
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.0.join(rel), text).unwrap();
    }

    fn deck(&self) -> Deck {
        Deck::load(self.0.join("skydeck.ini")).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn deck_reload_tells_what_changed() {
    let s = Scratch::new("diff");
    s.write("skydeck.ini", "[skydeck]\nconfig_list = jobs/*.ini\n");
    s.write("jobs/pgqd.ini", "[pgqd]\nticker_period = 1\n");
    s.write(
        "jobs/leaf.ini",
        "[londiste]\ndb = dbname=a\nqueue_name = q\n",
    );
    s.write(
        "jobs/root.ini",
        "[londiste]\ndb = dbname=b\nqueue_name = q\n",
    );
    let old = s.deck();
    assert!(old.diff(&old).is_empty());
    assert_eq!(old.diff(&s.deck()).unchanged, ["leaf", "pgqd", "root"]);

    // Comments and layout: nothing to restart.
    s.write(
        "jobs/pgqd.ini",
        "# the ticker\n[pgqd]\n   ticker_period=1\n",
    );
    assert!(old.diff(&s.deck()).is_empty());

    s.write("jobs/pgqd.ini", "[pgqd]\nticker_period = 0.2\n");
    std::fs::remove_file(s.0.join("jobs/root.ini")).unwrap();
    s.write("jobs/wal.ini", "[walmgr]\n");
    s.write(
        "skydeck.ini",
        "[skydeck]\nconfig_list = jobs/*.ini\ntheme = mono\n",
    );
    let new = s.deck();
    let d = old.diff(&new);
    assert_eq!(d.added, ["wal"]);
    assert_eq!(d.removed, ["root"]);
    assert_eq!(d.changed, ["pgqd"]);
    assert_eq!(d.unchanged, ["leaf"]);
    assert!(d.settings_changed);
    assert!(!d.is_empty());

    // A value reached through [DEFAULT] counts too.
    s.write(
        "jobs/leaf.ini",
        "[DEFAULT]\nd = dbname=a\n[londiste]\ndb = %(d)s\nqueue_name = q\n",
    );
    let d = new.diff(&s.deck());
    assert_eq!(d.changed, ["leaf"], "a [DEFAULT] section was added");
}

#[test]
fn deck_warns_about_unknown_keys_and_other_decks() {
    let s = Scratch::new("warn");
    s.write(
        "skydeck.ini",
        "[skydeck]\nconfig_list = *.ini, jobs/*.ini\nrefesh_period = 2\ncolour = red\n",
    );
    s.write("other.ini", "[skydeck]\nconfig_list =\n");
    s.write("jobs/pgqd.ini", "[pgqd]\n");
    let deck = s.deck();
    let path = s.0.join("skydeck.ini");
    assert_eq!(
        deck.warnings,
        [
            format!(
                "config {}: unknown key 'refesh_period' in section [skydeck] is ignored; did you mean 'refresh_period'?",
                path.display()
            ),
            format!("config {}: unknown key 'colour' in section [skydeck] is ignored", path.display()),
            format!(
                "config {}: skipped {}: it is a deck file, not a job file",
                path.display(),
                s.0.join("other.ini").display()
            ),
        ]
    );
    assert_eq!(deck.jobs.len(), 1);
    assert_eq!(deck.refresh_period, Duration::from_secs(1));
}

#[test]
fn deck_lists_a_file_once_and_expands_home_and_variables() {
    let s = Scratch::new("once");
    std::env::set_var("SKYDECK_CONFIG_TEST_JOBS", "jobs");
    s.write(
        "skydeck.ini",
        "[skydeck]\nconfig_list = jobs/pgqd.ini\n  $SKYDECK_CONFIG_TEST_JOBS/*.ini, ./jobs/p*.ini\n",
    );
    s.write("jobs/pgqd.ini", "[pgqd]\n");
    s.write("jobs/.hidden.ini", "[walmgr]\n");
    let deck = s.deck();
    assert_eq!(deck.jobs.len(), 1, "{:?}", deck.jobs);
    assert_eq!(deck.jobs[0].path, s.0.join("jobs/pgqd.ini"));
}

#[test]
fn relative_and_absolute_paths_in_messages() {
    // The path in a message is the path as given.
    let err = JobFile::load("tests/fixtures/config/../config/bad/missing_key.ini").unwrap_err();
    assert!(err
        .to_string()
        .starts_with("config tests/fixtures/config/../config/bad/missing_key.ini: "));
    let abs = std::path::absolute(format!("{BAD}/missing_key.ini")).unwrap();
    let err = JobFile::load(&abs).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "config {}: key 'db' is missing in section [londiste3]",
            abs.display()
        )
    );
}

/// Every accessor on every key of every section: none may panic.
fn read_everything(file: &IniFile) {
    let sections = std::iter::once(file.defaults()).chain(file.sections());
    for s in sections {
        let keys: Vec<String> = s.keys().map(str::to_string).collect();
        for k in keys {
            let _ = s.get_opt(&k);
            let _ = s.get_int(&k, 0);
            let _ = s.get_float(&k, 0.0);
            let _ = s.get_bool(&k, false);
            let _ = s.get_list(&k, &[]);
            let _ = s.get_dict(&k);
            let _ = s.get_bytes(&k, 0);
            let _ = s.get_duration(&k, Duration::ZERO);
            let _ = s.get_path(&k, None);
            let _ = s.bad_value(&k, "x").to_string();
        }
        let _ = PgqdConfig::from_section(s);
    }
}

/// Text made of the characters that matter to the grammar.
fn ini_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[pgqd]\n".to_string()),
        Just("[londiste]\n".to_string()),
        Just("[DEFAULT]\n".to_string()),
        Just("[x]\n".to_string()),
        Just(" = ".to_string()),
        Just(":".to_string()),
        Just("  ".to_string()),
        Just("\t".to_string()),
        Just("#".to_string()),
        Just(";".to_string()),
        Just("%".to_string()),
        Just("%(a)s".to_string()),
        Just("%(job_name)s".to_string()),
        Just("${a}".to_string()),
        Just("${x:a}".to_string()),
        Just("$".to_string()),
        Just("config_format = 2\n".to_string()),
        Just("a".to_string()),
        Just("b = %(a)s\n".to_string()),
        Just("a = %(b)s\n".to_string()),
        Just("ticker_period".to_string()),
        Just("1".to_string()),
        Just("0.5ms".to_string()),
        Just("é".to_string()),
        Just("\u{feff}".to_string()),
        "[a-z0-9 =:%$(){}.\\-]{0,6}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(f) = IniFile::parse("/tmp/x.ini", &bytes, &LoadOptions::default()) {
            read_everything(&f);
        }
        let _ = JobFile::parse("/tmp/x.ini", &bytes);
    }

    #[test]
    fn random_ini_text_never_panics(text in ini_like()) {
        match IniFile::parse("/tmp/x.ini", text.as_bytes(), &LoadOptions::default()) {
            Ok(f) => read_everything(&f),
            Err(e) => prop_assert!(e.to_string().starts_with("config /tmp/x.ini: ")),
        }
        if let Ok(job) = JobFile::parse("/tmp/x.ini", text.as_bytes()) {
            let _ = job.fingerprint();
        }
    }

    #[test]
    fn random_values_never_panic(v in "\\PC{0,24}") {
        let _ = skydeck::config::value::parse_int(&v);
        let _ = skydeck::config::value::parse_float(&v);
        let _ = skydeck::config::value::parse_bool(&v);
        let _ = skydeck::config::value::parse_bytes(&v);
        let _ = skydeck::config::value::parse_duration(&v);
        let _ = skydeck::config::value::split_list(&v);
        let _ = skydeck::config::value::split_dict(&v);
        let _ = skydeck::config::value::expand_user(&v);
        let _ = skydeck::config::value::expand_vars(&v);
        let _ = skydeck::config::glob::fnmatch(&v, "some-name.ini");
        let _ = skydeck::config::glob::fnmatch("*[a-", &v);
    }
}
