-- name: winrm-bruteforce
-- answers: WinRM brute force: a source that made many short TCP connections to port 5985 or 5986 (Windows Remote Management over HTTP, HTTPS) of one target within one window, in either direction (GuardDuty's finding is for an instance that attacks).
-- athena: none (GuardDuty's Impact:EC2/WinRMBruteForce)
-- param: min_attempts 20 Attempts by one source on one target and port within one window that make a finding.
-- param: window 3600 The window, in seconds (--window takes 10m, 1h, 1d, …); windows are aligned to the clock (00:00, 01:00, … for an hour).
-- param: max_packets 50 An attempt is a TCP flow of at most this many packets; a longer one is a session, not a try.
-- kind: detection
-- size: all
-- notes: One finding per source, target and port that had a busy window; its counts cover every attempt of that pair on that port in the flows read, and --flows lists exactly those attempts. Severity follows GuardDuty: high when the source is internal (an instance is the attacker), low when the instance is the target. The ports are the standard WinRM ports (GuardDuty's documentation does not name them).
WITH attempts AS (
  SELECT * FROM flows WHERE protocol = 6 AND dstport IN (5985, 5986) AND packets <= $max_packets
)
SELECT a.*
FROM (SELECT DISTINCT srcaddr, dstaddr, dstport
      FROM (SELECT srcaddr, dstaddr, dstport FROM attempts
            GROUP BY srcaddr, dstaddr, dstport, start / $window HAVING count(*) >= $min_attempts) AS windows) AS busy
JOIN attempts AS a ON a.srcaddr = busy.srcaddr AND a.dstaddr = busy.dstaddr AND a.dstport = busy.dstport
-- findings:
SELECT 'Impact:EC2/WinRMBruteForce' AS finding,
       CASE WHEN is_internal(srcaddr) THEN 'high' ELSE 'low' END AS severity,
       srcaddr AS source, dstaddr AS target, dstport AS port,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(n) AS flows,
       sum(accepted) AS accepted, sum(rejected) AS rejected, sum(bytes) AS bytes, sum(packets) AS packets,
       concat(sum(n), ' attempts on ', dstport, '/tcp, ', sum(rejected), ' rejected; at most ', max(n),
              ' in one window of ', $window, ' s') AS evidence
FROM (SELECT srcaddr, dstaddr, dstport, count(*) AS n, min(start) AS first_seen, max("end") AS last_seen,
             count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
             sum(bytes) AS bytes, sum(packets) AS packets
      FROM evidence GROUP BY srcaddr, dstaddr, dstport, start / $window) AS windows
GROUP BY srcaddr, dstaddr, dstport
