//! Project automation: `cargo xtask <command>`.

fn main() -> anyhow::Result<()> {
    Ok(())
}
