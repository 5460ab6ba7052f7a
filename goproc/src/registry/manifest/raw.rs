//! The manifest as TOML spells it: every key that a rule checks keeps its
//! span, so that a broken value is reported at its line and column.
//! Unknown keys are refused everywhere: a typo must not be ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub name: Spanned<String>,
    pub namespace: Spanned<String>,
    pub version: Spanned<String>,
    pub description: Option<String>,
    pub lazy: Option<bool>,
    pub run: Spanned<RawRun>,
    #[serde(default)]
    pub serves: Vec<Spanned<RawContract>>,
    #[serde(default)]
    pub requires: Vec<Spanned<RawContract>>,
    #[serde(default)]
    pub checksums: BTreeMap<Spanned<String>, Spanned<String>>,
    pub pool: Option<RawPool>,
    pub restart: Option<RawRestart>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRun {
    pub command: Spanned<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, String>,
    pub start_timeout: Option<Spanned<String>>,
    pub call_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContract {
    pub contract: Spanned<String>,
    pub fingerprint: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPool {
    pub size: Option<Spanned<i64>>,
    pub max_in_flight: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestart {
    pub max_restarts: Option<Spanned<i64>>,
    pub window: Option<Spanned<String>>,
    pub initial_backoff: Option<Spanned<String>>,
    pub max_backoff: Option<Spanned<String>>,
}
