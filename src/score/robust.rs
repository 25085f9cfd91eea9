//! How close a verdict is to the next one (docs/scoring.md section 9):
//! robustness under Monte Carlo draws of the configuration, fragility under
//! leaving out one study, and the smallest change that flips the category.
//! Study standings are computed once; a draw only re-weights them.

use super::cell::Evidence;
use super::config::ScoringConfig;
use super::study::Standing;
use super::verdict::{Entry, Params};
use super::weight::WeightModel;
use crate::model::Rating;
use serde::Serialize;

/// A small, seeded generator (SplitMix64; Steele, Lea & Flood 2014): the
/// same seed gives the same draws on every machine and thread count.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }
}

/// One drawn configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub weights: WeightModel,
    pub params: Params,
    pub transfer: [[f64; 4]; 4],
    /// The same numbers laid out for re-weighting many entries.
    pub tables: DrawTables,
}

/// A draw's factors as lookup tables: design x risk of bias (by
/// `design_slot * 4 + rob_slot`), age factor by age (the last slot holds
/// the unknown-year factor), `1 / ln(1 + reference_n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawTables {
    pub design_rob: [f64; 32],
    pub ages: Vec<f64>,
    pub inv_ln_reference_n: f64,
}

/// Ages with their own slot in [`DrawTables::ages`]; the slot after them
/// holds the unknown-year factor.
pub const DRAW_AGES: usize = 127;

impl DrawTables {
    pub fn new(m: &WeightModel) -> DrawTables {
        let mut design_rob = [0.0; 32];
        for d in 0..8 {
            for r in 0..4 {
                design_rob[d * 4 + r] = m.design[d] * m.rob[r];
            }
        }
        let mut ages: Vec<f64> = (0..DRAW_AGES as i32).map(|a| m.age(Some(m.reference_year - a))).collect();
        ages.push(m.unknown_year);
        DrawTables { design_rob, ages, inv_ln_reference_n: 1.0 / m.ln_reference_n }
    }
}

/// The draws' factors column by column (one value per draw), so a weight
/// is computed for all draws in one pass that the compiler vectorises.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Columns {
    pub n: usize,
    /// `design_rob[dr * n + d]`: design x risk-of-bias factor `dr` in draw `d`.
    pub design_rob: Vec<f64>,
    /// `ages[a * n + d]` (slot `DRAW_AGES` holds the unknown-year factor).
    pub ages: Vec<f64>,
    pub inv_ln_reference_n: Vec<f64>,
    pub sample_cap: Vec<f64>,
    pub unknown_sample: Vec<f64>,
    pub unrated: Vec<f64>,
    /// `transfer[(from * 4 + to) * n + d]`.
    pub transfer: Vec<f64>,
}

impl Columns {
    fn new(draws: &[Draw]) -> Columns {
        let n = draws.len();
        let col = |f: &dyn Fn(&Draw) -> f64| draws.iter().map(f).collect::<Vec<f64>>();
        let mut design_rob = Vec::with_capacity(32 * n);
        for dr in 0..32 {
            design_rob.extend(draws.iter().map(|d| d.tables.design_rob[dr]));
        }
        let mut ages = Vec::with_capacity((DRAW_AGES + 1) * n);
        for a in 0..=DRAW_AGES {
            ages.extend(draws.iter().map(|d| d.tables.ages[a]));
        }
        let mut transfer = Vec::with_capacity(16 * n);
        for from in 0..4 {
            for to in 0..4 {
                transfer.extend(draws.iter().map(|d| d.transfer[from][to]));
            }
        }
        Columns {
            n,
            design_rob,
            ages,
            inv_ln_reference_n: col(&|d| d.tables.inv_ln_reference_n),
            sample_cap: col(&|d| d.weights.sample_cap),
            unknown_sample: col(&|d| d.weights.unknown_sample),
            unrated: col(&|d| d.weights.unrated),
            transfer,
        }
    }
}

/// The run's draws: the same for every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    pub draws: Vec<Draw>,
    pub columns: Columns,
    /// Every factor at the low and at the high end of its range: a record
    /// weight is increasing in each factor, so these give the least and the
    /// largest weight any draw can give it.
    pub lo: Draw,
    pub hi: Draw,
}

impl Draws {
    pub fn new(cfg: &ScoringConfig, reference_year: i32) -> Draws {
        let r = &cfg.robustness;
        let base = WeightModel::new(cfg, reference_year);
        let params = Params::of(cfg);
        let mut rng = SplitMix64(r.seed);
        let s = r.weight_spread;
        let factor = |rng: &mut SplitMix64, x: f64| {
            let v = x * rng.uniform(1.0 - s, 1.0 + s);
            if x <= 1.0 {
                v.min(1.0)
            } else {
                v
            }
        };
        let draws: Vec<Draw> = (0..r.draws)
            .map(|_| {
                let mut m = base.clone();
                for d in &mut m.design {
                    *d = factor(&mut rng, *d);
                }
                for x in &mut m.rob {
                    *x = factor(&mut rng, *x);
                }
                m.unknown_year = factor(&mut rng, m.unknown_year);
                m.unknown_sample = factor(&mut rng, m.unknown_sample);
                m.sample_cap = factor(&mut rng, m.sample_cap);
                m.ln_reference_n = (1.0 + rng.log_uniform(r.reference_n_range[0], r.reference_n_range[1])).ln();
                m = m.with_half_life(rng.log_uniform(r.half_life_range[0], r.half_life_range[1]));
                m.unrated = rng.uniform(r.unrated_discount_range[0], r.unrated_discount_range[1]);
                let mut transfer = cfg.borrowing.transfer;
                for row in &mut transfer {
                    for t in row.iter_mut() {
                        *t = factor(&mut rng, *t);
                    }
                }
                let p = Params { dominance: rng.uniform(r.dominance_range[0], r.dominance_range[1]), ..params };
                Draw { tables: DrawTables::new(&m), weights: m, params: p, transfer }
            })
            .collect();
        let end = |hi: bool| {
            let f = |x: f64| {
                let v = x * if hi { 1.0 + s } else { 1.0 - s };
                if x <= 1.0 {
                    v.min(1.0)
                } else {
                    v
                }
            };
            let pick = |range: [f64; 2], up: bool| if up { range[1] } else { range[0] };
            let mut m = base.clone();
            m.design = m.design.map(f);
            m.rob = m.rob.map(f);
            m.unknown_year = f(m.unknown_year);
            m.unknown_sample = f(m.unknown_sample);
            m.sample_cap = f(m.sample_cap);
            // A larger reference sample gives smaller sample factors.
            m.ln_reference_n = (1.0 + pick(r.reference_n_range, !hi)).ln();
            m = m.with_half_life(pick(r.half_life_range, hi));
            m.unrated = pick(r.unrated_discount_range, hi);
            let transfer = cfg.borrowing.transfer.map(|row| row.map(f));
            let p = Params { dominance: pick(r.dominance_range, hi), ..params };
            Draw { tables: DrawTables::new(&m), weights: m, params: p, transfer }
        };
        let columns = Columns::new(&draws);
        Draws { draws, columns, lo: end(false), hi: end(true) }
    }
}

/// The share of draws in which the cell keeps its category (1 when the
/// category cannot depend on weights, without drawing).
pub fn robustness(ev: &Evidence<'_>, draws: &Draws, params: &Params) -> Option<f64> {
    let (cat, harm) = ev.decide(None, &[], params, None)?.category()?;
    if draws.draws.is_empty() {
        return None;
    }
    if !ev.weight_sensitive(params) || ev.fixed_under(draws) {
        return Some(1.0);
    }
    let plan = ev.draw_plan(params);
    let held = ev.held_in_draws(&plan, draws, (cat, harm));
    Some(held as f64 / draws.draws.len() as f64)
}

/// The smallest change that moves a cell's category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    /// What changes: leaving out a study, or adding hypothetical studies.
    pub change: Change,
    /// The category after the change (and its harm flag).
    pub to: Rating,
    pub harm: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Change {
    WithoutStudy { study: String },
    AddRigorous { n: u32, standing: Standing },
}

/// Leave-one-out over the cell's studies: whether any removal changes the
/// category (`fragile`), and the first such removal in study order.
pub fn leave_one_out(ev: &Evidence<'_>, params: &Params) -> (bool, Option<Flip>) {
    let Some(base) = ev.decide(None, &[], params, None).and_then(|c| c.category()) else {
        return (false, None);
    };
    for i in 0..ev.n_studies() {
        let after = ev.decide(Some(i), &[], params, None).and_then(|c| c.category());
        if after != Some(base) {
            let (to, harm) = after.unwrap_or((Rating::NeedsResearch, false));
            return (
                true,
                Some(Flip { change: Change::WithoutStudy { study: ev.study_name(i).to_string() }, to, harm }),
            );
        }
    }
    (false, None)
}

/// The smallest change: a removal when the verdict is fragile, else up to
/// `max_added` hypothetical rigorous studies in the headline domain, null
/// first, then positive, one at a time.
pub fn flip(ev: &Evidence<'_>, removal: Option<Flip>, params: &Params, max_added: u32) -> Option<Flip> {
    if removal.is_some() {
        return removal;
    }
    let c = ev.decide(None, &[], params, None)?;
    let base = c.category()?;
    let domain = c.verdict()?.domain;
    let weight = ev.typical_rigorous_weight(domain);
    for n in 1..=max_added {
        for standing in [Standing::Null, Standing::Positive] {
            let extra: Vec<Entry> = (0..n)
                .map(|_| Entry {
                    domain,
                    standing,
                    rigorous: true,
                    credible_harm: false,
                    harm_signal: false,
                    weight,
                    local: true,
                })
                .collect();
            let after = ev.decide(None, &extra, params, None).and_then(|c| c.category());
            if let Some((to, harm)) = after.filter(|a| *a != base) {
                return Some(Flip { change: Change::AddRigorous { n, standing }, to, harm });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_within_their_ranges() {
        let cfg = ScoringConfig::default();
        let a = Draws::new(&cfg, 2020);
        assert_eq!(a, Draws::new(&cfg, 2020));
        assert_eq!(a.draws.len(), 1000);
        let mut other = cfg.clone();
        other.robustness.seed = 2;
        assert_ne!(a, Draws::new(&other, 2020));
        for d in &a.draws {
            assert!((1.5..=3.0).contains(&d.params.dominance));
            assert!((10.0..=40.0).contains(&d.weights.half_life));
            assert!((0.25..=0.75).contains(&d.weights.unrated));
            // Factors at most 1 stay at most 1; an RCT's 1.0 is drawn in [0.75, 1].
            assert!((0.75..=1.0).contains(&d.weights.design[1]));
            assert!((0.7 * 0.75..=0.7 * 1.25).contains(&d.weights.design[2]));
            assert!((1.25 * 0.75..=1.25 * 1.25).contains(&d.weights.sample_cap));
        }
    }
}
