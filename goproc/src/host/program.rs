//! The program a plugin runs: the name it goes by, and, when it cannot be
//! started, why in words a user can act on.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// Programs that run a script named by their first argument: a plugin run
/// through one is named after its script (`plugin.py`, not `python3`).
const INTERPRETERS: [&str; 12] = [
    "python", "python3", "pypy", "pypy3", "node", "nodejs", "deno", "bun", "ruby", "perl", "sh",
    "bash",
];

/// The default name of a plugin that runs `program` with `args`: the
/// script's file name for an interpreter, else the program's file name.
pub(super) fn default_name(program: &OsStr, args: &[std::ffi::OsString]) -> String {
    let file_name = |path: &OsStr| {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned())
    };
    let program_name = file_name(program);
    if is_interpreter(&program_name) {
        let script = args.iter().find(|a| !a.to_string_lossy().starts_with('-'));
        if let Some(script) = script {
            return file_name(script);
        }
    }
    program_name
}

/// `python3.12` is `python3`; `node.exe` is `node`.
fn is_interpreter(name: &str) -> bool {
    let name = name.strip_suffix(".exe").unwrap_or(name);
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.contains(&name) || INTERPRETERS.contains(&base)
}

/// Why `program` could not be started (`err` is what the OS said), and
/// what to do, in one sentence.
pub(super) fn why_not_started(
    program: &OsStr,
    current_dir: Option<&Path>,
    path_var: Option<&OsStr>,
    err: &io::Error,
) -> String {
    let shown = Path::new(program).display();
    let bare = !program
        .to_string_lossy()
        .contains(std::path::MAIN_SEPARATOR)
        && !program.to_string_lossy().contains('/');
    let resolved = || -> PathBuf {
        let path = Path::new(program);
        match current_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    };
    match err.kind() {
        io::ErrorKind::NotFound if bare => {
            let dirs: Vec<String> = path_var
                .map(|p| {
                    std::env::split_paths(p)
                        .map(|d| d.display().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if dirs.is_empty() {
                format!(
                    "`{shown}` was looked up on PATH, which is empty or unset ({err}); give the \
                     program's path instead"
                )
            } else {
                format!(
                    "`{shown}` was looked up on PATH and is in none of its folders ({}) ({err}); \
                     install it or give its path",
                    dirs.join(", ")
                )
            }
        }
        io::ErrorKind::NotFound => {
            let base = match current_dir {
                Some(dir) => format!("the plugin's current_dir {}", dir.display()),
                None => match std::env::current_dir() {
                    Ok(dir) => format!("the host's working folder {}", dir.display()),
                    Err(_) => "the host's working folder".into(),
                },
            };
            if Path::new(program).is_relative() {
                format!(
                    "there is no file {} ({err}); a relative path is resolved against {base}",
                    resolved().display()
                )
            } else {
                format!("there is no file {shown} ({err})")
            }
        }
        io::ErrorKind::PermissionDenied => {
            let path = resolved();
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    format!("{} is a directory, not a program ({err})", path.display())
                }
                Ok(meta) if !is_executable(&meta) => format!(
                    "{} is not executable ({err}); make it so (`chmod +x`), or start it through \
                     its interpreter: `Plugin::builder(\"python3\").arg(\"{}\")`",
                    path.display(),
                    path.display()
                ),
                _ => format!("{shown} may not be run by this user ({err})"),
            }
        }
        _ => err.to_string(),
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_run_through_an_interpreter_is_named_after_its_script() {
        let args = |a: &[&str]| {
            a.iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        let name = |p: &str, a: &[&str]| default_name(OsStr::new(p), &args(a));
        assert_eq!(
            name("/usr/bin/python3", &["-u", "plugins/calc.py"]),
            "calc.py"
        );
        assert_eq!(name("python3.12", &["calc.py"]), "calc.py");
        assert_eq!(name("node", &["dist/plugin.js"]), "plugin.js");
        assert_eq!(name("./target/debug/worker", &["--fast"]), "worker");
        assert_eq!(name("python3", &[]), "python3");
    }
}
