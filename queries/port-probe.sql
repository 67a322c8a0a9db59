-- name: port-probe
-- answers: Unprotected ports: connections from the internet that were accepted on a port that should not be exposed to it (remote administration, databases, caches, search engines, container and cluster managers) — the port is open to whoever probes it.
-- athena: none (GuardDuty's Recon:EC2/PortProbeUnprotectedPort, PortProbeEMRUnprotectedPort)
-- param: probe_ports 22,23,135,139,445,1433,1521,2375,2376,3306,3389,5432,5900,5984,5985,5986,6379,8088,9200,9300,11211,27017 The ports that should not be reachable from the internet.
-- kind: detection
-- size: all
-- notes: One finding per target address and port: every accepted TCP flow to it from an address outside the internal blocks (see is_internal) that arrived at an internal address or, in formats v5+, was logged as ingress, and whose destination port is below its source port (the connecting side: a reply to an ephemeral port that happens to be on the list is not a probe). GuardDuty also requires the source to be on its threat intelligence; this reports every internet source, and the source column names it (or the sources, up to three, else their count). Severity follows GuardDuty: high for Elasticsearch (9200, 9300) and EMR (8088), else low.
SELECT * FROM flows
WHERE action = 'ACCEPT' AND protocol = 6 AND array_has($probe_ports, dstport) AND dstport < srcport
  AND NOT is_internal(srcaddr) AND (is_internal(dstaddr) OR flow_direction = 'ingress')
-- findings:
SELECT CASE WHEN dstport = 8088 THEN 'Recon:EC2/PortProbeEMRUnprotectedPort' ELSE 'Recon:EC2/PortProbeUnprotectedPort' END AS finding,
       CASE WHEN dstport IN (8088, 9200, 9300) THEN 'high' ELSE 'low' END AS severity,
       CASE WHEN count(DISTINCT srcaddr) <= 3 THEN array_to_string(array_sort(array_agg(DISTINCT srcaddr)), ' ')
            ELSE concat(count(DISTINCT srcaddr), ' sources') END AS source,
       dstaddr AS target, dstport AS port,
       min(start) AS first_seen, max("end") AS last_seen, count(*) AS flows,
       count(*) AS accepted, 0 AS rejected, sum(bytes) AS bytes, sum(packets) AS packets,
       concat(count(*), ' accepted connections to ', dstport, '/tcp from the internet; sources: ',
              count(DISTINCT srcaddr)) AS evidence
FROM evidence
GROUP BY dstaddr, dstport
