//! The request to explain: [`Request`] (and the CLI's one-line form), its
//! URL split into scheme, authority, path and query, and the headers and
//! normalized path as Envoy's router sees them ([`Seen`]).

use super::Seen;
use crate::ir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request to explain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ExplainRequest"))]
#[serde(rename_all = "camelCase", default)]
pub struct Request {
    /// `GET` when empty.
    pub method: String,
    /// `scheme://authority/path?query`; a bare `/path` means `http` with the
    /// authority from the `Host` header.
    pub url: String,
    pub headers: Vec<Header>,
    /// The listener port the request arrives on (default: the URL's port).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// TLS server name (default: the URL's host for `https`, none for `http`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: "GET".into(),
            url: "/".into(),
            headers: Vec::new(),
            port: None,
            sni: None,
        }
    }
}

/// One request header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Request {
    /// Reads `METHOD URL` or `URL` and `name: value` header lines.
    pub fn parse(line: &str, headers: &[&str]) -> Request {
        let mut words = line.split_whitespace();
        let (method, url) = match (words.next(), words.next()) {
            (Some(m), Some(u)) => (m.to_ascii_uppercase(), u.to_string()),
            (Some(u), None) => ("GET".to_string(), u.to_string()),
            _ => ("GET".to_string(), "/".to_string()),
        };
        let headers = headers
            .iter()
            .map(|h| {
                let (n, v) = h.split_once(':').unwrap_or((h, ""));
                Header {
                    name: n.trim().to_string(),
                    value: v.trim().to_string(),
                }
            })
            .collect();
        Request {
            method,
            url,
            headers,
            port: None,
            sni: None,
        }
    }
}

/// The request's URL, its authority taken from the `Host` header when given.
pub(super) struct Url {
    pub(super) scheme: String,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) authority: String,
    pub(super) path: String,
    pub(super) query: String,
}

pub(super) fn parse_url(req: &Request) -> Result<Url, String> {
    let host_header = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host") || h.name == ":authority")
        .map(|h| h.value.trim().to_string());
    let (scheme, rest) = match req.url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None if req.url.starts_with('/') => ("http".to_string(), req.url.as_str()),
        None => {
            return Err(format!(
                "`{}` is neither an absolute URL (`https://host/path`) nor a path",
                req.url
            ));
        }
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("scheme `{scheme}` is not http or https"));
    }
    let (url_authority, path_query) = match rest.find('/') {
        _ if rest.starts_with('/') => ("", rest),
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let path_query = path_query.split('#').next().unwrap_or_default();
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_query, ""),
    };
    let (url_host, url_port) = split_port(url_authority)?;
    let authority = host_header.unwrap_or_else(|| url_authority.to_string());
    if authority.is_empty() {
        return Err("the request has no authority: give an absolute URL or a `Host` header".into());
    }
    let host = if url_host.is_empty() {
        split_port(&authority)?.0
    } else {
        url_host
    };
    Ok(Url {
        scheme,
        host,
        port: url_port,
        authority,
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        query: query.into(),
    })
}

fn split_port(authority: &str) -> Result<(String, Option<u16>), String> {
    // `[v6]:port`, `host:port`, `host`.
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (format!("[{h}]"), p.strip_prefix(':')),
            None => return Err(format!("bad authority `{authority}`")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("bad port in `{authority}`"))?,
        ),
        None => None,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// The headers as the router sees them.
pub(super) fn seen(url: &Url, req: &Request, ir: &ir::Ir) -> Seen {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for h in &req.headers {
        let name = h.name.trim().to_ascii_lowercase();
        if name == "host" || name.starts_with(':') {
            continue;
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&h.value);
            })
            .or_insert_with(|| h.value.clone());
    }
    let method = if req.method.is_empty() {
        "GET".to_string()
    } else {
        req.method.to_ascii_uppercase()
    };
    let path = normalize_path(&url.path, ir.http.merge_slashes);
    let full = if url.query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", url.query)
    };
    headers.insert(":method".into(), method.clone());
    headers.insert(":authority".into(), url.authority.clone());
    headers.insert(":path".into(), full);
    headers.insert(":scheme".into(), url.scheme.clone());
    Seen {
        method,
        scheme: url.scheme.clone(),
        authority: url.authority.clone(),
        path,
        query: url.query.clone(),
        sni: None,
        headers,
    }
}

/// RFC 3986 dot-segment removal (Envoy's `normalize_path`), and `//` → `/`
/// when `merge_slashes` is set.
fn normalize_path(path: &str, merge_slashes: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let n = segments.len();
    for (i, s) in segments.into_iter().enumerate() {
        let last = i + 1 == n;
        match s {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            "" if merge_slashes && !last => {}
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}
