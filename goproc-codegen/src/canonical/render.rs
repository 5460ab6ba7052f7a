//! The text form of a schema: Rust-like, one declaration per line.
//!
//! ```text
//! contract Calculator {
//!     fn add(a: i64, b: i64) -> i64;
//!     fn stats() -> Result<Stats, MathError>;
//! }
//!
//! struct Stats {
//!     calls: u64,
//! }
//! ```
//!
//! Without docs this is the canonical text the handshake compares, so every
//! space and newline is fixed here and nowhere else.

use std::fmt::{self, Write};

use super::{Body, ContractSchema, Fields, MethodSchema, Type, TypeSchema};

impl ContractSchema {
    /// The canonical text: no doc comments; the same bytes in every
    /// language for the same contract.
    pub fn canonical_text(&self) -> String {
        self.render(false)
    }

    /// The text with doc comments, as `goproc describe` prints it.
    pub fn documented_text(&self) -> String {
        self.render(true)
    }

    fn render(&self, docs: bool) -> String {
        let mut out = String::new();
        let mut w = Writer {
            out: &mut out,
            docs,
        };
        w.docs(&self.docs, 0);
        let keyword = if self.events { "events" } else { "contract" };
        w.line(0, &format!("{keyword} {} {{", self.name));
        for m in &self.methods {
            w.docs(&m.docs, 1);
            w.line(1, &format!("{};", method_signature(m)));
        }
        w.line(0, "}");
        for t in &self.types {
            w.out.push('\n');
            w.type_def(t);
        }
        out
    }
}

/// `fn add(a: i64, b: i64) -> i64`
pub fn method_signature(m: &MethodSchema) -> String {
    let mut s = format!("fn {}(", m.name);
    for (i, a) in m.args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{}: {}", a.name, a.ty);
    }
    s.push(')');
    if m.ret != Type::Unit {
        let _ = write!(s, " -> {}", m.ret);
    }
    s
}

struct Writer<'a> {
    out: &'a mut String,
    docs: bool,
}

impl Writer<'_> {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn docs(&mut self, lines: &[String], indent: usize) {
        if !self.docs {
            return;
        }
        for l in lines {
            if l.is_empty() {
                self.line(indent, "///");
            } else {
                self.line(indent, &format!("/// {l}"));
            }
        }
    }

    fn type_def(&mut self, t: &TypeSchema) {
        self.docs(&t.docs, 0);
        match &t.body {
            Body::Struct(Fields::Unit) => self.line(0, &format!("struct {};", t.name)),
            Body::Struct(Fields::Tuple(ts)) => {
                self.line(0, &format!("struct {}({});", t.name, list(ts)))
            }
            Body::Struct(Fields::Named(fs)) => {
                self.line(0, &format!("struct {} {{", t.name));
                self.named_fields(fs, 1);
                self.line(0, "}");
            }
            Body::Enum(vs) => {
                self.line(0, &format!("enum {} {{", t.name));
                for v in vs {
                    self.docs(&v.docs, 1);
                    match &v.fields {
                        Fields::Unit => self.line(1, &format!("{},", v.name)),
                        Fields::Tuple(ts) => self.line(1, &format!("{}({}),", v.name, list(ts))),
                        Fields::Named(fs) => {
                            self.line(1, &format!("{} {{", v.name));
                            self.named_fields(fs, 2);
                            self.line(1, "},");
                        }
                    }
                }
                self.line(0, "}");
            }
        }
    }

    fn named_fields(&mut self, fields: &[super::FieldSchema], indent: usize) {
        for f in fields {
            self.docs(&f.docs, indent);
            self.line(indent, &format!("{}: {},", f.name, f.ty));
        }
    }
}

/// `A, B, C`
fn list(ts: &[Type]) -> String {
    ts.iter()
        .map(Type::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::U8 => f.write_str("u8"),
            Type::U16 => f.write_str("u16"),
            Type::U32 => f.write_str("u32"),
            Type::U64 => f.write_str("u64"),
            Type::U128 => f.write_str("u128"),
            Type::I8 => f.write_str("i8"),
            Type::I16 => f.write_str("i16"),
            Type::I32 => f.write_str("i32"),
            Type::I64 => f.write_str("i64"),
            Type::I128 => f.write_str("i128"),
            Type::F32 => f.write_str("f32"),
            Type::F64 => f.write_str("f64"),
            Type::Char => f.write_str("char"),
            Type::String => f.write_str("String"),
            Type::Bytes => f.write_str("bytes"),
            Type::Unit => f.write_str("()"),
            Type::Option(t) => write!(f, "Option<{t}>"),
            Type::Seq(t) => write!(f, "Vec<{t}>"),
            Type::Array(t, n) => write!(f, "[{t}; {n}]"),
            Type::Map(k, v) => write!(f, "Map<{k}, {v}>"),
            Type::Tuple(ts) if ts.len() == 1 => write!(f, "({},)", ts[0]),
            Type::Tuple(ts) => write!(f, "({})", list(ts)),
            Type::Named(name) => f.write_str(name),
            Type::Result(ok, err) => write!(f, "Result<{ok}, {err}>"),
            Type::Stream(t) => write!(f, "Stream<{t}>"),
        }
    }
}
