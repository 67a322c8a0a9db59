-- name: admin-ports
-- answers: The addresses with the most traffic on administrative ports: like top-talkers, over flows whose srcport or dstport is one of $ports (22, 23, 3389, 5900, 5985, 5986 unless --ports lists others).
-- athena: VpcFlowLogsAdminPortTraffic
-- params: $ports (--ports, a list of port numbers)
-- kind: ranking
-- size: 10
-- notes: The query published for Athena's integration has no port filter at all, despite its description; this one filters on the ports. Rows without an address are left out. Ties are broken by ip.
SELECT ip, SUM(b) AS bytes, SUM(p) AS packets, COUNT(*) AS flows
FROM (
  SELECT unnest(make_array(srcaddr, dstaddr)) AS ip, bytes AS b, packets AS p
  FROM flows
  WHERE array_has($ports, srcport) OR array_has($ports, dstport)
) AS endpoints
WHERE ip IS NOT NULL
GROUP BY ip
ORDER BY bytes DESC, ip ASC
