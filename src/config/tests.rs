//! Unit tests of the parser, interpolation, accessors and job detection.
//! The expected values follow Python 3's configparser as python-skytools
//! configures it.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

const PATH: &str = "/srv/jobs/leaf.ini";

fn ini(text: &str) -> IniFile {
    IniFile::parse(PATH, text.as_bytes(), &LoadOptions::default()).unwrap()
}

fn ini_err(text: &str) -> String {
    IniFile::parse(PATH, text.as_bytes(), &LoadOptions::default())
        .unwrap_err()
        .to_string()
}

fn get(file: &IniFile, section: &str, key: &str) -> String {
    file.section(section).unwrap().require(key).unwrap()
}

fn get_err(file: &IniFile, section: &str, key: &str) -> String {
    file.section(section)
        .unwrap()
        .require(key)
        .unwrap_err()
        .to_string()
}

#[test]
fn sections_keys_comments_and_continuations() {
    let f = ini("# top comment\n; another\n[a]\nk = 1\n  2\n\n  3\n# comment inside\n   4\n\
                 x: y = z # not a comment\n  [a2]\nKeY = V\n[b] trailing\nv=\n[ spaced ]\nq = 1\n\n\n");
    let names: Vec<&str> = f.sections().map(|s| s.name()).collect();
    assert_eq!(names, ["a", "b", " spaced "]);
    assert_eq!(get(&f, "a", "k"), "1\n2\n\n3\n4");
    assert_eq!(get(&f, "a", "x"), "y = z # not a comment\n[a2]");
    assert_eq!(get(&f, "a", "key"), "V");
    assert_eq!(get(&f, "a", "KEY"), "V", "lookups are case-insensitive");
    assert_eq!(get(&f, "b", "v"), "");
    assert_eq!(f.section(" spaced ").unwrap().line(), 15);
    assert!(f.section("A").is_none(), "section names are case-sensitive");
}

#[test]
fn line_endings_and_bom() {
    let f = ini("\u{feff}[a]\r\nk = 1\r\n  2\rz = 3\r\n");
    assert_eq!(get(&f, "a", "k"), "1\n2");
    assert_eq!(get(&f, "a", "z"), "3");
}

#[test]
fn keys_keep_file_order_then_predefined_then_defaults() {
    let f = ini("[DEFAULT]\nd1 = x\nzz = 1\n[londiste]\nb = 2\na = 1\nzz = 3\n[other]\nc = 1\n");
    let keys: Vec<&str> = f.section("londiste").unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "b",
            "a",
            "zz",
            "job_name",
            "service_name",
            "host_name",
            "config_dir",
            "config_file",
            "d1"
        ]
    );
    let keys: Vec<&str> = f.section("other").unwrap().keys().collect();
    assert_eq!(keys, ["c", "d1", "zz"]);
    let s = f.section("londiste").unwrap();
    assert_eq!(s.source("zz"), Some(ValueSource::File { line: 7 }));
    assert_eq!(s.source("d1"), Some(ValueSource::Default { line: 2 }));
    assert_eq!(s.source("job_name"), Some(ValueSource::Predefined));
    assert_eq!(f.defaults().require("zz").unwrap(), "1");
    assert_eq!(f.defaults().line(), 1);
}

#[test]
fn predefined_variables() {
    let f = ini(
        "[londiste]\nlogfile = ~/log/%(job_name)s.log\nwhere = %(config_dir)s|%(config_file)s\n\
                 svc = %(service_name)s@%(host_name)s\n",
    );
    let s = f.main_section().unwrap();
    assert_eq!(s.name(), "londiste");
    assert_eq!(s.require("job_name").unwrap(), "leaf");
    assert_eq!(s.require("logfile").unwrap(), "~/log/leaf.log");
    assert_eq!(s.require("where").unwrap(), "/srv/jobs|/srv/jobs/leaf.ini");
    assert_eq!(
        s.require("svc").unwrap(),
        format!("londiste@{}", sys::hostname())
    );

    // Set in the file or in [DEFAULT]: kept.
    let f = ini("[DEFAULT]\njob_name = from_default\n[pgqd]\n");
    assert_eq!(get(&f, "pgqd", "job_name"), "from_default");
    assert_eq!(
        f.section("pgqd").unwrap().source("job_name"),
        Some(ValueSource::Default { line: 2 })
    );
    let f = ini("[pgqd]\njob_name = ticker_%(service_name)s\n");
    assert_eq!(get(&f, "pgqd", "job_name"), "ticker_pgqd");

    // Only the main section gets them (they are set there, as in Python).
    let f = ini("[walmgr]\n[other]\nx = %(job_name)s\n");
    assert_eq!(
        get_err(&f, "other", "x"),
        "config /srv/jobs/leaf.ini: key 'x' in section [other] refers to undefined variable 'job_name' \
         in '%(job_name)s'; 'job_name' is predefined only in the main section [walmgr]"
    );

    // Predefined values are literal: a '%' in the directory is not a reference.
    let f = IniFile::parse(
        "/srv/100%/x.ini",
        b"[pgqd]\nd = %(config_dir)s\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(get(&f, "pgqd", "d"), "/srv/100%");

    // A relative path gets an absolute config_dir.
    let f = IniFile::parse("rel/x.ini", b"[pgqd]\n", &LoadOptions::default()).unwrap();
    let dir = PathBuf::from(get(&f, "pgqd", "config_dir"));
    assert!(dir.is_absolute() && dir.ends_with("rel"), "{dir:?}");
}

#[test]
fn main_section_choice() {
    assert_eq!(
        ini("[a]\n[londiste3]\n").main_section().unwrap().name(),
        "londiste3"
    );
    assert_eq!(ini("[a]\n[b]\n").main_section().unwrap().name(), "a");
    assert!(ini("[DEFAULT]\nx = 1\n").main_section().is_none());
    let opts = LoadOptions {
        main_section: Some("b".into()),
        overrides: vec![("Loop_Delay".into(), "%(x)s".into())],
    };
    let f = IniFile::parse(PATH, b"[pgqd]\n[b]\nx = 5\nloop_delay = 1\n", &opts).unwrap();
    assert_eq!(f.main_section().unwrap().name(), "b");
    assert_eq!(get(&f, "b", "service_name"), "b");
    assert_eq!(get(&f, "b", "loop_delay"), "5");
    assert_eq!(
        f.section("b").unwrap().source("loop_delay"),
        Some(ValueSource::Override)
    );
    assert!(!f.section("pgqd").unwrap().contains("job_name"));
    let opts = LoadOptions {
        main_section: Some("walmgr".into()),
        ..LoadOptions::default()
    };
    assert_eq!(
        IniFile::parse(PATH, b"[pgqd]\n", &opts)
            .unwrap_err()
            .to_string(),
        "config /srv/jobs/leaf.ini: no [walmgr] section"
    );
}

#[test]
fn classic_interpolation() {
    let f = ini(
        "[DEFAULT]\nbase = /var/%(job_name)s\n[londiste]\ndir = %(base)s/x\npct = 100%%\n\
                 dollar = $x ${y}\nnested = %(dir)s/%(pct)s\nCase = %(DIR)s\n",
    );
    assert_eq!(f.format(), ConfigFormat::Classic);
    assert_eq!(get(&f, "londiste", "dir"), "/var/leaf/x");
    assert_eq!(get(&f, "londiste", "pct"), "100%");
    assert_eq!(get(&f, "londiste", "dollar"), "$x ${y}");
    assert_eq!(get(&f, "londiste", "nested"), "/var/leaf/x/100%");
    assert_eq!(get(&f, "londiste", "case"), "/var/leaf/x");
    // In [DEFAULT] itself job_name is unknown; only reading it there fails.
    assert!(f.defaults().require("base").is_err());
}

#[test]
fn classic_interpolation_errors() {
    let f = ini("[londiste]\na = %(b)s\nb = x%(c)s\nc = %(a)s\nself = %(self)s\nundef = ~/%(jobname)s.log\n\
                 pct = 50%\nbadref = %(x)d\nopen = %(x\nok = fine\n");
    let e = |k| get_err(&f, "londiste", k);
    assert_eq!(
        e("a"),
        "config /srv/jobs/leaf.ini: key 'a' in section [londiste] has an interpolation loop: \
         a -> b -> c -> a; replace one of the references with a plain value"
    );
    assert_eq!(
        e("self"),
        "config /srv/jobs/leaf.ini: key 'self' in section [londiste] has an interpolation loop: \
         self -> self; replace one of the references with a plain value"
    );
    assert_eq!(
        e("undef"),
        "config /srv/jobs/leaf.ini: key 'undef' in section [londiste] refers to undefined variable \
         'jobname' in '~/%(jobname)s.log'; define 'jobname' in [londiste] or [DEFAULT]"
    );
    assert_eq!(
        e("pct"),
        "config /srv/jobs/leaf.ini: key 'pct' in section [londiste] has bad interpolation in '50%': \
         '%' must be followed by '%' or '(' (write '%%' for a literal '%')"
    );
    assert_eq!(
        e("badref"),
        "config /srv/jobs/leaf.ini: key 'badref' in section [londiste] has bad interpolation in '%(x)d': \
         '%(' must be followed by a name and ')s', as in %(job_name)s"
    );
    assert!(e("open").contains("'%(' must be followed"));
    // Broken keys do not stop the others.
    assert_eq!(get(&f, "londiste", "ok"), "fine");
    let s = f.section("londiste").unwrap();
    assert!(s.get_opt("a").is_err());
    assert_eq!(s.first_error().unwrap().to_string(), e("a"));
}

#[test]
fn extended_interpolation() {
    let f = ini(
        "[DEFAULT]\nroot = /srv\n[londiste]\nconfig_format = 2\ndb = dbname=${job_name}\n\
                 log = ${root}/${other:name}.log\nd = ${DEFAULT:root}\nmoney = $$5 and 100%\n\
                 old = %(root)s\n[other]\nname = ${suffix}x\nsuffix = o_\n",
    );
    assert_eq!(f.format(), ConfigFormat::Extended);
    assert_eq!(get(&f, "londiste", "db"), "dbname=leaf");
    // ${suffix} inside [other]'s value is looked up in [other].
    assert_eq!(get(&f, "londiste", "log"), "/srv/o_x.log");
    assert_eq!(get(&f, "londiste", "d"), "/srv");
    assert_eq!(get(&f, "londiste", "money"), "$5 and 100%");
    assert_eq!(get(&f, "londiste", "old"), "%(root)s");
    // config_format may also come from [DEFAULT].
    let f = ini("[DEFAULT]\nconfig_format = 2\n[pgqd]\nx = ${job_name}\n");
    assert_eq!(get(&f, "pgqd", "x"), "leaf");
}

#[test]
fn extended_interpolation_errors() {
    let f = ini(
        "[londiste]\nconfig_format = 2\na = ${other:b}\nnosect = ${nope:x}\nnokey = ${other:zz}\n\
                 colons = ${a:b:c}\ndollar = 5$\nempty = ${}\n[other]\nb = ${londiste:a}\n",
    );
    let e = |k| get_err(&f, "londiste", k);
    assert_eq!(
        e("a"),
        "config /srv/jobs/leaf.ini: key 'a' in section [londiste] has an interpolation loop: \
         a -> other:b -> a; replace one of the references with a plain value"
    );
    assert_eq!(
        e("nosect"),
        "config /srv/jobs/leaf.ini: key 'nosect' in section [londiste] refers to undefined variable \
         'nope:x' in '${nope:x}'; there is no section [nope]"
    );
    assert_eq!(
        e("nokey"),
        "config /srv/jobs/leaf.ini: key 'nokey' in section [londiste] refers to undefined variable \
         'other:zz' in '${other:zz}'; define 'zz' in [other] or [DEFAULT]"
    );
    assert!(e("colons").ends_with("more than one ':' in a ${section:name} reference"));
    assert!(
        e("dollar").ends_with("'$' must be followed by '$' or '{' (write '$$' for a literal '$')")
    );
    assert!(e("empty").ends_with("'${' must be followed by a name and '}', as in ${job_name}"));
}

#[test]
fn config_format_must_be_1_or_2() {
    assert_eq!(
        ini_err("[londiste]\nconfig_format = 3\n"),
        "config /srv/jobs/leaf.ini: key 'config_format' in section [londiste] has bad value '3': \
         expected 1 (%(name)s interpolation) or 2 (${name} interpolation)"
    );
}

#[test]
fn runaway_expansion_is_an_error_not_a_hang() {
    let mut text = format!("[pgqd]\nk0 = {}\n", "x".repeat(1000));
    for i in 1..40 {
        text.push_str(&format!("k{i} = %(k{p})s%(k{p})s\n", p = i - 1));
    }
    let f = ini(&text);
    let s = f.section("pgqd").unwrap();
    assert_eq!(s.require("k5").unwrap().len(), 1000 << 5);
    assert!(s
        .require("k20")
        .unwrap_err()
        .to_string()
        .contains("expands to more than"));
    assert!(s.require("k39").is_err());

    // Empty leaves: the output never grows, the work would.
    let mut text = String::from("[pgqd]\nk0 =\n");
    for i in 1..30 {
        text.push_str(&format!("k{i} = %(k{p})s%(k{p})s\n", p = i - 1));
    }
    for i in 0..200 {
        text.push_str(&format!("x{i} = %(k29)s\n"));
    }
    let f = ini(&text);
    let s = f.section("pgqd").unwrap();
    assert_eq!(s.require("k10").unwrap(), "");
    assert!(s
        .require("k29")
        .unwrap_err()
        .to_string()
        .contains("references to expand"));

    let mut text = String::from("[pgqd]\nk0 = x\n");
    for i in 1..50 {
        text.push_str(&format!("k{i} = %(k{})s\n", i - 1));
    }
    let f = ini(&text);
    assert_eq!(get(&f, "pgqd", "k30"), "x");
    assert!(get_err(&f, "pgqd", "k49").contains("nested more than 32 levels deep"));
}

#[test]
fn syntax_errors_name_the_line() {
    let cases = [
        ("x = 1\n[a]\n", "line 1: 'x = 1' comes before any [section] header; put a header such as [londiste] above it"),
        ("[a]\nk = 1\n[b]\n[a]\n", "line 4: section [a] appears a second time (first at line 1); merge the two"),
        ("[a]\nk = 1\nK = 2\n", "line 3: key 'k' appears a second time in section [a] (first at line 2); keep one"),
        ("[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n", "line 4: key 'k' appears a second time in section [DEFAULT] (first at line 2); keep one"),
        ("[a]\n= 1\n", "line 2: '= 1' has no key name before '='"),
        ("[a]\njust words\n", "line 2: expected 'key = value', a [section] header or a comment, found 'just words'"),
        ("[]\n", "line 1: '[]' comes before any [section] header; put a header such as [londiste] above it"),
    ];
    for (text, want) in cases {
        assert_eq!(
            ini_err(text),
            format!("config /srv/jobs/leaf.ini: {want}"),
            "{text:?}"
        );
    }
    let err = IniFile::parse(PATH, b"[a]\nk = 1\nv = \xff\n", &LoadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config /srv/jobs/leaf.ini: line 3: not valid UTF-8; save the file as UTF-8"
    );
    // Two [DEFAULT] blocks are fine, as in Python.
    assert_eq!(
        get(&ini("[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[x]\n"), "x", "b"),
        "2"
    );
}

#[test]
fn typed_accessors() {
    let f = ini(
        "[londiste]\nn = 42\nneg = -3\nf = 0.25\nb = Yes\nl = a, b ,c\nd = a:1, b\nsz = 10M\n\
                 t = 1.5\nms = 250ms\nbad = many\nempty =\nlog = log/%(job_name)s.log\nabs = /x\n\
                 home = ~/x\ndash = -\n",
    );
    let s = f.section("londiste").unwrap();
    assert_eq!(s.get_int("n", 0).unwrap(), 42);
    assert_eq!(s.get_int("neg", 0).unwrap(), -3);
    assert_eq!(s.get_int("absent", 7).unwrap(), 7);
    assert_eq!(s.get_float("f", 0.0).unwrap(), 0.25);
    assert_eq!(s.get_float("n", 0.0).unwrap(), 42.0);
    assert!(s.get_bool("b", false).unwrap());
    assert!(s.get_bool("absent", true).unwrap());
    assert_eq!(s.get_list("l", &[]).unwrap(), ["a", "b", "c"]);
    assert_eq!(s.get_list("absent", &["x"]).unwrap(), ["x"]);
    assert_eq!(s.get_list("empty", &["x"]).unwrap(), Vec::<String>::new());
    assert_eq!(
        s.get_dict("d").unwrap(),
        [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "b".to_string())
        ]
    );
    assert_eq!(s.get_bytes("sz", 0).unwrap(), 10 << 20);
    assert_eq!(s.get_bytes("absent", 5).unwrap(), 5);
    assert_eq!(
        s.get_duration("t", Duration::ZERO).unwrap(),
        Duration::from_millis(1500)
    );
    assert_eq!(
        s.get_duration("ms", Duration::ZERO).unwrap(),
        Duration::from_millis(250)
    );
    assert_eq!(
        s.get_duration("absent", Duration::from_secs(3)).unwrap(),
        Duration::from_secs(3)
    );
    assert_eq!(s.get_str("absent", "dflt").unwrap(), "dflt");
    assert_eq!(s.get_opt("absent").unwrap(), None);
    assert_eq!(
        s.get_path("log", None).unwrap(),
        Some(PathBuf::from("/srv/jobs/log/leaf.log"))
    );
    assert_eq!(s.get_path("abs", None).unwrap(), Some(PathBuf::from("/x")));
    assert_eq!(s.get_path("empty", Some("x")).unwrap(), None);
    assert_eq!(
        s.get_path("absent", Some("p.pid")).unwrap(),
        Some(PathBuf::from("/srv/jobs/p.pid"))
    );
    assert_eq!(s.get_path("absent", None).unwrap(), None);
    assert_eq!(s.get_path("dash", None).unwrap(), Some(PathBuf::from("-")));
    if let Ok(home) = std::env::var("HOME") {
        let want = PathBuf::from(format!("{}/x", home.trim_end_matches('/')));
        assert_eq!(s.get_path("home", None).unwrap(), Some(want));
    }

    let bad = |r: Result<(), ConfigError>| r.unwrap_err().to_string();
    let prefix =
        "config /srv/jobs/leaf.ini: key 'bad' in section [londiste] has bad value 'many': ";
    assert_eq!(
        bad(s.get_int("bad", 0).map(drop)),
        format!("{prefix}expected a whole number such as 10")
    );
    assert_eq!(
        bad(s.get_float("bad", 0.0).map(drop)),
        format!("{prefix}expected a number such as 1.5")
    );
    assert_eq!(
        bad(s.get_bool("bad", false).map(drop)),
        format!("{prefix}expected 1, yes, true or on, or 0, no, false or off")
    );
    assert_eq!(
        bad(s.get_bytes("bad", 0).map(drop)),
        format!("{prefix}{}", value::EXPECTED_BYTES)
    );
    assert_eq!(
        bad(s.get_duration("bad", Duration::ZERO).map(drop)),
        format!("{prefix}{}", value::EXPECTED_DURATION)
    );
    assert_eq!(
        bad(s.require("absent").map(drop)),
        "config /srv/jobs/leaf.ini: key 'absent' is missing in section [londiste]"
    );
    assert_eq!(
        bad(s.get_int("BAD", 0).map(drop)),
        format!("{prefix}expected a whole number such as 10"),
        "the key is named as ConfigParser stores it"
    );
}

#[test]
fn job_kinds() {
    let kind = |text: &str| JobFile::parse(PATH, text.as_bytes()).map(|j| j.kind);
    assert_eq!(kind("[pgqd]\n"), Ok(JobKind::Pgqd));
    assert_eq!(
        kind("[londiste]\ndb = x\nqueue_name = q\n"),
        Ok(JobKind::Londiste)
    );
    assert_eq!(
        kind("[londiste3]\ndb = x\npgq_queue_name = q\n"),
        Ok(JobKind::Londiste)
    );
    assert_eq!(kind("[walmgr]\n"), Ok(JobKind::Walmgr));
    assert_eq!(
        kind("[DEFAULT]\n[queue_mover]\n"),
        Ok(JobKind::Generic("queue_mover".into()))
    );
    assert_eq!(kind("[aux]\n[pgqd]\n"), Ok(JobKind::Pgqd));
    let err = |text: &str| {
        JobFile::parse(PATH, text.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("[pgqd]\n[walmgr]\n"),
        "config /srv/jobs/leaf.ini: sections [pgqd] and [walmgr] each name a job kind; keep one job per file"
    );
    assert_eq!(
        err("[a]\n[b]\n[c]\n"),
        "config /srv/jobs/leaf.ini: cannot tell which section is the job's main section among [a], [b] and [c]; \
         name it [pgqd], [londiste], [londiste3] or [walmgr], or keep one section per job file"
    );
    assert_eq!(
        err("[londiste]\nqueue_name = q\n"),
        "config /srv/jobs/leaf.ini: key 'db' is missing in section [londiste]"
    );
    assert_eq!(
        err("[londiste]\ndb = x\n"),
        "config /srv/jobs/leaf.ini: key 'queue_name' is missing in section [londiste]"
    );
    assert_eq!(
        err("[walmgr]\njob_name =\n"),
        "config /srv/jobs/leaf.ini: key 'job_name' in section [walmgr] has bad value '': \
         a job needs a name; remove the key to use the file name"
    );
    // The main section must interpolate completely, other sections need not.
    assert!(err("[walmgr]\nx = %(nope)s\n").contains("undefined variable 'nope'"));
    assert!(JobFile::parse(PATH, b"[walmgr]\n[aux]\nx = %(nope)s\n").is_ok());
    assert_eq!(JobKind::Generic("x".into()).to_string(), "x");
}

#[test]
fn fingerprints_ignore_layout_but_see_values() {
    let fp = |text: &str| JobFile::parse(PATH, text.as_bytes()).unwrap().fingerprint();
    let base = fp("[pgqd]\nticker_period = 1\n");
    assert_eq!(base, fp("# comment\n\n[pgqd]\n  ticker_period   =   1\n"));
    assert_ne!(base, fp("[pgqd]\nticker_period = 2\n"));
    assert_ne!(base, fp("[pgqd]\nticker_period = 1\n[aux]\nx = 1\n"));
    assert_ne!(base, fp("[DEFAULT]\nx = 1\n[pgqd]\nticker_period = 1\n"));
    let other = JobFile::parse("/srv/jobs/other.ini", b"[pgqd]\nticker_period = 1\n").unwrap();
    assert_ne!(base, other.fingerprint());
}

#[test]
fn closest_names() {
    assert_eq!(closest("ticker_perod", &PGQD_KEYS), Some("ticker_period"));
    assert_eq!(closest("logfil", &PGQD_KEYS), Some("logfile"));
    assert_eq!(closest("completely_else", &PGQD_KEYS), None);
}

#[test]
fn hostile_sizes_are_refused_quickly() {
    let mut text = String::from("[DEFAULT]\n");
    for i in 0..200 {
        text.push_str(&format!("d{i} =\n"));
    }
    for i in 0..6000 {
        text.push_str(&format!("[s{i}]\n"));
    }
    assert_eq!(
        ini_err(&text),
        "config /srv/jobs/leaf.ini: the file is too large: 6000 sections with 200 keys in [DEFAULT] \
         make more than 1000000 values; split the file"
    );
    // Small enough to sit inside another error enum below clippy's
    // `result_large_err` threshold (128 bytes).
    assert!(
        std::mem::size_of::<ConfigError>() <= 112,
        "{}",
        std::mem::size_of::<ConfigError>()
    );
}
