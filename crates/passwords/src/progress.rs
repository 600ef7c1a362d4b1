//! Progress reporting hooks, so the library stays free of terminal code: the CLI implements
//! [`Progress`] with a progress bar when stderr is a terminal, tests and servers pass
//! [`NoProgress`].

/// Receives progress of a long operation, possibly from several threads.
pub trait Progress: Sync {
    /// A new phase with `total` units of work (bytes, partitions, hashes — the phase says).
    fn start(&self, _phase: &str, _total: u64) {}
    /// `n` more units done.
    fn advance(&self, _n: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Ignores progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
