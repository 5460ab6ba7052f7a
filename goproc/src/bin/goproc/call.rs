//! `goproc call`: one call by name, arguments and answer as JSON.

use crate::failure::Failure;
use crate::prepare::CallArgs;
use crate::start::stop;

const EXAMPLE: &str = "goproc call -- ./my-plugin Calculator.add 40 2";

/// Call one method by name and print its answer as JSON.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
After `--`: the plugin command, then the method as `Contract.method` (the first word so shaped
that is not a file), then its arguments: for a String or char parameter the word itself, for any
other one the word read as JSON. Or give them all with --json, as an array or an object by name.

Examples:
  goproc call -- ./calculator-plugin Calculator.add 40 2
  goproc call -- python3 plugin.py Calculator.greet Ada
  goproc call --json '[[1.5, 2.5]]' -- node dist/plugin.js Calculator.sum
  goproc call --json '{\"a\": 1, \"b\": 0}' -- ./calculator-plugin Calculator.divide
  goproc call --contract src/contract.rs -- ./older-plugin Calculator.add 40 2

The answer is printed as JSON on stdout. A domain error (the Err of a method returning Result)
is printed as `domain error: <json>` on stderr, with exit status 3. docs/CONTRACTS.md, section
\"Calls by name with JSON\", says how each type is written.")]
pub struct Args {
    #[command(flatten)]
    call: CallArgs,
}

pub async fn run(args: Args, verbose: bool) -> Result<(), Failure> {
    let started = args.call.start(EXAMPLE, verbose).await?;
    let answer = async {
        let prepared = started.prepare()?;
        prepared.call().await.map_err(|e| Failure::from_error(&e))
    }
    .await;
    stop(started.plugin).await;
    let answer = answer?;
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).expect("a JSON value always prints")
    );
    Ok(())
}
