//! An independent f64 reference of the network, written as plainly as possible (no shared code
//! with the crate), used by the gradient and routing tests.
#![allow(dead_code, clippy::needless_range_loop)]

use handprop_layers::Mlp;
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::Matrix;

/// Row-major f64 matrix.
#[derive(Clone, Debug)]
pub struct M {
    pub r: usize,
    pub c: usize,
    pub d: Vec<f64>,
}

impl M {
    pub fn zeros(r: usize, c: usize) -> Self {
        Self { r, c, d: vec![0.0; r * c] }
    }
    pub fn from32(m: &Matrix) -> Self {
        Self { r: m.rows(), c: m.cols(), d: m.as_slice().iter().map(|&v| f64::from(v)).collect() }
    }
    pub fn from_slice(r: usize, c: usize, s: &[f32]) -> Self {
        assert_eq!(s.len(), r * c);
        Self { r, c, d: s.iter().map(|&v| f64::from(v)).collect() }
    }
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.d[i * self.c + j]
    }
    /// self · b
    pub fn mul(&self, b: &M) -> M {
        assert_eq!(self.c, b.r);
        let mut o = M::zeros(self.r, b.c);
        for i in 0..self.r {
            for j in 0..b.c {
                o.d[i * b.c + j] = (0..self.c).map(|k| self.at(i, k) * b.at(k, j)).sum();
            }
        }
        o
    }
    pub fn t(&self) -> M {
        let mut o = M::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                o.d[j * self.r + i] = self.at(i, j);
            }
        }
        o
    }
    pub fn zip(&self, b: &M, f: impl Fn(f64, f64) -> f64) -> M {
        assert_eq!((self.r, self.c), (b.r, b.c));
        M { r: self.r, c: self.c, d: self.d.iter().zip(&b.d).map(|(&x, &y)| f(x, y)).collect() }
    }
    pub fn add(&self, b: &M) -> M {
        self.zip(b, |x, y| x + y)
    }
    pub fn had(&self, b: &M) -> M {
        self.zip(b, |x, y| x * y)
    }
    pub fn scale(&self, s: f64) -> M {
        M { r: self.r, c: self.c, d: self.d.iter().map(|&x| s * x).collect() }
    }
}

/// Forward pass: returns (z_k, a_k) for k = 1..=N (index 0 = layer 1) and p.
pub fn forward(w: &[M], x: &M) -> (Vec<M>, Vec<M>, M) {
    let mut zs = Vec::new();
    let mut a_s: Vec<M> = Vec::new();
    for wk in w {
        let input = a_s.last().unwrap_or(x);
        let z = input.mul(wk);
        let a = M { r: z.r, c: z.c, d: z.d.iter().map(|v| v.atan()).collect() };
        zs.push(z);
        a_s.push(a);
    }
    let last = a_s.last().unwrap();
    let mut p = last.clone();
    for i in 0..p.r {
        let row = &mut p.d[i * p.c..(i + 1) * p.c];
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - mx).exp()).sum();
        for v in row.iter_mut() {
            *v = (*v - mx).exp() / s;
        }
    }
    (zs, a_s, p)
}

/// The study's summed cost.
pub fn cost(p: &M, y: &M) -> f64 {
    p.d.iter().zip(&y.d).map(|(&p, &y)| -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())).sum()
}

/// The manual seed p − y.
pub fn manual_seed(p: &M, y: &M) -> M {
    p.zip(y, |p, y| p - y)
}

/// The exact seed ∂C/∂a_N through the softmax.
pub fn exact_seed(p: &M, y: &M) -> M {
    let mut o = M::zeros(p.r, p.c);
    for i in 0..p.r {
        let dp: Vec<f64> = (0..p.c)
            .map(|j| -y.at(i, j) / p.at(i, j) + (1.0 - y.at(i, j)) / (1.0 - p.at(i, j)))
            .collect();
        let s: f64 = (0..p.c).map(|j| p.at(i, j) * dp[j]).sum();
        for j in 0..p.c {
            o.d[i * p.c + j] = p.at(i, j) * (dp[j] - s);
        }
    }
    o
}

/// arctan′(z) = 1/(1+z²)
pub fn dact(z: &M) -> M {
    M { r: z.r, c: z.c, d: z.d.iter().map(|v| 1.0 / (1.0 + v * v)).collect() }
}

/// A network with N(0,1) weights from a fixed stream, and a random input / one-hot target.
pub fn setup(widths: &[usize], rows: usize, seed: u64, mlp: &mut Mlp) -> (Matrix, Matrix, Vec<u8>) {
    let mut rng = stream_rng(seed, 0);
    mlp.init_normal(&mut rng);
    let mut x = Matrix::zeros(rows, widths[0]);
    fill_standard_normal(&mut stream_rng(seed, 1), x.as_mut_slice());
    // Inputs in [0, 1) like pixels: squash the normals.
    for v in x.as_mut_slice() {
        *v = 0.5 + v.atan() / std::f32::consts::PI;
    }
    let classes = widths[widths.len() - 1];
    let labels: Vec<u8> = (0..rows).map(|i| ((i * 7 + seed as usize) % classes) as u8).collect();
    let mut y = Matrix::zeros(rows, classes);
    for (i, &l) in labels.iter().enumerate() {
        y.as_mut_slice()[i * classes + l as usize] = 1.0;
    }
    (x, y, labels)
}

/// max |a − b| / max(max |b|, tiny): the error relative to the reference's scale.
pub fn rel_err(a: &[f32], b: &M) -> f64 {
    assert_eq!(a.len(), b.d.len());
    let scale = b.d.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(&b.d).fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs())) / scale
}
