-- name: rejected-tcp
-- answers: The source addresses with the most rejected TCP flows, with how many destinations and ports they tried and when.
-- athena: VpcFlowLogsRejectedTCPTraffic, and the VPC guide's "IP addresses with the most rejected TCP connections"
-- params: none
-- kind: ranking
-- size: 10
-- notes: Athena's query lists rejected TCP flows; this ranks their sources by count, as CloudWatch Contributor Insights' "Rejected TCP connections" rule does. first_seen is the earliest start, last_seen the latest end (epoch seconds). Ties are broken by srcaddr.
SELECT srcaddr,
       COUNT(*) AS rejected_flows,
       COUNT(DISTINCT dstaddr) AS distinct_dstaddrs,
       COUNT(DISTINCT dstport) AS distinct_dstports,
       MIN(start) AS first_seen,
       MAX("end") AS last_seen
FROM flows
WHERE action = 'REJECT' AND protocol = 6 AND srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY rejected_flows DESC, srcaddr ASC
