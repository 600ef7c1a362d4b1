//! The shared driver of the line-format fuzz targets: one input split into lines and fed to a
//! fresh per-stream parser of the given format, so its cross-line state (dedup windows, credits,
//! the year guesser) is exercised too. Checks the `LineResult` contract on every line.

use portcullis_parse::detect::Format;
use portcullis_parse::{LineResult, ParseCtx};

pub fn run(format: Format, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parser = format.line_parser().expect("line format");
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
}
