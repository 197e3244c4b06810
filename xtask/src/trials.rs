//! `cargo xtask trials`: the main job. Checks the arguments, builds the binaries (release), lets
//! the runner validate the config, runs it (fetching MNIST if needed; all four trials in parallel
//! cells), then writes the report.

use std::path::PathBuf;

use anyhow::Context;

use crate::cargo::{absolute, build_release, command, mirror_arg, run_tied};

/// Arguments of `cargo xtask trials`.
#[derive(clap::Args)]
pub struct Args {
    /// The run's config [default: configs/quick.toml in the workspace].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run only shard K of N (0 ≤ K < N).
    #[arg(long, value_parser = parse_shard)]
    shard: Option<String>,
    /// Output directory (default: results/NAME in the workspace, NAME being the config's name).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    flags: RunnerFlags,
    /// Run with the runner of the example crate `examples/NAME` (a registry with its own rule,
    /// e.g. `lion`) instead of `handprop`; it takes the same `run` options and writes the report.
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
}

/// The options `trials` and `tune` pass on to every runner call.
#[derive(clap::Args)]
pub struct RunnerFlags {
    /// Worker threads, one cell each (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Recompute cells whose results exist.
    #[arg(long)]
    pub force: bool,
    /// The dataset's cache directory [default: data/mnist, or data/fashion-mnist, in the
    /// workspace].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Extra mirrors of the dataset, tried first (URL, file:// URL or directory).
    #[arg(long = "mirror")]
    pub mirrors: Vec<String>,
    /// Skip the report at the end.
    #[arg(long)]
    pub no_report: bool,
}

impl RunnerFlags {
    /// `--data-dir` made absolute and the mirrors as runner arguments.
    pub fn resolved(&self) -> (Option<PathBuf>, Vec<std::ffi::OsString>) {
        let data_dir = self.data_dir.as_deref().map(absolute);
        (data_dir, self.mirrors.iter().map(|m| mirror_arg(m)).collect())
    }

    /// The runner calls of one task: `bin` with these options.
    pub fn runner<'a>(&self, bin: &'a std::path::Path) -> Runner<'a> {
        let (data_dir, mirrors) = self.resolved();
        Runner { bin, data_dir, threads: self.threads, force: self.force, mirrors }
    }
}

/// Lets the runner validate `config` (exit 2 on an error, its message shown) and name its results
/// directory: `out` when given, else results/NAME in the workspace.
pub fn results_dir(
    bin: &std::path::Path,
    config: &std::path::Path,
    out: Option<&std::path::Path>,
) -> anyhow::Result<PathBuf> {
    let mut check = command(bin);
    check.arg("check").arg("--config").arg(config).arg("--print-out");
    if let Some(o) = out {
        check.arg("--out").arg(o);
    }
    let checked = check.output().context("cannot run handprop check")?;
    if !checked.status.success() {
        eprint!("{}", String::from_utf8_lossy(&checked.stderr));
        anyhow::bail!("the config was not run");
    }
    Ok(crate::project_root().join(String::from_utf8_lossy(&checked.stdout).trim()))
}

/// `K/N` with 0 ≤ K < N, checked before anything is built or fetched.
fn parse_shard(s: &str) -> Result<String, String> {
    let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not K/N"))?;
    let k: usize = k.trim().parse().map_err(|_| format!("{s:?}: K is not a number"))?;
    let n: usize = n.trim().parse().map_err(|_| format!("{s:?}: N is not a number"))?;
    if n == 0 || k >= n {
        return Err(format!("{s:?}: need 0 ≤ K < N"));
    }
    Ok(format!("{k}/{n}"))
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = absolute(
        &args.config.clone().unwrap_or_else(|| crate::project_root().join("configs/quick.toml")),
    );
    anyhow::ensure!(config.is_file(), "--config {}: no such file", config.display());
    let out = args.out.as_deref().map(absolute);
    let (data_dir, mirrors) = args.flags.resolved();

    if let Some(name) = &args.example {
        return run_example(name, &config, &args, out.as_deref(), data_dir.as_deref(), &mirrors);
    }
    let bins = build_release()?;

    let out = results_dir(&bins.handprop, &config, out.as_deref())?;
    let runner = args.flags.runner(&bins.handprop);
    let mut cmd = runner.command("run", &config, &out);
    if let Some(s) = &args.shard {
        cmd.arg("--shard").arg(s);
    }
    runner.run(&mut cmd)?;
    if args.flags.no_report {
        return Ok(());
    }
    if out.join("frequency.csv").exists() {
        let status = run_tied(command(&bins.report).arg(&out))?;
        anyhow::ensure!(status.success(), "the report failed ({status})");
    } else {
        eprintln!(
            "other shards' cells are still missing: the report is written once all are merged"
        );
    }
    Ok(())
}

/// How to call `handprop run` / `handprop tune`: the options every call of one task shares.
pub struct Runner<'a> {
    /// The `handprop` binary.
    pub bin: &'a std::path::Path,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--threads`.
    pub threads: Option<u16>,
    /// `--force`.
    pub force: bool,
    /// `--mirror`s.
    pub mirrors: Vec<std::ffi::OsString>,
}

impl Runner<'_> {
    /// `handprop SUB --config CONFIG --out OUT` with the shared options.
    pub fn command(
        &self,
        sub: &str,
        config: &std::path::Path,
        out: &std::path::Path,
    ) -> std::process::Command {
        let mut cmd = command(self.bin);
        cmd.arg(sub).arg("--config").arg(config).arg("--out").arg(out);
        if let Some(d) = &self.data_dir {
            cmd.arg("--data-dir").arg(d);
        }
        if let Some(t) = self.threads {
            cmd.arg("--threads").arg(t.to_string());
        }
        if self.force {
            cmd.arg("--force");
        }
        for m in &self.mirrors {
            cmd.arg("--mirror").arg(m);
        }
        cmd
    }

    /// Runs `cmd`; a usage error (exit 2) says nothing ran, any other failure that a re-run
    /// resumes.
    pub fn run(&self, cmd: &mut std::process::Command) -> anyhow::Result<()> {
        let status = run_tied(cmd)?;
        match status.code() {
            Some(0) => Ok(()),
            Some(2) => anyhow::bail!("nothing was run (see the error above)"),
            _ => anyhow::bail!(
                "the run stopped ({status}); finished cells are kept: re-run the same command to \
                 resume"
            ),
        }
    }
}

/// `--example NAME`: builds `handprop-NAME` of the package `handprop-example-NAME` and runs its
/// `run` (which validates the config against its registry and writes the report itself).
fn run_example(
    name: &str,
    config: &std::path::Path,
    args: &Args,
    out: Option<&std::path::Path>,
    data_dir: Option<&std::path::Path>,
    mirrors: &[std::ffi::OsString],
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "--example {name:?}: not an example name"
    );
    let bin = crate::cargo::build_release_bin(
        &format!("handprop-example-{name}"),
        &format!("handprop-{name}"),
    )?;
    let mut cmd = command(&bin);
    cmd.arg("run").arg("--config").arg(config);
    if let Some(o) = out {
        cmd.arg("--out").arg(o);
    }
    if let Some(d) = data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if let Some(t) = args.flags.threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    if let Some(s) = &args.shard {
        cmd.arg("--shard").arg(s);
    }
    if args.flags.force {
        cmd.arg("--force");
    }
    if args.flags.no_report {
        cmd.arg("--no-report");
    }
    for m in mirrors {
        cmd.arg("--mirror").arg(m);
    }
    let status = run_tied(&mut cmd)?;
    anyhow::ensure!(
        status.success(),
        "the run stopped ({status}); finished cells are kept: re-run the same command to resume"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_checked_before_anything_runs() {
        assert_eq!(parse_shard("2/4").unwrap(), "2/4");
        for bad in ["9/4", "4/4", "1/0", "x/2", "3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
