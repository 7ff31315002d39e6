//! `deploy/` against the daemon it installs: the RBAC grants exactly what
//! the Kubernetes source watches and the status writer patches (complete and
//! least privilege), and the Deployment's arguments, environment, ports and
//! probes are ones the binary understands.

use clap::CommandFactory;
use emissary_k8s::cli::Cli;
use emissary_k8s::source::kubernetes::KINDS;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The documents of a YAML file of deploy/, as JSON.
fn docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let (docs, diags) =
        emissary_core::source::parse(0, &text, &emissary_core::source::Limits::default());
    assert!(diags.is_empty(), "{path}: {diags:?}");
    docs.iter().map(|d| d.root.to_json()).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// Every (group, resource, verb) a role's rules grant.
fn grants(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let strs = |k: &str| -> Vec<String> {
            rule[k]
                .as_array()
                .unwrap_or_else(|| panic!("rule without {k}: {rule}"))
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        for g in strs("apiGroups") {
            for r in strs("resources") {
                for v in strs("verbs") {
                    out.insert((g.clone(), r.clone(), v));
                }
            }
        }
    }
    out
}

/// What the daemon needs: list and watch every watched kind (cluster-scoped
/// ones only when watching the cluster), patch the status it writes.
fn needed(cluster: bool) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for k in KINDS.iter().filter(|k| cluster || k.namespaced) {
        for v in ["list", "watch"] {
            out.insert((k.group.to_string(), k.plural.to_string(), v.to_string()));
        }
        if k.has_status() {
            out.insert((
                k.group.to_string(),
                format!("{}/status", k.plural),
                "patch".to_string(),
            ));
        }
    }
    out
}

#[test]
fn the_cluster_role_grants_exactly_what_the_daemon_uses() {
    let got = grants(find(&docs("deploy/cluster/rbac.yaml"), "ClusterRole"));
    let want = needed(true);
    assert_eq!(
        got.difference(&want).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "granted but not used"
    );
    assert_eq!(
        want.difference(&got).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "used but not granted"
    );
}

#[test]
fn the_namespaced_role_grants_exactly_what_the_daemon_uses() {
    let got = grants(find(&docs("deploy/overlays/namespaced/rbac.yaml"), "Role"));
    assert_eq!(got, needed(false));
}

#[test]
fn the_lease_role_allows_the_election_only() {
    let got = grants(find(&docs("deploy/base/lease-rbac.yaml"), "Role"));
    let want: BTreeSet<_> = ["get", "create", "update"]
        .iter()
        .map(|v| {
            (
                "coordination.k8s.io".to_string(),
                "leases".to_string(),
                v.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_deployment_runs_what_the_binary_understands() {
    let docs = docs("deploy/base/deployment.yaml");
    let container = &find(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];

    // The arguments parse.
    let mut argv = vec!["emissary".to_string()];
    for a in container["args"].as_array().unwrap() {
        argv.push(a.as_str().unwrap().to_string());
    }
    let matches = Cli::command().try_get_matches_from(&argv);
    assert!(matches.is_ok(), "{argv:?}: {:?}", matches.err());

    // Every variable set is one the binary reads: a flag's variable of
    // `serve`, or the pod name the Lease holder is known by.
    let cmd = Cli::command();
    let serve = cmd.find_subcommand("serve").unwrap();
    let known: BTreeSet<String> = serve
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .chain(["POD_NAME".to_string()])
        .collect();
    for e in container["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(
            known.contains(name),
            "{name} is not read by `emissary serve`"
        );
    }

    // Probes on the admin port, at the paths the admin router serves.
    let admin_default = serve
        .get_arguments()
        .find(|a| a.get_long() == Some("admin-port"))
        .unwrap()
        .get_default_values()[0]
        .to_string_lossy()
        .into_owned();
    let ports = container["ports"].as_array().unwrap();
    let port = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no port {name}"))["containerPort"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(port("admin").to_string(), admin_default);
    for (probe, path) in [
        ("livenessProbe", "/ambassador/v0/check_alive"),
        ("readinessProbe", "/ambassador/v0/check_ready"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path);
        assert_eq!(container[probe]["httpGet"]["port"], "admin");
    }

    // Envoy's container ports are the default Listeners' ports.
    let listeners: BTreeSet<u64> = self::docs("deploy/base/listeners.yaml")
        .iter()
        .map(|l| l["spec"]["port"].as_u64().unwrap())
        .collect();
    assert_eq!(
        listeners,
        [port("http"), port("https")].into_iter().collect()
    );
}

#[test]
fn the_probe_paths_are_served_by_the_admin_endpoint() {
    let text = std::fs::read_to_string(root().join("host-k8s/src/admin/mod.rs")).unwrap();
    for path in ["/ambassador/v0/check_alive", "/ambassador/v0/check_ready"] {
        assert!(
            text.contains(&format!(".route(\"{path}\"")),
            "{path} is not routed"
        );
    }
}
