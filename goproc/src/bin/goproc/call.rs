//! `goproc call`: one call by name, arguments and answer as JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use goproc::schema::ContractSchema;
use goproc::{Plugin, PreparedCall};
use serde_json::Value;

use crate::cmdline::{parse_duration, positional_args, split_at_method, Invocation, Words};
use crate::failure::Failure;
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
is printed as `domain error: <json>` on stderr, with exit status 3. See docs/CONTRACTS.md (JSON)
for how each type is written.")]
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
    if args.json.is_some() && !call.args.is_empty() {
        return Err(Failure::new(format!(
            "arguments both in --json and after {}; give them one way",
            call.path
        )));
    }
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

/// The contract named by the method path, from `--contract` when given.
pub fn from_file(
    contract: Option<&Path>,
    call: &Invocation<'_>,
) -> Result<Option<ContractSchema>, Failure> {
    contract
        .map(|path| crate::contract_file::find(path, &call.path.contract))
        .transpose()
}

/// The call with its arguments encoded through the contract's schema: the
/// contract file's when one is given, otherwise the one the plugin states.
pub fn prepare(
    plugin: &Plugin,
    call: &Invocation<'_>,
    json: Option<&str>,
    from_file: Option<&ContractSchema>,
) -> Result<PreparedCall, Failure> {
    let schema = match from_file {
        Some(schema) => schema,
        None => served_schema(plugin, &call.path.contract)?,
    };
    let args = arguments(call, json, schema)?;
    plugin
        .prepare_json_with(schema, &call.path.to_string(), args)
        .map_err(|e| Failure::from_error(&e))
}

/// The JSON arguments of a call: `--json` as given, or the words after the
/// method, read through the method's schema when there is one.
fn arguments(
    call: &Invocation<'_>,
    json: Option<&str>,
    schema: &ContractSchema,
) -> Result<Value, Failure> {
    let (_, method) = schema.method(&call.path.method).ok_or_else(|| {
        let names: Vec<&str> = schema.methods.iter().map(|m| m.name.as_str()).collect();
        Failure::new(format!(
            "{} has no method {}; its methods: {}",
            call.path.contract,
            call.path.method,
            names.join(", ")
        ))
    })?;
    if let Some(json) = json {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Failure::new(format!("--json is not JSON: {e}")))?;
        if !(value.is_array() || value.is_object()) {
            return Err(Failure::new(format!(
                "--json must be an array of the arguments or an object by argument name, not {value}"
            )));
        }
        return Ok(value);
    }
    positional_args(&call.path, method, call.args).map_err(Failure::new)
}

/// The plugin's own schema of `contract`; an error when it does not serve
/// the contract, or cannot state its schema.
fn served_schema<'p>(plugin: &'p Plugin, contract: &str) -> Result<&'p ContractSchema, Failure> {
    plugin.schema(contract).map_err(|e| match e {
        goproc::Error::NoSchema { .. } => Failure::new(format!(
            "{e}; give the contract file with --contract to call it through that"
        )),
        e => Failure::from_error(&e),
    })
}
