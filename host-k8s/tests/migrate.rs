//! `emissary migrate` as a user runs it: files, directories and stdin in,
//! v3alpha1 YAML out (stdout or `-o`), diagnostics on stderr, exit codes
//! 0/1/2; and the migrated files translate as the originals do.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const V2: &str = "\
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: v1
kind: List
items:
- apiVersion: getambassador.io/v2
  kind: Mapping
  metadata: {name: quote, namespace: default, resourceVersion: '7'}
  spec: {prefix: /q/, service: quote, tls: true, headers: {x-beta: true}}
- apiVersion: getambassador.io/v2
  kind: Host
  metadata: {name: any, namespace: default}
  spec: {hostname: '*', ambassador_id: default, requestPolicy: {insecure: {action: Route}}}
";

fn emissary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_emissary"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("emissary-migrate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("emissary runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("emissary ends")
}

fn xds(path: &Path) -> String {
    let o = run(
        emissary().args(["translate", "--output", "xds"]).arg(path),
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn migrates_a_directory_to_stdout_and_translates_the_same() {
    let dir = tmp("dir");
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("in/all.yaml"), V2).unwrap();
    let o = run(emissary().arg("migrate").arg(dir.join("in")), None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 object(s) converted"), "{stderr}");
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains("getambassador.io/v2"), "{text}");
    assert!(text.contains("service: https://quote"), "{text}");
    assert!(text.contains("hostname: \"*\""), "{text}");
    assert!(!text.contains("resourceVersion"), "{text}");
    std::fs::write(dir.join("out.yaml"), &text).unwrap();
    assert_eq!(xds(&dir.join("in")), xds(&dir.join("out.yaml")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_stdin_and_writes_the_output_file() {
    let dir = tmp("stdin");
    let out = dir.join("migrated.yaml");
    let o = run(emissary().args(["migrate", "-", "-o"]).arg(&out), Some(V2));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n"));
    assert_eq!(text.matches("---\n").count(), 3, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_document_exits_1_and_the_rest_is_written() {
    let text = "apiVersion: getambassador.io/v2\nkind: [\n---\n\
        apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: m}\n\
        spec: {prefix: /, service: s, headers: {x-a: false}}\n";
    let o = run(emissary().args(["migrate", "-"]), Some(text));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("yaml-syntax"), "{stderr}");
    assert!(stderr.contains("unknown-field"), "{stderr}");
    assert!(stderr.contains("<stdin>:7:46"), "{stderr}");
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("kind: Mapping") && !out.contains("x-a"),
        "{out}"
    );
}

#[test]
fn usage_and_io_failures_exit_2() {
    let o = run(emissary().arg("migrate"), None);
    assert_eq!(o.status.code(), Some(2));
    let o = run(
        emissary().args(["migrate", "/nonexistent/emissary-migrate.yaml"]),
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}
