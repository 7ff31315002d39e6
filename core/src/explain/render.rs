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
            }
            if e.outcome == Outcome::Partial {
                let rest = 100 - e.targets.iter().map(|t| t.weight).sum::<u32>();
                let _ = write!(s, "\n  {rest:>3}%  no route (404)");
            }
            format!("served by:{s}")
        }
        Outcome::NoListener => "no listener takes it".into(),
        Outcome::NoFilterChain => "no filter chain takes the connection".into(),
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
