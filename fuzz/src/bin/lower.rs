//! The `lower` fuzz target for AFL++: [`emissary_fuzz::lower`] on every input.

fn main() {
    afl::fuzz!(|data: &[u8]| emissary_fuzz::lower(data));
}
