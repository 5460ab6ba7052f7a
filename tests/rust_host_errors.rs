//! Bad input at the host gets a clear `goproc::Error`, never a panic, a hang
//! or an allocation past the limit, and the host keeps serving its other
//! plugins.

#[path = "../examples/calculator/contract.rs"]
mod calculator;

use std::time::{Duration, Instant};

use calculator::CalculatorClient;
use goproc::{Error, Plugin};

fn builder(role: &str) -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg(role)
        .name(role)
        .start_timeout(Duration::from_secs(20))
}

async fn start(role: &str) -> Plugin {
    builder(role)
        .spawn()
        .await
        .unwrap_or_else(|e| panic!("starting `{role}`: {e}"))
}

/// Starts a plugin whose first answer breaks the rules, calls it, and
/// returns the error; a healthy plugin started before must still answer.
async fn first_answer_error(role: &str) -> Error {
    let healthy = start("calculator").await;
    let healthy_calc: CalculatorClient = healthy.client().expect("calculator");
    let bad = start(role).await;
    let calc: CalculatorClient = bad.client().expect("announces Calculator");
    let err = tokio::time::timeout(Duration::from_secs(10), calc.add(1, 2))
        .await
        .expect("the call ends instead of hanging")
        .expect_err("a broken answer is an error");
    assert_eq!(
        healthy_calc
            .add(2, 2)
            .await
            .expect("the other plugin still answers"),
        4
    );
    err
}

#[tokio::test]
async fn a_frame_longer_than_the_maximum_closes_the_connection_with_a_protocol_error() {
    let err = first_answer_error("huge-frame").await;
    assert!(
        matches!(&err, Error::Protocol { reason, .. } if reason.contains("exceeds the maximum frame size")),
        "{err}"
    );
}

#[tokio::test]
async fn an_answer_with_trailing_bytes_is_a_decode_error() {
    let err = first_answer_error("trailing-bytes").await;
    assert!(
        matches!(&err, Error::Codec { context, message }
            if context.contains("Calculator.add") && message.contains("trailing")
                && message.contains("the host and the plugin disagree on the types of \
                                     Calculator.add")
                && message.contains("docs/CONTRACTS.md")),
        "{err}"
    );
}

#[tokio::test]
async fn a_length_prefix_claiming_gigabytes_is_refused_without_allocating() {
    let healthy = start("calculator").await;
    let bad = start("string-bomb").await;
    let calc: CalculatorClient = bad.client().expect("announces Calculator");
    let err = calc
        .greet("x".into())
        .await
        .expect_err("a 64 GiB string is refused");
    assert!(
        matches!(&err, Error::Codec { context, .. } if context.contains("Calculator.greet")),
        "{err}"
    );
    let calc: CalculatorClient = healthy.client().expect("calculator");
    assert_eq!(calc.add(1, 1).await.expect("still serving"), 2);
}

#[tokio::test]
async fn an_unknown_frame_kind_is_a_protocol_error() {
    let err = first_answer_error("unknown-kind").await;
    assert!(
        matches!(&err, Error::Protocol { reason, .. } if reason.contains("unknown frame kind 0x7f")),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_the_handshake() {
    let err = builder("wrong-token").spawn().await.expect_err("refused");
    assert!(
        matches!(&err, Error::Handshake { reason, .. } if reason.contains("wrong token")),
        "{err}"
    );
}

#[tokio::test]
async fn a_stale_fingerprint_is_refused_before_any_call_naming_both_sides() {
    let err = builder("wrong-fingerprint")
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect_err("refused");
    let text = err.to_string();
    match &err {
        Error::ContractMismatch {
            contract,
            host_fingerprint,
            plugin_fingerprint,
            ..
        } => {
            assert_eq!(contract, "Calculator");
            assert_eq!(plugin_fingerprint, "0123456789abcdef");
            assert_eq!(
                host_fingerprint,
                <CalculatorClient as goproc::Client>::CONTRACT.fingerprint
            );
        }
        other => panic!("expected ContractMismatch, got {other}"),
    }
    assert!(
        text.contains("rebuild the plugin or regenerate its stubs"),
        "{text}"
    );
}

#[tokio::test]
async fn a_plugin_built_from_a_contract_with_one_argument_type_changed_is_refused() {
    let err = builder("calculator-changed")
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect_err("refused at the handshake");
    // Both sides state their schema, so the refusal names the difference
    // (the fingerprints differ too, but the schema is compared first).
    let expected = "plugin calculator-changed disagrees on Calculator.add: the host has argument \
                    2 b: i64, the plugin has argument 2 b: i32; rebuild the plugin or regenerate \
                    its stubs";
    match &err {
        Error::SchemaMismatch {
            plugin, contract, ..
        } => {
            assert_eq!(contract, "Calculator");
            assert_eq!(plugin, "calculator-changed");
            assert_eq!(err.to_string(), expected);
        }
        other => panic!("expected SchemaMismatch, got {other}"),
    }
    // Without the requirement the plugin starts, and asking for the
    // contract gives the same refusal before any call.
    let plugin = builder("calculator-changed").spawn().await.expect("starts");
    let err = plugin.client::<CalculatorClient>().expect_err("refused");
    assert_eq!(err.to_string(), expected);
}

#[tokio::test]
async fn a_program_that_exits_at_once_reports_its_status_and_stderr() {
    let err = builder("exit-at-once").spawn().await.expect_err("it exits");
    match &err {
        Error::PluginExited { status, stderr, .. } => {
            assert!(status.contains("exit status: 3"), "{status}");
            assert!(status.contains("before it connected"), "{status}");
            // Its stderr says why; the hint is for programs that say nothing.
            assert!(!status.contains("is it a goproc plugin"), "{status}");
            assert_eq!(
                stderr,
                &["fatal: the configuration file is missing".to_string()]
            );
        }
        other => panic!("expected PluginExited, got {other}"),
    }
}

#[tokio::test]
async fn a_program_that_never_connects_hits_the_start_timeout() {
    let started = Instant::now();
    let err = builder("garbage")
        .start_timeout(Duration::from_millis(1500))
        .spawn()
        .await
        .expect_err("it never connects");
    assert!(started.elapsed() < Duration::from_secs(10));
    match &err {
        Error::StartTimeout {
            timeout, stderr, ..
        } => {
            assert_eq!(*timeout, Duration::from_millis(1500));
            assert_eq!(stderr, &["listening on port 8080 (not really)".to_string()]);
        }
        other => panic!("expected StartTimeout, got {other}"),
    }
    assert!(err.to_string().contains("is it a goproc plugin"), "{err}");
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let err = Plugin::builder("/nonexistent/goproc-plugin")
        .spawn()
        .await
        .expect_err("no such program");
    assert!(
        matches!(&err, Error::Spawn { program, reason, .. }
            if program == "/nonexistent/goproc-plugin"
                && reason.contains("there is no file /nonexistent/goproc-plugin")),
        "{err}"
    );
}

#[tokio::test]
async fn a_bare_program_not_on_path_says_it_was_looked_up_on_path_and_where() {
    let err = Plugin::builder("goproc-no-such-plugin")
        .env("PATH", "/nonexistent/a:/nonexistent/b")
        .spawn()
        .await
        .expect_err("not on PATH");
    let text = err.to_string();
    assert!(
        text.contains("`goproc-no-such-plugin` was looked up on PATH")
            && text.contains("/nonexistent/a, /nonexistent/b"),
        "{text}"
    );
}

#[tokio::test]
async fn a_relative_path_that_does_not_exist_says_what_it_was_resolved_against() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Plugin::builder("./bin/plugin")
        .current_dir(dir.path())
        .spawn()
        .await
        .expect_err("no such file");
    let text = err.to_string();
    assert!(
        text.contains("a relative path is resolved against the plugin's current_dir")
            && text.contains(&dir.path().display().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn a_directory_or_a_file_that_is_not_executable_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Plugin::builder(dir.path())
        .spawn()
        .await
        .expect_err("a directory");
    assert!(
        err.to_string().contains("is a directory, not a program"),
        "{err}"
    );

    let script = dir.path().join("plugin.py");
    std::fs::write(&script, "print('hi')\n").expect("write");
    let err = Plugin::builder(&script)
        .spawn()
        .await
        .expect_err("not executable");
    let text = err.to_string();
    assert!(
        text.contains("is not executable") && text.contains("chmod +x") && text.contains("python3"),
        "{text}"
    );
}

#[tokio::test]
async fn a_script_that_is_no_plugin_is_named_after_it_and_its_stdout_is_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("report.py");
    std::fs::write(
        &script,
        "import sys\nprint('usage: report.py CONFIG')\nsys.exit(0)\n",
    )
    .expect("write");
    let python = std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("python3"))
                .find(|c| c.is_file())
        })
        .expect("this test needs python3 on PATH");
    let err = Plugin::builder(python)
        .arg(&script)
        .spawn()
        .await
        .expect_err("it exits without connecting");
    match &err {
        Error::PluginExited {
            plugin,
            status,
            stdout,
            ..
        } => {
            assert_eq!(plugin, "report.py", "named after its script, not python3");
            assert!(status.contains("is it a goproc plugin"), "{status}");
            assert_eq!(stdout, &["usage: report.py CONFIG".to_string()]);
        }
        other => panic!("expected PluginExited, got {other}"),
    }
    assert!(err.to_string().contains("usage: report.py CONFIG"), "{err}");
}

#[tokio::test]
async fn a_plugin_killed_mid_call_fails_that_call_and_later_ones_with_plugin_exited() {
    let plugin = start("silent").await;
    let calc: CalculatorClient = plugin.client().expect("announces Calculator");
    let in_flight = tokio::spawn({
        let calc = calc.clone();
        async move { calc.add(1, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = std::process::Command::new("kill")
        .args(["-9", &plugin.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(killed.success());
    let err = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the call fails at once")
        .expect("task")
        .expect_err("the plugin died");
    assert!(
        matches!(&err, Error::PluginExited { status, pid, .. } if status.contains("signal: 9") && *pid == plugin.pid()),
        "{err}"
    );
    let later = calc.add(1, 2).await.expect_err("the plugin is gone");
    assert!(matches!(later, Error::PluginExited { .. }), "{later}");
    assert!(plugin.has_exited());
}

#[tokio::test]
async fn a_plugin_that_dies_mid_call_reports_its_exit_status_and_last_stderr_lines() {
    let plugin = start("die-on-call").await;
    let calc: CalculatorClient = plugin.client().expect("announces Calculator");
    let err = calc.add(1, 2).await.expect_err("it dies");
    match &err {
        Error::PluginExited { status, stderr, .. } => {
            assert!(status.contains("exit status: 7"), "{status}");
            assert_eq!(
                stderr.last().map(String::as_str),
                Some("about to crash: the handler hit a bug")
            );
        }
        other => panic!("expected PluginExited, got {other}"),
    }
    assert!(err.to_string().contains("about to crash"), "{err}");
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_plugin_process() {
    let plugin = start("calculator").await;
    let calc: CalculatorClient = plugin.client().expect("calculator");
    let pid = plugin.pid();
    drop(plugin);
    // The client still holds the plugin.
    assert_eq!(
        calc.add(1, 1).await.expect("alive while a client exists"),
        2
    );
    drop(calc);
    let proc_dir = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&proc_dir).exists() && Instant::now() < deadline {
        // A zombie still has a /proc entry; its state is 'Z'.
        if std::fs::read_to_string(format!("{proc_dir}/stat")).is_ok_and(|s| s.contains(") Z ")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stat = std::fs::read_to_string(format!("{proc_dir}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "plugin {pid} still runs: {stat}"
    );
}

#[test]
fn a_plugin_run_by_hand_says_what_it_is_and_exits_non_zero() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("calculator")
        .env_remove("GOPROC_ADDR")
        .env_remove("GOPROC_TOKEN")
        .output()
        .expect("running the plugin by hand");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("meant to be started by a host program"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_plugin_that_dies_slowly_after_closing_its_socket_reports_its_last_stderr_line() {
    let plugin = start("dies-slowly").await;
    let calc: CalculatorClient = plugin.client().expect("announces Calculator");
    let err = calc.add(1, 2).await.expect_err("it dies");
    match &err {
        Error::PluginExited { status, stderr, .. } => {
            assert!(status.contains("exit status: 1"), "{status}");
            assert_eq!(
                stderr.last().map(String::as_str),
                Some("RecursionError: maximum recursion depth exceeded"),
                "{stderr:?}"
            );
        }
        other => panic!("expected PluginExited, got {other}"),
    }
}
