//! `cargo xtask tune`: the fair comparison in one command. Runs the config at its default η
//! (`results/NAME`), its tuning sweep on the validation split (`handprop tune`:
//! `results/NAME-tuning`, with `tuning.csv` and `tuned.toml`), the tuned config with the same
//! trials and seeds (`results/NAME-tuned`), then the report of the tuned run with the default run
//! as its baseline. Every step resumes: re-running the command continues where it stopped.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cargo::{absolute, build_release, command, run_tied};
use crate::trials::{results_dir, RunnerFlags};

/// Arguments of `cargo xtask tune`.
#[derive(clap::Args)]
pub struct Args {
    /// A config with a `[tuning]` section [default: configs/tune-quick.toml in the workspace].
    #[arg(long)]
    config: Option<PathBuf>,
    /// The default run's directory; the sweep and the tuned run go beside it, suffixed
    /// `-tuning` and `-tuned` [default: results/NAME in the workspace].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    flags: RunnerFlags,
}

/// `DIR` → `DIR-suffix`, beside it.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!("{name}-{suffix}"))
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = absolute(
        &args
            .config
            .clone()
            .unwrap_or_else(|| crate::project_root().join("configs/tune-quick.toml")),
    );
    anyhow::ensure!(config.is_file(), "--config {}: no such file", config.display());
    let bins = build_release()?;

    // The runner validates the config and its sweep (exit 2 on an error) before anything runs.
    let mut check = command(&bins.handprop);
    check.arg("tune").arg("--config").arg(&config).arg("--print-config");
    let checked = check.output().context("cannot run handprop tune --print-config")?;
    if !checked.status.success() {
        eprint!("{}", String::from_utf8_lossy(&checked.stderr));
        anyhow::bail!("the config was not run");
    }
    let out = results_dir(&bins.handprop, &config, args.out.as_deref().map(absolute).as_deref())?;
    let (tuning, tuned) = (sibling(&out, "tuning"), sibling(&out, "tuned"));

    let runner = args.flags.runner(&bins.handprop);
    eprintln!("1/3 the default η: {}", out.display());
    runner.run(&mut runner.command("run", &config, &out))?;
    eprintln!("2/3 the tuning sweep on the validation split: {}", tuning.display());
    runner.run(&mut runner.command("tune", &config, &tuning))?;
    eprintln!("3/3 the tuned η: {}", tuned.display());
    runner.run(&mut runner.command("run", &tuning.join("tuned.toml"), &tuned))?;

    if args.flags.no_report {
        return Ok(());
    }
    let status = run_tied(command(&bins.report).arg(&out))?;
    anyhow::ensure!(status.success(), "the report of the default run failed ({status})");
    let status = run_tied(
        command(&bins.report).arg("--baseline").arg(&out).arg("--tuning").arg(&tuning).arg(&tuned),
    )?;
    anyhow::ensure!(status.success(), "the report of the tuned run failed ({status})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_and_the_tuned_run_sit_beside_the_default_run() {
        let out = Path::new("/r/results/tune-quick");
        assert_eq!(sibling(out, "tuning"), Path::new("/r/results/tune-quick-tuning"));
        assert_eq!(sibling(out, "tuned"), Path::new("/r/results/tune-quick-tuned"));
    }
}
