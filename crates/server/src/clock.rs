//! The wall clock, read only at the edges: a live request or a followed line is stamped when it
//! arrives, before it reaches the engine (which reads no clock).

use portcullis_core::Timestamp;

/// The wall clock as an event time.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_micros(d.as_micros() as i64)
}
