//! Fuzz target `division_code`: `DivisionCode::parse` and `is_valid_prefix`.
//! The invariants are shared with `tests/fuzz_inputs.rs`.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::division_code_bytes(data));
