//! The host's side of the host_services example, as the tests of its
//! Python and TypeScript plugins see it: a `Store` and a `Logger` that
//! keep what they were given. Included by path next to the example's
//! contract (`super::host_services`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::host_services::{Level, Logger, Store};

#[derive(Clone, Default)]
pub struct ExampleHost {
    pub store: Arc<Mutex<HashMap<String, String>>>,
    pub log: Arc<Mutex<Vec<(Level, String)>>>,
}

impl Store for ExampleHost {
    async fn get(&self, key: String) -> Option<String> {
        self.store.lock().unwrap().get(&key).cloned()
    }

    async fn put(&self, key: String, value: String) -> Option<String> {
        self.store.lock().unwrap().insert(key, value)
    }
}

impl Logger for ExampleHost {
    async fn log(&self, level: Level, message: String) {
        self.log.lock().unwrap().push((level, message));
    }
}
