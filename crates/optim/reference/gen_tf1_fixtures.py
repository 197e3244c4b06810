#!/usr/bin/env python3
"""Generates the TF1 optimizer golden traces used by `crates/optim/tests/tf1_parity.rs`.

Runs each `tf.compat.v1.train.<Name>Optimizer` (TF1's own classes) eagerly on resource
variables for STEPS `apply_gradients` calls and records every parameter value after every step,
bit for bit (hex of the IEEE bits, so no decimal round trip can lose precision).

Usage (from the repository root, with `pip install tensorflow-cpu numpy`):

    python3 crates/optim/reference/gen_tf1_fixtures.py crates/optim/tests/fixtures

Hyperparameter precision (tf1-optimizers.md section 0): "python_float" cases pass Python floats,
which TF turns into float32 tensors and casts to the variable dtype, so float64 variables see
float32-rounded values and Adam's beta powers are float32 variables. "exact" cases pass numpy
scalars of the variable's dtype (the only way ProximalGradientDescent / ProximalAdagrad run on
float64 variables). Each case records, in `kernel_hyper`, the values the kernel actually received,
read back from the optimizer's own prepared tensors and cast to the variable dtype exactly as
`_apply_dense` does, in the order of the Rust rule's `hyperparameters()` tuple.
"""

import json
import os
import platform
import sys

import numpy as np
import tensorflow as tf

LENS = [8, 16]
STEPS = 20
SEED = 20180312
DTYPES = {"float32": np.float32, "float64": np.float64}


def hexbits(a, dtype):
    """Concatenated big-endian hex of each element's IEEE bits."""
    a = np.asarray(a, dtype=dtype).ravel()
    if dtype == np.float32:
        return "".join("%08x" % b for b in a.view(np.uint32))
    return "".join("%016x" % b for b in a.view(np.uint64))


def make_inputs():
    """Initial parameters and a gradient sequence with zeros, large values and sign changes."""
    rng = np.random.default_rng(SEED)
    init = [rng.normal(0.0, 1.0, n) for n in LENS]
    init[0][3] = 0.0  # an exact zero parameter
    grads = []
    for step in range(STEPS):
        gs = []
        for t, n in enumerate(LENS):
            g = rng.normal(0.0, 1.0, n)
            g[0] = 0.0  # always-zero gradient
            if step == 0:
                g[1] = 0.0  # zero at step 1 only (Ftrl with iav = 0: zero denominator)
            g[2] = (-1.0) ** step * 3.0  # alternating sign every step
            g[3] = 1e3 * (1.0 if step % 3 else -1.0)  # large, changing sign
            g[4] = 1e-6 * rng.normal()  # tiny
            if t == 1:
                g[5] = -5e2 if step < STEPS // 2 else 5e2  # large, flips once
                g[6] = (-1.0) ** (step // 4) * 0.02  # sign change every 4 steps
                g[7:] *= 0.1 * (1 + step % 5)
            gs.append(g)
        grads.append(gs)
    return init, grads


def cast_like_tf(value, dtype):
    """A Python float converted as TF1's `_prepare` + `math_ops.cast` do."""
    return tf.cast(tf.convert_to_tensor(value), dtype).numpy()


def read(t, dtype):
    """A prepared hyperparameter tensor cast to the variable dtype, as `_apply_dense` does."""
    return tf.cast(t, dtype).numpy()


def build(opt_name, kw, dtype, precision):
    """Returns (optimizer, extra apply kwargs, fn(opt) -> kernel hyper list, global_step or None)."""
    np_dt = DTYPES[dtype]
    tf_dt = tf.float32 if dtype == "float32" else tf.float64

    def p(v):
        # Python floats for "python_float" (TF makes float32 tensors); dtype scalars for "exact".
        return float(v) if precision == "python_float" else np_dt(v)

    tr = tf.compat.v1.train
    gs = None
    extra = {}
    if opt_name == "gradient_descent":
        opt = tr.GradientDescentOptimizer(p(kw["learning_rate"]))
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt)]
    elif opt_name == "adadelta":
        opt = tr.AdadeltaOptimizer(p(kw["learning_rate"]), p(kw["rho"]), p(kw["epsilon"]))
        hyper = lambda o: [read(o._lr_t, tf_dt), read(o._rho_t, tf_dt), read(o._epsilon_t, tf_dt)]
    elif opt_name == "adagrad":
        opt = tr.AdagradOptimizer(p(kw["learning_rate"]), kw["initial_accumulator_value"])
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt), np_dt(kw["initial_accumulator_value"])]
    elif opt_name == "adagrad_da":
        gs = tf.Variable(0, dtype=tf.int64)
        opt = tr.AdagradDAOptimizer(
            p(kw["learning_rate"]), gs,
            initial_gradient_squared_accumulator_value=kw["initial_gradient_squared_accumulator_value"],
            l1_regularization_strength=p(kw["l1_regularization_strength"]),
            l2_regularization_strength=p(kw["l2_regularization_strength"]))
        if kw["advance_global_step"]:
            extra = {"global_step": gs}
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt),
                           np_dt(kw["initial_gradient_squared_accumulator_value"]),
                           tf.cast(o._l1_regularization_strength, tf_dt).numpy(),
                           tf.cast(o._l2_regularization_strength, tf_dt).numpy()]
    elif opt_name == "momentum":
        opt = tr.MomentumOptimizer(p(kw["learning_rate"]), p(kw["momentum"]),
                                   use_nesterov=kw["use_nesterov"])
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt), read(o._momentum_tensor, tf_dt)]
    elif opt_name == "adam":
        opt = tr.AdamOptimizer(p(kw["learning_rate"]), p(kw["beta1"]), p(kw["beta2"]), p(kw["epsilon"]))
        hyper = lambda o: [read(o._lr_t, tf_dt), read(o._beta1_t, tf_dt), read(o._beta2_t, tf_dt),
                           read(o._epsilon_t, tf_dt)]
    elif opt_name == "ftrl":
        opt = tr.FtrlOptimizer(
            p(kw["learning_rate"]), learning_rate_power=p(kw["learning_rate_power"]),
            initial_accumulator_value=kw["initial_accumulator_value"],
            l1_regularization_strength=p(kw["l1_regularization_strength"]),
            l2_regularization_strength=p(kw["l2_regularization_strength"]),
            l2_shrinkage_regularization_strength=p(kw["l2_shrinkage_regularization_strength"]))
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt), read(o._learning_rate_power_tensor, tf_dt),
                           np_dt(kw["initial_accumulator_value"]),
                           read(o._l1_regularization_strength_tensor, tf_dt),
                           read(o._adjusted_l2_regularization_strength_tensor, tf_dt),
                           read(o._l2_shrinkage_regularization_strength_tensor, tf_dt)]
    elif opt_name == "proximal_gradient_descent":
        opt = tr.ProximalGradientDescentOptimizer(
            p(kw["learning_rate"]), l1_regularization_strength=p(kw["l1_regularization_strength"]),
            l2_regularization_strength=p(kw["l2_regularization_strength"]))
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt),
                           read(o._l1_regularization_strength_tensor, tf_dt),
                           read(o._l2_regularization_strength_tensor, tf_dt)]
    elif opt_name == "proximal_adagrad":
        opt = tr.ProximalAdagradOptimizer(
            p(kw["learning_rate"]), initial_accumulator_value=kw["initial_accumulator_value"],
            l1_regularization_strength=p(kw["l1_regularization_strength"]),
            l2_regularization_strength=p(kw["l2_regularization_strength"]))
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt), np_dt(kw["initial_accumulator_value"]),
                           read(o._l1_regularization_strength_tensor, tf_dt),
                           read(o._l2_regularization_strength_tensor, tf_dt)]
    elif opt_name == "rms_prop":
        opt = tr.RMSPropOptimizer(p(kw["learning_rate"]), decay=p(kw["decay"]), momentum=p(kw["momentum"]),
                                  epsilon=p(kw["epsilon"]), centered=kw["centered"])
        hyper = lambda o: [read(o._learning_rate_tensor, tf_dt), read(o._decay_tensor, tf_dt),
                           read(o._momentum_tensor, tf_dt), read(o._epsilon_tensor, tf_dt)]
    else:
        raise ValueError(opt_name)
    return opt, extra, hyper


# TF1 defaults, as the Rust RuleConfig's serde defaults (the JSON `config` is fed to RuleConfig).
DEFAULTS = {
    "gradient_descent": {},
    "adadelta": {"rho": 0.95, "epsilon": 1e-8},
    "adagrad": {"initial_accumulator_value": 0.1},
    "adagrad_da": {"initial_gradient_squared_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
                   "l2_regularization_strength": 0.0, "advance_global_step": False},
    "momentum": {"use_nesterov": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "ftrl": {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
             "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0},
    "proximal_gradient_descent": {"l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0},
    "proximal_adagrad": {"initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
                         "l2_regularization_strength": 0.0},
    "rms_prop": {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10, "centered": False},
}

# Per optimizer: (case label, overrides). Every optimizer also gets "default" at lr 0.001 and 0.0025.
BRANCHES = {
    "gradient_descent": [],
    "adadelta": [("lr1", {"learning_rate": 1.0})],
    "adagrad": [("lr0.1_iav0.5", {"learning_rate": 0.1, "initial_accumulator_value": 0.5})],
    "adagrad_da": [
        ("l1", {"learning_rate": 0.05, "l1_regularization_strength": 0.01}),
        ("l2", {"learning_rate": 0.05, "l2_regularization_strength": 0.02}),
        ("l1_l2_advance", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
                           "l2_regularization_strength": 0.02, "advance_global_step": True}),
        ("advance", {"learning_rate": 0.05, "advance_global_step": True}),
    ],
    "momentum": [
        ("case11", {"momentum": "lr"}),
        ("mu0.9", {"learning_rate": 0.01, "momentum": 0.9}),
        ("nesterov", {"learning_rate": 0.01, "momentum": 0.9, "use_nesterov": True}),
    ],
    "adam": [("lr0.05_b0.8_0.99", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6})],
    "ftrl": [
        ("l1", {"learning_rate": 0.05, "l1_regularization_strength": 0.01}),
        ("l2", {"learning_rate": 0.05, "l2_regularization_strength": 0.02}),
        ("shrinkage", {"learning_rate": 0.05, "l2_shrinkage_regularization_strength": 0.03}),
        ("l1_l2_shrinkage", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
                             "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03}),
        ("power-0.3", {"learning_rate": 0.05, "learning_rate_power": -0.3}),
        ("power0", {"learning_rate": 0.05, "learning_rate_power": 0.0}),
        ("iav0", {"learning_rate": 0.05, "initial_accumulator_value": 0.0}),
    ],
    "proximal_gradient_descent": [
        ("l1", {"learning_rate": 0.01, "l1_regularization_strength": 0.05}),
        ("l2", {"learning_rate": 0.01, "l2_regularization_strength": 0.5}),
        ("l1_l2", {"learning_rate": 0.01, "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.5}),
    ],
    "proximal_adagrad": [
        ("l1", {"learning_rate": 0.1, "l1_regularization_strength": 0.05}),
        ("l2", {"learning_rate": 0.1, "l2_regularization_strength": 0.5}),
        ("l1_l2", {"learning_rate": 0.1, "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.5}),
    ],
    "rms_prop": [
        ("momentum", {"learning_rate": 0.01, "momentum": 0.9}),
        ("centered", {"learning_rate": 0.01, "centered": True}),
        ("centered_momentum", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
    ],
}

# Python floats cannot reach these with float64 variables (TF raises), so they use "exact" there.
NEVER_CAST = {"proximal_gradient_descent", "proximal_adagrad"}


def run_case(opt_name, kw, dtype, precision, init, grads):
    np_dt = DTYPES[dtype]
    tf_dt = tf.float32 if dtype == "float32" else tf.float64
    opt, extra, hyper = build(opt_name, kw, dtype, precision)
    vars_ = [tf.Variable(np.asarray(w, dtype=np_dt), dtype=tf_dt) for w in init]
    params = []
    for step in range(STEPS):
        gs = [tf.constant(np.asarray(g, dtype=np_dt), dtype=tf_dt) for g in grads[step]]
        opt.apply_gradients(list(zip(gs, vars_)), **extra)
        params.append([hexbits(v.numpy(), np_dt) for v in vars_])
    case = {
        "kernel_hyper": [hexbits(h, np_dt) for h in hyper(opt)],
        "params": params,
    }
    if opt_name == "adam":
        b1p, b2p = opt._get_beta_accumulators()
        case["beta_power_dtype"] = b1p.dtype.name
        case["final_beta_powers"] = [float(b1p.numpy()), float(b2p.numpy())]
    return case


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    init64, grads64 = make_inputs()
    inputs = {
        "generator": "crates/optim/reference/gen_tf1_fixtures.py",
        "lens": LENS,
        "steps": STEPS,
        "init": {d: [hexbits(w, t) for w in init64] for d, t in DTYPES.items()},
        "grads": {d: [[hexbits(g, t) for g in step] for step in grads64] for d, t in DTYPES.items()},
    }
    with open(os.path.join(out_dir, "tf1_inputs.json"), "w") as f:
        json.dump(inputs, f, indent=1)
    for opt_name in DEFAULTS:
        cases = []
        plan = [(f"default_lr{lr}", {"learning_rate": lr}) for lr in (0.001, 0.0025)] + BRANCHES[opt_name]
        if opt_name == "momentum":
            # Momentum has no default momentum; the study's case 11 passes momentum = learning rate.
            plan = [(f"case11_lr{lr}", {"learning_rate": lr, "momentum": "lr"}) for lr in (0.001, 0.0025)] \
                + BRANCHES[opt_name][1:]
        for label, over in plan:
            kw = dict(DEFAULTS[opt_name])
            kw.update(over)
            if kw.get("momentum") == "lr":
                kw["momentum"] = kw["learning_rate"]
            for dtype in DTYPES:
                precisions = ["python_float"]
                if dtype == "float64":
                    precisions = ["exact"] if opt_name in NEVER_CAST else ["python_float", "exact"]
                    if not label.startswith("default") and not label.startswith("case11"):
                        precisions = precisions[:1]
                for precision in precisions:
                    # Each dtype's inputs are the float64 ones rounded once to that dtype.
                    init = [np.asarray(w, DTYPES[dtype]) for w in init64]
                    grads = [[np.asarray(g, DTYPES[dtype]) for g in s] for s in grads64]
                    case = run_case(opt_name, kw, dtype, precision, init, grads)
                    config = {"rule": opt_name}
                    config.update(kw)
                    cases.append({"name": f"{opt_name}/{label}/{dtype}/{precision}", "dtype": dtype,
                                  "precision": precision, "config": config, **case})
                    print(cases[-1]["name"], file=sys.stderr)
        doc = {
            "generator": "crates/optim/reference/gen_tf1_fixtures.py",
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cases": cases,
        }
        # One case per line keeps the files small and the diffs readable.
        head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, indent=1)[:-2]
        body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
        with open(os.path.join(out_dir, f"tf1_{opt_name}.json"), "w") as f:
            f.write(head + ',\n "cases": [\n' + body + "\n]}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "crates/optim/tests/fixtures")
