//! Nothing a plugin does can take its host down (docs/WIRE.md 3.1, 4; the
//! README's "What the boundary guarantees"): values nested deeper than any
//! stack, answers sent three times, plugins started from threads that go
//! away, processes that race the plugin to its socket, a host environment
//! full of secrets, descriptors the host inherited. Hostile peers that
//! flood or freeze are in tests/hostile_plugins.rs, where the host's memory
//! is measured alone.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
mod common;
#[path = "contracts/everything.rs"]
#[allow(dead_code)]
mod everything;
mod lifecycle_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use calculator::CalculatorClient;
use everything::{EverythingClient, Page, Shape};
use goproc::{Error, Plugin, PluginBuilder};
use lifecycle_support::running;

fn builder(role: &str) -> PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg(role)
        .name(role)
        .start_timeout(Duration::from_secs(20))
}

async fn start(builder: PluginBuilder) -> Plugin {
    builder.spawn().await.expect("the plugin starts")
}

// ---------------------------------------------------------------------------
// Answers nested deeper than any stack (requests: tests/protocol_support/limits.rs)
// ---------------------------------------------------------------------------

async fn deep_answer_error(client: &EverythingClient) -> Error {
    client
        .echo_shape(Shape::Empty)
        .await
        .expect_err("an answer nested 20,000 deep is refused")
}

fn assert_names_the_nesting_limit(err: &Error) {
    assert!(
        matches!(err, Error::Codec { context, message }
            if context.contains("Everything.echo_shape")
                && message.contains("nesting limit")
                && message.contains("128")),
        "{err}"
    );
}

#[tokio::test]
async fn an_answer_nested_twenty_thousand_deep_is_a_codec_error_and_the_host_lives() {
    let plugin = start(builder("deep-answer").contract::<EverythingClient>()).await;
    let client: EverythingClient = plugin.client().expect("client");
    // On the test's own thread...
    assert_names_the_nesting_limit(&deep_answer_error(&client).await);
    // ...and again: the connection is still up, the limit holds every time.
    assert_names_the_nesting_limit(&deep_answer_error(&client).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_answer_decoded_on_a_tokio_worker_stack_is_a_codec_error() {
    let plugin = start(builder("deep-answer").contract::<EverythingClient>()).await;
    let client: EverythingClient = plugin.client().expect("client");
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { deep_answer_error(&client).await })
        })
        .collect();
    for call in calls {
        assert_names_the_nesting_limit(&call.await.expect("the task ends without a crash"));
    }
}

// ---------------------------------------------------------------------------
// Sizes follow the frame limit and the bytes on the wire
// ---------------------------------------------------------------------------

#[tokio::test]
async fn under_a_64_mib_frame_limit_a_2m_element_vec_and_a_17_mib_string_go_both_ways() {
    let plugin = start(
        builder("everything")
            .contract::<EverythingClient>()
            .max_frame(64 << 20),
    )
    .await;
    let client: EverythingClient = plugin.client().expect("client");
    // 2,097,152 zeros: 2 MB on the wire, 16 MiB in memory.
    let page = Page {
        items: vec![0i64; 2 << 20],
        next: None,
    };
    assert_eq!(
        client
            .echo_page_of_ints(page.clone())
            .await
            .expect("2M i64"),
        page
    );
    let text = "ü".repeat(17 << 19);
    assert_eq!(
        client
            .echo_string(text.clone())
            .await
            .expect("17 MiB string"),
        text
    );
}

// ---------------------------------------------------------------------------
// The first answer wins
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_plugin_answers_every_call_three_times_the_first_answer_wins() {
    let plugin = start(builder("answers-thrice").contract::<CalculatorClient>()).await;
    let client: CalculatorClient = plugin.client().expect("client");
    let answers = futures::future::join_all((0..1_000).map(|i| {
        let client = client.clone();
        async move { client.add(i, i).await }
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.expect("the first answer, 42"), 42);
    }
    assert!(!plugin.has_exited());
}

// ---------------------------------------------------------------------------
// Plugins live as long as their host, whatever thread started them
// ---------------------------------------------------------------------------

/// `test-host` starts two calculators from `from`, waits until that thread
/// is gone, and the test finds both alive; then it SIGKILLs the host and
/// both must exit within a second.
fn plugins_started_from(from: &str) {
    let mut host = lifecycle_support::test_host(&[env!("CARGO_BIN_EXE_test-plugin"), "calculator"]);
    host.env("TEST_HOST_SPAWN_FROM", from);
    lifecycle_support::plugins_exit_within_a_second_of_a_host_sigkill(
        host,
        &format!("Rust (started from {from})"),
    );
}

#[test]
fn plugins_started_inside_spawn_blocking_outlive_that_thread_and_die_with_the_host() {
    plugins_started_from("blocking");
}

#[test]
fn plugins_started_from_a_short_lived_thread_outlive_it_and_die_with_the_host() {
    plugins_started_from("thread");
}

#[test]
fn plugins_started_by_a_task_whose_worker_runs_block_in_place_outlive_it_and_die_with_the_host() {
    plugins_started_from("block-in-place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_runs_on_the_cpus_of_the_thread_that_asked_for_it() {
    // Forked by the long-lived spawner thread, it still takes the CPU
    // affinity of the thread that called `spawn`, as a host pinned with
    // `taskset` or `sched_setaffinity` expects.
    // A first plugin, started from an unpinned thread, makes sure the
    // spawner thread exists (it would inherit the pinned thread's CPUs if
    // the pinned thread started it).
    let first = start(builder("calculator")).await;
    let handle = tokio::runtime::Handle::current();
    let pid = std::thread::spawn(move || {
        // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and
        // sched_setaffinity only touch the set this thread owns.
        unsafe {
            let mut cpus: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut cpus);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &cpus),
                0
            );
        }
        let plugin = handle
            .block_on(builder("calculator").spawn())
            .expect("starts");
        let pid = plugin.pid();
        (plugin, pid)
    })
    .join()
    .expect("thread");
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.1)).expect("status");
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(str::trim);
    assert_eq!(allowed, Some("0"), "{status}");
    drop(first);
}

// ---------------------------------------------------------------------------
// Nobody else can answer the plugin's socket
// ---------------------------------------------------------------------------

/// Starts `test-plugin intruder MODE MARK` and the slow calculator with
/// `MARK` in its environment; the intruder connects first. Returns the
/// started plugin and the intruder's report.
async fn race(mode: &str) -> (Plugin, Vec<String>) {
    let mark = format!(
        "GOPROC_TEST_RACE_{}_{}",
        std::process::id(),
        mode.replace('-', "_")
    );
    let mut intruder = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_test-plugin"))
            .args(["intruder", mode, &mark])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the intruder"),
    );
    let out = intruder.0.stdout.take().expect("stdout");
    let plugin = builder("slow-calculator")
        .contract::<CalculatorClient>()
        .env(&mark, "1")
        .spawn()
        .await;
    // What the intruder saw, once it had time to say.
    let wanted = if mode.contains("token") { 2 } else { 1 };
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(out);
        while lines.len() < wanted {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            lines.push(line.trim().to_string());
        }
        lines
    });
    let lines = tokio::time::timeout(Duration::from_secs(10), lines)
        .await
        .expect("the intruder reports")
        .expect("report");
    drop(intruder);
    let plugin =
        plugin.unwrap_or_else(|e| panic!("the real plugin starts despite a {mode} intruder: {e}"));
    (plugin, lines)
}

/// A child process killed when the test is done with it, or fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn the_real_plugin_answers(plugin: &Plugin) {
    let client: CalculatorClient = plugin.client().expect("client");
    assert_eq!(client.add(1, 2).await.expect("add"), 3);
    let child = std::fs::read_to_string(format!("/proc/{}/cmdline", plugin.pid()))
        .expect("the plugin's process");
    assert!(child.contains("slow-calculator"), "{child:?}");
}

#[tokio::test]
async fn a_silent_connection_first_does_not_stop_the_real_plugin() {
    let (plugin, lines) = race("silent").await;
    assert_eq!(lines, ["connected"]);
    the_real_plugin_answers(&plugin).await;
}

#[tokio::test]
async fn garbage_first_does_not_stop_the_real_plugin() {
    let (plugin, lines) = race("garbage").await;
    assert_eq!(lines, ["connected"]);
    the_real_plugin_answers(&plugin).await;
}

#[tokio::test]
async fn a_wrong_token_first_does_not_stop_the_real_plugin() {
    let (plugin, lines) = race("wrong-token").await;
    assert_eq!(lines[0], "connected");
    assert!(
        lines[1] == "closed" || lines[1].starts_with("refused"),
        "{lines:?}"
    );
    the_real_plugin_answers(&plugin).await;
}

#[tokio::test]
async fn a_process_that_stole_the_token_is_not_the_plugin_and_gets_no_answer() {
    let (plugin, lines) = race("stolen-token").await;
    // Closed without a word: it is neither the plugin nor its descendant.
    assert_eq!(lines, ["connected", "closed"]);
    the_real_plugin_answers(&plugin).await;
}

// ---------------------------------------------------------------------------
// What a plugin inherits
// ---------------------------------------------------------------------------

fn environment_of(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    raw.split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .map(|kv| String::from_utf8_lossy(kv).into_owned())
        .collect()
}

#[tokio::test]
async fn env_clear_gives_the_plugin_only_what_the_host_allows() {
    // Cargo gives every test process variables like CARGO_PKG_NAME.
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
    let plugin = start(
        builder("calculator")
            .contract::<CalculatorClient>()
            .env_clear()
            .env_inherit("PATH")
            .env_inherit("GOPROC_TEST_NOT_SET_ANYWHERE")
            .env("PLUGIN_SETTING", "on"),
    )
    .await;
    let mut names: Vec<String> = environment_of(plugin.pid())
        .iter()
        .map(|kv| kv.split('=').next().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "GOPROC_ADDR",
            "GOPROC_PLUGIN_NAME",
            "GOPROC_TOKEN",
            "PATH",
            "PLUGIN_SETTING"
        ]
    );
    let client: CalculatorClient = plugin.client().expect("client");
    assert_eq!(client.add(2, 2).await.expect("works"), 4);

    // Without env_clear, env_remove keeps one variable back.
    let plugin = start(
        builder("calculator")
            .contract::<CalculatorClient>()
            .env_remove("CARGO_PKG_NAME"),
    )
    .await;
    let env = environment_of(plugin.pid());
    assert!(!env.iter().any(|kv| kv.starts_with("CARGO_PKG_NAME=")));
    assert!(env.iter().any(|kv| kv.starts_with("PATH=")));
}

#[tokio::test]
async fn a_python_plugin_runs_with_a_cleared_environment() {
    let python = common::python::python3();
    let plugin = Plugin::builder(&python)
        .arg(common::root().join("examples/calculator/python/plugin.py"))
        .contract::<CalculatorClient>()
        .env_clear()
        .spawn()
        .await
        .expect("python3 starts with an empty environment");
    let client: CalculatorClient = plugin.client().expect("client");
    assert_eq!(client.add(20, 22).await.expect("add"), 42);
}

#[tokio::test]
async fn descriptors_the_host_inherited_without_close_on_exec_do_not_reach_the_plugin() {
    // A pipe without FD_CLOEXEC, as a careless parent of the host would
    // leave one.
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into the array we own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let leaked = std::fs::read_link(format!("/proc/self/fd/{}", fds[0])).expect("the pipe");
    let plugin = start(builder("calculator").contract::<CalculatorClient>()).await;
    let open: Vec<_> = std::fs::read_dir(format!("/proc/{}/fd", plugin.pid()))
        .expect("the plugin's descriptors")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .collect();
    assert!(
        !open.contains(&leaked),
        "the plugin holds the host's {leaked:?}: {open:?}"
    );
    // SAFETY: closing the two descriptors this test opened.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    assert!(running(plugin.pid()));
}
