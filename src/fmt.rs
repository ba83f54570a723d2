//! Formatting shared by the CLI, the logs and (later) the console: times,
//! durations, rates and plain text tables.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-21T12:34:56.789Z` (UTC, milliseconds).
pub fn time_utc(t: SystemTime) -> String {
    let (date, hms, micros) = utc_parts(t);
    format!("{date}T{hms}.{:03}Z", micros / 1000)
}

/// `2026-11-21 12:34:56.789012+00`: a `timestamptz` literal, microseconds.
pub fn time_sql(t: SystemTime) -> String {
    let (date, hms, micros) = utc_parts(t);
    format!("{date} {hms}.{micros:06}+00")
}

/// `YYYY-MM-DD`, `HH:MM:SS` and the microseconds of a time, in UTC
/// (times before 1970 included).
fn utc_parts(t: SystemTime) -> (String, String, i64) {
    let micros = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    };
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60),
        micros.rem_euclid(1_000_000),
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time_utc(*t))
}

/// A compact human duration: `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn secs(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let neg = v < 0.0;
    let a = v.abs();
    let s = if a < 1.0 {
        format!("{}ms", (a * 1000.0).round() as u64)
    } else if a < 60.0 {
        format!("{a:.1}s")
    } else if a < 3600.0 {
        format!("{}m{:02}s", (a / 60.0) as u64, (a % 60.0) as u64)
    } else if a < 86_400.0 {
        format!(
            "{}h{:02}m",
            (a / 3600.0) as u64,
            ((a % 3600.0) / 60.0) as u64
        )
    } else {
        format!(
            "{}d{:02}h",
            (a / 86_400.0) as u64,
            ((a % 86_400.0) / 3600.0) as u64
        )
    };
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

pub fn duration(d: Duration) -> String {
    secs(d.as_secs_f64())
}

/// A rate with a k/M suffix: `950/s`, `12.5k/s`, `1.20M/s`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M/s", per_sec / 1e6)
    } else if per_sec >= 1e4 {
        format!("{:.1}k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}/s")
    }
}

/// A plain text table: a header row and rows, columns padded to width,
/// numbers right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut width = vec![0usize; n];
        let mut numeric = vec![true; n];
        for (i, h) in self.header.iter().enumerate() {
            width[i] = h.chars().count();
        }
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                width[i] = width[i].max(c.chars().count());
                if !c.is_empty() && c != "-" && c.parse::<f64>().is_err() {
                    numeric[i] = false;
                }
            }
        }
        let line = |cells: &[String], out: &mut String, is_header: bool| {
            let mut parts = Vec::with_capacity(n);
            for i in 0..n {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width[i] - c.chars().count();
                if numeric[i] && !is_header {
                    parts.push(format!("{}{c}", " ".repeat(pad)));
                } else if i + 1 == n {
                    parts.push(c.to_string());
                } else {
                    parts.push(format!("{c}{}", " ".repeat(pad)));
                }
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        let mut out = String::new();
        line(&self.header, &mut out, true);
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for r in &self.rows {
            line(r, &mut out, false);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(time_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        assert_eq!(time_utc(t), "2026-11-18T11:06:40.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(time_utc(leap), "2000-02-29T00:00:00.000Z");
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(time_utc(before), "1969-12-31T23:59:58.500Z");
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(secs(0.25), "250ms");
        assert_eq!(secs(12.34), "12.3s");
        assert_eq!(secs(245.0), "4m05s");
        assert_eq!(secs(7380.0), "2h03m");
        assert_eq!(secs(-2.0), "-2.0s");
        assert_eq!(secs(f64::NAN), "-");
        assert_eq!(rate(950.0), "950/s");
        assert_eq!(rate(12_500.0), "12.5k/s");
        assert_eq!(rate(1_200_000.0), "1.20M/s");
    }

    #[test]
    fn table_layout() {
        let mut t = Table::new(["queue", "lag", "events"]);
        t.row(["q1", "1.0s", "12"]);
        t.row(["long name", "-", "3"]);
        assert_eq!(
            t.render(),
            "queue      lag   events\n---------  ----  ------\nq1         1.0s      12\nlong name  -          3\n"
        );
    }
}
