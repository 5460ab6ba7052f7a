//! The canonical schema of a contract: its methods and every user type they
//! reach, field by field, in one form shared by the three languages.
//!
//! A Rust plugin builds it at run time by tracing serde's impls; the Python and
//! TypeScript stubs carry the text `goproc-codegen` printed from the contract
//! model. [`ContractSchema::canonical_text`] is the same bytes for the same
//! contract in all three, so the handshake can compare it; when the texts
//! differ, [`first_difference`] names where. The same text with doc comments
//! ([`ContractSchema::documented_text`]) is what introspection returns, and
//! [`parse_schemas`] reads either back.
//!
//! The schema describes the wire, not the Rust spelling: `VecDeque<T>` and
//! `HashSet<T>` are `Vec<T>`, `Box<T>` is `T`, `usize` is `u64`, a sequence of
//! `u8` is `bytes`. A generic type used with one set of type arguments keeps
//! its name; one used with several appears once per use, named after the
//! types that differ (`Page<Record>`, `Page<i64>`).

mod assemble;
mod diff;
mod from_model;
mod parse;
mod render;

#[cfg(test)]
mod tests;

pub use assemble::{assemble, MethodDraft, Traced};
pub use diff::{first_difference, Difference};
pub use from_model::from_model;
pub use parse::{parse_schemas, ParseError};

/// One contract's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractSchema {
    /// The trait's name.
    pub name: String,
    /// Doc comment lines of the trait (not part of the canonical text).
    pub docs: Vec<String>,
    /// Whether it is an event contract: each method is an event whose one
    /// argument is the payload.
    pub events: bool,
    /// The methods in declaration order (a method's index is its wire number).
    pub methods: Vec<MethodSchema>,
    /// Every user type the methods reach, sorted by name.
    pub types: Vec<TypeSchema>,
}

/// One method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSchema {
    /// Its name.
    pub name: String,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its arguments in order.
    pub args: Vec<ArgSchema>,
    /// What it returns: [`Type::Unit`] for nothing, [`Type::Result`] for a
    /// method with domain errors, [`Type::Stream`] for an answer stream.
    pub ret: Type,
}

/// One argument of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgSchema {
    /// Its name.
    pub name: String,
    /// Its type ([`Type::Stream`] for a stream argument).
    pub ty: Type,
}

/// The wire shape of a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64` (and `usize`)
    U64,
    /// `u128`
    U128,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64` (and `isize`)
    I64,
    /// `i128`
    I128,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `String`
    String,
    /// A length and raw bytes: `Vec<u8>`, `serde_bytes::ByteBuf`.
    Bytes,
    /// `()`
    #[default]
    Unit,
    /// `Option<T>`
    Option(Box<Type>),
    /// A length and the items: `Vec<T>`, `VecDeque<T>`, sets.
    Seq(Box<Type>),
    /// `[T; N]`: exactly N items, no length.
    Array(Box<Type>, usize),
    /// A length and the pairs: `HashMap<K, V>`, `BTreeMap<K, V>`.
    Map(Box<Type>, Box<Type>),
    /// `(A, B, ...)`
    Tuple(Vec<Type>),
    /// A user type, by its name in [`ContractSchema::types`].
    Named(String),
    /// `Result<T, E>`: only as a method's return type (a domain error).
    Result(Box<Type>, Box<Type>),
    /// `Stream<T>`: only as a method's return type or one argument.
    Stream(Box<Type>),
}

/// A user type: a struct or an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSchema {
    /// Its name (for a generic type used several ways, with the differing
    /// type arguments: `Page<i64>`).
    pub name: String,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its shape.
    pub body: Body,
}

/// The shape of a user type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A struct and its fields, encoded in order.
    Struct(Fields),
    /// An enum: the variant's index (a varint), then its fields.
    Enum(Vec<VariantSchema>),
}

/// One variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSchema {
    /// Its name.
    pub name: String,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its fields.
    pub fields: Fields,
}

/// The fields of a struct or variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    /// None: `struct Marker;`, `Empty`.
    Unit,
    /// Positional: `struct Id(u64);`, `Overflow(u32)`.
    Tuple(Vec<Type>),
    /// Named: `struct Stats { calls: u64 }`.
    Named(Vec<FieldSchema>),
}

/// A named field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSchema {
    /// Its name.
    pub name: String,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its type.
    pub ty: Type,
}

impl ContractSchema {
    /// The method named `name` and its index.
    pub fn method(&self, name: &str) -> Option<(u32, &MethodSchema)> {
        self.methods
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == name)
            .map(|(i, m)| (i as u32, m))
    }

    /// The user type named `name`.
    pub fn type_named(&self, name: &str) -> Option<&TypeSchema> {
        self.types
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.types[i])
    }

    /// This schema without any doc comment: what the canonical text shows.
    pub fn without_docs(&self) -> ContractSchema {
        let mut bare = self.clone();
        bare.docs.clear();
        for m in &mut bare.methods {
            m.docs.clear();
        }
        for t in &mut bare.types {
            t.docs.clear();
            strip_body_docs(&mut t.body);
        }
        bare
    }
}

impl Body {
    /// This shape without doc comments.
    pub fn without_docs(&self) -> Body {
        let mut body = self.clone();
        strip_body_docs(&mut body);
        body
    }
}

fn strip_body_docs(body: &mut Body) {
    let strip_fields = |fields: &mut Fields| {
        if let Fields::Named(fs) = fields {
            fs.iter_mut().for_each(|f| f.docs.clear());
        }
    };
    match body {
        Body::Struct(fields) => strip_fields(fields),
        Body::Enum(variants) => {
            for v in variants {
                v.docs.clear();
                strip_fields(&mut v.fields);
            }
        }
    }
}
