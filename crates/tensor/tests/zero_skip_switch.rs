//! `set_zero_skipping` (a process-wide switch, hence its own test binary): off and on give the
//! same bits, and `kernel_info` reports the state.

use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::{gemm_nn, kernel_info, set_zero_skipping, Accum, Matrix};

#[test]
fn the_switch_changes_no_bit_and_is_reported() {
    let (m, k, n) = (100, 784, 96);
    let mut x = Matrix::zeros(m, k);
    fill_standard_normal(&mut stream_rng(5, 1), x.as_mut_slice());
    // Image-like: the border columns zero in every row, half of the rest zero.
    for (e, v) in x.as_mut_slice().iter_mut().enumerate() {
        let col = e % k;
        if !(200..=600).contains(&col) || e % 2 == 0 {
            *v = 0.0;
        }
    }
    let mut w = Matrix::zeros(k, n);
    fill_standard_normal(&mut stream_rng(5, 2), w.as_mut_slice());
    let product = || {
        let mut z = Matrix::zeros(m, n);
        gemm_nn(x.view(), w.view(), z.view_mut(), Accum::Overwrite);
        z.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
    };
    let handprop_kernel = kernel_info().mr > 0;
    assert_eq!(kernel_info().skips_zero_columns, handprop_kernel);
    let on = product();
    set_zero_skipping(false);
    assert!(!kernel_info().skips_zero_columns);
    let off = product();
    set_zero_skipping(true);
    assert_eq!(kernel_info().skips_zero_columns, handprop_kernel);
    assert!(on == off, "skipping changed bits");
    assert!(on.iter().any(|&b| b != 0), "a nonzero product");
}
