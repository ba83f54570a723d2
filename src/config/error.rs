//! The one error type of the configuration subsystem.
//!
//! Every message starts with `config <file>:` and then names the section, the
//! key and the offending value (quoted) where there is one, and ends with what
//! to do about it. The messages are asserted verbatim by
//! `tests/config.rs`, so change them together with their `.err` fixtures.

use std::fmt;
use std::path::Path;

/// Something wrong with a job file, a deck file or one of their values.
///
/// Strings are boxed to keep the type small (it travels inside other
/// errors and in every `Result` of the accessors). `Clone` so that a [`Section`](super::Section) can keep a value's
/// interpolation error and hand it out every time the key is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (with the operating system's reason).
    #[error("config {}: cannot read the file: {message}{hint}", path.display())]
    Unreadable {
        path: Box<Path>,
        message: Box<str>,
        hint: &'static str,
    },
    /// The file is not an `.ini` file we can parse: the line and what is wrong.
    #[error("config {}: line {line}: {message}", path.display())]
    Syntax {
        path: Box<Path>,
        line: usize,
        message: Box<str>,
    },
    /// A required key is absent from the section (and from `[DEFAULT]`).
    #[error("config {}: key '{key}' is missing in section [{section}]", path.display())]
    MissingKey {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
    },
    /// A value that does not parse as what the key needs, or is out of range.
    #[error(
        "config {}: key '{key}' in section [{section}] has bad value {}: {expected}",
        path.display(),
        Quoted(value)
    )]
    BadValue {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
        value: Box<str>,
        /// What would have been accepted, e.g. "expected a whole number such as 10".
        expected: Box<str>,
    },
    /// A key the section's reader does not know (pgqd refuses these too).
    #[error("config {}: unknown key '{key}' in section [{section}]; {hint}", path.display())]
    UnknownKey {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
        hint: Box<str>,
    },
    /// The section that says what the file is (`[skydeck]`, `[pgqd]` …) is absent.
    #[error("config {}: {message}", path.display())]
    MissingSection { path: Box<Path>, message: Box<str> },
    /// A file far beyond any real configuration (a guard against hostile input).
    #[error("config {}: the file is too large: {message}", path.display())]
    TooLarge { path: Box<Path>, message: Box<str> },
    /// Several sections and none of them names a job kind we know.
    #[error(
        "config {}: cannot tell which section is the job's main section among {}; \
         name it [pgqd], [londiste], [londiste3] or [walmgr], or keep one section per job file",
        path.display(),
        section_list(sections)
    )]
    UnknownKind {
        path: Box<Path>,
        sections: Vec<String>,
    },
    /// More than one section names a job kind.
    #[error(
        "config {}: sections {} each name a job kind; keep one job per file",
        path.display(),
        section_list(sections)
    )]
    AmbiguousKind {
        path: Box<Path>,
        sections: Vec<String>,
    },
    /// `%(a)s` refers to `b` which refers back to `a` (directly or not).
    #[error(
        "config {}: key '{key}' in section [{section}] has an interpolation loop: {chain}; \
         replace one of the references with a plain value",
        path.display()
    )]
    InterpolationLoop {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
        /// The keys visited, e.g. `a -> b -> a` (`sect:key` for other sections).
        chain: Box<str>,
    },
    /// A reference to a variable that is defined nowhere it may be looked up.
    #[error(
        "config {}: key '{key}' in section [{section}] refers to undefined variable '{variable}' in {}; {hint}",
        path.display(),
        Quoted(value)
    )]
    UndefinedVariable {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
        /// The value that holds the reference (the key's own or a nested one).
        value: Box<str>,
        /// As written: `name` or `section:name`.
        variable: Box<str>,
        hint: Box<str>,
    },
    /// A `%` or `$` that is not a valid reference, a chain nested too deep, or
    /// an expansion that grows without bound.
    #[error(
        "config {}: key '{key}' in section [{section}] has bad interpolation in {}: {message}",
        path.display(),
        Quoted(value)
    )]
    InterpolationSyntax {
        path: Box<Path>,
        section: Box<str>,
        key: Box<str>,
        value: Box<str>,
        message: Box<str>,
    },
    /// An entry of the deck's `config_list` that names no usable file.
    #[error("config {}: config_list entry {} {message}", path.display(), Quoted(entry))]
    BadListEntry {
        path: Box<Path>,
        entry: Box<str>,
        message: Box<str>,
    },
    /// Two job files of one deck end up with the same job name.
    #[error(
        "config {}: job name '{job_name}' is used by both {} and {}; \
         set a distinct job_name in one of them",
        path.display(),
        first.display(),
        second.display()
    )]
    DuplicateJob {
        path: Box<Path>,
        job_name: Box<str>,
        first: Box<Path>,
        second: Box<Path>,
    },
}

impl ConfigError {
    /// The file the error is about (for a deck-level error: the deck file).
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Unreadable { path, .. }
            | ConfigError::Syntax { path, .. }
            | ConfigError::MissingKey { path, .. }
            | ConfigError::BadValue { path, .. }
            | ConfigError::UnknownKey { path, .. }
            | ConfigError::MissingSection { path, .. }
            | ConfigError::TooLarge { path, .. }
            | ConfigError::UnknownKind { path, .. }
            | ConfigError::AmbiguousKind { path, .. }
            | ConfigError::InterpolationLoop { path, .. }
            | ConfigError::UndefinedVariable { path, .. }
            | ConfigError::InterpolationSyntax { path, .. }
            | ConfigError::BadListEntry { path, .. }
            | ConfigError::DuplicateJob { path, .. } => path,
        }
    }

    /// A read failure, with a hint chosen from the kind of OS error.
    pub(crate) fn unreadable(path: &Path, err: &std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::NotFound => "; check the path",
            std::io::ErrorKind::PermissionDenied => "; check the file's permissions",
            std::io::ErrorKind::IsADirectory => "; name a file, not a directory",
            _ => "",
        };
        ConfigError::Unreadable {
            path: path.into(),
            message: err.to_string().into(),
            hint,
        }
    }
}

/// Longest value shown in a message; longer ones are cut with an ellipsis.
const MAX_SHOWN: usize = 160;

/// A value as shown in messages: in single quotes, control characters and
/// quotes escaped so that the message stays on one line and unambiguous.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'")?;
        for (n, c) in self.0.chars().enumerate() {
            if n == MAX_SHOWN {
                f.write_str("…")?;
                break;
            }
            match c {
                '\'' => f.write_str("\\'")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("'")
    }
}

fn section_list(sections: &[String]) -> String {
    let names: Vec<String> = sections.iter().map(|s| format!("[{s}]")).collect();
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_cuts() {
        assert_eq!(Quoted("a'b\nc").to_string(), r"'a\'b\nc'");
        assert_eq!(Quoted("\u{1}").to_string(), r"'\u{1}'");
        let long = "x".repeat(500);
        let shown = Quoted(&long).to_string();
        assert!(shown.ends_with("…'"));
        assert_eq!(shown.chars().count(), MAX_SHOWN + 3);
    }

    #[test]
    fn section_lists_read_naturally() {
        let s = |v: &[&str]| section_list(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["a"]), "[a]");
        assert_eq!(s(&["a", "b"]), "[a] and [b]");
        assert_eq!(s(&["a", "b", "c"]), "[a], [b] and [c]");
    }
}
