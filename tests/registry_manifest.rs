//! Scanning plugin folders with real files: good manifests load side by
//! side with bad ones, and each bad one is reported with its file, line
//! and reason.

mod registry_support;

use std::path::{Path, PathBuf};

use goproc::registry::{scan, Manifest};
use goproc::Error;
use registry_support::{
    calculator_fingerprint, rust_calculator, scratch, write_plugin, ManifestText, PluginFolder,
};

/// The problem about `file`, as (line, column, reason).
fn problem_of(problems: &[Error], file: &Path) -> (usize, usize, String) {
    let found: Vec<_> = problems
        .iter()
        .filter_map(|p| match p {
            Error::Manifest {
                file: f,
                line,
                column,
                reason,
            } if f == file => Some((*line, *column, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one problem about {}, got {problems:#?}",
        file.display()
    );
    found.into_iter().next().unwrap()
}

/// A folder of plugins: two good ones and one of each kind of bad one.
struct Mixed {
    root: PathBuf,
    good_calc: PluginFolder,
    good_python: PluginFolder,
    syntax: PluginFolder,
    unknown_key: PluginFolder,
    bad_fingerprint: PluginFolder,
    duplicate: PluginFolder,
    missing_command: PluginFolder,
}

fn mixed(root: &Path) -> Mixed {
    let good_calc = rust_calculator(root, "a-calc", "math", "calc");
    let good_python = write_plugin(
        root,
        "b-py",
        &ManifestText::new("math", "pycalc", "python3")
            .arg("plugin.py")
            .render(),
    );
    // Line 3 has no closing quote.
    let syntax = write_plugin(
        root,
        "c-syntax",
        "name = \"broken\"\nnamespace = \"math\"\nversion = \"1.0\n[run]\ncommand = \"x\"\n",
    );
    let unknown_key = write_plugin(
        root,
        "d-typo",
        &ManifestText::new("math", "typo", "python3")
            .render()
            .replace("command = ", "comand = "),
    );
    let bad_fingerprint = write_plugin(
        root,
        "e-fp",
        &ManifestText::new("math", "short", "python3")
            .serves(&[("Calculator", "e051df69")])
            .render(),
    );
    // Same id as a-calc, found after it (folders load in name order).
    let duplicate = write_plugin(
        root,
        "f-dup",
        &ManifestText::new("math", "calc", "python3").render(),
    );
    let missing_command = write_plugin(
        root,
        "g-missing",
        &ManifestText::new("math", "gone", "bin/gone").render(),
    );
    Mixed {
        root: root.to_path_buf(),
        good_calc,
        good_python,
        syntax,
        unknown_key,
        bad_fingerprint,
        duplicate,
        missing_command,
    }
}

#[test]
fn good_manifests_load_beside_bad_ones_and_each_bad_one_says_where_and_why() {
    let dir = scratch();
    let m = mixed(dir.path());
    // A folder without a manifest (shared files) and a hidden one are passed over.
    std::fs::create_dir_all(m.root.join("shared/lib")).unwrap();
    write_plugin(&m.root, ".hidden", "this is not toml at all [");

    let found = scan(std::slice::from_ref(&m.root));

    let ids: Vec<String> = found.manifests.iter().map(Manifest::id).collect();
    assert_eq!(ids, ["math/calc", "math/pycalc"], "{:#?}", found.problems);
    assert_eq!(found.manifests[0].path, m.good_calc.manifest);
    assert_eq!(found.manifests[0].folder, m.good_calc.folder);
    assert_eq!(
        found.manifests[0].serves_fingerprint("Calculator"),
        Some(calculator_fingerprint())
    );
    assert_eq!(found.manifests[1].path, m.good_python.manifest);
    assert_eq!(found.problems.len(), 5, "{:#?}", found.problems);

    let (line, _, reason) = problem_of(&found.problems, &m.syntax.manifest);
    assert_eq!(line, 3, "{reason}");
    assert!(!reason.is_empty());

    let (line, column, reason) = problem_of(&found.problems, &m.unknown_key.manifest);
    assert_eq!((line, column), (6, 1), "{reason}");
    assert!(reason.contains("unknown field `comand`"), "{reason}");
    assert!(reason.contains("expected one of"), "{reason}");

    let (line, column, reason) = problem_of(&found.problems, &m.bad_fingerprint.manifest);
    assert_eq!((line, column), (11, 15), "{reason}");
    assert!(reason.contains("must be 64 hex digits"), "{reason}");

    let (line, column, reason) = problem_of(&found.problems, &m.duplicate.manifest);
    assert_eq!((line, column), (1, 8), "{reason}");
    assert!(
        reason.contains("plugin id `math/calc` is already taken by"),
        "{reason}"
    );
    assert!(
        reason.contains(&m.good_calc.manifest.display().to_string()),
        "names the first file: {reason}"
    );

    let (line, column, reason) = problem_of(&found.problems, &m.missing_command.manifest);
    assert_eq!((line, column), (6, 11), "{reason}");
    assert!(
        reason.contains("[run] command `bin/gone` does not exist"),
        "{reason}"
    );
    assert!(
        reason.contains(&m.missing_command.file("bin/gone").display().to_string()),
        "{reason}"
    );

    // The whole message reads file:line:column: reason.
    let text = found
        .problems
        .iter()
        .find(|p| matches!(p, Error::Manifest { file, .. } if *file == m.unknown_key.manifest))
        .unwrap()
        .to_string();
    assert!(
        text.starts_with(&format!(
            "{}:6:1: unknown field `comand`",
            m.unknown_key.manifest.display()
        )),
        "{text}"
    );
}

#[test]
fn a_plugin_folder_can_be_given_directly_and_folders_load_in_order() {
    let dir = scratch();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let calc = rust_calculator(&first, "calc", "math", "calc");
    write_plugin(
        &second,
        "calc",
        &ManifestText::new("acme", "calc", "python3").render(),
    );
    // The same id again in a later folder: the first folder wins.
    let again = write_plugin(
        &second,
        "again",
        &ManifestText::new("math", "calc", "python3").render(),
    );

    let found = scan(&[calc.folder.clone(), second.clone()]);
    let ids: Vec<String> = found.manifests.iter().map(Manifest::id).collect();
    assert_eq!(ids, ["math/calc", "acme/calc"], "{:#?}", found.problems);
    assert_eq!(found.problems.len(), 1);
    let (_, _, reason) = problem_of(&found.problems, &again.manifest);
    assert!(
        reason.contains(&calc.manifest.display().to_string()),
        "{reason}"
    );
}

#[test]
fn a_folder_that_cannot_be_read_is_a_problem_not_a_failure() {
    let dir = scratch();
    let calc = rust_calculator(dir.path(), "calc", "math", "calc");
    let missing = dir.path().join("no-such-folder");
    let found = scan(&[missing.clone(), dir.path().to_path_buf()]);
    assert_eq!(found.manifests.len(), 1);
    assert_eq!(found.manifests[0].path, calc.manifest);
    let (line, _, reason) = problem_of(&found.problems, &missing);
    assert_eq!(line, 0);
    assert!(
        reason.contains("could not read the plugin folder"),
        "{reason}"
    );
}

#[test]
fn a_manifest_loads_with_its_folder_and_resolved_command() {
    let dir = scratch();
    let calc = rust_calculator(dir.path(), "calc", "math", "calc");
    let m = Manifest::load(&calc.manifest).unwrap();
    assert_eq!(m.id(), "math/calc");
    assert_eq!(m.program(), calc.file("bin/test-plugin"));
    assert_eq!(m.run.args, ["calculator"]);
    assert_eq!(m.checksums.len(), 1);
    assert_eq!(
        m.checksums[0].sha256,
        goproc::registry::sha256_file(calc.file("bin/test-plugin")).unwrap()
    );
    // It passes the checks a registry runs before starting it.
    m.verify(&[]).unwrap();
}
