//! A seeded generator of realistic flow-log corpora in AWS's S3 key layouts, for fixtures, tests and
//! benchmarks (`cargo run --example flowq-gen`). The same spec and seed give byte-identical objects.
//!
//! Two flow logs are written:
//! - account `111122223333`, `us-east-1`: the default format (v2), default key layout, daily folders;
//! - account `444455556666`, `eu-west-1`: a custom v5 format in AWS's published field order (IPv4 and
//!   IPv6, packet-level addresses, flow direction), Hive-compatible layout with hour folders.
//!
//! Background traffic is a small VPC talking to itself on any service port and to the internet only
//! on web, DNS and NTP ports, with NODATA and SKIPDATA records: nothing in it is what a detection looks for, at the
//! fixtures' size or the benchmarks'. On top of it, incidents on fixed days (relative to the first day), each
//! from or to addresses no background flow uses:
//! - day 1: a port scan from `192.0.2.200`; an RDP brute force from `192.0.2.99` against `10.0.2.40`;
//! - day 2: an SSH brute force from `203.0.113.45` against `10.0.1.12`; `198.51.100.150` reaching
//!   Elasticsearch (9200) open on `10.0.2.58`; `10.0.1.47` mining at the pool `192.0.2.66:3333`; and,
//!   in the v5 log, `2001:db8:bad:c0de::7` reaching an interface's IPv6 address on 443;
//! - day 3: `198.51.100.77` reaching `10.0.2.25` on 443, then receiving ~4 GB from it; `10.0.2.33`
//!   brute-forcing WinRM (5985) on `203.0.113.200`; `10.0.1.31` beaconing to `192.0.2.201` on IRC's
//!   port 6667.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;

/// The port-scan source.
pub const SCANNER: &str = "192.0.2.200";
/// The SSH brute-force source.
pub const BRUTE_FORCER: &str = "203.0.113.45";
/// The SSH brute-force target.
pub const BRUTE_FORCE_TARGET: &str = "10.0.1.12";
/// The malicious address that exfiltrates.
pub const MALICIOUS: &str = "198.51.100.77";
/// The instance it exfiltrates from.
pub const EXFIL_SOURCE: &str = "10.0.2.25";
/// The RDP brute-force source.
pub const RDP_BRUTE_FORCER: &str = "192.0.2.99";
/// The RDP brute-force target.
pub const RDP_TARGET: &str = "10.0.2.40";
/// The instance that brute-forces WinRM on the internet.
pub const WINRM_ACTOR: &str = "10.0.2.33";
/// The internet host it attacks.
pub const WINRM_TARGET: &str = "203.0.113.200";
/// The host that probes an exposed Elasticsearch port.
pub const PROBER: &str = "198.51.100.150";
/// The interface whose Elasticsearch port (9200) is open to the internet.
pub const PROBED: &str = "10.0.2.58";
/// The instance that mines cryptocurrency.
pub const MINER: &str = "10.0.1.47";
/// The mining pool it reaches on Stratum's port 3333.
pub const MINING_POOL: &str = "192.0.2.66";
/// The instance that talks to a command-and-control server on IRC's port 6667.
pub const BEACONING: &str = "10.0.1.31";
/// The command-and-control server.
pub const C2: &str = "192.0.2.201";
/// The IPv6 threat that reaches an interface of the v5 flow log.
pub const THREAT_V6: &str = "2001:db8:bad:c0de::7";

/// The custom v5 format of the second flow log (AWS's published v5 example order).
pub const V5_FORMAT: &str = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id \
vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr \
pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    /// The seed; the same seed gives the same bytes.
    pub seed: u64,
    /// The first day (UTC).
    pub first_day: NaiveDate,
    /// How many days.
    pub days: u32,
    /// Objects per day per flow log (spread evenly over the day).
    pub objects_per_day: u32,
    /// Background records per object.
    pub records_per_object: u32,
    /// Add the three incidents.
    pub incidents: bool,
    /// Only the flow log in the default (v2) format; the one in a custom v5 format is left out.
    pub default_format_only: bool,
}

impl Default for CorpusSpec {
    /// The checked-in fixtures: three days from 2024-03-01, small.
    fn default() -> Self {
        CorpusSpec {
            seed: 20240301,
            first_day: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default(),
            days: 3,
            objects_per_day: 6,
            records_per_object: 300,
            incidents: true,
            default_format_only: false,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusSummary {
    /// Object paths, in the order written.
    pub objects: Vec<PathBuf>,
    /// Records written (header lines not counted).
    pub records: u64,
    /// Bytes of text before compression.
    pub text_bytes: u64,
}

/// SplitMix64: tiny, fast, and stable forever (unlike a library RNG whose stream may change).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }
}

/// One network interface of the simulated VPCs.
#[derive(Debug, Clone)]
struct Eni {
    id: String,
    ip: String,
    ipv6: Option<String>,
    instance: String,
    subnet: String,
    az: &'static str,
}

/// Host parts of the eight interfaces: the first is the brute-force target, the fifth exfiltrates.
const HOSTS: [&str; 8] = ["1.12", "1.20", "1.31", "1.47", "2.25", "2.33", "2.40", "2.58"];

fn enis(account_tag: u32, prefix: &str, v6: bool, azs: [&'static str; 2]) -> Vec<Eni> {
    (0..8u32)
        .map(|i| {
            let subnet_no = 1 + i / 4;
            Eni {
                id: format!("eni-0{account_tag}{i:02}a1b2c3d4e5f6"),
                ip: format!("{prefix}.{}", HOSTS[i as usize]),
                ipv6: v6.then(|| format!("2001:db8:{account_tag}:{subnet_no}::{:x}", 0x10 + i)),
                instance: if i == 7 { "-".to_string() } else { format!("i-0{account_tag}{i:02}f00dfeedbeef1") },
                subnet: format!("subnet-0{account_tag}{subnet_no}0aa11bb22cc3"),
                az: azs[(subnet_no % 2) as usize],
            }
        })
        .collect()
}

const EXTERNAL_V4: &[&str] = &[
    "52.95.128.179",
    "54.239.28.85",
    "142.250.72.14",
    "151.101.1.69",
    "104.16.132.229",
    "13.107.42.14",
    "185.199.108.153",
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "203.0.113.12",
    "198.51.100.20",
    "192.0.2.55",
    "20.190.151.7",
    "35.186.224.25",
];
const EXTERNAL_V6: &[&str] = &["2606:4700::6810:84e5", "2a00:1450:4009:81f::200e", "2001:db8:ffff::53"];
/// TCP server ports inside the VPC.
const SERVER_PORTS: &[u64] = &[443, 443, 443, 80, 22, 53, 3306, 5432, 8080, 3389, 123];
/// Server ports of TCP traffic to and from the internet.
const PUBLIC_TCP_PORTS: &[u64] = &[443, 443, 443, 80];

/// One flow record, with every field either log may print.
#[derive(Debug, Clone, Default)]
struct Flow {
    account: String,
    eni: String,
    src: String,
    dst: String,
    srcport: String,
    dstport: String,
    protocol: String,
    packets: String,
    bytes: String,
    start: i64,
    end: i64,
    action: String,
    status: String,
    vpc: String,
    subnet: String,
    instance: String,
    tcp_flags: String,
    kind: String,
    pkt_src: String,
    pkt_dst: String,
    region: String,
    az: String,
    pkt_src_service: String,
    pkt_dst_service: String,
    direction: String,
    traffic_path: String,
}

impl Flow {
    fn default_line(&self) -> String {
        format!(
            "2 {} {} {} {} {} {} {} {} {} {} {} {} {}",
            self.account,
            self.eni,
            self.src,
            self.dst,
            self.srcport,
            self.dstport,
            self.protocol,
            self.packets,
            self.bytes,
            self.start,
            self.end,
            self.action,
            self.status
        )
    }

    fn v5_line(&self) -> String {
        format!(
            "5 {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} - - {} {} {} {} {} {} {} {} {}",
            self.src,
            self.dst,
            self.srcport,
            self.dstport,
            self.protocol,
            self.start,
            self.end,
            self.kind,
            self.packets,
            self.bytes,
            self.account,
            self.vpc,
            self.subnet,
            self.instance,
            self.eni,
            self.region,
            self.az,
            self.action,
            self.tcp_flags,
            self.pkt_src,
            self.pkt_dst,
            self.pkt_src_service,
            self.pkt_dst_service,
            self.traffic_path,
            self.direction,
            self.status
        )
    }
}

struct FlowLog {
    account: &'static str,
    region: &'static str,
    id: &'static str,
    vpc: &'static str,
    hive: bool,
    v5: bool,
    enis: Vec<Eni>,
    /// The VPC's DNS resolver (its base address + 2).
    resolver: &'static str,
}

impl FlowLog {
    fn directory(&self, root: &Path, day: NaiveDate, hour: u32) -> PathBuf {
        let date = day.format("%Y/%m/%d").to_string();
        if self.hive {
            let (y, m, d) = (day.format("%Y"), day.format("%m"), day.format("%d"));
            root.join(format!(
                "aws-account-id={}/aws-service=vpcflowlogs/aws-region={}/year={y}/month={m}/day={d}/hour={hour:02}",
                self.account, self.region
            ))
        } else {
            root.join(format!("{}/vpcflowlogs/{}/{date}", self.account, self.region))
        }
    }

    fn header(&self) -> String {
        if self.v5 { V5_FORMAT.to_string() } else { crate::decode::DEFAULT_FORMAT.join(" ") }
    }

    fn line(&self, flow: &Flow) -> String {
        if self.v5 { flow.v5_line() } else { flow.default_line() }
    }

    /// A background flow ending in `[window, window + 300)`.
    fn background(&self, rng: &mut Rng, window: i64) -> Flow {
        let eni = rng.pick(&self.enis).clone();
        let end = window + rng.range(0, 300) as i64;
        let mut flow = self.base(&eni, end - rng.range(0, 60) as i64, end);
        let roll = rng.range(0, 1000);
        if roll < 8 {
            flow.status = if roll < 6 { "NODATA" } else { "SKIPDATA" }.to_string();
            return flow;
        }
        let v6 = eni.ipv6.is_some() && rng.chance(35);
        let kind = rng.range(0, 100);
        // DNS and NTP go to the VPC's own resolver and time service; TCP inside the VPC to any
        // service port, to and from the internet only to web ports, as a security group that
        // exposes nothing else would allow: the background must not look like an incident.
        let (local, remote, protocol, server_port) = if v6 {
            let local = eni.ipv6.clone().unwrap_or_default();
            match kind {
                0..=79 => (local, rng.pick(EXTERNAL_V6).to_string(), 6, *rng.pick(PUBLIC_TCP_PORTS)),
                80..=94 => {
                    let (resolver, port) = *rng.pick(&[("fd00:ec2::253", 53), ("fd00:ec2::123", 123)]);
                    (local, resolver.to_string(), 17, port)
                }
                _ => (local, rng.pick(EXTERNAL_V6).to_string(), 58, 0),
            }
        } else {
            let inside = rng.chance(30);
            let remote = if inside { rng.pick(&self.enis).ip.clone() } else { rng.pick(EXTERNAL_V4).to_string() };
            match kind {
                0..=79 if inside => (eni.ip.clone(), remote, 6, *rng.pick(SERVER_PORTS)),
                0..=79 => (eni.ip.clone(), remote, 6, *rng.pick(PUBLIC_TCP_PORTS)),
                80..=94 => {
                    let (resolver, port) = *rng.pick(&[(self.resolver, 53), ("169.254.169.123", 123)]);
                    (eni.ip.clone(), resolver.to_string(), 17, port)
                }
                _ => (eni.ip.clone(), remote, 1, 0),
            }
        };
        let client_port = if protocol == 6 || protocol == 17 { rng.range(32768, 61000) } else { 0 };
        let egress = rng.chance(55);
        // Administrators' SSH and RDP sessions are long: short ones are what brute force looks like.
        let packets = if matches!(server_port, 22 | 3389) { rng.range(60, 400) } else { rng.range(1, 400) };
        let bytes = packets * rng.range(40, 1500);
        let accept = rng.chance(92);
        let (src, dst, sport, dport) =
            if egress { (local, remote, client_port, server_port) } else { (remote, local, client_port, server_port) };
        flow.kind = if v6 { "IPv6" } else { "IPv4" }.to_string();
        flow.pkt_src = src.clone();
        flow.pkt_dst = dst.clone();
        if self.v5 && !egress && remote_is_aws_s3(&flow.pkt_src) {
            flow.pkt_src_service = "S3".into();
        }
        if self.v5 && egress && remote_is_aws_s3(&flow.pkt_dst) {
            flow.pkt_dst_service = "S3".into();
        }
        flow.direction = if egress { "egress" } else { "ingress" }.into();
        flow.traffic_path = if egress { rng.pick(&["1", "8", "8", "2"]).to_string() } else { "-".into() };
        flow.src = src;
        flow.dst = dst;
        flow.srcport = sport.to_string();
        flow.dstport = dport.to_string();
        flow.protocol = protocol.to_string();
        flow.packets = packets.to_string();
        flow.bytes = bytes.to_string();
        flow.action = if accept { "ACCEPT" } else { "REJECT" }.into();
        flow.status = "OK".into();
        flow.tcp_flags =
            if protocol == 6 { rng.pick(&["2", "18", "19", "3", "1", "0"]).to_string() } else { "0".into() };
        flow
    }

    /// A flow of `eni` with every value `-` (as in NODATA) but the identity fields.
    fn base(&self, eni: &Eni, start: i64, end: i64) -> Flow {
        let dash = || "-".to_string();
        Flow {
            account: self.account.to_string(),
            eni: eni.id.clone(),
            src: dash(),
            dst: dash(),
            srcport: dash(),
            dstport: dash(),
            protocol: dash(),
            packets: dash(),
            bytes: dash(),
            start,
            end,
            action: dash(),
            status: dash(),
            vpc: self.vpc.to_string(),
            subnet: eni.subnet.clone(),
            instance: eni.instance.clone(),
            tcp_flags: dash(),
            kind: dash(),
            pkt_src: dash(),
            pkt_dst: dash(),
            region: self.region.to_string(),
            az: eni.az.to_string(),
            pkt_src_service: dash(),
            pkt_dst_service: dash(),
            direction: dash(),
            traffic_path: dash(),
        }
    }

    /// A TCP flow with the given ends, for the incidents.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &self,
        eni: &Eni,
        window: i64,
        rng: &mut Rng,
        src: &str,
        dst: &str,
        ports: (u64, u64),
        packets: u64,
        bytes: u64,
        accept: bool,
    ) -> Flow {
        let end = window + rng.range(0, 300) as i64;
        let mut flow = self.base(eni, end - rng.range(0, 30) as i64, end);
        let egress = src == eni.ip;
        flow.src = src.into();
        flow.dst = dst.into();
        flow.pkt_src = src.into();
        flow.pkt_dst = dst.into();
        flow.srcport = ports.0.to_string();
        flow.dstport = ports.1.to_string();
        flow.protocol = "6".into();
        flow.packets = packets.to_string();
        flow.bytes = bytes.to_string();
        flow.action = if accept { "ACCEPT" } else { "REJECT" }.into();
        flow.status = "OK".into();
        flow.kind = "IPv4".into();
        flow.tcp_flags = if accept { "19" } else { "2" }.into();
        flow.direction = if egress { "egress" } else { "ingress" }.into();
        flow.traffic_path = if egress { "8".into() } else { "-".into() };
        flow
    }

    fn eni_with_ip(&self, ip: &str) -> Eni {
        self.enis.iter().find(|e| e.ip == ip).cloned().unwrap_or_else(|| self.enis[0].clone())
    }

    /// The incident flows of day `day_index` in the object of `window`, if any.
    fn incidents(&self, rng: &mut Rng, day_index: u32, object_index: u32, window: i64) -> Vec<Flow> {
        let mut flows = Vec::new();
        if self.v5 {
            return self.v6_incidents(rng, day_index, object_index, window);
        }
        match (day_index, object_index) {
            (0, 1) => {
                // Port scan: one source, many ports on a few hosts, almost all rejected.
                for i in 0..240u64 {
                    let target = &self.enis[(i % 3) as usize];
                    let port = 1 + (i * 37) % 1024;
                    let accept = port == 443 || port == 22;
                    let sport = rng.range(40000, 60000);
                    flows.push(self.tcp(target, window, rng, SCANNER, &target.ip, (sport, port), 1, 44, accept));
                }
            }
            (1, 2) | (1, 3) => {
                // SSH brute force: hundreds of short connections to port 22.
                let target = self.eni_with_ip(BRUTE_FORCE_TARGET);
                for i in 0..200u64 {
                    let accept = i % 10 != 0;
                    let packets = rng.range(8, 24);
                    let (sport, bytes) = (rng.range(32768, 61000), packets * rng.range(90, 200));
                    flows.push(self.tcp(
                        &target,
                        window,
                        rng,
                        BRUTE_FORCER,
                        BRUTE_FORCE_TARGET,
                        (sport, 22),
                        packets,
                        bytes,
                        accept,
                    ));
                }
            }
            (2, 2) => {
                // The malicious address connects in, then data flows out to it.
                let victim = self.eni_with_ip(EXFIL_SOURCE);
                for _ in 0..6 {
                    let port = rng.range(32768, 61000);
                    flows.push(self.tcp(&victim, window, rng, MALICIOUS, EXFIL_SOURCE, (port, 443), 12, 2_400, true));
                    flows.push(self.tcp(&victim, window, rng, EXFIL_SOURCE, MALICIOUS, (443, port), 10, 5_800, true));
                }
            }
            (2, 3) => {
                let victim = self.eni_with_ip(EXFIL_SOURCE);
                for _ in 0..30 {
                    let (packets, sport) = (rng.range(90_000, 110_000), rng.range(32768, 61000));
                    flows.push(self.tcp(
                        &victim,
                        window,
                        rng,
                        EXFIL_SOURCE,
                        MALICIOUS,
                        (sport, 443),
                        packets,
                        packets * 1_400,
                        true,
                    ));
                }
                // One probe from the same address, rejected.
                let sport = rng.range(32768, 61000);
                flows.push(self.tcp(&victim, window, rng, MALICIOUS, EXFIL_SOURCE, (sport, 22), 1, 60, false));
            }
            (0, 4) => {
                // RDP brute force from the internet, mostly stopped by the security group.
                let target = self.eni_with_ip(RDP_TARGET);
                for i in 0..150u64 {
                    let (sport, packets) = (rng.range(32768, 61000), rng.range(3, 12));
                    let accept = i % 5 == 0;
                    flows.push(self.tcp(
                        &target,
                        window,
                        rng,
                        RDP_BRUTE_FORCER,
                        RDP_TARGET,
                        (sport, 3389),
                        packets,
                        packets * 120,
                        accept,
                    ));
                }
            }
            (1, 1) => {
                // The internet finds Elasticsearch open on an interface.
                let target = self.eni_with_ip(PROBED);
                for _ in 0..3 {
                    let sport = rng.range(32768, 61000);
                    flows.push(self.tcp(&target, window, rng, PROBER, PROBED, (sport, 9200), 6, 640, true));
                }
            }
            (1, 4) | (1, 5) => {
                // A miner keeps Stratum connections to its pool open.
                let miner = self.eni_with_ip(MINER);
                for _ in 0..4 {
                    let (sport, packets) = (rng.range(32768, 61000), rng.range(200, 400));
                    flows.push(self.tcp(
                        &miner,
                        window,
                        rng,
                        MINER,
                        MINING_POOL,
                        (sport, 3333),
                        packets,
                        packets * 180,
                        true,
                    ));
                }
            }
            (2, 4) => {
                // An instance brute-forces WinRM on an internet host.
                let actor = self.eni_with_ip(WINRM_ACTOR);
                for _ in 0..120u64 {
                    let (sport, packets) = (rng.range(32768, 61000), rng.range(6, 14));
                    flows.push(self.tcp(
                        &actor,
                        window,
                        rng,
                        WINRM_ACTOR,
                        WINRM_TARGET,
                        (sport, 5985),
                        packets,
                        packets * 150,
                        true,
                    ));
                }
            }
            (2, 5) => {
                // An instance beacons to a command-and-control server on IRC's port.
                let host = self.eni_with_ip(BEACONING);
                for _ in 0..5 {
                    let sport = rng.range(32768, 61000);
                    flows.push(self.tcp(&host, window, rng, BEACONING, C2, (sport, 6667), 9, 1_100, true));
                }
            }
            _ => {}
        }
        flows
    }

    /// The incident flows of the v5 log: an IPv6 threat reaching an interface on 443 (day 2).
    fn v6_incidents(&self, rng: &mut Rng, day_index: u32, object_index: u32, window: i64) -> Vec<Flow> {
        if !self.v5 || (day_index, object_index) != (1, 2) {
            return Vec::new();
        }
        let eni = &self.enis[0];
        let ip = eni.ipv6.clone().unwrap_or_default();
        (0..8)
            .map(|_| {
                let sport = rng.range(32768, 61000);
                let mut flow = self.tcp(eni, window, rng, THREAT_V6, &ip, (sport, 443), 14, 3_900, true);
                flow.kind = "IPv6".into();
                flow
            })
            .collect()
    }
}

fn remote_is_aws_s3(addr: &str) -> bool {
    addr.starts_with("52.95.")
}

/// Writes the corpus of `spec` under `root` (which becomes the `AWSLogs` folder).
pub fn write_corpus(spec: &CorpusSpec, root: &Path) -> io::Result<CorpusSummary> {
    let mut rng = Rng(spec.seed);
    let logs = [
        FlowLog {
            account: "111122223333",
            region: "us-east-1",
            id: "fl-0a1b2c3d4e5f60718",
            vpc: "vpc-0a11b22c33d44e55f",
            hive: false,
            v5: false,
            enis: enis(1, "10.0", false, ["use1-az1", "use1-az2"]),
            resolver: "10.0.0.2",
        },
        FlowLog {
            account: "444455556666",
            region: "eu-west-1",
            id: "fl-0f9e8d7c6b5a49382",
            vpc: "vpc-0f99e88d77c66b55a",
            hive: true,
            v5: true,
            enis: enis(4, "172.31", true, ["euw1-az1", "euw1-az3"]),
            resolver: "172.31.0.2",
        },
    ];
    let mut summary = CorpusSummary::default();
    for day_index in 0..spec.days {
        let day = spec.first_day + chrono::Days::new(u64::from(day_index));
        let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
        for object_index in 0..spec.objects_per_day {
            let offset = i64::from(object_index) * 86_400 / i64::from(spec.objects_per_day.max(1));
            let window = midnight + offset - offset % 300;
            for log in logs.iter().filter(|log| !(spec.default_format_only && log.v5)) {
                let mut text = String::new();
                text.push_str(&log.header());
                text.push('\n');
                let mut flows: Vec<Flow> =
                    (0..spec.records_per_object).map(|_| log.background(&mut rng, window)).collect();
                if spec.incidents {
                    flows.extend(log.incidents(&mut rng, day_index, object_index, window));
                }
                flows.sort_by_key(|f| (f.end, f.start));
                for flow in &flows {
                    text.push_str(&log.line(flow));
                    text.push('\n');
                }
                let hour = (offset / 3600) as u32;
                let dir = log.directory(root, day, hour);
                fs::create_dir_all(&dir)?;
                let stamp = chrono::DateTime::from_timestamp(window, 0).unwrap_or_default().format("%Y%m%dT%H%MZ");
                let name = format!(
                    "{}_vpcflowlogs_{}_{}_{stamp}_{:08x}.log.gz",
                    log.account,
                    log.region,
                    log.id,
                    rng.next() as u32
                );
                let path = dir.join(name);
                let mut gz = GzEncoder::new(Vec::new(), Compression::default());
                gz.write_all(text.as_bytes())?;
                fs::write(&path, gz.finish()?)?;
                summary.records += flows.len() as u64;
                summary.text_bytes += text.len() as u64;
                summary.objects.push(path);
            }
        }
    }
    Ok(summary)
}
