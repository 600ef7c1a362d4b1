//! Fuzz target: the `postfix` line parser (`Format::Postfix`) over one input split into lines, so
//! the parser's cross-line state (dedup windows, credits, year guesser) is exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_parse::detect::Format;
use portcullis_parse::{LineResult, ParseCtx};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parser = Format::Postfix.line_parser().expect("line format");
    let ctx = ParseCtx {
        year: 2024,
        ..Default::default()
    };
    let mut out = Vec::new();
    for line in text.split('\n') {
        let before = out.len();
        match parser.parse_line(line, &ctx, &mut out) {
            LineResult::Events(n) => assert_eq!(out.len() - before, n),
            LineResult::Skip(_) => assert_eq!(out.len(), before),
        }
        if out.len() > 4096 {
            out.clear();
        }
    }
    parser.finish(&ctx, &mut out);
});
