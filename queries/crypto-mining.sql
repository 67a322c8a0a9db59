-- name: crypto-mining
-- answers: Cryptocurrency mining: an internal address connecting out to the usual mining-pool (Stratum) and cryptocurrency node ports.
-- athena: none (GuardDuty's CryptoCurrency:EC2/BitcoinTool.B)
-- param: mining_ports 3333,3334,3357,4444,5555,7777,8333,9332,9333,14433,14444 The ports that mark mining: Stratum pools (3333, 4444, 5555, 7777, 14444 …), the Bitcoin (8333) and Litecoin (9333) networks.
-- kind: detection
-- size: all
-- notes: A connection is an outbound TCP flow (destination outside the internal blocks, source inside them or logged as egress) to one of the ports whose destination port is below its source port (the connecting side). GuardDuty works from lists of mining addresses; these ports are a heuristic of flowq's, so sweep for known pool addresses with flowq sweep --ioc as well. One finding per source, destination and port. Severity high, as GuardDuty's.
SELECT * FROM flows
WHERE protocol = 6 AND array_has($mining_ports, dstport) AND dstport < srcport
  AND NOT is_internal(dstaddr) AND (is_internal(srcaddr) OR flow_direction = 'egress')
-- findings:
SELECT 'CryptoCurrency:EC2/BitcoinTool.B' AS finding, 'high' AS severity,
       srcaddr AS source, dstaddr AS target, dstport AS port,
       min(start) AS first_seen, max("end") AS last_seen, count(*) AS flows,
       count(*) FILTER (WHERE action = 'ACCEPT') AS accepted, count(*) FILTER (WHERE action = 'REJECT') AS rejected,
       sum(bytes) AS bytes, sum(packets) AS packets,
       concat(count(*), ' connections to ', dstport, '/tcp, ', sum(bytes), ' bytes out') AS evidence
FROM evidence
GROUP BY srcaddr, dstaddr, dstport
