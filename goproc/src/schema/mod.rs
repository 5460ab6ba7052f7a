//! The canonical schema of a contract (the `goproc_codegen::canonical`
//! model, re-exported), and the tracer that builds it for a Rust contract at
//! run time from serde's `Deserialize` impls.
//!
//! A Rust plugin states each contract's schema in its HELLO, and the host
//! compares it with its own before any call (docs/WIRE.md, "Schemas").
//! `(<CalculatorClient as goproc::Client>::CONTRACT.schema)()` is the schema
//! of a contract as this program was built with it (traced once, then kept),
//! `Plugin::schema` the one a plugin stated, and `Plugin::describe` asks a
//! running plugin. Rust keeps no doc comments of user types at run time: the
//! schema of a Rust contract has the docs of the trait and its methods, not
//! those of its structs and enums.
//!
//! ```
//! #[goproc::plugin_interface]
//! pub trait Counter {
//!     /// The counts so far.
//!     async fn stats(&self) -> Stats;
//! }
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! pub struct Stats {
//!     pub calls: u64,
//!     pub bytes_in: u64,
//! }
//!
//! let schema = (<CounterClient as goproc::Client>::CONTRACT.schema)()
//!     .as_ref()
//!     .expect("its types trace");
//! assert_eq!(
//!     schema.canonical_text(),
//!     "contract Counter {\n    fn stats() -> Stats;\n}\n\n\
//!      struct Stats {\n    calls: u64,\n    bytes_in: u64,\n}\n"
//! );
//! ```

mod build;
pub(crate) mod describe;
mod trace;

#[doc(hidden)]
pub use build::{
    contract_schema, result_trace, stream_trace, MethodSketch, SchemaProbe, TraceNothing,
    TraceSerde,
};

pub use goproc_codegen::canonical::*;
pub use trace::trace_type;
