//! portcullis-server: (being written).
