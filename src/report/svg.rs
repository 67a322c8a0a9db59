//! Charts as plain SVG text: stacked columns over time and ranked horizontal bars, with axes, labelled
//! ticks and a tooltip (`<title>`) on every bar. No script and no external resource: the charts show
//! in any browser, offline.

use std::fmt::Write;

/// What a chart's values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes, shown as KiB, MiB, …
    Bytes,
    /// A count (flows, records), shown with thousands separators or as k, M, G.
    Count,
}

impl Unit {
    /// A value as a tick or bar label: short.
    pub fn short(self, value: u64) -> String {
        match self {
            Unit::Bytes => human_bytes(value),
            Unit::Count => {
                const STEPS: [(u64, &str); 3] = [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
                match STEPS.iter().find(|(step, _)| value >= *step) {
                    Some((step, suffix)) => format!("{}{suffix}", trim_zero(value as f64 / *step as f64)),
                    None => value.to_string(),
                }
            }
        }
    }

    /// The axis's top and step for values up to `max`: round numbers of the unit (for bytes, of
    /// KiB, MiB, … so that the ticks read 0, 2 GiB, 4 GiB rather than 0, 1.9 GiB, 3.7 GiB).
    pub fn scale(self, max: u64) -> (u64, u64) {
        let base = match self {
            Unit::Bytes => {
                let mut base = 1u64;
                while max / base >= 1024 {
                    base *= 1024;
                }
                base
            }
            Unit::Count => 1,
        };
        let (top, step) = nice_scale(max.div_ceil(base));
        (top * base, step * base)
    }

    /// A value in full, for a tooltip.
    pub fn full(self, value: u64) -> String {
        match self {
            Unit::Bytes => format!("{} bytes ({})", grouped(value), human_bytes(value)),
            Unit::Count => grouped(value),
        }
    }
}

/// One series of a column chart: a name for the legend, a colour, a value per column.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// A CSS colour.
    pub color: &'static str,
    /// One value per column.
    pub values: Vec<u64>,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;

/// Columns over time, the series stacked in each: `labels[i]` names column `i` (its time); about
/// eight of the labels are written under the axis, every one is in its column's tooltip.
pub fn stacked_columns(id: &str, title: &str, labels: &[String], series: &[Series], unit: Unit) -> String {
    const HEIGHT: f64 = 280.0;
    const BOTTOM: f64 = 44.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let plot_width = WIDTH - LEFT - RIGHT;
    let columns = labels.len().max(1);
    let totals: Vec<u64> =
        (0..labels.len()).map(|i| series.iter().map(|s| s.values.get(i).copied().unwrap_or(0)).sum()).collect();
    let (top, step) = unit.scale(totals.iter().copied().max().unwrap_or(0));
    let y = |value: u64| TOP + plot_height - plot_height * value as f64 / top as f64;
    let slot = plot_width / columns as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = open(id, title, HEIGHT);
    axis_y(&mut svg, top, step, unit, y, LEFT + plot_width);
    let every = labels.len().div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let mut base = 0u64;
        for s in series {
            let value = s.values.get(i).copied().unwrap_or(0);
            if value > 0 {
                let _ = write!(
                    svg,
                    r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="{}"><title>{}: {}: {}</title></rect>"#,
                    y(base + value),
                    y(base) - y(base + value),
                    s.color,
                    escape(label),
                    escape(&s.name),
                    unit.full(value)
                );
            }
            base += value;
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                TOP + plot_height + 16.0,
                escape(label)
            );
        }
    }
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
            HEIGHT - 14.0,
            s.color,
            x + 14.0,
            HEIGHT - 5.0,
            escape(&s.name)
        );
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

/// Ranked horizontal bars: one per item, its label on the left and its value at its end.
pub fn bars(id: &str, title: &str, items: &[(String, u64)], color: &str, unit: Unit) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 260.0;
    let height = TOP + ROW * items.len().max(1) as f64 + 12.0;
    let plot_width = WIDTH - LABEL - RIGHT - 90.0;
    let top = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut svg = open(id, title, height);
    if items.is_empty() {
        let _ = write!(svg, r#"<text class="tick" x="{LABEL}" y="{:.1}">nothing to show</text>"#, TOP + 14.0);
    }
    for (i, (label, value)) in items.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let width = (plot_width * *value as f64 / top as f64).max(1.0);
        let _ = write!(
            svg,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="bar" x="{LABEL}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{color}"><title>{}: {}</title></rect><text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL - 8.0,
            y + 15.0,
            escape(label),
            y + 3.0,
            ROW - 6.0,
            escape(label),
            unit.full(*value),
            LABEL + width + 6.0,
            y + 15.0,
            unit.short(*value)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(id: &str, title: &str, height: f64) -> String {
    format!(
        r#"<svg id="{}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}"><text class="title" x="{LEFT}" y="20">{}</text>"#,
        escape(id),
        escape(title),
        escape(title)
    )
}

/// Grid lines and labels of the value axis, every `step` up to `top`.
fn axis_y(svg: &mut String, top: u64, step: u64, unit: Unit, y: impl Fn(u64) -> f64, right: f64) {
    let mut value = 0;
    while value <= top {
        let at = y(value);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{at:.1}" x2="{right:.1}" y2="{at:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            at + 4.0,
            unit.short(value)
        );
        value += step;
    }
}

/// The axis's top and step for values up to `max`: a step of 1, 2 or 5 times a power of ten, about
/// four steps to the top.
fn nice_scale(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let rough = max.div_ceil(4).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= rough {
        magnitude *= 10;
    }
    let step = [1, 2, 5, 10].iter().map(|m| m * magnitude).find(|s| *s >= rough).unwrap_or(10 * magnitude);
    (max.div_ceil(step) * step, step)
}

/// Text made safe for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 1234567 as `1,234,567`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in the largest binary unit that keeps a number of at least 1.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{} {}", trim_zero(value), UNITS[unit]) }
}

/// One decimal, without a trailing `.0`.
fn trim_zero(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_numbers() {
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(7), (8, 2));
        assert_eq!(nice_scale(100), (100, 50));
        assert_eq!(nice_scale(1234), (1500, 500));
        assert_eq!(Unit::Bytes.scale(4_100_000_000), (4 << 30, 1 << 30));
        assert_eq!(Unit::Bytes.scale(700), (800, 200));
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(999), "999");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(4 << 30), "4 GiB");
        assert_eq!(Unit::Count.short(12_300), "12.3k");
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }

    #[test]
    fn every_value_is_a_bar_with_its_tooltip() {
        let labels: Vec<String> = (0..3).map(|h| format!("0{h}:00")).collect();
        let series = [
            Series { name: "accepted".into(), color: "#2b7bb9", values: vec![5, 0, 7] },
            Series { name: "rejected".into(), color: "#d9534f", values: vec![1, 2, 0] },
        ];
        let svg = stacked_columns("c", "Flows <per hour>", &labels, &series, Unit::Count);
        assert_eq!(svg.matches(r#"<rect class="bar""#).count(), 4);
        assert!(svg.contains("<title>02:00: accepted: 7</title>"), "{svg}");
        assert!(svg.contains("Flows &lt;per hour&gt;") && svg.ends_with("</svg>"));
        let svg = bars("b", "Top", &[("10.0.0.1".into(), 300), ("10.0.0.2".into(), 100)], "#333", Unit::Bytes);
        assert_eq!(svg.matches(r#"<rect class="bar""#).count(), 2);
        assert!(svg.contains("300 bytes (300 B)"), "{svg}");
    }
}
