//! Gradient noise (Neelakantan et al. 2015) as a transform that precedes any rule.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::check;
use crate::rule::{GradientTransform, HyperValue, Hyperparameters};
use crate::{Float, HyperError, UpdateError};

/// Which form of gradient noise to add.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseForm {
    /// The study's code: ONE scalar `ε_t ~ N(0, σ_t²)` per call, added to every element of every
    /// tensor, with `σ_t = sigma0/(1+t)^gamma` used as the **standard deviation** and `t` the
    /// epoch supplied by the caller.
    Scalar {
        /// σ at t = 0 (the study: 0.001).
        sigma0: f64,
        /// Decay exponent (the study: 0.55).
        gamma: f64,
    },
    /// The paper's form: an independent `N(0, η/(1+t)^γ)` draw per element (η/(1+t)^γ is the
    /// **variance**), with `t` the number of previous `apply` calls held in the state.
    Paper {
        /// Variance at t = 0 (the paper tries 0.01, 0.3, 1.0; the study's scale is 0.001).
        eta: f64,
        /// Decay exponent (the paper and the study: 0.55).
        gamma: f64,
    },
}

/// Gradient noise: `g ← g + ε`, applied to the gradients before a rule's `update`
/// (optax's `add_noise`). The study's case 0 is this transform then [`crate::Sgd`]:
/// `W ← W − η·(G + ε_t)`.
///
/// Draws are `f64` standard normals (Ziggurat, `rand_distr::StandardNormal`) from the state's
/// ChaCha8 stream, scaled in `f64` and rounded once to the gradient's dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientNoise {
    form: NoiseForm,
}

/// The transform's state: its random stream, its call count and the current epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseState {
    /// The ChaCha8 stream all draws come from (serialised with its position).
    pub rng: ChaCha8Rng,
    /// Completed `apply` calls (the paper form's t).
    pub step: u64,
    /// The epoch set by [`GradientTransform::set_epoch`] (the scalar form's t); absent in states
    /// saved before it existed, hence the default.
    #[serde(default)]
    pub epoch: u64,
    /// Between `begin` and `end` of a step: the scalar form's `ε_t` or the paper form's σ;
    /// zero between steps, so it is not serialised.
    #[serde(skip)]
    pending: f64,
}

impl GradientNoise {
    /// Builds the transform; the scale (`sigma0` or `eta`) and `gamma` must be `>= 0` and finite.
    pub fn new(form: NoiseForm) -> Result<Self, HyperError> {
        match form {
            NoiseForm::Scalar { sigma0, gamma } => {
                check::non_negative("GradientNoise", "sigma0", sigma0)?;
                check::non_negative("GradientNoise", "gamma", gamma)?;
            }
            NoiseForm::Paper { eta, gamma } => {
                check::non_negative("GradientNoise", "eta", eta)?;
                check::non_negative("GradientNoise", "gamma", gamma)?;
            }
        }
        Ok(Self { form })
    }

    /// The study's noise scale (`sigma0` of the scalar form, the default `eta` of the paper
    /// form): 0.001.
    pub const STUDY_SCALE: f64 = 0.001;
    /// The study's (and the paper's) decay exponent: 0.55.
    pub const STUDY_GAMMA: f64 = 0.55;

    /// The study's coded form: scalar, `σ_t = 0.001/(1+t)^0.55`.
    pub fn study() -> Self {
        Self { form: NoiseForm::Scalar { sigma0: Self::STUDY_SCALE, gamma: Self::STUDY_GAMMA } }
    }

    /// The form and its parameters.
    pub fn form(&self) -> NoiseForm {
        self.form
    }

    /// Creates the state from a caller-derived stream (the runner derives it from
    /// `(seed, trial, experiment, purpose)`).
    ///
    /// The pre-trait entry point; [`GradientTransform::init`] takes the tensor lengths too.
    pub fn init(&self, rng: ChaCha8Rng) -> NoiseState {
        NoiseState { rng, step: 0, epoch: 0, pending: 0.0 }
    }

    /// The standard deviation used at `epoch` (scalar form) or at the state's step (paper form).
    pub fn std_dev(&self, state: &NoiseState, epoch: u64) -> f64 {
        match self.form {
            NoiseForm::Scalar { sigma0, gamma } => sigma0 / (1.0 + epoch as f64).powf(gamma),
            NoiseForm::Paper { eta, gamma } => (eta / (1.0 + state.step as f64).powf(gamma)).sqrt(),
        }
    }

    /// Adds noise to every gradient tensor in place; `epoch` is the study's `t` for the scalar
    /// form and ignored by the paper form. Advances the state's step by one.
    ///
    /// The pre-trait entry point: sets the state's epoch, then runs
    /// [`GradientTransform::apply`].
    pub fn apply<'a, F: Float, I: IntoIterator<Item = &'a mut [F]>>(
        &self,
        state: &mut NoiseState,
        epoch: u64,
        grads: I,
    ) {
        state.epoch = epoch;
        // `begin` cannot fail for a `NoiseState`.
        let _ = GradientTransform::<F>::apply(self, state, grads);
    }
}

impl<F: Float> GradientTransform<F> for GradientNoise {
    type State = NoiseState;

    fn name(&self) -> &'static str {
        "GradientNoise"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        match self.form {
            NoiseForm::Scalar { sigma0, gamma } => vec![
                ("form", HyperValue::Text("scalar")),
                ("sigma0", HyperValue::Number(sigma0)),
                ("gamma", HyperValue::Number(gamma)),
            ],
            NoiseForm::Paper { eta, gamma } => vec![
                ("form", HyperValue::Text("paper")),
                ("eta", HyperValue::Number(eta)),
                ("gamma", HyperValue::Number(gamma)),
            ],
        }
    }

    fn init(&self, _lens: &[usize], rng: ChaCha8Rng) -> NoiseState {
        GradientNoise::init(self, rng)
    }

    fn set_epoch(&self, state: &mut NoiseState, epoch: u64) {
        state.epoch = epoch;
    }

    /// Computes σ for this step; the scalar form draws its one `ε_t` here.
    fn begin(&self, state: &mut NoiseState) -> Result<(), UpdateError> {
        let sd = self.std_dev(state, state.epoch);
        state.pending = match self.form {
            NoiseForm::Scalar { .. } => {
                let z: f64 = state.rng.sample(StandardNormal);
                z * sd
            }
            NoiseForm::Paper { .. } => sd,
        };
        Ok(())
    }

    /// Scalar: `g ← g + F(ε_t)`; paper: `g ← g + F(z·σ)` with a fresh `z` per element.
    fn apply_tensor(&self, state: &mut NoiseState, _index: usize, grad: &mut [F]) {
        match self.form {
            NoiseForm::Scalar { .. } => {
                let eps = F::from_f64_rounded(state.pending);
                for g in grad.iter_mut() {
                    *g = *g + eps;
                }
            }
            NoiseForm::Paper { .. } => {
                let sd = state.pending;
                for g in grad.iter_mut() {
                    let z: f64 = state.rng.sample(StandardNormal);
                    *g = *g + F::from_f64_rounded(z * sd);
                }
            }
        }
    }

    /// One fused pass, `out = g + noise`, with the same bits as copying then
    /// [`GradientTransform::apply_tensor`] (the same additions in the same order).
    fn apply_tensor_into(&self, state: &mut NoiseState, index: usize, grad: &[F], out: &mut [F]) {
        if out.len() != grad.len() {
            // Not reached through `Chain`, which checks; keep the default's contract anyway.
            out.iter_mut().zip(grad).for_each(|(o, &g)| *o = g);
            return GradientTransform::<F>::apply_tensor(self, state, index, out);
        }
        match self.form {
            NoiseForm::Scalar { .. } => {
                let eps = F::from_f64_rounded(state.pending);
                for (o, &g) in out.iter_mut().zip(grad) {
                    *o = g + eps;
                }
            }
            NoiseForm::Paper { .. } => {
                let sd = state.pending;
                for (o, &g) in out.iter_mut().zip(grad) {
                    let z: f64 = state.rng.sample(StandardNormal);
                    *o = g + F::from_f64_rounded(z * sd);
                }
            }
        }
    }

    fn end(&self, state: &mut NoiseState) {
        state.pending = 0.0;
        state.step += 1;
    }
}
