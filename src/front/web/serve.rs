//! `edra serve SCENE|DIR`: the report's views for a live simulation, on 127.0.0.1 only.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | summary, groups, weight histogram, search by synapse id |
//! | `GET /synapse/ID` | one synapse: variables by stage (initial, before the last advance, now), traces |
//! | `GET /synapse?id=ID` | redirects to `/synapse/ID` (the search form) |
//! | `POST /api/advance?ms=N` | advances the simulation by N ms (default 1000, one plasticity cycle) |
//! | `GET /api/summary` | the population as JSON |
//! | `GET /api/synapse/ID` | one synapse as JSON |
//!
//! The simulation lives on its own thread; requests reach it over a channel as jobs. Unknown
//! ids and bad parameters answer 404 or 400 with a message.

use super::data::{GroupView, Population, SynapseView, Trace, all_values, unit_of};
use super::html;
use super::report::{recorded_synapses, summary_section};
use crate::assembly::record::Recorders;
use crate::assembly::sim::Simulation;
use crate::core::error::{EdraError, Result};
use crate::scene::SceneFile;
use crate::stages::SYNAPSE_VARIABLE_COUNT;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;
use std::sync::mpsc;

/// Default advance: one plasticity cycle, ms.
pub const DEFAULT_ADVANCE_MS: f64 = 1000.0;
/// Longest advance one request may ask for, ms (a request must finish in reasonable time).
pub const MAX_ADVANCE_MS: f64 = 3_600_000.0;

type Values = Vec<[Option<f32>; SYNAPSE_VARIABLE_COUNT]>;

/// The state the simulation thread owns.
pub struct Live {
    /// The scene as built from scratch (t = start of the scene), for "initial" values.
    initial: Simulation,
    /// The simulation being advanced.
    sim: Simulation,
    /// Every synapse's values and the time just before the last advance.
    previous: Option<(f64, Values)>,
    /// Initial population (weights before anything ran).
    initial_pop: Population,
}

impl Live {
    /// Builds from a scene file, or from a run folder's `checkpoint.ron` (a folder continues
    /// that run; its "initial" state is the scene's start).
    pub fn open(path: &Path) -> Result<Live> {
        let file = if path.is_dir() {
            let c = path.join("checkpoint.ron");
            if !c.is_file() {
                return Err(EdraError::other(format!(
                    "{}: not found; give a scene file or a folder written by `edra run`",
                    c.display()
                )));
            }
            c
        } else {
            path.to_path_buf()
        };
        let sf = SceneFile::load(&file)?;
        let mut start = sf.scene.clone();
        start.state = None;
        let mut initial = Simulation::new(SceneFile {
            scene: start,
            file: sf.file.clone(),
            src: String::new(),
        })?;
        let sim = Simulation::new(sf)?;
        let initial_pop = Population::of(&mut initial);
        Ok(Live {
            initial,
            sim,
            previous: None,
            initial_pop,
        })
    }

    fn traces(&self) -> Vec<Trace> {
        self.sim
            .world()
            .resource::<Recorders>()
            .0
            .iter()
            .map(Trace::from_recorder)
            .collect()
    }

    /// The synapse in each state: initial, before the last advance (if any), now.
    fn states(&mut self, id: u32) -> Option<Vec<(String, SynapseView)>> {
        let now = SynapseView::of(&mut self.sim, id)?;
        let init = SynapseView::of(&mut self.initial, id)?;
        let mut out = vec![("initial".to_string(), init)];
        if let Some((t, vals)) = &self.previous
            && let Some(v) = vals.get(id as usize)
        {
            let mut prev = now.clone();
            prev.t_ms = *t;
            for (slot, x) in prev.values.iter_mut().zip(v) {
                slot.3 = *x;
            }
            out.push(("before advance".to_string(), prev));
        }
        out.push(("now".to_string(), now));
        Some(out)
    }

    /// Advances by `ms`; returns (t before, t after, synapses whose weight changed).
    pub fn advance(&mut self, ms: f64) -> Result<(f64, f64, u64)> {
        let before = all_values(&mut self.sim);
        let t0 = self.sim.t_ms();
        self.sim.run_until(t0 + ms, &mut |_| {})?;
        let after = all_values(&mut self.sim);
        let w = crate::stages::synapse_variables()
            .iter()
            .position(|v| v.name == "w_mv")
            .unwrap_or(0);
        let changed = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a[w] != b[w])
            .count() as u64;
        self.previous = Some((t0, before));
        Ok((t0, self.sim.t_ms(), changed))
    }

    fn summary_json(&mut self) -> serde_json::Value {
        let pop = Population::of(&mut self.sim);
        let groups: Vec<serde_json::Value> = pop
            .groups
            .iter()
            .map(|g: &GroupView| {
                json!({
                    "name": g.name, "replica": g.replica, "pre": g.pre, "post": g.post,
                    "first_id": g.first_id, "count": g.count,
                    "mean_w_mv": finite(pop.mean_weight(g)),
                    "initial_mean_w_mv": finite(self.initial_pop.mean_weight(g)),
                })
            })
            .collect();
        json!({
            "scene": pop.scene, "t_ms": pop.t_ms, "dt_ms": pop.dt_ms,
            "neurons": pop.neurons, "synapses": pop.synapses, "regions": pop.regions,
            "astrocytes": pop.astrocytes, "replicas": pop.replicas, "groups": groups,
            "recorded_synapses": recorded_synapses(&self.sim),
        })
    }

    fn synapse_json(&mut self, id: u32) -> Option<serde_json::Value> {
        let states = self.states(id)?;
        let (_, now) = states.last()?;
        let (_, init) = states.first()?;
        let prev = states
            .iter()
            .find(|s| s.0 == "before advance")
            .map(|s| &s.1);
        let vars: Vec<serde_json::Value> = now
            .values
            .iter()
            .enumerate()
            .map(|(i, (name, stage, component, v))| {
                json!({
                    "name": name, "stage": stage.label(), "component": component, "unit": unit_of(name),
                    "value": v.map(|x| finite(x as f64)),
                    "initial": init.values.get(i).and_then(|x| x.3).map(|x| finite(x as f64)),
                    "before_advance": prev.and_then(|p| p.values.get(i)).and_then(|x| x.3).map(|x| finite(x as f64)),
                })
            })
            .collect();
        Some(json!({
            "id": id, "group": now.group, "replica": now.replica, "pre": now.pre, "post": now.post,
            "axonal_delay_ms": now.axonal_delay_ms, "dendritic_delay_ms": now.dendritic_delay_ms,
            "region": now.region, "t_ms": now.t_ms,
            "w_mv": now.value("w_mv").map(|x| finite(x as f64)),
            "variables": vars,
        }))
    }

    fn index_page(&mut self) -> String {
        let pop = Population::of(&mut self.sim);
        let mut body = summary_section(self.sim.scene(), None);
        let _ = write!(
            body,
            "<p class=\"weight\">live simulation at t = {} ms</p>\
             <form action=\"/synapse\" method=\"get\"><label>synapse id \
             <input name=\"id\" type=\"number\" min=\"0\" max=\"{}\" required></label> \
             <button type=\"submit\">show</button></form>",
            pop.t_ms,
            pop.synapses.saturating_sub(1)
        );
        body.push_str(&html::population_section(
            &[("initial", &self.initial_pop), ("now", &pop)],
            true,
        ));
        let rec = recorded_synapses(&self.sim);
        if !rec.is_empty() {
            body.push_str("<h2>Recorded synapses</h2><p>");
            for id in rec {
                let _ = write!(body, "<a href=\"/synapse/{id}\">{id}</a> ");
            }
            body.push_str("</p>");
        }
        html::page(&format!("edra serve: {}", self.sim.scene().name), &body, "")
    }

    fn synapse_page(&mut self, id: u32) -> Option<String> {
        let states = self.states(id)?;
        let traces = self.traces();
        let (_, now) = states.last()?;
        let refs: Vec<(&str, &SynapseView)> = states.iter().map(|(l, v)| (l.as_str(), v)).collect();
        let changed = match &self.previous {
            Some((t, _)) => format!(
                "<p id=\"changes\">Advanced from t = {t} ms to t = {} ms; highlighted rows changed.</p>",
                now.t_ms
            ),
            None => "<p id=\"changes\" class=\"note\">Not advanced yet.</p>".to_string(),
        };
        let body = format!(
            "<p><a href=\"/\">← population</a></p>\
             <div class=\"advance\"><label>advance by <input id=\"ms\" type=\"number\" min=\"0\" \
             step=\"any\" value=\"{DEFAULT_ADVANCE_MS}\"> ms</label> \
             <button id=\"advance\" type=\"button\">advance</button> <span id=\"status\"></span></div>\
             <div id=\"detail\">{}{changed}{}{}</div>",
            html::synapse_header(now),
            html::values_table(&refs),
            html::trace_plots(now, &traces)
        );
        Some(html::page(
            &format!("edra serve: synapse {id}"),
            &body,
            ADVANCE_SCRIPT,
        ))
    }
}

/// The advance button: POSTs to the API, then replaces the detail with the page's new one
/// (no reload, so the page stays scriptable).
const ADVANCE_SCRIPT: &str = r#"
const btn = document.getElementById('advance');
const status = document.getElementById('status');
btn.addEventListener('click', async () => {
  btn.disabled = true; status.textContent = 'running…';
  try {
    const ms = document.getElementById('ms').value;
    const r = await fetch('/api/advance?ms=' + encodeURIComponent(ms), {method: 'POST'});
    const j = await r.json();
    if (!r.ok) throw new Error(j.error);
    const page = await (await fetch(location.pathname)).text();
    const doc = new DOMParser().parseFromString(page, 'text/html');
    document.getElementById('detail').innerHTML = doc.getElementById('detail').innerHTML;
    status.textContent = 'advanced to t = ' + j.t_ms + ' ms; ' + j.weights_changed + ' synapse weights changed';
  } catch (e) {
    status.textContent = 'error: ' + e.message;
  } finally {
    btn.disabled = false;
  }
});
"#;

/// JSON cannot hold NaN or infinities: they become null.
fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

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
    /// An error: JSON under `/api/`, a short page elsewhere.
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
}

/// A job for the simulation thread.
type Job = Box<dyn FnOnce(&mut Live) + Send>;

/// The handle to the simulation thread.
pub struct SimThread {
    jobs: mpsc::Sender<Job>,
}

impl SimThread {
    /// Starts the thread and builds the simulation on it; returns once it is built.
    pub fn start(path: &Path) -> Result<SimThread> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("edra-sim".into())
            .spawn(move || {
                let mut live = match Live::open(&path) {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    job(&mut live);
                }
            })
            .map_err(|e| EdraError::other(format!("starting the simulation thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| EdraError::other("the simulation thread stopped while loading"))??;
        Ok(SimThread { jobs })
    }

    /// Runs `f` on the simulation thread and returns its result.
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Live) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |live| {
                let _ = tx.send(f(live));
            }))
            .map_err(|_| EdraError::other("the simulation thread has stopped"))?;
        rx.recv()
            .map_err(|_| EdraError::other("the simulation thread has stopped"))
    }

    /// Answers one request: `method`, `url` (path and query).
    pub fn handle(&self, method: &str, url: &str) -> Reply {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let api = path.starts_with("/api/");
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let parse_id = |s: &str| -> std::result::Result<u32, Reply> {
            s.parse::<u32>().map_err(|_| {
                Reply::error(
                    400,
                    api,
                    format!("`{s}` is not a synapse id (a whole number ≥ 0)"),
                )
            })
        };
        let result = (|| -> std::result::Result<Reply, Reply> {
            let internal = |e: EdraError| Reply::error(500, api, e.to_string());
            let unknown = |id: u32, n: u64| {
                Reply::error(
                    404,
                    api,
                    format!("no synapse {id}: ids are 0..{}", n.saturating_sub(1)),
                )
            };
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            match (method, segs.as_slice()) {
                ("GET", [""]) => Ok(Reply::html(
                    self.call(|l| l.index_page()).map_err(internal)?,
                )),
                ("GET", ["synapse"]) => {
                    let s = param("id")
                        .ok_or_else(|| Reply::error(400, api, "missing parameter `id`".into()))?;
                    let id = parse_id(&s)?;
                    Ok(Reply {
                        status: 303,
                        location: Some(format!("/synapse/{id}")),
                        ..Reply::html(String::new())
                    })
                }
                ("GET", ["synapse", s]) => {
                    let id = parse_id(s)?;
                    let (page, n) = self
                        .call(move |l| (l.synapse_page(id), l.sim.info().synapses))
                        .map_err(internal)?;
                    page.map(Reply::html).ok_or_else(|| unknown(id, n))
                }
                ("GET", ["api", "summary"]) => Ok(Reply::json(
                    self.call(|l| l.summary_json()).map_err(internal)?,
                )),
                ("GET", ["api", "synapse", s]) => {
                    let id = parse_id(s)?;
                    let (v, n) = self
                        .call(move |l| (l.synapse_json(id), l.sim.info().synapses))
                        .map_err(internal)?;
                    v.map(Reply::json).ok_or_else(|| unknown(id, n))
                }
                ("POST", ["api", "advance"]) => {
                    let ms =
                        match param("ms") {
                            None => DEFAULT_ADVANCE_MS,
                            Some(s) => s.parse::<f64>().ok().filter(|m| m.is_finite()).ok_or_else(
                                || Reply::error(400, api, format!("ms: `{s}` is not a number")),
                            )?,
                        };
                    if !(ms > 0.0 && ms <= MAX_ADVANCE_MS) {
                        return Err(Reply::error(
                            400,
                            api,
                            format!("ms: {ms} is outside (0, {MAX_ADVANCE_MS}] ms"),
                        ));
                    }
                    let (t0, t1, changed) = self
                        .call(move |l| l.advance(ms))
                        .map_err(internal)?
                        .map_err(internal)?;
                    Ok(Reply::json(
                        json!({ "from_ms": t0, "t_ms": t1, "weights_changed": changed }),
                    ))
                }
                (_, ["api", "advance"]) => {
                    Err(Reply::error(405, api, "use POST /api/advance?ms=N".into()))
                }
                _ => Err(Reply::error(404, api, format!("no page {path}"))),
            }
        })();
        result.unwrap_or_else(|e| e)
    }
}

/// Serves `path` (a scene or a run folder) on `127.0.0.1:port` until the process ends;
/// `on_ready` gets the address actually bound (port 0 picks a free one).
pub fn serve(path: &Path, port: u16, on_ready: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let sim = SimThread::start(path)?;
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| EdraError::other(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| EdraError::other("the server has no IP address"))?;
    on_ready(addr);
    for req in server.incoming_requests() {
        let method = req.method().as_str().to_ascii_uppercase();
        let reply = sim.handle(&method, req.url());
        let mut resp = tiny_http::Response::from_string(reply.body)
            .with_status_code(reply.status)
            .with_header(header("Content-Type", reply.content_type))
            .with_header(header("Cache-Control", "no-store"));
        if let Some(loc) = &reply.location {
            resp = resp.with_header(header("Location", loc));
        }
        // A client that went away is not an error of the server.
        let _ = req.respond(resp);
    }
    Ok(())
}

/// A header from edra's own ASCII names and values (content types, `/synapse/<u32>`).
fn header(k: &str, v: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("ASCII header")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> SimThread {
        SimThread::start(Path::new("scenes/single_synapse.ron")).expect("scene loads")
    }

    #[test]
    fn routes_answer_and_bad_input_is_refused_with_a_message() {
        let s = sim();
        let r = s.handle("GET", "/");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("edra serve: single_synapse"));
        let r = s.handle("GET", "/synapse/0");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("id=\"advance\"") && r.body.contains("id=\"weight\""));
        let r = s.handle("GET", "/synapse?id=0");
        assert_eq!((r.status, r.location.as_deref()), (303, Some("/synapse/0")));
        let r = s.handle("GET", "/api/summary");
        let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
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
            ("GET", "/nope", 404),
        ] {
            let r = s.handle(m, url);
            assert_eq!(r.status, status, "{m} {url}: {}", r.body);
            assert!(!r.body.is_empty());
        }
        let r = s.handle("GET", "/api/synapse/5");
        assert!(r.body.contains("no synapse 5: ids are 0..0"), "{}", r.body);
    }

    #[test]
    fn advance_changes_the_weight_and_shows_what_changed() {
        let s = sim();
        let w = |s: &SimThread| {
            let j: serde_json::Value =
                serde_json::from_str(&s.handle("GET", "/api/synapse/0").body).unwrap();
            j["w_mv"].as_f64().unwrap()
        };
        let w0 = w(&s);
        // Rewards from 2 s on turn the eligibility into early LTP.
        let r = s.handle("POST", "/api/advance?ms=3000");
        assert_eq!(r.status, 200, "{}", r.body);
        let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(j["t_ms"], 3000.0);
        assert_ne!(w(&s), w0);
        let page = s.handle("GET", "/synapse/0").body;
        assert!(page.contains("before advance") && page.contains("class=\"changed\""));
        assert!(page.contains("Advanced from t = 0 ms to t = 3000 ms"));
    }
}
