//! The engine side of the console's Tables view: every Londiste node the
//! deck's workers run, read into [`LondisteView`]s (tables with their merge
//! state, live copy progress from the worker, sequences, what could be
//! added), and the table actions (add, remove, resync, change handler,
//! execute, compare) carried out with the CLI's library calls, each step
//! reported as an update.

use std::sync::Arc;
use std::time::Duration;

use skydeck_ui::model::{Action, CopyView, LondisteView, NodeType, Reply, SeqView, TableView};
use tokio::sync::mpsc::UnboundedSender;

use super::cascades::Updates;
use super::supervisor::Supervisor;
use crate::cascade::admin::Admin;
use crate::cascade::worker::CascadeView as WorkerView;
use crate::londiste::admin::{self as ladmin, AddTableOptions};
use crate::londiste::copy::CopyPhase;
use crate::londiste::sql;
use crate::londiste::worker::{parse_handler, LondisteExtra, LondisteSettings};

/// Longest one node may take to read.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// The deck's Londiste workers (cascade workers with a Londiste applier).
pub fn londiste_jobs(sup: &Supervisor) -> Vec<Arc<WorkerView>> {
    sup.jobs()
        .into_iter()
        .filter_map(|j| j.extra().and_then(|e| e.downcast::<WorkerView>().ok()))
        .filter(|v| {
            v.applier
                .as_ref()
                .is_some_and(|a| a.clone().downcast::<LondisteExtra>().is_ok())
        })
        .collect()
}

fn phase(p: CopyPhase) -> &'static str {
    match p {
        CopyPhase::Starting => "starting",
        CopyPhase::Data => "data",
        CopyPhase::Indexes => "indexes",
        CopyPhase::Done => "done",
        CopyPhase::Failed => "failed",
    }
}

/// One node, with the worker's copies and `lag` (from its job status).
pub async fn read_node(v: &WorkerView, lag: Option<Duration>) -> LondisteView {
    let mut out = LondisteView {
        queue: v.settings.queue.clone(),
        worker: v.settings.worker.clone(),
        database: v.label.clone(),
        lag,
        ..Default::default()
    };
    let read = async {
        let c = crate::db::connect(&v.settings.db)
            .await
            .map_err(|e| e.to_string())?;
        let info = crate::cascade::node::node_info(&c, &v.settings.queue)
            .await
            .map_err(|e| e.to_string())?;
        let tables = sql::tables(&c, &v.settings.queue)
            .await
            .map_err(|e| e.to_string())?;
        let seqs = sql::seqs(&c, &v.settings.queue)
            .await
            .map_err(|e| e.to_string())?;
        let missing = sql::missing(&c, &v.settings.queue)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((info, tables, seqs, missing))
    };
    let (info, tables, seqs, missing) = match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            out.error = Some(e);
            return out;
        }
        Err(_) => {
            out.error = Some(format!(
                "no answer within {}",
                crate::fmt::duration(READ_TIMEOUT)
            ));
            return out;
        }
    };
    if let Some(i) = info {
        out.node = i.node_name.clone();
        out.node_type = NodeType::parse(&i.node_type);
    }
    let copies = v
        .applier
        .as_ref()
        .and_then(|a| a.clone().downcast::<LondisteExtra>().ok())
        .map(|x| x.copies.lock().map(|m| m.clone()).unwrap_or_default())
        .unwrap_or_default();
    for t in tables.into_iter().filter(|t| t.local) {
        let c = copies.get(&t.table_name);
        let copy = c.filter(|_| t.merge_state.is_copying()).map(|c| {
            let s = c.progress.snapshot();
            CopyView {
                phase: phase(s.phase).to_string(),
                rows: s.rows,
                bytes: s.bytes,
                est_rows: s.est_rows,
                rows_per_sec: s.rows_per_sec,
                eta: s.eta,
                parts: s.parts,
            }
        });
        out.tables.push(TableView {
            name: t.table_name.clone(),
            dest: t.dest_table.clone().filter(|d| *d != t.table_name),
            state: t.merge_state.to_string(),
            handler: t.table_attrs.handler().map(str::to_string),
            copy,
            last_error: c.and_then(|c| c.error.clone()),
        });
    }
    out.seqs = seqs
        .into_iter()
        .map(|s| SeqView {
            name: s.seq_name,
            local: s.local,
            last_value: s.last_value,
        })
        .collect();
    out.missing = missing
        .into_iter()
        .filter(|(k, _)| k == "r")
        .map(|(_, n)| n)
        .collect();
    out
}

/// The worker's job file keys (defaults when the worker shows none).
fn settings(w: &WorkerView) -> LondisteSettings {
    w.applier
        .as_ref()
        .and_then(|a| a.clone().downcast::<LondisteExtra>().ok())
        .map(|x| x.settings.clone())
        .unwrap_or_default()
}

fn worker<'a>(jobs: &'a [Arc<WorkerView>], name: &str) -> Result<&'a WorkerView, String> {
    jobs.iter()
        .find(|j| j.settings.worker == name)
        .map(|j| j.as_ref())
        .ok_or_else(|| format!("no Londiste worker named {name:?} in this deck"))
}

fn admin(w: &WorkerView) -> Admin {
    Admin::londiste(&w.settings.queue, &w.settings.db, &w.settings.worker)
}

/// Carry out a Tables view action; `None` when `action` is not one.
pub async fn execute(
    sup: &Supervisor,
    action: &Action,
    out: &UnboundedSender<Reply>,
) -> Option<Result<String, String>> {
    let jobs = londiste_jobs(sup);
    let mut p = Updates {
        action: action.clone(),
        out: out.clone(),
        refused: None,
    };
    let e = |e: crate::cascade::node::CascadeError| e.to_string();
    let r = match action {
        Action::AddTables { worker: w, tables } => {
            async {
                let w = worker(&jobs, w)?;
                let ls = settings(w);
                let o = AddTableOptions {
                    lock_timeout: ls.lock_timeout,
                    handler_settings: ls.handlers,
                    register: ls.register,
                    ..Default::default()
                };
                let added = ladmin::add_tables(&admin(w), tables, &o, &mut p)
                    .await
                    .map_err(e)?;
                Ok(format!("{} table(s) added on {}", added.len(), w.settings.worker))
            }
            .await
        }
        Action::RemoveTable { worker: w, table } => {
            async {
                let w = worker(&jobs, w)?;
                ladmin::remove_tables(&admin(w), std::slice::from_ref(table), false, &mut p)
                    .await
                    .map_err(e)?;
                Ok(format!("{table} removed on {}", w.settings.worker))
            }
            .await
        }
        Action::ResyncTable { worker: w, table } => {
            async {
                let w = worker(&jobs, w)?;
                ladmin::resync(&admin(w), std::slice::from_ref(table), false, None, &mut p)
                    .await
                    .map_err(e)?;
                Ok(format!("{table} will be copied again on {}", w.settings.worker))
            }
            .await
        }
        Action::ChangeHandler {
            worker: w,
            table,
            handler,
        } => {
            async {
                let w = worker(&jobs, w)?;
                let (name, args) = match handler.as_deref() {
                    None => (None, Vec::new()),
                    Some(h) => {
                        let (n, a) = parse_handler(h)?;
                        (
                            Some(n.to_string()),
                            a.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
                        )
                    }
                };
                ladmin::change_handler(
                    &admin(w),
                    table,
                    name.as_deref(),
                    &args,
                    &settings(w).handlers,
                    &mut p,
                )
                .await
                .map_err(e)?;
                Ok(format!(
                    "{table}: handler {}",
                    handler.as_deref().unwrap_or("removed")
                ))
            }
            .await
        }
        Action::ExecuteSql { worker: w, path } => {
            async {
                let w = worker(&jobs, w)?;
                let sql = std::fs::read_to_string(path)
                    .map_err(|err| format!("reading {path}: {err}"))?;
                let name = std::path::Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.clone());
                let mut c = crate::db::connect(&w.settings.db)
                    .await
                    .map_err(|err| err.to_string())?;
                let r = crate::londiste::execute::execute_on_root(
                    &mut c,
                    &w.settings.queue,
                    &[(name.clone(), sql)],
                )
                .await
                .map_err(|err| err.to_string())?;
                Ok(r
                    .first()
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| format!("{name}: nothing to do")))
            }
            .await
        }
        Action::CompareTables { worker: w, tables } => {
            async {
                let w = worker(&jobs, w)?;
                let ls = settings(w);
                let opts = crate::londiste::compare::SyncOptions {
                    lock_timeout: ls.lock_timeout,
                    handlers: ls.handlers,
                    ..Default::default()
                };
                let r = crate::londiste::compare::compare_with(&admin(w), tables, &opts, &mut p)
                    .await
                    .map_err(e)?;
                let bad: Vec<&str> = r
                    .iter()
                    .filter(|t| !t.equal())
                    .map(|t| t.table.as_str())
                    .collect();
                if bad.is_empty() {
                    Ok(format!("{} table(s) equal to the provider", r.len()))
                } else {
                    Err(format!(
                        "{} of {} table(s) differ from the provider: {} (repair with `skydeck londiste JOB.ini repair`)",
                        bad.len(),
                        r.len(),
                        bad.join(", ")
                    ))
                }
            }
            .await
        }
        _ => return None,
    };
    Some(r)
}
