//! Waiting for a condition in a test, with a bound (shared by the test
//! support modules, which include this file by path).

use std::time::{Duration, Instant};

/// Waits until `done`, failing the test after ten seconds.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
