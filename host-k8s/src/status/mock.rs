//! A scripted Kubernetes API server for unit tests, in kube-rs's
//! `tower-test` style: a [`kube::Client`] whose requests come out of a
//! [`MockApi`], which answers each with the next [`Expect`] of its script
//! after checking its method, path and (optionally) body, or hands out
//! the requests one by one ([`MockApi::take`]) to answer as a test sees fit,
//! watches included ([`Pending::answer_stream`]).

use std::collections::VecDeque;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::Value;
use tower_test::mock::{Handle, SendResponse};

type Check = Box<dyn Fn(&Value) -> bool + Send>;
type Reply = Box<dyn Fn(&Value) -> Value + Send>;

/// One expected request and its answer.
pub(crate) struct Expect {
    method: Method,
    path: String,
    checks: Vec<(String, Check)>,
    status: StatusCode,
    reply: Reply,
}

impl Expect {
    /// A request with this method and path (compared with the request's
    /// path and, if `path` has a `?`, its query), answered `200` with `{}`.
    pub(crate) fn new(method: Method, path: &str) -> Self {
        Expect {
            method,
            path: path.to_string(),
            checks: Vec::new(),
            status: StatusCode::OK,
            reply: Box::new(|_| Value::Object(Default::default())),
        }
    }

    /// A `GET` of `path`.
    pub(crate) fn get(path: &str) -> Self {
        Expect::new(Method::GET, path)
    }

    /// A `POST` to `path`.
    pub(crate) fn post(path: &str) -> Self {
        Expect::new(Method::POST, path)
    }

    /// A `PUT` to `path`.
    pub(crate) fn put(path: &str) -> Self {
        Expect::new(Method::PUT, path)
    }

    /// The request's body (JSON, `null` if empty) must satisfy `check`;
    /// `what` names the check in the failure message.
    pub(crate) fn body(
        mut self,
        what: &str,
        check: impl Fn(&Value) -> bool + Send + 'static,
    ) -> Self {
        self.checks.push((what.to_string(), Box::new(check)));
        self
    }

    /// Answers with `status` and `json`.
    pub(crate) fn reply(self, status: u16, json: Value) -> Self {
        self.reply_with(status, move |_| json.clone())
    }

    /// Answers with `status` and what `f` makes of the request's body (an
    /// API server's answer to a write is the object written, with a new
    /// `resourceVersion`).
    pub(crate) fn reply_with(
        mut self,
        status: u16,
        f: impl Fn(&Value) -> Value + Send + 'static,
    ) -> Self {
        self.status = StatusCode::from_u16(status).expect("a valid status code");
        self.reply = Box::new(f);
        self
    }
}

/// A `meta/v1` `Status`, the body of an API server's error answer.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Value {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// A request taken from the client and not answered (yet).
pub(crate) struct Pending {
    /// The request's method.
    pub(crate) method: Method,
    /// The request's path and query.
    pub(crate) path: String,
    /// The request's body as JSON (`null` if empty).
    pub(crate) body: Value,
    /// The request's `content-type` header.
    pub(crate) content_type: Option<String>,
    respond: SendResponse<Response<Body>>,
}

impl Pending {
    /// Answers with `status` and `json`.
    pub(crate) fn answer(self, status: u16, json: &Value) {
        let body = Body::from(serde_json::to_vec(json).expect("JSON"));
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .expect("a response");
        self.respond.send_response(response);
    }

    /// Answers a watch request with `status` and a body of `events`
    /// (`{"type": "ADDED", "object": {...}}`, one per line), after which
    /// the body ends, as when the API server closes a watch.
    pub(crate) fn answer_stream(self, status: u16, events: &[Value]) {
        let mut body = Vec::new();
        for e in events {
            serde_json::to_writer(&mut body, e).expect("JSON");
            body.push(b'\n');
        }
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("a response");
        self.respond.send_response(response);
    }

    /// Drops the request unanswered: the client sees a transport error, as
    /// when the connection is refused.
    pub(crate) fn fail(self) {}

    /// The request's path, without the query.
    pub(crate) fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The request's query (after the `?`; empty if none).
    pub(crate) fn query(&self) -> &str {
        self.path.split_once('?').map_or("", |(_, q)| q)
    }

    /// The decoded value of the query parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.query()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    }

    /// A watch request (`watch=true`).
    pub(crate) fn is_watch(&self) -> bool {
        self.param("watch").as_deref() == Some("true")
    }
}

/// A query value, percent-decoded (`+` is a space).
fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(c) => {
                        out.push(c);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The server side of a mock client: a script of [`Expect`]s, answered in
/// order.
pub(crate) struct MockApi {
    handle: Handle<Request<Body>, Response<Body>>,
    script: VecDeque<Expect>,
    /// Requests received and not taken yet (see [`MockApi::take`]).
    held: Vec<Pending>,
}

impl MockApi {
    /// A client (default namespace `default`) and the server answering it.
    pub(crate) fn new() -> (kube::Client, MockApi) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let api = MockApi {
            handle,
            script: VecDeque::new(),
            held: Vec::new(),
        };
        (client, api)
    }

    /// Adds `e` to the end of the script.
    pub(crate) fn expect(&mut self, e: Expect) -> &mut Self {
        self.script.push_back(e);
        self
    }

    /// The next request, unanswered. Panics if the client is gone.
    pub(crate) async fn receive(&mut self) -> Pending {
        let (request, respond) = self
            .handle
            .next_request()
            .await
            .expect("the client sent another request");
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("the request's body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON request body")
        };
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        Pending {
            method: parts.method,
            path,
            body,
            content_type,
            respond,
        }
    }

    /// The first request, among those held and those to come, with this
    /// method, a path (without the query) starting with `prefix`, and for
    /// which `matches` holds; the others are held, unanswered, for a later
    /// `take`. Requests come from concurrent tasks in any order; this
    /// takes the one a test is waiting for. Panics if none comes within an
    /// hour (of paused time, in tests that pause it).
    pub(crate) async fn take(
        &mut self,
        method: Method,
        prefix: &str,
        matches: impl Fn(&Pending) -> bool,
    ) -> Pending {
        let want =
            |p: &Pending| p.method == method && p.path_only().starts_with(prefix) && matches(p);
        if let Some(i) = self.held.iter().position(&want) {
            return self.held.remove(i);
        }
        let found = tokio::time::timeout(std::time::Duration::from_secs(3600), async {
            loop {
                let p = self.receive().await;
                if want(&p) {
                    return p;
                }
                self.held.push(p);
            }
        })
        .await;
        match found {
            Ok(p) => p,
            Err(_) => panic!(
                "no {method} {prefix}... came; held: {:?}",
                self.held_paths()
            ),
        }
    }

    /// Keeps `p` unanswered (a watch left open), for a later
    /// [`MockApi::take`] or until the mock is dropped.
    pub(crate) fn hold(&mut self, p: Pending) {
        self.held.push(p);
    }

    /// The requests held, unanswered (see [`MockApi::take`]): method and
    /// path with query.
    pub(crate) fn held_paths(&self) -> Vec<String> {
        self.held
            .iter()
            .map(|p| format!("{} {}", p.method, p.path))
            .collect()
    }

    /// Answers the next request with the first [`Expect`] of the script,
    /// after checking it; returns the request's body. Panics if the script
    /// is empty or the request is not the one expected.
    pub(crate) async fn serve_next(&mut self) -> Value {
        let e = self
            .script
            .pop_front()
            .expect("a request left in the script");
        let pending = self.receive().await;
        let path = if e.path.contains('?') {
            pending.path.as_str()
        } else {
            pending.path.split('?').next().unwrap_or_default()
        };
        assert_eq!(
            (&pending.method, path),
            (&e.method, e.path.as_str()),
            "the request (body {})",
            pending.body
        );
        for (what, check) in &e.checks {
            assert!(
                check(&pending.body),
                "{} {}: {what}: {}",
                e.method,
                e.path,
                pending.body
            );
        }
        let body = pending.body.clone();
        pending.answer(e.status.as_u16(), &(e.reply)(&body));
        body
    }

    /// Answers requests until the script is empty.
    pub(crate) async fn serve_all(&mut self) {
        while !self.script.is_empty() {
            self.serve_next().await;
        }
    }

    /// Waits until the client is gone, and panics if it sends another
    /// request first.
    pub(crate) async fn done(mut self) {
        if let Some((request, _)) = self.handle.next_request().await {
            panic!(
                "no request expected, got {} {}",
                request.method(),
                request.uri()
            );
        }
    }
}
