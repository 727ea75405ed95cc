//! Redaction of anything that looks like a credential in text quoted from a server: an error
//! body, a token endpoint's refusal, a redirect's `error` parameter.
//!
//! Servers echo what they were sent more often than they should (a proxy's 500 page quoting the
//! request headers, a token endpoint repeating the refused refresh token), and such text ends up
//! in error messages, logs and the run summary. [`redact`] replaces, with `[REDACTED]`:
//!
//! - Atlassian API tokens and keys (`ATATT…`, `ATCTT…`, `ATOAT…`);
//! - JSON Web Tokens (OAuth access and refresh tokens): `eyJ…` with three dot-separated
//!   base64url parts;
//! - the value after `Bearer` or `Basic` (the scheme word stays, so the message still says which
//!   credential was involved);
//! - the value of a key that names a credential (`token`, `access_token`, `client_secret`,
//!   `password`, `api_key`, `authorization`, …) in JSON (`"token": "…"`) or a query or form
//!   string (`token=…`);
//! - long high-entropy runs: 32 or more base64 characters mixing upper case, lower case and
//!   digits, or 32 or more hex digits. UUIDs (account and cloud ids) are kept: they name
//!   things, they do not grant access.
//!
//! It is a pattern match, not a guarantee: a secret with none of these shapes is not found.
//! Secrets the program holds never reach such text in the first place (see the `http` module).

/// What a redacted value is replaced with.
const MARK: &str = "[REDACTED]";

/// Prefixes of Atlassian's API tokens (`ATATT`), admin API keys and other credentials.
const ATLASSIAN_PREFIXES: [&str; 3] = ["ATATT", "ATCTT", "ATOAT"];

/// Words in a key's name that make its value a credential.
const SECRET_KEYS: [&str; 8] = [
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
];

/// A run this long (or longer) of base64 characters is checked for entropy.
const LONG_RUN: usize = 32;

/// `text` with every credential-looking part replaced by `[REDACTED]`.
pub(crate) fn redact(text: &str) -> String {
    let text = redact_key_values(text);
    let text = redact_schemes(&text);
    redact_runs(&text)
}

/// Characters of base64, base64url and hex, plus the `.` of a JWT.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-' | '.')
}

/// `key=value` and `"key": "value"` where the key names a credential.
fn redact_key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((key_end, value_start)) = next_secret_key(rest) {
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let quoted = rest[key_end..value_start].ends_with('"');
        let len = if quoted {
            quoted_len(value)
        } else {
            value
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\''))
                .unwrap_or(value.len())
        };
        if len > 0 {
            out.push_str(MARK);
        }
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// The next credential key in `text`: where its name ends and where its value starts.
fn next_secret_key(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(['=', ':']) {
        let sep = from + at;
        from = sep + 1;
        // The key: the word (letters, digits, `_`, `-`) just before the separator, maybe
        // quoted.
        let before = text[..sep].trim_end();
        let before = before.strip_suffix('"').unwrap_or(before);
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let key = before[start..].to_ascii_lowercase();
        if key.is_empty() || !SECRET_KEYS.iter().any(|word| key.contains(word)) {
            continue;
        }
        // `token_type` and `expires_in`-like keys carry no secret.
        if key.ends_with("_type") || key.ends_with("_uri") || key.ends_with("_url") {
            continue;
        }
        let mut value = sep + 1;
        while value < bytes.len() && bytes[value] == b' ' {
            value += 1;
        }
        if bytes[sep] == b':' {
            // JSON: only a string value is a credential (`"expires_in": 3600` is not).
            if bytes.get(value) != Some(&b'"') {
                continue;
            }
            value += 1;
        }
        return Some((sep, value));
    }
    None
}

/// The length of a JSON string's content up to its closing quote (escapes skipped).
fn quoted_len(value: &str) -> usize {
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i,
            _ => escaped = false,
        }
    }
    value.len()
}

/// The value after `Bearer ` or `Basic ` (any case). Linear in the text: error bodies can be
/// large.
fn redact_schemes(text: &str) -> String {
    // ASCII lowering keeps every byte offset, so positions found in `lower` hold in `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(at) = next_scheme(&lower, from) {
        let (start, len) = at;
        let value_start = start + len;
        let value = &text[value_start..];
        let value_len = value
            .find(|c: char| !is_token_char(c))
            .unwrap_or(value.len());
        from = value_start + value_len;
        if looks_like_credential(&value[..value_len]) {
            out.push_str(&text[done..value_start]);
            out.push_str(MARK);
            done = from;
        }
    }
    out.push_str(&text[done..]);
    out
}

/// The next `bearer ` or `basic ` at a word start in `lower`, from byte `from`: its position
/// and length. Scans each byte once across calls.
fn next_scheme(lower: &str, from: usize) -> Option<(usize, usize)> {
    lower[from..].match_indices('b').find_map(|(at, _)| {
        let at = from + at;
        let word_start = !lower[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        ["bearer ", "basic "]
            .iter()
            .find(|scheme| word_start && lower[at..].starts_with(*scheme))
            .map(|scheme| (at, scheme.len()))
    })
}

/// Atlassian tokens, JWTs and long high-entropy runs.
fn redact_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let len = tail.find(|c| !is_token_char(c)).unwrap_or(tail.len());
        let run = &tail[..len];
        if run == "REDACTED" {
            out.push_str(run);
        } else {
            // A sentence's full stop is not part of a token.
            let word = run.trim_end_matches('.');
            if is_secret(word) {
                out.push_str(MARK);
                out.push_str(&run[word.len()..]);
            } else {
                out.push_str(&redact_parts(run));
            }
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// A run that is not a secret as a whole may hold one between dots or slashes
/// (`https://host/path/ATATT…`, `id.ATATT…`).
fn redact_parts(run: &str) -> String {
    let mut out = String::with_capacity(run.len());
    let mut rest = run;
    loop {
        let end = rest.find(['.', '/']).unwrap_or(rest.len());
        let part = &rest[..end];
        out.push_str(if is_secret(part) { MARK } else { part });
        match rest[end..].chars().next() {
            Some(separator) => {
                out.push(separator);
                rest = &rest[end + 1..];
            }
            None => return out,
        }
    }
}

/// A scheme's value, not a word of prose ("basic authentication"): long enough, and not only
/// lower-case letters.
fn looks_like_credential(value: &str) -> bool {
    value.len() >= 8 && value != MARK && !value.chars().all(|c| c.is_ascii_lowercase())
}

fn is_secret(word: &str) -> bool {
    ATLASSIAN_PREFIXES
        .iter()
        .any(|prefix| word.starts_with(prefix) && word.len() >= prefix.len() + 16)
        || is_jwt(word)
        || is_high_entropy(word)
}

/// `eyJ…` (base64url of `{"`) and three dot-separated base64url parts.
fn is_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    word.starts_with("eyJ")
        && parts.len() == 3
        && parts[..2].iter().all(|part| part.len() >= 8)
        && parts.iter().all(|part| {
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='))
        })
}

fn is_high_entropy(word: &str) -> bool {
    if word.len() < LONG_RUN || word.contains('.') || is_uuid_like(word) {
        return false;
    }
    let hex = word.chars().all(|c| c.is_ascii_hexdigit());
    let has = |test: fn(&char) -> bool| word.chars().any(|c| test(&c));
    let mixed =
        has(char::is_ascii_uppercase) && has(char::is_ascii_lowercase) && has(char::is_ascii_digit);
    (hex && has(char::is_ascii_digit)) || mixed
}

/// One or more UUIDs (8-4-4-4-12 hex digits) joined by `-`, `_` or `:`.
fn is_uuid_like(word: &str) -> bool {
    let groups: Vec<&str> = word.split(['-', '_', ':']).collect();
    groups.len().is_multiple_of(5)
        && groups.chunks(5).all(|uuid| {
            uuid.iter().map(|g| g.len()).eq([8usize, 4, 4, 4, 12])
                && uuid
                    .iter()
                    .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_after_a_multibyte_character_is_found_without_panicking() {
        let text = "\u{fffd}token=abcdef0123456789abcdef0123456789 r\"\u{fffd}<:x";
        let redacted = redact(text);
        assert!(!redacted.contains("abcdef0123456789"), "{redacted}");
    }

    const API_TOKEN: &str = "ATATT3xFfGF0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3=A1B2C3D4";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMiLCJleHAiOjE3MDB9.Xy3k_9aB-QwErTyUiOp";

    fn assert_hidden(text: &str, secret: &str) -> String {
        let shown = redact(text);
        assert!(!shown.contains(secret), "{secret} in {shown}");
        assert!(shown.contains(MARK), "{shown}");
        shown
    }

    #[test]
    fn atlassian_tokens_are_hidden() {
        let shown = assert_hidden(&format!("bad token {API_TOKEN} sent"), API_TOKEN);
        assert_eq!(shown, "bad token [REDACTED] sent");
        assert_hidden(
            "key ATCTT1234567890abcdefghijKLMN",
            "ATCTT1234567890abcdefghijKLMN",
        );
    }

    #[test]
    fn jwts_are_hidden() {
        let shown = assert_hidden(&format!("token {JWT}."), JWT);
        assert_eq!(shown, "token [REDACTED].");
    }

    #[test]
    fn bearer_and_basic_values_are_hidden_and_the_scheme_kept() {
        let shown = assert_hidden("Authorization: Bearer abc.def-ghi", "abc.def-ghi");
        assert!(shown.contains("Bearer [REDACTED]"), "{shown}");
        let shown = assert_hidden(
            "got basic YXVkaXRvcjpzM2NyM3Q=, refused",
            "YXVkaXRvcjpzM2NyM3Q=",
        );
        assert!(shown.contains("basic [REDACTED], refused"), "{shown}");
    }

    #[test]
    fn credential_keys_in_json_and_queries_are_hidden() {
        let body = r#"{"error":"invalid_grant","refresh_token": "rt-short", "client_secret":"s\"x","expires_in":3600,"token_type":"Bearer"}"#;
        let shown = redact(body);
        assert!(
            !shown.contains("rt-short") && !shown.contains("s\\\"x"),
            "{shown}"
        );
        assert!(
            shown.contains(r#""refresh_token": "[REDACTED]""#),
            "{shown}"
        );
        assert!(shown.contains(r#""expires_in":3600"#), "{shown}");
        assert!(shown.contains(r#""token_type":"Bearer""#), "{shown}");
        let query = "GET /x?access_token=abc123&limit=5&password=hunter2 failed";
        let shown = redact(query);
        assert_eq!(
            shown,
            "GET /x?access_token=[REDACTED]&limit=5&password=[REDACTED] failed"
        );
        assert_eq!(redact("api_key: \"k1\""), "api_key: \"[REDACTED]\"");
    }

    #[test]
    fn long_random_runs_are_hidden() {
        let base64 = "c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZw9AbCdEf12";
        assert_hidden(&format!("echo: {base64}"), base64);
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_hidden(&format!("key {hex}"), hex);
        let in_path = format!("GET https://h/rest/{API_TOKEN}/x");
        assert_hidden(&in_path, API_TOKEN);
    }

    #[test]
    fn ordinary_messages_are_left_alone() {
        for text in [
            "You are not authorized to perform this operation.; groupId: unknown",
            "GET http://127.0.0.1:4000/rest/api/3/users/search?startAt=0&maxResults=100: HTTP 500",
            "account 5b10ac8d82e05b22cc7d4ef5 and 557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
            "cloud 5f2b9c7e-31a4-4d6b-9e08-7c1a2b3d4e5f; see com.atlassian.jira.permission",
            "Unauthorized; scope does not match",
            "HTTP 403 Forbidden: invalid_grant: Unknown or invalid refresh token.",
            "the basic plan",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
