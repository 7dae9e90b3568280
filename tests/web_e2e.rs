//! Browser end-to-end test of the web views: `edra serve` on a free loopback port, driven by
//! headless Chromium over the DevTools protocol (load a synapse page, click "advance", the
//! weight shown changes), and `edra report` rendered to a PNG that must not be blank.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it). Without it the test prints a SKIP line
//! saying why, and passes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EDRA: &str = env!("CARGO_BIN_EXE_edra");

/// Kills a child process of this test when dropped.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edra-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn browser(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// GET over plain HTTP/1.1; returns the body (read up to its Content-Length, since Chromium's
/// DevTools server keeps the connection open).
fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut data = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if len.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&data);
    text.split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default()
}

#[test]
fn browser_clicks_advance_and_renders_the_report() {
    let Some(chrome) = chromium() else {
        println!(
            "SKIP web_e2e: no chromium on PATH (install it with `apt-get install -y chromium`, \
             as .ci/run does); the browser test did not run"
        );
        eprintln!("SKIP web_e2e: no chromium on PATH; the browser test did not run");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // 1. edra serve on a free port; it prints its address on stdout.
    let mut serve = Kill(
        Command::new(EDRA)
            .args(["serve", "scenes/single_synapse.ron", "--port", "0"])
            .current_dir(root)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start edra serve"),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in `{line}`"))
        .trim_end_matches('/')
        .to_string();
    let addr = url.trim_start_matches("http://").to_string();

    // 2. Chromium with the DevTools protocol on a free port, showing synapse 0.
    let profile = tmp("profile");
    let mut chrome_proc = Kill(
        browser(&chrome, &profile)
            .arg("--remote-debugging-port=0")
            .arg(format!("{url}/synapse/0"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium"),
    );
    let mut err = BufReader::new(chrome_proc.0.stderr.take().unwrap());
    let devtools = loop {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap_or(0) == 0 {
            panic!("chromium exited without a DevTools address");
        }
        if let Some(p) = l.find("ws://") {
            break l[p..].trim().to_string();
        }
    };
    // Keep draining stderr so that Chromium never blocks on it.
    std::thread::spawn(move || for _ in err.lines() {});
    let dt_addr = devtools
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page_ws = loop {
        let list: serde_json::Value =
            serde_json::from_str(&http_get(&dt_addr, "/json/list")).unwrap_or_default();
        let found = list.as_array().and_then(|a| {
            a.iter()
                .find(|t| {
                    t["type"] == "page"
                        && t["url"].as_str().is_some_and(|u| u.contains("/synapse/0"))
                })
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
        });
        if let Some(ws) = found {
            break ws;
        }
        assert!(Instant::now() < deadline, "no page target in {list}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (mut ws, _) = tungstenite::connect(page_ws.as_str()).expect("DevTools websocket");
    // Waits for the page, reads the weight, clicks "advance" (by 3000 ms: the first reward
    // comes at 2 s) and waits for the weight shown to change.
    let script = r#"(async () => {
        const sleep = ms => new Promise(r => setTimeout(r, ms));
        if (location.pathname !== '/synapse/0' || document.readyState !== 'complete'
            || !document.getElementById('advance')) return 'not ready';
        const w = () => document.getElementById('weight').textContent;
        const before = w();
        document.getElementById('ms').value = '3000';
        document.getElementById('advance').click();
        for (let i = 0; i < 400 && w() === before; i++) await sleep(50);
        return JSON.stringify({before, after: w(), status: document.getElementById('status').textContent,
                               t: document.getElementById('t').textContent});
    })()"#;
    // The page may still be navigating when we connect: retry while its context is replaced.
    let mut value = String::new();
    for id in 1..=40 {
        let msg = serde_json::json!({"id": id, "method": "Runtime.evaluate",
            "params": {"expression": script, "awaitPromise": true, "returnByValue": true}});
        ws.send(tungstenite::Message::text(msg.to_string()))
            .unwrap();
        let result = loop {
            let m = ws.read().expect("DevTools reply");
            if let Ok(text) = m.to_text() {
                let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
                if v["id"] == id {
                    break v;
                }
            }
        };
        match result["result"]["result"]["value"].as_str() {
            Some(v) if v != "not ready" => {
                value = v.to_string();
                break;
            }
            _ => {
                println!("page not ready yet: {result}");
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
    assert!(
        !value.is_empty(),
        "the synapse page never became scriptable"
    );
    let v: serde_json::Value = serde_json::from_str(&value).unwrap();
    println!("browser: {v}");
    let before: f64 = v["before"].as_str().unwrap().parse().unwrap();
    let after: f64 = v["after"].as_str().unwrap().parse().unwrap();
    assert_ne!(
        before, after,
        "the weight shown did not change after advance: {v}"
    );
    assert_eq!(v["t"], "3000", "{v}");
    // The server agrees with the page.
    let api: serde_json::Value = serde_json::from_str(&http_get(&addr, "/api/synapse/0")).unwrap();
    assert!(
        (api["w_mv"].as_f64().unwrap() - after).abs() < 1e-5,
        "{api}"
    );
    drop(ws);
    drop(chrome_proc);
    drop(serve);

    // 3. A short run, its report, rendered to a PNG.
    let out = tmp("run");
    let ok = Command::new(EDRA)
        .args([
            "run",
            "scenes/single_synapse.ron",
            "--duration-ms",
            "4000",
            "--out",
        ])
        .arg(&out)
        .current_dir(root)
        .status()
        .unwrap();
    assert!(ok.success());
    let ok = Command::new(EDRA).arg("report").arg(&out).status().unwrap();
    assert!(ok.success());
    let png = out.join("report.png");
    let status = browser(&chrome, &tmp("profile2"))
        .arg("--window-size=1100,1400")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", out.join("report.html").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success() && png.is_file(), "no screenshot");
    let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let not_white = pixels
        .iter()
        .filter(|p| p[..3].iter().any(|&c| c < 200))
        .count();
    let mut colors: Vec<&[u8]> = pixels.clone();
    colors.sort_unstable();
    colors.dedup();
    let frac = not_white as f64 / pixels.len() as f64;
    println!(
        "report.png: {}x{}, {:.1}% dark pixels, {} colours",
        info.width,
        info.height,
        100.0 * frac,
        colors.len()
    );
    assert!(frac > 0.02 && colors.len() > 16, "report.png looks blank");
    let _ = std::fs::remove_dir_all(&out);
}
