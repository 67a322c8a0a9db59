-- name: top-pairs-pkt
-- answers: The packet-level (pkt_srcaddr, pkt_dstaddr) pairs with the most bytes.
-- athena: VpcFlowLogsTotalBytesTransferredPacketLevel
-- params: none
-- kind: ranking
-- size: 50
-- notes: Ranked descending, as the description says (see top-pairs). Rows missing either address are left out. Ties are broken by pkt_srcaddr, pkt_dstaddr.
SELECT pkt_srcaddr, pkt_dstaddr, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows
FROM flows
WHERE pkt_srcaddr IS NOT NULL AND pkt_dstaddr IS NOT NULL
GROUP BY pkt_srcaddr, pkt_dstaddr
ORDER BY bytes DESC, pkt_srcaddr ASC, pkt_dstaddr ASC
