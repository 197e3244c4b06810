//! Config-facing types for TOML case tables, and enum dispatch over every rule.

use serde::{Deserialize, Serialize};

use crate::adadelta::{
    ADADELTA_DEFAULT_EPSILON, ADADELTA_DEFAULT_LEARNING_RATE, ADADELTA_DEFAULT_RHO,
};
use crate::adam::{
    ADAM_DEFAULT_BETA1, ADAM_DEFAULT_BETA2, ADAM_DEFAULT_EPSILON, ADAM_DEFAULT_LEARNING_RATE,
};
use crate::gradient_descent::NoSlots;
use crate::rmsprop::{RMSPROP_DEFAULT_DECAY, RMSPROP_DEFAULT_EPSILON, RMSPROP_DEFAULT_MOMENTUM};
use crate::{
    Adadelta, AdadeltaState, Adagrad, AdagradDa, AdagradDaState, AdagradState, Adam, AdamState,
    BiasCorrection, Float, Ftrl, FtrlState, GradientDescent, GradientNoise, HyperError, LayerAdam,
    LayerAdamState, Momentum, MomentumState, NoiseForm, PowerDtype, ProximalAdagrad,
    ProximalAdagradState, ProximalGradientDescent, RmsProp, RmsPropState, Sgd, UpdateError,
};

fn adadelta_lr() -> f64 {
    ADADELTA_DEFAULT_LEARNING_RATE
}
fn adadelta_rho() -> f64 {
    ADADELTA_DEFAULT_RHO
}
fn adadelta_eps() -> f64 {
    ADADELTA_DEFAULT_EPSILON
}
fn point_one() -> f64 {
    0.1
}
fn adam_lr() -> f64 {
    ADAM_DEFAULT_LEARNING_RATE
}
fn adam_beta1() -> f64 {
    ADAM_DEFAULT_BETA1
}
fn adam_beta2() -> f64 {
    ADAM_DEFAULT_BETA2
}
fn adam_eps() -> f64 {
    ADAM_DEFAULT_EPSILON
}
fn ftrl_power() -> f64 {
    -0.5
}
fn rms_decay() -> f64 {
    RMSPROP_DEFAULT_DECAY
}
fn rms_momentum() -> f64 {
    RMSPROP_DEFAULT_MOMENTUM
}
fn rms_eps() -> f64 {
    RMSPROP_DEFAULT_EPSILON
}
fn bias_constant() -> BiasCorrection {
    BiasCorrection::Constant
}
fn noise_scale() -> f64 {
    0.001
}
fn noise_gamma() -> f64 {
    0.55
}

/// One update rule as written in a TOML case table, e.g. `rule = "adam"`,
/// `learning_rate = 0.001`. Omitted fields take TF1's defaults (the study's for `layer_adam`);
/// unknown fields are rejected. Field names follow TF1's constructor arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleConfig {
    /// TF1 `GradientDescentOptimizer` (case 7).
    GradientDescent {
        /// η (required).
        learning_rate: f64,
    },
    /// TF1 `AdadeltaOptimizer` (case 8).
    Adadelta {
        /// η, default 0.001.
        #[serde(default = "adadelta_lr")]
        learning_rate: f64,
        /// ρ, default 0.95.
        #[serde(default = "adadelta_rho")]
        rho: f64,
        /// ε, default 1e-8.
        #[serde(default = "adadelta_eps")]
        epsilon: f64,
    },
    /// TF1 `AdagradOptimizer` (case 9).
    Adagrad {
        /// η (required).
        learning_rate: f64,
        /// Initial accumulator, default 0.1 (> 0).
        #[serde(default = "point_one")]
        initial_accumulator_value: f64,
    },
    /// TF1 `AdagradDAOptimizer` (case 10).
    AdagradDa {
        /// η (required).
        learning_rate: f64,
        /// Initial squared accumulator, default 0.1 (> 0).
        #[serde(default = "point_one")]
        initial_gradient_squared_accumulator_value: f64,
        /// l1, default 0.
        #[serde(default)]
        l1_regularization_strength: f64,
        /// l2, default 0.
        #[serde(default)]
        l2_regularization_strength: f64,
        /// Increment the global step after each update; default false (the study: T = 1 forever).
        #[serde(default)]
        advance_global_step: bool,
    },
    /// TF1 `MomentumOptimizer` (case 11 uses `momentum = learning_rate`).
    Momentum {
        /// η (required).
        learning_rate: f64,
        /// μ (required, as in TF1).
        momentum: f64,
        /// Nesterov form, default false.
        #[serde(default)]
        use_nesterov: bool,
    },
    /// TF1 `AdamOptimizer` (case 12).
    Adam {
        /// η, default 0.001.
        #[serde(default = "adam_lr")]
        learning_rate: f64,
        /// β1, default 0.9.
        #[serde(default = "adam_beta1")]
        beta1: f64,
        /// β2, default 0.999.
        #[serde(default = "adam_beta2")]
        beta2: f64,
        /// ε, default 1e-8.
        #[serde(default = "adam_eps")]
        epsilon: f64,
    },
    /// TF1 `FtrlOptimizer` (case 13).
    Ftrl {
        /// η (required).
        learning_rate: f64,
        /// Default −0.5 (≤ 0).
        #[serde(default = "ftrl_power")]
        learning_rate_power: f64,
        /// Default 0.1 (≥ 0).
        #[serde(default = "point_one")]
        initial_accumulator_value: f64,
        /// Default 0.
        #[serde(default)]
        l1_regularization_strength: f64,
        /// Default 0.
        #[serde(default)]
        l2_regularization_strength: f64,
        /// Default 0; > 0 selects `ApplyFtrlV2`.
        #[serde(default)]
        l2_shrinkage_regularization_strength: f64,
    },
    /// TF1 `ProximalGradientDescentOptimizer` (case 14).
    ProximalGradientDescent {
        /// η (required).
        learning_rate: f64,
        /// Default 0.
        #[serde(default)]
        l1_regularization_strength: f64,
        /// Default 0.
        #[serde(default)]
        l2_regularization_strength: f64,
    },
    /// TF1 `ProximalAdagradOptimizer` (case 15).
    ProximalAdagrad {
        /// η (required).
        learning_rate: f64,
        /// Default 0.1 (> 0).
        #[serde(default = "point_one")]
        initial_accumulator_value: f64,
        /// Default 0.
        #[serde(default)]
        l1_regularization_strength: f64,
        /// Default 0.
        #[serde(default)]
        l2_regularization_strength: f64,
    },
    /// TF1 `RMSPropOptimizer` (case 16). Also accepted as `rule = "rmsprop"`.
    #[serde(alias = "rmsprop")]
    RmsProp {
        /// η (required).
        learning_rate: f64,
        /// ρ, default 0.9.
        #[serde(default = "rms_decay")]
        decay: f64,
        /// μ, default 0.
        #[serde(default = "rms_momentum")]
        momentum: f64,
        /// ε, default 1e-10.
        #[serde(default = "rms_eps")]
        epsilon: f64,
        /// Default false.
        #[serde(default)]
        centered: bool,
    },
    /// The study's plain SGD (cases 0, 2, after gradient noise).
    Sgd {
        /// η (required).
        learning_rate: f64,
    },
    /// The study's per-layer Adam (cases 1, 3–6).
    LayerAdam {
        /// η (required).
        learning_rate: f64,
        /// β1, default 0.9.
        #[serde(default = "adam_beta1")]
        beta1: f64,
        /// β2, default 0.999.
        #[serde(default = "adam_beta2")]
        beta2: f64,
        /// ε, default 1e-8.
        #[serde(default = "adam_eps")]
        epsilon: f64,
        /// `"constant"` (the study, default) or `"true"`.
        #[serde(default = "bias_constant")]
        bias_correction: BiasCorrection,
    },
}

/// How `f64` config values become the kernel's hyperparameters (tf1-optimizers.md §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HyperPrecision {
    /// As TF1 user code with Python floats: every hyperparameter is rounded to `f32` and then
    /// converted to `F`, Adam's beta powers are `f32`, but initial accumulator values are exact
    /// in `F`, and ProximalGradientDescent/ProximalAdagrad (which TF never casts, so they need
    /// dtype-matching tensors) are exact in `F`. For `F = f32` this equals [`Self::Exact`].
    PythonFloat,
    /// As TF1 with numpy scalars of the variable's dtype: every value converted once to `F`;
    /// Adam's beta powers in `F`'s dtype.
    Exact,
}

/// Gradient noise as written in a TOML case table: `form = "scalar"` (the study's code) or
/// `form = "paper"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case", deny_unknown_fields)]
pub enum NoiseConfig {
    /// One scalar per step, σ_t = sigma0/(1+epoch)^gamma as standard deviation.
    Scalar {
        /// Default 0.001.
        #[serde(default = "noise_scale")]
        sigma0: f64,
        /// Default 0.55.
        #[serde(default = "noise_gamma")]
        gamma: f64,
    },
    /// Per element, variance eta/(1+step)^gamma.
    Paper {
        /// Default 0.001.
        #[serde(default = "noise_scale")]
        eta: f64,
        /// Default 0.55.
        #[serde(default = "noise_gamma")]
        gamma: f64,
    },
}

impl NoiseConfig {
    /// Builds the validated transform.
    pub fn build(&self) -> Result<GradientNoise, HyperError> {
        GradientNoise::new(match *self {
            NoiseConfig::Scalar { sigma0, gamma } => NoiseForm::Scalar { sigma0, gamma },
            NoiseConfig::Paper { eta, gamma } => NoiseForm::Paper { eta, gamma },
        })
    }
}

/// A built rule of any kind (enum dispatch, no boxing).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule<F> {
    /// See [`GradientDescent`].
    GradientDescent(GradientDescent<F>),
    /// See [`Adadelta`].
    Adadelta(Adadelta<F>),
    /// See [`Adagrad`].
    Adagrad(Adagrad<F>),
    /// See [`AdagradDa`].
    AdagradDa(AdagradDa<F>),
    /// See [`Momentum`].
    Momentum(Momentum<F>),
    /// See [`Adam`].
    Adam(Adam<F>),
    /// See [`Ftrl`].
    Ftrl(Ftrl<F>),
    /// See [`ProximalGradientDescent`].
    ProximalGradientDescent(ProximalGradientDescent<F>),
    /// See [`ProximalAdagrad`].
    ProximalAdagrad(ProximalAdagrad<F>),
    /// See [`RmsProp`].
    RmsProp(RmsProp<F>),
    /// See [`Sgd`].
    Sgd(Sgd<F>),
    /// See [`LayerAdam`].
    LayerAdam(LayerAdam<F>),
}

/// The state of any [`Rule`], serialisable with serde.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState<F> {
    /// Of [`Rule::GradientDescent`].
    GradientDescent(NoSlots),
    /// Of [`Rule::Adadelta`].
    Adadelta(AdadeltaState<F>),
    /// Of [`Rule::Adagrad`].
    Adagrad(AdagradState<F>),
    /// Of [`Rule::AdagradDa`].
    AdagradDa(AdagradDaState<F>),
    /// Of [`Rule::Momentum`].
    Momentum(MomentumState<F>),
    /// Of [`Rule::Adam`].
    Adam(AdamState<F>),
    /// Of [`Rule::Ftrl`].
    Ftrl(FtrlState<F>),
    /// Of [`Rule::ProximalGradientDescent`].
    ProximalGradientDescent(NoSlots),
    /// Of [`Rule::ProximalAdagrad`].
    ProximalAdagrad(ProximalAdagradState<F>),
    /// Of [`Rule::RmsProp`].
    RmsProp(RmsPropState<F>),
    /// Of [`Rule::Sgd`].
    Sgd(NoSlots),
    /// Of [`Rule::LayerAdam`].
    LayerAdam(LayerAdamState<F>),
}

impl RuleConfig {
    /// The rule's name as in TF1 (or the study).
    pub fn name(&self) -> &'static str {
        match self {
            RuleConfig::GradientDescent { .. } => "GradientDescent",
            RuleConfig::Adadelta { .. } => "Adadelta",
            RuleConfig::Adagrad { .. } => "Adagrad",
            RuleConfig::AdagradDa { .. } => "AdagradDA",
            RuleConfig::Momentum { .. } => "Momentum",
            RuleConfig::Adam { .. } => "Adam",
            RuleConfig::Ftrl { .. } => "Ftrl",
            RuleConfig::ProximalGradientDescent { .. } => "ProximalGradientDescent",
            RuleConfig::ProximalAdagrad { .. } => "ProximalAdagrad",
            RuleConfig::RmsProp { .. } => "RMSProp",
            RuleConfig::Sgd { .. } => "Sgd",
            RuleConfig::LayerAdam { .. } => "LayerAdam",
        }
    }

    /// Builds the rule as TF1 user code with Python floats would
    /// ([`HyperPrecision::PythonFloat`]); for `F = f32` the same as [`HyperPrecision::Exact`].
    pub fn build<F: Float>(&self) -> Result<Rule<F>, HyperError> {
        self.build_with(HyperPrecision::PythonFloat)
    }

    /// Builds the rule with the given hyperparameter precision.
    pub fn build_with<F: Float>(&self, precision: HyperPrecision) -> Result<Rule<F>, HyperError> {
        // `h` is a cast hyperparameter, `x` an exact one (initial slot values, Proximal*).
        let h = |v: f64| match precision {
            HyperPrecision::PythonFloat => F::from_python_float(v),
            HyperPrecision::Exact => F::from_f64_rounded(v),
        };
        let x = |v: f64| F::from_f64_rounded(v);
        // Check the f64 values first, so an error names the value written in the config rather
        // than a rounded (or overflowed) one; the constructors then check what the kernel sees.
        self.check_raw()?;
        Ok(match *self {
            RuleConfig::GradientDescent { learning_rate } => {
                Rule::GradientDescent(GradientDescent::new(h(learning_rate))?)
            }
            RuleConfig::Adadelta { learning_rate, rho, epsilon } => {
                Rule::Adadelta(Adadelta::new(h(learning_rate), h(rho), h(epsilon))?)
            }
            RuleConfig::Adagrad { learning_rate, initial_accumulator_value } => {
                Rule::Adagrad(Adagrad::new(h(learning_rate), x(initial_accumulator_value))?)
            }
            RuleConfig::AdagradDa {
                learning_rate,
                initial_gradient_squared_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                advance_global_step,
            } => Rule::AdagradDa(AdagradDa::new(
                h(learning_rate),
                x(initial_gradient_squared_accumulator_value),
                h(l1_regularization_strength),
                h(l2_regularization_strength),
                advance_global_step,
            )?),
            RuleConfig::Momentum { learning_rate, momentum, use_nesterov } => {
                Rule::Momentum(Momentum::new(h(learning_rate), h(momentum), use_nesterov)?)
            }
            RuleConfig::Adam { learning_rate, beta1, beta2, epsilon } => {
                let powers = match precision {
                    HyperPrecision::PythonFloat => PowerDtype::F32,
                    HyperPrecision::Exact if F::DTYPE == "float32" => PowerDtype::F32,
                    HyperPrecision::Exact => PowerDtype::F64,
                };
                Rule::Adam(Adam::new(h(learning_rate), h(beta1), h(beta2), h(epsilon), powers)?)
            }
            RuleConfig::Ftrl {
                learning_rate,
                learning_rate_power,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                l2_shrinkage_regularization_strength,
            } => Rule::Ftrl(Ftrl::new(
                h(learning_rate),
                h(learning_rate_power),
                x(initial_accumulator_value),
                h(l1_regularization_strength),
                h(l2_regularization_strength),
                h(l2_shrinkage_regularization_strength),
            )?),
            RuleConfig::ProximalGradientDescent {
                learning_rate,
                l1_regularization_strength,
                l2_regularization_strength,
            } => Rule::ProximalGradientDescent(ProximalGradientDescent::new(
                x(learning_rate),
                x(l1_regularization_strength),
                x(l2_regularization_strength),
            )?),
            RuleConfig::ProximalAdagrad {
                learning_rate,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
            } => Rule::ProximalAdagrad(ProximalAdagrad::new(
                x(learning_rate),
                x(initial_accumulator_value),
                x(l1_regularization_strength),
                x(l2_regularization_strength),
            )?),
            RuleConfig::RmsProp { learning_rate, decay, momentum, epsilon, centered } => {
                Rule::RmsProp(RmsProp::new(
                    h(learning_rate),
                    h(decay),
                    h(momentum),
                    h(epsilon),
                    centered,
                )?)
            }
            RuleConfig::Sgd { learning_rate } => Rule::Sgd(Sgd::new(x(learning_rate))?),
            RuleConfig::LayerAdam { learning_rate, beta1, beta2, epsilon, bias_correction } => {
                Rule::LayerAdam(LayerAdam::new(
                    x(learning_rate),
                    x(beta1),
                    x(beta2),
                    x(epsilon),
                    bias_correction,
                )?)
            }
        })
    }

    /// Validates the `f64` values as written, with the same conditions as the constructors.
    fn check_raw(&self) -> Result<(), HyperError> {
        use crate::error::check::{non_negative as nn, non_positive as np, positive as pos, unit};
        let r = self.name();
        match *self {
            RuleConfig::GradientDescent { learning_rate } | RuleConfig::Sgd { learning_rate } => {
                pos(r, "learning_rate", learning_rate)
            }
            RuleConfig::Adadelta { learning_rate, rho, epsilon } => {
                pos(r, "learning_rate", learning_rate)?;
                unit(r, "rho", rho)?;
                pos(r, "epsilon", epsilon)
            }
            RuleConfig::Adagrad { learning_rate, initial_accumulator_value } => {
                pos(r, "learning_rate", learning_rate)?;
                pos(r, "initial_accumulator_value", initial_accumulator_value)
            }
            RuleConfig::AdagradDa {
                learning_rate,
                initial_gradient_squared_accumulator_value: iv,
                l1_regularization_strength: l1,
                l2_regularization_strength: l2,
                ..
            } => {
                pos(r, "learning_rate", learning_rate)?;
                pos(r, "initial_gradient_squared_accumulator_value", iv)?;
                nn(r, "l1_regularization_strength", l1)?;
                nn(r, "l2_regularization_strength", l2)
            }
            RuleConfig::Momentum { learning_rate, momentum, .. } => {
                pos(r, "learning_rate", learning_rate)?;
                unit(r, "momentum", momentum)
            }
            RuleConfig::Adam { learning_rate, beta1, beta2, epsilon }
            | RuleConfig::LayerAdam { learning_rate, beta1, beta2, epsilon, .. } => {
                pos(r, "learning_rate", learning_rate)?;
                unit(r, "beta1", beta1)?;
                unit(r, "beta2", beta2)?;
                pos(r, "epsilon", epsilon)
            }
            RuleConfig::Ftrl {
                learning_rate,
                learning_rate_power,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                l2_shrinkage_regularization_strength,
            } => {
                pos(r, "learning_rate", learning_rate)?;
                np(r, "learning_rate_power", learning_rate_power)?;
                nn(r, "initial_accumulator_value", initial_accumulator_value)?;
                nn(r, "l1_regularization_strength", l1_regularization_strength)?;
                nn(r, "l2_regularization_strength", l2_regularization_strength)?;
                nn(r, "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
            }
            RuleConfig::ProximalGradientDescent {
                learning_rate,
                l1_regularization_strength,
                l2_regularization_strength,
            } => {
                pos(r, "learning_rate", learning_rate)?;
                nn(r, "l1_regularization_strength", l1_regularization_strength)?;
                nn(r, "l2_regularization_strength", l2_regularization_strength)
            }
            RuleConfig::ProximalAdagrad {
                learning_rate,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
            } => {
                pos(r, "learning_rate", learning_rate)?;
                pos(r, "initial_accumulator_value", initial_accumulator_value)?;
                nn(r, "l1_regularization_strength", l1_regularization_strength)?;
                nn(r, "l2_regularization_strength", l2_regularization_strength)
            }
            RuleConfig::RmsProp { learning_rate, decay, momentum, epsilon, .. } => {
                pos(r, "learning_rate", learning_rate)?;
                unit(r, "decay", decay)?;
                unit(r, "momentum", momentum)?;
                pos(r, "epsilon", epsilon)
            }
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $state:ident, $pg:ident; $($v:ident),*) => {
        match ($self, $state) {
            $( (Rule::$v(r), RuleState::$v(s)) => r.update(s, $pg), )*
            (rule, state) => Err(UpdateError::StateKind { rule: rule.name(), state: state.name() }),
        }
    };
}

impl<F: Float> Rule<F> {
    /// The rule's name as in TF1 (or the study).
    pub fn name(&self) -> &'static str {
        match self {
            Rule::GradientDescent(_) => "GradientDescent",
            Rule::Adadelta(_) => "Adadelta",
            Rule::Adagrad(_) => "Adagrad",
            Rule::AdagradDa(_) => "AdagradDA",
            Rule::Momentum(_) => "Momentum",
            Rule::Adam(_) => "Adam",
            Rule::Ftrl(_) => "Ftrl",
            Rule::ProximalGradientDescent(_) => "ProximalGradientDescent",
            Rule::ProximalAdagrad(_) => "ProximalAdagrad",
            Rule::RmsProp(_) => "RMSProp",
            Rule::Sgd(_) => "Sgd",
            Rule::LayerAdam(_) => "LayerAdam",
        }
    }

    /// Creates the rule's state for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> RuleState<F> {
        match self {
            Rule::GradientDescent(r) => RuleState::GradientDescent(r.init(lens)),
            Rule::Adadelta(r) => RuleState::Adadelta(r.init(lens)),
            Rule::Adagrad(r) => RuleState::Adagrad(r.init(lens)),
            Rule::AdagradDa(r) => RuleState::AdagradDa(r.init(lens)),
            Rule::Momentum(r) => RuleState::Momentum(r.init(lens)),
            Rule::Adam(r) => RuleState::Adam(r.init(lens)),
            Rule::Ftrl(r) => RuleState::Ftrl(r.init(lens)),
            Rule::ProximalGradientDescent(r) => RuleState::ProximalGradientDescent(r.init(lens)),
            Rule::ProximalAdagrad(r) => RuleState::ProximalAdagrad(r.init(lens)),
            Rule::RmsProp(r) => RuleState::RmsProp(r.init(lens)),
            Rule::Sgd(r) => RuleState::Sgd(r.init(lens)),
            Rule::LayerAdam(r) => RuleState::LayerAdam(r.init(lens)),
        }
    }

    /// One `apply_gradients` call over all tensors (see each rule's `update`).
    pub fn update<'a, I>(
        &self,
        state: &mut RuleState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        dispatch!(self, state, params_and_grads; GradientDescent, Adadelta, Adagrad, AdagradDa, Momentum, Adam,
            Ftrl, ProximalGradientDescent, ProximalAdagrad, RmsProp, Sgd, LayerAdam)
    }
}

impl<F> RuleState<F> {
    /// The name of the rule that created this state.
    pub fn name(&self) -> &'static str {
        match self {
            RuleState::GradientDescent(_) => "GradientDescent",
            RuleState::Adadelta(_) => "Adadelta",
            RuleState::Adagrad(_) => "Adagrad",
            RuleState::AdagradDa(_) => "AdagradDA",
            RuleState::Momentum(_) => "Momentum",
            RuleState::Adam(_) => "Adam",
            RuleState::Ftrl(_) => "Ftrl",
            RuleState::ProximalGradientDescent(_) => "ProximalGradientDescent",
            RuleState::ProximalAdagrad(_) => "ProximalAdagrad",
            RuleState::RmsProp(_) => "RMSProp",
            RuleState::Sgd(_) => "Sgd",
            RuleState::LayerAdam(_) => "LayerAdam",
        }
    }
}
