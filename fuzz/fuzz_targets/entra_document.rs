//! Fuzz target: Entra ID sign-in documents (a Graph `{"value":[...]}` response or a JSON array),
//! read by the streaming document reader.
#![no_main]

use portcullis_parse::ParseCtx;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = portcullis_parse::entra::parse_document_reader(data, &ParseCtx::default(), &mut |_| {
        n += 1
    });
});
