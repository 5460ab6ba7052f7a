//! The TypeScript generator (Node built-ins only, ES modules).
//!
//! One run writes `goproc_runtime.ts` (frames, the bincode codec, the
//! handshake and the serve loop; the text of the `goproc_runtime.ts` file
//! next to this module) and one module per Rust file that defines a
//! contract, named as Python names it: after the contract when the file
//! defines one (`trait KeyValueStore` -> `key_value_store.ts`), else after
//! the file (`contract.rs` -> `contract.ts`). See
//! `docs/TYPESCRIPT.md` for what the modules contain.
//!
//! The work is split the way the model is: `check` refuses what cannot be
//! printed, `types` maps wire shapes to TypeScript types and codec calls,
//! `emit` prints, `names` spells Rust names in TypeScript.

mod emit;
mod names;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::model::schema::Schema;
use crate::model::typedefs::{Fields, TypeDef, TypeDefKind};
use crate::model::Contract;
use crate::naming;
use crate::output::OutputFile;
use crate::stub_schema::SchemaTexts;

/// The runtime every generated module imports.
pub const RUNTIME_SOURCE: &str = include_str!("goproc_runtime.ts");

/// Prints the TypeScript modules for `schema`. `source` names the inputs
/// (as given on the command line), for the regeneration hint in each header.
pub fn generate(schema: &Schema, source: &str) -> Result<Vec<OutputFile>, String> {
    check(schema)?;
    let mut files = vec![OutputFile {
        path: PathBuf::from(format!("{}.ts", emit::RUNTIME_MODULE)),
        contents: RUNTIME_SOURCE.to_string(),
    }];
    for (module_name, (file, contracts)) in modules(schema)? {
        let types = reachable_types(schema, &contracts);
        let schemas = contracts
            .iter()
            .map(|c| SchemaTexts::of(c, &schema.types))
            .collect();
        let module = emit::Module {
            source_file: display_path(&file),
            inputs: source,
            contracts,
            schemas,
            types,
            all_types: &schema.types,
        };
        files.push(OutputFile {
            path: PathBuf::from(format!("{module_name}.ts")),
            contents: emit::module(&module),
        });
    }
    Ok(files)
}

type Modules<'a> = BTreeMap<String, (PathBuf, Vec<&'a Contract>)>;

/// Groups the contracts by the file that defines them; each file is a
/// module, named by the rule both languages share ([`naming::module_name`]:
/// after its contract when it defines one, else after the file).
fn modules(schema: &Schema) -> Result<Modules<'_>, String> {
    let mut files: Vec<(PathBuf, Vec<&Contract>)> = Vec::new();
    for sc in &schema.contracts {
        match files.iter_mut().find(|(f, _)| f == &sc.file) {
            Some((_, list)) => list.push(&sc.contract),
            None => files.push((sc.file.clone(), vec![&sc.contract])),
        }
    }
    let mut out: Modules<'_> = BTreeMap::new();
    for (file, contracts) in files {
        let name = naming::file_module_name(&file, contracts.iter().map(|c| c.name.to_string()));
        if name == emit::RUNTIME_MODULE {
            return Err(format!(
                "{}: its module would be called `{name}`, the name of the runtime module; rename the \
                 contract or the file",
                file.display(),
            ));
        }
        if let Some((other, _)) = out.get(&name) {
            return Err(format!(
                "{} and {} would both be written as {name}.ts; rename a contract or a file",
                other.display(),
                file.display()
            ));
        }
        out.insert(name, (file, contracts));
    }
    Ok(out)
}

/// A path with `/` separators, so the headers read the same on every OS.
fn display_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
        .replace("//", "/")
}

/// The user types `contracts` reach, sorted by name.
fn reachable_types<'a>(schema: &'a Schema, contracts: &[&Contract]) -> Vec<&'a TypeDef> {
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    for c in contracts {
        for m in &c.methods {
            for a in &m.args {
                queue.extend(a.shape.named_types().into_iter().map(String::from));
            }
            queue.extend(m.ret.named_types().into_iter().map(String::from));
        }
    }
    while let Some(name) = queue.pop() {
        if let Some(def) = schema.types.get(&name) {
            if seen.insert(name) {
                queue.extend(def.named_types().into_iter().map(String::from));
            }
        }
    }
    seen.iter().filter_map(|n| schema.types.get(n)).collect()
}

/// Refuses contracts whose names would clash once spelled in TypeScript.
fn check(schema: &Schema) -> Result<(), String> {
    use syn::ext::IdentExt;
    let mut problems = Vec::new();
    let mut members = Vec::new();
    let mut clash = |what: String, names: Vec<String>| {
        let mut seen = BTreeSet::new();
        for n in names {
            if !seen.insert(n.clone()) {
                problems.push(format!("{what}: two names become `{n}` in TypeScript"));
            }
        }
    };
    for sc in &schema.contracts {
        let c = &sc.contract;
        clash(
            format!("contract {} in {}", c.name, sc.file.display()),
            c.methods
                .iter()
                .map(|m| names::ident(&m.name.unraw().to_string()))
                .collect(),
        );
        for m in &c.methods {
            let ts = names::ident(&m.name.unraw().to_string());
            if !c.events && emit::CLIENT_MEMBERS.contains(&ts.as_str()) {
                members.push(format!(
                    "method {}.{} in {}: `{ts}` is a member every TypeScript client has; rename the method",
                    c.name,
                    m.name,
                    sc.file.display()
                ));
            }
            clash(
                format!("method {}.{} in {}", c.name, m.name, sc.file.display()),
                m.args
                    .iter()
                    .map(|a| names::binding(&a.name.unraw().to_string()))
                    .collect(),
            );
        }
    }
    for def in schema.types.values() {
        let field_lists: Vec<(&Fields, bool)> = match &def.kind {
            TypeDefKind::Struct(f) => vec![(f, false)],
            TypeDefKind::Enum(vs) => vs.iter().map(|v| (&v.fields, true)).collect(),
        };
        for (fields, in_variant) in field_lists {
            if let Fields::Named(fs) = fields {
                clash(
                    format!("type {} ({})", def.name, def.location),
                    fs.iter()
                        .map(|f| {
                            if in_variant {
                                names::variant_field(&f.name)
                            } else {
                                names::ident(&f.name)
                            }
                        })
                        .collect(),
                );
            }
        }
    }
    clash(
        "the contracts' types".to_string(),
        schema.types.keys().map(|n| names::type_name(n)).collect(),
    );
    problems.append(&mut members);
    for sc in &schema.contracts {
        let class = emit::class_name(&sc.contract);
        if schema.types.keys().any(|n| names::type_name(n) == class) {
            problems.push(format!(
                "contract {} in {}: its TypeScript class `{class}` has the name of a type; rename one of them",
                sc.contract.name,
                sc.file.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::from_sources;

    fn generate_from(src: &str) -> Result<Vec<OutputFile>, String> {
        let schema = from_sources(&[(PathBuf::from("dir/api.rs"), src.to_string())])
            .map_err(|d| format!("{d:?}"))?;
        generate(&schema, "dir/api.rs")
    }

    const SRC: &str = r#"
        #[derive(Serialize, Deserialize)]
        pub struct Item { pub r#type: String, pub delete: bool }
        #[derive(Serialize, Deserialize)]
        pub enum Change { Put { tag: u8 }, Gone(u64), Both(u8, i128), Nothing }
        #[plugin_interface]
        pub trait Store {
            /// Puts it.
            async fn put(&self, item: Item, ctx: Option<Option<u8>>) -> Result<u64, Change>;
            async fn delete(&self);
        }
    "#;

    #[test]
    fn writes_the_runtime_and_one_module_per_file() {
        let files = generate_from(SRC).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
        // One contract in the file: the module is named after it.
        assert_eq!(paths, ["goproc_runtime.ts", "store.ts"]);
        assert_eq!(files[0].contents, RUNTIME_SOURCE);
    }

    #[test]
    fn module_escapes_keywords_and_boxes_nested_options() {
        let files = generate_from(SRC).unwrap();
        let m = &files[1].contents;
        assert!(m.starts_with("// Generated by goproc-codegen from dir/api.rs; do not edit."));
        assert!(m.contains("  type_: string;"), "{m}");
        // A member may be called `delete` in both languages.
        assert!(m.contains("  delete: boolean;"), "{m}");
        assert!(m.contains("{ tag: \"Put\"; tag_: number }"), "{m}");
        assert!(m.contains("{ tag: \"Gone\"; value: bigint }"), "{m}");
        assert!(
            m.contains("{ tag: \"Both\"; item0: number; item1: bigint }"),
            "{m}"
        );
        assert!(
            m.contains("put(item: Item, ctx: { some: number | null } | null, $ctx: $rt.CallContext): Promise<$rt.Result<bigint, Change>> | $rt.Result<bigint, Change>;"),
            "{m}"
        );
        assert!(
            m.contains("delete(ctx: $rt.CallContext): Promise<void> | void;"),
            "{m}"
        );
        assert!(m.contains("export function serveStore(impl: Store"), "{m}");
    }

    #[test]
    fn each_contract_has_a_client_class_with_one_method_per_method() {
        let files = generate_from(SRC).unwrap();
        let m = &files[1].contents;
        assert!(
            m.contains("export class StoreClient extends $rt.Client {"),
            "{m}"
        );
        assert!(
            m.contains("static override readonly contract: $rt.ContractRef = { name: STORE_NAME, fingerprint: STORE_FINGERPRINT, schema: STORE_SCHEMA };"),
            "{m}"
        );
        assert!(
            m.contains("  put(item: Item, ctx: { some: number | null } | null): Promise<$rt.Result<bigint, Change>> {\n    return this.$call<$rt.Result<bigint, Change>>(0, \"put\", ($w) => { encodeItem($w, item); $w.optionBoxed(ctx, (w, x0) => w.option(x0, (w, x1) => w.u8(x1))); }, (r) => r.result((r) => r.u64(), (r) => decodeChange(r)));"),
            "{m}"
        );
        assert!(
            m.contains("  delete(): Promise<void> {\n    return this.$call<void>(1, \"delete\", () => {}, $rt.noAnswer);"),
            "{m}"
        );
        assert!(
            m.contains("export { ok, err, serve, host, CallError,"),
            "{m}"
        );
    }

    #[test]
    fn an_argument_called_w_does_not_shadow_the_writer() {
        let src = r#"
            #[plugin_interface]
            pub trait Log { async fn write(&self, w: String, r: u8); }
        "#;
        let files = generate_from(src).unwrap();
        let m = &files[1].contents;
        assert!(m.contains("($w) => { $w.string(w); $w.u8(r); }"), "{m}");
    }

    #[test]
    fn a_method_named_like_a_client_member_or_a_type_named_like_a_client_is_refused() {
        let src = r#"
            #[plugin_interface]
            pub trait Store { async fn withTimeout(&self); }
        "#;
        let err = generate_from(src).unwrap_err();
        assert!(
            err.contains("withTimeout") && err.contains("client"),
            "{err}"
        );
        let src = r#"
            #[derive(Serialize, Deserialize)]
            pub struct StoreClient { pub a: u8 }
            #[plugin_interface]
            pub trait Store { async fn get(&self) -> StoreClient; }
        "#;
        let err = generate_from(src).unwrap_err();
        assert!(err.contains("StoreClient"), "{err}");
    }

    const STREAMS: &str = r#"
        #[derive(Serialize, Deserialize)]
        pub struct Summary { pub bytes: u64 }
        #[plugin_interface]
        pub trait Files {
            async fn tail(&self, path: String) -> goproc::Stream<String>;
            async fn upload(&self, name: String, data: goproc::Stream<Vec<u8>>) -> Summary;
            async fn shout(&self, lines: goproc::Stream<String>, prefix: String) -> goproc::Stream<String>;
        }
        #[derive(Serialize, Deserialize)]
        pub struct Reading { pub celsius: f64 }
        #[plugin_interface(events)]
        pub trait Telemetry {
            fn temperature(&self, reading: Reading);
            fn raw_text(&self, topic: String);
        }
    "#;

    #[test]
    fn stream_methods_are_async_iterables_in_handlers_and_clients() {
        let files = generate_from(STREAMS).unwrap();
        let m = &files[1].contents;
        for expect in [
            "  tail(path: string, ctx: $rt.CallContext): AsyncIterable<string>;",
            "  upload(name: string, data: AsyncIterable<Uint8Array>, ctx: $rt.CallContext): Promise<Summary> | Summary;",
            "  shout(lines: AsyncIterable<string>, prefix: string, ctx: $rt.CallContext): AsyncIterable<string>;",
            "    $rt.streamMethod<Files, string>(\n      \"tail\",\n      (r) => {\n        const a0 = r.string();\n        return (impl, ctx) => impl.tail(a0, ctx);\n      },\n      (w, v) => w.string(v),\n    ),",
            "    $rt.method<Files, Summary, Uint8Array>(\n      \"upload\",\n      (r) => {\n        const a0 = r.string();\n        return (impl, ctx, input) => impl.upload(a0, input, ctx);\n      },\n      (w, v) => encodeSummary(w, v),\n      (r) => r.bytesField(),\n    ),",
            "        const a1 = r.string();\n        return (impl, ctx, input) => impl.shout(input, a1, ctx);",
            "  tail(path: string): AsyncIterableIterator<string> {\n    return this.$stream<string>(0, \"tail\", ($w) => { $w.string(path); }, (r) => r.string());",
            "  upload(name: string, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Summary> {\n    return this.$call<Summary, Uint8Array>(1, \"upload\", ($w) => { $w.string(name); }, (r) => decodeSummary(r), $rt.argStream(data, (w, $v) => w.bytesField($v)));",
            "  shout(lines: AsyncIterable<string> | Iterable<string>, prefix: string): AsyncIterableIterator<string> {\n    return this.$stream<string, string>(2, \"shout\", ($w) => { $w.string(prefix); }, (r) => r.string(), $rt.argStream(lines, (w, $v) => w.string($v)));",
        ] {
            assert!(m.contains(expect), "missing {expect}\n{m}");
        }
    }

    #[test]
    fn an_event_contract_is_a_class_with_publish_and_subscribe_per_kind() {
        let files = generate_from(STREAMS).unwrap();
        let m = &files[1].contents;
        for expect in [
            "export const TELEMETRY_FINGERPRINT = ",
            "export class TelemetryEvents extends $rt.Events {",
            "static override readonly contract: $rt.ContractRef = { name: TELEMETRY_NAME, fingerprint: TELEMETRY_FINGERPRINT };",
            "  publishTemperature(topic: string, reading: Reading): void {\n    this.$publish(0, topic, ($w) => { encodeReading($w, reading); });",
            "  subscribeTemperature(pattern: string): $rt.Subscription<Reading> {\n    return this.$subscribe(0, \"temperature\", pattern, (r) => decodeReading(r));",
            // A payload called `topic` does not shadow the topic.
            "  publishRawText(topic: string, payload: string): void {\n    this.$publish(1, topic, ($w) => { $w.string(payload); });",
            "export { ok, err, serve, host, CallError, CallTimeout, CallCancelled, RemoteError, ConnectionClosed, events, InvalidTopic }",
        ] {
            assert!(m.contains(expect), "missing {expect}\n{m}");
        }
        // Nothing to serve or call: no interface, method table or client.
        assert!(!m.contains("TELEMETRY_CONTRACT"), "{m}");
        assert!(!m.contains("TelemetryClient"), "{m}");
        assert!(!m.contains("export interface Telemetry "), "{m}");
    }

    #[test]
    fn an_event_class_keeps_a_name_that_ends_in_events() {
        let src = r#"
            #[plugin_interface(events)]
            pub trait SensorEvents { fn measurement(&self, value: f64); }
        "#;
        let files = generate_from(src).unwrap();
        let m = &files[1].contents;
        assert!(
            m.contains("export class SensorEvents extends $rt.Events {"),
            "{m}"
        );
        assert!(
            m.contains("publishMeasurement(topic: string, value: number): void"),
            "{m}"
        );
    }

    #[test]
    fn each_contract_carries_its_canonical_and_documented_schema() {
        let src = r#"
            /// Keeps logs.
            #[plugin_interface]
            pub trait Logs {
                /// Follows a file.
                async fn tail(&self, path: String) -> goproc::Stream<Line>;
            }
            /// One line.
            pub struct Line { pub text: String, pub at: usize }
        "#;
        let files = generate_from(src).unwrap();
        let m = &files[1].contents;
        for expect in [
            "export const LOGS_SCHEMA =\n  \"contract Logs {\\n\" +\n  \"    fn tail(path: String) -> Stream<Line>;\\n\" +\n",
            "  \"    at: u64,\\n\" +\n",
            "  \"}\\n\";\n",
            "export const LOGS_DOCUMENTED_SCHEMA =\n  \"/// Keeps logs.\\n\" +\n",
            "  \"/// One line.\\n\" +\n",
            "  schema: LOGS_SCHEMA,\n  documented: LOGS_DOCUMENTED_SCHEMA,\n",
            "{ name: LOGS_NAME, fingerprint: LOGS_FINGERPRINT, schema: LOGS_SCHEMA };",
        ] {
            assert!(m.contains(expect), "missing {expect}\n{m}");
        }
    }

    #[test]
    fn a_contract_the_schema_cannot_state_gets_stubs_with_an_empty_schema_saying_why() {
        // `Result` used two ways inside one argument: serde names both `Result`.
        let src = r#"
            #[plugin_interface]
            pub trait Results { async fn mixed(&self, w: Option<Result<Chain, ()>>) -> u8; }
            pub enum Chain { End, Next(Box<Result<Chain, u8>>) }
        "#;
        let files = generate_from(src).unwrap();
        let m = &files[1].contents;
        for expect in [
            "// Contract Results has no schema (`Result` is used with two different type arguments",
            "the host checks it by its fingerprint alone.\n",
            "export const RESULTS_SCHEMA =\n  \"\";\n",
            "export const RESULTS_DOCUMENTED_SCHEMA =\n  \"\";\n",
        ] {
            assert!(m.contains(expect), "missing {expect}\n{m}");
        }
    }

    #[test]
    fn a_file_with_several_contracts_is_named_after_the_file() {
        let src = r#"
            #[plugin_interface]
            pub trait KeyValueStore { async fn get(&self) -> u8; }
            #[plugin_interface]
            pub trait Logger { async fn log(&self, line: String); }
        "#;
        let files = generate_from(src).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(paths, ["goproc_runtime.ts", "api.ts"]);
        let files = generate_from(
            &src[..src
                .find("#[plugin_interface]\n            pub trait Logger")
                .unwrap()],
        )
        .unwrap();
        assert_eq!(files[1].path, PathBuf::from("key_value_store.ts"));
    }

    #[test]
    fn the_method_table_names_members_spelled_otherwise_and_a_test_client_is_generated() {
        let src = r#"
            #[plugin_interface]
            pub trait Mail { async fn from(&self) -> String; async fn send(&self, to: String); }
        "#;
        let files = generate_from(src).unwrap();
        let m = &files[1].contents;
        // `serve` checks these are functions of the implementation.
        assert!(m.contains("  members: [\"from_\", \"send\"],\n};"), "{m}");
        assert!(
            m.contains("export function mailTestClient(impl: Mail, options?: $rt.TestClientOptions): Promise<$rt.TestClient<MailClient>> {\n  return $rt.testClient(MAIL_CONTRACT, MailClient, impl, options);\n}"),
            "{m}"
        );
        // Names the contract spells the same way need no list.
        let plain = generate_from(SRC).unwrap();
        assert!(
            !plain[1].contents.contains("  members: ["),
            "{}",
            plain[1].contents
        );
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(generate_from(SRC).unwrap(), generate_from(SRC).unwrap());
    }

    #[test]
    fn names_that_clash_after_escaping_are_refused() {
        let src = r#"
            #[derive(Serialize, Deserialize)]
            pub struct Item { pub from: bool, pub from_: bool }
            #[plugin_interface]
            pub trait Store { async fn put(&self, item: Item); }
        "#;
        let err = generate_from(src).unwrap_err();
        assert!(err.contains("from_"), "{err}");
    }
}
