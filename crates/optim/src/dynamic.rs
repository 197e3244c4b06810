//! Object-safe, type-erased rules and transforms: what a [`crate::Registry`] builds by name.
//!
//! [`DynRule`] is implemented for every [`UpdateRule`] (blanket impl) and works on an erased
//! [`DynState`]; [`BoxedRule`] owns one and is again an [`UpdateRule`]. Per step the erasure
//! costs one virtual call per tensor (the parameter iterator is `&mut dyn Iterator`) and one
//! `TypeId` comparison per call; nothing is allocated.

use std::any::Any;
use std::fmt::{self, Debug};

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rule::{GradientSlice, GradientTransform, Hyperparameters, UpdateRule};
use crate::{Float, UpdateError};

/// A live state behind `dyn`: serialisable through `serde_json::Value`, downcastable.
trait ErasedState: Send + Sync + Debug {
    fn save(&self) -> Result<serde_json::Value, serde_json::Error>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<S: Serialize + Debug + Send + Sync + 'static> ErasedState for S {
    fn save(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

enum Inner {
    /// Created by `init` (or restored by a first use): the concrete state.
    Live { rule: &'static str, state: Box<dyn ErasedState> },
    /// Deserialised but not yet used: the concrete type is only known to the rule, which parses
    /// it at its first call (one allocation, once).
    Saved(serde_json::Value),
}

/// The state of a [`DynRule`] or [`DynTransform`], type-erased.
///
/// Serialises as the concrete state would (via `serde_json::Value`); deserialising keeps the
/// value until the owning rule's first `update`/`set_epoch`, which parses it into its own state
/// type ([`UpdateError::Restore`] if it does not fit). Serialisation of non-finite floats follows
/// `serde_json` (they become `null` and do not restore).
pub struct DynState {
    inner: Inner,
}

impl DynState {
    fn live<S: Serialize + Debug + Send + Sync + 'static>(rule: &'static str, state: S) -> Self {
        DynState { inner: Inner::Live { rule, state: Box::new(state) } }
    }

    /// The name of the rule or transform that created the state; `None` for a restored state not
    /// used yet.
    pub fn owner(&self) -> Option<&'static str> {
        match &self.inner {
            Inner::Live { rule, .. } => Some(rule),
            Inner::Saved(_) => None,
        }
    }

    /// The concrete state, if it is live and of type `S` (for inspection and tests).
    pub fn downcast_ref<S: 'static>(&self) -> Option<&S> {
        match &self.inner {
            Inner::Live { state, .. } => state.as_any().downcast_ref::<S>(),
            Inner::Saved(_) => None,
        }
    }

    /// The concrete state for `owner`, parsing a restored value first.
    fn get_mut<S>(&mut self, owner: &'static str) -> Result<&mut S, UpdateError>
    where
        S: Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        if let Inner::Saved(value) = &self.inner {
            let state: S = serde_json::from_value(value.clone())
                .map_err(|e| UpdateError::Restore { rule: owner, message: e.to_string() })?;
            self.inner = Inner::Live { rule: owner, state: Box::new(state) };
        }
        match &mut self.inner {
            Inner::Live { rule, state } => {
                let kind = *rule;
                state
                    .as_any_mut()
                    .downcast_mut::<S>()
                    .ok_or(UpdateError::StateKind { rule: owner, state: kind })
            }
            Inner::Saved(_) => Err(UpdateError::Restore {
                rule: owner,
                message: "the restored state was not parsed".to_string(),
            }),
        }
    }
}

impl Debug for DynState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Live { state, .. } => state.fmt(f),
            Inner::Saved(value) => f.debug_tuple("Saved").field(value).finish(),
        }
    }
}

impl Serialize for DynState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.inner {
            Inner::Live { state, .. } => {
                state.save().map_err(serde::ser::Error::custom)?.serialize(serializer)
            }
            Inner::Saved(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for DynState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(DynState { inner: Inner::Saved(serde_json::Value::deserialize(deserializer)?) })
    }
}

/// An object-safe [`UpdateRule`] over an erased [`DynState`]; implemented for every
/// `UpdateRule + Debug + Send + Sync`. Use it through [`BoxedRule`].
pub trait DynRule<F: Float>: Debug + Send + Sync {
    /// [`UpdateRule::name`].
    fn rule_name(&self) -> &'static str;
    /// [`UpdateRule::hyperparameter_table`].
    fn rule_hyperparameters(&self) -> Hyperparameters;
    /// [`UpdateRule::init`], erased.
    fn init_erased(&self, lens: &[usize]) -> DynState;
    /// [`UpdateRule::set_epoch`], erased.
    ///
    /// # Errors
    /// [`UpdateError::StateKind`]/[`UpdateError::Restore`] for a state that is not this rule's.
    fn set_epoch_erased(&self, state: &mut DynState, epoch: u64) -> Result<(), UpdateError>;
    /// [`UpdateRule::update`], erased.
    ///
    /// # Errors
    /// As [`UpdateRule::update`], plus those of [`Self::set_epoch_erased`].
    fn update_erased<'a>(
        &self,
        state: &mut DynState,
        params_and_grads: &mut dyn Iterator<Item = (&'a mut [F], &'a [F])>,
    ) -> Result<(), UpdateError>
    where
        F: 'a;
}

impl<F: Float, R> DynRule<F> for R
where
    R: UpdateRule<F> + Debug + Send + Sync,
{
    fn rule_name(&self) -> &'static str {
        self.name()
    }
    fn rule_hyperparameters(&self) -> Hyperparameters {
        self.hyperparameter_table()
    }
    fn init_erased(&self, lens: &[usize]) -> DynState {
        DynState::live(self.name(), self.init(lens))
    }
    fn set_epoch_erased(&self, state: &mut DynState, epoch: u64) -> Result<(), UpdateError> {
        self.set_epoch(state.get_mut::<R::State>(self.name())?, epoch);
        Ok(())
    }
    fn update_erased<'a>(
        &self,
        state: &mut DynState,
        params_and_grads: &mut dyn Iterator<Item = (&'a mut [F], &'a [F])>,
    ) -> Result<(), UpdateError>
    where
        F: 'a,
    {
        self.update(state.get_mut::<R::State>(self.name())?, params_and_grads)
    }
}

/// A boxed, type-erased rule (what [`crate::Registry`] builds): `Send + Sync`, itself an
/// [`UpdateRule`] with state [`DynState`].
#[derive(Debug)]
pub struct BoxedRule<F>(Box<dyn DynRule<F>>);

impl<F: Float> BoxedRule<F> {
    /// Boxes any rule.
    pub fn new<R: UpdateRule<F> + Debug + Send + Sync + 'static>(rule: R) -> Self {
        BoxedRule(Box::new(rule))
    }

    /// The rule's name.
    pub fn name(&self) -> &'static str {
        self.0.rule_name()
    }

    /// The rule's resolved hyperparameters.
    pub fn hyperparameter_table(&self) -> Hyperparameters {
        self.0.rule_hyperparameters()
    }

    /// Creates the erased state.
    pub fn init(&self, lens: &[usize]) -> DynState {
        self.0.init_erased(lens)
    }

    /// [`UpdateRule::set_epoch`].
    ///
    /// # Errors
    /// For another rule's state, or a restored one that does not parse.
    pub fn set_epoch(&self, state: &mut DynState, epoch: u64) -> Result<(), UpdateError> {
        self.0.set_epoch_erased(state, epoch)
    }

    /// One step ([`UpdateRule::update`]); gradients may be `&[F]` or `&mut [F]` and are only read.
    ///
    /// # Errors
    /// As [`UpdateRule::update`], plus [`UpdateError::StateKind`]/[`UpdateError::Restore`].
    pub fn update<'a, I, G>(
        &self,
        state: &mut DynState,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], G)>,
        G: GradientSlice<'a, F>,
        F: 'a,
    {
        let mut pairs = params_and_grads.into_iter().map(|(w, g)| (w, g.into_gradient()));
        self.0.update_erased(state, &mut pairs)
    }
}

impl<F: Float> UpdateRule<F> for BoxedRule<F> {
    type State = DynState;

    fn name(&self) -> &'static str {
        self.0.rule_name()
    }
    fn hyperparameter_table(&self) -> Hyperparameters {
        self.0.rule_hyperparameters()
    }
    fn init(&self, lens: &[usize]) -> DynState {
        self.0.init_erased(lens)
    }
    /// Errors (a foreign state) surface at the next `update` instead.
    fn set_epoch(&self, state: &mut DynState, epoch: u64) {
        let _ = self.0.set_epoch_erased(state, epoch);
    }
    fn update<'a, I>(&self, state: &mut DynState, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let mut pairs = params_and_grads.into_iter();
        self.0.update_erased(state, &mut pairs)
    }
}

/// An object-safe [`GradientTransform`] over an erased [`DynState`]; implemented for every
/// `GradientTransform + Debug + Send + Sync`. Use it through [`BoxedTransform`].
pub trait DynTransform<F: Float>: Debug + Send + Sync {
    /// [`GradientTransform::name`].
    fn transform_name(&self) -> &'static str;
    /// [`GradientTransform::hyperparameter_table`].
    fn transform_hyperparameters(&self) -> Hyperparameters;
    /// [`GradientTransform::init`], erased.
    fn transform_init_erased(&self, lens: &[usize], rng: ChaCha8Rng) -> DynState;
    /// [`GradientTransform::set_epoch`], erased (a foreign state is reported by `begin`).
    fn transform_set_epoch_erased(&self, state: &mut DynState, epoch: u64);
    /// [`GradientTransform::begin`], erased; checks (and if restored, parses) the state.
    ///
    /// # Errors
    /// For a state that is not this transform's.
    fn begin_erased(&self, state: &mut DynState) -> Result<(), UpdateError>;
    /// [`GradientTransform::apply_tensor`], erased (does nothing on a foreign state, which
    /// `begin_erased` has already reported).
    fn apply_tensor_erased(&self, state: &mut DynState, index: usize, grad: &mut [F]);
    /// [`GradientTransform::apply_tensor_into`], erased (copies `grad` unchanged on a foreign
    /// state).
    fn apply_tensor_into_erased(
        &self,
        state: &mut DynState,
        index: usize,
        grad: &[F],
        out: &mut [F],
    );
    /// [`GradientTransform::end`], erased.
    fn end_erased(&self, state: &mut DynState);
}

impl<F: Float, T> DynTransform<F> for T
where
    T: GradientTransform<F> + Debug + Send + Sync,
{
    fn transform_name(&self) -> &'static str {
        self.name()
    }
    fn transform_hyperparameters(&self) -> Hyperparameters {
        self.hyperparameter_table()
    }
    fn transform_init_erased(&self, lens: &[usize], rng: ChaCha8Rng) -> DynState {
        DynState::live(self.name(), self.init(lens, rng))
    }
    fn transform_set_epoch_erased(&self, state: &mut DynState, epoch: u64) {
        if let Ok(s) = state.get_mut::<T::State>(self.name()) {
            self.set_epoch(s, epoch);
        }
    }
    fn begin_erased(&self, state: &mut DynState) -> Result<(), UpdateError> {
        self.begin(state.get_mut::<T::State>(self.name())?)
    }
    fn apply_tensor_erased(&self, state: &mut DynState, index: usize, grad: &mut [F]) {
        if let Ok(s) = state.get_mut::<T::State>(self.name()) {
            self.apply_tensor(s, index, grad);
        }
    }
    fn apply_tensor_into_erased(
        &self,
        state: &mut DynState,
        index: usize,
        grad: &[F],
        out: &mut [F],
    ) {
        match state.get_mut::<T::State>(self.name()) {
            Ok(s) => self.apply_tensor_into(s, index, grad, out),
            Err(_) => out.iter_mut().zip(grad).for_each(|(o, &g)| *o = g),
        }
    }
    fn end_erased(&self, state: &mut DynState) {
        if let Ok(s) = state.get_mut::<T::State>(self.name()) {
            self.end(s);
        }
    }
}

/// A boxed, type-erased transform (what [`crate::Registry`] builds from a `noise = { … }`
/// table), itself a [`GradientTransform`] with state [`DynState`].
#[derive(Debug)]
pub struct BoxedTransform<F>(Box<dyn DynTransform<F>>);

impl<F: Float> BoxedTransform<F> {
    /// Boxes any transform.
    pub fn new<T: GradientTransform<F> + Debug + Send + Sync + 'static>(transform: T) -> Self {
        BoxedTransform(Box::new(transform))
    }
}

impl<F: Float> GradientTransform<F> for BoxedTransform<F> {
    type State = DynState;

    fn name(&self) -> &'static str {
        self.0.transform_name()
    }
    fn hyperparameter_table(&self) -> Hyperparameters {
        self.0.transform_hyperparameters()
    }
    fn init(&self, lens: &[usize], rng: ChaCha8Rng) -> DynState {
        self.0.transform_init_erased(lens, rng)
    }
    fn set_epoch(&self, state: &mut DynState, epoch: u64) {
        self.0.transform_set_epoch_erased(state, epoch);
    }
    fn begin(&self, state: &mut DynState) -> Result<(), UpdateError> {
        self.0.begin_erased(state)
    }
    fn apply_tensor(&self, state: &mut DynState, index: usize, grad: &mut [F]) {
        self.0.apply_tensor_erased(state, index, grad);
    }
    fn apply_tensor_into(&self, state: &mut DynState, index: usize, grad: &[F], out: &mut [F]) {
        self.0.apply_tensor_into_erased(state, index, grad, out);
    }
    fn end(&self, state: &mut DynState) {
        self.0.end_erased(state);
    }
}
