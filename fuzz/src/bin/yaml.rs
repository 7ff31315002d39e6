//! The `yaml` fuzz target for AFL++: [`emissary_fuzz::yaml`] on every input.

fn main() {
    afl::fuzz!(|data: &[u8]| emissary_fuzz::yaml(data));
}
