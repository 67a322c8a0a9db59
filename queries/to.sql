-- name: to
-- answers: Every flow whose dstaddr is the address or inside the CIDR block.
-- athena: VpcFlowLogsTrafficToDstAddr
-- params: $cidr (ADDR|CIDR, IPv4 or IPv6)
-- kind: listing
-- size: all
-- notes: Athena's query compares dstaddr for equality; a CIDR block works here too. Ordered by start, end, source, line.
SELECT * FROM flows
WHERE cidr_contains($cidr, dstaddr)
ORDER BY start, "end", source, line
