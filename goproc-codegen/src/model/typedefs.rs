//! User types (structs and enums) that contracts name: their wire shape, and
//! the serde attributes that bincode cannot honour, refused at the line.

use super::ty::parse_type;
use super::{doc_lines, Errors, Ty};

/// A struct or enum a contract uses.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The type's name.
    pub name: String,
    /// Names of its type parameters, in order.
    pub generics: Vec<String>,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// Its shape.
    pub kind: TypeDefKind,
    /// Where it is defined, for messages: `file:line`.
    pub location: String,
}

/// The shape of a user type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDefKind {
    /// A struct: its fields, encoded in order.
    Struct(Fields),
    /// An enum: the variant's position (a varint), then its fields.
    Enum(Vec<Variant>),
}

/// The fields of a struct or an enum variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Fields {
    /// `{ a: A, b: B }`
    Named(Vec<Field>),
    /// `(A, B)`
    Tuple(Vec<Ty>),
    /// No fields.
    Unit,
}

/// A named field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The Rust name of the field (the wire does not carry names).
    pub name: String,
    /// Its shape.
    pub ty: Ty,
    /// Doc comment lines.
    pub docs: Vec<String>,
}

/// One variant of an enum.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The Rust name of the variant.
    pub name: String,
    /// Its fields.
    pub fields: Fields,
    /// Doc comment lines.
    pub docs: Vec<String>,
}

impl TypeDef {
    /// Every user type named by this type's fields.
    pub fn named_types(&self) -> Vec<&str> {
        let field_lists: Vec<&Fields> = match &self.kind {
            TypeDefKind::Struct(f) => vec![f],
            TypeDefKind::Enum(vs) => vs.iter().map(|v| &v.fields).collect(),
        };
        let mut out = Vec::new();
        for fields in field_lists {
            match fields {
                Fields::Named(fs) => fs.iter().for_each(|f| out.extend(f.ty.named_types())),
                Fields::Tuple(ts) => ts.iter().for_each(|t| out.extend(t.named_types())),
                Fields::Unit => {}
            }
        }
        out.retain(|n| !self.generics.iter().any(|g| g == n));
        out
    }
}

/// Reads a struct's shape.
pub fn parse_struct(item: &syn::ItemStruct, location: String) -> syn::Result<TypeDef> {
    let mut errors = Errors::default();
    check_container_attrs(&item.attrs, &item.ident, &mut errors);
    let fields = parse_fields(&item.fields, &mut errors);
    let generics = parse_generics(&item.generics, &mut errors);
    errors.finish()?;
    Ok(TypeDef {
        name: item.ident.to_string(),
        generics,
        docs: doc_lines(&item.attrs),
        kind: TypeDefKind::Struct(fields),
        location,
    })
}

/// Reads an enum's shape.
pub fn parse_enum(item: &syn::ItemEnum, location: String) -> syn::Result<TypeDef> {
    let mut errors = Errors::default();
    check_container_attrs(&item.attrs, &item.ident, &mut errors);
    let generics = parse_generics(&item.generics, &mut errors);
    let mut variants = Vec::new();
    for v in &item.variants {
        for attr in serde_attrs(&v.attrs) {
            let meta_name = attr.0.clone();
            match meta_name.as_str() {
                "skip" | "skip_serializing" | "skip_deserializing" => errors.push(syn::Error::new_spanned(
                    &attr.1,
                    format!(
                        "`#[serde({meta_name})]` on a variant shifts the positions of the variants \
                         after it, which bincode uses as tags; remove the variant from the contract's \
                         types instead"
                    ),
                )),
                "untagged" => errors.push(syn::Error::new_spanned(
                    &attr.1,
                    "an untagged variant needs `deserialize_any`, which bincode cannot do",
                )),
                "with" | "serialize_with" | "deserialize_with" => errors.push(unknown_shape(&attr.1, &meta_name)),
                _ => {}
            }
        }
        variants.push(Variant {
            name: v.ident.to_string(),
            fields: parse_fields(&v.fields, &mut errors),
            docs: doc_lines(&v.attrs),
        });
    }
    errors.finish()?;
    Ok(TypeDef {
        name: item.ident.to_string(),
        generics,
        docs: doc_lines(&item.attrs),
        kind: TypeDefKind::Enum(variants),
        location,
    })
}

fn parse_generics(generics: &syn::Generics, errors: &mut Errors) -> Vec<String> {
    generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    "a type used by a contract may have type parameters only (no lifetimes or \
                     const parameters): values are copied between processes",
                ));
                None
            }
        })
        .collect()
}

fn parse_fields(fields: &syn::Fields, errors: &mut Errors) -> Fields {
    match fields {
        syn::Fields::Unit => Fields::Unit,
        syn::Fields::Unnamed(u) => {
            let mut shapes = Vec::new();
            for f in &u.unnamed {
                if !field_is_skipped(f, errors) {
                    shapes.extend(field_shape(f, errors));
                }
            }
            Fields::Tuple(shapes)
        }
        syn::Fields::Named(n) => {
            let mut named = Vec::new();
            for f in &n.named {
                if field_is_skipped(f, errors) {
                    continue;
                }
                if let (Some(ident), Some(ty)) = (&f.ident, field_shape(f, errors)) {
                    named.push(Field {
                        name: ident.to_string(),
                        ty,
                        docs: doc_lines(&f.attrs),
                    });
                }
            }
            Fields::Named(named)
        }
    }
}

fn field_shape(f: &syn::Field, errors: &mut Errors) -> Option<Ty> {
    match parse_type(&f.ty) {
        Ok(ty) => Some(ty),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// Checks a field's serde attributes; `true` when `#[serde(skip)]` leaves it
/// off the wire in both directions.
fn field_is_skipped(f: &syn::Field, errors: &mut Errors) -> bool {
    let mut skipped = false;
    for (name, meta) in serde_attrs(&f.attrs) {
        match name.as_str() {
            "skip" => skipped = true,
            "flatten" => errors.push(syn::Error::new_spanned(
                &meta,
                "`#[serde(flatten)]` needs `deserialize_any`, which bincode cannot do; nest the \
                 struct as a plain field instead",
            )),
            "skip_serializing_if" => errors.push(syn::Error::new_spanned(
                &meta,
                "`#[serde(skip_serializing_if)]` leaves the field out of the bytes only when the \
                 condition holds, and bincode has no field names to notice; the reader then \
                 misreads every later field. Use an `Option` field without it",
            )),
            "skip_serializing" | "skip_deserializing" => errors.push(syn::Error::new_spanned(
                &meta,
                format!(
                    "`#[serde({name})]` skips the field in one direction only, so the two sides \
                     disagree on the bytes; use `#[serde(skip)]` or keep the field"
                ),
            )),
            // `with = "serde_bytes"` gives the same bytes as the plain field.
            "with" | "serialize_with" | "deserialize_with" if !is_serde_bytes(&meta) => {
                errors.push(unknown_shape(&meta, &name));
            }
            _ => {}
        }
    }
    skipped
}

fn is_serde_bytes(meta: &syn::Meta) -> bool {
    matches!(meta, syn::Meta::NameValue(nv)
        if matches!(&nv.value, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if s.value() == "serde_bytes"))
}

fn unknown_shape(meta: &syn::Meta, name: &str) -> syn::Error {
    syn::Error::new_spanned(
        meta,
        format!(
            "`#[serde({name} = ...)]` encodes the value in a way the contract model cannot see, \
             so stubs in other languages cannot read it; use a plain type (`with = \
             \"serde_bytes\"` is fine)"
        ),
    )
}

fn check_container_attrs(attrs: &[syn::Attribute], ident: &syn::Ident, errors: &mut Errors) {
    for (name, meta) in serde_attrs(attrs) {
        let why = match name.as_str() {
            "untagged" => Some(
                "`#[serde(untagged)]` needs `deserialize_any`, which bincode cannot do; use a \
                 plain (externally tagged) enum"
                    .to_string(),
            ),
            "tag" => Some(
                "`#[serde(tag = ...)]` (internally or adjacently tagged) needs `deserialize_any`, \
                 which bincode cannot do; use a plain (externally tagged) enum"
                    .to_string(),
            ),
            "content" => Some(
                "`#[serde(content = ...)]` (adjacently tagged) cannot round-trip through bincode; \
                 use a plain (externally tagged) enum"
                    .to_string(),
            ),
            "transparent" | "from" | "into" | "try_from" | "remote" => Some(format!(
                "`#[serde({name})]` on `{ident}` changes its encoding to that of another type, \
                 which the contract model cannot follow; use the other type in the contract"
            )),
            _ => None,
        };
        if let Some(why) = why {
            errors.push(syn::Error::new_spanned(&meta, why));
        }
    }
}

/// The items inside every `#[serde(...)]` attribute, with their names.
fn serde_attrs(attrs: &[syn::Attribute]) -> Vec<(String, syn::Meta)> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let Ok(list) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for meta in list {
            let name = meta
                .path()
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            out.push((name, meta));
        }
    }
    out
}
