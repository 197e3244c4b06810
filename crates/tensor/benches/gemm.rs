//! Placeholder; filled by the tensor work.
fn main() {}
