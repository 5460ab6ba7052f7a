//! The goproc contract model and its stub generators.
//!
//! A plugin contract is a Rust trait. [`model`] turns the trait (a
//! `syn::ItemTrait`) into a small IR — methods, argument and return types,
//! docs and a fingerprint — and is the only place a contract is parsed: the
//! `#[goproc::plugin_interface]` macro expands from it, and the Python and
//! TypeScript generators print from it, so the three languages cannot drift.

pub mod canonical;
mod case;
mod generate;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod output;
pub mod python;
mod stub_schema;
pub mod typescript;

pub use generate::{generate, GenerateError, Lang};
pub use model::{Arg, Contract, Method, Ty};
