//! The `emissary` binary.

fn main() {}
