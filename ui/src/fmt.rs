//! Text formatting for the console: durations, clock times, rates, counts
//! and names. Durations use the same compact style as the CLI
//! (`850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use unicode_width::UnicodeWidthChar;

/// A compact human duration: `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn dur(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else if ms < 86_400_000 {
        let s = d.as_secs();
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        let s = d.as_secs();
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// Like [`dur`], `-` for none.
pub fn dur_opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), dur)
}

/// A refresh period as an operator types it: `250ms`, `1s`, `1.5s`, `2m`.
pub fn period(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Parses a period: `500ms`, `2s`, `2` (seconds), `1.5s`, `1m`, `1h`.
pub fn parse_period(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let secs = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" => v / 1000.0,
        "s" | "sec" | "secs" | "second" | "seconds" => v,
        "m" | "min" | "mins" | "minute" | "minutes" => v * 60.0,
        "h" | "hour" | "hours" => v * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// Seconds and milliseconds since the epoch, split into a UTC wall clock.
fn utc_parts(t: SystemTime) -> (u64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs(), d.subsec_millis()),
        Err(_) => (0, 0),
    }
}

/// `12:34:56Z` (UTC).
pub fn clock(t: SystemTime) -> String {
    let (s, _) = utc_parts(t);
    let day = s % 86_400;
    format!("{:02}:{:02}:{:02}Z", day / 3600, (day / 60) % 60, day % 60)
}

/// `12:34:56.789` (UTC), for log lines.
pub fn clock_ms(t: SystemTime) -> String {
    let (s, ms) = utc_parts(t);
    let day = s % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        day / 3600,
        (day / 60) % 60,
        day % 60
    )
}

/// Events per second: `-`, `0.4`, `12.5`, `950`, `12.5k`, `1.20M`.
pub fn rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if !v.is_finite() => "-".into(),
        Some(v) if v >= 1e6 => format!("{:.2}M", v / 1e6),
        Some(v) if v >= 1e4 => format!("{:.1}k", v / 1e3),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// A row count, short: `950`, `48.2k`, `1.20M`, `3.1G`.
pub fn count(v: u64) -> String {
    let f = v as f64;
    if v >= 1_000_000_000 {
        format!("{:.1}G", f / 1e9)
    } else if v >= 1_000_000 {
        format!("{:.2}M", f / 1e6)
    } else if v >= 10_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        v.to_string()
    }
}

/// A count with thousands separators: `1,204,332`.
pub fn grouped(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size as PostgreSQL's `pg_size_pretty` writes it (1024 steps):
/// `512 bytes`, `812 MB`, `9.1 GB`.
pub fn bytes(v: u64) -> String {
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB", "PB"];
    if v < 1024 {
        return format!("{v} bytes");
    }
    let mut f = v as f64 / 1024.0;
    let mut unit = 0;
    while f >= 1024.0 && unit + 1 < UNITS.len() {
        f /= 1024.0;
        unit += 1;
    }
    if f < 10.0 {
        format!("{f:.1} {}", UNITS[unit])
    } else {
        format!("{f:.0} {}", UNITS[unit])
    }
}

/// `4m05s ago`, `-` for none.
pub fn ago(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{} ago", dur(d)))
}

/// The text, `-` for none or empty.
pub fn dash(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".into(),
    }
}

/// The first line of a multi-line text (a server error's message without
/// its DETAIL and HINT).
pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A count, `-` for none.
pub fn num_opt(v: Option<i64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Whether `name` can be written bare on the command line.
pub fn is_bare(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['"', '\''])
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, ',' | '=' | ';' | '"'))
}

/// A name as the command line reads it back: bare when it can be, else in
/// double quotes with inner quotes doubled.
pub fn quote_name(name: &str) -> String {
    if is_bare(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Display width of a string in terminal cells.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cuts `s` to `max` cells, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Multi-line text on one line (server errors carry DETAIL and HINT lines).
pub fn one_line(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str(" · ");
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(dur(Duration::from_millis(850)), "850ms");
        assert_eq!(dur(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(dur(Duration::from_secs(245)), "4m05s");
        assert_eq!(dur(Duration::from_secs(2 * 3600 + 180)), "2h03m");
        assert_eq!(dur(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d04h");
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_period("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_period("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_period("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_period("soon"), None);
        assert_eq!(parse_period("-1s"), None);
        assert_eq!(period(Duration::from_millis(250)), "250ms");
        assert_eq!(period(Duration::from_secs(2)), "2s");
        assert_eq!(period(Duration::from_millis(1500)), "1.5s");
        assert_eq!(period(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn clocks() {
        let t = UNIX_EPOCH + Duration::from_millis(1_760_000_000_123);
        assert_eq!(clock(t), "08:53:20Z");
        assert_eq!(clock_ms(t), "08:53:20.123");
    }

    #[test]
    fn names() {
        assert_eq!(quote_name("orders"), "orders");
        assert_eq!(quote_name("shop@db1:5432"), "shop@db1:5432");
        assert_eq!(quote_name("billing events"), "\"billing events\"");
        assert_eq!(quote_name("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_name("x=y"), "\"x=y\"");
    }

    #[test]
    fn counts_and_sizes() {
        assert_eq!(count(950), "950");
        assert_eq!(count(48_213), "48.2k");
        assert_eq!(count(1_204_332), "1.20M");
        assert_eq!(count(3_100_000_000), "3.1G");
        assert_eq!(grouped(1_204_332), "1,204,332");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(812 * 1024 * 1024), "812 MB");
        assert_eq!(bytes(9_771_050_000), "9.1 GB");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcdef", 0), "");
        assert_eq!(one_line("ERROR: x\nDETAIL: y\n"), "ERROR: x · DETAIL: y");
        assert_eq!(first_line("ERROR: x\nDETAIL: y\n"), "ERROR: x");
        assert_eq!(first_line(""), "");
    }

    #[test]
    fn dashes_for_nothing() {
        assert_eq!(ago(Some(Duration::from_secs(245))), "4m05s ago");
        assert_eq!(ago(None), "-");
        assert_eq!(dash(Some("a")), "a");
        assert_eq!(dash(Some("")), "-");
        assert_eq!(dash(None), "-");
    }
}
