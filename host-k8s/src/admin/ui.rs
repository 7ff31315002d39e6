//! The web playground in live mode: `/ui/` on the admin port serves the
//! built page (`web-playground/dist/`) and `/ui/state.json`, the
//! configuration being served and the IR it was encoded from (so that the
//! route table names each route's Mapping), the latest translation with its diagnostics
//! and what each Envoy ACKed or NACKed, which the page polls and shows
//! read-only.
//!
//! The page is served from a directory, not embedded in the binary: building
//! it needs npm and the wasm package, which `cargo build` must not require,
//! and a directory lets the page be rebuilt without rebuilding the daemon.
//! The directory is `--ui-dir` (`EMISSARY_UI_DIR`), else
//! `web-playground/dist/` in the working directory or one above it. Without
//! one, `/ui/` answers 404 with a page that says how to build it;
//! `/ui/state.json` answers either way.

use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::hash::{Hash, Hasher};
use std::path::{Component, PathBuf};

use super::State;

/// Where the page is found when no directory is given: `web-playground/dist`
/// (with an `index.html`) in the working directory or one of its parents.
pub fn find_dir() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join("web-playground").join("dist"))
        .find(|d| d.join("index.html").is_file())
}

/// `/ui` → `/ui/`, so that the page's relative asset paths resolve.
pub async fn redirect() -> Redirect {
    Redirect::permanent("/ui/")
}

/// `/ui/`: the page.
pub async fn index(AxumState(s): AxumState<State>) -> Response {
    file(&s, "index.html").await
}

/// `/ui/{*path}`: the page's assets.
pub async fn asset(AxumState(s): AxumState<State>, Path(path): Path<String>) -> Response {
    file(&s, &path).await
}

/// `/ui/state.json`: what the live page shows, with a `stamp` that changes
/// when any of it does. `?stamp=<the last one>` answers
/// `{"live": true, "unchanged": true, "stamp": …}` while nothing changed,
/// so that polling does not render a large configuration every time.
pub async fn state(AxumState(s): AxumState<State>, uri: Uri) -> Response {
    let report = s.report.lock().expect("report lock").clone();
    let ads = s.ads.to_json();
    let stamp = {
        let mut h = std::hash::DefaultHasher::new();
        report.serving_version.hash(&mut h);
        if let Some(last) = &report.last {
            (last.outcome, last.unix_ms, last.committed_unix_ms).hash(&mut h);
        }
        ads.to_string().hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let seen = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .any(|kv| kv.strip_prefix("stamp=") == Some(stamp.as_str()));
    let body = if seen {
        serde_json::json!({"live": true, "unchanged": true, "stamp": stamp})
    } else {
        let (config, ir) = match s.snapshots.borrow().as_ref() {
            Some(snap) => (
                Some(snap.to_json()),
                snap.ir().and_then(|ir| serde_json::to_value(&**ir).ok()),
            ),
            None => (None, None),
        };
        serde_json::json!({
            "live": true,
            "stamp": stamp,
            "version": env!("CARGO_PKG_VERSION"),
            "serving_version": report.serving_version,
            "last": report.last,
            "ads": ads,
            "config": config,
            "ir": ir,
        })
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Emissary: no UI</title>\
<h1>The web page is not available</h1>\
<p>This emissary was started without the built web playground. Build it with \
<code>bash host-wasm/build.sh &amp;&amp; (cd web-playground &amp;&amp; npm ci &amp;&amp; npm run build)</code> \
and start <code>emissary serve</code> with <code>--ui-dir web-playground/dist</code> \
(or <code>EMISSARY_UI_DIR</code>), or from the repository's directory.</p>\
<p>The same information is at <a href=\"/debug/config\">/debug/config</a>, \
<a href=\"/debug/diagnostics\">/debug/diagnostics</a> and \
<a href=\"/ui/state.json\">/ui/state.json</a>.</p>\n";

async fn file(s: &State, path: &str) -> Response {
    let Some(dir) = &s.ui_dir else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    };
    // Plain relative paths only: no `..`, no root, no drive.
    let rel = std::path::Path::new(path);
    if path.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    match tokio::fs::read(dir.join(rel)).await {
        Ok(body) => {
            // Vite names assets by content hash; index.html must be re-read.
            let cache = if path.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, content_type(path)),
                    (header::CACHE_CONTROL, cache),
                ],
                body,
            )
                .into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::Metrics;
    use crate::ads::AdsStats;
    use std::sync::{Arc, Mutex};

    fn state(ui_dir: Option<PathBuf>) -> State {
        let snapshots = tokio::sync::watch::channel(None).1;
        let ads = Arc::new(AdsStats::new());
        State {
            metrics: Arc::new(Metrics::new(
                snapshots.clone(),
                ads.clone(),
                Arc::new(crate::envoy::Status::default()),
            )),
            snapshots,
            ads,
            report: Arc::new(Mutex::new(Default::default())),
            ui_dir,
        }
    }

    async fn get(s: &State, path: &str) -> (StatusCode, String) {
        let r = file(s, path).await;
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_the_directory_and_nothing_outside_it() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        std::fs::write(dist.join("index.html"), "<h1>page</h1>").unwrap();
        std::fs::write(dist.join("assets/a.js"), "js").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        let s = state(Some(dist));
        assert_eq!(
            get(&s, "index.html").await,
            (StatusCode::OK, "<h1>page</h1>".into())
        );
        assert_eq!(get(&s, "assets/a.js").await, (StatusCode::OK, "js".into()));
        for bad in [
            "../secret",
            "assets/../../secret",
            "/etc/passwd",
            "",
            "missing.js",
        ] {
            assert_eq!(get(&s, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
        }
    }

    #[tokio::test]
    async fn without_a_directory_the_page_says_how_to_build_it() {
        let (status, body) = get(&state(None), "index.html").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("--ui-dir web-playground/dist"), "{body}");
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("assets/x-1.wasm"), "application/wasm");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/a.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
