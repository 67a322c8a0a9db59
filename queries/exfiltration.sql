-- name: exfiltration
-- answers: Large outbound transfers: an internal address that sent at least a threshold of bytes, in accepted flows, to one external address within one window.
-- athena: none (GuardDuty's Behavior:EC2/TrafficVolumeUnusual)
-- param: min_bytes 1000000000 Bytes sent from one internal address to one external address within one window that make a finding (--min-bytes takes 500MB, 2GiB, …).
-- param: window 3600 The window, in seconds (--window takes 10m, 1h, 1d, …); windows are aligned to the clock (00:00, 01:00, … for an hour).
-- kind: detection
-- size: all
-- notes: Outbound means the destination is outside the internal blocks (see is_internal) and the source is inside them or, in formats v5+, the flow was logged as egress. One finding per source and destination, over the windows that reached the threshold and the window either side of each (so that a transfer across a window's edge is whole); its counts and --flows cover the accepted flows of those windows (the bytes of a rejected flow never left). Windows are aligned to the clock: a transfer split by an edge reaches the threshold only if one side of it does. GuardDuty compares with each instance's own history; this is a fixed threshold, so raise it for hosts that back up to the internet. Severity medium, as GuardDuty's.
WITH outbound AS (
  SELECT * FROM flows
  WHERE action = 'ACCEPT' AND NOT is_internal(dstaddr) AND (is_internal(srcaddr) OR flow_direction = 'egress')
)
SELECT o.*
FROM (SELECT DISTINCT srcaddr, dstaddr, slot + side AS slot
      FROM (SELECT srcaddr, dstaddr, start / $window AS slot FROM outbound
            GROUP BY srcaddr, dstaddr, start / $window HAVING sum(bytes) >= $min_bytes) AS windows
      CROSS JOIN (VALUES (-1), (0), (1)) AS sides(side)) AS busy
JOIN outbound AS o ON o.srcaddr = busy.srcaddr AND o.dstaddr = busy.dstaddr AND o.start / $window = busy.slot
-- findings:
SELECT 'Behavior:EC2/TrafficVolumeUnusual' AS finding, 'medium' AS severity,
       srcaddr AS source, dstaddr AS target, CAST(NULL AS INT) AS port,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(n) AS flows,
       sum(accepted) AS accepted, sum(rejected) AS rejected, sum(bytes) AS bytes, sum(packets) AS packets,
       concat(sum(bytes), ' bytes out; at most ', max(bytes), ' in one window of ', $window, ' s') AS evidence
FROM (SELECT srcaddr, dstaddr, count(*) AS n, min(start) AS first_seen, max("end") AS last_seen,
             count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
             sum(bytes) AS bytes, sum(packets) AS packets
      FROM evidence GROUP BY srcaddr, dstaddr, start / $window) AS windows
GROUP BY srcaddr, dstaddr
