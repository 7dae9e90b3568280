//! Who may talk to the server, checked before any route: the right `Host` on every request
//! (against DNS rebinding), no request body beyond [`MAX_BODY_BYTES`], and on `POST` (the only
//! state-changing method) an `Origin`, when sent, of this server and the session's token.
//!
//! The token is 128 random bits made at start and written into every page the server serves
//! (`<meta name="edra-token">`); the pages' scripts send it back as `X-Edra-Token`. Another
//! site's page may send requests to 127.0.0.1, but the same-origin policy keeps it from
//! reading our pages, so it cannot learn the token.

use super::Reply;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::Arc;

/// Largest request body accepted, bytes. No route takes a body; this leaves room for a client
/// that sends a small one anyway.
pub const MAX_BODY_BYTES: usize = 4096;
/// The header carrying the session token.
pub const TOKEN_HEADER: &str = "x-edra-token";

/// What the checks compare against.
pub struct Guard {
    token: String,
    /// `127.0.0.1:PORT` and `localhost:PORT`.
    hosts: [String; 2],
}

impl Guard {
    pub fn new(token: String, port: u16) -> Arc<Guard> {
        Arc::new(Guard {
            token,
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        })
    }

    /// Why `req` is refused, if it is.
    fn refusal(&self, method: &Method, headers: &HeaderMap, api: bool) -> Option<Reply> {
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let ours = |s: &str| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(s));
        if !value("host").is_some_and(ours) {
            let msg = format!("Host must be {} or {}", self.hosts[0], self.hosts[1]);
            return Some(Reply::error(421, api, msg));
        }
        let too_long = value("content-length").is_some_and(|n| {
            n.trim()
                .parse::<u64>()
                .map_or(true, |n| n > MAX_BODY_BYTES as u64)
        });
        if too_long {
            let msg = format!("request bodies are limited to {MAX_BODY_BYTES} bytes");
            return Some(Reply::error(413, api, msg));
        }
        if method != Method::POST {
            return None;
        }
        let origin_ok = value("origin").is_none_or(|o| o.strip_prefix("http://").is_some_and(ours));
        if !origin_ok {
            let msg = "POST is accepted only from this server's own pages (Origin)";
            return Some(Reply::error(403, api, msg.into()));
        }
        if !value(TOKEN_HEADER).is_some_and(|t| same(t.as_bytes(), self.token.as_bytes())) {
            let msg = "POST needs the session token (header X-Edra-Token) that this server's \
                       pages carry; use the page's buttons";
            return Some(Reply::error(403, api, msg.into()));
        }
        None
    }
}

/// Middleware: answers a refused request itself, passes the others on.
pub async fn check(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    match g.refusal(req.method(), req.headers(), api) {
        Some(r) => r.into_response(),
        None => next.run(req).await,
    }
}

/// Equality in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// 128 bits from the OS as 32 hex digits: `/dev/urandom`, else std's randomly keyed hasher.
pub fn session_token() -> String {
    let mut bytes = [0u8; 16];
    let urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if urandom.is_err() {
        for (i, half) in bytes.chunks_mut(8).enumerate() {
            // Each RandomState has its own keys, seeded from the OS.
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_hex_and_differ() {
        let (a, b) = (session_token(), session_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn same_compares_whole_strings() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd") && !same(b"abc", b"ab") && !same(b"", b"a"));
    }
}
