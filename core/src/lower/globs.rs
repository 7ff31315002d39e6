//! DNS glob compatibility (Emissary's `hostglob_matches`) and label selectors.

use std::collections::BTreeMap;

/// True when some hostname could match both globs. A wildcard is a leading or
/// trailing `*` and never matches an empty label sequence.
pub(crate) fn compatible(g1: &str, g2: &str) -> bool {
    if g1 == g2 || g1 == "*" || g2 == "*" {
        return true;
    }
    if g1.is_empty() || g2.is_empty() || g1.starts_with('.') || g2.starts_with('.') {
        return false;
    }
    let (s1, e1) = (g1.starts_with('*'), g1.ends_with('*'));
    let (s2, e2) = (g2.starts_with('*'), g2.ends_with('*'));
    if (s1 && e1) || (s2 && e2) {
        return g1 == g2;
    }
    if !(s1 || e1 || s2 || e2) {
        return false;
    }
    if (s1 && e2) || (s2 && e1) {
        return true;
    }
    if s1 {
        return matches_start(g1, g2, s2);
    }
    if s2 {
        return matches_start(g2, g1, s1);
    }
    if e1 {
        return matches_end(g1, g2, e2);
    }
    matches_end(g2, g1, e1)
}

/// `g1` starts with `*`; `g2` may too.
fn matches_start(g1: &str, g2: &str, g2start: bool) -> bool {
    let mut a = &g1[1..];
    let mut b = if g2start { &g2[1..] } else { g2 };
    if g1.len() > b.len() {
        if !g2start {
            return false;
        }
        a = &g2[1..];
        b = &g1[1..];
    }
    b.ends_with(a)
}

/// `g1` ends with `*`; `g2` may too.
fn matches_end(g1: &str, g2: &str, g2end: bool) -> bool {
    let mut a = &g1[..g1.len() - 1];
    let mut b = if g2end { &g2[..g2.len() - 1] } else { g2 };
    if g1.len() > b.len() {
        if !g2end {
            return false;
        }
        a = &g2[..g2.len() - 1];
        b = &g1[..g1.len() - 1];
    }
    b.starts_with(a)
}

/// Every `matchLabels` entry must be present with the same value. An empty selector matches all.
pub(crate) fn selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn globs() {
        let cases = [
            ("*", "foo.com", true),
            ("foo.com", "foo.com", true),
            ("foo.com", "bar.com", false),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "example.com", false),
            ("example.com", "*.example.com", false),
            ("*.example.com", "*.b.example.com", true),
            ("foo.*", "foo.example.com", true),
            ("foo.*", "*.com", true),
            ("*.a.com", "*.b.com", false),
            ("*foo*", "afoob", false),
            (".foo.com", "*.foo.com", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(compatible(a, b), want, "{a} ~ {b}");
            assert_eq!(compatible(b, a), want, "{b} ~ {a}");
        }
    }
}
