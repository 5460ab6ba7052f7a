//! What the Python and TypeScript schema tests share: the drifted copies of
//! tests/contracts/stats.rs, each with the refusal the host must give; the
//! schemas `goproc-codegen` computes from a contract file; and the checks a
//! plugin and its stubs must pass, whichever their language.

use std::path::{Path, PathBuf};

use goproc_codegen::canonical::{from_model, ContractSchema};

#[allow(dead_code)]
#[path = "../../examples/calculator/contract.rs"]
pub mod calculator;
#[allow(dead_code)]
#[path = "../contracts/everything.rs"]
pub mod everything;
#[path = "../contracts/stats.rs"]
pub mod stats;

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

/// Checks that starting the plugin `plugin` failed with the refusal for
/// `drift`: a schema mismatch on the Counter contract naming the difference.
pub fn assert_refused_for_drift<T>(started: Result<T, goproc::Error>, plugin: &str, drift: &Drift) {
    let Err(err) = started else {
        panic!(
            "drift {}: the host accepted a plugin whose types differ",
            drift.name
        );
    };
    match &err {
        goproc::Error::SchemaMismatch {
            plugin: named,
            contract,
            difference,
        } => {
            assert_eq!(
                (named.as_str(), contract.as_str(), difference.as_str()),
                (plugin, "Counter", drift.difference),
                "drift {}",
                drift.name
            );
        }
        other => panic!(
            "drift {}: expected SchemaMismatch, got {other:?}",
            drift.name
        ),
    }
    assert_eq!(
        err.to_string(),
        refusal(plugin, drift),
        "drift {}",
        drift.name
    );
}

/// Checks that `plugin`, built from the stubs of the stats contract itself,
/// answers a Counter call and describes the contract as the contract file
/// does, type docs included; then shuts it down.
pub async fn assert_serves_and_describes_the_stats_contract(plugin: goproc::Plugin) {
    use stats::{CounterClient, Stats};

    let counter = plugin
        .client::<CounterClient>()
        .expect("the Counter client");
    assert_eq!(
        counter.stats().await.expect("stats"),
        Stats {
            calls: 4,
            bytes_in: 1,
            bytes_out: 2
        }
    );
    let described = plugin.describe().await.expect("describe");
    let expected = model_schema(STATS_CONTRACT, "Counter");
    assert_eq!(
        described,
        vec![expected.clone()],
        "left: what the plugin described, right: the contract file's schema"
    );
    // The docs of the types come from the stubs: Rust has none at run time.
    assert!(
        expected.documented_text().contains(
            "/// Totals since the last reset.\nstruct Stats {\n    /// Calls answered.\n"
        ),
        "{}",
        expected.documented_text()
    );
    plugin
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .expect("the plugin shuts down");
}

/// The contract files whose stubs' carried schemas are compared, relative
/// to the workspace root.
pub const CARRIED_CONTRACTS: [&str; 2] = [
    "tests/contracts/everything.rs",
    "examples/calculator/contract.rs",
];

/// Checks what `script` (print_schemas, run against the stubs of
/// [`CARRIED_CONTRACTS`] in the language `language`) printed: per contract,
/// its name, canonical text and documented text, separated by NULs. Both
/// texts must be the model's bytes, and the canonical text the Rust
/// runtime's tracing too.
pub fn assert_stubs_carry_model_and_runtime_bytes(language: &str, script: &str, printed: &str) {
    use goproc::Client;

    let parts: Vec<&str> = printed.split('\0').collect();
    let carried: Vec<(&str, &str, &str)> = parts
        .chunks(3)
        .filter(|c| c.len() == 3)
        .map(|c| (c[0], c[1], c[2]))
        .collect();
    let cases: [(&str, &str, &goproc::ContractInfo); 2] = [
        (
            CARRIED_CONTRACTS[0],
            "Everything",
            everything::EverythingClient::CONTRACT,
        ),
        (
            CARRIED_CONTRACTS[1],
            "Calculator",
            calculator::CalculatorClient::CONTRACT,
        ),
    ];
    assert_eq!(carried.len(), cases.len(), "{script} printed:\n{printed}");
    for ((path, name, _), (stub_name, canonical, documented)) in cases.iter().zip(&carried) {
        assert_eq!(stub_name, name);
        let model = model_schema(path, name);
        assert_eq!(
            *canonical,
            model.canonical_text(),
            "{name}: the {language} stub's canonical text (left) and the model's (right)"
        );
        assert_eq!(
            *documented,
            model.documented_text(),
            "{name}: the {language} stub's documented text (left) and the model's (right)"
        );
    }
    // Every contract is compared before failing, so one message lists them all.
    let mut wrong = Vec::new();
    for ((_, name, info), (_, canonical, _)) in cases.iter().zip(&carried) {
        match (info.schema)() {
            Err(e) => wrong.push(format!(
                "{name}: the Rust runtime cannot trace the schema: {e}"
            )),
            Ok(traced) if traced.canonical_text() != *canonical => wrong.push(format!(
                "{name}: the {language} stub's canonical text\n{canonical}\nthe Rust runtime's\n{}",
                traced.canonical_text()
            )),
            Ok(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
