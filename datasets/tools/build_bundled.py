#!/usr/bin/env python3
"""Builds datasets/evidence_vac.csv and its Dutch Excel-style export.

The records are CONSTRUCTED, not extracted from studies: interventions, their
INSPIRE strategy and their likely standing follow what evidence reviews report
(UNICEF 2020, INSPIRE 2016; see datasets/README.md), but every row's study
id, sample size, year, rating and effect size is generated here from a fixed
seed. The `source` column says so on every row. Use them to learn and test
evidex, never as findings.

Run: python3 datasets/tools/build_bundled.py   (deterministic; no dependencies)
"""
import csv
import io
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
rng = random.Random(20201201)

# name, strategy, standing, {target_group: [income settings]}
# standing: effective | promising | prudent | mixed | null | harmful
INTERVENTIONS = [
    ("Trauma-focused CBT for child survivors", "response_services", "effective",
     {"survivors": ["HIC", "UMC", "LMC", "LIC"], "children": ["HIC"]}),
    ("Parenting programme (positive discipline)", "parent_support", "effective",
     {"parents and caregivers": ["HIC", "UMC", "LMC", "LIC"]}),
    ("Home visiting for new parents", "parent_support", "promising",
     {"parents and caregivers": ["HIC", "UMC"]}),
    ("School-based body-safety curriculum", "education_life_skills", "effective",
     {"children": ["HIC", "UMC", "LMC"]}),
    ("Comprehensive sexuality education", "education_life_skills", "promising",
     {"adolescent girls": ["HIC", "UMC", "LMC"], "boys": ["HIC", "UMC"]}),
    ("Self-defence and empowerment training for girls", "education_life_skills", "effective",
     {"adolescent girls": ["LIC", "LMC", "HIC"]}),
    ("Life-skills and safe-spaces clubs for girls", "education_life_skills", "promising",
     {"adolescent girls": ["LIC", "LMC"]}),
    ("Cash transfers to households", "economic", "promising",
     {"adolescent girls": ["LIC", "LMC", "UMC"], "children": ["LMC"]}),
    ("Savings groups with gender dialogue", "economic", "mixed",
     {"parents and caregivers": ["LIC", "LMC"], "adolescent girls": ["LIC"]}),
    ("Community mobilisation on gender norms", "norms", "promising",
     {"communities": ["LIC", "LMC", "UMC"]}),
    ("Bystander programme for young men", "norms", "promising",
     {"boys": ["HIC", "UMC"]}),
    ("Single-session awareness assembly", "norms", "null",
     {"children": ["HIC", "UMC"], "boys": ["HIC"]}),
    ("Safe school policies and codes of conduct", "safe_environments", "promising",
     {"teachers": ["HIC", "LMC", "LIC"], "children": ["LMC"]}),
    ("Child safeguarding policies in residential care", "safe_environments", "prudent",
     {"children": ["HIC", "UMC", "LMC"]}),
    ("Hotspot mapping and safe-route patrols", "safe_environments", "mixed",
     {"communities": ["LMC", "UMC"]}),
    ("Child helplines", "response_services", "needs_research",
     {"children": ["HIC", "LMC", "LIC"], "survivors": ["LMC"]}),
    ("Child-friendly forensic interviewing", "response_services", "promising",
     {"police and justice professionals": ["HIC", "UMC"]}),
    ("Police training on sexual exploitation", "laws", "prudent",
     {"police and justice professionals": ["LMC", "LIC", "UMC"]}),
    ("Mandatory reporting legislation", "laws", "prudent",
     {"teachers": ["HIC", "UMC"], "communities": ["LMC"]}),
    ("Raising the legal age of marriage", "laws", "needs_research",
     {"adolescent girls": ["LIC", "LMC"]}),
    ("Online safety education", "education_life_skills", "needs_research",
     {"children": ["HIC", "UMC"], "parents and caregivers": ["HIC"]}),
    ("CBT for people at risk of offending", "response_services", "mixed",
     {"potential offenders": ["HIC"]}),
    ("Prison-visit deterrence for at-risk youth", "response_services", "harmful",
     {"boys": ["HIC", "UMC"]}),
    ("Tourism-industry child protection code", "safe_environments", "prudent",
     {"private sector": ["UMC", "LMC"]}),
    ("Survivor peer-support groups", "response_services", "needs_research",
     {"survivors": ["HIC", "LIC"]}),
]

COUNTRIES = {
    "HIC": ["USA", "GBR", "NLD", "CAN", "AUS", "SWE"],
    "UMC": ["ZAF", "BRA", "MEX", "THA", "COL"],
    "LMC": ["KEN", "IND", "PHL", "NGA", "Côte d'Ivoire", "TZA"],
    "LIC": ["UGA", "MWI", "ETH", "RWA", "MOZ", "BFA"],
}
OUTCOMES = ["sexual violence victimisation", "knowledge of body safety", "disclosure", "harsh parenting",
            "dating violence perpetration", "PTSD symptoms", "attitudes to gender norms", "help-seeking"]

RIGOROUS = ["rct", "rct", "quasi_experimental"]
WEAK = ["pre_post", "observational", "qualitative"]


def rating_for(standing, design):
    rig = design in ("rct", "quasi_experimental", "systematic_review")
    if standing == "effective":
        return rng.choice(["effective", "effective", "promising"]) if rig else "promising"
    if standing == "promising":
        return rng.choice(["promising", "promising", "effective", "needs_research"]) if rig else "prudent"
    if standing == "prudent":
        return "prudent"
    if standing == "mixed":
        return rng.choice(["promising", "needs_research", "ineffective"])
    if standing == "null":
        return rng.choice(["ineffective", "ineffective", "needs_research"])
    if standing == "harmful":
        return rng.choice(["ineffective/harmful", "harmful", "ineffective"]) if rig else "needs_research"
    return "needs_research"


def effect_for(standing, n):
    mean = {"effective": 0.40, "promising": 0.25, "prudent": 0.10, "mixed": 0.05,
            "null": 0.0, "harmful": -0.25, "needs_research": 0.05}[standing]
    se = math.sqrt(4.0 / n + mean * mean / (2 * n))
    return round(rng.gauss(mean, se), 3), round(se, 4)


def build():
    rows = []
    study_no = 0
    rec_no = 0
    for name, strategy, standing, groups in INTERVENTIONS:
        for tg, settings in groups.items():
            for inc in settings:
                # HIC has more studies; LIC fewer (evidence gap).
                n_studies = {"HIC": 3, "UMC": 2, "LMC": 2, "LIC": 1}[inc]
                if standing in ("prudent", "needs_research"):
                    n_studies = max(1, n_studies - 1)
                for _ in range(n_studies):
                    study_no += 1
                    sid = f"S{study_no:03d}"
                    if standing in ("prudent",):
                        design = rng.choice(["qualitative", "observational", "expert_opinion"])
                    elif standing == "needs_research":
                        design = rng.choice(["pre_post", "observational", "rct"])
                    else:
                        design = rng.choice(RIGOROUS + (["pre_post"] if inc in ("LIC", "LMC") else []))
                    n = int(rng.choice([60, 120, 240, 400, 800, 1500, 3000]) * rng.uniform(0.8, 1.2))
                    year = rng.randint(1998, 2022)
                    country = rng.choice(COUNTRIES[inc])
                    rob = {"rct": ["low", "low", "some_concerns"], "quasi_experimental": ["some_concerns", "high"],
                           }.get(design, ["high", "some_concerns"])
                    findings = rng.choice([1, 1, 2, 3])
                    for k in range(findings):
                        rec_no += 1
                        rating = rating_for(standing, design)
                        es, se = ("", "")
                        if design in ("rct", "quasi_experimental", "pre_post") and rng.random() < 0.5:
                            es, se = effect_for(standing, n)
                        row = {
                            "record_id": f"R{rec_no:04d}",
                            "study_id": sid,
                            "intervention": name,
                            "strategy": strategy,
                            "target_group": tg,
                            "income_setting": inc,
                            "country": country,
                            "design": design,
                            "risk_of_bias": rng.choice(rob),
                            "sample_size": n,
                            "year": year,
                            "outcome": OUTCOMES[(study_no + k) % len(OUTCOMES)],
                            "rating": rating,
                            "effect_size": es,
                            "se": se,
                            "measure": "SMD" if es != "" else "",
                            "source": f"constructed example ({'Sánchez' if study_no % 17 == 0 else 'evidex'} et al., illustrative; not a real study)",
                        }
                        rows.append(row)
    # Missing values where real tables have them.
    for i, r in enumerate(rows):
        if i % 11 == 3:
            r["year"] = ""
        if i % 13 == 5:
            r["risk_of_bias"] = ""
        if i % 17 == 7:
            r["sample_size"] = ""
        if i % 19 == 2:
            r["strategy"] = ""
        if i % 9 == 4 and r["country"]:
            # income derived from country (and year) by evidex
            r["income_setting"] = ""
        if i % 23 == 6:
            r["study_id"] = ""  # its own study
    # Unrated findings that carry an effect size (accepted as unrated).
    for i, r in enumerate(rows):
        if i % 29 == 10 and r["effect_size"] != "":
            r["rating"] = ""
    return rows


FIELDS = ["record_id", "study_id", "intervention", "strategy", "target_group", "income_setting", "country",
          "design", "risk_of_bias", "sample_size", "year", "outcome", "rating", "effect_size", "se", "measure",
          "source"]

NL_HEADERS = {"record_id": "record_id", "study_id": "studie_id", "intervention": "interventie",
              "strategy": "strategie", "target_group": "doelgroep", "income_setting": "inkomensgroep",
              "country": "land", "design": "onderzoeksopzet", "risk_of_bias": "risico_op_bias",
              "sample_size": "steekproefomvang", "year": "jaar", "outcome": "uitkomst", "rating": "beoordeling",
              "effect_size": "effectgrootte", "se": "se", "measure": "measure", "source": "bron"}
NL_RATING = {"effective": "effectief", "promising": "veelbelovend", "prudent": "voorzichtig",
             "needs_research": "meer onderzoek nodig", "ineffective": "ineffectief",
             "harmful": "schadelijk", "ineffective/harmful": "ineffectief/schadelijk", "": ""}
NL_INCOME = {"LIC": "lage inkomens", "LMC": "lager middeninkomen", "UMC": "hoger middeninkomen",
             "HIC": "hoge inkomens", "": ""}


def main():
    rows = build()
    with open(HERE / "evidence_vac.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([NL_HEADERS[c] for c in FIELDS])
    for r in rows:
        out = []
        for c in FIELDS:
            v = r[c]
            if c == "rating":
                v = NL_RATING[v]
            elif c == "income_setting":
                v = NL_INCOME[v]
            elif c in ("effect_size", "se") and v != "":
                v = str(v).replace(".", ",")
            out.append(v)
        w.writerow(out)
    (HERE / "evidence_vac_nl.csv").write_bytes(buf.getvalue().encode("cp1252"))
    print(f"{len(rows)} records")


if __name__ == "__main__":
    main()
