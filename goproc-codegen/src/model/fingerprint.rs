//! The contract fingerprint: a digest of the contract's wire shape.
//!
//! It covers the trait's name, its methods in order, their argument and
//! return shapes and the names of the user types they use. It leaves out what
//! does not change the bytes: argument names, docs, `Box`, paths. The macro,
//! the Python stub and the TypeScript stub compute it from the same
//! [`Contract`], so equal sources give equal fingerprints.

use sha2::{Digest, Sha256};
use syn::ext::IdentExt;

use super::{Contract, Method};

/// The text that is hashed; one line per item, stable across releases of the
/// same protocol (the first line names the scheme).
///
/// An event contract's text starts `events Name` and lists `event` lines, so
/// it never shares a fingerprint with a contract of calls.
pub fn canonical_text(name: &str, events: bool, methods: &[Method]) -> String {
    if events {
        let mut text = format!("goproc-contract/1\nevents {name}\n");
        for m in methods {
            let args: Vec<String> = m.args.iter().map(|a| a.shape.to_string()).collect();
            text.push_str(&format!("event {}({})\n", m.name.unraw(), args.join(",")));
        }
        return text;
    }
    let mut text = format!("goproc-contract/1\ntrait {name}\n");
    for m in methods {
        let args: Vec<String> = m.args.iter().map(|a| a.shape.to_string()).collect();
        text.push_str(&format!(
            "fn {}({}) -> {}\n",
            m.name.unraw(),
            args.join(","),
            m.ret
        ));
    }
    text
}

/// Lowercase hex SHA-256 of [`canonical_text`].
pub fn fingerprint(name: &str, events: bool, methods: &[Method]) -> String {
    let digest = Sha256::digest(canonical_text(name, events, methods).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Contract {
    /// The canonical text behind [`Contract::fingerprint`].
    pub fn canonical_text(&self) -> String {
        canonical_text(&self.name.to_string(), self.events, &self.methods)
    }
}
