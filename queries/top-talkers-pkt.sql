-- name: top-talkers-pkt
-- answers: The packet-level addresses with the most traffic: each address seen as pkt_srcaddr or pkt_dstaddr, ranked by the bytes of every flow it is an endpoint of (a flow counts for both of its endpoints).
-- athena: VpcFlowLogsTopTalkersPacketLevel
-- params: none
-- kind: ranking
-- size: 50
-- notes: Athena's query sums a UNION ALL of pkt_dstaddr and pkt_srcaddr; this is the same sum in one scan. Rows without an address (NODATA, SKIPDATA) are left out instead of ranking as NULL. Ties are broken by ip.
SELECT ip, SUM(b) AS bytes, SUM(p) AS packets, COUNT(*) AS flows
FROM (SELECT unnest(make_array(pkt_srcaddr, pkt_dstaddr)) AS ip, bytes AS b, packets AS p FROM flows) AS endpoints
WHERE ip IS NOT NULL
GROUP BY ip
ORDER BY bytes DESC, ip ASC
