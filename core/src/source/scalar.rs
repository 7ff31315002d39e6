//! Scalar resolution as PyYAML (Emissary's reader, YAML 1.1) does it:
//! `true/false/yes/no/on/off` are booleans, `~`/`null`/empty are null,
//! decimal, binary, octal, hex and base-60 integers and floats are numbers;
//! quoted scalars are always strings, and core-schema tags (`!!str`, `!!int`
//! …) are honoured.

use super::Value;
use saphyr_parser::{ScalarStyle, Tag};
use std::borrow::Cow;

/// Resolves a scalar's value from its text, style and tag, like PyYAML.
pub(super) fn resolve(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        let s: &str = &text;
        let v = match tag.suffix.as_str() {
            "str" => return Value::Str(text.into_owned()),
            "null" => Some(Value::Null),
            "bool" => resolve_bool(s).map(Value::Bool),
            "int" => resolve_int(s).map(Value::Int),
            "float" => resolve_float(s)
                .or_else(|| resolve_int(s).map(|i| i as f64))
                .map(Value::Float),
            _ => None,
        };
        if let Some(v) = v {
            return v;
        }
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.into_owned());
    }
    resolve_plain(&text).unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// YAML 1.1 implicit resolution of a plain scalar (PyYAML's resolver);
/// `None` means it is a string.
pub(crate) fn resolve_plain(s: &str) -> Option<Value> {
    let Some(&first) = s.as_bytes().first() else {
        return Some(Value::Null);
    };
    match first {
        b'~' | b'n' | b'N' if matches!(s, "~" | "null" | "Null" | "NULL") => Some(Value::Null),
        b'0'..=b'9' | b'+' | b'-' | b'.' => resolve_int(s)
            .map(Value::Int)
            .or_else(|| resolve_float(s).map(Value::Float)),
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' => {
            resolve_bool(s).map(Value::Bool)
        }
        _ => None,
    }
}

fn resolve_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// PyYAML's int: `[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*)
/// | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`. Out of i64 → None.
fn resolve_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let b = body.as_bytes();
    let mag: u64 = if let Some(d) = body.strip_prefix("0b") {
        digits(d, 2)?
    } else if let Some(d) = body.strip_prefix("0x") {
        digits(d, 16)?
    } else if body == "0" {
        0
    } else if b.first() == Some(&b'0') {
        // `0[0-7_]+`; PyYAML reads `0_` as 0.
        let d = &body[1..];
        if !d.is_empty() && d.bytes().all(|c| c == b'_') {
            0
        } else {
            digits(d, 8)?
        }
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        if body.contains(':') {
            sexagesimal(body)?
        } else {
            digits(body, 10)?
        }
    } else {
        return None;
    };
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Digits of `radix` with `_` allowed; at least one character.
fn digits(d: &str, radix: u32) -> Option<u64> {
    if !d.bytes().any(|c| c != b'_') {
        return None;
    }
    let mut v: u64 = 0;
    for c in d.chars() {
        if c == '_' {
            continue;
        }
        let x = c.to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(x))?;
    }
    Some(v)
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+` → base-60 value.
fn sexagesimal(body: &str) -> Option<u64> {
    let mut parts = body.split(':');
    let head = parts.next()?;
    if head.starts_with('0') {
        return None;
    }
    let mut v = digits(head, 10)?;
    for p in parts {
        v = v.checked_mul(60)?.checked_add(base60_digit(p)?)?;
    }
    Some(v)
}

/// PyYAML's float: `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?`,
/// `\.[0-9][0-9_]*([eE][-+][0-9]+)?`, `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`,
/// `[-+]?\.(inf|Inf|INF)` and `\.(nan|NaN|NAN)`.
fn resolve_float(s: &str) -> Option<f64> {
    match s {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let signed = body.len() != s.len();
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let dot = mant.find('.')?;
    let (int, frac) = (&mant[..dot], &mant[dot + 1..]);
    let digits_ = |t: &str| t.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    if !digits_(frac) {
        return None;
    }
    let exp_ok = exp.is_none_or(|e| {
        e.strip_prefix(['+', '-'])
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
    });
    if !exp_ok {
        return None;
    }
    if int.is_empty() {
        // `.5`: no sign, a digit right after the dot.
        if signed || !frac.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
    } else if !int.as_bytes()[0].is_ascii_digit() {
        return None;
    } else if int.contains(':') {
        if exp.is_some() {
            return None;
        }
        let mut parts = int.split(':');
        let mut v = digits(parts.next()?, 10)? as f64;
        for p in parts {
            v = v * 60.0 + base60_digit(p)? as f64;
        }
        let f: String = frac.chars().filter(|&c| c != '_').collect();
        let v = v + format!("0.{f}").parse::<f64>().unwrap_or(0.0);
        return Some(if neg { -v } else { v });
    } else if !digits_(int) {
        return None;
    }
    let mut clean: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = clean.find('.') {
        // Rust wants a digit after the dot (`1.` / `1.e+3`).
        if !clean.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit) {
            clean.insert(i + 1, '0');
        }
    }
    clean.parse::<f64>().ok()
}

/// `[0-5]?[0-9]`.
fn base60_digit(p: &str) -> Option<u64> {
    let b = p.as_bytes();
    let ok = match b {
        [d] => d.is_ascii_digit(),
        [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
        _ => false,
    };
    if ok { p.parse().ok() } else { None }
}
