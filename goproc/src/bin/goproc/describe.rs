//! `goproc describe`: the contracts a running plugin serves, as it states them.

use crate::cmdline::Words;
use crate::failure::Failure;
use crate::start::{start, stop, Options};

const EXAMPLE: &str = "goproc describe -- ./my-plugin";

/// Print the contracts a plugin serves: methods, types, fields, variants and docs.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  goproc describe -- ./target/release/calculator-plugin
  goproc describe -- python3 plugin.py
  goproc describe --json -- node dist/plugin.js

The text is Rust-like, one contract after the other, with the docs the plugin knows (a Rust plugin
knows the docs of its traits and methods, not of its types). --json prints an array, one object per
contract, keys in this order:
  {\"name\", \"docs\": [lines], \"events\": bool, \"methods\": [...], \"types\": [...]}
  method: {\"name\", \"docs\", \"args\": [{\"name\", \"type\"}], \"returns\"}
  struct: {\"name\", \"docs\", \"kind\": \"struct\", \"shape\", \"fields\"}
  enum:   {\"name\", \"docs\", \"kind\": \"enum\", \"variants\": [{\"name\", \"docs\", \"shape\", \"fields\"}]}
  field:  {\"name\" (null in a tuple), \"docs\", \"type\"}; shape: \"unit\", \"tuple\" or \"named\"
Types are written as in the text: \"i64\", \"Vec<f64>\", \"Result<i64, MathError>\", \"Map<String, u64>\".")]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    words: Words,
}

pub async fn run(args: Args, verbose: bool) -> Result<(), Failure> {
    let command = args.words.after_dashes(EXAMPLE).map_err(Failure::new)?;
    let plugin = start(command, Options::default_deadline(verbose)).await?;
    let described = plugin.describe().await;
    stop(plugin).await;
    let schemas = described.map_err(|e| Failure::from_error(&e))?;
    if args.json {
        let json = crate::schema_json::contracts(&schemas);
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("a JSON value always prints")
        );
    } else {
        let texts: Vec<String> = schemas.iter().map(|s| s.documented_text()).collect();
        print!("{}", texts.join("\n"));
    }
    Ok(())
}
