#!/usr/bin/env bash
# Flame graph of one `evidex score` run (where the CPU time goes), as an SVG.
#
# Usage (from the repository root, after `cargo build --release`):
#   bench/flamegraph.sh FILE OUT.svg [TITLE [FOLDED]]
# e.g.
#   target/release/evidex generate --rows 10000000 --seed 1 --out /tmp/g7.parquet
#   bench/flamegraph.sh /tmp/g7.parquet docs/flamegraph-parquet-1e7.svg
#
# FOLDED, if given, keeps the collapsed stacks (one line per stack with its
# sample weight) for counting shares. Needs `perf` (Debian: linux-perf) and inferno (`cargo install inferno`).
# Stacks are unwound from DWARF debug information (the release build keeps
# none, so frames are function symbols; inlined functions show as their
# caller). Sampling at 199 Hz keeps the recording to about 30 MB for a
# 10-second run. Not part of the test suite.
set -euo pipefail
file=${1:?input file}
out=${2:?output svg}
title=${3:-"evidex score $(basename "$file"), $(nproc) cores"}
target=${CARGO_TARGET_DIR:-target}
evidex="$target/release/evidex"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf record -F 199 --call-graph dwarf,16384 -o "$tmp/perf.data" \
    "$evidex" score "$file" --format csv --out "$tmp/out.csv" --quiet
perf script -i "$tmp/perf.data" 2>/dev/null | inferno-collapse-perf > "$tmp/folded"
inferno-flamegraph --title "$title" --width 1400 --minwidth 0.2 < "$tmp/folded" > "$out"
if [ -n "${4:-}" ]; then cp "$tmp/folded" "$4"; fi
echo "wrote $out"
