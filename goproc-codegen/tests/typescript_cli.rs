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

    // Nothing written yet: stale. The module is named after the file's one
    // contract, `KeyValueStore`, as the Python module is.
    let check = run(&["--lang", "typescript", "--check", "--out", out, contract]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stderr).contains("key_value_store.ts"));

    let write = run(&["--lang", "typescript", "--out", out, contract]);
    assert!(write.status.success(), "{write:?}");
    let module =
        std::fs::read_to_string(dir.join("key_value_store.ts")).expect("key_value_store.ts");
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
        // A module left from an older naming rule (`contract.ts` for a file
        // with one contract) would still compile, and mislead its importer.
        let expected = goproc_codegen::generate(
            goproc_codegen::Lang::Typescript,
            &[workspace().join(contract)],
        )
        .unwrap_or_else(|e| panic!("{contract}: {e}"));
        for entry in std::fs::read_dir(workspace().join(out)).expect("listing the stubs") {
            let name = PathBuf::from(entry.expect("dir entry").file_name());
            assert!(
                expected.iter().any(|f| f.path == name),
                "{out}/{} is not generated from {contract} any more; delete it",
                name.display()
            );
        }
    }
}
