//! `goproc`: looks inside a running plugin, in any language. Describes its
//! contracts, calls a method by name with JSON, checks it against a contract
//! file, and measures its calls; writes the manifest a registry reads.
//!
//! Install with `cargo install --path goproc --features cli`.

mod bench;
mod call;
mod check;
mod cmdline;
mod contract_file;
mod describe;
mod failure;
mod manifest;
mod prepare;
mod schema_json;
mod start;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use failure::Failure;

const ABOUT: &str = "Looks inside a goproc plugin (Rust, Python or TypeScript): describes its \
contracts, calls its methods with JSON, checks it against a contract file, and measures its calls; \
writes the plugin.toml a registry reads.";

const AFTER_HELP: &str = "\
Every command but `manifest` starts the plugin from the words after `--`, as a host would, and
stops it when done.

Examples:
  goproc describe -- ./target/release/calculator-plugin
  goproc call -- python3 plugin.py Calculator.add 40 2
  goproc check --contract src/contract.rs -- node dist/plugin.js
  goproc bench -c 128 -d 10s -- ./calculator-plugin Calculator.add 40 2
  goproc manifest --contract src/contract.rs --lang python --out plugins/calc/plugin.toml

Exit status:
  0  success
  1  bad usage, the plugin could not be started or ended, or `check` found a difference
  2  the call reached the plugin and failed there, or timed out
  3  the method answered with its domain error (`call`)

Install: cargo install --path goproc --features cli";

#[derive(Debug, Parser)]
#[command(name = "goproc", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// Show the plugin's own stdout and stderr lines on stderr (hidden by default, so that they
    /// cannot garble the output).
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Describe(describe::Args),
    Call(call::Args),
    Check(check::Args),
    Bench(bench::Args),
    Manifest(manifest::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return failure::usage(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Failure::new(format!("cannot start the async runtime: {e}")).report();
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Describe(args) => describe::run(args, cli.verbose).await,
            Command::Call(args) => call::run(args, cli.verbose).await,
            Command::Check(args) => check::run(args, cli.verbose).await,
            Command::Bench(args) => bench::run(args, cli.verbose).await,
            Command::Manifest(args) => manifest::run(args),
        }
    });
    // Plugin processes and their readers must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
