//! `handprop-runner`: composes the network and update rules into the study's cases and runs them.

pub mod slurm;
