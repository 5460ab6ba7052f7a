//! Well-known types that are not user types and have no mapping in the
//! Python and TypeScript stubs, with what to send instead.
//!
//! serde can encode most of them, so a Rust-only contract may use them: the
//! macro never sees a type's definition and accepts them. The stub
//! generators must know every type's shape; when no input defines a type
//! of one of these names, the schema says what to send instead rather than
//! asking for the file that defines it.

/// A well-known type the stubs cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMapping {
    /// Its usual path, `std::time::Duration`.
    pub path: String,
    /// What to send instead: "a `u64` of milliseconds".
    pub instead: String,
    /// How, or why: "`d.as_millis() as u64`; read it back with ...".
    pub how: String,
}

/// What to send instead of the well-known type named `name` (the last
/// segment of its path), or `None` for a name this table does not know.
pub fn no_mapping(name: &str) -> Option<NoMapping> {
    let (path, instead, how): (String, &str, String) = match name {
        "Duration" => (
            "std::time::Duration".into(),
            "a `u64` of milliseconds",
            "`d.as_millis() as u64`; read it back with `Duration::from_millis(ms)`".into(),
        ),
        "SystemTime" => (
            "std::time::SystemTime".into(),
            "a `u64` of milliseconds since the Unix epoch",
            "`t.duration_since(UNIX_EPOCH)?.as_millis() as u64`; read it back with \
             `UNIX_EPOCH + Duration::from_millis(ms)`"
                .into(),
        ),
        "Instant" => (
            "std::time::Instant".into(),
            "a `u64` of milliseconds",
            "an `Instant` means nothing in another process: send the time elapsed or left, or \
             a `SystemTime` as milliseconds since the Unix epoch"
                .into(),
        ),
        "PathBuf" | "Path" => (
            format!("std::path::{name}"),
            "a `String`",
            "`p.to_string_lossy().into_owned()`; read it back with `PathBuf::from(s)`".into(),
        ),
        "OsString" | "OsStr" | "CString" | "CStr" => (
            format!("std::ffi::{name}"),
            "a `String`",
            "`s.to_string_lossy().into_owned()`, or a `Vec<u8>` to keep bytes that are not UTF-8"
                .into(),
        ),
        "str" => (
            "str".into(),
            "a `String`",
            "`s.to_string()`: a `Box<str>` or `Rc<str>` has no mapping".into(),
        ),
        "IpAddr" | "Ipv4Addr" | "Ipv6Addr" | "SocketAddr" | "SocketAddrV4" | "SocketAddrV6" => (
            format!("std::net::{name}"),
            "a `String`",
            "`addr.to_string()`; read it back with `s.parse()`".into(),
        ),
        "NonZero" => (
            "std::num::NonZero".into(),
            "the plain integer",
            "`n.get()`; read it back with `NonZero::new(n)`".into(),
        ),
        _ if name
            .strip_prefix("NonZero")
            .and_then(plain_integer)
            .is_some() =>
        {
            let int = name.strip_prefix("NonZero").and_then(plain_integer)?;
            return Some(NoMapping {
                path: format!("std::num::{name}"),
                instead: format!("a plain `{int}`"),
                how: format!("`n.get()`; read it back with `{name}::new(n)`"),
            });
        }
        "Wrapping" | "Saturating" => (
            format!("std::num::{name}"),
            "the integer inside it",
            "`w.0`".into(),
        ),
        "Cell" | "RefCell" | "OnceCell" => (
            format!("std::cell::{name}"),
            "the value inside it",
            "the cell stays in the process that owns it".into(),
        ),
        "Mutex" | "RwLock" | "OnceLock" => (
            format!("std::sync::{name}"),
            "the value inside it",
            "a lock cannot be shared with another process: lock it and send a copy of the value"
                .into(),
        ),
        "Weak" => (
            "std::sync::Weak".into(),
            "the value it points to",
            "or an id that names it".into(),
        ),
        "Cow" => (
            "std::borrow::Cow".into(),
            "the owned type",
            "`String` for `Cow<str>`, `Vec<T>` for `Cow<[T]>`".into(),
        ),
        "LinkedList" | "BinaryHeap" => (
            format!("std::collections::{name}"),
            "a `Vec<T>`",
            "or a `VecDeque<T>`".into(),
        ),
        "Range" | "RangeInclusive" => (
            format!("std::ops::{name}"),
            "a `(start, end)` tuple",
            "or a struct with `start` and `end` fields".into(),
        ),
        "PhantomData" => (
            "std::marker::PhantomData".into(),
            "nothing",
            "leave the field out, or mark it `#[serde(skip)]`".into(),
        ),
        "Value" => (
            "serde_json::Value".into(),
            "a `String` of JSON",
            "`serde_json::to_string(&v)?`; a `Value` is decoded with `deserialize_any`, which \
             bincode cannot do"
                .into(),
        ),
        _ => return None,
    };
    Some(NoMapping {
        path,
        instead: instead.to_string(),
        how,
    })
}

/// `U32` -> `u32`, for the integer types that have a `NonZero` form.
fn plain_integer(suffix: &str) -> Option<String> {
    let lower = suffix.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
    )
    .then_some(lower)
}
