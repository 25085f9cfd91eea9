#!/usr/bin/env python3
"""Independent reference values for evidex's meta-analysis tests.

Computed without evidex code: effect sizes with numpy from the raw columns
(escalc formulas), DL by its closed form and cross-checked (with PM) against
statsmodels' `combine_effects` where its tau^2 > 0,
ML/REML by direct numerical maximisation of the (restricted) likelihood with
scipy (not Fisher scoring, as evidex uses), HE/SJ/EE by closed forms, the
Q-profile CI by scipy's brentq, Egger's test by statsmodels WLS, CR1
robust SEs by the sandwich formula written out in numpy, the modified
Knapp-Hartung CI (variance factor at least 1; Roever, Knapp & Friede 2015),
and CR2 with Satterthwaite degrees of freedom from the general matrix
formulas of Bell & McCaffrey (2002) and Pustejovsky & Tipton (2018, eq. 7
and section 3): full N x N hat and adjustment matrices, not the per-cluster
simplifications evidex uses.

Writes tests/data/meta_reference.json. Run:
    python3 tests/oracle/meta_reference.py [OUT.json]
Requirements: tests/oracle/requirements.txt
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import gammaln
from statsmodels.stats.meta_analysis import combine_effects

DATA = Path(__file__).resolve().parent.parent / "data"


def counts(ai, n1, ci, n2, measure):
    ai, n1, ci, n2 = (np.asarray(x, float) for x in (ai, n1, ci, n2))
    bi, di = n1 - ai, n2 - ci
    keep = np.ones(len(ai), bool)
    if measure in ("RR", "OR"):
        keep = ~(((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0)))
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    add = np.where(zero, 0.5, 0.0)
    a, b, c, d = ai + add, bi + add, ci + add, di + add
    m1, m2 = a + b, c + d
    if measure == "RR":
        yi = np.log((a / m1) / (c / m2)); vi = 1 / a - 1 / m1 + 1 / c - 1 / m2
    elif measure == "OR":
        yi = np.log(a * d / (b * c)); vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        p1, p2 = a / m1, c / m2
        yi = p1 - p2; vi = p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2
    return yi[keep], vi[keep], int((~keep).sum())


def smd(m1, s1, n1, m2, s2, n2):
    m1, s1, n1, m2, s2, n2 = (np.asarray(x, float) for x in (m1, s1, n1, m2, s2, n2))
    df = n1 + n2 - 2
    j = np.exp(gammaln(df / 2) - np.log(np.sqrt(df / 2)) - gammaln((df - 1) / 2))
    sp = np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / df)
    g = j * (m1 - m2) / sp
    return g, 1 / n1 + 1 / n2 + g ** 2 / (2 * (n1 + n2))


def genq(y, v, t2):
    w = 1 / (v + t2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


def tau2_ml(y, v, reml):
    def nll(t2):
        w = 1 / (v + t2)
        mu = np.sum(w * y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(v + t2)) - 0.5 * np.sum(w * (y - mu) ** 2)
        if reml:
            ll -= 0.5 * np.log(np.sum(w))
        return -ll
    hi = max(10.0, 10 * np.var(y))
    res = optimize.minimize_scalar(nll, bounds=(0.0, hi), method="bounded",
                                   options={"xatol": 1e-14, "maxiter": 10000})
    t2 = float(res.x)
    # the bounded search cannot land exactly on 0: take 0 when it is better
    return 0.0 if nll(0.0) <= nll(t2) else t2


def tau2_for(y, v, method):
    k = len(y)
    if method == "EE":
        return 0.0
    if method == "DL":
        w = 1 / v
        q = genq(y, v, 0.0)
        return max(0.0, float((q - (k - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w))))
    if method == "PM":
        if genq(y, v, 0.0) <= k - 1:
            return 0.0
        return float(optimize.brentq(lambda t: genq(y, v, t) - (k - 1), 0.0, 1e6, xtol=1e-15, rtol=1e-15))
    if method == "HE":
        return max(0.0, float(np.sum((y - y.mean()) ** 2) / (k - 1) - v.mean()))
    if method == "SJ":
        t0 = float(np.sum((y - y.mean()) ** 2) / k)
        return t0 * genq(y, v, t0) / (k - 1)
    return tau2_ml(y, v, reml=(method == "REML"))


def qprofile(y, v, level=0.95):
    k = len(y)
    lo_t = stats.chi2.ppf(1 - (1 - level) / 2, k - 1)
    hi_t = stats.chi2.ppf((1 - level) / 2, k - 1)
    def root(target):
        if genq(y, v, 0.0) <= target:
            return 0.0
        return float(optimize.brentq(lambda t: genq(y, v, t) - target, 0.0, 1e6, xtol=1e-15, rtol=1e-15))
    return root(lo_t), root(hi_t)


def fit(y, v, method, test="z"):
    k = len(y)
    t2 = tau2_for(y, v, method)
    w = 1 / (v + t2)
    est = float(np.sum(w * y) / np.sum(w))
    se = float(math.sqrt(1 / np.sum(w)))
    if test in ("knha", "adhoc"):
        s2 = float(np.sum(w * (y - est) ** 2) / (k - 1))
        if test == "adhoc":
            s2 = max(1.0, s2)
        se = math.sqrt(s2 / np.sum(w))
        crit = stats.t.ppf(0.975, k - 1)
        pval = 2 * stats.t.sf(abs(est / se), k - 1)
    else:
        crit = stats.norm.ppf(0.975)
        pval = 2 * stats.norm.sf(abs(est / se))
    w0 = 1 / v
    q = float(np.sum(w0 * (y - np.sum(w0 * y) / np.sum(w0)) ** 2))
    if method == "EE":
        i2 = max(0.0, 100 * (q - (k - 1)) / q); h2 = q / (k - 1)
    else:
        s2 = (k - 1) * np.sum(w0) / (np.sum(w0) ** 2 - np.sum(w0 ** 2))
        i2 = float(100 * t2 / (t2 + s2)); h2 = float((t2 + s2) / s2)
    lo, hi = qprofile(y, v)
    pi = crit * math.sqrt(se ** 2 + t2)
    return {"k": k, "estimate": est, "se": se, "ci_lower": est - crit * se, "ci_upper": est + crit * se,
            "pval": float(pval), "tau2": t2, "i2": i2, "h2": h2, "q": q, "q_pval": float(stats.chi2.sf(q, k - 1)),
            "pi_lower": est - pi, "pi_upper": est + pi, "tau2_ci_lower": lo, "tau2_ci_upper": hi}


def egger(y, v):
    x = sm.add_constant(np.sqrt(v))
    r = sm.WLS(y, x, weights=1 / v).fit()
    return {"stat": float(r.tvalues[1]), "df": len(y) - 2, "pval": float(r.pvalues[1])}


def cr1(y, v, t2, cl):
    w = 1 / (v + t2)
    b = np.sum(w * y) / np.sum(w)
    s = pd.Series(w * (y - b)).groupby(np.asarray(cl)).sum()
    nc = len(s)
    var = nc / (nc - 1) * float(np.sum(s ** 2)) / float(np.sum(w)) ** 2
    se = math.sqrt(var)
    return {"estimate": float(b), "se": se, "df": nc - 1, "pval": float(2 * stats.t.sf(abs(b / se), nc - 1))}


def inv_sqrt_sym(m):
    vals, vecs = np.linalg.eigh(m)
    return vecs @ np.diag(1 / np.sqrt(vals)) @ vecs.T


def cr2(y, v, t2, cl):
    """CR2 for the intercept-only model with inverse-variance weights,
    written with full matrices (Pustejovsky & Tipton 2018)."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    cl = np.asarray(cl)
    n = len(y)
    w = 1 / (v + t2)
    X = np.ones((n, 1))
    W = np.diag(w)
    Phi = np.diag(1 / w)
    B = np.linalg.inv(X.T @ W @ X)
    beta = (B @ X.T @ W @ y).item()
    e = y - beta
    IH = np.eye(n) - X @ B @ X.T @ W
    M = IH @ Phi @ IH.T  # (I - H) Phi (I - H)'
    meat = np.zeros((1, 1))
    ps = []
    for c in pd.unique(cl):
        idx = np.where(cl == c)[0]
        D = np.linalg.cholesky(Phi[np.ix_(idx, idx)]).T  # upper: Phi_j = D'D
        A = D.T @ inv_sqrt_sym(D @ M[np.ix_(idx, idx)] @ D.T) @ D
        u = A @ W[np.ix_(idx, idx)] @ X[idx]  # n_j x 1
        meat += u.T @ np.outer(e[idx], e[idx]) @ u
        # p_j = (I - H)_j' A_j W_j X_j B (an N-vector)
        ps.append((IH[idx].T @ u @ B).ravel())
    V = (B @ meat @ B).item()
    P = np.array([[pi @ Phi @ pj for pj in ps] for pi in ps])
    df = float(np.trace(P) ** 2 / np.sum(P ** 2))
    se = math.sqrt(V)
    return {"estimate": beta, "se": se, "df": df, "pval": float(2 * stats.t.sf(abs(beta / se), df)),
            "ci_lower": beta - stats.t.ppf(0.975, df) * se, "ci_upper": beta + stats.t.ppf(0.975, df) * se}


def main():
    out = {}
    def add(name, y, v, extra=None):
        y, v = np.asarray(y, float), np.asarray(v, float)
        entry = {"yi": list(map(float, y)), "vi": list(map(float, v)), "fits": {}}
        for m in ("EE", "DL", "HE", "SJ", "ML", "REML", "PM"):
            entry["fits"][m] = fit(y, v, m)
        entry["fits"]["REML_knha"] = fit(y, v, "REML", "knha")
        entry["fits"]["DL_knha"] = fit(y, v, "DL", "knha")
        entry["fits"]["REML_adhoc"] = fit(y, v, "REML", "adhoc")
        if len(y) >= 3:
            entry["egger"] = egger(y, v)
        # statsmodels cross-check of DL and PM (estimate, se, tau2)
        for m, key in (("dl", "DL"), ("pm", "PM")):
            r = combine_effects(y, v, method_re=m)
            if not r.tau2 > 0:  # statsmodels does not truncate tau^2 at 0
                continue
            entry[f"statsmodels_{key}"] = {"estimate": float(r.mean_effect_re), "se": float(r.sd_eff_w_re),
                                           "tau2": float(r.tau2)}
        if extra:
            entry.update(extra)
        out[name] = entry

    bcg = pd.read_csv(DATA / "dat.bcg.csv")
    y, v, _ = counts(bcg.tpos, bcg.tpos + bcg.tneg, bcg.cpos, bcg.cpos + bcg.cneg, "RR")
    add("dat.bcg_RR", y, v)
    y, v, _ = counts(bcg.tpos, bcg.tpos + bcg.tneg, bcg.cpos, bcg.cpos + bcg.cneg, "OR")
    add("dat.bcg_OR", y, v)
    h = pd.read_csv(DATA / "dat.hackshaw1998.csv")
    add("dat.hackshaw1998", h.yi, h.vi)
    n = pd.read_csv(DATA / "dat.normand1999.csv")
    add("dat.normand1999_MD", n.m1i - n.m2i, n.sd1i ** 2 / n.n1i + n.sd2i ** 2 / n.n2i)
    g, gv = smd(n.m1i, n.sd1i, n.n1i, n.m2i, n.sd2i, n.n2i)
    add("dat.normand1999_SMD", g, gv)
    r = pd.read_csv(DATA / "dat.raudenbush1985.csv")
    add("dat.raudenbush1985", r.yi, r.vi)
    for name in ("dat.li2007", "dat.egger2001"):
        d = pd.read_csv(DATA / f"{name}.csv")
        y, v, dropped = counts(d.ai, d.n1i, d.ci, d.n2i, "OR")
        add(f"{name}_OR", y, v, {"dropped": dropped})
    hi = pd.read_csv(DATA / "dat.hine1989.csv")
    y, v, _ = counts(hi.ai, hi.n1i, hi.ci, hi.n2i, "RD")
    add("dat.hine1989_RD", y, v)
    c = pd.read_csv(DATA / "clasp_dersimonian2007.csv")
    y, v, _ = counts(c.ai, c.n1i, c.ci, c.n2i, "OR")
    add("clasp_OR", y, v)
    for name in ("viechtbauer2005_example1", "viechtbauer2005_example2"):
        d = pd.read_csv(DATA / f"{name}.csv")
        add(name, d.yi, d.vi)
    # CR1 on sv-meta (REML tau^2 from the oracle's own REML fit)
    sv = pd.read_csv(DATA.parent.parent / "datasets" / "sv-meta" / "sv_meta_data.csv")
    y, v = sv.d.to_numpy(float), sv.var_d.to_numpy(float)
    t2 = tau2_ml(y, v, reml=True)
    out["sv_meta_cr1"] = {"tau2": t2, **cr1(y, v, t2, sv.unique_study_id)}
    out["sv_meta_cr2"] = {"tau2": t2, **cr2(y, v, t2, sv.unique_study_id)}
    # CR2 on dat.bcg clustered by allocation (3 clusters of unequal size).
    bcg = pd.read_csv(DATA / "dat.bcg.csv")
    y, v, _ = counts(bcg.tpos, bcg.tpos + bcg.tneg, bcg.cpos, bcg.cpos + bcg.cneg, "RR")
    t2 = tau2_ml(y, v, reml=True)
    out["dat.bcg_cr2_alloc"] = {"tau2": t2, **cr2(y, v, t2, bcg.alloc)}

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "meta_reference.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
