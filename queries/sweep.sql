-- name: sweep
-- answers: Every flow whose srcaddr, dstaddr, pkt_srcaddr or pkt_dstaddr falls in an indicator of the --ioc threat lists, once per indicator: the indicator, its list and line there, the columns that matched, and whether the indicator sent the packets (inbound) or was sent them (outbound).
-- athena: none (GuardDuty's UnauthorizedAccess:EC2/MaliciousIPCaller.Custom, over the flows)
-- params: --ioc FILE (threat lists)
-- kind: hits
-- size: all
-- notes: A flow inside two indicators (an address and its /24, or one address on two lists) is listed once for each. direction is from the flow's own columns: inbound when the indicator is a source; flow_direction (logged from format v5) is the interface's own view, which differs from it on NAT gateways and load balancers. Ordered by start, end, source, line, then the indicator's place in the lists.
SELECT hit['indicator'] AS indicator, hit['list'] AS list, hit['list_line'] AS list_line, hit['matched'] AS matched,
       hit['direction'] AS direction, start, "end", account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
       protocol, packets, bytes, action, log_status, pkt_srcaddr, pkt_dstaddr, flow_direction, source, line
FROM (SELECT unnest(ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr)) AS hit, * FROM flows
      WHERE ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr) IS NOT NULL) AS hits
ORDER BY start, "end", source, line, hit['id']
