//! The calculator contract with one argument type changed (`b: i32`
//! instead of `i64`): a plugin built from it must be refused by a host
//! built from the original.

/// A calculator built from an older version of the contract.
#[goproc::plugin_interface]
pub trait Calculator {
    /// Adds two numbers.
    async fn add(&self, a: i64, b: i32) -> i64;
    /// Divides `a` by `b`.
    async fn divide(&self, a: i64, b: i64) -> Result<i64, crate::calculator_contract::MathError>;
    /// Sums a list of numbers.
    async fn sum(&self, values: Vec<f64>) -> f64;
    /// Greets someone by name.
    async fn greet(&self, name: String) -> String;
}

/// Its implementation.
pub struct Old;

impl Calculator for Old {
    async fn add(&self, a: i64, b: i32) -> i64 {
        a + i64::from(b)
    }
    async fn divide(&self, a: i64, b: i64) -> Result<i64, crate::calculator_contract::MathError> {
        a.checked_div(b)
            .ok_or(crate::calculator_contract::MathError::DivisionByZero)
    }
    async fn sum(&self, values: Vec<f64>) -> f64 {
        values.iter().sum()
    }
    async fn greet(&self, name: String) -> String {
        name
    }
}
