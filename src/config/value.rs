//! Parsing of single values, in the forms the originals accept.
//!
//! Each parser returns the accepted value or the text that follows "expected"
//! in a [`ConfigError::BadValue`](super::ConfigError::BadValue) message.
//! [`Section`](super::Section) wraps them with the file, section and key.
//!
//! Where the forms come from:
//! * int, float, bool: Python's `int()`, `float()` and ConfigParser's
//!   `BOOLEAN_STATES`, which is what `skytools.Config.getint/getfloat/getbool`
//!   use.
//! * sizes: `skytools.hsize_to_bytes`: an unsigned integer, optional spaces,
//!   an optional unit letter K M G T P E Z Y (powers of 1024, any case) and an
//!   optional `B`.
//! * durations: neither Skytools (`getfloat`) nor pgqd (libusual
//!   `cf_set_time_double`, a `strtod` that refuses negative values) accept
//!   units; both take plain seconds ("1", "0.5", "1e3"). skydeck accepts that,
//!   and in addition a unit suffix as in postgresql.conf (`us`, `ms`, `s`,
//!   `min`, `h`, `d`): "500ms", "5 min".
//! * lists: `skytools.Config.getlist`: split on commas, items trimmed.
//!   Empty items are dropped (Skytools keeps them as `''`, which no reader
//!   can use).

use std::time::Duration;

/// What a bad whole number is told.
pub const EXPECTED_INT: &str = "expected a whole number such as 10";
/// What a bad float is told.
pub const EXPECTED_FLOAT: &str = "expected a number such as 1.5";
/// What a bad boolean is told.
pub const EXPECTED_BOOL: &str = "expected 1, yes, true or on, or 0, no, false or off";
/// What a bad size is told.
pub const EXPECTED_BYTES: &str =
    "expected a size such as 512, 64K, 10M or 4 GB (K, M, G … are powers of 1024)";
/// What a bad duration is told.
pub const EXPECTED_DURATION: &str =
    "expected seconds such as 1 or 0.5, or a number with a unit (us, ms, s, min, h, d) such as 500ms";

/// A whole number as Python's `int()` reads a string: surrounding
/// whitespace, an optional sign, decimal digits with single underscores
/// between them ("1_000"). No hex, no fractions.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !valid_digit_part(digits) {
        return Err(EXPECTED_INT.to_string());
    }
    let mut v: i64 = 0;
    for b in digits.bytes().filter(|b| *b != b'_') {
        let d = i64::from(b - b'0');
        v = v
            .checked_mul(10)
            .and_then(|v| {
                if neg {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or_else(|| "the number is too large".to_string())?;
    }
    Ok(v)
}

/// A number as Python's `float()` reads a string: decimal with optional
/// fraction and exponent, underscores between digits, `inf`, `infinity`,
/// `nan` (any case), an optional sign.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let lower = unsigned.to_ascii_lowercase();
    if !matches!(lower.as_str(), "inf" | "infinity" | "nan") && !valid_python_float(unsigned) {
        return Err(EXPECTED_FLOAT.to_string());
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    cleaned
        .parse::<f64>()
        .map_err(|_| EXPECTED_FLOAT.to_string())
}

/// Digits with optional single underscores between them; at least one digit.
fn valid_digit_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
}

fn valid_python_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !valid_digit_part(e) {
            return false;
        }
    }
    match mantissa.split_once('.') {
        None => valid_digit_part(mantissa),
        Some((i, f)) => match (i.is_empty(), f.is_empty()) {
            (true, true) => false,
            (true, false) => valid_digit_part(f),
            (false, true) => valid_digit_part(i),
            (false, false) => valid_digit_part(i) && valid_digit_part(f),
        },
    }
}

/// A boolean as ConfigParser reads it: `1 yes true on` / `0 no false off`,
/// any case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(EXPECTED_BOOL.to_string()),
    }
}

/// A comma separated list as `skytools.Config.getlist` splits it, without
/// empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// A `key:value, key2:value2` dict as `skytools.Config.getdict` reads it: an
/// item without `:` maps to itself; a repeated key keeps its first position
/// and its last value; empty items are dropped.
pub fn split_dict(s: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in s.split(',') {
        if item.trim().is_empty() {
            continue;
        }
        let (k, v) = match item.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (item.trim(), item.trim()),
        };
        match out.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => out.push((k.to_string(), v.to_string())),
        }
    }
    out
}

/// A size as `skytools.hsize_to_bytes` reads it: "512", "10K", "4 MB",
/// "1g", "3 kb". Units are powers of 1024.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits_end == 0 {
        return Err(EXPECTED_BYTES.to_string());
    }
    let rest = t[digits_end..].trim_start_matches(' ');
    let rest_upper = rest.to_ascii_uppercase();
    let unit_part = rest_upper.strip_suffix('B').unwrap_or(&rest_upper);
    let power = match unit_part {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        "Z" => 7,
        "Y" => 8,
        _ => return Err(EXPECTED_BYTES.to_string()),
    };
    let too_large = || "the size does not fit in 64 bits".to_string();
    let n: u64 = t[..digits_end].parse().map_err(|_| too_large())?;
    if n == 0 {
        return Ok(0);
    }
    1024u64
        .checked_pow(power)
        .and_then(|unit| n.checked_mul(unit))
        .ok_or_else(too_large)
}

/// A duration: plain (fractional) seconds as Skytools and pgqd read them,
/// or a number with a postgresql.conf unit (`us`, `ms`, `s`, `min`, `h`,
/// `d`). Converted exactly (no binary floating point on the way): "0.1" is
/// exactly 100 ms. Digits beyond nanoseconds are cut.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!(
            "{EXPECTED_DURATION}; a duration cannot be negative"
        ));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let unit_at = t
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(t.len());
    // 'e' may start an exponent or nothing; a unit never starts with 'e'.
    let (number, unit) = (t[..unit_at].trim_end(), &t[unit_at..]);
    let unit_ns: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "us" => 1_000,
        "ms" => 1_000_000,
        "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return Err(EXPECTED_DURATION.to_string()),
    };
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(i) => (&number[..i], Some(&number[i + 1..])),
        None => (number, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(EXPECTED_DURATION.to_string());
    }
    let mut exp10: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(EXPECTED_DURATION.to_string());
            }
            // Anything beyond a few hundred is zero or overflow anyway.
            let significant = digits.trim_start_matches('0');
            let magnitude: i64 = if significant.len() > 6 {
                1_000_000
            } else {
                significant.parse().unwrap_or(0)
            };
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    exp10 -= frac_part.len() as i64;
    let mut digits: String = format!("{int_part}{frac_part}")
        .trim_start_matches('0')
        .to_string();
    if digits.is_empty() {
        return Ok(Duration::ZERO);
    }
    // Keep the product within u128: at most 24 significant digits.
    if digits.len() > 24 {
        exp10 += (digits.len() - 24) as i64;
        digits.truncate(24);
    }
    let too_large = || format!("{EXPECTED_DURATION}; this one is too long");
    let mut ns: u128 = digits.parse::<u128>().map_err(|_| too_large())? * unit_ns;
    if exp10 >= 0 {
        for _ in 0..exp10 {
            ns = ns.checked_mul(10).ok_or_else(too_large)?;
        }
    } else {
        for _ in 0..(-exp10).min(64) {
            ns /= 10;
        }
    }
    let secs = u64::try_from(ns / 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, (ns % 1_000_000_000) as u32))
}

/// `~` and `~user` at the start of a path, as Python's `os.path.expanduser`:
/// `~` is `$HOME` (or the password database's home of the current user),
/// `~user` that user's home; an unknown user leaves the text unchanged.
pub fn expand_user(s: &str) -> String {
    let Some(rest) = s.strip_prefix('~') else {
        return s.to_string();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME")
            .ok()
            .or_else(|| super::sys::home_dir(None))
    } else {
        super::sys::home_dir(Some(user))
    };
    match home {
        Some(home) => {
            let home = home.trim_end_matches('/');
            let out = format!("{home}{tail}");
            if out.is_empty() {
                "/".to_string()
            } else {
                out
            }
        }
        None => s.to_string(),
    }
}

/// `$NAME` and `${NAME}` from the environment, as Python's
/// `os.path.expandvars` (used by Skytools' scriptmgr on `config_list`):
/// unknown variables are left as written.
pub fn expand_vars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (name.is_empty(), std::env::var(name)) {
            (false, Ok(value)) => {
                out.push_str(&value);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_as_python_reads_them() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int(" -7 "), Ok(-7));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("007"), Ok(7));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            "",
            "1.0",
            "0x10",
            "1__0",
            "_1",
            "1_",
            "ten",
            "1 2",
            "-",
            "9223372036854775808",
        ] {
            assert!(parse_int(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn floats_as_python_reads_them() {
        assert_eq!(parse_float("1"), Ok(1.0));
        assert_eq!(parse_float(" .5 "), Ok(0.5));
        assert_eq!(parse_float("5."), Ok(5.0));
        assert_eq!(parse_float("1e3"), Ok(1000.0));
        assert_eq!(parse_float("-2.5E-1"), Ok(-0.25));
        assert_eq!(parse_float("1_0.2_5"), Ok(10.25));
        assert_eq!(parse_float("Infinity"), Ok(f64::INFINITY));
        assert!(parse_float("nan").unwrap().is_nan());
        for bad in [
            "", ".", "e3", "1e", "1.2.3", "1s", "0x1p3", "1__0", "--1", "in f",
        ] {
            assert!(parse_float(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn bools_are_configparser_words() {
        for yes in ["1", "yes", "TRUE", "On"] {
            assert_eq!(parse_bool(yes), Ok(true));
        }
        for no in ["0", "no", "False", "OFF"] {
            assert_eq!(parse_bool(no), Ok(false));
        }
        for bad in ["", "2", "y", "enabled"] {
            assert!(parse_bool(bad).is_err());
        }
    }

    #[test]
    fn lists_and_dicts() {
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(split_list(" a , b c,,\n d "), vec!["a", "b c", "d"]);
        assert_eq!(
            split_dict("a:1, b : 2 ,c, a:3,"),
            vec![
                ("a".to_string(), "3".to_string()),
                ("b".to_string(), "2".to_string()),
                ("c".to_string(), "c".to_string()),
            ]
        );
        assert_eq!(
            split_dict("url:http://x"),
            vec![("url".into(), "http://x".into())]
        );
    }

    #[test]
    fn sizes_as_hsize_to_bytes() {
        assert_eq!(parse_bytes("1"), Ok(1));
        assert_eq!(parse_bytes("2 B"), Ok(2));
        assert_eq!(parse_bytes("3K"), Ok(3 * 1024));
        assert_eq!(parse_bytes("4 MB"), Ok(4 << 20));
        assert_eq!(parse_bytes("512k"), Ok(512 * 1024));
        assert_eq!(parse_bytes("10M"), Ok(10 << 20));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("1  tb"), Ok(1 << 40));
        assert_eq!(parse_bytes("15E"), Ok(15 << 60));
        assert!(parse_bytes("16E").is_err());
        assert_eq!(parse_bytes("0Y"), Ok(0));
        assert!(parse_bytes("1Y").is_err());
        for bad in [
            "",
            "B",
            "1.5M",
            "-1",
            "1 X",
            "1KiB",
            "1\tK",
            "K1",
            "99999999999999999999",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn durations_plain_and_with_units() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("1"), Ok(ms(1000)));
        assert_eq!(parse_duration("0.5"), Ok(ms(500)));
        assert_eq!(parse_duration("0.1"), Ok(ms(100)));
        assert_eq!(parse_duration(".25"), Ok(ms(250)));
        assert_eq!(parse_duration("2."), Ok(ms(2000)));
        assert_eq!(parse_duration("1e3"), Ok(ms(1_000_000)));
        assert_eq!(parse_duration("15e-1"), Ok(ms(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("+3"), Ok(ms(3000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("500 ms"), Ok(ms(500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("5min"), Ok(ms(300_000)));
        assert_eq!(parse_duration("1.5h"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("1d"), Ok(ms(86_400_000)));
        assert_eq!(parse_duration("1e-12"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.0000000019"), Ok(Duration::from_nanos(1)));
        for bad in [
            "", "-1", "fast", "1m", "1 sec", "1.2.3", "e", ".", "1e", "inf", "nan", "1e99999",
            "1 e3", "0x10", "1_000",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("-1").unwrap_err().contains("negative"));
    }

    #[test]
    fn user_and_variable_expansion() {
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(
                expand_user("~/log/x.log"),
                format!("{}/log/x.log", home.trim_end_matches('/'))
            );
        }
        assert_eq!(expand_user("/abs/~x"), "/abs/~x");
        assert_eq!(
            expand_user("~no_such_user_skydeck/x"),
            "~no_such_user_skydeck/x"
        );
        assert_eq!(expand_user("~root/x"), "/root/x");
        std::env::set_var("SKYDECK_CONFIG_TEST_VAR", "v");
        assert_eq!(
            expand_vars("a/$SKYDECK_CONFIG_TEST_VAR/${SKYDECK_CONFIG_TEST_VAR}.ini"),
            "a/v/v.ini"
        );
        assert_eq!(
            expand_vars("$NO_SUCH_VAR_SKYDECK/${x"),
            "$NO_SUCH_VAR_SKYDECK/${x"
        );
        assert_eq!(expand_vars("cost$"), "cost$");
    }
}
