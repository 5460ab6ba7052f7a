//! `test-host PROGRAM ARGS... [-- PROGRAM ARGS...]`: starts each plugin,
//! prints `pids <pid> <pid>...` on one line, then waits to be killed. The
//! lifecycle tests SIGKILL it and check that its plugins go too.

use std::io::Write;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plugins = Vec::new();
    for command in args.split(|a| a == "--") {
        let Some((program, rest)) = command.split_first() else {
            continue;
        };
        plugins.push(
            goproc::Plugin::builder(program)
                .args(rest)
                .start_timeout(std::time::Duration::from_secs(30))
                .spawn()
                .await?,
        );
    }
    let pids: Vec<String> = plugins.iter().map(|p| p.pid().to_string()).collect();
    println!("pids {}", pids.join(" "));
    std::io::stdout().flush()?;
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    Ok(())
}
