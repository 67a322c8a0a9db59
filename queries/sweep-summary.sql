-- name: sweep-summary
-- answers: One row per indicator of the --ioc threat lists that was seen: first and last seen, flows, bytes and packets from it and to it, accepted and rejected flows, and the internal addresses (the other end of its flows) and interfaces it touched.
-- athena: none (GuardDuty's MaliciousIPCaller.Custom findings, one per indicator)
-- params: --ioc FILE (threat lists); run as sweep --summary
-- kind: hits
-- size: all
-- notes: bytes_from and packets_from count flows the indicator sent (it is srcaddr or pkt_srcaddr), bytes_to and packets_to flows sent to it; a flow that has it on both sides counts in both. internal_addresses are the other end of its flows: dstaddr of those it sent, srcaddr of those sent to it (none for a flow with it on both sides). Ordered by flows, most first, then the indicator's place in the lists.
SELECT indicator, list, list_line,
       min(start) AS first_seen, max("end") AS last_seen, count(*) AS flows,
       sum(CASE WHEN direction <> 'outbound' THEN bytes END) AS bytes_from,
       sum(CASE WHEN direction <> 'inbound' THEN bytes END) AS bytes_to,
       sum(CASE WHEN direction <> 'outbound' THEN packets END) AS packets_from,
       sum(CASE WHEN direction <> 'inbound' THEN packets END) AS packets_to,
       count(*) FILTER (WHERE action = 'ACCEPT') AS accepted,
       count(*) FILTER (WHERE action = 'REJECT') AS rejected,
       array_to_string(array_sort(array_distinct(array_agg(peer) FILTER (WHERE peer IS NOT NULL))), ' ') AS internal_addresses,
       array_to_string(array_sort(array_distinct(array_agg(interface_id))), ' ') AS interfaces
FROM (SELECT hit['id'] AS id, hit['indicator'] AS indicator, hit['list'] AS list, hit['list_line'] AS list_line,
             hit['direction'] AS direction, start, "end", bytes, packets, action, interface_id,
             CASE hit['direction'] WHEN 'outbound' THEN srcaddr WHEN 'inbound' THEN dstaddr END AS peer
      FROM (SELECT unnest(ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr)) AS hit, * FROM flows
            WHERE ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr) IS NOT NULL) AS unnested) AS hits
GROUP BY id, indicator, list, list_line
ORDER BY flows DESC, id
