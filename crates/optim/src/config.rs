//! Config-facing types for TOML case tables, and enum dispatch over the study's rules.

use serde::{Deserialize, Serialize};

use crate::rule::{GradientSlice, Hyperparameters, UpdateRule};
use crate::{
    Adadelta, Adagrad, AdagradDa, Adam, Ftrl, GradientDescent, LayerAdam, Momentum,
    ProximalAdagrad, ProximalGradientDescent, RmsProp, Sgd,
};
use crate::{
    AdadeltaConfig, AdadeltaState, AdagradConfig, AdagradDaConfig, AdagradDaState, AdagradState,
    AdamConfig, AdamState, BiasCorrection, Float, FtrlConfig, FtrlState, GradientDescentConfig,
    GradientNoise, HyperError, HyperPrecision, LayerAdamConfig, LayerAdamState, MomentumConfig,
    MomentumState, NoSlots, NoiseForm, ProximalAdagradConfig, ProximalAdagradState,
    ProximalGradientDescentConfig, RmsPropConfig, RmsPropState, SgdConfig, UpdateError,
};

fn noise_scale() -> f64 {
    GradientNoise::STUDY_SCALE
}
fn noise_gamma() -> f64 {
    GradientNoise::STUDY_GAMMA
}

/// One of the study's update rules as written in a TOML case table, e.g. `rule = "adam"`,
/// `learning_rate = 0.001`: the closed set the study uses, kept for existing configs and the
/// parity fixtures. Omitted fields take TF1's defaults (the study's for `layer_adam`), stated
/// once as constants of the per-rule configs ([`AdamConfig`], …); unknown fields are rejected.
/// Field names follow TF1's constructor arguments. A new rule does not go here: register it in a
/// [`crate::Registry`].
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
        #[serde(default = "AdadeltaConfig::default_learning_rate")]
        learning_rate: f64,
        /// ρ, default 0.95.
        #[serde(default = "AdadeltaConfig::default_rho")]
        rho: f64,
        /// ε, default 1e-8.
        #[serde(default = "AdadeltaConfig::default_epsilon")]
        epsilon: f64,
    },
    /// TF1 `AdagradOptimizer` (case 9).
    Adagrad {
        /// η (required).
        learning_rate: f64,
        /// Initial accumulator, default 0.1 (> 0).
        #[serde(default = "AdagradConfig::default_initial_accumulator_value")]
        initial_accumulator_value: f64,
    },
    /// TF1 `AdagradDAOptimizer` (case 10).
    AdagradDa {
        /// η (required).
        learning_rate: f64,
        /// Initial squared accumulator, default 0.1 (> 0).
        #[serde(default = "AdagradDaConfig::default_initial_value")]
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
        #[serde(default = "AdamConfig::default_learning_rate")]
        learning_rate: f64,
        /// β1, default 0.9.
        #[serde(default = "AdamConfig::default_beta1")]
        beta1: f64,
        /// β2, default 0.999.
        #[serde(default = "AdamConfig::default_beta2")]
        beta2: f64,
        /// ε, default 1e-8.
        #[serde(default = "AdamConfig::default_epsilon")]
        epsilon: f64,
    },
    /// TF1 `FtrlOptimizer` (case 13).
    Ftrl {
        /// η (required).
        learning_rate: f64,
        /// Default −0.5 (≤ 0).
        #[serde(default = "FtrlConfig::default_learning_rate_power")]
        learning_rate_power: f64,
        /// Default 0.1 (≥ 0).
        #[serde(default = "FtrlConfig::default_initial_accumulator_value")]
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
        #[serde(default = "ProximalAdagradConfig::default_initial_accumulator_value")]
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
        #[serde(default = "RmsPropConfig::default_decay")]
        decay: f64,
        /// μ, default 0.
        #[serde(default = "RmsPropConfig::default_momentum")]
        momentum: f64,
        /// ε, default 1e-10.
        #[serde(default = "RmsPropConfig::default_epsilon")]
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
        #[serde(default = "AdamConfig::default_beta1")]
        beta1: f64,
        /// β2, default 0.999.
        #[serde(default = "AdamConfig::default_beta2")]
        beta2: f64,
        /// ε, default 1e-8.
        #[serde(default = "AdamConfig::default_epsilon")]
        epsilon: f64,
        /// `"constant"` (the study, default) or `"true"`.
        #[serde(default = "LayerAdamConfig::default_bias_correction")]
        bias_correction: BiasCorrection,
    },
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
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field, checked on the values as written and then
    /// on what the kernel sees (so an `f32` overflow is rejected).
    pub fn build<F: Float>(&self) -> Result<Rule<F>, HyperError> {
        self.build_with(HyperPrecision::PythonFloat)
    }

    /// Builds the rule with the given hyperparameter precision, through the rule's own config
    /// type (which states its defaults, conditions and precision handling once).
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn build_with<F: Float>(&self, precision: HyperPrecision) -> Result<Rule<F>, HyperError> {
        Ok(match *self {
            RuleConfig::GradientDescent { learning_rate } => {
                Rule::GradientDescent(GradientDescentConfig { learning_rate }.build(precision)?)
            }
            RuleConfig::Adadelta { learning_rate, rho, epsilon } => {
                Rule::Adadelta(AdadeltaConfig { learning_rate, rho, epsilon }.build(precision)?)
            }
            RuleConfig::Adagrad { learning_rate, initial_accumulator_value } => Rule::Adagrad(
                AdagradConfig { learning_rate, initial_accumulator_value }.build(precision)?,
            ),
            RuleConfig::AdagradDa {
                learning_rate,
                initial_gradient_squared_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                advance_global_step,
            } => Rule::AdagradDa(
                AdagradDaConfig {
                    learning_rate,
                    initial_gradient_squared_accumulator_value,
                    l1_regularization_strength,
                    l2_regularization_strength,
                    advance_global_step,
                }
                .build(precision)?,
            ),
            RuleConfig::Momentum { learning_rate, momentum, use_nesterov } => Rule::Momentum(
                MomentumConfig { learning_rate, momentum, use_nesterov }.build(precision)?,
            ),
            RuleConfig::Adam { learning_rate, beta1, beta2, epsilon } => {
                Rule::Adam(AdamConfig { learning_rate, beta1, beta2, epsilon }.build(precision)?)
            }
            RuleConfig::Ftrl {
                learning_rate,
                learning_rate_power,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                l2_shrinkage_regularization_strength,
            } => Rule::Ftrl(
                FtrlConfig {
                    learning_rate,
                    learning_rate_power,
                    initial_accumulator_value,
                    l1_regularization_strength,
                    l2_regularization_strength,
                    l2_shrinkage_regularization_strength,
                }
                .build(precision)?,
            ),
            RuleConfig::ProximalGradientDescent {
                learning_rate,
                l1_regularization_strength,
                l2_regularization_strength,
            } => Rule::ProximalGradientDescent(
                ProximalGradientDescentConfig {
                    learning_rate,
                    l1_regularization_strength,
                    l2_regularization_strength,
                }
                .build()?,
            ),
            RuleConfig::ProximalAdagrad {
                learning_rate,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
            } => Rule::ProximalAdagrad(
                ProximalAdagradConfig {
                    learning_rate,
                    initial_accumulator_value,
                    l1_regularization_strength,
                    l2_regularization_strength,
                }
                .build()?,
            ),
            RuleConfig::RmsProp { learning_rate, decay, momentum, epsilon, centered } => {
                Rule::RmsProp(
                    RmsPropConfig { learning_rate, decay, momentum, epsilon, centered }
                        .build(precision)?,
                )
            }
            RuleConfig::Sgd { learning_rate } => {
                Rule::Sgd(SgdConfig { learning_rate }.build_sgd()?)
            }
            RuleConfig::LayerAdam { learning_rate, beta1, beta2, epsilon, bias_correction } => {
                Rule::LayerAdam(
                    LayerAdamConfig { learning_rate, beta1, beta2, epsilon, bias_correction }
                        .build()?,
                )
            }
        })
    }
}

macro_rules! each_rule {
    ($self:ident, $r:ident => $e:expr) => {
        match $self {
            Rule::GradientDescent($r) => $e,
            Rule::Adadelta($r) => $e,
            Rule::Adagrad($r) => $e,
            Rule::AdagradDa($r) => $e,
            Rule::Momentum($r) => $e,
            Rule::Adam($r) => $e,
            Rule::Ftrl($r) => $e,
            Rule::ProximalGradientDescent($r) => $e,
            Rule::ProximalAdagrad($r) => $e,
            Rule::RmsProp($r) => $e,
            Rule::Sgd($r) => $e,
            Rule::LayerAdam($r) => $e,
        }
    };
}

macro_rules! dispatch {
    ($self:ident, $state:ident, $pg:ident; $($v:ident),*) => {
        match ($self, $state) {
            $( (Rule::$v(r), RuleState::$v(s)) => r.update(s, $pg), )*
            (rule, state) => Err(UpdateError::StateKind {
                rule: UpdateRule::<F>::name(rule),
                state: state.name(),
            }),
        }
    };
}

impl<F: Float> UpdateRule<F> for Rule<F> {
    type State = RuleState<F>;

    fn name(&self) -> &'static str {
        each_rule!(self, r => r.name())
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        each_rule!(self, r => r.hyperparameter_table())
    }

    fn init(&self, lens: &[usize]) -> RuleState<F> {
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

    /// Dispatches to the variant's rule; a state of another rule is
    /// [`UpdateError::StateKind`].
    fn update<'a, I>(
        &self,
        state: &mut RuleState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        dispatch!(self, state, params_and_grads; GradientDescent, Adadelta, Adagrad, AdagradDa,
            Momentum, Adam, Ftrl, ProximalGradientDescent, ProximalAdagrad, RmsProp, Sgd, LayerAdam)
    }
}

/// The entry points callers used before [`UpdateRule`] existed; they need no trait import and
/// accept mutable gradient slices (as `Mlp::params_and_grads` yields them) as well as shared ones.
impl<F: Float> Rule<F> {
    /// The rule's name as in TF1 (or the study).
    pub fn name(&self) -> &'static str {
        UpdateRule::<F>::name(self)
    }

    /// Creates the rule's state for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> RuleState<F> {
        UpdateRule::init(self, lens)
    }

    /// One `apply_gradients` call over all tensors ([`UpdateRule::update`]); gradients may be
    /// `&[F]` or `&mut [F]` and are only read.
    ///
    /// # Errors
    /// As [`UpdateRule::update`], plus [`UpdateError::StateKind`] for another rule's state.
    pub fn update<'a, I, G>(
        &self,
        state: &mut RuleState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], G)>,
        G: GradientSlice<'a, F>,
        F: 'a,
    {
        UpdateRule::update(
            self,
            state,
            params_and_grads.into_iter().map(|(w, g)| (w, g.into_gradient())),
        )
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
