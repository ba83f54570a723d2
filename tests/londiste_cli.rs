//! `skydeck londiste JOB.ini …` as an operator types it: create-root,
//! create-branch, create-leaf from job files, members, status (the tree),
//! node-info, takeover --dry-run (the checklist), tag-dead/tag-alive,
//! drop-node, and the errors (unknown node, bad job file, leaf provider).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use skydeck::cluster::LocalCluster;

fn skydeck(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> (String, String) {
    let (code, out, err) = skydeck(args);
    assert_eq!(code, 0, "skydeck {args:?}:\n{out}\n{err}");
    (out, err)
}

fn job(dir: &Path, name: &str, connstr: &str) -> PathBuf {
    let p = dir.join(format!("{name}.ini"));
    std::fs::write(
        &p,
        format!("[londiste]\njob_name = {name}_worker\ndb = {connstr}\nqueue_name = replika\n"),
    )
    .unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_commands() {
    let a = LocalCluster::builder("lcli_a").start().unwrap();
    let b = LocalCluster::builder("lcli_b").start().unwrap();
    for c in [&a, &b] {
        c.connect("postgres")
            .await
            .unwrap()
            .batch_execute("create database app")
            .await
            .unwrap();
    }
    let (ca, cb) = (a.connstr("app"), b.connstr("app"));
    let dir = std::env::temp_dir().join(format!("skydeck-lcli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (ja, jb) = (job(&dir, "n1", &ca), job(&dir, "n2", &cb));
    let (ja, jb) = (ja.to_str().unwrap(), jb.to_str().unwrap());

    let (_, err) = ok(&["londiste", ja, "create-root", "n1", &ca]);
    assert!(
        err.contains("Node \"n1\" initialized for queue \"replika\" with type \"root\""),
        "{err}"
    );
    let (_, err) = ok(&["londiste", ja, "create-root", "n1", &ca]);
    assert!(err.contains("already initialized as root"), "{err}");
    let (_, err) = ok(&[
        "londiste",
        jb,
        "create-branch",
        "n2",
        &cb,
        "--provider",
        &ca,
    ]);
    assert!(
        err.contains("initialized for queue \"replika\" with type \"branch\""),
        "{err}"
    );

    let (out, _) = ok(&["londiste", jb, "members"]);
    assert!(out.contains("n1") && out.contains("n2"), "{out}");
    let (out, _) = ok(&["londiste", ja, "status"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("n1 (root)"), "{out}");
    assert!(lines[1].starts_with("+--n2 (branch)"), "{out}");
    let (out, _) = ok(&["londiste", jb, "--json", "node-info"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["node"]["node_type"], "branch");
    assert_eq!(v["node"]["provider_node"], "n1");

    // The switchover checklist, changing nothing.
    let (out, _) = ok(&["londiste", jb, "takeover", "n1", "--dry-run"]);
    assert!(
        out.starts_with("switchover: n2 takes over from n1 (dry run: nothing changes)"),
        "{out}"
    );
    assert!(
        out.contains("[ok] n1 is reachable") && out.contains("[ok] n2 is a branch"),
        "{out}"
    );
    assert!(out.contains("demote_root step 1 on n1"), "{out}");
    let (out, _) = ok(&["londiste", ja, "status"]);
    assert!(
        out.starts_with("n1 (root)"),
        "dry run changed something:\n{out}"
    );
    // A root cannot take over (only branches can): the checklist says why.
    let (code, out, err) = skydeck(&["londiste", ja, "takeover", "n2", "--dry-run"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("[FAIL] n1 is a branch — it is a root"),
        "{out}"
    );
    assert!(err.contains("would be refused"), "{err}");

    ok(&["londiste", ja, "tag-dead", "n2"]);
    let (out, _) = ok(&["londiste", ja, "--json", "members"]);
    let m: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        m.iter().find(|x| x["node_name"] == "n2").unwrap()["dead"],
        true
    );
    ok(&["londiste", ja, "tag-alive", "n2"]);
    let (out, _) = ok(&["londiste", ja, "--json", "members"]);
    let m: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        m.iter().find(|x| x["node_name"] == "n2").unwrap()["dead"],
        false
    );

    // Errors an operator meets.
    let (code, _, err) = skydeck(&["londiste", ja, "tag-dead", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("no node named \"nobody\""), "{err}");
    let bad = dir.join("bad.ini");
    std::fs::write(&bad, "[londiste]\ndb = x\n").unwrap();
    let (code, _, err) = skydeck(&["londiste", bad.to_str().unwrap(), "members"]);
    assert_eq!(code, 1);
    assert!(err.contains("queue_name"), "{err}");

    // Dropping: refused while it has subscribers, works for the branch.
    let (code, _, err) = skydeck(&["londiste", jb, "drop-node", "n1"]);
    assert_eq!(code, 1);
    assert!(err.contains("still has subscribers (n2)"), "{err}");
    ok(&["londiste", ja, "drop-node", "n2"]);
    let (out, _) = ok(&["londiste", ja, "members"]);
    assert!(!out.contains("n2"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
