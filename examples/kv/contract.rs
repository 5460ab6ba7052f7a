//! A richer contract: a key-value store with structs, enums with data,
//! `Option`, `Vec`, `HashMap` and bytes.

use std::collections::HashMap;

/// A stored value and what is known about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The raw value.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Seconds until the entry expires, if it does.
    pub ttl_seconds: Option<u32>,
    /// How many times it was written.
    pub version: u64,
}

/// One change to apply.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// Store a value under a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove a key.
    Delete(String),
    /// Remove every key.
    Clear,
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchReport {
    /// Keys written.
    pub written: u32,
    /// Keys removed.
    pub removed: u32,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    /// The key is not in the store.
    NotFound(String),
    /// The store is full.
    Full {
        /// How many keys it holds at most.
        capacity: u32,
    },
}

/// A key-value store that lives in a plugin process.
#[goproc::plugin_interface]
pub trait KeyValueStore {
    /// Stores `value` under `key` with optional tags and expiry; returns the new version.
    async fn put(
        &self,
        key: String,
        value: Vec<u8>,
        tags: Vec<String>,
        ttl_seconds: Option<u32>,
    ) -> Result<u64, StoreError>;

    /// The entry under `key`, if any.
    async fn get(&self, key: String) -> Option<Entry>;

    /// Removes `key`; a missing key is a domain error.
    async fn delete(&self, key: String) -> Result<Entry, StoreError>;

    /// Applies changes in order.
    async fn batch(&self, ops: Vec<Op>) -> Result<BatchReport, StoreError>;

    /// How many keys carry each tag.
    async fn tag_counts(&self) -> HashMap<String, u64>;

    /// Every key, sorted.
    async fn keys(&self) -> Vec<String>;
}
