#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_gateway::fuzzing::api_json(data));
