//! The `goproc-codegen --lang typescript` command line: it writes the
//! stubs, `--check` fails on a stale folder and passes on a fresh one, and
//! the checked-in examples' stubs are up to date.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_goproc-codegen");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("running goproc-codegen")
}

#[test]
fn check_fails_on_a_stale_folder_and_passes_on_a_fresh_one() {
    // A fresh folder under the target directory's scratch space.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("typescript-cli-check");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_str().expect("utf-8 path");
    let contract = "examples/kv/contract.rs";

    // Nothing written yet: stale.
    let check = run(&["--lang", "typescript", "--check", "--out", out, contract]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stderr).contains("contract.ts"));

    let write = run(&["--lang", "typescript", "--out", out, contract]);
    assert!(write.status.success(), "{write:?}");
    let module = std::fs::read_to_string(dir.join("contract.ts")).expect("contract.ts");
    assert!(
        module.contains("export interface KeyValueStore {"),
        "{module}"
    );
    assert!(dir.join("goproc_runtime.ts").is_file());

    let check = run(&["--lang", "typescript", "--check", "--out", out, contract]);
    assert!(check.status.success(), "{check:?}");

    // A hand edit makes it stale again, and names the file.
    std::fs::write(dir.join("goproc_runtime.ts"), "// edited\n").expect("edit");
    let check = run(&["--lang", "typescript", "--check", "--out", out, contract]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stderr).contains("goproc_runtime.ts"));
}

#[test]
fn the_checked_in_example_stubs_are_up_to_date() {
    for (contract, out) in [
        (
            "examples/calculator/contract.rs",
            "examples/calculator/typescript/generated",
        ),
        (
            "examples/host_services/contract.rs",
            "examples/host_services/typescript/generated",
        ),
        (
            "examples/streams/contract.rs",
            "examples/streams/typescript/generated",
        ),
        (
            "examples/events/contract.rs",
            "examples/events/typescript/generated",
        ),
    ] {
        let check = run(&["--lang", "typescript", "--check", "--out", out, contract]);
        assert!(
            check.status.success(),
            "regenerate with `cargo run -p goproc-codegen -- --lang typescript --out {out} \
             {contract}`: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}
