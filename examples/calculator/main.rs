//! `cargo run --example calculator`: a host starts a Rust calculator plugin
//! in its own process and calls it.
//!
//! To keep the example one command, this program is both: run with the
//! argument `plugin` it serves the contract; run without, it is the host and
//! starts itself with `plugin` as a separate process. A real project would
//! usually build the plugin as its own binary.

mod contract;
mod plugin;

use contract::{CalculatorClient, MathError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        plugin::run().await?;
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let plugin = goproc::Plugin::builder(std::env::current_exe()?)
        .arg("plugin")
        .name("calculator")
        .contract::<CalculatorClient>()
        .spawn()
        .await?;
    println!(
        "started plugin `{}` (pid {}, {})",
        plugin.name(),
        plugin.pid(),
        plugin.runtime()
    );
    let calc: CalculatorClient = plugin.client()?;

    println!("add(40, 2)          = {}", calc.add(40, 2).await?);
    println!("divide(84, 2)       = {:?}", calc.divide(84, 2).await?);
    match calc.divide(1, 0).await? {
        Ok(q) => println!("divide(1, 0)        = {q}"),
        Err(MathError::DivisionByZero) => {
            println!("divide(1, 0)        = domain error: division by zero")
        }
        Err(other) => println!("divide(1, 0)        = domain error: {other:?}"),
    }
    println!(
        "divide(MIN, -1)     = {:?}",
        calc.divide(i64::MIN, -1).await?
    );
    println!(
        "sum([1.5, 2.5, 3])  = {}",
        calc.sum(vec![1.5, 2.5, 3.0]).await?
    );
    println!(
        "greet(\"goproc\")     = {}",
        calc.greet("goproc".into()).await?
    );
    Ok(())
}
