//! The fuzz targets of core, one function per target, shared by the AFL++
//! binaries (`src/bin/`, built by `cargo afl build --features afl`) and by
//! the replay test (`tests/replay.rs`), which runs them over the committed
//! corpus and every input that once crashed or hung.
//!
//! A target takes any bytes and must return: a panic (including a failed
//! check below, an arithmetic overflow under the fuzz build's overflow
//! checks, or a stack overflow) is a crash, a slow input a hang. Each target
//! reaches one stage deeper than the one before:
//!
//! - [`yaml`]: the whole input is the text of one file for `source::parse`.
//! - [`model`]: a flags byte ([`options`]), then the text: parse, `model::load`,
//!   and `migrate` (which rewrites what the model reads).
//! - [`lower`]: as `model`, then `lower::lower` and the IR → Envoy stage
//!   (`xds::build` in both modes, the Bootstrap, their JSON).
//! - [`translate`]: a flags byte, then one or more files separated by NUL
//!   bytes: the public API end to end (`translate`, rendered diagnostics,
//!   editor positions, statuses, the JSON texts hosts get, `explain`), and
//!   with flag bit 4 a `Translator` that saw the inputs without their last
//!   file first must give what `translate` gives.
//!
//! Non-UTF-8 bytes are replaced (`from_utf8_lossy`) rather than rejected, so
//! no input is wasted on the text decoding that every host does anyway.

use emissary_core::diag::{self, Diagnostic, PositionEncoding, SourceMap};
use emissary_core::{Inputs, Options, SourceFile, source, xds};

/// The [`Options`] a flags byte selects: bit 0 `single_namespace`, bit 1
/// `placeholder_secrets`, bit 2 `ambassador_id: blue`, bit 3
/// `ambassador_namespace: emissary` (the values the golden corpus uses).
pub fn options(flags: u8) -> Options {
    let d = Options::default();
    Options {
        single_namespace: flags & 1 != 0,
        placeholder_secrets: flags & 2 != 0,
        ambassador_id: if flags & 4 != 0 {
            "blue".into()
        } else {
            d.ambassador_id
        },
        ambassador_namespace: if flags & 8 != 0 {
            "emissary".into()
        } else {
            d.ambassador_namespace
        },
    }
}

/// The flags byte of `options` (the inverse of [`options`] on the values it
/// can select), for building seeds.
pub fn flags(o: &Options) -> u8 {
    u8::from(o.single_namespace)
        | u8::from(o.placeholder_secrets) << 1
        | u8::from(o.ambassador_id == "blue") << 2
        | u8::from(o.ambassador_namespace == "emissary") << 3
}

/// Splits a flags byte off the input.
fn split_flags(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    }
}

/// Every diagnostic placed and rendered: a span outside its text, or not on
/// a character boundary, panics here instead of in a host.
fn check_diagnostics(diags: &[Diagnostic], sources: &SourceMap) {
    for d in diags {
        if let Some(s) = d.span {
            assert!(s.start <= s.end, "span {s:?} ends before it starts: {d:?}");
            let text = sources.text(s.file);
            assert!(
                s.end as usize <= text.len(),
                "span {s:?} past the end of its text ({} bytes): {d:?}",
                text.len()
            );
            for enc in [
                PositionEncoding::Utf8Bytes,
                PositionEncoding::Utf8Chars,
                PositionEncoding::Utf16,
            ] {
                let _ = sources.position(s, enc);
            }
        }
    }
    let _ = diag::render(diags, sources);
    let _ = diag::render_short(diags, sources);
}

/// The YAML reader: one file, all of the input.
pub fn yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let limits = source::Limits::default();
    let (docs, diags) = source::parse(0, &text, &limits);
    let sources = SourceMap::new(vec![("fuzz.yaml".into(), text.to_string())]);
    check_diagnostics(&diags, &sources);
    // A parse that takes its segments from a cache the same text filled
    // gives the same documents.
    let mut cache = source::SegmentCache::default();
    let _ = source::parse_with(0, &text, &limits, Some(&mut cache));
    let (again, again_diags) = source::parse_with(0, &text, &limits, Some(&mut cache));
    assert_eq!(docs, again, "a cached parse differs");
    assert_eq!(diags, again_diags, "a cached parse reports differently");
}

/// Parses `text` as file 0 and reads its objects.
fn load(text: &str, opts: &Options) -> (emissary_core::model::Objects, Vec<Diagnostic>) {
    let (docs, mut diags) = source::parse(0, text, &source::Limits::default());
    let docs: Vec<(u32, source::Document)> = docs.into_iter().map(|d| (0, d)).collect();
    let objs = emissary_core::model::load(&docs, opts, &mut diags);
    (objs, diags)
}

/// The model: parse, read every object, and migrate the text.
pub fn model(data: &[u8]) {
    let (flags, rest) = split_flags(data);
    let text = String::from_utf8_lossy(rest);
    let (_, diags) = load(&text, &options(flags));
    let sources = SourceMap::new(vec![("fuzz.yaml".into(), text.to_string())]);
    check_diagnostics(&diags, &sources);
    let m = emissary_core::migrate(&[SourceFile {
        name: "fuzz.yaml".into(),
        text: text.to_string(),
    }]);
    check_diagnostics(&m.diagnostics, &m.sources);
}

/// Lowering and the Envoy messages: parse, read, lower, build.
pub fn lower(data: &[u8]) {
    let (flags, rest) = split_flags(data);
    let text = String::from_utf8_lossy(rest);
    let opts = options(flags);
    let (objs, mut diags) = load(&text, &opts);
    let ir = emissary_core::lower::lower(&objs, &opts, &mut diags);
    let ads = xds::build(&ir, xds::Mode::Ads);
    let stat = xds::build(&ir, xds::Mode::Static);
    let boot = xds::bootstrap(&ir, stat);
    emissary_core::pb::json::to_string(&ads).expect("the ADS resources render as JSON");
    emissary_core::pb::json::to_string(&boot).expect("the Bootstrap renders as JSON");
    serde_json::to_string(&ir).expect("the IR renders as JSON");
}

/// The files of a `translate` input: split at NUL bytes, at most 8.
fn files(rest: &[u8]) -> Vec<SourceFile> {
    let mut out: Vec<SourceFile> = Vec::new();
    for (i, part) in rest.splitn(8, |b| *b == 0).enumerate() {
        out.push(SourceFile {
            name: format!("f{i}.yaml"),
            text: String::from_utf8_lossy(part).into_owned(),
        });
    }
    out
}

/// What a host gets from a translation, rendered (so that rendering runs):
/// the ADS resources and the IR as JSON, the rendered diagnostics.
fn rendered(t: &emissary_core::Translation) -> (String, String, String) {
    (
        emissary_core::pb::json::to_string(&t.resources(xds::Mode::Ads))
            .expect("the ADS resources render as JSON"),
        serde_json::to_string(&t.ir).expect("the IR renders as JSON"),
        t.render_diagnostics(),
    )
}

/// The public API end to end.
pub fn translate(data: &[u8]) {
    let (flags, rest) = split_flags(data);
    let inputs = Inputs {
        files: files(rest),
        options: options(flags),
    };
    let t = emissary_core::translate(&inputs);
    check_diagnostics(&t.diagnostics, &t.sources);
    let once = rendered(&t);
    emissary_core::pb::json::to_string(&t.bootstrap()).expect("the Bootstrap renders as JSON");
    let located = t.located_diagnostics();
    assert_eq!(located.len(), t.diagnostics.len());
    let mut objects: Vec<diag::ObjectRef> = t
        .diagnostics
        .iter()
        .filter_map(|d| d.object.clone())
        .collect();
    objects.sort();
    objects.dedup();
    let _ = emissary_core::status::statuses(&t.ir, &t.diagnostics, &t.sources, &objects);
    for (line, headers) in [
        ("GET /", &[][..]),
        ("GET https://example.com/backend/x?y=1", &["x-a: b"][..]),
        (
            "POST http://foo:8080/api",
            &["host: bar", ":authority: baz"][..],
        ),
    ] {
        let req = emissary_core::explain::Request::parse(line, headers);
        let e = emissary_core::explain::explain(&t.ir, &req);
        let _ = emissary_core::explain::render(&e);
    }
    if inputs.files.len() == 1 {
        let host = emissary_core::HostOptions {
            ambassador_id: Some(inputs.options.ambassador_id.clone()),
            ambassador_namespace: Some(inputs.options.ambassador_namespace.clone()),
            single_namespace: Some(inputs.options.single_namespace),
            placeholder_secrets: Some(inputs.options.placeholder_secrets),
            file_name: Some("f0.yaml".into()),
        };
        let text = emissary_core::translate_text(&inputs.files[0].text, &host);
        assert_eq!(text.xds, once.0, "translate_text and translate differ");
        let _ = text.to_json();
    }
    if flags & 16 != 0 {
        // A Translator that translated the inputs without their last file
        // gives, for all of them, exactly what `translate` gives.
        let mut tr = emissary_core::Translator::default();
        let mut fewer = inputs.clone();
        fewer.files.pop();
        let _ = tr.translate(&fewer);
        let again = tr.translate(&inputs);
        assert!(
            once == rendered(&again),
            "a Translator differs from translate"
        );
        assert_eq!(t.diagnostics, again.diagnostics);
        // And again with nothing changed.
        let third = tr.translate(&inputs);
        assert!(
            once == rendered(&third),
            "a Translator's third call differs"
        );
    }
}

/// The AFL++ dictionary (`fuzz/emissary.dict`): every getambassador.io kind,
/// every field name and enumerated value that `model::schema` declares,
/// plus the words of the manifests around them (apiVersions, Kubernetes
/// kinds and fields, YAML syntax). One `"token"` a line, sorted, unique.
pub fn dictionary() -> String {
    use emissary_core::model::schema::{self, Obj, Ty};
    fn walk(ty: &Ty, out: &mut std::collections::BTreeSet<String>) {
        match ty {
            Ty::Str(values) => out.extend(values.iter().map(|v| v.to_string())),
            Ty::List(t) | Ty::Map(t) => walk(t, out),
            Ty::Obj(o) => obj(o, out),
            Ty::Bool | Ty::Int(..) | Ty::Num | Ty::Any => {}
        }
    }
    fn obj(o: &Obj, out: &mut std::collections::BTreeSet<String>) {
        for f in &o.fields {
            out.insert(f.name.to_string());
            walk(&f.ty, out);
        }
    }
    let mut words = std::collections::BTreeSet::new();
    for k in schema::kinds() {
        words.insert(k.kind.to_string());
        obj(&k.spec, &mut words);
    }
    words.extend(
        [
            "getambassador.io/v3alpha1",
            "getambassador.io/v2",
            "getambassador.io/v1",
            "getambassador.io/config",
            "x.getambassador.io/v3alpha1",
            "v1",
            "discovery.k8s.io/v1",
            "networking.k8s.io/v1",
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "namespace",
            "annotations",
            "labels",
            "spec",
            "data",
            "type",
            "kubernetes.io/tls",
            "tls.crt",
            "tls.key",
            "ca.crt",
            "List",
            "items",
            "Secret",
            "Service",
            "Endpoints",
            "EndpointSlice",
            "Ingress",
            "IngressClass",
            "subsets",
            "addresses",
            "endpoints",
            "addressType",
            "ports",
            "port",
            "targetPort",
            "ambassador",
            "default",
            "---\n",
            "\n- ",
            ": ",
            "<<: *",
            "&a ",
            "*a",
            "!!str ",
            "{}",
            "[]",
            "\"",
            "'",
            "|\n",
            ">-\n",
            "~",
            "true",
            "null",
            "0x1F",
            "1e9",
            "-1",
            "9223372036854775807",
            "http://",
            "https://",
            "*.",
            "/",
            "1s",
            "0.5",
        ]
        .map(String::from),
    );
    let mut out = String::from(
        "# Generated from core's schema by fuzz/src/lib.rs `dictionary`\n\
         # (UPDATE_FUZZ_DICT=1 cargo test -p emissary-fuzz --test replay).\n",
    );
    for w in words {
        if w.is_empty() || w.len() > 128 {
            continue;
        }
        let escaped: String = w
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' => format!("\\{}", b as char),
                0x20..=0x7e => (b as char).to_string(),
                _ => format!("\\x{b:02x}"),
            })
            .collect();
        out.push('"');
        out.push_str(&escaped);
        out.push_str("\"\n");
    }
    out
}
