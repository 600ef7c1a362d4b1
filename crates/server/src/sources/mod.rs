//! Event sources besides the HTTP APIs: log files followed across rotation ([`follow`]) and
//! the syslog receiver ([`syslog`]). Each parses lines into `AuthEvent`s and hands them to an
//! [`EventSink`]: the hub in `serve`, anything else in tests. Sources know nothing of the
//! engine or the store.

pub mod follow;
pub mod syslog;

use portcullis_core::AuthEvent;

/// Where a source delivers its events, in the order it read them.
pub trait EventSink: Send + Sync + 'static {
    fn deliver(&self, ev: &AuthEvent);
}

impl<F: Fn(&AuthEvent) + Send + Sync + 'static> EventSink for F {
    fn deliver(&self, ev: &AuthEvent) {
        self(ev)
    }
}
