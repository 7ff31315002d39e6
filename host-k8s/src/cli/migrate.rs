//! `emissary migrate`: getambassador.io v2 (and v1) manifests rewritten as
//! v3alpha1, for moving from an Emissary install whose objects are stored as
//! v2 to ours, which serves only v3alpha1 (`docs/migrating-from-emissary.md`).
//! The conversion is the core's ([`emissary_core::migrate()`]); this reads the
//! files, prints the diagnostics on stderr and writes the YAML to stdout or
//! `--output`. Exit codes as `translate`: 0, 1 when a document could not be
//! read (the rest is still written), 2 for usage or IO failures.

use anyhow::{Context as _, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// `emissary migrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories of manifests (`-` for stdin), as
    /// `kubectl get … -o yaml` prints them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write the migrated manifests here instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

/// Runs `emissary migrate`.
pub fn run(args: Args) -> Result<ExitCode> {
    let files = super::read_files(&args.paths)?;
    let m = emissary_core::migrate(&files);
    eprint!("{}", m.render_diagnostics());
    eprintln!(
        "{} object(s) converted to getambassador.io/v3alpha1, {} written",
        m.converted, m.objects
    );
    match &args.output {
        Some(p) => {
            std::fs::write(p, &m.text).with_context(|| format!("writing {}", p.display()))?
        }
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(m.text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(super::exit(m.has_errors()))
}
