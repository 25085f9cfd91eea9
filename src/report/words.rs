//! Verdicts in words a non-statistician reads right (docs/scoring.md
//! section 12): the sentence leads with the verdict it explains, labels are
//! words ("needs more research", "very low"), singular and plural agree,
//! intervals are labelled, and a consensus that differs says why.

use crate::model::{OutcomeDomain, Rating};
use crate::score::robust::{Change, Flip};
use crate::score::{Basis, CellResult, Downgrade, PoolNote, Rule, Standing};

/// `n` and the noun in the right number.
pub fn count(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    super::output::count(n.into(), singular, plural)
}

/// "one", "two", "three" up to ten, then digits.
pub fn number_word(n: u32) -> String {
    const W: [&str; 11] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    W.get(n as usize).map_or_else(|| n.to_string(), |w| w.to_string())
}

/// A category in words, harm included.
pub fn category(c: Rating, harm: bool) -> &'static str {
    if harm {
        "ineffective/harmful"
    } else {
        c.label()
    }
}

/// A category as a machine-readable value for table columns: the key, or
/// `harmful` for an ineffective verdict with credible harm.
pub fn category_value(c: Rating, harm: bool) -> &'static str {
    if harm {
        "harmful"
    } else {
        c.key()
    }
}

fn on(d: OutcomeDomain) -> String {
    format!("on {}", d.label())
}

/// The rule of a verdict, as a sentence that starts with the verdict.
pub fn rule_sentence(
    rule: Rule,
    cat: Rating,
    harm: bool,
    domain: OutcomeDomain,
    pos: u32,
    null: u32,
    n_studies: u32,
) -> String {
    let verdict = category(cat, harm);
    let studies = |n: u32| count(n, "rigorous study", "rigorous studies");
    match rule {
        Rule::HarmStudies => format!(
            "{verdict}: credible evidence of harm {} (a reviewer rated a finding harmful, or a rigorous study's primary outcome was significantly harmful)",
            on(domain)
        ),
        Rule::HarmPooled => {
            format!("{verdict}: the pooled effect of mostly rigorous studies {} lies wholly on the harmful side", on(domain))
        }
        Rule::PooledBenefit => format!(
            "{verdict}: the pooled effect of mostly rigorous studies {} shows a significant benefit (its 95% CI lies above no effect){}",
            on(domain),
            if domain == OutcomeDomain::RiskFactor { "; effective needs evidence on the outcome itself" } else { "" }
        ),
        Rule::Mixed => format!(
            "{verdict}: rigorous studies disagree {} ({} found a benefit, {} found none; neither side carries twice the weight of the other)",
            on(domain),
            count(pos, "study", "studies"),
            number_word(null)
        ),
        Rule::Effective => {
            format!("{verdict}: {} found a significant benefit {}{}", studies(pos), on(domain), against(null))
        }
        Rule::Promising => {
            format!("{verdict}: {} found a significant benefit {}{}", studies(pos), on(domain), against(null))
        }
        Rule::RiskFactorCap => format!(
            "{verdict}: {} found a significant benefit on risk factors only{}; effective needs evidence on the outcome itself",
            studies(pos),
            against(null)
        ),
        Rule::Ineffective => format!(
            "{verdict}: rigorous evaluations found no effect {} ({} against {} with a benefit)",
            on(domain),
            studies(null),
            number_word(pos)
        ),
        Rule::Prudent => format!("{verdict}: support {} comes only from studies that are not rigorous", on(domain)),
        Rule::Inconclusive => format!("{verdict}: the rigorous studies {} are inconclusive", on(domain)),
        Rule::TooFew => format!(
            "{verdict}: too little evidence {} ({}, none rigorous with a clear result)",
            on(domain),
            count(n_studies, "study", "studies")
        ),
    }
}

fn against(null: u32) -> String {
    match null {
        0 => String::new(),
        n => format!(", against {} without", count(n, "study", "studies")),
    }
}

/// The cell's verdict sentence (with the borrowing cap).
pub fn verdict_sentence(c: &CellResult) -> String {
    let d = c.domain_result(c.domain);
    let n = d.map_or(0, |d| d.n_studies);
    let mut s = rule_sentence(c.rule, c.category, c.harm_flag, c.domain, c.rigorous_positive, c.rigorous_null, n);
    if c.capped {
        s.push_str(&format!(
            "; capped at {} because it rests on evidence borrowed from other income settings",
            c.category.label()
        ));
    }
    s
}

pub fn downgrade(d: &Downgrade) -> String {
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    match d {
        Downgrade::RiskOfBias { high, unknown } => {
            let mut parts = Vec::new();
            if *high > 0.0 {
                parts.push(format!("{} of the weight is from high risk-of-bias studies", pct(*high)));
            }
            if *unknown > 0.0 {
                parts.push(format!("{} from studies without a risk-of-bias judgement", pct(*unknown)));
            }
            let mut text = parts.join(" and ");
            if *high == 0.0 {
                text = text.replacen(" from studies", " of the weight is from studies", 1);
            }
            format!("risk of bias: {text}")
        }
        Downgrade::Inconsistency { positive, null } => format!(
            "inconsistency: studies disagree ({} of the weight found a benefit, {} found none or harm)",
            pct(*positive),
            pct(*null)
        ),
        Downgrade::Heterogeneity { i2 } => format!("inconsistency: pooled effects are heterogeneous (I^2 = {i2:.0}%)"),
        Downgrade::Imprecision { studies, total_sample, min_sample, ci_includes_zero } => {
            let mut parts = Vec::new();
            if *studies < 2 {
                parts.push(count(*studies as u64, "study", "studies"));
            }
            if total_sample < min_sample {
                parts.push(format!("total sample {total_sample} (under {min_sample})"));
            }
            if *ci_includes_zero {
                parts.push("the pooled 95% CI includes no effect".into());
            }
            format!("imprecision: {}", parts.join("; "))
        }
        Downgrade::Indirectness { borrowed_from, risk_factors } => {
            let mut parts = Vec::new();
            if !borrowed_from.is_empty() {
                let from: Vec<&str> = borrowed_from.iter().map(|b| b.key()).collect();
                parts.push(format!("evidence borrowed from {}", from.join(", ")));
            }
            if *risk_factors {
                parts.push("risk factors stand in for the outcome".into());
            }
            format!("indirectness: {}", parts.join("; "))
        }
        Downgrade::PublicationBias { egger_p } => {
            format!("publication bias: Egger's test p = {egger_p:.3} (funnel asymmetry)")
        }
    }
}

/// The short name of a downgrade ("risk of bias", "imprecision", ...).
pub fn downgrade_name(d: &Downgrade) -> &'static str {
    match d {
        Downgrade::RiskOfBias { .. } => "risk of bias",
        Downgrade::Inconsistency { .. } | Downgrade::Heterogeneity { .. } => "inconsistency",
        Downgrade::Imprecision { .. } => "imprecision",
        Downgrade::Indirectness { .. } => "indirectness",
        Downgrade::PublicationBias { .. } => "publication bias",
    }
}

pub fn flip(f: &Flip) -> String {
    let to = category(f.to, f.harm);
    match &f.change {
        Change::WithoutStudy { study } => format!("without study {study} -> {to}"),
        Change::AddRigorous { n, standing } => {
            let kind = match standing {
                Standing::Positive => "positive",
                _ => "null",
            };
            let more = if *n == 1 { "one more".to_string() } else { format!("{} more", number_word(*n)) };
            format!("{more} rigorous {kind} {} -> {to}", if *n == 1 { "study" } else { "studies" })
        }
    }
}

pub fn pool_note(n: &PoolNote) -> String {
    match n {
        PoolNote::MixedMeasures { measures } => {
            let m: Vec<&str> = measures.iter().map(|m| m.name()).collect();
            format!("not pooled: the effect sizes mix measures ({})", m.join(", "))
        }
        PoolNote::Failed { message } => format!("not pooled: {message}"),
    }
}

/// Why a consensus rating differs from the verdict: the main reasons, in
/// order of weight.
pub fn consensus_reason(c: &CellResult) -> Option<String> {
    let r = c.consensus_rating?;
    if !c.disagreement {
        return None;
    }
    let mut why: Vec<String> = Vec::new();
    if c.basis == Basis::Borrowed {
        why.push("the verdict uses evidence borrowed from other settings, the consensus local findings only".into());
        if c.capped {
            why.push(format!("borrowed evidence cannot rate above {}", c.category.label()));
        }
    } else {
        why.push(match c.rule {
            Rule::Mixed => "rigorous studies disagree".into(),
            Rule::RiskFactorCap => "risk factors cannot make an intervention effective".into(),
            Rule::HarmStudies | Rule::HarmPooled => "credible evidence of harm outweighs other findings".into(),
            Rule::PooledBenefit => "the pooled effect of rigorous studies sets it".into(),
            Rule::Prudent | Rule::Inconclusive | Rule::TooFew => {
                "only rigorous studies with a clear result can set a better verdict".into()
            }
            _ if c.domains.len() > 1 => format!("the verdict rests on {} only", c.domain.label()),
            _ => "only rigorous studies with a clear result set the verdict".into(),
        });
    }
    let rated: u64 = c.rating_counts.iter().sum();
    Some(format!(
        "reviewers' consensus is {} ({}); the verdict differs because {}",
        r.label(),
        count(rated, "rated finding", "rated findings"),
        why.join("; ")
    ))
}

/// One paragraph: why this cell has its verdict (leads with the verdict).
pub fn why(c: &CellResult) -> String {
    let mut s = verdict_sentence(c);
    let mut studies = if c.n_studies == 0 {
        "no local study".to_string()
    } else {
        count(c.n_studies as u64, "local study", "local studies")
    };
    if c.n_borrowed_studies > 0 {
        let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
        let sep = if c.n_studies == 0 { ";" } else { " +" };
        studies.push_str(&format!("{sep} {} borrowed from {}", c.n_borrowed_studies, from.join(", ")));
    }
    s.push_str(&format!("; {studies}; certainty {}", c.certainty.label()));
    if !c.downgrades.is_empty() {
        let mut names: Vec<&str> = c.downgrades.iter().map(downgrade_name).collect();
        names.dedup();
        s.push_str(&format!(" (down for {})", names.join(", ")));
    }
    if c.harm_signal > 0 {
        s.push_str(&format!(
            "; weak harm signal in {} (not enough for a harmful verdict)",
            count(c.harm_signal, "study", "studies")
        ));
    }
    if let Some(r) = consensus_reason(c) {
        s.push_str("; ");
        s.push_str(&r);
    }
    s
}

/// "90% band 0.46-0.93" and the score.
pub fn score_band(c: &CellResult, level: f64) -> String {
    format!("score {:.2} ({:.0}% band {:.2}-{:.2})", c.score, 100.0 * level, c.score_low, c.score_high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_read_as_sentences() {
        let f = Flip {
            change: Change::AddRigorous { n: 1, standing: Standing::Null },
            to: Rating::NeedsResearch,
            harm: false,
        };
        assert_eq!(flip(&f), "one more rigorous null study -> needs more research");
        let f = Flip {
            change: Change::AddRigorous { n: 2, standing: Standing::Positive },
            to: Rating::Effective,
            harm: false,
        };
        assert_eq!(flip(&f), "two more rigorous positive studies -> effective");
        let f = Flip { change: Change::WithoutStudy { study: "S1".into() }, to: Rating::Ineffective, harm: true };
        assert_eq!(flip(&f), "without study S1 -> ineffective/harmful");
    }

    #[test]
    fn rules_lead_with_the_verdict_in_words() {
        let s = rule_sentence(Rule::Mixed, Rating::NeedsResearch, false, OutcomeDomain::Violence, 1, 1, 2);
        assert!(s.starts_with("needs more research: rigorous studies disagree on violence (1 study found"), "{s}");
        let s = rule_sentence(Rule::Promising, Rating::Promising, false, OutcomeDomain::Behaviour, 1, 0, 1);
        assert_eq!(s, "promising: 1 rigorous study found a significant benefit on behaviour");
    }
}
