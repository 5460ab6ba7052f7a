//! `goproc check`: whether a running plugin matches a contract file, and
//! where it first differs when it does not.

use std::path::PathBuf;

use goproc::schema::{first_difference, ContractSchema};
use goproc::Plugin;

use crate::cmdline::Words;
use crate::contract_file::{self, FileContract};
use crate::failure::Failure;
use crate::start::{start, stop, Options};

const EXAMPLE: &str = "goproc check --contract src/contract.rs -- ./my-plugin";

/// Check a plugin against a contract file: every contract in the file, field by field.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints one line per contract in the file: `ok: Calculator matches (fingerprint ...)`, or
`differs: <the first difference>`, or `missing: ...` when the plugin does not serve it; exits 1
unless every contract matches. Event contracts in the file are skipped (nothing serves them).

Examples:
  goproc check --contract examples/calculator/contract.rs -- ./target/debug/calculator-plugin
  goproc check --contract src/ -- python3 plugin.py")]
pub struct Args {
    /// The Rust file (or crate folder) that defines the contracts.
    #[arg(long, value_name = "PATH")]
    contract: PathBuf,

    #[command(flatten)]
    words: Words,
}

pub async fn run(args: Args, verbose: bool) -> Result<(), Failure> {
    let command = args.words.after_dashes(EXAMPLE).map_err(Failure::new)?;
    let expected = contract_file::load(&args.contract)?;
    let plugin = start(command, Options::default_deadline(verbose)).await?;
    let mut differing = 0;
    for FileContract {
        schema,
        fingerprint,
    } in &expected
    {
        match compare(&plugin, schema, fingerprint) {
            Ok(line) => println!("{line}"),
            Err(line) => {
                println!("{line}");
                differing += 1;
            }
        }
    }
    let name = plugin.name().to_string();
    stop(plugin).await;
    if differing > 0 {
        return Err(Failure::new(format!(
            "plugin `{name}` does not match {}: {differing} of {} contracts differ or are missing",
            args.contract.display(),
            expected.len()
        )));
    }
    Ok(())
}

/// Compares one contract of the file with what the plugin announced: the
/// line to print, as `Ok` when they match.
fn compare(plugin: &Plugin, ours: &ContractSchema, fingerprint: &str) -> Result<String, String> {
    let Some((_, theirs_fingerprint)) = plugin.contracts().find(|(name, _)| *name == ours.name)
    else {
        let served: Vec<&str> = plugin.contracts().map(|(name, _)| name).collect();
        return Err(format!(
            "missing: the plugin does not serve {}; it serves: {}",
            ours.name,
            served.join(", ")
        ));
    };
    match plugin.schema(&ours.name) {
        Ok(theirs) => {
            if let Some(d) = first_difference(ours, theirs) {
                return Err(format!(
                    "differs: {}",
                    d.describe("the contract file", "the plugin")
                ));
            }
        }
        // Only the fingerprint can be compared: say that the types were not.
        Err(e) if fingerprint == theirs_fingerprint => {
            return Ok(format!(
                "ok: {} matches by fingerprint ({fingerprint}); its types were not compared: {e}",
                ours.name
            ));
        }
        Err(_) => {}
    }
    if fingerprint != theirs_fingerprint {
        return Err(format!(
            "differs: {}: the contract file has fingerprint {fingerprint}, the plugin has \
             {theirs_fingerprint}",
            ours.name
        ));
    }
    Ok(format!(
        "ok: {} matches (fingerprint {fingerprint})",
        ours.name
    ))
}
