-- name: traffic-by-type
-- answers: Bytes, packets and flows of each traffic type (IPv4, IPv6, EFA) among records with log_status OK.
-- athena: VpcFlowLogsIPv4Traffic, VpcFlowLogsIPv6Traffic
-- params: none
-- kind: ranking
-- size: all
-- notes: Athena's two queries each sum one type; this gives every type at once. The type is the record's own, or, when the format has no type field, the address family of srcaddr.
SELECT traffic_type AS type, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows
FROM (
  SELECT COALESCE(type, CASE WHEN srcaddr LIKE '%:%' THEN 'IPv6' WHEN srcaddr LIKE '%.%' THEN 'IPv4' END) AS traffic_type,
         bytes, packets
  FROM flows
  WHERE log_status = 'OK'
) AS typed
WHERE traffic_type IS NOT NULL
GROUP BY traffic_type
ORDER BY bytes DESC, type ASC
