//! goproc workspace: examples, tests and benches live beside this package.
