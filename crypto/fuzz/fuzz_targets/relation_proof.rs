#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_crypto::fuzzing::relation_proof(data));
