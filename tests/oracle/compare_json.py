#!/usr/bin/env python3
"""Compare two reference JSON files numerically (relative 1e-9): proves the
committed tests/data/meta_reference.json is what the oracle computes."""
import json
import math
import sys


def walk(a, b, path="$"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for k in a:
            walk(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


walk(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
print("reference values reproduced")
