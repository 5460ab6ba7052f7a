//! What a generator writes, and the `--check` comparison with what is on disk.

use std::fmt;
use std::path::{Path, PathBuf};

/// One file a generator writes, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Path relative to the output folder.
    pub path: PathBuf,
    /// The whole contents.
    pub contents: String,
}

/// What [`write`] did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file, below the output folder.
    pub path: PathBuf,
    /// `false` when the file already held these contents and was left alone.
    pub changed: bool,
}

/// Writes every file below `out`, creating folders as needed.
pub fn write_all(out: &Path, files: &[OutputFile]) -> std::io::Result<()> {
    write(out, files).map(|_| ())
}

/// Writes every file below `out`, creating folders as needed, and says for
/// each file, in the order of `files`, whether it changed. An unchanged file
/// is left alone, so its timestamp does not trigger rebuilds.
pub fn write(out: &Path, files: &[OutputFile]) -> std::io::Result<Vec<Written>> {
    let mut written = Vec::new();
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let changed =
            std::fs::read_to_string(&path).ok().as_deref() != Some(file.contents.as_str());
        if changed {
            std::fs::write(&path, &file.contents)?;
        }
        written.push(Written { path, changed });
    }
    Ok(written)
}

/// The files below `out` that are missing or differ from `files`.
pub fn stale(out: &Path, files: &[OutputFile]) -> Vec<PathBuf> {
    check(out, files).into_iter().map(|s| s.path).collect()
}

/// A file below the output folder that differs from what would be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The file, below the output folder.
    pub path: PathBuf,
    /// How it differs.
    pub why: Difference,
}

/// How a file on disk differs from the generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// There is no such file.
    Missing,
    /// It cannot be read as text (the error, or "not UTF-8").
    Unreadable(String),
    /// It exists but does not start with a goproc-codegen header, where the
    /// generated file does.
    NotGenerated {
        /// Its first line.
        first_line: String,
    },
    /// The first line (1-based) where the two differ; `None` for a version
    /// that has already ended.
    Line {
        /// 1-based line number.
        line: usize,
        /// The line on disk.
        on_disk: Option<String>,
        /// The line the generator writes.
        generated: Option<String>,
        /// Whether the files differ only in their leading comment lines
        /// (the header, which names the sources).
        header_only: bool,
    },
}

impl Difference {
    /// Whether only the header naming the sources differs: the stubs match
    /// but were generated from another folder, or from other file names.
    pub fn only_the_header(&self) -> bool {
        matches!(self, Difference::Line { header_only: true, generated: Some(g), .. }
            if g.contains("goproc-codegen"))
    }
}

/// The files below `out` that are missing or differ from `files`, in the
/// order of `files`, each with how it differs.
pub fn check(out: &Path, files: &[OutputFile]) -> Vec<Stale> {
    files
        .iter()
        .filter_map(|f| {
            let path = out.join(&f.path);
            let why = match std::fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Difference::Missing,
                Err(e) => Difference::Unreadable(e.to_string()),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Err(_) => Difference::Unreadable("not UTF-8 text".to_string()),
                    Ok(text) => difference(&text, &f.contents)?,
                },
            };
            Some(Stale { path, why })
        })
        .collect()
}

/// How `on_disk` differs from `generated`, `None` when it does not.
fn difference(on_disk: &str, generated: &str) -> Option<Difference> {
    if on_disk == generated {
        return None;
    }
    let marker = "goproc-codegen";
    let first = |t: &str| t.lines().next().unwrap_or("").to_string();
    if first(generated).contains(marker) && !first(on_disk).contains(marker) {
        return Some(Difference::NotGenerated {
            first_line: first(on_disk),
        });
    }
    // Lines with their endings, so a file that differs only in its line
    // endings or its last newline still shows where.
    let mut disk_lines = on_disk.split_inclusive('\n');
    let mut gen_lines = generated.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (disk_lines.next(), gen_lines.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            (a, b) => {
                return Some(Difference::Line {
                    line,
                    on_disk: a.map(str::to_string),
                    generated: b.map(str::to_string),
                    header_only: after_header(on_disk) == after_header(generated),
                })
            }
        }
    }
}

/// The text after the leading comment lines (`#` or `//`).
fn after_header(text: &str) -> &str {
    let mut rest = text;
    while rest.starts_with('#') || rest.starts_with("//") {
        match rest.find('\n') {
            Some(end) => rest = &rest[end + 1..],
            None => return "",
        }
    }
    rest
}

/// The longest line shown whole; longer ones are cut, saying so.
const SHOWN: usize = 160;

/// A line for a message: without its ending, which is named when it is not
/// a plain `\n`, and cut when long.
fn show(line: &Option<String>) -> String {
    let Some(line) = line else {
        return "(the file ends before this line)".to_string();
    };
    let (text, ending) = if let Some(t) = line.strip_suffix("\r\n") {
        (t, " [ends with \\r\\n]")
    } else if let Some(t) = line.strip_suffix('\n') {
        (t, "")
    } else {
        (line.as_str(), " [no newline at the end of the file]")
    };
    let shown: String = text.chars().take(SHOWN).collect();
    let cut = if shown.len() < text.len() {
        " […]"
    } else {
        ""
    };
    format!("{shown}{cut}{ending}")
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.why {
            Difference::Missing => write!(f, "{path}: missing"),
            Difference::Unreadable(e) => write!(f, "{path}: cannot be read: {e}"),
            Difference::NotGenerated { first_line } => write!(
                f,
                "{path}: not generated by goproc-codegen (its first line is {:?}); \
                 generating overwrites it",
                first_line.chars().take(SHOWN).collect::<String>()
            ),
            Difference::Line {
                line,
                on_disk,
                generated,
                ..
            } => write!(
                f,
                "{path}: line {line} differs{}\n      on disk: {}\n    generated: {}",
                if self.why.only_the_header() {
                    " (only in the header)"
                } else {
                    ""
                },
                show(on_disk),
                show(generated)
            ),
        }
    }
}
