//! The words of a command line: the plugin command after `--`, the method
//! path and its arguments, durations such as `10s`.

use std::path::Path;
use std::time::Duration;

use goproc::schema::{MethodSchema, Type};
use serde_json::Value;

/// The words after `--`: the plugin command, for every command; and the
/// words before it, which are a mistake (the plugin command goes after `--`).
#[derive(Debug, clap::Args)]
pub struct Words {
    /// Anything before `--` that is not an option: refused with a hint.
    #[arg(hide = true)]
    stray: Vec<String>,

    /// The plugin's program and its arguments (for `call` and `bench`, then
    /// `Contract.method` and the method's arguments).
    #[arg(last = true, value_name = "PLUGIN COMMAND")]
    words: Vec<String>,
}

impl Words {
    /// The words after `--`, or why there are none. `example` is a whole
    /// command line to show how it is written.
    pub fn after_dashes(&self, example: &str) -> Result<&[String], String> {
        if let Some(first) = self.stray.first() {
            return Err(format!(
                "`{first}` comes before `--`; the plugin command goes after `--`, as in `{example}`"
            ));
        }
        if self.words.is_empty() {
            return Err(format!(
                "no plugin command; write it after `--`, as in `{example}`"
            ));
        }
        Ok(&self.words)
    }
}

/// `Calculator.add`: which method of which contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodPath {
    pub contract: String,
    pub method: String,
}

impl MethodPath {
    /// Reads `Contract.method`: an UpperCamel contract name, a dot, a method name.
    pub fn parse(word: &str) -> Option<MethodPath> {
        let (contract, method) = word.split_once('.')?;
        let ident = |s: &str| {
            !s.is_empty()
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let upper = contract.starts_with(|c: char| c.is_ascii_uppercase());
        (upper && ident(contract) && ident(method)).then(|| MethodPath {
            contract: contract.to_string(),
            method: method.to_string(),
        })
    }
}

impl std::fmt::Display for MethodPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.contract, self.method)
    }
}

/// A plugin command, the method to call and the words of its arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Invocation<'a> {
    pub command: &'a [String],
    pub path: MethodPath,
    pub args: &'a [String],
}

/// Splits the words after `--` at the first one shaped `Contract.method`
/// that is not an existing file (the program itself is never the method).
pub fn split_at_method<'a>(words: &'a [String], example: &str) -> Result<Invocation<'a>, String> {
    split_with(words, example, |w| Path::new(w).exists())
}

fn split_with<'a>(
    words: &'a [String],
    example: &str,
    is_file: impl Fn(&str) -> bool,
) -> Result<Invocation<'a>, String> {
    let at = words
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, w)| MethodPath::parse(w).is_some() && !is_file(w));
    match at {
        Some((i, word)) => Ok(Invocation {
            command: &words[..i],
            path: MethodPath::parse(word).expect("the word was checked"),
            args: &words[i + 1..],
        }),
        None => Err(format!(
            "no method to call after the plugin command `{}`; name it as `Contract.method`, \
             as in `{example}`",
            words.join(" ")
        )),
    }
}

/// The JSON array of a method's arguments from the words of the command
/// line: for a `String` or `char` parameter the word itself, for any other
/// one the word read as JSON.
pub fn positional_args(
    path: &MethodPath,
    method: &MethodSchema,
    words: &[String],
) -> Result<Value, String> {
    if method.args.len() != words.len() {
        let params: Vec<String> = method
            .args
            .iter()
            .map(|a| format!("{}: {}", a.name, a.ty))
            .collect();
        return Err(format!(
            "{path} takes {} argument{} ({}), {} given",
            method.args.len(),
            if method.args.len() == 1 { "" } else { "s" },
            params.join(", "),
            words.len()
        ));
    }
    let mut values = Vec::with_capacity(words.len());
    for (arg, word) in method.args.iter().zip(words) {
        let value = match arg.ty {
            Type::String | Type::Char => Value::String(word.clone()),
            _ => serde_json::from_str(word).map_err(|e| {
                format!(
                    "argument {}: {}: `{word}` is not JSON ({e}); write a string in quotes \
                     ('\"text\"'), a list as '[1, 2]', a struct as '{{\"x\": 1}}'",
                    arg.name, arg.ty
                )
            })?,
        };
        values.push(value);
    }
    Ok(Value::Array(values))
}

/// Reads a duration: a number and a unit, `ms`, `s`, `m` or `h` (`10s`, `1.5s`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration; write a number and a unit, as `10s` or `500ms`")
    })?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        "" => {
            return Err(format!(
                "`{text}` has no unit; write `{text}s` or `{text}ms`"
            ))
        }
        other => {
            return Err(format!(
                "`{other}` in `{text}` is not a unit of time; use ms, s, m or h"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use goproc::schema::ArgSchema;

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_method_is_the_first_contract_dot_method_word_after_the_program() {
        let w = words(&["python3", "plugin.py", "Calculator.add", "40", "2"]);
        let inv = split_at_method(&w, "ex").unwrap();
        assert_eq!(inv.command, &w[..2]);
        assert_eq!(inv.path.to_string(), "Calculator.add");
        assert_eq!(inv.args, &w[3..]);
    }

    #[test]
    fn a_file_shaped_like_a_method_belongs_to_the_command() {
        let w = words(&["node", "Plugin.js", "Calculator.add"]);
        let inv = split_with(&w, "ex", |f| f == "Plugin.js").unwrap();
        assert_eq!(inv.command, &w[..2]);
        assert_eq!(inv.path.method, "add");
    }

    #[test]
    fn no_method_word_is_an_error_naming_the_command() {
        let w = words(&["./plugin", "calculator.add", "Calculator.", "a.b"]);
        let e = split_at_method(&w, "goproc call -- ./p Calculator.add 1 2").unwrap_err();
        assert!(
            e.contains("`./plugin calculator.add Calculator. a.b`"),
            "{e}"
        );
        assert!(e.contains("Contract.method"), "{e}");
    }

    fn method(args: &[(&str, Type)]) -> MethodSchema {
        MethodSchema {
            name: "m".into(),
            docs: vec![],
            args: args
                .iter()
                .map(|(n, t)| ArgSchema {
                    name: n.to_string(),
                    ty: t.clone(),
                })
                .collect(),
            ret: Type::Unit,
        }
    }

    #[test]
    fn strings_are_taken_as_written_and_the_rest_as_json() {
        let m = method(&[
            ("name", Type::String),
            ("n", Type::I64),
            ("c", Type::Char),
            ("v", Type::Seq(Box::new(Type::F64))),
        ]);
        let path = MethodPath::parse("C.m").unwrap();
        let got = positional_args(&path, &m, &words(&["40", "40", "x", "[1.5]"])).unwrap();
        assert_eq!(got, serde_json::json!(["40", 40, "x", [1.5]]));
    }

    #[test]
    fn a_word_that_is_not_json_names_the_argument() {
        let m = method(&[("a", Type::I64), ("b", Type::I64)]);
        let path = MethodPath::parse("Calculator.add").unwrap();
        let e = positional_args(&path, &m, &words(&["1", "two"])).unwrap_err();
        assert!(e.starts_with("argument b: i64: `two` is not JSON"), "{e}");
        let e = positional_args(&path, &m, &words(&["1"])).unwrap_err();
        assert_eq!(
            e,
            "Calculator.add takes 2 arguments (a: i64, b: i64), 1 given"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs")
            .unwrap_err()
            .contains("not a unit"));
        assert!(parse_duration("fast")
            .unwrap_err()
            .contains("not a duration"));
    }
}
