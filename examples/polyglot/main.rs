//! `cargo run --example polyglot`: one Rust host calls the same Calculator
//! contract served by a Rust, a Python and a TypeScript plugin, and prints
//! the three answers side by side.
//!
//! Needs `python3`, and `node` with `npm`: the first run installs the
//! TypeScript plugin's pinned compiler (`npm ci`) and compiles it.

#[path = "../calculator/contract.rs"]
mod contract;
#[path = "../calculator/plugin.rs"]
mod plugin;
#[path = "../support/typescript.rs"]
mod typescript;

use std::path::{Path, PathBuf};

use contract::CalculatorClient;

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        plugin::run().await?;
        return Ok(());
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/calculator");
    let typescript = typescript::build(&examples.join("typescript"))?;

    let commands: [(&str, PathBuf, Vec<String>); 3] = [
        ("rust", std::env::current_exe()?, vec!["plugin".into()]),
        (
            "python",
            "python3".into(),
            vec![examples.join("python/plugin.py").display().to_string()],
        ),
        (
            "typescript",
            "node".into(),
            vec![typescript.display().to_string()],
        ),
    ];
    let mut clients = Vec::new();
    for (language, program, args) in commands {
        let plugin = goproc::Plugin::builder(program)
            .args(args)
            .name(format!("calculator ({language})"))
            .contract::<CalculatorClient>()
            .spawn()
            .await?;
        println!(
            "started {:<11} pid {:<7} {}",
            language,
            plugin.pid(),
            plugin.runtime()
        );
        clients.push((plugin.client::<CalculatorClient>()?, plugin));
    }

    println!();
    println!(
        "{:<22} {:<24} {:<24} {:<24}",
        "call", "rust", "python", "typescript"
    );
    row("add(40, 2)", &clients, |c| async move {
        c.add(40, 2).await.map(|v| v.to_string())
    })
    .await;
    row("divide(84, 2)", &clients, |c| async move {
        c.divide(84, 2).await.map(|v| format!("{v:?}"))
    })
    .await;
    row("divide(1, 0)", &clients, |c| async move {
        c.divide(1, 0).await.map(|v| format!("{v:?}"))
    })
    .await;
    row("divide(i64::MIN, -1)", &clients, |c| async move {
        c.divide(i64::MIN, -1).await.map(|v| match v {
            Err(contract::MathError::Overflow { .. }) => "Err(Overflow { .. })".to_string(),
            other => format!("{other:?}"),
        })
    })
    .await;
    row("sum([1.5, 2.5, 3])", &clients, |c| async move {
        c.sum(vec![1.5, 2.5, 3.0]).await.map(|v| v.to_string())
    })
    .await;
    row("greet(\"goproc\")", &clients, |c| async move {
        c.greet("goproc".into()).await
    })
    .await;
    Ok(())
}

/// Prints one call's answer from each plugin.
async fn row<F, Fut>(label: &str, clients: &[(CalculatorClient, goproc::Plugin)], call: F)
where
    F: Fn(CalculatorClient) -> Fut,
    Fut: std::future::Future<Output = Result<String, goproc::Error>>,
{
    let mut cells = Vec::new();
    for (client, _) in clients {
        cells.push(match call(client.clone()).await {
            Ok(answer) => answer,
            Err(e) => format!("error: {e}"),
        });
    }
    println!(
        "{label:<22} {:<24} {:<24} {:<24}",
        cells[0], cells[1], cells[2]
    );
}
