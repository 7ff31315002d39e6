//! The `emissary` binary: `translate` and `validate` manifests into Envoy
//! configuration (the daemon, `serve`, comes with its own module).
//!
//! Exit codes: 0 = no errors, 1 = errors found (output is still printed for
//! the parts that translated), 2 = usage or IO failure.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use emissary_core::{Inputs, Options, SourceFile, xds};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod explain;

#[derive(Parser)]
#[command(
    name = "emissary",
    version,
    about = "An Emissary-ingress compatible control plane for Envoy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Env {
    /// Only objects whose `ambassador_id` lists this id are used.
    #[arg(long, env = "AMBASSADOR_ID", default_value = "default")]
    ambassador_id: String,
    /// The namespace Emissary runs in (services in other namespaces get qualified).
    #[arg(long, env = "AMBASSADOR_NAMESPACE", default_value = "default")]
    ambassador_namespace: String,
    /// Only read objects from the Emissary namespace.
    #[arg(long, env = "AMBASSADOR_SINGLE_NAMESPACE", value_parser = parse_env_bool, default_value = "false")]
    single_namespace: bool,
    /// Use a placeholder certificate for missing TLS Secrets instead of reporting them.
    #[arg(long)]
    placeholder_secrets: bool,
}

/// Emissary treats any non-empty value of AMBASSADOR_SINGLE_NAMESPACE as set.
fn parse_env_bool(s: &str) -> Result<bool, String> {
    Ok(!matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "false" | "0" | "no"
    ))
}

#[derive(Subcommand)]
enum Command {
    /// Translate manifests into Envoy configuration.
    Translate {
        /// What to print.
        #[arg(long, value_enum, default_value_t = Output::Bootstrap)]
        output: Output,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Indent JSON (the default when stdout is a terminal).
        #[arg(long)]
        pretty: bool,
        /// Files or directories of manifests (`-` for stdin).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        env: Env,
    },
    /// Check manifests and print diagnostics only.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        env: Env,
    },
    /// Tell which Mapping serves a request, and why the routes before it do not.
    Explain(explain::Args),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    /// A complete static Envoy Bootstrap.
    Bootstrap,
    /// `{"listeners":[],"routes":[],"clusters":[],"endpoints":[],"secrets":[]}` as served over ADS.
    Xds,
    /// The intermediate representation.
    Ir,
    /// Diagnostics as JSON.
    Diagnostics,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Translate {
            output,
            format,
            pretty,
            paths,
            env,
        } => {
            let inputs = read_inputs(&paths, &env)?;
            let t = emissary_core::translate(&inputs);
            drop(inputs);
            eprint!("{}", t.render_diagnostics());
            let errors = t.has_errors();
            let stdout = std::io::stdout();
            let pretty = pretty || stdout.is_terminal();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            // Each arm frees the translation before rendering, to keep the peak low.
            match output {
                Output::Bootstrap => {
                    let b = t.bootstrap();
                    drop(t);
                    emit(&mut w, format, pretty, &b)?
                }
                Output::Xds => {
                    let r = t.resources(xds::Mode::Ads);
                    drop(t);
                    emit(&mut w, format, pretty, &r)?
                }
                Output::Ir => emit(&mut w, format, pretty, &t.ir)?,
                Output::Diagnostics => emit(&mut w, format, pretty, &t.diagnostics)?,
            }
            w.flush()?;
            Ok(exit(errors))
        }
        Command::Validate { paths, env } => {
            let inputs = read_inputs(&paths, &env)?;
            let t = emissary_core::translate(&inputs);
            eprint!("{}", t.render_diagnostics());
            let (e, w) = t
                .diagnostics
                .iter()
                .fold((0, 0), |(e, w), d| match d.severity {
                    emissary_core::diag::Severity::Error => (e + 1, w),
                    emissary_core::diag::Severity::Warning => (e, w + 1),
                    _ => (e, w),
                });
            eprintln!("{e} error(s), {w} warning(s)");
            Ok(exit(t.has_errors()))
        }
        Command::Explain(args) => explain::run(args),
    }
}

/// Writes a value as JSON (indented when asked, or when stdout is a terminal) or YAML.
fn emit<T: serde::Serialize>(
    w: &mut impl std::io::Write,
    format: Format,
    pretty: bool,
    value: &T,
) -> Result<()> {
    match format {
        Format::Json if pretty => {
            serde_json::to_writer_pretty(&mut *w, value)?;
            w.write_all(b"\n")?;
        }
        Format::Json => {
            serde_json::to_writer(&mut *w, value)?;
            w.write_all(b"\n")?;
        }
        Format::Yaml => {
            w.write_all(xds::yaml::to_string(&serde_json::to_value(value)?).as_bytes())?
        }
    }
    Ok(())
}

fn exit(errors: bool) -> ExitCode {
    if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn options(env: &Env) -> Options {
    Options {
        ambassador_id: env.ambassador_id.clone(),
        ambassador_namespace: env.ambassador_namespace.clone(),
        single_namespace: env.single_namespace,
        placeholder_secrets: env.placeholder_secrets,
    }
}

/// Reads files, directories (recursively: `*.yaml`, `*.yml`, `*.json`, sorted) and stdin.
fn read_inputs(paths: &[PathBuf], env: &Env) -> Result<Inputs> {
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            files.push(SourceFile {
                name: "<stdin>".into(),
                text,
            });
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            for f in found {
                files.push(read_file(&f)?);
            }
        } else {
            files.push(read_file(p)?);
        }
    }
    Ok(Inputs {
        files,
        options: options(env),
    })
}

fn read_file(p: &Path) -> Result<SourceFile> {
    let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", p.display()))?;
    Ok(SourceFile {
        name: p.display().to_string(),
        text,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
