-- name: ssh-rdp
-- answers: Every SSH or RDP flow: srcport or dstport is 22 or 3389.
-- athena: VpcFlowLogsSshRdpTraffic
-- params: none
-- kind: listing
-- size: all
-- notes: Athena's query stops at LIMIT 50; this returns every flow unless --limit says otherwise. Ordered by start, end, source, line.
SELECT * FROM flows
WHERE srcport IN (22, 3389) OR dstport IN (22, 3389)
ORDER BY start, "end", source, line
