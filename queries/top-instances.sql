-- name: top-instances
-- answers: The instances with the most traffic, by bytes.
-- athena: VpcFlowLogsTopTalkingInstances
-- params: none
-- kind: ranking
-- size: 50
-- notes: Flows without an instance_id ('-': requester-managed interfaces, or a format without the field) are left out. Ties are broken by instance_id.
SELECT instance_id, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows
FROM flows
WHERE instance_id IS NOT NULL
GROUP BY instance_id
ORDER BY bytes DESC, instance_id ASC
