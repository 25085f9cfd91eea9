#!/usr/bin/env python3
"""Side-by-side whole-process timings: evidex score vs DuckDB, python polars
and pandas doing a plain weighted group-by on the same generated files.

Usage (from the repository root, after `cargo build --release`):
    python3 -m venv .bench-venv && .bench-venv/bin/pip install -r bench/requirements.txt
    .bench-venv/bin/python bench/compare.py --rows 100000 1000000 10000000 --repeats 5 \
        --out docs/bench-results.md

It writes the tables to --out (docs/performance.md quotes and explains
them): tool vs tool per size and format, the target ratios of the
performance issue (evidex / DuckDB on Parquet, evidex / python polars on
CSV), 1 vs 2 threads, and the cost of per-cell meta-analysis (every record
with an effect size vs none) at the largest size.

Each tool runs as its own process, `--repeats` times, under /usr/bin/time
(wall seconds and peak resident memory); medians are reported. The tools
compared in one table take turns (one run of each per round), so a drift
of the machine's speed affects them alike. Files are read once first so
they are in the page cache; the temporary folder is removed at the end.
Not part of the test suite.
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
EVIDEX = TARGET / "release" / "evidex"

GROUP = ["intervention", "target_group", "income_setting"]

DUCKDB = r"""
import duckdb, sys
f = sys.argv[1]
src = f"read_parquet('{f}')" if f.endswith('.parquet') else f"read_csv_auto('{f}')"
duckdb.sql(f'''
  select intervention, target_group, income_setting, count(*) n,
         sum(w) sw, sum(w*y) swy, sum(w*y*y) - sum(w*y)*sum(w*y)/nullif(sum(w),0) q
  from (select intervention, target_group, income_setting,
               case when se > 0 then 1/(se*se) end w, effect_size y from {src})
  group by all''').fetchall()
"""

POLARS = r"""
import polars as pl, sys
f = sys.argv[1]
lf = pl.scan_parquet(f) if f.endswith('.parquet') else pl.scan_csv(f)
w = pl.when(pl.col('se') > 0).then(1 / pl.col('se') ** 2)
(lf.select(['intervention', 'target_group', 'income_setting',
            w.alias('w'), pl.col('effect_size').alias('y')])
   .group_by(['intervention', 'target_group', 'income_setting'])
   .agg(pl.len().alias('n'), pl.col('w').sum().alias('sw'), (pl.col('w') * pl.col('y')).sum().alias('swy'),
        ((pl.col('w') * pl.col('y') ** 2).sum() - (pl.col('w') * pl.col('y')).sum() ** 2 / pl.col('w').sum()).alias('q'))
   .collect(engine='streaming'))
"""

PANDAS = r"""
import pandas as pd, numpy as np, sys
f = sys.argv[1]
cols = ['intervention', 'target_group', 'income_setting', 'se', 'effect_size']
df = pd.read_parquet(f, columns=cols) if f.endswith('.parquet') else pd.read_csv(f, usecols=cols)
df['w'] = np.where(df.se > 0, 1 / df.se ** 2, np.nan)
df['wy'] = df.w * df.effect_size
df['wyy'] = df.wy * df.effect_size
g = df.groupby(['intervention', 'target_group', 'income_setting']).agg(n=('w', 'size'), sw=('w', 'sum'), swy=('wy', 'sum'), swyy=('wyy', 'sum'))
g['q'] = g.swyy - g.swy ** 2 / g.sw
"""


def timed(cmd, env=None):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    last = out.stderr.strip().splitlines()[-1].split()
    return float(last[0]), int(last[1]) / 1024 / 1024  # seconds, GiB


def interleaved(cmds, repeats):
    """Median wall time and peak RSS per named command, {name: (cmd, env)}.
    The commands take turns (round r runs each once) so that a drift of the
    machine's speed over minutes, common on shared VMs, hits them alike."""
    runs = {name: [] for name in cmds}
    for _ in range(repeats):
        for name, (cmd, env) in cmds.items():
            runs[name].append(timed(cmd, env))
    return {name: (statistics.median(r[0] for r in rs), max(r[1] for r in rs)) for name, rs in runs.items()}


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if not EVIDEX.exists():
        raise SystemExit(f"{EVIDEX} not found: run `cargo build --release` first (or set CARGO_TARGET_DIR)")
    tmp = Path(tempfile.mkdtemp(prefix="evidex-bench-"))
    rows_out = []
    scaling = []
    for n in a.rows:
        files = {}
        for ext in ("csv", "parquet"):
            p = tmp / f"g{n}.{ext}"
            subprocess.run([str(EVIDEX), "generate", "--rows", str(n), "--seed", "1", "--out", str(p)], check=True, capture_output=True)
            p.read_bytes()  # page cache
            files[ext] = p
        for ext, p in files.items():
            size = p.stat().st_size / 2**20
            res = interleaved({
                "evidex score (full model)": ([str(EVIDEX), "score", str(p), "--out", str(tmp / "s.csv")], None),
                "DuckDB (plain group-by)": ([sys.executable, "-c", DUCKDB, str(p)], None),
                "python polars, streaming (plain group-by)": ([sys.executable, "-c", POLARS, str(p)], None),
                "pandas (plain group-by)": ([sys.executable, "-c", PANDAS, str(p)], None),
            }, a.repeats)
            for tool, (sec, gib) in res.items():
                rows_out.append((n, ext, size, tool, sec, gib))
                print(f"{n:>10} {ext:8} {tool:45} {sec:8.3f} s {gib:6.2f} GiB", flush=True)
        cmd = [str(EVIDEX), "score", str(files["parquet"]), "--out", str(tmp / "s.csv")]
        res = interleaved({t: (cmd, dict(os.environ, RAYON_NUM_THREADS=t)) for t in ("1", "2")}, a.repeats)
        for threads, (sec, gib) in res.items():
            scaling.append((n, threads, sec, gib))
            print(f"{n:>10} parquet  evidex threads={threads} {sec:8.3f} s", flush=True)
    # Meta-analysis share at the largest size: effect sizes on every record vs none.
    n = max(a.rows)
    cmds = {}
    for share in ("1", "0"):
        p = tmp / f"e{share}.parquet"
        subprocess.run([str(EVIDEX), "generate", "--rows", str(n), "--seed", "1", "--effect-share", share, "--out", str(p)], check=True, capture_output=True)
        p.read_bytes()  # page cache
        cmds[share] = ([str(EVIDEX), "score", str(p), "--out", str(tmp / "s.csv")], None)
    meta = interleaved(cmds, a.repeats)
    for share, (sec, _) in meta.items():
        print(f"{n:>10} parquet  evidex effect-share={share} {sec:8.3f} s", flush=True)
    shutil.rmtree(tmp)
    if a.out:
        lines = [f"Machine: {machine()}. Median of {a.repeats} runs each; peak RSS is the largest of the runs.", "", "| records | input | size (MiB) | tool | median wall (s) | peak RSS (GiB) | ratio to evidex |", "|---|---|---|---|---|---|---|"]
        for n, ext, size, tool, sec, gib in rows_out:
            ev = next(s for (m, e, _, t, s, _) in rows_out if m == n and e == ext and t.startswith("evidex"))
            lines.append(f"| {n:,} | {ext} | {size:.0f} | {tool} | {sec:.3f} | {gib:.2f} | {sec / ev:.2f} |")
        lines += ["", "Target ratios (evidex time / other tool's time; the issue asks for <= 1.0):", "", "| records | evidex / DuckDB, Parquet | evidex / python polars, CSV | evidex peak RSS, Parquet (GiB) |", "|---|---|---|---|"]
        for n in a.rows:
            get = lambda ext, prefix: next((sec, gib) for (m, e, _, t, sec, gib) in rows_out if m == n and e == ext and t.startswith(prefix))
            ep, ec = get("parquet", "evidex"), get("csv", "evidex")
            lines.append(f"| {n:,} | {ep[0] / get('parquet', 'DuckDB')[0]:.1f} | {ec[0] / get('csv', 'python polars')[0]:.1f} | {ep[1]:.2f} |")
        lines += ["", "| records | threads (RAYON_NUM_THREADS) | median wall (s), Parquet | peak RSS (GiB) |", "|---|---|---|---|"]
        for n, th, sec, gib in scaling:
            lines.append(f"| {n:,} | {th} | {sec:.3f} | {gib:.2f} |")
        lines += ["", f"Meta-analysis share, {max(a.rows):,} records, Parquet: effect size on every record {meta['1'][0]:.3f} s, on none {meta['0'][0]:.3f} s (ratio {meta['1'][0] / meta['0'][0]:.2f})."]
        a.out.write_text("\n".join(lines) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
