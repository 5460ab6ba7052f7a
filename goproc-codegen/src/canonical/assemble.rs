//! Builds a [`ContractSchema`] from the types of each argument and answer,
//! however they were found (traced from serde impls, or instantiated from the
//! contract model), so both routes give the same schema.
//!
//! Each argument and answer is traced on its own, so within one trace a type
//! name has one shape. Across traces a generic type may have several
//! (`Page<Record>` and `Page<i64>` are both `Page` to serde); each shape then
//! becomes its own type, named after the types at the places the shapes
//! differ.

use std::collections::BTreeMap;

use super::parse::instance_name;
use super::{Body, ContractSchema, Fields, MethodSchema, Type, TypeSchema};
use crate::canonical::ArgSchema;

/// One type as traced: its shape, and every user type it reaches by name,
/// each name with exactly one shape.
#[derive(Debug, Clone, Default)]
pub struct Traced {
    /// The shape; user types appear as [`Type::Named`] with their base name.
    pub ty: Type,
    /// The user types it reaches, by base name.
    pub types: BTreeMap<String, TypeSchema>,
}

/// One method before assembly.
#[derive(Debug, Clone)]
pub struct MethodDraft {
    /// Its name.
    pub name: String,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its arguments' names and traced types.
    pub args: Vec<(String, Traced)>,
    /// Its traced return type (`Type::Result` / `Type::Stream` at the top).
    pub ret: Traced,
}

/// Assembles a contract's schema from its methods' traced types.
pub fn assemble(
    name: &str,
    docs: Vec<String>,
    events: bool,
    methods: Vec<MethodDraft>,
) -> Result<ContractSchema, String> {
    let mut traces: Vec<Traced> = Vec::new();
    for m in &methods {
        traces.extend(m.args.iter().map(|(_, t)| t.clone()));
        traces.push(m.ret.clone());
    }
    for t in &mut traces {
        normalize(&mut t.ty);
        for def in t.types.values_mut() {
            map_body(&mut def.body, &mut normalize);
        }
    }
    let renames = name_instances(&traces)?;

    let mut types: BTreeMap<String, TypeSchema> = BTreeMap::new();
    for (t, rename) in traces.iter().zip(&renames) {
        for (base, def) in &t.types {
            let mut body = def.body.clone();
            map_body(&mut body, &mut |ty| rename_refs(ty, rename));
            let final_name = rename[base].clone();
            match types.get_mut(&final_name) {
                Some(seen) if seen.body.without_docs() != body.without_docs() => {
                    return Err(format!(
                        "two different types are both named `{final_name}` (serde gives them the \
                         same name); rename one of them"
                    ))
                }
                Some(seen) => {
                    if seen.docs.is_empty() {
                        seen.docs = def.docs.clone();
                    }
                }
                None => {
                    types.insert(
                        final_name.clone(),
                        TypeSchema {
                            name: final_name,
                            docs: def.docs.clone(),
                            body,
                        },
                    );
                }
            }
        }
    }

    let mut renamed = traces.iter().zip(&renames).map(|(t, rename)| {
        let mut ty = t.ty.clone();
        rename_refs(&mut ty, rename);
        ty
    });
    let methods = methods
        .into_iter()
        .map(|m| MethodSchema {
            args: m
                .args
                .into_iter()
                .map(|(name, _)| ArgSchema {
                    name,
                    ty: renamed.next().expect("one trace per argument"),
                })
                .collect(),
            ret: renamed.next().expect("one trace per answer"),
            name: m.name,
            docs: m.docs,
        })
        .collect();
    Ok(ContractSchema {
        name: name.to_string(),
        docs,
        events,
        methods,
        types: types.into_values().collect(),
    })
}

/// A sequence of `u8` is bytes on the wire, however it was spelled.
fn normalize(ty: &mut Type) {
    map_type(ty, &mut |t| {
        if matches!(t, Type::Seq(item) if **item == Type::U8) {
            *t = Type::Bytes;
        }
    });
}

/// For each trace, the final name of each base type name it reaches.
fn name_instances(traces: &[Traced]) -> Result<Vec<BTreeMap<String, String>>, String> {
    let mut renames: Vec<BTreeMap<String, String>> = traces
        .iter()
        .map(|t| t.types.keys().map(|k| (k.clone(), k.clone())).collect())
        .collect();
    // Each round may rename a type used inside another; a few rounds settle
    // any real contract, and a bound keeps a pathological one from spinning.
    for _ in 0..32 {
        let mut shapes: BTreeMap<&str, Vec<Body>> = BTreeMap::new();
        let mut per_trace: Vec<BTreeMap<&str, Body>> = Vec::new();
        for (t, rename) in traces.iter().zip(&renames) {
            let mut mine = BTreeMap::new();
            for (base, def) in &t.types {
                let body = comparable(&def.body, base, rename);
                let seen = shapes.entry(base.as_str()).or_default();
                if !seen.contains(&body) {
                    seen.push(body.clone());
                }
                mine.insert(base.as_str(), body);
            }
            per_trace.push(mine);
        }
        // Keyed by the shape's debug text: bodies are not `Ord`.
        let mut names: BTreeMap<(&str, String), String> = BTreeMap::new();
        for (base, bodies) in &mut shapes {
            if bodies.len() == 1 {
                names.insert((*base, format!("{:?}", bodies[0])), base.to_string());
                continue;
            }
            bodies.sort_by_key(|b| format!("{b:?}"));
            let positions = differing(bodies).ok_or_else(|| {
                format!(
                    "two different types are both named `{base}` (serde gives them the same \
                     name); rename one of them"
                )
            })?;
            for (i, body) in bodies.iter().enumerate() {
                let args: Vec<Type> = positions.iter().map(|p| p[i].clone()).collect();
                names.insert((*base, format!("{body:?}")), instance_name(base, &args));
            }
        }
        let mut changed = false;
        for (rename, mine) in renames.iter_mut().zip(&per_trace) {
            for (base, body) in mine {
                let name = names[&(*base, format!("{body:?}"))].clone();
                let slot = rename.get_mut(*base).expect("every base is named");
                if *slot != name {
                    *slot = name;
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(renames);
        }
    }
    Err(
        "the generic types of this contract refer to each other in a way the schema cannot name; \
         use fewer distinct type arguments"
            .into(),
    )
}

/// A body with references renamed for this trace, docs removed, and
/// references to its own type kept bare (so a recursive generic type does
/// not name itself forever).
fn comparable(body: &Body, base: &str, rename: &BTreeMap<String, String>) -> Body {
    let mut body = body.without_docs();
    map_body(&mut body, &mut |ty| {
        map_type(ty, &mut |t| {
            if let Type::Named(n) = t {
                if n != base {
                    if let Some(r) = rename.get(n.as_str()) {
                        *n = r.clone();
                    }
                }
            }
        })
    });
    body
}

/// Renames base names to this trace's final names.
fn rename_refs(ty: &mut Type, rename: &BTreeMap<String, String>) {
    map_type(ty, &mut |t| {
        if let Type::Named(n) = t {
            if let Some(r) = rename.get(n.as_str()) {
                *n = r.clone();
            }
        }
    });
}

/// For shapes of one name that differ, the places they differ: each place
/// lists the type each shape has there (duplicates removed). `None` when
/// they differ in structure (field names, variants), not in types.
fn differing(bodies: &[Body]) -> Option<Vec<Vec<Type>>> {
    let mut places: Vec<Vec<Type>> = Vec::new();
    match &bodies[0] {
        Body::Struct(first) => {
            let all: Vec<&Fields> = bodies
                .iter()
                .map(|b| match b {
                    Body::Struct(f) => Some(f),
                    Body::Enum(_) => None,
                })
                .collect::<Option<_>>()?;
            differing_fields(first, &all, &mut places)?;
        }
        Body::Enum(first) => {
            for (i, v) in first.iter().enumerate() {
                let all: Vec<&Fields> = bodies
                    .iter()
                    .map(|b| match b {
                        Body::Enum(vs) if vs.len() == first.len() && vs[i].name == v.name => {
                            Some(&vs[i].fields)
                        }
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                differing_fields(&v.fields, &all, &mut places)?;
            }
        }
    }
    let mut unique: Vec<Vec<Type>> = Vec::new();
    for p in places {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    Some(unique)
}

fn differing_fields(first: &Fields, all: &[&Fields], places: &mut Vec<Vec<Type>>) -> Option<()> {
    match first {
        Fields::Unit => all.iter().all(|f| matches!(f, Fields::Unit)).then_some(()),
        Fields::Tuple(ts) => {
            for (i, _) in ts.iter().enumerate() {
                let at: Vec<&Type> = all
                    .iter()
                    .map(|f| match f {
                        Fields::Tuple(us) if us.len() == ts.len() => Some(&us[i]),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                differing_types(&at, places);
            }
            Some(())
        }
        Fields::Named(fs) => {
            for (i, field) in fs.iter().enumerate() {
                let at: Vec<&Type> = all
                    .iter()
                    .map(|f| match f {
                        Fields::Named(gs) if gs.len() == fs.len() && gs[i].name == field.name => {
                            Some(&gs[i].ty)
                        }
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                differing_types(&at, places);
            }
            Some(())
        }
    }
}

/// Walks the types at one place in parallel; where they stop agreeing on
/// structure, that place is a type argument.
fn differing_types(at: &[&Type], places: &mut Vec<Vec<Type>>) {
    let first = at[0];
    if at.iter().all(|t| *t == first) {
        return;
    }
    let children = |t: &Type| -> Option<Vec<Type>> {
        match t {
            Type::Option(a) | Type::Seq(a) | Type::Stream(a) => Some(vec![(**a).clone()]),
            Type::Map(a, b) | Type::Result(a, b) => Some(vec![(**a).clone(), (**b).clone()]),
            Type::Tuple(ts) => Some(ts.clone()),
            Type::Array(a, n) => Some(vec![(**a).clone(), Type::Array(Box::new(Type::Unit), *n)]),
            _ => None,
        }
    };
    let same_constructor = at.iter().all(|t| {
        std::mem::discriminant(*t) == std::mem::discriminant(first)
            && children(t).map(|c| c.len()) == children(first).map(|c| c.len())
            && match (t, first) {
                (Type::Array(_, n), Type::Array(_, m)) => n == m,
                _ => true,
            }
    });
    match children(first) {
        Some(first_children) if same_constructor => {
            let all: Vec<Vec<Type>> = at.iter().map(|t| children(t).unwrap_or_default()).collect();
            for i in 0..first_children.len() {
                let column: Vec<&Type> = all.iter().map(|c| &c[i]).collect();
                differing_types(&column, places);
            }
        }
        _ => places.push(at.iter().map(|t| (*t).clone()).collect()),
    }
}

/// Applies `f` to every type in a body's fields.
pub(super) fn map_body(body: &mut Body, f: &mut impl FnMut(&mut Type)) {
    let mut fields = |fs: &mut Fields| match fs {
        Fields::Unit => {}
        Fields::Tuple(ts) => ts.iter_mut().for_each(&mut *f),
        Fields::Named(ns) => ns.iter_mut().for_each(|n| f(&mut n.ty)),
    };
    match body {
        Body::Struct(fs) => fields(fs),
        Body::Enum(vs) => vs.iter_mut().for_each(|v| fields(&mut v.fields)),
    }
}

/// Applies `f` to a type and every type inside it, innermost first.
pub(super) fn map_type(ty: &mut Type, f: &mut impl FnMut(&mut Type)) {
    match ty {
        Type::Option(a) | Type::Seq(a) | Type::Array(a, _) | Type::Stream(a) => map_type(a, f),
        Type::Map(a, b) | Type::Result(a, b) => {
            map_type(a, f);
            map_type(b, f);
        }
        Type::Tuple(ts) => ts.iter_mut().for_each(|t| map_type(t, f)),
        _ => {}
    }
    f(ty);
}
