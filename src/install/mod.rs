//! The embedded SQL and its installer.
//!
//! Each component (today `pgq`; later `pgq_node`, `pgq_coop`, `pgq_ext`,
//! `londiste`) is one or more idempotent install-and-upgrade scripts from
//! `sql/`, carrying a `-- skydeck-revision: N` marker and defining
//! `<schema>.skydeck_revision()`. Installing runs the scripts in one
//! transaction under an advisory lock, after refusing what must not be
//! overwritten: the C extension, a schema skydeck did not install, or a
//! newer revision than this binary carries.

use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use crate::db::{quote_ident, DbError};

/// One SQL file embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    pub path: &'static str,
    pub text: &'static str,
}

/// A schema skydeck can install.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub name: &'static str,
    pub schema: &'static str,
    /// Installed in this order; the first one carries the revision marker.
    pub files: &'static [SqlFile],
    /// Components that must be installed first.
    pub requires: &'static [&'static str],
    /// The C extension this component replaces.
    pub extension: &'static str,
}

pub const COMPONENTS: &[Component] = &[
    Component {
        name: "pgq",
        schema: "pgq",
        files: &[
            SqlFile {
                path: "sql/pgq.sql",
                text: include_str!("../../sql/pgq.sql"),
            },
            SqlFile {
                path: "sql/pgq_triggers.sql",
                text: include_str!("../../sql/pgq_triggers.sql"),
            },
        ],
        requires: &[],
        extension: "pgq",
    },
    Component {
        name: "pgq_node",
        schema: "pgq_node",
        files: &[SqlFile {
            path: "sql/pgq_node.sql",
            text: include_str!("../../sql/pgq_node.sql"),
        }],
        requires: &["pgq"],
        extension: "pgq_node",
    },
    Component {
        name: "pgq_coop",
        schema: "pgq_coop",
        files: &[SqlFile {
            path: "sql/pgq_coop.sql",
            text: include_str!("../../sql/pgq_coop.sql"),
        }],
        requires: &["pgq"],
        extension: "pgq_coop",
    },
    Component {
        name: "pgq_ext",
        schema: "pgq_ext",
        files: &[SqlFile {
            path: "sql/pgq_ext.sql",
            text: include_str!("../../sql/pgq_ext.sql"),
        }],
        requires: &[],
        extension: "pgq_ext",
    },
    Component {
        name: "londiste",
        schema: "londiste",
        files: &[SqlFile {
            path: "sql/londiste.sql",
            text: include_str!("../../sql/londiste.sql"),
        }],
        requires: &["pgq", "pgq_node"],
        extension: "londiste",
    },
];

/// Key for the advisory lock that serialises concurrent installers.
const INSTALL_LOCK_KEY: i64 = 0x736b_7964_6563_6b01; // "skydeck" + 1

impl Component {
    /// The revision this binary carries (the marker in the first file).
    pub fn revision(&self) -> i32 {
        parse_revision(self.files[0].text).unwrap_or_else(|| {
            panic!(
                "{}: missing '-- skydeck-revision: N' marker",
                self.files[0].path
            )
        })
    }
}

/// Find a component by name.
pub fn component(name: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.name == name)
}

/// The number in the first `-- skydeck-revision: N` line.
pub fn parse_revision(text: &str) -> Option<i32> {
    text.lines()
        .take(40)
        .find_map(|l| l.trim().strip_prefix("-- skydeck-revision:"))
        .and_then(|v| v.trim().parse().ok())
}

/// What a database holds for one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Installed {
    /// No schema of that name.
    Absent,
    /// Installed by skydeck.
    Skydeck { revision: i32, api_version: String },
    /// The original C extension (`CREATE EXTENSION`).
    Extension { version: String },
    /// A schema of that name that skydeck did not install.
    Foreign { api_version: Option<String> },
}

impl fmt::Display for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Installed::Absent => write!(f, "not installed"),
            Installed::Skydeck {
                revision,
                api_version,
            } => write!(f, "skydeck revision {revision} (API {api_version})"),
            Installed::Extension { version } => write!(f, "C extension, version {version}"),
            Installed::Foreign { api_version } => match api_version {
                Some(v) => write!(f, "foreign install (version() = {v})"),
                None => write!(f, "foreign schema (not installed by skydeck)"),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("unknown component {0:?}; known: {known}", known = known_names())]
    UnknownComponent(String),
    #[error(
        "{component}: the C extension {component} {version} is installed in this database; skydeck's \
         {component} is its plain-SQL replacement and is not installed over it. To switch: stop the \
         consumers and the ticker, let the queues drain, `DROP EXTENSION {component} CASCADE` \
         (this drops its queues and triggers), then run `skydeck install` again"
    )]
    Extension { component: String, version: String },
    #[error(
        "{component}: schema {schema} exists but was not installed by skydeck{}; refusing to overwrite it. \
         Rename it (ALTER SCHEMA {schema} RENAME TO {schema}_old) or drop it, then install again",
        .api_version.as_ref().map(|v| format!(" (its version() says {v})")).unwrap_or_default()
    )]
    Foreign {
        component: String,
        schema: String,
        api_version: Option<String>,
    },
    #[error(
        "{component}: revision {installed} is installed, newer than the revision {embedded} this skydeck \
         carries; use a skydeck at least as new as the one that installed it (downgrades are not supported)"
    )]
    Newer {
        component: String,
        installed: i32,
        embedded: i32,
    },
    #[error("{component}: running {path}: {}", crate::db::describe(.cause))]
    Script {
        component: String,
        path: String,
        cause: tokio_postgres::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

fn known_names() -> String {
    COMPONENTS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `install` did for one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallReport {
    pub component: String,
    pub before: Installed,
    pub revision: i32,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Installed,
    Upgraded,
    Reapplied,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Installed => "installed",
            Action::Upgraded => "upgraded",
            Action::Reapplied => "already current, re-applied",
        })
    }
}

/// Expand names (empty = every component) with their requirements, in
/// install order.
pub fn resolve(names: &[String]) -> Result<Vec<&'static Component>, InstallError> {
    let wanted: Vec<&'static Component> = if names.is_empty() {
        COMPONENTS.iter().collect()
    } else {
        names
            .iter()
            .map(|n| component(n).ok_or_else(|| InstallError::UnknownComponent(n.clone())))
            .collect::<Result<_, _>>()?
    };
    let mut out: Vec<&'static Component> = Vec::new();
    fn add(c: &'static Component, out: &mut Vec<&'static Component>) {
        for r in c.requires {
            if let Some(rc) = component(r) {
                add(rc, out);
            }
        }
        if !out.iter().any(|o| o.name == c.name) {
            out.push(c);
        }
    }
    for c in wanted {
        add(c, &mut out);
    }
    Ok(out)
}

/// What the database holds for `c`.
pub async fn inspect<C: tokio_postgres::GenericClient + Sync>(
    client: &C,
    c: &Component,
) -> Result<Installed, DbError> {
    let ctx = |what: &str| format!("inspecting {}: {what}", c.name);
    let ext = client
        .query_opt(
            "select extversion from pg_catalog.pg_extension where extname = $1",
            &[&c.extension],
        )
        .await
        .map_err(|e| DbError::query(ctx("pg_extension"), e))?;
    if let Some(row) = ext {
        return Ok(Installed::Extension {
            version: row.get(0),
        });
    }
    let row = client
        .query_one(
            "select exists (select 1 from pg_catalog.pg_namespace where nspname = $1), \
                    exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n \
                            on n.oid = p.pronamespace where n.nspname = $1 and p.proname = 'skydeck_revision'), \
                    exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n \
                            on n.oid = p.pronamespace where n.nspname = $1 and p.proname = 'version')",
            &[&c.schema],
        )
        .await
        .map_err(|e| DbError::query(ctx("catalog"), e))?;
    let (schema, ours, has_version): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !schema {
        return Ok(Installed::Absent);
    }
    let api_version = if has_version {
        let q = format!("select {}.version()::text", quote_ident(c.schema));
        client
            .query_one(q.as_str(), &[])
            .await
            .ok()
            .and_then(|r| r.get::<_, Option<String>>(0))
    } else {
        None
    };
    if !ours {
        return Ok(Installed::Foreign { api_version });
    }
    let q = format!("select {}.skydeck_revision()", quote_ident(c.schema));
    let revision: i32 = client
        .query_one(q.as_str(), &[])
        .await
        .map_err(|e| DbError::query(ctx("skydeck_revision()"), e))?
        .get(0);
    Ok(Installed::Skydeck {
        revision,
        api_version: api_version.unwrap_or_default(),
    })
}

/// Install or upgrade the named components (empty = all) in one
/// transaction.
pub async fn install(
    client: &mut Client,
    names: &[String],
) -> Result<Vec<InstallReport>, InstallError> {
    let comps = resolve(names)?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| DbError::query("install: begin", e))?;
    tx.execute(
        "select pg_catalog.pg_advisory_xact_lock($1)",
        &[&INSTALL_LOCK_KEY],
    )
    .await
    .map_err(|e| DbError::query("install: taking the installer lock", e))?;
    let mut reports = Vec::new();
    for c in comps {
        let before = inspect(&tx, c).await?;
        let embedded = c.revision();
        let action = match &before {
            Installed::Absent => Action::Installed,
            Installed::Skydeck { revision, .. } if *revision > embedded => {
                return Err(InstallError::Newer {
                    component: c.name.into(),
                    installed: *revision,
                    embedded,
                })
            }
            Installed::Skydeck { revision, .. } if *revision < embedded => Action::Upgraded,
            Installed::Skydeck { .. } => Action::Reapplied,
            Installed::Extension { version } => {
                return Err(InstallError::Extension {
                    component: c.name.into(),
                    version: version.clone(),
                })
            }
            Installed::Foreign { api_version } => {
                return Err(InstallError::Foreign {
                    component: c.name.into(),
                    schema: c.schema.into(),
                    api_version: api_version.clone(),
                })
            }
        };
        for f in c.files {
            tx.batch_execute(f.text)
                .await
                .map_err(|e| InstallError::Script {
                    component: c.name.into(),
                    path: f.path.into(),
                    cause: e,
                })?;
        }
        reports.push(InstallReport {
            component: c.name.into(),
            before,
            revision: embedded,
            action,
        });
    }
    tx.commit()
        .await
        .map_err(|e| DbError::query("install: commit", e))?;
    Ok(reports)
}

/// One line of `skydeck install --check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub component: String,
    pub installed: Installed,
    pub embedded_revision: i32,
    pub verdict: String,
}

/// Report what is installed, without changing anything.
pub async fn check(client: &Client, names: &[String]) -> Result<Vec<CheckReport>, InstallError> {
    let mut out = Vec::new();
    for c in resolve(names)? {
        let installed = inspect(client, c).await?;
        let embedded = c.revision();
        let verdict = match &installed {
            Installed::Absent => "not installed: run `skydeck install`".to_string(),
            Installed::Skydeck { revision, .. } if *revision == embedded => "current".to_string(),
            Installed::Skydeck { revision, .. } if *revision < embedded => {
                format!("upgrade available ({revision} -> {embedded}): run `skydeck install`")
            }
            Installed::Skydeck { .. } => "newer than this skydeck: upgrade skydeck".to_string(),
            Installed::Extension { .. } => {
                "the C extension: skydeck works with it as a client, but will not install over it"
                    .to_string()
            }
            Installed::Foreign { .. } => {
                "not installed by skydeck: will not be overwritten".to_string()
            }
        };
        out.push(CheckReport {
            component: c.name.into(),
            installed,
            embedded_revision: embedded,
            verdict,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_carries_the_component_revision() {
        for c in COMPONENTS {
            let r = c.revision();
            assert!(r >= 1, "{}: revision {r}", c.name);
            for f in c.files {
                assert_eq!(
                    parse_revision(f.text),
                    Some(r),
                    "{} must carry '-- skydeck-revision: {r}'",
                    f.path
                );
            }
        }
    }

    #[test]
    fn resolve_orders_and_rejects() {
        let all = resolve(&[]).unwrap();
        assert_eq!(all[0].name, "pgq");
        assert!(matches!(
            resolve(&["nope".into()]),
            Err(InstallError::UnknownComponent(n)) if n == "nope"
        ));
        let msg = resolve(&["nope".into()]).unwrap_err().to_string();
        assert!(msg.contains("known: pgq"), "{msg}");
    }

    #[test]
    fn revision_marker_parsing() {
        assert_eq!(parse_revision("-- x\n-- skydeck-revision: 7\n"), Some(7));
        assert_eq!(parse_revision("-- x\n"), None);
    }
}
