//! `handprop-optim`: every rule that turns a gradient into a weight update, over plain slices.
//!
//! * TF1's ten `tf.compat.v1.train` optimizers in TF's exact kernel operation order
//!   ([`GradientDescent`], [`Adadelta`], [`Adagrad`], [`AdagradDa`], [`Momentum`], [`Adam`],
//!   [`Ftrl`], [`ProximalGradientDescent`], [`ProximalAdagrad`], [`RmsProp`]), bit-exact against
//!   real TensorFlow 2.21 in `f64` and (except the approximate `f32` rsqrt and `pow`) in `f32`;
//! * the study's hand-made rules: [`Sgd`], [`LayerAdam`] (constant or true bias correction), and
//!   [`GradientNoise`], a [`GradientTransform`] that precedes any rule via [`chain`];
//! * one config type per rule ([`AdamConfig`], …) holding TF1's defaults as constants, stated
//!   once, and validating into the rule (the checked type) with typed [`HyperError`]s;
//! * a [`Registry`] that builds any registered rule or transform by name from a TOML table, as a
//!   type-erased [`BoxedRule`]; users register their own rules without touching this crate;
//! * the closed [`RuleConfig`]/[`Rule`]/[`RuleState`] enums of the study's twelve rules, kept for
//!   existing configs and the parity fixtures.
//!
//! The design follows optax: a rule is immutable and validated at construction; its state is
//! explicit, created by [`UpdateRule::init`] and advanced by [`UpdateRule::update`] over
//! `(parameter, gradient)` pairs whose gradients are read only, and serialisable with serde. One
//! `update` call is one TF `apply_gradients` over all tensors: per-optimizer scalars (Adam's beta
//! powers, AdagradDA's global step) advance once per call. Each tensor is updated in one fused
//! pass over zipped slices, with no `mul_add` and no allocation. Restoring a serialised state
//! gives a bit-identical next step (serialise with a lossless format; with `serde_json` enable
//! its `float_roundtrip` feature).
//!
//! **f32 rsqrt.** TF's `f32` rsqrt (Adadelta, Adagrad, ProximalAdagrad) is a hardware estimate
//! plus one Newton step; this crate uses the portable, correctly rounded `1/√x`. See
//! `docs/optim.md` for the measured bound (≤ 3 ulp of each weight's scale over 20 steps).
//!
//! # Bring your own rule
//!
//! Implement [`UpdateRule`], give it a config type, register a constructor, build it by name:
//!
//! ```
//! use handprop_optim::{
//!     parse_table, BuildError, HyperError, HyperValue, Hyperparameters, NoSlots, Registry,
//!     Table, UpdateError, UpdateRule,
//! };
//!
//! /// Sign descent, `w ← w − η·sign(g)`.
//! #[derive(Debug)]
//! struct SignDescent {
//!     learning_rate: f32,
//! }
//!
//! /// Its table: `{ rule = "sign_descent", learning_rate = 0.01 }`.
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct SignDescentConfig {
//!     #[serde(default = "default_learning_rate")]
//!     learning_rate: f64,
//! }
//! fn default_learning_rate() -> f64 {
//!     0.01
//! }
//!
//! impl UpdateRule<f32> for SignDescent {
//!     type State = NoSlots; // no slots, only the lengths given to `init`
//!     fn name(&self) -> &'static str {
//!         "SignDescent"
//!     }
//!     fn hyperparameter_table(&self) -> Hyperparameters {
//!         vec![("learning_rate", HyperValue::Number(f64::from(self.learning_rate)))]
//!     }
//!     fn init(&self, lens: &[usize]) -> NoSlots {
//!         NoSlots { lens: lens.to_vec() }
//!     }
//!     fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
//!     where
//!         I: IntoIterator<Item = (&'a mut [f32], &'a [f32])>,
//!     {
//!         let mut count = 0;
//!         for (index, (w, g)) in params_and_grads.into_iter().enumerate() {
//!             if state.lens.get(index) != Some(&w.len()) || g.len() != w.len() {
//!                 let (rule, params, grads) = ("SignDescent", w.len(), g.len());
//!                 return Err(UpdateError::GradientLength { rule, index, params, grads });
//!             }
//!             for (w, g) in w.iter_mut().zip(g) {
//!                 *w -= self.learning_rate * g.signum();
//!             }
//!             count = index + 1;
//!         }
//!         if count != state.lens.len() {
//!             let (rule, got, expected) = ("SignDescent", count, state.lens.len());
//!             return Err(UpdateError::TensorCount { rule, got, expected });
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut registry = Registry::<f32>::tf1(); // the study's rules and noise
//! registry.register_rule("sign_descent", |table: &Table| {
//!     let config: SignDescentConfig = parse_table("sign_descent", table)?;
//!     if !(config.learning_rate > 0.0) {
//!         let (rule, field, value) = ("SignDescent", "learning_rate", config.learning_rate);
//!         return Err(HyperError { rule, field, value, requirement: "> 0" }.into());
//!     }
//!     Ok(SignDescent { learning_rate: config.learning_rate as f32 })
//! })?;
//!
//! // A case table as the runner holds it; `build_case` would also chain a noise table.
//! let table: Table = toml::from_str(r#"rule = "sign_descent"
//!                                      learning_rate = 0.5"#)?;
//! let rule = registry.build_rule(&table)?;
//! let mut state = rule.init(&[2]);
//! let (mut w, g) = (vec![1.0f32, 1.0], vec![3.0f32, -0.1]);
//! rule.update(&mut state, [(&mut w[..], &g[..])])?;
//! assert_eq!(w, [0.5, 1.5]);
//!
//! // Typed errors name what is wrong.
//! let typo: Table = toml::from_str(r#"rule = "sign_descent"
//!                                     lr = 0.5"#)?;
//! let err = registry.build_rule(&typo).unwrap_err();
//! assert!(matches!(&err, BuildError::Field { field: Some(f), .. } if f == "lr"));
//! let unknown: Table = toml::from_str(r#"rule = "lion""#)?;
//! assert!(registry.build_rule(&unknown).unwrap_err().to_string().contains("sign_descent"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adadelta;
mod adagrad;
mod adagrad_da;
mod adam;
mod config;
mod dynamic;
mod error;
mod float;
mod ftrl;
mod gradient_descent;
mod layer_adam;
mod momentum;
mod noise;
mod proximal_adagrad;
mod proximal_gradient_descent;
mod registry;
mod rmsprop;
mod rule;
mod sgd;
mod simd;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaState};
pub use adagrad::{Adagrad, AdagradConfig, AdagradState};
pub use adagrad_da::{AdagradDa, AdagradDaConfig, AdagradDaState};
pub use adam::{Adam, AdamConfig, AdamState, PowerDtype};
pub use config::{NoiseConfig, Rule, RuleConfig, RuleState};
pub use dynamic::{BoxedRule, BoxedTransform, DynRule, DynState, DynTransform};
pub use error::{HyperError, UpdateError};
pub use float::{Float, HyperPrecision};
pub use ftrl::{Ftrl, FtrlConfig, FtrlState};
pub use gradient_descent::{GradientDescent, GradientDescentConfig, NoSlots};
pub use layer_adam::{BiasCorrection, LayerAdam, LayerAdamConfig, LayerAdamState};
pub use momentum::{Momentum, MomentumConfig, MomentumState};
pub use noise::{GradientNoise, NoiseForm, NoiseState};
pub use proximal_adagrad::{ProximalAdagrad, ProximalAdagradConfig, ProximalAdagradState};
pub use proximal_gradient_descent::{ProximalGradientDescent, ProximalGradientDescentConfig};
pub use registry::{
    parse_table, BuildError, Registry, Table, DEFAULT_TRANSFORM, RULE_KEY, TRANSFORM_KEY,
};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use rule::{
    chain, Chain, ChainState, GradientSlice, GradientTransform, HyperValue, Hyperparameters,
    UpdateRule,
};
pub use sgd::{Sgd, SgdConfig};
