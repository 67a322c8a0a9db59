//! The command line as clap sees it: flags and subcommands, nothing resolved yet.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::query::BuiltinQuery;

/// Forensic analysis of AWS VPC Flow Logs: Athena's questions, answered locally.
#[derive(Debug, Parser)]
#[command(name = "flowq", version, about, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 all read, 1 failed, 2 bad usage, 3 answered but something was skipped \
(listed on stderr), 4 (report) a detection fired, 5 (report) a detection fired and something was skipped.")]
pub struct Cli {
    /// What to ask.
    #[command(subcommand)]
    pub command: Command,
    /// Flags that apply to every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Where to read, what to keep, how to answer: accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A flow-log file or folder (read recursively); repeat for more.
    #[arg(long, global = true, value_name = "PATH", help_heading = "Input")]
    pub path: Vec<PathBuf>,
    /// An S3 bucket, optionally with a key prefix (s3://bucket[/prefix]); repeat for more.
    #[arg(long, global = true, value_name = "S3URL", help_heading = "Input")]
    pub bucket: Vec<String>,
    /// The AWS profile for S3 (else AWS_PROFILE, else the default chain).
    #[arg(long, global = true, value_name = "NAME", help_heading = "Input")]
    pub profile: Option<String>,
    /// An S3-compatible endpoint instead of AWS (else AWS_ENDPOINT_URL), e.g. http://127.0.0.1:9000.
    #[arg(long, global = true, value_name = "URL", help_heading = "Input")]
    pub endpoint_url: Option<String>,
    /// Read a public bucket without credentials.
    #[arg(long, global = true, help_heading = "Input")]
    pub no_sign_request: bool,
    /// List what would be read (objects, bytes, time span covered) without reading it.
    #[arg(long, global = true, help_heading = "Input")]
    pub dry_run: bool,
    /// The fields of objects without a header line, in order (default: the 14 default-format fields).
    #[arg(long, global = true, value_name = "'F1 F2 …'", help_heading = "Input")]
    pub fields: Option<String>,
    /// Fail at the first unreadable line or object instead of reporting it and going on.
    #[arg(long, global = true, help_heading = "Input")]
    pub strict: bool,

    /// Flows that end at or after T: RFC 3339, a date (midnight UTC), or a span before now (90m, 24h, 7d).
    #[arg(long, global = true, value_name = "T", help_heading = "Filters")]
    pub since: Option<String>,
    /// Flows that start before T (same forms as --since).
    #[arg(long, global = true, value_name = "T", help_heading = "Filters")]
    pub until: Option<String>,
    /// Flows of this account id (from the record, else from the object key).
    #[arg(long, global = true, value_name = "ID", help_heading = "Filters")]
    pub account: Option<String>,
    /// Flows of this region (from the record, else from the object key).
    #[arg(long, global = true, value_name = "REGION", help_heading = "Filters")]
    pub region: Option<String>,
    /// Flows of this network interface (interface_id).
    #[arg(long, global = true, value_name = "ENI", help_heading = "Filters")]
    pub eni: Option<String>,
    /// Flows with this action: accept or reject.
    #[arg(long, global = true, value_name = "ACTION", help_heading = "Filters")]
    pub action: Option<String>,
    /// Flows of this protocol: tcp, udp, icmp, icmpv6 or an IANA number.
    #[arg(long, global = true, value_name = "PROTO", help_heading = "Filters")]
    pub protocol: Option<String>,
    /// Flows with this source or destination port.
    #[arg(long, global = true, value_name = "N", help_heading = "Filters")]
    pub port: Option<String>,
    /// Flows whose srcaddr, dstaddr, pkt_srcaddr or pkt_dstaddr is ADDR or inside CIDR; repeat for more.
    #[arg(long, global = true, value_name = "ADDR|CIDR", help_heading = "Filters")]
    pub ip: Vec<String>,

    /// Your network's address blocks, comma-separated, for is_internal and so for the detections'
    /// and timelines' "internal" and "external" (default: the private and other non-internet
    /// blocks: 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, 127/8, fc00::/7, fe80::/10, ::1).
    /// They replace the default: list them all, with a VPC's IPv6 block (public, so not in the
    /// default) or a public IPv4 range it brought, e.g. 10.0.0.0/16,2600:1f18:ab:cd00::/56.
    #[arg(long, global = true, value_name = "CIDR,…", help_heading = "Filters")]
    pub internal: Option<String>,

    /// Output format: table, csv, json, ndjson, parquet (default: what the --output file name says,
    /// else table on a terminal and csv otherwise); for report html, json, md (default: what the
    /// --output name says, else md on a terminal and html otherwise).
    #[arg(long, global = true, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<String>,
    /// Write the answer to FILE instead of standard output.
    #[arg(long, short = 'o', global = true, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// At most N rows (rankings have their own default size; listings return every row).
    #[arg(long, global = true, value_name = "N", help_heading = "Output")]
    pub limit: Option<usize>,
    /// Listings only: the columns to return, comma-separated, from the columns of flows.
    #[arg(long, global = true, value_name = "A,B,…", help_heading = "Output")]
    pub columns: Option<String>,
    /// Also write a JSON record of the run to FILE: flowq's version, the command and the SQL, every
    /// object read (URL, size, ETag, last modified, SHA-256 of its bytes), the records read and
    /// skipped and why, and the SHA-256 of the answer.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Output")]
    pub manifest: Option<PathBuf>,
    /// No progress bar and no summary line on stderr (problems are still reported).
    #[arg(long, short = 'q', global = true, help_heading = "Output")]
    pub quiet: bool,
    /// Memory for sorts, aggregations and joins, in MiB; beyond it sorts and aggregations spill to
    /// the temporary directory, so a listing of millions of rows runs in bounded memory. A query
    /// that cannot spill (a large join) fails with "Resources exhausted": raise it. At least 32: a
    /// sort that spills keeps 10 MiB back to merge what it spilled.
    #[arg(long, global = true, value_name = "MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(32..), help_heading = "Input")]
    pub memory_limit: u64,
}

/// The subcommands: the built-in queries (`flowq queries` describes them), `sql` and `queries`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // One value per run: the thresholds' size does not matter.
pub enum Command {
    /// Addresses with the most bytes, as source or destination (VpcFlowLogsTopTalkers).
    TopTalkers,
    /// Packet-level addresses with the most bytes (VpcFlowLogsTopTalkersPacketLevel).
    TopTalkersPkt,
    /// Source/destination pairs with the most bytes (VpcFlowLogsTotalBytesTransferred).
    TopPairs,
    /// Packet-level pairs with the most bytes (VpcFlowLogsTotalBytesTransferredPacketLevel).
    TopPairsPkt,
    /// Instances with the most bytes (VpcFlowLogsTopTalkingInstances).
    TopInstances,
    /// Subnets with the most bytes (VpcFlowLogsTopTalkingSubnets).
    TopSubnets,
    /// Addresses with the most bytes on administrative ports (VpcFlowLogsAdminPortTraffic).
    AdminPorts {
        /// The ports that count as administrative, comma-separated.
        #[arg(long, value_name = "P1,P2,…", default_value = "22,23,3389,5900,5985,5986")]
        ports: String,
    },
    /// Sources with the most rejected TCP flows (VpcFlowLogsRejectedTCPTraffic).
    RejectedTcp,
    /// Bytes, packets and flows per traffic type (VpcFlowLogsIPv4Traffic, VpcFlowLogsIPv6Traffic).
    TrafficByType,
    /// Every flow to or from an address or CIDR block.
    Ip {
        /// The address or CIDR block, IPv4 or IPv6.
        #[arg(value_name = "ADDR|CIDR")]
        target: String,
    },
    /// Every flow from an address or CIDR block (VpcFlowLogsTrafficFrmSrcAddr).
    From {
        /// The address or CIDR block, IPv4 or IPv6.
        #[arg(value_name = "ADDR|CIDR")]
        target: String,
    },
    /// Every flow to an address or CIDR block (VpcFlowLogsTrafficToDstAddr).
    To {
        /// The address or CIDR block, IPv4 or IPv6.
        #[arg(value_name = "ADDR|CIDR")]
        target: String,
    },
    /// Every rejected flow (VpcFlowLogsRejectedTraffic).
    Rejected,
    /// Every accepted TCP flow (VpcFlowLogsAcceptedTraffic).
    Accepted,
    /// Every SSH or RDP flow (VpcFlowLogsSshRdpTraffic).
    SshRdp,
    /// Every flow touching an address or CIDR block of threat lists, with the indicator it matched.
    ///
    /// Lists may be in any format GuardDuty accepts for threat lists — plain text, STIX, Open Threat
    /// Exchange CSV, FireEye iSIGHT CSV, Proofpoint ET CSV, AlienVault reputation — or CSV with an
    /// address column; the format is told from the content. IPv4 and IPv6 addresses, CIDR blocks and
    /// STIX ranges. Entries that cannot be read are reported with their file and line.
    Sweep {
        /// A threat list; repeat for several.
        #[arg(long = "ioc", value_name = "FILE", required = true)]
        ioc: Vec<PathBuf>,
        /// One row per indicator that was seen: first and last seen, flows, bytes and packets from
        /// and to it, accepted and rejected flows, the internal addresses and interfaces it touched.
        #[arg(long)]
        summary: bool,
    },
    /// Detections modelled on GuardDuty's findings, over the flows: one row per finding.
    ///
    /// Each detection is a query in queries/ named after the finding it approximates; `flowq
    /// queries` gives its exact rule. Findings are ordered by first seen; each has a severity, its
    /// source and target, counts of the flows behind it and a line of evidence.
    Detect {
        /// The detections to run (default: every one): ssh-bruteforce, rdp-bruteforce,
        /// winrm-bruteforce, port-probe, port-scan, exfiltration, unusual-port, crypto-mining.
        #[arg(value_name = "DETECTION")]
        detections: Vec<String>,
        /// List the flows behind the findings (with the detection's name) instead of the findings.
        #[arg(long)]
        flows: bool,
        /// The detections' thresholds.
        #[command(flatten)]
        thresholds: Thresholds,
    },
    /// An address's, block's, interface's or instance's traffic over time: per time bucket,
    /// direction and action, the flows that started in it, the flows active in it, bytes and packets.
    ///
    /// A flow's bytes and packets are spread over the buckets its [start, end] covers, in proportion
    /// to its time in each (in whole units that add up exactly to the flow's own), not dropped into
    /// the bucket of its start. direction is relative to the entity: inbound when it received the
    /// flow, outbound when it sent it, both for traffic inside a block (for an interface or
    /// instance: flow_direction when logged, else inbound from the internet, outbound to it, internal
    /// between internal addresses, unknown when neither end is internal).
    Timeline {
        /// An address or CIDR block (IPv4 or IPv6), an interface (eni-…) or an instance (i-…; its
        /// flows are found only in logs whose format records instance-id).
        #[arg(value_name = "ENTITY")]
        entity: String,
        /// The bucket: 1m, 5m, 1h, 1d, or any span (90s, 15m, 6h, 1w).
        #[arg(long, value_name = "SPAN", default_value = "1h")]
        every: String,
    },
    /// Copies the flow logs into Hive-partitioned Parquet (account_id=…/region=…/date=YYYY-MM-DD/,
    /// zstd, sorted by time) that flowq, DuckDB, Athena, Spark and Trino read; every record keeps
    /// its original source and line. Incremental: a rerun converts only objects not converted
    /// before (by URL with size and ETag, or for a local file size and modification time), so a
    /// nightly cron adds the new ones.
    /// --since/--until/--region choose objects by their key; every record of a chosen object is
    /// converted. An object that cannot be read whole is left out and tried again next run.
    Convert {
        /// The folder to write into (created if absent); its state file is .flowq-convert.json.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The nightly report: what was read, coverage, charts, every detection's findings and the top
    /// tables, over the window, in one file.
    ///
    /// HTML (self-contained: inline CSS and SVG charts, nothing fetched when it is viewed), JSON
    /// (every number the HTML shows) or Markdown: --format html|json|md, else what the --output
    /// name says (.html, .json, .md), else Markdown on a terminal and HTML otherwise. Coverage: the
    /// hours without a single record (from --since, else the first record, to --until, else the
    /// last whole hour before now less 15 minutes for delivery, or the last record), interfaces with
    /// gaps, gone quiet or with SKIPDATA, objects
    /// delivered late, NODATA and SKIPDATA counts, and everything that could not be read. Rankings
    /// keep --limit rows (10); the detections take the thresholds below.
    ///
    /// Exit code 4 when a detection fired (5 when, too, something could not be read), so cron can
    /// alert on it.
    Report {
        /// The detections' thresholds.
        #[command(flatten)]
        thresholds: Thresholds,
    },
    /// Any read-only SQL over the table flows, with Athena's column names.
    Sql {
        /// The query, e.g. 'SELECT dstport, COUNT(*) AS n FROM flows GROUP BY dstport'.
        query: String,
    },
    /// Lists the built-in queries: what each answers, its Athena equivalent and its parameters.
    Queries,
}

impl Command {
    /// The built-in query this subcommand runs, if it runs one.
    pub fn builtin_name(&self) -> Option<&'static str> {
        Some(match self {
            Command::TopTalkers => "top-talkers",
            Command::TopTalkersPkt => "top-talkers-pkt",
            Command::TopPairs => "top-pairs",
            Command::TopPairsPkt => "top-pairs-pkt",
            Command::TopInstances => "top-instances",
            Command::TopSubnets => "top-subnets",
            Command::AdminPorts { .. } => "admin-ports",
            Command::RejectedTcp => "rejected-tcp",
            Command::TrafficByType => "traffic-by-type",
            Command::Ip { .. } => "ip",
            Command::From { .. } => "from",
            Command::To { .. } => "to",
            Command::Rejected => "rejected",
            Command::Accepted => "accepted",
            Command::SshRdp => "ssh-rdp",
            Command::Sweep { summary: false, .. } => "sweep",
            Command::Sweep { summary: true, .. } => "sweep-summary",
            Command::Detect { .. }
            | Command::Report { .. }
            | Command::Timeline { .. }
            | Command::Convert { .. }
            | Command::Sql { .. }
            | Command::Queries => return None,
        })
    }
}

/// The detections' thresholds: each flag sets the parameter of the same name (`--min-attempts` sets
/// `$min_attempts`) in every detection that has it. Their help is the parameters' own, with their
/// defaults, read from the queries by [`command`].
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Thresholds")]
pub struct Thresholds {
    /// Sets $min_attempts (the help and default come from the detections' queries).
    #[arg(long, value_name = "N")]
    pub min_attempts: Option<String>,
    /// Sets $max_packets (the help and default come from the detections' queries).
    #[arg(long, value_name = "N")]
    pub max_packets: Option<String>,
    /// Sets $window (the help and default come from the detections' queries).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Sets $min_ports (the help and default come from the detections' queries).
    #[arg(long, value_name = "N")]
    pub min_ports: Option<String>,
    /// Sets $min_hosts (the help and default come from the detections' queries).
    #[arg(long, value_name = "N")]
    pub min_hosts: Option<String>,
    /// Sets $probe_packets (the help and default come from the detections' queries).
    #[arg(long, value_name = "N")]
    pub probe_packets: Option<String>,
    /// Sets $probe_ports (the help and default come from the detections' queries).
    #[arg(long, value_name = "P1,P2,…")]
    pub probe_ports: Option<String>,
    /// Sets $min_bytes (the help and default come from the detections' queries).
    #[arg(long, value_name = "SIZE")]
    pub min_bytes: Option<String>,
    /// Sets $baseline (the help and default come from the detections' queries).
    #[arg(long, value_name = "DURATION")]
    pub baseline: Option<String>,
    /// Sets $mining_ports (the help and default come from the detections' queries).
    #[arg(long, value_name = "P1,P2,…")]
    pub mining_ports: Option<String>,
}

impl Thresholds {
    /// Each flag's parameter name and value, `None` where it was not given.
    pub fn by_param(&self) -> [(&'static str, Option<&str>); 10] {
        [
            ("min_attempts", self.min_attempts.as_deref()),
            ("max_packets", self.max_packets.as_deref()),
            ("window", self.window.as_deref()),
            ("min_ports", self.min_ports.as_deref()),
            ("min_hosts", self.min_hosts.as_deref()),
            ("probe_packets", self.probe_packets.as_deref()),
            ("probe_ports", self.probe_ports.as_deref()),
            ("min_bytes", self.min_bytes.as_deref()),
            ("baseline", self.baseline.as_deref()),
            ("mining_ports", self.mining_ports.as_deref()),
        ]
    }
}

/// The command line's definition, with each threshold flag's help (of `detect` and `report`) taken
/// from the detections that have its parameter: what it means, its default, and which detections
/// use it.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("detect", threshold_help).mut_subcommand("report", threshold_help)
}

fn threshold_help(subcommand: clap::Command) -> clap::Command {
    let detections = BuiltinQuery::detections();
    Thresholds::default().by_param().iter().fold(subcommand, |subcommand, (name, _)| {
        let users: Vec<(&str, crate::query::Param)> = detections
            .iter()
            .flat_map(|d| d.params().into_iter().filter(|p| p.name == *name).map(move |p| (d.name, p)))
            .collect();
        let Some((_, first)) = users.first() else { return subcommand };
        let mut defaults: Vec<(&str, Vec<&str>)> = Vec::new();
        for (detection, param) in &users {
            match defaults.iter_mut().find(|(default, _)| *default == param.default) {
                Some((_, detections)) => detections.push(detection),
                None => defaults.push((param.default, vec![detection])),
            }
        }
        let defaults: Vec<String> = defaults.iter().map(|(v, ds)| format!("{v} ({})", ds.join(", "))).collect();
        let help = format!("{} Default: {}.", first.about, defaults.join("; "));
        subcommand.mut_arg(*name, |arg| arg.help(help))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_every_threshold_is_a_parameter() {
        command().debug_assert();
        let flags: Vec<&str> = Thresholds::default().by_param().iter().map(|(name, _)| *name).collect();
        let params: std::collections::BTreeSet<&str> =
            BuiltinQuery::detections().iter().flat_map(|d| d.params()).map(|p| p.name).collect();
        assert_eq!(flags.iter().copied().collect::<std::collections::BTreeSet<_>>(), params);
        let help =
            command().find_subcommand_mut("detect").map(|d| d.render_long_help().to_string()).unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(help.contains("Default: 20 (ssh-bruteforce, rdp-bruteforce, winrm-bruteforce)"), "{help}");
    }
}
