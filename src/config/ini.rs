//! Skytools `.ini` files: the parser, [`IniFile`] and [`Section`].
//!
//! The grammar is Python's `configparser.ConfigParser` with the settings
//! python-skytools uses (the defaults):
//!
//! * `[name]` starts a section; the name is taken verbatim (case-sensitive,
//!   inner spaces kept) up to the last `]` of the line. `[DEFAULT]` holds
//!   values every section inherits; it may appear more than once.
//! * `key = value` or `key: value`, split at the first `=` or `:`. Keys are
//!   lower-cased; values are trimmed.
//! * Lines whose first non-blank character is `#` or `;` are comments.
//!   There are no comments after a value: `a = 1 # x` is the value `1 # x`.
//! * A line indented deeper than the key line that started a value continues
//!   that value (joined with a newline). Blank lines inside such a value are
//!   kept, trailing ones dropped.
//! * A section or a key appearing twice in one file is an error, as is a
//!   key before the first section header.
//!
//! `config_format` in the main section (or `[DEFAULT]`) selects the
//! interpolation syntax; see the `interp` module. The main section receives
//! the predefined variables `job_name`, `service_name`, `host_name`,
//! `config_dir` and `config_file` unless it (or `[DEFAULT]`) sets them.
//! Predefined values are taken literally, never interpolated.
//!
//! All values are interpolated when the file is loaded; a value that fails
//! keeps its error, which is returned whenever that key is read. So a broken
//! value that nobody reads does not prevent loading, as in Python.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::ConfigError;
use super::interp::{Ctx, InterpError, Resolver, MAX_DEPTH};
use super::{sys, value};

/// The interpolation syntax of a file (`config_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigFormat {
    /// `config_format = 1` (default): `%(name)s`, `%%`.
    #[default]
    Classic,
    /// `config_format = 2`: `${name}`, `${section:name}`, `$$`.
    Extended,
}

/// Names of the variables Skytools predefines in the main section.
pub const PREDEFINED: [&str; 5] = [
    "job_name",
    "service_name",
    "host_name",
    "config_dir",
    "config_file",
];

/// Where a value of a [`Section`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// Set in the section itself, at this line.
    File { line: usize },
    /// Inherited from `[DEFAULT]`, set at this line.
    Default { line: usize },
    /// One of [`PREDEFINED`], filled in by the loader.
    Predefined,
    /// Set by [`LoadOptions::overrides`] (the `--set key=value` of Skytools).
    Override,
}

/// How to load a file beyond its path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The main section (the one that gets the predefined variables and
    /// whose `config_format` counts); loading fails if the file does not
    /// have it. `None`: the first of `[skydeck]`,
    /// `[pgqd]`, `[londiste]`, `[londiste3]`, `[walmgr]` in the file, else
    /// its first section.
    pub main_section: Option<String>,
    /// Values set in the main section after loading, replacing the file's
    /// (`--set key=value`). They are interpolated like file values.
    pub overrides: Vec<(String, String)>,
}

/// Most values (own and inherited, over all sections) a file may hold.
const MAX_CELLS: usize = 1_000_000;

/// Section names that identify a file's main section, in order of preference.
pub(crate) const KNOWN_MAIN: [&str; 5] = ["skydeck", "pgqd", "londiste", "londiste3", "walmgr"];

// ---------------------------------------------------------------------------
// Raw parse

#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
    pub(crate) source: ValueSource,
}

#[derive(Debug, Clone)]
pub(crate) struct RawSection {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) entries: Vec<RawEntry>,
    index: HashMap<String, usize>,
}

impl RawSection {
    fn new(name: &str, line: usize) -> Self {
        RawSection {
            name: name.to_string(),
            line,
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&RawEntry> {
        self.index.get(key).map(|i| &self.entries[*i])
    }

    /// Set a value, replacing in place (keeping the position) if present.
    fn set(&mut self, entry: RawEntry) {
        match self.index.get(&entry.key) {
            Some(i) => self.entries[*i] = entry,
            None => {
                self.index.insert(entry.key.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }
}

/// A parsed file before interpolation.
#[derive(Debug, Clone)]
pub(crate) struct RawIni {
    pub(crate) defaults: RawSection,
    pub(crate) sections: Vec<RawSection>,
    by_name: HashMap<String, usize>,
}

impl RawIni {
    pub(crate) fn section_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn section_names(&self) -> Vec<String> {
        self.sections.iter().map(|s| s.name.clone()).collect()
    }
}

/// Read a file's bytes, turning the OS error into a [`ConfigError`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::unreadable(path, &e))
}

/// Parse `bytes` (the content of `path`) without interpolating.
pub(crate) fn parse_raw(path: &Path, bytes: &[u8]) -> Result<RawIni, ConfigError> {
    let syntax = |line: usize, message: String| ConfigError::Syntax {
        path: path.into(),
        line,
        message: message.into(),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        syntax(line, "not valid UTF-8; save the file as UTF-8".to_string())
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");

    let mut ini = RawIni {
        defaults: RawSection::new("DEFAULT", 0),
        sections: Vec::new(),
        by_name: HashMap::new(),
    };
    // Lines of the value being read, per (section, entry).
    let mut pieces: HashMap<(Ctx, usize), Vec<String>> = HashMap::new();
    // Current section: None before the first header; Some(None) = DEFAULT.
    let mut cursect: Option<Ctx> = None;
    let mut optidx: Option<usize> = None;
    let mut indent_level = 0usize;
    let mut default_seen = false;

    for (n, line) in text.split('\n').enumerate() {
        let lineno = n + 1;
        let stripped = line.trim();
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        if stripped.is_empty() || is_comment {
            // A blank line (not a comment) belongs to the value being read.
            if !is_comment {
                if let (Some(ctx), Some(i)) = (cursect, optidx) {
                    pieces.entry((ctx, i)).or_default().push(String::new());
                }
            }
            continue;
        }
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if let (Some(ctx), Some(i)) = (cursect, optidx) {
            if indent > indent_level {
                pieces
                    .entry((ctx, i))
                    .or_default()
                    .push(stripped.to_string());
                continue;
            }
        }
        indent_level = indent;
        if let Some(header) = section_header(stripped) {
            optidx = None;
            if header == "DEFAULT" {
                if !default_seen {
                    ini.defaults.line = lineno;
                    default_seen = true;
                }
                cursect = Some(None);
            } else if let Some(first) = ini.section_index(header) {
                return Err(syntax(
                    lineno,
                    format!(
                        "section [{header}] appears a second time (first at line {}); merge the two",
                        ini.sections[first].line
                    ),
                ));
            } else {
                ini.by_name.insert(header.to_string(), ini.sections.len());
                ini.sections.push(RawSection::new(header, lineno));
                cursect = Some(Some(ini.sections.len() - 1));
            }
            continue;
        }
        let Some(ctx) = cursect else {
            return Err(syntax(
                lineno,
                format!(
                    "{} comes before any [section] header; put a header such as [londiste] above it",
                    super::error::Quoted(stripped)
                ),
            ));
        };
        let Some(d) = stripped.find(['=', ':']) else {
            return Err(syntax(
                lineno,
                format!(
                    "expected 'key = value', a [section] header or a comment, found {}",
                    super::error::Quoted(stripped)
                ),
            ));
        };
        let key = stripped[..d].trim_end().to_lowercase();
        if key.is_empty() {
            return Err(syntax(
                lineno,
                format!(
                    "{} has no key name before '{}'",
                    super::error::Quoted(stripped),
                    &stripped[d..d + 1]
                ),
            ));
        }
        let section = match ctx {
            Some(i) => &mut ini.sections[i],
            None => &mut ini.defaults,
        };
        if let Some(first) = section.get(&key) {
            return Err(syntax(
                lineno,
                format!(
                    "key '{key}' appears a second time in section [{}] (first at line {}); keep one",
                    section.name, first.line
                ),
            ));
        }
        let value = stripped[d + 1..].trim().to_string();
        section.set(RawEntry {
            key: key.clone(),
            value: String::new(),
            line: lineno,
            source: ValueSource::File { line: lineno },
        });
        let idx = section.index[&key];
        pieces.insert((ctx, idx), vec![value]);
        optidx = Some(idx);
    }

    for ((ctx, idx), lines) in pieces {
        let section = match ctx {
            Some(i) => &mut ini.sections[i],
            None => &mut ini.defaults,
        };
        section.entries[idx].value = lines.join("\n").trim_end().to_string();
    }
    Ok(ini)
}

/// `[name]` as ConfigParser's `\[(?P<header>.+)\]` matches a stripped line:
/// from the first `[` to the last `]`, at least one character between.
fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

// ---------------------------------------------------------------------------
// Interpolated file

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: String,
    raw: String,
    value: Result<String, ConfigError>,
    source: ValueSource,
}

/// One section of a loaded file, with `[DEFAULT]` values merged in and
/// every value interpolated. Keys are looked up case-insensitively.
///
/// Keys come in file order, then the predefined variables (main section
/// only), then the keys inherited from `[DEFAULT]` in their order there.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    name: String,
    path: PathBuf,
    dir: PathBuf,
    line: usize,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl Section {
    /// The section's name as written between the brackets.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was read from, as given to the loader.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The line of its header (the first one for `[DEFAULT]`; 0 if absent).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The keys, in order (see the type's documentation).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// Every key with its interpolated value or the value's error.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Result<&str, &ConfigError>)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_ref().map(String::as_str)))
    }

    /// Whether the key is set here or in `[DEFAULT]`.
    pub fn contains(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// The value as written, before interpolation.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.raw.as_str())
    }

    /// Where the key's value comes from.
    pub fn source(&self, key: &str) -> Option<ValueSource> {
        self.entry(key).map(|e| e.source)
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        let i = match self.index.get(key) {
            Some(i) => *i,
            None => *self.index.get(&key.to_lowercase())?,
        };
        self.entries.get(i)
    }

    /// The interpolated value, `None` when the key is not set.
    pub fn get_opt(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.entry(key) {
            None => Ok(None),
            Some(e) => e.value.clone().map(Some),
        }
    }

    /// The interpolated value, or `default` when the key is not set.
    pub fn get_str(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.get_opt(key)?.unwrap_or_else(|| default.to_string()))
    }

    /// The interpolated value; a missing key is an error.
    pub fn require(&self, key: &str) -> Result<String, ConfigError> {
        self.get_opt(key)?.ok_or_else(|| self.missing(key))
    }

    /// The value parsed by `parse`, `None` when the key is not set. `parse`
    /// returns what was expected on failure (see [`value`]); the error then
    /// names the file, section, key and value.
    pub fn get_with<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get_opt(key)? {
            None => Ok(None),
            Some(v) => parse(&v)
                .map(Some)
                .map_err(|expected| ConfigError::BadValue {
                    path: self.path.clone().into(),
                    section: self.name.clone().into(),
                    key: key.to_lowercase().into(),
                    value: v.into(),
                    expected: expected.into(),
                }),
        }
    }

    /// A whole number (Python `int()` forms), or `default`.
    pub fn get_int(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        Ok(self.get_with(key, value::parse_int)?.unwrap_or(default))
    }

    /// A number (Python `float()` forms), or `default`.
    pub fn get_float(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        Ok(self.get_with(key, value::parse_float)?.unwrap_or(default))
    }

    /// A boolean (`1 yes true on` / `0 no false off`), or `default`.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        Ok(self.get_with(key, value::parse_bool)?.unwrap_or(default))
    }

    /// A comma separated list (`getlist`), or `default`.
    pub fn get_list(&self, key: &str, default: &[&str]) -> Result<Vec<String>, ConfigError> {
        Ok(match self.get_opt(key)? {
            Some(v) => value::split_list(&v),
            None => default.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// A `key:value, …` dict (`getdict`) in order; empty when not set.
    pub fn get_dict(&self, key: &str) -> Result<Vec<(String, String)>, ConfigError> {
        Ok(self
            .get_opt(key)?
            .map(|v| value::split_dict(&v))
            .unwrap_or_default())
    }

    /// A size in bytes (`getbytes`: "512", "10K", "4 MB", "1G"), or `default`.
    pub fn get_bytes(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        Ok(self.get_with(key, value::parse_bytes)?.unwrap_or(default))
    }

    /// A duration: seconds ("1", "0.5") or with a unit ("500ms", "5min"),
    /// or `default`.
    pub fn get_duration(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        Ok(self
            .get_with(key, value::parse_duration)?
            .unwrap_or(default))
    }

    /// A file name (`getfile`): `~` and `~user` expanded; a relative path is
    /// taken relative to the directory of the file that holds it (skydeck
    /// hosts many jobs in one process, so the working directory means
    /// nothing; Skytools scripts used theirs). `None` when the key is not
    /// set (and `default` is `None`) or the value is empty; `-` is kept as is.
    pub fn get_path(
        &self,
        key: &str,
        default: Option<&str>,
    ) -> Result<Option<PathBuf>, ConfigError> {
        let v = match self.get_opt(key)? {
            Some(v) => v,
            None => match default {
                Some(d) => d.to_string(),
                None => return Ok(None),
            },
        };
        Ok(resolve_path(&self.dir, &v))
    }

    /// A path value resolved as [`Section::get_path`] resolves it (`~`
    /// expanded, relative to the file's absolute directory), for a reader
    /// that takes the value apart first (walmgr's `host:path`).
    pub(crate) fn resolve_path(&self, v: &str) -> Option<PathBuf> {
        resolve_path(&self.dir, v)
    }

    /// The error for a required key that is not set.
    pub fn missing(&self, key: &str) -> ConfigError {
        ConfigError::MissingKey {
            path: self.path.clone().into(),
            section: self.name.clone().into(),
            key: key.to_lowercase().into(),
        }
    }

    /// The error for a value that parsed but is not acceptable, e.g.
    /// `bad_value("ticker_period", "must be greater than 0")`.
    pub fn bad_value(&self, key: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.clone().into(),
            section: self.name.clone().into(),
            key: key.to_lowercase().into(),
            value: self.get_opt(key).ok().flatten().unwrap_or_default().into(),
            expected: expected.into().into(),
        }
    }

    /// The error for a key the reader does not know, suggesting the closest
    /// of `known`.
    pub fn unknown_key(&self, key: &str, known: &[&str]) -> ConfigError {
        let hint = match super::closest(key, known) {
            Some(k) => format!("did you mean '{k}'?"),
            None => format!("known keys: {}", known.join(", ")),
        };
        ConfigError::UnknownKey {
            path: self.path.clone().into(),
            section: self.name.clone().into(),
            key: key.to_string().into(),
            hint: hint.into(),
        }
    }

    /// Keys set in the section itself (not inherited, not predefined, not
    /// overrides): what a reader checks for unknown keys.
    pub fn own_keys(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| matches!(e.source, ValueSource::File { .. }))
            .map(|e| e.key.as_str())
    }

    /// The first value that failed to interpolate, if any.
    pub fn first_error(&self) -> Option<&ConfigError> {
        self.entries.iter().find_map(|e| e.value.as_ref().err())
    }

    /// Feed everything that defines this section's behaviour to `h`.
    pub(crate) fn hash_into(&self, h: &mut super::Fingerprinter) {
        h.str(&self.name);
        for e in &self.entries {
            h.str(&e.key);
            match &e.value {
                Ok(v) => {
                    h.byte(1);
                    h.str(v);
                }
                Err(err) => {
                    h.byte(0);
                    h.str(&e.raw);
                    h.str(&err.to_string());
                }
            }
        }
    }
}

/// A path value as [`Section::get_path`] resolves it.
pub(crate) fn resolve_path(dir: &Path, v: &str) -> Option<PathBuf> {
    if v.is_empty() {
        return None;
    }
    if v == "-" {
        return Some(PathBuf::from(v));
    }
    let expanded = PathBuf::from(value::expand_user(v));
    Some(if expanded.is_absolute() {
        expanded
    } else {
        dir.join(expanded)
    })
}

/// A loaded `.ini` file: its sections in file order, interpolated.
#[derive(Debug, Clone, PartialEq)]
pub struct IniFile {
    path: PathBuf,
    format: ConfigFormat,
    main: Option<usize>,
    defaults: Section,
    sections: Vec<Section>,
}

impl IniFile {
    /// Read and interpolate `path`, choosing the main section as
    /// [`LoadOptions::main_section`] describes.
    pub fn load(path: impl AsRef<Path>) -> Result<IniFile, ConfigError> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Read and interpolate `path` with explicit options.
    pub fn load_with(
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<IniFile, ConfigError> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        Self::parse(path, &bytes, options)
    }

    /// Parse and interpolate `bytes` as the content of `path` (which is only
    /// used for messages and the predefined variables).
    pub fn parse(
        path: impl AsRef<Path>,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<IniFile, ConfigError> {
        let path = path.as_ref();
        let raw = parse_raw(path, bytes)?;
        let main = match &options.main_section {
            Some(name) => {
                Some(
                    raw.section_index(name)
                        .ok_or_else(|| ConfigError::MissingSection {
                            path: path.into(),
                            message: format!("no [{name}] section").into(),
                        })?,
                )
            }
            None => default_main(&raw),
        };
        Self::build(path, raw, main, &options.overrides)
    }

    /// Interpolate a parsed file whose main section is `main`.
    pub(crate) fn build(
        path: &Path,
        mut raw: RawIni,
        main: Option<usize>,
        overrides: &[(String, String)],
    ) -> Result<IniFile, ConfigError> {
        let dir = config_dir(path);
        if let Some(m) = main {
            let job_name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| raw.sections[m].name.clone());
            let config_file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let predefined = [
                ("job_name", job_name),
                ("service_name", raw.sections[m].name.clone()),
                ("host_name", sys::hostname()),
                ("config_dir", dir.to_string_lossy().into_owned()),
                ("config_file", config_file.to_string_lossy().into_owned()),
            ];
            for (key, value) in predefined {
                if raw.sections[m].get(key).is_none() && raw.defaults.get(key).is_none() {
                    raw.sections[m].set(RawEntry {
                        key: key.to_string(),
                        value,
                        line: 0,
                        source: ValueSource::Predefined,
                    });
                }
            }
            for (key, value) in overrides {
                raw.sections[m].set(RawEntry {
                    key: key.to_lowercase(),
                    value: value.clone(),
                    line: 0,
                    source: ValueSource::Override,
                });
            }
        }
        let cells = raw.defaults.entries.len()
            + raw
                .sections
                .iter()
                .map(|s| s.entries.len() + raw.defaults.entries.len())
                .sum::<usize>();
        if cells > MAX_CELLS {
            return Err(ConfigError::TooLarge {
                path: path.into(),
                message: format!(
                    "{} sections with {} keys in [DEFAULT] make more than {MAX_CELLS} values; \
                     split the file",
                    raw.sections.len(),
                    raw.defaults.entries.len()
                )
                .into(),
            });
        }
        let format = config_format(path, &raw, main)?;
        let resolver = Resolver::new(&raw, format);
        let main_name = main.map(|m| raw.sections[m].name.as_str());
        let build_section = |ctx: Ctx| {
            let own = match ctx {
                Some(i) => &raw.sections[i],
                None => &raw.defaults,
            };
            let mut entries: Vec<Entry> = Vec::new();
            let inherited = raw
                .defaults
                .entries
                .iter()
                .filter(|e| ctx.is_some() && own.get(&e.key).is_none());
            for e in own.entries.iter().chain(inherited) {
                let source = match (ctx, e.source) {
                    (Some(_), ValueSource::File { line }) if own.get(&e.key).is_none() => {
                        ValueSource::Default { line }
                    }
                    (_, s) => s,
                };
                let value = if e.source == ValueSource::Predefined {
                    Ok(e.value.clone())
                } else {
                    resolver
                        .resolve(ctx, &e.key, &e.value)
                        .map_err(|err| interp_error(path, &raw, ctx, main_name, &e.key, err))
                };
                entries.push(Entry {
                    key: e.key.clone(),
                    raw: e.value.clone(),
                    value,
                    source,
                });
            }
            let index = entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), i))
                .collect();
            Section {
                name: own.name.clone(),
                path: path.to_path_buf(),
                dir: dir.clone(),
                line: own.line,
                entries,
                index,
            }
        };
        let defaults = build_section(None);
        let sections = (0..raw.sections.len())
            .map(|i| build_section(Some(i)))
            .collect();
        Ok(IniFile {
            path: path.to_path_buf(),
            format,
            main,
            defaults,
            sections,
        })
    }

    /// The file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The interpolation syntax in force.
    pub fn format(&self) -> ConfigFormat {
        self.format
    }

    /// The section by name (case-sensitive; `DEFAULT` is [`Self::defaults`]).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The main section, if the file has any section.
    pub fn main_section(&self) -> Option<&Section> {
        self.main.map(|m| &self.sections[m])
    }

    /// All sections except `[DEFAULT]`, in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter()
    }

    /// The `[DEFAULT]` section (empty if the file has none).
    pub fn defaults(&self) -> &Section {
        &self.defaults
    }
}

/// The main section when none is named: the first known one, else the first.
fn default_main(raw: &RawIni) -> Option<usize> {
    raw.sections
        .iter()
        .position(|s| KNOWN_MAIN.contains(&s.name.as_str()))
        .or(if raw.sections.is_empty() {
            None
        } else {
            Some(0)
        })
}

/// The absolute directory of the file (`config_dir`). Python uses the
/// directory part as given, which is empty for a bare file name; skydeck
/// makes it absolute so that it means the same after a daemon starts.
pub(crate) fn config_dir(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    abs.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn config_format(
    path: &Path,
    raw: &RawIni,
    main: Option<usize>,
) -> Result<ConfigFormat, ConfigError> {
    let own = main.and_then(|m| raw.sections[m].get("config_format").map(|e| (m, e)));
    let (section, entry) = match own {
        Some((m, e)) => (raw.sections[m].name.as_str(), e),
        None => match raw.defaults.get("config_format") {
            Some(e) => ("DEFAULT", e),
            None => return Ok(ConfigFormat::Classic),
        },
    };
    match entry.value.as_str() {
        "1" => Ok(ConfigFormat::Classic),
        "2" => Ok(ConfigFormat::Extended),
        other => Err(ConfigError::BadValue {
            path: path.into(),
            section: section.to_string().into(),
            key: "config_format".into(),
            value: other.to_string().into(),
            expected: "expected 1 (%(name)s interpolation) or 2 (${name} interpolation)".into(),
        }),
    }
}

fn interp_error(
    path: &Path,
    raw: &RawIni,
    ctx: Ctx,
    main_name: Option<&str>,
    key: &str,
    err: InterpError,
) -> ConfigError {
    let name_of = |c: Ctx| match c {
        Some(i) => raw.sections[i].name.clone(),
        None => "DEFAULT".to_string(),
    };
    let section = name_of(ctx);
    match err {
        InterpError::Loop(chain) => ConfigError::InterpolationLoop {
            path: path.into(),
            section: section.into(),
            key: key.to_string().into(),
            chain: (chain
                .iter()
                .map(|(c, k)| {
                    if *c == ctx {
                        k.clone()
                    } else {
                        format!("{}:{k}", name_of(*c))
                    }
                })
                .collect::<Vec<_>>()
                .join(" -> "))
            .into(),
        },
        InterpError::Undefined {
            variable,
            name,
            ctx: where_,
            missing_section,
            in_value,
        } => {
            let hint = if let Some(s) = missing_section {
                format!("there is no section [{s}]")
            } else if PREDEFINED.contains(&name.as_str())
                && main_name.is_some_and(|m| name_of(where_) != m)
            {
                format!(
                    "'{name}' is predefined only in the main section [{}]",
                    main_name.unwrap_or_default()
                )
            } else if where_.is_none() {
                format!("define '{name}' in [DEFAULT]")
            } else {
                format!("define '{name}' in [{}] or [DEFAULT]", name_of(where_))
            };
            ConfigError::UndefinedVariable {
                path: path.into(),
                section: section.into(),
                key: key.to_string().into(),
                value: in_value.into(),
                variable: variable.into(),
                hint: hint.into(),
            }
        }
        InterpError::Syntax { message, in_value } => ConfigError::InterpolationSyntax {
            path: path.into(),
            section: section.into(),
            key: key.to_string().into(),
            value: in_value.into(),
            message: message.into(),
        },
        InterpError::TooDeep { in_value } => ConfigError::InterpolationSyntax {
            path: path.into(),
            section: section.into(),
            key: key.to_string().into(),
            value: in_value.into(),
            message: format!("references are nested more than {MAX_DEPTH} levels deep").into(),
        },
        InterpError::Limit { in_value, message } => ConfigError::InterpolationSyntax {
            path: path.into(),
            section: section.into(),
            key: key.to_string().into(),
            value: in_value.into(),
            message: message.into(),
        },
    }
}
