-- name: rejected-tcp
-- answers: The source addresses with the most rejected TCP flows, with how many destinations and ports they tried and when.
-- athena: VpcFlowLogsRejectedTCPTraffic, and the VPC guide's "IP addresses with the most rejected TCP connections"
-- params: none
-- kind: ranking
-- size: 10
-- notes: Athena's query lists rejected TCP flows; this ranks their sources by count, as CloudWatch Contributor Insights' "Rejected TCP connections" rule does. first_seen is the earliest start, last_seen the latest end (epoch seconds). Ties are broken by srcaddr. The rejection is tested last: when the left side of an AND holds for few rows, DataFusion copies every column of the batch for those rows to test the right side on them, which on a Parquet copy costs more than testing protocol and srcaddr on every row (40 M records: 1.10-1.21 -> 0.86-0.99 CPU-s, the same answer). On text logs the order makes no difference: lines without REJECT, or of another protocol, are not loaded.
SELECT srcaddr,
       COUNT(*) AS rejected_flows,
       COUNT(DISTINCT dstaddr) AS distinct_dstaddrs,
       COUNT(DISTINCT dstport) AS distinct_dstports,
       MIN(start) AS first_seen,
       MAX("end") AS last_seen
FROM flows
WHERE protocol = 6 AND srcaddr IS NOT NULL AND action = 'REJECT'
GROUP BY srcaddr
ORDER BY rejected_flows DESC, srcaddr ASC
