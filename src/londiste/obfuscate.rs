//! The `obfuscate` handler (spec §5.10): table rows rewritten by a rule map
//! before they reach the subscriber, both in events (replay, and the copy of
//! events into a branch queue) and in the initial copy.
//!
//! The map (`obfuscator_map`, YAML) names each table and, per column, one
//! rule:
//!
//! * `keep` — the value as is;
//! * `skip` — the column is left out (also every column the map does not
//!   name);
//! * `bool` — whether the value is non-empty: `t` / `f` (NULL stays NULL);
//! * `hash32` / `hash64` — a keyed BLAKE2s digest of the value's text, 4 or 8
//!   bytes read as a big-endian signed integer;
//! * `hash` — a 16-byte digest written as a uuid, its variant bit cleared;
//! * a nested mapping — the value is JSON: objects are rebuilt from the
//!   nested rules (in the map's order), whatever is not kept is dropped.
//!
//! The digests are keyed by `obfuscator_key` and byte-identical to those of
//! the original Python handler, so a subscriber fed by either gets the same
//! values. BLAKE2s (RFC 7693) and the small YAML subset the map needs are
//! written here rather than pulled in as dependencies.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::londiste::copy::RowRewrite;
use crate::pgq::event::{url_decode_row, url_encode_row, Field};
use crate::pgq::Event;

/// The longest key BLAKE2s takes.
const MAX_KEY: usize = 32;

/// The rule names a column may carry, for error messages.
const RULE_NAMES: &str =
    "keep, skip, bool, hash32, hash64, hash, or a nested mapping of rules (JSON)";

/// Rows rewritten by a rule map; see the module documentation.
#[derive(Clone)]
pub struct Obfuscator {
    /// Where the map came from (its file), for error messages.
    origin: String,
    key: Arc<[u8]>,
    tables: HashMap<String, Arc<TableRules>>,
    /// Table names in the map's order, for error messages.
    order: Vec<String>,
}

impl fmt::Debug for Obfuscator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("Obfuscator")
            .field("origin", &self.origin)
            .field("tables", &self.order)
            .finish_non_exhaustive()
    }
}

/// One column's rule.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Keep,
    Skip,
    Bool,
    Hash32,
    Hash64,
    Hash,
    /// Rules for the keys of a JSON object, in the map's order.
    Json(Vec<(String, Rule)>),
}

impl Rule {
    fn from_name(name: &str) -> Option<Rule> {
        Some(match name {
            "keep" => Rule::Keep,
            "skip" => Rule::Skip,
            "bool" => Rule::Bool,
            "hash32" => Rule::Hash32,
            "hash64" => Rule::Hash64,
            "hash" => Rule::Hash,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct TableRules {
    name: String,
    columns: HashMap<String, Rule>,
}

impl TableRules {
    fn rule(&self, column: &str) -> &Rule {
        self.columns.get(column).unwrap_or(&Rule::Skip)
    }
}

impl Obfuscator {
    /// Reads the map file; errors name the file and line.
    pub fn load(map_path: &Path, key: &str) -> Result<Obfuscator, String> {
        let text = std::fs::read_to_string(map_path).map_err(|e| {
            format!(
                "obfuscator_map {}: cannot read it: {e}; check the path in the job's config",
                map_path.display()
            )
        })?;
        Self::parse(&text, &map_path.display().to_string(), key)
    }

    /// Reads a map from `yaml`; `origin` names it in errors (file name).
    pub fn parse(yaml: &str, origin: &str, key: &str) -> Result<Obfuscator, String> {
        if key.len() > MAX_KEY {
            return Err(format!(
                "obfuscator_key is {} bytes long; BLAKE2s takes a key of at most {MAX_KEY} bytes, \
                 use a shorter key",
                key.len()
            ));
        }
        let top = yaml::parse(yaml, origin)?;
        let at = |line: usize, msg: String| format!("{origin}:{line}: {msg}");
        let entries = match top {
            yaml::Node::Map { entries, .. } if !entries.is_empty() => entries,
            yaml::Node::Map { line, .. } | yaml::Node::Empty { line } => {
                return Err(at(
                    line,
                    "the obfuscator map names no table; expected `schema.table:` followed by \
                     indented `column: rule` lines"
                        .into(),
                ))
            }
            yaml::Node::Scalar { line, .. } => {
                return Err(at(
                    line,
                    "expected a mapping of tables (`schema.table:`), found a single value".into(),
                ))
            }
        };
        let mut tables = HashMap::new();
        let mut order = Vec::new();
        for e in entries {
            let name = &e.key;
            let cols = match e.value {
                yaml::Node::Map { entries, .. } => entries,
                yaml::Node::Empty { .. } => {
                    let msg = format!(
                        "table {name}: no rules; give its columns as indented `column: rule` lines"
                    );
                    return Err(at(e.line, msg));
                }
                yaml::Node::Scalar { line, .. } => {
                    let msg = format!(
                        "table {name}: expected indented `column: rule` lines, found a value"
                    );
                    return Err(at(line, msg));
                }
            };
            let mut columns = HashMap::new();
            for c in cols {
                let what = format!("table {}, column {:?}", e.key, c.key);
                let rule = to_rule(c.value, &what, origin)?;
                columns.insert(c.key, rule);
            }
            order.push(e.key.clone());
            tables.insert(
                e.key.clone(),
                Arc::new(TableRules {
                    name: e.key,
                    columns,
                }),
            );
        }
        Ok(Obfuscator {
            origin: origin.to_string(),
            key: Arc::from(key.as_bytes()),
            tables,
            order,
        })
    }

    /// Whether the map has rules for `table` (schema.table).
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    fn table(&self, table: &str) -> Result<&Arc<TableRules>, String> {
        self.tables.get(table).ok_or_else(|| {
            const SHOWN: usize = 10;
            let mut known = self.order[..self.order.len().min(SHOWN)].join(", ");
            if self.order.len() > SHOWN {
                known.push_str(&format!(" and {} more", self.order.len() - SHOWN));
            }
            format!(
                "table {table} is not in the obfuscator map {} (it has: {known}); \
                 add the table and its column rules to the map",
                self.origin
            )
        })
    }

    /// The event with its row data obfuscated (urlencoded or JSON events,
    /// same encoding out as in; ev_type's pkey list kept); sqltriga
    /// (partial SQL) events → error; truncate `R` passes unchanged. Used both
    /// for replay and when the cascade copies events into a branch queue.
    ///
    /// The old row an UPDATE may carry in ev_extra2 (trigger arg `backup`)
    /// is rewritten the same way, so no original value leaks through it.
    pub fn rewrite_event(&self, table: &str, ev: &Event) -> Result<Event, String> {
        let rules = self.table(table)?;
        let ctx = |e: String| format!("obfuscating event {} of table {table}: {e}", ev.ev_id);
        let Some(ty) = ev.ev_type.as_deref() else {
            return Err(ctx("the event has no type, it is not a row change".into()));
        };
        let mut out = ev.clone();
        let update;
        if ty.starts_with('{') {
            let meta = json::parse(ty).map_err(|e| ctx(format!("ev_type is not JSON: {e}")))?;
            let op = match &meta {
                json::Value::Obj(f) => f.iter().find(|(k, _)| k == "op").map(|(_, v)| v),
                _ => None,
            };
            match op {
                Some(json::Value::Str(op)) if op == "TRUNCATE" => return Ok(out),
                Some(json::Value::Str(op)) if op == "INSERT" || op == "DELETE" => update = false,
                Some(json::Value::Str(op)) if op == "UPDATE" => update = true,
                _ => {
                    return Err(ctx(format!(
                        "ev_type {ty:?} names no row operation (INSERT, UPDATE, DELETE, TRUNCATE)"
                    )))
                }
            }
        } else if ty == "R" {
            return Ok(out);
        } else if let Some((op @ ("I" | "U" | "D"), _)) = ty.split_once(':') {
            update = op == "U";
        } else if matches!(ty, "I" | "U" | "D") {
            return Err(ctx(
                "it is a partial-SQL (sqltriga) event, which the obfuscate handler cannot \
                 rewrite; capture the table with logutriga or jsontriga (re-add it without \
                 the sql trigger option)"
                    .into(),
            ));
        } else {
            return Err(ctx(format!("ev_type {ty:?} is not a table row event")));
        }
        let rewrite_row = |data: &str, what: &str| -> Result<String, String> {
            if data.starts_with('{') {
                rewrite_json_row(rules, &self.key, data)
            } else {
                rewrite_urlenc_row(rules, &self.key, data)
            }
            .map_err(|e| ctx(format!("{what}: {e}")))
        };
        if let Some(data) = ev.ev_data.as_deref() {
            out.ev_data = Some(rewrite_row(data, "ev_data")?);
        }
        if update {
            if let Some(old) = ev.ev_extra2.as_deref() {
                out.ev_extra2 = Some(rewrite_row(old, "ev_extra2 (the old row)")?);
            }
        }
        Ok(out)
    }

    /// The copy hook for `table`.
    pub fn copy_rewrite(&self, table: &str) -> Result<Arc<dyn RowRewrite>, String> {
        let rules = self.table(table)?;
        Ok(Arc::new(CopyRewrite {
            rules: Arc::clone(rules),
            key: Arc::clone(&self.key),
        }))
    }
}

/// A YAML value turned into a rule; `what` names it in errors.
fn to_rule(node: yaml::Node, what: &str, origin: &str) -> Result<Rule, String> {
    match node {
        yaml::Node::Scalar { text, line } => Rule::from_name(&text).ok_or_else(|| {
            format!("{origin}:{line}: {what}: unknown rule {text:?}; use {RULE_NAMES}")
        }),
        yaml::Node::Empty { line } => Err(format!(
            "{origin}:{line}: {what}: no rule given; use {RULE_NAMES}"
        )),
        yaml::Node::Map { entries, .. } => {
            let mut rules = Vec::with_capacity(entries.len());
            for e in entries {
                let inner = format!("{what}, JSON key {:?}", e.key);
                rules.push((e.key, to_rule(e.value, &inner, origin)?));
            }
            Ok(Rule::Json(rules))
        }
    }
}

/// The copy hook: rows in PostgreSQL text form.
struct CopyRewrite {
    rules: Arc<TableRules>,
    key: Arc<[u8]>,
}

impl RowRewrite for CopyRewrite {
    fn keep(&self, column: &str) -> bool {
        *self.rules.rule(column) != Rule::Skip
    }

    fn rewrite(&self, columns: &[String], row: &mut Vec<Option<String>>) -> Result<(), String> {
        if columns.len() != row.len() {
            return Err(format!(
                "table {}: a row of {} values for {} columns",
                self.rules.name,
                row.len(),
                columns.len()
            ));
        }
        for (column, value) in columns.iter().zip(row.iter_mut()) {
            let rule = self.rules.rule(column);
            match rule {
                Rule::Keep => {}
                Rule::Skip => {
                    return Err(format!(
                        "table {}: column {column:?} is skipped by the map but was copied; \
                         this is a bug, report it",
                        self.rules.name
                    ))
                }
                _ => {
                    let v = value.take().map_or(json::Value::Null, json::Value::Str);
                    let out = apply_column(rule, v, &self.key).map_err(|e| {
                        format!("table {}, column {column:?}: {e}", self.rules.name)
                    })?;
                    *value = out.and_then(text_form);
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- rules

/// One top-level column's new value; None: the column is dropped.
fn apply_column(rule: &Rule, v: json::Value, key: &[u8]) -> Result<Option<json::Value>, String> {
    use json::Value as J;
    Ok(Some(match rule {
        Rule::Skip => return Ok(None),
        Rule::Keep => v,
        Rule::Json(_) => {
            let doc = match v {
                J::Null => return Ok(Some(J::Null)),
                // The usual case: the column's text. A JSON event may carry
                // the document itself.
                J::Str(s) => json::parse(&s).map_err(|e| format!("not valid JSON: {e}"))?,
                other => other,
            };
            let obf = obf_json(&doc, rule, key)?;
            match obf {
                J::Null => J::Str("{}".into()),
                other => J::Str(json::dumps(&other)),
            }
        }
        Rule::Bool => match v {
            J::Null => J::Null,
            other => J::Str(if truthy(&other) { "t" } else { "f" }.into()),
        },
        Rule::Hash32 | Rule::Hash64 | Rule::Hash => hash_value(rule, &v, key)?,
    }))
}

/// A JSON value under `rule`; `Null` means "left out".
fn obf_json(doc: &json::Value, rule: &Rule, key: &[u8]) -> Result<json::Value, String> {
    use json::Value as J;
    match rule {
        Rule::Json(rules) => {
            let J::Obj(fields) = doc else {
                return Ok(J::Null);
            };
            let mut out = Vec::new();
            for (k, r) in rules {
                let v = fields
                    .iter()
                    .find(|(fk, _)| fk == k)
                    .map_or(&J::Null, |(_, v)| v);
                let o = obf_json(v, r, key)?;
                if o != J::Null {
                    out.push((k.clone(), o));
                }
            }
            Ok(if out.is_empty() { J::Null } else { J::Obj(out) })
        }
        Rule::Keep => Ok(doc.clone()),
        Rule::Skip => Ok(J::Null),
        _ if matches!(doc, J::Arr(_) | J::Obj(_)) => Ok(J::Null),
        Rule::Bool => Ok(match doc {
            J::Null => J::Null,
            other => J::Str(if truthy(other) { "t" } else { "f" }.into()),
        }),
        Rule::Hash32 | Rule::Hash64 | Rule::Hash => hash_value(rule, doc, key),
    }
}

/// hash32 / hash64 as a JSON number, hash as a uuid string; NULL stays.
fn hash_value(rule: &Rule, v: &json::Value, key: &[u8]) -> Result<json::Value, String> {
    use json::Value as J;
    let owned;
    let data: &[u8] = match v {
        J::Null => return Ok(J::Null),
        J::Str(s) => s.as_bytes(),
        // A JSON boolean hashes as the integer it is in Python.
        J::Bool(b) => {
            if *b {
                b"1"
            } else {
                b"0"
            }
        }
        J::Int(s) => s.as_bytes(),
        J::Float(f) => {
            owned = json::py_float_repr(*f);
            owned.as_bytes()
        }
        J::Arr(_) | J::Obj(_) => {
            return Err(
                "a JSON array or object cannot be hashed; use keep, skip or nested rules".into(),
            )
        }
    };
    Ok(match rule {
        Rule::Hash32 => J::Int(hash32(key, data).to_string()),
        Rule::Hash64 => J::Int(hash64(key, data).to_string()),
        _ => J::Str(hash128(key, data)),
    })
}

/// Python's truth value of a JSON value: empty and zero are false.
fn truthy(v: &json::Value) -> bool {
    use json::Value as J;
    match v {
        J::Null => false,
        J::Bool(b) => *b,
        J::Int(s) => s != "0",
        J::Float(f) => *f != 0.0,
        J::Str(s) => !s.is_empty(),
        J::Arr(a) => !a.is_empty(),
        J::Obj(o) => !o.is_empty(),
    }
}

/// A value in PostgreSQL text form (None = NULL).
fn text_form(v: json::Value) -> Option<String> {
    use json::Value as J;
    match v {
        J::Null => None,
        J::Str(s) | J::Int(s) => Some(s),
        J::Bool(b) => Some(if b { "t" } else { "f" }.into()),
        J::Float(f) => Some(json::py_float_repr(f)),
        other => Some(json::dumps(&other)),
    }
}

fn rewrite_urlenc_row(rules: &TableRules, key: &[u8], data: &str) -> Result<String, String> {
    let fields = url_decode_row(data)?;
    let mut out: Vec<Field> = Vec::with_capacity(fields.len());
    for (column, value) in fields {
        let v = value.map_or(json::Value::Null, json::Value::Str);
        if let Some(o) = apply_column(rules.rule(&column), v, key)
            .map_err(|e| format!("column {column:?}: {e}"))?
        {
            out.push((column, text_form(o)));
        }
    }
    Ok(url_encode_row(&out))
}

fn rewrite_json_row(rules: &TableRules, key: &[u8], data: &str) -> Result<String, String> {
    let json::Value::Obj(fields) = json::parse(data)? else {
        return Err("not a JSON object".into());
    };
    let mut out = Vec::with_capacity(fields.len());
    for (column, value) in fields {
        if let Some(o) = apply_column(rules.rule(&column), value, key)
            .map_err(|e| format!("column {column:?}: {e}"))?
        {
            out.push((column, o));
        }
    }
    Ok(json::dumps(&json::Value::Obj(out)))
}

// ---------------------------------------------------------------- hashes

/// A 4-byte keyed digest as a big-endian signed integer.
fn hash32(key: &[u8], data: &[u8]) -> i32 {
    let d = blake2s::<4>(key, data);
    i32::from_be_bytes(d)
}

/// An 8-byte keyed digest as a big-endian signed integer.
fn hash64(key: &[u8], data: &[u8]) -> i64 {
    let d = blake2s::<8>(key, data);
    i64::from_be_bytes(d)
}

/// A 16-byte keyed digest as a uuid whose variant bit (the top bit of the
/// fourth group) is cleared.
fn hash128(key: &[u8], data: &[u8]) -> String {
    let mut d = blake2s::<16>(key, data);
    d[8] &= 0x7f;
    let mut s = String::with_capacity(36);
    for (i, b) in d.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// BLAKE2s (RFC 7693) of `data` keyed by `key` (at most 32 bytes, checked
/// when the map is loaded; a longer one is cut), digest of `N` bytes
/// (1..=32).
fn blake2s<const N: usize>(key: &[u8], data: &[u8]) -> [u8; N] {
    let key = &key[..key.len().min(MAX_KEY)];
    let mut h = IV;
    // Parameter block: digest length, key length, fanout 1, depth 1.
    h[0] ^= 0x0101_0000 ^ ((key.len() as u32) << 8) ^ (N as u32);
    let mut t: u64 = 0;
    if !key.is_empty() {
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        t = 64;
        compress(&mut h, &block, t, data.is_empty());
    }
    if !data.is_empty() || key.is_empty() {
        let mut rest = data;
        while rest.len() > 64 {
            let (block, tail) = rest.split_at(64);
            t += 64;
            let mut b = [0u8; 64];
            b.copy_from_slice(block);
            compress(&mut h, &b, t, false);
            rest = tail;
        }
        let mut b = [0u8; 64];
        b[..rest.len()].copy_from_slice(rest);
        t += rest.len() as u64;
        compress(&mut h, &b, t, true);
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = h[i / 4].to_le_bytes()[i % 4];
    }
    out
}

fn compress(h: &mut [u32; 8], block: &[u8; 64], t: u64, last: bool) {
    let mut m = [0u32; 16];
    for (i, w) in m.iter_mut().enumerate() {
        let b = &block[4 * i..4 * i + 4];
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let mut v = [0u32; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t as u32;
    v[13] ^= (t >> 32) as u32;
    if last {
        v[14] = !v[14];
    }
    for s in &SIGMA {
        mix(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
        mix(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
        mix(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
        mix(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
        mix(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
        mix(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
        mix(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
        mix(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

/// The G function.
fn mix(v: &mut [u32; 16], [a, b, c, d]: [usize; 4], x: u32, y: u32) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(12);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(8);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(7);
}

// ---------------------------------------------------------------- JSON

/// JSON as Python's `json` module reads and writes it: objects keep their
/// order (a repeated key keeps its first place and its last value),
/// integers keep every digit, output is `json.dumps` with its defaults
/// (`", "` and `": "` separators, non-ASCII as `\uXXXX`). The JSON rule's
/// output text must match the original's byte for byte.
mod json {
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Value {
        Null,
        Bool(bool),
        /// The decimal digits, optionally signed.
        Int(String),
        Float(f64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    pub(super) fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            text,
            i: 0,
        };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i < p.s.len() {
            return Err(p.err("extra data after the value"));
        }
        Ok(v)
    }

    /// Deep enough for any sane document, shallow enough for the stack.
    const MAX_DEPTH: usize = 500;

    struct Parser<'a> {
        s: &'a [u8],
        text: &'a str,
        i: usize,
    }

    impl Parser<'_> {
        fn err(&self, what: &str) -> String {
            format!("{what} at byte {}", self.i)
        }

        fn ws(&mut self) {
            while self
                .s
                .get(self.i)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            {
                self.i += 1;
            }
        }

        fn eat(&mut self, lit: &str) -> bool {
            if self.s[self.i..].starts_with(lit.as_bytes()) {
                self.i += lit.len();
                true
            } else {
                false
            }
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(self.err("nested too deeply"));
            }
            match self.s.get(self.i) {
                None => Err(self.err("unexpected end")),
                Some(b'{') => {
                    self.i += 1;
                    let mut fields: Vec<(String, Value)> = Vec::new();
                    self.ws();
                    if self.eat("}") {
                        return Ok(Value::Obj(fields));
                    }
                    loop {
                        self.ws();
                        if self.s.get(self.i) != Some(&b'"') {
                            return Err(self.err("expected a string key"));
                        }
                        let k = self.string()?;
                        self.ws();
                        if !self.eat(":") {
                            return Err(self.err("expected ':'"));
                        }
                        self.ws();
                        let v = self.value(depth + 1)?;
                        match fields.iter_mut().find(|(fk, _)| *fk == k) {
                            Some(f) => f.1 = v,
                            None => fields.push((k, v)),
                        }
                        self.ws();
                        if self.eat(",") {
                            continue;
                        }
                        if self.eat("}") {
                            return Ok(Value::Obj(fields));
                        }
                        return Err(self.err("expected ',' or '}'"));
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.eat("]") {
                        return Ok(Value::Arr(items));
                    }
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        if self.eat(",") {
                            continue;
                        }
                        if self.eat("]") {
                            return Ok(Value::Arr(items));
                        }
                        return Err(self.err("expected ',' or ']'"));
                    }
                }
                Some(b'"') => Ok(Value::Str(self.string()?)),
                _ if self.eat("null") => Ok(Value::Null),
                _ if self.eat("true") => Ok(Value::Bool(true)),
                _ if self.eat("false") => Ok(Value::Bool(false)),
                _ if self.eat("NaN") => Ok(Value::Float(f64::NAN)),
                _ if self.eat("Infinity") => Ok(Value::Float(f64::INFINITY)),
                _ if self.eat("-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
                Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
                Some(_) => Err(self.err("unexpected character")),
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.i;
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            self.i - start
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.i;
            self.eat("-");
            if self.eat("0") {
                // no leading zeros: "01" ends the number after 0
            } else if self.digits() == 0 {
                return Err(self.err("expected a digit"));
            }
            let mut float = false;
            if self.s.get(self.i) == Some(&b'.')
                && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
            {
                self.i += 1;
                self.digits();
                float = true;
            }
            if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
                let save = self.i;
                self.i += 1;
                if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if self.digits() == 0 {
                    self.i = save;
                } else {
                    float = true;
                }
            }
            let text = &self.text[start..self.i];
            if float {
                text.parse::<f64>()
                    .map(Value::Float)
                    .map_err(|_| self.err("bad number"))
            } else if text == "-0" {
                Ok(Value::Int("0".into()))
            } else {
                Ok(Value::Int(text.to_string()))
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let h = self
                .text
                .get(self.i..self.i + 4)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .ok_or_else(|| self.err("bad \\u escape"))?;
            let v = u32::from_str_radix(h, 16).map_err(|_| self.err("bad \\u escape"))?;
            self.i += 4;
            Ok(v)
        }

        fn string(&mut self) -> Result<String, String> {
            self.i += 1; // the opening quote
            let mut out = String::new();
            loop {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
                {
                    self.i += 1;
                }
                out.push_str(&self.text[start..self.i]);
                match self.s.get(self.i) {
                    None => return Err(self.err("unterminated string")),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let c = self.s.get(self.i).copied();
                        self.i += 1;
                        match c {
                            Some(b'"') => out.push('"'),
                            Some(b'\\') => out.push('\\'),
                            Some(b'/') => out.push('/'),
                            Some(b'b') => out.push('\u{8}'),
                            Some(b'f') => out.push('\u{c}'),
                            Some(b'n') => out.push('\n'),
                            Some(b'r') => out.push('\r'),
                            Some(b't') => out.push('\t'),
                            Some(b'u') => {
                                let mut cp = self.hex4()?;
                                if (0xD800..0xDC00).contains(&cp) && self.eat("\\u") {
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.err("unpaired surrogate"));
                                    }
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                                let ch = char::from_u32(cp)
                                    .ok_or_else(|| self.err("unpaired surrogate"))?;
                                out.push(ch);
                            }
                            _ => {
                                self.i -= 1;
                                return Err(self.err("bad escape"));
                            }
                        }
                    }
                    Some(_) => return Err(self.err("control character in a string")),
                }
            }
        }
    }

    /// `json.dumps(value)` with Python's defaults.
    pub(super) fn dumps(v: &Value) -> String {
        let mut out = String::new();
        write(v, &mut out);
        out
    }

    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(s) => out.push_str(s),
            Value::Float(f) => {
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    out.push_str(&py_float_repr(*f));
                }
            }
            Value::Str(s) => write_str(s, out),
            Value::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Obj(fields) => {
                out.push('{');
                for (i, (k, item)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str(k, out);
                    out.push_str(": ");
                    write(item, out);
                }
                out.push('}');
            }
        }
    }

    fn write_str(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                ' '..='~' => out.push(c),
                _ => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
        }
        out.push('"');
    }

    /// Python's `repr()` of a float: the shortest digits that read back,
    /// positional from 1e-4 up to 1e16, else `1.5e-05` style.
    pub(super) fn py_float_repr(f: f64) -> String {
        if f.is_nan() {
            return "nan".into();
        }
        if f.is_infinite() {
            return if f > 0.0 { "inf" } else { "-inf" }.into();
        }
        // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let (sign, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => ("-", m),
            None => ("", mantissa),
        };
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let n = digits.len() as i32;
        let mut out = String::from(sign);
        if (-4..16).contains(&exp) {
            if exp >= 0 {
                let int_len = (exp + 1) as usize;
                if digits.len() <= int_len {
                    out.push_str(&digits);
                    out.push_str(&"0".repeat(int_len - digits.len()));
                    out.push_str(".0");
                } else {
                    out.push_str(&digits[..int_len]);
                    out.push('.');
                    out.push_str(&digits[int_len..]);
                }
            } else {
                out.push_str("0.");
                out.push_str(&"0".repeat((-exp - 1) as usize));
                out.push_str(&digits);
            }
        } else {
            out.push_str(&digits[..1]);
            if n > 1 {
                out.push('.');
                out.push_str(&digits[1..]);
            }
            out.push_str(&format!(
                "e{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.abs()
            ));
        }
        out
    }
}

// ---------------------------------------------------------------- YAML

/// The YAML the map needs: block mappings nested by indentation, `#`
/// comments, plain, single- and double-quoted scalars and keys, `{}` for an
/// empty mapping, one document (`---` / `...` allowed). Everything else
/// (sequences, flow collections, anchors, tags, block and multi-line
/// scalars) is an error naming the file and line. Scalars stay strings:
/// unlike YAML 1.1, a key such as `on` or `1` is the column of that name.
mod yaml {
    #[derive(Debug, PartialEq)]
    pub(super) enum Node {
        Scalar {
            text: String,
            line: usize,
        },
        Map {
            entries: Vec<Entry>,
            line: usize,
        },
        /// A key with no value (YAML null).
        Empty {
            line: usize,
        },
    }

    #[derive(Debug, PartialEq)]
    pub(super) struct Entry {
        pub key: String,
        pub line: usize,
        pub value: Node,
    }

    struct Line<'a> {
        no: usize,
        indent: usize,
        text: &'a str,
    }

    pub(super) fn parse(src: &str, origin: &str) -> Result<Node, String> {
        let lines = lines(src, origin)?;
        let Some(first) = lines.first() else {
            return Ok(Node::Empty { line: 1 });
        };
        let mut p = Parser {
            lines: &lines,
            pos: 0,
            origin,
        };
        let entries = p.map(first.indent)?;
        if let Some(l) = lines.get(p.pos) {
            return Err(p.at(l.no, "bad indentation: less than the first line's"));
        }
        Ok(Node::Map {
            entries,
            line: first.no,
        })
    }

    /// The lines that carry content: indentation measured, blank and
    /// comment-only lines and the document markers left out.
    fn lines<'a>(src: &'a str, origin: &str) -> Result<Vec<Line<'a>>, String> {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        let mut out = Vec::new();
        let mut ended = false;
        for (i, raw) in src.lines().enumerate() {
            let no = i + 1;
            let at = |msg: &str| format!("{origin}:{no}: {msg}");
            let body = raw.trim_start_matches(' ');
            let indent = raw.len() - body.len();
            let content = body.trim_end_matches([' ', '\t']);
            let visible = content.trim_start_matches([' ', '\t']);
            if visible.is_empty() || visible.starts_with('#') {
                continue;
            }
            if content.starts_with('\t') {
                return Err(at(
                    "a tab in the indentation; YAML indents with spaces only",
                ));
            }
            if ended {
                return Err(at(
                    "content after the document end `...`; the map is one document",
                ));
            }
            if indent == 0 && is_marker(content, "---") {
                if !out.is_empty() {
                    return Err(at(
                        "a second YAML document (`---`); the map is one document",
                    ));
                }
                if content.len() > 3 && !content[3..].trim_start().starts_with('#') {
                    return Err(at("content after `---`; start the map on the next line"));
                }
                continue;
            }
            if indent == 0 && is_marker(content, "...") {
                ended = true;
                continue;
            }
            out.push(Line {
                no,
                indent,
                text: content,
            });
        }
        Ok(out)
    }

    fn is_marker(content: &str, marker: &str) -> bool {
        content.starts_with(marker)
            && content[marker.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t')
    }

    struct Parser<'a> {
        lines: &'a [Line<'a>],
        pos: usize,
        origin: &'a str,
    }

    impl Parser<'_> {
        fn at(&self, line: usize, msg: &str) -> String {
            format!("{}:{line}: {msg}", self.origin)
        }

        /// The entries of a mapping whose keys sit at `indent`.
        fn map(&mut self, indent: usize) -> Result<Vec<Entry>, String> {
            let lines = self.lines;
            let mut entries: Vec<Entry> = Vec::new();
            while let Some(line) = lines.get(self.pos) {
                if line.indent < indent {
                    break;
                }
                if line.indent > indent {
                    return Err(self.at(
                        line.no,
                        "unexpected indentation (values spanning lines are not supported)",
                    ));
                }
                let (key, rest) = self.key(line)?;
                self.pos += 1;
                let value = match self.inline_value(line, rest)? {
                    Some(v) => v,
                    None => match lines.get(self.pos) {
                        Some(next) if next.indent > indent => {
                            let line_no = next.no;
                            Node::Map {
                                entries: self.map(next.indent)?,
                                line: line_no,
                            }
                        }
                        _ => Node::Empty { line: line.no },
                    },
                };
                if entries.iter().any(|e| e.key == key) {
                    return Err(self.at(line.no, &format!("duplicate key {key:?}")));
                }
                entries.push(Entry {
                    key,
                    line: line.no,
                    value,
                });
            }
            Ok(entries)
        }

        /// The key of a `key: value` line and what follows its colon.
        fn key<'l>(&self, line: &Line<'l>) -> Result<(String, &'l str), String> {
            let t = line.text;
            let not_entry = || {
                self.at(
                    line.no,
                    &format!("expected `key: value` or `key:`, found {t:?}"),
                )
            };
            let (key, after) = match t.as_bytes().first() {
                Some(b'"' | b'\'') => {
                    let (k, rest) = self.quoted(line.no, t)?;
                    let rest = rest.trim_start_matches([' ', '\t']);
                    let Some(after) = rest.strip_prefix(':') else {
                        return Err(not_entry());
                    };
                    if !after.is_empty() && !after.starts_with([' ', '\t']) {
                        return Err(not_entry());
                    }
                    (k, after)
                }
                _ => {
                    self.check_plain_start(line.no, t)?;
                    let b = t.as_bytes();
                    let mut i = 0;
                    loop {
                        if i >= b.len() {
                            return Err(not_entry());
                        }
                        if b[i] == b'#' && i > 0 && matches!(b[i - 1], b' ' | b'\t') {
                            return Err(not_entry());
                        }
                        if b[i] == b':' && (i + 1 == b.len() || matches!(b[i + 1], b' ' | b'\t')) {
                            break;
                        }
                        i += 1;
                    }
                    (t[..i].trim_end().to_string(), &t[i + 1..])
                }
            };
            Ok((key, after))
        }

        /// The value on the key's line, or None when the line ends after
        /// the colon (a nested mapping or nothing follows).
        fn inline_value(&self, line: &Line<'_>, rest: &str) -> Result<Option<Node>, String> {
            let v = rest.trim_start_matches([' ', '\t']);
            if v.is_empty() || v.starts_with('#') {
                return Ok(None);
            }
            let node = |text: String| {
                Ok(Some(Node::Scalar {
                    text,
                    line: line.no,
                }))
            };
            let trailing_ok = |s: &str| {
                let t = s.trim_start_matches([' ', '\t']);
                t.is_empty() || (t.starts_with('#') && t.len() < s.len())
            };
            if v.starts_with(['"', '\'']) {
                let (text, after) = self.quoted(line.no, v)?;
                if !trailing_ok(after) {
                    return Err(self.at(line.no, "unexpected text after the quoted value"));
                }
                return node(text);
            }
            if let Some(after) = v.strip_prefix("{}") {
                if trailing_ok(after) {
                    return Ok(Some(Node::Map {
                        entries: Vec::new(),
                        line: line.no,
                    }));
                }
            }
            self.check_plain_start(line.no, v)?;
            let b = v.as_bytes();
            let end = (1..b.len())
                .find(|&i| b[i] == b'#' && matches!(b[i - 1], b' ' | b'\t'))
                .unwrap_or(b.len());
            let text = v[..end].trim_end();
            if text.ends_with(':') || text.contains(": ") || text.contains(":\t") {
                return Err(self.at(
                    line.no,
                    "a mapping inside a value on one line; put nested keys on their own, \
                     indented lines",
                ));
            }
            node(text.to_string())
        }

        /// Plain scalars may not start with a YAML indicator.
        fn check_plain_start(&self, no: usize, t: &str) -> Result<(), String> {
            let mut chars = t.chars();
            let c = chars.next().unwrap_or(' ');
            let next_blank = chars.next().is_none_or(|n| n == ' ' || n == '\t');
            let what = match c {
                '-' if next_blank => "a sequence (`- item`)",
                '?' if next_blank => "a complex key (`? key`)",
                ':' if next_blank => "an empty key",
                '[' | ']' | '{' | '}' | ',' => "a flow collection (`[…]`, `{…}`)",
                '&' => "an anchor (`&name`)",
                '*' => "an alias (`*name`)",
                '!' => "a tag (`!tag`)",
                '|' | '>' => "a block scalar (`|`, `>`)",
                '%' => "a directive (`%…`)",
                '@' | '`' => "a reserved indicator (`@`, `` ` ``)",
                _ => return Ok(()),
            };
            Err(self.at(
                no,
                &format!(
                    "{what} is not supported in the obfuscator map; use `key: value` lines \
                     (quote values that start with such a character)"
                ),
            ))
        }

        /// A quoted scalar at the start of `t`; returns it and the rest.
        fn quoted<'t>(&self, no: usize, t: &'t str) -> Result<(String, &'t str), String> {
            let unterminated = || {
                self.at(
                    no,
                    "unterminated quoted string (quoted values spanning lines are not supported)",
                )
            };
            let mut out = String::new();
            if let Some(body) = t.strip_prefix('\'') {
                let mut it = body.char_indices().peekable();
                while let Some((i, c)) = it.next() {
                    if c == '\'' {
                        if it.peek().is_some_and(|(_, n)| *n == '\'') {
                            it.next();
                            out.push('\'');
                        } else {
                            return Ok((out, &body[i + 1..]));
                        }
                    } else {
                        out.push(c);
                    }
                }
                return Err(unterminated());
            }
            let body = t.strip_prefix('"').unwrap_or(t);
            let mut it = body.char_indices();
            while let Some((i, c)) = it.next() {
                match c {
                    '"' => return Ok((out, &body[i + 1..])),
                    '\\' => {
                        let Some((j, e)) = it.next() else {
                            return Err(unterminated());
                        };
                        let simple = match e {
                            '0' => Some('\0'),
                            'a' => Some('\u{7}'),
                            'b' => Some('\u{8}'),
                            't' | '\t' => Some('\t'),
                            'n' => Some('\n'),
                            'v' => Some('\u{b}'),
                            'f' => Some('\u{c}'),
                            'r' => Some('\r'),
                            'e' => Some('\u{1b}'),
                            ' ' => Some(' '),
                            '"' => Some('"'),
                            '/' => Some('/'),
                            '\\' => Some('\\'),
                            'N' => Some('\u{85}'),
                            '_' => Some('\u{a0}'),
                            'L' => Some('\u{2028}'),
                            'P' => Some('\u{2029}'),
                            _ => None,
                        };
                        if let Some(s) = simple {
                            out.push(s);
                            continue;
                        }
                        let len = match e {
                            'x' => 2,
                            'u' => 4,
                            'U' => 8,
                            _ => {
                                return Err(self
                                    .at(no, &format!("unknown escape \\{e} in a quoted string")))
                            }
                        };
                        let start = j + 1;
                        let hex = body
                            .get(start..start + len)
                            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                        let ch = hex
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                self.at(no, &format!("bad \\{e} escape in a quoted string"))
                            })?;
                        out.push(ch);
                        for _ in 0..len {
                            it.next();
                        }
                    }
                    _ => out.push(c),
                }
            }
            Err(unterminated())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::json::{dumps, parse as jparse, py_float_repr, Value as J};
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn bytes_upto(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    #[test]
    fn blake2s_vectors() {
        // RFC 7693 appendix B: BLAKE2s-256("abc").
        assert_eq!(
            hex(&blake2s::<32>(b"", b"abc")),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
        );
        // Computed with python3 hashlib.blake2s.
        assert_eq!(
            hex(&blake2s::<32>(b"", b"")),
            "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"
        );
        let key = bytes_upto(32);
        assert_eq!(
            hex(&blake2s::<32>(&key, b"")),
            "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"
        );
        assert_eq!(
            hex(&blake2s::<32>(&key, &bytes_upto(64))),
            "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"
        );
        assert_eq!(
            hex(&blake2s::<32>(&key, &bytes_upto(65))),
            "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8"
        );
        let long: Vec<u8> = (0..768).map(|i| i as u8).collect();
        assert_eq!(
            hex(&blake2s::<16>(b"k", &long)),
            "275830e1e4788e48d98bcf493b03d52c"
        );
    }

    #[test]
    fn hashes_match_the_original() {
        // (value, hash32, hash64, hash with key "seed", hash with no key),
        // from python3 hashlib.blake2s as the original handler uses it.
        let cases: &[(&str, i32, i64, &str, &str)] = &[
            (
                "",
                1797056718,
                -6573447953116037819,
                "6d7a6a1d-017d-b80c-1cc0-60370f7d34b3",
                "64550d6f-fe2c-0a01-214a-ba1eade0200c",
            ),
            (
                "abc",
                230569381,
                6225683221897194535,
                "00fece6c-99af-b8e6-797d-da6e1f458f5a",
                "aa493811-9b1d-c7b8-7cba-d0ffd200d0ae",
            ),
            (
                "hello world",
                621007917,
                -3706113915295423389,
                "2f52762a-c698-c0e4-0811-f11321f2cee2",
                "37deae02-26c3-0da2-2b42-4a7b8ee14e83",
            ),
            (
                "ünïcødé ☺",
                59093079,
                1013267106566942521,
                "1d4af1d2-27db-0b77-617b-8ca490f158c3",
                "93555a98-ac33-8b8f-3ca3-be5ac892efbd",
            ),
            (
                "1",
                -865137892,
                1796008349172265759,
                "ff47445b-34e5-ae9e-4043-8167b96634e7",
                "2f16bafc-6f6c-35ea-2e6e-ac392ff30387",
            ),
        ];
        for (v, h32, h64, h128, h128_nokey) in cases {
            assert_eq!(hash32(b"seed", v.as_bytes()), *h32, "{v:?}");
            assert_eq!(hash64(b"seed", v.as_bytes()), *h64, "{v:?}");
            assert_eq!(hash128(b"seed", v.as_bytes()), *h128, "{v:?}");
            assert_eq!(hash128(b"", v.as_bytes()), *h128_nokey, "{v:?}");
        }
        let x200 = "x".repeat(200);
        assert_eq!(hash32(b"seed", x200.as_bytes()), -319726128);
        assert_eq!(hash64(b"seed", x200.as_bytes()), 5624122555755608647);
    }

    #[test]
    fn uuid_form() {
        for v in ["", "a", "b", "c", "dd", "eee", "ffff"] {
            let u = hash128(b"seed", v.as_bytes());
            assert_eq!(u.len(), 36);
            let groups: Vec<&str> = u.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(u
                .bytes()
                .all(|c| c == b'-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            // variant bit cleared: the fourth group starts with 0-7
            assert!(groups[3].as_bytes()[0] <= b'7', "{u}");
        }
    }

    #[test]
    fn json_values_hash_as_python_does() {
        let k = b"seed";
        let h = |v: J| hash_value(&Rule::Hash32, &v, k).unwrap();
        // ints (and true, an int in Python) hash as their digits
        assert_eq!(h(J::Int("1".into())), J::Int("-865137892".into()));
        assert_eq!(h(J::Bool(true)), J::Int("-865137892".into()));
        assert_eq!(h(J::Bool(false)), J::Int("415820887".into()));
        // floats as repr(): 1.5, 1e+16
        assert_eq!(h(J::Float(1.5)), J::Int("-1683429302".into()));
        assert_eq!(h(J::Float(1e16)), J::Int("-607107248".into()));
        assert_eq!(h(J::Null), J::Null);
        assert!(hash_value(&Rule::Hash, &J::Arr(vec![]), k).is_err());
    }

    #[test]
    fn float_repr() {
        for (f, s) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (123.0, "123.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (-2.5e100, "-2.5e+100"),
            (5e-324, "5e-324"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py_float_repr(f), s, "{f:e}");
        }
    }

    #[test]
    fn json_round_trip_like_python() {
        let v = jparse(r#" {"b": [1, -0, 2.50, 1E2, true, null], "a": "\u00fc\ud83d\ude00\"\\\/\t", "b": {}} "#)
            .unwrap();
        // repeated key: first place, last value
        assert_eq!(dumps(&v), r#"{"b": {}, "a": "\u00fc\ud83d\ude00\"\\/\t"}"#);
        let v = jparse(
            "[1, -0, 2.50, 1E2, 123456789012345678901234567890, NaN, -Infinity, \"\u{7f}é\"]",
        )
        .unwrap();
        assert_eq!(
            dumps(&v),
            "[1, 0, 2.5, 100.0, 123456789012345678901234567890, NaN, -Infinity, \"\\u007f\\u00e9\"]"
        );
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "\"\\x\"",
            "\"a\nb\"",
            "1 2",
            "\"\\ud800\"",
        ] {
            assert!(jparse(bad).is_err(), "{bad:?}");
        }
    }

    fn rules(yaml: &str) -> Rule {
        let o = Obfuscator::parse(&format!("t.t:\n  c:\n{yaml}"), "m.yaml", "").unwrap();
        o.tables["t.t"].rule("c").clone()
    }

    /// Expected outputs from the original handler's obf_json with an empty
    /// key (run under python3).
    #[test]
    fn json_rules() {
        let r = rules("    k1: keep\n    k2: hash\n");
        let doc = jparse(r#"{"k2": "pq", "k1": [1, 2], "k3": 9}"#).unwrap();
        assert_eq!(
            dumps(&obf_json(&doc, &r, b"").unwrap()),
            r#"{"k1": [1, 2], "k2": "e756cda1-19a8-7572-3127-19d224b2ff6b"}"#
        );
        let r = rules("    p:\n      q:\n        r: hash\n");
        let doc = jparse(r#"{"p": {"q": {"r": 77}}}"#).unwrap();
        assert_eq!(
            dumps(&obf_json(&doc, &r, b"").unwrap()),
            r#"{"p": {"q": {"r": "8213cd75-af6d-958d-703a-f0a37ef185b8"}}}"#
        );
        // nothing kept: the column becomes {}
        let r = rules("    p:\n      q:\n        r: skip\n    s: keep\n");
        let doc = jparse(r#"{"p": {"q": {"r": 3}}, "s": []}"#).unwrap();
        assert_eq!(dumps(&obf_json(&doc, &r, b"").unwrap()), r#"{"s": []}"#);
        let out = apply_column(&r, J::Str(r#"{"p": {"q": {"r": 3}}}"#.into()), b"").unwrap();
        assert_eq!(out, Some(J::Str("{}".into())));
        let out = apply_column(&r, J::Str("[1, 2]".into()), b"").unwrap();
        assert_eq!(out, Some(J::Str("{}".into())));
        assert_eq!(apply_column(&r, J::Null, b"").unwrap(), Some(J::Null));
        assert!(apply_column(&r, J::Str("{nope".into()), b"").is_err());
        // bool and hashes inside; objects under a value rule are dropped;
        // output in rule order
        let r = rules("    z: bool\n    y: hash32\n    x: hash64\n    w: bool\n    v: hash\n");
        let doc =
            jparse(r#"{"v": {"k": 1}, "w": 0, "x": "abc", "y": true, "z": "", "u": 1}"#).unwrap();
        assert_eq!(
            dumps(&obf_json(&doc, &r, b"seed").unwrap()),
            r#"{"z": "f", "y": -865137892, "x": 6225683221897194535, "w": "f"}"#
        );
    }

    #[test]
    fn column_rules_in_text() {
        let k = b"seed";
        let s = |v: &str| J::Str(v.into());
        assert_eq!(apply_column(&Rule::Skip, s("a"), k).unwrap(), None);
        assert_eq!(apply_column(&Rule::Keep, s("a"), k).unwrap(), Some(s("a")));
        // bool says whether there is a value at all
        assert_eq!(apply_column(&Rule::Bool, s("f"), k).unwrap(), Some(s("t")));
        assert_eq!(apply_column(&Rule::Bool, s(""), k).unwrap(), Some(s("f")));
        assert_eq!(
            apply_column(&Rule::Bool, J::Null, k).unwrap(),
            Some(J::Null)
        );
        assert_eq!(
            apply_column(&Rule::Hash32, s("abc"), k).unwrap(),
            Some(J::Int("230569381".into()))
        );
        assert_eq!(
            apply_column(&Rule::Hash, s("abc"), k).unwrap(),
            Some(s("00fece6c-99af-b8e6-797d-da6e1f458f5a"))
        );
        assert_eq!(
            apply_column(&Rule::Hash64, J::Null, k).unwrap(),
            Some(J::Null)
        );
    }

    const MAP: &str = r#"
# tables
public.t1:
  id: keep       # the key
  "name": hash
  'it''s': hash32
  "tab\there": hash64
  flag: bool
  gone: skip
  doc:
    a: keep
    "b": {}
"sch.t 2":
    x: 'keep'
"#;

    #[test]
    fn yaml_reader() {
        let o = Obfuscator::parse(MAP, "map.yaml", "k").unwrap();
        assert!(o.has_table("public.t1") && o.has_table("sch.t 2") && !o.has_table("t1"));
        let t = &o.tables["public.t1"];
        assert_eq!(t.rule("id"), &Rule::Keep);
        assert_eq!(t.rule("name"), &Rule::Hash);
        assert_eq!(t.rule("it's"), &Rule::Hash32);
        assert_eq!(t.rule("tab\there"), &Rule::Hash64);
        assert_eq!(t.rule("flag"), &Rule::Bool);
        assert_eq!(t.rule("gone"), &Rule::Skip);
        assert_eq!(t.rule("other"), &Rule::Skip);
        assert_eq!(
            t.rule("doc"),
            &Rule::Json(vec![
                ("a".into(), Rule::Keep),
                ("b".into(), Rule::Json(vec![]))
            ])
        );
        assert_eq!(o.tables["sch.t 2"].rule("x"), &Rule::Keep);
        assert!(!format!("{o:?}").contains("\"k\""));
        let with_markers = format!("--- # doc\n{MAP}...\n# end\n");
        assert!(Obfuscator::parse(&with_markers, "m", "").is_ok());
    }

    #[test]
    fn yaml_errors_name_file_and_line() {
        let cases: &[(&str, &str)] = &[
            ("a.b:\n  c: keep\n\tx: keep\n", "m.yaml:3: a tab"),
            ("a.b:\n  - keep\n", "m.yaml:2: a sequence"),
            ("a.b:\n  c: [keep]\n", "m.yaml:2: a flow collection"),
            ("a.b:\n  c: &x keep\n", "m.yaml:2: an anchor"),
            ("a.b:\n  c: |\n", "m.yaml:2: a block scalar"),
            ("a.b:\n  c: !!str keep\n", "m.yaml:2: a tag"),
            (
                "a.b:\n  c: keep\n   d: keep\n",
                "m.yaml:3: unexpected indentation",
            ),
            (
                "a.b:\n    c: keep\n  d: keep\n",
                "m.yaml:3: unexpected indentation",
            ),
            ("  a.b:\n    c: keep\nx.y:\n", "m.yaml:3: bad indentation"),
            ("a.b:\n  c: \"keep\n", "m.yaml:2: unterminated"),
            ("a.b:\n  c: 'keep\n", "m.yaml:2: unterminated"),
            ("a.b:\n  c: \"\\q\"\n", "m.yaml:2: unknown escape"),
            ("a.b:\n  c: \"keep\" x\n", "m.yaml:2: unexpected text"),
            ("a.b:\n  c keep\n", "m.yaml:2: expected `key: value`"),
            ("a.b:\n  c: d: keep\n", "m.yaml:2: a mapping inside a value"),
            (
                "a.b:\n  c: keep\n  c: skip\n",
                "m.yaml:3: duplicate key \"c\"",
            ),
            (
                "a.b:\n  c: hsh\n",
                "m.yaml:2: table a.b, column \"c\": unknown rule \"hsh\"",
            ),
            ("a.b:\n  c:\n", "m.yaml:2: table a.b, column \"c\": no rule"),
            (
                "a.b:\n  c:\n    d: nope\n",
                "m.yaml:3: table a.b, column \"c\", JSON key \"d\": unknown rule",
            ),
            ("a.b:\nc.d: keep\n", "m.yaml:1: table a.b: no rules"),
            ("c.d: keep\n", "m.yaml:1: table c.d: expected indented"),
            ("# nothing\n", "m.yaml:1: the obfuscator map names no table"),
            (
                "a.b:\n  c: keep\n---\nx.y:\n",
                "m.yaml:3: a second YAML document",
            ),
            (
                "a.b:\n  c: keep\n...\nx.y:\n",
                "m.yaml:4: content after the document end",
            ),
        ];
        for (src, want) in cases {
            let e = Obfuscator::parse(src, "m.yaml", "").unwrap_err();
            assert!(e.starts_with(want), "{src:?}: {e}");
        }
        let e = Obfuscator::parse("a.b:\n  c: keep\n", "m.yaml", &"k".repeat(33)).unwrap_err();
        assert!(e.contains("at most 32 bytes"), "{e}");
    }

    fn ev(ty: &str, data: &str) -> Event {
        Event {
            ev_id: 7,
            ev_time: std::time::SystemTime::UNIX_EPOCH,
            ev_txid: 1,
            ev_retry: None,
            ev_type: Some(ty.into()),
            ev_data: Some(data.into()),
            ev_extra1: Some("public.t1".into()),
            ev_extra2: None,
            ev_extra3: None,
            ev_extra4: None,
        }
    }

    #[test]
    fn event_shapes() {
        let o = Obfuscator::parse(MAP, "map.yaml", "seed").unwrap();
        // urlencoded: skipped and unknown columns vanish, pkey list stays
        let out = o
            .rewrite_event(
                "public.t1",
                &ev("I:id", "id=1&name=abc&gone=x&other=y&flag="),
            )
            .unwrap();
        assert_eq!(out.ev_type.as_deref(), Some("I:id"));
        assert_eq!(
            out.ev_data.as_deref(),
            Some("id=1&name=00fece6c-99af-b8e6-797d-da6e1f458f5a&flag=f")
        );
        // JSON data
        let out = o
            .rewrite_event(
                "public.t1",
                &ev("U:id", r#"{"id": 1, "flag": true, "gone": 2}"#),
            )
            .unwrap();
        assert_eq!(out.ev_data.as_deref(), Some(r#"{"id": 1, "flag": "t"}"#));
        // truncate passes
        let t = ev("R", "");
        assert_eq!(o.rewrite_event("public.t1", &t).unwrap(), t);
        let t = ev(
            r#"{"op":"TRUNCATE","table":["public","t1"],"pkey":[]}"#,
            "{}",
        );
        assert_eq!(o.rewrite_event("public.t1", &t).unwrap(), t);
        // sqltriga refused
        let e = o
            .rewrite_event("public.t1", &ev("I", "(id) values ('1')"))
            .unwrap_err();
        assert!(e.contains("event 7") && e.contains("sqltriga"), "{e}");
        let e = o
            .rewrite_event("public.nope", &ev("I:id", "id=1"))
            .unwrap_err();
        assert!(e.contains("public.nope") && e.contains("map.yaml"), "{e}");
    }

    #[test]
    fn copy_hook() {
        let o = Obfuscator::parse(MAP, "map.yaml", "seed").unwrap();
        let rw = o.copy_rewrite("public.t1").unwrap();
        assert!(rw.keep("id") && rw.keep("doc") && !rw.keep("gone") && !rw.keep("other"));
        let cols: Vec<String> = ["id", "name", "flag", "doc"].map(String::from).to_vec();
        let mut row = vec![
            Some("1".to_string()),
            Some("abc".to_string()),
            None,
            Some(r#"{"b": {"x": 1}, "a": "ü"}"#.to_string()),
        ];
        rw.rewrite(&cols, &mut row).unwrap();
        assert_eq!(
            row,
            vec![
                Some("1".to_string()),
                Some("00fece6c-99af-b8e6-797d-da6e1f458f5a".to_string()),
                None,
                Some(r#"{"a": "\u00fc"}"#.to_string()),
            ]
        );
        let mut short = vec![None];
        assert!(rw.rewrite(&cols, &mut short).is_err());
        assert!(o.copy_rewrite("x.y").is_err());
    }
}
