//! The directory layout: every file name of a results directory, in one place.

use std::path::{Path, PathBuf};

use crate::cell::CellId;

/// The merged tables, in the order they are written; `run.json` is written after all of them and
/// carries their checksums.
pub const TABLES: [&str; 7] = [
    "trials.csv",
    "cases.csv",
    "metrics.csv",
    "timing.csv",
    "final.csv",
    "winners.csv",
    "frequency.csv",
];

/// A results directory and the config hash that names its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsDir {
    /// The directory (`results/<config name>/` by default).
    pub root: PathBuf,
    /// The config hash, naming `cells/<hash>/`.
    pub hash: String,
}

impl ResultsDir {
    /// The `config.toml` file name.
    pub const CONFIG: &'static str = "config.toml";
    /// The `run.json` file name.
    pub const RUN_JSON: &'static str = "run.json";

    /// The results directory `root` of the config with hash `hash`.
    pub fn new(root: impl Into<PathBuf>, hash: impl Into<String>) -> Self {
        ResultsDir { root: root.into(), hash: hash.into() }
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(Self::CONFIG)
    }

    /// `run.json`.
    pub fn run_json_path(&self) -> PathBuf {
        self.root.join(Self::RUN_JSON)
    }

    /// A merged table (one of [`TABLES`]).
    pub fn table_path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The lock every run holds (shared by the shards of one config, exclusive for `--force`).
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(".handprop.lock")
    }

    /// The lock a merge holds, so that two merges never interleave their renames.
    pub fn merge_lock_path(&self) -> PathBuf {
        self.root.join(".merge.lock")
    }

    /// The lock of one shard `index` of `count`: a second process running the same shard refuses.
    pub fn shard_lock_path(&self, index: usize, count: usize) -> PathBuf {
        self.root.join(".locks").join(format!("shard-{index}-of-{count}.lock"))
    }

    /// `cells/`, holding one directory per config hash.
    pub fn cells_root(&self) -> PathBuf {
        self.root.join("cells")
    }

    /// `cells/<hash>/`: this config's cell files.
    pub fn cells_dir(&self) -> PathBuf {
        self.cells_root().join(&self.hash)
    }

    /// `cells/<hash>/damaged/`: cell files that failed validation, kept for inspection.
    pub fn damaged_dir(&self) -> PathBuf {
        self.cells_dir().join("damaged")
    }

    /// A cell's result file: `cells/<hash>/t1-e03-c05.csv`.
    pub fn cell_path(&self, cell: &CellId) -> PathBuf {
        self.cells_dir().join(cell.file_name())
    }

    /// Whether `path` lies inside this directory's root (used to refuse dangerous `--force`).
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.root)
    }
}
