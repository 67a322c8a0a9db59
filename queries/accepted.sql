-- name: accepted
-- answers: Every TCP flow allowed by the security groups and network ACLs (action ACCEPT, protocol 6).
-- athena: VpcFlowLogsAcceptedTraffic
-- params: none
-- kind: listing
-- size: all
-- notes: Athena's query stops at LIMIT 100; this returns every flow unless --limit says otherwise. Ordered by start, end, source, line.
SELECT * FROM flows
WHERE action = 'ACCEPT' AND protocol = 6
ORDER BY start, "end", source, line
