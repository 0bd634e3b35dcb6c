//! The figures of a run, each beside its reference, written as `bench/RESULTS.md` (a table a
//! person reads) and `bench/results.json` (the raw numbers a script compares across runs).

use serde_json::json;
use std::fmt::Write as _;

/// What a figure must be to meet its target.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Latchkey / reference at most this (a time against the physical limit).
    RatioAtMost(f64),
    /// Latchkey / reference at least this (a rate against the physical limit).
    RatioAtLeast(f64),
    /// Latchkey's own value at most this.
    AtMost(f64),
    /// Recorded for comparison; no target.
    None,
}

#[derive(Clone, Debug)]
pub struct Figure {
    pub name: String,
    pub unit: &'static str,
    pub latchkey: f64,
    pub reference: Option<(String, f64)>,
    pub target: Target,
    /// Why a target is missed, or what the figure means.
    pub note: String,
}

impl Figure {
    pub fn new(name: impl Into<String>, unit: &'static str, latchkey: f64) -> Self {
        Figure {
            name: name.into(),
            unit,
            latchkey,
            reference: None,
            target: Target::None,
            note: String::new(),
        }
    }

    pub fn against(mut self, what: impl Into<String>, value: f64) -> Self {
        self.reference = Some((what.into(), value));
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .filter(|(_, r)| *r > 0.0)
            .map(|(_, r)| self.latchkey / r)
    }

    /// `None` when there is no target.
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::RatioAtMost(max) => self.ratio().map(|r| r <= max),
            Target::RatioAtLeast(min) => self.ratio().map(|r| r >= min),
            Target::AtMost(max) => Some(self.latchkey <= max),
            Target::None => None,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::RatioAtMost(max) => format!("≤ {max}×"),
            Target::RatioAtLeast(min) => format!("≥ {min}×"),
            Target::AtMost(max) => format!("≤ {} {}", number(max), self.unit),
            Target::None => "–".into(),
        }
    }
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Where the run happened, for the table's header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({cpu}), {memory_gib:.0} GiB")
}

pub fn markdown(figures: &[Figure], machine: &str, date: &str, notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Latchkey benchmark results\n");
    let _ = writeln!(
        out,
        "Written by `make bench` (`cargo run --release -p server --example bench`). \
         Machine: {machine}. Date: {date}.\n"
    );
    let _ = writeln!(
        out,
        "Each figure is measured beside its reference in the same run. Ratio is Latchkey / \
         reference.\n"
    );
    let _ = writeln!(
        out,
        "| figure | Latchkey | reference | ratio | target | met? | note |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for f in figures {
        let reference = f.reference.as_ref().map_or("–".to_owned(), |(what, v)| {
            format!("{} {} ({what})", number(*v), f.unit)
        });
        let ratio = f
            .ratio()
            .map_or("–".to_owned(), |r| format!("{}×", number(r)));
        let met = match f.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(
            out,
            "| {} | {} {} | {reference} | {ratio} | {} | {met} | {} |",
            f.name,
            number(f.latchkey),
            f.unit,
            f.target_text(),
            f.note
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

pub fn json(figures: &[Figure], machine: &str, date: &str) -> String {
    let rows: Vec<_> = figures
        .iter()
        .map(|f| {
            json!({
                "figure": f.name,
                "unit": f.unit,
                "latchkey": f.latchkey,
                "reference": f.reference.as_ref().map(|(what, v)| json!({"what": what, "value": v})),
                "ratio": f.ratio(),
                "target": format!("{:?}", f.target),
                "met": f.met(),
                "note": f.note,
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "machine": machine, "date": date, "figures": rows }))
        .unwrap_or_default()
}

const EARLIER: &str = "(from an earlier run)";

/// The figures of an earlier `results.json` that `figures` does not measure again.
pub fn earlier(path: &str, figures: &[Figure]) -> Vec<Figure> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let rows = json["figures"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .filter_map(|row| {
            let name = row["figure"].as_str()?;
            if figures.iter().any(|f| f.name == name) {
                return None;
            }
            // Once per kept figure of a one-off process: leaking the unit is the simple way
            // to keep every unit a part may use, not only the ones listed here once (the
            // outbox's were dropped that way).
            let unit: &'static str = Box::leak(row["unit"].as_str()?.to_owned().into_boxed_str());
            let note = row["note"].as_str().unwrap_or_default();
            let mut figure = Figure::new(name, unit, row["latchkey"].as_f64()?)
                .target(target_of(row["target"].as_str()?))
                .note(if note.ends_with(EARLIER) {
                    note.to_owned()
                } else {
                    format!("{note} {EARLIER}")
                });
            if let Some(what) = row["reference"]["what"].as_str() {
                figure = figure.against(what, row["reference"]["value"].as_f64()?);
            }
            Some(figure)
        })
        .collect()
}

/// A target as `json` wrote it (`format!("{:?}")`).
fn target_of(text: &str) -> Target {
    let number = |prefix: &str| {
        text.strip_prefix(prefix)?
            .strip_suffix(')')?
            .parse::<f64>()
            .ok()
    };
    if let Some(v) = number("RatioAtMost(") {
        Target::RatioAtMost(v)
    } else if let Some(v) = number("RatioAtLeast(") {
        Target::RatioAtLeast(v)
    } else if let Some(v) = number("AtMost(") {
        Target::AtMost(v)
    } else {
        Target::None
    }
}
