//! Once a thread has made its first product, `gemm_nn`, `gemm_tn` and `gemm_nt` allocate nothing.
//!
//! A counting global allocator counts every allocation of the process, so this binary holds exactly
//! one test: no other test thread can disturb the counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::{gemm_nn, gemm_nt, gemm_tn, Accum, Matrix};

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

fn filled(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(5, stream), m.as_mut_slice());
    m
}

/// The operands and outputs of the three products for one `(m, k, n)`: `C = A·B`, `C = Aᵀ·B` and
/// `C = A·Bᵀ`, each `C` m×n with inner dimension k.
struct Case {
    a_nn: Matrix,
    b_nn: Matrix,
    a_tn: Matrix,
    b_nt: Matrix,
    c: Matrix,
}

impl Case {
    fn new(m: usize, k: usize, n: usize, stream: u64) -> Case {
        Case {
            a_nn: filled(m, k, 4 * stream),
            b_nn: filled(k, n, 4 * stream + 1),
            a_tn: filled(k, m, 4 * stream + 2),
            b_nt: filled(n, k, 4 * stream + 3),
            c: Matrix::zeros(m, n),
        }
    }

    /// All three products, each overwriting and then accumulating.
    fn run(&mut self) {
        for acc in [Accum::Overwrite, Accum::Accumulate] {
            gemm_nn(self.a_nn.view(), self.b_nn.view(), self.c.view_mut(), acc);
            gemm_tn(self.a_tn.view(), self.b_nn.view(), self.c.view_mut(), acc);
            gemm_nt(self.a_nn.view(), self.b_nt.view(), self.c.view_mut(), acc);
        }
    }
}

#[test]
fn steady_state_products_allocate_nothing() {
    // Positive control: the counter sees an allocation made right here (so a zero below means
    // "nothing allocated", not "the counter is not wired up").
    let before = ALLOCS.load(Ordering::SeqCst);
    let v = std::hint::black_box(vec![1.0f32; 100]);
    assert!(ALLOCS.load(Ordering::SeqCst) - before >= 1, "the counting allocator saw nothing");
    drop(v);
    // Odd sizes, vectors, tall and wide products, a small layer (batch 64 of 784 pixels into 100
    // units) and its 10-column output layer, so that every packing and blocking path runs.
    let shapes = [
        (1, 1, 1),
        (3, 5, 7),
        (1, 300, 40),
        (40, 300, 1),
        (17, 33, 9),
        (64, 784, 100),
        (64, 100, 10),
        (10, 64, 100),
        (257, 129, 65),
        (300, 300, 300),
    ];
    let mut cases: Vec<Case> =
        shapes.iter().enumerate().map(|(i, &(m, k, n))| Case::new(m, k, n, i as u64)).collect();
    // Warm-up: one call per shape, so whatever is set up once per thread (the kernel's packing
    // buffer, CPU feature detection) is set up here.
    for case in &mut cases {
        case.run();
    }
    for round in 0..3 {
        for (case, shape) in cases.iter_mut().zip(shapes) {
            let before = ALLOCS.load(Ordering::SeqCst);
            case.run();
            let n = ALLOCS.load(Ordering::SeqCst) - before;
            assert_eq!(
                n, 0,
                "round {round}: the six products at (m, k, n) = {shape:?} allocated {n} times"
            );
            assert!(case.c.as_slice().iter().all(|v| v.is_finite()));
        }
    }
}
