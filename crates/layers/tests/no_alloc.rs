//! Once its buffers exist (and the thread has made its first matrix product, which sets up the
//! product kernel's per-thread packing buffer), a training step and an evaluation allocate nothing.
//!
//! One test in this binary, so no other test thread disturbs the global counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use handprop_layers::{Activation, GradSeed, Mlp, Routing};
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::Matrix;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCS.load(Ordering::SeqCst);
    let out = f();
    (out, ALLOCS.load(Ordering::SeqCst) - before)
}

fn filled(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(7, stream), m.as_mut_slice());
    m
}

#[test]
fn steady_state_steps_and_evaluations_allocate_nothing() {
    // Positive control: the counter sees allocations (a vector, and a new network's buffers), so
    // the zeros below mean "nothing allocated", not "the counter is not wired up".
    let (_, n) = count(|| std::hint::black_box(vec![0u8; 64]));
    assert!(n >= 1, "the counting allocator saw nothing");
    let (_, n) = count(|| {
        Mlp::new(&[4, 3, 2], 2, Activation::Arctan, GradSeed::Manual, Routing::Standard).unwrap()
    });
    assert!(n >= 3, "building a network allocated only {n} times");
    let widths = [20, 16, 16, 16, 16, 10];
    let batch = 8;
    let x = filled(batch, widths[0], 100);
    let mut y = Matrix::zeros(batch, 10);
    let labels: Vec<u8> = (0..batch as u8).map(|i| i % 10).collect();
    for (i, &l) in labels.iter().enumerate() {
        y.as_mut_slice()[i * 10 + l as usize] = 1.0;
    }
    // Evaluation of 2.5 batches: three chunks, the last one partial.
    let x_eval = filled(20, widths[0], 101);
    let labels_eval: Vec<u8> = (0..20u8).map(|i| i % 10).collect();
    let routings = [
        Routing::Standard,
        Routing::Sparse { p: 1000.0, d: 0.08 },
        Routing::DenseAdd { p: 1000.0, d: 0.08 },
        Routing::DenseMul { p: 1000.0, d: 0.08 },
        Routing::Hybrid { p: 500.0, d: 0.04 },
    ];
    for routing in routings {
        for seed in [GradSeed::Manual, GradSeed::Exact] {
            let mut mlp = Mlp::new(&widths, batch, Activation::Arctan, seed, routing).unwrap();
            mlp.init_normal(&mut stream_rng(1, 0));
            // The first evaluation allocates its block buffers (a positive control too).
            let (_, n) = count(|| mlp.count_correct(x_eval.view(), &labels_eval).unwrap());
            assert!(n >= 1, "the first evaluation allocated nothing: are its buffers there?");
            // Warm-up: whatever lazily initialises (CPU feature detection and the packing buffer
            // of the products) does so here.
            mlp.train_batch(x.view(), y.view(), 0).unwrap();
            mlp.count_correct(x_eval.view(), &labels_eval).unwrap();
            for epoch in 1..4 {
                let (cost, n) = count(|| mlp.train_batch(x.view(), y.view(), epoch));
                assert!(cost.unwrap().is_finite());
                assert_eq!(n, 0, "{} / {seed:?}: a step made {n} allocations", routing.name());
                let mut partial = 0;
                let (_, n) = count(|| {
                    // The optimizer's view of the parameters must not allocate either.
                    for (w, g) in mlp.params_and_grads() {
                        partial += w.len() + g.len();
                    }
                });
                assert_eq!(n, 0);
                assert!(partial > 0);
                let (correct, n) = count(|| mlp.count_correct(x_eval.view(), &labels_eval));
                assert!(correct.unwrap() <= 20);
                assert_eq!(n, 0, "{}: evaluation made {n} allocations", routing.name());
            }
        }
    }
}
