//! AFL entry point of the `request` target (see `clearinghouse_fuzz::request`).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        clearinghouse_fuzz::request::run(data);
    });
}
