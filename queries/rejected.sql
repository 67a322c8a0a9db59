-- name: rejected
-- answers: Every flow rejected by a security group or network ACL (action REJECT).
-- athena: VpcFlowLogsRejectedTraffic
-- params: none
-- kind: listing
-- size: all
-- notes: Athena's query stops at LIMIT 100; this returns every flow unless --limit says otherwise. Ordered by start, end, source, line.
SELECT * FROM flows
WHERE action = 'REJECT'
ORDER BY start, "end", source, line
