//! Indicator lists: the threat lists GuardDuty accepts — plain text, STIX, Open Threat Exchange CSV,
//! FireEye iSIGHT CSV, Proofpoint ET CSV, AlienVault reputation (`reference/format.md` §9) — and plain
//! CSV, read into address ranges; and an index that finds every indicator an address falls in.
//!
//! The format is told from the content, never from the file name. Blank lines and comments (`#`
//! lines; a `# …` after a plain-text entry) are ignored. Every other entry either becomes an
//! [`Indicator`] or is reported as a [`ListProblem`] with its file and line: a list is evidence too,
//! and an entry that was silently dropped is a sweep that silently missed. Indicators that are not
//! addresses (domains, hashes, URLs in OTX and FireEye feeds) are counted, not reported one by one:
//! flow logs hold addresses only, and GuardDuty ignores them too.

use std::fmt;
use std::net::IpAddr;

use memchr::memmem;

use crate::net::Cidr;

/// The format of an indicator list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// One address or CIDR block per line (GuardDuty `TXT`).
    Text,
    /// STIX 1.x XML: CybOX `Address_Value` elements, ranges as `InclusiveBetween` (GuardDuty `STIX`).
    Stix,
    /// Open Threat Exchange CSV: `Indicator type, Indicator, Description` (GuardDuty `OTX_CSV`).
    OtxCsv,
    /// FireEye iSIGHT CSV: addresses in the `sourceIp`, `ip` and `cidr` columns (GuardDuty `FIRE_EYE`).
    FireEye,
    /// Proofpoint ET Intelligence CSV: `ip, category, score, …` (GuardDuty `PROOF_POINT`).
    Proofpoint,
    /// AlienVault reputation data: `ip#risk#reliability#activity#…` (GuardDuty `ALIEN_VAULT`).
    AlienVault,
    /// CSV with a header naming an address column (`ip`, `address`, `cidr`, `indicator`, …), or
    /// without a header, addresses in its first column.
    Csv,
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListFormat::Text => "plain text",
            ListFormat::Stix => "STIX",
            ListFormat::OtxCsv => "OTX CSV",
            ListFormat::FireEye => "FireEye iSIGHT CSV",
            ListFormat::Proofpoint => "Proofpoint ET CSV",
            ListFormat::AlienVault => "AlienVault reputation",
            ListFormat::Csv => "CSV",
        })
    }
}

/// A range of addresses of one family, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrRange {
    /// IPv6 (else IPv4: `first` and `last` are below 2^32).
    pub v6: bool,
    /// The first address.
    pub first: u128,
    /// The last address.
    pub last: u128,
}

impl AddrRange {
    /// The range of a CIDR block (a single address is a /32 or /128).
    pub fn of_block(block: &Cidr) -> AddrRange {
        let (v6, network, bits) = match block.network() {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (true, u128::from(v6), 128),
        };
        let host_bits = bits - u32::from(block.prefix());
        let size_less_one = if host_bits == 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
        AddrRange { v6, first: network, last: network | size_less_one }
    }

    /// How many addresses less one it holds (a single address: 0).
    fn span(&self) -> u128 {
        self.last - self.first
    }
}

/// The family and number of an address.
fn key(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// As the list writes it (a STIX range as `first-last`).
    pub text: String,
    /// The list it came from, as named on the command line.
    pub list: String,
    /// The 1-based line of the entry in the list.
    pub line: u64,
    /// The addresses it covers.
    pub range: AddrRange,
}

/// An entry of a list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListProblem {
    /// The list.
    pub list: String,
    /// The 1-based line of the entry.
    pub line: u64,
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ListProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}: {}: {:?}", self.list, self.line, self.reason, self.entry)
    }
}

/// What a list held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorList {
    /// The list, as named when it was read.
    pub list: String,
    /// How it was read.
    pub format: ListFormat,
    /// Its address indicators, in the order of the list.
    pub indicators: Vec<Indicator>,
    /// Entries that could not be read.
    pub problems: Vec<ListProblem>,
    /// Indicators of other kinds (domains, URLs, hashes), counted and left out.
    pub not_addresses: u64,
}

/// Column names (lowercase) that hold addresses in a plain CSV list.
const ADDRESS_COLUMNS: [&str; 10] =
    ["ip", "ip_address", "ipaddress", "ip address", "address", "addr", "cidr", "network", "indicator", "value"];

impl IndicatorList {
    /// Reads a list named `list` (for provenance and messages) from its text.
    pub fn read(list: &str, text: &str) -> IndicatorList {
        let mut reader =
            Reader { list: list.to_string(), indicators: Vec::new(), problems: Vec::new(), not_addresses: 0 };
        let lines: Vec<(u64, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.trim_start_matches('\u{feff}').trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let format = detect(&lines);
        match format {
            ListFormat::Stix => reader.stix(text),
            ListFormat::Text => {
                for &(line, entry) in &lines {
                    let entry = entry.split_once(" #").map_or(entry, |(value, _)| value).trim();
                    reader.entry(line, entry, entry);
                }
            }
            ListFormat::AlienVault => {
                for &(line, entry) in &lines {
                    let value = entry.split('#').next().unwrap_or_default().trim();
                    reader.entry(line, value, entry);
                }
            }
            ListFormat::OtxCsv => reader.otx(&lines),
            ListFormat::FireEye | ListFormat::Proofpoint | ListFormat::Csv => {
                let names = header_names(&lines);
                let columns: Vec<usize> = match format {
                    ListFormat::FireEye => positions(&names, &["sourceip", "ip", "cidr"]),
                    ListFormat::Proofpoint => positions(&names, &["ip"]),
                    _ => positions(&names, &ADDRESS_COLUMNS),
                };
                // Without a header naming an address column, the first column holds the addresses.
                let (columns, rows) = if columns.is_empty() { (vec![0], &lines[..]) } else { (columns, &lines[1..]) };
                for &(line, row) in rows {
                    let fields = csv_fields(row);
                    for &column in &columns {
                        match fields.get(column).map(|f| f.trim()) {
                            Some("") => {}
                            Some(value) => reader.entry(line, value, row),
                            None if format == ListFormat::Csv || column == 0 => reader.problem(
                                line,
                                row,
                                format!("the row has no column {} ({} columns)", column + 1, fields.len()),
                            ),
                            None => {}
                        }
                    }
                }
            }
        }
        IndicatorList {
            list: list.to_string(),
            format,
            indicators: reader.indicators,
            problems: reader.problems,
            not_addresses: reader.not_addresses,
        }
    }
}

/// The format of a list, from its first entries (comments and blank lines left out).
fn detect(lines: &[(u64, &str)]) -> ListFormat {
    let Some(&(_, first)) = lines.first() else { return ListFormat::Text };
    if first.starts_with('<') {
        return ListFormat::Stix;
    }
    let names = header_names(lines);
    let has = |name: &str| names.iter().any(|n| n == name);
    if has("indicator type") && has("indicator") {
        ListFormat::OtxCsv
    } else if has("reportid") && (has("sourceip") || has("ip") || has("cidr")) {
        ListFormat::FireEye
    } else if names.first().is_some_and(|n| n == "ip") && has("category") && has("score") {
        ListFormat::Proofpoint
    } else if names.iter().any(|n| ADDRESS_COLUMNS.contains(&n.as_str())) {
        ListFormat::Csv
    } else if first.split_once('#').is_some_and(|(ip, _)| !ip.is_empty() && ip.trim() == ip && parses(ip)) {
        ListFormat::AlienVault
    } else if first.contains(',') {
        ListFormat::Csv
    } else {
        ListFormat::Text
    }
}

fn parses(value: &str) -> bool {
    value.parse::<Cidr>().is_ok()
}

/// The positions of the `wanted` names among `names`.
fn positions(names: &[String], wanted: &[&str]) -> Vec<usize> {
    names.iter().enumerate().filter(|(_, n)| wanted.contains(&n.as_str())).map(|(i, _)| i).collect()
}

/// The fields of the first line, lowercase: a CSV header's column names.
fn header_names(lines: &[(u64, &str)]) -> Vec<String> {
    lines.first().map(|&(_, l)| csv_fields(l)).unwrap_or_default().iter().map(|f| f.to_ascii_lowercase()).collect()
}

/// The fields of a CSV line, trimmed, with double quotes removed (`"a, b"` is one field).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field).trim().to_string()),
            c => field.push(c),
        }
    }
    fields.push(field.trim().to_string());
    fields
}

/// Collects the entries of one list.
struct Reader {
    list: String,
    indicators: Vec<Indicator>,
    problems: Vec<ListProblem>,
    not_addresses: u64,
}

impl Reader {
    /// One address or CIDR block, from the line `row`.
    fn entry(&mut self, line: u64, value: &str, row: &str) {
        match value.parse::<Cidr>() {
            Ok(block) => self.push(line, value, AddrRange::of_block(&block)),
            Err(_) => self.problem(line, row, "not an IP address or CIDR block".to_string()),
        }
    }

    fn push(&mut self, line: u64, text: &str, range: AddrRange) {
        self.indicators.push(Indicator { text: text.to_string(), list: self.list.clone(), line, range });
    }

    fn problem(&mut self, line: u64, entry: &str, reason: String) {
        self.problems.push(ListProblem { list: self.list.clone(), line, entry: entry.to_string(), reason });
    }

    /// OTX CSV: address rows by their type; other types are counted.
    fn otx(&mut self, lines: &[(u64, &str)]) {
        let names = header_names(lines);
        let kind = names.iter().position(|n| n == "indicator type").unwrap_or(0);
        let value = names.iter().position(|n| n == "indicator").unwrap_or(1);
        for &(line, row) in &lines[1.min(lines.len())..] {
            let fields = csv_fields(row);
            match (fields.get(kind).map(|k| k.to_ascii_lowercase()), fields.get(value)) {
                (Some(kind), Some(value)) if matches!(kind.as_str(), "ipv4" | "ipv6" | "cidr") => {
                    self.entry(line, value, row);
                }
                (Some(_), Some(_)) => self.not_addresses += 1,
                _ => self.problem(line, row, format!("the row has no column {}", kind.max(value) + 1)),
            }
        }
    }

    /// STIX 1.x: every `Address_Value` element; `condition="InclusiveBetween"` holds a range written
    /// `first##comma##last`. Read leniently (AWS's own sample is not well-formed XML).
    fn stix(&mut self, text: &str) {
        let mut from = 0;
        while let Some(at) = memmem::find(&text.as_bytes()[from..], b"Address_Value").map(|at| from + at) {
            from = at + "Address_Value".len();
            // An opening tag: `<` and an optional namespace prefix right before the name.
            let before = &text[..at];
            let Some(open) = before.rfind('<') else { continue };
            let prefix = &before[open + 1..];
            if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let Some(end) = text[from..].find('>').map(|end| from + end) else { break };
            let attributes = &text[from..end];
            let Some(close) = text[end + 1..].find('<').map(|close| end + 1 + close) else { break };
            let value = text[end + 1..close].trim();
            let line = text[..end + 1].matches('\n').count() as u64 + 1;
            from = close;
            if attributes.contains("InclusiveBetween") {
                self.stix_range(line, value);
            } else {
                // A comma-separated list of values is allowed in CybOX.
                for value in value.split("##comma##").map(str::trim).filter(|v| !v.is_empty()) {
                    self.entry(line, value, value);
                }
            }
        }
    }

    fn stix_range(&mut self, line: u64, value: &str) {
        let ends: Vec<&str> = value.split("##comma##").map(str::trim).collect();
        let parsed: Vec<Option<IpAddr>> = ends.iter().map(|e| e.parse().ok()).collect();
        match parsed.as_slice() {
            [Some(first), Some(last)] if first.is_ipv4() == last.is_ipv4() && key(*first) <= key(*last) => {
                let ((v6, first_n), (_, last_n)) = (key(*first), key(*last));
                let text = format!("{first}-{last}");
                self.push(line, &text, AddrRange { v6, first: first_n, last: last_n });
            }
            _ => self.problem(line, value, "not a range of two addresses of one family, first to last".to_string()),
        }
    }
}

/// Finds every indicator an address falls in: the ranges are cut into pieces that no range starts or
/// ends inside, and a lookup is a binary search among the pieces, whatever the number of indicators.
#[derive(Debug, Clone, Default)]
pub struct IndicatorIndex {
    v4: Pieces,
    v6: Pieces,
}

#[derive(Debug, Clone, Default)]
struct Pieces {
    /// The first address of each piece, ascending.
    firsts: Vec<u128>,
    /// Its last address.
    lasts: Vec<u128>,
    /// Its indicators: a range of `members`.
    spans: Vec<(u32, u32)>,
    members: Vec<u32>,
}

impl IndicatorIndex {
    /// The index of `indicators`; a lookup answers their positions in this slice.
    pub fn new(indicators: &[Indicator]) -> IndicatorIndex {
        let family = |v6: bool| {
            let ranges: Vec<(u32, AddrRange)> = indicators
                .iter()
                .enumerate()
                .filter(|(_, i)| i.range.v6 == v6)
                .map(|(n, i)| (n as u32, i.range))
                .collect();
            Pieces::new(&ranges)
        };
        IndicatorIndex { v4: family(false), v6: family(true) }
    }

    /// The indicators `ip` falls in, most specific (fewest addresses) first, then in list order.
    pub fn lookup(&self, ip: IpAddr) -> &[u32] {
        let (v6, n) = key(ip);
        if v6 { self.v6.lookup(n) } else { self.v4.lookup(n) }
    }

    /// The same for an address as text; nothing for text that is not an address.
    pub fn lookup_str(&self, text: &str) -> &[u32] {
        text.parse::<IpAddr>().map_or(&[], |ip| self.lookup(ip))
    }
}

impl Pieces {
    fn new(ranges: &[(u32, AddrRange)]) -> Pieces {
        // Where the set of covering ranges can change: each range's first address and the one after
        // its last.
        let mut bounds: Vec<u128> = Vec::with_capacity(ranges.len() * 2);
        for (_, r) in ranges {
            bounds.push(r.first);
            if let Some(after) = r.last.checked_add(1) {
                bounds.push(after);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        // Ranges by first address, swept across the bounds with the set of those that cover each piece.
        let mut by_first: Vec<&(u32, AddrRange)> = ranges.iter().collect();
        by_first.sort_by_key(|(_, r)| r.first);
        let mut next = 0;
        let mut active: Vec<(u128, u128, u32)> = Vec::new(); // (span, last, id)
        let mut pieces = Pieces::default();
        for (i, &first) in bounds.iter().enumerate() {
            active.retain(|&(_, last, _)| last >= first);
            while next < by_first.len() && by_first[next].1.first == first {
                let (id, r) = by_first[next];
                active.push((r.span(), r.last, *id));
                next += 1;
            }
            if active.is_empty() {
                continue;
            }
            let last = bounds.get(i + 1).map_or(u128::MAX, |b| b - 1);
            let mut ids: Vec<(u128, u32)> = active.iter().map(|&(span, _, id)| (span, id)).collect();
            ids.sort_unstable();
            let start = pieces.members.len() as u32;
            pieces.members.extend(ids.iter().map(|&(_, id)| id));
            pieces.firsts.push(first);
            pieces.lasts.push(last);
            pieces.spans.push((start, pieces.members.len() as u32));
        }
        pieces
    }

    fn lookup(&self, n: u128) -> &[u32] {
        let at = self.firsts.partition_point(|&first| first <= n);
        match at.checked_sub(1) {
            Some(i) if n <= self.lasts[i] => {
                let (start, end) = self.spans[i];
                &self.members[start as usize..end as usize]
            }
            _ => &[],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn texts(list: &IndicatorList) -> Vec<(u64, &str)> {
        list.indicators.iter().map(|i| (i.line, i.text.as_str())).collect()
    }

    #[test]
    fn plain_text_with_comments_and_bad_entries() {
        let list = IndicatorList::read(
            "t.txt",
            "# GuardDuty TXT\n54.20.175.217\n\n205.0.0.0/8\n2001:db8::/32  # a v6 block\nevil.example.com\n10.0.0.0/33\n",
        );
        assert_eq!(list.format, ListFormat::Text);
        assert_eq!(texts(&list), [(2, "54.20.175.217"), (4, "205.0.0.0/8"), (5, "2001:db8::/32")]);
        let problems: Vec<String> = list.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "t.txt: line 6: not an IP address or CIDR block: \"evil.example.com\"",
                "t.txt: line 7: not an IP address or CIDR block: \"10.0.0.0/33\""
            ]
        );
    }

    #[test]
    fn stix_addresses_and_inclusive_ranges() {
        // AWS's sample, with its missing space before `condition`, as reference/format.md gives it.
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" version="1.2">
 <stix:Observables cybox_major_version="1" cybox_minor_version="1">
  <cybox:Observable><cybox:Object><cybox:Properties xsi:type="AddressObject:AddressObjectType" category="ipv4-addr">
   <AddressObject:Address_Value condition="InclusiveBetween">192.0.2.0##comma##192.0.2.255</AddressObject:Address_Value>
  </cybox:Properties></cybox:Object></cybox:Observable>
  <cybox:Observable><cybox:Object><cybox:Properties xsi:type="AddressObject:AddressObjectType" category="ipv4-addr">
   <AddressObject:Address_Value>198.51.100.1</AddressObject:Address_Value>
  </cybox:Properties></cybox:Object></cybox:Observable>
  <cybox:Observable><cybox:Object><cybox:Properties xsi:type="AddressObject:AddressObjectType"category="ipv6-addr">
   <AddressObject:Address_Value condition="InclusiveBetween">2001:db8::1##comma##10.0.0.1</AddressObject:Address_Value>
  </cybox:Properties></cybox:Object></cybox:Observable>
 </stix:Observables>
</stix:STIX_Package>"#;
        let list = IndicatorList::read("s.xml", text);
        assert_eq!(list.format, ListFormat::Stix);
        assert_eq!(texts(&list), [(5, "192.0.2.0-192.0.2.255"), (8, "198.51.100.1")]);
        assert_eq!(list.indicators[0].range, AddrRange { v6: false, first: 0xc000_0200, last: 0xc000_02ff });
        assert_eq!(list.problems.len(), 1);
        assert_eq!(list.problems[0].line, 11);
    }

    #[test]
    fn otx_csv_keeps_addresses_and_counts_the_rest() {
        let text = "Indicator type, Indicator, Description\nCIDR, 192.0.2.0/24, example\nIPv4, 198.51.100.1, example\n\
                    domain, evil.example.com, c2\nIPv6, 2001:db8::7, example\nIPv4, 198.51.100.300, typo\n";
        let list = IndicatorList::read("otx.csv", text);
        assert_eq!(list.format, ListFormat::OtxCsv);
        assert_eq!(texts(&list), [(2, "192.0.2.0/24"), (3, "198.51.100.1"), (5, "2001:db8::7")]);
        assert_eq!(list.not_addresses, 1);
        assert_eq!(list.problems.iter().map(|p| p.line).collect::<Vec<_>>(), [6]);
    }

    #[test]
    fn fireeye_reads_every_address_column() {
        let header = "reportId, title, threatScape, audience, intelligenceType, publishDate, reportLink, webLink, \
            emailIdentifier, senderAddress, senderName, sourceDomain, sourceIp, subject, recipient, emailLanguage, \
            fileName, fileSize, fuzzyHash, fileIdentifier, md5, sha1, sha256, description, fileType, packer, userAgent, \
            registry, fileCompilationDateTime, filePath, asn, cidr, domain, domainTimeOfLookup, networkIdentifier, ip, \
            port, protocol, registrantEmail, registrantName, networkType, url, malwareFamily, malwareFamilyId, actor, \
            actorId, observationTime";
        let row = "01-00000002, Example, Test, Operational, threat, 1494944400, https://www.example.com/report/01-00000002, \
            https://www.example.com/report/01-00000002, , , , , , , , , , , , , , , , , , , , , , , , , , , Related, \
            198.51.100.1, , , , , network, , Ursnif, 12ab7bc4-62ed-49fa-99e3-14b92afc41bf, , ,1494944400";
        let list = IndicatorList::read("fe.csv", &format!("{header}\n{row}\n"));
        assert_eq!(list.format, ListFormat::FireEye);
        assert_eq!(texts(&list), [(2, "198.51.100.1")]);
        assert!(list.problems.is_empty(), "{:?}", list.problems);
    }

    #[test]
    fn proofpoint_alienvault_and_plain_csv() {
        let proofpoint = "ip, category, score, first_seen, last_seen, ports (|)\n\
                          198.51.100.1, 1, 100, 2000-01-01, 2000-01-01,\n203.0.113.1, 1, 100, 2000-01-01, 2000-01-01, 80\n";
        let list = IndicatorList::read("pp.csv", proofpoint);
        assert_eq!(list.format, ListFormat::Proofpoint);
        assert_eq!(texts(&list), [(2, "198.51.100.1"), (3, "203.0.113.1")]);

        let alienvault =
            "198.51.100.1#4#2#Malicious Host#US##0.0,0.0#3\n46.4.123.15#4#2#Scanning Host#DE##51.0,9.0#3\n";
        let list = IndicatorList::read("reputation.data", alienvault);
        assert_eq!(list.format, ListFormat::AlienVault);
        assert_eq!(texts(&list), [(1, "198.51.100.1"), (2, "46.4.123.15")]);

        let csv = "first_seen,IP,\"note, with comma\"\n2024-01-01,203.0.113.9,x\n2024-01-02,,missing\n";
        let list = IndicatorList::read("mine.csv", csv);
        assert_eq!(list.format, ListFormat::Csv);
        assert_eq!(texts(&list), [(2, "203.0.113.9")]);
        assert!(list.problems.is_empty());

        let headerless = "203.0.113.9,botnet\n2001:db8::/48,scanner\n";
        let list = IndicatorList::read("plain.csv", headerless);
        assert_eq!(list.format, ListFormat::Csv);
        assert_eq!(texts(&list), [(1, "203.0.113.9"), (2, "2001:db8::/48")]);
    }

    fn indicators(entries: &[&str]) -> Vec<Indicator> {
        IndicatorList::read("l", &entries.join("\n")).indicators
    }

    #[test]
    fn the_index_finds_every_covering_indicator_most_specific_first() {
        let list = indicators(&["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "10.1.2.3", "2001:db8::/32", "0.0.0.0/0"]);
        let index = IndicatorIndex::new(&list);
        assert_eq!(index.lookup_str("10.1.2.3"), [2, 3, 1, 0, 5]);
        assert_eq!(index.lookup_str("10.1.2.4"), [1, 0, 5]);
        assert_eq!(index.lookup_str("10.255.255.255"), [0, 5]);
        assert_eq!(index.lookup_str("11.0.0.0"), [5]);
        assert_eq!(index.lookup_str("255.255.255.255"), [5]);
        assert_eq!(index.lookup_str("2001:db8::1"), [4]);
        assert!(index.lookup_str("2001:db9::").is_empty());
        assert!(index.lookup_str("::ffff:10.1.2.3").is_empty(), "a mapped address is an IPv6 address");
        assert!(index.lookup_str("-").is_empty());
        let v6_all = indicators(&["::/0"]);
        assert_eq!(IndicatorIndex::new(&v6_all).lookup_str("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), [0]);
    }

    #[test]
    fn the_index_agrees_with_a_scan_of_the_list() {
        // Overlapping blocks of every size around a few addresses, checked address by address.
        let mut entries = Vec::new();
        for (i, prefix) in [8, 12, 16, 20, 24, 28, 30, 31, 32].iter().enumerate() {
            entries.push(format!("10.{}.{}.{}/{prefix}", i * 3, i * 7, i * 11));
            entries.push(format!("10.0.0.{}/{prefix}", i * 29));
        }
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let list = indicators(&refs);
        let index = IndicatorIndex::new(&list);
        let blocks: Vec<Cidr> = entries.iter().map(|e| e.parse().unwrap()).collect();
        for a in [0u32, 1, 3, 7, 11, 21, 64, 200, 255, 256, 1000, 65_535, 65_536, 1 << 20, (1 << 24) - 1, 1 << 24] {
            let ip = IpAddr::V4((0x0a00_0000 + a).into());
            let mut expected: Vec<u32> =
                blocks.iter().enumerate().filter(|(_, b)| b.contains(ip)).map(|(n, _)| n as u32).collect();
            let mut found = index.lookup(ip).to_vec();
            expected.sort_unstable();
            found.sort_unstable();
            assert_eq!(found, expected, "{ip}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_blocks_any_address(
            blocks in proptest::collection::vec((0u32..64, 24u8..=32), 1..40),
            probes in proptest::collection::vec(0u32..80, 1..40),
        ) {
            // Blocks inside 10.0.0.0/25, so that they overlap and nest often.
            let entries: Vec<String> = blocks.iter().map(|(a, p)| format!("10.0.0.{a}/{p}")).collect();
            let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
            let list = indicators(&refs);
            let index = IndicatorIndex::new(&list);
            for probe in probes {
                let ip = IpAddr::V4((0x0a00_0000 + probe).into());
                let expected: Vec<u32> = list
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.range.first <= u128::from(0x0a00_0000 + probe) && u128::from(0x0a00_0000 + probe) <= i.range.last)
                    .map(|(n, _)| n as u32)
                    .collect();
                let mut found = index.lookup(ip).to_vec();
                // Most specific first, then in list order.
                let order: Vec<(u128, u32)> = found.iter().map(|&n| (list[n as usize].range.span(), n)).collect();
                proptest::prop_assert!(order.windows(2).all(|w| w[0] < w[1]));
                found.sort_unstable();
                proptest::prop_assert_eq!(found, expected);
            }
        }
    }
}
