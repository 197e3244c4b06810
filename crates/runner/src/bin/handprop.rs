//! `handprop`: the study's runner as a standalone binary (for cluster nodes, where there may be no
//! cargo). `cargo xtask trials` builds it in release mode and calls `handprop run`.
//!
//! ```text
//! handprop run      --config FILE [--shard K/N] [--out DIR] [--threads N] [--force] [--no-merge]
//! handprop tune     --config FILE [run's options] [--print-config]
//! handprop merge    --config FILE [--out DIR]
//! handprop download [--mirror URL]… [--dir DIR]
//! handprop check    --config FILE   (validate only)
//! handprop slurm ...               (job arrays over shards, see docs/scaling.md)
//! ```
//!
//! Exit codes: 0 done; 1 a failure a re-run resumes from (finished cells are kept); 2 a usage or
//! config error (nothing was run); 3 a fault injected for tests.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use handprop_runner::run::{format_frequency, RunError};
use handprop_runner::{tune, Config, RunOptions, Shard};

// A directory, not `src/bin/slurm.rs`, which cargo would build as a binary of its own.
#[path = "handprop/slurm.rs"]
mod slurm;

#[derive(Parser)]
#[command(
    name = "handprop",
    version,
    about = "Hand-made back-propagation vs TF1's optimizers on MNIST"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// The run's config (TOML).
    #[arg(long, default_value = "configs/quick.toml")]
    config: PathBuf,
    /// Output directory (default: results/NAME, NAME being the config's name).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// What `run` and `tune` share: how cells are computed.
#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Worker threads, one cell each (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only shard K of N (0 ≤ K < N): cells whose position is K modulo N.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
    /// Recompute cells whose results exist.
    #[arg(long)]
    force: bool,
    /// Do not merge the tables at the end.
    #[arg(long)]
    no_merge: bool,
    /// The dataset's cache directory, fetched into if missing [default: data/mnist, or
    /// data/fashion-mnist for `dataset = "fashion-mnist"`].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Extra mirrors of the config's dataset, tried first (URL, file:// URL or directory).
    #[arg(long = "mirror")]
    mirrors: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cells (of one shard) that have no result yet, then merge if all exist.
    Run(RunArgs),
    /// Run the config's tuning sweep (its `[tuning]` section: every case at candidate η on the
    /// validation split; cells, shards and resumes as `run`), then choose each case's η per
    /// trial and write `tuning.csv` and `tuned.toml` into the sweep's directory
    /// (results/NAME-tuning). `--out` names that directory.
    Tune {
        #[command(flatten)]
        args: RunArgs,
        /// Print the sweep as a config (e.g. for `handprop slurm submit`) and run nothing.
        #[arg(long)]
        print_config: bool,
    },
    /// Write the merged tables of a run whose cells all exist.
    Merge {
        #[command(flatten)]
        common: Common,
    },
    /// Validate a config and print what it runs (nothing is fetched or run).
    Check {
        #[command(flatten)]
        common: Common,
        /// Print only the results directory.
        #[arg(long)]
        print_out: bool,
    },
    /// Fetch and verify a dataset into its download cache (a second call fetches nothing).
    Download {
        /// `mnist` or `fashion-mnist`.
        #[arg(long, default_value = "mnist")]
        dataset: handprop_mnist::DatasetKind,
        /// A mirror to try before HANDPROP_MNIST_MIRROR and the public mirrors: an http(s) URL, a
        /// file:// URL or a local directory holding the four .gz files. Repeatable.
        #[arg(long = "mirror", value_name = "URL")]
        mirrors: Vec<String>,
        /// The cache directory [default: data/mnist or data/fashion-mnist].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run on a Slurm cluster as a job array of shards.
    Slurm(slurm::SlurmCommand),
}

/// Runs `config`'s cells as `args` say; returns whether the tables were merged (all cells exist).
fn run_config(config: &Config, args: &RunArgs, out: &std::path::Path) -> anyhow::Result<bool> {
    let RunArgs { common, threads, shard, force, no_merge, data_dir, mirrors } = args;
    let mirrors = parse_mirrors(mirrors)?;
    if threads.is_some_and(|t| t == 0 || t > handprop_runner::run::MAX_THREADS) {
        return Err(RunError::Usage(format!(
            "--threads {}: must be between 1 and {}",
            threads.unwrap_or(0),
            handprop_runner::run::MAX_THREADS
        ))
        .into());
    }
    let data_dir =
        data_dir.clone().unwrap_or_else(|| PathBuf::from(config.data.dataset.default_dir()));
    let data = handprop_runner::load_data(config, &data_dir, &mirrors)?;
    let opts = RunOptions {
        out: out.to_owned(),
        threads: *threads,
        shard: *shard,
        force: *force,
        merge: !no_merge,
        progress: None,
    };
    let summary = handprop_runner::run(config, &data, &opts)?;
    eprintln!(
        "{}: shard {shard}: {} cells computed ({} diverged), {} already there",
        config.name, summary.computed, summary.diverged, summary.skipped,
    );
    eprintln!("  wall {:.1} s, CPU {:.1} s", summary.wall.as_secs_f64(), summary.cpu.as_secs_f64());
    match &summary.frequency {
        Some(freq) => {
            println!("Win frequencies (tables in {}):", out.display());
            print!("{}", format_frequency(config, freq));
        }
        None if *no_merge => {}
        None => eprintln!(
            "other shards' cells are still missing; the last shard to finish merges (or run `handprop merge --config {} --out {}`)",
            common.config.display(),
            out.display()
        ),
    }
    Ok(summary.frequency.is_some())
}

/// A tuning error as the exit code wants it: config errors stay usage errors.
fn tune_error(e: tune::TuneError) -> anyhow::Error {
    match e {
        tune::TuneError::Config(c) => c.into(),
        tune::TuneError::NoTuning { .. } => RunError::Usage(e.to_string()).into(),
        other => other.into(),
    }
}

/// The chosen η per trial and case, for an 80-column terminal.
fn format_choices(base: &Config, outcome: &tune::Outcome) -> String {
    use std::fmt::Write;
    let mut s = String::from("Chosen η (× the default) per case and trial:\n");
    for (c, case) in base.cases.iter().enumerate() {
        let _ = write!(s, "  C{c:<3} {:<40}", case.label.chars().take(40).collect::<String>());
        for t in 1..=base.trials.len() {
            let pick = outcome.rows.iter().find(|r| r.trial == t && r.case == c && r.selected == 1);
            let _ = match pick {
                Some(r) => write!(s, " {:>7}", format!("×{:.3}", r.factor)),
                None => write!(s, " {:>7}", "default"),
            };
        }
        s.push('\n');
    }
    s
}

fn out_dir(config: &Config, out: Option<PathBuf>) -> PathBuf {
    out.unwrap_or_else(|| PathBuf::from("results").join(&config.name))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let usage = err.downcast_ref::<handprop_runner::ConfigError>().is_some()
                || matches!(err.downcast_ref::<RunError>(), Some(RunError::Usage(_)));
            // A simulated crash exits like a killed task would, distinct from a usage error.
            if matches!(err.downcast_ref::<RunError>(), Some(RunError::Injected(_))) {
                ExitCode::from(3)
            } else if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `handprop download`: fetches what is missing or bad, then says what came from where.
fn download(
    dataset: handprop_mnist::DatasetKind,
    mirrors: &[handprop_mnist::Mirror],
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    use handprop_mnist::Origin;
    let options = handprop_mnist::FetchOptions::from_env()?;
    let report = handprop_mnist::ensure_dataset(dataset, dir, mirrors, &options)
        .with_context(|| format!("downloading {dataset} into {}", dir.display()))?;
    for file in &report.files {
        if let Some(reason) = &file.replaced {
            println!("replaced {}: the cached copy was bad: {reason}", file.name);
        }
        for failure in &file.failures {
            println!("skipped  {} from {failure}", file.name);
        }
        match &file.origin {
            Origin::Cached => println!("cached   {} (verified)", file.name),
            Origin::Fetched { mirror } => {
                println!("fetched  {} from {mirror} (verified)", file.name)
            }
        }
    }
    let fetched = report.fetched();
    println!(
        "{fetched} fetched, {} already cached; all {} files verified in {}",
        report.files.len() - fetched,
        report.files.len(),
        dir.display()
    );
    Ok(())
}

fn parse_mirrors(mirrors: &[String]) -> anyhow::Result<Vec<handprop_mnist::Mirror>> {
    mirrors
        .iter()
        .map(|m| handprop_mnist::Mirror::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Usage(format!("bad --mirror: {e}")).into())
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => {
            let config = Config::load(&args.common.config)?;
            let out = out_dir(&config, args.common.out.clone());
            run_config(&config, &args, &out)?;
            Ok(())
        }
        Command::Tune { args, print_config } => {
            let path = &args.common.config;
            let base = Config::load(path)?;
            let sweep = tune::tuning_config(&base, path).map_err(tune_error)?;
            if print_config {
                print!("{}", sweep.to_toml());
                return Ok(());
            }
            let out = out_dir(&sweep, args.common.out.clone());
            if !run_config(&sweep, &args, &out)? {
                return Ok(());
            }
            let outcome = tune::write_outcome(&base, &sweep, &out, path).map_err(tune_error)?;
            print!("{}", format_choices(&base, &outcome));
            let tuned = out.join(handprop_results::TUNED_CONFIG_FILE);
            println!(
                "tuning.csv and {} written; run the tuned study with\n  handprop run --config {}",
                tuned.display(),
                tuned.display()
            );
            Ok(())
        }
        Command::Merge { common } => {
            let config = Config::load(&common.config)?;
            let out = out_dir(&config, common.out);
            let freq = handprop_runner::merge_only(&config, &out)?;
            println!("Win frequencies (tables in {}):", out.display());
            print!("{}", format_frequency(&config, &freq));
            Ok(())
        }
        Command::Check { common, print_out } => {
            let config = Config::load(&common.config)?;
            if print_out {
                println!("{}", out_dir(&config, common.out).display());
                return Ok(());
            }
            println!(
                "{}: valid; {} trials, {} cases, {} cells of {} epochs; config hash {}; results in {}",
                common.config.display(),
                config.trials.len(),
                config.cases.len(),
                config.cell_count(),
                config.training.epochs,
                config.hash(),
                out_dir(&config, common.out).display()
            );
            Ok(())
        }
        Command::Download { dataset, mirrors, dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(dataset.default_dir()));
            download(dataset, &parse_mirrors(&mirrors)?, &dir)
        }
        Command::Slurm(cmd) => slurm::run(cmd),
    }
}
