//! Configuration: Skytools job files as they are, and the deck file.
//!
//! * [`IniFile`] / [`Section`]: the `.ini` grammar, `[DEFAULT]`,
//!   interpolation (`%(name)s`, or `${name}` / `${section:name}` with
//!   `config_format = 2`), the predefined variables, and typed accessors
//!   (int, float, bool, list, dict, size, duration, path) whose errors name
//!   the file, section, key and value.
//! * [`JobFile`]: a job file and its [`JobKind`], told by its main section
//!   (`[pgqd]`, `[londiste]` or `[londiste3]`, `[walmgr]`, or another single
//!   section kept as generic).
//! * [`PgqdConfig`]: the `[pgqd]` keys, typed and checked.
//! * [`Deck`]: `skydeck.ini`: the job files to host (`config_list` globs) and
//!   the console's settings; [`Deck::diff`] tells a reload what to restart.
//!
//! Every failure is a [`ConfigError`]; nothing here panics on any input
//! (`tests/config.rs` feeds random bytes).

mod deck;
mod error;
pub mod glob;
mod ini;
mod interp;
mod job;
mod pgqd;
mod sys;
pub mod value;

pub use deck::{Deck, DeckDiff, Theme, DECK_KEYS, DEFAULT_REFRESH_PERIOD};
pub use error::ConfigError;
pub use ini::{ConfigFormat, IniFile, LoadOptions, Section, ValueSource, PREDEFINED};
pub use job::{JobFile, JobKind};
pub use pgqd::{PgqdConfig, PGQD_KEYS, SYSLOG_FACILITIES};

/// The name in `known` closest to `key`, if it is close enough to be a typo.
pub(crate) fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// FNV-1a, 64 bits: a fingerprint that is the same in every build and run
/// (std's `DefaultHasher` promises neither). Fields are length-prefixed so
/// that ("ab", "c") and ("a", "bc") differ.
pub(crate) struct Fingerprinter(u64);

impl Fingerprinter {
    pub(crate) fn new() -> Self {
        Fingerprinter(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }

    pub(crate) fn str(&mut self, s: &str) {
        for b in (s.len() as u64).to_le_bytes() {
            self.byte(b);
        }
        for b in s.bytes() {
            self.byte(b);
        }
    }

    pub(crate) fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => {
                self.byte(1);
                self.str(s);
            }
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;
