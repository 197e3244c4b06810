//! Slurm job arrays over the runner's shards (not built yet).
