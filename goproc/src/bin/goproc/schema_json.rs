//! `goproc describe --json`: a contract's schema as JSON, fields in a fixed
//! order. Types are written as the text form writes them (`Vec<f64>`,
//! `Result<i64, MathError>`, `Map<String, u64>`), so one parser reads both.
//!
//! ```json
//! {
//!   "name": "Calculator", "docs": ["..."], "events": false,
//!   "methods": [{ "name": "add", "docs": [], "args": [{ "name": "a", "type": "i64" }],
//!                 "returns": "i64" }],
//!   "types": [
//!     { "name": "Stats", "docs": [], "kind": "struct", "shape": "named",
//!       "fields": [{ "name": "calls", "docs": [], "type": "u64" }] },
//!     { "name": "MathError", "docs": [], "kind": "enum",
//!       "variants": [{ "name": "DivisionByZero", "docs": [], "shape": "unit", "fields": [] }] }
//!   ]
//! }
//! ```
//!
//! `shape` is `unit`, `tuple` (fields without names, `name` null) or `named`.

use goproc::schema::{Body, ContractSchema, Fields, TypeSchema};
use serde::Serialize;

#[derive(Serialize)]
pub struct Contract {
    name: String,
    docs: Vec<String>,
    events: bool,
    methods: Vec<Method>,
    types: Vec<Type>,
}

#[derive(Serialize)]
struct Method {
    name: String,
    docs: Vec<String>,
    args: Vec<Arg>,
    returns: String,
}

#[derive(Serialize)]
struct Arg {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Serialize)]
struct Type {
    name: String,
    docs: Vec<String>,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<Field>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variants: Option<Vec<Variant>>,
}

#[derive(Serialize)]
struct Variant {
    name: String,
    docs: Vec<String>,
    shape: &'static str,
    fields: Vec<Field>,
}

#[derive(Serialize)]
struct Field {
    name: Option<String>,
    docs: Vec<String>,
    #[serde(rename = "type")]
    ty: String,
}

/// The JSON form of each schema, in order.
pub fn contracts(schemas: &[ContractSchema]) -> Vec<Contract> {
    schemas.iter().map(contract).collect()
}

fn contract(s: &ContractSchema) -> Contract {
    Contract {
        name: s.name.clone(),
        docs: s.docs.clone(),
        events: s.events,
        methods: s
            .methods
            .iter()
            .map(|m| Method {
                name: m.name.clone(),
                docs: m.docs.clone(),
                args: m
                    .args
                    .iter()
                    .map(|a| Arg {
                        name: a.name.clone(),
                        ty: a.ty.to_string(),
                    })
                    .collect(),
                returns: m.ret.to_string(),
            })
            .collect(),
        types: s.types.iter().map(user_type).collect(),
    }
}

fn user_type(t: &TypeSchema) -> Type {
    let (kind, shape, fields, variants) = match &t.body {
        Body::Struct(f) => {
            let (shape, fields) = fields(f);
            ("struct", Some(shape), Some(fields), None)
        }
        Body::Enum(vs) => {
            let variants = vs
                .iter()
                .map(|v| {
                    let (shape, fields) = fields(&v.fields);
                    Variant {
                        name: v.name.clone(),
                        docs: v.docs.clone(),
                        shape,
                        fields,
                    }
                })
                .collect();
            ("enum", None, None, Some(variants))
        }
    };
    Type {
        name: t.name.clone(),
        docs: t.docs.clone(),
        kind,
        shape,
        fields,
        variants,
    }
}

fn fields(f: &Fields) -> (&'static str, Vec<Field>) {
    match f {
        Fields::Unit => ("unit", Vec::new()),
        Fields::Tuple(ts) => (
            "tuple",
            ts.iter()
                .map(|t| Field {
                    name: None,
                    docs: Vec::new(),
                    ty: t.to_string(),
                })
                .collect(),
        ),
        Fields::Named(fs) => (
            "named",
            fs.iter()
                .map(|f| Field {
                    name: Some(f.name.clone()),
                    docs: f.docs.clone(),
                    ty: f.ty.to_string(),
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use goproc::schema::parse_schemas;

    #[test]
    fn a_schema_as_json_keeps_the_order_of_its_fields() {
        let text = "\
/// Counts.
contract Counter {
    /// Adds.
    fn add(values: Vec<u64>) -> Result<Stats, Oops>;
}

enum Oops {
    Empty,
    Far(u32),
}

struct Stats {
    /// How many.
    calls: u64,
}
";
        let schemas = parse_schemas(text).expect("the text parses");
        let json = serde_json::to_string(&super::contracts(&schemas)).unwrap();
        assert_eq!(
            json,
            r#"[{"name":"Counter","docs":["Counts."],"events":false,"methods":[{"name":"add","docs":["Adds."],"args":[{"name":"values","type":"Vec<u64>"}],"returns":"Result<Stats, Oops>"}],"types":[{"name":"Oops","docs":[],"kind":"enum","variants":[{"name":"Empty","docs":[],"shape":"unit","fields":[]},{"name":"Far","docs":[],"shape":"tuple","fields":[{"name":null,"docs":[],"type":"u32"}]}]},{"name":"Stats","docs":[],"kind":"struct","shape":"named","fields":[{"name":"calls","docs":["How many."],"type":"u64"}]}]}]"#
        );
    }
}
