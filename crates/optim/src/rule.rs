//! The two traits every rule and transform implements ([`UpdateRule`], [`GradientTransform`]) and
//! the [`chain`] combinator that runs a transform before a rule.

use std::fmt::{self, Debug, Display};

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Float, UpdateError};

/// One resolved hyperparameter value, for tables (one CSV column per name).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HyperValue {
    /// A number, widened to `f64` exactly as the kernel sees it.
    Number(f64),
    /// A switch (`use_nesterov`, `centered`, …).
    Bool(bool),
    /// A choice among named variants (`bias_correction = "constant"`, `power_dtype = "f32"`).
    Text(&'static str),
}

impl Display for HyperValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{:?}` of f64 is the shortest text that parses back to the same bits.
            HyperValue::Number(x) => write!(f, "{x:?}"),
            HyperValue::Bool(b) => write!(f, "{b}"),
            HyperValue::Text(t) => f.write_str(t),
        }
    }
}

/// A rule's or transform's resolved hyperparameters: flat `(name, value)` pairs in a fixed
/// order, names as in the config tables (TF1's argument names).
pub type Hyperparameters = Vec<(&'static str, HyperValue)>;

/// Shorthand for a number entry of a [`Hyperparameters`] list.
pub(crate) fn num<F: Float>(name: &'static str, value: F) -> (&'static str, HyperValue) {
    (name, HyperValue::Number(value.widen()))
}

/// An update rule over explicit state (optax's `init`/`update`, burn's `SimpleOptimizer`).
///
/// The rule itself is immutable (its hyperparameters are validated when it is built); everything
/// that changes lives in [`Self::State`], created by [`Self::init`] for the tensor lengths and
/// advanced by [`Self::update`]. One `update` call is one TF `apply_gradients` over all tensors:
/// per-optimizer scalars (Adam's beta powers, AdagradDA's global step) advance once per call.
///
/// Implementations must not allocate in `update` (`tests/no_alloc.rs` checks every shipped
/// rule), and must report mismatched inputs as [`UpdateError`] instead of panicking.
pub trait UpdateRule<F: Float> {
    /// Everything the rule carries between steps. Serialisable so checkpoints can save it and a
    /// restored state gives a bit-identical next step (use a lossless format, e.g. `serde_json`
    /// with `float_roundtrip`).
    type State: Debug + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The rule's display name (TF1's class name without `Optimizer`, or the study's name).
    fn name(&self) -> &'static str;

    /// The resolved hyperparameters, as the kernel sees them.
    fn hyperparameter_table(&self) -> Hyperparameters;

    /// Creates the state for tensors of the given lengths, in update order.
    fn init(&self, lens: &[usize]) -> Self::State;

    /// Tells the rule which epoch the following steps belong to. No shipped rule uses it; a
    /// [`Chain`] forwards it to its transform (the study's noise decays per epoch).
    fn set_epoch(&self, state: &mut Self::State, epoch: u64) {
        let _ = (state, epoch);
    }

    /// One step over all tensors: `params_and_grads` yields each parameter with its gradient,
    /// in the order given to [`Self::init`]. Gradients are read only.
    ///
    /// # Errors
    /// [`UpdateError`] when a gradient's length differs from its parameter's, a parameter's from
    /// the one given to `init`, or the number of tensors differs. Tensors before the offending
    /// one have been updated and per-call scalars have not advanced: treat it as fatal.
    fn update<'a, I>(
        &self,
        state: &mut Self::State,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a;
}

/// A gradient slice as a caller holds it: shared or (as `Mlp::params_and_grads` yields it)
/// mutable. Lets the old entry points ([`crate::Rule::update`], [`crate::BoxedRule::update`])
/// take either; the rules only ever read it.
pub trait GradientSlice<'a, F> {
    /// The slice, read-only.
    fn into_gradient(self) -> &'a [F];
}

impl<'a, F> GradientSlice<'a, F> for &'a [F] {
    #[inline(always)]
    fn into_gradient(self) -> &'a [F] {
        self
    }
}

impl<'a, F> GradientSlice<'a, F> for &'a mut [F] {
    #[inline(always)]
    fn into_gradient(self) -> &'a [F] {
        self
    }
}

/// A transform that rewrites the gradients before a rule sees them (optax's
/// `GradientTransformation` without the final update; gradient noise today).
///
/// A step is [`Self::begin`], then [`Self::apply_tensor`] for every tensor in order, then
/// [`Self::end`]; [`Self::apply`] does all three over a list. The split lets [`Chain`] transform
/// each tensor just before its rule reads it, in one pass and without collecting the tensors.
pub trait GradientTransform<F: Float> {
    /// Everything the transform carries between steps (e.g. its random stream), serialisable.
    type State: Debug + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The transform's display name.
    fn name(&self) -> &'static str;

    /// The resolved hyperparameters.
    fn hyperparameter_table(&self) -> Hyperparameters;

    /// Creates the state for tensors of the given lengths, drawing from `rng` (the caller derives
    /// the stream, e.g. from seed, trial, experiment and case).
    fn init(&self, lens: &[usize], rng: ChaCha8Rng) -> Self::State;

    /// Tells the transform the epoch of the following steps.
    fn set_epoch(&self, state: &mut Self::State, epoch: u64) {
        let _ = (state, epoch);
    }

    /// Starts a step: per-step draws happen here.
    ///
    /// # Errors
    /// [`UpdateError`] if the state cannot be used (e.g. a restored state of another transform).
    fn begin(&self, state: &mut Self::State) -> Result<(), UpdateError>;

    /// Rewrites tensor `index`'s gradient in place.
    fn apply_tensor(&self, state: &mut Self::State, index: usize, grad: &mut [F]);

    /// Writes tensor `index`'s transformed gradient into `out` (same length as `grad`), leaving
    /// `grad` untouched: what [`Chain`] calls. The default copies then applies
    /// [`Self::apply_tensor`]; a transform may fuse the two into one pass, with the same bits.
    fn apply_tensor_into(&self, state: &mut Self::State, index: usize, grad: &[F], out: &mut [F]) {
        out.copy_from_slice(grad);
        self.apply_tensor(state, index, out);
    }

    /// Ends the step (advances step counters).
    fn end(&self, state: &mut Self::State);

    /// A whole step over every gradient tensor: `begin`, `apply_tensor` for each, `end`.
    ///
    /// # Errors
    /// As [`Self::begin`].
    fn apply<'a, I>(&self, state: &mut Self::State, grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = &'a mut [F]>,
        F: 'a,
    {
        self.begin(state)?;
        for (i, g) in grads.into_iter().enumerate() {
            self.apply_tensor(state, i, g);
        }
        self.end(state);
        Ok(())
    }
}

/// A transform followed by a rule, itself an [`UpdateRule`] (optax's `chain(add_noise, sgd)`):
/// each step copies every gradient into a scratch buffer owned by the state, transforms the copy
/// and gives it to the rule, so the caller's gradients stay untouched. The study's case 0 is
/// `chain(noise, sgd, rng)`, bit-identical to adding the noise in place and then running Sgd.
///
/// Cost per step: one copy of the gradients (no allocation; the buffer is allocated by `init`,
/// or by the first step after restoring a serialised state, since it is not serialised).
#[derive(Clone, Debug, PartialEq)]
pub struct Chain<T, R> {
    transform: T,
    rule: R,
    rng: ChaCha8Rng,
}

/// Builds `transform` then `rule`; `rng` seeds the transform's state at every `init`.
pub fn chain<T, R>(transform: T, rule: R, rng: ChaCha8Rng) -> Chain<T, R> {
    Chain { transform, rule, rng }
}

impl<T, R> Chain<T, R> {
    /// The transform.
    pub fn transform(&self) -> &T {
        &self.transform
    }

    /// The rule.
    pub fn rule(&self) -> &R {
        &self.rule
    }
}

/// A [`Chain`]'s state: the transform's, the rule's, and the scratch gradients.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChainState<TS, RS, F> {
    /// The transform's state.
    pub transform: TS,
    /// The rule's state.
    pub rule: RS,
    /// Tensor lengths given to `init`.
    pub lens: Vec<usize>,
    /// The transformed gradients of the current step; not serialised (it holds nothing between
    /// steps), re-allocated by the first step after a restore.
    #[serde(skip)]
    scratch: Vec<Vec<F>>,
}

impl<TS: PartialEq, RS: PartialEq, F> PartialEq for ChainState<TS, RS, F> {
    /// Equal when the parts that carry over between steps are equal (not the scratch).
    fn eq(&self, other: &Self) -> bool {
        self.transform == other.transform && self.rule == other.rule && self.lens == other.lens
    }
}

impl<F, T, R> UpdateRule<F> for Chain<T, R>
where
    F: Float,
    T: GradientTransform<F>,
    R: UpdateRule<F>,
{
    type State = ChainState<T::State, R::State, F>;

    fn name(&self) -> &'static str {
        self.rule.name()
    }

    /// The transform's entries (prefixed by nothing: names do not collide in the study) followed
    /// by the rule's.
    fn hyperparameter_table(&self) -> Hyperparameters {
        let mut table = self.transform.hyperparameter_table();
        table.extend(self.rule.hyperparameter_table());
        table
    }

    fn init(&self, lens: &[usize]) -> Self::State {
        ChainState {
            transform: self.transform.init(lens, self.rng.clone()),
            rule: self.rule.init(lens),
            lens: lens.to_vec(),
            scratch: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    fn set_epoch(&self, state: &mut Self::State, epoch: u64) {
        self.transform.set_epoch(&mut state.transform, epoch);
        self.rule.set_epoch(&mut state.rule, epoch);
    }

    fn update<'a, I>(&self, state: &mut Self::State, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let ChainState { transform: ts, rule: rs, lens, scratch } = state;
        if scratch.len() != lens.len()
            || scratch.iter().zip(lens.iter()).any(|(s, &n)| s.len() != n)
        {
            // Only after a restore (the scratch is not serialised).
            *scratch = lens.iter().map(|&n| vec![F::zero(); n]).collect();
        }
        self.transform.begin(ts)?;
        let transform = &self.transform;
        let mut buffers = scratch.iter_mut();
        let mut index = 0;
        let transformed = params_and_grads.into_iter().map(|(w, g)| {
            let i = index;
            index += 1;
            match buffers.next() {
                Some(buffer) if buffer.len() == g.len() => {
                    transform.apply_tensor_into(ts, i, g, buffer);
                    (w, buffer.as_slice())
                }
                // A length or count the rule's state does not match either: pass it on
                // untouched, the rule reports the mismatch.
                _ => (w, g),
            }
        });
        let result = self.rule.update(rs, transformed);
        self.transform.end(ts);
        result
    }
}
