//! The README's quick start, as a user would follow it: a new crate that
//! depends on goproc by path, with a contract, a plugin and a host, built
//! from the README's own code blocks and run.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

/// The README's files: each `<!-- quickstart: NAME -->` marker names the
/// code block that follows it.
fn quickstart_blocks() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let mut blocks = BTreeMap::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("<!-- quickstart: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().expect("a code block follows the marker");
        assert!(
            fence.starts_with("```"),
            "`{name}`: expected a code block, found {fence:?}"
        );
        let mut body = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        blocks.insert(name.to_string(), body);
    }
    blocks
}

#[test]
fn the_readme_quick_start_builds_in_a_new_crate_and_its_plugin_answers() {
    let mut blocks = quickstart_blocks();
    let expected = blocks
        .remove("output")
        .expect("the README shows the expected output");
    let crate_dir = common::scratch("readme-quickstart").join("hello-plugins");
    let _ = std::fs::remove_dir_all(&crate_dir);
    for (name, body) in &blocks {
        let body = if name == "Cargo.toml" {
            let goproc = common::root().join("goproc");
            assert!(body.contains("path = \"../goproc/goproc\""), "{body}");
            body.replace("../goproc/goproc", &goproc.display().to_string())
                // Keep the new crate out of this workspace.
                + "\n[workspace]\n"
        } else {
            body.clone()
        };
        let path = crate_dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, body).expect("write");
    }
    // A target folder of its own that survives between runs, so only the
    // first run pays for building the dependencies.
    let target = common::scratch("readme-quickstart-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(&cargo)
        .args(["build", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("running cargo build");
    assert!(
        build.status.success(),
        "the quick start does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let host = Command::new(target.join("debug").join("host"))
        .output()
        .expect("running the host");
    assert!(
        host.status.success(),
        "{}",
        String::from_utf8_lossy(&host.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&host.stdout), expected);

    let by_hand = Command::new(target.join("debug").join("plugin"))
        .env_remove("GOPROC_ADDR")
        .output()
        .expect("running the plugin by hand");
    assert_eq!(by_hand.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&by_hand.stderr).contains("meant to be started by a host"));
}
