//! The human summary of a report, for a terminal: what happened, in words, most important first.
//!
//! It renders a [`Report`] and nothing else, so what an admin reads and what tools read from
//! `--format json` never disagree.

use portcullis_core::report::Report;
use std::fmt::Write;

/// How many rows of each list to show before "(+N more)".
const SHOW: usize = 10;

/// Thousands separators for counts (`1234567` → `1,234,567`).
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn minutes(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 3 * 3600 {
        format!("{} min", secs / 60)
    } else if secs < 3 * 86400 {
        format!("{:.1} h", secs as f64 / 3600.0)
    } else {
        format!("{:.1} days", secs as f64 / 86400.0)
    }
}

fn more(total: usize) -> String {
    if total > SHOW {
        format!(
            "  (+{} more; --format json lists all)\n",
            count((total - SHOW) as u64)
        )
    } else {
        String::new()
    }
}

/// Why lines and login attempts differ beyond the skipped lines, when they do: ", A absorbed
/// into other attempts, X more than one per line" (empty when every line is one attempt or
/// skipped). `lines + extra_events = events + absorbed + skipped` always holds.
pub fn accounting_note(i: &portcullis_core::report::InputSummary) -> String {
    let mut s = String::new();
    if i.absorbed > 0 {
        let _ = write!(s, ", {} absorbed into other attempts", count(i.absorbed));
    }
    if i.extra_events > 0 {
        let _ = write!(s, ", {} more than one per line", count(i.extra_events));
    }
    s
}

/// Renders the report as plain text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let i = &r.input;
    let span = match (i.first_event, i.last_event) {
        (Some(a), Some(b)) => format!(" ({a} → {b})"),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "Read {} file(s), {} lines: {} login attempts{span}",
        i.files.len(),
        count(i.lines),
        count(i.events),
    );
    let note = accounting_note(i);
    if !note.is_empty() {
        let _ = writeln!(o, "  accounting: {}", note.trim_start_matches(", "));
    }
    if !i.events_by_outcome.is_empty() {
        let parts: Vec<String> = i
            .events_by_outcome
            .iter()
            .map(|(k, v)| format!("{} {k}", count(*v)))
            .collect();
        let _ = writeln!(o, "  outcomes: {}", parts.join(" · "));
    }
    if i.skipped > 0 {
        let mut reasons: Vec<(&String, &u64)> = i.skipped_by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = reasons
            .iter()
            .map(|(k, v)| format!("{k} {}", count(**v)))
            .collect();
        let _ = writeln!(
            o,
            "  skipped: {} lines ({})",
            count(i.skipped),
            parts.join(", ")
        );
    }
    if !r.verdicts.is_empty() {
        let parts: Vec<String> = r
            .verdicts
            .iter()
            .map(|(k, v)| format!("{} {k}", count(*v)))
            .collect();
        let _ = writeln!(
            o,
            "  verdicts a live server would have given: {}",
            parts.join(" · ")
        );
    }

    let _ = writeln!(o);
    if r.campaigns.is_empty() {
        let _ = writeln!(o, "No campaign detected.");
    } else {
        let _ = writeln!(o, "CAMPAIGNS ({})", r.campaigns.len());
        for c in r.campaigns.iter().take(SHOW) {
            let _ = writeln!(
                o,
                "  {} {}: {} → {}, detected {} ({} after its first attempt)",
                c.id,
                c.kind.as_str(),
                c.first_seen,
                c.last_seen,
                c.detected_at,
                minutes(c.detected_at.secs_since(c.first_seen)),
            );
            let _ = writeln!(
                o,
                "     {} source(s) · {} account(s) targeted · {} attempts",
                count(c.sources.len() as u64),
                count(c.accounts_targeted),
                count(c.attempts)
            );
            if !c.summary.is_empty() {
                let _ = writeln!(o, "     {}", c.summary);
            }
            let shown: Vec<String> = c.sources.iter().take(5).map(|s| s.to_string()).collect();
            if !shown.is_empty() {
                let rest = c.sources.len().saturating_sub(5);
                let tail = if rest > 0 {
                    format!(" (+{} more)", count(rest as u64))
                } else {
                    String::new()
                };
                let _ = writeln!(o, "     sources: {}{tail}", shown.join(", "));
            }
        }
        o.push_str(&more(r.campaigns.len()));
    }

    if !r.compromised_accounts.is_empty() {
        let _ = writeln!(
            o,
            "\nCOMPROMISED ACCOUNTS ({}): reset their passwords and review their sessions",
            r.compromised_accounts.len()
        );
        for a in r.compromised_accounts.iter().take(SHOW) {
            let src = a
                .source
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into());
            let camp = a.campaign.as_deref().unwrap_or("-");
            let _ = writeln!(
                o,
                "  {} at {} from {src} (campaign {camp}): {}",
                a.account, a.at, a.evidence
            );
        }
        o.push_str(&more(r.compromised_accounts.len()));
    }

    if !r.flagged_sources.is_empty() {
        let _ = writeln!(o, "\nFLAGGED SOURCES ({})", r.flagged_sources.len());
        for s in r.flagged_sources.iter().take(SHOW) {
            let camp = s.campaign.as_deref().unwrap_or("-");
            let _ = writeln!(
                o,
                "  {} since {} (campaign {camp}): {}",
                s.source, s.first_flagged, s.reason
            );
        }
        o.push_str(&more(r.flagged_sources.len()));
    }

    if !r.accounts_at_risk.is_empty() {
        let _ = writeln!(o, "\nACCOUNTS AT RISK ({})", r.accounts_at_risk.len());
        for a in r.accounts_at_risk.iter().take(SHOW) {
            let _ = writeln!(o, "  {} since {}: {}", a.account, a.since, a.reason);
        }
        o.push_str(&more(r.accounts_at_risk.len()));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::report::{Campaign, CampaignKind, CompromisedAccount, InputSummary};
    use portcullis_core::{Outcome, Timestamp};

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn summary_names_campaigns_and_fallen_accounts() {
        let mut input = InputSummary {
            files: vec!["mail.log".into()],
            lines: 12000,
            events: 3000,
            ..Default::default()
        };
        input.events_by_outcome.insert(Outcome::BadPassword, 2900);
        let mut r = Report::new(input);
        let t0 = Timestamp::parse_rfc3339("2017-06-23T22:00:00Z").unwrap();
        r.campaigns.push(Campaign {
            id: "c1".into(),
            kind: CampaignKind::PasswordSpray,
            first_seen: t0,
            detected_at: t0.plus_secs(480),
            last_seen: t0.plus_secs(3600),
            sources: vec!["198.51.100.0/24".parse().unwrap()],
            accounts_targeted: 2500,
            attempts: 2900,
            summary: String::new(),
            accounts: vec![],
        });
        r.compromised_accounts.push(CompromisedAccount {
            account: "bob@example.org".into(),
            at: t0.plus_secs(900),
            source: Some("198.51.100.7".parse().unwrap()),
            campaign: Some("c1".into()),
            evidence: "success from a spray source".into(),
        });
        let s = render(&r);
        assert!(s.contains("12,000 lines: 3,000 login attempts"), "{s}");
        assert!(s.contains("2,900 bad_password"), "{s}");
        assert!(s.contains("c1 password_spray"), "{s}");
        assert!(s.contains("(8 min after its first attempt)"), "{s}");
        assert!(s.contains("2,500 account(s) targeted"), "{s}");
        assert!(s.contains("COMPROMISED ACCOUNTS (1)"), "{s}");
        assert!(
            s.contains("bob@example.org at 2017-06-23T22:15:00Z from 198.51.100.7"),
            "{s}"
        );
    }

    #[test]
    fn quiet_logs_say_so() {
        let s = render(&Report::new(InputSummary::default()));
        assert!(s.contains("No campaign detected."));
    }
}
