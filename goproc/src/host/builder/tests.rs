//! The before-spawn hook with a real process: a program that would leave a
//! marker file shows whether it ran.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Plugin};

/// `sh -c 'touch marker'`: not a goproc plugin, so the start fails after
/// it ran; the marker says whether it did.
fn marker_program(marker: &Path) -> crate::PluginBuilder {
    Plugin::builder("/bin/sh")
        .arg("-c")
        .arg(format!("touch '{}'", marker.display()))
        .name("marker")
        .start_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn failing_check_is_returned_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let err = marker_program(&marker)
        .before_spawn(Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(Error::Unloaded {
                plugin: "math/calc".into(),
            })
        }))
        .spawn()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unloaded { plugin } if plugin == "math/calc"),
        "the check's error comes back unchanged: {err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        !marker.exists(),
        "the program ran although its check failed"
    );
}

#[tokio::test]
async fn passing_check_runs_before_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let seen = marker.clone();
    let err = marker_program(&marker)
        .before_spawn(Arc::new(move || {
            // The program has not run yet when the check does.
            assert!(!seen.exists());
            Ok(())
        }))
        .spawn()
        .await
        .unwrap_err();
    // `sh` is no goproc plugin: it exits without connecting.
    assert!(matches!(err, Error::PluginExited { .. }), "{err}");
    assert!(
        marker.exists(),
        "the program did not run after its check passed"
    );
}

#[tokio::test]
async fn panicking_check_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let err = marker_program(&marker)
        .before_spawn(Arc::new(|| panic!("checker broke")))
        .spawn()
        .await
        .unwrap_err();
    match err {
        Error::Spawn { plugin, reason, .. } => {
            assert_eq!(plugin, "marker");
            assert!(
                reason.contains("the check before starting it failed"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(!marker.exists());
}
