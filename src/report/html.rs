//! The report as one HTML file: inline CSS, inline SVG, no script, nothing fetched at view time.

use std::fmt::Write;

use super::svg::{self, Series, Unit, escape};
use super::{Report, SHOWN_ROWS, Table, cell, grouped, heading_time, human_bytes};

const ACCEPTED: &str = "#2b7bb9";
const REJECTED: &str = "#d9534f";
const TALKER: &str = "#3c8d5a";

const STYLE: &str = "
body { font: 14px/1.45 -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; color: #222;
       margin: 0 auto; max-width: 1040px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.sub, .note { color: #666; } .note { font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card b { display: block; font-size: 20px; } .card span { color: #666; font-size: 12px; }
.card.alert { border-color: #d9534f; background: #fdf0ef; } .card.alert b { color: #b52b27; }
.card.ok b { color: #2d7a46; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #ccc; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; } td.w { min-width: 280px; }
.sev-high { color: #b52b27; font-weight: 600; } .sev-medium { color: #b36b00; font-weight: 600; }
svg.chart { display: block; margin: 8px 0 16px; }
svg .title { font-size: 14px; font-weight: 600; fill: #222; }
svg .tick, svg .legend, svg .label { font-size: 11px; fill: #444; }
svg .grid { stroke: #e5e5e5; }
ul.problems { font-family: monospace; font-size: 12px; }
footer { margin-top: 40px; color: #777; font-size: 12px; }
code { font-size: 12px; }
";

/// The report as HTML.
pub fn render(report: &Report) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let s = &report.scanned;
    let c = &report.coverage;
    let findings = report.detections.findings.rows.len();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>flowq report {}</title><style>{STYLE}</style></head><body>\n",
        escape(&report.window_text())
    );
    let _ = writeln!(
        html,
        "<h1>VPC Flow Logs report</h1><p class=\"sub\">{} &middot; generated {} by {} &middot; times are UTC</p>",
        escape(&report.window_text()),
        escape(&report.generated),
        escape(&report.flowq)
    );
    // The numbers a reader looks for first.
    html.push_str("<div class=\"cards\" id=\"summary\">");
    for (i, (label, value, alert)) in report.headline().into_iter().enumerate() {
        // The first is the findings: green when there are none.
        let class = match (alert, i) {
            (true, _) => "alert",
            (false, 0) => "ok",
            _ => "",
        };
        let _ =
            write!(html, "<div class=\"card {class}\"><b>{}</b><span>{}</span></div>", escape(&value), escape(label));
    }
    html.push_str("</div>\n");

    // Detections.
    html.push_str("<h2 id=\"detections\">Detections</h2>\n");
    table(&mut html, "table-detections", &report.detection_table());
    if findings == 0 {
        html.push_str("<p>No detection fired.</p>\n");
    } else {
        html.push_str("<h3>Findings</h3>\n");
        table(&mut html, "table-findings", &report.detections.findings);
    }
    if !report.detections.thresholds.is_empty() {
        let _ =
            writeln!(html, "<p class=\"note\">Thresholds: {}.</p>", escape(&report.detections.thresholds.join("; ")));
    }

    // Traffic over time.
    let t = &report.traffic;
    html.push_str("<h2 id=\"traffic\">Traffic over time</h2>\n");
    let labels: Vec<String> = t.buckets.iter().map(|b| heading_time(b.start, t.bucket_seconds)).collect();
    let per = t.per();
    let series = |a: fn(&super::Bucket) -> i64, r: fn(&super::Bucket) -> i64| {
        [
            Series {
                name: "accepted".into(),
                color: ACCEPTED,
                values: t.buckets.iter().map(|b| a(b).max(0) as u64).collect(),
            },
            Series {
                name: "rejected".into(),
                color: REJECTED,
                values: t.buckets.iter().map(|b| r(b).max(0) as u64).collect(),
            },
        ]
    };
    let bytes = series(|b| b.accepted_bytes, |b| b.rejected_bytes);
    html.push_str(&svg::stacked_columns("chart-bytes", &format!("Bytes per {per}"), &labels, &bytes, Unit::Bytes));
    let flows = series(|b| b.accepted, |b| b.rejected);
    html.push_str(&svg::stacked_columns("chart-flows", &format!("Flows per {per}"), &labels, &flows, Unit::Count));

    // The rankings: the two that read best as bars, then every one as a table.
    let ranking = |name: &str| report.rankings.iter().find(|r| r.name == name);
    if let Some(r) = ranking("top-talkers") {
        let items = items(&r.table, "ip", "bytes");
        html.push_str(&svg::bars("chart-top-talkers", "Top talkers (bytes)", &items, TALKER, Unit::Bytes));
    }
    if let Some(r) = ranking("rejected-sources") {
        let items = items(&r.table, "srcaddr", "flows");
        html.push_str(&svg::bars(
            "chart-rejected-sources",
            "Top rejected sources (flows)",
            &items,
            REJECTED,
            Unit::Count,
        ));
    }
    html.push_str("<h2 id=\"rankings\">Rankings</h2>\n");
    for r in &report.rankings {
        let _ = writeln!(html, "<h3>{}</h3><p class=\"note\">{}</p>", escape(&r.title), escape(&r.about));
        table(&mut html, &format!("table-{}", r.name), &r.table);
    }

    // Coverage.
    html.push_str("<h2 id=\"coverage\">Coverage</h2>\n");
    let _ = writeln!(
        html,
        "<p>{} of {} hours have records ({} to {}). {} NODATA records (an interface without traffic): {}. \
         SKIPDATA records (flows AWS could not log): <b>{}</b>.</p>",
        c.hours_with_logs,
        c.hours,
        escape(report.window.hours_from.as_deref().unwrap_or("-")),
        escape(report.window.hours_to.as_deref().unwrap_or("-")),
        escape(&report.records_span()),
        grouped(s.nodata.max(0) as u64),
        grouped(s.skipdata.max(0) as u64)
    );
    html.push_str("<h3>Hours without logs</h3>\n");
    if c.gaps.is_empty() {
        html.push_str("<p>None: every hour has records.</p>\n");
    } else {
        table(&mut html, "table-gaps", &report.gap_table());
    }
    html.push_str(
        "<h3>Interfaces with gaps</h3><p class=\"note\">Hours without a single record between an interface's first \
         and last (an idle interface logs NODATA, so these are missing logs), hours from its last record to the \
         end of the window (quiet_hours: stopped, deleted, or its logs did), or SKIPDATA.</p>\n",
    );
    table(&mut html, "table-interfaces", &c.interfaces);
    let _ = writeln!(
        html,
        "<h3>Late objects</h3><p class=\"note\">Objects whose earliest record ended more than {} minutes before the \
         time in their name: delivered late, so a report run before they arrived did not see them.</p>",
        c.late_after / 60
    );
    table(&mut html, "table-late", &c.late_objects);
    html.push_str("<h3>Not read</h3>\n");
    if c.problems.is_empty() && c.skipped() == 0 {
        html.push_str("<p>Nothing: every line of every object was read.</p>\n");
    } else {
        let _ = write!(
            html,
            "<p><b>Skipped {} lines, {} header fields and {} objects</b> that could not be read:</p><ul class=\"problems\">",
            grouped(c.skipped_lines),
            grouped(c.skipped_fields),
            grouped(c.skipped_objects)
        );
        for problem in c.problems.iter().take(SHOWN_ROWS) {
            let _ = write!(html, "<li>{}</li>", escape(problem));
        }
        html.push_str("</ul>\n");
        more(&mut html, c.problems.len());
    }

    html.push_str("<h2 id=\"accounts\">Accounts and regions</h2>\n");
    table(&mut html, "table-accounts", &report.accounts);
    let _ = write!(
        html,
        "<footer>{} listed objects ({}), {} skipped by their key. Command: <code>{}</code></footer>\n</body></html>\n",
        grouped(s.objects_listed),
        human_bytes(s.stored_bytes),
        grouped(s.objects_skipped_by_key),
        escape(&report.command.join(" "))
    );
    html
}

/// A ranking's rows as bar labels and values.
fn items(table: &Table, label: &str, value: &str) -> Vec<(String, u64)> {
    table
        .texts(label)
        .zip(table.ints(value))
        .map(|(l, v)| (l.unwrap_or("").to_string(), v.unwrap_or(0).max(0) as u64))
        .collect()
}

/// A table, its first [`SHOWN_ROWS`] rows, or a line saying it is empty.
fn table(html: &mut String, id: &str, table: &Table) {
    if table.rows.is_empty() {
        let _ = writeln!(html, "<p id=\"{}\" class=\"note\">None.</p>", escape(id));
        return;
    }
    let _ = write!(html, "<div class=\"scroll\"><table id=\"{}\"><thead><tr>", escape(id));
    for column in &table.columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    html.push_str("</tr></thead><tbody>");
    for row in table.rows.iter().take(SHOWN_ROWS) {
        html.push_str("<tr>");
        for (column, value) in table.columns.iter().zip(row) {
            let text = cell(column, value, false);
            let class = match (column.as_str(), value) {
                ("severity", serde_json::Value::String(s)) => {
                    format!(" class=\"sev-{}\"", escape(&s.to_ascii_lowercase()))
                }
                (_, serde_json::Value::Number(_)) if super::is_time(column) => " class=\"t\"".to_string(),
                (_, serde_json::Value::Number(_)) => " class=\"n\"".to_string(),
                ("evidence", _) => " class=\"w\"".to_string(),
                _ => String::new(),
            };
            let exact = cell(column, value, true);
            if exact == text {
                let _ = write!(html, "<td{class}>{}</td>", escape(&text));
            } else {
                let _ = write!(html, "<td{class} title=\"{}\">{}</td>", escape(&exact), escape(&text));
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>\n");
    more(html, table.rows.len());
}

/// A note of the rows past the first [`SHOWN_ROWS`] of `rows`, if any.
fn more(html: &mut String, rows: usize) {
    if rows > SHOWN_ROWS {
        let _ = writeln!(html, "<p class=\"note\">… and {} more, in the JSON report.</p>", rows - SHOWN_ROWS);
    }
}
