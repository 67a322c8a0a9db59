-- name: report
-- answers: The nightly report's own statements (flowq report): what was read per account and region, traffic per hour, logging coverage per hour and per interface, objects delivered late, and the sources of rejected flows. The report adds the rankings top-talkers, top-pairs, admin-ports and traffic-by-type and every detection, each its own query.
-- athena: none
-- params: $late (seconds: an object is late when its earliest record ended this long before the time in its name)
-- kind: report
-- size: 10
-- notes: Each section below is one statement, run in order, each a scan of flows; rejected-sources, like the rankings, keeps the first --limit rows (10). An hour is a clock hour of a record's end (the time AWS files a record by: an object named T holds the records that end in the 5 minutes after T).

-- section: accounts
-- Per account and region: what was read, and its interfaces. The report's totals are the sums of these rows.
-- flows are the records that are not NODATA or SKIPDATA (a format without log-status has only flows);
-- untimed are the records without an end time (a format without end, or `-`), which no hour holds.
SELECT account_id, region,
       COUNT(*) AS records,
       COUNT(*) FILTER (WHERE log_status IS NULL OR log_status NOT IN ('NODATA', 'SKIPDATA')) AS flows,
       COUNT(*) FILTER (WHERE log_status = 'NODATA') AS nodata,
       COUNT(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata,
       COUNT(*) FILTER (WHERE action = 'ACCEPT') AS accepted,
       COUNT(*) FILTER (WHERE action = 'REJECT') AS rejected,
       COALESCE(SUM(bytes), 0) AS bytes,
       COALESCE(SUM(packets), 0) AS packets,
       COUNT(DISTINCT interface_id) AS interfaces,
       MIN(start) AS first_start,
       MAX("end") AS last_end,
       COUNT(*) FILTER (WHERE "end" IS NULL) AS untimed
FROM flows
GROUP BY account_id, region
ORDER BY account_id, region

-- section: hours
-- Per hour: records, accepted and rejected flows and their bytes, NODATA and SKIPDATA records, interfaces that logged.
SELECT "end" - "end" % 3600 AS hour,
       COUNT(*) AS records,
       COUNT(*) FILTER (WHERE action = 'ACCEPT') AS accepted,
       COUNT(*) FILTER (WHERE action = 'REJECT') AS rejected,
       COALESCE(SUM(bytes) FILTER (WHERE action = 'ACCEPT'), 0) AS accepted_bytes,
       COALESCE(SUM(bytes) FILTER (WHERE action = 'REJECT'), 0) AS rejected_bytes,
       COUNT(*) FILTER (WHERE log_status = 'NODATA') AS nodata,
       COUNT(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata,
       COUNT(DISTINCT interface_id) AS interfaces
FROM flows
WHERE "end" IS NOT NULL
GROUP BY 1
ORDER BY 1

-- section: interfaces
-- Per interface: its first and last record, the hours with records, and the hours without a record
-- between its first and last (an interface logs NODATA when it has no traffic, so an hour without
-- any record is a gap in its logs). The report keeps those with such hours, with SKIPDATA, or quiet
-- since before the window's last hour.
SELECT interface_id, account_id, region,
       MIN("end") AS first_seen,
       MAX("end") AS last_seen,
       COUNT(DISTINCT "end" - "end" % 3600) AS hours_logged,
       (MAX("end") - MAX("end") % 3600 - (MIN("end") - MIN("end") % 3600)) / 3600 + 1
         - COUNT(DISTINCT "end" - "end" % 3600) AS hours_without_logs,
       COUNT(*) FILTER (WHERE log_status = 'NODATA') AS nodata,
       COUNT(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata,
       COUNT(*) AS records
FROM flows
WHERE interface_id IS NOT NULL AND "end" IS NOT NULL
GROUP BY interface_id, account_id, region
ORDER BY interface_id, account_id, region

-- section: late
-- Objects whose earliest record ended more than $late seconds before the time in their name
-- (object_time): delivered late, or filed under a later time.
SELECT source, named_time, records, first_end, last_end, named_time - first_end AS late_by
FROM (SELECT source, object_time(source) AS named_time, COUNT(*) AS records,
             MIN("end") AS first_end, MAX("end") AS last_end
      FROM flows GROUP BY source) AS objects
WHERE named_time - first_end > $late
ORDER BY late_by DESC, source

-- section: rejected-sources
-- The sources of the most rejected flows (any protocol): the targets and ports they tried.
SELECT srcaddr, COUNT(*) AS flows,
       COUNT(DISTINCT dstaddr) AS targets,
       COUNT(DISTINCT dstport) AS ports,
       COALESCE(SUM(packets), 0) AS packets,
       MIN(start) AS first_start,
       MAX("end") AS last_end
FROM flows
WHERE action = 'REJECT' AND srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY flows DESC, srcaddr
