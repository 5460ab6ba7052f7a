//! Fast argument decoders: for a method whose arguments are all scalars,
//! strings or byte strings, a function that decodes a request's arguments
//! where they lie in the plugin's read buffer, without a `Reader`.
//!
//! `_fast_x(b, p, e)` decodes `b[p:e]` and returns the argument tuple, or
//! `None` (or raises) for anything the `Reader` might refuse or decode
//! differently: the runtime then decodes the request through the method's
//! `Reader` decoder, which says what is wrong. So a fast decoder only has
//! to be right on what it accepts. It reads forward only and accepts only
//! when it stops exactly at `e`: a length that runs past the body (into the
//! next frame) can never end there. No limit of docs/WIRE.md section 3.1
//! applies to these shapes but the byte string's item budget, which bytes
//! that all lie in the body always meet.

use super::types::{annotation, Block};
use crate::model::Ty;

/// How one argument is read.
enum Read {
    /// `bool`: the byte 0 or 1.
    Bool,
    /// `u8`, `i8`: one byte; `true`: signed.
    Byte(bool),
    /// A varint with its widest marker; `true`: zigzag-signed.
    Varint(&'static str, bool),
    /// An IEEE float of 4 or 8 bytes.
    Float(usize),
    /// A length-prefixed string or byte string.
    Text { bytes: bool },
    /// `()`: no bytes.
    Unit,
}

fn read(ty: &Ty) -> Option<Read> {
    Some(match ty {
        Ty::Bool => Read::Bool,
        Ty::U8 => Read::Byte(false),
        Ty::I8 => Read::Byte(true),
        Ty::U16 => Read::Varint("0xFB", false),
        Ty::U32 => Read::Varint("0xFC", false),
        Ty::U64 | Ty::Usize => Read::Varint("0xFD", false),
        Ty::U128 => Read::Varint("0xFE", false),
        Ty::I16 => Read::Varint("0xFB", true),
        Ty::I32 => Read::Varint("0xFC", true),
        Ty::I64 | Ty::Isize => Read::Varint("0xFD", true),
        Ty::I128 => Read::Varint("0xFE", true),
        Ty::F32 => Read::Float(4),
        Ty::F64 => Read::Float(8),
        Ty::String => Read::Text { bytes: false },
        Ty::Bytes => Read::Text { bytes: true },
        Ty::Unit => Read::Unit,
        // `char` (its UTF-8 checks) and every compound shape: the Reader.
        _ => return None,
    })
}

/// Writes `def name(b, p, e)`, the fast decoder of a method taking `args`,
/// and returns its name; `None` (nothing written) when an argument's shape
/// has no fast form.
pub fn fast_decoder(name: &str, args: &[&Ty], b: &mut Block) -> Option<String> {
    let reads: Vec<Read> = args.iter().map(|ty| read(ty)).collect::<Option<_>>()?;
    let types: Vec<String> = args.iter().map(|ty| annotation(ty)).collect();
    b.line(format!(
        "def {name}(b: bytearray, p: int, e: int) -> tuple[{}] | None:",
        if types.is_empty() {
            "()".to_string()
        } else {
            types.join(", ")
        }
    ));
    b.indent += 1;
    let mut values = Vec::new();
    for (i, r) in reads.iter().enumerate() {
        let v = format!("v{i}");
        match r {
            Read::Bool => {
                b.line(format!("{v} = b[p]"));
                b.line(format!("if {v} > 1:"));
                b.line("    return None");
                b.line("p += 1");
                values.push(format!("{v} == 1"));
            }
            Read::Byte(signed) => {
                b.line(format!("{v} = b[p]"));
                b.line("p += 1");
                values.push(if *signed {
                    format!("({v} ^ 0x80) - 0x80")
                } else {
                    v.clone()
                });
            }
            Read::Varint(widest, signed) => {
                varint(&v, widest, b);
                values.push(if *signed {
                    format!("({v} >> 1) ^ -({v} & 1)")
                } else {
                    v.clone()
                });
            }
            Read::Float(size) => {
                b.line(format!("if p + {size} > e:"));
                b.line("    return None");
                b.line(format!("{v} = _rt.F{}_AT(b, p)[0]", size * 8));
                if *size == 4 {
                    // A NaN keeps its payload only through the Reader.
                    b.line(format!("if {v} != {v}:"));
                    b.line("    return None");
                }
                b.line(format!("p += {size}"));
                values.push(v);
            }
            Read::Text { bytes } => {
                varint("n", "0xFD", b);
                if *bytes {
                    b.line(format!("{v} = bytes(b[p:p + n])"));
                } else {
                    b.line(format!("{v} = b[p:p + n].decode()"));
                }
                b.line("p += n");
                values.push(v);
            }
            Read::Unit => values.push("None".into()),
        }
    }
    let tuple = match values.len() {
        0 => "()".to_string(),
        1 => format!("({},)", values[0]),
        _ => format!("({})", values.join(", ")),
    };
    b.line(format!("return {tuple} if p == e else None"));
    b.indent -= 1;
    b.lines.push(String::new());
    b.lines.push(String::new());
    Some(name.to_string())
}

/// Reads the varint at `p` into `v`: one byte inline, longer ones through
/// the runtime (which raises past `e` or past `widest`).
fn varint(v: &str, widest: &str, b: &mut Block) {
    b.line(format!("{v} = b[p]"));
    b.line(format!("if {v} < 251:"));
    b.line("    p += 1");
    b.line("else:");
    b.line(format!("    {v}, p = _rt.varint_at(b, p, e, {widest})"));
}
