-- name: port-scan
-- answers: Port scans and sweeps: a source that probed many destination ports, or one port on many hosts, within one window — inbound reconnaissance from the internet, or an instance scanning (GuardDuty's findings are for an instance that scans).
-- athena: none (GuardDuty's Recon:EC2/Portscan and Impact:EC2/PortSweep)
-- param: min_ports 50 Distinct destination ports probed by one source within one window that make a finding.
-- param: min_hosts 100 Distinct hosts probed on one port by one source within one window that make a finding.
-- param: window 3600 The window, in seconds (--window takes 10m, 1h, 1d, …); windows are aligned to the clock (00:00, 01:00, … for an hour).
-- param: probe_packets 3 A probe is a TCP or UDP flow of at most this many packets whose destination port is below its source port (the connecting side: a server's replies are not probes).
-- kind: detection
-- size: all
-- notes: One finding per source, over the windows in which it reached either threshold and the window either side of each (so that a scan across a window's edge is whole); its counts and --flows cover the probes of those windows. Recon:EC2/Portscan when it reached the port threshold, else Impact:EC2/PortSweep (one port on many hosts). Severity: low for a source on the internet (reconnaissance against you), medium for an instance that scans ports, high for one that sweeps hosts (GuardDuty's). The target is the host, or the hosts when there are at most three, else their count. The port of a PortSweep finding is the port swept, when every probe counted was on it.
WITH probes AS (
  SELECT * FROM flows WHERE protocol IN (6, 17) AND packets <= $probe_packets AND dstport < srcport
)
SELECT p.*
FROM (SELECT DISTINCT srcaddr, slot + side AS slot
      FROM (SELECT srcaddr, slot FROM (SELECT srcaddr, start / $window AS slot, dstport, count(DISTINCT dstaddr) AS hosts
                                       FROM probes GROUP BY srcaddr, start / $window, dstport) AS per_port
            GROUP BY srcaddr, slot HAVING count(*) >= $min_ports OR max(hosts) >= $min_hosts) AS windows
      CROSS JOIN (VALUES (-1), (0), (1)) AS sides(side)) AS busy
JOIN probes AS p ON p.srcaddr = busy.srcaddr AND p.start / $window = busy.slot
-- findings:
SELECT CASE WHEN max(ports) >= $min_ports THEN 'Recon:EC2/Portscan' ELSE 'Impact:EC2/PortSweep' END AS finding,
       CASE WHEN NOT is_internal(srcaddr) THEN 'low' WHEN max(ports) >= $min_ports THEN 'medium' ELSE 'high' END AS severity,
       srcaddr AS source,
       CASE WHEN cardinality(array_distinct(flatten(array_agg(hosts)))) <= 3
            THEN array_to_string(array_sort(array_distinct(flatten(array_agg(hosts)))), ' ')
            ELSE concat(cardinality(array_distinct(flatten(array_agg(hosts)))), ' hosts') END AS target,
       CAST(CASE WHEN max(ports) < $min_ports AND min(low_port) = max(high_port) THEN min(low_port) END AS INT) AS port,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(n) AS flows,
       sum(accepted) AS accepted, sum(rejected) AS rejected, sum(bytes) AS bytes, sum(packets) AS packets,
       concat(sum(n), ' probes, ', sum(rejected), ' rejected; at most ', max(ports), ' ports and ', max(cardinality(hosts)),
              ' hosts in one window of ', $window, ' s') AS evidence
FROM (SELECT srcaddr, count(*) AS n, count(DISTINCT dstport) AS ports, array_agg(DISTINCT dstaddr) AS hosts,
             min(dstport) AS low_port, max(dstport) AS high_port,
             min(start) AS first_seen, max("end") AS last_seen,
             count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
             sum(bytes) AS bytes, sum(packets) AS packets
      FROM evidence GROUP BY srcaddr, start / $window) AS windows
GROUP BY srcaddr
