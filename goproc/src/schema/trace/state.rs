//! What a trace knows between reads: every struct and enum seen, the
//! variants of each enum tried so far, and which containers the current
//! read is inside. It decides which variant each enum read takes, so that
//! pass after pass every variant of every enum, at any depth, is read once,
//! and recursion ends.

use std::collections::{BTreeMap, BTreeSet};

use super::shape::FieldsSh;

/// A struct or enum as learnt.
#[derive(Debug)]
pub(super) enum Container {
    Struct(FieldsSh),
    Enum {
        /// Variant names in declaration order, as serde lists them.
        names: &'static [&'static str],
        /// Each variant's fields, once read.
        variants: Vec<Option<FieldsSh>>,
        /// Whether a read chose the variant yet.
        tried: Vec<bool>,
    },
}

/// How deep one read may nest containers: a type that only ends deeper
/// than this (or never) cannot be traced.
const MAX_DEPTH: usize = 256;

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) types: BTreeMap<&'static str, Container>,
    /// The containers the current read is inside, outermost first.
    stack: Vec<&'static str>,
    /// Whether this pass chose a variant no pass chose before.
    pub(super) progressed: bool,
}

impl State {
    /// Enters container `name`.
    pub(super) fn enter(&mut self, name: &'static str) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!(
                "{name} nests more than {MAX_DEPTH} deep before any of its values can end (a \
                 recursive type with no variant or empty sequence to stop at)"
            ));
        }
        self.stack.push(name);
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.stack.pop();
    }

    /// Whether a sequence, option or map read now should stay empty: the
    /// container it is in is already being read further out (recursion), so
    /// its items add nothing the outer read does not show.
    pub(super) fn cut(&self) -> bool {
        match self.stack.last() {
            Some(inner) => self.stack.iter().filter(|n| *n == inner).count() > 1,
            None => false,
        }
    }

    /// Records the fields a read of struct `name` showed.
    pub(super) fn record_struct(
        &mut self,
        name: &'static str,
        fields: FieldsSh,
    ) -> Result<(), String> {
        match self.types.get_mut(name) {
            None => {
                self.types.insert(name, Container::Struct(fields));
                Ok(())
            }
            Some(Container::Struct(known)) => known.merge(fields),
            Some(Container::Enum { .. }) => Err(two_kinds(name)),
        }
    }

    /// Records the fields a read of variant `index` of enum `name` showed.
    pub(super) fn record_variant(
        &mut self,
        name: &'static str,
        index: usize,
        fields: FieldsSh,
    ) -> Result<(), String> {
        match self.types.get_mut(name) {
            Some(Container::Enum { variants, .. }) => match &mut variants[index] {
                Some(known) => known.merge(fields),
                slot => {
                    *slot = Some(fields);
                    Ok(())
                }
            },
            _ => Err(two_kinds(name)),
        }
    }

    /// Which variant a read of enum `name` takes now: one not tried yet;
    /// else, outside a recursion, one with a part not read yet, or that
    /// leads to such a container; else one that ends the recursion soonest.
    pub(super) fn choose_variant(
        &mut self,
        name: &'static str,
        names: &'static [&'static str],
    ) -> Result<usize, String> {
        if names.is_empty() {
            return Err(format!(
                "enum {name} has no variants, so no value of it can be read"
            ));
        }
        let recursive = self.stack.contains(&name);
        let entry = self.types.entry(name).or_insert_with(|| Container::Enum {
            names,
            variants: vec![None; names.len()],
            tried: vec![false; names.len()],
        });
        let Container::Enum {
            tried, variants, ..
        } = entry
        else {
            return Err(two_kinds(name));
        };
        if let Some(i) = tried.iter().position(|t| !t) {
            tried[i] = true;
            self.progressed = true;
            return Ok(i);
        }
        let variants = variants.clone();
        if !recursive {
            for (i, v) in variants.iter().enumerate() {
                if let Some(fields) = v {
                    if !fields.is_known() || self.fields_reach_incomplete(fields) {
                        return Ok(i);
                    }
                }
            }
        }
        // Ending: no fields, or no struct or enum in them, or none that is
        // being read further out.
        let mentions = |f: &FieldsSh, stop: &dyn Fn(&str) -> bool| {
            let mut hit = false;
            f.names(&mut |n| hit |= stop(n));
            hit
        };
        let pick = variants
            .iter()
            .position(|v| matches!(v, Some(FieldsSh::Unit)))
            .or_else(|| {
                variants
                    .iter()
                    .position(|v| v.as_ref().is_some_and(|f| !mentions(f, &|_| true)))
            })
            .or_else(|| {
                variants.iter().position(|v| {
                    v.as_ref()
                        .is_some_and(|f| !mentions(f, &|n| self.stack.contains(&n)))
                })
            })
            .unwrap_or(0);
        Ok(pick)
    }

    /// Whether fields lead, through any struct or enum, to an incomplete
    /// one (see [`Container::is_complete`]).
    fn fields_reach_incomplete(&self, fields: &FieldsSh) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = Vec::new();
        fields.names(&mut |n| todo.push(n));
        while let Some(n) = todo.pop() {
            if !seen.insert(n) {
                continue;
            }
            let Some(c) = self.types.get(n) else {
                continue;
            };
            if !c.is_complete() {
                return true;
            }
            match c {
                Container::Struct(f) => f.names(&mut |m| todo.push(m)),
                Container::Enum { variants, .. } => {
                    for f in variants.iter().flatten() {
                        f.names(&mut |m| todo.push(m));
                    }
                }
            }
        }
        false
    }

    /// The containers not complete yet.
    pub(super) fn incomplete(&self) -> Vec<&'static str> {
        self.types
            .iter()
            .filter(|(_, c)| !c.is_complete())
            .map(|(n, _)| *n)
            .collect()
    }
}

impl Container {
    /// Every variant tried and read, every part of every field known.
    pub(super) fn is_complete(&self) -> bool {
        match self {
            Container::Struct(f) => f.is_known(),
            Container::Enum {
                variants, tried, ..
            } => {
                tried.iter().all(|t| *t)
                    && variants
                        .iter()
                        .all(|v| v.as_ref().is_some_and(FieldsSh::is_known))
            }
        }
    }
}

fn two_kinds(name: &str) -> String {
    format!("{name} was read both as a struct and as an enum; two types share the name")
}
