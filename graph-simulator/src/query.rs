//! Query strings, form bodies, `$select`, and opaque paging tokens.

use serde_json::{Map, Value};

use super::rng::{domain, hash3};

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`).
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_as_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query-string component (unreserved characters, `,` and `$`
/// stay as they are).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',' | b'$') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decoded `key=value` pairs of a query string or form body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `a=1&b=2` (keys and values percent-decoded, `+` as space).
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k, true), percent_decode(v, true))
            })
            .collect();
        Query { pairs }
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    pub(crate) fn form(body: &[u8]) -> Query {
        Query::parse(Some(&String::from_utf8_lossy(body)))
    }

    /// The first value of `key` (case-insensitive key).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The `$select` properties, if any.
    pub(crate) fn select(&self) -> Option<Vec<String>> {
        self.get("$select").map(|s| {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
    }
}

/// Keeps the `select`ed properties of `object` (names compared ignoring
/// case; unknown names ignored), always with `id`.
pub(crate) fn apply_select(object: Map<String, Value>, select: Option<&[String]>) -> Value {
    let Some(select) = select else {
        return Value::Object(object);
    };
    let kept = object
        .into_iter()
        .filter(|(k, _)| k == "id" || select.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .collect();
    Value::Object(kept)
}

/// Which paged collection a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Users,
    Devices,
    ManagedDevices,
    DetectedApps,
    /// Devices of one detected app (catalog index).
    DetectedAppDevices(usize),
}

impl Stream {
    const fn code(self) -> u64 {
        match self {
            Stream::Users => 1,
            Stream::Devices => 2,
            Stream::ManagedDevices => 3,
            Stream::DetectedApps => 4,
            Stream::DetectedAppDevices(app) => 100 + app as u64,
        }
    }

    /// The name used by the `malformed_page` fault.
    pub(crate) const fn fault_name(self) -> &'static str {
        match self {
            Stream::Users => "users",
            Stream::Devices => "devices",
            Stream::ManagedDevices => "managed_devices",
            Stream::DetectedApps => "detected_apps",
            Stream::DetectedAppDevices(_) => "detected_app_devices",
        }
    }
}

const PAGE_BITS: u32 = 20;

/// An opaque `$skiptoken` holding a cursor and the page number it leads to.
pub(crate) fn encode_skiptoken(seed: u64, stream: Stream, cursor: u64, page: u32) -> String {
    let payload = (cursor << PAGE_BITS) | u64::from(page & ((1 << PAGE_BITS) - 1));
    let masked = payload ^ hash3(seed, domain::PAGING, stream.code());
    let check = hash3(seed, domain::PAGING + 1000, masked) & 0xFFFF_FFFF;
    format!("X{masked:016x}{check:08x}")
}

/// `(cursor, page)` of a token made by [`encode_skiptoken`] for `stream`.
pub(crate) fn decode_skiptoken(seed: u64, stream: Stream, token: &str) -> Option<(u64, u32)> {
    let hex = token.strip_prefix('X')?;
    if hex.len() != 24 {
        return None;
    }
    let masked = u64::from_str_radix(hex.get(..16)?, 16).ok()?;
    let check = u64::from_str_radix(hex.get(16..)?, 16).ok()?;
    if check != hash3(seed, domain::PAGING + 1000, masked) & 0xFFFF_FFFF {
        return None;
    }
    let payload = masked ^ hash3(seed, domain::PAGING, stream.code());
    Some((
        payload >> PAGE_BITS,
        (payload & ((1 << PAGE_BITS) - 1)) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = Query::parse(Some("%24top=5&$select=id,displayName&scope=a%2Fb+c"));
        assert_eq!(q.get("$top"), Some("5"));
        assert_eq!(q.get("$TOP"), Some("5"));
        assert_eq!(q.get("scope"), Some("a/b c"));
        assert_eq!(q.select().unwrap(), vec!["id", "displayName"]);
        assert_eq!(percent_decode("a%", false), "a%");
        assert_eq!(percent_decode("%27D7%27", false), "'D7'");
        assert_eq!(percent_decode("100%2", false), "100%2");
    }

    #[test]
    fn skiptokens_round_trip_and_reject_others() {
        let t = encode_skiptoken(9, Stream::Users, 12_345, 7);
        assert_eq!(decode_skiptoken(9, Stream::Users, &t), Some((12_345, 7)));
        assert_ne!(decode_skiptoken(9, Stream::Devices, &t), Some((12_345, 7)));
        assert_eq!(decode_skiptoken(10, Stream::Users, &t), None);
        assert_eq!(decode_skiptoken(9, Stream::Users, "garbage"), None);
    }

    #[test]
    fn select_keeps_id() {
        let mut m = Map::new();
        m.insert("id".into(), Value::from("1"));
        m.insert("displayName".into(), Value::from("x"));
        m.insert("mail".into(), Value::from("y"));
        let v = apply_select(m, Some(&["displayname".to_owned()]));
        assert_eq!(v, serde_json::json!({"id": "1", "displayName": "x"}));
    }
}
