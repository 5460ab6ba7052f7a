//! Multi-line reports — a Rust panic, a Python traceback, an uncaught Node
//! exception — gathered into one event instead of dozens of lines.

/// The kinds of multi-line report gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    RustPanic,
    PythonTraceback,
    NodeException,
}

/// Gathers lines; `push` returns the events that are complete.
#[derive(Debug, Default)]
pub(crate) struct Grouper {
    open: Option<(Report, Vec<String>)>,
}

/// One event: a single line, or a whole report.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Line(String),
    Report(Vec<String>),
}

impl Grouper {
    /// Whether a report is being gathered (and should be flushed if the
    /// plugin goes quiet).
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// How many lines the open report holds.
    pub(crate) fn open_len(&self) -> usize {
        self.open.as_ref().map_or(0, |(_, lines)| lines.len())
    }

    /// Takes the next line.
    pub(crate) fn push(&mut self, line: String) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some((kind, lines)) = &mut self.open {
            match continues(*kind, lines, &line) {
                Continue::Yes => {
                    lines.push(line);
                    return out;
                }
                Continue::Last => {
                    lines.push(line);
                    out.extend(self.flush());
                    return out;
                }
                Continue::No => out.extend(self.flush()),
            }
        }
        match starts(&line) {
            Some(kind) => self.open = Some((kind, vec![line])),
            // A blank line outside a report says nothing.
            None if line.trim().is_empty() => {}
            None => out.push(Event::Line(line)),
        }
        out
    }

    /// Ends the report being gathered, if any.
    pub(crate) fn flush(&mut self) -> Option<Event> {
        self.open.take().map(|(_, lines)| Event::Report(lines))
    }
}

fn starts(line: &str) -> Option<Report> {
    // `thread 'main' panicked at ...`, or `thread 'main' (1234) panicked at ...`.
    if line.starts_with("thread '") && line.contains(" panicked at ") {
        return Some(Report::RustPanic);
    }
    if line.starts_with("Traceback (most recent call last):") {
        return Some(Report::PythonTraceback);
    }
    // Node prints `file:line` of the throw site first, or the error itself
    // for errors thrown from async code.
    let location =
        (line.starts_with('/') || line.starts_with("file://") || line.starts_with("node:"))
            && line
                .rsplit(':')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if location || is_js_error_line(line) {
        return Some(Report::NodeException);
    }
    None
}

fn is_js_error_line(line: &str) -> bool {
    let name = line.split_once(": ").map_or(line, |(name, _)| name);
    name.ends_with("Error")
        && !name.contains(char::is_whitespace)
        && name.chars().next().is_some_and(char::is_uppercase)
}

enum Continue {
    Yes,
    /// This line belongs to the report and ends it.
    Last,
    No,
}

fn continues(kind: Report, lines: &[String], line: &str) -> Continue {
    let indented = line.starts_with(' ') || line.starts_with('\t');
    match kind {
        Report::RustPanic => {
            if line.starts_with("note: ") {
                Continue::Last
            } else if indented || line.starts_with("stack backtrace:") || line.is_empty() {
                Continue::Yes
            } else if lines.len() == 1 {
                // The panic message itself, on the line after the location.
                Continue::Yes
            } else {
                Continue::No
            }
        }
        Report::PythonTraceback => {
            let after_frames = lines
                .last()
                .is_some_and(|l| l.is_empty() || l.starts_with(' '));
            if indented
                || line.is_empty()
                || line.starts_with("Traceback (most recent call last):")
                || line.starts_with("During handling of the above exception")
                || line.starts_with("The above exception was the direct cause")
                // The exception line, after the frames; a chained traceback
                // may follow, so the report stays open until another line
                // (or a moment of quiet) ends it.
                || after_frames
            {
                Continue::Yes
            } else {
                Continue::No
            }
        }
        Report::NodeException => {
            if line.starts_with("Node.js v") {
                Continue::Last
            } else if indented || line.is_empty() || line.trim() == "^" || is_js_error_line(line) {
                Continue::Yes
            } else if lines.len() <= 2 {
                // The source line and the caret under the throw site.
                Continue::Yes
            } else {
                Continue::No
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(text: &str) -> Vec<Event> {
        let mut g = Grouper::default();
        let mut out = Vec::new();
        for line in text.lines() {
            out.extend(g.push(line.to_string()));
        }
        out.extend(g.flush());
        out
    }

    fn report(text: &str) -> Event {
        Event::Report(text.lines().map(str::to_string).collect())
    }

    #[test]
    fn a_rust_panic_is_one_report() {
        let panic = "thread 'tokio-runtime-worker' (42) panicked at src/main.rs:10:5:\n\
                     attempt to divide by zero\n\
                     note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        let text = format!("before\n{panic}\nafter");
        assert_eq!(
            group(&text),
            vec![
                Event::Line("before".into()),
                report(panic),
                Event::Line("after".into())
            ]
        );
    }

    #[test]
    fn a_python_traceback_is_one_report_ending_with_the_exception() {
        let tb = "Traceback (most recent call last):\n  File \"plugin.py\", line 3, in add\n    return a / b\n           ~~^~~\nZeroDivisionError: division by zero";
        let text = format!("{tb}\nnext line");
        assert_eq!(
            group(&text),
            vec![report(tb), Event::Line("next line".into())]
        );
    }

    #[test]
    fn a_chained_python_traceback_stays_together() {
        let tb = "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"a.py\", line 3, in f\nValueError: bad";
        assert_eq!(
            group(&format!("{tb}\nready")),
            vec![report(tb), Event::Line("ready".into())]
        );
    }

    #[test]
    fn an_uncaught_node_exception_is_one_report() {
        let ex = "/tmp/plugin.js:3\n    throw new Error(\"boom\");\n    ^\n\nError: boom\n    at Object.<anonymous> (/tmp/plugin.js:3:11)\n    at Module._compile (node:internal/modules/cjs/loader:1364:14)\n\nNode.js v20.20.2";
        assert_eq!(
            group(&format!("{ex}\nbye")),
            vec![report(ex), Event::Line("bye".into())]
        );
    }

    #[test]
    fn an_error_thrown_from_async_node_code_is_one_report() {
        let ex = "TypeError: x is not a function\n    at main (file:///tmp/p.mjs:2:3)\n\nNode.js v20.20.2";
        assert_eq!(group(ex), vec![report(ex)]);
    }

    #[test]
    fn ordinary_lines_pass_through_one_by_one() {
        assert_eq!(
            group("ready\n[WARN] slow\nError handling is fine here"),
            vec![
                Event::Line("ready".into()),
                Event::Line("[WARN] slow".into()),
                Event::Line("Error handling is fine here".into()),
            ]
        );
    }
}
