"""Times the floor, flowq and DuckDB on the same flow-log objects; run through benches/compare.sh.

For each corpus folder (made by flowq-gen): the floor is every object through libdeflate-gunzip, two
workers, output discarded. Each query runs as a whole flowq process (`--format csv`, output to
/dev/null) and as DuckDB (threads=2) over read_csv of the same .log.gz objects, with the flows column
names and types, writing the same rows as CSV to /dev/null. Before timing, the two answers are
compared (row count and first row), so the table never compares a fast wrong answer with a right one.
Times are medians of --runs runs; memory is the peak resident set of the process as GNU time reports it
(for the floor, of the largest libdeflate-gunzip).
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The address of the generated corpus's port scanner (flowq::generate::SCANNER): a "malicious IP".
SCANNER = "192.0.2.200"

COLUMNS = (
    "{'version': 'INTEGER', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR', 'srcaddr': 'VARCHAR', "
    "'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER', 'protocol': 'INTEGER', "
    "'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT', 'end': 'BIGINT', 'action': 'VARCHAR', "
    "'log_status': 'VARCHAR'}"
)

# name: (flowq arguments, DuckDB SQL giving the same rows). The listings' flowq order also uses
# source and line, which DuckDB has no equivalent of; both list the same rows.
QUERIES = {
    "top-talkers": (
        ["top-talkers"],
        "SELECT ip, SUM(bytes) AS bytes, SUM(packets) AS packets, COUNT(*) AS flows "
        "FROM (SELECT unnest([srcaddr, dstaddr]) AS ip, bytes, packets FROM flows) "
        "WHERE ip IS NOT NULL GROUP BY ip ORDER BY bytes DESC, ip LIMIT 50",
    ),
    "rejected-tcp": (
        ["rejected-tcp"],
        "SELECT srcaddr, COUNT(*) AS rejected_flows, COUNT(DISTINCT dstaddr), COUNT(DISTINCT dstport), "
        "MIN(start), MAX(\"end\") FROM flows WHERE action = 'REJECT' AND protocol = 6 AND srcaddr IS NOT NULL "
        "GROUP BY srcaddr ORDER BY rejected_flows DESC, srcaddr LIMIT 10",
    ),
    "ssh-rdp": (
        ["ssh-rdp"],
        "SELECT * FROM flows WHERE srcport IN (22, 3389) OR dstport IN (22, 3389) ORDER BY start, \"end\"",
    ),
    f"ip {SCANNER}": (
        ["ip", SCANNER],
        f"SELECT * FROM flows WHERE srcaddr = '{SCANNER}' OR dstaddr = '{SCANNER}' ORDER BY start, \"end\"",
    ),
}

DUCKDB = r"""
import sys, duckdb
folder, sql, mode = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET enable_progress_bar = false")
if sys.argv[4] == "parquet":
    # flowq's Parquet copy: the same 14 columns, read from the files (not from the Hive folder names).
    con.execute("CREATE VIEW flows AS SELECT version, account_id, interface_id, srcaddr, dstaddr, srcport, "
                "dstport, protocol, packets, bytes, start, \"end\", action, log_status "
                f"FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = false)")
else:
    con.execute(f"CREATE VIEW flows AS SELECT * FROM read_csv('{folder}/**/*.log.gz', delim = ' ', header = true, "
                f"nullstr = '-', auto_detect = false, columns = {sys.argv[4]})")
if mode == "time":
    con.execute(f"COPY ({sql}) TO '/dev/null' (FORMAT csv)")
else:
    rows = con.execute(sql).fetchall()
    print(len(rows), "|".join("" if v is None else str(v) for v in rows[0]) if rows else "")
"""


def measure(argv, runs):
    """Median wall seconds and peak RSS (MiB) of running argv `runs` times; output discarded.

    The peak is GNU time's (a process forked from this Python would start with its high-water mark).
    """
    times, peak = [], 0
    for _ in range(runs):
        with tempfile.NamedTemporaryFile(mode="r") as rss:
            start = time.perf_counter()
            done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv], stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"failed ({done.returncode}): {' '.join(argv)}")
            peak = max(peak, int(rss.read().split()[-1]))
    return statistics.median(times), peak / 1024


def flowq_argv(flowq, folder, args):
    return [flowq, *args, "--path", folder, "--format", "csv", "--quiet"]


def check(flowq, folder, name, args, sql, columns=COLUMNS):
    """Both tools give the same number of rows, and for rankings the same top row (key and count)."""
    rows, first = 0, []
    with subprocess.Popen(flowq_argv(flowq, folder, args), stdout=subprocess.PIPE, text=True) as proc:
        for row in csv.reader(proc.stdout):
            if rows == 1 and "ORDER BY start" not in sql:
                first = row[:2]
            rows += 1
    if proc.returncode != 0:
        sys.exit(f"{name} on {folder}: flowq failed ({proc.returncode})")
    rows -= 1  # the header
    duck = subprocess.run([sys.executable, "-c", DUCKDB, folder, sql, "check", columns],
                          capture_output=True, text=True, check=True).stdout.strip().split(" ", 1)
    duck_rows = int(duck[0])
    duck_first = duck[1].strip().split("|")[:2] if first else []
    if rows != duck_rows or first != duck_first:
        sys.exit(f"{name} on {folder}: flowq gave {rows} rows (first {first[:2]}), "
                 f"DuckDB {duck_rows} (first {duck_first[:2]})")


def stats(folder):
    objects = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.endswith(".log.gz")]
    stored = sum(os.path.getsize(p) for p in objects)
    return sorted(objects), stored


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flowq", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parquet", help="flowq convert's copy of the first folder: also time the queries on it")
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; {os.uname().sysname} {os.uname().release}; runs: median of {args.runs}")
    print()
    print("| corpus | query | floor s | flowq s | flowq MiB | DuckDB s | DuckDB MiB | flowq/floor | DuckDB/flowq |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    per_record = {}
    gz_times = {}
    for folder in args.folders:
        objects, stored = stats(folder)
        for path in objects:  # warm the page cache: every tool reads the same cached bytes
            with open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
        half = (len(objects) + 1) // 2
        floor_script = 'printf "%s\\0" "$@" | xargs -0 -P 2 -n {} libdeflate-gunzip -c'.format(half)
        floor, floor_mib = measure(["sh", "-c", floor_script, "floor", *objects], args.runs)
        counted = subprocess.run(["sh", "-c", 'libdeflate-gunzip -c "$@" | wc -lc', "count", *objects],
                                 capture_output=True, text=True, check=True).stdout.split()
        records, text = int(counted[0]) - len(objects), int(counted[1])  # less one header line per object
        label = f"{os.path.basename(folder.rstrip('/'))}: {len(objects)} objects, {records / 1e6:.1f} M records, " \
                f"{stored / 2**20:.0f} MiB gz, {text / 1e9:.2f} GB text"
        print(f"| {label} | floor (libdeflate-gunzip, 2 workers) | {floor:.2f} | | | | | | |")
        for name, (flowq_args, sql) in QUERIES.items():
            check(args.flowq, folder, name, flowq_args, sql)
            fq, fq_mib = measure(flowq_argv(args.flowq, folder, flowq_args), args.runs)
            dk, dk_mib = measure([sys.executable, "-c", DUCKDB, folder, sql, "time", COLUMNS], args.runs)
            per_record.setdefault(name, []).append(fq / records)
            gz_times.setdefault(name, fq)
            print(f"| | {name} | | {fq:.2f} | {fq_mib:.0f} | {dk:.2f} | {dk_mib:.0f} | {fq / floor:.2f} | {dk / fq:.2f} |",
                  flush=True)
    if args.parquet:
        copy = args.parquet
        files = [os.path.join(d, f) for d, _, fs in os.walk(copy) for f in fs if f.endswith(".parquet")]
        for path in files:
            with open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
        size = sum(os.path.getsize(p) for p in files)
        print()
        print(f"Parquet: `flowq convert`'s copy of {os.path.basename(args.folders[0].rstrip('/'))}: {len(files)} files, "
              f"{size / 2**20:.0f} MiB")
        print()
        print("| query | flowq gz s | flowq Parquet s | flowq MiB | DuckDB Parquet s | DuckDB MiB | gz/Parquet | DuckDB/flowq |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, (flowq_args, sql) in QUERIES.items():
            check(args.flowq, copy, name, flowq_args, sql, "parquet")
            fq, fq_mib = measure(flowq_argv(args.flowq, copy, flowq_args), args.runs)
            dk, dk_mib = measure([sys.executable, "-c", DUCKDB, copy, sql, "time", "parquet"], args.runs)
            print(f"| {name} | {gz_times[name]:.2f} | {fq:.2f} | {fq_mib:.0f} | {dk:.2f} | {dk_mib:.0f} | "
                  f"{gz_times[name] / fq:.2f} | {dk / fq:.2f} |", flush=True)
    if len(args.folders) == 2:
        print()
        print("flowq time per record, second corpus / first:",
              ", ".join(f"{n} {v[1] / v[0]:.2f}" for n, v in per_record.items() if len(v) == 2))


if __name__ == "__main__":
    main()
