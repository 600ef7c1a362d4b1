//! portcullis-sim: (being written).
