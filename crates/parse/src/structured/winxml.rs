//! Rendered Windows event XML (`<Event xmlns=…><System>…</System><EventData><Data Name=…>`),
//! one event per line, read into a [`WinEvent`] with `quick-xml`.
//!
//! This is the form of Windows Event Forwarding dumps, `wevtutil qe /f:xml`, CrowdSec's
//! `wineventlog` acquisition and Event Viewer's "copy details as XML" (whose lines carry
//! stray `- ` markers between elements, ignored here).

use super::common::reason;
use super::{Data, WinEvent};
use portcullis_core::Timestamp;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;

/// Which text is being collected.
enum Collect {
    None,
    EventId,
    Computer,
    Channel,
    Data(String),
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, &'static str> {
    for a in e.attributes() {
        let a = a.map_err(|_| reason::BAD_XML)?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| reason::BAD_XML)?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn collecting(c: &Collect) -> bool {
    !matches!(c, Collect::None)
}

/// Parses one rendered event.
pub(super) fn parse(line: &str) -> Result<WinEvent<'static>, &'static str> {
    let mut r = quick_xml::Reader::from_str(line);
    let mut seen_event = false;
    let mut event_id = None;
    let mut ts = None;
    let mut provider = None;
    let mut computer = None;
    let mut channel = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut collect = Collect::None;
    let mut text = String::new();
    loop {
        let ev = r.read_event().map_err(|_| reason::BAD_XML)?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                match e.local_name().as_ref() {
                    "Event" => seen_event = true,
                    "Provider" => provider = attr(e, "Name")?,
                    "TimeCreated" => {
                        if let Some(t) = attr(e, "SystemTime")? {
                            ts = Some(Timestamp::parse_rfc3339(&t).ok_or(reason::BAD_TIMESTAMP)?);
                        }
                    }
                    "EventID" if !empty => collect = Collect::EventId,
                    "Computer" if !empty => collect = Collect::Computer,
                    "Channel" if !empty => collect = Collect::Channel,
                    "Data" => {
                        let name = attr(e, "Name")?.unwrap_or_default();
                        if empty {
                            pairs.push((name, String::new()));
                        } else {
                            collect = Collect::Data(name);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) if collecting(&collect) => text.push_str(&t.xml10_content()),
            // CDATA is literal: escape it so that the final unescape restores it.
            Event::CData(t) if collecting(&collect) => {
                text.push_str(&quick_xml::escape::escape(t.into_inner()))
            }
            Event::GeneralRef(g) if collecting(&collect) => {
                text.push('&');
                text.push_str(&g.into_inner());
                text.push(';');
            }
            Event::End(_) => {
                let c = std::mem::replace(&mut collect, Collect::None);
                if !matches!(c, Collect::None) {
                    let v = quick_xml::escape::unescape(&text)
                        .map_err(|_| reason::BAD_XML)?
                        .into_owned();
                    match c {
                        Collect::EventId => {
                            event_id = Some(v.trim().parse::<u32>().map_err(|_| reason::BAD_FIELD)?)
                        }
                        Collect::Computer => computer = Some(v),
                        Collect::Channel => channel = Some(v),
                        Collect::Data(name) => pairs.push((name, v)),
                        Collect::None => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_event {
        return Err(reason::UNRECOGNISED);
    }
    Ok(WinEvent {
        event_id: event_id.ok_or(reason::MISSING_FIELD)?,
        ts,
        computer: computer.map(Cow::Owned),
        provider: provider.map(Cow::Owned),
        channel: channel.map(Cow::Owned),
        message: None,
        ecs_source: None,
        data: Data::Pairs(pairs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_system_and_named_data() {
        let ev = parse(r#"- <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">- <System>  <Provider Name="Microsoft-Windows-Security-Auditing" Guid="{x}" />   <EventID>4625</EventID> <TimeCreated SystemTime="2022-04-28T16:09:28.9443547Z" /> <Channel>Security</Channel>   <Computer>exchange-1.mydomain.test</Computer></System>- <EventData>  <Data Name="TargetUserName">a&amp;b</Data> <Data Name="Empty"/> <Data>unnamed</Data></EventData></Event>"#).unwrap();
        assert_eq!(ev.event_id, 4625);
        assert_eq!(ev.computer.as_deref(), Some("exchange-1.mydomain.test"));
        assert_eq!(ev.channel.as_deref(), Some("Security"));
        assert_eq!(
            ev.provider.as_deref(),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(ev.get("TargetUserName").as_deref(), Some("a&b"));
        assert_eq!(ev.get("Empty"), None);
        assert_eq!(ev.unnamed(), vec!["unnamed"]);
        assert_eq!(
            ev.ts.unwrap(),
            Timestamp::parse_rfc3339("2022-04-28T16:09:28.9443547Z").unwrap()
        );
    }

    #[test]
    fn broken_xml_is_a_reason_not_a_panic() {
        assert_eq!(
            parse("<Event><System><EventID>46").unwrap_err(),
            reason::MISSING_FIELD
        );
        assert!(parse("<Event><System><EventID>x</EventID></System></Event>").is_err());
        assert_eq!(parse("<Foo/>").unwrap_err(), reason::UNRECOGNISED);
        assert!(parse("<Event a='&bogus;'>").is_err());
    }
}
