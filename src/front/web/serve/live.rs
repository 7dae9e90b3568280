//! The live simulation the server shows: built from a scene or a run folder, read into pages
//! and JSON, advanced on request.

use super::DEFAULT_ADVANCE_MS;
use super::advance::Run;
use super::traces::{TRACE_BUDGET_BYTES, TraceBound};
use crate::assembly::record::Recorders;
use crate::assembly::sim::Simulation;
use crate::core::error::{EdraError, Result};
use crate::front::web::data::{GroupView, Population, SynapseView, Trace, unit_of};
use crate::front::web::html;
use crate::front::web::report::{recorded_synapses, summary_section};
use crate::scene::SceneFile;
use crate::stages::SYNAPSE_VARIABLE_COUNT;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;

pub(super) type Values = Vec<[Option<f32>; SYNAPSE_VARIABLE_COUNT]>;

/// The state the simulation thread owns.
pub struct Live {
    /// The scene as built from scratch (t = start of the scene), for "initial" values.
    initial: Simulation,
    /// The simulation being advanced.
    pub(super) sim: Simulation,
    /// Every synapse's values and the time when the last advance started.
    pub(super) previous: Option<(f64, Values)>,
    /// The advance under way, or the last one.
    pub(super) run: Option<Run>,
    /// Initial population (weights before anything ran).
    initial_pop: Population,
    /// How much of the recorders' samples is kept.
    pub(super) bound: TraceBound,
    /// The session token every page carries for its scripts' POSTs (see `guard`).
    pub(super) token: String,
}

impl Live {
    /// Builds from a scene file, or from a run folder's checkpoint (`checkpoint.ckpt` or `.ron`) (a folder continues
    /// that run; its "initial" state is the scene's start).
    pub fn open(path: &Path) -> Result<Live> {
        let file = if path.is_dir() {
            let c = crate::assembly::checkpoint::in_folder(path);
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
        // The initial state is never advanced: its recorders need no room.
        for r in &mut initial.world_mut().resource_mut::<Recorders>().0 {
            r.rows = Vec::new();
        }
        let mut live = Live {
            initial,
            sim,
            previous: None,
            run: None,
            initial_pop,
            bound: TraceBound {
                keep_samples: 1,
                chunk_steps: 1,
            },
            token: String::new(),
        };
        live.bound_traces(TRACE_BUDGET_BYTES);
        Ok(live)
    }

    /// Bounds the recorders' samples kept to `budget_bytes` ([`TraceBound`]).
    pub(super) fn bound_traces(&mut self, budget_bytes: usize) {
        let info = self.sim.info().clone();
        let mut recs = self.sim.world_mut().resource_mut::<Recorders>();
        self.bound = TraceBound::of(&recs.0, &info, budget_bytes);
        self.bound.reserve(&mut recs.0, &info);
    }

    /// After a chunk of an advance: drops the samples beyond the bound.
    pub(super) fn trim_traces(&mut self) {
        let info = self.sim.info().clone();
        let mut recs = self.sim.world_mut().resource_mut::<Recorders>();
        self.bound.trim(&mut recs.0, &info);
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

    pub(super) fn summary_json(&mut self) -> serde_json::Value {
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
            "trace_samples_kept": self.bound.keep_samples,
            "trace_budget_bytes": TRACE_BUDGET_BYTES,
        })
    }

    pub(super) fn synapse_json(&mut self, id: u32) -> Option<serde_json::Value> {
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

    pub(super) fn index_page(&mut self) -> String {
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
        self.page(&format!("edra serve: {}", self.sim.scene().name), &body, "")
    }

    pub(super) fn synapse_page(&mut self, id: u32) -> Option<String> {
        let states = self.states(id)?;
        let traces = self.traces();
        let (_, now) = states.last()?;
        let refs: Vec<(&str, &SynapseView)> = states.iter().map(|(l, v)| (l.as_str(), v)).collect();
        let changed = match (&self.previous, &self.run) {
            (Some(_), Some(r)) if r.running => format!(
                "<p id=\"changes\">Advancing from t = {} ms to t = {} ms, now at t = {} ms; \
                 highlighted rows changed.</p>",
                r.from_ms, r.target_ms, now.t_ms
            ),
            (Some((t, _)), _) => format!(
                "<p id=\"changes\">Advanced from t = {t} ms to t = {} ms; highlighted rows changed.</p>",
                now.t_ms
            ),
            (None, _) => "<p id=\"changes\" class=\"note\">Not advanced yet.</p>".to_string(),
        };
        let body = format!(
            "<p><a href=\"/\">← population</a></p>\
             <div class=\"advance\"><label>advance by <input id=\"ms\" type=\"number\" min=\"0\" \
             step=\"any\" value=\"{DEFAULT_ADVANCE_MS}\"> ms</label> \
             <button id=\"advance\" type=\"button\">advance</button> \
             <button id=\"stop\" type=\"button\" disabled>stop</button> <span id=\"status\"></span></div>\
             <div id=\"detail\">{}{changed}{}{}</div>",
            html::synapse_header(now),
            html::values_table(&refs),
            html::trace_plots(now, &traces)
        ) + &format!(
            "<p class=\"note\" id=\"kept\">Traces show each recorder's last {} samples \
             (the live server keeps at most {} MiB of them).</p>",
            self.bound.keep_samples,
            TRACE_BUDGET_BYTES >> 20
        );
        Some(self.page(&format!("edra serve: synapse {id}"), &body, ADVANCE_SCRIPT))
    }

    /// A page carrying the session token (hex digits, nothing to escape).
    fn page(&self, title: &str, body: &str, script: &str) -> String {
        let head = format!("<meta name=\"edra-token\" content=\"{}\">", self.token);
        html::page_with_head(title, &head, body, script)
    }
}

/// The advance button: POSTs to the API, polls the progress every 200 ms into `#status`, then
/// replaces the detail with the page's new one (no reload, so the page stays scriptable). The
/// stop button stops the advance at its next chunk.
const ADVANCE_SCRIPT: &str = r#"
const btn = document.getElementById('advance');
const stop = document.getElementById('stop');
const status = document.getElementById('status');
const token = document.querySelector('meta[name="edra-token"]').content;
const post = url => fetch(url, {method: 'POST', headers: {'X-Edra-Token': token}});
const sleep = ms => new Promise(r => setTimeout(r, ms));
stop.addEventListener('click', () => post('/api/stop'));
btn.addEventListener('click', async () => {
  btn.disabled = true; status.textContent = 'starting…';
  try {
    const ms = document.getElementById('ms').value;
    const r = await post('/api/advance?ms=' + encodeURIComponent(ms));
    const j = await r.json();
    if (!r.ok) throw new Error(j.error);
    stop.disabled = false;
    let p;
    for (;;) {
      p = await (await fetch('/api/progress')).json();
      if (!p.running) break;
      status.textContent = 'running: t = ' + p.t_ms + ' ms of ' + p.target_ms + ' ms ('
        + Math.floor(100 * p.fraction) + '%)';
      await sleep(200);
    }
    const page = await (await fetch(location.pathname)).text();
    const doc = new DOMParser().parseFromString(page, 'text/html');
    document.getElementById('detail').innerHTML = doc.getElementById('detail').innerHTML;
    if (p.error) throw new Error(p.error);
    status.textContent = (p.stopped ? 'stopped at t = ' : 'advanced to t = ') + p.t_ms + ' ms; '
      + p.weights_changed + ' synapse weights changed';
  } catch (e) {
    status.textContent = 'error: ' + e.message;
  } finally {
    btn.disabled = false; stop.disabled = true;
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
