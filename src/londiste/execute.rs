//! EXECUTE: SQL scripts (usually DDL) run on the root and replayed by every
//! node at the exact position of their changes in the queue (spec §5.9).
//!
//! * [`ExecAttrs`] — the header attributes of a script (`--*-- Key: v1, v2`
//!   lines before the first line of SQL), also stored urlencoded in the
//!   event's `ev_extra2` and in `londiste.applied_execute`.
//! * [`split_statements`] — the client-side statement splitter: scripts run
//!   statement by statement so an error names the statement that failed.
//! * [`decide`] / [`substitute`] — whether a script applies to this node
//!   and the `@table@` tags replaced by the local (destination) names.
//! * [`execute_on_root`] — `skydeck londiste JOB.ini execute FILE…`.
//! * [`replay_execute`] — an `EXECUTE` event met by a node's main worker.
//!
//! A script runs once per database: `londiste.execute_start` records its
//! file *basename* and answers 201 for a name already there.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::db::{describe, quote_fqname, DbError};
use crate::pgq::event::{url_decode_row, url_encode};
use crate::pgq::Event;

/// Errors of EXECUTE: reading a script, deciding, running it.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A header line that cannot be read (line numbers from 1).
    #[error("header line {line}: {message}")]
    Header { line: usize, message: String },
    /// Urlencoded attributes (from an event or `applied_execute`) that
    /// cannot be read.
    #[error("attributes {text:?}: {message}")]
    Attrs { text: String, message: String },
    /// A quote or comment that never ends.
    #[error("unterminated {what} starting on line {line}")]
    Unterminated { line: usize, what: String },
    /// Some of the listed objects exist here, others do not.
    #[error(
        "SQL only partially matches local setup: matched {}; not matched {} \
         (make the node's tables/objects match the header, or fix the header)",
        .matched.join(", "), .unmatched.join(", ")
    )]
    PartialMatch {
        matched: Vec<String>,
        unmatched: Vec<String>,
    },
    /// `execute_start` answered 401: this database is not the root.
    #[error(
        "not the root of queue {queue:?}: {note}; run `execute` against the root node's database"
    )]
    NotRoot { queue: String, note: String },
    /// A statement of a script failed.
    #[error("statement {number} (line {line}: {first_line}) failed: {}", describe(.cause))]
    Statement {
        number: usize,
        line: usize,
        first_line: String,
        cause: tokio_postgres::Error,
    },
    /// A statement that would end or open londiste's own transaction.
    #[error(
        "statement {number} (line {line}: {first_line}): {what} is not allowed in an EXECUTE \
         script, which runs inside londiste's transaction; remove it"
    )]
    TransactionControl {
        number: usize,
        line: usize,
        first_line: String,
        what: String,
    },
    /// A londiste function answered with a code we do not expect.
    #[error("{function} answered {code}: {note}")]
    Unexpected {
        function: &'static str,
        code: i32,
        note: String,
    },
    /// An event that is not a usable EXECUTE event.
    #[error("event {ev_id}: {message}")]
    BadEvent { ev_id: i64, message: String },
    /// Any of the above, for one file of `execute`.
    #[error("EXECUTE file {file:?}: {cause}")]
    File { file: String, cause: Box<ExecError> },
    /// Any of the above, for one EXECUTE event being replayed.
    #[error("EXECUTE event {ev_id} (file {file:?}, queue {queue:?}): {cause}")]
    Event {
        ev_id: i64,
        file: String,
        queue: String,
        cause: Box<ExecError>,
    },
}

impl ExecError {
    fn in_file(self, file: &str) -> ExecError {
        ExecError::File {
            file: file.to_string(),
            cause: Box::new(self),
        }
    }

    /// The error without its file / event wrapper.
    pub fn root_cause(&self) -> &ExecError {
        match self {
            ExecError::File { cause, .. } | ExecError::Event { cause, .. } => cause.root_cause(),
            e => e,
        }
    }
}

// ---------------------------------------------------------------- attributes

/// The attribute keys (as written in docs, lower-case), in the order
/// error messages list them.
const KEYS: [(&str, &str, Key); 8] = [
    ("Local-Table", "local-table", Key::LocalTable),
    ("Local-Sequence", "local-sequence", Key::LocalSequence),
    (
        "Local-Destination",
        "local-destination",
        Key::LocalDestination,
    ),
    ("Need-Table", "need-table", Key::NeedTable),
    ("Need-Sequence", "need-sequence", Key::NeedSequence),
    ("Need-Function", "need-function", Key::NeedFunction),
    ("Need-Schema", "need-schema", Key::NeedSchema),
    ("Need-View", "need-view", Key::NeedView),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    LocalTable,
    LocalSequence,
    LocalDestination,
    NeedTable,
    NeedSequence,
    NeedFunction,
    NeedSchema,
    NeedView,
}

impl Key {
    fn parse(name: &str) -> Result<Key, String> {
        KEYS.iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, _, key)| *key)
            .ok_or_else(|| {
                let valid: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
                format!(
                    "unknown attribute {name:?}; valid attributes are {}",
                    valid.join(", ")
                )
            })
    }

    fn entry(self) -> (&'static str, &'static str) {
        KEYS.iter()
            .find(|(_, _, k)| *k == self)
            .map_or(("?", "?"), |(n, l, _)| (*n, *l))
    }

    fn name(self) -> &'static str {
        self.entry().0
    }

    fn lower(self) -> &'static str {
        self.entry().1
    }
}

/// Header attributes of a script (`--*-- Key: v1, v2` lines).
///
/// Ordered as written; keys lower-case, a key given twice keeps one entry
/// with the values of both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecAttrs {
    entries: Vec<(Key, Vec<String>)>,
}

impl ExecAttrs {
    /// Read the attributes from the script's header: the lines before the
    /// first line that is neither blank nor a `--` comment. Attribute lines
    /// start with `--*--` and read `Key: v1, v2`; a trailing comma continues
    /// the list on the next attribute line.
    pub fn parse_header(sql: &str) -> Result<ExecAttrs, ExecError> {
        let mut attrs = ExecAttrs::default();
        // The key whose list goes on (after `Key:` alone or a trailing
        // comma): the key, the line that named it, values given so far.
        let mut open: Option<(Key, usize, usize)> = None;
        let no_values = |(key, line, _): (Key, usize, usize)| ExecError::Header {
            line,
            message: format!("attribute {} has no values", key.name()),
        };
        for (i, raw) in sql.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() {
                continue;
            }
            if !t.starts_with("--") {
                break;
            }
            let Some(body) = t.strip_prefix("--*--") else {
                continue;
            };
            let body = body.trim();
            let header_err = |message: String| ExecError::Header { line, message };
            // Names have no colon: a line with one names a key, even
            // after a trailing comma.
            let names_key = body.contains(':');
            let (key, values, given) = match open {
                Some((key, at, given)) if !names_key => (key, body, (at, given)),
                _ => {
                    if let Some(o) = open.filter(|o| o.2 == 0) {
                        return Err(no_values(o));
                    }
                    if body.is_empty() {
                        continue;
                    }
                    let (k, v) = body.split_once(':').ok_or_else(|| {
                        header_err(format!(
                            "expected `Key: value, …` after --*--, found {body:?}"
                        ))
                    })?;
                    let k = k.trim();
                    if k.is_empty() {
                        return Err(header_err(format!("attribute name missing in {body:?}")));
                    }
                    (Key::parse(k).map_err(header_err)?, v.trim(), (line, 0))
                }
            };
            let continues = values.is_empty() || values.ends_with(',');
            let list = values.strip_suffix(',').unwrap_or(values);
            let mut count = given.1;
            if !list.trim().is_empty() {
                for v in list.split(',') {
                    attrs.add_checked(key, v).map_err(header_err)?;
                    count += 1;
                }
            }
            open = continues.then_some((key, given.0, count));
        }
        if let Some(o) = open.filter(|o| o.2 == 0) {
            return Err(no_values(o));
        }
        Ok(attrs)
    }

    /// Read attributes as stored in `ev_extra2` / `applied_execute`
    /// (`local-table=public.a%2cpublic.b&…`); empty text, no attributes.
    pub fn from_urlencoded(s: &str) -> Result<ExecAttrs, ExecError> {
        let err = |message: String| ExecError::Attrs {
            text: s.to_string(),
            message,
        };
        let mut attrs = ExecAttrs::default();
        for (k, v) in url_decode_row(s).map_err(err)? {
            let key = Key::parse(k.trim()).map_err(err)?;
            let v = v.ok_or_else(|| err(format!("attribute {} has no values", key.name())))?;
            for item in v.split(',') {
                attrs.add_checked(key, item).map_err(err)?;
            }
        }
        Ok(attrs)
    }

    /// The urlencoded form: keys lower-case, values comma-joined.
    pub fn to_urlencoded(&self) -> String {
        self.entries
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k.lower()), url_encode(&v.join(","))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// No attributes: the script runs everywhere.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes in order: (lower-case key, values).
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.lower(), v.as_slice()))
    }

    /// Add one value under a key (any case; checked like a header line).
    pub fn add(&mut self, key: &str, value: &str) -> Result<(), ExecError> {
        let key = Key::parse(key.trim()).map_err(|message| ExecError::Attrs {
            text: format!("{key}={value}"),
            message,
        })?;
        self.add_checked(key, value)
            .map_err(|message| ExecError::Attrs {
                text: format!("{}={value}", key.lower()),
                message,
            })
    }

    fn add_checked(&mut self, key: Key, value: &str) -> Result<(), String> {
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("empty value in the list of {}", key.name()));
        }
        if key == Key::NeedFunction {
            parse_function(value)?;
        }
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value.to_string()),
            None => self.entries.push((key, vec![value.to_string()])),
        }
        Ok(())
    }

    fn values(&self, key: Key) -> &[String] {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    fn keyed(&self) -> impl Iterator<Item = (Key, &String)> {
        self.entries
            .iter()
            .flat_map(|(k, values)| values.iter().map(move |v| (*k, v)))
    }
}

/// `name(nargs)` → (name, nargs).
fn parse_function(value: &str) -> Result<(&str, i32), String> {
    let bad = || {
        format!("Need-Function value {value:?} must read name(nargs), e.g. public.merge_rows(2)")
    };
    let inner = value.strip_suffix(')').ok_or_else(bad)?;
    let (name, nargs) = inner.rsplit_once('(').ok_or_else(bad)?;
    let name = name.trim();
    let nargs: i32 = nargs.trim().parse().map_err(|_| bad())?;
    if name.is_empty() || !(0..=100).contains(&nargs) {
        return Err(bad());
    }
    Ok((name, nargs))
}

/// `schema.name` as londiste keeps names: schema `public` when none given.
fn make_fqname(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("public.{name}")
    }
}

fn split_fqname(fq: &str) -> (&str, &str) {
    fq.split_once('.').unwrap_or(("public", fq))
}

// ---------------------------------------------------------------- splitting

/// One statement of a script and the line it starts on (from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The line of the statement's first token.
    pub line: usize,
    /// The statement without its semicolon and leading comments.
    pub text: String,
}

impl Statement {
    /// The first line of the statement, shortened for messages.
    pub fn first_line(&self) -> String {
        let first = self.text.lines().next().unwrap_or("").trim();
        if first.chars().count() > 80 {
            let cut: String = first.chars().take(77).collect();
            format!("{cut}...")
        } else {
            first.to_string()
        }
    }
}

/// Split a script into statements (client side, like psql would).
///
/// Semicolons end statements outside quotes, comments, dollar quotes and
/// `BEGIN ATOMIC … END` bodies; statements are returned without the
/// semicolon, leading comments and surrounding blanks; empty ones are
/// dropped.
pub fn split_statements(sql: &str) -> Result<Vec<String>, ExecError> {
    Ok(split_with_lines(sql)?.into_iter().map(|s| s.text).collect())
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Per-statement state of the splitter.
#[derive(Default)]
struct Current {
    /// Byte offset of the first token.
    start: Option<usize>,
    /// The first words, lower-case (to recognise CREATE FUNCTION).
    words: Vec<String>,
    prev_word: String,
    /// Nesting inside `BEGIN ATOMIC` (CASE … END counts too).
    atomic: u32,
}

impl Current {
    fn is_routine(&self) -> bool {
        let w: Vec<&str> = self.words.iter().map(String::as_str).collect();
        matches!(
            w.as_slice(),
            ["create", "function" | "procedure", ..]
                | ["create", "or", "replace", "function" | "procedure", ..]
        )
    }

    fn word(&mut self, word: String) {
        if self.words.len() < 4 {
            self.words.push(word.clone());
        }
        if self.atomic > 0 {
            match word.as_str() {
                "case" => self.atomic += 1,
                "end" => self.atomic -= 1,
                _ => {}
            }
        } else if word == "atomic" && self.prev_word == "begin" && self.is_routine() {
            self.atomic = 1;
        }
        self.prev_word = word;
    }
}

/// The splitter, with the line each statement starts on.
pub fn split_with_lines(sql: &str) -> Result<Vec<Statement>, ExecError> {
    let bytes = sql.as_bytes();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line_of = |pos: usize| line_starts.partition_point(|&s| s <= pos);
    let unterminated = |pos: usize, what: &str| ExecError::Unterminated {
        line: line_of(pos),
        what: what.to_string(),
    };

    let mut out = Vec::new();
    let mut cur = Current::default();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match b {
            b'-' if next == Some(b'-') => {
                i = memchr(bytes, i, b'\n').unwrap_or(bytes.len());
                continue;
            }
            b'/' if next == Some(b'*') => {
                let open = i;
                let mut depth = 0u32;
                loop {
                    match (bytes.get(i), bytes.get(i + 1)) {
                        (Some(b'/'), Some(b'*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some(b'*'), Some(b'/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return Err(unterminated(open, "/* comment")),
                    }
                }
                continue;
            }
            _ => {}
        }
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b';' && cur.atomic == 0 {
            if let Some(start) = cur.start {
                out.push(Statement {
                    line: line_of(start),
                    text: sql[start..i].trim_end().to_string(),
                });
            }
            cur = Current::default();
            i += 1;
            continue;
        }
        cur.start.get_or_insert(i);
        match b {
            b'\'' => i = skip_string(bytes, i, false).ok_or_else(|| unterminated(i, "string"))?,
            b'"' => {
                i = skip_quoted(bytes, i, b'"')
                    .ok_or_else(|| unterminated(i, "quoted identifier"))?
            }
            b'$' => match dollar_tag(bytes, i) {
                Some(tag_end) => {
                    let tag = &sql[i..tag_end];
                    i = sql[tag_end..]
                        .find(tag)
                        .map(|p| tag_end + p + tag.len())
                        .ok_or_else(|| unterminated(i, &format!("dollar-quoted string ({tag})")))?;
                }
                None => i += 1,
            },
            _ if is_ident_start(b) => {
                let start = i;
                while i < bytes.len() && is_ident_cont(bytes[i]) {
                    i += 1;
                }
                let word = &sql[start..i];
                if word.eq_ignore_ascii_case("e") && bytes.get(i) == Some(&b'\'') {
                    let open = i;
                    i = skip_string(bytes, i, true)
                        .ok_or_else(|| unterminated(open, "E'' string"))?;
                } else {
                    cur.word(word.to_ascii_lowercase());
                }
            }
            _ => i += 1,
        }
    }
    if let Some(start) = cur.start {
        out.push(Statement {
            line: line_of(start),
            text: sql[start..].trim_end().to_string(),
        });
    }
    Ok(out)
}

fn memchr(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|b| *b == needle)
        .map(|p| from + p)
}

/// A '…' string from `open` (its quote): the offset after it. `''` is a
/// quote; with `backslash` (E'' strings) a backslash escapes the next byte.
fn skip_string(bytes: &[u8], open: usize, backslash: bool) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A quoted identifier from `open`: the offset after it (`""` doubles).
fn skip_quoted(bytes: &[u8], open: usize, q: u8) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == q {
            if bytes.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// At a `$`: the end of a dollar-quote tag (`$$` or `$ident$`), or None for
/// anything else (`$1`, a lone `$`).
fn dollar_tag(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    if bytes.get(i) == Some(&b'$') {
        return Some(i + 1);
    }
    if !bytes.get(i).is_some_and(|b| is_ident_start(*b)) {
        return None;
    }
    while bytes
        .get(i)
        .is_some_and(|b| is_ident_cont(*b) && *b != b'$')
    {
        i += 1;
    }
    (bytes.get(i) == Some(&b'$')).then_some(i + 1)
}

/// The transaction-control command a statement starts with, if any: those
/// would commit or abort londiste's transaction half-way.
fn transaction_control(stmt: &str) -> Option<String> {
    let words: Vec<String> = stmt
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(2)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str);
    let hit = match first {
        "begin" | "commit" | "end" | "abort" => true,
        "start" | "prepare" => second == Some("transaction"),
        "rollback" => !matches!(second, Some("to" | "prepared")),
        _ => false,
    };
    hit.then(|| words.join(" ").to_ascii_uppercase())
}

/// The statements of a script, refused whole when one is transaction
/// control.
fn script_statements(sql: &str) -> Result<Vec<Statement>, ExecError> {
    let stmts = split_with_lines(sql)?;
    for (n, s) in stmts.iter().enumerate() {
        if let Some(what) = transaction_control(&s.text) {
            return Err(ExecError::TransactionControl {
                number: n + 1,
                line: s.line,
                first_line: s.first_line(),
                what,
            });
        }
    }
    Ok(stmts)
}

// ---------------------------------------------------------------- decisions

/// What a node does with a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it, with `@name@` tags (name as written) → quoted local names.
    Run { renames: Vec<(String, String)> },
    /// None of the listed objects is here: do not run it.
    Skip,
}

/// Evaluate the attributes against this node (tables/seqs registered and
/// local in londiste for `queue`, catalog objects for Need-*).
///
/// No attributes, or every listed object matches: run. None matches: skip.
/// Some do and some do not: [`ExecError::PartialMatch`]. Names without a
/// schema are in `public`.
pub async fn decide(
    c: &impl GenericClient,
    queue: &str,
    attrs: &ExecAttrs,
) -> Result<Decision, ExecError> {
    if attrs.is_empty() {
        return Ok(Decision::Run {
            renames: Vec::new(),
        });
    }
    let uses = |k: Key| !attrs.values(k).is_empty();
    // table name → destination (both fq), local tables only
    let mut tables: HashMap<String, String> = HashMap::new();
    if uses(Key::LocalTable) || uses(Key::LocalDestination) {
        let rows = c
            .query(
                "select table_name, dest_table from londiste.get_table_list($1::text) where local",
                &[&queue],
            )
            .await
            .map_err(|e| DbError::query(format!("local tables of queue {queue:?}"), e))?;
        for r in rows {
            let name: String = r.get(0);
            let dest: Option<String> = r.get(1);
            let dest = make_fqname(dest.as_deref().unwrap_or(&name));
            tables.insert(make_fqname(&name), dest);
        }
    }
    let mut seqs: HashSet<String> = HashSet::new();
    if uses(Key::LocalSequence) {
        let rows = c
            .query(
                "select seq_name from londiste.get_seq_list($1::text) where local",
                &[&queue],
            )
            .await
            .map_err(|e| DbError::query(format!("local sequences of queue {queue:?}"), e))?;
        seqs.extend(rows.iter().map(|r| make_fqname(&r.get::<_, String>(0))));
    }

    let mut renames = Vec::new();
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    for (key, value) in attrs.keyed() {
        let fq = make_fqname(value);
        let hit = match key {
            Key::LocalTable => match tables.get(&fq) {
                Some(dest) => {
                    renames.push((value.clone(), quote_fqname(dest)));
                    true
                }
                None => false,
            },
            Key::LocalDestination => match tables.get(&fq) {
                Some(dest) if relation_exists(c, dest, &["r", "p"]).await? => {
                    renames.push((value.clone(), quote_fqname(dest)));
                    true
                }
                _ => false,
            },
            Key::LocalSequence => {
                let hit = seqs.contains(&fq);
                if hit {
                    renames.push((value.clone(), quote_fqname(&fq)));
                }
                hit
            }
            Key::NeedTable => relation_exists(c, &fq, &["r", "p"]).await?,
            Key::NeedSequence => relation_exists(c, &fq, &["S"]).await?,
            Key::NeedView => relation_exists(c, &fq, &["v", "m"]).await?,
            Key::NeedSchema => {
                c.query_one(
                    "select exists (select 1 from pg_catalog.pg_namespace where nspname = $1::text)",
                    &[&value.as_str()],
                )
                .await
                .map_err(|e| DbError::query(format!("looking up schema {value:?}"), e))?
                .get(0)
            }
            Key::NeedFunction => {
                let (name, nargs) = parse_function(value).map_err(|message| ExecError::Attrs {
                    text: attrs.to_urlencoded(),
                    message,
                })?;
                let fq = make_fqname(name);
                let (schema, name) = split_fqname(&fq);
                c.query_one(
                    "select exists (select 1 from pg_catalog.pg_proc p \
                       join pg_catalog.pg_namespace n on n.oid = p.pronamespace \
                      where n.nspname = $1::text and p.proname = $2::text \
                        and p.pronargs = $3::int4)",
                    &[&schema, &name, &nargs],
                )
                .await
                .map_err(|e| DbError::query(format!("looking up function {value:?}"), e))?
                .get(0)
            }
        };
        let label = format!("{} {value}", key.name());
        if hit {
            matched.push(label);
        } else {
            unmatched.push(label);
        }
    }
    if unmatched.is_empty() {
        Ok(Decision::Run { renames })
    } else if matched.is_empty() {
        Ok(Decision::Skip)
    } else {
        Err(ExecError::PartialMatch { matched, unmatched })
    }
}

/// Whether `schema.name` exists as one of the relation kinds.
async fn relation_exists(
    c: &impl GenericClient,
    fq: &str,
    kinds: &[&str],
) -> Result<bool, ExecError> {
    let (schema, name) = split_fqname(fq);
    let row = c
        .query_one(
            "select exists (select 1 from pg_catalog.pg_class c \
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
              where n.nspname = $1::text and c.relname = $2::text \
                and c.relkind::text = any($3::text[]))",
            &[&schema, &name, &kinds],
        )
        .await
        .map_err(|e| DbError::query(format!("looking up relation {fq:?}"), e))?;
    Ok(row.get(0))
}

/// Replace `@name@` tags with the quoted local names (one pass: text put
/// in is never searched again).
pub fn substitute(sql: &str, renames: &[(String, String)]) -> String {
    if renames.is_empty() {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let hit = after.find('@').and_then(|end| {
            let tag = &after[..end];
            renames
                .iter()
                .find(|(name, _)| name == tag)
                .map(|(_, local)| (local, end))
        });
        match hit {
            Some((local, end)) => {
                out.push_str(local);
                rest = &after[end + 1..];
            }
            None => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- running

/// What became of one script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FileOutcome {
    /// Ran here, statement by statement.
    Executed { file: String, statements: usize },
    /// This database ran a script of that name before: nothing done.
    AlreadyApplied { file: String },
    /// The attributes say it does not apply here (recorded as applied;
    /// on the root the event still goes down the cascade).
    Skipped { file: String },
}

impl std::fmt::Display for FileOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileOutcome::Executed { file, statements } => {
                write!(f, "{file}: executed ({statements} statement(s))")
            }
            FileOutcome::AlreadyApplied { file } => write!(f, "{file}: already applied, skipped"),
            FileOutcome::Skipped { file } => {
                write!(f, "{file}: not for this node's tables, skipped")
            }
        }
    }
}

/// `londiste.execute_start` → (ret_code, ret_note).
async fn execute_start(
    c: &impl GenericClient,
    queue: &str,
    file: &str,
    sql: &str,
    expect_root: bool,
    attrs: Option<&str>,
) -> Result<(i32, String), ExecError> {
    let row = c
        .query_one(
            "select ret_code, ret_note from londiste.execute_start($1::text, $2::text, $3::text, \
             $4::bool, $5::text)",
            &[&queue, &file, &sql, &expect_root, &attrs],
        )
        .await
        .map_err(|e| DbError::query(format!("londiste.execute_start for {file:?}"), e))?;
    Ok((
        row.get(0),
        row.get::<_, Option<String>>(1).unwrap_or_default(),
    ))
}

/// `londiste.execute_finish`: on the root it inserts the EXECUTE event.
async fn execute_finish(c: &impl GenericClient, queue: &str, file: &str) -> Result<(), ExecError> {
    let row = c
        .query_one(
            "select ret_code, ret_note from londiste.execute_finish($1::text, $2::text)",
            &[&queue, &file],
        )
        .await
        .map_err(|e| DbError::query(format!("londiste.execute_finish for {file:?}"), e))?;
    let code: i32 = row.get(0);
    if code != 200 {
        return Err(ExecError::Unexpected {
            function: "londiste.execute_finish",
            code,
            note: row.get::<_, Option<String>>(1).unwrap_or_default(),
        });
    }
    Ok(())
}

/// Run a script's statements one by one; how many ran.
async fn run_statements(tx: &Transaction<'_>, stmts: &[Statement]) -> Result<usize, ExecError> {
    for (n, s) in stmts.iter().enumerate() {
        tx.batch_execute(&s.text)
            .await
            .map_err(|cause| ExecError::Statement {
                number: n + 1,
                line: s.line,
                first_line: s.first_line(),
                cause,
            })?;
    }
    Ok(stmts.len())
}

/// Decide, rename, run: the part root and replay share.
async fn apply_script(
    tx: &Transaction<'_>,
    queue: &str,
    file: &str,
    sql: &str,
    attrs: &ExecAttrs,
) -> Result<FileOutcome, ExecError> {
    match decide(tx, queue, attrs).await? {
        Decision::Run { renames } => {
            let stmts = script_statements(&substitute(sql, &renames))?;
            let statements = run_statements(tx, &stmts).await?;
            tracing::info!(queue, file, statements, "EXECUTE: script ran");
            Ok(FileOutcome::Executed {
                file: file.to_string(),
                statements,
            })
        }
        Decision::Skip => {
            tracing::info!(queue, file, "EXECUTE: script does not apply here, skipped");
            Ok(FileOutcome::Skipped {
                file: file.to_string(),
            })
        }
    }
}

/// Root side: all files in one transaction in role `local`; per file
/// execute_start(…, true, attrs) (401 → error "not the root", 201 → skip),
/// decide, run statement by statement, execute_finish. Errors name the
/// file and the statement (its number and first line) and roll back all.
///
/// `files` are (basename, script text); the basename is the script's
/// identity everywhere. A script that does not apply on the root is
/// recorded and sent down the cascade all the same.
pub async fn execute_on_root(
    client: &mut Client,
    queue: &str,
    files: &[(String, String)],
) -> Result<Vec<FileOutcome>, ExecError> {
    // Read every file first: a bad header or an unterminated quote fails
    // before anything runs.
    let mut scripts = Vec::with_capacity(files.len());
    for (file, sql) in files {
        let attrs = ExecAttrs::parse_header(sql).map_err(|e| e.in_file(file))?;
        script_statements(sql).map_err(|e| e.in_file(file))?;
        scripts.push((file.as_str(), sql.as_str(), attrs));
    }

    let tx = client
        .transaction()
        .await
        .map_err(|e| DbError::query("begin the EXECUTE transaction", e))?;
    // User triggers and foreign keys act; pgq triggers do not log: the
    // script itself travels, not the rows it changes.
    tx.batch_execute("set local session_replication_role = local")
        .await
        .map_err(|e| DbError::query("set session_replication_role = local", e))?;
    let mut outcomes = Vec::with_capacity(scripts.len());
    for (file, sql, attrs) in scripts {
        let urlencoded = attrs.to_urlencoded();
        let (code, note) = execute_start(&tx, queue, file, sql, true, Some(&urlencoded))
            .await
            .map_err(|e| e.in_file(file))?;
        match code {
            200 => {}
            201 => {
                tracing::info!(queue, file, "EXECUTE: already applied, skipped");
                outcomes.push(FileOutcome::AlreadyApplied {
                    file: file.to_string(),
                });
                continue;
            }
            401 => {
                return Err(ExecError::NotRoot {
                    queue: queue.to_string(),
                    note,
                })
            }
            _ => {
                return Err(ExecError::Unexpected {
                    function: "londiste.execute_start",
                    code,
                    note,
                }
                .in_file(file))
            }
        }
        let outcome = apply_script(&tx, queue, file, sql, &attrs)
            .await
            .map_err(|e| e.in_file(file))?;
        execute_finish(&tx, queue, file)
            .await
            .map_err(|e| e.in_file(file))?;
        outcomes.push(outcome);
    }
    tx.commit()
        .await
        .map_err(|e| DbError::query("commit the EXECUTE transaction", e))?;
    Ok(outcomes)
}

/// Replay of an EXECUTE event inside a worker's batch transaction (which
/// is in role `replica`): `set local session_replication_role = local`,
/// execute_start(…, false, attrs), skip on 201, decide, run, execute_finish,
/// back to `replica`.
///
/// For the main worker only: a copy process (catching up one table) never
/// runs EXECUTE events. On error the batch transaction is unusable; the
/// caller rolls it back.
pub async fn replay_execute(
    tx: &Transaction<'_>,
    queue: &str,
    ev: &Event,
) -> Result<FileOutcome, ExecError> {
    let bad = |message: &str| ExecError::BadEvent {
        ev_id: ev.ev_id,
        message: message.to_string(),
    };
    if ev.ev_type.as_deref() != Some("EXECUTE") {
        return Err(bad(&format!(
            "not an EXECUTE event (type {:?})",
            ev.ev_type.as_deref().unwrap_or("")
        )));
    }
    let file = ev
        .ev_extra1
        .as_deref()
        .ok_or_else(|| bad("EXECUTE event without a file name (ev_extra1 is NULL)"))?;
    let sql = ev
        .ev_data
        .as_deref()
        .ok_or_else(|| bad("EXECUTE event without SQL (ev_data is NULL)"))?;
    let wrap = |cause: ExecError| ExecError::Event {
        ev_id: ev.ev_id,
        file: file.to_string(),
        queue: queue.to_string(),
        cause: Box::new(cause),
    };
    match replay_inner(tx, queue, file, sql, ev.ev_extra2.as_deref()).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // After an error of ours (not the server's) the transaction is
            // still usable: leave it in replica role whatever the caller
            // does next. After a server error this fails, harmlessly.
            let _ = tx
                .batch_execute("set local session_replication_role = replica")
                .await;
            Err(wrap(e))
        }
    }
}

async fn replay_inner(
    tx: &Transaction<'_>,
    queue: &str,
    file: &str,
    sql: &str,
    attrs_text: Option<&str>,
) -> Result<FileOutcome, ExecError> {
    tx.batch_execute("set local session_replication_role = local")
        .await
        .map_err(|e| DbError::query("set session_replication_role = local", e))?;
    let (code, note) = execute_start(tx, queue, file, sql, false, attrs_text).await?;
    let outcome = match code {
        200 => {
            let attrs = ExecAttrs::from_urlencoded(attrs_text.unwrap_or(""))?;
            let outcome = apply_script(tx, queue, file, sql, &attrs).await?;
            execute_finish(tx, queue, file).await?;
            outcome
        }
        201 => {
            tracing::info!(queue, file, "EXECUTE: already applied, skipped");
            FileOutcome::AlreadyApplied {
                file: file.to_string(),
            }
        }
        _ => {
            return Err(ExecError::Unexpected {
                function: "londiste.execute_start",
                code,
                note,
            })
        }
    };
    tx.batch_execute("set local session_replication_role = replica")
        .await
        .map_err(|e| DbError::query("set session_replication_role = replica", e))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &[&str])]) -> ExecAttrs {
        let mut a = ExecAttrs::default();
        for (k, vs) in pairs {
            for v in *vs {
                a.add(k, v).expect("valid attribute");
            }
        }
        a
    }

    fn header_err(sql: &str) -> (usize, String) {
        match ExecAttrs::parse_header(sql) {
            Err(ExecError::Header { line, message }) => (line, message),
            other => panic!("expected a header error for {sql:?}, got {other:?}"),
        }
    }

    #[test]
    fn header_keys_values_and_case() {
        let sql = "-- a plain comment\n\
                   --*-- Local-Table: public.foo, bar\n\
                   \n\
                   --*-- NEED-table: x.y\n\
                   --*--need-function:public.f(2), g( 0 )\n\
                   alter table @public.foo@ add column c int;\n";
        let a = ExecAttrs::parse_header(sql).unwrap();
        let got: Vec<(&str, Vec<&str>)> = a
            .entries()
            .map(|(k, v)| (k, v.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("local-table", vec!["public.foo", "bar"]),
                ("need-table", vec!["x.y"]),
                ("need-function", vec!["public.f(2)", "g( 0 )"]),
            ]
        );
        assert!(ExecAttrs::parse_header("select 1;").unwrap().is_empty());
        assert!(ExecAttrs::parse_header("").unwrap().is_empty());
    }

    #[test]
    fn header_continuations() {
        let sql = "--*-- Local-Table: a,\n\
                   -- an ordinary comment in between\n\
                   --*--   b,\n\
                   --*-- c\n\
                   --*-- Need-Schema:\n\
                   --*-- s1, s2\n\
                   --*-- local-table: d\n\
                   select 1;";
        let a = ExecAttrs::parse_header(sql).unwrap();
        assert_eq!(
            a,
            attrs(&[
                ("Local-Table", &["a", "b", "c"]),
                ("Need-Schema", &["s1", "s2"]),
                ("Local-Table", &["d"]),
            ])
        );
        assert_eq!(
            a.to_urlencoded(),
            "local-table=a%2cb%2cc%2cd&need-schema=s1%2cs2"
        );
        // a trailing comma at the end of the header is harmless
        assert_eq!(
            ExecAttrs::parse_header("--*-- Need-View: v,\nselect 1").unwrap(),
            attrs(&[("Need-View", &["v"])])
        );
    }

    #[test]
    fn header_ends_at_first_sql_line() {
        let sql = "--*-- Local-Sequence: s\n\
                   create table t (id int);\n\
                   --*-- Local-Table: ignored\n\
                   --*-- Bogus-Key: not even checked\n";
        assert_eq!(
            ExecAttrs::parse_header(sql).unwrap(),
            attrs(&[("Local-Sequence", &["s"])])
        );
        // a block comment is not a header comment either
        let sql = "/* intro */\n--*-- Local-Table: t\n";
        assert!(ExecAttrs::parse_header(sql).unwrap().is_empty());
    }

    #[test]
    fn header_malformed_lines() {
        let (line, msg) = header_err("-- x\n--*-- Local-Table public.foo\n");
        assert_eq!(line, 2);
        assert!(msg.contains("Key: value"), "{msg}");

        let (line, msg) = header_err("--*-- Local-Tabel: foo\n");
        assert_eq!(line, 1);
        assert!(msg.contains("\"Local-Tabel\""), "{msg}");
        for k in [
            "Local-Table",
            "Local-Sequence",
            "Local-Destination",
            "Need-Table",
            "Need-Sequence",
            "Need-Function",
            "Need-Schema",
            "Need-View",
        ] {
            assert!(msg.contains(k), "{msg} lacks {k}");
        }

        let (line, msg) = header_err("--*-- : foo\n");
        assert_eq!(line, 1);
        assert!(msg.contains("name missing"), "{msg}");

        let (line, msg) = header_err("--*-- Need-Table: a,,b\n");
        assert_eq!(line, 1);
        assert!(msg.contains("empty value"), "{msg}");

        let (line, msg) = header_err("--*-- Need-Function: f\n");
        assert_eq!(line, 1);
        assert!(msg.contains("name(nargs)"), "{msg}");
        header_err("--*-- Need-Function: f(x)\n");
        header_err("--*-- Need-Function: (2)\n");

        let (line, msg) = header_err("\n--*-- Need-Table:\n--*-- Need-View: v\n");
        assert_eq!(line, 2);
        assert!(msg.contains("Need-Table has no values"), "{msg}");
        let (line, _) = header_err("--*-- Need-Table:\nselect 1;");
        assert_eq!(line, 1);

        // after a trailing comma, a line with a colon still names a key
        let (line, msg) = header_err("--*-- Need-Table: a,\n--*-- Neeed-View: v\n");
        assert_eq!(line, 2);
        assert!(msg.contains("Neeed-View"), "{msg}");
    }

    #[test]
    fn urlencoded_round_trip() {
        let a = attrs(&[
            ("local-table", &["public.foo", "Odd Name.t&x"]),
            ("Need-Function", &["public.f(2)"]),
            ("LOCAL-DESTINATION", &["bar"]),
        ]);
        let enc = a.to_urlencoded();
        assert_eq!(
            enc,
            "local-table=public.foo%2cOdd+Name.t%26x&need-function=public.f%282%29\
             &local-destination=bar"
        );
        assert_eq!(ExecAttrs::from_urlencoded(&enc).unwrap(), a);
        // Python's quote_plus writes upper-case escapes
        assert_eq!(
            ExecAttrs::from_urlencoded("Local-Table=public.a%2Cpublic.b").unwrap(),
            attrs(&[("Local-Table", &["public.a", "public.b"])])
        );
        assert!(ExecAttrs::from_urlencoded("").unwrap().is_empty());
        assert_eq!(ExecAttrs::default().to_urlencoded(), "");

        for bad in [
            "nope=x",
            "local-table",
            "local-table=a%2c%2cb",
            "need-function=f",
            "x=%zz",
        ] {
            let err = ExecAttrs::from_urlencoded(bad).unwrap_err();
            assert!(matches!(err, ExecError::Attrs { .. }), "{bad}: {err}");
        }
    }

    fn split(sql: &str) -> Vec<String> {
        split_statements(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"))
    }

    fn unterminated(sql: &str) -> (usize, String) {
        match split_statements(sql) {
            Err(ExecError::Unterminated { line, what }) => (line, what),
            other => panic!("expected unterminated for {sql:?}, got {other:?}"),
        }
    }

    #[test]
    fn split_plain_and_empty() {
        assert_eq!(split("select 1; select 2;"), ["select 1", "select 2"]);
        assert_eq!(split("select 1;\n\nselect 2"), ["select 1", "select 2"]);
        assert_eq!(split(";;  ;\n"), Vec::<String>::new());
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(
            split("-- only a comment\n/* and another */;"),
            Vec::<String>::new()
        );
        assert_eq!(
            split("-- header\n--*-- Local-Table: t\ncreate table t (id int);\n-- trailing\n"),
            ["create table t (id int)"]
        );
    }

    #[test]
    fn split_quotes() {
        assert_eq!(
            split("insert into t values ('a;b', 'it''s;');select 'x'"),
            ["insert into t values ('a;b', 'it''s;')", "select 'x'"]
        );
        // a backslash is an ordinary character in a standard string
        assert_eq!(
            split(r"select 'a\'; select 2"),
            [r"select 'a\'", "select 2"]
        );
        // E'' strings take backslash escapes, and '' as well
        assert_eq!(
            split(r"select E'a\';b', e'c''d;\\'; select 2"),
            [r"select E'a\';b', e'c''d;\\'", "select 2"]
        );
        // an identifier ending in e before a string is not an E'' string
        assert_eq!(
            split(r"select somee'a\'; select 2"),
            [r"select somee'a\'", "select 2"]
        );
        assert_eq!(
            split(r#"create table "we;ird""x" (";" int); select 1"#),
            [r#"create table "we;ird""x" (";" int)"#, "select 1"]
        );
    }

    #[test]
    fn split_dollar_quotes() {
        let f = "create function f() returns int language plpgsql as $$\n\
                 begin perform 1; return 2; end;\n$$";
        assert_eq!(split(&format!("{f};\nselect 3;")), [f, "select 3"]);
        let g = "do $body$ begin raise notice '$$;'; end $body$";
        assert_eq!(split(&format!("{g}; select 1")), [g, "select 1"]);
        // another tag inside does not close it
        let h = "select $a$ x $b$ ; $b$ y; $a$";
        assert_eq!(split(&format!("{h};")), [h]);
        // $1 is a parameter, not a quote; $ inside identifiers too
        assert_eq!(
            split("prepare p as select $1; select a$b$c from t; select 1"),
            ["prepare p as select $1", "select a$b$c from t", "select 1"]
        );
        // tags must be identifiers
        assert_eq!(split("select $1$ ; select 2"), ["select $1$", "select 2"]);
    }

    #[test]
    fn split_comments() {
        assert_eq!(
            split("select 1 -- not the end; really\n, 2; select /* ; */ 3"),
            ["select 1 -- not the end; really\n, 2", "select /* ; */ 3"]
        );
        assert_eq!(
            split("select /* outer /* inner; */ still; */ 1; select 2"),
            ["select /* outer /* inner; */ still; */ 1", "select 2"]
        );
        // a -- inside a string is not a comment
        assert_eq!(
            split("select '--;'; select 2"),
            ["select '--;'", "select 2"]
        );
        // division and minus are operators
        assert_eq!(
            split("select 4/2-1; select 2"),
            ["select 4/2-1", "select 2"]
        );
    }

    #[test]
    fn split_begin_atomic() {
        let f = "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n\
                 BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  \
                 SELECT a + b;\nEND";
        assert_eq!(split(&format!("{f};\nselect 1;")), [f, "select 1"]);
        let p = "create or replace procedure p() language sql begin atomic insert into t values (1); end";
        assert_eq!(split(&format!("{p}; select 2")), [p, "select 2"]);
        // a transaction's BEGIN is not a body
        assert_eq!(split("begin; select 1; end;"), ["begin", "select 1", "end"]);
    }

    #[test]
    fn split_unterminated() {
        assert_eq!(
            unterminated("select 1;\nselect 'abc;\n"),
            (2, "string".into())
        );
        assert_eq!(
            unterminated("\n\nselect \"abc"),
            (3, "quoted identifier".into())
        );
        assert_eq!(unterminated(r"select E'abc\'"), (1, "E'' string".into()));
        assert_eq!(
            unterminated("select 1;\n\n  /* a /* b */ c\n"),
            (3, "/* comment".into())
        );
        assert_eq!(
            unterminated("select 1;\ndo $x$ begin end $y$;"),
            (2, "dollar-quoted string ($x$)".into())
        );
        let err = split_statements("select 'x").unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("unterminated string"),
            "{err}"
        );
    }

    #[test]
    fn split_lines_and_first_line() {
        let s = split_with_lines("-- c\n\nselect 1,\n  2;\n\n  update t\n set x = 1;").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].line, s[0].first_line().as_str()), (3, "select 1,"));
        assert_eq!((s[1].line, s[1].first_line().as_str()), (6, "update t"));
        let long = format!("select '{}'", "x".repeat(100));
        let st = Statement {
            line: 1,
            text: long,
        };
        assert_eq!(st.first_line().chars().count(), 80);
    }

    #[test]
    fn transaction_control_refused() {
        for (sql, what) in [
            ("begin", "BEGIN"),
            ("COMMIT", "COMMIT"),
            ("end", "END"),
            ("rollback", "ROLLBACK"),
            ("abort", "ABORT"),
            (
                "start transaction isolation level serializable",
                "START TRANSACTION",
            ),
            ("prepare transaction 'x'", "PREPARE TRANSACTION"),
        ] {
            assert!(
                transaction_control(sql).is_some_and(|w| w.starts_with(what)),
                "{sql}"
            );
        }
        for sql in [
            "rollback to savepoint a",
            "savepoint a",
            "release a",
            "prepare p as select 1",
            "create table begin_x (id int)",
        ] {
            assert_eq!(transaction_control(sql), None, "{sql}");
        }
        let err = script_statements("create table a (id int);\n\ncommit;").unwrap_err();
        assert!(
            matches!(
                err,
                ExecError::TransactionControl {
                    number: 2,
                    line: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn substitute_tags() {
        let renames = vec![
            ("public.foo".to_string(), "public.foo_local".to_string()),
            ("bar".to_string(), "\"Other\".\"Bar\"".to_string()),
        ];
        assert_eq!(
            substitute(
                "alter table @public.foo@ add c int; grant select on @bar@ to x; -- @baz@ @",
                &renames
            ),
            "alter table public.foo_local add c int; grant select on \"Other\".\"Bar\" to x; -- @baz@ @"
        );
        // one pass: an unknown tag does not swallow the next one
        assert_eq!(substitute("a@x@bar@", &renames), "a@x\"Other\".\"Bar\"");
        // replacements are not searched again
        let tricky = vec![
            ("a".to_string(), "@b@".to_string()),
            ("b".to_string(), "no".to_string()),
        ];
        assert_eq!(substitute("@a@ @b@", &tricky), "@b@ no");
        assert_eq!(substitute("@public.foo@", &[]), "@public.foo@");
    }

    #[test]
    fn names() {
        assert_eq!(make_fqname("foo"), "public.foo");
        assert_eq!(make_fqname("s.foo"), "s.foo");
        assert_eq!(split_fqname("s.a.b"), ("s", "a.b"));
        assert_eq!(parse_function(" public.f (3)"), Ok(("public.f", 3)));
        assert!(parse_function("f()").is_err());
    }
}
