use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Checksum, ContractEntry, Manifest, PoolSettings};
use crate::{Error, RestartPolicy};

const FP: &str = "e051df6900000000000000000000000000000000000000000000000000abcdef";
const FP2: &str = "7ab3000000000000000000000000000000000000000000000000000000000001";
const SUM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const FULL: &str = r#"name = "calc"
namespace = "math"
version = "1.2.0"
description = "Adds and divides"
lazy = false

[run]
command = "bin/calc"
args = ["--fast", "x y"]
env = { LOG_LEVEL = "info" }
start_timeout = "5s"
call_timeout = "250ms"

[[serves]]
contract = "Calculator"
fingerprint = "E051DF6900000000000000000000000000000000000000000000000000ABCDEF"

[[requires]]
contract = "Logger"
fingerprint = "7ab3000000000000000000000000000000000000000000000000000000000001"

[checksums]
"bin/calc" = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
"lib/data.bin" = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

[pool]
size = 3
max_in_flight = 16

[restart]
max_restarts = 2
window = "30s"
initial_backoff = "5ms"
max_backoff = "1s"
"#;

fn minimal(extra: &str) -> String {
    format!(
        "name = \"calc\"\nnamespace = \"math\"\nversion = \"1\"\n{extra}\n[run]\ncommand = \
         \"python3\"\n\n[[serves]]\ncontract = \"Calculator\"\nfingerprint = \"{FP}\"\n"
    )
}

fn file() -> PathBuf {
    PathBuf::from("plugins/calc/plugin.toml")
}

/// Parses `text` and returns the error's line, column and reason, after
/// checking that it names the file.
fn refused(text: &str) -> (usize, usize, String) {
    match Manifest::parse(text, file()) {
        Ok(m) => panic!("the manifest was accepted: {m:?}"),
        Err(Error::Manifest {
            file: f,
            line,
            column,
            reason,
        }) => {
            assert_eq!(f, file());
            (line, column, reason)
        }
        Err(other) => panic!("not a manifest error: {other}"),
    }
}

#[test]
fn reads_every_field() {
    let m = Manifest::parse(FULL, file()).unwrap();
    assert_eq!(m.id(), "math/calc");
    assert_eq!(m.path, file());
    assert_eq!(m.folder, Path::new("plugins/calc"));
    assert_eq!(m.version, "1.2.0");
    assert_eq!(m.description.as_deref(), Some("Adds and divides"));
    assert!(!m.lazy);
    assert_eq!(m.run.command, "bin/calc");
    assert_eq!(m.run.args, ["--fast", "x y"]);
    assert_eq!(m.run.env.get("LOG_LEVEL").map(String::as_str), Some("info"));
    assert_eq!(m.run.start_timeout, Some(Duration::from_secs(5)));
    assert_eq!(m.run.call_timeout, Some(Some(Duration::from_millis(250))));
    assert_eq!(
        m.serves,
        [ContractEntry {
            contract: "Calculator".into(),
            fingerprint: FP.into()
        }]
    );
    assert_eq!(m.requires[0].fingerprint, FP2);
    // Both spellings of a sha256 read as the bare lowercase form.
    assert_eq!(
        m.checksums,
        [
            Checksum {
                path: "bin/calc".into(),
                sha256: SUM.into()
            },
            Checksum {
                path: "lib/data.bin".into(),
                sha256: SUM.into()
            }
        ]
    );
    assert_eq!(
        m.pool,
        PoolSettings {
            size: 3,
            max_in_flight: 16
        }
    );
    assert_eq!(m.restart.max_restarts, 2);
    assert_eq!(m.restart.window, Duration::from_secs(30));
    assert_eq!(m.restart.initial_backoff, Duration::from_millis(5));
    assert_eq!(m.restart.max_backoff, Duration::from_secs(1));
    assert_eq!(
        m.command_file(),
        Some(PathBuf::from("plugins/calc/bin/calc"))
    );
    assert_eq!(
        m.program(),
        std::env::current_dir()
            .unwrap()
            .join("plugins/calc/bin/calc")
    );
    assert_eq!(m.serves_fingerprint("Calculator"), Some(FP));
    assert_eq!(m.serves_fingerprint("Logger"), None);
}

#[test]
fn fills_defaults() {
    let m = Manifest::parse(&minimal(""), "plugin.toml").unwrap();
    assert_eq!(m.folder, Path::new("."));
    assert!(m.lazy);
    assert_eq!(m.description, None);
    assert!(m.requires.is_empty() && m.checksums.is_empty() && m.run.args.is_empty());
    assert_eq!(m.run.start_timeout, None);
    assert_eq!(m.run.call_timeout, None);
    assert_eq!(m.pool, PoolSettings::default());
    assert_eq!(m.restart, RestartPolicy::default());
    // A bare command is looked up on PATH: no file in the folder.
    assert_eq!(m.command_file(), None);
    assert_eq!(m.program(), PathBuf::from("python3"));
}

#[test]
fn call_timeout_none_means_no_deadline() {
    let text = minimal("").replace(
        "command = \"python3\"",
        "command = \"python3\"\ncall_timeout = \"none\"",
    );
    let m = Manifest::parse(&text, file()).unwrap();
    assert_eq!(m.run.call_timeout, Some(None));
}

#[test]
fn unknown_key_is_refused_at_its_line() {
    let text = minimal("").replace("command = ", "comand = ");
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (6, 1), "{reason}");
    assert!(reason.contains("unknown field `comand`"), "{reason}");
    assert!(reason.contains("expected one of"), "{reason}");
}

#[test]
fn unknown_top_level_key_is_refused() {
    let (line, column, reason) = refused(&minimal("lazzy = true"));
    assert_eq!((line, column), (4, 1), "{reason}");
    assert!(reason.contains("unknown field `lazzy`"), "{reason}");
}

#[test]
fn syntax_error_gives_line_and_column() {
    let text = minimal("description = \"unterminated\n");
    let (line, _column, reason) = refused(&text);
    assert_eq!(line, 4, "{reason}");
    assert!(!reason.contains('\n'), "one line: {reason}");
}

#[test]
fn missing_required_key_is_named() {
    let text = minimal("").replace("version = \"1\"\n", "");
    let (_, _, reason) = refused(&text);
    assert!(reason.contains("missing field `version`"), "{reason}");
}

#[test]
fn value_of_wrong_type_is_refused_at_it() {
    let (line, column, reason) = refused(&minimal("lazy = \"yes\""));
    assert_eq!((line, column), (4, 8), "{reason}");
    assert!(reason.contains("bool"), "{reason}");
}

#[test]
fn bad_name_is_refused_at_its_value() {
    let text = minimal("").replace("name = \"calc\"", "name = \"Calc!\"");
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (1, 8), "{reason}");
    assert!(reason.contains("name `Calc!` is not allowed"), "{reason}");
    assert!(reason.contains("lowercase letters"), "{reason}");
}

#[test]
fn bad_namespace_is_refused() {
    let text = minimal("").replace("namespace = \"math\"", "namespace = \"-math\"");
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 2, "{reason}");
    assert!(reason.contains("namespace `-math`"), "{reason}");
}

#[test]
fn short_fingerprint_is_refused_at_its_value() {
    let text = minimal("").replace(FP, "e051df69");
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (10, 15), "{reason}");
    assert!(reason.contains("must be 64 hex digits"), "{reason}");
    assert!(reason.contains("`e051df69`"), "{reason}");
}

#[test]
fn no_serves_is_refused() {
    let text = minimal("").replace(
        &format!("[[serves]]\ncontract = \"Calculator\"\nfingerprint = \"{FP}\"\n"),
        "",
    );
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 1, "{reason}");
    assert!(reason.contains("no [[serves]] table"), "{reason}");
}

#[test]
fn contract_listed_twice_is_refused() {
    let text = format!(
        "{}\n[[serves]]\ncontract = \"Calculator\"\nfingerprint = \"{FP2}\"\n",
        minimal("")
    );
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 13, "{reason}");
    assert!(reason.contains("listed twice in [[serves]]"), "{reason}");
}

#[test]
fn checksum_path_leaving_the_folder_is_refused() {
    for (path, line) in [
        ("../other/bin", 13),
        ("/usr/bin/python3", 13),
        ("a/../../b", 13),
    ] {
        let text = format!("{}\n[checksums]\n\"{path}\" = \"{SUM}\"\n", minimal(""));
        let (l, column, reason) = refused(&text);
        assert_eq!((l, column), (line, 1), "{path}: {reason}");
        assert!(reason.contains("leaves the plugin's folder"), "{reason}");
        assert!(reason.contains(path), "{reason}");
    }
}

#[test]
fn checksum_that_is_not_a_sha256_is_refused() {
    let text = format!("{}\n[checksums]\n\"bin/calc\" = \"md5:abc\"\n", minimal(""));
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (13, 14), "{reason}");
    assert!(reason.contains("must be a sha256"), "{reason}");
}

#[test]
fn pool_size_zero_is_refused() {
    let text = format!("{}\n[pool]\nsize = 0\n", minimal(""));
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (13, 8), "{reason}");
    assert!(
        reason.contains("[pool] size is 0; it must be at least 1"),
        "{reason}"
    );
}

#[test]
fn bad_durations_are_refused() {
    let text = minimal("").replace(
        "command = \"python3\"",
        "command = \"python3\"\nstart_timeout = \"ten seconds\"",
    );
    let (line, column, reason) = refused(&text);
    assert_eq!((line, column), (7, 17), "{reason}");
    assert!(
        reason.contains("start_timeout `ten seconds` is not a duration"),
        "{reason}"
    );

    let text = minimal("").replace(
        "command = \"python3\"",
        "command = \"python3\"\ncall_timeout = \"0s\"",
    );
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 7, "{reason}");
    assert!(reason.contains("call_timeout is zero"), "{reason}");
    assert!(reason.contains("\"none\""), "{reason}");

    let text = format!(
        "{}\n[restart]\ninitial_backoff = \"2s\"\nmax_backoff = \"1s\"\n",
        minimal("")
    );
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 13, "{reason}");
    assert!(reason.contains("longer than max_backoff"), "{reason}");
}

#[test]
fn empty_command_is_refused() {
    let text = minimal("").replace("command = \"python3\"", "command = \"  \"");
    let (line, _, reason) = refused(&text);
    assert_eq!(line, 6, "{reason}");
    assert!(reason.contains("[run] command is empty"), "{reason}");
}

#[test]
fn error_message_reads_file_line_column_reason() {
    let text = minimal("").replace("command = ", "comand = ");
    let err = Manifest::parse(&text, file()).unwrap_err().to_string();
    assert!(
        err.starts_with("plugins/calc/plugin.toml:6:1: unknown field `comand`"),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_a_manifest_error() {
    let missing = std::env::temp_dir().join("goproc-no-such-dir/plugin.toml");
    match Manifest::load(&missing) {
        Err(Error::Manifest {
            file, line, reason, ..
        }) => {
            assert_eq!(file, missing);
            assert_eq!(line, 0);
            assert!(reason.contains("could not read the manifest"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
