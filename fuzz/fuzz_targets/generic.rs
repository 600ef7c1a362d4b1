//! Fuzz target: the `generic` line parser (`Format::Generic`), through the shared driver in lines.rs.
#![no_main]

#[path = "lines.rs"]
mod lines;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lines::run(portcullis_parse::detect::Format::Generic, data));
