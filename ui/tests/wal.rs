//! The WAL view (walmgr): the jobs list at 80 and 120 columns, the
//! selection, the highlighting, each key's action and its confirmation,
//! boot's typed confirmation, keys for the other role, read-only
//! refusals, the filter and the empty deck — with snapshots of each
//! screen, and the action every key sends.
//!
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p
//! skydeck-ui --test wal` and reading the .snap files.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use crossterm::event::KeyCode;
use ratatui::style::{Color, Style};
use skydeck_ui::fixtures;
use skydeck_ui::model::{Action, Alert, Level, Snapshot, WalRole, WalSource, WalView};
use skydeck_ui::{render_to_buffer, render_to_string, App, ConsoleOptions, Event, ViewId};

const LEGACY: &str = "walmgr_legacy";
const MAIN: &str = "walmgr_main";
const DR: &str = "walmgr_dr";
const STANDBY: &str = "walmgr_standby";

fn s(v: &str) -> String {
    v.to_string()
}

fn wal_app() -> App {
    app(ViewId::Wal)
}

fn screen(a: &App) -> String {
    render_to_string(a, W, H)
}

/// The selected job's name.
fn selected(a: &App) -> String {
    a.wal()
        .job(a.snapshot())
        .map(|w| w.worker.clone())
        .unwrap_or_default()
}

fn select(a: &mut App, job: &str) {
    assert!(a.select_wal(job), "no job {job}");
    assert_eq!(selected(a), job);
}

/// A style's foreground as the buffer holds it (none: `Reset`).
fn colour(s: Style) -> Color {
    s.fg.unwrap_or(Color::Reset)
}

/// The style of the first cell of `text` on screen.
fn style_of(a: &App, text: &str) -> Style {
    let buf = render_to_buffer(a, W, H);
    let area = buf.area;
    for y in 0..area.height {
        let row: Vec<String> = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(text) {
            // Cells hold one symbol each: count the symbols before it.
            let x = line[..byte].chars().count() as u16;
            return buf[(x, y)].style();
        }
    }
    panic!("{text:?} is not on screen:\n{}", screen(a));
}

// ----- the view --------------------------------------------------------------

#[test]
fn wal_view_120() {
    let a = wal_app();
    assert_eq!(selected(&a), LEGACY, "masters first, by name");
    let text = screen(&a);
    for want in [
        "7 WAL",
        "WAL jobs 1/4",
        // Masters: position and segment, backlog, last archived, failures.
        "current A/1F3C0098",
        "000000010000000A0000001F",
        "backlog 212",
        "last 1h52m ago",
        "1,873 failed · 40.0s",
        "2 failed · 3d04h",
        // Standbys: received and replayed, lag in time and bytes, source.
        "received 2F/8A0012C8",
        "replayed 2F/8A000F10",
        "850ms",
        "952 bytes",
        "14m05s",
        "984 MB",
        "streaming",
        "archive ",
        "LAGGING +1",
        "ERROR +2",
        // The selected job: its error in full, retention, its backups.
        "error      archive /mnt/backup/legacy/completed: Permission denied (os error 13)",
        "HINT: the archive directory must be writable by the postgres OS user on db4",
        "retention  keep 1 backup · oldest WAL 000000010000000800000012",
        "20250930T031000Z        ",
        "1 in error · 1 archive failing · 1 backlog · 1 lagging · 1 paused",
        "b backup now   s sync",
    ] {
        assert!(text.contains(want), "{want:?} not on screen:\n{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn wal_view_80() {
    let mut a = wal_app();
    a.update(Event::Resize(80, 32), Instant::now());
    select(&mut a, MAIN);
    let text = render_to_string(&a, 80, 32);
    for want in [
        "walmgr_standby streaming",
        "current 2F/8A0012C8",
        "1,873 failed ",
        "retention  keep 3 backups · oldest WAL 000000010000002D00000010",
        "20251009T065000Z        2h03m ago    9.1 GB    3.4 GB 000000010000002F00000042",
    ] {
        assert!(text.contains(want), "{want:?} not on screen:\n{text}");
    }
    for line in text.lines() {
        assert!(line.chars().count() <= 82, "too wide: {line}");
    }
    insta::assert_snapshot!(text);
    // 80×24: the list scrolls to keep the selection, the detail stays;
    // the backups go (their summary line stays).
    select(&mut a, STANDBY);
    a.update(Event::Resize(80, 24), Instant::now());
    let small = render_to_string(&a, 80, 24);
    for want in [
        "WAL jobs 4/4",
        "walmgr_standby streaming",
        "lag        952 bytes · 850ms",
        "backups    3 · newest 2h03m ago, 9.1 GB (3.4 GB stored)",
    ] {
        assert!(small.contains(want), "{want:?} not on screen:\n{small}");
    }
}

#[test]
fn selection_moves_and_survives_new_snapshots() {
    let mut a = wal_app();
    ch(&mut a, 'j');
    assert_eq!(selected(&a), MAIN);
    ch(&mut a, 'j');
    assert_eq!(selected(&a), DR, "then the standbys, by name");
    let text = screen(&a);
    for want in [
        "walmgr_dr · standby · archive LAGGING PAUSED",
        "source     archive: restoring segments (restore_command)",
        "position   received - · replayed 2F/4C7F2A10",
        "replay     PAUSED — c continues",
        "Backups of walmgr_dr · 3, newest first",
        "p pause replay   c continue   P promote (boot)",
    ] {
        assert!(text.contains(want), "{want:?} not on screen:\n{text}");
    }
    insta::assert_snapshot!(text);
    ch(&mut a, 'G');
    assert_eq!(selected(&a), STANDBY);
    ch(&mut a, 'k');
    assert_eq!(selected(&a), DR);
    ch(&mut a, 'g');
    assert_eq!(selected(&a), LEGACY);
    press(&mut a, KeyCode::Down);
    assert_eq!(selected(&a), MAIN);
    // The engine's order changes: the cursor stays on the job.
    let mut newer = fixtures::deck();
    newer.wal.reverse();
    a.update(Event::Snapshot(Arc::new(newer)), Instant::now());
    assert_eq!(selected(&a), MAIN);
    // The job goes: the cursor stays in place, on the next one.
    let mut fewer = fixtures::deck();
    fewer.wal.retain(|w| w.worker != MAIN);
    a.update(Event::Snapshot(Arc::new(fewer)), Instant::now());
    assert_eq!(selected(&a), DR);
    assert!(!a.select_wal("nope"));
}

#[test]
fn highlighting_follows_what_needs_a_look() {
    let a = wal_app();
    let t = a.theme().clone();
    let fg = |text: &str| colour(style_of(&a, text));
    // A master failing now, with a large backlog and an error.
    assert_eq!(fg("ERROR +2"), colour(t.error));
    assert_eq!(fg("backlog 212"), colour(t.error));
    assert_eq!(fg("1,873 failed"), colour(t.error));
    // Old failures are history; a healthy master is ok.
    assert_eq!(fg("2 failed · 3d04h"), colour(t.muted));
    assert_eq!(fg("backlog 0"), colour(t.text));
    // A standby 14 minutes (984 MB) behind; one under a second behind.
    assert_eq!(fg("LAGGING +1"), colour(t.error));
    assert_eq!(fg("984 MB"), colour(t.error));
    assert_eq!(fg("952 bytes"), colour(t.text));
    // The error lines of the selected job.
    assert_eq!(
        fg("archive /mnt/backup/legacy/completed: Permission"),
        colour(t.error)
    );
    // The paused standby, in full.
    let mut a = wal_app();
    select(&mut a, DR);
    assert_eq!(colour(style_of(&a, "PAUSED — c continues")), colour(t.warn));
    // A recent failure that archiving has got past: a warning.
    let mut snap = fixtures::deck();
    let main = snap
        .wal
        .iter_mut()
        .find(|w| w.worker == MAIN)
        .expect("the master");
    main.last_failed_age = Some(Duration::from_secs(20 * 60));
    let mut a = app_with(
        snap,
        ConsoleOptions {
            start_view: ViewId::Wal,
            ..ConsoleOptions::default()
        },
    );
    select(&mut a, MAIN);
    assert_eq!(colour(style_of(&a, "FAILED")), colour(t.warn));
    assert_eq!(colour(style_of(&a, "2 failed · 20m00s")), colour(t.warn));
}

#[test]
fn the_detail_keeps_its_last_line_whatever_wraps() {
    // A long job name and markers on the head, a long path and error: each
    // wraps, and the pane is as tall as what it draws.
    for (width, extra) in [(80u16, 0usize), (80, 17), (80, 43), (80, 80), (120, 61)] {
        let mut snap = fixtures::deck();
        let dr = snap
            .wal
            .iter_mut()
            .find(|w| w.worker == DR)
            .expect("the standby");
        dr.worker = format!("walmgr_dr_{}", "x".repeat(extra));
        dr.data_dir = format!("/srv/{}/dr", "p".repeat(extra * 2));
        dr.error = Some(format!(
            "could not read {} {}",
            "e".repeat(extra),
            "word ".repeat(extra / 4)
        ));
        dr.backups.clear();
        let name = dr.worker.clone();
        let mut a = app_with(
            snap,
            ConsoleOptions {
                start_view: ViewId::Wal,
                ..ConsoleOptions::default()
            },
        );
        a.update(Event::Resize(width, 40), Instant::now());
        select(&mut a, &name);
        let text = render_to_string(&a, width, 40);
        assert!(
            text.contains("backups    none yet"),
            "{width} {extra}: the last line is cut:\n{text}"
        );
        assert!(text.contains("NO BACKUP"), "{width} {extra}:\n{text}");
    }
}

#[test]
fn filter_by_name_role_or_marker() {
    let mut a = wal_app();
    ch(&mut a, '/');
    typ(&mut a, "paused");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.wal().rows.len(), 1);
    assert_eq!(selected(&a), DR);
    command(&mut a, "filter master");
    assert_eq!(a.wal().rows.len(), 2);
    command(&mut a, "filter permission denied");
    assert_eq!(a.wal().rows.len(), 1);
    assert_eq!(selected(&a), LEGACY);
    command(&mut a, "filter nothing-like-this");
    assert!(screen(&a).contains("no walmgr job matches the filter — esc clears it"));
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.wal().rows.len(), 4, "esc clears the filter");
}

#[test]
fn empty_deck_says_how_to_add_a_job() {
    let a = app_with(
        fixtures::empty_deck(),
        ConsoleOptions {
            start_view: ViewId::Wal,
            ..ConsoleOptions::default()
        },
    );
    let text = screen(&a);
    assert!(text.contains("no walmgr jobs in this deck: add a [walmgr] job file to config_list"));
    insta::assert_snapshot!(text);
    // Keys do nothing without a job.
    let mut a = a;
    for k in ['b', 's', 'p', 'c', 'P'] {
        ch(&mut a, k);
    }
    assert!(a.confirm().is_none() && a.boot().is_none());
    assert!(a.take_actions().is_empty());
    // Before the first snapshot: the usual wait line.
    let a = app_with(
        Snapshot::default(),
        ConsoleOptions {
            start_view: ViewId::Wal,
            ..ConsoleOptions::default()
        },
    );
    assert!(screen(&a).contains("waiting for the first snapshot"));
}

#[test]
fn wal_view_by_key_name_help_and_completion() {
    let mut a = app(ViewId::Overview);
    ch(&mut a, '7');
    assert_eq!(a.view(), ViewId::Wal);
    ch(&mut a, '1');
    command(&mut a, "wal");
    assert_eq!(a.view(), ViewId::Wal);
    ch(&mut a, '1');
    command(&mut a, "walmgr");
    assert_eq!(a.view(), ViewId::Wal);
    // The command line completes the view's name.
    ch(&mut a, ':');
    typ(&mut a, "wa");
    press(&mut a, KeyCode::Tab);
    assert_eq!(input(&a), "wal ");
    press(&mut a, KeyCode::Esc);
    // The help lists the view and every key, for either role.
    ch(&mut a, '?');
    let help = screen(&a);
    for want in [
        "Keys — WAL",
        "b         backup now (asks first)",
        "s         sync (asks first)",
        "p         pause replay (asks first)",
        "c         continue (asks first)",
        "P         promote (boot) (asks first)",
        "7         WAL",
    ] {
        assert!(help.contains(want), "{want:?} not in the help:\n{help}");
    }
}

#[test]
fn an_alert_about_a_walmgr_job_opens_it() {
    let mut snap = fixtures::deck();
    snap.alerts = vec![Alert {
        level: Level::Error,
        source: s(LEGACY),
        message: s("archive failing: Permission denied"),
        since: Duration::from_secs(40),
    }];
    let mut a = app_with(snap, ConsoleOptions::default());
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), ViewId::Wal);
    assert_eq!(selected(&a), LEGACY);
}

// ----- keys → actions --------------------------------------------------------

#[test]
fn master_keys_backup_and_sync() {
    let mut a = wal_app();
    select(&mut a, MAIN);
    ch(&mut a, 'b');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Take base backup?");
    assert_eq!(
        c.lines,
        [s("take a base backup of the master of walmgr_main")]
    );
    assert_eq!(
        c.notes,
        [
            s("the newest backup, 20251009T065000Z, finished 2h03m ago (9.1 GB of data)"),
            s("retention: keep 3 backups · oldest WAL 000000010000002D00000010"),
            s("the master keeps running; the backup reads its whole data directory"),
        ]
    );
    let backup = screen(&a);
    assert!(a.take_actions().is_empty(), "nothing before yes");
    ch(&mut a, 'y');
    let want = Action::WalBackup { worker: s(MAIN) };
    assert_eq!(a.take_actions(), std::slice::from_ref(&want));
    assert_eq!(a.pending(), std::slice::from_ref(&want));
    assert_eq!(
        toast(&a),
        "sent: take a base backup of the master of walmgr_main"
    );
    result(&mut a, want, true, "backup base_20251009_0903 done: 9.1 GB");
    assert!(a.pending().is_empty());
    assert_eq!(
        toast(&a),
        "✓ take a base backup of the master of walmgr_main: backup base_20251009_0903 done: 9.1 GB"
    );

    ch(&mut a, 's');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Sync partial WAL?");
    assert_eq!(
        c.notes,
        [s(
            "standbys restoring from the archive can then replay up to the current position (now 2F/8A0012C8)"
        )]
    );
    let sync = screen(&a);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.take_actions(), [Action::WalSync { worker: s(MAIN) }]);
    // n cancels.
    ch(&mut a, 'b');
    ch(&mut a, 'n');
    assert!(a.take_actions().is_empty());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    // A master whose job has an error: the note says so.
    select(&mut a, LEGACY);
    ch(&mut a, 'b');
    let c = a.confirm().expect("asks");
    assert!(
        c.notes.iter().any(|n| n
            == "reading this job failed (archive /mnt/backup/legacy/completed: Permission denied (os error 13)): the backup may fail too"),
        "{:?}",
        c.notes
    );
    insta::assert_snapshot!(format!("{backup}\n\nsync:\n{sync}"));
}

#[test]
fn standby_keys_pause_and_continue() {
    let mut a = wal_app();
    select(&mut a, STANDBY);
    ch(&mut a, 'p');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Pause replay?");
    assert_eq!(c.lines, [s("pause WAL replay on standby walmgr_standby")]);
    assert_eq!(
        c.notes,
        [s(
            "it keeps receiving WAL but stops applying it: its lag grows until c continues"
        )]
    );
    let pause = screen(&a);
    ch(&mut a, 'y');
    assert_eq!(a.take_actions(), [Action::WalPause { worker: s(STANDBY) }]);
    // c on a standby that is not paused: nothing to continue.
    ch(&mut a, 'c');
    assert!(a.confirm().is_none());
    assert_eq!(
        toast(&a),
        "replay on walmgr_standby is not paused — nothing was sent"
    );
    // The paused one: c continues, p says it already is.
    select(&mut a, DR);
    ch(&mut a, 'p');
    assert!(a.confirm().is_none());
    assert_eq!(
        toast(&a),
        "replay on walmgr_dr is already paused (c continues it) — nothing was sent"
    );
    ch(&mut a, 'c');
    let c = a.confirm().expect("asks");
    assert_eq!(c.title, "Continue replay?");
    assert_eq!(
        c.notes,
        [s("replay goes on from 2F/4C7F2A10, 984 MB (14m05s) behind")]
    );
    let cont = screen(&a);
    ch(&mut a, 'y');
    assert_eq!(a.take_actions(), [Action::WalContinue { worker: s(DR) }]);
    insta::assert_snapshot!(format!("{pause}\n\ncontinue:\n{cont}"));
}

#[test]
fn boot_needs_the_job_name_typed() {
    let mut a = wal_app();
    select(&mut a, STANDBY);
    ch(&mut a, 'P');
    assert!(a.confirm().is_none(), "not the y/n popup");
    let b = a.boot().expect("the typed confirmation");
    assert_eq!(b.worker, STANDBY);
    assert_eq!(b.title(), "Promote standby walmgr_standby?");
    let empty = screen(&a);
    assert!(empty.contains("To promote, type the job name: walmgr_standby  then enter"));
    // Enter on nothing: refused, nothing sent.
    press(&mut a, KeyCode::Enter);
    assert!(a.boot().is_some_and(|b| b.confirm.wrong));
    assert!(a.take_actions().is_empty());
    let refused = screen(&a);
    assert!(refused.contains("✗ that is not “walmgr_standby” — nothing was sent"));
    // Partial: no verdict yet; enter still refuses.
    typ(&mut a, "walmgr_st");
    let partial = screen(&a);
    assert!(partial.contains("> walmgr_st█"));
    assert!(!partial.contains("does not match") && !partial.contains("✓"));
    press(&mut a, KeyCode::Enter);
    assert!(a.take_actions().is_empty());
    // A wrong name says so as it is typed.
    typ(&mut a, "x");
    assert!(screen(&a).contains("does not match"));
    press(&mut a, KeyCode::Backspace);
    // ctrl-u starts again; a paste counts as typing.
    ctrl(&mut a, 'u');
    assert_eq!(a.boot().map(|b| b.confirm.typed.as_str()), Some(""));
    a.update(Event::Paste(s("walmgr_standby")), Instant::now());
    let matching = screen(&a);
    assert!(matching.contains("✓ enter promotes walmgr_standby"));
    press(&mut a, KeyCode::Enter);
    assert!(a.boot().is_none());
    let want = Action::WalBoot { worker: s(STANDBY) };
    assert_eq!(a.take_actions(), std::slice::from_ref(&want));
    assert_eq!(a.pending(), std::slice::from_ref(&want));
    assert_eq!(
        toast(&a),
        "sent: end recovery and promote standby walmgr_standby to a read-write primary"
    );
    insta::assert_snapshot!(format!(
        "{empty}\n\nenter on nothing:\n{refused}\n\npartial:\n{partial}\n\nmatching:\n{matching}"
    ));
    // esc cancels; so does ctrl-c.
    select(&mut a, DR);
    ch(&mut a, 'P');
    let b = a.boot().expect("open");
    assert!(
        b.notes[0].contains(
            "now: archive · replayed 2F/4C7F2A10 · 984 MB (14m05s) behind · replay PAUSED"
        ),
        "{:?}",
        b.notes
    );
    typ(&mut a, DR);
    press(&mut a, KeyCode::Esc);
    assert!(a.boot().is_none());
    assert_eq!(toast(&a), "cancelled — nothing was sent");
    ch(&mut a, 'P');
    ctrl(&mut a, 'c');
    assert!(a.boot().is_none());
    assert!(a.take_actions().is_empty());
    // Never behind the y/n popup, alone or in a batch.
    for batch in [
        vec![Action::WalBoot { worker: s(DR) }],
        vec![
            Action::WalContinue { worker: s(DR) },
            Action::WalBoot { worker: s(DR) },
        ],
    ] {
        a.request(batch);
        assert!(a.confirm().is_none() && a.boot().is_none());
        assert_eq!(
            toast(&a),
            "refused to end recovery and promote standby walmgr_dr to a read-write primary: it is confirmed by typing a name in its own popup, not by y — nothing was sent"
        );
    }
    assert!(a.take_actions().is_empty());
}

#[test]
fn a_key_for_the_other_role_says_why() {
    let mut a = wal_app();
    select(&mut a, MAIN);
    let master = screen(&a);
    for (job, key, want) in [
        (
            MAIN,
            'p',
            "pause replay is for standbys: walmgr_main is a master — nothing was sent",
        ),
        (
            MAIN,
            'c',
            "continue replay is for standbys: walmgr_main is a master — nothing was sent",
        ),
        (
            MAIN,
            'P',
            "promote (boot) is for standbys: walmgr_main is a master — nothing was sent",
        ),
        (
            STANDBY,
            'b',
            "backup now is for masters: walmgr_standby is a standby — nothing was sent",
        ),
        (
            STANDBY,
            's',
            "sync is for masters: walmgr_standby is a standby — nothing was sent",
        ),
    ] {
        select(&mut a, job);
        ch(&mut a, key);
        assert_eq!(toast(&a), want, "{job} {key}");
        assert!(a.confirm().is_none() && a.boot().is_none(), "{job} {key}");
    }
    assert!(a.take_actions().is_empty());
    // The bar shows only the keys for the selected role.
    assert!(master.contains("b backup now   s sync"), "{master}");
    assert!(!master.contains("p pause replay"), "{master}");
    // A standby that was promoted has no replay left.
    let mut snap = fixtures::deck();
    snap.wal.push(WalView {
        worker: s("walmgr_old_standby"),
        role: WalRole::Standby,
        source: WalSource::Promoted,
        ..WalView::default()
    });
    a.update(Event::Snapshot(Arc::new(snap)), Instant::now());
    select(&mut a, "walmgr_old_standby");
    for (key, verb) in [('p', "pause"), ('c', "continue"), ('P', "promote")] {
        ch(&mut a, key);
        assert_eq!(
            toast(&a),
            format!(
                "walmgr_old_standby was promoted: it is out of recovery, there is nothing to {verb} — nothing was sent"
            )
        );
    }
    assert!(a.confirm().is_none() && a.boot().is_none());
    assert!(a.take_actions().is_empty());
}

#[test]
fn read_only_refuses_every_wal_key() {
    let mut a = read_only_app(ViewId::Wal);
    select(&mut a, MAIN);
    for (key, what) in [
        ('b', "take a base backup of the master of walmgr_main"),
        (
            's',
            "copy the current partial WAL segment of walmgr_main to the archive",
        ),
    ] {
        ch(&mut a, key);
        assert_eq!(
            toast(&a),
            format!("read-only console: refused to {what} — nothing was sent"),
            "{key}"
        );
    }
    select(&mut a, DR);
    for (key, what) in [
        ('c', "continue WAL replay on standby walmgr_dr"),
        (
            'P',
            "end recovery and promote standby walmgr_dr to a read-write primary",
        ),
    ] {
        ch(&mut a, key);
        assert_eq!(
            toast(&a),
            format!("read-only console: refused to {what} — nothing was sent"),
            "{key}"
        );
    }
    select(&mut a, STANDBY);
    ch(&mut a, 'p');
    assert_eq!(
        toast(&a),
        "read-only console: refused to pause WAL replay on standby walmgr_standby — nothing was sent"
    );
    assert!(a.confirm().is_none() && a.boot().is_none());
    assert!(a.take_actions().is_empty());
    insta::assert_snapshot!(screen(&a));
}
