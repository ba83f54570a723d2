//! File name patterns for the deck's `config_list`, as Python's `glob.glob`
//! (which Skytools' scriptmgr used) matches them on POSIX:
//!
//! * `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!a-z]`
//!   one character of (not of) a set; a `]` right after `[` or `[!` is a
//!   member; a `[` without a closing `]` is a plain `[`.
//! * Matching is per path component: `*` never crosses a `/`, but wildcards
//!   may appear in directory components (`*/jobs/*.ini`).
//! * A wildcard component does not match names starting with `.` unless the
//!   component itself starts with `.`.
//! * Case-sensitive. Results are sorted (Python's order is the directory's).

use std::path::{Path, PathBuf};

/// Whether the text has any wildcard character.
pub fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    One,
    Any,
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn compile(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if toks.last() != Some(&Tok::Any) {
                    toks.push(Tok::Any);
                }
                i += 1;
            }
            '?' => {
                toks.push(Tok::One);
                i += 1;
            }
            '[' => {
                let mut j = i + 1;
                let negated = chars.get(j) == Some(&'!');
                if negated {
                    j += 1;
                }
                let start = j;
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    toks.push(Tok::Lit('['));
                    i += 1;
                    continue;
                }
                let members = &chars[start..j];
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < members.len() {
                    if k + 2 < members.len() && members[k + 1] == '-' {
                        ranges.push((members[k], members[k + 2]));
                        k += 3;
                    } else {
                        ranges.push((members[k], members[k]));
                        k += 1;
                    }
                }
                toks.push(Tok::Set { negated, ranges });
                i = j + 1;
            }
            c => {
                toks.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    toks
}

fn tok_matches(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::One => true,
        Tok::Any => false,
        Tok::Set { negated, ranges } => ranges.iter().any(|(a, b)| *a <= c && c <= *b) != *negated,
    }
}

/// Whether `name` (one path component) matches `pattern` (`fnmatch`).
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let toks = compile(pattern);
    let name: Vec<char> = name.chars().collect();
    let (mut t, mut n) = (0usize, 0usize);
    // Position of the last `*` and the name position it currently absorbs up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match toks.get(t) {
            Some(Tok::Any) => {
                backtrack = Some((t, n));
                t += 1;
            }
            Some(tok) if tok_matches(tok, name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, absorbed)) => {
                    t = star + 1;
                    n = absorbed + 1;
                    backtrack = Some((star, absorbed + 1));
                }
                None => return false,
            },
        }
    }
    toks[t..].iter().all(|tok| *tok == Tok::Any)
}

/// The existing paths matching `pattern` (relative patterns are relative to
/// the working directory), sorted. Names that are not UTF-8 are skipped.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        if has_magic(comp) {
            for dir in &current {
                let listing = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir.as_path()
                };
                let Ok(entries) = std::fs::read_dir(listing) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| comp.starts_with('.') || !n.starts_with('.'))
                    .filter(|n| fnmatch(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            }
        } else {
            next.extend(current.iter().map(|dir| dir.join(comp)));
        }
        current = next;
    }
    current.retain(|p| !p.as_os_str().is_empty() && p.exists());
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        let yes = [
            ("*.ini", "pgqd.ini"),
            ("*.ini", ".ini"),
            ("*", ""),
            ("a*b*c", "abbbc"),
            ("a*b*c", "axxbyyc"),
            ("?.ini", "a.ini"),
            ("[abc].ini", "b.ini"),
            ("[a-c]x", "bx"),
            ("[!a-c]x", "dx"),
            ("[]]", "]"),
            ("[!]]", "a"),
            ("[", "["),
            ("a[", "a["),
            ("[a-]", "-"),
            ("*[0-9]", "node12"),
            ("leaf-*.ini", "leaf-ä.ini"),
        ];
        for (p, n) in yes {
            assert!(fnmatch(p, n), "{p:?} should match {n:?}");
        }
        let no = [
            ("*.ini", "pgqd.ini.bak"),
            ("?.ini", "ab.ini"),
            ("[abc].ini", "d.ini"),
            ("[!a-c]x", "ax"),
            ("[z-a]", "m"),
            ("A*", "a"),
            ("a*b*c", "abcx"),
            ("", "a"),
        ];
        for (p, n) in no {
            assert!(!fnmatch(p, n), "{p:?} should not match {n:?}");
        }
    }

    #[test]
    fn glob_walks_components() {
        let dir = std::env::temp_dir().join(format!("skydeck-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "a/jobs/x.ini",
            "a/jobs/.hidden.ini",
            "b/jobs/y.ini",
            "b/jobs/z.txt",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        let base = dir.to_str().unwrap();
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            rel(glob(&format!("{base}/*/jobs/*.ini"))),
            ["a/jobs/x.ini", "b/jobs/y.ini"]
        );
        assert_eq!(
            rel(glob(&format!("{base}/a/jobs/.*.ini"))),
            ["a/jobs/.hidden.ini"]
        );
        assert_eq!(
            rel(glob(&format!("{base}//b/jobs/[yz].*"))),
            ["b/jobs/y.ini", "b/jobs/z.txt"]
        );
        assert!(glob(&format!("{base}/none/*.ini")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
