//! Job files: one `.ini` per hosted job, its kind told by its main section.

use std::path::{Path, PathBuf};

use super::ini::{parse_raw, read_file, IniFile, RawIni, Section};
use super::{ConfigError, Fingerprinter, PgqdConfig};

/// What a job file configures, from the name of its main section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// `[pgqd]`: the ticker and maintenance daemon.
    Pgqd,
    /// `[londiste]`, or `[londiste3]` as Skytools 3.x named it.
    Londiste,
    /// `[walmgr]`: WAL shipping.
    Walmgr,
    /// Any other single section: another Skytools script, kept for later.
    Generic(String),
}

impl JobKind {
    /// The kind a section name stands for, if it names one.
    pub fn from_section_name(name: &str) -> Option<JobKind> {
        match name {
            "pgqd" => Some(JobKind::Pgqd),
            "londiste" | "londiste3" => Some(JobKind::Londiste),
            "walmgr" => Some(JobKind::Walmgr),
            _ => None,
        }
    }

    /// Short name for lists and logs: `pgqd`, `londiste`, `walmgr`, or the
    /// generic job's section name.
    pub fn name(&self) -> &str {
        match self {
            JobKind::Pgqd => "pgqd",
            JobKind::Londiste => "londiste",
            JobKind::Walmgr => "walmgr",
            JobKind::Generic(section) => section,
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A loaded job file.
///
/// Loading checks what every job of the kind needs: the whole main section
/// interpolates, `job_name` is not empty, a `[pgqd]` section makes a valid
/// [`PgqdConfig`], a `[londiste]` section has `db` and `queue_name` (or the
/// older `pgq_queue_name`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobFile {
    /// The file, as given (or as found through the deck's `config_list`).
    pub path: PathBuf,
    /// Its kind.
    pub kind: JobKind,
    /// `job_name` from the main section (default: the file name without
    /// extension). Unique within a deck.
    pub job_name: String,
    /// The main section, interpolated, with `[DEFAULT]` merged in.
    pub section: Section,
    /// The whole file, for readers that need other sections.
    pub ini: IniFile,
}

impl JobFile {
    /// Read and check a job file.
    pub fn load(path: impl AsRef<Path>) -> Result<JobFile, ConfigError> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        Self::parse(path, &bytes)
    }

    /// Check a job file's content as if read from `path`.
    pub fn parse(path: impl AsRef<Path>, bytes: &[u8]) -> Result<JobFile, ConfigError> {
        let path = path.as_ref();
        Self::from_raw(path, parse_raw(path, bytes)?)
    }

    pub(crate) fn from_raw(path: &Path, raw: RawIni) -> Result<JobFile, ConfigError> {
        let (main, kind) = detect(path, &raw)?;
        let ini = IniFile::build(path, raw, Some(main), &[])?;
        // `build` keeps the main section it is given; the error is unreachable.
        let section = ini
            .main_section()
            .cloned()
            .ok_or_else(|| ConfigError::MissingSection {
                path: path.into(),
                message: "no job section".into(),
            })?;
        if let Some(err) = section.first_error() {
            return Err(err.clone());
        }
        let job_name = section.require("job_name")?;
        if job_name.trim().is_empty() {
            return Err(section.bad_value(
                "job_name",
                "a job needs a name; remove the key to use the file name",
            ));
        }
        match kind {
            JobKind::Pgqd => {
                PgqdConfig::from_section(&section)?;
            }
            JobKind::Londiste => {
                section.require("db")?;
                if !section.contains("queue_name") && !section.contains("pgq_queue_name") {
                    return Err(section.missing("queue_name"));
                }
            }
            JobKind::Walmgr | JobKind::Generic(_) => {}
        }
        Ok(JobFile {
            path: path.to_path_buf(),
            kind,
            job_name,
            section,
            ini,
        })
    }

    /// A hash of everything in the file that can change the job's behaviour:
    /// its path, kind and every section's interpolated values (comments,
    /// blank lines and layout do not count). Equal fingerprints mean a
    /// reload need not restart the job. Stable across runs and builds.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fingerprinter::new();
        h.str(&self.path.to_string_lossy());
        h.str(self.kind.name());
        self.section.hash_into(&mut h);
        self.ini.defaults().hash_into(&mut h);
        for s in self.ini.sections() {
            h.str(s.name());
            if s.name() != self.section.name() {
                s.hash_into(&mut h);
            }
        }
        h.finish()
    }
}

/// The main section and the kind, from the section names.
fn detect(path: &Path, raw: &RawIni) -> Result<(usize, JobKind), ConfigError> {
    let known: Vec<(usize, JobKind)> = raw
        .sections
        .iter()
        .enumerate()
        .filter_map(|(i, s)| JobKind::from_section_name(&s.name).map(|k| (i, k)))
        .collect();
    match known.as_slice() {
        [(i, kind)] => Ok((*i, kind.clone())),
        [] => match raw.sections.as_slice() {
            [] => Err(ConfigError::MissingSection {
                path: path.into(),
                message: "no job section; a job file needs a [pgqd], [londiste] (or the older \
                          [londiste3]) or [walmgr] section"
                    .into(),
            }),
            [only] => Ok((0, JobKind::Generic(only.name.clone()))),
            _ => Err(ConfigError::UnknownKind {
                path: path.into(),
                sections: raw.section_names(),
            }),
        },
        _ => Err(ConfigError::AmbiguousKind {
            path: path.into(),
            sections: known
                .iter()
                .map(|(i, _)| raw.sections[*i].name.clone())
                .collect(),
        }),
    }
}
