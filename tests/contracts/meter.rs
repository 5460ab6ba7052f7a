//! The `Meter` contract as the host has it, and copies of it whose types
//! drifted (a field reordered, added, removed, renamed or retyped; a
//! variant moved). Every copy has the same trait, so the same fingerprint:
//! only the schema tells them apart. A plugin built from a copy must be
//! refused by a host built from `host`, naming the first difference.

use serde::{Deserialize, Serialize};

/// Declares the trait (identical in every copy) and a plugin serving
/// `sample()` and `level()` of the module it is expanded in.
macro_rules! meter {
    () => {
        /// Counts what a plugin did.
        #[goproc::plugin_interface]
        pub trait Meter {
            /// The counts so far.
            async fn stats(&self) -> Stats;
            /// How busy it is.
            async fn level(&self) -> Level;
        }

        /// Serves `sample()` and `level()`.
        pub struct Plugin;

        impl Meter for Plugin {
            async fn stats(&self) -> Stats {
                sample()
            }
            async fn level(&self) -> Level {
                level()
            }
        }
    };
}

/// The contract as the host is built with it.
pub mod host {
    use super::*;
    meter!();

    /// Totals.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_in: u64,
        pub bytes_out: u64,
    }

    /// Load.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Level {
        Low,
        High { limit: u32 },
    }

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_in: 4,
            bytes_out: 1,
        }
    }

    pub fn level() -> Level {
        Level::High { limit: 7 }
    }
}

/// `bytes_in` and `bytes_out` swapped: it would answer wrong numbers.
pub mod reordered {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_out: u64,
        pub bytes_in: u64,
    }

    pub use super::host::{level, Level};

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_out: 1,
            bytes_in: 4,
        }
    }
}

/// A field added at the end.
pub mod added {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_in: u64,
        pub bytes_out: u64,
        pub errors: u64,
    }

    pub use super::host::{level, Level};

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_in: 4,
            bytes_out: 1,
            errors: 0,
        }
    }
}

/// The last field removed.
pub mod removed {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_in: u64,
    }

    pub use super::host::{level, Level};

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_in: 4,
        }
    }
}

/// A field renamed (same type, same place).
pub mod renamed {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_in: u64,
        pub bytes_sent: u64,
    }

    pub use super::host::{level, Level};

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_in: 4,
            bytes_sent: 1,
        }
    }
}

/// A field's type narrowed.
pub mod retyped {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Stats {
        pub calls: u64,
        pub bytes_in: u64,
        pub bytes_out: u32,
    }

    pub use super::host::{level, Level};

    pub fn sample() -> Stats {
        Stats {
            calls: 4,
            bytes_in: 4,
            bytes_out: 1,
        }
    }
}

/// An enum's variants swapped: every index on the wire means the other.
pub mod variant_moved {
    use super::*;
    meter!();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Level {
        High { limit: u32 },
        Low,
    }

    pub use super::host::{sample, Stats};

    pub fn level() -> Level {
        Level::High { limit: 7 }
    }
}
