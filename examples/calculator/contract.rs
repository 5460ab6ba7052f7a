//! The contract: an ordinary trait. Host and plugin both compile it.

/// A calculator that lives in another process.
#[goproc::plugin_interface]
pub trait Calculator {
    /// Adds two numbers.
    async fn add(&self, a: i64, b: i64) -> i64;

    /// Divides `a` by `b`; dividing by zero is a domain error, not a crash.
    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError>;

    /// Sums a list of numbers.
    async fn sum(&self, values: Vec<f64>) -> f64;

    /// Greets someone by name.
    async fn greet(&self, name: String) -> String;
}

/// Why a calculation has no answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MathError {
    /// The divisor was zero.
    DivisionByZero,
    /// The result does not fit in an `i64`.
    Overflow {
        /// The operation that overflowed.
        operation: String,
    },
}
