//! The plugin side: implement the trait, hand it to `goproc::serve`.

use crate::contract::{Calculator, CalculatorServer, MathError};

pub struct Calc;

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError> {
        if b == 0 {
            return Err(MathError::DivisionByZero);
        }
        a.checked_div(b).ok_or_else(|| MathError::Overflow {
            operation: format!("{a} / {b}"),
        })
    }

    async fn sum(&self, values: Vec<f64>) -> f64 {
        values.iter().sum()
    }

    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
}

pub async fn run() -> Result<(), goproc::Error> {
    goproc::serve(CalculatorServer::new(Calc)).await
}
