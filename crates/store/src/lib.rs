//! portcullis-store: (being written).
