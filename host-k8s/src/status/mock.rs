//! A scripted Kubernetes API server for unit tests, in kube-rs's
//! `tower-test` style: a [`kube::Client`] whose requests come out of a
//! [`MockApi`], which answers each with the next [`Expect`] of its script
//! after checking its method, path and (optionally) body.

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
}

/// The server side of a mock client: a script of [`Expect`]s, answered in
/// order.
pub(crate) struct MockApi {
    handle: Handle<Request<Body>, Response<Body>>,
    script: VecDeque<Expect>,
}

impl MockApi {
    /// A client (default namespace `default`) and the server answering it.
    pub(crate) fn new() -> (kube::Client, MockApi) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let api = MockApi {
            handle,
            script: VecDeque::new(),
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
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        Pending {
            method: parts.method,
            path,
            body,
            respond,
        }
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
