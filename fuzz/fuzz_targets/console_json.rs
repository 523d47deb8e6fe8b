//! Fuzz target `console_json`: the web console's JSON request bodies.
//! The invariants are shared with `tests/fuzz_inputs.rs`.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::console_json::console_json(data));
