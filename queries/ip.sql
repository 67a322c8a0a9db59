-- name: ip
-- answers: Every flow to or from an address or CIDR block: srcaddr, dstaddr, pkt_srcaddr or pkt_dstaddr matches (the malicious-IP question).
-- athena: none (the GuardDuty MaliciousIPCaller playbook question)
-- params: $cidr (ADDR|CIDR, IPv4 or IPv6)
-- kind: listing
-- size: all
-- notes: Ordered by start, end, source, line.
SELECT * FROM flows
WHERE cidr_contains($cidr, srcaddr) OR cidr_contains($cidr, dstaddr)
   OR cidr_contains($cidr, pkt_srcaddr) OR cidr_contains($cidr, pkt_dstaddr)
ORDER BY start, "end", source, line
