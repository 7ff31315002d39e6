//! `Translator` (which re-parses only the documents that changed) gives
//! exactly what `translate` gives, through a series of edits that move,
//! insert, break and fix documents and files.

use emissary_core::source::{self, Limits, SegmentCache};
use emissary_core::{Inputs, SourceFile, Translation, Translator, translate};

fn mapping(name: &str, prefix: &str) -> String {
    format!(
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
         metadata: {{name: {name}, namespace: default}}\n\
         spec: {{hostname: \"*\", prefix: {prefix}, service: \"{name}:80\"}}\n"
    )
}

const HEAD: &str = "---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: l, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h, namespace: default}
spec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}
";

/// Anchors, a duplicate key (a warning), a comment-only and a null document,
/// an unknown field (a lowering error that is located afterwards).
const ODD: &str = "# leading comment
---
# only a comment
--- ~
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: &md {name: odd, namespace: default}
spec: &sp {hostname: \"*\", prefix: /odd/, service: odd, timeout_ms: 5}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: dup, namespace: default, name: dup2}
spec: {hostname: \"*\", prefix: /dup/, service: dup}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: bad, namespace: default}
spec: {hostname: \"*\", prefix: /bad/, service: bad, weight: lots}
";

/// A Mapping with a lowering error (its regex) and a reading warning (an
/// unknown field), both with spans.
const BADREGEX: &str = "---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: badregex, namespace: default}
spec: {hostname: \"*\", prefix: \"/x/([\", prefix_regex: true, service: x, frobnicate: 1}
";

fn file(name: &str, text: String) -> SourceFile {
    SourceFile {
        name: name.into(),
        text,
    }
}

fn inputs(files: Vec<SourceFile>) -> Inputs {
    Inputs {
        files,
        options: Default::default(),
    }
}

/// Translates with `t` and from nothing, checks that both agree, and returns
/// `t`'s translation.
fn check(t: &mut Translator, inputs: &Inputs, what: &str) -> Translation {
    let cached = t.translate(inputs);
    same(&cached, &translate(inputs), what);
    cached
}

fn same(a: &Translation, b: &Translation, what: &str) {
    assert_eq!(
        serde_json::to_string(&a.ir).unwrap(),
        serde_json::to_string(&b.ir).unwrap(),
        "IR differs after {what}"
    );
    assert_eq!(
        a.diagnostics, b.diagnostics,
        "diagnostics differ after {what}"
    );
    assert_eq!(
        a.render_diagnostics(),
        b.render_diagnostics(),
        "rendered diagnostics differ after {what}"
    );
}

#[test]
fn remembering_documents_changes_nothing_but_the_work() {
    let maps = |changed: Option<(usize, &str)>| -> String {
        let mut s = HEAD.to_string();
        for k in 0..40 {
            let prefix = match changed {
                Some((c, p)) if c == k => p.to_string(),
                _ => format!("/m-{k}/"),
            };
            s.push_str(&mapping(&format!("m{k}"), &prefix));
        }
        s
    };
    let generations: Vec<(&str, Vec<SourceFile>)> = vec![
        (
            "the first input",
            vec![file("a.yaml", maps(None)), file("b.yaml", ODD.into())],
        ),
        (
            "a longer prefix in the middle",
            vec![
                file("a.yaml", maps(Some((20, "/a-much-longer-prefix/")))),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "a document inserted first",
            vec![
                file(
                    "a.yaml",
                    mapping("first", "/first/") + &maps(Some((20, "/a-much-longer-prefix/"))),
                ),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "a file added before the others",
            vec![
                file("0.yaml", mapping("zero", "/zero/")),
                file("a.yaml", maps(None)),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "a syntax error",
            vec![
                file("0.yaml", mapping("zero", "/zero/")),
                file("a.yaml", maps(Some((3, "[/broken/")))),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "the error fixed",
            vec![
                file("0.yaml", mapping("zero", "/zero/")),
                file("a.yaml", maps(Some((3, "/fixed/")))),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "a document moved to another file, and one twice",
            vec![
                file("0.yaml", mapping("m5", "/m-5/") + &mapping("m5", "/m-5/")),
                file("a.yaml", maps(Some((3, "/fixed/")))),
                file("b.yaml", ODD.into()),
            ],
        ),
        (
            "files swapped",
            vec![
                file("a.yaml", ODD.into()),
                file("b.yaml", maps(Some((3, "/fixed/")))),
            ],
        ),
    ];
    let mut t = Translator::default();
    let mut reused = Vec::new();
    for (what, files) in generations {
        check(&mut t, &inputs(files), what);
        reused.push(t.reused_segments());
    }
    // The cache did the work: after the first input, nearly every document
    // came from it.
    assert_eq!(reused[0], 0);
    assert!(reused[1..].iter().all(|&r| r >= 40), "reused: {reused:?}");
}

#[test]
fn limits_are_reported_where_a_cold_parse_reports_them() {
    let text: String = (0..30).map(|k| mapping(&format!("m{k}"), "/p/")).collect();
    let cold = |l: &Limits| source::parse(0, &text, l);
    let mut cache = SegmentCache::default();
    // Prime the cache without limits that bite.
    cache.rotate();
    let _ = source::parse_with(0, &text, &Limits::default(), Some(&mut cache));
    for limits in [
        Limits {
            max_documents: 12,
            ..Limits::default()
        },
        Limits {
            max_nodes: 200,
            ..Limits::default()
        },
    ] {
        cache.rotate();
        let warm = source::parse_with(0, &text, &limits, Some(&mut cache));
        let cold = cold(&limits);
        assert!(!cold.1.is_empty(), "the limit bites: {limits:?}");
        assert_eq!(warm, cold, "{limits:?}");
        assert!(cache.reused() > 0);
    }
}

#[test]
fn an_ads_cluster_depends_on_its_ir_alone() {
    use emissary_core::ir::Ir;
    use emissary_core::xds::{self, Mode};
    let text = format!(
        "{HEAD}{}{}---
apiVersion: getambassador.io/v3alpha1
kind: KubernetesEndpointResolver
metadata: {{name: endpoint, namespace: default}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: eds, namespace: default}}
spec: {{hostname: \"*\", prefix: /eds/, service: eds-svc, resolver: endpoint}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: eds-svc, namespace: default}}
subsets: [{{addresses: [{{ip: 10.0.0.1}}], ports: [{{port: 8080}}]}}]
",
        mapping("a", "/a/"),
        mapping("b", "/b/"),
    );
    let t = translate(&inputs(vec![file("a.yaml", text)]));
    assert!(
        t.ir.clusters.values().any(|c| c.eds.is_some()),
        "an EDS cluster"
    );
    assert!(!t.ir.endpoints.is_empty(), "with endpoints");
    let alone = Ir::default();
    for c in t.ir.clusters.values() {
        assert_eq!(
            xds::cluster(&t.ir, c, Mode::Ads),
            xds::cluster(&alone, c, Mode::Ads),
            "{}",
            c.name
        );
    }
}

/// Every golden input, through one `Translator` that lives across all of
/// them: each alone, with one Mapping edited, next to the one before it (so
/// its documents come back shifted, in another file), with a document of it
/// moved to the front, and read for another `ambassador_id`. Kinds that read across documents (Services, Ingresses,
/// IngressClasses), Secrets, broken objects and lowering errors all pass.
#[test]
#[allow(clippy::disallowed_methods)] // the test reads the golden inputs; core itself does no IO
fn the_golden_inputs_translate_the_same_through_one_translator() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut cases = Vec::new();
    for group in std::fs::read_dir(&root).unwrap() {
        for case in std::fs::read_dir(group.unwrap().path()).unwrap() {
            let input = case.unwrap().path().join("input.yaml");
            if let Ok(text) = std::fs::read_to_string(&input) {
                cases.push((input.display().to_string(), text));
            }
        }
    }
    cases.sort();
    assert!(cases.len() > 100, "golden inputs: {}", cases.len());
    let mut t = Translator::default();
    let mut reused_objects = 0;
    let mut reused_groups = 0;
    // Groups applied again in inputs with Ingresses or Services with named
    // ports: what those add to the whole input is remembered too.
    let mut reused_groups_with_kube = 0;
    let mut prev = String::new();
    for (name, text) in &cases {
        // The last document first: every other one moves.
        let moved = match text.rfind("\n---") {
            Some(i) => format!("{}\n{}", &text[i + 1..], &text[..i + 1]),
            None => text.clone(),
        };
        // One Mapping edited: the other documents are reused.
        let edited = text.replacen("prefix: /", "prefix: /edited-", 1);
        // The last Mapping edited too, on top of the first edit.
        let edited_twice = match edited.rfind("prefix: /") {
            Some(i) => format!("{}prefix: /twice-{}", &edited[..i], &edited[i + 9..]),
            None => edited.clone(),
        };
        let generations = [
            vec![file("in.yaml", text.clone())],
            vec![file("in.yaml", edited.clone())],
            vec![file("in.yaml", edited_twice)],
            vec![file("in.yaml", text.clone())],
            vec![
                file("prev.yaml", prev.clone()),
                file("in.yaml", text.clone()),
            ],
            vec![file("in.yaml", moved.clone() + "\n" + &prev)],
            vec![file("in.yaml", text.clone())],
        ];
        let last = generations.len() - 1;
        for (g, files) in generations.into_iter().enumerate() {
            let mut inputs = inputs(files);
            // What is read depends on the options: objects read for another
            // `ambassador_id` must not be taken.
            if g == last {
                inputs.options.ambassador_id = "elsewhere".into();
            }
            check(&mut t, &inputs, &format!("{name}, generation {g}"));
            reused_objects += t.reused_objects();
            reused_groups += t.reused_groups();
            if text.contains("kind: Ingress") || text.contains("kind: Service\n") {
                reused_groups_with_kube += t.reused_groups();
            }
        }
        prev = text.clone();
    }
    assert!(reused_objects > 1000, "objects reused: {reused_objects}");
    assert!(reused_groups > 100, "groups lowered again: {reused_groups}");
    assert!(
        reused_groups_with_kube > 0,
        "groups applied again next to Ingresses and Services: {reused_groups_with_kube}"
    );
}

#[test]
fn diagnostics_of_reused_documents_point_where_they_are_now() {
    let text = |prefix: &str| format!("{HEAD}{}{BADREGEX}", mapping("m", prefix));
    let mut t = Translator::default();
    let mut spans = Vec::new();
    for prefix in ["/a/", "/a-much-longer-prefix/", "/a/"] {
        let cached = check(&mut t, &inputs(vec![file("a.yaml", text(prefix))]), prefix);
        let at: Vec<_> = cached
            .diagnostics
            .iter()
            .filter_map(|d| d.span.map(|s| (d.code, s.start)))
            .collect();
        assert!(
            at.iter().any(|(c, _)| *c == "regex-invalid") && at.len() >= 2,
            "{at:?}"
        );
        spans.push(at);
    }
    assert!(
        t.reused_objects() >= 3,
        "the Host, Listener and badregex are reused"
    );
    // The longer prefix moves every diagnostic by its extra length.
    let shift = "/a-much-longer-prefix/".len() - "/a/".len();
    for ((c0, s0), (c1, s1)) in spans[0].iter().zip(&spans[1]) {
        assert_eq!(c0, c1);
        assert_eq!(*s0 as usize + shift, *s1 as usize, "{c0}");
    }
    assert_eq!(spans[0], spans[2]);
}

#[test]
fn a_document_twice_gets_its_diagnostics_twice_in_their_places() {
    let mut t = Translator::default();
    for text in [
        format!("{HEAD}{BADREGEX}"),
        format!("{HEAD}{BADREGEX}{BADREGEX}"),
        format!("{BADREGEX}{HEAD}{BADREGEX}"),
    ] {
        check(
            &mut t,
            &inputs(vec![file("a.yaml", text)]),
            "a document twice",
        );
    }
    let starts: Vec<_> = t
        .translate(&inputs(vec![file(
            "a.yaml",
            format!("{HEAD}{BADREGEX}{BADREGEX}"),
        )]))
        .diagnostics
        .iter()
        .filter(|d| d.code == "regex-invalid" || d.code == "object-duplicate")
        .filter_map(|d| d.span.map(|s| (d.code, s.start)))
        .collect();
    // The copy is the same object defined twice: the first is used (and
    // its regex reported), the second reported as the duplicate, in its
    // own place.
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0].0, "regex-invalid", "{starts:?}");
    assert_eq!(starts[1].0, "object-duplicate", "{starts:?}");
    assert!(starts[0].1 < starts[1].1, "{starts:?}");
}

#[test]
fn secrets_of_tls_origination_come_back_with_reused_documents() {
    let tls = "---
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: upstream, namespace: default}
spec: {secret: client-cert}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: api, namespace: default}
spec: {hostname: \"*\", prefix: /api/, service: api, tls: upstream}
";
    let mut t = Translator::default();
    for prefix in ["/a/", "/b/", "/c/"] {
        let mut inputs = inputs(vec![file(
            "a.yaml",
            format!("{HEAD}{tls}{}", mapping("m", prefix)),
        )]);
        inputs.options.placeholder_secrets = true;
        let cached = check(&mut t, &inputs, prefix);
        assert!(
            !cached.ir.secrets.is_empty(),
            "the client certificate is a secret"
        );
    }
    assert!(t.reused_objects() > 0);
    assert!(t.reused_groups() > 0, "the `api` group is applied again");
}

/// A changed Host changes which Mappings it takes: the groups are lowered
/// again, not applied as they were.
#[test]
fn a_changed_host_lowers_the_groups_again() {
    let text = |host: &str| {
        format!(
            "---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: l, namespace: default}}
spec: {{port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {{name: h, namespace: default}}
spec: {{hostname: \"{host}\", requestPolicy: {{insecure: {{action: Route}}}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: m, namespace: default}}
spec: {{hostname: a.example.com, prefix: /m/, service: m}}
"
        )
    };
    let mut t = Translator::default();
    let mut warned = Vec::new();
    for host in [
        "a.example.com",
        "a.example.com",
        "b.example.com",
        "a.example.com",
    ] {
        let cached = check(&mut t, &inputs(vec![file("a.yaml", text(host))]), host);
        warned.push(
            cached
                .diagnostics
                .iter()
                .any(|d| d.code == "mapping-no-host"),
        );
    }
    // The Mapping serves a.example.com only.
    assert_eq!(warned, [false, false, true, false]);
}

/// A Service with a named port and an Ingress that uses it by name: an edit
/// to an unrelated Mapping applies the other groups again; edits to the
/// Ingress or to the Service's port give what `translate` gives.
#[test]
fn ingresses_and_named_ports_keep_the_groups() {
    let text = |port: u16, path: &str, prefix: &str| {
        format!(
            "{HEAD}---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec: {{ports: [{{name: http, port: {port}, targetPort: 8080}}]}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  annotations: {{kubernetes.io/ingress.class: ambassador}}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: {path}
        pathType: Prefix
        backend:
          service: {{name: web, port: {{name: http}}}}
{}{}{}",
            mapping("a", "/a/"),
            mapping("b", prefix),
            mapping("c", "/c/"),
        )
    };
    let mut t = Translator::default();
    let first = check(
        &mut t,
        &inputs(vec![file("a.yaml", text(80, "/web", "/b/"))]),
        "first",
    );
    assert!(
        first.ir.clusters.keys().any(|c| c.contains("web")),
        "the Ingress routes to the Service: {:?}",
        first.ir.clusters.keys().collect::<Vec<_>>()
    );
    check(
        &mut t,
        &inputs(vec![file("a.yaml", text(80, "/web", "/b2/"))]),
        "a Mapping edited",
    );
    assert!(t.reused_groups() > 0, "the other groups are applied again");
    assert!(t.reused_objects() > 0);
    check(
        &mut t,
        &inputs(vec![file("a.yaml", text(80, "/web2", "/b2/"))]),
        "the Ingress edited",
    );
    check(
        &mut t,
        &inputs(vec![file("a.yaml", text(81, "/web2", "/b2/"))]),
        "the Service's port",
    );
    check(
        &mut t,
        &inputs(vec![file("a.yaml", text(81, "/web2", "/b3/"))]),
        "a Mapping again",
    );
    assert!(t.reused_groups() > 0, "the other groups are applied again");
}

/// A Mapping to `svc` by the Kubernetes endpoint resolver.
fn eds_mapping(name: &str, prefix: &str, svc: &str) -> String {
    format!(
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
         metadata: {{name: {name}, namespace: default}}\n\
         spec: {{hostname: \"*\", prefix: {prefix}, service: \"{svc}:80\", resolver: endpoint}}\n"
    )
}

/// An EndpointSlice of `svc` with these addresses on the port named `http`.
fn slice(name: &str, svc: &str, addresses: &[&str]) -> String {
    let endpoints: Vec<String> = addresses
        .iter()
        .map(|a| format!("{{addresses: [{a}]}}"))
        .collect();
    format!(
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {name}, namespace: default, labels: {{kubernetes.io/service-name: {svc}}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{}]\n",
        endpoints.join(", ")
    )
}

/// Edits to EndpointSlices alone keep the lowering and resolve only the
/// endpoints again; each generation equals `translate`, the missing-endpoints
/// warnings come and go as it reports them, and the encoded resources equal
/// those encoded from nothing.
#[test]
fn endpoint_slice_edits_resolve_only_the_endpoints() {
    use emissary_core::xds::{Encoded, Encoder, Serial};
    let services = "---
apiVersion: getambassador.io/v3alpha1
kind: KubernetesEndpointResolver
metadata: {name: endpoint, namespace: default}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec: {ports: [{name: web, port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec: {ports: [{name: web, port: 80, targetPort: http}]}
";
    let routes = |prefix: &str| {
        format!(
            "{HEAD}{services}{}{}{}",
            eds_mapping("a", prefix, "a"),
            eds_mapping("b", "/b/", "b"),
            mapping("c", "/c/"),
        )
    };
    let broken = "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                  metadata: {name: a-broken, namespace: default}\nendpoints: lots\n";
    // (what, routes' prefix, slices, whether only endpoints changed)
    let generations: Vec<(&str, &str, Vec<String>, bool)> = vec![
        (
            "the first input",
            "/a/",
            vec![slice("a-1", "a", &["10.0.0.1"])],
            false,
        ),
        (
            "an address added",
            "/a/",
            vec![slice("a-1", "a", &["10.0.0.1", "10.0.0.2"])],
            true,
        ),
        (
            "an address removed",
            "/a/",
            vec![slice("a-1", "a", &["10.0.0.2"])],
            true,
        ),
        ("the slice deleted", "/a/", vec![], true),
        (
            "the slice back",
            "/a/",
            vec![slice("a-1", "a", &["10.0.0.3"])],
            true,
        ),
        (
            "a slice for a Service no Mapping uses",
            "/a/",
            vec![
                slice("a-1", "a", &["10.0.0.3"]),
                slice("z-1", "z", &["10.9.0.1"]),
            ],
            true,
        ),
        (
            "a slice for b, and a second one for a",
            "/a/",
            vec![
                slice("a-1", "a", &["10.0.0.3"]),
                slice("b-1", "b", &["10.1.0.1"]),
                slice("a-2", "a", &["10.0.0.9", "10.0.0.3"]),
            ],
            true,
        ),
        (
            "a broken slice",
            "/a/",
            vec![slice("a-1", "a", &["10.0.0.3"]), broken.to_string()],
            true,
        ),
        (
            "a Mapping edited",
            "/a2/",
            vec![slice("a-1", "a", &["10.0.0.3"])],
            false,
        ),
        (
            "an address again",
            "/a2/",
            vec![slice("a-1", "a", &["10.0.0.4"])],
            true,
        ),
        (
            "nothing changed",
            "/a2/",
            vec![slice("a-1", "a", &["10.0.0.4"])],
            true,
        ),
    ];
    let mut t = Translator::default();
    let mut encoder = Encoder::default();
    let mut warned = Vec::new();
    let mut addresses = Vec::new();
    for (what, prefix, slices, endpoints_only) in generations {
        let files = vec![
            file("routes.yaml", routes(prefix)),
            file("slices.yaml", slices.concat()),
        ];
        let inputs = inputs(files);
        let cached = check(&mut t, &inputs, what);
        assert_eq!(t.endpoints_only(), endpoints_only, "{what}");
        let fresh = translate(&inputs);
        assert!(
            *encoder.encode(cached.ir.clone(), &Serial) == Encoded::new(&fresh.ir, &Serial),
            "encoded resources differ after {what}"
        );
        warned.push(
            cached
                .diagnostics
                .iter()
                .filter(|d| d.code == "endpoints-not-found")
                .count(),
        );
        addresses.push(cached.ir.endpoints.get("k8s/default/a/80").map(Vec::len));
    }
    assert_eq!(warned, [1, 1, 1, 2, 1, 1, 0, 1, 1, 1, 1]);
    let a = [1, 2, 1, 0, 1, 1, 2, 1, 1, 1, 1].map(Some);
    assert_eq!(addresses, a);
}
