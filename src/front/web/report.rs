//! `edra report DIR`: one self-contained HTML page about a finished run.

use super::data::{Population, SynapseView, Trace};
use super::html::{self, fmt_value};
use crate::assembly::output::RunSummary;
use crate::assembly::record::{RecordKind, Recorders};
use crate::assembly::sim::Simulation;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Stages;
use crate::front::plot::escape;
use crate::scene::SceneFile;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The run in `dir` as the pages need it: the scene built from scratch ("before"), the
/// checkpoint ("after"), the summary if there is one, and the recorders' traces.
pub struct Run {
    pub before: Simulation,
    pub after: Simulation,
    pub summary: Option<RunSummary>,
    pub traces: Vec<Trace>,
    /// Synapse ids named by the scene's recorders, ascending.
    pub recorded: Vec<u32>,
}

impl Run {
    /// Reads the checkpoint (`dir/checkpoint.ckpt` or `dir/checkpoint.ron`), `dir/summary.ron`
    /// (optional) and the recorders' files (`<name>.parquet` or `<name>.csv`).
    pub fn load(dir: &Path) -> Result<Run> {
        Self::load_with(dir, &crate::stages::registered())
    }

    /// [`Run::load`] of a run with stages registered on top of the built-in cascade.
    pub fn load_with(dir: &Path, registered: &Stages) -> Result<Run> {
        let ckpt = crate::assembly::checkpoint::in_folder(dir);
        if !ckpt.is_file() {
            return Err(EdraError::other(format!(
                "{}: not found; `edra report` needs the folder written by `edra run SCENE --out DIR`",
                ckpt.display()
            )));
        }
        let sf = SceneFile::load_with(&ckpt, registered)?;
        let mut start = sf.scene.clone();
        start.state = None;
        let start = SceneFile {
            scene: start,
            file: sf.file.clone(),
            src: String::new(),
        };
        let before = Simulation::new_with(start, registered.clone())?;
        let after = Simulation::new_with(sf, registered.clone())?;
        let summary = read_summary(&dir.join("summary.ron"))?;
        let mut traces = Vec::new();
        for r in &after.scene().recorders {
            traces.extend(Trace::from_run_folder(&r.name, dir)?);
        }
        let recorded = recorded_synapses(&after);
        Ok(Run {
            before,
            after,
            summary,
            traces,
            recorded,
        })
    }
}

/// The synapse ids the scene's recorders sample, ascending.
pub fn recorded_synapses(sim: &Simulation) -> Vec<u32> {
    let mut ids: Vec<u32> = sim
        .world()
        .resource::<Recorders>()
        .0
        .iter()
        .filter(|r| r.kind == RecordKind::Synapses)
        .flat_map(|r| r.ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn read_summary(path: &Path) -> Result<Option<RunSummary>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| EdraError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ron::from_str(&text)
        .map(Some)
        .map_err(|e| EdraError::other(format!("{}: {e}", path.display())))
}

/// The summary table of a run.
pub fn summary_section(scene: &crate::scene::Scene, s: Option<&RunSummary>) -> String {
    let mut rows = vec![
        ("scene", escape(&scene.name)),
        ("seed", scene.seed.to_string()),
        ("dt (ms)", scene.dt_ms.to_string()),
        (
            "slow stages every (steps)",
            scene.slow_every_steps.to_string(),
        ),
    ];
    if let Some(s) = s {
        rows.extend([
            ("edra version", escape(&s.edra_version)),
            ("start (ms)", s.start_ms.to_string()),
            ("simulated (ms)", s.simulated_ms.to_string()),
            ("steps", s.steps.to_string()),
            ("spikes", s.spikes.to_string()),
            ("threads", s.threads.to_string()),
            ("MPI ranks", s.ranks.to_string()),
            ("wall time (s)", format!("{:.3}", s.wall_s)),
            (
                "synapse-steps per s",
                format!("{:.3e}", s.synapse_steps_per_s),
            ),
        ]);
        if s.ranks > 1 {
            rows.push((
                "spike exchanges (rank 0)",
                format!(
                    "{} calls, {:.3} s, {:.1} MiB received",
                    s.exchange_calls,
                    s.exchange_s,
                    s.exchange_bytes as f64 / 1048576.0
                ),
            ));
        }
    }
    let mut o = String::from("<h2 id=\"summary\">Run</h2>");
    o.push_str(&html::kv_table(&rows));
    if s.is_none() {
        o.push_str("<p class=\"note\">No summary.ron in this folder.</p>");
    }
    o
}

/// The report page of the run.
pub fn render(run: &mut Run) -> String {
    let pop_before = Population::of(&mut run.before);
    let pop_after = Population::of(&mut run.after);
    let mut body = String::from(
        "<nav class=\"toc\"><a href=\"#summary\">run</a><a href=\"#population\">population</a>",
    );
    for id in &run.recorded {
        let _ = write!(body, "<a href=\"#synapse-{id}\">synapse {id}</a>");
    }
    body.push_str("</nav>");
    body.push_str(&summary_section(run.after.scene(), run.summary.as_ref()));
    body.push_str(&html::population_section(
        &[("before", &pop_before), ("after", &pop_after)],
        false,
    ));
    body.push_str("<h2 id=\"synapses\">Recorded synapses</h2>");
    if run.recorded.is_empty() {
        body.push_str("<p class=\"note\">The scene records no synapse.</p>");
    }
    for &id in &run.recorded {
        let (Some(b), Some(a)) = (
            SynapseView::of(&mut run.before, id),
            SynapseView::of(&mut run.after, id),
        ) else {
            continue;
        };
        let _ = write!(
            body,
            "<section class=\"synapse\" id=\"synapse-{id}\"><h3>Synapse {id}: w {} → {} mV</h3>{}{}{}</section>",
            fmt_value(b.value("w_mv")),
            fmt_value(a.value("w_mv")),
            html::synapse_header(&a),
            html::values_table(&[("before", &b), ("after", &a)]),
            html::trace_plots(&a, &run.traces)
        );
    }
    html::page(
        &format!("edra report: {}", run.after.scene().name),
        &body,
        "",
    )
}

/// Writes `dir/report.html` and returns its path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    write_report_with(dir, &crate::stages::registered())
}

/// [`write_report`] of a run with stages registered on top of the built-in cascade.
pub fn write_report_with(dir: &Path, registered: &Stages) -> Result<PathBuf> {
    let mut run = Run::load_with(dir, registered)?;
    let page = render(&mut run);
    let path = dir.join("report.html");
    std::fs::write(&path, page).map_err(|source| EdraError::Output {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short run of the single-synapse scene written as `edra run` would.
    pub(crate) fn short_run(dir: &Path, until_ms: f64) {
        std::fs::create_dir_all(dir).unwrap();
        let mut sim = Simulation::load(Path::new("scenes/single_synapse.ron")).unwrap();
        sim.run_until(until_ms, &mut |_| {}).unwrap();
        crate::assembly::output::write_recorders(&sim, dir).unwrap();
        sim.save_checkpoint(&dir.join("checkpoint.ron")).unwrap();
    }

    #[test]
    fn report_of_a_run_has_every_section() {
        let dir = std::env::temp_dir().join(format!("edra-report-{}", std::process::id()));
        short_run(&dir, 2600.0);
        let path = write_report(&dir).expect("report");
        let html = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for s in [
            "edra report: single_synapse",
            "id=\"population\"",
            "Total weight of every synapse",
            "id=\"synapse-0\"",
            "stage 1 Ca influx",
            "stage 6 Consolidation",
            "Spine Ca²⁺",
            "Dopamine in the synapse",
            "No summary.ron",
        ] {
            assert!(html.contains(s), "report lacks `{s}`");
        }
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    }

    #[test]
    fn a_folder_without_checkpoint_is_named() {
        let e = write_report(Path::new("/nonexistent/edra")).err().unwrap();
        assert!(
            e.to_string().contains("/nonexistent/edra/checkpoint.ron"),
            "{e}"
        );
    }
}
