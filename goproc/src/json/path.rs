//! Where in a JSON value a conversion is: `args[1].center.x`. A path is a
//! chain of frames on the stack, one per level, rendered only when an error
//! needs it; each frame also counts how deep the value is, so that neither
//! direction recurses without bound.

use std::fmt;

use crate::wire::codec::NESTING_LIMIT;

/// How many levels of any kind (options, sequences, maps, tuples, user
/// types) a converted value may have. User types alone are held to the
/// wire's [`NESTING_LIMIT`], as the codec holds them; this bounds the rest,
/// which only a schema's own nesting could make deep.
pub(crate) const DEPTH_LIMIT: u32 = 4 * NESTING_LIMIT;

/// One step from a value to a part of it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// The value's name at the top: `args`, `answer`.
    Root(&'a str),
    /// An item of an array: `[1]`.
    Index(usize),
    /// A field of a struct, or a named argument: `.center`.
    Field(&'a str),
    /// The value of a map entry under a string key: `["key"]`.
    Key(&'a str),
    /// The payload of an enum variant: `.Circle`.
    Variant(&'a str),
    /// The same place seen through a wrapper (an `Option`'s value, a
    /// newtype's inner value): nothing to print.
    Same,
}

/// A place in a value: its last step and the path to its parent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
    /// Levels from the root.
    depth: u32,
    /// Structs and enums from the root.
    named: u32,
}

impl<'a> Path<'a> {
    /// The top of a value called `name`.
    pub(crate) fn root(name: &'a str) -> Path<'a> {
        Path {
            parent: None,
            step: Step::Root(name),
            depth: 0,
            named: 0,
        }
    }

    /// A part of this value, one level down; fails when that passes
    /// [`DEPTH_LIMIT`].
    pub(crate) fn child(&'a self, step: Step<'a>) -> Result<Path<'a>, String> {
        if self.depth >= DEPTH_LIMIT {
            return Err(format!(
                "the value is too deep: more than {DEPTH_LIMIT} levels inside one another"
            ));
        }
        Ok(Path {
            parent: Some(self),
            step,
            depth: self.depth + 1,
            named: self.named,
        })
    }

    /// The same place entered as a struct or enum; fails past the wire's
    /// [`NESTING_LIMIT`], the limit a peer's decoder applies.
    pub(crate) fn enter_named(&self, name: &str) -> Result<Path<'a>, String> {
        if self.named >= NESTING_LIMIT {
            return Err(format!(
                "the value is too deep: {name} would be more than {NESTING_LIMIT} structs and \
                 enums inside one another, past the wire's nesting limit (docs/WIRE.md 3.1)"
            ));
        }
        Ok(Path {
            named: self.named + 1,
            ..*self
        })
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bounded by DEPTH_LIMIT, as the conversion that built the chain.
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.step {
            Step::Root(name) => f.write_str(name),
            Step::Index(i) => write!(f, "[{i}]"),
            Step::Field(name) | Step::Variant(name) => write!(f, ".{name}"),
            Step::Key(key) => write!(f, "[{}]", serde_json::Value::from(key)),
            Step::Same => Ok(()),
        }
    }
}

/// A JSON value that does not fit its type, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where: `args[1].center.x`.
    pub path: String,
    /// What was wrong: `expected f64, found "a"`.
    pub message: String,
}

impl JsonError {
    pub(crate) fn at(path: &Path<'_>, message: impl Into<String>) -> Self {
        JsonError {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for JsonError {}
