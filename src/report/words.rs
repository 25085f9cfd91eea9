//! Verdicts in words a non-statistician reads right (docs/scoring.md
//! section 12): the sentence leads with the verdict it explains, labels are
//! words ("needs more research", "very low"), singular and plural agree,
//! intervals are labelled, and a consensus that differs says why.

use crate::meta::Measure;
use crate::model::{IncomeSetting, OutcomeDomain, Rating, RiskOfBias, StudyDesign};
use crate::score::cell::ScoreBasis;
use crate::score::robust::{AddedAt, Change, Flip};
use crate::score::{
    Appraisal, Basis, CellResult, Certainty, DomainResult, Downgrade, HarmReason, PoolNote, Pooled, Rule, Standing,
};

/// `n` and the noun in the right number.
pub fn count(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    super::output::count(n.into(), singular, plural)
}

/// "one", "two", "three" up to ten, then digits.
pub fn number_word(n: u32) -> String {
    const W: [&str; 11] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    W.get(n as usize).map_or_else(|| n.to_string(), |w| w.to_string())
}

/// A category in words, harm included. "Ineffective" is the scale's
/// bottom level (no important effect); harm is said only when it is
/// credible.
pub fn category(c: Rating, harm: bool) -> &'static str {
    if harm {
        "harmful"
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

/// A number with 2 decimals, without "-0.00".
fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" {
        "0.00".into()
    } else {
        s
    }
}

/// A pooled effect as reported: "SMD 0.32 [0.19, 0.44], 3 studies"; ratio
/// measures on their own scale ("RR 0.80 [0.70, 0.92]").
pub fn effect_text(p: &Pooled) -> String {
    let x = &p.synthesis;
    let (e, lo, hi) = if matches!(x.measure, Measure::RR | Measure::OR) {
        (x.estimate.exp(), x.ci_lower.exp(), x.ci_upper.exp())
    } else {
        (x.estimate, x.ci_lower, x.ci_upper)
    };
    let what = if p.descriptive { ", uncontrolled, descriptive only" } else { "" };
    format!(
        "{} {} [{}, {}], {}{what}",
        x.measure.name(),
        num(e),
        num(lo),
        num(hi),
        count(x.k as u64, "study", "studies")
    )
}

fn pooled_part(d: &DomainResult) -> String {
    d.pooled.as_ref().map(|p| format!(" ({})", effect_text(p))).unwrap_or_default()
}

/// For a benefit: the pooled estimate when it shows it, else that the
/// benefit comes from reviewers' ratings (or single studies) while the
/// estimate says something else.
fn benefit_part(d: &DomainResult) -> String {
    match (&d.pooled, d.standing) {
        (Some(p), Some(Standing::Benefit)) => format!(" ({})", effect_text(p)),
        (Some(p), Some(st)) => format!(
            " (from reviewers' ratings or single studies; the pooled estimate, {}, is {})",
            effect_text(p),
            st.label()
        ),
        _ => " (from reviewers' ratings or single studies)".to_string(),
    }
}

/// The rule of a domain's verdict, as a sentence that starts with the
/// verdict.
pub fn rule_sentence(d: &DomainResult) -> String {
    let verdict = category(d.category, d.harm);
    let dom = on(d.domain);
    let eff = pooled_part(d);
    let ben = benefit_part(d);
    match d.rule {
        Rule::HarmStudies => format!(
            "{verdict}: a controlled, appraised study shows harm {dom} (a significantly harmful primary outcome with a known direction, or an explicit harmful judgement)"
        ),
        Rule::HarmPooled => format!("{verdict}: the synthesis of appraised controlled studies {dom} is significantly harmful{eff}"),
        Rule::Mixed => format!(
            "{verdict}: conclusive evidence {dom} conflicts (a benefit, and evidence of no important effect or of harm){eff}"
        ),
        Rule::Effective => format!(
            "{verdict}: {} show a benefit {dom}{ben}, certainty {}",
            count(d.n_benefit, "controlled study", "controlled studies"),
            d.certainty.label()
        ),
        Rule::Promising => format!("{verdict}: one controlled study shows a benefit {dom}{ben}; effective needs more than one"),
        Rule::LowCertainty => format!(
            "{verdict}: a benefit {dom}{ben}, but certainty is {} (effective needs at least moderate)",
            d.certainty.label()
        ),
        Rule::RiskFactorCap => format!(
            "{verdict}: a benefit on risk factors only{ben}; effective needs evidence on violence or behaviour"
        ),
        Rule::NotAssessedCap => format!(
            "{verdict}: a benefit {dom}{ben} that rests on studies whose risk of bias was not assessed (the appraised studies alone do not show it with enough studies or certainty)"
        ),
        Rule::NotRandomised => format!(
            "{verdict}: a benefit {dom}{ben} from non-randomised studies only; effective needs a randomised one"
        ),
        Rule::Ineffective => {
            format!("{verdict}: the controlled evidence {dom} shows no important effect{eff} (its 95% CI lies within the band of unimportant effects)")
        }
        Rule::Prudent => format!(
            "{verdict}: no controlled, appraised evidence {dom}; support comes only from uncontrolled or high risk-of-bias studies"
        ),
        // A significantly harmful estimate that cannot make harm credible
        // (no known direction, high risk of bias, ...) is not "compatible
        // with a benefit": say what it shows and why it does not count.
        Rule::Inconclusive if d.standing == Some(Standing::Harm) => format!(
            "{verdict}: the controlled evidence {dom} points to harm{eff}, but the harm is not credible (see the harm signals), so it decides nothing"
        ),
        Rule::Inconclusive => format!(
            "{verdict}: the controlled evidence {dom} is inconclusive{eff}: compatible with a benefit and with none"
        ),
        Rule::TooFew => format!(
            "{verdict}: too little evidence {dom} ({}, none controlled with a clear result)",
            count(d.n_studies, "study", "studies")
        ),
    }
}

/// Higher-tier domains that are shown but do not set the headline:
/// "violence: inconclusive, 2 studies".
pub fn other_tiers(c: &CellResult) -> Option<String> {
    let above: Vec<String> = c
        .domains
        .iter()
        .filter(|d| d.domain.index() < c.domain.index())
        .map(|d| {
            let what = match d.rule {
                Rule::Inconclusive => "inconclusive",
                Rule::Prudent => "only uncontrolled support",
                _ => "too little evidence",
            };
            format!("{}: {what}, {}", d.domain.label(), count(d.n_studies, "study", "studies"))
        })
        .collect();
    (!above.is_empty()).then(|| above.join("; "))
}

/// The cell's verdict sentence (with the borrowing cap and the higher
/// tiers that are not conclusive).
pub fn verdict_sentence(c: &CellResult) -> String {
    let mut s = match c.domain_result(c.domain) {
        Some(d) => rule_sentence(d),
        None => category(c.category, c.harm_flag).to_string(),
    };
    if c.capped {
        s.push_str(&format!(
            "; capped at {} because it rests on evidence borrowed from other income settings",
            c.category.label()
        ));
    }
    if let Some(t) = other_tiers(c) {
        s.push_str(&format!("; not conclusive on outcomes that matter more ({t})"));
    }
    s
}

pub fn downgrade(d: &Downgrade) -> String {
    match d {
        Downgrade::RiskOfBias { not_assessed, some_concerns, cluster_uncorrected, studies } => {
            let mut parts = Vec::new();
            if *not_assessed > 0 {
                parts.push(format!("risk of bias not assessed for {not_assessed} of {studies}"));
            }
            if *cluster_uncorrected > 0 {
                parts.push(format!(
                    "{} assigned clusters but analysed individuals, and the SE could not be corrected",
                    count(*cluster_uncorrected, "study", "studies")
                ));
            }
            if parts.is_empty() {
                parts.push(format!("{:.0}% of the weight is from studies with some concerns", 100.0 * some_concerns));
            }
            format!("risk of bias: {}", parts.join("; "))
        }
        Downgrade::Inconsistency { i2, pi_crosses_zero, ci_disjoint } => {
            let mut parts = Vec::new();
            if *i2 > 0.0 && *pi_crosses_zero {
                parts.push(format!("I^2 = {i2:.0}% and the prediction interval crosses no effect"));
            }
            if *ci_disjoint {
                parts.push("study intervals do not overlap, on both sides of no effect".into());
            }
            format!("inconsistency: {}", parts.join("; "))
        }
        Downgrade::Imprecision { ci_inconclusive, hksj_crosses_zero, total_sample, ois, very_serious } => {
            let mut parts = Vec::new();
            if *ci_inconclusive {
                parts.push("the 95% CI is compatible with a benefit and with none".to_string());
            }
            if *hksj_crosses_zero {
                parts.push("the Hartung-Knapp interval (few studies) includes no effect".into());
            }
            if let Some(n) = total_sample.filter(|n| n < ois) {
                parts.push(format!("total sample {n} is below the optimal information size {ois}"));
            }
            let how = if *very_serious { " (very serious: down two levels)" } else { "" };
            format!("imprecision{how}: {}", parts.join("; "))
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
    d.name()
}

pub fn flip(f: &Flip) -> String {
    let to = category(f.to, f.harm);
    match &f.change {
        Change::WithoutStudy { study, upgrade, standing, estimate } => {
            let mut s = format!("without study {study} -> {to}");
            if *upgrade {
                let what = match (estimate, standing) {
                    (Some(e), _) => format!("its estimate {} pulls the evidence down", num(*e)),
                    (None, Some(st)) => format!("its reviewers' judgement ({}) holds the verdict down", st.label()),
                    (None, None) => "it holds the verdict down".into(),
                };
                s.push_str(&format!(" (better without it: {what})"));
            }
            s
        }
        Change::AddStudies { n, at, effect, se, .. } => {
            let more = if *n == 1 { "one more".to_string() } else { format!("{} more", number_word(*n)) };
            let studies = if *n == 1 { "controlled study" } else { "controlled studies" };
            let what = match (at, effect, se) {
                (AddedAt::NoEffect, Some(_), Some(se)) => format!("at no effect (0, se {})", num(*se)),
                (AddedAt::CellEffect, Some(e), Some(se)) => {
                    format!("at the cell's effect ({}, se {})", num(*e), num(*se))
                }
                (AddedAt::NoEffect, _, _) => "rated as showing no effect".into(),
                (AddedAt::CellEffect, _, _) => "rated as showing a benefit".into(),
            };
            format!("{more} {studies} {what} -> {to}")
        }
    }
}

pub fn pool_note(n: &PoolNote) -> String {
    match n {
        PoolNote::MixedMeasures { measures } => {
            let m: Vec<&str> = measures.iter().map(|m| m.name()).collect();
            format!("not pooled: the effect sizes mix measures ({}); each study counts on its own", m.join(", "))
        }
        PoolNote::Failed { message } => format!("not pooled: {message}"),
    }
}

pub fn harm_reason(r: HarmReason) -> &'static str {
    match r {
        HarmReason::NotViolenceOrBehaviour => "not on violence or behaviour",
        HarmReason::NotControlled => "not a controlled design",
        HarmReason::HighRiskOfBias => "high risk of bias",
        HarmReason::RiskOfBiasNotAssessed => "risk of bias not assessed",
        HarmReason::SecondaryOutcome => "a secondary outcome",
        HarmReason::DirectionNotGiven => "direction not given (an SMD or MD is not read as harm)",
        HarmReason::ClusterNotCorrected => "clusters assigned, SE not corrected for clustering",
        HarmReason::ContradictsEstimate => "marked harmful, but its own estimate shows a significant benefit",
    }
}

/// Harm signals in words: "2 harm signals, not credible enough for a
/// harmful verdict: S3 (direction not given ...), the synthesis on violence (...)".
pub fn harm_signals(c: &CellResult) -> Option<String> {
    if c.harm_signals.is_empty() {
        return None;
    }
    let list: Vec<String> = c
        .harm_signals
        .iter()
        .map(|h| {
            let who = h
                .study
                .as_ref()
                .map_or_else(|| format!("the synthesis on {}", h.domain.label()), |s| format!("study {s}"));
            format!("{who} ({})", harm_reason(h.reason))
        })
        .collect();
    Some(format!(
        "{}, not credible enough for a harmful verdict: {}",
        count(c.harm_signals.len() as u64, "harm signal", "harm signals"),
        list.join(", ")
    ))
}

/// Robustness and fragility in one sentence that says what each covers.
pub fn sureness(c: &CellResult) -> String {
    let settings = match c.robustness {
        None => "robustness not computed (draws off)".to_string(),
        Some(r) if r >= 0.995 => "holds under all plausible analysis settings".to_string(),
        Some(r) if r < 0.5 => format!(
            "holds under only {:.0}% of plausible analysis settings: the default verdict is the minority outcome",
            100.0 * r
        ),
        Some(r) => format!("holds under {:.0}% of plausible analysis settings", 100.0 * r),
    };
    let study =
        if c.fragile { "but one study decides it (see the closest change)" } else { "and no single study decides it" };
    let join = if c.fragile { ", " } else { " " };
    format!("{settings}{join}{study}")
}

/// Why a consensus rating differs from the verdict.
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
            Rule::Mixed => "conclusive evidence conflicts".into(),
            Rule::RiskFactorCap => "risk factors cannot make an intervention effective".into(),
            Rule::HarmStudies | Rule::HarmPooled => "credible evidence of harm outweighs other findings".into(),
            Rule::Inconclusive => "the effect estimates are inconclusive, whatever the ratings say".into(),
            Rule::Prudent | Rule::TooFew => "only controlled, appraised evidence can set a better verdict".into(),
            _ if c.domains.len() > 1 => format!("the verdict rests on {} only", c.domain.label()),
            _ => "the verdict reads the effect estimates, not the count of ratings".into(),
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

/// The reviewers' consensus in one line: why it differs, that it agrees,
/// or that there is none.
pub fn consensus_line(c: &CellResult) -> String {
    match (c.consensus_rating, consensus_reason(c)) {
        (_, Some(r)) => r,
        (Some(r), None) => format!("reviewers' consensus: {} (agrees)", r.label()),
        (None, None) => "reviewers' consensus: none (no reviewer-assigned ratings)".to_string(),
    }
}

/// Why this cell has its verdict, in parts: the verdict sentence first,
/// then the studies it rests on with the certainty, harm signals and the
/// reviewers' consensus when it differs. [`why`] joins them.
pub fn why_parts(c: &CellResult) -> Vec<String> {
    let mut parts = vec![verdict_sentence(c)];
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
    parts.push(studies);
    let mut certainty = format!("certainty {}", c.certainty.label());
    if c.certainty_start < Certainty::High {
        certainty.push_str(" (non-randomised evidence starts low)");
    }
    if !c.downgrades.is_empty() {
        let mut names: Vec<&str> = c.downgrades.iter().map(downgrade_name).collect();
        names.dedup();
        certainty.push_str(&format!(" (down for {})", names.join(", ")));
    }
    parts.push(certainty);
    parts.extend(harm_signals(c));
    parts.extend(consensus_reason(c));
    parts
}

/// One paragraph: why this cell has its verdict (leads with the verdict).
pub fn why(c: &CellResult) -> String {
    why_parts(c).join("; ")
}

/// A share as a whole percentage ("100%"), as `rank` prints robustness.
pub fn percent(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// What a study can do for the verdict, given its design and appraisal.
/// `not_assessed_counts_fully`: the configuration lets studies whose risk
/// of bias was not assessed count like appraised ones.
pub fn appraisal(a: Appraisal, not_assessed_counts_fully: bool) -> &'static str {
    match a {
        Appraisal::Appraised => "controlled and appraised: enters the synthesis",
        Appraisal::NotAssessed if not_assessed_counts_fully => {
            "controlled, risk of bias not assessed: enters the synthesis (configured to count like appraised studies)"
        }
        Appraisal::NotAssessed => {
            "controlled, risk of bias not assessed: enters the synthesis, supports at most promising"
        }
        Appraisal::HighRisk => "high risk of bias: can support prudent only",
        Appraisal::Uncontrolled => "not controlled: can support prudent only",
    }
}

/// An income setting in words ("low-income").
pub fn setting(s: IncomeSetting) -> &'static str {
    match s {
        IncomeSetting::Lic => "low-income",
        IncomeSetting::Lmc => "lower-middle-income",
        IncomeSetting::Umc => "upper-middle-income",
        IncomeSetting::Hic => "high-income",
    }
}

/// An income setting in words with its code ("low-income (LIC)").
pub fn setting_with_code(s: IncomeSetting) -> String {
    format!("{} ({})", setting(s), s.key())
}

/// A study design in words.
pub fn design(d: StudyDesign) -> &'static str {
    match d {
        StudyDesign::SystematicReview => "systematic review",
        StudyDesign::Rct => "randomised controlled trial",
        StudyDesign::QuasiExperimental => "quasi-experimental",
        StudyDesign::PrePost => "before and after, no control",
        StudyDesign::Observational => "observational",
        StudyDesign::Qualitative => "qualitative",
        StudyDesign::ExpertOpinion => "expert opinion",
    }
}

/// A risk-of-bias judgement in words.
pub fn risk_of_bias(r: RiskOfBias) -> &'static str {
    match r {
        RiskOfBias::Low => "low",
        RiskOfBias::SomeConcerns => "some concerns",
        RiskOfBias::High => "high",
    }
}

/// Where the evidence comes from: "local", or "borrowed from LMC, UMC".
pub fn basis(c: &CellResult) -> String {
    match c.basis {
        Basis::Local => "local".to_string(),
        Basis::Borrowed => {
            let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
            if from.is_empty() {
                "borrowed".to_string()
            } else {
                format!("borrowed from {}", from.join(", "))
            }
        }
    }
}

/// How sure the verdict is, in one short phrase joining robustness and
/// fragility ("holds in 100% of settings; no single study decides it").
/// [`sureness`] is the full sentence.
pub fn sure_phrase(c: &CellResult) -> String {
    let settings = match c.robustness {
        None => "robustness not computed".to_string(),
        Some(r) => format!("holds in {} of settings", percent(r)),
    };
    let study = if c.fragile { "one study decides it" } else { "no single study decides it" };
    format!("{settings}; {study}")
}

/// Harm in a few words: "harmful", "2 signals, not credible", or "none".
pub fn harm_phrase(c: &CellResult) -> String {
    if c.harm_flag {
        "harmful".to_string()
    } else if c.harm_signals.is_empty() {
        "none".to_string()
    } else {
        format!("{}, not credible", count(c.harm_signals.len() as u64, "signal", "signals"))
    }
}

/// "probability of benefit 0.97", or "score 1.00 (from its studies'
/// ratings or effects)" when there is no synthesis.
/// Why certainty started where it did (docs/scoring.md section 8).
pub fn certainty_start_reason(start: Certainty) -> &'static str {
    if start == Certainty::High {
        "the evidence includes a randomised study"
    } else {
        "non-randomised evidence starts low"
    }
}

pub fn score_text(c: &CellResult) -> String {
    match c.score_basis {
        ScoreBasis::Synthesis => format!("probability of benefit {:.2}", c.score),
        ScoreBasis::Studies => format!("score {:.2} (share of its studies showing a benefit)", c.score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_read_as_sentences() {
        let add = |n, at, effect| Flip {
            change: Change::AddStudies { n, at, domain: OutcomeDomain::Violence, effect, se: effect.map(|_| 0.12) },
            to: Rating::NeedsResearch,
            harm: false,
        };
        assert_eq!(
            flip(&add(1, AddedAt::NoEffect, Some(0.0))),
            "one more controlled study at no effect (0, se 0.12) -> needs more research"
        );
        assert_eq!(
            flip(&add(2, AddedAt::CellEffect, Some(0.25))),
            "two more controlled studies at the cell's effect (0.25, se 0.12) -> needs more research"
        );
        assert_eq!(
            flip(&add(1, AddedAt::NoEffect, None)),
            "one more controlled study rated as showing no effect -> needs more research"
        );
        let f = Flip {
            change: Change::WithoutStudy { study: "S1".into(), upgrade: true, standing: None, estimate: Some(-0.12) },
            to: Rating::Promising,
            harm: false,
        };
        assert_eq!(
            flip(&f),
            "without study S1 -> promising (better without it: its estimate -0.12 pulls the evidence down)"
        );
    }

    #[test]
    fn harm_is_a_word_of_its_own() {
        assert_eq!(category(Rating::Ineffective, false), "ineffective");
        assert_eq!(category(Rating::Ineffective, true), "harmful");
    }
}
