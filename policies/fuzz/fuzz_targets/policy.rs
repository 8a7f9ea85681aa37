#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_policies::fuzzing::policy(data));
