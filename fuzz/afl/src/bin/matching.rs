//! AFL entry point of the `matching` target (see `clearinghouse_fuzz::matching`).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        clearinghouse_fuzz::matching::run(data);
    });
}
