//! Fuzz target `alert_batch`: bytes → protobuf `AlertBatch` → `pipeline::prepare`.
//! The invariants are shared with `tests/fuzz_inputs.rs`.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::alert_batch(data));
