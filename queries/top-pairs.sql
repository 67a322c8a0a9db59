-- name: top-pairs
-- answers: The (srcaddr, dstaddr) pairs with the most bytes.
-- athena: VpcFlowLogsTotalBytesTransferred
-- params: none
-- kind: ranking
-- size: 50
-- notes: Athena's predefined query sorts ascending (ORDER BY totalbytes), returning the 50 smallest pairs, against its own description; this one ranks descending as described. Rows missing either address are left out. Ties are broken by srcaddr, dstaddr.
SELECT srcaddr, dstaddr, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows
FROM flows
WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr ASC, dstaddr ASC
