//! In-process testing in TypeScript: a `node:test` file tests a plugin's
//! handler through the generated `calculatorTestClient`, whose calls go
//! through the real codecs and dispatcher (docs/TYPESCRIPT.md, "Testing").
//! It passes against the generated stubs, and fails, naming the call, when
//! the stubs' codec is broken: a value that does not round-trip. The
//! example of the docs passes too.

mod common;

use std::path::Path;
use std::process::Command;

/// The node:test file and the handler it tests, from `tests/typescript/`.
const SOURCES: [&str; 2] = ["calculator_handler.ts", "calculator.test.ts"];

/// Runs `node --test` on `file`; returns whether it passed, and its report.
fn node_test(file: &Path) -> (bool, String) {
    let out = Command::new(common::node::node())
        .arg("--test")
        .arg("--test-reporter=tap")
        .arg(file)
        .output()
        .expect("running node --test");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// The number after `# pass` or `# fail` in a TAP report.
fn count(report: &str, what: &str) -> usize {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("# {what} ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `# {what}` line in the report:\n{report}"))
}

#[test]
fn a_node_test_of_a_handler_passes_through_the_in_process_client() {
    let out = common::node::build("node-test", &["examples/calculator/contract.rs"], &SOURCES);
    let (ok, report) = node_test(&out.join("calculator.test.js"));
    assert!(ok, "node --test failed:\n{report}");
    assert_eq!(count(&report, "pass"), 7, "{report}");
    assert_eq!(count(&report, "fail"), 0, "{report}");
}

#[test]
fn a_codec_bug_in_the_stubs_fails_the_node_test_that_crosses_it() {
    // The stubs with one hand-made bug: the plugin side writes `sum`'s f64
    // answer as an f32. A test that called the handler directly would pass.
    let dir = common::scratch("node-test-codec-bug");
    let _ = std::fs::remove_dir_all(&dir);
    common::node::generate(
        &[common::root().join("examples/calculator/contract.rs")],
        &dir,
    );
    let module = dir.join("calculator.ts");
    let text = std::fs::read_to_string(&module).expect("reading the generated calculator.ts");
    let right = "      (w, v) => w.f64(v),\n";
    assert_eq!(
        text.matches(right).count(),
        1,
        "expected one f64 answer encoder (sum's) in the generated calculator.ts"
    );
    std::fs::write(&module, text.replace(right, "      (w, v) => w.f32(v),\n"))
        .expect("writing the broken calculator.ts");
    let mut files = vec![module.display().to_string()];
    for source in SOURCES {
        std::fs::copy(
            common::root().join("tests/typescript").join(source),
            dir.join(source),
        )
        .expect("copying a test source");
        files.push(dir.join(source).display().to_string());
    }
    common::node::mark_es_modules(&dir);
    let out = dir.join("out");
    common::node::tsc_strict(&["--outDir", &out.display().to_string()], &files);

    let (ok, report) = node_test(&out.join("calculator.test.js"));
    assert!(!ok, "node --test passed with a broken codec:\n{report}");
    assert_eq!(count(&report, "fail"), 1, "{report}");
    assert_eq!(count(&report, "pass"), 6, "{report}");
    assert!(
        report.contains("not ok 3 - sum comes back bit for bit"),
        "the failing test is not the one that sums:\n{report}"
    );
    assert!(
        report.contains("the implementation's answer to Calculator.sum does not decode"),
        "the failure does not say the answer did not decode:\n{report}"
    );
}

#[test]
fn the_testing_section_of_the_docs_compiles_and_passes() {
    let docs = std::fs::read_to_string(common::root().join("docs/TYPESCRIPT.md"))
        .expect("reading docs/TYPESCRIPT.md");
    let start = docs
        .find("\n## Testing\n")
        .expect("docs/TYPESCRIPT.md has a Testing section");
    let section = &docs[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    // Its two snippets: the handler module, then the node:test file.
    let snippets: Vec<&str> = section
        .split("```ts\n")
        .skip(1)
        .map(|s| &s[..s.find("```").expect("a closed code block")])
        .collect();
    assert_eq!(
        snippets.len(),
        2,
        "expected two TypeScript snippets:\n{section}"
    );

    let dir = common::scratch("node-test-docs");
    let _ = std::fs::remove_dir_all(&dir);
    common::node::generate(
        &[common::root().join("examples/calculator/contract.rs")],
        &dir.join("generated"),
    );
    let files = [
        ("calculator_handler.ts", snippets[0]),
        ("calculator.test.ts", snippets[1]),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("writing a snippet");
    }
    common::node::mark_es_modules(&dir);
    let out = dir.join("dist");
    common::node::tsc_strict(
        &["--outDir", &out.display().to_string()],
        &[dir.join("calculator.test.ts").display().to_string()],
    );
    let (ok, report) = node_test(&out.join("calculator.test.js"));
    assert!(ok, "the docs' node:test example failed:\n{report}");
    assert_eq!(count(&report, "pass"), 3, "{report}");
}
