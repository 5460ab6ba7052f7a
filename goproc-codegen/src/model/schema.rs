//! Everything a generator needs from a set of Rust sources: the
//! `#[plugin_interface]` traits, and the user types they reach.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use super::std_types;
use super::typedefs::{parse_enum, parse_struct, TypeDef};
use super::{is_interface_attr, parse_contract, Contract, Ty};

/// Contracts and their types, read from source files.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The contracts, in the order they were found.
    pub contracts: Vec<SourceContract>,
    /// Every user type the contracts reach, by name.
    pub types: BTreeMap<String, TypeDef>,
    /// The files the contracts and the types they reach are defined in, in
    /// the order they were read (the other files read add nothing).
    pub sources: Vec<PathBuf>,
    /// How many files were read.
    pub files_read: usize,
    /// The traits without a `#[plugin_interface]` attribute, in the order
    /// read: what the user may have meant when there is no contract.
    pub unmarked_traits: Vec<TraitSite>,
}

/// Where a trait is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraitSite {
    /// The trait's name.
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// 1-based line of its name.
    pub line: usize,
    /// 1-based column of its name.
    pub column: usize,
    /// Its attributes that look meant for goproc (`#[goproc::plugin]`,
    /// `#[plugin_interfaces]`), as written.
    pub near_misses: Vec<String>,
}

/// A contract and the file it came from.
#[derive(Debug, Clone)]
pub struct SourceContract {
    /// The contract.
    pub contract: Contract,
    /// The file that defines it.
    pub file: PathBuf,
}

/// A problem in the sources, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: error: {}", self.file.display(), self.message)
        }
    }
}

impl Diagnostic {
    fn from_syn(file: &Path, err: syn::Error) -> Vec<Diagnostic> {
        err.into_iter()
            .map(|e| {
                let start = e.span().start();
                Diagnostic {
                    file: file.to_path_buf(),
                    line: start.line,
                    column: start.column + 1,
                    message: e.to_string(),
                }
            })
            .collect()
    }
}

/// Reads `.rs` files, or every `.rs` file below a folder (skipping `target`
/// and hidden folders), and builds the schema of every contract in them.
///
/// A file named twice (`src/lib.rs` and `./src/lib.rs`, or a crate folder
/// and a file in it) is read once, under the first spelling given; files
/// are read in the order of their canonical paths, so the schema does not
/// depend on how the inputs are spelled.
pub fn load(inputs: &[PathBuf]) -> Result<Schema, Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for input in inputs {
        let before = files.len();
        let problem = match collect_files(input, &mut files) {
            Err(e) => Some(format!(
                "cannot read: {e}; pass a `.rs` file or a crate folder"
            )),
            Ok(()) if input.is_dir() && files.len() == before => Some(
                "this folder holds no `.rs` file (`target`, `node_modules` and hidden folders \
                 are skipped); pass the crate folder or the `.rs` file that defines the contract"
                    .to_string(),
            ),
            Ok(()) if input.is_file() && input.extension().is_none_or(|e| e != "rs") => {
                Some(not_rust(input))
            }
            Ok(()) => None,
        };
        if let Some(message) = problem {
            diags.push(Diagnostic {
                file: input.clone(),
                line: 0,
                column: 0,
                message,
            });
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut keyed: Vec<(PathBuf, PathBuf)> = files
        .into_iter()
        .map(|f| (std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone()), f))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|later, first| later.0 == first.0);
    let mut sources = Vec::new();
    for (_, file) in keyed {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            vec![Diagnostic {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }]
        })?;
        sources.push((file, text));
    }
    from_sources(&sources)
}

/// Builds a schema from `(file name, Rust source)` pairs.
pub fn from_sources(sources: &[(PathBuf, String)]) -> Result<Schema, Vec<Diagnostic>> {
    let sources_len = sources.len();
    let mut diags = Vec::new();
    let mut contracts = Vec::new();
    let mut unmarked_traits = Vec::new();
    // Candidate type definitions by name; parsed only when a contract reaches them.
    let mut defs: BTreeMap<String, Vec<(PathBuf, Def)>> = BTreeMap::new();
    for (file, text) in sources {
        let parsed = match syn::parse_file(text) {
            Ok(f) => f,
            Err(e) => {
                diags.extend(Diagnostic::from_syn(file, e));
                continue;
            }
        };
        walk_items(&parsed.items, &mut |item| match item {
            syn::Item::Trait(t) if has_interface_attr(&t.attrs) => match parse_contract(t) {
                Ok(contract) => contracts.push(SourceContract {
                    contract,
                    file: file.clone(),
                }),
                Err(e) => diags.extend(Diagnostic::from_syn(file, e)),
            },
            syn::Item::Trait(t) => {
                let at = t.ident.span().start();
                unmarked_traits.push(TraitSite {
                    name: t.ident.to_string(),
                    file: file.clone(),
                    line: at.line,
                    column: at.column + 1,
                    near_misses: t
                        .attrs
                        .iter()
                        .filter(|a| {
                            let path = path_text(a.path());
                            path.contains("goproc") || path.contains("plugin")
                        })
                        .map(|a| format!("#[{}]", path_text(a.path())))
                        .collect(),
                });
            }
            syn::Item::Struct(s) => defs
                .entry(s.ident.to_string())
                .or_default()
                .push((file.clone(), Def::Struct(s.clone()))),
            syn::Item::Enum(e) => defs
                .entry(e.ident.to_string())
                .or_default()
                .push((file.clone(), Def::Enum(e.clone()))),
            _ => {}
        });
    }

    // Reach every type from the contracts' signatures, breadth first.
    let mut types = BTreeMap::new();
    let mut type_files: BTreeMap<String, PathBuf> = BTreeMap::new();
    // Names already resolved, refused or reported as defined twice.
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<Use> = VecDeque::new();
    for sc in &contracts {
        for m in &sc.contract.methods {
            let used_by = format!("`{}.{}`", sc.contract.name, m.name);
            let mut typed: Vec<(&Ty, Option<&syn::Type>)> =
                m.args.iter().map(|a| (&a.shape, Some(&a.ty))).collect();
            typed.push((&m.ret, m.output.as_ref()));
            for (shape, written) in typed {
                let names = shape.named_types();
                let found = written.map(|t| paths_naming(t, &names)).unwrap_or_default();
                if found.is_empty() {
                    // Not found in the tokens: point at the method.
                    let at = m.span.start();
                    queue.extend(names.iter().map(|n| Use {
                        name: n.to_string(),
                        written: n.to_string(),
                        used_by: used_by.clone(),
                        file: sc.file.clone(),
                        at: (at.line, at.column + 1),
                    }));
                }
                queue.extend(found.into_iter().map(|p| Use::of(p, &used_by, &sc.file)));
            }
        }
    }
    while let Some(u) = queue.pop_front() {
        if done.contains(&u.name) {
            continue;
        }
        let Some(candidates) = defs.get(&u.name) else {
            diags.push(Diagnostic {
                file: u.file.clone(),
                line: u.at.0,
                column: u.at.1,
                message: not_defined(&u),
            });
            continue;
        };
        done.insert(u.name.clone());
        let name = u.name;
        if candidates.len() > 1 {
            let places: Vec<String> = candidates
                .iter()
                .map(|(f, d)| location(f, d.ident()))
                .collect();
            diags.push(Diagnostic {
                file: candidates[1].0.clone(),
                line: candidates[1].1.ident().span().start().line,
                column: candidates[1].1.ident().span().start().column + 1,
                message: format!(
                    "type `{name}` is defined more than once ({}); stubs need one definition",
                    places.join(", ")
                ),
            });
            continue;
        }
        let (file, def) = &candidates[0];
        let parsed = match def {
            Def::Struct(s) => parse_struct(s, location(file, &s.ident)),
            Def::Enum(e) => parse_enum(e, location(file, &e.ident)),
        };
        match parsed {
            Ok(td) => {
                type_files.insert(name.clone(), file.clone());
                let used_by = format!("type `{name}`");
                let names = td.named_types();
                for field in def.field_types() {
                    queue.extend(
                        paths_naming(field, &names)
                            .into_iter()
                            .map(|p| Use::of(p, &used_by, file)),
                    );
                }
                types.insert(name, td);
            }
            Err(e) => diags.extend(Diagnostic::from_syn(file, e)),
        }
    }
    // In source order, each once.
    diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    diags.dedup();

    if diags.is_empty() {
        let mut used: Vec<&PathBuf> = contracts.iter().map(|sc| &sc.file).collect();
        used.extend(type_files.values());
        let sources = sources
            .iter()
            .map(|(file, _)| file)
            .filter(|f| used.contains(f))
            .cloned()
            .collect();
        Ok(Schema {
            contracts,
            types,
            sources,
            files_read: sources_len,
            unmarked_traits,
        })
    } else {
        Err(diags)
    }
}

/// One place a contract or a type names a user type.
struct Use {
    /// The type's name, the last segment of its path.
    name: String,
    /// Its path as written, without generic arguments (`std::time::Duration`).
    written: String,
    /// Who uses it, for messages: `` `Store.get` `` or `` type `Entry` ``.
    used_by: String,
    /// The file, and the 1-based line and column of the path.
    file: PathBuf,
    at: (usize, usize),
}

impl Use {
    fn of(path: &syn::Path, used_by: &str, file: &Path) -> Use {
        let first = path
            .segments
            .first()
            .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span())
            .start();
        Use {
            name: path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            written: path_text(path),
            used_by: used_by.to_string(),
            file: file.to_path_buf(),
            at: (first.line, first.column + 1),
        }
    }
}

/// Why a type that no input defines cannot be used: a well-known type with
/// no mapping in the stubs says what to send instead.
fn not_defined(u: &Use) -> String {
    let name = &u.name;
    let used_by = &u.used_by;
    let Some(std) = std_types::no_mapping(name) else {
        return format!(
            "type `{name}`, used by {used_by}, is not defined in the inputs; add the file that \
             defines it to the inputs (a crate folder reads all its files), or use a type from \
             the type table"
        );
    };
    // Written with its crate (`std::time::Duration`), or a primitive: it is
    // certainly not a type of the user's.
    let root = u.written.trim_start_matches("::").split("::").next();
    let std_root = std.path.split("::").next();
    let explicit = !std.path.contains("::")
        || u.written.contains("::")
            && (root == std_root
                || std_root == Some("std") && matches!(root, Some("core" | "alloc")));
    let subject = if explicit {
        format!("`{}`", u.written)
    } else {
        format!("`{name}` (`{}`)", std.path)
    };
    let own = if explicit {
        String::new()
    } else {
        format!("; if `{name}` is a type of your own, add the file that defines it to the inputs")
    };
    format!(
        "{subject}, used by {used_by}, has no mapping in the Python and TypeScript stubs; send {} \
         instead ({}){own}",
        std.instead, std.how
    )
}

/// Every path in `ty` whose last segment is one of `names`, in order.
fn paths_naming<'a>(ty: &'a syn::Type, names: &[&str]) -> Vec<&'a syn::Path> {
    let mut out = Vec::new();
    collect_paths(ty, &mut |p| {
        if p.segments.last().is_some_and(|s| {
            let ident = s.ident.to_string();
            names.iter().any(|n| *n == ident)
        }) {
            out.push(p);
        }
    });
    out
}

fn collect_paths<'a>(ty: &'a syn::Type, f: &mut impl FnMut(&'a syn::Path)) {
    match ty {
        syn::Type::Path(p) => {
            f(&p.path);
            for seg in &p.path.segments {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    for arg in &a.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            collect_paths(t, f);
                        }
                    }
                }
            }
        }
        syn::Type::Tuple(t) => t.elems.iter().for_each(|e| collect_paths(e, f)),
        syn::Type::Array(a) => collect_paths(&a.elem, f),
        syn::Type::Paren(p) => collect_paths(&p.elem, f),
        syn::Type::Group(g) => collect_paths(&g.elem, f),
        _ => {}
    }
}

enum Def {
    Struct(syn::ItemStruct),
    Enum(syn::ItemEnum),
}

impl Def {
    /// The types of its fields (of every variant, for an enum), in order.
    fn field_types(&self) -> Vec<&syn::Type> {
        let fields: Vec<&syn::Fields> = match self {
            Def::Struct(s) => vec![&s.fields],
            Def::Enum(e) => e.variants.iter().map(|v| &v.fields).collect(),
        };
        fields.into_iter().flatten().map(|f| &f.ty).collect()
    }

    fn ident(&self) -> &syn::Ident {
        match self {
            Def::Struct(s) => &s.ident,
            Def::Enum(e) => &e.ident,
        }
    }
}

fn location(file: &Path, ident: &syn::Ident) -> String {
    format!("{}:{}", file.display(), ident.span().start().line)
}

/// Why a file input that is not a `.rs` file cannot be read, and what to pass.
fn not_rust(input: &Path) -> String {
    let folder = input
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if input.file_name().is_some_and(|n| n == "Cargo.toml") {
        format!(
            "not a `.rs` file; to read the crate, pass its folder (`{}`)",
            folder.display()
        )
    } else {
        "not a `.rs` file; pass the Rust file that defines the contract, or its crate folder"
            .to_string()
    }
}

/// A path as written, `goproc::plugin_interface`.
fn path_text(path: &syn::Path) -> String {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{lead}{}", names.join("::"))
}

/// `#[plugin_interface]`, `#[goproc::plugin_interface]` or with arguments.
fn has_interface_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(is_interface_attr)
}

fn walk_items(items: &[syn::Item], f: &mut impl FnMut(&syn::Item)) {
    for item in items {
        f(item);
        if let syn::Item::Mod(m) = item {
            if let Some((_, inner)) = &m.content {
                walk_items(inner, f);
            }
        }
    }
}

fn collect_files(input: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(input)?;
    if meta.is_file() {
        out.push(input.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(input)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "node_modules" {
                collect_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

impl Schema {
    /// Refuses what a generator cannot emit yet, naming the contract and
    /// the method: streams and event contracts need the version-3 runtime.
    pub fn refuse_streams_and_events(&self, language: &str) -> Result<(), String> {
        for sc in &self.contracts {
            let c = &sc.contract;
            if c.events {
                return Err(format!(
                    "{}: event contract `{}` cannot be generated for {language} yet",
                    sc.file.display(),
                    c.name
                ));
            }
            if let Some(m) = c
                .methods
                .iter()
                .find(|m| m.answer_stream().is_some() || m.stream_arg().is_some())
            {
                return Err(format!(
                    "{}: `{}::{}` streams, which the {language} generator does not support yet",
                    sc.file.display(),
                    c.name,
                    m.name
                ));
            }
        }
        Ok(())
    }
}
