use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{sha256_file, verify, Policy};
use crate::registry::Manifest;
use crate::Error;

const FP: &str = "e051df6900000000000000000000000000000000000000000000000000abcdef";
/// sha256("test")
const TEST_SUM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A plugin folder `<scratch>/plugins/calc` with `bin/calc` ("test") and a
/// manifest that lists its checksum as `sum`.
fn plugin(scratch: &Path, sum: &str) -> Manifest {
    let folder = scratch.join("plugins/calc");
    fs::create_dir_all(folder.join("bin")).unwrap();
    fs::write(folder.join("bin/calc"), "test").unwrap();
    fs::set_permissions(folder.join("bin/calc"), fs::Permissions::from_mode(0o755)).unwrap();
    let text = format!(
        "name = \"calc\"\nnamespace = \"math\"\nversion = \"1\"\n[run]\ncommand = \"bin/calc\"\n\
         [[serves]]\ncontract = \"Calculator\"\nfingerprint = \"{FP}\"\n[checksums]\n\
         \"bin/calc\" = \"{sum}\"\n"
    );
    fs::write(folder.join("plugin.toml"), text).unwrap();
    Manifest::load(folder.join("plugin.toml")).unwrap()
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn sha256_of_small_empty_and_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    fs::write(&small, "test").unwrap();
    assert_eq!(sha256_file(&small).unwrap(), TEST_SUM);
    let empty = dir.path().join("empty");
    fs::write(&empty, "").unwrap();
    assert_eq!(
        sha256_file(&empty).unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // Past one read buffer, so that the pieces are joined right.
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
    let large = dir.path().join("large");
    fs::write(&large, &data).unwrap();
    assert_eq!(
        sha256_file(&large).unwrap(),
        super::hex(&<sha2::Sha256 as sha2::Digest>::digest(&data))
    );
    assert!(sha256_file(dir.path().join("missing")).is_err());
}

#[test]
fn good_plugin_passes() {
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    verify(&m, &Policy::default()).unwrap();
}

#[test]
fn checksum_mismatch_names_file_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "ab".repeat(32);
    let m = plugin(dir.path(), &wrong);
    let err = verify(&m, &Policy::default()).unwrap_err();
    match &err {
        Error::Checksum {
            plugin,
            file,
            expected,
            actual,
        } => {
            assert_eq!(plugin, "math/calc");
            assert_eq!(file, Path::new("bin/calc"));
            assert_eq!(expected, &wrong);
            assert_eq!(actual, TEST_SUM);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("bin/calc has sha256 9f86d081"), "{text}");
    assert!(text.contains(&format!("manifest says {wrong}")), "{text}");
    assert!(text.contains("update the manifest's [checksums]"), "{text}");
}

#[test]
fn missing_checksummed_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    let text = format!(
        "{}\"lib/gone.py\" = \"{TEST_SUM}\"\n",
        fs::read_to_string(&m.path).unwrap()
    );
    fs::write(&m.path, text).unwrap();
    let m = Manifest::load(&m.path).unwrap();
    let err = verify(&m, &Policy::default()).unwrap_err().to_string();
    assert!(err.contains("lib/gone.py"), "{err}");
    assert!(
        err.contains("listed in its manifest's [checksums]"),
        "{err}"
    );
}

#[test]
fn world_writable_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    let file = m.folder.join("bin/calc");
    chmod(&file, 0o757);
    match verify(&m, &Policy::default()).unwrap_err() {
        Error::UnsafePlugin {
            plugin,
            path,
            reason,
        } => {
            assert_eq!(plugin, "math/calc");
            assert_eq!(path, file);
            assert!(reason.contains("writable by every user"), "{reason}");
            assert!(reason.contains("chmod o-w"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn world_writable_folder_and_manifest_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    chmod(&m.folder, 0o777);
    match verify(&m, &Policy::default()).unwrap_err() {
        Error::UnsafePlugin { path, reason, .. } => {
            assert_eq!(path, m.folder);
            assert!(
                reason.starts_with("the folder is writable by every user"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    chmod(&m.folder, 0o755);
    chmod(&m.path, 0o666);
    match verify(&m, &Policy::default()).unwrap_err() {
        Error::UnsafePlugin { path, .. } => assert_eq!(path, m.path),
        other => panic!("{other:?}"),
    }
}

#[test]
fn group_writable_is_fine_for_own_group_only() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    let file = m.folder.join("bin/calc");
    chmod(&file, 0o775);
    // Files made by this process belong to its own group: allowed.
    assert_eq!(fs::metadata(&file).unwrap().gid(), unsafe {
        libc::getegid()
    });
    verify(&m, &Policy::default()).unwrap();
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot give the file to another group; that half is not run");
        return;
    }
    let other_group = unsafe { libc::getegid() } + 4242;
    std::os::unix::fs::chown(&file, None, Some(other_group)).unwrap();
    let err = verify(&m, &Policy::default()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("writable by group {other_group}")),
        "{err}"
    );
    assert!(err.contains("chmod g-w"), "{err}");
}

#[test]
fn file_of_another_user_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot give a file to another user; not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    let file = m.folder.join("bin/calc");
    std::os::unix::fs::chown(&file, Some(4242), None).unwrap();
    let err = verify(&m, &Policy::default()).unwrap_err().to_string();
    assert!(err.contains("owned by user 4242"), "{err}");
}

#[test]
fn allow_list_refuses_other_folders() {
    let dir = tempfile::tempdir().unwrap();
    let m = plugin(dir.path(), TEST_SUM);
    let inside = Policy {
        allow: vec![dir.path().join("plugins")],
    };
    verify(&m, &inside).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let outside = Policy {
        allow: vec![elsewhere.clone(), PathBuf::from("/no/such/folder")],
    };
    match verify(&m, &outside).unwrap_err() {
        Error::UnsafePlugin { path, reason, .. } => {
            assert_eq!(path, m.folder.canonicalize().unwrap());
            assert!(reason.contains("outside the allowed folders"), "{reason}");
            assert!(
                reason.contains(&elsewhere.display().to_string()),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // `plugins/../elsewhere` style tricks resolve before the comparison.
    let tricky = Policy {
        allow: vec![dir.path().join("elsewhere/../plugins/calc")],
    };
    verify(&m, &tricky).unwrap();
}
