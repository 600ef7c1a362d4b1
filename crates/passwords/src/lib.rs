//! portcullis-passwords: (being written).
