//! `test-host PROGRAM ARGS... [-- PROGRAM ARGS...]`: starts each plugin,
//! prints `pids <pid> <pid>...` on one line, then waits to be killed. The
//! lifecycle tests SIGKILL it and check that its plugins go too.
//!
//! `TEST_HOST_SPAWN_FROM` says which thread starts the plugins: `task` (a
//! tokio task, the default), `blocking` (inside `spawn_blocking`), `thread`
//! (a short-lived `std::thread`) or `block-in-place` (a task on a worker
//! that then runs `block_in_place`). Idle threads retire after 50 ms, and
//! the pids are printed half a second after the plugins started, once the
//! thread that started them is gone.

use std::io::Write;
use std::time::Duration;

use goproc::Plugin;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(Duration::from_millis(50))
        .enable_all()
        .build()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let from = std::env::var("TEST_HOST_SPAWN_FROM").unwrap_or_else(|_| "task".into());
    let handle = runtime.handle().clone();
    let plugins = runtime.block_on(async move {
        let started = match from.as_str() {
            "blocking" => {
                let handle = handle.clone();
                tokio::task::spawn_blocking(move || handle.block_on(start_all(args)))
                    .await
                    .map_err(|e| e.to_string())?
            }
            "thread" => std::thread::spawn(move || handle.block_on(start_all(args)))
                .join()
                .map_err(|_| "the starting thread panicked".to_string())?,
            "block-in-place" => tokio::spawn(async move {
                let plugins = start_all(args).await;
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(10)));
                plugins
            })
            .await
            .map_err(|e| e.to_string())?,
            _ => start_all(args).await,
        };
        started.map_err(|e| e.to_string())
    })?;
    runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pids: Vec<String> = plugins.iter().map(|p| p.pid().to_string()).collect();
        println!("pids {}", pids.join(" "));
        std::io::stdout().flush()?;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<_, std::io::Error>(())
    })?;
    Ok(())
}

async fn start_all(args: Vec<String>) -> Result<Vec<Plugin>, goproc::Error> {
    let mut plugins = Vec::new();
    for command in args.split(|a| a == "--") {
        let Some((program, rest)) = command.split_first() else {
            continue;
        };
        plugins.push(
            Plugin::builder(program)
                .args(rest)
                .start_timeout(Duration::from_secs(30))
                .spawn()
                .await?,
        );
    }
    Ok(plugins)
}
