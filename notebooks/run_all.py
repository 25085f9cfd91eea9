#!/usr/bin/env python3
"""Execute every notebook in this folder headlessly; fail on any cell error.
Outputs are not written back (notebooks are committed without outputs).
Usage: python notebooks/run_all.py   (needs notebooks/requirements.txt and a release build)"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

here = Path(__file__).resolve().parent
failed = 0
books = sorted(here.glob("*.ipynb"))
for nb_path in books:
    nb = nbformat.read(nb_path, as_version=4)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(here)}}).execute()
        print(f"ok: {nb_path.name}")
    except Exception as e:  # noqa: BLE001 - report any cell failure and go on
        failed += 1
        print(f"FAILED: {nb_path.name}: {e}", file=sys.stderr)
print(f"{len(books) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
