//! `emissary explain`: which Mapping serves a request, and why the routes
//! before it did not match (the matching itself is `emissary_core::explain`).

use anyhow::Result;
use emissary_core::explain::{self, Outcome, Request};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories of manifests (`-` for stdin).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The request: `METHOD URL`, e.g. `GET https://foo.example.com/api/x`.
    #[arg(long, short = 'r')]
    request: String,
    /// A request header, `name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// The listener port (default: the URL's, else 443/8443 for https, 80/8080 for http).
    #[arg(long)]
    port: Option<u16>,
    /// The TLS server name (default: the URL's host for https).
    #[arg(long)]
    sni: Option<String>,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    env: super::Env,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// Exit status 0 when the request is served (forwarded, redirected or proxied), 1 otherwise.
pub fn run(args: Args) -> Result<ExitCode> {
    let inputs = super::read_inputs(&args.paths, &args.env)?;
    let t = emissary_core::translate(&inputs);
    eprint!("{}", t.render_diagnostics());
    let headers: Vec<&str> = args.headers.iter().map(String::as_str).collect();
    let request = Request {
        port: args.port,
        sni: args.sni.clone(),
        ..Request::parse(&args.request, &headers)
    };
    let e = explain::explain(&t.ir, &request);
    match args.format {
        Format::Text => print!("{}", explain::render(&e)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&e)?),
    }
    let served = matches!(
        e.outcome,
        Outcome::Forwarded | Outcome::Redirected | Outcome::Tcp
    );
    Ok(if served {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
