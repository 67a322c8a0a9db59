//! The forensic commands against known truth: the generator injects each incident (src/generate.rs
//! names its addresses), and every detection must find exactly its incidents in the fixtures — with
//! the counts of the flows that make them, read here by the reference reader — and nothing in a
//! corpus of background alone. Timelines are checked bucket by bucket against a fold computed here,
//! and sweeps against the IPv6 and in-CIDR threats the generator injects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Rec, csv, fixtures, flowq, reference_corpus};
use flowq::generate::{self, CorpusSpec, write_corpus};
use flowq::net::{Cidr, INTERNAL_BLOCKS};

fn corpus() -> (String, Vec<Rec>) {
    let dir = fixtures().join("AWSLogs");
    (dir.to_string_lossy().into_owned(), reference_corpus(&dir))
}

/// A finding as the test compares it: detection, severity, source, target, port, flows, bytes.
type Finding = (String, String, String, String, String, usize, i64);

fn finding(detection: &str, severity: &str, source: &str, target: &str, port: &str, flows: &[&Rec]) -> Finding {
    let bytes = flows.iter().map(|r| r.int("bytes").unwrap()).sum();
    (detection.into(), severity.into(), source.into(), target.into(), port.into(), flows.len(), bytes)
}

fn findings(args: &[&str]) -> Vec<Finding> {
    let (header, rows) = csv(&[&["detect"], args].concat());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut got: Vec<Finding> = rows
        .iter()
        .map(|r| {
            let s = |c: &str| r[col(c)].clone();
            (s("detection"), s("severity"), s("source"), s("target"), s("port"), s("flows").parse().unwrap(), {
                s("bytes").parse().unwrap()
            })
        })
        .collect();
    got.sort();
    got
}

#[test]
fn every_detection_finds_its_incidents_and_nothing_else() {
    use generate::*;
    let (path, recs) = corpus();
    let select = |keep: &dyn Fn(&Rec) -> bool| -> Vec<&Rec> { recs.iter().filter(|r| keep(r)).collect() };
    let is = |r: &Rec, column: &str, value: &str| r.get(column) == Some(value);

    let ssh = select(&|r| is(r, "srcaddr", BRUTE_FORCER) && is(r, "dstport", "22"));
    let rdp = select(&|r| is(r, "srcaddr", RDP_BRUTE_FORCER) && is(r, "dstport", "3389"));
    let winrm = select(&|r| is(r, "srcaddr", WINRM_ACTOR) && is(r, "dstaddr", WINRM_TARGET));
    let scan = select(&|r| is(r, "srcaddr", SCANNER));
    let probe = select(&|r| is(r, "srcaddr", PROBER) && is(r, "dstport", "9200"));
    let exfil = select(&|r| is(r, "srcaddr", EXFIL_SOURCE) && is(r, "dstaddr", MALICIOUS) && is(r, "dstport", "443"));
    let mining = select(&|r| is(r, "srcaddr", MINER) && is(r, "dstaddr", MINING_POOL));
    let beacon = select(&|r| is(r, "srcaddr", BEACONING) && is(r, "dstaddr", C2));
    fn open<'a>(flows: &[&'a Rec]) -> Vec<&'a Rec> {
        flows.iter().copied().filter(|r| r.get("action") == Some("ACCEPT")).collect()
    }
    // What the generator injected, as counts (a change to it must be a change here too).
    let counts = [ssh.len(), rdp.len(), winrm.len(), scan.len(), probe.len(), exfil.len(), mining.len(), beacon.len()];
    assert_eq!(counts, [400, 150, 120, 240, 3, 30, 8, 5]);

    let mut want = vec![
        finding("ssh-bruteforce", "low", BRUTE_FORCER, BRUTE_FORCE_TARGET, "22", &ssh),
        finding("rdp-bruteforce", "low", RDP_BRUTE_FORCER, RDP_TARGET, "3389", &rdp),
        finding("winrm-bruteforce", "high", WINRM_ACTOR, WINRM_TARGET, "5985", &winrm),
        finding("port-scan", "low", SCANNER, "10.0.1.12 10.0.1.20 10.0.1.31", "", &scan),
        // The brute forces got through too: ports 22 and 3389 are open to the internet.
        finding("port-probe", "low", BRUTE_FORCER, BRUTE_FORCE_TARGET, "22", &open(&ssh)),
        finding("port-probe", "low", RDP_BRUTE_FORCER, RDP_TARGET, "3389", &open(&rdp)),
        finding("port-probe", "high", PROBER, PROBED, "9200", &probe),
        finding("exfiltration", "medium", EXFIL_SOURCE, MALICIOUS, "", &exfil),
        finding("crypto-mining", "high", MINER, MINING_POOL, "3333", &mining),
        // New outbound ports after the first day: the miner's, the WinRM attacker's, the beacon's.
        finding("unusual-port", "medium", MINER, MINING_POOL, "3333", &mining),
        finding("unusual-port", "medium", WINRM_ACTOR, WINRM_TARGET, "5985", &winrm),
        finding("unusual-port", "medium", BEACONING, C2, "6667", &beacon),
    ];
    want.sort();
    assert_eq!(findings(&["--path", &path]), want);

    // Each detection alone gives its own findings; --flows lists exactly the flows counted.
    let (header, rows) = csv(&["detect", "--flows", "--path", &path]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for detection in ["ssh-bruteforce", "port-scan", "exfiltration", "unusual-port", "port-probe"] {
        let mine: Vec<&Finding> = want.iter().filter(|f| f.0 == detection).collect();
        let alone = findings(&[detection, "--path", &path]);
        assert_eq!(alone.iter().collect::<Vec<_>>(), mine, "{detection}");
        let listed: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("detection")] == detection).collect();
        assert_eq!(listed.len(), mine.iter().map(|f| f.5).sum::<usize>(), "{detection}");
        let bytes: i64 = listed.iter().map(|r| r[col("bytes")].parse::<i64>().unwrap()).sum();
        assert_eq!(bytes, mine.iter().map(|f| f.6).sum::<i64>(), "{detection}");
    }
    let exfil_lines: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r[col("detection")] == "exfiltration")
        .map(|r| (r[col("source")].clone(), r[col("line")].clone()))
        .collect();
    let mut truth: Vec<(String, String)> = exfil.iter().map(|r| (r.source.clone(), r.line.to_string())).collect();
    truth.sort();
    let mut exfil_lines = exfil_lines;
    exfil_lines.sort();
    assert_eq!(exfil_lines, truth);
}

#[test]
fn thresholds_move_the_findings() {
    let (path, _) = corpus();
    let count = |args: &[&str]| findings(&[args, &["--path", &path]].concat()).len();
    // 400 attempts, at most ~190 in one hour.
    assert_eq!(count(&["ssh-bruteforce", "--min-attempts", "150"]), 1);
    assert_eq!(count(&["ssh-bruteforce", "--min-attempts", "300"]), 0);
    assert_eq!(count(&["ssh-bruteforce", "--min-attempts", "300", "--window", "1d"]), 1);
    // ~4.2 GB in one window.
    assert_eq!(count(&["exfiltration", "--min-bytes", "4GB"]), 1);
    assert_eq!(count(&["exfiltration", "--min-bytes", "5GB"]), 0);
    assert_eq!(count(&["exfiltration", "--min-bytes", "100MB"]), 1);
    // 3333 is a mining port unless the list says otherwise.
    assert_eq!(count(&["crypto-mining", "--mining-ports", "4444,14444"]), 0);
    assert_eq!(count(&["port-probe", "--probe-ports", "9200"]), 1);
    // Internal is what --internal says: with only a block the fixtures do not use, no address is
    // internal and nothing goes out; with the VPC's own block, the miner is back.
    assert_eq!(count(&["crypto-mining", "--internal", "192.168.0.0/16"]), 0);
    assert_eq!(count(&["crypto-mining", "--internal", "10.0.0.0/16"]), 1);
    let (_, rows) =
        csv(&["timeline", "eni-0100a1b2c3d4e5f6", "--every", "1d", "--internal", "192.168.0.0/16", "--path", &path]);
    assert!(!rows.is_empty() && rows.iter().all(|r| r[1] == "unknown"), "{rows:?}");
    // A baseline of the whole three days leaves nothing new.
    assert_eq!(count(&["unusual-port", "--baseline", "4d"]), 0);
    // The scan touched 240 ports, 231 of them within one hour.
    assert_eq!(count(&["port-scan", "--min-ports", "231"]), 1);
    assert_eq!(count(&["port-scan", "--min-ports", "232"]), 0);
    assert_eq!(count(&["port-scan", "--min-ports", "232", "--window", "1d"]), 1);

    for (args, message) in [
        (&["detect", "nope"][..], "no detection named \"nope\""),
        (&["detect", "port-scan", "--min-attempts", "5"], "--min-attempts applies to ssh-bruteforce"),
        (&["detect", "--window", "soon"], "--window \"soon\" is not a duration"),
        (&["detect", "--min-bytes", "lots"], "--min-bytes \"lots\" is not a size"),
        (&["detect", "--probe-ports", "22,99999"], "--probe-ports"),
        (&["detect", "--min-attempts", "0"], "--min-attempts \"0\" is not a count"),
        (&["detect", "--columns", "srcaddr"], "--columns applies to detect --flows"),
    ] {
        flowq().args(args).args(["--path", &path]).assert().code(2).stderr(predicates::str::contains(message));
    }
}

#[test]
fn the_benign_background_holds_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec { incidents: false, objects_per_day: 8, records_per_object: 2000, ..CorpusSpec::default() };
    let summary = write_corpus(&spec, dir.path()).unwrap();
    assert!(summary.records > 90_000);
    let path = dir.path().to_string_lossy().into_owned();
    assert_eq!(findings(&["--path", &path]), Vec::<Finding>::new());
}

/// Which way a flow went, relative to the entity, as `queries/timeline.sql` documents it.
fn direction(r: &Rec, block: Option<&Cidr>) -> &'static str {
    let inside = |column: &str, cidr: &Cidr| r.get(column).is_some_and(|a| cidr.contains_str(a));
    match block {
        Some(cidr) => {
            let sent = inside("srcaddr", cidr) || inside("pkt_srcaddr", cidr);
            let received = inside("dstaddr", cidr) || inside("pkt_dstaddr", cidr);
            match (sent, received) {
                (true, true) => "both",
                (true, false) => "outbound",
                _ => "inbound",
            }
        }
        None => match r.get("flow_direction") {
            Some("ingress") => "inbound",
            Some("egress") => "outbound",
            _ => {
                let internal =
                    |column: &str| INTERNAL_BLOCKS.iter().any(|b| inside(column, &b.parse::<Cidr>().unwrap()));
                match (internal("srcaddr"), internal("dstaddr")) {
                    (false, true) => "inbound",
                    (true, false) => "outbound",
                    (true, true) => "internal",
                    (false, false) => "unknown",
                }
            }
        },
    }
}

#[test]
fn timeline_buckets_add_up_exactly_to_the_flows() {
    let (path, recs) = corpus();
    let cases: [(&str, &str, i64); 5] = [
        (generate::MALICIOUS, "5m", 300),
        ("10.0.1.0/24", "1d", 86_400),
        ("eni-0400a1b2c3d4e5f6", "1h", 3600),
        ("i-0401f00dfeedbeef1", "6h", 6 * 3600),
        ("2001:db8:4:1::/64", "7m", 420),
    ];
    for (entity, every, seconds) in cases {
        let block: Option<Cidr> = entity.parse().ok();
        let mine: Vec<&Rec> = recs
            .iter()
            .filter(|r| r.get("bytes").is_some())
            .filter(|r| match &block {
                Some(cidr) => ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"]
                    .iter()
                    .any(|c| r.get(c).is_some_and(|a| cidr.contains_str(a))),
                None if entity.starts_with("eni-") => r.get("interface_id") == Some(entity),
                None => r.get("instance_id") == Some(entity),
            })
            .collect();
        assert!(mine.len() > 10, "{entity}: {} flows", mine.len());
        // (bucket, direction, action) → flows started, flows active, bytes, packets.
        let mut want: BTreeMap<(i64, String, String), [i128; 4]> = BTreeMap::new();
        for r in &mine {
            let start = r.int("start").unwrap();
            // A record over more than an hour, or ending before it starts, is damaged: it counts
            // whole in the bucket of its start.
            let end = r.int("end").unwrap();
            let end = if (0..=3600).contains(&(end - start)) { end } else { start };
            let d = i128::from((end - start).max(0));
            let (bytes, packets) = (i128::from(r.int("bytes").unwrap()), i128::from(r.int("packets").unwrap()));
            let last = (end - 1).max(start).div_euclid(seconds);
            for k in start.div_euclid(seconds)..=last {
                let lo = i128::from(start.max(k * seconds));
                let hi = i128::from(end.max(start).min((k + 1) * seconds));
                let s = i128::from(start);
                let share = |v: i128| if d == 0 { v } else { v * (hi - s) / d - v * (lo - s) / d };
                let key = (k * seconds, direction(r, block.as_ref()).to_string(), r.get("action").unwrap().to_string());
                let sums = want.entry(key).or_default();
                sums[0] += i128::from(k == start.div_euclid(seconds));
                sums[1] += 1;
                sums[2] += share(bytes);
                sums[3] += share(packets);
            }
        }
        let want: Vec<Vec<String>> = want
            .into_iter()
            .map(|((bucket, direction, action), sums)| {
                [bucket.to_string(), direction, action].into_iter().chain(sums.iter().map(|v| v.to_string())).collect()
            })
            .collect();
        let (header, got) = csv(&["timeline", entity, "--every", every, "--path", &path]);
        assert_eq!(header, ["bucket", "direction", "action", "flows", "active_flows", "bytes", "packets"]);
        assert_eq!(got, want, "{entity} every {every}");
        // The buckets add up to the flows' own totals.
        let total = |i: usize| got.iter().map(|r| r[i].parse::<i64>().unwrap()).sum::<i64>();
        assert_eq!(total(3), mine.len() as i64, "{entity}");
        assert_eq!(total(5), mine.iter().map(|r| r.int("bytes").unwrap()).sum::<i64>(), "{entity}");
        assert_eq!(total(6), mine.iter().map(|r| r.int("packets").unwrap()).sum::<i64>(), "{entity}");
        assert!(got.len() > 1 && want.iter().any(|r| r[4] != r[3]), "{entity}: a flow spans buckets");
    }
    // Damaged records (an end far in the future, an end before the start) count whole, once.
    let dir = tempfile::tempdir().unwrap();
    let records = "2 123456789012 eni-0abc 10.9.0.5 198.51.100.9 50000 443 6 10 1000 1709251200 9223372036854775000 ACCEPT OK\n\
                   2 123456789012 eni-0abc 10.9.0.5 198.51.100.9 50001 443 6 20 2000 1709251200 1709251100 ACCEPT OK\n\
                   2 123456789012 eni-0abc 10.9.0.5 198.51.100.9 50002 443 6 30 3000 1709251230 1709251290 ACCEPT OK\n";
    std::fs::write(dir.path().join("damaged.log"), records).unwrap();
    let (_, rows) = csv(&["timeline", "10.9.0.5", "--every", "1m", "--path", &dir.path().to_string_lossy()]);
    let want = [
        ["1709251200", "outbound", "ACCEPT", "3", "3", "4500", "45"],
        ["1709251260", "outbound", "ACCEPT", "0", "1", "1500", "15"],
    ];
    assert_eq!(rows, want.map(|r| r.map(str::to_string).to_vec()).to_vec());

    // An instance the logs do not name: no rows, and a word on why.
    flowq()
        .args(["timeline", "i-0123456789abcdef0", "--path", &path])
        .assert()
        .success()
        .stderr(predicates::str::contains("no flow of i-0123456789abcdef0 in what was read (instances are found only"));

    for (args, message) in [
        (&["timeline", "example.com"][..], "is not an address, CIDR block, interface or instance id"),
        (&["timeline", "10.0.0.1", "--every", "0m"], "--every \"0m\" is not a span"),
    ] {
        flowq().args(args).args(["--path", &path]).assert().code(2).stderr(predicates::str::contains(message));
    }
}

#[test]
fn sweep_finds_the_ipv6_threat_and_the_one_inside_a_block() {
    let (path, recs) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("threats.txt");
    std::fs::write(&list, format!("# injected threats\n{}\n198.51.100.128/25\n", generate::THREAT_V6)).unwrap();
    let (header, rows) = csv(&["sweep", "--ioc", &list.to_string_lossy(), "--path", &path]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let hits = |indicator: &str| -> Vec<(String, String, String)> {
        rows.iter()
            .filter(|r| r[col("indicator")] == indicator)
            .map(|r| (r[col("matched")].clone(), r[col("direction")].clone(), r[col("srcaddr")].clone()))
            .collect()
    };
    let v6 = recs.iter().filter(|r| r.get("srcaddr") == Some(generate::THREAT_V6)).count();
    let prober = recs.iter().filter(|r| r.get("srcaddr") == Some(generate::PROBER)).count();
    assert_eq!((v6, prober), (8, 3));
    let want = |n: usize, matched: &str, source: &str| {
        vec![(matched.to_string(), "inbound".to_string(), source.to_string()); n]
    };
    assert_eq!(hits(generate::THREAT_V6), want(v6, "srcaddr pkt_srcaddr", generate::THREAT_V6));
    assert_eq!(hits("198.51.100.128/25"), want(prober, "srcaddr", generate::PROBER));
    assert_eq!(rows.len(), v6 + prober);
}

/// A sweep of one port over many hosts is Impact:EC2/PortSweep, with the port it swept; an instance
/// sweeping is high severity (GuardDuty's).
#[test]
fn a_port_sweep_names_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for host in 0..120 {
        let start = 1_709_280_000 + host * 10;
        text.push_str(&format!(
            "2 111122223333 eni-0a1b2c3d4e5f60718 10.0.3.7 10.0.{}.{} {} 23 6 1 44 {start} {} REJECT OK\n",
            1 + host / 100,
            10 + host % 100,
            40_000 + host,
            start + 30
        ));
    }
    std::fs::write(dir.path().join("sweep.log"), text).unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let (header, rows) = csv(&["detect", "port-scan", "--path", &path]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        (&*row[col("finding")], &*row[col("severity")], &*row[col("source")], &*row[col("target")], &*row[col("port")]),
        ("Impact:EC2/PortSweep", "high", "10.0.3.7", "120 hosts", "23")
    );
    assert_eq!(row[col("flows")], "120");
}
