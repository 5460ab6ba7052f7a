//! Node and TypeScript helpers for the end-to-end tests.
