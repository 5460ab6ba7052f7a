//! How a command fails: one line on stderr, `goproc: <what>`, and an exit
//! status that tells a script what kind of failure it was.

use std::process::ExitCode;

/// Bad usage, a plugin that could not be started or ended, a difference
/// found by `check`.
pub const FAILED: u8 = 1;
/// The call reached the plugin and failed there, or timed out.
pub const CALL_FAILED: u8 = 2;
/// The method answered with its domain error.
pub const DOMAIN_ERROR: u8 = 3;

/// A command's failure: what to print and the exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    status: u8,
    /// Printed as is, without the `goproc: ` prefix (a domain error).
    bare: bool,
}

impl Failure {
    /// A failure with exit status [`FAILED`].
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: FAILED,
            bare: false,
        }
    }

    /// The method's domain error, printed as `domain error: <json>`.
    pub fn domain(error: &serde_json::Value) -> Failure {
        Failure {
            message: format!("domain error: {error}"),
            status: DOMAIN_ERROR,
            bare: true,
        }
    }

    /// A goproc error (which names the plugin or the method), with the exit
    /// status its kind calls for.
    pub fn from_error(error: &goproc::Error) -> Failure {
        if let goproc::Error::Domain { error, .. } = error {
            return Failure::domain(error);
        }
        let status = match error {
            goproc::Error::Remote { .. } | goproc::Error::Timeout { .. } => CALL_FAILED,
            _ => FAILED,
        };
        Failure {
            message: error.to_string(),
            status,
            bare: false,
        }
    }

    /// Prints the failure on stderr as one line and gives the exit status.
    pub fn report(self) -> ExitCode {
        let line = one_line(&self.message);
        if self.bare {
            eprintln!("{line}");
        } else {
            eprintln!("goproc: {line}");
        }
        ExitCode::from(self.status)
    }
}

/// A failure to parse the command line: help and version are printed as
/// clap prints them; an error becomes one line naming the command's help.
pub fn usage(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(FAILED)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = error.render().to_string();
            // clap's first line is `error: <what>`, perhaps continued by
            // indented lines (`the following required arguments were not
            // provided:` and their names); then come usage and tips.
            let mut lines = rendered.lines().skip_while(|l| l.trim().is_empty());
            let first = lines.next().unwrap_or("bad usage");
            let mut what = first.strip_prefix("error: ").unwrap_or(first).to_string();
            for more in lines.take_while(|l| l.starts_with(' ') && !l.trim().is_empty()) {
                what.push(' ');
                what.push_str(more.trim());
            }
            // `Usage: goproc call [OPTIONS] ...` names the command whose help to see.
            let command = rendered
                .lines()
                .find_map(|l| l.trim().strip_prefix("Usage: "))
                .map(|usage| {
                    usage
                        .split_whitespace()
                        .take_while(|w| !w.starts_with(['[', '<', '-']))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "goproc".into());
            Failure::new(format!("{what}; see `{command} --help`")).report()
        }
    }
}

/// A message on one line: a plugin's stderr tail (`\n  | line`) joined with spaces.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stderr_tail_is_joined_on_one_line() {
        assert_eq!(
            one_line("plugin `x` exited (exit status: 1); last stderr lines:\n  | boom\n  | bye\n"),
            "plugin `x` exited (exit status: 1); last stderr lines: | boom | bye"
        );
    }
}
