#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrvault_fuzz::export_line(data));
