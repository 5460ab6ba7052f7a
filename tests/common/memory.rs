//! A process's resident memory, for the tests that bound it (shared by the
//! test files through `common`, and by `test-scenario` and `fuzz_wire` by
//! path).

/// A process's resident memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident now (`VmRSS`), in bytes.
    pub rss: u64,
    /// Resident at the peak so far (`VmHWM`), in bytes.
    pub peak: u64,
}

impl Memory {
    /// This process's.
    pub fn of_self() -> Memory {
        Memory::of(std::process::id())
    }

    /// Process `pid`'s.
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        };
        Memory {
            rss: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }
}
