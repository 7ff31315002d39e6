//! `explain`: which route serves a request, checked on small configurations
//! against what Envoy would do with the translated output.

use emissary_core::explain::{self, Request};
use emissary_core::{HostOptions, explain_text};
use expect_test::{Expect, expect};

const LISTENERS: &str = r#"
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https, namespace: default}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#;

fn check(manifests: &str, request: &str, headers: &[&str], expect: Expect) {
    let text = format!("{LISTENERS}---\n{manifests}");
    let options = HostOptions {
        placeholder_secrets: Some(true),
        ..Default::default()
    };
    let e = explain_text(&text, &Request::parse(request, headers), &options);
    expect.assert_eq(&explain::render(&e));
}

const ANY_HOST: &str = r#"
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: "*", requestPolicy: {insecure: {action: Route}}}
"#;

#[test]
fn prefix_and_regex_precedence() {
    let m = format!(
        r#"{ANY_HOST}---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: api, namespace: default}}
spec: {{hostname: "*", prefix: /api/, service: api}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: api-v2-regex, namespace: default}}
spec: {{hostname: "*", prefix: "/api/v[0-9]+/.*", prefix_regex: true, service: api-v2}}
"#
    );
    check(
        &m,
        "GET http://example.com/api/v2/users",
        &[],
        expect![[r#"
            GET http://example.com/api/v2/users
            served by:
              100%  Mapping default/api-v2-regex → api-v2:80 /
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /api/v2/users does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /api/v2/users does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/api-v2-regex) matches: path ~ //api/v[0-9]+/.*/
        "#]],
    );
    check(
        &m,
        "GET http://example.com/api/users",
        &[],
        expect![[r#"
            GET http://example.com/api/users
            served by:
              100%  Mapping default/api → api:80 /users
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /api/users does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /api/users does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/api-v2-regex): path /api/users does not match the regex //api/v[0-9]+/.*/
              - route 3 (Mapping default/internal-ambassador-v0): path /api/users does not start with /ambassador/v0/
              - route 4 (Mapping default/api) matches: prefix /api/
        "#]],
    );
}

#[test]
fn host_wildcards() {
    let m = r#"
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: foo, namespace: default}
spec: {hostname: foo.example.com, requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: wild, namespace: default}
spec: {hostname: "*.example.com", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: "*", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: foo, namespace: default}
spec: {hostname: foo.example.com, prefix: /, service: foo}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: wild, namespace: default}
spec: {hostname: "*.example.com", prefix: /, service: wild}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: other, namespace: default}
spec: {hostname: "other.org", prefix: /, service: other}
"#;
    check(
        m,
        "GET http://foo.example.com/x",
        &[],
        expect![[r#"
            GET http://foo.example.com/x
            served by:
              100%  Mapping default/foo → foo:80 /x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host foo.example.com (default/foo): exact domain foo.example.com
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /x does not start with /ambassador/v0/
              - route 3 (Mapping default/foo) matches: prefix /, header :authority = foo.example.com
        "#]],
    );
    check(
        m,
        "GET http://bar.example.com/x",
        &[],
        expect![[r#"
            GET http://bar.example.com/x
            served by:
              100%  Mapping default/wild → wild:80 /x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host *.example.com (default/wild): wildcard domain *.example.com (the longest suffix wildcard that matches; no exact domain)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /x does not start with /ambassador/v0/
              - route 3 (Mapping default/foo): header :authority is `bar.example.com`, wanted: = foo.example.com
              - route 4 (Mapping default/wild) matches: prefix /, header :authority ends with .example.com
        "#]],
    );
    check(
        m,
        "GET http://other.org/x",
        &[],
        expect![[r#"
            GET http://other.org/x
            served by:
              100%  Mapping default/other → other:80 /x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /x does not start with /ambassador/v0/
              - route 3 (Mapping default/foo): header :authority is `other.org`, wanted: = foo.example.com
              - route 4 (Mapping default/wild): header :authority is `other.org`, wanted: ends with .example.com
              - route 5 (Mapping default/other) matches: prefix /, header :authority = other.org
        "#]],
    );
    check(
        m,
        "GET http://nowhere.net/x",
        &[],
        expect![[r#"
            GET http://nowhere.net/x
            no route matches (404)
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /x does not start with /ambassador/v0/
              - route 3 (Mapping default/foo): header :authority is `nowhere.net`, wanted: = foo.example.com
              - route 4 (Mapping default/wild): header :authority is `nowhere.net`, wanted: ends with .example.com
              - route 5 (Mapping default/other): header :authority is `nowhere.net`, wanted: = other.org
              - no route matches: Envoy answers 404
        "#]],
    );
}

#[test]
fn header_matches() {
    let m = format!(
        r#"{ANY_HOST}---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: beta, namespace: default}}
spec: {{hostname: "*", prefix: /app/, service: app-beta, headers: {{x-beta: "yes"}}, method: POST}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: app, namespace: default}}
spec: {{hostname: "*", prefix: /app/, service: app, rewrite: /v1/}}
"#
    );
    check(
        &m,
        "POST http://example.com/app/x?q=1",
        &["X-Beta: yes"],
        expect![[r#"
            POST http://example.com/app/x?q=1
            served by:
              100%  Mapping default/beta → app-beta:80 /x?q=1
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /app/x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /app/x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /app/x does not start with /ambassador/v0/
              - route 3 (Mapping default/beta) matches: prefix /app/, header x-beta = yes, header :method = POST
        "#]],
    );
    check(
        &m,
        "POST http://example.com/app/x",
        &["x-beta: no"],
        expect![[r#"
            POST http://example.com/app/x
            served by:
              100%  Mapping default/app → app:80 /v1/x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /app/x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /app/x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /app/x does not start with /ambassador/v0/
              - route 3 (Mapping default/beta): header x-beta is `no`, wanted: = yes
              - route 4 (Mapping default/app) matches: prefix /app/
        "#]],
    );
    check(
        &m,
        "GET http://example.com/app/x",
        &["x-beta: yes"],
        expect![[r#"
            GET http://example.com/app/x
            served by:
              100%  Mapping default/app → app:80 /v1/x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /app/x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /app/x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /app/x does not start with /ambassador/v0/
              - route 3 (Mapping default/beta): header :method is `GET`, wanted: = POST
              - route 4 (Mapping default/app) matches: prefix /app/
        "#]],
    );
}

#[test]
fn https_and_http_chains() {
    let m = r#"
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: secure, namespace: default}
spec:
  hostname: secure.example.com
  tlsSecret: {name: secure-cert}
  requestPolicy: {insecure: {action: Redirect}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: shop, namespace: default}
spec: {hostname: secure.example.com, prefix: /shop/, service: shop:8080}
"#;
    check(
        m,
        "GET https://secure.example.com/shop/cart",
        &[],
        expect![[r#"
        GET https://secure.example.com/shop/cart
        served by:
          100%  Mapping default/shop → shop:8080 /cart
        why:
          - listener listener-8443: port 8443, the usual HTTPS port with a TLS HTTP chain (the URL gives no port; pass one to choose)
          - filter chain https-secure: SNI secure.example.com is one of its server names, and it terminates TLS
          - virtual host secure.example.com (default/secure): exact domain secure.example.com
          - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /shop/cart does not start with /ambassador/v0/check_ready
          - route 1 (Mapping default/internal-ambassador-v0-check_ready): path /shop/cart does not start with /ambassador/v0/check_ready
          - route 2 (Mapping default/internal-ambassador-v0-check_alive): path /shop/cart does not start with /ambassador/v0/check_alive
          - route 3 (Mapping default/internal-ambassador-v0-check_alive): path /shop/cart does not start with /ambassador/v0/check_alive
          - route 4 (Mapping default/internal-ambassador-v0): path /shop/cart does not start with /ambassador/v0/
          - route 5 (Mapping default/internal-ambassador-v0): path /shop/cart does not start with /ambassador/v0/
          - route 6 (Mapping default/shop) matches: prefix /shop/, header :authority = secure.example.com, header x-forwarded-proto = https
    "#]],
    );
    check(
        m,
        "GET http://secure.example.com/shop/cart",
        &[],
        expect![[r#"
        GET http://secure.example.com/shop/cart
        served by:
          100%  Mapping default/shop → 301 redirect to https://secure.example.com/shop/cart
        why:
          - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
          - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
          - virtual host secure.example.com (default/secure): exact domain secure.example.com
          - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /shop/cart does not start with /ambassador/v0/check_ready
          - route 1 (Mapping default/internal-ambassador-v0-check_ready): path /shop/cart does not start with /ambassador/v0/check_ready
          - route 2 (Mapping default/internal-ambassador-v0-check_alive): path /shop/cart does not start with /ambassador/v0/check_alive
          - route 3 (Mapping default/internal-ambassador-v0-check_alive): path /shop/cart does not start with /ambassador/v0/check_alive
          - route 4 (Mapping default/internal-ambassador-v0): path /shop/cart does not start with /ambassador/v0/
          - route 5 (Mapping default/internal-ambassador-v0): path /shop/cart does not start with /ambassador/v0/
          - route 6 (Mapping default/shop): header x-forwarded-proto is `http`, wanted: = https
          - route 7 (Mapping default/shop) matches: prefix /shop/, header :authority = secure.example.com
    "#]],
    );
}

#[test]
fn canary_weights() {
    let m = format!(
        r#"{ANY_HOST}---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: v1, namespace: default}}
spec: {{hostname: "*", prefix: /shop/, service: shop-v1}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: v2, namespace: default}}
spec: {{hostname: "*", prefix: /shop/, service: shop-v2, weight: 30}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: v3, namespace: default}}
spec: {{hostname: "*", prefix: /shop/, service: shop-v3, weight: 20}}
"#
    );
    check(
        &m,
        "GET http://example.com/shop/item",
        &[],
        expect![[r#"
            GET http://example.com/shop/item
            served by:
               30%  Mapping default/v2 → shop-v2:80 /item
               20%  Mapping default/v3 → shop-v3:80 /item
               50%  Mapping default/v1 → shop-v1:80 /item
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /shop/item does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /shop/item does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /shop/item does not start with /ambassador/v0/
              - route 3 (Mapping default/v2): takes 30% (runtime fraction 30/100, less what earlier routes take); the rest goes on
              - route 4 (Mapping default/v3): takes 20% (runtime fraction 50/100, less what earlier routes take); the rest goes on
              - route 5 (Mapping default/v1): takes the 50% that earlier routes leave
        "#]],
    );
}

#[test]
fn no_match() {
    let m = format!(
        r#"{ANY_HOST}---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: api, namespace: default}}
spec: {{hostname: "*", prefix: /api/, service: api, case_sensitive: false}}
"#
    );
    check(
        &m,
        "GET http://example.com/nothing",
        &[],
        expect![[r#"
            GET http://example.com/nothing
            no route matches (404)
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /nothing does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /nothing does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /nothing does not start with /ambassador/v0/
              - route 3 (Mapping default/api): path /nothing does not start with /api/ (in any case)
              - no route matches: Envoy answers 404
        "#]],
    );
    check(
        &m,
        "GET http://example.com/API/x",
        &[],
        expect![[r#"
            GET http://example.com/API/x
            served by:
              100%  Mapping default/api → api:80 /x
            why:
              - listener listener-8080: port 8080, the usual HTTP port with a cleartext HTTP chain (the URL gives no port; pass one to choose)
              - filter chain http: no SNI; this chain has no server names, and it is the cleartext chain
              - virtual host * (default/any): catch-all domain * (no other domain matches)
              - route 0 (Mapping default/internal-ambassador-v0-check_ready): path /API/x does not start with /ambassador/v0/check_ready
              - route 1 (Mapping default/internal-ambassador-v0-check_alive): path /API/x does not start with /ambassador/v0/check_alive
              - route 2 (Mapping default/internal-ambassador-v0): path /API/x does not start with /ambassador/v0/
              - route 3 (Mapping default/api) matches: prefix /api/ (any case)
        "#]],
    );
    check(
        &m,
        "GET http://example.com:9999/api/x",
        &[],
        expect![[r#"
        GET http://example.com:9999/api/x
        no listener takes it
        why:
          - no listener on port 9999
    "#]],
    );
    check(
        &m,
        "GET ftp://example.com/api/x",
        &[],
        expect![[r#"
        the request cannot be read: scheme `ftp` is not http or https
    "#]],
    );
}
