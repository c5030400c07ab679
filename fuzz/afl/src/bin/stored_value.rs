//! AFL entry point of the `stored_value` target (see `clearinghouse_fuzz::stored`).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        clearinghouse_fuzz::stored::run(data);
    });
}
