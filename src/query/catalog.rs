//! The built-in queries: `queries/<name>.sql`, embedded at build time, described by their header
//! comment (`-- key: value` lines: name, answers, athena, params or param, kind, size, notes).
//!
//! A detection (`kind: detection`) declares each parameter on a `-- param: NAME DEFAULT description`
//! line and holds two statements: the flows behind its findings, then, after a `-- findings:` line,
//! the findings, an aggregation over the first as the table `evidence`. Their joins name the small
//! side (windows, pairs, ports found busy) first: DataFusion builds a join's hash table from its left
//! input, and `flows` has no statistics for it to choose by, so a big left side must fit in memory.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

/// What a built-in query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// One row per key, ranked; the default size applies.
    Ranking,
    /// Every matching flow, ordered by start, end, source, line; `--columns` picks the columns.
    Listing,
    /// Every flow that matched something, with what it matched: fixed columns, every row.
    Hits,
    /// Findings of a detection (`flowq detect`), one row each.
    Detection,
    /// An entity's traffic per time bucket (`flowq timeline`).
    Timeline,
    /// The nightly report's own statements (`flowq report`), one per section.
    Report,
}

/// A parameter of a detection: `$name`, its default and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The placeholder's name (`min_attempts` for `$min_attempts`); the flag is `--min-attempts`.
    pub name: &'static str,
    /// The default: an integer, or a comma-separated list of ports.
    pub default: &'static str,
    /// What it means.
    pub about: &'static str,
}

impl Param {
    /// Whether the parameter is a list of ports (its default is a comma-separated list).
    pub fn is_port_list(&self) -> bool {
        self.default.contains(',')
    }

    /// The parameter's value from `text`: a list of ports, or an integer.
    pub fn value(&self, text: &str) -> Result<ScalarValue, String> {
        if self.is_port_list() {
            let ports = text
                .split(',')
                .map(|p| p.trim().parse::<u16>().map(|p| ScalarValue::Int32(Some(i32::from(p)))))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("{text:?} is not a list of ports, e.g. 22,3389"))?;
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(&ports, &DataType::Int32)))
        } else {
            text.trim()
                .parse::<i64>()
                .map(|n| ScalarValue::Int64(Some(n)))
                .map_err(|_| format!("{text:?} is not an integer"))
        }
    }
}

/// The line that ends a detection's flows and starts its findings.
const FINDINGS_MARK: &str = "-- findings:";

/// The line that starts a section of the report's statements, followed by the section's name.
const SECTION_MARK: &str = "\n-- section: ";

/// A built-in query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinQuery {
    /// The name, which is also the subcommand.
    pub name: &'static str,
    /// The SQL text, header included.
    pub sql: &'static str,
}

const SOURCES: &[(&str, &str)] = &[
    ("top-talkers", include_str!("../../queries/top-talkers.sql")),
    ("top-talkers-pkt", include_str!("../../queries/top-talkers-pkt.sql")),
    ("top-pairs", include_str!("../../queries/top-pairs.sql")),
    ("top-pairs-pkt", include_str!("../../queries/top-pairs-pkt.sql")),
    ("top-instances", include_str!("../../queries/top-instances.sql")),
    ("top-subnets", include_str!("../../queries/top-subnets.sql")),
    ("admin-ports", include_str!("../../queries/admin-ports.sql")),
    ("rejected-tcp", include_str!("../../queries/rejected-tcp.sql")),
    ("traffic-by-type", include_str!("../../queries/traffic-by-type.sql")),
    ("ip", include_str!("../../queries/ip.sql")),
    ("from", include_str!("../../queries/from.sql")),
    ("to", include_str!("../../queries/to.sql")),
    ("rejected", include_str!("../../queries/rejected.sql")),
    ("accepted", include_str!("../../queries/accepted.sql")),
    ("ssh-rdp", include_str!("../../queries/ssh-rdp.sql")),
    ("sweep", include_str!("../../queries/sweep.sql")),
    ("sweep-summary", include_str!("../../queries/sweep-summary.sql")),
    ("ssh-bruteforce", include_str!("../../queries/ssh-bruteforce.sql")),
    ("rdp-bruteforce", include_str!("../../queries/rdp-bruteforce.sql")),
    ("winrm-bruteforce", include_str!("../../queries/winrm-bruteforce.sql")),
    ("port-probe", include_str!("../../queries/port-probe.sql")),
    ("port-scan", include_str!("../../queries/port-scan.sql")),
    ("exfiltration", include_str!("../../queries/exfiltration.sql")),
    ("unusual-port", include_str!("../../queries/unusual-port.sql")),
    ("crypto-mining", include_str!("../../queries/crypto-mining.sql")),
    ("timeline", include_str!("../../queries/timeline.sql")),
    ("report", include_str!("../../queries/report.sql")),
];

impl BuiltinQuery {
    /// Every built-in query, in catalogue order.
    pub fn all() -> Vec<BuiltinQuery> {
        SOURCES.iter().map(|(name, sql)| BuiltinQuery { name, sql }).collect()
    }

    /// The built-in query of that name.
    pub fn named(name: &str) -> Option<BuiltinQuery> {
        Self::all().into_iter().find(|q| q.name == name)
    }

    /// A value from the header comment (`-- key: value`).
    pub fn header(&self, key: &str) -> Option<&'static str> {
        self.sql
            .lines()
            .map_while(|line| line.strip_prefix("-- "))
            .find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix(": ")))
            .map(str::trim)
    }

    /// Whether the query ranks keys or lists flows (`-- kind:`).
    pub fn kind(&self) -> QueryKind {
        match self.header("kind") {
            Some("listing") => QueryKind::Listing,
            Some("hits") => QueryKind::Hits,
            Some("detection") => QueryKind::Detection,
            Some("timeline") => QueryKind::Timeline,
            Some("report") => QueryKind::Report,
            _ => QueryKind::Ranking,
        }
    }

    /// The detections, in catalogue order.
    pub fn detections() -> Vec<BuiltinQuery> {
        Self::all().into_iter().filter(|q| q.kind() == QueryKind::Detection).collect()
    }

    /// The parameters declared on `-- param:` lines.
    pub fn params(&self) -> Vec<Param> {
        self.sql
            .lines()
            .map_while(|line| line.strip_prefix("-- "))
            .filter_map(|line| line.strip_prefix("param: "))
            .filter_map(|line| {
                let (name, rest) = line.split_once(' ')?;
                let (default, about) = rest.split_once(' ')?;
                Some(Param { name, default, about })
            })
            .collect()
    }

    /// A detection's statements: the flows behind its findings, and the findings over them as
    /// `evidence`, each a complete query. `None` for other queries.
    pub fn detection_sql(&self) -> Option<(String, String)> {
        let (evidence, findings) = self.sql.split_once(FINDINGS_MARK)?;
        let evidence = evidence.trim();
        Some((evidence.to_string(), format!("WITH evidence AS ({evidence})\n{}", findings.trim())))
    }

    /// The report's statements, by section name, in order; empty for other queries.
    pub fn sections(&self) -> Vec<(&'static str, &'static str)> {
        self.sql
            .split(SECTION_MARK)
            .skip(1)
            .filter_map(|section| section.split_once('\n'))
            .map(|(name, sql)| (name.trim(), sql.trim()))
            .collect()
    }

    /// The number of rows returned unless `--limit` says otherwise; `None` for all.
    pub fn default_size(&self) -> Option<usize> {
        self.header("size").and_then(|s| s.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_names_itself_and_documents_its_header() {
        for query in BuiltinQuery::all() {
            assert_eq!(query.header("name"), Some(query.name), "{}", query.name);
            let kind = query.header("kind");
            assert!(
                matches!(kind, Some("ranking" | "listing" | "hits" | "detection" | "timeline" | "report")),
                "{}",
                query.name
            );
            for key in ["answers", "athena", "size", "notes"] {
                assert!(query.header(key).is_some_and(|v| !v.is_empty()), "{} lacks {key}", query.name);
            }
            if kind == Some("detection") {
                assert!(query.detection_sql().is_some(), "{} lacks {FINDINGS_MARK}", query.name);
                for param in query.params() {
                    assert!(query.sql.contains(&format!("${}", param.name)), "{}: ${} unused", query.name, param.name);
                    assert!(!param.about.is_empty(), "{}: ${} undocumented", query.name, param.name);
                }
            } else {
                assert!(query.header("params").is_some_and(|v| !v.is_empty()), "{} lacks params", query.name);
                assert!(query.params().is_empty() && query.detection_sql().is_none(), "{}", query.name);
            }
        }
    }

    #[test]
    fn detections_declare_their_parameters() {
        let names: Vec<&str> = BuiltinQuery::detections().iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            [
                "ssh-bruteforce",
                "rdp-bruteforce",
                "winrm-bruteforce",
                "port-probe",
                "port-scan",
                "exfiltration",
                "unusual-port",
                "crypto-mining"
            ]
        );
        let ssh = BuiltinQuery::named("ssh-bruteforce").map(|q| q.params()).unwrap_or_default();
        let declared: Vec<(&str, &str)> = ssh.iter().map(|p| (p.name, p.default)).collect();
        assert_eq!(declared, [("min_attempts", "20"), ("window", "3600"), ("max_packets", "50")]);
    }

    #[test]
    fn kinds_and_sizes() {
        let size = |n: &str| BuiltinQuery::named(n).and_then(|q| q.default_size());
        assert_eq!(size("top-talkers"), Some(50));
        assert_eq!(size("admin-ports"), Some(10));
        assert_eq!(size("rejected-tcp"), Some(10));
        assert_eq!(size("ip"), None);
        let kind = |n: &str| BuiltinQuery::named(n).map(|q| q.kind());
        assert_eq!(kind("ip"), Some(QueryKind::Listing));
        assert_eq!(kind("traffic-by-type"), Some(QueryKind::Ranking));
        assert_eq!(kind("top-pairs"), Some(QueryKind::Ranking));
        let report = BuiltinQuery::named("report").map(|q| q.sections()).unwrap_or_default();
        let names: Vec<&str> = report.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["accounts", "hours", "interfaces", "late", "rejected-sources"]);
        assert!(report.iter().all(|(_, sql)| sql.starts_with("-- ") && sql.contains("SELECT")));
        assert!(BuiltinQuery::named("top-talkers").is_some_and(|q| q.sections().is_empty()));
    }
}
