-- name: top-talkers
-- answers: The addresses with the most traffic: each address seen as srcaddr or dstaddr, ranked by the bytes of every flow it is an endpoint of (a flow counts for both of its endpoints).
-- athena: VpcFlowLogsTopTalkers
-- params: none
-- kind: ranking
-- size: 50
-- notes: Athena's query sums a UNION ALL of dstaddr and srcaddr; this is the same sum in one scan. Rows without an address (NODATA, SKIPDATA) are left out instead of ranking as NULL. Ties are broken by ip.
SELECT ip, SUM(b) AS bytes, SUM(p) AS packets, COUNT(*) AS flows
FROM (SELECT unnest(make_array(srcaddr, dstaddr)) AS ip, bytes AS b, packets AS p FROM flows) AS endpoints
WHERE ip IS NOT NULL
GROUP BY ip
ORDER BY bytes DESC, ip ASC
