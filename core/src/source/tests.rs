//! Tests of the source module: parse trees with spans, scalar resolution,
//! limits, error recovery and line/column mapping, plus a no-panic proptest.

use super::*;
use crate::diag::{Diagnostic, Position, PositionEncoding, SourceMap};
use expect_test::{Expect, expect};
use std::fmt::Write as _;

fn pos(sm: &SourceMap, span: Span, enc: PositionEncoding) -> String {
    match sm.position(span, enc) {
        Some(p) => format!("{}:{}-{}:{}", p.line, p.col, p.end_line, p.end_col),
        None => "?".into(),
    }
}

fn scalar(n: &Node) -> String {
    match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Int(i) => format!("int {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Str(s) => format!("str {s:?}"),
        Value::Seq(_) => "seq".into(),
        Value::Map(_) => "map".into(),
    }
}

fn tree(out: &mut String, sm: &SourceMap, enc: PositionEncoding, n: &Node, depth: usize) {
    match &n.value {
        Value::Seq(items) => {
            for item in items {
                let _ = writeln!(
                    out,
                    "{}- {} {}",
                    "  ".repeat(depth),
                    scalar(item),
                    pos(sm, item.span, enc)
                );
                tree(out, sm, enc, item, depth + 1);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let _ = writeln!(
                    out,
                    "{}{} {} => {} {}",
                    "  ".repeat(depth),
                    scalar(k),
                    pos(sm, k.span, enc),
                    scalar(v),
                    pos(sm, v.span, enc)
                );
                tree(out, sm, enc, k, depth + 1);
                tree(out, sm, enc, v, depth + 1);
            }
        }
        _ => {}
    }
}

fn dump(input: &str, limits: &Limits, enc: PositionEncoding) -> String {
    let (docs, diags) = parse(0, input, limits);
    let sm = SourceMap::new(vec![("t.yaml".into(), input.into())]);
    check_spans(input, &docs, &diags);
    let mut out = String::new();
    for d in &docs {
        let _ = writeln!(
            out,
            "#{} {} {}",
            d.index,
            scalar(&d.root),
            pos(&sm, d.root.span, enc)
        );
        tree(&mut out, &sm, enc, &d.root, 1);
    }
    for d in &diags {
        let span = d.span.map(|s| pos(&sm, s, enc)).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}[{}] {} {}",
            d.severity.as_str(),
            d.code,
            span,
            d.message
        );
    }
    out
}

fn check(input: &str, expect: Expect) {
    expect.assert_eq(&dump(
        input,
        &Limits::default(),
        PositionEncoding::Utf8Chars,
    ));
}

/// Every span lies inside the text, on char boundaries, start <= end.
fn check_spans(text: &str, docs: &[Document], diags: &[Diagnostic]) {
    let ok = |s: Span| {
        let (a, b) = (s.start as usize, s.end as usize);
        assert!(
            a <= b && b <= text.len(),
            "span {a}..{b} outside {}",
            text.len()
        );
        assert!(
            text.is_char_boundary(a) && text.is_char_boundary(b),
            "span {a}..{b} splits a char"
        );
    };
    let mut stack: Vec<&Node> = docs.iter().map(|d| &d.root).collect();
    while let Some(n) = stack.pop() {
        ok(n.span);
        match &n.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
    }
    diags.iter().filter_map(|d| d.span).for_each(ok);
}

#[test]
fn multi_document_stream() {
    check(
        "# leading comment\n---\na: 1\nb:\n  - x\n  - \"y\"\n---\n# only a comment\n---\n\n--- plain\n...\n",
        expect![[r##"
            #0 map 3:1-6:8
              str "a" 3:1-3:2 => int 1 3:4-3:5
              str "b" 4:1-4:2 => seq 5:3-6:8
                - str "x" 5:5-5:6
                - str "y" 6:5-6:8
            #3 str "plain" 11:5-11:10
        "##]],
    );
}

#[test]
fn json_input() {
    check(
        r#"{"kind": "Mapping", "spec": {"prefix": "/q/", "weight": 10, "ok": true, "x": null, "f": 1.5, "l": [1, "2"]}}"#,
        expect![[r##"
            #0 map 1:1-1:109
              str "kind" 1:2-1:8 => str "Mapping" 1:10-1:19
              str "spec" 1:21-1:27 => map 1:29-1:108
                str "prefix" 1:30-1:38 => str "/q/" 1:40-1:45
                str "weight" 1:47-1:55 => int 10 1:57-1:59
                str "ok" 1:61-1:65 => bool true 1:67-1:71
                str "x" 1:73-1:76 => null 1:78-1:82
                str "f" 1:84-1:87 => float 1.5 1:89-1:92
                str "l" 1:94-1:97 => seq 1:99-1:107
                  - int 1 1:100-1:101
                  - str "2" 1:103-1:106
        "##]],
    );
}

#[test]
fn anchors_aliases_and_merge_keys() {
    check(
        "base: &b {host: a.example, port: 80}\ncopy: *b\nlist: &l [1, 2]\nagain: *l\nmerged:\n  <<: *b\n  port: 8080\n",
        expect![[r##"
            #0 map 1:1-7:13
              str "base" 1:1-1:5 => map 1:7-1:37
                str "host" 1:11-1:15 => str "a.example" 1:17-1:26
                str "port" 1:28-1:32 => int 80 1:34-1:36
              str "copy" 2:1-2:5 => map 2:7-2:9
                str "host" 1:11-1:15 => str "a.example" 1:17-1:26
                str "port" 1:28-1:32 => int 80 1:34-1:36
              str "list" 3:1-3:5 => seq 3:7-3:16
                - int 1 3:11-3:12
                - int 2 3:14-3:15
              str "again" 4:1-4:6 => seq 4:8-4:10
                - int 1 3:11-3:12
                - int 2 3:14-3:15
              str "merged" 5:1-5:7 => map 6:3-7:13
                str "host" 1:11-1:15 => str "a.example" 1:17-1:26
                str "port" 7:3-7:7 => int 8080 7:9-7:13
        "##]],
    );
}

#[test]
fn merge_key_lists_and_recursive_alias() {
    check(
        "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n  y: 4\n---\n&r [*r]\n",
        expect![[r##"
            #0 map 1:1-6:7
              str "a" 1:1-1:2 => map 1:4-1:19
                str "x" 1:8-1:9 => int 1 1:11-1:12
                str "y" 1:14-1:15 => int 1 1:17-1:18
              str "b" 2:1-2:2 => map 2:4-2:19
                str "x" 2:8-2:9 => int 2 2:11-2:12
                str "z" 2:14-2:15 => int 2 2:17-2:18
              str "c" 3:1-3:2 => map 4:3-6:7
                str "z" 2:14-2:15 => int 2 2:17-2:18
                str "x" 1:8-1:9 => int 1 1:11-1:12
                str "y" 6:3-6:4 => int 4 6:6-6:7
            #1 seq 8:1-8:8
              - null 8:5-8:7
            warning[yaml-duplicate-key] 6:3-6:4 duplicate key `y`: this value replaces the earlier one
            error[yaml-recursive-alias] 8:5-8:7 this alias refers to a node that contains it; it is read as null
        "##]],
    );
}

#[test]
fn trailing_comments_do_not_widen_spans() {
    check(
        "a: \"x\"  # c\nb: 'it''s' # z\nc: [1] # c\nd: {a: 1} # x\ne: \"multi\n  line\" # q\nf: \"esc\\\"aped\" # q\n",
        expect![[r##"
            #0 map 1:1-7:15
              str "a" 1:1-1:2 => str "x" 1:4-1:7
              str "b" 2:1-2:2 => str "it's" 2:4-2:11
              str "c" 3:1-3:2 => seq 3:4-3:7
                - int 1 3:5-3:6
              str "d" 4:1-4:2 => map 4:4-4:10
                str "a" 4:5-4:6 => int 1 4:8-4:9
              str "e" 5:1-5:2 => str "multi line" 5:4-6:8
              str "f" 7:1-7:2 => str "esc\"aped" 7:4-7:15
        "##]],
    );
}

#[test]
fn quoted_vs_plain_and_booleans() {
    check(
        "- yes\n- 'yes'\n- \"on\"\n- Off\n- TRUE\n- tRUE\n- y\n- ~\n- null\n- 'null'\n-\n- !!str true\n- !!int '12'\n- !!float 1\n",
        expect![[r##"
            #0 seq 1:1-14:12
              - bool true 1:3-1:6
              - str "yes" 2:3-2:8
              - str "on" 3:3-3:7
              - bool false 4:3-4:6
              - bool true 5:3-5:7
              - str "tRUE" 6:3-6:7
              - str "y" 7:3-7:4
              - null 8:3-8:4
              - null 9:3-9:7
              - str "null" 10:3-10:9
              - null 10:9-10:9
              - str "true" 12:3-12:13
              - int 12 13:3-13:13
              - float 1 14:3-14:12
        "##]],
    );
}

#[test]
fn numbers() {
    check(
        "[0, -0, +12, 1_000, 0x1F, 0b101, 017, 08, 0o17, 1:30, 99999999999999999999, 1.5, -1.5, 1., .5, -.5, 1e3, 1.0e+3, .inf, -.Inf, .nan, 1.2.3, 12abc]",
        expect![[r##"
            #0 seq 1:1-1:146
              - int 0 1:2-1:3
              - int 0 1:5-1:7
              - int 12 1:9-1:12
              - int 1000 1:14-1:19
              - int 31 1:21-1:25
              - int 5 1:27-1:32
              - int 15 1:34-1:37
              - str "08" 1:39-1:41
              - str "0o17" 1:43-1:47
              - int 90 1:49-1:53
              - str "99999999999999999999" 1:55-1:75
              - float 1.5 1:77-1:80
              - float -1.5 1:82-1:86
              - float 1 1:88-1:90
              - float 0.5 1:92-1:94
              - str "-.5" 1:96-1:99
              - str "1e3" 1:101-1:104
              - float 1000 1:106-1:112
              - float inf 1:114-1:118
              - float -inf 1:120-1:125
              - float NaN 1:127-1:131
              - str "1.2.3" 1:133-1:138
              - str "12abc" 1:140-1:145
        "##]],
    );
}

#[test]
fn block_scalars() {
    check(
        "lit: |\n  a\n   b\nfold: >-\n  c\n  d\nkeep: |+\n  e\n\nnext: 1\n",
        expect![[r##"
        #0 map 1:1-10:8
          str "lit" 1:1-1:4 => str "a\n b\n" 2:3-4:1
          str "fold" 4:1-4:5 => str "c d" 5:3-7:1
          str "keep" 7:1-7:5 => str "e\n\n" 8:3-10:1
          str "next" 10:1-10:5 => int 1 10:7-10:8
    "##]],
    );
}

#[test]
fn duplicate_keys_last_wins() {
    check(
        "a: 1\nb: 2\na: 3\n",
        expect![[r##"
        #0 map 1:1-3:5
          str "b" 2:1-2:2 => int 2 2:4-2:5
          str "a" 3:1-3:2 => int 3 3:4-3:5
        warning[yaml-duplicate-key] 3:1-3:2 duplicate key `a`: this value replaces the earlier one
    "##]],
    );
    let many: String = (0..40).map(|i| format!("k{}: {i}\n", i % 20)).collect();
    let (docs, diags) = parse(0, &many, &Limits::default());
    assert_eq!(docs[0].root.as_map().unwrap().len(), 20);
    assert_eq!(docs[0].root.get("k3").unwrap().value, Value::Int(23));
    assert_eq!(diags.len(), 20);
}

#[test]
fn syntax_error_keeps_earlier_documents_and_resumes() {
    check(
        "a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n---\ne: \"unterminated\n---\nf: 5\n",
        expect![[r##"
            #0 map 1:1-1:5
              str "a" 1:1-1:2 => int 1 1:4-1:5
            #2 map 6:1-6:5
              str "d" 6:1-6:2 => int 4 6:4-6:5
            #4 map 10:1-10:5
              str "f" 10:1-10:2 => int 5 10:4-10:5
            error[yaml-syntax] 4:2-4:3 invalid YAML: illegal placement of ':' indicator
            error[yaml-syntax] 8:4-8:5 invalid YAML: while scanning a quoted scalar, found unexpected end of stream
        "##]],
    );
}

#[test]
fn deep_nesting_is_rejected_without_overflow() {
    let flow = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let indented: String = (0..1000)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    let ok = format!("{}1{}", "[".repeat(64), "]".repeat(64));
    let text = format!("a: 1\n---\n{flow}\n---\n{indented}---\n{ok}\n---\nz: 2\n");
    let out = dump(&text, &Limits::default(), PositionEncoding::Utf8Chars);
    expect![[r##"
        #0 map 1:1-1:5
          str "a" 1:1-1:2 => int 1 1:4-1:5
        #3 seq 1006:1-1006:130
          - seq 1006:2-1006:129
            - seq 1006:3-1006:128
              - seq 1006:4-1006:127
                - seq 1006:5-1006:126
                  - seq 1006:6-1006:125
                    - seq 1006:7-1006:124
                      - seq 1006:8-1006:123
                        - seq 1006:9-1006:122
                          - seq 1006:10-1006:121
                            - seq 1006:11-1006:120
                              - seq 1006:12-1006:119
                                - seq 1006:13-1006:118
                                  - seq 1006:14-1006:117
                                    - seq 1006:15-1006:116
                                      - seq 1006:16-1006:115
                                        - seq 1006:17-1006:114
                                          - seq 1006:18-1006:113
                                            - seq 1006:19-1006:112
                                              - seq 1006:20-1006:111
                                                - seq 1006:21-1006:110
                                                  - seq 1006:22-1006:109
                                                    - seq 1006:23-1006:108
                                                      - seq 1006:24-1006:107
                                                        - seq 1006:25-1006:106
                                                          - seq 1006:26-1006:105
                                                            - seq 1006:27-1006:104
                                                              - seq 1006:28-1006:103
                                                                - seq 1006:29-1006:102
                                                                  - seq 1006:30-1006:101
                                                                    - seq 1006:31-1006:100
                                                                      - seq 1006:32-1006:99
                                                                        - seq 1006:33-1006:98
                                                                          - seq 1006:34-1006:97
                                                                            - seq 1006:35-1006:96
                                                                              - seq 1006:36-1006:95
                                                                                - seq 1006:37-1006:94
                                                                                  - seq 1006:38-1006:93
                                                                                    - seq 1006:39-1006:92
                                                                                      - seq 1006:40-1006:91
                                                                                        - seq 1006:41-1006:90
                                                                                          - seq 1006:42-1006:89
                                                                                            - seq 1006:43-1006:88
                                                                                              - seq 1006:44-1006:87
                                                                                                - seq 1006:45-1006:86
                                                                                                  - seq 1006:46-1006:85
                                                                                                    - seq 1006:47-1006:84
                                                                                                      - seq 1006:48-1006:83
                                                                                                        - seq 1006:49-1006:82
                                                                                                          - seq 1006:50-1006:81
                                                                                                            - seq 1006:51-1006:80
                                                                                                              - seq 1006:52-1006:79
                                                                                                                - seq 1006:53-1006:78
                                                                                                                  - seq 1006:54-1006:77
                                                                                                                    - seq 1006:55-1006:76
                                                                                                                      - seq 1006:56-1006:75
                                                                                                                        - seq 1006:57-1006:74
                                                                                                                          - seq 1006:58-1006:73
                                                                                                                            - seq 1006:59-1006:72
                                                                                                                              - seq 1006:60-1006:71
                                                                                                                                - seq 1006:61-1006:70
                                                                                                                                  - seq 1006:62-1006:69
                                                                                                                                    - seq 1006:63-1006:68
                                                                                                                                      - seq 1006:64-1006:67
                                                                                                                                        - int 1 1006:65-1006:66
        #4 map 1008:1-1008:5
          str "z" 1008:1-1008:2 => int 2 1008:4-1008:5
        error[yaml-too-deep] 3:256-3:257 flow collections nest more than 255 levels deep; the document is skipped
        error[yaml-too-deep] 69:129-69:129 document 2 nests deeper than 64 levels; it is skipped
    "##]].assert_eq(&out);
}

#[test]
fn limits_nodes_and_documents() {
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    let limits = Limits {
        max_nodes: 10_000,
        ..Limits::default()
    };
    expect![[r#"
        error[yaml-too-large] 4:36-4:38 the file has more than 10000 YAML nodes (aliases expanded); parsing stopped
    "#]].assert_eq(&dump(laughs, &limits, PositionEncoding::Utf8Chars));
    let limits = Limits {
        max_documents: 2,
        ..Limits::default()
    };
    expect![[r##"
        #0 str "a" 1:1-1:2
        #1 str "b" 3:1-3:2
        error[yaml-too-many-documents] 5:1-5:2 the file has more than 2 documents; the rest are ignored
    "##]].assert_eq(&dump("a\n---\nb\n---\nc\n---\nd\n", &limits, PositionEncoding::Utf8Chars));
}

#[test]
fn non_ascii_columns() {
    let text = "# 🎉 héllo 世界\nname: \"🎉🎉\" # 注释\n世界: [x, 🎉, y]\n";
    expect![[r##"
        #0 map 2:1-3:14
          str "name" 2:1-2:5 => str "🎉🎉" 2:7-2:11
          str "世界" 3:1-3:3 => seq 3:5-3:14
            - str "x" 3:6-3:7
            - str "🎉" 3:9-3:10
            - str "y" 3:12-3:13
    "##]]
    .assert_eq(&dump(text, &Limits::default(), PositionEncoding::Utf8Chars));
    expect![[r##"
        #0 map 2:1-3:15
          str "name" 2:1-2:5 => str "🎉🎉" 2:7-2:13
          str "世界" 3:1-3:3 => seq 3:5-3:15
            - str "x" 3:6-3:7
            - str "🎉" 3:9-3:11
            - str "y" 3:13-3:14
    "##]]
    .assert_eq(&dump(text, &Limits::default(), PositionEncoding::Utf16));
    expect![[r##"
        #0 map 2:1-3:21
          str "name" 2:1-2:5 => str "🎉🎉" 2:7-2:17
          str "世界" 3:1-3:7 => seq 3:9-3:21
            - str "x" 3:10-3:11
            - str "🎉" 3:13-3:17
            - str "y" 3:19-3:20
    "##]]
    .assert_eq(&dump(text, &Limits::default(), PositionEncoding::Utf8Bytes));
}

#[test]
fn crlf_bom_and_tabs() {
    check(
        "\u{feff}a: 1\r\nb:\r\n  - x\r\n---\r\nc:\t\"tab\"\r\n",
        expect![[r##"
        #0 map 1:2-3:6
          str "a" 1:2-1:3 => int 1 1:5-1:6
          str "b" 2:1-2:2 => seq 3:3-3:6
            - str "x" 3:5-3:6
        #1 map 5:1-5:9
          str "c" 5:1-5:2 => str "tab" 5:4-5:9
    "##]],
    );
    check(
        "a:\n\t- x\n",
        expect![[r#"
        error[yaml-syntax] 2:2-2:3 invalid YAML: tabs disallowed within this context (block indentation)
    "#]],
    );
}

#[test]
fn non_string_keys_and_complex_keys() {
    check(
        "1: one\ntrue: yes\n? [a, b]\n: c\n~: n\n",
        expect![[r##"
        #0 map 1:1-5:5
          int 1 1:1-1:2 => str "one" 1:4-1:7
          bool true 2:1-2:5 => bool true 2:7-2:10
          seq 3:3-3:9 => str "c" 4:3-4:4
            - str "a" 3:4-3:5
            - str "b" 3:7-3:8
          null 5:1-5:2 => str "n" 5:4-5:5
    "##]],
    );
}

#[test]
fn empty_and_comment_only() {
    check("", expect![[r#""#]]);
    check("# nothing\n", expect![[r#""#]]);
    check("\u{feff}", expect![[r#""#]]);
    check("---\n---\n...\n", expect![""]);
}

#[test]
fn source_map_lines_and_encodings() {
    let sm = SourceMap::new(vec![
        ("a".into(), "ab\r\ncd\ref\n🎉x\n".into()),
        ("b".into(), String::new()),
    ]);
    assert_eq!(sm.files(), 2);
    assert_eq!(sm.text(1), "");
    assert_eq!(sm.line_text(0, 1), Some("ab"));
    assert_eq!(sm.line_text(0, 2), Some("cd"));
    assert_eq!(sm.line_text(0, 3), Some("ef"));
    assert_eq!(sm.line_text(0, 4), Some("🎉x"));
    assert_eq!(sm.line_text(0, 5), Some(""));
    assert_eq!(sm.line_text(0, 6), None);
    assert_eq!(sm.line_text(0, 0), None);
    let x = Span {
        file: 0,
        start: 14,
        end: 15,
    };
    let p = |enc| {
        sm.position(x, enc)
            .map(|p| (p.line, p.col, p.end_line, p.end_col))
    };
    assert_eq!(p(PositionEncoding::Utf8Bytes), Some((4, 5, 4, 6)));
    assert_eq!(p(PositionEncoding::Utf8Chars), Some((4, 2, 4, 3)));
    assert_eq!(p(PositionEncoding::Utf16), Some((4, 3, 4, 4)));
    assert_eq!(
        sm.position(
            Span {
                file: 0,
                start: 0,
                end: 99
            },
            PositionEncoding::Utf16
        ),
        None
    );
    assert_eq!(
        sm.position(
            Span {
                file: 7,
                start: 0,
                end: 0
            },
            PositionEncoding::Utf16
        ),
        None
    );
    assert_eq!(
        sm.position(
            Span {
                file: 1,
                start: 0,
                end: 0
            },
            PositionEncoding::Utf16
        ),
        Some(Position {
            line: 1,
            col: 1,
            end_line: 1,
            end_col: 1
        })
    );
    // Inside a UTF-8 sequence: moved back to the char start.
    assert_eq!(
        sm.position(
            Span {
                file: 0,
                start: 12,
                end: 13
            },
            PositionEncoding::Utf8Chars
        )
        .map(|p| p.col),
        Some(1)
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b: ",
            ":",
            "- ",
            "[",
            "]",
            "{",
            "}",
            ",",
            "\n",
            "\r\n",
            "  ",
            "\t",
            "---\n",
            "...\n",
            "&x ",
            "*x",
            "*y",
            "&y ",
            "!!str ",
            "!t ",
            "'",
            "\"",
            "|\n",
            ">-\n",
            "# c\n",
            "? ",
            "%YAML 1.1\n",
            "🎉",
            "世界",
            "é",
            "\u{feff}",
            "\\",
            "<<: ",
            "1",
            "0x1F",
            "~",
            "yes",
            "\0",
        ])
    }

    fn soup() -> impl Strategy<Value = String> {
        prop::collection::vec(token(), 0..60).prop_map(|t| t.concat())
    }

    fn assert_sane(text: &str) {
        let limits = Limits {
            max_depth: 8,
            max_nodes: 2_000,
            max_documents: 20,
        };
        let (docs, diags) = parse(3, text, &limits);
        check_spans(text, &docs, &diags);
        let sm = SourceMap::new(vec![
            ("x".into(), String::new()),
            ("y".into(), String::new()),
            ("z".into(), String::new()),
            ("t".into(), text.into()),
        ]);
        for d in &diags {
            let s = d.span.unwrap();
            assert_eq!(s.file, 3);
            for enc in [
                PositionEncoding::Utf8Bytes,
                PositionEncoding::Utf8Chars,
                PositionEncoding::Utf16,
            ] {
                assert!(sm.position(s, enc).is_some());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_strings_never_panic(text in any::<String>()) {
            assert_sane(&text);
        }
        #[test]
        fn token_soup_never_panics(text in soup()) {
            assert_sane(&text);
        }
    }
}
