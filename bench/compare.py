#!/usr/bin/env python3
"""Whole-process timings of `evidex score` on every shape real tables have,
against DuckDB running the same scoring job in SQL (bench/score_job.sql)
and DuckDB's plain weighted group-by over the three keys.

Usage (from the repository root, after `cargo build --release`):
    python3 -m venv .bench-venv && .bench-venv/bin/pip install -r bench/requirements.txt
    .bench-venv/bin/python bench/compare.py --rows 100000 1000000 10000000 --repeats 5 \
        --out docs/bench-results.md

Shapes, all made from one generated table (`evidex generate`, seed 1):
plain CSV; quoted CSV (strings quoted, as R's write.csv, pandas with
quoting, DuckDB and many Excel exports write them); CSV with a country
column (ISO3 code beside the income setting); Parquet (the generator's);
Parquet with a country column (written by DuckDB); JSON Lines (written by
DuckDB). At --workbook-rows (default 100,000) an Excel workbook is also
measured, against pandas reading it with openpyxl and grouping.

Each command runs as its own process, --repeats times, under /usr/bin/time
(wall seconds and peak resident memory); medians are reported and peak
memory is the largest of the runs. The commands compared on one shape take
turns (one run of each per round), so a drift of the machine's speed hits
them alike. Files are read once before timing so they are in the page
cache. evidex's score tables must be byte-identical across shapes (checked).
The temporary folder is removed at the end. Not part of the test suite.
"""
import argparse
import hashlib
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
JOB_SQL = (ROOT / "bench" / "score_job.sql").read_text()

SOURCE = r"""
import duckdb, sys
f = sys.argv[1]
if f.endswith('.parquet'):
    src = f"read_parquet('{f}')"
elif f.endswith('.jsonl'):
    src = f"read_json('{f}', format='newline_delimited')"
else:
    src = f"read_csv('{f}')"
con = duckdb.connect()
cols = [c[0] for c in con.sql(f"describe select * from {src}").fetchall()]
dom = "outcome_domain" if "outcome_domain" in cols else "NULL::varchar"
con.sql(f"create view src as select *, {dom} as outcome_domain_col from {src}")
"""

JOB = SOURCE + "con.sql(open(sys.argv[2]).read()).fetchall()\n"

PLAIN = SOURCE + r"""
con.sql('''
  select intervention, target_group, income_setting, count(*) n,
         sum(w) sw, sum(w*y) swy, sum(w*y*y) - sum(w*y)*sum(w*y)/nullif(sum(w),0) q
  from (select intervention, target_group, income_setting,
               case when se > 0 then 1/(se*se) end w, effect_size y from src)
  group by all''').fetchall()
"""

PANDAS_XLSX = r"""
import pandas as pd, numpy as np, sys
df = pd.read_excel(sys.argv[1], engine='openpyxl')
df['w'] = np.where(df.se > 0, 1 / df.se ** 2, np.nan)
df['wy'] = df.w * df.effect_size
g = df.groupby(['intervention', 'target_group', 'income_setting']).agg(n=('w', 'size'), sw=('w', 'sum'), swy=('wy', 'sum'))
"""

MAKE = r"""
import duckdb, sys
csv, out = sys.argv[1], sys.argv[2]
strings = "record_id, study_id, intervention, strategy, target_group, income_setting, design, risk_of_bias, rating, measure, source"
country = '''case income_setting when 'HIC' then 'NLD' when 'UMC' then 'BRA' when 'LMC' then 'IND' else 'ETH' end'''
typed = f"read_csv('{csv}')"
with_country = f'''select record_id, study_id, intervention, strategy, target_group, income_setting,
  {country} as country, design, risk_of_bias, sample_size, year, rating, effect_size, se, measure, source from {typed}'''
if out.endswith('_quoted.csv'):
    duckdb.sql(f"copy (select * from {typed}) to '{out}' (header, force_quote ({strings}))")
elif out.endswith('_country.csv'):
    duckdb.sql(f"copy ({with_country}) to '{out}' (header)")
elif out.endswith('_country.parquet'):
    duckdb.sql(f"copy ({with_country}) to '{out}' (format parquet, row_group_size 262144)")
elif out.endswith('.jsonl'):
    duckdb.sql(f"copy (select * from {typed}) to '{out}' (format json)")
"""

MAKE_XLSX = r"""
import csv, sys
from openpyxl import Workbook
wb = Workbook(write_only=True)
ws = wb.create_sheet('evidence')
num = {'sample_size', 'year', 'effect_size', 'se'}
with open(sys.argv[1], newline='') as f:
    r = csv.reader(f)
    header = next(r)
    ws.append(header)
    for row in r:
        ws.append([float(v) if h in num and v != '' else (v if v != '' else None) for h, v in zip(header, row)])
wb.save(sys.argv[2])
"""

SHAPES = ["plain CSV", "quoted CSV", "CSV with country", "Parquet", "Parquet with country", "JSON Lines"]


def timed(cmd, env=None):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    last = out.stderr.strip().splitlines()[-1].split()
    return float(last[0]), int(last[1]) / 1024 / 1024  # seconds, GiB


def interleaved(cmds, repeats):
    """Median wall time and peak RSS per named command, {name: cmd}. The
    commands take turns (round r runs each once)."""
    runs = {name: [] for name in cmds}
    for _ in range(repeats):
        for name, cmd in cmds.items():
            runs[name].append(timed(cmd))
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


def make_files(tmp, n, shapes):
    csv = tmp / f"g{n}.csv"
    pq = tmp / f"g{n}.parquet"
    for p in (csv, pq):
        subprocess.run([str(EVIDEX), "generate", "--rows", str(n), "--seed", "1", "--out", str(p)], check=True, capture_output=True)
    files = {"plain CSV": csv, "Parquet": pq}
    for shape, name in [("quoted CSV", f"g{n}_quoted.csv"), ("CSV with country", f"g{n}_country.csv"),
                        ("Parquet with country", f"g{n}_country.parquet"), ("JSON Lines", f"g{n}.jsonl")]:
        if shape not in shapes:
            continue
        out = tmp / name
        subprocess.run([sys.executable, "-c", MAKE, str(csv), str(out)], check=True)
        files[shape] = out
    for p in files.values():
        p.read_bytes()  # page cache
    return files


def workbook(tmp, n, repeats, rows_out):
    """The Excel workbook at n rows against pandas, and the same table as CSV."""
    csv = tmp / "w.csv"
    xlsx = tmp / "w.xlsx"
    subprocess.run([str(EVIDEX), "generate", "--rows", str(n), "--seed", "1", "--out", str(csv)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", MAKE_XLSX, str(csv), str(xlsx)], check=True)
    xlsx.read_bytes()
    # pandas takes minutes per run here: at most 3 rounds.
    wb_repeats = min(repeats, 3)
    res = interleaved({
        "evidex score (full model)": [str(EVIDEX), "score", str(xlsx), "--out", str(tmp / "s.csv"), "--quiet"],
        "pandas read_excel (openpyxl), plain group-by": [sys.executable, "-c", PANDAS_XLSX, str(xlsx)],
        "evidex, same table as CSV": [str(EVIDEX), "score", str(csv), "--out", str(tmp / "s2.csv"), "--quiet"],
    }, wb_repeats)
    if (tmp / "s.csv").read_bytes() != (tmp / "s2.csv").read_bytes():
        raise SystemExit("evidex score tables differ between the workbook and its CSV")
    for tool, (sec, gib) in res.items():
        rows_out.append((n, "Excel workbook (.xlsx)", xlsx.stat().st_size / 2**20, tool, sec, gib))
        print(f"{n:>10} {'xlsx':22} {tool:30} {sec:8.3f} s {gib:6.2f} GiB", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--workbook-rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--shapes", nargs="+", choices=SHAPES, default=SHAPES,
                    help="shapes to time (default: all six)")
    ap.add_argument("--no-workbook", action="store_true", help="skip the Excel workbook")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if not EVIDEX.exists():
        raise SystemExit(f"{EVIDEX} not found: run `cargo build --release` first (or set CARGO_TARGET_DIR)")
    tmp = Path(tempfile.mkdtemp(prefix="evidex-bench-"))
    sql = tmp / "job.sql"
    sql.write_text(JOB_SQL)
    rows_out = []
    try:
        for n in a.rows:
            files = make_files(tmp, n, a.shapes)
            digests = {}
            for shape in a.shapes:
                p = files[shape]
                out = tmp / f"s_{shape.replace(' ', '_')}.csv"
                res = interleaved({
                    "evidex score (full model)": [str(EVIDEX), "score", str(p), "--out", str(out), "--quiet"],
                    "DuckDB, the same job in SQL": [sys.executable, "-c", JOB, str(p), str(sql)],
                    "DuckDB, plain group-by": [sys.executable, "-c", PLAIN, str(p)],
                }, a.repeats)
                digests[shape] = hashlib.sha256(out.read_bytes()).hexdigest()
                size = p.stat().st_size / 2**20
                for tool, (sec, gib) in res.items():
                    rows_out.append((n, shape, size, tool, sec, gib))
                    print(f"{n:>10} {shape:22} {tool:30} {sec:8.3f} s {gib:6.2f} GiB", flush=True)
            if len(set(digests.values())) != 1:
                raise SystemExit(f"evidex score tables differ across shapes at {n} rows: {digests}")
            for p in files.values():
                p.unlink()
        if not a.no_workbook:
            workbook(tmp, a.workbook_rows, a.repeats, rows_out)
    finally:
        shutil.rmtree(tmp)
    if a.out:
        lines = [f"Machine: {machine()}. Median of {a.repeats} runs each (tools take turns); peak RSS is the largest of the runs.", "",
                 "| records | shape | size (MiB) | tool | median wall (s) | peak RSS (GiB) | evidex / this |", "|---|---|---|---|---|---|---|"]
        for n, shape, size, tool, sec, gib in rows_out:
            ev = next(s for (m, sh, _, t, s, _) in rows_out if m == n and sh == shape and t.startswith("evidex score"))
            lines.append(f"| {n:,} | {shape} | {size:.0f} | {tool} | {sec:.3f} | {gib:.2f} | {ev / sec:.2f} |")
        lines += ["", "Targets (evidex / DuckDB's same job <= 1.0 on every shape; evidex / DuckDB plain group-by <= 4 on Parquet; peak RSS < 1 GiB; a country column within 1.2x):", "",
                  "| records | shape | evidex (s) | / same job | / plain group-by | peak RSS (GiB) | with country / without |", "|---|---|---|---|---|---|---|"]
        for n in a.rows:
            get = lambda shape, prefix: next((sec, gib) for (m, sh, _, t, sec, gib) in rows_out if m == n and sh == shape and t.startswith(prefix))
            for shape in a.shapes:
                ev = get(shape, "evidex")
                base = {"CSV with country": "plain CSV", "Parquet with country": "Parquet"}.get(shape)
                ratio = f"{ev[0] / get(base, 'evidex')[0]:.2f}" if base in a.shapes else ""
                lines.append(f"| {n:,} | {shape} | {ev[0]:.3f} | {ev[0] / get(shape, 'DuckDB, the same')[0]:.2f} | {ev[0] / get(shape, 'DuckDB, plain')[0]:.2f} | {ev[1]:.2f} | {ratio} |")
        a.out.write_text("\n".join(lines) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
