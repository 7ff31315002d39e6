//! Helpers for the end-to-end tests: free ports (from `emissary-tests`), child processes that are
//! stopped when dropped, a real Envoy detached from the terminal, manifests in
//! a temporary directory, a minimal HTTP/1.1 client, and bounded polling.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use emissary_core::xds::ads_bootstrap::AdsProtocol;

pub use emissary_tests::free_ports;

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is stopped (SIGTERM, then SIGKILL after 5 s) when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` in its own process group, stdin closed, output to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).expect("create log file");
        let err = out.try_clone().unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc {
            name: name.into(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig);
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        self.signal(nix::sys::signal::Signal::SIGTERM);
        if let Some(s) = self.wait_exit(grace) {
            return Some(s);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: String = log
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            eprintln!(
                "---- last lines of {} ({}) ----\n{tail}",
                self.name,
                self.log.display()
            );
        }
    }
}

/// The `emissary` binary under test.
pub fn emissary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_emissary"))
}

/// An example backend on `port` answering with `name`.
pub fn backend(dir: &Path, name: &str, port: u16) -> Proc {
    let mut cmd = emissary();
    cmd.args([
        "example-backend",
        "--port",
        &port.to_string(),
        "--name",
        name,
    ]);
    let p = Proc::spawn(name, cmd, dir.join(format!("{name}.log")));
    wait_for(
        &format!("backend {name} on {port}"),
        Duration::from_secs(20),
        || TcpStream::connect(("127.0.0.1", port)).ok(),
    );
    p
}

/// Ports and settings of one control plane.
#[derive(Clone)]
pub struct Plane {
    pub ads: u16,
    pub admin: u16,
}

impl Plane {
    pub fn new() -> Plane {
        let p = free_ports(2);
        Plane {
            ads: p[0],
            admin: p[1],
        }
    }

    /// Starts `emissary serve --no-envoy` on `config`.
    pub fn start(&self, dir: &Path, config: &Path, extra: &[&str]) -> Proc {
        let mut cmd = emissary();
        cmd.arg("serve").arg("--config-dir").arg(config);
        self.spawn(dir, cmd, extra)
    }

    /// Starts `emissary serve --kubernetes` with `kubeconfig`.
    pub fn start_kubernetes(&self, dir: &Path, kubeconfig: &Path, extra: &[&str]) -> Proc {
        let mut cmd = emissary();
        cmd.args(["serve", "--kubernetes", "--kubeconfig"])
            .arg(kubeconfig)
            .env_remove("KUBECONFIG");
        self.spawn(dir, cmd, extra)
    }

    /// Adds this plane's ports and `extra` to `cmd` (`--no-envoy` unless
    /// `extra` names an Envoy), starts it and waits for its admin endpoint.
    fn spawn(&self, dir: &Path, mut cmd: Command, extra: &[&str]) -> Proc {
        cmd.args(["--ads-port", &self.ads.to_string()])
            .args(["--admin-port", &self.admin.to_string()])
            .args(["--admin-address", "127.0.0.1"])
            .args(extra)
            .env("RUST_LOG", "info");
        if !extra.contains(&"--envoy") {
            cmd.arg("--no-envoy");
        }
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let p = Proc::spawn("emissary serve", cmd, dir.join(format!("serve-{n}.log")));
        wait_for("the admin endpoint", Duration::from_secs(30), || {
            get(self.admin, "/healthz").ok().filter(|r| r.status == 200)
        });
        p
    }

    pub fn admin_get(&self, path: &str) -> Response {
        get(self.admin, path).unwrap_or_else(|e| panic!("GET admin {path}: {e}"))
    }

    pub fn admin_json(&self, path: &str) -> serde_json::Value {
        let r = self.admin_get(path);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
    }
}

/// An Envoy (from `.venv/bin/envoy`, `$ENVOY_BIN` or PATH) fed by a control plane.
pub struct Envoy {
    pub admin: u16,
    pub proc: Proc,
}

impl Envoy {
    pub fn start(dir: &Path, plane: &Plane, node_id: &str, protocol: AdsProtocol) -> Envoy {
        use emissary_core::xds::ads_bootstrap::{AdsBootstrap, ads_bootstrap};
        let admin = free_ports(1)[0];
        let b = ads_bootstrap(&AdsBootstrap {
            node_id: node_id.into(),
            ads_port: plane.ads,
            admin_port: admin,
            protocol,
            ..Default::default()
        });
        let path = dir.join(format!("bootstrap-{node_id}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
        let bin = emissary_tests::envoy_bin().expect("Envoy is installed");
        let mut cmd = Command::new(bin);
        cmd.arg("-c")
            .arg(&path)
            .args(["--log-level", "warning", "--disable-hot-restart"])
            .args(["--drain-time-s", "1"]);
        let proc = Proc::spawn(
            &format!("envoy {node_id}"),
            cmd,
            dir.join(format!("envoy-{node_id}.log")),
        );
        Envoy { admin, proc }
    }

    /// Waits until Envoy's `/ready` says LIVE (it has its first configuration).
    pub fn wait_live(&self, timeout: Duration) {
        wait_for("Envoy LIVE", timeout, || {
            get(self.admin, "/ready")
                .ok()
                .filter(|r| r.body.trim() == "LIVE")
        });
    }

    /// Envoy's dynamic route configurations, as JSON text.
    pub fn routes_dump(&self) -> String {
        get(self.admin, "/config_dump?resource=dynamic_route_configs")
            .map(|r| r.body)
            .unwrap_or_default()
    }

    pub fn stat(&self, name: &str) -> Option<u64> {
        let r = get(self.admin, &format!("/stats?filter=^{name}$")).ok()?;
        r.body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// A temporary directory with a config directory inside.
pub struct Workdir {
    pub tmp: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        let tmp = tempfile::Builder::new()
            .prefix("emissary-e2e-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(tmp.path().join("config")).unwrap();
        Workdir { tmp }
    }
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
    pub fn config(&self) -> PathBuf {
        self.tmp.path().join("config")
    }
    /// Writes a file in the config directory atomically (write + rename).
    pub fn write(&self, name: &str, text: &str) {
        let tmp = self.tmp.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.config().join(name)).unwrap();
    }
    /// Writes a file in place (truncate, then write), as many editors do.
    pub fn write_in_place(&self, name: &str, text: &str) {
        std::fs::write(self.config().join(name), text).unwrap();
    }
}

/// A cleartext Listener on `port`.
pub fn listener_only_yaml(port: u16) -> String {
    format!(
        r#"---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: http-{port}, namespace: default}}
spec:
  port: {port}
  protocol: HTTP
  securityModel: XFP
  hostBinding: {{namespace: {{from: ALL}}}}
"#
    )
}

/// A Host for every hostname and a cleartext Listener on `port`.
pub fn listener_yaml(port: u16) -> String {
    listener_only_yaml(port)
        + r#"---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec:
  hostname: "*"
  requestPolicy: {insecure: {action: Route}}
"#
}

/// One Mapping from `prefix` to `127.0.0.1:port`.
pub fn mapping_yaml(name: &str, prefix: &str, port: u16) -> String {
    format!(
        r#"---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: {name}, namespace: default}}
spec:
  hostname: "*"
  prefix: {prefix}
  service: 127.0.0.1:{port}
  timeout_ms: 10000
"#
    )
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive HTTP/1.1 connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s),
        })
    }

    /// Sends a GET and reads the whole response.
    pub fn get(&mut self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, false)
    }

    fn request(&mut self, method: &str, path: &str, close: bool) -> std::io::Result<Response> {
        self.send(method, path, close, None)
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        close: bool,
        body: Option<(&str, &str)>,
    ) -> std::io::Result<Response> {
        let conn = if close { "close" } else { "keep-alive" };
        let (ctype, body) = body.unwrap_or(("text/plain", ""));
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: example.local\r\nUser-Agent: e2e\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: {conn}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(req.as_bytes())?;
        read_response(&mut self.reader)
    }
}

/// One request on a fresh connection.
pub fn get(port: u16, path: &str) -> std::io::Result<Response> {
    Conn::open(port)?.request("GET", path, true)
}

/// One request with a body (`content_type`, `body`) on a fresh connection.
pub fn send(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<Response> {
    Conn::open(port)?.send(method, path, true, Some((content_type, body)))
}

/// One POST without a body on a fresh connection.
pub fn post(port: u16, path: &str) -> std::io::Result<Response> {
    Conn::open(port)?.request("POST", path, true)
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length".into()))?;
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad(format!("bad chunk size {size:?}")))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if status != 204 && status != 304 {
        r.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The resident set size of process `pid`, in kB (0 when unknown).
pub fn rss_kb(pid: i32) -> u64 {
    status_kb(pid, "VmRSS:")
}

/// Peak resident memory of `pid` so far (VmHWM), in kB.
pub fn vm_hwm_kb(pid: i32) -> u64 {
    status_kb(pid, "VmHWM:")
}

/// A `kB` field of `/proc/<pid>/status`; 0 when absent.
fn status_kb(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The `p` quantile (0..=1) of sorted durations.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The Kubernetes API emulator of `tests/k8s/`, started by the project's
/// venv Python.
pub struct Emulator {
    pub proc: Proc,
    pub port: u16,
    pub kubeconfig: PathBuf,
}

impl Emulator {
    /// Starts the emulator on `port`, keeping its objects in `dir/state.json`.
    pub fn start(dir: &Path, port: u16) -> Emulator {
        Self::start_with(dir, port, "--state")
    }

    /// Starts the emulator on `port` with the objects of `dir/state.json`,
    /// which it never writes: writes are answered at once.
    pub fn start_loaded(dir: &Path, port: u16) -> Emulator {
        Self::start_with(dir, port, "--load")
    }

    fn start_with(dir: &Path, port: u16, state: &str) -> Emulator {
        let root = emissary_tests::repo_root();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: `.ci/run` creates the venv (pip install -r tests/k8s/requirements.txt)",
            python.display()
        );
        let kubeconfig = dir.join("kubeconfig");
        let mut cmd = std::process::Command::new(python);
        cmd.arg(root.join("tests/k8s/emulator.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(state)
            .arg(dir.join("state.json"))
            .arg("--kubeconfig")
            .arg(&kubeconfig);
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let proc = Proc::spawn("emulator", cmd, dir.join(format!("emulator-{n}.log")));
        wait_for("the API emulator", Duration::from_secs(60), || {
            std::fs::read_to_string(&proc.log)
                .ok()
                .filter(|l| l.contains("listening on"))
                .filter(|_| get(port, "/version").is_ok())
        });
        Emulator {
            proc,
            port,
            kubeconfig,
        }
    }

    pub fn path(kind: &str, ns: &str, name: Option<&str>) -> String {
        let (prefix, plural) = match kind {
            "Service" => ("/api/v1".to_string(), "services"),
            "EndpointSlice" => ("/apis/discovery.k8s.io/v1".into(), "endpointslices"),
            k => (
                "/apis/getambassador.io/v3alpha1".into(),
                match k {
                    "Mapping" => "mappings",
                    "Host" => "hosts",
                    "Listener" => "listeners",
                    other => panic!("no path for {other}"),
                },
            ),
        };
        match name {
            Some(n) => format!("{prefix}/namespaces/{ns}/{plural}/{n}"),
            None => format!("{prefix}/namespaces/{ns}/{plural}"),
        }
    }

    /// Creates `obj` (a JSON object with kind and metadata).
    pub fn create(&self, obj: &Value) {
        let kind = obj["kind"].as_str().unwrap();
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
        let r = send(
            self.port,
            "POST",
            &Self::path(kind, ns, None),
            "application/json",
            &obj.to_string(),
        )
        .unwrap();
        assert!(r.status == 201 || r.status == 200, "create: {r:?}");
    }

    /// The object, `None` when it does not exist.
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let r = get(self.port, &Self::path(kind, ns, Some(name))).unwrap();
        (r.status == 200).then(|| serde_json::from_str(&r.body).unwrap())
    }

    /// Replaces the object's spec.
    pub fn replace_spec(&self, kind: &str, ns: &str, name: &str, spec: Value) {
        let mut o = self.get(kind, ns, name).expect("the object exists");
        o["spec"] = spec;
        self.replace(&o);
    }

    /// Replaces the object (a JSON object with kind and metadata).
    pub fn replace(&self, o: &Value) {
        let kind = o["kind"].as_str().unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = o["metadata"]["name"].as_str().unwrap();
        let r = send(
            self.port,
            "PUT",
            &Self::path(kind, ns, Some(name)),
            "application/json",
            &o.to_string(),
        )
        .unwrap();
        assert_eq!(r.status, 200, "replace: {r:?}");
    }

    pub fn delete(&self, kind: &str, ns: &str, name: &str) {
        let r = send(
            self.port,
            "DELETE",
            &Self::path(kind, ns, Some(name)),
            "application/json",
            "",
        )
        .unwrap();
        assert_eq!(r.status, 200, "delete: {r:?}");
    }
}

/// The benches' workload: N Mappings on `127.0.0.1:backend`, each with its
/// own cluster (a `cluster_tag` per Mapping), as N Services would give; the
/// changed one, if any, gets a new prefix and a new cluster tag.
pub fn mappings(n: usize, backend: u16, changed: Option<(usize, &str)>) -> String {
    let mut s = String::with_capacity(n * 220);
    for k in 0..n {
        let (prefix, tag) = match changed {
            Some((c, p)) if c == k => (p.to_string(), format!("c{}", p.trim_matches('/'))),
            _ => (format!("/svc-{k}/"), format!("t{k}")),
        };
        s.push_str(&format!(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
             metadata: {{name: m-{k}, namespace: default}}\n\
             spec: {{hostname: \"*\", prefix: {prefix}, service: \"127.0.0.1:{backend}\", cluster_tag: {tag}}}\n"
        ));
    }
    s
}

/// The ADS streams still connected, as `/debug/diagnostics` shows them.
pub fn connected_streams(plane: &Plane) -> Vec<Value> {
    let mut d = plane.admin_json("/debug/diagnostics");
    match d["ads"]["nodes"].take() {
        Value::Array(nodes) => nodes
            .into_iter()
            .filter(|n| n["connected"] == true)
            .collect(),
        _ => Vec::new(),
    }
}

/// Per connected stream: the RouteConfiguration version it has ACKed, or
/// `None` while a response is pending.
pub fn route_versions(plane: &Plane) -> Vec<Option<String>> {
    const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    connected_streams(plane)
        .iter()
        .map(|n| {
            let t = &n["types"][ROUTE];
            t["pending_nonce"]
                .is_null()
                .then(|| t["acked_version"].as_str().map(str::to_string))
                .flatten()
        })
        .collect()
}
