//! The deck file (`skydeck.ini`): which job files to host and the
//! console's own settings.
//!
//! ```ini
//! [skydeck]
//! config_list = jobs/*.ini, /etc/skytools/londiste/*.ini
//! logfile = ~/log/skydeck.log
//! pidfile = ~/pid/skydeck.pid
//! refresh_period = 1
//! theme = dark
//! read_only = 0
//! ```
//!
//! `config_list` works as in Skytools' scriptmgr: entries separated by
//! commas or newlines, `~` and `$VAR` expanded, then globbed (see
//! [`glob`](super::glob)). Relative entries are relative to the deck file's
//! directory (scriptmgr used its working directory). Matches are sorted;
//! a file matched twice is loaded once; a file holding a `[skydeck]` section
//! (the deck itself, or another deck) is skipped.
//!
//! An entry without wildcards names one file, which must exist. An entry
//! with wildcards that matches nothing is not an error, only a warning in
//! [`Deck::warnings`]: a fresh deck with an empty `jobs/` directory should
//! start, and so should a reload while a directory is being filled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::error::Quoted;
use super::glob::{glob, has_magic};
use super::ini::{parse_raw, read_file, resolve_path, IniFile, Section, PREDEFINED};
use super::{value, ConfigError, Fingerprinter, JobFile};

/// The console's colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Theme {
    /// Light text on a dark terminal (default).
    #[default]
    Dark,
    /// Dark text on a light terminal.
    Light,
    /// No colours, only bold, reverse and underline.
    Mono,
}

impl Theme {
    /// All themes, in the order they are offered.
    pub const ALL: [Theme; 3] = [Theme::Dark, Theme::Light, Theme::Mono];

    /// The name used in the deck file.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
            Theme::Mono => "mono",
        }
    }
}

impl std::fmt::Display for Theme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Theme {
    type Err = String;

    /// `dark`, `light` or `mono`, any case.
    fn from_str(s: &str) -> Result<Theme, String> {
        let s = s.trim().to_lowercase();
        Theme::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| "expected dark, light or mono".to_string())
    }
}

/// The keys of `[skydeck]`.
pub const DECK_KEYS: [&str; 7] = [
    "config_list",
    "logfile",
    "pidfile",
    "refresh_period",
    "theme",
    "read_only",
    "keymap",
];

/// How often the console refreshes its data when `refresh_period` is not set.
pub const DEFAULT_REFRESH_PERIOD: Duration = Duration::from_secs(1);

/// A loaded deck: its settings and its job files.
#[derive(Debug, Clone, PartialEq)]
pub struct Deck {
    /// The deck file, as given.
    pub path: PathBuf,
    /// The `config_list` entries as written.
    pub config_list: Vec<String>,
    /// The job files, in `config_list` order (each glob's matches sorted).
    pub jobs: Vec<JobFile>,
    /// The daemon's log file; `None` when not set or empty.
    pub logfile: Option<PathBuf>,
    /// The daemon's pid file; `None` when not set or empty.
    pub pidfile: Option<PathBuf>,
    /// How often the console refreshes its data (> 0; default 1 s).
    pub refresh_period: Duration,
    /// Colour theme (default dark).
    pub theme: Theme,
    /// Offer no actions that change anything (default off).
    pub read_only: bool,
    /// Reserved for a key map file or name; kept as written.
    pub keymap: Option<String>,
    /// Things worth telling the operator that did not stop the load: globs
    /// matching nothing, skipped deck files, unknown keys. Each is a full
    /// message naming the deck file.
    pub warnings: Vec<String>,
    /// The `[skydeck]` section, for keys later versions read.
    pub section: Section,
}

/// What changed between two loads of a deck, by job name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeckDiff {
    /// Jobs only in the newer deck (start them).
    pub added: Vec<String>,
    /// Jobs only in the older deck (stop them).
    pub removed: Vec<String>,
    /// Jobs in both whose fingerprint differs (restart them).
    pub changed: Vec<String>,
    /// Jobs in both with the same fingerprint (leave them running).
    pub unchanged: Vec<String>,
    /// Whether the deck's own settings (log file, pid file, refresh period,
    /// theme, read-only, key map) differ.
    pub settings_changed: bool,
}

impl DeckDiff {
    /// Whether nothing needs doing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.settings_changed
    }
}

impl Deck {
    /// Read the deck file and every job file it lists.
    pub fn load(path: impl AsRef<Path>) -> Result<Deck, ConfigError> {
        let path = path.as_ref();
        let raw = parse_raw(path, &read_file(path)?)?;
        let Some(main) = raw.section_index("skydeck") else {
            return Err(ConfigError::MissingSection {
                path: path.into(),
                message: "no [skydeck] section; a deck file has a [skydeck] section whose \
                          config_list names the job files, e.g. config_list = jobs/*.ini"
                    .into(),
            });
        };
        let ini = IniFile::build(path, raw, Some(main), &[])?;
        let section = ini
            .main_section()
            .cloned()
            .ok_or_else(|| ConfigError::MissingSection {
                path: path.into(),
                message: "no [skydeck] section".into(),
            })?;
        let mut warnings = Vec::new();

        for key in section.own_keys() {
            if !DECK_KEYS.contains(&key) && !PREDEFINED.contains(&key) && key != "config_format" {
                let hint = match super::closest(key, &DECK_KEYS) {
                    Some(k) => format!("; did you mean '{k}'?"),
                    None => String::new(),
                };
                warnings.push(format!(
                    "config {}: unknown key '{key}' in section [skydeck] is ignored{hint}",
                    path.display()
                ));
            }
        }

        let refresh_period = section.get_duration("refresh_period", DEFAULT_REFRESH_PERIOD)?;
        if refresh_period.is_zero() {
            return Err(section.bad_value("refresh_period", "must be greater than 0"));
        }
        let theme = section
            .get_with("theme", Theme::from_str)?
            .unwrap_or_default();
        let read_only = section.get_bool("read_only", false)?;
        let keymap = section.get_opt("keymap")?.filter(|k| !k.is_empty());
        let logfile = section.get_path("logfile", None)?;
        let pidfile = section.get_path("pidfile", None)?;

        let config_list: Vec<String> = section
            .require("config_list")?
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        let files = list_files(path, &config_list, &mut warnings)?;

        let own = std::fs::canonicalize(path).ok();
        let mut jobs: Vec<JobFile> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for file in files {
            if own.is_some() && std::fs::canonicalize(&file).ok() == own {
                continue;
            }
            let raw = parse_raw(&file, &read_file(&file)?)?;
            if raw.section_index("skydeck").is_some() {
                warnings.push(format!(
                    "config {}: skipped {}: it is a deck file, not a job file",
                    path.display(),
                    file.display()
                ));
                continue;
            }
            let job = JobFile::from_raw(&file, raw)?;
            if let Some(&first) = by_name.get(&job.job_name) {
                return Err(ConfigError::DuplicateJob {
                    path: path.into(),
                    job_name: job.job_name.into(),
                    first: jobs[first].path.clone().into(),
                    second: file.into(),
                });
            }
            by_name.insert(job.job_name.clone(), jobs.len());
            jobs.push(job);
        }

        Ok(Deck {
            path: path.to_path_buf(),
            config_list,
            jobs,
            logfile,
            pidfile,
            refresh_period,
            theme,
            read_only,
            keymap,
            warnings,
            section,
        })
    }

    /// The job with this name.
    pub fn job(&self, job_name: &str) -> Option<&JobFile> {
        self.jobs.iter().find(|j| j.job_name == job_name)
    }

    /// What changed from `self` (the running deck) to `newer` (just
    /// reloaded): the daemon restarts only `changed`, starts `added`, stops
    /// `removed`.
    pub fn diff(&self, newer: &Deck) -> DeckDiff {
        let mut d = DeckDiff::default();
        for job in &newer.jobs {
            match self.job(&job.job_name) {
                None => d.added.push(job.job_name.clone()),
                Some(old) if old.fingerprint() != job.fingerprint() => {
                    d.changed.push(job.job_name.clone())
                }
                Some(_) => d.unchanged.push(job.job_name.clone()),
            }
        }
        for job in &self.jobs {
            if newer.job(&job.job_name).is_none() {
                d.removed.push(job.job_name.clone());
            }
        }
        d.settings_changed = self.settings_fingerprint() != newer.settings_fingerprint();
        d
    }

    fn settings_fingerprint(&self) -> u64 {
        let mut h = Fingerprinter::new();
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        h.opt(path(&self.logfile).as_deref());
        h.opt(path(&self.pidfile).as_deref());
        h.str(&self.refresh_period.as_nanos().to_string());
        h.str(self.theme.name());
        h.byte(u8::from(self.read_only));
        h.opt(self.keymap.as_deref());
        h.finish()
    }
}

/// The files named by `config_list`, in order, each once.
fn list_files(
    deck: &Path,
    entries: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>, ConfigError> {
    let base = deck.parent().unwrap_or(Path::new(""));
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let expanded = value::expand_vars(&value::expand_user(entry));
        let Some(pattern) = resolve_path(base, &expanded) else {
            continue;
        };
        let matches = if has_magic(&expanded) {
            let found: Vec<PathBuf> = glob(&pattern.to_string_lossy())
                .into_iter()
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                warnings.push(format!(
                    "config {}: config_list entry {} matches no files",
                    deck.display(),
                    Quoted(entry)
                ));
            }
            found
        } else if pattern.is_dir() {
            return Err(ConfigError::BadListEntry {
                path: deck.into(),
                entry: entry.clone().into(),
                message: format!(
                    "names a directory ({}); list its files, e.g. {}/*.ini",
                    pattern.display(),
                    entry.trim_end_matches('/')
                )
                .into(),
            });
        } else if !pattern.exists() {
            return Err(ConfigError::BadListEntry {
                path: deck.into(),
                entry: entry.clone().into(),
                message: format!(
                    "names {}, which does not exist; fix the entry or create the file",
                    pattern.display()
                )
                .into(),
            });
        } else {
            vec![pattern]
        };
        for file in matches {
            let key = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if !seen.contains(&key) {
                seen.push(key);
                files.push(file);
            }
        }
    }
    Ok(files)
}
