//! `edra serve SCENE|DIR`: the report's views for a live simulation, on 127.0.0.1 only.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | summary, groups, weight histogram, search by synapse id |
//! | `GET /synapse/ID` | one synapse: variables by stage (initial, before the last advance, now), traces |
//! | `GET /synapse?id=ID` | redirects (303) to `/synapse/ID` (the search form) |
//! | `POST /api/advance?ms=N` | starts advancing by N ms (default 1000, one plasticity cycle; at most [`MAX_ADVANCE_MS`]): 202 with `{from_ms, target_ms}`, 409 while an advance is under way |
//! | `GET /api/progress` | the advance under way or the last one: `{running, from_ms, t_ms, target_ms, fraction, weights_changed, error, stopped}` |
//! | `POST /api/stop` | stops the advance under way at its next chunk |
//! | `GET /api/summary` | the population as JSON |
//! | `GET /api/synapse/ID` | one synapse as JSON |
//!
//! The simulation lives on its own thread ([`SimThread`]); requests reach it over a channel as
//! jobs. An advance runs there in chunks, between which the reads queued meanwhile are answered
//! (`advance.rs`). The HTTP side is axum on a one-thread tokio runtime whose handlers only wait
//! for the simulation thread's answers. The recorders keep only their most recent samples,
//! within 64 MiB (`traces.rs`); pages and `/api/summary` say how many.
//!
//! Requests are checked before any route (`guard.rs`): every request must name this server as
//! `Host` (127.0.0.1:PORT or localhost:PORT; else 421, against DNS rebinding), bodies are
//! limited to 4 KiB (413), and a `POST` needs the session token that every served page carries
//! (`<meta name="edra-token">`, sent back as `X-Edra-Token`) and, if it has an `Origin`, this
//! server's (else 403). Another site's page cannot read our pages, so it cannot learn the
//! token. Unknown ids and bad parameters answer 404 or 400 with a message quoting at most 100
//! characters of the request; other methods on a known path 405 with `Allow`.

mod advance;
mod guard;
mod live;
mod sim_thread;
mod traces;

pub use live::Live;
pub use sim_thread::SimThread;

use crate::core::error::{EdraError, Result};
use crate::front::web::html;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guard::{Guard, MAX_BODY_BYTES};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Default advance: one plasticity cycle, ms.
pub const DEFAULT_ADVANCE_MS: f64 = 1000.0;
/// Longest advance one request may ask for, ms.
pub const MAX_ADVANCE_MS: f64 = 3_600_000.0;
/// Most characters of a request's path or parameter quoted back in a message.
const MAX_ECHO_CHARS: usize = 100;

/// An HTTP answer: status, content type, body.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// `Location` of a redirect.
    pub location: Option<String>,
}

impl Reply {
    fn html(body: String) -> Reply {
        Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body,
            location: None,
        }
    }
    fn json(v: serde_json::Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: v.to_string(),
            location: None,
        }
    }
    fn redirect(to: String) -> Reply {
        Reply {
            status: 303,
            location: Some(to),
            ..Reply::html(String::new())
        }
    }
    /// An error: JSON under `/api/`, a short page elsewhere (the message HTML-escaped).
    fn error(status: u16, api: bool, msg: String) -> Reply {
        if api {
            Reply {
                status,
                ..Reply::json(json!({ "error": msg }))
            }
        } else {
            Reply {
                status,
                ..Reply::html(html::page(
                    &format!("{status}"),
                    &format!(
                        "<p>{}</p><p><a href=\"/\">population</a></p>",
                        crate::front::plot::escape(&msg)
                    ),
                    "",
                ))
            }
        }
    }
    fn internal(api: bool, e: EdraError) -> Reply {
        Reply::error(500, api, e.to_string())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.body,
        )
            .into_response();
        if let Some(to) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, to);
        }
        r
    }
}

/// At most [`MAX_ECHO_CHARS`] characters of `s`, for quoting request data in a message.
fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A synapse id from the request, or 400.
fn parse_id(s: &str, api: bool) -> std::result::Result<u32, Reply> {
    s.parse::<u32>().map_err(|_| {
        Reply::error(
            400,
            api,
            format!("`{}` is not a synapse id (a whole number ≥ 0)", clip(s)),
        )
    })
}

/// The id in a `/…/{id}` path, or 400.
fn path_id(
    p: std::result::Result<UrlPath<String>, PathRejection>,
    api: bool,
) -> std::result::Result<u32, Reply> {
    let UrlPath(s) = p.map_err(|e| Reply::error(400, api, e.body_text()))?;
    parse_id(&s, api)
}

/// Query parameters (URL-decoded), or 400.
type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params, api: bool) -> std::result::Result<HashMap<String, String>, Reply> {
    q.map(|Query(m)| m)
        .map_err(|e| Reply::error(400, api, e.body_text()))
}

fn no_synapse(id: u32, n: u64, api: bool) -> Reply {
    Reply::error(
        404,
        api,
        format!("no synapse {id}: ids are 0..{}", n.saturating_sub(1)),
    )
}

type Answer = std::result::Result<Reply, Reply>;

async fn index(State(sim): State<SimThread>) -> Answer {
    let page = sim
        .call(|l| l.index_page())
        .await
        .map_err(|e| Reply::internal(false, e))?;
    Ok(Reply::html(page))
}

/// The search form's target: `/synapse?id=ID` → 303 to `/synapse/ID`.
async fn search(q: Params) -> Answer {
    let p = params(q, false)?;
    let s = p
        .get("id")
        .ok_or_else(|| Reply::error(400, false, "missing parameter `id`".into()))?;
    Ok(Reply::redirect(format!("/synapse/{}", parse_id(s, false)?)))
}

async fn synapse_page(
    State(sim): State<SimThread>,
    p: std::result::Result<UrlPath<String>, PathRejection>,
) -> Answer {
    let id = path_id(p, false)?;
    let (page, n) = sim
        .call(move |l| (l.synapse_page(id), l.sim.info().synapses))
        .await
        .map_err(|e| Reply::internal(false, e))?;
    page.map(Reply::html)
        .ok_or_else(|| no_synapse(id, n, false))
}

async fn summary(State(sim): State<SimThread>) -> Answer {
    let j = sim
        .call(|l| l.summary_json())
        .await
        .map_err(|e| Reply::internal(true, e))?;
    Ok(Reply::json(j))
}

async fn synapse_json(
    State(sim): State<SimThread>,
    p: std::result::Result<UrlPath<String>, PathRejection>,
) -> Answer {
    let id = path_id(p, true)?;
    let (v, n) = sim
        .call(move |l| (l.synapse_json(id), l.sim.info().synapses))
        .await
        .map_err(|e| Reply::internal(true, e))?;
    v.map(Reply::json).ok_or_else(|| no_synapse(id, n, true))
}

/// `ms` of an advance: default [`DEFAULT_ADVANCE_MS`], else a number in (0, MAX_ADVANCE_MS].
fn advance_ms(p: &HashMap<String, String>) -> std::result::Result<f64, Reply> {
    let ms = match p.get("ms") {
        None => DEFAULT_ADVANCE_MS,
        Some(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite())
            .ok_or_else(|| Reply::error(400, true, format!("ms: `{}` is not a number", clip(s))))?,
    };
    if ms > 0.0 && ms <= MAX_ADVANCE_MS {
        Ok(ms)
    } else {
        Err(Reply::error(
            400,
            true,
            format!("ms: {ms} is outside (0, {MAX_ADVANCE_MS}] ms"),
        ))
    }
}

/// Starts an advance: 202 with `{from_ms, target_ms}`, or 409 while one is under way.
async fn advance(State(sim): State<SimThread>, q: Params) -> Answer {
    let ms = advance_ms(&params(q, true)?)?;
    let (from_ms, target_ms) = sim
        .call(move |l| l.start_advance(ms))
        .await
        .map_err(|e| Reply::internal(true, e))?
        .map_err(|msg| Reply::error(409, true, msg))?;
    Ok(Reply {
        status: 202,
        ..Reply::json(json!({ "from_ms": from_ms, "target_ms": target_ms }))
    })
}

async fn progress(State(sim): State<SimThread>) -> Answer {
    let j = sim
        .call(|l| l.progress_json())
        .await
        .map_err(|e| Reply::internal(true, e))?;
    Ok(Reply::json(j))
}

/// Stops the advance under way at its next chunk; answers with the progress.
async fn stop(State(sim): State<SimThread>) -> Answer {
    let (was_running, p) = sim
        .call(|l| (l.stop(), l.progress_json()))
        .await
        .map_err(|e| Reply::internal(true, e))?;
    Ok(Reply::json(
        json!({ "stopped": was_running, "progress": p }),
    ))
}

/// Unknown paths: 404, quoting at most [`MAX_ECHO_CHARS`] of the path.
async fn not_found(uri: Uri) -> Reply {
    let path = uri.path();
    Reply::error(
        404,
        path.starts_with("/api/"),
        format!("no page {}", clip(path)),
    )
}

/// Gives axum's bare 405 (it carries `Allow`) a message saying which methods the path takes.
async fn explain_405(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let r = next.run(req).await;
    if r.status() != StatusCode::METHOD_NOT_ALLOWED {
        return r;
    }
    let allow = r.headers().get(header::ALLOW).cloned();
    let msg = match allow.as_ref().and_then(|a| a.to_str().ok()) {
        Some(a) => format!("this path takes {a}"),
        None => "method not allowed here".to_string(),
    };
    let mut out = Reply::error(405, api, msg).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// The routes, for the simulation on `sim`, every request checked by `guard`.
pub fn router(sim: SimThread, guard: Arc<Guard>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/synapse", get(search))
        .route("/synapse/{id}", get(synapse_page))
        .route("/api/summary", get(summary))
        .route("/api/synapse/{id}", get(synapse_json))
        .route("/api/advance", post(advance))
        .route("/api/progress", get(progress))
        .route("/api/stop", post(stop))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(explain_405))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
        .with_state(sim)
}

/// Serves `path` (a scene or a run folder) on `127.0.0.1:port` until the process ends;
/// `on_ready` gets the address actually bound (port 0 picks a free one).
pub fn serve(path: &Path, port: u16, on_ready: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let token = guard::session_token();
    let sim = SimThread::start(path, token.clone())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EdraError::other(format!("starting the HTTP runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| EdraError::other(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EdraError::other(format!("the server has no address: {e}")))?;
        on_ready(addr);
        axum::serve(listener, router(sim, Guard::new(token, addr.port())))
            .await
            .map_err(|e| EdraError::other(format!("serving on {addr}: {e}")))
    })
}

/// Answers `req` through the router without a socket (for tests).
#[cfg(test)]
async fn answer(
    app: Router,
    req: axum::http::Request<axum::body::Body>,
) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let Ok(r) = app.oneshot(req).await;
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    /// The router over single_synapse on (pretend) port 8000, and a way to send it requests.
    struct Client {
        app: Router,
        rt: tokio::runtime::Runtime,
        token: String,
    }

    impl Client {
        fn new() -> Client {
            let token = guard::session_token();
            let sim = SimThread::start(Path::new("scenes/single_synapse.ron"), token.clone())
                .expect("scene loads");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            Client {
                app: router(sim, Guard::new(token.clone(), 8000)),
                rt,
                token,
            }
        }
        /// A request as the page sends it: our Host and the session token.
        fn send(&self, method: &str, uri: &str) -> (u16, axum::http::HeaderMap, String) {
            self.send_with(method, uri, &[])
        }
        /// A request with `headers` instead of the page's (an empty value leaves one out).
        fn send_with(
            &self,
            method: &str,
            uri: &str,
            headers: &[(&str, &str)],
        ) -> (u16, axum::http::HeaderMap, String) {
            let mut req = axum::http::Request::builder().method(method).uri(uri);
            let page = [("host", "127.0.0.1:8000"), ("x-edra-token", &self.token)];
            for (k, v) in page
                .iter()
                .filter(|(k, _)| headers.iter().all(|h| h.0 != *k))
            {
                req = req.header(*k, *v);
            }
            for (k, v) in headers.iter().filter(|h| !h.1.is_empty()) {
                req = req.header(*k, *v);
            }
            let req = req.body(Body::empty()).expect("request");
            self.rt.block_on(answer(self.app.clone(), req))
        }
        fn json(&self, uri: &str) -> serde_json::Value {
            serde_json::from_str(&self.send("GET", uri).2).expect("JSON")
        }
        /// Polls `/api/progress` until the advance under way has finished; its last answer.
        fn finished(&self) -> serde_json::Value {
            for _ in 0..6000 {
                let p = self.json("/api/progress");
                if p["running"] == false {
                    return p;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            panic!("the advance did not finish in a minute");
        }
    }

    #[test]
    fn routes_answer_and_bad_input_is_refused_with_a_message() {
        let c = Client::new();
        let (s, _, body) = c.send("GET", "/");
        assert_eq!(s, 200);
        assert!(body.contains("edra serve: single_synapse"));
        let (s, _, body) = c.send("GET", "/synapse/0");
        assert_eq!(s, 200);
        assert!(body.contains("id=\"advance\"") && body.contains("id=\"weight\""));
        let (s, h, _) = c.send("GET", "/synapse?id=0");
        assert_eq!(
            (s, h.get("location").and_then(|v| v.to_str().ok())),
            (303, Some("/synapse/0"))
        );
        let j = c.json("/api/summary");
        assert_eq!(j["synapses"], 1);
        assert_eq!(j["groups"][0]["name"], "syn");
        for (m, url, status) in [
            ("GET", "/synapse/7", 404),
            ("GET", "/synapse/x", 400),
            ("GET", "/synapse/-1", 400),
            ("GET", "/synapse?id=", 400),
            ("GET", "/synapse", 400),
            ("GET", "/api/synapse/99999999999", 400),
            ("GET", "/api/synapse/5", 404),
            ("POST", "/api/advance?ms=abc", 400),
            ("POST", "/api/advance?ms=-5", 400),
            ("POST", "/api/advance?ms=NaN", 400),
            ("POST", "/api/advance?ms=1e12", 400),
            ("GET", "/api/advance", 405),
            ("DELETE", "/synapse/0", 405),
            ("GET", "/nope", 404),
        ] {
            let (s, _, body) = c.send(m, url);
            assert_eq!(s, status, "{m} {url}: {body}");
            assert!(!body.is_empty(), "{m} {url}");
        }
        let (_, _, body) = c.send("GET", "/api/synapse/5");
        assert!(body.contains("no synapse 5: ids are 0..0"), "{body}");
        let (_, h, body) = c.send("PUT", "/api/advance");
        assert_eq!(
            h.get("allow").and_then(|v| v.to_str().ok()),
            Some("POST"),
            "{body}"
        );
    }

    #[test]
    fn messages_quote_at_most_a_clipped_escaped_path() {
        let c = Client::new();
        // `<` cannot be in a request path; `&` can, and must be escaped in a page.
        let long = format!("/&amp{}", "x".repeat(5000));
        let (s, _, body) = c.send("GET", &long);
        assert_eq!(s, 404);
        assert!(body.contains("/&amp;ampxx"), "{body}");
        assert!(
            !body.contains(&"x".repeat(MAX_ECHO_CHARS)),
            "the path is quoted whole"
        );
    }

    #[test]
    fn query_strings_are_url_decoded() {
        let c = Client::new();
        let (s, h, _) = c.send("GET", "/synapse?id=%30");
        assert_eq!(
            (s, h.get("location").and_then(|v| v.to_str().ok())),
            (303, Some("/synapse/0"))
        );
    }

    #[test]
    fn advance_changes_the_weight_and_shows_what_changed() {
        let c = Client::new();
        let w = |c: &Client| c.json("/api/synapse/0")["w_mv"].as_f64().expect("w_mv");
        let w0 = w(&c);
        // Rewards from 2 s on turn the eligibility into early LTP; `ms=30%30%30` is 3000.
        let (s, _, body) = c.send("POST", "/api/advance?ms=30%30%30");
        assert_eq!(s, 202, "{body}");
        let j: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            (j["from_ms"].as_f64(), j["target_ms"].as_f64()),
            (Some(0.0), Some(3000.0))
        );
        let p = c.finished();
        assert_eq!(p["t_ms"], 3000.0, "{p}");
        assert_eq!(
            (p["fraction"].as_f64(), p["weights_changed"].as_u64()),
            (Some(1.0), Some(1))
        );
        assert!(p["error"].is_null(), "{p}");
        assert_ne!(w(&c), w0);
        let (_, _, page) = c.send("GET", "/synapse/0");
        assert!(page.contains("before advance") && page.contains("class=\"changed\""));
        assert!(page.contains("Advanced from t = 0 ms to t = 3000 ms"));
    }

    #[test]
    fn a_long_advance_answers_reads_refuses_a_second_and_stops() {
        let c = Client::new();
        let (s, _, body) = c.send("POST", "/api/advance?ms=3600000");
        assert_eq!(s, 202, "{body}");
        let (s, _, body) = c.send("POST", "/api/advance?ms=10");
        assert_eq!(s, 409, "{body}");
        assert!(body.contains("under way"), "{body}");
        for path in ["/", "/synapse/0", "/api/summary", "/api/synapse/0"] {
            assert_eq!(c.send("GET", path).0, 200, "{path}");
        }
        let p = c.json("/api/progress");
        assert_eq!(
            (p["running"].as_bool(), p["target_ms"].as_f64()),
            (Some(true), Some(3_600_000.0))
        );
        let (s, _, body) = c.send("POST", "/api/stop");
        assert_eq!(s, 200, "{body}");
        let p = c.json("/api/progress");
        assert_eq!(
            (p["running"].as_bool(), p["stopped"].as_bool()),
            (Some(false), Some(true)),
            "{p}"
        );
        assert!(p["t_ms"].as_f64().is_some_and(|t| t < 3_600_000.0), "{p}");
        assert_eq!(c.send("POST", "/api/advance?ms=1").0, 202);
    }

    #[test]
    fn post_needs_the_token_and_our_origin_every_request_our_host() {
        let c = Client::new();
        let (_, _, page) = c.send("GET", "/synapse/0");
        assert!(page.contains(&format!(
            "<meta name=\"edra-token\" content=\"{}\">",
            c.token
        )));
        let stop = "/api/stop";
        for (headers, status) in [
            (vec![("x-edra-token", "")], 403),
            (vec![("x-edra-token", "0123")], 403),
            (vec![("origin", "http://evil.example")], 403),
            (vec![("origin", "http://127.0.0.1:8001")], 403),
            (vec![("origin", "null")], 403),
            (vec![("host", "evil.example:8000")], 421),
            (vec![("host", "")], 421),
            (vec![("content-length", "99999999999")], 413),
            (vec![("content-length", "4097")], 413),
            (
                vec![
                    ("origin", "http://localhost:8000"),
                    ("host", "localhost:8000"),
                ],
                200,
            ),
            (vec![("origin", "http://127.0.0.1:8000")], 200),
        ] {
            let (s, _, body) = c.send_with("POST", stop, &headers);
            assert_eq!(s, status, "{headers:?}: {body}");
            assert!(!body.is_empty());
        }
        // The Host check covers reads and unknown paths too.
        for path in ["/", "/api/summary", "/nope"] {
            let (s, _, _) = c.send_with("GET", path, &[("host", "rebound.example")]);
            assert_eq!(s, 421, "{path}");
        }
    }
}
