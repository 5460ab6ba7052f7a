//! A contract used the way a project uses it: an implementation written with
//! `async fn`, served by the generated server, and a host that spawns the
//! plugin and calls it through the generated client. The server is also
//! driven in-process, so this file checks behaviour, not only types.
#![deny(warnings)]

use std::time::Duration;

use goproc::wire::{codec, HEADER_LEN};
use goproc::Service;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum MathError {
    DivisionByZero,
}

/// A calculator in another process.
#[goproc::plugin_interface]
pub trait Calculator {
    /// Adds two numbers.
    async fn add(&self, a: i64, b: i64) -> i64;
    /// Divides, or says why not.
    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError>;
    /// A method named like one of `Arc`'s still reaches the implementation.
    async fn clone_into(&self, name: String) -> String;
}

struct Calc {
    greeting: String,
}

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError> {
        a.checked_div(b).ok_or(MathError::DivisionByZero)
    }

    async fn clone_into(&self, name: String) -> String {
        format!("{} {name}", self.greeting)
    }
}

/// The host side: spawn, check the contract, call.
async fn host() -> Result<(), goproc::Error> {
    let plugin = goproc::Plugin::builder("./calculator-plugin")
        .contract::<CalculatorClient>()
        .spawn()
        .await?;
    let calc: CalculatorClient = plugin.client()?;
    let sum: i64 = calc.add(1, 2).await?;
    let quotient: Result<i64, MathError> = calc.divide(sum, 0).await?;
    let quick = calc.with_timeout(Duration::from_millis(50));
    let _: String = quick.without_timeout().clone_into("x".to_string()).await?;
    let _ = quotient;
    Ok(())
}

/// The plugin side.
async fn plugin() -> Result<(), goproc::Error> {
    let calc = Calc {
        greeting: "hi".to_string(),
    };
    goproc::serve(CalculatorServer::new(calc)).await
}

/// Calls method `method` of `server` with `args` and decodes the answer.
async fn dispatch<A: Serialize, R: serde::de::DeserializeOwned>(
    server: &impl Service,
    method: u32,
    args: &A,
) -> R {
    let args = codec::encode(args).unwrap();
    let Ok(handler) = server.call(method, args.into()) else {
        panic!("method {method} refused its arguments");
    };
    let Ok(frame) = handler.await else {
        panic!("method {method} failed");
    };
    let Ok(frame) = frame.finish(u32::MAX) else {
        panic!("answer too large");
    };
    codec::decode(&frame[HEADER_LEN..]).unwrap()
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Both sides' futures can be spawned on a multi-threaded runtime.
    let (h, p) = (host(), plugin());
    assert_send(&h);
    assert_send(&p);
    drop((h, p));

    let server = CalculatorServer::new(Calc {
        greeting: "hi".to_string(),
    });
    assert_eq!(server.contract().name, "Calculator");
    assert_eq!(
        server.contract().methods,
        &["add", "divide", "clone_into"][..]
    );
    assert_eq!(dispatch::<_, i64>(&server, 0, &(40i64, 2i64)).await, 42);
    assert_eq!(
        dispatch::<_, Result<i64, MathError>>(&server, 1, &(1i64, 0i64)).await,
        Err(MathError::DivisionByZero)
    );
    assert_eq!(
        dispatch::<_, String>(&server, 2, &("ada".to_string(),)).await,
        "hi ada"
    );
    assert!(server.call(3, Vec::new().into()).is_err(), "method 3 does not exist");
}
