#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kubectl_pki_fuzz::k3s_bundle(data));
