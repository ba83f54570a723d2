//! Decoding event payloads into typed row changes.
//!
//! Three encodings come out of the PgQ triggers (spec §2):
//! * urlencoded rows (`logutriga`): type `I:pk1,pk2` / `U:…` / `D:…` / `R`,
//!   data `col=val&col2&…`;
//! * partial SQL (`sqltriga`): type `I` / `U` / `D` / `R`, data
//!   `(c1,c2) values ('v1',null)`, `c2='x' where pk='1'`, `pk='1' and …`;
//! * JSON (`jsontriga`): type `{"op":…,"table":[…],"pkey":[…]}`, data a JSON
//!   object.
//!
//! Values come out in their text form (what PostgreSQL's input functions
//! take back). A malformed payload is an error that names the queue, the
//! batch and the event, never a panic.

use std::fmt;

use serde::Serialize;

use super::Event;

/// The operation a row event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Op {
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            Op::Truncate => "TRUNCATE",
        }
    }
}

/// How the payload was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    UrlEncoded,
    PartialSql,
    Json,
}

/// A column name and its value in text form (`None` = SQL NULL).
pub type Field = (String, Option<String>);

/// A decoded table change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowChange {
    pub op: Op,
    pub encoding: Encoding,
    /// `schema.table` as the trigger wrote it (ev_extra1), when present.
    pub table: Option<String>,
    /// Primary key columns as the event names them. Partial-SQL events name
    /// no key list; their `key` fields are the key.
    pub pkey: Vec<String>,
    /// The row (urlencoded, JSON, SQL INSERT) or the changed columns (SQL
    /// UPDATE). Empty for DELETE in partial SQL and for TRUNCATE.
    pub columns: Vec<Field>,
    /// The WHERE part of partial-SQL UPDATE and DELETE events.
    pub key: Vec<Field>,
    /// The old row of an UPDATE, when the trigger had `backup`.
    pub old: Option<Vec<Field>>,
}

impl RowChange {
    /// Value of a column, looking at the row first and the key second.
    pub fn get(&self, column: &str) -> Option<Option<&str>> {
        self.columns
            .iter()
            .chain(self.key.iter())
            .find(|(n, _)| n == column)
            .map(|(_, v)| v.as_deref())
    }
}

/// What an event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    Row(RowChange),
    /// Not a table change (an application event, a cascade event): left as is.
    Other,
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue {queue:?}, batch {batch_id}, event {ev_id}: {reason}")]
pub struct DecodeError {
    pub queue: String,
    pub batch_id: i64,
    pub ev_id: i64,
    pub reason: String,
}

/// Decode `ev` from batch `batch_id` of `queue`.
pub fn decode(queue: &str, batch_id: i64, ev: &Event) -> Result<Payload, DecodeError> {
    decode_fields(
        ev.ev_type.as_deref(),
        ev.ev_data.as_deref(),
        ev.ev_extra1.as_deref(),
        ev.ev_extra2.as_deref(),
    )
    .map_err(|reason| DecodeError {
        queue: queue.to_string(),
        batch_id,
        ev_id: ev.ev_id,
        reason,
    })
}

/// Decode from the raw fields; the error is the reason alone.
pub fn decode_fields(
    ev_type: Option<&str>,
    ev_data: Option<&str>,
    extra1: Option<&str>,
    extra2: Option<&str>,
) -> Result<Payload, String> {
    let Some(t) = ev_type else {
        return Ok(Payload::Other);
    };
    let table = extra1.map(str::to_string);
    if t.starts_with('{') {
        return decode_json(t, ev_data, table, extra2).map(Payload::Row);
    }
    let data = ev_data.unwrap_or("");
    if let Some((op, keys)) = t.split_once(':') {
        let op = match op {
            "I" => Op::Insert,
            "U" => Op::Update,
            "D" => Op::Delete,
            _ => return Ok(Payload::Other),
        };
        let pkey = if keys.is_empty() {
            Vec::new()
        } else {
            keys.split(',').map(str::to_string).collect()
        };
        let columns = url_decode_row(data).map_err(|e| format!("ev_data: {e}"))?;
        let old = match (op, extra2) {
            (Op::Update, Some(b)) => {
                Some(url_decode_row(b).map_err(|e| format!("ev_extra2 (backup): {e}"))?)
            }
            _ => None,
        };
        return Ok(Payload::Row(RowChange {
            op,
            encoding: Encoding::UrlEncoded,
            table,
            pkey,
            columns,
            key: Vec::new(),
            old,
        }));
    }
    let op = match t {
        "I" => Op::Insert,
        "U" => Op::Update,
        "D" => Op::Delete,
        "R" => Op::Truncate,
        _ => return Ok(Payload::Other),
    };
    if op == Op::Truncate {
        return Ok(Payload::Row(RowChange {
            op,
            encoding: if data.is_empty() {
                Encoding::PartialSql
            } else {
                Encoding::UrlEncoded
            },
            table,
            pkey: Vec::new(),
            columns: Vec::new(),
            key: Vec::new(),
            old: None,
        }));
    }
    let (columns, key) = parse_partial_sql(op, data).map_err(|e| format!("ev_data: {e}"))?;
    let old = match (op, extra2) {
        (Op::Update, Some(b)) => {
            Some(url_decode_row(b).map_err(|e| format!("ev_extra2 (backup): {e}"))?)
        }
        _ => None,
    };
    Ok(Payload::Row(RowChange {
        op,
        encoding: Encoding::PartialSql,
        table,
        pkey: key.iter().map(|(k, _)| k.clone()).collect(),
        columns,
        key,
        old,
    }))
}

// ---------------------------------------------------------------- urlencoding

/// Percent-encode as the triggers do: `A-Z a-z 0-9 _ . -` as is, space as
/// `+`, every other byte `%xx` in lower-case hex.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

/// Undo [`url_encode`] (and accept upper-case hex).
pub fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| format!("truncated %-escape at byte {i}"))?;
                let v = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!(
                            "bad %-escape {:?} at byte {i}",
                            String::from_utf8_lossy(&bytes[i..i + 3])
                        )
                    })?;
                out.push(v);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "decoded text is not valid UTF-8".to_string())
}

/// `a=1&b&c=x` → [(a, Some(1)), (b, None), (c, Some(x))].
pub fn url_decode_row(data: &str) -> Result<Vec<Field>, String> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    data.split('&')
        .map(|part| match part.split_once('=') {
            Some((k, v)) => Ok((url_decode(k)?, Some(url_decode(v)?))),
            None => Ok((url_decode(part)?, None)),
        })
        .collect()
}

/// The inverse of [`url_decode_row`], as `logutriga` writes rows.
pub fn url_encode_row(fields: &[Field]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&url_encode(k));
        if let Some(v) = v {
            out.push('=');
            out.push_str(&url_encode(v));
        }
    }
    out
}

// ---------------------------------------------------------------- JSON

fn decode_json(
    ev_type: &str,
    data: Option<&str>,
    table: Option<String>,
    extra2: Option<&str>,
) -> Result<RowChange, String> {
    let meta: serde_json::Value =
        serde_json::from_str(ev_type).map_err(|e| format!("ev_type is not valid JSON: {e}"))?;
    let op = match meta.get("op").and_then(|v| v.as_str()) {
        Some("INSERT") => Op::Insert,
        Some("UPDATE") => Op::Update,
        Some("DELETE") => Op::Delete,
        Some("TRUNCATE") => Op::Truncate,
        Some(other) => return Err(format!("ev_type: unknown op {other:?}")),
        None => return Err("ev_type: JSON without an \"op\" string".to_string()),
    };
    let pkey = match meta.get("pkey") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("ev_type: pkey entries must be strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("ev_type: pkey must be an array".into()),
    };
    let table = match meta.get("table") {
        Some(serde_json::Value::Array(parts)) if parts.len() == 2 => {
            let s: Vec<&str> = parts.iter().filter_map(|p| p.as_str()).collect();
            if s.len() == 2 {
                Some(format!("{}.{}", s[0], s[1]))
            } else {
                table
            }
        }
        _ => table,
    };
    let columns = match data {
        None | Some("") => Vec::new(),
        Some(d) => json_row(d).map_err(|e| format!("ev_data: {e}"))?,
    };
    let old = match (op, extra2) {
        (Op::Update, Some(b)) if b.starts_with('{') => {
            Some(json_row(b).map_err(|e| format!("ev_extra2: {e}"))?)
        }
        // pgq 3.3-3.4 wrote the backup urlencoded.
        (Op::Update, Some(b)) => Some(url_decode_row(b).map_err(|e| format!("ev_extra2: {e}"))?),
        _ => None,
    };
    Ok(RowChange {
        op,
        encoding: Encoding::Json,
        table,
        pkey,
        columns,
        key: Vec::new(),
        old,
    })
}

/// A JSON object as fields in document order, values in text form (JSON
/// booleans as PostgreSQL's `t`/`f`, numbers as written).
fn json_row(d: &str) -> Result<Vec<Field>, String> {
    let v: serde_json::Value =
        serde_json::from_str(d).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err("not a JSON object".into());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => None,
                serde_json::Value::Bool(b) => Some(if b { "t" } else { "f" }.to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) => Some(s),
                other => Some(other.to_string()),
            };
            (k, text)
        })
        .collect())
}

// ---------------------------------------------------------------- partial SQL

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Literal(String),
    Null,
    LParen,
    RParen,
    Comma,
    Eq,
    Word(String),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier {s:?}"),
            Tok::Literal(s) => write!(f, "literal {s:?}"),
            Tok::Null => write!(f, "null"),
            Tok::LParen => write!(f, "'('"),
            Tok::RParen => write!(f, "')'"),
            Tok::Comma => write!(f, "','"),
            Tok::Eq => write!(f, "'='"),
            Tok::Word(w) => write!(f, "{w:?}"),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        match ch {
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                out.push(Tok::Eq);
                i += 1;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err("unterminated quoted identifier".into()),
                        Some('"') if c.get(i + 1) == Some(&'"') => {
                            v.push('"');
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(&x) => {
                            v.push(x);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Ident(v));
            }
            '\'' => {
                let (v, n) = string_literal(&c[i..], false)?;
                out.push(Tok::Literal(v));
                i += n;
            }
            'E' | 'e' if c.get(i + 1) == Some(&'\'') => {
                let (v, n) = string_literal(&c[i + 1..], true)?;
                out.push(Tok::Literal(v));
                i += n + 1;
            }
            _ if ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '.' || ch == '+' => {
                let start = i;
                while i < c.len()
                    && (c[i].is_alphanumeric() || matches!(c[i], '_' | '$' | '.' | '-' | '+'))
                {
                    i += 1;
                }
                let w: String = c[start..i].iter().collect();
                let lower = w.to_lowercase();
                if lower == "null" {
                    out.push(Tok::Null);
                } else if lower == "values" || lower == "where" || lower == "and" {
                    out.push(Tok::Word(lower));
                } else if w
                    .chars()
                    .next()
                    .is_some_and(|x| x.is_ascii_digit() || x == '-' || x == '+' || x == '.')
                {
                    // A bare number: not written by sqltriga, but valid SQL.
                    out.push(Tok::Literal(w));
                } else {
                    // Unquoted identifiers fold to lower case, as in SQL.
                    out.push(Tok::Ident(lower));
                }
            }
            other => return Err(format!("unexpected character {other:?} at offset {i}")),
        }
    }
    Ok(out)
}

/// Parse a quoted literal starting at `c[0] == '\''`; returns the value and
/// the number of chars consumed.
fn string_literal(c: &[char], escapes: bool) -> Result<(String, usize), String> {
    let mut v = String::new();
    let mut i = 1;
    loop {
        match c.get(i) {
            None => return Err("unterminated string literal".into()),
            Some('\'') if c.get(i + 1) == Some(&'\'') => {
                v.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((v, i + 1)),
            Some('\\') if escapes => {
                let next = *c.get(i + 1).ok_or("unterminated escape in E'' literal")?;
                i += 2;
                match next {
                    'n' => v.push('\n'),
                    't' => v.push('\t'),
                    'r' => v.push('\r'),
                    'b' => v.push('\u{8}'),
                    'f' => v.push('\u{c}'),
                    'x' => {
                        let mut n = 0u32;
                        let mut k = 0;
                        while k < 2 && c.get(i).is_some_and(|d| d.is_ascii_hexdigit()) {
                            n = n * 16 + c[i].to_digit(16).unwrap_or(0);
                            i += 1;
                            k += 1;
                        }
                        v.push(char::from_u32(n).ok_or("bad \\x escape")?);
                    }
                    '0'..='7' => {
                        let mut n = next.to_digit(8).unwrap_or(0);
                        let mut k = 1;
                        while k < 3 && c.get(i).is_some_and(|d| ('0'..='7').contains(d)) {
                            n = n * 8 + c[i].to_digit(8).unwrap_or(0);
                            i += 1;
                            k += 1;
                        }
                        v.push(char::from_u32(n).ok_or("bad octal escape")?);
                    }
                    other => v.push(other),
                }
            }
            Some(&x) => {
                v.push(x);
                i += 1;
            }
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn expect(&mut self, want: Tok) -> Result<(), String> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(format!("expected {want}, found {t}")),
            None => Err(format!("expected {want}, found end of data")),
        }
    }
    fn ident(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            Some(t) => Err(format!("expected a column name, found {t}")),
            None => Err("expected a column name, found end of data".into()),
        }
    }
    fn value(&mut self) -> Result<Option<String>, String> {
        match self.next() {
            Some(Tok::Literal(s)) => Ok(Some(s)),
            Some(Tok::Null) => Ok(None),
            Some(t) => Err(format!("expected a value, found {t}")),
            None => Err("expected a value, found end of data".into()),
        }
    }
    /// `a='1',b=null` or `a='1' and b='2'`, separated by `sep`.
    fn assignments(&mut self, sep: &Tok) -> Result<Vec<Field>, String> {
        let mut out = Vec::new();
        loop {
            let k = self.ident()?;
            self.expect(Tok::Eq)?;
            let v = self.value()?;
            out.push((k, v));
            if self.peek() == Some(sep) {
                self.pos += 1;
            } else {
                return Ok(out);
            }
        }
    }
    fn end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected {t} after the end of the statement")),
        }
    }
}

/// Returns (columns, key).
fn parse_partial_sql(op: Op, data: &str) -> Result<(Vec<Field>, Vec<Field>), String> {
    let mut p = Parser {
        toks: tokenize(data)?,
        pos: 0,
    };
    match op {
        Op::Insert => {
            p.expect(Tok::LParen)?;
            let mut names = vec![p.ident()?];
            while p.peek() == Some(&Tok::Comma) {
                p.pos += 1;
                names.push(p.ident()?);
            }
            p.expect(Tok::RParen)?;
            p.expect(Tok::Word("values".into()))?;
            p.expect(Tok::LParen)?;
            let mut vals = vec![p.value()?];
            while p.peek() == Some(&Tok::Comma) {
                p.pos += 1;
                vals.push(p.value()?);
            }
            p.expect(Tok::RParen)?;
            p.end()?;
            if names.len() != vals.len() {
                return Err(format!("{} columns but {} values", names.len(), vals.len()));
            }
            Ok((names.into_iter().zip(vals).collect(), Vec::new()))
        }
        Op::Update => {
            let cols = p.assignments(&Tok::Comma)?;
            p.expect(Tok::Word("where".into()))?;
            let key = p.assignments(&Tok::Word("and".into()))?;
            p.end()?;
            Ok((cols, key))
        }
        Op::Delete => {
            let key = p.assignments(&Tok::Word("and".into()))?;
            p.end()?;
            Ok((Vec::new(), key))
        }
        Op::Truncate => Ok((Vec::new(), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p: Payload) -> RowChange {
        match p {
            Payload::Row(r) => r,
            Payload::Other => panic!("expected a row"),
        }
    }

    #[test]
    fn urlencoded_insert() {
        let r = row(decode_fields(
            Some("I:id"),
            Some("id=1&txt=a+b%26c&val"),
            Some("public.t"),
            None,
        )
        .unwrap());
        assert_eq!(r.op, Op::Insert);
        assert_eq!(r.pkey, vec!["id"]);
        assert_eq!(r.table.as_deref(), Some("public.t"));
        assert_eq!(
            r.columns,
            vec![
                ("id".into(), Some("1".into())),
                ("txt".into(), Some("a b&c".into())),
                ("val".into(), None)
            ]
        );
    }

    #[test]
    fn urlencoded_roundtrip_unicode() {
        let fields = vec![
            ("nämé".to_string(), Some("x=y&z %+ü".to_string())),
            ("n".to_string(), None),
            ("e".to_string(), Some(String::new())),
        ];
        let enc = url_encode_row(&fields);
        assert_eq!(enc, "n%c3%a4m%c3%a9=x%3dy%26z+%25%2b%c3%bc&n&e=");
        assert_eq!(url_decode_row(&enc).unwrap(), fields);
    }

    #[test]
    fn urlencoded_backup_and_multi_pkey() {
        let r = row(decode_fields(
            Some("U:a,b"),
            Some("a=1&b=2&c=3"),
            Some("s.t"),
            Some("a=1&b=2&c=0"),
        )
        .unwrap());
        assert_eq!(r.pkey, vec!["a", "b"]);
        assert_eq!(r.old.unwrap()[2], ("c".into(), Some("0".into())));
    }

    #[test]
    fn bad_escapes_are_errors() {
        let e = decode_fields(Some("I:id"), Some("id=%zz"), None, None).unwrap_err();
        assert!(e.contains("bad %-escape \"%zz\""), "{e}");
        let e = decode_fields(Some("I:id"), Some("id=%4"), None, None).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = decode_fields(Some("I:id"), Some("id=%ff"), None, None).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn decode_error_names_queue_batch_event() {
        let ev = Event {
            ev_id: 42,
            ev_time: std::time::UNIX_EPOCH,
            ev_txid: 1,
            ev_retry: None,
            ev_type: Some("I".into()),
            ev_data: Some("(a) values (".into()),
            ev_extra1: None,
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        };
        let e = decode("my q", 7, &ev).unwrap_err();
        assert_eq!(e.ev_id, 42);
        let msg = e.to_string();
        assert!(
            msg.starts_with("queue \"my q\", batch 7, event 42: ev_data:"),
            "{msg}"
        );
    }

    #[test]
    fn partial_sql_forms() {
        let r = row(decode_fields(
            Some("I"),
            Some("(id,\"Mixed Col\",v) values ('1','it''s',null)"),
            Some("public.t"),
            None,
        )
        .unwrap());
        assert_eq!(
            r.columns,
            vec![
                ("id".into(), Some("1".into())),
                ("Mixed Col".into(), Some("it's".into())),
                ("v".into(), None)
            ]
        );
        let r = row(decode_fields(
            Some("U"),
            Some("v='x',w=null where id='1' and k=E'a\\\\b'"),
            None,
            None,
        )
        .unwrap());
        assert_eq!(
            r.columns,
            vec![("v".into(), Some("x".into())), ("w".into(), None)]
        );
        assert_eq!(
            r.key,
            vec![
                ("id".into(), Some("1".into())),
                ("k".into(), Some("a\\b".into()))
            ]
        );
        assert_eq!(r.pkey, vec!["id", "k"]);
        let r = row(decode_fields(Some("D"), Some("id='1'"), None, None).unwrap());
        assert_eq!(r.op, Op::Delete);
        assert_eq!(r.get("id"), Some(Some("1")));
        let r = row(decode_fields(Some("R"), Some(""), Some("public.t"), None).unwrap());
        assert_eq!(r.op, Op::Truncate);
    }

    #[test]
    fn partial_sql_errors() {
        for bad in [
            "(a,b) values ('1')",
            "(a values ('1')",
            "a='1' where",
            "a='1",
            "(a) values ('1') extra",
        ] {
            let op = if bad.starts_with('(') { "I" } else { "U" };
            assert!(
                decode_fields(Some(op), Some(bad), None, None).is_err(),
                "{bad} should fail"
            );
        }
    }

    #[test]
    fn json_events() {
        let r = row(decode_fields(
            Some(r#"{"op":"UPDATE","table":["public","t"],"pkey":["id"]}"#),
            Some(r#"{"id":1,"b":true,"n":null,"s":"x","big":-9223372036854775808}"#),
            Some("public.t"),
            Some(r#"{"id":1,"b":false,"n":null,"s":"y","big":0}"#),
        )
        .unwrap());
        assert_eq!(r.op, Op::Update);
        assert_eq!(r.encoding, Encoding::Json);
        assert_eq!(r.table.as_deref(), Some("public.t"));
        assert_eq!(r.get("b"), Some(Some("t")));
        assert_eq!(r.get("n"), Some(None));
        assert_eq!(r.get("big"), Some(Some("-9223372036854775808")));
        assert_eq!(r.old.as_ref().unwrap()[3], ("s".into(), Some("y".into())));
        assert!(decode_fields(Some("{\"op\":\"X\"}"), Some("{}"), None, None).is_err());
        assert!(decode_fields(Some("{bad"), Some("{}"), None, None).is_err());
        assert!(decode_fields(Some(r#"{"op":"INSERT"}"#), Some("[1]"), None, None).is_err());
    }

    #[test]
    fn other_events_pass_through() {
        assert_eq!(
            decode_fields(Some("pgq.tick-id"), Some("5"), None, None).unwrap(),
            Payload::Other
        );
        assert_eq!(
            decode_fields(None, Some("x"), None, None).unwrap(),
            Payload::Other
        );
        assert_eq!(
            decode_fields(Some("X:foo"), Some("x"), None, None).unwrap(),
            Payload::Other
        );
    }
}
