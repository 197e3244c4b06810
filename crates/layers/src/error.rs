//! The one error type of the crate.

/// Everything that can be wrong with a network's configuration or with the data handed to it.
///
/// Layer indices in messages are **1-based**, like the spec's layer numbers (layer 1 reads the
/// image, layer N produces the class scores); the Rust APIs that take an index are 0-based and say
/// so.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    /// `widths` must name at least an input and an output width.
    #[error("a network needs at least two widths (input and output), got {found}")]
    TooFewWidths {
        /// Number of widths given.
        found: usize,
    },
    /// A width of zero makes every product empty and the softmax undefined.
    #[error("width {index} (0 = input) is zero")]
    ZeroWidth {
        /// Position in `widths`.
        index: usize,
    },
    /// The construction batch (buffer capacity in rows) must be at least one.
    #[error("the batch size must be at least 1")]
    ZeroBatch,
    /// A dilated routing needs layers two or more steps above the one it feeds.
    #[error("routing `{routing}` needs at least 3 layers, the network has {layers}")]
    RoutingDepth {
        /// Routing name (snake_case, as in the config).
        routing: &'static str,
        /// Number of layers of the network.
        layers: usize,
    },
    /// A dilated connection would add or multiply gradients of different widths.
    #[error(
        "routing `{routing}`: layer {layer} receives a {width}-wide gradient but layer {source_layer} \
         passes down a {source_width}-wide one, so they cannot be combined"
    )]
    RoutingWidths {
        /// Routing name (snake_case, as in the config).
        routing: &'static str,
        /// The receiving layer (1-based).
        layer: usize,
        /// Width of the gradient the receiving layer takes (its output width).
        width: usize,
        /// The layer whose passed-down gradient would be routed (1-based).
        source_layer: usize,
        /// Width of that passed-down gradient (its input width).
        source_width: usize,
    },
    /// The dilation parameters must be finite, with `d ≥ 0` so that `1 + d·t` never reaches zero.
    #[error("routing `{routing}`: parameter {name} = {value} is invalid ({reason})")]
    RoutingParameter {
        /// Routing name.
        routing: &'static str,
        /// `p` or `d`.
        name: &'static str,
        /// The offending value.
        value: f32,
        /// What is required.
        reason: &'static str,
    },
    /// The input matrix has the wrong number of columns.
    #[error("input has {found} columns, layer 1 expects {expected}")]
    InputWidth {
        /// The network's input width.
        expected: usize,
        /// Columns of the given input.
        found: usize,
    },
    /// The one-hot label matrix has the wrong number of columns.
    #[error("labels have {found} columns, the network has {expected} classes")]
    LabelWidth {
        /// The network's output width.
        expected: usize,
        /// Columns of the given labels.
        found: usize,
    },
    /// Inputs and labels disagree on the number of examples.
    #[error("{inputs} input rows but {labels} label rows")]
    RowMismatch {
        /// Rows of the input.
        inputs: usize,
        /// Rows (or entries) of the labels.
        labels: usize,
    },
    /// A training batch has more rows than the buffers were built for.
    #[error("batch of {rows} rows exceeds the construction batch of {capacity}")]
    BatchTooLarge {
        /// Rows given.
        rows: usize,
        /// Rows the buffers hold.
        capacity: usize,
    },
    /// A training batch must have at least one row.
    #[error("a training batch must have at least one row")]
    EmptyBatch,
    /// A class label is not below the number of classes.
    #[error("label {label} at row {row} is not a class of a {classes}-class network")]
    LabelOutOfRange {
        /// Row of the offending label.
        row: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        classes: usize,
    },
    /// `set_weights` got the wrong number of matrices.
    #[error("expected {expected} weight matrices, got {found}")]
    WeightCount {
        /// Number of layers.
        expected: usize,
        /// Matrices given.
        found: usize,
    },
    /// A weight matrix has the wrong shape.
    #[error("weights of layer {layer} must be {expected:?} (rows, cols), got {found:?}")]
    WeightShape {
        /// The layer (1-based).
        layer: usize,
        /// `(inputs, outputs)`.
        expected: (usize, usize),
        /// The shape given.
        found: (usize, usize),
    },
    /// A matrix handed to a [`crate::Dense`] layer does not fit it.
    #[error("dense layer: {0}")]
    Shape(String),
}
