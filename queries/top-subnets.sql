-- name: top-subnets
-- answers: The subnets with the most traffic, by bytes.
-- athena: VpcFlowLogsTopTalkingSubnets
-- params: none
-- kind: ranking
-- size: 50
-- notes: Flows without a subnet_id ('-', or a format without the field) are left out. Ties are broken by subnet_id.
SELECT subnet_id, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows
FROM flows
WHERE subnet_id IS NOT NULL
GROUP BY subnet_id
ORDER BY bytes DESC, subnet_id ASC
