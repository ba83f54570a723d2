//! `skydeck bench pgq`, run for real in its smallest form: it must set up
//! its own cluster, measure every part, and report figures that are
//! positive and ratios that agree with the figures they come from. Speed
//! is never asserted — this is a smoke run of the benchmark's machinery.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn runs(m: &Value, target: &str) -> Vec<f64> {
    m["runs"][target]
        .as_array()
        .unwrap_or_else(|| panic!("{}: runs.{target} is not an array", m["key"]))
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("{}: non-numeric run {v}", m["key"]))
        })
        .collect()
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

#[test]
fn bench_pgq_quick_reports_consistent_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args([
            "bench",
            "pgq",
            "--quick",
            "--runs",
            "1",
            "--tpcb-seconds",
            "2",
            "--json",
        ])
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .env_remove("PGPORT")
        .env_remove("PGUSER")
        .output()
        .expect("run skydeck bench pgq");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "the bench panicked:\n{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}):\n{stdout}\n--- stderr ---\n{stderr}")
    });

    let metrics = report["metrics"].as_array().expect("metrics array");
    assert!(
        !metrics.is_empty(),
        "no figures at all:\n{stdout}\n{stderr}"
    );
    let by_key: HashMap<&str, &Value> = metrics
        .iter()
        .map(|m| (m["key"].as_str().expect("metric key"), m))
        .collect();

    for m in metrics {
        let key = m["key"].as_str().unwrap();
        let mut any = false;
        for (target, median_field) in [("skydeck", "skydeck"), ("c_extension", "c_extension")] {
            let r = runs(m, target);
            assert!(
                r.len() <= 1,
                "{key}: --runs 1 gave {} runs for {target}",
                r.len()
            );
            for v in &r {
                assert!(
                    v.is_finite() && *v > 0.0,
                    "{key}: {target} figure {v} is not positive"
                );
            }
            match median(&r) {
                Some(med) => {
                    any = true;
                    let printed = m[median_field]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{key}: no {median_field}"));
                    assert!(
                        close(printed, med),
                        "{key}: {median_field} {printed} is not the median {med}"
                    );
                }
                None => assert!(
                    m[median_field].is_null(),
                    "{key}: a {median_field} figure without runs"
                ),
            }
        }
        assert!(any, "{key} is printed without any figure");

        // skydeck / C extension: the ratio of the paired runs.
        let (s, c) = (runs(m, "skydeck"), runs(m, "c_extension"));
        match (s.first(), c.first()) {
            (Some(s), Some(c)) => {
                let r = m["skydeck_vs_c"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{key}: no skydeck_vs_c"));
                assert!(close(r, s / c), "{key}: skydeck_vs_c {r} != {s} / {c}");
            }
            _ => assert!(
                m["skydeck_vs_c"].is_null(),
                "{key}: skydeck_vs_c without both figures"
            ),
        }

        // A ratio metric is its two figures divided, run by run.
        if let Some([num, den]) = m["ratio_of"].as_array().map(|a| [&a[0], &a[1]]) {
            let (num, den) = (num.as_str().unwrap(), den.as_str().unwrap());
            let (n, d) = (by_key[num], by_key[den]);
            for target in ["skydeck", "c_extension"] {
                let want: Vec<f64> = runs(n, target)
                    .iter()
                    .zip(runs(d, target))
                    .map(|(a, b)| a / b)
                    .collect();
                let got = runs(m, target);
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{key} ({target}): runs of {num} / {den}"
                );
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        close(*g, *w),
                        "{key} ({target}): {g} != {num} / {den} = {w}"
                    );
                }
            }
        }

        if let Some(met) = m["met"].as_bool() {
            let goal = &m["goal"];
            let min = goal["min"].as_f64().expect("goal.min");
            let on = match goal["on"].as_str() {
                Some("skydeck") => m["skydeck"].as_f64(),
                Some("skydeck_vs_c") => m["skydeck_vs_c"].as_f64(),
                other => panic!("{key}: goal on {other:?}"),
            }
            .expect("the figure a goal is about");
            assert_eq!(met, on >= min, "{key}: met = {met} but {on} vs {min}");
        }
    }

    // Every part ran: each has at least its skydeck figures.
    for key in [
        "insert.single_c1",
        "insert.stmt100_c1",
        "insert.batch1000_c1",
        "insert.bulk_copy_c1",
        "insert.raw_batch1000_c1",
        "consume.rust",
        "consume.sql_loop",
        "trigger.off",
        "trigger.on",
        "trigger.loop_off",
        "trigger.loop_on",
        "trigger.loop_floor",
    ] {
        let m = by_key.get(key);
        let failures = &report["failures"];
        assert!(
            m.is_some_and(|m| !runs(m, "skydeck").is_empty()),
            "no skydeck figure for {key}; failures: {failures:#}"
        );
    }
    if !by_key.contains_key("consume.python") {
        let skipped = report["skipped"].to_string();
        assert!(
            skipped.contains("python3-pgq"),
            "the Python consumer neither ran nor was reported skipped: {skipped}"
        );
    }
    let failures = report["failures"].as_array().expect("failures array");
    assert!(
        failures.is_empty(),
        "some measurements failed: {:#}\n{stderr}",
        report["failures"]
    );
    assert!(
        out.status.success(),
        "exit status {}:\n{stderr}",
        out.status
    );
}

/// `skydeck bench ARGS… --json`: it succeeds and prints JSON.
fn bench_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("run skydeck bench {args:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench {args:?} failed:\n{stderr}");
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn bench_ticker_smallest_run_reports_figures() {
    let v = bench_json(&[
        "ticker",
        "--databases",
        "3",
        "--queues",
        "2",
        "--seconds",
        "2",
        "--period",
        "0.1",
        "--render-queues",
        "50",
    ]);
    let tickers = v["tickers"].as_array().unwrap();
    assert_eq!(tickers[0]["ticker"], "skydeck");
    for t in tickers {
        for k in ["rounds", "ticks", "rounds_per_sec", "ticks_per_sec"] {
            assert!(t[k].as_f64().unwrap() > 0.0, "{k} of {}: {t}", t["ticker"]);
        }
        // The original's CPU comes from /proc in clock ticks (10 ms): a
        // tiny run may read 0; skydeck's own comes from getrusage.
        let cpu = t["cpu_us_per_round"].as_f64().unwrap();
        if t["ticker"] == "skydeck" {
            assert!(cpu > 0.0, "{t}");
        } else {
            assert!(cpu >= 0.0, "{t}");
        }
        // Every round ticks every queue of every database.
        let rounds = t["rounds"].as_f64().unwrap();
        let ticks = t["ticks"].as_f64().unwrap();
        assert!(ticks >= rounds * 2.0 * 0.5, "{t}");
    }
    let render = v["render"].as_array().unwrap();
    assert_eq!(render.len(), 4);
    assert!(render
        .iter()
        .all(|r| r["queues"] == 50 && r["ms"].as_f64().unwrap() > 0.0));
}

#[test]
fn bench_cascade_smallest_run_reports_figures() {
    let v = bench_json(&["cascade", "--seconds", "2"]);
    for k in [
        "producer_ev_per_sec",
        "copy_ev_per_sec",
        "copied_events",
        "switchover_s",
        "switchback_s",
        "failover_s",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    assert!(v["switchover_writes_refused_ms"].as_f64().is_some(), "{v}");
}

#[test]
fn bench_londiste_smallest_run_reports_figures() {
    let v = bench_json(&[
        "londiste",
        "--scale",
        "1",
        "--seconds",
        "2",
        "--backlog-seconds",
        "2",
    ]);
    for k in [
        "copy_skydeck_s",
        "copy_pipe_s",
        "copy_native_s",
        "backlog_skydeck_ev_per_sec",
        "backlog_native_ev_per_sec",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    for s in ["steady_skydeck", "steady_native"] {
        assert!(v[s]["tps"].as_f64().unwrap() > 0.0, "{s}: {v}");
    }
    assert_eq!(v["data_equal"], true, "{v}");
}

#[test]
fn bench_walmgr_smallest_run_reports_figures() {
    let v = bench_json(&["walmgr", "--scale", "5", "--segments", "4"]);
    assert_eq!(v["segments"], 4, "{v}");
    let archive = v["archive"].as_array().unwrap();
    assert_eq!(archive.len(), 5, "cp and four skydeck variants: {v}");
    assert_eq!(archive[0]["name"], "cp");
    for x in archive.iter().chain(v["restore"].as_array().unwrap()) {
        assert!(x["mb_per_sec"].as_f64().unwrap() > 0.0, "{x}");
    }
    // zstd and lz4 store less than the WAL itself.
    for x in &archive[2..4] {
        assert!(x["stored_ratio"].as_f64().unwrap() < 1.0, "{x}");
    }
    for k in ["backup_skydeck_s", "backup_pg_basebackup_s"] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
}
