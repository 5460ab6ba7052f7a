//! An in-memory implementation of the `KeyValueStore` contract.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::kv_contract::{BatchReport, Entry, KeyValueStore, Op, StoreError};

/// How many keys the store holds at most.
pub const CAPACITY: u32 = 1000;

/// The store: a sorted map behind a lock (calls arrive concurrently).
#[derive(Default)]
pub struct Store {
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Store {
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn put_into(
    entries: &mut BTreeMap<String, Entry>,
    key: String,
    value: Vec<u8>,
    tags: Vec<String>,
    ttl_seconds: Option<u32>,
) -> Result<u64, StoreError> {
    if !entries.contains_key(&key) && entries.len() as u32 >= CAPACITY {
        return Err(StoreError::Full { capacity: CAPACITY });
    }
    let version = entries.get(&key).map_or(1, |e| e.version + 1);
    entries.insert(
        key,
        Entry {
            value,
            tags,
            ttl_seconds,
            version,
        },
    );
    Ok(version)
}

impl KeyValueStore for Store {
    async fn put(
        &self,
        key: String,
        value: Vec<u8>,
        tags: Vec<String>,
        ttl_seconds: Option<u32>,
    ) -> Result<u64, StoreError> {
        put_into(&mut self.entries(), key, value, tags, ttl_seconds)
    }

    async fn get(&self, key: String) -> Option<Entry> {
        self.entries().get(&key).cloned()
    }

    async fn delete(&self, key: String) -> Result<Entry, StoreError> {
        self.entries().remove(&key).ok_or(StoreError::NotFound(key))
    }

    async fn batch(&self, ops: Vec<Op>) -> Result<BatchReport, StoreError> {
        let mut entries = self.entries();
        let mut report = BatchReport {
            written: 0,
            removed: 0,
        };
        for op in ops {
            match op {
                Op::Put { key, value } => {
                    put_into(&mut entries, key, value, Vec::new(), None)?;
                    report.written += 1;
                }
                Op::Delete(key) => {
                    entries.remove(&key).ok_or(StoreError::NotFound(key))?;
                    report.removed += 1;
                }
                Op::Clear => {
                    report.removed += entries.len() as u32;
                    entries.clear();
                }
            }
        }
        Ok(report)
    }

    async fn tag_counts(&self) -> HashMap<String, u64> {
        let mut counts = HashMap::new();
        for entry in self.entries().values() {
            for tag in &entry.tags {
                *counts.entry(tag.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    async fn keys(&self) -> Vec<String> {
        self.entries().keys().cloned().collect()
    }
}
