//! The `model` fuzz target for AFL++: [`emissary_fuzz::model`] on every input.

fn main() {
    afl::fuzz!(|data: &[u8]| emissary_fuzz::model(data));
}
