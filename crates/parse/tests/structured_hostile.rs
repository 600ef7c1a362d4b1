//! Hostile input to the structured parsers: never a panic, bounded work, a reason for every
//! rejection.

use portcullis_parse::{LineResult, ParseCtx, entra, generic, windows};
use proptest::prelude::*;

type LineFn = fn(&str, &ParseCtx, &mut Vec<portcullis_core::AuthEvent>) -> LineResult;
const PARSERS: [(&str, LineFn); 3] = [
    ("windows", windows::parse_line),
    ("entra", entra::parse_line),
    ("generic", generic::parse_line),
];

/// The Windows fast path and general path give the same result and events.
fn windows_paths_agree(line: &str) {
    let ctx = ParseCtx::default();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let ra = windows::parse_line(line, &ctx, &mut a);
    let rb = windows::parse_line_general(line, &ctx, &mut b);
    assert_eq!(ra, rb, "{line}");
    assert_eq!(a, b, "{line}");
}

fn all(line: &str) -> Vec<LineResult> {
    windows_paths_agree(line);
    let ctx = ParseCtx::default();
    PARSERS
        .iter()
        .map(|(_, f)| {
            let mut out = Vec::new();
            let r = f(line, &ctx, &mut out);
            if let LineResult::Events(n) = r {
                assert_eq!(n, out.len());
            }
            r
        })
        .collect()
}

#[test]
fn deep_nesting_is_bad_json_not_a_stack_overflow() {
    for depth in [200usize, 100_000] {
        let line = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for r in all(&line) {
            assert_eq!(r, LineResult::Skip("bad_json"), "depth {depth}");
        }
        let obj = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        for r in all(&obj) {
            assert_eq!(r, LineResult::Skip("bad_json"), "depth {depth}");
        }
        let mut out = Vec::new();
        assert!(entra::parse_document(&line, &ParseCtx::default(), &mut out).is_err());
    }
    // Deep XML is read element by element without recursion.
    let xml = format!("<Event>{}", "<a>".repeat(100_000));
    assert!(matches!(all(&xml)[0], LineResult::Skip(_)));
}

#[test]
fn oversize_lines_are_skipped_unread() {
    let pad = "x".repeat(1 << 20);
    let line = format!(r#"{{"EventID":4625,"pad":"{pad}"}}"#);
    for r in all(&line) {
        assert_eq!(r, LineResult::Skip("line_too_long"));
    }
}

#[test]
fn truncated_real_lines_never_panic() {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/windows-evtx-to-mitre/ID4625-OpenSSH-brutforce-with-valid-users.jsonl"
    );
    let text = std::fs::read_to_string(p).unwrap();
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/crowdsec-hub-tests/windows-bf/windows-bf.log"
    ))
    .unwrap();
    for line in text.lines().take(3).chain(xml.lines().take(1)) {
        for cut in (0..line.len()).filter(|&i| line.is_char_boundary(i)) {
            all(&line[..cut]);
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        prop_oneof![
            Just("0xc000006a".to_string()),
            Just("-".to_string()),
            Just("::ffff:10.0.0.1".to_string()),
            Just("2020-10-22T08:29:55Z".to_string()),
            ".{0,12}",
        ]
        .prop_map(serde_json::Value::String),
    ];
    let keys = prop_oneof![
        Just("EventID".to_string()),
        Just("Event".to_string()),
        Just("System".to_string()),
        Just("EventData".to_string()),
        Just("TargetUserName".to_string()),
        Just("Status".to_string()),
        Just("SubStatus".to_string()),
        Just("IpAddress".to_string()),
        Just("LogonType".to_string()),
        Just("@timestamp".to_string()),
        Just("winlog".to_string()),
        Just("event_data".to_string()),
        Just("properties".to_string()),
        Just("status".to_string()),
        Just("errorCode".to_string()),
        Just("userPrincipalName".to_string()),
        Just("createdDateTime".to_string()),
        Just("value".to_string()),
        Just("ts".to_string()),
        Just("account".to_string()),
        Just("outcome".to_string()),
        "[a-z]{1,6}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,400}") {
        all(&s);
        let mut out = Vec::new();
        let _ = entra::parse_document(&s, &ParseCtx::default(), &mut out);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_text_never_panic(b in prop::collection::vec(any::<u8>(), 0..400)) {
        all(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(v in json_value()) {
        let line = serde_json::to_string(&v).unwrap();
        all(&line);
        let mut out = Vec::new();
        let _ = entra::parse_document(&line, &ParseCtx::default(), &mut out);
    }

    /// Event ids whose interpretation depends on the provider or on free text, with arbitrary
    /// (multi-byte) provider, channel and message strings.
    #[test]
    fn arbitrary_provider_and_message_text_never_panics(
        id in prop::sample::select(vec![4u32, 18456, 33205, 4624, 4625, 4648, 4768, 4771, 4776]),
        provider in ".{0,12}",
        channel in ".{0,24}",
        text in ".{0,60}",
        user in ".{0,10}",
    ) {
        let rec = serde_json::json!({
            "EventID": id, "SourceName": provider, "Channel": channel,
            "EventTime": "2021-05-21 20:43:03", "Message": text, "payload": text,
            "TargetUserName": user, "Status": text, "IpAddress": text, "LogonType": text,
        });
        all(&rec.to_string());
        let evtx = serde_json::json!({"Event": {"System": {
            "EventID": id, "Provider": {"#attributes": {"Name": provider}}, "Channel": channel,
            "TimeCreated": {"#attributes": {"SystemTime": "2021-05-21T20:43:03Z"}}},
            "EventData": {"Data": {"#text": [user, text, text]}, "payload": text}}});
        all(&evtx.to_string());
    }

    /// Plausible NXLog / evtx-JSON records with random field subsets, spellings and values:
    /// the fast path never disagrees with the general path.
    #[test]
    fn windows_fast_path_agrees_on_plausible_records(
        id in prop::sample::select(vec![4u32, 4624, 4625, 4648, 4672, 4768, 4771, 4776, 18456]),
        fields in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "TargetUserName", "targetusername", "TargetDomainName", "TargetUserSid",
                    "Status", "SubStatus", "FailureCode", "LogonType", "IpAddress", "ipaddress",
                    "WorkstationName", "Workstation", "payload", "Hostname", "Computer",
                    "SourceName", "ProviderName", "Channel", "Message", "@timestamp", "EventTime",
                    "TimeCreated", "Data", "winlog", "Other",
                ]),
                prop_oneof![
                    Just(serde_json::json!("-")),
                    Just(serde_json::json!("")),
                    Just(serde_json::json!(" bob ")),
                    Just(serde_json::json!("WEC$")),
                    Just(serde_json::json!("S-1-5-18")),
                    Just(serde_json::json!("0xc000006a")),
                    Just(serde_json::json!("0x0")),
                    Just(serde_json::json!("3")),
                    Just(serde_json::json!(5)),
                    Just(serde_json::json!("::ffff:10.1.2.3")),
                    Just(serde_json::json!("2020-10-22T08:29:55Z")),
                    Just(serde_json::json!("2020-10-22 04:29:53")),
                    Just(serde_json::json!("OpenSSH")),
                    Just(serde_json::json!("Failed password for x from 10.0.0.1 port 1 ssh2")),
                    Just(serde_json::json!(null)),
                    Just(serde_json::json!(true)),
                    Just(serde_json::json!({"#text": "alice"})),
                    Just(serde_json::json!([1])),
                ],
            ),
            0..12,
        ),
        evtx in any::<bool>(),
    ) {
        let mut data = serde_json::Map::new();
        for (k, v) in fields {
            data.insert(k.to_string(), v);
        }
        let line = if evtx {
            serde_json::json!({"Event": {"System": {
                "EventID": id, "Provider": {"#attributes": {"Name": "OpenSSH"}},
                "TimeCreated": {"#attributes": {"SystemTime": "2021-05-21T20:43:03Z"}},
                "Computer": "dc1"}, "EventData": data}})
        } else {
            data.insert("EventID".into(), serde_json::json!(id));
            serde_json::Value::Object(data)
        };
        windows_paths_agree(&line.to_string());
    }

    #[test]
    fn arbitrary_event_xml_never_panics(
        id in prop_oneof![Just("4625".to_string()), Just("4776".to_string()), "[0-9x&;<>]{0,6}"],
        name in "[A-Za-z&;#0-9<>\"' ]{0,16}",
        value in "[A-Za-z&;#0-9<>\"'. -]{0,24}",
    ) {
        let line = format!(
            r#"<Event><System><EventID>{id}</EventID><TimeCreated SystemTime="2022-04-29T12:36:01Z"/></System><EventData><Data Name="{name}">{value}</Data><Data Name="TargetUserName">{value}</Data><Data Name="Status">{value}</Data><Data Name="IpAddress">{value}</Data></EventData></Event>"#
        );
        all(&line);
    }
}
