//! From TOML text to a [`Manifest`]: the parse, then the rules TOML cannot
//! state (names, fingerprints, paths that stay in the folder, sizes),
//! each broken one reported at the line and column of its value.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::position::line_column;
use super::raw::{RawContract, RawManifest, RawPool, RawRestart, RawRun};
use super::{Checksum, ContractEntry, Manifest, PoolSettings, Run};
use crate::{Error, RestartPolicy};

/// Where some keys are, for the checks that come after the parse (a
/// missing command file, a duplicate id): line and column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Positions {
    pub name: (usize, usize),
    pub command: (usize, usize),
}

pub(super) fn parse(text: &str, path: &Path) -> Result<(Manifest, Positions), Error> {
    let at = At { text, file: path };
    let raw: RawManifest = toml::from_str(text).map_err(|e| at.syntax(&e))?;
    let positions = Positions {
        name: line_column(text, raw.name.span().start),
        command: line_column(text, raw.run.get_ref().command.span().start),
    };

    let name = identifier(&at, "name", &raw.name)?;
    let namespace = identifier(&at, "namespace", &raw.namespace)?;
    let version = raw.version.get_ref().trim().to_string();
    if version.is_empty() {
        return Err(at.error(
            raw.version.span(),
            "`version` is empty; write the plugin's version, e.g. version = \"1.0.0\"",
        ));
    }
    if raw.serves.is_empty() {
        return Err(at.error(
            0..0,
            "the manifest has no [[serves]] table: a plugin serves at least one contract; add \
             [[serves]] with `contract` and `fingerprint` (goproc-codegen prints the fingerprint)",
        ));
    }
    let serves = contracts(&at, "serves", &raw.serves)?;
    let requires = contracts(&at, "requires", &raw.requires)?;
    let run = run(&at, raw.run.into_inner())?;
    let checksums = checksums(&at, &raw.checksums)?;
    let pool = pool(&at, raw.pool)?;
    let restart = restart(&at, raw.restart)?;

    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let manifest = Manifest {
        path: path.to_path_buf(),
        folder,
        name,
        namespace,
        version,
        description: raw.description,
        lazy: raw.lazy.unwrap_or(true),
        run,
        serves,
        requires,
        checksums,
        pool,
        restart,
    };
    Ok((manifest, positions))
}

/// Where errors point: the file, and its text to turn spans into lines.
struct At<'a> {
    text: &'a str,
    file: &'a Path,
}

impl At<'_> {
    fn error(&self, span: Range<usize>, reason: impl Into<String>) -> Error {
        let (line, column) = line_column(self.text, span.start);
        Error::Manifest {
            file: self.file.to_path_buf(),
            line,
            column,
            reason: reason.into(),
        }
    }

    /// A TOML syntax error, an unknown key, a missing one, a value of the
    /// wrong type. The parser's message can span lines; one line reads
    /// better after `file:line:column:`.
    fn syntax(&self, e: &toml::de::Error) -> Error {
        let reason = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        self.error(e.span().unwrap_or(0..0), reason)
    }
}

/// A name or namespace: `[a-z0-9][a-z0-9_-]*`, so that an id is one path
/// segment per part and reads the same everywhere.
fn identifier(at: &At, key: &str, value: &Spanned<String>) -> Result<String, Error> {
    let text = value.get_ref();
    let mut chars = text.chars();
    let good = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if good {
        Ok(text.clone())
    } else {
        Err(at.error(
            value.span(),
            format!(
                "{key} `{text}` is not allowed: use lowercase letters, digits, `_` and `-`, \
                 starting with a letter or digit (e.g. `calc`)"
            ),
        ))
    }
}

fn contracts(
    at: &At,
    table: &str,
    entries: &[Spanned<RawContract>],
) -> Result<Vec<ContractEntry>, Error> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let RawContract {
            contract,
            fingerprint,
        } = entry.get_ref();
        let name = contract.get_ref().trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(at.error(
                contract.span(),
                format!(
                    "[[{table}]] contract `{}` is not a contract name; write the trait's name, \
                     e.g. contract = \"Calculator\"",
                    contract.get_ref()
                ),
            ));
        }
        if !seen.insert(name.to_string()) {
            return Err(at.error(
                contract.span(),
                format!("contract {name} is listed twice in [[{table}]]; keep one"),
            ));
        }
        let fingerprint = hex64(fingerprint.get_ref()).ok_or_else(|| {
            at.error(
                fingerprint.span(),
                format!(
                    "the fingerprint of {name} must be 64 hex digits (the full \
                     ContractInfo::fingerprint that goproc-codegen prints), not `{}`",
                    fingerprint.get_ref()
                ),
            )
        })?;
        out.push(ContractEntry {
            contract: name.to_string(),
            fingerprint,
        });
    }
    Ok(out)
}

/// 64 hex digits, lowercased; `None` when it is anything else.
fn hex64(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

fn run(at: &At, raw: RawRun) -> Result<Run, Error> {
    let command = raw.command.get_ref().trim();
    if command.is_empty() {
        return Err(at.error(
            raw.command.span(),
            "[run] command is empty; write the program to start: a path in the plugin's folder \
             (\"bin/calc\") or a name on PATH (\"python3\")",
        ));
    }
    let mut env = BTreeMap::new();
    for (key, value) in raw.env {
        let name = key.get_ref();
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(at.error(
                key.span(),
                format!(
                    "[run] env has the variable name `{name}`; a name is not empty and has no \
                     `=` or NUL"
                ),
            ));
        }
        env.insert(name.clone(), value);
    }
    let start_timeout = match &raw.start_timeout {
        None => None,
        Some(value) => Some(duration(at, "start_timeout", value, false)?),
    };
    let call_timeout = match &raw.call_timeout {
        None => None,
        Some(value) if value.get_ref().trim() == "none" => Some(None),
        Some(value) => Some(Some(duration(at, "call_timeout", value, false)?)),
    };
    Ok(Run {
        command: command.to_string(),
        args: raw.args,
        env,
        start_timeout,
        call_timeout,
    })
}

/// A humantime duration ("10s", "250ms", "1m 30s").
fn duration(at: &At, key: &str, value: &Spanned<String>, zero_ok: bool) -> Result<Duration, Error> {
    let text = value.get_ref().trim();
    let hint = if key == "call_timeout" {
        ", or \"none\" for no deadline"
    } else {
        ""
    };
    let parsed = humantime::parse_duration(text).map_err(|e| {
        at.error(
            value.span(),
            format!(
                "{key} `{text}` is not a duration ({e}); write e.g. \"10s\" or \"250ms\"{hint}"
            ),
        )
    })?;
    if parsed.is_zero() && !zero_ok {
        return Err(at.error(
            value.span(),
            format!("{key} is zero; give a positive duration, e.g. \"10s\"{hint}"),
        ));
    }
    Ok(parsed)
}

fn checksums(
    at: &At,
    raw: &BTreeMap<Spanned<String>, Spanned<String>>,
) -> Result<Vec<Checksum>, Error> {
    let mut out = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let path = Path::new(key.get_ref());
        let inside = !key.get_ref().is_empty()
            && path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(at.error(
                key.span(),
                format!(
                    "[checksums] path `{}` leaves the plugin's folder; give a path relative to \
                     the folder of plugin.toml, without `..` and not absolute",
                    key.get_ref()
                ),
            ));
        }
        let text = value.get_ref().trim();
        let bare = text.strip_prefix("sha256:").unwrap_or(text);
        let sha256 = hex64(bare).ok_or_else(|| {
            at.error(
                value.span(),
                format!(
                    "[checksums] value of `{}` must be a sha256: 64 hex digits, optionally after \
                     \"sha256:\" (sha256sum prints it), not `{text}`",
                    key.get_ref()
                ),
            )
        })?;
        out.push(Checksum {
            path: path.to_path_buf(),
            sha256,
        });
    }
    Ok(out)
}

fn pool(at: &At, raw: Option<RawPool>) -> Result<PoolSettings, Error> {
    let mut settings = PoolSettings::default();
    let Some(raw) = raw else {
        return Ok(settings);
    };
    if let Some(size) = raw.size {
        settings.size = positive(at, "[pool] size", &size)?;
    }
    if let Some(calls) = raw.max_in_flight {
        settings.max_in_flight = positive(at, "[pool] max_in_flight", &calls)?;
    }
    Ok(settings)
}

fn positive(at: &At, key: &str, value: &Spanned<i64>) -> Result<usize, Error> {
    match usize::try_from(*value.get_ref()) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(at.error(
            value.span(),
            format!("{key} is {}; it must be at least 1", value.get_ref()),
        )),
    }
}

fn restart(at: &At, raw: Option<RawRestart>) -> Result<RestartPolicy, Error> {
    let mut policy = RestartPolicy::default();
    let Some(raw) = raw else {
        return Ok(policy);
    };
    if let Some(n) = &raw.max_restarts {
        policy.max_restarts = u32::try_from(*n.get_ref()).map_err(|_| {
            at.error(
                n.span(),
                format!(
                    "[restart] max_restarts is {}; give a count from 0 (never restart) to {}",
                    n.get_ref(),
                    u32::MAX
                ),
            )
        })?;
    }
    if let Some(v) = &raw.window {
        policy.window = duration(at, "[restart] window", v, false)?;
    }
    if let Some(v) = &raw.initial_backoff {
        policy.initial_backoff = duration(at, "[restart] initial_backoff", v, true)?;
    }
    if let Some(v) = &raw.max_backoff {
        policy.max_backoff = duration(at, "[restart] max_backoff", v, true)?;
    }
    if policy.initial_backoff > policy.max_backoff {
        let span = raw
            .initial_backoff
            .as_ref()
            .or(raw.max_backoff.as_ref())
            .map_or(0..0, Spanned::span);
        return Err(at.error(
            span,
            format!(
                "[restart] initial_backoff ({:?}) is longer than max_backoff ({:?}); make it \
                 shorter or equal",
                policy.initial_backoff, policy.max_backoff
            ),
        ));
    }
    Ok(policy)
}
