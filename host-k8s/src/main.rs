//! The `emissary` binary: parses the command line and runs it; everything
//! else is in the library (`emissary_k8s`).

use clap::Parser as _;

/// mimalloc rather than the system allocator: translation allocates and frees
/// many small objects (about a third of its time under glibc malloc), and a
/// long-running daemon should hand freed memory back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    emissary_k8s::cli::Cli::parse().run()
}
