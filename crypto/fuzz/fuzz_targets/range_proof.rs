#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_crypto::fuzzing::range_proof(data));
