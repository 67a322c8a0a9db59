-- name: rdp-bruteforce
-- answers: RDP brute force: a source that made many short TCP connections to port 3389 of one target within one window, in either direction (an instance attacked from the internet, or attacking).
-- athena: none (GuardDuty's UnauthorizedAccess:EC2/RDPBruteForce)
-- param: min_attempts 20 Attempts by one source on one target within one window that make a finding.
-- param: window 3600 The window, in seconds (--window takes 10m, 1h, 1d, …); windows are aligned to the clock (00:00, 01:00, … for an hour).
-- param: max_packets 50 An attempt is a TCP flow of at most this many packets; a longer one is a session, not a try.
-- kind: detection
-- size: all
-- notes: One finding per source and target that had a busy window; its counts cover every attempt of that pair in the flows read, not just the busy windows, and --flows lists exactly those attempts. Severity follows GuardDuty: high when the source is internal (an instance is the attacker), low when the instance is the target. Accepted attempts reached the service (the port is open to the source); rejected ones were stopped by a security group or network ACL.
WITH attempts AS (
  SELECT * FROM flows WHERE protocol = 6 AND dstport = 3389 AND packets <= $max_packets
)
SELECT a.*
FROM (SELECT DISTINCT srcaddr, dstaddr
      FROM (SELECT srcaddr, dstaddr FROM attempts
            GROUP BY srcaddr, dstaddr, start / $window HAVING count(*) >= $min_attempts) AS windows) AS busy
JOIN attempts AS a ON a.srcaddr = busy.srcaddr AND a.dstaddr = busy.dstaddr
-- findings:
SELECT 'UnauthorizedAccess:EC2/RDPBruteForce' AS finding,
       CASE WHEN is_internal(srcaddr) THEN 'high' ELSE 'low' END AS severity,
       srcaddr AS source, dstaddr AS target, 3389 AS port,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(n) AS flows,
       sum(accepted) AS accepted, sum(rejected) AS rejected, sum(bytes) AS bytes, sum(packets) AS packets,
       concat(sum(n), ' attempts on 3389/tcp, ', sum(rejected), ' rejected; at most ', max(n), ' in one window of ',
              $window, ' s') AS evidence
FROM (SELECT srcaddr, dstaddr, count(*) AS n, min(start) AS first_seen, max("end") AS last_seen,
             count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
             sum(bytes) AS bytes, sum(packets) AS packets
      FROM evidence GROUP BY srcaddr, dstaddr, start / $window) AS windows
GROUP BY srcaddr, dstaddr
