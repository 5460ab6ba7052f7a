//! `goproc-codegen`: Python and TypeScript plugin stubs from the Rust traits
//! marked `#[plugin_interface]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use goproc_codegen::{output, GenerateError, Lang};

/// Writes Python or TypeScript plugin stubs from Rust contract traits.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "The generated headers name the source files relative to the current \
                  directory, so run --check from the folder the stubs were generated in."
)]
struct Cli {
    /// The language to write.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to write into.
    #[arg(long)]
    out: PathBuf,
    /// Write nothing; exit with status 1 when OUT differs from what would be
    /// written, naming each stale file and its first differing line.
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
        let stale = output::check(&cli.out, &files);
        if stale.is_empty() {
            println!(
                "goproc-codegen: the stubs in {} are up to date ({} files)",
                cli.out.display(),
                files.len()
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "goproc-codegen: {} of the {} files in {} are stale; run the same command without \
             --check to regenerate them:",
            stale.len(),
            files.len(),
            cli.out.display()
        );
        for s in &stale {
            eprintln!("  {s}");
        }
        if stale.iter().any(|s| s.why.only_the_header()) {
            let here = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "the current directory".to_string());
            eprintln!(
                "goproc-codegen: a header names the source files relative to the folder \
                 goproc-codegen runs in (now {here}); to check stubs generated from another \
                 folder, run it from that folder"
            );
        }
        return ExitCode::from(1);
    }
    match output::write(&cli.out, &files) {
        Ok(written) => {
            for w in written {
                let what = if w.changed { "wrote" } else { "unchanged" };
                println!("{what} {}", w.path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("goproc-codegen: writing {}: {e}", cli.out.display());
            ExitCode::from(2)
        }
    }
}
