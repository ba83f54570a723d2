//! Value interpolation, as python-skytools configures ConfigParser.
//!
//! `config_format = 1` (the default) is ConfigParser's classic
//! `BasicInterpolation`: `%(name)s` looks `name` up in the same section, then
//! in `[DEFAULT]`; `%%` is a literal `%`; any other `%` is an error.
//! `config_format = 2` is `ExtendedInterpolation`: `${name}` (same section,
//! then `[DEFAULT]`), `${section:name}` (another section, which may be
//! `DEFAULT`); `$$` is a literal `$`; any other `$` is an error. The two
//! syntaxes never mix: in format 1 a `$` is plain text, in format 2 a `%` is.
//!
//! Names are lower-cased before the lookup (ConfigParser's `optionxform`),
//! section names are not. A reference found in a value fetched through
//! `${section:name}` is looked up in that other section.
//!
//! Differences from Python, all in the direction of clearer errors: a loop is
//! reported as a loop with its chain (Python only reports "recursion limit
//! exceeded"), nesting may go 32 levels deep (Python: 10), and an expansion
//! is capped in size so that a hostile file cannot exhaust memory.

use std::cell::Cell;

use super::ini::{RawIni, ValueSource};
use super::ConfigFormat;

/// Deepest chain of references followed.
pub(crate) const MAX_DEPTH: usize = 32;
/// Largest single expanded value.
pub(crate) const MAX_VALUE_LEN: usize = 1 << 20;
/// Largest total of expanded values in one file.
pub(crate) const MAX_TOTAL_LEN: usize = 16 << 20;
/// Most references followed to expand one value.
pub(crate) const MAX_VALUE_REFS: usize = 10_000;
/// Most references followed in one file.
pub(crate) const MAX_TOTAL_REFS: usize = 100_000;

/// Where a lookup happens: a section by index, or `[DEFAULT]`.
pub(crate) type Ctx = Option<usize>;

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpError {
    /// The references visited, ending with the one seen before.
    Loop(Vec<(Ctx, String)>),
    Undefined {
        /// As written: `name` or `section:name`.
        variable: String,
        /// Lower-cased name looked up.
        name: String,
        /// Where it was looked up.
        ctx: Ctx,
        /// Set when `${section:name}` names a section that does not exist.
        missing_section: Option<String>,
        in_value: String,
    },
    Syntax {
        message: String,
        in_value: String,
    },
    TooDeep {
        in_value: String,
    },
    /// A size or work limit was hit; the message says which.
    Limit {
        in_value: String,
        message: String,
    },
}

/// Expands values of one parsed file.
pub(crate) struct Resolver<'a> {
    raw: &'a RawIni,
    format: ConfigFormat,
    /// Expanded bytes still allowed for the whole file.
    budget: Cell<usize>,
    /// References still allowed to be followed for the whole file.
    refs: Cell<usize>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(raw: &'a RawIni, format: ConfigFormat) -> Self {
        Resolver {
            raw,
            format,
            budget: Cell::new(MAX_TOTAL_LEN),
            refs: Cell::new(MAX_TOTAL_REFS),
        }
    }

    /// Expand `value`, the value of `key` as seen from section `ctx`.
    pub(crate) fn resolve(&self, ctx: Ctx, key: &str, value: &str) -> Result<String, InterpError> {
        let mut out = String::new();
        let mut chain = vec![(ctx, key.to_string())];
        let mut value_refs = 0;
        let result = self.expand(ctx, value, &mut chain, &mut value_refs, &mut out);
        // Failed expansions count too, so that many of them cannot add up.
        self.budget.set(self.budget.get().saturating_sub(out.len()));
        result.map(|()| out)
    }

    /// Fail once `out` outgrows the per-value cap or what is left of the
    /// file's budget.
    fn check_len(&self, out: &str, value: &str) -> Result<(), InterpError> {
        let budget = self.budget.get();
        if out.len() > MAX_VALUE_LEN.min(budget) {
            return Err(InterpError::Limit {
                in_value: value.to_string(),
                message: if budget < MAX_VALUE_LEN {
                    "the file's values expand to too much text in total".to_string()
                } else {
                    format!("it expands to more than {MAX_VALUE_LEN} bytes")
                },
            });
        }
        Ok(())
    }

    /// Count one followed reference against the value's and the file's limits.
    fn count_ref(&self, value_refs: &mut usize, value: &str) -> Result<(), InterpError> {
        *value_refs += 1;
        let left = self.refs.get();
        let message = if *value_refs > MAX_VALUE_REFS {
            format!("it takes more than {MAX_VALUE_REFS} references to expand")
        } else if left == 0 {
            "the file's values take too many references to expand in total".to_string()
        } else {
            self.refs.set(left - 1);
            return Ok(());
        };
        Err(InterpError::Limit {
            in_value: value.to_string(),
            message,
        })
    }

    fn lookup(&self, ctx: Ctx, name: &str) -> Option<(&'a str, bool)> {
        let entry = match ctx {
            Some(i) => self.raw.sections[i]
                .get(name)
                .or_else(|| self.raw.defaults.get(name)),
            None => self.raw.defaults.get(name),
        }?;
        Some((
            entry.value.as_str(),
            entry.source == ValueSource::Predefined,
        ))
    }

    fn expand(
        &self,
        ctx: Ctx,
        value: &str,
        chain: &mut Vec<(Ctx, String)>,
        value_refs: &mut usize,
        out: &mut String,
    ) -> Result<(), InterpError> {
        let (marker, open) = match self.format {
            ConfigFormat::Classic => ('%', '('),
            ConfigFormat::Extended => ('$', '{'),
        };
        let mut rest = value;
        while let Some(p) = rest.find(marker) {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            let next = rest[1..].chars().next();
            if next == Some(marker) {
                out.push(marker);
                rest = &rest[2..];
            } else if next == Some(open) {
                self.count_ref(value_refs, value)?;
                let (target, after) = self.parse_reference(ctx, rest, value)?;
                let (tctx, name, written) = target;
                let Some((found, literal)) = self.lookup(tctx, &name) else {
                    return Err(InterpError::Undefined {
                        variable: written,
                        name,
                        ctx: tctx,
                        missing_section: None,
                        in_value: value.to_string(),
                    });
                };
                if literal {
                    out.push_str(found);
                } else {
                    let link = (tctx, name);
                    if chain.contains(&link) {
                        chain.push(link);
                        return Err(InterpError::Loop(std::mem::take(chain)));
                    }
                    if chain.len() > MAX_DEPTH {
                        return Err(InterpError::TooDeep {
                            in_value: value.to_string(),
                        });
                    }
                    chain.push(link);
                    self.expand(tctx, found, chain, value_refs, out)?;
                    chain.pop();
                }
                rest = after;
            } else {
                let message = match self.format {
                    ConfigFormat::Classic => {
                        "'%' must be followed by '%' or '(' (write '%%' for a literal '%')"
                    }
                    ConfigFormat::Extended => {
                        "'$' must be followed by '$' or '{' (write '$$' for a literal '$')"
                    }
                };
                return Err(InterpError::Syntax {
                    message: message.to_string(),
                    in_value: value.to_string(),
                });
            }
            self.check_len(out, value)?;
        }
        out.push_str(rest);
        self.check_len(out, value)
    }

    /// Parse the reference at the start of `rest` (`%(name)s` or `${…}`):
    /// where to look, the lower-cased name, the reference as written, and
    /// the text after it.
    #[allow(clippy::type_complexity)]
    fn parse_reference<'v>(
        &self,
        ctx: Ctx,
        rest: &'v str,
        value: &str,
    ) -> Result<((Ctx, String, String), &'v str), InterpError> {
        let syntax = |message: &str| InterpError::Syntax {
            message: message.to_string(),
            in_value: value.to_string(),
        };
        match self.format {
            ConfigFormat::Classic => {
                // %\(([^)]+)\)s
                let inner = &rest[2..];
                let close = inner.find(')');
                match close {
                    Some(c) if c > 0 && inner[c + 1..].starts_with('s') => {
                        let written = &inner[..c];
                        Ok((
                            (ctx, written.to_lowercase(), written.to_string()),
                            &inner[c + 2..],
                        ))
                    }
                    _ => Err(syntax(
                        "'%(' must be followed by a name and ')s', as in %(job_name)s",
                    )),
                }
            }
            ConfigFormat::Extended => {
                // \$\{([^}]+)\}
                let inner = &rest[2..];
                let close = inner.find('}');
                let Some(c) = close.filter(|c| *c > 0) else {
                    return Err(syntax(
                        "'${' must be followed by a name and '}', as in ${job_name}",
                    ));
                };
                let written = &inner[..c];
                let after = &inner[c + 1..];
                let parts: Vec<&str> = written.split(':').collect();
                match parts.as_slice() {
                    [name] => Ok(((ctx, name.to_lowercase(), written.to_string()), after)),
                    [section, name] => {
                        let ctx = if *section == "DEFAULT" {
                            None
                        } else {
                            match self.raw.section_index(section) {
                                Some(i) => Some(i),
                                None => {
                                    return Err(InterpError::Undefined {
                                        variable: written.to_string(),
                                        name: name.to_lowercase(),
                                        ctx: None,
                                        missing_section: Some(section.to_string()),
                                        in_value: value.to_string(),
                                    })
                                }
                            }
                        };
                        Ok(((ctx, name.to_lowercase(), written.to_string()), after))
                    }
                    _ => Err(syntax("more than one ':' in a ${section:name} reference")),
                }
            }
        }
    }
}
