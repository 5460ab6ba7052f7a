//! Doc comments, domain errors, unit returns and methods without arguments.
#![deny(warnings)]

use serde::{Deserialize, Serialize};

/// Why a lookup failed.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum LookupError {
    /// No such key.
    Missing(String),
}

/// A directory of names.
///
/// Several paragraphs of docs are kept on the trait and the client.
#[goproc::plugin_interface]
pub trait Directory {
    /// Looks a name up; a missing name is a domain error.
    async fn lookup(&self, name: String) -> Result<u64, LookupError>;
    /// A domain error that is a plain string.
    async fn parse(&self, text: String) -> Result<i32, String>;
    /// Forgets everything; answers nothing.
    async fn clear(&self);
    /// Explicit unit return.
    async fn touch(&self, name: String) -> ();
    /// No arguments.
    async fn size(&self) -> u64;
}

/// The client's methods have the shapes `docs/CONTRACTS.md` promises.
#[allow(clippy::type_complexity)]
async fn host(dir: DirectoryClient) -> Result<(), goproc::Error> {
    let found: Result<u64, LookupError> = dir.lookup("ada".to_string()).await?;
    let parsed: Result<i32, String> = dir.parse("12".to_string()).await?;
    let cleared: () = dir.clear().await?;
    let touched: () = dir.touch("ada".to_string()).await?;
    let size: u64 = dir.size().await?;
    let _ = (found, parsed, cleared, touched, size);
    Ok(())
}

fn main() {
    let _ = host;
}
