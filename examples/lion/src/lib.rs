//! Bring your own optimizer: [Lion](lion) (Chen et al. 2023) added to handprop without touching
//! its crates.
//!
//! Adding a rule takes two things, both in this crate:
//!
//! 1. the rule, its config struct and defaults, in one file ([`lion`]): an
//!    `handprop_optim::UpdateRule<f32>` and a `#[serde(deny_unknown_fields)]` config;
//! 2. its registration under a name ([`registry`]), which configs then use as
//!    `update = { rule = "lion", learning_rate = "eta" }`.
//!
//! The binary `handprop-lion` loads a config with this registry
//! (`handprop_runner::Config::load_with`) and runs it with `handprop_runner::run_with`: the
//! Lion case goes through cells, threads, shards, resume, the tables and the report exactly as
//! the study's cases do. See `docs/extending.md`.

pub mod lion;

use handprop_optim::{BuildError, Registry};

pub use lion::{Lion, LionConfig, LionState};

/// The study's rules ([`Registry::tf1`]) plus Lion under [`lion::NAME`].
///
/// # Errors
/// [`BuildError::Duplicate`] if `"lion"` were already taken (it is not in the study's registry).
pub fn registry() -> Result<Registry<f32>, BuildError> {
    let mut registry = Registry::tf1();
    registry.register_rule(lion::NAME, LionConfig::from_table)?;
    Ok(registry)
}
