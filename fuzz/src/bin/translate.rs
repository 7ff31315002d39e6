//! The `translate` fuzz target for AFL++: [`emissary_fuzz::translate`] on every input.

fn main() {
    afl::fuzz!(|data: &[u8]| emissary_fuzz::translate(data));
}
