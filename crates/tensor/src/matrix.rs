//! Row-major f32 matrices and borrowed views.

/// A shape that does not fit: the data length or the operands' dimensions disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shape error: {0}")]
pub struct ShapeError(pub String);

/// An owned, dense, row-major `rows × cols` f32 matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Wraps `data` (row-major) as a `rows × cols` matrix; the length must be `rows · cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, ShapeError> {
        if data.len() != rows * cols {
            return Err(ShapeError(format!(
                "{} values cannot form a {rows}×{cols} matrix",
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major elements.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The row-major elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the matrix and returns its row-major elements.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// A borrowed view of the whole matrix.
    pub fn view(&self) -> MatRef<'_> {
        MatRef { rows: self.rows, cols: self.cols, data: &self.data }
    }

    /// A mutable borrowed view of the whole matrix.
    pub fn view_mut(&mut self) -> MatMut<'_> {
        MatMut { rows: self.rows, cols: self.cols, data: &mut self.data }
    }
}

/// A borrowed, contiguous, row-major `rows × cols` f32 matrix.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    rows: usize,
    cols: usize,
    data: &'a [f32],
}

impl<'a> MatRef<'a> {
    /// Views `data` (row-major) as `rows × cols`; the length must be `rows · cols`.
    pub fn new(rows: usize, cols: usize, data: &'a [f32]) -> Result<Self, ShapeError> {
        if data.len() != rows * cols {
            return Err(ShapeError(format!(
                "{} values cannot form a {rows}×{cols} view",
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major elements.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Rows `start..start + n` as a view (a batch of a data set, without copying).
    ///
    /// # Panics
    /// If the range exceeds the matrix.
    pub fn rows_range(&self, start: usize, n: usize) -> MatRef<'a> {
        assert!(start + n <= self.rows, "rows {start}..{} out of {}", start + n, self.rows);
        MatRef {
            rows: n,
            cols: self.cols,
            data: &self.data[start * self.cols..(start + n) * self.cols],
        }
    }
}

/// A mutable borrowed, contiguous, row-major `rows × cols` f32 matrix.
#[derive(Debug)]
pub struct MatMut<'a> {
    rows: usize,
    cols: usize,
    data: &'a mut [f32],
}

impl<'a> MatMut<'a> {
    /// Views `data` (row-major) as `rows × cols`; the length must be `rows · cols`.
    pub fn new(rows: usize, cols: usize, data: &'a mut [f32]) -> Result<Self, ShapeError> {
        if data.len() != rows * cols {
            return Err(ShapeError(format!(
                "{} values cannot form a {rows}×{cols} view",
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major elements.
    pub fn as_slice(&self) -> &[f32] {
        self.data
    }

    /// The row-major elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data
    }

    /// Reborrows as an immutable view.
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef { rows: self.rows, cols: self.cols, data: self.data }
    }

    /// Reborrows as a shorter-lived mutable view, so the view can be passed to several products in
    /// turn.
    pub fn reborrow(&mut self) -> MatMut<'_> {
        MatMut { rows: self.rows, cols: self.cols, data: self.data }
    }

    /// Rows `start..start + n` as a mutable view (a slice of the batch, without copying).
    ///
    /// # Panics
    /// If the range exceeds the matrix.
    pub fn rows_range_mut(&mut self, start: usize, n: usize) -> MatMut<'_> {
        assert!(start + n <= self.rows, "rows {start}..{} out of {}", start + n, self.rows);
        MatMut {
            rows: n,
            cols: self.cols,
            data: &mut self.data[start * self.cols..(start + n) * self.cols],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_reject_wrong_lengths() {
        let e = Matrix::from_vec(2, 3, vec![0.0; 5]).unwrap_err();
        assert!(e.to_string().contains("5 values cannot form a 2×3"), "{e}");
        let data = [0.0f32; 7];
        assert!(MatRef::new(2, 3, &data).is_err());
        let mut data = [0.0f32; 7];
        assert!(MatMut::new(3, 2, &mut data).is_err());
        assert!(MatMut::new(7, 1, &mut data).is_ok());
        assert_eq!(Matrix::from_vec(0, 4, vec![]).unwrap().rows(), 0);
    }

    #[test]
    fn row_ranges_view_the_right_rows() {
        let mut m = Matrix::from_vec(4, 2, (0..8).map(|i| i as f32).collect()).unwrap();
        assert_eq!(m.view().rows_range(1, 2).as_slice(), &[2.0, 3.0, 4.0, 5.0]);
        let mut v = m.view_mut();
        v.rows_range_mut(3, 1).as_mut_slice().fill(-1.0);
        assert_eq!(v.rows_range_mut(3, 1).rows(), 1);
        assert_eq!(&m.as_slice()[6..], &[-1.0, -1.0]);
    }

    #[test]
    #[should_panic(expected = "out of 4")]
    fn row_range_past_the_end_panics() {
        let m = Matrix::zeros(4, 2);
        let _ = m.view().rows_range(3, 2);
    }
}

/// Zero-copy interop with nalgebra, for users who want its algorithms on handprop's buffers.
///
/// nalgebra stores matrices column-major, so a row-major `rows × cols` buffer *is* the
/// column-major `cols × rows` matrix Aᵀ, with nalgebra's standard contiguous storage. (A strided
/// `rows × cols` view is possible too, but nalgebra 0.33's products read a left operand whose
/// row stride is not 1 out of bounds, so it is not offered.)
impl<'a> MatRef<'a> {
    /// Aᵀ as a nalgebra view, without copying: element `(j, i)` of the view is element `(i, j)`
    /// of this matrix. Products transpose as usual: `(A·B)ᵀ = Bᵀ·Aᵀ`.
    pub fn as_nalgebra_transposed(&self) -> nalgebra::DMatrixView<'a, f32> {
        nalgebra::DMatrixView::from_slice(self.data, self.cols, self.rows)
    }
}

impl Matrix {
    /// A row-major copy of a nalgebra matrix (nalgebra is column-major, so this reorders the
    /// storage once; [`MatRef::as_nalgebra_transposed`] is the zero-copy direction).
    pub fn from_nalgebra(m: &nalgebra::DMatrix<f32>) -> Self {
        let (rows, cols) = m.shape();
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            data.extend(m.row(i).iter().copied());
        }
        Matrix { rows, cols, data }
    }
}

#[cfg(test)]
mod nalgebra_tests {
    use super::*;

    #[test]
    fn nalgebra_views_alias_row_major_data_and_round_trip() {
        let a = Matrix::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = Matrix::from_vec(3, 2, vec![1.0, 0.5, -1.0, 2.0, 0.0, 3.0]).unwrap();
        let (at, bt) = (a.view().as_nalgebra_transposed(), b.view().as_nalgebra_transposed());
        assert_eq!(at.shape(), (3, 2));
        assert_eq!(at[(2, 0)], 3.0);
        assert_eq!(at[(0, 1)], 4.0);
        // nalgebra's product on the views, (A·B)ᵀ = Bᵀ·Aᵀ, agrees with the crate's own GEMM.
        let mut c = Matrix::zeros(2, 2);
        crate::gemm_nn(a.view(), b.view(), c.view_mut(), crate::Accum::Overwrite);
        let ct = bt * at;
        assert_eq!(Matrix::from_nalgebra(&ct.transpose()), c);
        assert_eq!(Matrix::from_nalgebra(&at.transpose()), a);
        assert_eq!(Matrix::zeros(0, 4).view().as_nalgebra_transposed().shape(), (4, 0));
    }
}
