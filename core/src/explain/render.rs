//! The explanation in words, for a terminal (`emissary explain`).

use super::{Explanation, Outcome};
use std::fmt::Write as _;

/// The explanation in words, for a terminal.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let r = &e.request;
    if e.outcome == Outcome::BadRequest {
        let _ = writeln!(out, "the request cannot be read: {}", e.why.join("; "));
        return out;
    }
    let _ = writeln!(
        out,
        "{} {}://{}{}{}",
        r.method,
        r.scheme,
        r.authority,
        r.path,
        if r.query.is_empty() {
            String::new()
        } else {
            format!("?{}", r.query)
        }
    );
    let verdict = match e.outcome {
        Outcome::Forwarded | Outcome::Partial | Outcome::Redirected | Outcome::Tcp => {
            let mut s = String::new();
            for t in &e.targets {
                let _ = write!(
                    s,
                    "\n  {:>3}%  {} → {}",
                    t.weight,
                    t.mapping,
                    match t.action.as_str() {
                        "forward" => format!(
                            "{}{} {}",
                            if t.upstream_tls { "https://" } else { "" },
                            t.target,
                            t.upstream_path.as_deref().unwrap_or_default()
                        ),
                        "https-redirect" => format!("301 redirect to {}", t.target),
                        "redirect" => format!("redirect to {}", t.target),
                        _ => format!("tcp {}", t.target),
                    }
                );
                if let Some(h) = &t.host_rewrite {
                    let _ = write!(s, "\n        Host: {h}");
                }
                for (what, removed, added) in [
                    (
                        "request",
                        &t.request_headers_removed,
                        &t.request_headers_added,
                    ),
                    (
                        "response",
                        &t.response_headers_removed,
                        &t.response_headers_added,
                    ),
                ] {
                    for name in removed {
                        let _ = write!(s, "\n        {what} header {name} removed");
                    }
                    for h in added {
                        let how = if h.append { "added" } else { "set" };
                        let _ =
                            write!(s, "\n        {what} header {}: {} ({how})", h.name, h.value);
                    }
                }
            }
            if e.outcome == Outcome::Partial {
                let rest = 100 - e.targets.iter().map(|t| t.weight).sum::<u32>();
                let _ = write!(s, "\n  {rest:>3}%  no route (404)");
            }
            format!("served by:{s}")
        }
        Outcome::NoListener => "no listener takes it".into(),
        Outcome::NoFilterChain => "no filter chain takes the connection".into(),
        Outcome::TlsNotTerminated => "the TLS handshake fails: the chain terminates no TLS".into(),
        Outcome::NoVirtualHost => "no virtual host matches (404)".into(),
        Outcome::NoRoute => "no route matches (404)".into(),
        Outcome::BadRequest => "the request cannot be read".into(),
    };
    let _ = writeln!(out, "{verdict}");
    let _ = writeln!(out, "why:");
    for w in &e.why {
        let _ = writeln!(out, "  - {w}");
    }
    out
}
