//! `edra serve` under hostile or heavy use, through the real binary on a free loopback port and
//! raw HTTP/1.1 over `TcpStream`: oversized bodies and URLs, requests from other origins or
//! hosts, long advances in the background, floods of clients and a client that never reads.
//! Every socket has a 20 s read timeout, so that a failure fails instead of hanging; nothing
//! asserts on speed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EDRA: &str = env!("CARGO_BIN_EXE_edra");
const TIMEOUT: Duration = Duration::from_secs(20);

/// `edra serve scenes/single_synapse.ron --port 0`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, head (status line and headers) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// A request with `Host: host` and `headers`.
fn request(method: &str, path: &str, host: &str, headers: &[(&str, &str)]) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r
}

/// Reads one answer from a connection (its body by `Content-Length`, else to the end).
fn read_reply(r: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut reply = Reply {
        status,
        head,
        body: String::new(),
    };
    let mut body = Vec::new();
    match reply.header("content-length").and_then(|n| n.parse().ok()) {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    reply.body = String::from_utf8_lossy(&body).into_owned();
    Ok(reply)
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(EDRA)
            .args(["serve", "scenes/single_synapse.ron", "--port", "0"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start edra serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the address line");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://127.0.0.1:"))
            .map(|p| format!("127.0.0.1:{}", p.trim_end_matches('/')));
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!("no address in `{line}`");
        };
        Server { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        s.set_write_timeout(Some(TIMEOUT)).expect("timeout");
        s
    }

    /// Sends `raw` on a new connection and reads the answer.
    fn send(&self, raw: &[u8]) -> Reply {
        let mut s = self.connect();
        s.write_all(raw).expect("send");
        read_reply(&mut BufReader::new(s)).expect("an answer")
    }

    /// A request as a page of ours sends it, plus `headers`.
    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut h = vec![("Connection", "close")];
        h.extend_from_slice(headers);
        self.send(request(method, path, &self.addr, &h).as_bytes())
    }

    fn get(&self, path: &str) -> Reply {
        self.call("GET", path, &[])
    }

    /// The session token, from a page.
    fn token(&self) -> String {
        let page = self.get("/").body;
        let at = page
            .find("name=\"edra-token\" content=\"")
            .expect("token meta")
            + 27;
        page[at..at + 32].to_string()
    }

    fn post(&self, path: &str) -> Reply {
        let token = self.token();
        self.call("POST", path, &[("X-Edra-Token", &token)])
    }

    /// Whether the server answers a plain read.
    fn answers(&self) -> bool {
        let r = self.get("/api/summary");
        r.status == 200 && r.json()["synapses"] == 1
    }

    /// Polls `/api/progress` until no advance runs; its last answer.
    fn finished(&self) -> serde_json::Value {
        for _ in 0..3000 {
            let p = self.get("/api/progress").json();
            if p["running"] == false {
                return p;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the advance did not finish");
    }
}

#[test]
fn a_huge_body_is_refused_and_the_server_keeps_answering() {
    let s = Server::start();
    let token = s.token();
    for path in ["/api/advance?ms=1", "/", "/api/summary"] {
        let raw = request(
            "POST",
            path,
            &s.addr,
            &[("Content-Length", "99999999999"), ("X-Edra-Token", &token)],
        );
        let r = s.send(raw.as_bytes());
        assert_eq!(r.status, 413, "{path}: {r:?}");
    }
    // A body a little over the limit, actually sent.
    let mut raw = request("POST", "/api/stop", &s.addr, &[("Content-Length", "5000")]);
    raw.push_str(&"x".repeat(5000));
    assert_eq!(s.send(raw.as_bytes()).status, 413);
    assert!(s.answers());
}

#[test]
fn state_changes_need_the_pages_token_origin_and_host() {
    let s = Server::start();
    let token = s.token();
    let post = |headers: &[(&str, &str)]| s.call("POST", "/api/stop", headers).status;
    assert_eq!(post(&[]), 403);
    assert_eq!(
        post(&[("X-Edra-Token", "00000000000000000000000000000000")]),
        403
    );
    let evil = [
        ("X-Edra-Token", token.as_str()),
        ("Origin", "http://evil.example"),
    ];
    assert_eq!(post(&evil), 403);
    let ours = [
        ("X-Edra-Token", token.as_str()),
        ("Origin", &format!("http://{}", s.addr)),
    ];
    assert_eq!(post(&ours), 200);
    let r = s.call("POST", "/api/advance?ms=1", &[]);
    assert_eq!(r.status, 403);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("token")),
        "{r:?}"
    );
    // DNS rebinding: a name other than ours, on any route.
    for path in ["/", "/api/summary", "/synapse/0"] {
        let raw = request(
            "GET",
            path,
            "rebound.example:80",
            &[("Connection", "close")],
        );
        assert_eq!(s.send(raw.as_bytes()).status, 421, "{path}");
    }
    let raw = request("GET", "/", &s.addr.replace("127.0.0.1", "localhost"), &[]);
    assert_eq!(s.send(raw.as_bytes()).status, 200);
}

#[test]
fn an_advance_runs_in_the_background_with_progress() {
    let s = Server::start();
    // `1%30` is 10, URL-decoded.
    let r = s.post("/api/advance?ms=1%30");
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.json()["target_ms"], 10.0);
    let p = s.finished();
    assert_eq!(
        (p["t_ms"].as_f64(), p["fraction"].as_f64()),
        (Some(10.0), Some(1.0)),
        "{p}"
    );
    // An hour of simulated time: the reads are answered meanwhile.
    let r = s.post("/api/advance?ms=3600000");
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(s.post("/api/advance?ms=5").status, 409);
    for path in ["/", "/api/summary", "/synapse/0", "/api/synapse/0"] {
        assert_eq!(s.get(path).status, 200, "{path}");
    }
    let p = s.get("/api/progress").json();
    assert_eq!(p["running"], true, "{p}");
    assert!(
        p["fraction"]
            .as_f64()
            .is_some_and(|f| (0.0..1.0).contains(&f)),
        "{p}"
    );
    assert_eq!(s.post("/api/stop").status, 200);
    let p = s.finished();
    assert_eq!(
        (p["stopped"].as_bool(), p["error"].is_null()),
        (Some(true), true),
        "{p}"
    );
    for q in ["ms=0", "ms=-1", "ms=abc", "ms=3600001"] {
        assert_eq!(s.post(&format!("/api/advance?{q}")).status, 400, "{q}");
    }
}

#[test]
fn unknown_paths_other_methods_and_long_urls_get_a_short_4xx() {
    let s = Server::start();
    let r = s.get(&format!("/{}", "a".repeat(3000)));
    assert_eq!(r.status, 404);
    assert!(r.body.contains(&"a".repeat(90)) && !r.body.contains(&"a".repeat(101)));
    let r = s.call("DELETE", "/api/advance", &[]);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")), "{r:?}");
    let r = s.call("POST", "/api/summary", &[("X-Edra-Token", &s.token())]);
    assert_eq!(r.status, 405, "{r:?}");
    assert!(
        r.header("allow").is_some_and(|a| a.contains("GET")),
        "{r:?}"
    );
    let r = s.get("/synapse?id=0");
    assert_eq!((r.status, r.header("location")), (303, Some("/synapse/0")));
    // A 10 MB URL, written while the answer is read (the server may answer before the end).
    let mut conn = s.connect();
    let mut writer = conn.try_clone().expect("clone");
    let raw = request("GET", &format!("/{}", "b".repeat(10 << 20)), &s.addr, &[]);
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(raw.as_bytes());
    });
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).expect("an answer to the long URL");
    let status = String::from_utf8_lossy(&buf[..n]).to_string();
    println!("a 10 MB URL: {}", status.lines().next().unwrap_or(""));
    assert!(
        status.starts_with("HTTP/1.1 4"),
        "the long URL got `{status}`"
    );
    drop(conn);
    let _ = w.join();
    assert!(s.answers());
}

#[test]
fn a_flood_of_clients_all_get_complete_answers() {
    let s = Server::start();
    // With an advance running too.
    assert_eq!(s.post("/api/advance?ms=3600000").status, 202);
    let paths = [
        "/api/summary",
        "/api/synapse/0",
        "/",
        "/api/progress",
        "/synapse/0",
    ];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let s = &s;
                scope.spawn(move || {
                    // 8 connections per thread, 20 requests on each (kept alive), round robin.
                    let mut conns: Vec<_> = (0..8).map(|_| BufReader::new(s.connect())).collect();
                    for i in 0..20 {
                        for (c, conn) in conns.iter_mut().enumerate() {
                            let path = paths[(t + c + i) % paths.len()];
                            let raw = request("GET", path, &s.addr, &[]);
                            conn.get_mut().write_all(raw.as_bytes()).expect("send");
                            let r = read_reply(conn).expect("a complete answer");
                            assert_eq!(r.status, 200, "{path}: {r:?}");
                            assert!(!r.body.is_empty(), "{path}");
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a client thread");
        }
    });
    assert_eq!(s.post("/api/stop").status, 200);
    assert!(s.answers());
}

#[test]
fn a_client_that_never_reads_does_not_stop_the_others() {
    let s = Server::start();
    let stalled = s.connect();
    let mut writer = stalled.try_clone().expect("clone");
    let raw = request("GET", "/synapse/0", &s.addr, &[]).repeat(20_000);
    // The writes stop when the server stops reading; the write timeout ends them.
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(raw.as_bytes());
    });
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        assert!(s.answers());
        assert_eq!(s.get("/synapse/0").status, 200);
    }
    let _ = stalled.shutdown(std::net::Shutdown::Both);
    let _ = w.join();
    assert!(s.answers());
}
