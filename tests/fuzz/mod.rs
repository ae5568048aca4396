//! Fuzzing every reader of outside input: Graph pages, the usage-report
//! CSVs, the app inventory export zip, plugin batches over the ABI,
//! parameter values, `invhost.toml` and rule files.
//!
//! Each target runs its corpus (`tests/fuzz/corpus/<target>/`, real and
//! hostile inputs kept in the repository) and then generated inputs: the
//! corpus mutated (bytes flipped, inserted, removed, duplicated, cut short,
//! with tokens of the format spliced in) and random bytes. What must hold
//! for every input: no panic, and a refusal is one line an operator can
//! read. Bounds are shown with inputs that never end or unpack without end.
//!
//! `PROPTEST_CASES` sets the generated inputs per target (256 by default);
//! a long run: `PROPTEST_CASES=20000 cargo nextest run -p tests -E 'test(fuzz::)'`.

use std::io::Read;
use std::path::PathBuf;

use connector_core::{Connector, ParamField, ParamKind, Parameters};
use connector_o365::parsers::{self, Report};
use proptest::collection::vec;
use proptest::prelude::*;

/// The corpus of one target: (file name, bytes), in name order.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus", dir.display());
    files
}

/// The seeds for mutation: the corpus minus the files too large to mutate
/// quickly (they run once, as they are).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    corpus(target)
        .into_iter()
        .map(|(_, bytes)| bytes)
        .filter(|bytes| bytes.len() <= 64 << 10)
        .collect()
}

/// One change to an input; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Flip(at, mask) => {
                if !bytes.is_empty() {
                    bytes[at % len] ^= mask.max(&1);
                }
            }
            Edit::Insert(at, what) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, what.iter().copied());
            }
            Edit::Remove(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end && bytes.len() < 1 << 20 {
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(end..end, copy);
                }
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Inputs for a target: its seeds mutated with its format's tokens, or
/// random bytes.
fn inputs(seeds: Vec<Vec<u8>>, tokens: &'static [&'static [u8]]) -> BoxedStrategy<Vec<u8>> {
    let token = prop_oneof![
        proptest::sample::select(tokens).prop_map(<[u8]>::to_vec),
        vec(any::<u8>(), 1..8),
    ];
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, m)| Edit::Flip(at, m)),
        (any::<usize>(), token).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Remove(at, n)),
        (any::<usize>(), 1..256usize).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    prop_oneof![
        4 => (proptest::sample::select(seeds), vec(edit, 1..6))
            .prop_map(|(seed, edits)| apply(seed, &edits)),
        1 => vec(any::<u8>(), 0..512),
    ]
    .boxed()
}

/// A refusal an operator can read: one line, not empty, not a page long.
fn one_line(target: &str, error: impl std::fmt::Display) {
    let error = error.to_string();
    assert!(
        !error.trim().is_empty() && !error.contains(['\n', '\r']) && error.len() < 2000,
        "{target}: the refusal is not one readable line: {error:?}"
    );
}

const JSON_TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"-1e999",
    b"\\u0000",
    b"\\ud800",
    b"\xff",
    b"\xc3",
    b"\"value\":",
    b"\"@odata.nextLink\":",
    b"https://",
    b"99999999999999999999999",
];

// ---- Graph pages ----

const ROOT: &str = "https://graph.microsoft.com";
const URL: &str = "https://graph.microsoft.com/v1.0/users";

fn check_page(body: &[u8]) {
    match parsers::graph_page(body, URL, ROOT) {
        Ok((_, Some(next))) => {
            // The bearer token follows the link: it stays on Graph's origin.
            let url = reqwest::Url::parse(&next).unwrap();
            assert_eq!(url.scheme(), "https", "{next}");
            assert_eq!(url.host_str(), Some("graph.microsoft.com"), "{next}");
            assert_eq!(url.port_or_known_default(), Some(443), "{next}");
            assert_ne!(next, URL);
        }
        Ok((_, None)) => {}
        Err(e) => one_line("graph page", &e),
    }
}

#[test]
fn graph_pages_from_the_corpus_are_read_or_refused_with_a_reason() {
    for (name, body) in corpus("graph_page") {
        let outcome = parsers::graph_page(&body, URL, ROOT);
        match name.as_str() {
            "users_page.json" => {
                let (items, next) = outcome.unwrap();
                assert_eq!(items.len(), 2);
                assert!(next.unwrap().contains("$skiptoken=X2"));
            }
            "last_page.json" | "empty.json" => assert_eq!(outcome.unwrap().1, None),
            "next_elsewhere.json" | "next_userinfo.json" | "next_http.json" => {
                let e = outcome.unwrap_err();
                assert!(e.contains("leads away from Microsoft Graph"), "{name}: {e}");
            }
            "next_same.json" => assert!(outcome.unwrap_err().contains("same page")),
            _ => one_line(&name, outcome.expect_err(&name)),
        }
        check_page(&body);
    }
}

proptest! {
    #[test]
    fn any_graph_page_is_read_or_refused_in_one_line(body in inputs(seeds("graph_page"), JSON_TOKENS)) {
        check_page(&body);
    }

    #[test]
    fn a_next_page_link_never_takes_the_token_elsewhere(
        parts in vec(proptest::sample::select(&[
            "https://", "http://", "HTTPS://", "graph.microsoft.com", "GRAPH.microsoft.com",
            "attacker.example", ".", "@", ":443", ":8443", ":", "/", "\\", "//", "%2e", "%40",
            "?", "#", "v1.0/users", "$skiptoken=1", " ", "\t", "[::1]", "xn--",
        ][..]), 1..8)
    ) {
        let next = parts.concat();
        let body = serde_json::json!({"value": [], "@odata.nextLink": next}).to_string();
        check_page(body.as_bytes());
    }
}

// ---- usage reports ----

const CSV_TOKENS: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\r",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\"\"",
    b"Yes",
    b"True",
    b"User Principal Name",
    b"Report Refresh Date",
    b"Product Type",
    b"ApplicationKey",
    b"DeviceId",
    b"0000000000000000000000000000000A",
    b"2026-11-30",
];

const REPORTS: [Report; 3] = [Report::AppUsage, Report::Activations, Report::ActiveUsers];

fn check_report(report: Report, bytes: Vec<u8>) {
    if let Err(e) = parsers::report_csv(report, std::io::Cursor::new(bytes)) {
        one_line("report", &e);
    }
}

#[test]
fn usage_reports_from_the_corpus_are_read_or_refused_with_a_reason() {
    let read = |name: &str, report| {
        let bytes = corpus("report_csv")
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1;
        parsers::report_csv(report, std::io::Cursor::new(bytes))
    };
    // Byte-order mark, quoting and concealed names.
    let (records, warnings) = read("app_usage.csv", Report::AppUsage).unwrap();
    let json = serde_json::to_string(&records).unwrap();
    assert!(json.contains("m365apps|ana@contoso.com|Word"), "{json}");
    assert_eq!(
        records.len(),
        12,
        "six apps each for ana and the concealed user, none for jürgen"
    );
    assert_eq!(
        warnings.len(),
        1,
        "concealed names are said once: {warnings:?}"
    );
    let (records, _) = read("activations.csv", Report::Activations).unwrap();
    assert_eq!(records.len(), 2, "a quoted newline is part of its cell");
    let (records, _) = read("active_users.csv", Report::ActiveUsers).unwrap();
    assert_eq!(
        records.len(),
        6,
        "one row per licensed service; the deleted user is left out"
    );
    let short = read("short_row.csv", Report::Activations).unwrap_err();
    assert!(
        short.contains("at line 2") && short.contains("3 fields where the header has 11"),
        "{short}"
    );
    let missing = read("missing_columns.csv", Report::Activations).unwrap_err();
    assert!(
        missing.contains("User Principal Name, Product Type are missing"),
        "{missing}"
    );
    let latin1 = read("latin1.csv", Report::Activations).unwrap_err();
    assert!(latin1.contains("not UTF-8"), "{latin1}");
    for (name, bytes) in corpus("report_csv") {
        for report in REPORTS {
            if let Err(e) = parsers::report_csv(report, std::io::Cursor::new(bytes.clone())) {
                one_line(&name, &e);
            }
        }
    }
}

/// A report that never ends: its one row grows forever.
struct Endless {
    head: std::io::Cursor<Vec<u8>>,
    served: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        // Stop the test, not the machine, if the bound were missing.
        assert!(
            self.served < 256 << 20,
            "the reader took 256 MiB of one row"
        );
        buf.fill(b'a');
        self.served += buf.len() as u64;
        Ok(buf.len())
    }
}

#[test]
fn a_report_row_without_end_is_refused_after_a_mebibyte() {
    for (report, head) in [
        (
            Report::Activations,
            &b"User Principal Name,Product Type\nana@contoso.com,"[..],
        ),
        (
            Report::AppUsage,
            &b"User Principal Name,Report Refresh Date,\""[..],
        ),
        (Report::ActiveUsers, &b"User Principal Name"[..]),
    ] {
        let endless = Endless {
            head: std::io::Cursor::new(head.to_vec()),
            served: 0,
        };
        let e = parsers::report_csv(report, endless).unwrap_err();
        assert!(e.contains("a row is longer than 1 MiB"), "{e}");
        one_line("endless report", &e);
    }
}

proptest! {
    #[test]
    fn any_usage_report_is_read_or_refused_in_one_line(
        bytes in inputs(seeds("report_csv"), CSV_TOKENS),
        which in 0..3usize,
    ) {
        check_report(REPORTS[which], bytes);
    }
}

// ---- the export zip ----

#[test]
fn export_zips_from_the_corpus_are_read_or_refused_and_a_bomb_is_stopped() {
    for (name, bytes) in corpus("export_zip") {
        let outcome = parsers::export_zip(bytes);
        match name.as_str() {
            "export.zip" | "stored.zip" => {
                let (records, _) = outcome.unwrap();
                // Two applications, three installations.
                assert_eq!(records.len(), 5, "{name}");
            }
            "bomb.zip" => {
                let e = outcome.unwrap_err();
                assert!(e.contains("unpacks to more than 64 MiB"), "{e}");
                one_line(&name, &e);
            }
            "no_csv.zip" => assert!(outcome.unwrap_err().contains("holds no CSV file")),
            _ => one_line(&name, outcome.expect_err(&name)),
        }
    }
}

#[test]
fn a_record_nested_without_end_is_refused_without_overflowing_the_stack() {
    let deep = format!(
        r#"{{"records": [{{"kind": "user", "source_key": "u1", "enabled": {}{}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = decode_batch(deep.as_bytes()).unwrap_err();
    one_line("deep batch", &e);
}

const ZIP_TOKENS: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\x08\x00",
    b".csv",
    b"\n",
    b",",
];

proptest! {
    #[test]
    fn any_export_zip_is_read_or_refused_in_one_line(bytes in inputs(seeds("export_zip"), ZIP_TOKENS)) {
        if let Err(e) = parsers::export_zip(bytes) {
            one_line("export zip", &e);
        }
    }
}

// ---- plugin batches over the ABI ----

use connector_core::host::{MAX_BATCH_BYTES, decode_batch};

#[test]
fn batches_from_the_corpus_are_taken_or_refused_with_a_reason() {
    for (name, bytes) in corpus("batch") {
        match (name.as_str(), decode_batch(&bytes)) {
            ("devices_users.json", outcome) => assert_eq!(outcome.unwrap().records.len(), 4),
            ("complete_only.json", outcome) => assert_eq!(outcome.unwrap().complete.len(), 2),
            // Nesting in a field the host ignores is skipped without recursion.
            ("deep.json", outcome) => assert!(outcome.unwrap().records.is_empty()),
            ("empty_key.json", outcome) => {
                assert!(outcome.unwrap_err().0.contains("empty source_key"));
            }
            (_, outcome) => one_line(&name, outcome.expect_err(&name)),
        }
    }
}

#[test]
fn a_huge_string_is_taken_and_a_huge_batch_refused() {
    let name = "x".repeat(8 << 20);
    let batch = serde_json::json!({"records": [{"kind": "user", "source_key": "u1", "display_name": name}]});
    assert_eq!(
        decode_batch(batch.to_string().as_bytes())
            .unwrap()
            .records
            .len(),
        1
    );
    let huge = format!(
        r#"{{"records": [{{"kind": "user", "source_key": "u1", "display_name": "{}"}}]}}"#,
        "x".repeat(MAX_BATCH_BYTES)
    );
    let e = decode_batch(huge.as_bytes()).unwrap_err();
    assert!(e.0.contains("more than the 64 MiB a batch may hold"), "{e}");
}

proptest! {
    #[test]
    fn any_batch_is_taken_or_refused_in_one_line(bytes in inputs(seeds("batch"), JSON_TOKENS)) {
        if let Err(e) = decode_batch(&bytes) {
            one_line("batch", &e);
        }
    }
}

// ---- parameter values ----

fn every_kind() -> Vec<ParamField> {
    let options = || vec!["D7".to_owned(), "D30".to_owned(), "Ünïcode".to_owned()];
    vec![
        ParamField::new("s", "S", ParamKind::String),
        ParamField::new("p", "P", ParamKind::String).pattern("[a-z]+(\\.[a-z]+)*", "dotted words"),
        ParamField::new("path", "Path", ParamKind::Path),
        ParamField::new("url", "Url", ParamKind::Url),
        ParamField::new("guid", "Guid", ParamKind::Guid),
        ParamField::new("mail", "Mail", ParamKind::Email),
        ParamField::new("b", "B", ParamKind::Bool),
        ParamField::new(
            "i",
            "I",
            ParamKind::Integer {
                min: Some(1),
                max: Some(64),
            },
        ),
        ParamField::new("c", "C", ParamKind::Choice { options: options() }),
        ParamField::new("m", "M", ParamKind::MultiChoice { options: options() }).required(),
        ParamField::new("secret", "Secret", ParamKind::Secret),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
        proptest::sample::select(&["D7", "D30", "true", "12", ""][..])
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn tenant_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(
            proptest::sample::select(
                &[
                    "contoso",
                    ".",
                    "-",
                    "com",
                    "onmicrosoft",
                    "/",
                    "..",
                    "?",
                    "#",
                    "%2F",
                    "@",
                    " ",
                    "\n",
                    "8c3f1f0e",
                    "7d0e",
                    "4a41",
                    "9d3c",
                    "1b2a3c4d5e6f",
                    "ü",
                ][..]
            ),
            1..8
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #[test]
    fn any_typed_value_is_parsed_or_refused_in_one_line(text in any::<String>(), value in json_value()) {
        for field in every_kind() {
            match field.parse_text(&text) {
                Ok(parsed) => prop_assert!(field.check_value(&parsed).is_ok()),
                Err(e) => one_line("parameter text", &e.0),
            }
            if let Err(e) = field.check_value(&value) {
                one_line("parameter value", &e.0);
            }
        }
    }

    #[test]
    fn a_tenant_the_o365_schema_accepts_cannot_change_the_sign_in_url(text in tenant_text()) {
        let schema = connector_o365::O365Connector.info().parameters;
        let tenant = schema.field("tenant_id").unwrap();
        match tenant.parse_text(&text) {
            Ok(_) => prop_assert!(
                !text.is_empty()
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "accepted tenant {:?}", text
            ),
            Err(e) => one_line("tenant_id", &e.0),
        }
        let mut params = Parameters::new();
        params.insert("tenant_id", text.clone());
        params.insert("client_id", "8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f");
        params.insert("client_secret", "s");
        params.insert("cloud_instance", text.clone());
        if let Err(e) = schema.validate(&params) {
            one_line("o365 parameters", e);
        }
    }
}

// ---- invhost.toml and rule files ----

const TOML_TOKENS: &[&[u8]] = &[
    b"\"",
    b"'",
    b"'''",
    b"\"\"\"",
    b"=",
    b"[",
    b"]",
    b"[[rule]]",
    b"[rule.match]",
    b"[consolidation]",
    b"\n",
    b"#",
    b"\\u00e9",
    b"\xc3\xa9",
    b"\xff",
    b"1979-05-27T07:32:00Z",
    b"name = '(?i)^(",
    b"id = \"",
    b"inf",
    b"nan",
    b"0x7fffffffffffffff",
];

#[test]
fn configuration_files_from_the_corpus_are_read_or_refused_with_their_line() {
    for (name, bytes) in corpus("invhost_toml") {
        let text = String::from_utf8_lossy(&bytes);
        let outcome = host_cli::config::parse(&text);
        match name.as_str() {
            "server.toml" | "sqlite.toml" => drop(outcome.unwrap()),
            "unknown_key.toml" => {
                let e = outcome.unwrap_err();
                assert!(e.starts_with("line 2: unknown field `unknown_key`"), "{e}");
                assert!(!e.contains("pw@db"), "the file is never quoted: {e}");
            }
            _ => one_line(&name, outcome.expect_err(&name)),
        }
    }
}

#[test]
fn rule_files_from_the_corpus_are_read_or_refused_with_their_line() {
    let mut catalog = repo_store::consolidation::Catalog::default_only().unwrap();
    for (name, bytes) in corpus("rule_file") {
        let text = String::from_utf8_lossy(&bytes);
        let outcome = catalog.append(&text, &name);
        match name.as_str() {
            "rules.toml" => outcome.unwrap(),
            "bad_pattern.toml" => {
                let e = outcome.unwrap_err().to_string();
                assert!(e.starts_with("bad_pattern.toml:6: invalid pattern"), "{e}");
            }
            "duplicate_id.toml" => {
                let e = outcome.unwrap_err().to_string();
                assert!(e.contains(":9: rule id 'a' appears twice"), "{e}");
            }
            _ => one_line(&name, outcome.unwrap_err()),
        }
    }
}

proptest! {
    #[test]
    fn any_configuration_file_is_read_or_refused_in_one_line(
        bytes in inputs(seeds("invhost_toml"), TOML_TOKENS)
    ) {
        if let Err(e) = host_cli::config::parse(&String::from_utf8_lossy(&bytes)) {
            one_line("invhost.toml", &e);
        }
    }

    #[test]
    fn any_rule_file_is_read_or_refused_in_one_line(bytes in inputs(seeds("rule_file"), TOML_TOKENS)) {
        let mut catalog = repo_store::consolidation::Catalog::empty();
        if let Err(e) = catalog.append(&String::from_utf8_lossy(&bytes), "rules.toml") {
            one_line("rule file", e);
        }
    }
}
