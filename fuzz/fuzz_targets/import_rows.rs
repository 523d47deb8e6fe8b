//! Fuzz target `import_rows`: CSV → `graph::import::read_rows`, every format.
//! The invariants are shared with `tests/fuzz_inputs.rs`.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::import_bytes(data));
