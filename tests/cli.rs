//! The `goproc` command-line tool, run as a user runs it, against the
//! calculator plugin in Rust, Python and TypeScript: describe (text checked
//! against a golden file, and JSON), call, check, bench, and failures that
//! are one line on stderr with a non-zero exit.
//!
//! The binary is built by `cargo test --workspace` (the root package's
//! dev-dependency on goproc enables its `cli` feature); alone, build it with
//! `cargo build -p goproc --features cli --bin goproc`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use goproc_codegen::canonical::{parse_schemas, Body, ContractSchema, Fields};

const RUST_PLUGIN: &str = env!("CARGO_BIN_EXE_test-plugin");
const GOLDEN: &str = "tests/cli/calculator.describe.txt";
const CONTRACT: &str = "examples/calculator/contract.rs";

const BUILD: &str = "cargo build -p goproc --features cli --bin goproc";

/// The `goproc` binary, next to the test plugin. `cargo test --test cli`
/// alone does not build it (it belongs to another package), so a binary
/// older than the sources it is built from is refused rather than tested.
fn goproc_bin() -> PathBuf {
    let bin =
        Path::new(RUST_PLUGIN).with_file_name(format!("goproc{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing; build it with `{BUILD}` (`cargo test --workspace` builds it too)",
                bin.display()
            )
        });
    for dir in ["goproc/src", "goproc-codegen/src"] {
        if let Some(newer) = newer_file(&common::root().join(dir), built) {
            panic!(
                "{} is older than {}; rebuild it with `{BUILD}`",
                bin.display(),
                newer.display()
            );
        }
    }
    bin
}

/// A file below `dir` modified after `than`.
fn newer_file(dir: &Path, than: std::time::SystemTime) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = newer_file(&path, than) {
                return Some(found);
            }
        } else if entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > than)
        {
            return Some(path);
        }
    }
    None
}

/// Runs `goproc ARGS`, from the workspace root.
fn goproc(args: &[&str]) -> Output {
    Command::new(goproc_bin())
        .args(args)
        .current_dir(common::root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running goproc")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("goproc prints UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("goproc prints UTF-8")
}

/// The command succeeded; its stdout.
fn success(out: Output) -> String {
    assert!(
        out.status.success(),
        "goproc failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The command failed with `code`, saying so in exactly one stderr line
/// that starts with `goproc: ` and contains `needle`; returns that line.
fn one_line_failure(out: Output, code: i32, needle: &str) -> String {
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status; stdout: {}\nstderr: {err}",
        stdout(&out)
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {err:?}");
    assert!(lines[0].starts_with("goproc: "), "{err}");
    assert!(lines[0].contains(needle), "`{needle}` missing from: {err}");
    lines[0].to_string()
}

fn python_calculator() -> Vec<String> {
    vec![
        common::python::python3().display().to_string(),
        common::root()
            .join("examples/calculator/python/plugin.py")
            .display()
            .to_string(),
    ]
}

fn typescript_calculator() -> Vec<String> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let js = BUILT.get_or_init(|| common::node::build_example("calculator", "ts-cli-calculator"));
    vec![
        common::node::node().display().to_string(),
        js.display().to_string(),
    ]
}

/// `goproc <command> [options] -- <plugin...> [rest...]`.
fn run_on(command: &[&str], plugin: &[String], rest: &[&str]) -> Output {
    let mut args: Vec<&str> = command.to_vec();
    args.push("--");
    args.extend(plugin.iter().map(String::as_str));
    args.extend(rest);
    goproc(&args)
}

fn rust_calculator() -> Vec<String> {
    vec![RUST_PLUGIN.to_string(), "calculator".to_string()]
}

/// The schema without the docs of user types (types, fields, variants),
/// which a Rust plugin does not know at run time.
fn without_type_docs(mut schema: ContractSchema) -> ContractSchema {
    for t in &mut schema.types {
        t.docs.clear();
        let clear = |f: &mut Fields| {
            if let Fields::Named(fs) = f {
                fs.iter_mut().for_each(|f| f.docs.clear());
            }
        };
        match &mut t.body {
            Body::Struct(f) => clear(f),
            Body::Enum(vs) => vs.iter_mut().for_each(|v| {
                v.docs.clear();
                clear(&mut v.fields);
            }),
        }
    }
    schema
}

fn golden() -> String {
    std::fs::read_to_string(common::root().join(GOLDEN)).expect("reading the golden describe text")
}

#[test]
fn describe_prints_the_rust_calculator_as_the_golden_file() {
    let text = success(run_on(&["describe"], &rust_calculator(), &[]));
    assert_eq!(
        text,
        golden(),
        "`goproc describe` of the Rust calculator differs from {GOLDEN}"
    );
}

/// Python and TypeScript plugins know their types' docs too; past those,
/// they describe the calculator exactly as the Rust plugin does.
#[test]
fn describe_prints_the_python_and_typescript_calculators_as_the_rust_one() {
    let golden = golden();
    for (language, plugin) in [
        ("python", python_calculator()),
        ("typescript", typescript_calculator()),
    ] {
        let text = success(run_on(&["describe"], &plugin, &[]));
        assert!(
            text.contains("/// Why a calculation has no answer.\nenum MathError {"),
            "{language} states the docs of its types:\n{text}"
        );
        let schemas = parse_schemas(&text).unwrap_or_else(|e| {
            panic!("{language}'s describe output does not parse: {e:?}\n{text}")
        });
        let bare: Vec<String> = schemas
            .into_iter()
            .map(|s| without_type_docs(s).documented_text())
            .collect();
        assert_eq!(
            bare.join("\n"),
            golden,
            "{language} describes another calculator"
        );
    }
}

#[test]
fn describe_json_gives_each_contract_with_methods_and_types() {
    let text = success(run_on(&["describe", "--json"], &rust_calculator(), &[]));
    let json: serde_json::Value = serde_json::from_str(&text).expect("describe --json prints JSON");
    let calc = &json[0];
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{text}");
    assert_eq!(calc["name"], "Calculator");
    assert_eq!(
        calc["docs"][0],
        "A calculator that lives in another process."
    );
    assert_eq!(calc["events"], false);
    let methods: Vec<&str> = calc["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| m["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(methods, ["add", "divide", "sum", "greet"]);
    let divide = &calc["methods"][1];
    assert_eq!(
        divide["args"][1],
        serde_json::json!({"name": "b", "type": "i64"})
    );
    assert_eq!(divide["returns"], "Result<i64, MathError>");
    let math_error = &calc["types"][0];
    assert_eq!(math_error["name"], "MathError");
    assert_eq!(math_error["kind"], "enum");
    assert_eq!(
        math_error["variants"][1]["fields"][0],
        serde_json::json!({"name": "operation", "docs": [], "type": "String"})
    );
    // Keys keep the documented order.
    let first = text.find("\"name\"").expect("a name");
    assert!(first < text.find("\"methods\"").expect("methods"), "{text}");
}

#[test]
fn call_takes_positional_words_and_json_in_every_language() {
    for plugin in [
        rust_calculator(),
        python_calculator(),
        typescript_calculator(),
    ] {
        let add = success(run_on(&["call"], &plugin, &["Calculator.add", "40", "2"]));
        assert_eq!(add, "42\n", "{plugin:?}");
        // A String parameter takes the word as it is, digits included.
        let greet = success(run_on(&["call"], &plugin, &["Calculator.greet", "007"]));
        assert_eq!(greet, "\"Hello, 007!\"\n", "{plugin:?}");
        let sum = success(run_on(
            &["call", "--json", "[[1.5, 2.25]]"],
            &plugin,
            &["Calculator.sum"],
        ));
        assert_eq!(sum, "3.75\n", "{plugin:?}");
        let by_name = success(run_on(
            &["call", "--json", r#"{"b": 4, "a": 10}"#, "--timeout", "5s"],
            &plugin,
            &["Calculator.divide"],
        ));
        assert_eq!(by_name, "2\n", "{plugin:?}");
    }
}

#[test]
fn a_domain_error_is_marked_and_exits_3() {
    for plugin in [
        rust_calculator(),
        python_calculator(),
        typescript_calculator(),
    ] {
        let out = run_on(&["call"], &plugin, &["Calculator.divide", "1", "0"]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
        assert_eq!(stderr(&out), "domain error: \"DivisionByZero\"\n");
        let out = run_on(
            &["call"],
            &plugin,
            &["Calculator.divide", &i64::MIN.to_string(), "-1"],
        );
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "domain error: {\"Overflow\":{\"operation\":\"-9223372036854775808 / -1\"}}\n"
        );
    }
}

/// `--contract` reads the method's schema from a contract file instead of
/// the plugin's own; a contract the file lacks is named.
#[test]
fn call_reads_the_schema_from_a_contract_file_when_given() {
    let answer = success(run_on(
        &["call", "--contract", CONTRACT],
        &rust_calculator(),
        &["Calculator.greet", "Ada"],
    ));
    assert_eq!(answer, "\"Hello, Ada!\"\n");
    let out = run_on(
        &["call", "--contract", "tests/contracts/lifecycle.rs"],
        &rust_calculator(),
        &["Calculator.add", "1", "2"],
    );
    one_line_failure(
        out,
        1,
        "tests/contracts/lifecycle.rs defines no contract Calculator; it defines: Lifecycle",
    );
}

#[test]
fn check_says_ok_for_the_contract_a_plugin_was_built_from() {
    for plugin in [
        rust_calculator(),
        python_calculator(),
        typescript_calculator(),
    ] {
        let text = success(run_on(&["check", "--contract", CONTRACT], &plugin, &[]));
        assert!(
            text.starts_with("ok: Calculator matches (fingerprint ") && text.lines().count() == 1,
            "{plugin:?}: {text}"
        );
    }
}

#[test]
fn check_names_the_first_difference_of_a_drifted_contract_file() {
    let original = std::fs::read_to_string(common::root().join(CONTRACT)).expect("the contract");
    let drifted = original.replace(
        "operation: String,",
        "operation: String,\n        code: u32,",
    );
    assert_ne!(drifted, original, "the contract file changed shape");
    let file = common::scratch("cli").join("drifted_calculator.rs");
    std::fs::write(&file, drifted).expect("writing the drifted contract");
    let out = run_on(
        &["check", "--contract", file.to_str().expect("a UTF-8 path")],
        &rust_calculator(),
        &[],
    );
    assert_eq!(
        stdout(&out),
        "differs: MathError::Overflow: the contract file has field 2 code: u32, the plugin has \
         no field 2\n",
        "stderr: {}",
        stderr(&out)
    );
    one_line_failure(out, 1, "does not match");
}

#[test]
fn check_reports_a_contract_the_plugin_does_not_serve() {
    let out = run_on(
        &["check", "--contract", "tests/contracts/lifecycle.rs"],
        &rust_calculator(),
        &[],
    );
    assert!(
        stdout(&out)
            .starts_with("missing: the plugin does not serve Lifecycle; it serves: Calculator"),
        "{}",
        stdout(&out)
    );
    one_line_failure(out, 1, "1 of 1 contracts differ or are missing");
}

#[test]
fn bench_prints_calls_per_second_and_percentiles() {
    for plugin in [
        rust_calculator(),
        python_calculator(),
        typescript_calculator(),
    ] {
        let text = success(run_on(
            &["bench", "-c", "8", "-d", "1s", "--warmup", "200ms"],
            &plugin,
            &["Calculator.add", "40", "2"],
        ));
        for line in [
            "  Method:       Calculator.add\n",
            "  Concurrency:  8\n",
            "  Errors:       0\n",
            "Latency distribution:\n",
        ] {
            assert!(text.contains(line), "`{line}` missing from:\n{text}");
        }
        for label in ["p50", "p90", "p99", "p99.9", "max"] {
            assert!(
                text.contains(&format!("\n  {label:<6} ")),
                "{label} missing:\n{text}"
            );
        }
        let value = |key: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .expect(key);
            line[line.find(':').expect("a colon") + 1..]
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        };
        let calls = value("Total calls:");
        let rate = value("Calls/s:");
        assert!(calls >= 8.0, "{text}");
        assert!(rate > 0.0 && rate <= calls / 0.9, "{text}");
    }
}

#[test]
fn without_dashes_the_command_is_refused_in_one_line() {
    let out = goproc(&[
        "call",
        RUST_PLUGIN,
        "calculator",
        "Calculator.add",
        "1",
        "2",
    ]);
    one_line_failure(out, 1, "the plugin command goes after `--`");
    let out = goproc(&["describe"]);
    one_line_failure(out, 1, "no plugin command; write it after `--`");
    let out = goproc(&["call", "--", RUST_PLUGIN, "calculator"]);
    one_line_failure(out, 1, "no method to call");
    let out = goproc(&[
        "bench",
        "-d",
        "soon",
        "--",
        RUST_PLUGIN,
        "calculator",
        "Calculator.add",
    ]);
    one_line_failure(out, 1, "`soon` is not a duration");
}

#[test]
fn an_unknown_method_or_contract_is_refused_in_one_line() {
    let out = run_on(
        &["call"],
        &rust_calculator(),
        &["Calculator.multiply", "1", "2"],
    );
    one_line_failure(
        out,
        1,
        "Calculator has no method multiply; its methods: add, divide, sum, greet",
    );
    let out = run_on(&["call"], &rust_calculator(), &["Abacus.add", "1", "2"]);
    one_line_failure(
        out,
        1,
        "does not serve contract Abacus; it serves: Calculator",
    );
    let out = run_on(
        &["call"],
        &rust_calculator(),
        &["Calculator.add", "1", "two"],
    );
    one_line_failure(out, 1, "argument b: i64: `two` is not JSON");
}

#[test]
fn a_plugin_that_exits_or_cannot_start_is_reported_in_one_line() {
    let out = run_on(
        &["describe"],
        &[RUST_PLUGIN.to_string(), "exit-at-once".into()],
        &[],
    );
    let line = one_line_failure(out, 1, "exited (exit status: 3");
    assert!(
        line.contains("fatal: the configuration file is missing"),
        "{line}"
    );
    let out = run_on(
        &["call"],
        &["/nonexistent/plugin".to_string()],
        &["Calculator.add"],
    );
    one_line_failure(out, 1, "could not start plugin `plugin`");
}

/// A plugin that writes to stderr while it serves does not garble the
/// answer: its lines are hidden, and `-v` shows them on stderr, each
/// marked with the plugin's name.
#[test]
fn the_plugins_own_output_is_hidden_unless_verbose() {
    let plugin = [RUST_PLUGIN.to_string(), "lifecycle".into()];
    let log = ["Lifecycle.log", r#"["noise one", "noise two"]"#];
    let out = run_on(&["call"], &plugin, &log);
    assert_eq!((stdout(&out), stderr(&out)), ("null\n".into(), "".into()));
    assert!(out.status.success());
    let out = run_on(&["-v", "call"], &plugin, &log);
    assert_eq!(stdout(&out), "null\n");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() == 2
            && lines[0].starts_with("[test-plugin ")
            && lines[0].ends_with("] noise one")
            && lines[1].ends_with("] noise two"),
        "{err}"
    );
    // A plugin that exits before it connects: its lines, then goproc's own.
    let out = run_on(
        &["-v", "describe"],
        &[RUST_PLUGIN.to_string(), "exit-at-once".into()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() >= 2
            && lines[0].starts_with("[test-plugin ")
            && lines[0].ends_with("the configuration file is missing")
            && lines.last().is_some_and(|l| l.starts_with("goproc: ")),
        "{err}"
    );
}

#[test]
fn help_shows_examples() {
    for command in ["describe", "call", "check", "bench"] {
        let text = success(goproc(&[command, "--help"]));
        assert!(
            text.contains("Examples:\n  goproc "),
            "{command} --help:\n{text}"
        );
    }
    let text = success(goproc(&["--help"]));
    assert!(
        text.contains("cargo install --path goproc --features cli"),
        "{text}"
    );
}

#[test]
fn manifest_writes_a_skeleton_with_the_fingerprint_and_hashes_that_a_registry_reads() {
    let dir = common::scratch("cli-manifest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("plugin.py"), "print('a plugin')\n").expect("writing plugin.py");
    let out = dir.join("plugin.toml");
    let out_arg = out.display().to_string();
    let args = [
        "manifest",
        "--contract",
        CONTRACT,
        "--lang",
        "python",
        "--name",
        "calc",
        "--namespace",
        "math",
        "--description",
        "Adds (and divides)",
        "--out",
        &out_arg,
        "--checksum",
        "plugin.py",
    ];
    let written = goproc(&args);
    assert!(written.status.success(), "{}", stderr(&written));
    let manifest = goproc::registry::Manifest::load(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest.id(), "math/calc");
    assert_eq!(manifest.description.as_deref(), Some("Adds (and divides)"));
    assert_eq!(manifest.run.command, "python3");
    assert_eq!(manifest.run.args, ["plugin.py"]);
    let fingerprint = goproc_codegen::model::schema::load(&[common::root().join(CONTRACT)])
        .expect("the calculator contract")
        .contracts[0]
        .contract
        .fingerprint
        .clone();
    assert_eq!(
        manifest.serves_fingerprint("Calculator"),
        Some(fingerprint.as_str())
    );
    assert_eq!(
        manifest.checksums[0].sha256,
        goproc::registry::sha256_file(dir.join("plugin.py")).expect("hashing")
    );
    // The header quotes the command, so that it can be run again.
    let text = std::fs::read_to_string(&out).expect("the manifest");
    assert!(
        text.contains(&format!(
            "#   goproc manifest --contract {CONTRACT} --lang python --name calc --namespace math \
             --description 'Adds (and divides)' --out {out_arg} --checksum plugin.py\n"
        )),
        "{text}"
    );

    // An existing manifest is kept unless --force says otherwise.
    let again = goproc(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("exists and was left as it is; give --force to replace it"),
        "{}",
        stderr(&again)
    );
    let printed = goproc(&["manifest", "--contract", CONTRACT, "--lang", "rust"]);
    assert!(printed.status.success(), "{}", stderr(&printed));
    assert!(stdout(&printed).contains("\ncommand = \"bin/calculator\"\n"));

    let missing = goproc(&[
        "manifest",
        "--contract",
        CONTRACT,
        "--lang",
        "rust",
        "--checksum",
        "nowhere.bin",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("--checksum nowhere.bin: cannot read ./nowhere.bin"),
        "{}",
        stderr(&missing)
    );
}
