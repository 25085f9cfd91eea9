//! `evidex config`: print the default scoring configuration or check one.

use crate::cli::args::ConfigArgs;
use crate::cli::{out, EXIT_OK};
use evidex::score::{self, ScoringConfig};

pub fn run(a: ConfigArgs) -> anyhow::Result<i32> {
    if let Some(p) = &a.check {
        let c = ScoringConfig::load(p)?;
        out(&format!("# {} is valid (model {})\n{}", p.display(), score::MODEL_VERSION, toml::to_string(&c)?))?;
        return Ok(EXIT_OK);
    }
    if !a.default {
        anyhow::bail!(
            "use `evidex config --default` to print the defaults, or `--check FILE` to check a configuration"
        );
    }
    out(score::DEFAULT_TOML)?;
    Ok(EXIT_OK)
}
