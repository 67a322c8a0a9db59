-- name: unusual-port
-- answers: New outbound ports: an internal address connecting to external addresses on a port (and protocol) it never connected to during the baseline, the first part of the flows read.
-- athena: none (GuardDuty's Behavior:EC2/NetworkPortUnusual)
-- param: baseline 86400 The baseline, in seconds from the earliest outbound connection among the flows read (--baseline takes 12h, 7d, …).
-- kind: detection
-- size: all
-- notes: A connection is an outbound TCP or UDP flow (destination outside the internal blocks, source inside them or logged as egress) whose destination port is below its source port (the connecting side: replies of a server are left out). Only addresses that connected out during the baseline are judged; a port they first used after it is a finding, with every such flow after the baseline in its counts and --flows. The baseline is taken from the flows read, so --since moves it: read enough history before the days in question. Severity medium, as GuardDuty's.
WITH outbound AS (
  SELECT * FROM flows
  WHERE protocol IN (6, 17) AND dstport < srcport
    AND NOT is_internal(dstaddr) AND (is_internal(srcaddr) OR flow_direction = 'egress')
),
ports AS (
  SELECT srcaddr, protocol, dstport, min(start) AS first_used FROM outbound GROUP BY srcaddr, protocol, dstport
),
new AS (
  SELECT srcaddr, protocol, dstport
  FROM (SELECT srcaddr, protocol, dstport, first_used, min(first_used) OVER () + $baseline AS cut,
               min(first_used) OVER (PARTITION BY srcaddr) AS host_first
        FROM ports) AS marked
  WHERE host_first < cut AND first_used >= cut
)
SELECT o.* FROM new JOIN outbound AS o
  ON o.srcaddr = new.srcaddr AND o.protocol = new.protocol AND o.dstport = new.dstport
-- findings:
SELECT 'Behavior:EC2/NetworkPortUnusual' AS finding, 'medium' AS severity,
       srcaddr AS source,
       CASE WHEN count(DISTINCT dstaddr) <= 3 THEN array_to_string(array_sort(array_agg(DISTINCT dstaddr)), ' ')
            ELSE concat(count(DISTINCT dstaddr), ' hosts') END AS target,
       dstport AS port,
       min(start) AS first_seen, max("end") AS last_seen, count(*) AS flows,
       count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
       sum(bytes) AS bytes, sum(packets) AS packets,
       concat(count(*), ' connections to ', dstport, CASE protocol WHEN 6 THEN '/tcp' ELSE '/udp' END,
              ', a port not used in the baseline (', $baseline, ' s)') AS evidence
FROM evidence
GROUP BY srcaddr, protocol, dstport
