//! Every record `collect --demo` writes, compared with `fixtures/golden/demo.digest`: one line
//! per record with its kind, its id and a hash of its JSON, sorted. What changes from run to run
//! is masked first: loopback ports, times (the demo's data is relative to now), and the ids of
//! Confluence audit records, which Atlassian derives from their times. Any other change to any
//! record (a field, a value, a record more or less) fails the test, naming the records.
//!
//! A change of the schema or of the demo data is a decision: `UPDATE_GOLDEN=1 cargo test
//! golden` rewrites the file, and the diff shows which records changed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{out, ATLASSIAN_ENV};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/demo.digest")
}

/// FNV-1a: stable across Rust versions and machines, unlike the standard library's hasher.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `text` with loopback ports and RFC 3339 times masked.
fn mask(text: &str) -> String {
    const LOOPBACK: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(LOOPBACK) {
            out.push_str("127.0.0.1:<port>");
            rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        } else if let Some(len) = time_at(rest) {
            out.push_str("<time>");
            rest = &rest[len..];
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The length of the RFC 3339 time (`2026-12-06T07:22:10Z`, fractions allowed) `text` starts
/// with, if it starts with one.
fn time_at(text: &str) -> Option<usize> {
    let shape = "dddd-dd-ddTdd:dd:dd";
    let bytes = text.as_bytes();
    if bytes.len() < shape.len() + 1 {
        return None;
    }
    for (i, expected) in shape.bytes().enumerate() {
        let ok = match expected {
            b'd' => bytes[i].is_ascii_digit(),
            other => bytes[i] == other,
        };
        if !ok {
            return None;
        }
    }
    let mut end = shape.len();
    if bytes[end] == b'.' {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    (bytes.get(end) == Some(&b'Z')).then_some(end + 1)
}

/// The masked record: every string masked, and the time-derived ids of audit records.
fn normalize(mut record: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::String(text) => *text = mask(text),
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(fields) => fields.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut record);
    if record["kind"] == "event" && record["source"] == "confluence.audit" {
        record["event_id"] = Value::from("<from the time>");
        record["id"] = Value::from("<site>/event/confluence.audit/<from the time>");
    }
    record
}

/// One digest line per record, sorted.
fn digest(jsonl: &str) -> Vec<String> {
    let mut lines: Vec<String> = jsonl
        .lines()
        .map(|line| {
            let record = normalize(serde_json::from_str(line).expect("each line is JSON"));
            let text = serde_json::to_string(&record).expect("JSON");
            let (kind, id) = (&record["kind"], &record["id"]);
            format!(
                "{}\t{}\t{:016x}",
                kind.as_str().unwrap_or("?"),
                id.as_str().unwrap_or("?"),
                fnv(text.as_bytes())
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_demo_writes_exactly_the_golden_records() {
    let out = out();
    let mut command = assert_cmd::Command::cargo_bin("atlassian-inventory").expect("built");
    for name in ATLASSIAN_ENV {
        command.env_remove(name);
    }
    command
        .args(["collect", "--demo", "--quiet", "--output"])
        .arg(&out.path)
        .assert()
        .code(0);
    let got = digest(&std::fs::read_to_string(&out.path).expect("output written"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(), got.join("\n") + "\n").expect("golden written");
        return;
    }
    let text = std::fs::read_to_string(golden()).expect("fixtures/golden/demo.digest");
    let want: Vec<String> = text.lines().map(String::from).collect();
    if got != want {
        let (got_set, want_set): (BTreeSet<_>, BTreeSet<_>) =
            (got.iter().collect(), want.iter().collect());
        let new: Vec<_> = got_set.difference(&want_set).take(20).collect();
        let gone: Vec<_> = want_set.difference(&got_set).take(20).collect();
        panic!(
            "the demo's records changed ({} now, {} in the golden file)\nnew or changed:\n{new:#?}\n\
             gone or changed:\n{gone:#?}\n(UPDATE_GOLDEN=1 rewrites the file when the change is \
             meant)",
            got.len(),
            want.len()
        );
    }
}

#[test]
fn masking_keeps_everything_but_ports_and_times() {
    assert_eq!(
        mask(
            "http://127.0.0.1:41575/x at 2026-12-06T07:22:10.23Z, 2026-12-06T07:22:10Z; 2026-12-06"
        ),
        "http://127.0.0.1:<port>/x at <time>, <time>; 2026-12-06"
    );
    assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
}
