//! portcullis-parse: (being written).
