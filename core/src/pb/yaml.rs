//! YAML rendering of JSON values (Envoy resources, IR, diagnostics): block
//! style, keys in the order given (sorted, for `serde_json` maps), strings quoted only when a YAML reader
//! could take them for something else.

use serde_json::Value;
use std::fmt::Write as _;

/// Renders a JSON value as a YAML document.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0),
        other => {
            scalar(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, ind: usize) {
    for (k, v) in m {
        indent(out, ind);
        string(out, k);
        out.push(':');
        value_after_key(out, v, ind);
    }
}

fn seq(out: &mut String, a: &[Value], ind: usize) {
    for v in a {
        indent(out, ind);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First entry on the dash line, the rest indented under it.
                let mut first = true;
                for (k, vv) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, ind + 2);
                    }
                    string(out, k);
                    out.push(':');
                    value_after_key(out, vv, ind + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(out, inner, ind + 2);
            }
            other => {
                out.push(' ');
                scalar(out, other);
                out.push('\n');
            }
        }
    }
}

fn value_after_key(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, ind + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(out, a, ind);
        }
        other => {
            out.push(' ');
            scalar(out, other);
            out.push('\n');
        }
    }
}

fn scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn string(out: &mut String, s: &str) {
    if plain_ok(s) {
        out.push_str(s);
    } else {
        // JSON string syntax is valid YAML double-quoted syntax.
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n" | ".inf" | ".nan"
    ) {
        return false;
    }
    if s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o") {
        return false;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_alphanumeric() || first == b'/' || first == b'.' || first == b'_') {
        return false;
    }
    if s.ends_with(' ') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-:@+=()* ,".contains(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_block_yaml() {
        let v = serde_json::json!({"name": "l", "list": [{"a": 1, "b": "yes"}, "x: y"], "empty": [], "n": null});
        assert_eq!(
            super::to_string(&v),
            "empty: []\nlist:\n- a: 1\n  b: \"yes\"\n- \"x: y\"\n\"n\": null\nname: l\n"
        );
    }
}
