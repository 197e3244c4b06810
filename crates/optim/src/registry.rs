//! Rules and transforms by name: a [`Registry`] maps a name to a constructor from a TOML table.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::dynamic::{BoxedRule, BoxedTransform};
use crate::rule::{chain, GradientTransform, UpdateRule};
use crate::{
    AdadeltaConfig, AdagradConfig, AdagradDaConfig, AdamConfig, Float, FtrlConfig,
    GradientDescentConfig, HyperError, HyperPrecision, LayerAdamConfig, MomentumConfig,
    NoiseConfig, ProximalAdagradConfig, ProximalGradientDescentConfig, RmsPropConfig, SgdConfig,
};

/// The table type constructors read: a TOML table, as the runner's case tables hold it
/// (`update = { rule = "adam", beta1 = 0.9 }`). Values are plain TOML; the runner substitutes
/// `"eta"` before building.
pub use toml::Table;

/// The key naming the rule in an update table.
pub const RULE_KEY: &str = "rule";
/// The key naming the transform in a transform table.
pub const TRANSFORM_KEY: &str = "transform";
/// The transform a table without [`TRANSFORM_KEY`] builds (the study's `noise = { form = … }`).
pub const DEFAULT_TRANSFORM: &str = "gradient_noise";

/// Why a table did not build.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BuildError {
    /// The table has no string naming the rule or transform.
    #[error("the {kind} table needs `{key} = \"<name>\"`; registered: {}", known.join(", "))]
    MissingName {
        /// `"rule"` or `"transform"`.
        kind: &'static str,
        /// The key looked for.
        key: &'static str,
        /// The registered names.
        known: Vec<String>,
    },
    /// No rule or transform is registered under the name.
    #[error("unknown {kind} `{name}`; registered: {}", known.join(", "))]
    Unknown {
        /// `"rule"` or `"transform"`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The registered names, sorted.
        known: Vec<String>,
    },
    /// A field of the table is unknown, missing, or of the wrong type.
    #[error("{name}: {}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Field {
        /// The rule or transform being built.
        name: String,
        /// The offending field, when it can be told.
        field: Option<String>,
        /// serde's message.
        message: String,
    },
    /// A value is out of range ([`HyperError`] names the field and value).
    #[error(transparent)]
    Hyper(#[from] HyperError),
    /// `register_*` was given a name already taken.
    #[error("a {kind} named `{name}` is already registered")]
    Duplicate {
        /// `"rule"` or `"transform"`.
        kind: &'static str,
        /// The name.
        name: String,
    },
}

/// Deserialises a constructor's config type from its table, with errors naming the field: for an
/// unknown or missing field serde's message names it; for a mistyped value, the field is found by
/// deserialising each entry alone. Use `#[serde(deny_unknown_fields)]` on the config type.
///
/// # Errors
/// [`BuildError::Field`].
pub fn parse_table<C: DeserializeOwned>(name: &str, table: &Table) -> Result<C, BuildError> {
    C::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let message = e.message().to_string();
        let named = message.starts_with("unknown field") || message.starts_with("missing field");
        let field = if named { backticked(&message) } else { culprit::<C>(table) };
        BuildError::Field { name: name.to_string(), field, message }
    })
}

/// The first `` `…` `` in a serde message.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// The entry that fails on its own with an error other than a missing field.
fn culprit<C: DeserializeOwned>(table: &Table) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let mut one = Table::new();
        one.insert(key.clone(), value.clone());
        match C::deserialize(toml::Value::Table(one)) {
            Err(e) if !e.message().starts_with("missing field") => Some(key.clone()),
            _ => None,
        }
    })
}

type RuleConstructor<F> = dyn Fn(&Table) -> Result<BoxedRule<F>, BuildError> + Send + Sync;
type TransformConstructor<F> =
    dyn Fn(&Table) -> Result<BoxedTransform<F>, BuildError> + Send + Sync;

/// Rules and transforms by name, each built from its table by a registered constructor.
///
/// [`Registry::tf1`] (also [`Default`]) holds the study's rules — TF1's ten and `sgd`,
/// `layer_adam` — under their snake-case names (`rms_prop` also as `rmsprop`), and the
/// `gradient_noise` transform. `Send + Sync`, and cheap to clone (constructors are shared), so
/// parallel workers can build from one registry.
pub struct Registry<F> {
    rules: BTreeMap<String, Arc<RuleConstructor<F>>>,
    transforms: BTreeMap<String, Arc<TransformConstructor<F>>>,
}

impl<F> Clone for Registry<F> {
    fn clone(&self) -> Self {
        Registry { rules: self.rules.clone(), transforms: self.transforms.clone() }
    }
}

impl<F> Debug for Registry<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("rules", &self.rules.keys().collect::<Vec<_>>())
            .field("transforms", &self.transforms.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<F: Float> Default for Registry<F> {
    fn default() -> Self {
        Self::tf1()
    }
}

impl<F: Float> Registry<F> {
    /// No rules, no transforms.
    pub fn empty() -> Self {
        Registry { rules: BTreeMap::new(), transforms: BTreeMap::new() }
    }

    /// The study's rules and transform, TF1 hyperparameters as with Python floats
    /// ([`HyperPrecision::PythonFloat`], what [`crate::RuleConfig::build`] does).
    pub fn tf1() -> Self {
        Self::with_precision(HyperPrecision::PythonFloat)
    }

    /// The study's rules and transform with the given hyperparameter precision for the TF1 rules.
    pub fn with_precision(precision: HyperPrecision) -> Self {
        let p = precision;
        let mut r = Self::empty();
        r.insert_rule("gradient_descent", move |t| {
            Ok(parse_table::<GradientDescentConfig>("gradient_descent", t)?.build::<F>(p)?)
        });
        r.insert_rule("adadelta", move |t| {
            Ok(parse_table::<AdadeltaConfig>("adadelta", t)?.build(p)?)
        });
        r.insert_rule(
            "adagrad",
            move |t| Ok(parse_table::<AdagradConfig>("adagrad", t)?.build(p)?),
        );
        r.insert_rule("adagrad_da", move |t| {
            Ok(parse_table::<AdagradDaConfig>("adagrad_da", t)?.build(p)?)
        });
        r.insert_rule("momentum", move |t| {
            Ok(parse_table::<MomentumConfig>("momentum", t)?.build(p)?)
        });
        r.insert_rule("adam", move |t| Ok(parse_table::<AdamConfig>("adam", t)?.build(p)?));
        r.insert_rule("ftrl", move |t| Ok(parse_table::<FtrlConfig>("ftrl", t)?.build(p)?));
        r.insert_rule("proximal_gradient_descent", |t| {
            Ok(parse_table::<ProximalGradientDescentConfig>("proximal_gradient_descent", t)?
                .build()?)
        });
        r.insert_rule("proximal_adagrad", |t| {
            Ok(parse_table::<ProximalAdagradConfig>("proximal_adagrad", t)?.build()?)
        });
        for name in ["rms_prop", "rmsprop"] {
            r.insert_rule(name, move |t| Ok(parse_table::<RmsPropConfig>(name, t)?.build(p)?));
        }
        r.insert_rule("sgd", |t| Ok(parse_table::<SgdConfig>("sgd", t)?.build_sgd()?));
        r.insert_rule("layer_adam", |t| {
            Ok(parse_table::<LayerAdamConfig>("layer_adam", t)?.build()?)
        });
        r.insert_transform(DEFAULT_TRANSFORM, |t| {
            Ok(parse_table::<NoiseConfig>(DEFAULT_TRANSFORM, t)?.build()?)
        });
        r
    }

    fn insert_rule<R, C>(&mut self, name: &str, constructor: C)
    where
        R: UpdateRule<F> + Debug + Send + Sync + 'static,
        C: Fn(&Table) -> Result<R, BuildError> + Send + Sync + 'static,
    {
        let boxed: Arc<RuleConstructor<F>> =
            Arc::new(move |t: &Table| Ok(BoxedRule::new(constructor(t)?)));
        self.rules.insert(name.to_string(), boxed);
    }

    fn insert_transform<T, C>(&mut self, name: &str, constructor: C)
    where
        T: GradientTransform<F> + Debug + Send + Sync + 'static,
        C: Fn(&Table) -> Result<T, BuildError> + Send + Sync + 'static,
    {
        let boxed: Arc<TransformConstructor<F>> =
            Arc::new(move |t: &Table| Ok(BoxedTransform::new(constructor(t)?)));
        self.transforms.insert(name.to_string(), boxed);
    }

    /// Registers a rule: `constructor` receives the table without its `rule` key (use
    /// [`parse_table`] on a `#[serde(deny_unknown_fields)]` config type) and returns the built,
    /// validated rule.
    ///
    /// # Errors
    /// [`BuildError::Duplicate`] if the name is taken (the registry is unchanged).
    pub fn register_rule<R, C>(
        &mut self,
        name: &str,
        constructor: C,
    ) -> Result<&mut Self, BuildError>
    where
        R: UpdateRule<F> + Debug + Send + Sync + 'static,
        C: Fn(&Table) -> Result<R, BuildError> + Send + Sync + 'static,
    {
        if self.rules.contains_key(name) {
            return Err(BuildError::Duplicate { kind: "rule", name: name.to_string() });
        }
        self.insert_rule(name, constructor);
        Ok(self)
    }

    /// Registers a transform, as [`Self::register_rule`] (its table's key is `transform`).
    ///
    /// # Errors
    /// [`BuildError::Duplicate`] if the name is taken.
    pub fn register_transform<T, C>(
        &mut self,
        name: &str,
        constructor: C,
    ) -> Result<&mut Self, BuildError>
    where
        T: GradientTransform<F> + Debug + Send + Sync + 'static,
        C: Fn(&Table) -> Result<T, BuildError> + Send + Sync + 'static,
    {
        if self.transforms.contains_key(name) {
            return Err(BuildError::Duplicate { kind: "transform", name: name.to_string() });
        }
        self.insert_transform(name, constructor);
        Ok(self)
    }

    /// The registered rule names, sorted.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.keys().map(String::as_str).collect()
    }

    /// The registered transform names, sorted.
    pub fn transform_names(&self) -> Vec<&str> {
        self.transforms.keys().map(String::as_str).collect()
    }

    /// Builds the rule a table names with `rule = "<name>"` from the table's other fields.
    ///
    /// # Errors
    /// [`BuildError::MissingName`] without a `rule` string, [`BuildError::Unknown`] for an
    /// unregistered name (listing the registered ones), and whatever the constructor reports
    /// ([`BuildError::Field`], [`BuildError::Hyper`]).
    pub fn build_rule(&self, table: &Table) -> Result<BoxedRule<F>, BuildError> {
        let (name, fields) = split(table, RULE_KEY, None).ok_or_else(|| {
            BuildError::MissingName { kind: "rule", key: RULE_KEY, known: names(&self.rules) }
        })?;
        self.build_rule_named(&name, &fields)
    }

    /// Builds rule `name` from `fields` (a table without the `rule` key).
    ///
    /// # Errors
    /// As [`Self::build_rule`].
    pub fn build_rule_named(&self, name: &str, fields: &Table) -> Result<BoxedRule<F>, BuildError> {
        let constructor = self.rules.get(name).ok_or_else(|| BuildError::Unknown {
            kind: "rule",
            name: name.to_string(),
            known: names(&self.rules),
        })?;
        constructor(fields)
    }

    /// Builds the transform a table names with `transform = "<name>"`; a table without that key
    /// builds [`DEFAULT_TRANSFORM`] (so the study's `noise = { form = "scalar" }` works as is).
    ///
    /// # Errors
    /// As [`Self::build_rule`], for transforms.
    pub fn build_transform(&self, table: &Table) -> Result<BoxedTransform<F>, BuildError> {
        let (name, fields) =
            split(table, TRANSFORM_KEY, Some(DEFAULT_TRANSFORM)).ok_or_else(|| {
                BuildError::MissingName {
                    kind: "transform",
                    key: TRANSFORM_KEY,
                    known: names(&self.transforms),
                }
            })?;
        self.build_transform_named(&name, &fields)
    }

    /// Builds transform `name` from `fields` (a table without the `transform` key).
    ///
    /// # Errors
    /// As [`Self::build_transform`].
    pub fn build_transform_named(
        &self,
        name: &str,
        fields: &Table,
    ) -> Result<BoxedTransform<F>, BuildError> {
        let constructor = self.transforms.get(name).ok_or_else(|| BuildError::Unknown {
            kind: "transform",
            name: name.to_string(),
            known: names(&self.transforms),
        })?;
        constructor(fields)
    }

    /// A case's update: the rule of `update`, preceded by the transform of `transform` if given
    /// (`chain(transform, rule, rng)`; `rng` seeds the transform's state at `init`).
    ///
    /// # Errors
    /// As [`Self::build_rule`] and [`Self::build_transform`].
    pub fn build_case(
        &self,
        update: &Table,
        transform: Option<&Table>,
        rng: ChaCha8Rng,
    ) -> Result<BoxedRule<F>, BuildError> {
        let rule = self.build_rule(update)?;
        Ok(match transform {
            Some(table) => BoxedRule::new(chain(self.build_transform(table)?, rule, rng)),
            None => rule,
        })
    }
}

fn names<V>(map: &BTreeMap<String, V>) -> Vec<String> {
    map.keys().cloned().collect()
}

/// The name under `key` (or `default` when absent) and the remaining fields; `None` when the
/// key is absent without default, or not a string.
fn split(table: &Table, key: &str, default: Option<&str>) -> Option<(String, Table)> {
    let name = match table.get(key) {
        Some(value) => value.as_str()?.to_string(),
        None => default?.to_string(),
    };
    let mut fields = table.clone();
    fields.remove(key);
    Some((name, fields))
}
