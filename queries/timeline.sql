-- name: timeline
-- answers: An entity's traffic over time: per time bucket, direction and action, the flows that started in the bucket, the flows active in it, and the bytes and packets that fell in it.
-- athena: none
-- params: ENTITY (an address, CIDR block, interface eni-… or instance i-…; the table entity holds its flows), $every (--every: 1m, 5m, 1h, 1d, …), $cidr (the block, for an address or CIDR)
-- kind: timeline
-- size: all
-- notes: A flow's bytes and packets are spread over the buckets its [start, end] covers, in proportion to the time it spent in each, in whole units that add up exactly to the flow's own (spread(): bucket k of a flow with B bytes gets floor(B*(t1-start)/d) - floor(B*(t0-start)/d) for its part [t0, t1] of the flow's d seconds, in 128-bit arithmetic); a flow with end = start falls in the bucket of its start, and so does a record whose end is before its start or more than an hour after it (a flow log's aggregation interval is at most 10 minutes: such a record is damaged, and spreading it could make millions of buckets). direction is relative to the entity: for an address or block, outbound when it sent the flow (srcaddr or pkt_srcaddr), inbound when it received it, both when it did both; for an interface or instance, from flow_direction (formats v5+) when logged, else from the addresses: inbound from the internet to an internal address, outbound the other way, internal when both ends are internal, unknown when neither is (see is_internal, and --internal for a VPC's own public or IPv6 blocks). Records without traffic (NODATA, SKIPDATA) are left out. Buckets without traffic are not listed; flows that overlap --since or --until are counted whole, so the first and last buckets may hold part of their time's traffic. Ordered by bucket, direction, action.
SELECT bucket * $every AS bucket, direction, action,
       count(*) FILTER (WHERE start >= bucket * $every) AS flows,
       count(*) AS active_flows,
       sum(spread(bytes, start, e, lo, hi)) AS bytes,
       sum(spread(packets, start, e, lo, hi)) AS packets
FROM (SELECT bucket, direction, action, start, e, bytes, packets,
             greatest(start, bucket * $every) AS lo, least(greatest(e, start), (bucket + 1) * $every) AS hi
      FROM (SELECT unnest(generate_series(start / $every, greatest(e - 1, start) / $every)) AS bucket,
                   direction, action, start, e, bytes, packets
            FROM (SELECT CASE WHEN "end" - start BETWEEN 0 AND 3600 THEN "end" ELSE start END AS e,
                         CASE WHEN $cidr IS NULL THEN
                                CASE flow_direction WHEN 'ingress' THEN 'inbound' WHEN 'egress' THEN 'outbound' ELSE
                                  CASE WHEN is_internal(dstaddr) AND NOT is_internal(srcaddr) THEN 'inbound'
                                       WHEN is_internal(srcaddr) AND NOT is_internal(dstaddr) THEN 'outbound'
                                       WHEN is_internal(srcaddr) AND is_internal(dstaddr) THEN 'internal'
                                       ELSE 'unknown' END END
                              WHEN (cidr_contains($cidr, srcaddr) OR cidr_contains($cidr, pkt_srcaddr))
                               AND (cidr_contains($cidr, dstaddr) OR cidr_contains($cidr, pkt_dstaddr)) THEN 'both'
                              WHEN cidr_contains($cidr, srcaddr) OR cidr_contains($cidr, pkt_srcaddr) THEN 'outbound'
                              ELSE 'inbound' END AS direction,
                         action, start, bytes, packets
                  FROM entity WHERE bytes IS NOT NULL) AS records) AS spread) AS parts
GROUP BY bucket, direction, action
ORDER BY bucket, direction, action
