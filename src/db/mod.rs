//! Connections, quoting and the rendering of server errors.
//!
//! Everything that turns a name into SQL goes through [`quote_ident`] /
//! [`quote_fqname`]; values are always bind parameters. Connection strings
//! pass through [`mask_connstr`] before they reach a log line, an error or the
//! screen.

use std::fmt;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// An error talking to PostgreSQL, with what we were doing and where.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("bad connection string {connstr}: {message}")]
    BadConnstr { connstr: String, message: String },
    // The driver error is kept but not exposed as `source()`: its text is
    // already in the message, and error chains would print it twice.
    #[error("cannot connect to {connstr}: {}", describe(.cause))]
    Connect {
        connstr: String,
        cause: tokio_postgres::Error,
    },
    #[error("{context}: {}", describe(.cause))]
    Query {
        context: String,
        cause: tokio_postgres::Error,
    },
}

impl DbError {
    /// Wrap a driver error with what we were doing.
    pub fn query(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        DbError::Query {
            context: context.into(),
            cause: source,
        }
    }

    /// The SQLSTATE, when the server reported one.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            DbError::Connect { cause, .. } | DbError::Query { cause, .. } => cause.code(),
            DbError::BadConnstr { .. } => None,
        }
    }

    /// The server's primary message, when the server reported one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            DbError::Connect { cause, .. } | DbError::Query { cause, .. } => {
                cause.as_db_error().map(|d| d.message())
            }
            DbError::BadConnstr { .. } => None,
        }
    }
}

/// Render a driver error the way an operator needs it: the server's
/// severity, message, SQLSTATE, detail and hint, or the I/O cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(d) = db.detail() {
            s.push_str(&format!("; DETAIL: {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; HINT: {h}"));
        }
        if let Some(w) = db.where_() {
            // Where an unexpected error happened inside a function helps;
            // for a deliberate RAISE the message says it all.
            let first = w.lines().next().unwrap_or(w);
            if !first.ends_with("at RAISE") {
                s.push_str(&format!("; CONTEXT: {first}"));
            }
        }
        return s;
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// A connection string that is safe to show: it prints with the password
/// masked.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnStr(String);

impl ConnStr {
    pub fn new(s: impl Into<String>) -> Self {
        ConnStr(s.into())
    }
    /// The real string, with the password. Only for handing to the driver
    /// or to a file that is readable by its owner only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        mask_connstr(&self.0)
    }
}

impl fmt::Display for ConnStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for ConnStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnStr({:?})", self.masked())
    }
}

/// Connect with a libpq-style connection string (key=value or URI). The
/// connection task runs on the current tokio runtime; errors name the
/// (masked) target.
pub async fn connect(connstr: &str) -> Result<Client, DbError> {
    let config: Config =
        connstr
            .parse()
            .map_err(|e: tokio_postgres::Error| DbError::BadConnstr {
                connstr: mask_connstr(connstr),
                message: e.to_string(),
            })?;
    connect_config(&config, connstr).await
}

/// Connect with a parsed config; `label` is shown (masked) in errors.
pub async fn connect_config(config: &Config, label: &str) -> Result<Client, DbError> {
    let mut config = config.clone();
    if config.get_application_name().is_none() {
        config.application_name("skydeck");
    }
    let (client, conn) = config.connect(NoTls).await.map_err(|e| DbError::Connect {
        connstr: mask_connstr(label),
        cause: e,
    })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection closed: {}", describe(&e));
        }
    });
    Ok(client)
}

/// Connect and forward the server's notifications (`NOTIFY`) to the
/// returned channel; it closes when the connection does.
pub async fn connect_with_notifications(
    connstr: &str,
) -> Result<
    (
        Client,
        tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    ),
    DbError,
> {
    let mut config: Config =
        connstr
            .parse()
            .map_err(|e: tokio_postgres::Error| DbError::BadConnstr {
                connstr: mask_connstr(connstr),
                message: e.to_string(),
            })?;
    if config.get_application_name().is_none() {
        config.application_name("skydeck");
    }
    let (client, mut conn) = config.connect(NoTls).await.map_err(|e| DbError::Connect {
        connstr: mask_connstr(connstr),
        cause: e,
    })?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let msg = std::future::poll_fn(|cx| conn.poll_message(cx)).await;
            match msg {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    // The receiver may be gone; keep serving the client.
                    let _ = tx.send(n);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!("connection closed: {}", describe(&e));
                    break;
                }
                None => break,
            }
        }
    });
    Ok((client, rx))
}

/// Build a connection string from the libpq environment variables
/// (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGAPPNAME, PGSSLMODE),
/// for commands run without `--db`.
pub fn connstr_from_env() -> Option<String> {
    let vars = [
        ("PGHOST", "host"),
        ("PGHOSTADDR", "hostaddr"),
        ("PGPORT", "port"),
        ("PGUSER", "user"),
        ("PGDATABASE", "dbname"),
        ("PGPASSWORD", "password"),
        ("PGAPPNAME", "application_name"),
        ("PGSSLMODE", "sslmode"),
        ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ];
    let parts: Vec<String> = vars
        .iter()
        .filter_map(|(env, key)| {
            std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{key}={}", crate::cluster::quote_conn_value(&v)))
        })
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" "))
    }
}

/// The connection string without its password, and the password: for a
/// program that must not see it on its command line (give it
/// `PGPASSWORD`).
pub fn split_password(s: &str) -> (String, Option<String>) {
    let password = s.parse::<Config>().ok().and_then(|c| {
        c.get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    });
    match password {
        Some(p) => (replace_password(s, None), Some(p)),
        None => (s.to_string(), None),
    }
}

/// Mask the password in a connection string, key=value or URI form.
pub fn mask_connstr(s: &str) -> String {
    replace_password(s, Some("***"))
}

/// The password of a connection string replaced by `with`, or dropped
/// (with its key, or its `:` in a URI's user info) when `with` is `None`.
fn replace_password(s: &str, with: Option<&str>) -> String {
    let t = s.trim_start();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        return uri_password(s, with);
    }
    keyvalue_password(s, with)
}

fn uri_password(s: &str, with: Option<&str>) -> String {
    let Some(i) = s.find("://") else {
        return s.to_string();
    };
    let rest_start = i + 3;
    let rest = &s[rest_start..];
    // userinfo ends at the last '@' before the path/query.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::from(&s[..rest_start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = match userinfo.split_once(':') {
                Some((user, _)) => match with {
                    Some(w) => format!("{user}:{w}"),
                    None => user.to_string(),
                },
                None => userinfo.to_string(),
            };
            if user.is_empty() {
                // `postgresql://:pw@host`: no user info is left at all.
                out.push_str(&authority[at + 1..]);
            } else {
                out.push_str(&user);
                out.push_str(&authority[at..]);
            }
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    // Query parameters: password=...
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            let params: Vec<String> = query
                .split('&')
                .filter_map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                        with.map(|w| format!("{k}={w}"))
                    }
                    _ => Some(p.to_string()),
                })
                .collect();
            if !params.is_empty() {
                out.push('?');
                out.push_str(&params.join("&"));
            }
        }
        None => out.push_str(tail),
    }
    out
}

fn keyvalue_password(s: &str, with: Option<&str>) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    // Whitespace before the next pair: written with it, dropped with a
    // dropped pair.
    let mut space = String::new();
    let mut dropped = false;
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            space.push(chars[i]);
            i += 1;
            continue;
        }
        let mut pair = String::new();
        // key
        let kstart = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[kstart..i].iter().collect();
        pair.push_str(&key);
        // spaces around '='
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' {
            pair.extend(&chars[i..=j]);
            i = j + 1;
            while i < chars.len() && chars[i].is_whitespace() {
                pair.push(chars[i]);
                i += 1;
            }
            // value
            let vstart = i;
            if i < chars.len() && chars[i] == '\'' {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(chars.len());
            } else {
                while i < chars.len() && !chars[i].is_whitespace() {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = i.min(chars.len());
            }
            if key.eq_ignore_ascii_case("password") {
                match with {
                    Some(w) => pair.push_str(w),
                    None => {
                        space.clear();
                        dropped = true;
                        continue;
                    }
                }
            } else {
                pair.extend(&chars[vstart..i]);
            }
        }
        // (after a dropped first pair, the next one starts the string)
        if !(dropped && out.is_empty()) {
            out.push_str(&space);
        }
        space.clear();
        out.push_str(&pair);
    }
    if !dropped {
        out.push_str(&space);
    }
    out
}

/// PostgreSQL keywords that cannot be used as bare identifiers (reserved and
/// type/function-name keywords of PostgreSQL 15).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Quote an identifier the way PostgreSQL's `quote_ident` does: bare when it
/// is a lower-case simple name and not a reserved word, else double-quoted
/// with embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    let simple = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if simple {
        return name.to_string();
    }
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        if c == '"' {
            s.push('"');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// Quote `schema.name` as `pgq.quote_fqname` does: split at the first dot,
/// schema `public` when there is none, each part quoted.
pub fn quote_fqname(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, rel)) => format!("{}.{}", quote_ident(schema), quote_ident(rel)),
        None => format!("public.{}", quote_ident(name)),
    }
}

/// A SQL string literal, as PostgreSQL's `quote_literal`: `E'...'` when the
/// value holds a backslash.
pub fn quote_literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        s.push('E');
    }
    s.push('\'');
    for c in value.chars() {
        match c {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            _ => s.push(c),
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_split_off() {
        for (cs, want) in [
            (
                "host=db1 user=r password=s3cret dbname=x",
                "host=db1 user=r dbname=x",
            ),
            ("host=db1 password = 's 3' user=r", "host=db1 user=r"),
            ("password=x", ""),
            (
                "postgresql://r:s3cret@db1:5432/x",
                "postgresql://r@db1:5432/x",
            ),
            (
                "postgresql://r@db1/x?password=s3cret&sslmode=disable",
                "postgresql://r@db1/x?sslmode=disable",
            ),
        ] {
            let (rest, pw) = split_password(cs);
            assert_eq!(rest, want, "{cs}");
            assert!(pw.is_some(), "{cs}");
            assert!(!rest.contains("s3cret") && !rest.contains("***"), "{rest}");
        }
        assert_eq!(
            split_password("host=db1 application_name=password"),
            ("host=db1 application_name=password".to_string(), None)
        );
    }

    #[test]
    fn passwords_are_split_off_every_form() {
        for (cs, want, pw) in [
            // key=value: first, last, quoted with spaces and an escaped
            // quote, spaces around '=', trailing space.
            ("password=s3cret host=db1", "host=db1", "s3cret"),
            ("  host=db1   password=s3cret", "  host=db1", "s3cret"),
            (
                "host=db1 password='s3 cr\\'et' user=r",
                "host=db1 user=r",
                "s3 cr'et",
            ),
            (
                "host=db1 password= s3cret user=r",
                "host=db1 user=r",
                "s3cret",
            ),
            ("host=db1 password=s3cret ", "host=db1", "s3cret"),
            (
                "application_name='password=x' password=s3cret",
                "application_name='password=x'",
                "s3cret",
            ),
            // URIs: in the user info, as the only query parameter, in the
            // middle of others, user info with no user.
            (
                "postgres://r:s3cret@db1/x?password=s3cret",
                "postgres://r@db1/x",
                "s3cret",
            ),
            (
                "postgresql://db1/x?sslmode=disable&password=s3cret&user=r",
                "postgresql://db1/x?sslmode=disable&user=r",
                "s3cret",
            ),
            ("postgresql://:s3cret@db1/x", "postgresql://db1/x", "s3cret"),
            (
                "postgresql://r:p%40ss@db1:5432/x",
                "postgresql://r@db1:5432/x",
                "p@ss",
            ),
        ] {
            let (rest, got) = split_password(cs);
            assert_eq!(rest, want, "{cs}");
            assert_eq!(got.as_deref(), Some(pw), "{cs}");
        }
        // What is left still parses, without a password.
        for cs in [
            "host=db1 password='a b' user=r",
            "postgresql://:pw@db1/x?password=pw",
        ] {
            let rest = split_password(cs).0;
            let c: Config = rest.parse().unwrap();
            assert!(c.get_password().is_none(), "{rest}");
        }
    }

    #[test]
    fn idents() {
        assert_eq!(quote_ident("abc_1"), "abc_1");
        assert_eq!(quote_ident("Abc"), "\"Abc\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("1abc"), "\"1abc\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("ünï"), "\"ünï\"");
        assert_eq!(quote_fqname("s.t"), "s.t");
        assert_eq!(quote_fqname("t"), "public.t");
        assert_eq!(quote_fqname("My.Tbl.x"), "\"My\".\"Tbl.x\"");
    }

    #[test]
    fn literals() {
        assert_eq!(quote_literal("a'b"), "'a''b'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn masking_keyvalue() {
        assert_eq!(
            mask_connstr("host=h password=secret dbname=x"),
            "host=h password=*** dbname=x"
        );
        assert_eq!(
            mask_connstr("password = 'se cr\\'et' user=u"),
            "password = *** user=u"
        );
        assert_eq!(mask_connstr("PASSWORD=x"), "PASSWORD=***");
        assert_eq!(mask_connstr("host=h"), "host=h");
        let m = mask_connstr("host=h password='a b c' port=1");
        assert_eq!(m, "host=h password=*** port=1");
    }

    #[test]
    fn masking_uri() {
        assert_eq!(
            mask_connstr("postgresql://bob:s3cret@db.example:5432/app?sslmode=require"),
            "postgresql://bob:***@db.example:5432/app?sslmode=require"
        );
        assert_eq!(
            mask_connstr("postgres://db/app?user=u&password=pw"),
            "postgres://db/app?user=u&password=***"
        );
        assert_eq!(
            mask_connstr("postgres://bob@db/app"),
            "postgres://bob@db/app"
        );
        // '@' inside the password still masks everything before the host.
        assert_eq!(
            mask_connstr("postgresql://bob:p@ss@db/app"),
            "postgresql://bob:***@db/app"
        );
    }

    #[test]
    fn connstr_display_masks() {
        let c = ConnStr::new("host=h password=pw");
        assert_eq!(c.to_string(), "host=h password=***");
        assert_eq!(format!("{c:?}"), "ConnStr(\"host=h password=***\")");
        assert_eq!(c.expose(), "host=h password=pw");
    }
}
