//! The report as Markdown: the HTML's numbers and tables, traffic over time as a table instead of
//! charts.

use std::fmt::Write;

use serde_json::Value;

use super::{Report, SHOWN_ROWS, Table, cell, grouped, heading_time, human_bytes};

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    let mut md = String::with_capacity(32 * 1024);
    let s = &report.scanned;
    let c = &report.coverage;
    let findings = report.detections.findings.rows.len();
    let _ = writeln!(md, "# VPC Flow Logs report\n");
    let _ =
        writeln!(md, "{} · generated {} by {} · times are UTC\n", report.window_text(), report.generated, report.flowq);
    md.push_str("| | |\n|---|---|\n");
    for (label, value, _) in report.headline() {
        let _ = writeln!(md, "| {label} | {} |", pipe(&value));
    }

    md.push_str("\n## Detections\n\n");
    table(&mut md, &report.detection_table());
    if findings == 0 {
        md.push_str("No detection fired.\n");
    } else {
        md.push_str("### Findings\n\n");
        table(&mut md, &report.detections.findings);
    }
    if !report.detections.thresholds.is_empty() {
        let _ = writeln!(md, "Thresholds: {}.", report.detections.thresholds.join("; "));
    }

    let t = &report.traffic;
    let per = t.per();
    let _ = writeln!(md, "\n## Traffic per {per}\n");
    let traffic = Table {
        columns: [per.as_str(), "records", "accepted", "rejected", "accepted_bytes", "rejected_bytes"]
            .map(String::from)
            .to_vec(),
        rows: t
            .buckets
            .iter()
            .map(|b| {
                vec![
                    heading_time(b.start, t.bucket_seconds).into(),
                    b.records.into(),
                    b.accepted.into(),
                    b.rejected.into(),
                    b.accepted_bytes.into(),
                    b.rejected_bytes.into(),
                ]
            })
            .collect(),
    };
    table(&mut md, &traffic);

    md.push_str("\n## Rankings\n");
    for r in &report.rankings {
        let _ = writeln!(md, "\n### {}\n\n{}\n", r.title, r.about);
        table(&mut md, &r.table);
    }

    md.push_str("\n## Coverage\n\n");
    let _ = writeln!(md, "{} of {} hours have records. {}\n", c.hours_with_logs, c.hours, report.records_span());
    md.push_str("### Hours without logs\n\n");
    if c.gaps.is_empty() {
        md.push_str("None: every hour has records.\n");
    } else {
        table(&mut md, &report.gap_table());
    }
    md.push_str("\n### Interfaces with gaps\n\n");
    table(&mut md, &c.interfaces);
    let _ = writeln!(
        md,
        "\n### Late objects\n\nObjects whose earliest record ended more than {} minutes before the time in their name.\n",
        c.late_after / 60
    );
    table(&mut md, &c.late_objects);
    md.push_str("\n### Not read\n\n");
    if c.problems.is_empty() && c.skipped() == 0 {
        md.push_str("Nothing: every line of every object was read.\n");
    } else {
        let _ = writeln!(
            md,
            "**Skipped {} lines, {} header fields and {} objects** that could not be read:\n",
            grouped(c.skipped_lines),
            grouped(c.skipped_fields),
            grouped(c.skipped_objects)
        );
        for problem in c.problems.iter().take(SHOWN_ROWS) {
            let _ = writeln!(md, "- `{}`", problem.replace('`', "'"));
        }
        if c.problems.len() > SHOWN_ROWS {
            let _ = writeln!(md, "\n… and {} more, in the JSON report.", c.problems.len() - SHOWN_ROWS);
        }
    }

    md.push_str("\n## Accounts and regions\n\n");
    table(&mut md, &report.accounts);
    let _ = writeln!(
        md,
        "\n{} listed objects ({}), {} skipped by their key. Command: `{}`",
        grouped(s.objects_listed),
        human_bytes(s.stored_bytes),
        grouped(s.objects_skipped_by_key),
        report.command.join(" ").replace('`', "'")
    );
    md
}

/// A pipe table of the first [`SHOWN_ROWS`] rows, or "None.".
fn table(md: &mut String, table: &Table) {
    if table.rows.is_empty() {
        md.push_str("None.\n");
        return;
    }
    let _ = writeln!(md, "| {} |", table.columns.join(" | "));
    let align: Vec<&str> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, _)| if table.rows.iter().any(|r| matches!(r.get(i), Some(Value::Number(_)))) { "--:" } else { "---" })
        .collect();
    let _ = writeln!(md, "|{}|", align.join("|"));
    for row in table.rows.iter().take(SHOWN_ROWS) {
        let cells: Vec<String> = table.columns.iter().zip(row).map(|(c, v)| pipe(&cell(c, v, false))).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    if table.rows.len() > SHOWN_ROWS {
        let _ = writeln!(md, "\n… and {} more rows, in the JSON report.", table.rows.len() - SHOWN_ROWS);
    }
    md.push('\n');
}

/// Text safe inside a pipe-table cell: no column break, no line break, no HTML or code span (object
/// names and evidence come from the data).
fn pipe(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace(['\n', '\r'], " ")
}
