//! `skydeck install`: install, upgrade or check the embedded SQL.

use anyhow::Result;
use clap::Args;

use super::{print_json, DbArgs};
use crate::fmt::Table;
use crate::install;

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only report what is installed; change nothing.
    #[arg(long)]
    pub check: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Components to install (default: all). Known: pgq.
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,
}

pub async fn run(a: InstallArgs) -> Result<()> {
    let mut client = a.db.connect().await?;
    if a.check {
        let reports = install::check(&client, &a.components).await?;
        if a.json {
            return print_json(&reports);
        }
        let mut t = Table::new(["component", "installed", "this skydeck", "verdict"]);
        for r in &reports {
            t.row([
                r.component.clone(),
                r.installed.to_string(),
                format!("revision {}", r.embedded_revision),
                r.verdict.clone(),
            ]);
        }
        print!("{}", t.render());
        return Ok(());
    }
    let reports = install::install(&mut client, &a.components).await?;
    if a.json {
        return print_json(&reports);
    }
    for r in &reports {
        println!("{}: {} (revision {})", r.component, r.action, r.revision);
    }
    Ok(())
}
