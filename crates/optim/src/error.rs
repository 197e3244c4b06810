//! Typed errors: invalid hyperparameters and mismatched update inputs.

use thiserror::Error;

/// A hyperparameter that TensorFlow would reject (or that is meaningless, such as a
/// non-finite or non-positive learning rate).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{rule}: {field} = {value} is invalid: it must be {requirement}")]
pub struct HyperError {
    /// The rule being built, e.g. `"Adagrad"`.
    pub rule: &'static str,
    /// The hyperparameter's name as in TF1's constructor, e.g. `"initial_accumulator_value"`.
    pub field: &'static str,
    /// The rejected value (widened to `f64`).
    pub value: f64,
    /// What the value must satisfy, in words, e.g. `"> 0 and finite"`.
    pub requirement: &'static str,
}

/// Inputs to an `update`/`apply` call that do not match the state they are applied to.
///
/// The check for tensor `i` runs before tensor `i` is touched, but tensors before it have
/// already been updated, and per-optimizer scalars (Adam's beta powers, AdagradDA's step) are
/// not advanced; treat the error as fatal for the training run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpdateError {
    /// A parameter tensor and its gradient have different lengths.
    #[error(
        "{rule}: tensor {index} has {params} parameters but its gradient has {grads} elements"
    )]
    GradientLength {
        /// The rule.
        rule: &'static str,
        /// Index of the tensor in the iteration order.
        index: usize,
        /// Length of the parameter slice.
        params: usize,
        /// Length of the gradient slice.
        grads: usize,
    },
    /// A parameter tensor's length differs from the one its state was initialised with.
    #[error(
        "{rule}: tensor {index} has {params} parameters but the state was initialised for {state}"
    )]
    StateLength {
        /// The rule.
        rule: &'static str,
        /// Index of the tensor in the iteration order.
        index: usize,
        /// Length of the parameter slice.
        params: usize,
        /// Length recorded by `init`.
        state: usize,
    },
    /// The call supplied a different number of tensors than `init` was given.
    #[error(
        "{rule}: the update supplied {got} tensors but the state was initialised for {expected}"
    )]
    TensorCount {
        /// The rule.
        rule: &'static str,
        /// Tensors supplied (a lower bound when too many were supplied).
        got: usize,
        /// Tensors recorded by `init`.
        expected: usize,
    },
    /// A [`crate::Rule`] or [`crate::BoxedRule`] was given the state of a different rule.
    #[error("rule {rule} was given a state created by {state}")]
    StateKind {
        /// The rule's name.
        rule: &'static str,
        /// The name of the rule that created the state.
        state: &'static str,
    },
    /// A deserialised [`crate::DynState`] does not parse as the rule's own state type.
    #[error("rule {rule} cannot use the restored state: {message}")]
    Restore {
        /// The rule's name.
        rule: &'static str,
        /// What did not fit (serde's message names the field).
        message: String,
    },
}

/// Validation helpers shared by the rules' constructors.
pub(crate) mod check {
    use super::HyperError;

    fn err(
        rule: &'static str,
        field: &'static str,
        value: f64,
        requirement: &'static str,
    ) -> HyperError {
        HyperError { rule, field, value, requirement }
    }

    /// `value > 0` and finite.
    pub fn positive(rule: &'static str, field: &'static str, value: f64) -> Result<(), HyperError> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(err(rule, field, value, "> 0 and finite"))
        }
    }

    /// `value >= 0` and finite.
    pub fn non_negative(
        rule: &'static str,
        field: &'static str,
        value: f64,
    ) -> Result<(), HyperError> {
        if value.is_finite() && value >= 0.0 {
            Ok(())
        } else {
            Err(err(rule, field, value, ">= 0 and finite"))
        }
    }

    /// `0 <= value < 1`.
    pub fn unit(rule: &'static str, field: &'static str, value: f64) -> Result<(), HyperError> {
        if (0.0..1.0).contains(&value) {
            Ok(())
        } else {
            Err(err(rule, field, value, "in [0, 1)"))
        }
    }

    /// `value <= 0` and finite (Ftrl's learning_rate_power).
    pub fn non_positive(
        rule: &'static str,
        field: &'static str,
        value: f64,
    ) -> Result<(), HyperError> {
        if value.is_finite() && value <= 0.0 {
            Ok(())
        } else {
            Err(err(rule, field, value, "<= 0 and finite"))
        }
    }
}

/// Per-tensor length checks shared by every rule's `update`.
pub(crate) mod shape {
    use super::UpdateError;

    /// Checks tensor `index` against the lengths recorded at `init`.
    #[inline]
    pub fn check(
        rule: &'static str,
        lens: &[usize],
        index: usize,
        params: usize,
        grads: usize,
    ) -> Result<(), UpdateError> {
        let Some(&state) = lens.get(index) else {
            return Err(UpdateError::TensorCount { rule, got: index + 1, expected: lens.len() });
        };
        if params != grads {
            return Err(UpdateError::GradientLength { rule, index, params, grads });
        }
        if params != state {
            return Err(UpdateError::StateLength { rule, index, params, state });
        }
        Ok(())
    }

    /// The error for a tensor beyond the ones the state was initialised for.
    #[inline]
    pub fn missing(rule: &'static str, index: usize, expected: usize) -> UpdateError {
        UpdateError::TensorCount { rule, got: index + 1, expected }
    }

    /// Checks tensor `index` of a stateful rule: the gradient and every slot must match the
    /// parameter length.
    #[inline]
    pub fn slots(
        rule: &'static str,
        index: usize,
        params: usize,
        grads: usize,
        slots: &[usize],
    ) -> Result<(), UpdateError> {
        if params != grads {
            return Err(UpdateError::GradientLength { rule, index, params, grads });
        }
        if let Some(&state) = slots.iter().find(|&&s| s != params) {
            return Err(UpdateError::StateLength { rule, index, params, state });
        }
        Ok(())
    }

    /// Checks that exactly `expected` tensors were supplied.
    #[inline]
    pub fn count(rule: &'static str, expected: usize, got: usize) -> Result<(), UpdateError> {
        if got == expected {
            Ok(())
        } else {
            Err(UpdateError::TensorCount { rule, got, expected })
        }
    }
}
