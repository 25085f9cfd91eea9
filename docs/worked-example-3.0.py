#!/usr/bin/env python3
"""Worked example for docs/scoring.md (model evidex-score-3.0), recomputed by hand.

This script is independent of evidex: it reimplements the rules of
docs/scoring.md (which states what src/score does) from the text, in plain Python (standard library only), so a
test can compare evidex's numbers with these. If scipy is installed, the
t and normal quantiles are cross-checked against it; nothing else uses it.

Run:  python3 docs/worked-example-3.0.py
Every number is printed to 6 decimals.
"""

import math
from statistics import NormalDist

N01 = NormalDist()
Z975 = N01.inv_cdf(0.975)


def phi(x):
    return N01.cdf(x)


# --- Student t quantile (regularised incomplete beta, Lentz continued fraction)

def _betacf(a, b, x):
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-15:
            break
    return h


def _ibeta(a, b, x):
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1 - x) / b


def t_cdf(t, df):
    x = df / (df + t * t)
    tail = 0.5 * _ibeta(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_ppf(p, df):
    lo, hi = 0.0, 1e4
    for _ in range(300):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


try:  # optional cross-check only
    from scipy import stats as _st
    for _df in (1, 2, 3, 10):
        assert abs(_st.t.ppf(0.975, _df) - t_ppf(0.975, _df)) < 1e-9
    assert abs(_st.norm.ppf(0.975) - Z975) < 1e-12
    CROSS = "quantiles cross-checked against scipy"
except ImportError:
    CROSS = "scipy not installed: quantiles from the built-in functions only"


def f6(x):
    return "%.6f" % x


# --- Rules (docs/scoring.md, sections 2-9) -------------------------------

DELTA_SMD = 0.10          # [effects.delta] smd, judgement
ICC = 0.10                # effects.icc
OIS = 500                 # certainty.ois
I2_THRESHOLD = 50.0       # certainty.inconsistency_i2
CONTROLLED = {"rct", "sr", "qed"}
RANDOMISED = {"rct", "sr"}
LEVELS = ["very low", "low", "moderate", "high"]


def standing(lo, hi, delta):
    """Four standings, benefit direction; benefit/harm checked first."""
    if lo > 0:
        return "benefit"
    if hi < 0:
        return "harm"
    if delta is not None and -delta < lo and hi < delta:
        return "null"
    return "inconclusive"


def design_effect(n, clusters, icc=ICC):
    m = n / clusters
    return 1 + (m - 1) * icc


def synthesis(y, v, verbose=False, label=""):
    """REML random effects (Fisher scoring), Wald CI, mHKSJ, PI (t, k-1), I^2."""
    k = len(y)
    out = {"k": k}
    w = [1 / vi for vi in v]
    sw = sum(w)
    mu_fe = sum(wi * yi for wi, yi in zip(w, y)) / sw
    Q = sum(wi * (yi - mu_fe) ** 2 for wi, yi in zip(w, y))
    C = sw - sum(wi * wi for wi in w) / sw
    out.update(mu_fe=mu_fe, se_fe=math.sqrt(1 / sw), Q=Q)
    if k == 1:
        tau2 = 0.0
        out["tau2_dl"] = 0.0
        it = []
    else:
        tau2_dl = max(0.0, (Q - (k - 1)) / C)
        out["tau2_dl"] = tau2_dl
        # REML by Fisher scoring, started at the DL value, truncated at 0
        tau2 = tau2_dl
        it = []
        for step in range(1, 501):
            wr = [1 / (vi + tau2) for vi in v]
            swr = sum(wr)
            mu = sum(a * b for a, b in zip(wr, y)) / swr
            trP = swr - sum(a * a for a in wr) / swr
            yPPy = sum(a * a * (b - mu) ** 2 for a, b in zip(wr, y))
            s2w = sum(a * a for a in wr)
            trPP = s2w - 2 * sum(a ** 3 for a in wr) / swr + (s2w / swr) ** 2
            new = max(0.0, tau2 + (yPPy - trP) / trPP)
            it.append((step, new))
            if abs(new - tau2) < 1e-14:
                tau2 = new
                break
            tau2 = new
    out["tau2"] = tau2
    out["reml_iterations"] = it
    wr = [1 / (vi + tau2) for vi in v]
    swr = sum(wr)
    mu = sum(a * b for a, b in zip(wr, y)) / swr
    se = math.sqrt(1 / swr)
    out.update(mu=mu, se=se, lo=mu - Z975 * se, hi=mu + Z975 * se,
               weights=[a / swr for a in wr], score=phi(mu / se), z=mu / se)
    if k >= 2:
        # I^2 as metafor reports it for a REML fit: tau^2 / (tau^2 + s^2)
        s2 = (k - 1) * sw / (sw * sw - sum(a * a for a in w))
        out["s2_typical"] = s2
        out["I2"] = 100 * tau2 / (tau2 + s2)
        out["I2_Q"] = max(0.0, 100 * (Q - (k - 1)) / Q) if Q > 0 else 0.0
        q = sum(a * (b - mu) ** 2 for a, b in zip(wr, y)) / (k - 1)
        se_hk = math.sqrt(max(1.0, q) / swr)
        tcrit = t_ppf(0.975, k - 1)
        out.update(q_hk=q, se_hk=se_hk, tcrit=tcrit,
                   hk_lo=mu - tcrit * se_hk, hk_hi=mu + tcrit * se_hk,
                   pi_lo=mu - tcrit * math.sqrt(tau2 + se * se),
                   pi_hi=mu + tcrit * math.sqrt(tau2 + se * se))
    return out


def reml_direct(y, v):
    """REML tau^2 by golden-section search on the restricted log-likelihood."""
    def ll(t):
        w = [1 / (vi + t) for vi in v]
        sw = sum(w)
        mu = sum(a * b for a, b in zip(w, y)) / sw
        return -0.5 * (sum(math.log(vi + t) for vi in v) + math.log(sw)
                       + sum(a * (b - mu) ** 2 for a, b in zip(w, y)))
    lo, hi = 0.0, 1.0
    for _ in range(300):
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        if ll(m1) < ll(m2):
            lo = m1
        else:
            hi = m2
    return (lo + hi) / 2


def certainty(studies, syn, domain, borrowed=False, inconclusive=None):
    """GRADE certainty of a domain's decision synthesis, as src/score/certainty.rs
    rates it (docs/scoring.md section 11). `inconclusive`: the decision CI is
    inconclusive (default: read from the synthesis; the appraised-only check
    of rule 3 passes False, as the code does)."""
    reasons = []
    w = syn["weights"]
    # Start: randomised studies carry at least half of the weight (pooled
    # studies by their share of the synthesis weight).
    rand_share = sum(wi for wi, s in zip(w, studies) if s["design"] in RANDOMISED)
    level = 3 if 2 * rand_share >= sum(w) else 1
    start = LEVELS[level]
    # risk of bias
    unknown = [s for s in studies if s["rob"] == "unknown"]
    some = sum(wi for wi, s in zip(w, studies) if s["rob"] == "some concerns") / sum(w)
    if unknown or some > 0.5 or any(s.get("cluster_uncorrected") for s in studies):
        why = []
        if unknown:
            why.append("risk of bias not assessed for %d of %d" % (len(unknown), len(studies)))
        if some > 0.5:
            why.append("%.0f%% of the weight is from studies with some concerns" % (100 * some))
        reasons.append(("risk of bias: " + "; ".join(why), 1))
    # inconsistency: I^2 >= threshold with a PI crossing 0 (k >= 2), or one
    # study significantly beneficial and another significantly harmful
    k = syn["k"]
    los = [s["y"] - Z975 * math.sqrt(s["v"]) for s in studies]
    his = [s["y"] + Z975 * math.sqrt(s["v"]) for s in studies]
    disjoint = len(studies) >= 2 and max(los) > 0 and min(his) < 0
    if (k >= 2 and syn["I2"] >= I2_THRESHOLD and syn["pi_lo"] < 0 < syn["pi_hi"]) or disjoint:
        reasons.append(("inconsistency", 1))
    # imprecision: decision CI inconclusive, or mHKSJ CI includes 0 where the
    # decision CI does not, or total sample below the OIS (a missing sample
    # counts as 0); very serious (two levels) when every sample size is
    # given and the total is below OIS / 4
    if inconclusive is None:
        inconclusive = standing(syn["lo"], syn["hi"], DELTA_SMD) == "inconclusive"
    n_total = sum(s.get("n") or 0 for s in studies)
    imp = []
    if inconclusive:
        imp.append("the 95% CI is compatible with a benefit and with none")
    if k >= 2 and not (syn["lo"] <= 0 <= syn["hi"]) and syn["hk_lo"] <= 0 <= syn["hk_hi"]:
        imp.append("the modified HKSJ CI includes 0")
    if n_total < OIS:
        imp.append("total sample %d below the optimal information size %d" % (n_total, OIS))
    if imp:
        very = all(s.get("n") is not None for s in studies) and n_total < OIS / 4
        reasons.append(("imprecision%s: %s" % (" (very serious: down two levels)" if very else "",
                                                "; ".join(imp)), 2 if very else 1))
    # indirectness
    if domain == "risk_factor" or borrowed:
        reasons.append(("indirectness", 1))
    # publication bias: Egger only from k >= 10 (not reached here)
    level = max(0, level - sum(n for _, n in reasons))
    return start, rand_share / sum(w), n_total, [r for r, _ in reasons], LEVELS[level]


def verdict(domain, syn_standing, k_pool, n_randomised, cert, appraised=None,
            rating_benefit=0, rating_null=0, support_prudent=False):
    """Domain verdict as src/score/verdict.rs decides it (docs/scoring.md
    section 7), for this example (no harm, no ratings beside a synthesis).
    `appraised`: None when every pooled study is appraised; else
    (k of the appraised-only synthesis if it shows a benefit, else 0,
    whether its certainty is at least moderate)."""
    benefit = syn_standing == "benefit" or rating_benefit > 0
    nullish = syn_standing in ("null", "harm") or rating_null > 0
    if benefit and nullish:
        return "needs more research", "rule 2 (Mixed)"
    if benefit:
        n_benefit = (k_pool if syn_standing == "benefit" else 0) + rating_benefit
        if appraised is None:
            counted, appraised_ok = n_benefit, True
        else:
            counted, appraised_ok = appraised[0] + rating_benefit, appraised[1]
        if domain == "risk_factor":
            return "promising", "rule 4 (RiskFactorCap): risk factors only"
        if n_benefit < 2:
            return "promising", "rule 4 (Promising): one study behind the benefit"
        if counted < 2 or not appraised_ok:
            return "promising", ("rule 4 (NotAssessedCap): the appraised studies alone give %d "
                                 "behind a benefit%s" % (counted, "" if appraised_ok else
                                                         ", certainty below moderate"))
        if n_randomised == 0:
            return "promising", "rule 4 (NotRandomised)"
        if LEVELS.index(cert) < LEVELS.index("moderate"):
            return "promising", "rule 4 (LowCertainty)"
        return "effective", "rule 3 (Effective)"
    if syn_standing == "null" or (syn_standing is None and rating_null > 0):
        return "ineffective", "rule 5"
    if syn_standing is None and support_prudent:
        return "prudent", "rule 6"
    return "needs more research", "rule 7"


def appraised_check(studies, dom):
    """The sensitivity analysis of rule 3: the appraised studies alone
    (None when every pooled study is appraised)."""
    if all(s["rob"] != "unknown" for s in studies):
        return None, None
    ap = [s for s in studies if s["rob"] != "unknown"]
    if not ap:
        return (0, True), None
    syn = synthesis([s["y"] for s in ap], [s["v"] for s in ap])
    st = standing(syn["lo"], syn["hi"], DELTA_SMD)
    cert = certainty(ap, syn, dom, inconclusive=False)
    ok = LEVELS.index(cert[4]) >= LEVELS.index("moderate")
    return ((syn["k"] if st == "benefit" else 0), ok), (ap, syn, st, cert)


# --- Example 1: one cell --------------------------------------------------

CELL = "School safety curriculum / adolescent girls / LMC"

# findings: (finding, study, design, rob, n, domain, rating, yi, sei)
FINDINGS = [
    ("F1", "S1", "rct", "low", 800, "violence", None, 0.35, 0.07),
    ("F2", "S1", "rct", "low", 800, "risk_factor", None, 0.45, 0.07),
    ("F3", "S2", "rct", "low", 400, "violence", None, 0.18, 0.10),
    ("F4", "S2", "rct", "low", 400, "risk_factor", None, 0.28, 0.10),
    ("F5", "S3", "qed", "unknown", 300, "violence", None, 0.42, 0.12),
    ("F6", "S4", "pre-post", "high", 120, "violence", None, 0.60, 0.15),
    ("F7", "S4", "pre-post", "high", 120, "behaviour", "prudent", None, None),
]


def eligible(design, rob):
    return design in CONTROLLED and rob in ("low", "some concerns", "unknown")


def main():
    print("evidex-score-3.0 worked example (%s)" % CROSS)
    print("z(0.975) = %s; t(0.975, 1) = %s; t(0.975, 2) = %s"
          % (f6(Z975), f6(t_ppf(0.975, 1)), f6(t_ppf(0.975, 2))))
    print()
    print("== Example 1: %s, delta (SMD) = %.2f ==" % (CELL, DELTA_SMD))
    print("Per finding: 95% CI and standing")
    for f, s, d, rob, n, dom, rating, y, se in FINDINGS:
        if y is None:
            print("  %s %s %-8s %-7s %-11s rating %-8s -> %s" % (
                f, s, d, rob, dom, rating, "supportive (prudent rating)"))
            continue
        lo, hi = y - Z975 * se, y + Z975 * se
        el = "eligible" if eligible(d, rob) else "not eligible (uncontrolled: supports prudent only)"
        print("  %s %s %-8s %-7s %-11s y %s se %s CI [%s, %s] -> %s; %s" % (
            f, s, d, rob, dom, f6(y), f6(se), f6(lo), f6(hi),
            standing(lo, hi, DELTA_SMD), el))
    print()

    results = {}
    for dom in ("violence", "risk_factor"):
        studies = [dict(id=s, design=d, rob=rob, n=n, y=y, v=se * se)
                   for f, s, d, rob, n, dd, rating, y, se in FINDINGS
                   if dd == dom and y is not None and eligible(d, rob)]
        y = [s["y"] for s in studies]
        v = [s["v"] for s in studies]
        syn = synthesis(y, v)
        print("-- %s: pooled studies %s" % (dom, ", ".join(s["id"] for s in studies)))
        print("  fixed effect (common effect): mu %s se %s; Q %s (df %d)"
              % (f6(syn["mu_fe"]), f6(syn["se_fe"]), f6(syn["Q"]), syn["k"] - 1))
        print("  tau^2 DL (closed form) %s" % f6(syn["tau2_dl"]))
        shown = None
        for step, val in syn["reml_iterations"]:
            if f6(val) != shown:
                print("    REML Fisher scoring step %d: tau^2 = %s" % (step, f6(val)))
                shown = f6(val)
        print("    (converged after %d step(s), change < 1e-14)" % len(syn["reml_iterations"]))
        print("  tau^2 REML %s (cross-check, direct maximisation of the REML likelihood: %s)"
              % (f6(syn["tau2"]), f6(reml_direct(y, v))))
        print("  RE weights %s" % ", ".join("%s %s" % (s["id"], f6(wi)) for s, wi in zip(studies, syn["weights"])))
        print("  decision (Wald, z): mu %s se %s CI [%s, %s]; z %s"
              % (f6(syn["mu"]), f6(syn["se"]), f6(syn["lo"]), f6(syn["hi"]), f6(syn["z"])))
        print("  modified HKSJ: q %s se %s t(k-1) %s CI [%s, %s]"
              % (f6(syn["q_hk"]), f6(syn["se_hk"]), f6(syn["tcrit"]), f6(syn["hk_lo"]), f6(syn["hk_hi"])))
        print("  prediction interval (t, k-1): [%s, %s]" % (f6(syn["pi_lo"]), f6(syn["pi_hi"])))
        print("  I^2 (metafor, tau^2-based) %s%%; I^2 (Q-based) %s%%; typical within-study variance %s"
              % (f6(syn["I2"]), f6(syn["I2_Q"]), f6(syn["s2_typical"])))
        st = standing(syn["lo"], syn["hi"], DELTA_SMD)
        cert = certainty(studies, syn, dom)
        print("  synthesis standing: %s" % st)
        print("  certainty: start %s (randomised weight share %s); total n %d; downgrades: %s -> %s"
              % (cert[0], f6(cert[1]), cert[2], "; ".join(cert[3]) or "none", cert[4]))
        ap, detail = appraised_check(studies, dom)
        if detail is not None:
            a_st, a_syn, a_standing, a_cert = detail[0], detail[1], detail[2], detail[3]
            print("  appraised studies alone (%s): mu %s CI [%s, %s] -> %s; mHKSJ [%s, %s]; I^2 %s%%"
                  % (", ".join(x["id"] for x in a_st), f6(a_syn["mu"]), f6(a_syn["lo"]), f6(a_syn["hi"]),
                     a_standing, f6(a_syn["hk_lo"]), f6(a_syn["hk_hi"]), f6(a_syn["I2"])))
            print("    their certainty: start %s; total n %d; downgrades: %s -> %s"
                  % (a_cert[0], a_cert[2], "; ".join(a_cert[3]) or "none", a_cert[4]))
        vd = verdict(dom, st, syn["k"], sum(s["design"] in RANDOMISED for s in studies), cert[4], ap)
        print("  verdict: %s (%s)" % vd)
        print("  score Phi(mu/se) = %s (1 - score = %.3e)" % (f6(syn["score"]), 1 - syn["score"]))
        results[dom] = (studies, syn, st, cert, vd)
        print()

    print("-- behaviour: only S4 (pre-post, rated prudent): no eligible study, no synthesis")
    print("  verdict: %s (%s)" % verdict("behaviour", None, 0, 0, "very low",
                                         support_prudent=True))
    print()
    print("-- headline: violence (tier 1) is conclusive -> category %s, certainty %s, score %s"
          % (results["violence"][4][0], results["violence"][3][4], f6(results["violence"][1]["score"])))
    print()

    # For comparison only: what pooling the pre-post study would have done (review finding 9)
    yv = [0.35, 0.18, 0.42, 0.60]
    vv = [0.07 ** 2, 0.10 ** 2, 0.12 ** 2, 0.15 ** 2]
    wrong = synthesis(yv, vv)
    print("-- not done (pre-post never pooled): with S4 the violence estimate would be %s [%s, %s]"
          % (f6(wrong["mu"]), f6(wrong["lo"]), f6(wrong["hi"])))
    print()

    # Leave-one-study-out on the violence synthesis (fragility, flip)
    print("-- leave one study out (violence, whole cell decision re-run)")
    studies = results["violence"][0]
    for drop in range(len(studies)):
        rest = [s for i, s in enumerate(studies) if i != drop]
        syn = synthesis([s["y"] for s in rest], [s["v"] for s in rest])
        st = standing(syn["lo"], syn["hi"], DELTA_SMD)
        cert = certainty(rest, syn, "violence")
        ap, _ = appraised_check(rest, "violence")
        vd = verdict("violence", st, syn["k"], sum(s["design"] in RANDOMISED for s in rest), cert[4], ap)
        print("  without %s: tau^2 %s mu %s CI [%s, %s] HKSJ [%s, %s] I^2 %s%% -> %s; certainty %s (%s); %s (%s)"
              % (studies[drop]["id"], f6(syn["tau2"]), f6(syn["mu"]), f6(syn["lo"]), f6(syn["hi"]),
                 f6(syn["hk_lo"]), f6(syn["hk_hi"]), f6(syn["I2"]), st, cert[4],
                 "; ".join(cert[3]) or "no downgrade", vd[0], vd[1]))
    print()

    # --- Example 2 and 3: single RCTs --------------------------------------
    print("== Example 2: one RCT, SMD 0.30, SE 0.255, n 60 (violence) ==")
    y, se = 0.30, 0.255
    one = [dict(id="T", design="rct", rob="low", n=60, y=y, v=se * se)]
    syn = synthesis([y], [se * se])
    st = standing(syn["lo"], syn["hi"], DELTA_SMD)
    cert = certainty(one, syn, "violence")
    print("  CI [%s, %s] -> %s -> %s; score Phi(%s) = %s"
          % (f6(syn["lo"]), f6(syn["hi"]), st, verdict("violence", st, 1, 1, cert[4])[0],
             f6(y / se), f6(phi(y / se))))
    print("  certainty: start %s; downgrades: %s -> %s" % (cert[0], "; ".join(cert[3]), cert[4]))
    print()
    print("== Example 3: one RCT, SMD 0.02, CI [-0.05, 0.09], n 3,200 (violence) ==")
    y = 0.02
    se = 0.07 / Z975
    one = [dict(id="T", design="rct", rob="low", n=3200, y=y, v=se * se)]
    syn = synthesis([y], [se * se])
    lo, hi = syn["lo"], syn["hi"]
    st = standing(lo, hi, DELTA_SMD)
    cert = certainty(one, syn, "violence")
    print("  se %s CI [%s, %s] inside (-%.2f, %.2f) -> %s -> %s; score Phi(%s) = %s"
          % (f6(se), f6(lo), f6(hi), DELTA_SMD, DELTA_SMD, st,
             verdict("violence", st, 1, 1, cert[4])[0], f6(y / se), f6(phi(y / se))))
    print("  certainty: start %s; downgrades: %s -> %s" % (cert[0], "; ".join(cert[3]) or "none", cert[4]))
    print("  with delta 0.05 instead: %s" % standing(lo, hi, 0.05))
    print()
    print("== Design effect (section 2): n 2,530 in 8 clusters, ICC 0.10 ==")
    de = design_effect(2530, 8)
    print("  m %s, design effect %s, SE multiplier sqrt(DE) %s"
          % (f6(2530 / 8), f6(de), f6(math.sqrt(de))))


if __name__ == "__main__":
    main()
