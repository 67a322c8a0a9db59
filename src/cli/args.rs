//! The command line as clap sees it: flags and subcommands, nothing resolved yet.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Forensic analysis of AWS VPC Flow Logs: Athena's questions, answered locally.
#[derive(Debug, Parser)]
#[command(name = "flowq", version, about, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 all read, 1 failed, 2 bad usage, 3 answered but something was skipped \
(listed on stderr).")]
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

    /// Output format: table, csv, json, ndjson, parquet (default: table on a terminal, else csv, or
    /// what the --output file name says).
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
            Command::Sql { .. } | Command::Queries => return None,
        })
    }
}
