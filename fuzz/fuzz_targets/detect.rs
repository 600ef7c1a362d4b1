//! Fuzz target: format detection on arbitrary file heads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = portcullis_parse::detect::detect(data);
    if let Some(f) = d.format {
        assert_eq!(f.line_parser().is_none(), f.is_document());
    }
});
