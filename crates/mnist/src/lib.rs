//! `handprop-mnist`: loads, verifies and fetches MNIST (filled by the foundation work).
