//! The built-in queries: `queries/<name>.sql`, embedded at build time, described by their header
//! comment (`-- key: value` lines: name, answers, athena, params, kind, size, notes).

/// What a built-in query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// One row per key, ranked; the default size applies.
    Ranking,
    /// Every matching flow, ordered by start, end, source, line; `--columns` picks the columns.
    Listing,
    /// Every flow that matched something, with what it matched: fixed columns, every row.
    Hits,
}

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
            _ => QueryKind::Ranking,
        }
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
            assert!(matches!(query.header("kind"), Some("ranking" | "listing" | "hits")), "{}", query.name);
            for key in ["answers", "athena", "params", "size", "notes"] {
                assert!(query.header(key).is_some_and(|v| !v.is_empty()), "{} lacks {key}", query.name);
            }
        }
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
    }
}
