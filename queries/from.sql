-- name: from
-- answers: Every flow whose srcaddr is the address or inside the CIDR block.
-- athena: VpcFlowLogsTrafficFrmSrcAddr (with --protocol tcp: VpcFlowLogsTopTCPTraffic)
-- params: $cidr (ADDR|CIDR, IPv4 or IPv6)
-- kind: listing
-- size: all
-- notes: Athena's query compares srcaddr for equality; a CIDR block works here too. Ordered by start, end, source, line.
SELECT * FROM flows
WHERE cidr_contains($cidr, srcaddr)
ORDER BY start, "end", source, line
