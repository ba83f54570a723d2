//! Human descriptions of actions, naming every object they touch. The
//! confirmation popup, the read-only refusal and the result toast all use
//! them; names are quoted the way the command line reads them back.

use crate::fmt::{period, quote_name as q};
use crate::model::{Action, TakeoverKind};

fn takeover(queue: &str, old: &str, new: &str, kind: TakeoverKind, all: bool) -> String {
    let all = if all && kind == TakeoverKind::Switchover {
        format!(" (every subscriber of {} follows)", q(old))
    } else {
        String::new()
    };
    match kind {
        TakeoverKind::Switchover => format!(
            "switch over {} from root {} to {}{all}",
            q(queue),
            q(old),
            q(new)
        ),
        TakeoverKind::Failover => format!(
            "fail over {} from dead root {} to {}",
            q(queue),
            q(old),
            q(new)
        ),
        TakeoverKind::FailoverBranch => format!(
            "fail over dead branch {} of {} to {}",
            q(old),
            q(queue),
            q(new)
        ),
    }
}

/// `drop queue orders in shop@db1:5432`.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Refresh => "refresh now".into(),
        Action::SetRefresh(d) => format!("refresh every {}", period(*d)),
        Action::Tick { database, queue } => {
            format!("tick queue {} in {}", q(queue), q(database))
        }
        Action::CreateQueue { database, queue } => {
            format!("create queue {} in {}", q(queue), q(database))
        }
        Action::DropQueue {
            database,
            queue,
            force,
        } => {
            let f = if *force {
                " (force: unregisters its consumers)"
            } else {
                ""
            };
            format!("drop queue {} in {}{f}", q(queue), q(database))
        }
        Action::SetQueueConfig {
            database,
            queue,
            param,
            value,
        } => format!(
            "set {param} = '{}' on queue {} in {}",
            value.replace('\'', "''"),
            q(queue),
            q(database)
        ),
        Action::RegisterConsumer {
            database,
            queue,
            consumer,
        } => format!(
            "register consumer {} on queue {} in {}",
            q(consumer),
            q(queue),
            q(database)
        ),
        Action::UnregisterConsumer {
            database,
            queue,
            consumer,
        } => format!(
            "unregister consumer {} from queue {} in {}",
            q(consumer),
            q(queue),
            q(database)
        ),
        Action::RetryMaint { database } => {
            format!(
                "move due retry events back into their queues in {}",
                q(database)
            )
        }
        Action::Rotate { database, queue } => match queue {
            Some(queue) => format!(
                "rotate the event tables of queue {} in {}",
                q(queue),
                q(database)
            ),
            None => format!(
                "rotate the event tables of every due queue in {}",
                q(database)
            ),
        },
        Action::PauseWorker { worker } => format!("pause worker {}", q(worker)),
        Action::ResumeWorker { worker } => format!("resume worker {}", q(worker)),
        Action::RestartWorker { worker } => format!("restart worker {}", q(worker)),
        Action::PauseNode { queue, node } => format!("pause node {} on {}", q(node), q(queue)),
        Action::ResumeNode { queue, node } => {
            format!("resume node {} on {}", q(node), q(queue))
        }
        Action::ChangeProvider {
            queue,
            node,
            new_provider,
        } => format!(
            "change the provider of node {} on {} to {}",
            q(node),
            q(queue),
            q(new_provider)
        ),
        Action::Takeover {
            queue,
            old,
            new,
            kind,
            all,
        } => takeover(queue, old, new, *kind, *all),
        Action::TakeoverPlan {
            queue,
            old,
            new,
            kind,
            all,
        } => format!("dry run: {}", takeover(queue, old, new, *kind, *all)),
        Action::TagDead { queue, node } => format!("tag node {} dead on {}", q(node), q(queue)),
        Action::TagAlive { queue, node } => {
            format!("tag node {} alive on {}", q(node), q(queue))
        }
        Action::DropNode { queue, node } => format!("drop node {} from {}", q(node), q(queue)),
        Action::AddTables { worker, tables } => match tables.as_slice() {
            [one] => format!("add table {} on {}", q(one), q(worker)),
            many => format!(
                "add {} tables on {}: {}",
                many.len(),
                q(worker),
                names(many)
            ),
        },
        Action::RemoveTable { worker, table } => {
            format!("remove table {} on {}", q(table), q(worker))
        }
        Action::ResyncTable { worker, table } => {
            format!("resync table {} on {} (copy it again)", q(table), q(worker))
        }
        Action::ChangeHandler {
            worker,
            table,
            handler,
        } => match handler {
            Some(h) => format!(
                "set the handler of {} on {} to {}",
                q(table),
                q(worker),
                q(h)
            ),
            None => format!("remove the handler of {} on {}", q(table), q(worker)),
        },
        Action::ExecuteSql { worker, path } => {
            format!("execute SQL file {} on {}", q(path), q(worker))
        }
        Action::CompareTables { worker, tables } => match tables.as_slice() {
            [] => format!("compare every table on {} with its provider", q(worker)),
            [one] => format!(
                "compare table {} on {} with its provider",
                q(one),
                q(worker)
            ),
            many => format!(
                "compare {} tables on {} with its provider: {}",
                many.len(),
                q(worker),
                names(many)
            ),
        },
        Action::WalBackup { worker } => {
            format!("take a base backup of the master of {}", q(worker))
        }
        Action::WalSync { worker } => format!(
            "copy the current partial WAL segment of {} to the archive",
            q(worker)
        ),
        Action::WalPause { worker } => format!("pause WAL replay on standby {}", q(worker)),
        Action::WalContinue { worker } => {
            format!("continue WAL replay on standby {}", q(worker))
        }
        Action::WalBoot { worker } => format!(
            "end recovery and promote standby {} to a read-write primary",
            q(worker)
        ),
    }
}

/// Names joined by commas, at most eight, then `… and N more`.
fn names(list: &[String]) -> String {
    const MAX: usize = 8;
    let mut s: Vec<String> = list.iter().take(MAX).map(|n| q(n)).collect();
    if list.len() > MAX {
        s.push(format!("… and {} more", list.len() - MAX));
    }
    s.join(", ")
}

/// The title of a confirmation for these actions: `Drop queue?`,
/// `Unregister 3 consumers?`.
pub fn confirm_title(actions: &[Action]) -> String {
    let Some(first) = actions.first() else {
        return "Confirm".into();
    };
    let same = actions
        .iter()
        .all(|a| std::mem::discriminant(a) == std::mem::discriminant(first));
    let (verb, noun, nouns) = match first {
        Action::Refresh | Action::SetRefresh(_) => ("Refresh", "", ""),
        Action::Tick { .. } => ("Tick", "queue", "queues"),
        Action::CreateQueue { .. } => ("Create", "queue", "queues"),
        Action::DropQueue { .. } => ("Drop", "queue", "queues"),
        Action::SetQueueConfig { .. } => ("Change", "queue setting", "queue settings"),
        Action::RegisterConsumer { .. } => ("Register", "consumer", "consumers"),
        Action::UnregisterConsumer { .. } => ("Unregister", "consumer", "consumers"),
        Action::RetryMaint { .. } => ("Run", "retry maintenance", "retry maintenance"),
        Action::Rotate { .. } => ("Rotate", "event tables", "event tables"),
        Action::PauseWorker { .. } => ("Pause", "worker", "workers"),
        Action::ResumeWorker { .. } => ("Resume", "worker", "workers"),
        Action::RestartWorker { .. } => ("Restart", "worker", "workers"),
        Action::PauseNode { .. } => ("Pause", "node", "nodes"),
        Action::ResumeNode { .. } => ("Resume", "node", "nodes"),
        Action::ChangeProvider { .. } => ("Change", "provider", "providers"),
        Action::Takeover {
            kind: TakeoverKind::Switchover,
            ..
        } => ("Switch over", "", ""),
        Action::Takeover { .. } => ("Fail over", "", ""),
        Action::TakeoverPlan { .. } => ("Check", "takeover", "takeovers"),
        Action::TagDead { .. } => ("Tag", "node dead", "nodes dead"),
        Action::TagAlive { .. } => ("Tag", "node alive", "nodes alive"),
        Action::DropNode { .. } => ("Drop", "node", "nodes"),
        Action::AddTables { tables, .. } if actions.len() == 1 && tables.len() > 1 => {
            return format!("Add {} tables?", tables.len());
        }
        Action::AddTables { .. } => ("Add", "table", "tables"),
        Action::RemoveTable { .. } => ("Remove", "table", "tables"),
        Action::ResyncTable { .. } => ("Resync", "table", "tables"),
        Action::ChangeHandler { .. } => ("Change", "handler", "handlers"),
        Action::ExecuteSql { .. } => ("Execute", "SQL file", "SQL files"),
        Action::CompareTables { .. } => ("Compare", "tables", "tables"),
        Action::WalBackup { .. } => ("Take", "base backup", "base backups"),
        Action::WalSync { .. } => ("Sync", "partial WAL", "partial WAL"),
        Action::WalPause { .. } => ("Pause", "replay", "replays"),
        Action::WalContinue { .. } => ("Continue", "replay", "replays"),
        Action::WalBoot { .. } => ("Promote", "standby", "standbys"),
    };
    if !same {
        return format!("Run {} actions?", actions.len());
    }
    if actions.len() == 1 {
        format!("{verb} {noun}?").replace(" ?", "?")
    } else {
        format!("{verb} {} {nouns}?", actions.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_objects() {
        let a = Action::DropQueue {
            database: "shop@db1:5432".into(),
            queue: "billing events".into(),
            force: true,
        };
        assert_eq!(
            describe(&a),
            "drop queue \"billing events\" in shop@db1:5432 (force: unregisters its consumers)"
        );
        assert_eq!(confirm_title(&[a]), "Drop queue?");
        let u = |c: &str| Action::UnregisterConsumer {
            database: "d".into(),
            queue: "q".into(),
            consumer: c.into(),
        };
        assert_eq!(confirm_title(&[u("a"), u("b")]), "Unregister 2 consumers?");
        let s = Action::SetQueueConfig {
            database: "d".into(),
            queue: "q".into(),
            param: "ticker_max_lag".into(),
            value: "3 s".into(),
        };
        assert_eq!(describe(&s), "set ticker_max_lag = '3 s' on queue q in d");
    }

    #[test]
    fn table_actions() {
        let w = || "stats_branch_worker".to_string();
        let add = Action::AddTables {
            worker: w(),
            tables: vec!["public.a".into(), "public.b".into()],
        };
        assert_eq!(
            describe(&add),
            "add 2 tables on stats_branch_worker: public.a, public.b"
        );
        assert_eq!(confirm_title(&[add]), "Add 2 tables?");
        let h = Action::ChangeHandler {
            worker: w(),
            table: "public.a".into(),
            handler: Some("bulk(method=1)".into()),
        };
        assert_eq!(
            describe(&h),
            "set the handler of public.a on stats_branch_worker to \"bulk(method=1)\""
        );
        assert_eq!(confirm_title(&[h]), "Change handler?");
        let x = Action::ExecuteSql {
            worker: w(),
            path: "sql/add column.sql".into(),
        };
        assert_eq!(
            describe(&x),
            "execute SQL file \"sql/add column.sql\" on stats_branch_worker"
        );
        let c = Action::CompareTables {
            worker: w(),
            tables: vec![],
        };
        assert_eq!(
            describe(&c),
            "compare every table on stats_branch_worker with its provider"
        );
    }
}
