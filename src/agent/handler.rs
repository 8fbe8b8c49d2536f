//! One request line in, one reply out: the agent's whole answer to what a
//! client sends, without the socket (so it can be fuzzed). Anything a
//! client sends gets a reply; nothing here can fail or panic on input.

use super::protocol::{AgentInfo, AgentSnapshot, PROTOCOL, Reply};
use serde_json::Value;

/// How much of a client's own text an error repeats back.
const ECHO: usize = 64;

/// The reply to `line` (one request, its `\n` removed or not): `hello`
/// gets `info`, `snapshot` what `snapshot` gives, anything else an error
/// in words.
pub fn answer(line: &[u8], info: &AgentInfo, snapshot: impl FnOnce() -> AgentSnapshot) -> Reply {
    match parse(line) {
        Ok(Asked::Hello) => Reply::hello(info.clone()),
        Ok(Asked::Snapshot) => Reply::snapshot(snapshot()),
        Err(why) => Reply::error(why),
    }
}

/// What a valid request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Hello,
    Snapshot,
}

/// Checks one request the way the protocol page says, field by field, so
/// that each mistake gets its own words (serde's derive would say only
/// "missing field" or "unknown variant").
fn parse(line: &[u8]) -> Result<Asked, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|e| format!("request is not UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty request: send one JSON object per line".to_owned());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("request is not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("request is not a JSON object".to_owned());
    };
    match fields.get("protocol") {
        None => return Err("request has no \"protocol\"".to_owned()),
        Some(v) if v.as_u64() == Some(u64::from(PROTOCOL)) => {}
        Some(v) => {
            return Err(format!(
                "protocol {} not supported (this agent speaks {PROTOCOL})",
                echo(&v.to_string())
            ));
        }
    }
    match fields.get("request") {
        None => Err("request has no \"request\"".to_owned()),
        Some(Value::String(s)) if s == "hello" => Ok(Asked::Hello),
        Some(Value::String(s)) if s == "snapshot" => Ok(Asked::Snapshot),
        Some(Value::String(s)) => {
            Err(format!("unknown request \"{}\" (this agent answers hello and snapshot)", echo(s)))
        }
        Some(other) => Err(format!("\"request\" must be a string, not {}", echo(&other.to_string()))),
    }
}

/// At most [`ECHO`] characters of a client's text (the client sanitizes
/// what it shows; this only keeps replies short).
fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info() -> AgentInfo {
        AgentInfo {
            runtime: "rust".into(),
            runtime_version: None,
            agent_version: "0.1.0".into(),
            pid: 1,
            program: None,
        }
    }

    fn error_of(line: &str) -> String {
        let reply = answer(line.as_bytes(), &info(), AgentSnapshot::default);
        assert!(!reply.ok, "{line} was answered");
        reply.error.unwrap_or_default()
    }

    #[test]
    fn hello_and_snapshot_are_answered() {
        let hello = answer(br#"{"protocol":1,"request":"hello"}"#, &info(), AgentSnapshot::default);
        assert_eq!(hello.agent, Some(info()));
        let snapshot = answer(b"{\"protocol\":1,\"request\":\"snapshot\",\"x\":[1]}\n", &info(), || {
            AgentSnapshot { taken_at_unix_ms: 7, ..AgentSnapshot::default() }
        });
        assert_eq!(snapshot.snapshot.map(|s| s.taken_at_unix_ms), Some(7));
    }

    #[test]
    fn each_mistake_is_said_in_its_own_words() {
        assert!(error_of("garbage").starts_with("request is not JSON: expected value at line 1 column 1"));
        assert_eq!(error_of("[1,2]"), "request is not a JSON object");
        assert_eq!(error_of(""), "empty request: send one JSON object per line");
        assert_eq!(error_of(r#"{"request":"hello"}"#), "request has no \"protocol\"");
        assert_eq!(
            error_of(r#"{"protocol":2,"request":"hello"}"#),
            "protocol 2 not supported (this agent speaks 1)"
        );
        assert_eq!(error_of(r#"{"protocol":1}"#), "request has no \"request\"");
        assert_eq!(
            error_of(r#"{"protocol":1,"request":"kill"}"#),
            "unknown request \"kill\" (this agent answers hello and snapshot)"
        );
        assert_eq!(error_of(r#"{"protocol":1,"request":5}"#), "\"request\" must be a string, not 5");
        let not_utf8 = answer(b"{\"protocol\":1,\"request\":\"\xff\"}", &info(), AgentSnapshot::default);
        assert!(not_utf8.error.unwrap_or_default().starts_with("request is not UTF-8"));
    }

    #[test]
    fn a_long_request_word_is_not_echoed_whole() {
        let word = "x".repeat(1000);
        let error = error_of(&format!(r#"{{"protocol":1,"request":"{word}"}}"#));
        assert!(error.len() < 200, "{error}");
    }

    proptest! {
        // Any bytes get exactly one reply, a JSON line that parses back,
        // and only the two real requests are ever answered with data.
        #[test]
        fn any_bytes_get_one_well_formed_reply(line in proptest::collection::vec(any::<u8>(), 0..600)) {
            let reply = answer(&line, &info(), AgentSnapshot::default);
            let text = serde_json::to_string(&reply).unwrap();
            prop_assert!(!text.contains('\n'));
            let back: Reply = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.ok, reply.error.is_none());
        }

        #[test]
        fn json_shaped_garbage_is_refused_in_words(
            protocol in prop_oneof![Just("1".to_owned()), any::<i64>().prop_map(|n| n.to_string()), "\"[a-z]{0,8}\""],
            request in prop_oneof![Just("\"hello\"".to_owned()), "\"[a-z ]{0,12}\"", any::<f64>().prop_map(|f| f.to_string())],
            extra in "[a-z]{0,6}",
        ) {
            let line = format!(r#"{{"protocol":{protocol},"request":{request},"{extra}":null}}"#);
            let reply = answer(line.as_bytes(), &info(), AgentSnapshot::default);
            let real = protocol == "1" && request == "\"hello\"" && extra != "protocol" && extra != "request";
            prop_assert_eq!(reply.ok, real, "{} → {:?}", line, reply.error);
        }
    }
}
