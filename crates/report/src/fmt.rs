//! How times, durations and counts are written for people: UTC always said, thousands
//! separated, durations in the largest sensible units.

use portcullis_core::Timestamp;

/// `2017-06-23 01:02 UTC` (seconds only when they are not zero).
pub fn time(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    if ts.unix_micros().rem_euclid(60 * Timestamp::MICROS_PER_SEC) == 0 {
        dt.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// `2017-06-23 01:02` for table cells whose header says UTC (seconds when not zero).
pub fn cell_time(ts: Timestamp) -> String {
    let t = time(ts);
    t.strip_suffix(" UTC").unwrap_or(&t).to_string()
}

/// `Fri 23 Jun 2017, 01:02 UTC` for prose.
pub fn time_words(ts: Timestamp) -> String {
    ts.to_chrono().format("%a %-d %b %Y, %H:%M UTC").to_string()
}

/// `3 h 12 min`, `41 days 2 h`, `45 s`; negative spans are written as `0 s`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        if h > 0 && d < 10 {
            format!("{d} day{} {h} h", plural(d))
        } else {
            format!("{d} day{}", plural(d))
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h} h {m} min")
        } else {
            format!("{h} h")
        }
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 account`, `2 accounts`, `3 addresses`, `4 entries`.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    let plural = if noun.ends_with('s')
        || noun.ends_with('x')
        || noun.ends_with("sh")
        || noun.ends_with("ch")
    {
        format!("{noun}es")
    } else if let Some(stem) = noun
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{noun}s")
    };
    format!("{} {plural}", count(n))
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_durations_read_naturally() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(counted(1, "account"), "1 account");
        assert_eq!(counted(9000, "account"), "9,000 accounts");
        assert_eq!(counted(2, "address"), "2 addresses");
        assert_eq!(counted(3, "entry"), "3 entries");
        assert_eq!(counted(0, "day"), "0 days");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(3 * 3600 + 12 * 60 + 5), "3 h 12 min");
        assert_eq!(duration(86_400 + 7200), "1 day 2 h");
        assert_eq!(duration(41 * 86_400 + 7200), "41 days");
        assert_eq!(duration(-5), "0 s");
    }

    #[test]
    fn times_say_utc() {
        let t = Timestamp::parse_rfc3339("2017-06-23T01:02:00Z").unwrap();
        assert_eq!(time(t), "2017-06-23 01:02 UTC");
        assert_eq!(time(t.plus_secs(7)), "2017-06-23 01:02:07 UTC");
        assert_eq!(time_words(t), "Fri 23 Jun 2017, 01:02 UTC");
    }
}
