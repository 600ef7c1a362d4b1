//! Cardinality sketches: a 64-bit linear-counting bitmap for the small per-key counts (distinct
//! accounts a source failed on, distinct hosts a network failed from, distinct passwords), and a
//! sliding-window counter. Both are a few bytes, so per-key state stays small.

use serde::{Deserialize, Serialize};

/// Distinct-count sketch in one `u64` (linear counting, m = 64): exact-ish up to a handful,
/// within ~10 % up to ~60, saturating near 250. Enough for thresholds of 2 to 50.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distinct64(pub u64);

impl Distinct64 {
    /// Adds an item given its 64-bit hash.
    #[inline]
    pub fn add(&mut self, hash: u64) {
        self.0 |= 1u64 << (hash >> 58);
    }
    #[inline]
    pub fn contains(&self, hash: u64) -> bool {
        self.0 & (1u64 << (hash >> 58)) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// Estimated number of distinct items added.
    pub fn estimate(&self) -> u32 {
        let ones = self.0.count_ones();
        if ones <= 1 {
            return ones;
        }
        let zeros = 64 - ones;
        if zeros == 0 {
            // Saturated: report the point where saturation becomes likely.
            return 250;
        }
        let m = 64.0f64;
        (m * (m / f64::from(zeros)).ln()).round() as u32
    }
    /// Estimated distinct items other than `hash` (e.g. accounts other than this one).
    pub fn estimate_without(&self, hash: u64) -> u32 {
        let mut d = *self;
        d.0 &= !(1u64 << (hash >> 58));
        d.estimate()
    }
}

/// A count over a sliding window, approximated with two aligned buckets (8 bytes):
/// `current + previous × (unexpired fraction of the previous bucket)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCount {
    bucket: u32,
    cur: u16,
    prev: u16,
}

impl WindowCount {
    fn roll(&mut self, now: u32, win: u32) {
        let b = now / win.max(1);
        if b == self.bucket {
            return;
        }
        if b < self.bucket {
            return; // an event from the past: count it in the current bucket
        }
        self.prev = if b == self.bucket.saturating_add(1) {
            self.cur
        } else {
            0
        };
        self.cur = 0;
        self.bucket = b;
    }
    pub fn add(&mut self, now: u32, win: u32, n: u16) {
        self.roll(now, win);
        self.cur = self.cur.saturating_add(n);
    }
    /// The count over the `win` seconds ending at `now`.
    pub fn value(&self, now: u32, win: u32) -> u32 {
        let win = win.max(1);
        let b = now / win;
        let (cur, prev) = if b <= self.bucket {
            (self.cur, self.prev)
        } else if b == self.bucket.saturating_add(1) {
            (0, self.cur)
        } else {
            (0, 0)
        };
        let into = now % win;
        u32::from(cur) + (u32::from(prev) * (win - into)) / win
    }
    pub fn reset(&mut self) {
        *self = WindowCount::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::mix64;

    #[test]
    fn linear_counting_is_close_for_small_sets() {
        for n in [0u64, 1, 2, 5, 10, 20, 40] {
            let mut d = Distinct64::default();
            for i in 0..n {
                d.add(mix64(i + 1000));
                d.add(mix64(i + 1000)); // duplicates do not count
            }
            let e = d.estimate() as f64;
            assert!(
                (e - n as f64).abs() <= (n as f64 * 0.25).max(1.0),
                "n={n} estimate={e}"
            );
        }
    }

    #[test]
    fn window_count_slides() {
        let mut w = WindowCount::default();
        for t in 0..100 {
            w.add(1000 + t, 600, 1);
        }
        assert_eq!(w.value(1099, 600), 100);
        // 600 s later the first bucket has half expired.
        let v = w.value(1500, 600);
        assert!(v < 100 && v > 0, "{v}");
        assert_eq!(w.value(3000, 600), 0);
    }
}
