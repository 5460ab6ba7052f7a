//! A contract whose types are named after globals of TypeScript (and
//! Python): `Record`, `Map`, `Error`, `Promise`, `Object`. The stubs name
//! them `Record_` and so on, so a file that imports them keeps the globals
//! (tests/typescript_tsc.rs compiles `globals_user.ts` against them).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A struct named like the global `Record<K, V>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub map: Map,
}

/// A struct named like the global `Map`, holding a Rust map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Map {
    pub entries: HashMap<String, u32>,
}

/// An enum named like the global `Error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Error {
    NotFound,
    Broken { reason: String },
    Both(u8, String),
}

/// A tuple struct named like the global `Promise`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promise(pub u8, pub String);

/// A unit struct named like the global `Object`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object;

#[goproc::plugin_interface]
pub trait Globals {
    async fn store(&self, record: Record, promise: Promise, object: Object) -> Result<Map, Error>;
}
