//! The level of a plugin's log line, read from the common ways programs
//! write it: JSON lines with a level field, `[LEVEL] ...`, `LEVEL: ...`,
//! and Python's default `LEVEL:logger:...`.

/// The level of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn from_name(name: &str) -> Option<Level> {
        Some(match name.to_ascii_lowercase().as_str() {
            "error" | "err" | "fatal" | "critical" | "crit" | "panic" | "alert" | "emerg" => {
                Level::Error
            }
            "warn" | "warning" => Level::Warn,
            "info" | "notice" | "log" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }
}

/// The level a line states, and the message without the level marker; or
/// `None` when the line states no level.
pub(crate) fn parse(line: &str) -> Option<(Level, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('{') {
        return parse_json(trimmed);
    }
    if let Some(rest) = trimmed.strip_prefix('[') {
        let (name, msg) = rest.split_once(']')?;
        return Some((Level::from_name(name.trim())?, msg.trim_start().to_string()));
    }
    let (name, msg) = trimmed.split_once(':')?;
    if name.contains(' ') {
        return None;
    }
    Some((Level::from_name(name)?, msg.trim_start().to_string()))
}

fn parse_json(line: &str) -> Option<(Level, String)> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let obj = value.as_object()?;
    let level = ["level", "levelname", "severity", "lvl"]
        .iter()
        .find_map(|k| obj.get(*k))
        .and_then(|v| match v {
            serde_json::Value::String(s) => Level::from_name(s),
            // pino's numeric levels
            serde_json::Value::Number(n) => n.as_u64().map(|n| match n {
                0..=10 => Level::Trace,
                11..=20 => Level::Debug,
                21..=30 => Level::Info,
                31..=40 => Level::Warn,
                _ => Level::Error,
            }),
            _ => None,
        })?;
    let message = ["msg", "message"]
        .iter()
        .find_map(|k| obj.get(*k))
        .or_else(|| obj.get("fields").and_then(|f| f.get("message")))
        .and_then(|v| v.as_str())
        .map_or_else(|| line.to_string(), str::to_string);
    Some((level, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_from_json_brackets_and_prefixes() {
        let cases = [
            (
                r#"{"level":"WARN","msg":"disk almost full"}"#,
                Some((Level::Warn, "disk almost full")),
            ),
            (
                r#"{"levelname":"ERROR","message":"boom"}"#,
                Some((Level::Error, "boom")),
            ),
            (
                r#"{"level":30,"msg":"pino says hi"}"#,
                Some((Level::Info, "pino says hi")),
            ),
            (
                r#"{"level":"debug","fields":{"message":"tracing json"}}"#,
                Some((Level::Debug, "tracing json")),
            ),
            (
                "[ERROR] cannot open file",
                Some((Level::Error, "cannot open file")),
            ),
            ("[debug] tick", Some((Level::Debug, "tick"))),
            (
                "WARNING:root:deprecated call",
                Some((Level::Warn, "root:deprecated call")),
            ),
            ("INFO: ready", Some((Level::Info, "ready"))),
            ("trace: entering", Some((Level::Trace, "entering"))),
            ("listening on port 8080", None),
            ("Note: nothing: here", None),
            ("{not json", None),
            (r#"{"msg":"no level"}"#, None),
        ];
        for (line, want) in cases {
            let got = parse(line);
            assert_eq!(
                got.as_ref().map(|(l, m)| (*l, m.as_str())),
                want,
                "line {line:?}"
            );
        }
    }
}
