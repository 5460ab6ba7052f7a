//! `goproc call`: one call by name, arguments and answer as JSON.

use std::path::PathBuf;
use std::time::Duration;

use goproc::schema::ContractSchema;
use goproc::Plugin;
use serde_json::Value;

use crate::cmdline::{parse_duration, split_at_method, Invocation, Words};
use crate::failure::Failure;
use crate::prepare::{from_file, one_way, prepare};
use crate::start::{start, stop, Options};

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
    /// All the arguments as one JSON array, or an object by argument name.
    #[arg(long, value_name = "JSON")]
    json: Option<String>,

    /// Read the contract from this Rust file (or crate folder) instead of
    /// asking the plugin: for a plugin that cannot state its schema.
    #[arg(long, value_name = "PATH")]
    contract: Option<PathBuf>,

    /// The call's deadline (`5s`, `500ms`); default 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    #[command(flatten)]
    words: Words,
}

pub async fn run(args: Args, verbose: bool) -> Result<(), Failure> {
    let words = args.words.after_dashes(EXAMPLE).map_err(Failure::new)?;
    let call = split_at_method(words, EXAMPLE).map_err(Failure::new)?;
    one_way(args.json.as_deref(), &call)?;
    let from_file = from_file(args.contract.as_deref(), &call)?;
    let plugin = start(
        call.command,
        Options {
            verbose,
            call_timeout: args.timeout,
        },
    )
    .await?;
    let answer = call_once(&plugin, &call, args.json.as_deref(), from_file.as_ref()).await;
    stop(plugin).await;
    let answer = answer?;
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).expect("a JSON value always prints")
    );
    Ok(())
}

async fn call_once(
    plugin: &Plugin,
    call: &Invocation<'_>,
    json: Option<&str>,
    from_file: Option<&ContractSchema>,
) -> Result<Value, Failure> {
    let prepared = prepare(plugin, call, json, from_file)?;
    prepared.call().await.map_err(|e| Failure::from_error(&e))
}
