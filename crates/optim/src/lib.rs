//! `handprop-optim`: every rule that turns a gradient into a weight update (filled by the optimizer work).
