//! Collected figures: per-run values for skydeck and the C extension,
//! medians, same-run ratios (a ratio is taken within one run, then the
//! median of those ratios, as the baseline does), and their rendering as
//! tables and JSON.

use serde::Serialize;

use crate::fmt::Table;

/// What a figure was measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// skydeck's SQL (`skydeck install`).
    Skydeck,
    /// The original C extension (`CREATE EXTENSION pgq`).
    CExtension,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Skydeck => "skydeck",
            Target::CExtension => "C extension",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "ev/s")]
    EvPerSec,
    #[serde(rename = "rows/s")]
    RowsPerSec,
    #[serde(rename = "tps")]
    Tps,
    #[serde(rename = "ratio")]
    Ratio,
}

impl Unit {
    pub fn label(self) -> &'static str {
        match self {
            Unit::EvPerSec => "ev/s",
            Unit::RowsPerSec => "rows/s",
            Unit::Tps => "tps",
            Unit::Ratio => "ratio",
        }
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Ratio => format!("{v:.2}"),
            _ if v >= 100.0 => format!("{v:.0}"),
            _ => format!("{v:.1}"),
        }
    }
}

/// Which figure a goal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalOn {
    /// The figure measured against skydeck's SQL.
    Skydeck,
    /// The same-run ratio skydeck / C extension.
    SkydeckVsC,
}

/// A target figure: `on` must be at least `min`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Goal {
    pub on: GoalOn,
    pub min: f64,
    pub text: &'static str,
}

/// One figure, its runs per target, and how to read it.
#[derive(Debug, Clone)]
pub struct Metric {
    pub key: &'static str,
    pub section: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    /// A ratio metric: per run, `num / den` of these two metric keys.
    pub ratio_of: Option<(&'static str, &'static str)>,
    /// The published Skytools 3 figure (2-vCPU bench VM, PostgreSQL 15).
    pub baseline: Option<f64>,
    pub goal: Option<Goal>,
    pub skydeck: Vec<f64>,
    pub c_ext: Vec<f64>,
}

impl Metric {
    pub fn new(
        key: &'static str,
        section: &'static str,
        label: &'static str,
        unit: Unit,
    ) -> Metric {
        Metric {
            key,
            section,
            label,
            unit,
            ratio_of: None,
            baseline: None,
            goal: None,
            skydeck: Vec::new(),
            c_ext: Vec::new(),
        }
    }

    pub fn ratio(
        key: &'static str,
        section: &'static str,
        label: &'static str,
        num: &'static str,
        den: &'static str,
    ) -> Metric {
        Metric {
            ratio_of: Some((num, den)),
            ..Metric::new(key, section, label, Unit::Ratio)
        }
    }

    pub fn baseline(mut self, v: f64) -> Metric {
        self.baseline = Some(v);
        self
    }

    pub fn goal(mut self, on: GoalOn, min: f64, text: &'static str) -> Metric {
        self.goal = Some(Goal { on, min, text });
        self
    }

    pub fn runs(&self, t: Target) -> &[f64] {
        match t {
            Target::Skydeck => &self.skydeck,
            Target::CExtension => &self.c_ext,
        }
    }

    pub fn runs_mut(&mut self, t: Target) -> &mut Vec<f64> {
        match t {
            Target::Skydeck => &mut self.skydeck,
            Target::CExtension => &mut self.c_ext,
        }
    }

    pub fn median(&self, t: Target) -> Option<f64> {
        median(self.runs(t))
    }

    /// Median over runs of skydeck / C extension, pairing run i with run i.
    pub fn skydeck_vs_c(&self) -> Option<f64> {
        median(&pairwise_ratio(&self.skydeck, &self.c_ext))
    }

    pub fn is_empty(&self) -> bool {
        self.skydeck.is_empty() && self.c_ext.is_empty()
    }

    /// Whether the goal is met; `None` when there is no goal or no figure.
    pub fn met(&self) -> Option<bool> {
        let g = self.goal?;
        let v = match g.on {
            GoalOn::Skydeck => self.median(Target::Skydeck)?,
            GoalOn::SkydeckVsC => self.skydeck_vs_c()?,
        };
        Some(v >= g.min)
    }
}

/// The median; the mean of the middle two for an even count.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// `a[i] / b[i]` for the runs both have.
pub fn pairwise_ratio(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(_, d)| **d != 0.0)
        .map(|(n, d)| n / d)
        .collect()
}

/// All metrics of a benchmark, in display order.
#[derive(Debug, Default)]
pub struct Metrics(pub Vec<Metric>);

impl Metrics {
    pub fn get(&self, key: &str) -> Option<&Metric> {
        self.0.iter().find(|m| m.key == key)
    }

    /// Record one run's figure.
    pub fn push(&mut self, key: &str, t: Target, v: f64) {
        let m = self.0.iter_mut().find(|m| m.key == key);
        debug_assert!(m.is_some(), "bench: unknown metric {key}");
        if let Some(m) = m {
            m.runs_mut(t).push(v);
        }
    }

    /// Fill the ratio metrics from the figures they divide.
    pub fn derive_ratios(&mut self) {
        for i in 0..self.0.len() {
            let Some((num, den)) = self.0[i].ratio_of else {
                continue;
            };
            for t in [Target::Skydeck, Target::CExtension] {
                let r = match (self.get(num), self.get(den)) {
                    (Some(n), Some(d)) => pairwise_ratio(n.runs(t), d.runs(t)),
                    _ => Vec::new(),
                };
                *self.0[i].runs_mut(t) = r;
            }
        }
    }

    /// Per-run figures of one section: metric, target, run 1..N, median.
    pub fn section_table(&self, section: &str, runs: usize) -> Option<Table> {
        let mut header = vec!["metric".to_string(), "against".to_string()];
        header.extend((1..=runs).map(|i| format!("run {i}")));
        header.push("median".into());
        let mut t = Table::new(header);
        for m in self
            .0
            .iter()
            .filter(|m| m.section == section && !m.is_empty())
        {
            for target in [Target::Skydeck, Target::CExtension] {
                let v = m.runs(target);
                if v.is_empty() {
                    continue;
                }
                let mut row = vec![
                    format!("{} ({})", m.label, m.unit.label()),
                    target.label().to_string(),
                ];
                row.extend((0..runs).map(|i| {
                    v.get(i)
                        .map(|x| m.unit.format(*x))
                        .unwrap_or_else(|| "-".into())
                }));
                row.push(
                    m.median(target)
                        .map(|x| m.unit.format(x))
                        .unwrap_or_else(|| "-".into()),
                );
                t.row(row);
            }
            let r = pairwise_ratio(&m.skydeck, &m.c_ext);
            if !r.is_empty() {
                let mut row = vec![format!("{} (skydeck/C)", m.label), "both".to_string()];
                row.extend((0..runs).map(|i| {
                    r.get(i)
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_else(|| "-".into())
                }));
                row.push(
                    median(&r)
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_else(|| "-".into()),
                );
                t.row(row);
            }
        }
        (!t.is_empty()).then_some(t)
    }

    /// The summary: one row per metric with figures.
    pub fn summary_table(&self, with_c: bool) -> Table {
        let mut header = vec!["metric", "unit", "skydeck"];
        if with_c {
            header.extend(["C extension", "skydeck/C"]);
        }
        header.extend(["baseline", "target", "met"]);
        let mut t = Table::new(header);
        let dash = || "-".to_string();
        for m in self.0.iter().filter(|m| !m.is_empty()) {
            let f = |v: Option<f64>| v.map(|x| m.unit.format(x)).unwrap_or_else(dash);
            let mut row = vec![
                m.label.to_string(),
                m.unit.label().to_string(),
                f(m.median(Target::Skydeck)),
            ];
            if with_c {
                row.push(f(m.median(Target::CExtension)));
                row.push(
                    m.skydeck_vs_c()
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_else(dash),
                );
            }
            row.push(m.baseline.map(|x| m.unit.format(x)).unwrap_or_else(dash));
            row.push(m.goal.map(|g| g.text.to_string()).unwrap_or_else(dash));
            row.push(match m.met() {
                Some(true) => "yes".into(),
                Some(false) => "NO".into(),
                None => dash(),
            });
            t.row(row);
        }
        t
    }

    /// The metrics that have figures, for JSON.
    pub fn to_json(&self) -> Vec<MetricJson> {
        self.0
            .iter()
            .filter(|m| !m.is_empty())
            .map(|m| MetricJson {
                key: m.key,
                section: m.section,
                label: m.label,
                unit: m.unit,
                runs: RunsJson {
                    skydeck: m.skydeck.clone(),
                    c_extension: m.c_ext.clone(),
                },
                skydeck: m.median(Target::Skydeck),
                c_extension: m.median(Target::CExtension),
                skydeck_vs_c: m.skydeck_vs_c(),
                ratio_of: m.ratio_of.map(|(a, b)| [a, b]),
                baseline: m.baseline,
                goal: m.goal,
                met: m.met(),
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub struct RunsJson {
    pub skydeck: Vec<f64>,
    pub c_extension: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct MetricJson {
    pub key: &'static str,
    pub section: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    /// Per-run figures, run i of one target paired with run i of the other.
    pub runs: RunsJson,
    /// Medians.
    pub skydeck: Option<f64>,
    pub c_extension: Option<f64>,
    /// Median of the per-run ratios skydeck / C extension.
    pub skydeck_vs_c: Option<f64>,
    /// For ratio metrics: per run, runs of `[0]` divided by runs of `[1]`.
    pub ratio_of: Option<[&'static str; 2]>,
    pub baseline: Option<f64>,
    pub goal: Option<Goal>,
    pub met: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn same_run_ratios_are_paired_then_medianed() {
        let mut ms = Metrics(vec![
            Metric::new("a", "s", "a", Unit::EvPerSec),
            Metric::new("b", "s", "b", Unit::EvPerSec),
            Metric::ratio("a_vs_b", "s", "a/b", "a", "b").goal(GoalOn::Skydeck, 2.0, ">= 2"),
        ]);
        for (a, b) in [(10.0, 2.0), (9.0, 3.0), (30.0, 10.0)] {
            ms.push("a", Target::Skydeck, a);
            ms.push("b", Target::Skydeck, b);
        }
        ms.push("a", Target::CExtension, 5.0);
        ms.push("b", Target::CExtension, 5.0);
        ms.derive_ratios();
        let r = ms.get("a_vs_b").unwrap();
        assert_eq!(r.skydeck, vec![5.0, 3.0, 3.0]);
        assert_eq!(r.c_ext, vec![1.0]);
        assert_eq!(r.median(Target::Skydeck), Some(3.0));
        assert_eq!(r.met(), Some(true));
        // skydeck/C pairs only the runs both have: 10/5.
        assert_eq!(ms.get("a").unwrap().skydeck_vs_c(), Some(2.0));
        let json = ms.to_json();
        assert_eq!(json.len(), 3);
        assert!(ms.summary_table(true).render().contains("a/b"));
    }
}
