//! What the Python and TypeScript schema tests share: the drifted copies of
//! tests/contracts/stats.rs, each with the refusal the host must give, and
//! the schemas `goproc-codegen` computes from a contract file.

use std::path::{Path, PathBuf};

use goproc_codegen::canonical::{from_model, ContractSchema};

/// The contract the drift tests start from, relative to the workspace root.
pub const STATS_CONTRACT: &str = "tests/contracts/stats.rs";

/// One edit of a type of the contract: its name, the text it replaces and
/// the replacement, and the difference the host must name.
pub struct Drift {
    pub name: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub difference: &'static str,
}

/// Mode's variants as the contract orders them, and moved.
const VARIANTS: &str = "    /// Zero every count.
    Soft,
    /// Zero every count, and forget the history.
    Hard {
        /// Keep the call count.
        keep_calls: bool,
    },
";
const VARIANTS_MOVED: &str = "    /// Zero every count, and forget the history.
    Hard {
        /// Keep the call count.
        keep_calls: bool,
    },
    /// Zero every count.
    Soft,
";

/// Every kind of drift the handshake catches: a field reordered, added,
/// removed, renamed or retyped, a variant moved.
pub fn drifts() -> Vec<Drift> {
    vec![
        Drift {
            name: "reordered",
            from: "    /// Bytes read from callers.
    pub bytes_in: u64,
    /// Bytes written to callers.
    pub bytes_out: u64,
",
            to: "    /// Bytes written to callers.
    pub bytes_out: u64,
    /// Bytes read from callers.
    pub bytes_in: u64,
",
            difference: "Stats: the host has field 2 bytes_in: u64, the plugin has field 2 bytes_out: u64",
        },
        Drift {
            name: "added",
            from: "    pub bytes_out: u64,\n}",
            to: "    pub bytes_out: u64,\n    pub errors: u32,\n}",
            difference: "Stats: the host has no field 4, the plugin has field 4 errors: u32",
        },
        Drift {
            name: "removed",
            from: "    /// Bytes written to callers.\n    pub bytes_out: u64,\n",
            to: "",
            difference: "Stats: the host has field 3 bytes_out: u64, the plugin has no field 3",
        },
        Drift {
            name: "renamed",
            from: "pub calls: u64,",
            to: "pub requests: u64,",
            difference:
                "Stats: the host has field 1 calls: u64, the plugin has field 1 requests: u64",
        },
        Drift {
            name: "retyped",
            from: "pub calls: u64,",
            to: "pub calls: u32,",
            difference: "Stats: the host has field 1 calls: u64, the plugin has field 1 calls: u32",
        },
        Drift {
            name: "variant-moved",
            from: VARIANTS,
            to: VARIANTS_MOVED,
            difference:
                "Mode: the host has variant 1 Soft, the plugin has variant 1 Hard { keep_calls: bool }",
        },
    ]
}

/// Writes the copy of the stats contract with `drift` applied to
/// `<dir>/stats.rs` (the same file name, so the stubs' module names stay),
/// and checks that it kept the trait: the fingerprint is the original's.
pub fn write_drifted(drift: &Drift, dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(super::common::root().join(STATS_CONTRACT))
        .expect("reading tests/contracts/stats.rs");
    assert!(
        original.contains(drift.from),
        "drift {}: tests/contracts/stats.rs no longer contains {:?}",
        drift.name,
        drift.from
    );
    let changed = original.replacen(drift.from, drift.to, 1);
    std::fs::create_dir_all(dir).expect("creating the drift folder");
    let file = dir.join("stats.rs");
    std::fs::write(&file, changed).expect("writing the drifted contract");
    let fingerprint = |path: &Path| {
        goproc_codegen::model::schema::load(&[path.to_path_buf()])
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
            .contracts[0]
            .contract
            .fingerprint
            .clone()
    };
    assert_eq!(
        fingerprint(&file),
        fingerprint(&super::common::root().join(STATS_CONTRACT)),
        "drift {} changed the trait, not only a type",
        drift.name
    );
    file
}

/// The message the host refuses plugin `plugin` with for `drift`.
pub fn refusal(plugin: &str, drift: &Drift) -> String {
    format!(
        "plugin {plugin} disagrees on {}; rebuild the plugin or regenerate its stubs",
        drift.difference
    )
}

/// The schema `goproc-codegen` computes for contract `name` of the file
/// `path` (relative to the workspace root), docs included.
pub fn model_schema(path: &str, name: &str) -> ContractSchema {
    let schema = goproc_codegen::model::schema::load(&[super::common::root().join(path)])
        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    let sc = schema
        .contracts
        .iter()
        .find(|c| c.contract.name == name)
        .unwrap_or_else(|| panic!("{path} has no contract {name}"));
    from_model(&sc.contract, &schema.types).unwrap_or_else(|e| panic!("{path}: {e}"))
}
