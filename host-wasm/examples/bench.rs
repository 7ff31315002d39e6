//! Native reference for the Node benchmark (`host-wasm/tests/node/bench.mjs`):
//! times `translate_text` (the function the wasm `translate` calls) on the
//! given manifest files, joined into one text.
//! `cargo run --release -p emissary-wasm --example bench -- FILE...`

fn main() {
    let mut text = String::new();
    for f in std::env::args().skip(1) {
        text.push_str(&std::fs::read_to_string(&f).expect("reading input"));
        text.push_str("\n---\n");
    }
    let options = emissary_core::HostOptions::default();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..15 {
        let start = std::time::Instant::now();
        let out = emissary_core::translate_text(&text, &options);
        bytes = out.to_json().len();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "native translate: best {:.1} ms, median {:.1} ms ({bytes} bytes of JSON)",
        times[0],
        times[times.len() / 2]
    );
}
