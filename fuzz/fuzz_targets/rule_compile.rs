//! Fuzz target `rule_compile`: text → condition parser, checker and
//! `compile_set`, on a 2 MiB stack.
//! The invariants are shared with `tests/fuzz_inputs.rs`.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::rule_bytes(data));
