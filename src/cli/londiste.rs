//! `skydeck londiste JOB.ini COMMAND`: the cascade commands (see
//! `cascade.rs`) plus Londiste's table, sequence and script commands.
//! `rename-node`, `check` and `fkeys` were broken stubs in the original and
//! are not offered (foreign keys are handled by the worker: see `tables`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::cascade::{self, CascadeArgs, CascadeCommand, Printer};
use super::print_json;
use crate::cascade::admin::Admin;
use crate::fmt::Table;
use crate::londiste::admin::{self as ladmin, AddTableOptions};
use crate::londiste::compare::{self, SyncOptions};
use crate::londiste::sql;
use crate::londiste::worker::{Londiste, LondisteSettings};

#[derive(Debug, Args)]
pub struct LondisteArgs {
    /// The job file: `[londiste]` (or `[londiste3]`) with `db` and `queue_name`.
    pub job: PathBuf,
    /// Print JSON where the command shows data.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: LondisteCommand,
}

#[derive(Debug, Subcommand)]
pub enum LondisteCommand {
    #[command(flatten)]
    Cascade(CascadeCommand),
    /// Replicate tables on this node (globs `*`/`?`; schema defaults to public).
    AddTable(AddTableArgs),
    /// Stop replicating tables here (on the root: everywhere).
    RemoveTable {
        tables: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Set (or with no --handler, remove) a table's handler.
    ChangeHandler {
        table: String,
        #[arg(long)]
        handler: Option<String>,
        #[arg(long = "handler-arg")]
        handler_arg: Vec<String>,
    },
    /// Replicate sequences on this node.
    AddSeq {
        seqs: Vec<String>,
        #[arg(long)]
        all: bool,
        /// Create a missing sequence.
        #[arg(long)]
        create: bool,
        /// Same as --create for sequences.
        #[arg(long)]
        create_full: bool,
        #[arg(long)]
        skip_non_existing: bool,
    },
    /// Stop replicating sequences here.
    RemoveSeq { seqs: Vec<String> },
    /// The tables registered here: local, merge state, attributes.
    Tables {
        #[arg(long)]
        names_only: bool,
    },
    /// The sequences registered here.
    Seqs,
    /// What could be added here.
    Missing,
    /// Copy tables again.
    Resync {
        tables: Vec<String>,
        #[arg(long)]
        find_copy_node: bool,
        #[arg(long)]
        copy_node: Option<String>,
    },
    /// Run SQL scripts on the root; they replay on every node in order.
    Execute { files: Vec<PathBuf> },
    /// The handlers built in.
    ShowHandlers { names: Vec<String> },
    /// Wait until every local table is in sync.
    WaitSync,
    /// Compare tables here with the provider, or the nearest node above
    /// that has them (row count and an md5-based checksum at one point of
    /// the stream), several tables at once; the exit code is the number of
    /// tables that differ or could not be compared.
    Compare {
        /// Tables (globs allowed); all local tables in sync when none.
        tables: Vec<String>,
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Make tables here equal to the provider's (or the nearest node's above
    /// that has them), several tables at once:
    /// writes fix.<table>.sql, or runs it with --apply; the exit code is the
    /// number of tables that could not be repaired.
    Repair {
        /// Tables (globs allowed); all local tables in sync when none.
        tables: Vec<String>,
        /// Run the fix here (in replica role, one transaction per table).
        #[arg(long)]
        apply: bool,
        /// Only rows matching this SQL condition, on both sides.
        #[arg(long)]
        repair_where: Option<String>,
        #[command(flatten)]
        sync: SyncArgs,
    },
}

/// How compare and repair lock and how many tables they take at once.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Wait for the SHARE lock on the root's table (and for the nodes under
    /// it) without the job file's lock_timeout (default 10 s).
    #[arg(long)]
    pub force: bool,
    /// Tables worked on at once, each on its own connections.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

impl SyncArgs {
    fn options(&self, ls: &LondisteSettings) -> SyncOptions {
        SyncOptions {
            lock_timeout: ls.lock_timeout,
            force: self.force,
            parallel: usize::from(self.parallel),
            handlers: ls.handlers.clone(),
        }
    }
}

/// `fix.<table>.sql`, with no path separator taken from the name.
fn fix_file(table: &str) -> String {
    format!("fix.{}.sql", table.replace(['/', '\\', '\0'], "_"))
}

#[derive(Debug, Args)]
pub struct AddTableArgs {
    pub tables: Vec<String>,
    /// Every table `missing` lists.
    #[arg(long)]
    pub all: bool,
    /// After adding, wait until the tables are in sync.
    #[arg(long)]
    pub wait_sync: bool,
    /// Apply into a differently named local table.
    #[arg(long)]
    pub dest_table: Option<String>,
    /// Accept names found in no list.
    #[arg(long)]
    pub force: bool,
    /// The table is already in sync: no copy.
    #[arg(long)]
    pub expect_sync: bool,
    /// The copy does not empty the local table first.
    #[arg(long)]
    pub skip_truncate: bool,
    /// Create a missing local table from the provider's: columns and primary key.
    #[arg(long)]
    pub create: bool,
    /// Like --create, with defaults, check/unique/exclusion constraints and indexes.
    #[arg(long)]
    pub create_full: bool,
    /// Trigger flags: letters of B A I U D Q L J S.
    #[arg(long)]
    pub trigger_flags: Option<String>,
    /// Extra argument for the pgq trigger (repeatable).
    #[arg(long = "trigger-arg")]
    pub trigger_arg: Vec<String>,
    /// Register without triggers.
    #[arg(long)]
    pub no_triggers: bool,
    #[arg(long)]
    pub handler: Option<String>,
    /// Handler argument KEY=VALUE (repeatable).
    #[arg(long = "handler-arg")]
    pub handler_arg: Vec<String>,
    /// Copy from the nearest node up the cascade that has the table.
    #[arg(long)]
    pub find_copy_node: bool,
    /// Copy from this member instead of the provider.
    #[arg(long)]
    pub copy_node: Option<String>,
    #[arg(long)]
    pub merge_all: bool,
    #[arg(long)]
    pub no_merge: bool,
    #[arg(long)]
    pub max_parallel_copy: Option<u32>,
    /// Skip (with a note) tables that do not exist here or on the provider.
    #[arg(long)]
    pub skip_non_existing: bool,
}

pub async fn run(a: LondisteArgs) -> Result<()> {
    let cmd = match a.cmd {
        LondisteCommand::Cascade(CascadeCommand::Worker) => {
            let job = cascade::load_job(&a.job)?;
            let ls = LondisteSettings::from_job(&job.file)?;
            let applier = Arc::new(Londiste::new(&job.queue, &job.file.job_name, &job.db, ls));
            return cascade::run_worker(job, Some(applier)).await;
        }
        LondisteCommand::Cascade(c) => {
            return cascade::run(CascadeArgs {
                job: a.job,
                json: a.json,
                cmd: c,
                londiste: true,
            })
            .await
        }
        other => other,
    };
    super::init_stderr_warnings();
    let job = cascade::load_job(&a.job)?;
    let ls = LondisteSettings::from_job(&job.file)?;
    let admin = Admin::londiste(&job.queue, &job.db, &job.file.job_name);
    let mut p = Printer;
    match cmd {
        LondisteCommand::Cascade(_) => unreachable!("handled above"),
        LondisteCommand::AddTable(t) => {
            if t.tables.is_empty() && !t.all {
                bail!("name the tables to add (globs allowed), or --all");
            }
            let o = AddTableOptions {
                all: t.all,
                dest_table: t.dest_table,
                force: t.force,
                expect_sync: t.expect_sync,
                skip_truncate: t.skip_truncate,
                create: if t.create_full {
                    Some(true)
                } else if t.create {
                    Some(false)
                } else {
                    None
                },
                trigger_flags: t.trigger_flags,
                trigger_args: t.trigger_arg,
                no_triggers: t.no_triggers,
                handler: t.handler,
                handler_args: t.handler_arg,
                find_copy_node: t.find_copy_node,
                copy_node: t.copy_node,
                merge_all: t.merge_all,
                no_merge: t.no_merge,
                max_parallel_copy: t.max_parallel_copy,
                skip_non_existing: t.skip_non_existing,
                lock_timeout: ls.lock_timeout,
                handler_settings: ls.handlers.clone(),
                register: ls.register.clone(),
            };
            ladmin::add_tables(&admin, &t.tables, &o, &mut p).await?;
            if t.wait_sync {
                ladmin::wait_sync(&admin, &mut p).await?;
            }
        }
        LondisteCommand::RemoveTable { tables, all } => {
            if tables.is_empty() && !all {
                bail!("name the tables to remove, or --all");
            }
            ladmin::remove_tables(&admin, &tables, all, &mut p).await?
        }
        LondisteCommand::ChangeHandler {
            table,
            handler,
            handler_arg,
        } => {
            ladmin::change_handler(
                &admin,
                &table,
                handler.as_deref(),
                &handler_arg,
                &ls.handlers,
                &mut p,
            )
            .await?
        }
        LondisteCommand::AddSeq {
            seqs,
            all,
            create,
            create_full,
            skip_non_existing,
        } => {
            if seqs.is_empty() && !all {
                bail!("name the sequences to add, or --all");
            }
            ladmin::add_seqs(
                &admin,
                &seqs,
                all,
                create || create_full,
                skip_non_existing,
                &ls.register,
                &mut p,
            )
            .await?
        }
        LondisteCommand::RemoveSeq { seqs } => ladmin::remove_seqs(&admin, &seqs, &mut p).await?,
        LondisteCommand::Tables { names_only } => {
            let c = admin.local().await?;
            let ts: Vec<sql::TableInfo> = sql::tables(&c, &job.queue)
                .await?
                .into_iter()
                .filter(|t| t.local)
                .collect();
            if a.json {
                return print_json(&ts);
            }
            if names_only {
                for t in ts {
                    println!("{}", t.table_name);
                }
                return Ok(());
            }
            let mut tab = Table::new(["table", "state", "dest", "attrs", "snapshot"]);
            for t in ts {
                tab.row([
                    t.table_name.clone(),
                    t.merge_state.to_string(),
                    t.dest_table.clone().unwrap_or_default(),
                    t.table_attrs.encode().unwrap_or_default(),
                    t.custom_snapshot.clone().unwrap_or_default(),
                ]);
            }
            print!("{}", tab.render());
        }
        LondisteCommand::Seqs => {
            let c = admin.local().await?;
            let ss = sql::seqs(&c, &job.queue).await?;
            if a.json {
                return print_json(&ss);
            }
            let mut tab = Table::new(["sequence", "local", "last_value"]);
            for s in ss {
                tab.row([
                    s.seq_name,
                    s.local.to_string(),
                    s.last_value.map(|v| v.to_string()).unwrap_or_default(),
                ]);
            }
            print!("{}", tab.render());
        }
        LondisteCommand::Missing => {
            let c = admin.local().await?;
            let m = sql::missing(&c, &job.queue).await?;
            if a.json {
                return print_json(&m);
            }
            let mut tab = Table::new(["kind", "name"]);
            for (k, n) in m {
                let kind = if k == "S" { "sequence" } else { "table" };
                tab.row([kind.to_string(), n]);
            }
            print!("{}", tab.render());
        }
        LondisteCommand::Resync {
            tables,
            find_copy_node,
            copy_node,
        } => {
            if tables.is_empty() {
                bail!("name the tables to copy again");
            }
            ladmin::resync(
                &admin,
                &tables,
                find_copy_node,
                copy_node.as_deref(),
                &mut p,
            )
            .await?
        }
        LondisteCommand::Execute { files } => {
            if files.is_empty() {
                bail!("name the SQL files to run");
            }
            let mut scripts = Vec::new();
            for f in &files {
                let sql = std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| f.display().to_string());
                scripts.push((name, sql));
            }
            let mut c = admin.local().await?;
            let out =
                crate::londiste::execute::execute_on_root(&mut c, &job.queue, &scripts).await?;
            if a.json {
                return print_json(&out);
            }
            for o in out {
                println!("{o}");
            }
        }
        LondisteCommand::ShowHandlers { names } => {
            for (n, doc) in crate::londiste::handler::catalogue() {
                if names.is_empty() || names.contains(&n) {
                    println!("{n:<12} {doc}");
                }
            }
        }
        LondisteCommand::WaitSync => ladmin::wait_sync(&admin, &mut p).await?,
        LondisteCommand::Compare { tables, sync } => {
            let r = compare::compare_with(&admin, &tables, &sync.options(&ls), &mut p).await?;
            let bad = r.iter().filter(|t| !t.equal()).count();
            let failed = r.iter().filter(|t| t.error.is_some()).count();
            if a.json {
                print_json(&r)?;
            } else {
                let mut tab = Table::new(["table", "source rows", "local rows", "result"]);
                for t in &r {
                    let (src, here, result) = match &t.error {
                        Some(_) => (String::new(), String::new(), "FAILED"),
                        None => (
                            t.source_rows.to_string(),
                            t.local_rows.to_string(),
                            if t.equal() { "equal" } else { "DIFFERENT" },
                        ),
                    };
                    tab.row([t.table.clone(), src, here, result.to_string()]);
                }
                print!("{}", tab.render());
                for t in &r {
                    if let Some(e) = &t.error {
                        println!("{}: {e}", t.table);
                    }
                }
                println!(
                    "{} table(s): {} equal, {} different, {failed} failed",
                    r.len(),
                    r.len() - bad,
                    bad - failed,
                );
            }
            if bad > 0 {
                std::process::exit(bad.min(125) as i32);
            }
        }
        LondisteCommand::Repair {
            tables,
            apply,
            repair_where,
            sync,
        } => {
            let opts = compare::RepairOptions {
                sync: sync.options(&ls),
                apply,
                repair_where,
            };
            let r = compare::repair_with(&admin, &tables, &opts, &mut p).await?;
            let mut files = Vec::new();
            for t in &r {
                let file = if !apply && t.error.is_none() && !t.sql.is_empty() {
                    let f = fix_file(&t.table);
                    std::fs::write(&f, &t.sql).with_context(|| format!("writing {f}"))?;
                    Some(f)
                } else {
                    None
                };
                files.push(file);
            }
            let failed = r.iter().filter(|t| t.error.is_some()).count();
            if a.json {
                print_json(&r)?;
            } else {
                let mut tab = Table::new(["table", "inserts", "updates", "deletes", "result"]);
                for (t, f) in r.iter().zip(&files) {
                    let result = match (&t.error, f) {
                        (Some(_), _) => "FAILED".to_string(),
                        (None, Some(f)) => format!("wrote {f}"),
                        (None, None) if t.applied => "applied".to_string(),
                        (None, None) => "equal".to_string(),
                    };
                    tab.row([
                        t.table.clone(),
                        t.inserts.to_string(),
                        t.updates.to_string(),
                        t.deletes.to_string(),
                        result,
                    ]);
                }
                print!("{}", tab.render());
                for t in &r {
                    if let Some(e) = &t.error {
                        println!("{}: {e}", t.table);
                    }
                }
            }
            if failed > 0 {
                std::process::exit(failed.min(125) as i32);
            }
        }
    }
    Ok(())
}
