//! `goproc bench`: calls per second and latency percentiles of one method,
//! called by many callers at once, with a live progress bar.

mod report;
mod run;

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::cmdline::parse_duration;
use crate::failure::Failure;
use crate::prepare::CallArgs;
use crate::start::stop;
use run::Counter;

const EXAMPLE: &str = "goproc bench -c 128 -d 10s -- ./my-plugin Calculator.add 40 2";

/// Measure one method: calls/s and latency percentiles under concurrent callers.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The arguments are encoded once; then --concurrency callers call the method back to back for
--duration (after an unmeasured --warmup), each waiting for its answer before the next call.
A live progress bar shows on a terminal. The summary lists total calls, calls/s, errors by kind
and latency p50/p90/p99/p99.9/max, and the plugin measured.

Examples:
  goproc bench -c 128 -d 10s -- ./calculator-plugin Calculator.add 40 2
  goproc bench -c 8 -d 5s --warmup 0s -- python3 plugin.py Calculator.greet Ada
  goproc bench --json '[[1, 2, 3]]' -- node dist/plugin.js Calculator.sum")]
pub struct Args {
    /// How many callers call at once.
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N")]
    concurrency: usize,

    /// How long to measure (`10s`, `1m`).
    #[arg(short = 'd', long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    duration: Duration,

    /// How long to call before measuring, so that both sides are warm.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    warmup: Duration,

    #[command(flatten)]
    call: CallArgs,
}

pub async fn run(args: Args, verbose: bool) -> Result<(), Failure> {
    if args.concurrency == 0 {
        return Err(Failure::new("--concurrency must be at least 1"));
    }
    let started = args.call.start(EXAMPLE, verbose).await?;
    let measured = async {
        let prepared = started.prepare()?;
        // One call first: a method that cannot be called fails here, once,
        // with its full message, instead of as a count of errors.
        prepared
            .call_raw()
            .await
            .map_err(|e| Failure::from_error(&e))?;
        let one_call = move || {
            // A clone shares the encoded arguments.
            let prepared = prepared.clone();
            async move { prepared.call_raw().await.map(drop).map_err(|e| kind(&e)) }
        };
        if !args.warmup.is_zero() {
            let seen = Arc::new(Counter::default());
            run::run(one_call.clone(), args.concurrency, args.warmup, seen).await;
        }
        let seen = Arc::new(Counter::default());
        let bar = progress(args.duration, seen.clone());
        let tally = run::run(one_call, args.concurrency, args.duration, seen).await;
        // The bar ends by itself once the duration is up.
        let _ = bar.await;
        Ok::<_, Failure>(tally)
    }
    .await;
    let summary = {
        let plugin = &started.plugin;
        let path = started.call.path.to_string();
        let setup = report::Setup {
            method: &path,
            concurrency: args.concurrency,
            plugin: plugin.name(),
            pid: plugin.pid(),
            language: plugin.language(),
            runtime: plugin.runtime(),
        };
        measured.map(|tally| report::summary(&setup, &tally))
    };
    stop(started.plugin).await;
    print!("{}", summary?);
    Ok(())
}

/// The live bar: elapsed of the duration, calls so far, calls/s. Drawn on
/// stderr when it is a terminal, never into the output.
fn progress(duration: Duration, seen: Arc<Counter>) -> tokio::task::JoinHandle<()> {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let total = duration.as_secs_f64();
    let start = Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            let elapsed = start.elapsed().min(duration);
            let calls = seen.get();
            let secs = elapsed.as_secs_f64();
            bar.set_position(elapsed.as_millis() as u64);
            bar.set_message(format!(
                "{secs:.1}s/{total:.1}s  {calls} calls  {:.0} calls/s",
                calls as f64 / secs.max(1e-3)
            ));
            if elapsed >= duration {
                bar.finish_and_clear();
                return;
            }
        }
    })
}

/// A failed call's kind, as the summary counts it.
fn kind(error: &goproc::Error) -> String {
    use goproc::Error;
    match error {
        Error::Timeout { .. } => "timeout".into(),
        Error::Remote { code, .. } => format!("remote: {code}"),
        Error::Domain { .. } => "domain error".into(),
        Error::PluginExited { .. } => "plugin exited".into(),
        Error::Closed { .. } => "connection closed".into(),
        Error::Codec { .. } => "codec".into(),
        Error::Protocol { .. } => "protocol".into(),
        Error::Transport { .. } => "transport".into(),
        other => crate::failure::one_line(&other.to_string()),
    }
}
