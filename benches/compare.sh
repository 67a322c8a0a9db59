#!/usr/bin/env bash
# Side by side on the same generated objects: the floor (libdeflate-gunzip, decompression alone), flowq,
# and DuckDB. Builds flowq (release), generates the corpora from a seed if absent, then runs
# benches/compare.py, which prints each time, peak memory and the ratios. See benches/README.md.
#
#   bash benches/compare.sh                # both corpora, median of 3 runs
#   RUNS=1 bash benches/compare.sh         # one run each
#   FLOWQ_BENCH_DATA=/big/disk bash benches/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

data=${FLOWQ_BENCH_DATA:-bench-data}
runs=${RUNS:-3}

missing=()
command -v libdeflate-gunzip >/dev/null || missing+=("libdeflate-gunzip: apt-get install libdeflate-tools")
python3 -c 'import duckdb' 2>/dev/null || missing+=("duckdb for Python: pip install duckdb")
[[ -x /usr/bin/time ]] || missing+=("GNU time, for peak memory: apt-get install time")
if ((${#missing[@]})); then
    printf 'compare.sh needs:\n' >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 2
fi

# --example builds with the dev-dependencies, like `cargo bench`: one set of release artifacts for both.
cargo build --release --locked --bin flowq --example flowq-gen

gen() { # folder, objects, records per object
    if [[ ! -e $1/.complete ]]; then
        rm -rf "$1"
        echo "generating $1 ($2 objects x $3 records)" >&2
        target/release/examples/flowq-gen --out "$1/AWSLogs" --days 1 --objects-per-day "$2" \
            --records-per-object "$3" --default-format-only
        touch "$1/.complete"
    fi
}
# ~40 M records in 200 objects (~22 MB of text each), and ~2 M records in 4,000 small objects; both
# with the generated port scan, whose source is the address `ip` looks for.
gen "$data/big" 200 200000
gen "$data/small" 4000 500

# flowq's own Parquet copy of the big corpus, made again when the corpus or flowq is newer (the
# copy's layout is flowq's to change).
if [[ ! $data/big-parquet/.complete -nt $data/big/.complete || target/release/flowq -nt $data/big-parquet/.complete ]]; then
    rm -rf "$data/big-parquet"
    echo "converting $data/big to Parquet" >&2
    target/release/flowq --path "$data/big" convert --out "$data/big-parquet" --quiet
    touch "$data/big-parquet/.complete"
fi

exec python3 benches/compare.py --flowq target/release/flowq --runs "$runs" --parquet "$data/big-parquet" \
    "$data/big" "$data/small"
