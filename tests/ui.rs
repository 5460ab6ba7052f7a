//! Compile-time checks of contracts: every mistake `#[goproc::plugin_interface]`
//! refuses, with the exact message and span (`tests/ui/fail/*.stderr`), and
//! every supported form, which must compile without warnings and run
//! (`tests/ui/pass/*.rs`). The rules are written down in `docs/CONTRACTS.md`.
//!
//! After an intended change to a message, refresh the expected output with
//!
//! ```text
//! TRYBUILD=overwrite cargo test --test ui
//! ```
//!
//! and read every changed `.stderr` before committing it: the message must say
//! what is wrong and what to write instead, on the offending tokens.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
