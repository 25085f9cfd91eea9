//! `evidex generate`: a realistic synthetic evidence table for benchmarks
//! and property tests. Deterministic: the same rows, seed and format give
//! the same bytes.

use crate::model::Strategy;

/// SplitMix64: tiny, fast, reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-300);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

pub const TARGET_GROUPS: [&str; 8] = [
    "children",
    "adolescent girls",
    "boys",
    "parents and caregivers",
    "teachers",
    "survivors",
    "communities",
    "police and justice professionals",
];
const SETTINGS: [&str; 4] = ["HIC", "UMC", "LMC", "LIC"];
const DESIGNS: [&str; 7] =
    ["systematic_review", "rct", "quasi_experimental", "pre_post", "observational", "qualitative", "expert_opinion"];
const DESIGN_P: [f64; 7] = [0.03, 0.40, 0.22, 0.15, 0.10, 0.06, 0.04];
const ROB: [&str; 3] = ["low", "some_concerns", "high"];
pub const COLUMNS: [&str; 15] = [
    "record_id",
    "study_id",
    "intervention",
    "strategy",
    "target_group",
    "income_setting",
    "design",
    "risk_of_bias",
    "sample_size",
    "year",
    "rating",
    "effect_size",
    "se",
    "measure",
    "source",
];

/// Options for [`generate_rows`].
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub rows: u64,
    pub seed: u64,
    pub interventions: u32,
    /// Share of rows with an effect size and SE.
    pub effect_share: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions { rows: 10_000, seed: 1, interventions: 200, effect_share: 0.4 }
    }
}

/// One generated row, as text cells in [`COLUMNS`] order (empty = missing).
pub type Row = [String; 15];

/// Call `f` with every generated row, in order.
pub fn generate_rows(o: &GenOptions, mut f: impl FnMut(&Row)) {
    let mut rng = Rng::new(o.seed);
    let n_int = o.interventions.max(1);
    let names: Vec<(String, Strategy, f64)> = (0..n_int)
        .map(|i| {
            let s = Strategy::ALL[(i as usize) % 7];
            let effect = 0.35 * rng.normal() + 0.15;
            (format!("Intervention {:03} ({})", i + 1, s.key()), s, effect)
        })
        .collect();
    let mut emitted = 0u64;
    let mut study = 0u64;
    while emitted < o.rows {
        study += 1;
        let (name, strat, true_effect) = &names[rng.below(n_int as u64) as usize];
        let tg = TARGET_GROUPS[rng.below(8) as usize];
        // Most evidence is from high-income countries.
        let setting = SETTINGS[match rng.f64() {
            x if x < 0.55 => 0,
            x if x < 0.75 => 1,
            x if x < 0.90 => 2,
            _ => 3,
        }];
        let design = {
            let mut u = rng.f64();
            let mut d = 0;
            for (i, p) in DESIGN_P.iter().enumerate() {
                if u < *p {
                    d = i;
                    break;
                }
                u -= p;
                d = i;
            }
            d
        };
        let n = (30.0 * (1.0 + 6.0 * rng.f64()).exp()) as u64;
        let year = 1990 + rng.below(36) as i64;
        let findings = 1 + rng.below(4);
        let rob = ROB[rng.below(3) as usize];
        for k in 0..findings {
            if emitted >= o.rows {
                break;
            }
            emitted += 1;
            let se = (4.0 / n as f64).sqrt();
            let observed = true_effect + se * rng.normal() + 0.1 * rng.normal();
            let z = observed / se;
            let rating = if design >= 5 {
                "prudent"
            } else if z < -1.96 && rng.f64() < 0.5 {
                "harmful"
            } else if z > 2.5 && design <= 2 {
                "effective"
            } else if z > 1.96 {
                "promising"
            } else if z.abs() < 0.5 && design <= 2 {
                "ineffective"
            } else {
                "needs_research"
            };
            // effect_share 1.0: every record carries an effect size (benchmarks).
            let with_effect =
                if o.effect_share >= 1.0 { true } else { design <= 3 && rng.f64() < o.effect_share / 0.8 };
            let missing = rng.below(20);
            let row: Row = [
                format!("G{emitted}"),
                format!("T{study}"),
                name.clone(),
                if missing == 0 { String::new() } else { strat.key().to_string() },
                tg.to_string(),
                setting.to_string(),
                DESIGNS[design].to_string(),
                if missing == 1 { String::new() } else { rob.to_string() },
                if missing == 2 { String::new() } else { n.to_string() },
                if missing == 3 { String::new() } else { year.to_string() },
                if with_effect && missing == 4 { String::new() } else { rating.to_string() },
                if with_effect { format!("{:.4}", observed) } else { String::new() },
                if with_effect { format!("{:.4}", se) } else { String::new() },
                if with_effect { "SMD".to_string() } else { String::new() },
                if k == 0 { "synthetic".to_string() } else { String::new() },
            ];
            f(&row);
        }
    }
}

/// CSV text (RFC 4180, `\n`).
pub fn to_csv(o: &GenOptions, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut buf = String::with_capacity(1 << 16);
    buf.push_str(&COLUMNS.join(","));
    buf.push('\n');
    let mut err = None;
    generate_rows(o, |row| {
        if err.is_some() {
            return;
        }
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            buf.push_str(&crate::report::csv_field(c));
        }
        buf.push('\n');
        if buf.len() > (1 << 16) {
            if let Err(e) = out.write_all(buf.as_bytes()) {
                err = Some(e);
            }
            buf.clear();
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    out.write_all(buf.as_bytes())
}

/// Parquet bytes (typed columns: sample_size/year Int64, effect_size/se Float64).
///
/// # Errors
/// polars errors.
pub fn to_parquet(o: &GenOptions) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    write_parquet(o, &mut buf)?;
    Ok(buf)
}

/// Rows per Parquet row group (and per batch held in memory while writing).
const PARQUET_BATCH: usize = 1 << 18;

/// Write Parquet in row groups of 262,144 rows, so memory stays
/// bounded whatever the number of rows.
///
/// # Errors
/// polars errors.
pub fn write_parquet<W: std::io::Write>(o: &GenOptions, out: W) -> Result<(), String> {
    use polars::prelude::*;
    let schema = Schema::from_iter(COLUMNS.iter().map(|name| {
        let dt = match *name {
            "sample_size" | "year" => DataType::Int64,
            "effect_size" | "se" => DataType::Float64,
            _ => DataType::String,
        };
        Field::new(PlSmallStr::from(*name), dt)
    }));
    let mut writer = ParquetWriter::new(out).batched(&schema).map_err(|e| e.to_string())?;
    let mut text: Vec<Vec<Option<String>>> = COLUMNS.iter().map(|_| Vec::with_capacity(PARQUET_BATCH)).collect();
    let mut err: Option<String> = None;
    let flush = |text: &mut Vec<Vec<Option<String>>>, writer: &mut polars::io::parquet::write::BatchedWriter<W>| {
        let mut cols = Vec::new();
        for (i, name) in COLUMNS.iter().enumerate() {
            let v = std::mem::take(&mut text[i]);
            let col_name = PlSmallStr::from(*name);
            let col = match *name {
                "sample_size" | "year" => Column::new(
                    col_name,
                    v.iter().map(|x| x.as_ref().and_then(|s| s.parse::<i64>().ok())).collect::<Vec<_>>(),
                ),
                "effect_size" | "se" => Column::new(
                    col_name,
                    v.iter().map(|x| x.as_ref().and_then(|s| s.parse::<f64>().ok())).collect::<Vec<_>>(),
                ),
                _ => Column::new(col_name, v),
            };
            cols.push(col);
        }
        let height = cols.first().map_or(0, |c| c.len());
        let df = DataFrame::new(height, cols).map_err(|e| e.to_string())?;
        writer.write_batch(&df).map_err(|e| e.to_string())
    };
    generate_rows(o, |row| {
        if err.is_some() {
            return;
        }
        for (i, c) in row.iter().enumerate() {
            text[i].push(if c.is_empty() { None } else { Some(c.clone()) });
        }
        if text[0].len() == PARQUET_BATCH {
            if let Err(e) = flush(&mut text, &mut writer) {
                err = Some(e);
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    if !text[0].is_empty() {
        flush(&mut text, &mut writer)?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    Ok(())
}
