//! `goproc-codegen`: Python and TypeScript plugin stubs from the Rust traits
//! marked `#[plugin_interface]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use goproc_codegen::{output, GenerateError, Lang};

/// Writes Python or TypeScript plugin stubs from Rust contract traits.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The language to write.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to write into.
    #[arg(long)]
    out: PathBuf,
    /// Write nothing; exit with status 1 and list the files when OUT differs
    /// from what would be written.
    #[arg(long)]
    check: bool,
    /// `.rs` files, or crate folders to search for `#[plugin_interface]` traits.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let files = match goproc_codegen::generate(cli.lang, &cli.inputs) {
        Ok(files) => files,
        Err(GenerateError::Model(diagnostics)) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            eprintln!(
                "goproc-codegen: {} error(s); nothing written",
                diagnostics.len()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("goproc-codegen: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check {
        let stale = output::stale(&cli.out, &files);
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!("goproc-codegen: these files are stale; run goproc-codegen without --check:");
        for path in stale {
            eprintln!("  {}", path.display());
        }
        return ExitCode::from(1);
    }
    match output::write_all(&cli.out, &files) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("goproc-codegen: writing {}: {e}", cli.out.display());
            ExitCode::from(2)
        }
    }
}
