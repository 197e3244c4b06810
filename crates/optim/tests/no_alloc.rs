//! Every rule's `update` (and the noise transform) is allocation-free per step, through the
//! enum dispatch, through the registry's type-erased rules and through `chain`: a counting
//! global allocator sees no allocation on this thread across repeated steps.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use handprop_optim::{GradientNoise, NoiseForm, Registry, Rule, RuleState, Table};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

struct Counting;

thread_local! {
    // Const-initialised, so reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a thread-local Cell.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn updates_and_noise_do_not_allocate() {
    let lens = [64, 33, 7];
    let mut w: Vec<Vec<f32>> = lens.iter().map(|&n| vec![0.5; n]).collect();
    let mut g: Vec<Vec<f32>> = common::grads_at(0, &lens)
        .into_iter()
        .map(|g| g.into_iter().map(|x| x as f32).collect())
        .collect();
    let rules: Vec<Rule<f32>> =
        common::all_rule_configs().iter().map(|c| c.build().unwrap()).collect();
    let mut states: Vec<RuleState<f32>> = rules.iter().map(|r| r.init(&lens)).collect();
    let noises = [
        GradientNoise::study(),
        GradientNoise::new(NoiseForm::Paper { eta: 0.001, gamma: 0.55 }).unwrap(),
    ];
    let mut noise_states: Vec<_> =
        noises.iter().map(|n| n.init(ChaCha8Rng::seed_from_u64(1))).collect();
    // The same rules built by name, each also behind both noise forms (`chain`).
    let registry = Registry::<f32>::tf1();
    let mut boxed = Vec::new();
    for config in common::all_rule_configs() {
        let update = Table::try_from(&config).unwrap();
        boxed.push(registry.build_case(&update, None, ChaCha8Rng::seed_from_u64(2)).unwrap());
        for form in ["form = \"scalar\"", "form = \"paper\""] {
            let noise: Table = toml::from_str(form).unwrap();
            let rng = ChaCha8Rng::seed_from_u64(3);
            boxed.push(registry.build_case(&update, Some(&noise), rng).unwrap());
        }
    }
    let mut boxed_states: Vec<_> = boxed.iter().map(|r| r.init(&lens)).collect();

    let before = allocations();
    for step in 0..10 {
        for (noise, state) in noises.iter().zip(noise_states.iter_mut()) {
            noise.apply(state, step, g.iter_mut().map(|g| &mut g[..]));
        }
        for (rule, state) in rules.iter().zip(states.iter_mut()) {
            rule.update(
                state,
                w.iter_mut().map(|w| &mut w[..]).zip(g.iter_mut().map(|g| &mut g[..])),
            )
            .unwrap();
        }
        for (rule, state) in boxed.iter().zip(boxed_states.iter_mut()) {
            rule.set_epoch(state, step).unwrap();
            rule.update(state, w.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])))
                .unwrap();
        }
    }
    let during = allocations() - before;
    let total = rules.len() + boxed.len();
    assert_eq!(during, 0, "{during} allocations in 10 steps of {total} rules");
    assert_eq!(boxed.len(), 3 * rules.len());
    // The counter works: a Vec allocates.
    let v = vec![1u8; 16];
    assert!(allocations() > before, "{v:?}");
}
