//! Regenerates `docs/validation.md` and its figures (`docs/validation/*.svg`) from the scenes
//! under `scenes/experiments/`:
//!
//! ```text
//! cargo run --release --example validation
//! ```
//!
//! Each scene runs in full (as `edra run` would run it; the longest take a few minutes), its
//! `synapses.csv` and recorder CSVs are written to `target/validation_runs/<scene>/`, and the
//! figures are drawn from those CSVs. The readouts are the functions of `validation_parts/helpers.rs` that
//! the tests under `tests/experiment_*.rs` assert.

use edra::plot::{LineChart, Series, line_chart};
use edra::stages::ca_influx::{CaModel, mg_unblock};
use edra::stages::plasticity::Rule;
#[path = "validation_parts/helpers.rs"]
mod validation;
use edra::{Result, Simulation};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use validation::{by_group, gb};

#[path = "validation_parts/science.rs"]
mod science;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `sim` to `t_ms` and writes its synapses.csv and recorder CSVs into the run folder.
fn finish(sim: &mut Simulation, name: &str) -> Result<PathBuf> {
    let dir = root().join("target/validation_runs").join(name);
    std::fs::create_dir_all(&dir).map_err(|e| edra::EdraError::other(e.to_string()))?;
    edra::output::write_synapses(sim, &dir.join("synapses.csv"))?;
    edra::output::write_recorders(sim, &dir)?;
    Ok(dir)
}

/// A CSV with a header line: (column names, rows of numbers; empty fields are NaN).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|x| x.parse::<f64>().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (header, rows)
}

/// (x, y) of two columns of a recorder CSV, x scaled by `x_scale`.
fn columns(path: &Path, x: &str, y: &str, x_scale: f64) -> Vec<(f64, f64)> {
    let (h, rows) = read_csv(path);
    let col = |n: &str| {
        h.iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("{}: no column {n}", path.display()))
    };
    let (i, j) = (col(x), col(y));
    rows.iter().map(|r| (r[i] * x_scale, r[j])).collect()
}

struct Page {
    md: String,
    fig_dir: PathBuf,
}

impl Page {
    fn figure(&mut self, file: &str, chart: LineChart, series: &[Series], caption: &str) {
        let svg = line_chart(&chart, series);
        std::fs::write(self.fig_dir.join(file), svg).expect("write figure");
        writeln!(
            self.md,
            "\n![{caption}](validation/{file})\n\n*{caption}*\n"
        )
        .unwrap();
    }
}

fn main() -> Result<()> {
    // One thread: these scenes are small, and below ~50 000 synapses one thread is fastest.
    edra::sim::init_threads(Some(1));
    let fig_dir = root().join("docs/validation");
    std::fs::create_dir_all(&fig_dir).map_err(|e| edra::EdraError::other(e.to_string()))?;
    let mut p = Page {
        md: String::new(),
        fig_dir,
    };
    if std::env::var_os("EDRA_VALIDATION_ONLY_REWARD").is_some() {
        return only_reward_sections(p);
    }
    intro(&mut p);
    let mut summary = Vec::new();
    mg_block(&mut p, &mut summary);
    nmda(&mut p, &mut summary)?;
    stdp_pair(&mut p, &mut summary)?;
    calcium_window(&mut p, &mut summary)?;
    frequency(&mut p, &mut summary)?;
    dopamine(&mut p, &mut summary)?;
    trafficking(&mut p, &mut summary)?;
    homeostasis(&mut p, &mut summary)?;
    tag_and_capture(&mut p, &mut summary)?;
    science::peer_section(&mut p, &root());
    distal_reward(&mut p, &mut summary)?;
    retraining(&mut p, &mut summary)?;
    science::conventions_and_audit(&mut p.md);
    let mut table = String::from(
        "\n## Summary\n\n| experiment | published | edra | status |\n|---|---|---|---|\n",
    );
    for row in &summary {
        table.push_str(row);
        table.push('\n');
    }
    let md = p.md.replacen("<!-- summary -->", &table, 1);
    std::fs::write(root().join("docs/validation.md"), md)
        .map_err(|e| edra::EdraError::other(e.to_string()))?;
    eprintln!("wrote docs/validation.md and docs/validation/*.svg");
    Ok(())
}

/// With EDRA_VALIDATION_ONLY_REWARD set: regenerates only the distal-reward and retraining
/// sections and the conventions section after them (the page's last three) and their summary
/// rows, in place in the existing
/// docs/validation.md, without rerunning the other experiments.
fn only_reward_sections(mut p: Page) -> Result<()> {
    let path = root().join("docs/validation.md");
    let old = std::fs::read_to_string(&path).map_err(|e| edra::EdraError::other(e.to_string()))?;
    let start = old
        .find("\n## Distal reward (")
        .ok_or_else(|| edra::EdraError::other("docs/validation.md: no distal-reward section"))?;
    let mut summary = Vec::new();
    distal_reward(&mut p, &mut summary)?;
    retraining(&mut p, &mut summary)?;
    science::conventions_and_audit(&mut p.md);
    let mut md = String::new();
    for line in old[..start].split_inclusive('\n') {
        match summary
            .iter()
            .find(|row| line.starts_with(&row[..row.find(" | ").map_or(row.len(), |i| i + 3)]))
        {
            Some(row) => {
                md.push_str(row);
                md.push('\n');
            }
            None => md.push_str(line),
        }
    }
    md.push_str(&p.md);
    std::fs::write(&path, md).map_err(|e| edra::EdraError::other(e.to_string()))?;
    eprintln!("rewrote the distal-reward and retraining sections of docs/validation.md");
    Ok(())
}

fn intro(p: &mut Page) {
    p.md.push_str(
        "# Validation: edra against published plasticity experiments\n\n\
         Generated by `cargo run --release --example validation` (about 20 minutes on 2 cores,\n\
         without the two long runs below): it runs every scene of `scenes/experiments/` in full,\n\
         writes each run's `synapses.csv` and recorder CSVs to `target/validation_runs/<scene>/`,\n\
         draws the figures below from those CSVs and writes this page. The two long scenes,\n\
         `distal_reward.ron` (1 simulated hour) and `retraining.ron` (2 h), take about as long in\n\
         wall time: their runs are read from `target/validation_runs/<scene>/` when `edra run`\n\
         wrote them there in full (`edra run scenes/experiments/<scene>.ron --threads 1 --out\n\
         target/validation_runs/<scene>`), and made by the example otherwise, unless\n\
         `EDRA_VALIDATION_SKIP_LONG` is set; each section says which. Do not edit this page by\n\
         hand. Each experiment also has a test under `tests/experiment_*.rs` that asserts the\n\
         published numbers (some on a shortened or faster variant, said where); `cargo test\n\
         --release` runs them. Any scene also runs\n\
         alone: `cargo run --release -- run scenes/experiments/<scene>.ron --out out/<scene>`.\n\n\
         Equations and parameters: `MODEL.md` (the reference model) and the module docs of each\n\
         stage. Where edra does not reach a published value with the published parameters, the\n\
         numbers say so; nothing was tuned to make a test pass.\n\n<!-- summary -->\n",
    );
}

fn mg_block(p: &mut Page, summary: &mut Vec<String>) {
    p.md.push_str(
        "\n## Mg²⁺ block of the NMDA receptor (Jahr & Stevens 1990)\n\n\
         B(V) = 1 / (1 + exp(−0.062·V)·[Mg²⁺]/3.57), [Mg²⁺] = 1 mM. Test: the unit test\n\
         `mg_block_matches_jahr_stevens` in `src/stages/ca_influx.rs` (tolerance ±0.0005).\n\n\
         | V (mV) | published B | edra B |\n|---|---|---|\n",
    );
    let mut worst: f64 = 0.0;
    for (v, b) in [(-70.0, 0.0445), (-40.0, 0.2302), (0.0, 0.7812)] {
        let got = mg_unblock(v as f32, 1.0) as f64;
        worst = worst.max((got - b).abs());
        writeln!(p.md, "| {v} | {b:.4} | {got:.4} |").unwrap();
    }
    let curve: Vec<(f64, f64)> = (-100..=40)
        .map(|v| (v as f64, mg_unblock(v as f32, 1.0) as f64))
        .collect();
    p.figure(
        "mg_block.svg",
        LineChart::new("NMDA Mg²⁺ unblock, 1 mM", "V (mV)", "B(V)"),
        &[Series::new("edra mg_unblock", curve)],
        "Fraction of NMDA receptors not blocked by Mg²⁺ (1 mM).",
    );
    summary.push(format!(
        "| Mg²⁺ block | B = 0.0445, 0.2302, 0.7812 at −70, −40, 0 mV | max deviation {worst:.1e} | reproduced |"
    ));
}

fn nmda(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("nmda_coincidence.ron", |_| {})?;
    let end = sim.scene().duration_ms;
    sim.run_until(end, &mut |_| {})?;
    let dir = finish(&mut sim, "nmda_coincidence")?;
    let rest = 0.05;
    let series: Vec<Series> = ["pre_alone", "post_alone", "paired"]
        .iter()
        .map(|n| {
            let pts = columns(&dir.join(format!("ca_{n}.csv")), "t_ms", "ca_um", 1.0);
            Series::new(*n, pts.into_iter().filter(|q| q.0 <= 250.0).collect())
        })
        .collect();
    let peak = |s: &Series| s.points.iter().map(|q| q.1 - rest).fold(f64::MIN, f64::max);
    let (pre, post, both) = (peak(&series[0]), peak(&series[1]), peak(&series[2]));
    writeln!(
        p.md,
        "\n## NMDA coincidence detection (`nmda_coincidence.ron`)\n\n\
         NMDA calcium model (after Shouval, Bear & Cooper 2002), release certain; pre at 100 ms\n\
         (+1 ms axonal delay), post at 105 ms (+0.5 ms dendritic delay): Δt = +4.5 ms at the\n\
         spine. Test: `tests/experiment_ca_and_dopamine.rs`.\n\n\
         | | published | edra |\n|---|---|---|\n\
         | Ca peak above rest, pre alone | — | {pre:.3} µM |\n\
         | Ca peak above rest, post alone | — | {post:.3} µM |\n\
         | Ca peak above rest, paired | > pre + post | {both:.3} µM = {:.2} × (pre + post) |",
        both / (pre + post)
    )
    .unwrap();
    p.figure(
        "nmda_coincidence.svg",
        LineChart::new(
            "Spine Ca²⁺: pre alone, post alone, paired",
            "t (ms)",
            "Ca (µM)",
        ),
        &series,
        "Spine Ca²⁺ of the three synapses (from the recorder CSVs).",
    );
    summary.push(format!(
        "| NMDA coincidence | paired > pre + post | {both:.3} vs {:.3} µM | reproduced |",
        pre + post
    ));
    Ok(())
}

fn stdp_pair(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("stdp_window_pair.ron", |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, "stdp_window_pair")?;
    // From synapses.csv: the pre → post synapse of each replica.
    let (h, rows) = read_csv(&dir.join("synapses.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (c_dt, c_pre, c_post, c_h) = (
        col("neurons.pair.model.delta_t_ms"),
        col("pre"),
        col("post"),
        col("h_mv"),
    );
    let window: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r[c_pre] < r[c_post])
        .map(|r| (r[c_dt], r[c_h] - 1.0))
        .collect();
    let ltp: Vec<_> = window.iter().copied().filter(|q| q.0 > 0.0).collect();
    let ltd: Vec<_> = window.iter().copied().filter(|q| q.0 < 0.0).collect();
    let (ap, tp, r2p) = validation::fit_exponential(&ltp);
    let (am, tm, r2m) = validation::fit_exponential(&ltd);
    writeln!(
        p.md,
        "\n## STDP window, pair rule (`stdp_window_pair.ron`)\n\n\
         Pair STDP with all-to-all traces (Song, Miller & Abbott 2000), 60 pairings at 1 Hz, Δt\n\
         from −100 to +100 ms in 5 ms steps, h starts at 1 mV. Fit of Δw/w = A·exp(−|Δt|/τ) on\n\
         each side (log-linear least squares). Test: `tests/experiment_stdp_windows.rs` (5 %).\n\n\
         | | published (Bi & Poo 1998) | edra fit |\n|---|---|---|\n\
         | τ+ (LTP side) | 16.8 ms | {tp:.2} ms (R² {r2p:.5}) |\n\
         | τ− (LTD side) | 33.7 ms | {tm:.2} ms (R² {r2m:.5}) |\n\
         | A+ after 60 pairings | scene's 60·a_plus = 0.60 | {ap:.3} |\n\
         | A− after 60 pairings | scene's 60·a_minus = 0.63 | {am:.3} |\n\n\
         The amplitudes are the scene's choice (Bi & Poo's fit is given for τ); the window's\n\
         shape comes from the trace dynamics, the delays and the sweep."
    )
    .unwrap();
    let fit = |a: f64, tau: f64, sign: f64, xs: std::ops::RangeInclusive<i32>| {
        xs.map(|x| (x as f64, sign * a * (-(x as f64).abs() / tau).exp()))
            .collect::<Vec<_>>()
    };
    let mut pts = window.clone();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    p.figure(
        "stdp_window_pair.svg",
        LineChart::new("Pair-STDP window, 60 pairings at 1 Hz", "Δt (ms)", "Δw/w"),
        &[
            Series::new("edra (synapses.csv)", pts),
            Series::new("A+·exp(−Δt/16.8 ms)", fit(0.6, 16.8, 1.0, 1..=100)),
            Series::new("−A−·exp(Δt/33.7 ms)", fit(0.63, 33.7, -1.0, -100..=-1)),
        ],
        "Δw/w against Δt from the run, with Bi & Poo's time constants.",
    );
    summary.push(format!(
        "| STDP window, pair rule | τ+ 16.8 ms, τ− 33.7 ms | τ+ {tp:.2} ms, τ− {tm:.2} ms | reproduced (within 5 %) |"
    ));
    Ok(())
}

fn calcium_window(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("stdp_window_calcium.ron", |_| {})?;
    let g = &sim.scene().synapses[0];
    let (CaModel::Linear(ca), Rule::CalciumRule(rule)) = (g.ca.clone(), g.rule.clone()) else {
        panic!("linear Ca and calcium rule expected");
    };
    let analytic: Vec<(f64, f64)> = (-100..=100)
        .map(|dt| {
            let r = gb::readout(&ca, &rule, dt as f64, 60, 1.0, 0.5, 5.0);
            (dt as f64, r.4)
        })
        .collect();
    validation::run_to_end(&mut sim)?;
    let _ = finish(&mut sim, "stdp_window_calcium")?;
    let rows = validation::synapse_rows(&mut sim);
    let trials = validation::calcium_window_trials(&rows, 100.0, rule.rho_star);
    let engine: Vec<(f64, f64)> = trials
        .iter()
        .map(|t| (t.delta_t_ms, gb::strength_ratio(t.u, t.d, 0.5, 5.0)))
        .collect();
    let n = trials.first().map_or(0, |t| t.trials);
    let ext = |v: &[(f64, f64)], max: bool| {
        v.iter()
            .copied()
            .reduce(|a, b| if (b.1 > a.1) == max { b } else { a })
            .unwrap()
    };
    let (amin, amax) = (ext(&analytic, false), ext(&analytic, true));
    let (emin, emax) = (ext(&engine, false), ext(&engine, true));
    let at = |v: &[(f64, f64)], x: f64| v.iter().find(|q| q.0 == x).map_or(f64::NAN, |q| q.1);
    let se = (2.0f64).sqrt() * 0.5 / (n as f64).sqrt() * 2.0 / 3.0;
    writeln!(
        p.md,
        "\n## STDP window, calcium rule (`stdp_window_calcium.ron`)\n\n\
         Graupner & Brunel 2012, DP set, 60 pairs at 1 Hz, readout averaged over UP/DOWN with\n\
         β = 0.5, b = 5: change = 1 + (2/3)(D − U), where D (U) is the probability that a synapse\n\
         starting DOWN (UP) ends UP (DOWN). Two readouts: the analytic one of Graupner & Brunel\n\
         (`validation_parts/helpers.rs`, `gb`, Ornstein–Uhlenbeck approximation from the time the Ca trace\n\
         spends above θd and θp), and {n} noisy engine trials per Δt and start state (the scene;\n\
         standard error of a point ≈ {se:.3}). Test: `tests/experiment_stdp_windows.rs` (analytic\n\
         over the whole sweep; trials at −25, +5, +100 ms with 80 per state).\n\n\
         | | published (Fig. 2) | edra analytic | edra trials |\n|---|---|---|---|\n\
         | minimum | ≈ 0.72 near −25 ms | {:.3} at {} ms | {:.3} at {} ms |\n\
         | maximum | ≈ 1.24 near +5 ms | {:.3} at {} ms | {:.3} at {} ms |\n\
         | Δt = −100 ms | ≈ 1.0 | {:.3} | {:.3} |\n\
         | Δt = +100 ms | ≈ 1.0 | {:.3} | {:.3} |",
        amin.1,
        amin.0,
        emin.1,
        emin.0,
        amax.1,
        amax.0,
        emax.1,
        emax.0,
        at(&analytic, -100.0),
        at(&engine, -100.0),
        at(&analytic, 100.0),
        at(&engine, 100.0),
    )
    .unwrap();
    p.figure(
        "stdp_window_calcium.svg",
        LineChart::new(
            "Calcium-rule STDP window (DP set), 60 pairs at 1 Hz",
            "Δt (ms)",
            "change in synaptic strength",
        ),
        &[
            Series::new("analytic readout", analytic),
            Series::new(format!("engine, {n} trials per point"), engine),
        ],
        "Change in synaptic strength against Δt: analytic readout and noisy engine trials.",
    );
    summary.push(format!(
        "| STDP window, calcium rule | min 0.72 @ −25 ms, max 1.24 @ +5 ms, 1.0 @ ±100 | analytic min {:.3} @ {} ms, max {:.3} @ {} ms; trials min {:.3} @ {} ms, max {:.3} @ {} ms | reproduced |",
        amin.1, amin.0, amax.1, amax.0, emin.1, emin.0, emax.1, emax.0
    ));
    Ok(())
}

fn frequency(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("frequency_dependence.ron", |_| {})?;
    let g = &sim.scene().synapses[0];
    let (CaModel::Linear(ca), Rule::CalciumRule(rule)) = (g.ca.clone(), g.rule.clone()) else {
        panic!("linear Ca and calcium rule expected");
    };
    let points = validation::frequency_dependence(&mut sim, 0.5)?;
    validation::run_to_end(&mut sim)?;
    let _ = finish(&mut sim, "frequency_dependence")?;
    p.md.push_str(
        "\n## Frequency dependence (`frequency_dependence.ron`)\n\n\
         Calcium rule, DP set, 60 pairs at 0.1–50 Hz, Δt = ±10 ms. The scene runs with noise off\n\
         and reads the mean early weight right after each protocol (a synapse starting DOWN and\n\
         one starting UP, β = 0.5): the sign of the mean drift. The analytic column is Graupner &\n\
         Brunel's noisy UP/DOWN readout of the same protocols. Sjöström, Turrigiano & Nelson 2001:\n\
         post-before-pre depresses at low frequency, both orders potentiate at high frequency\n\
         (≥ 30–40 Hz); they saw no LTP for pre-before-post below ~10 Hz. Test:\n\
         `tests/experiment_stdp_windows.rs`.\n\n\
         | f (Hz) | Δt (ms) | engine, mean drift | analytic readout |\n|---|---|---|---|\n",
    );
    let mut series = Vec::new();
    for dt in [-10.0, 10.0] {
        let mut eng = Vec::new();
        let mut ana = Vec::new();
        for q in points.iter().filter(|q| q.delta_t_ms == dt) {
            let a = gb::readout(&ca, &rule, dt, 60, q.frequency_hz, 0.5, 5.0).4;
            writeln!(
                p.md,
                "| {} | {dt:+} | {:.3} | {a:.3} |",
                q.frequency_hz, q.ratio
            )
            .unwrap();
            eng.push((q.frequency_hz.log10(), q.ratio));
            ana.push((q.frequency_hz.log10(), a));
        }
        series.push(Series::new(format!("engine, Δt = {dt:+} ms"), eng));
        series.push(Series::new(format!("analytic, Δt = {dt:+} ms"), ana));
    }
    p.figure(
        "frequency_dependence.svg",
        LineChart::new(
            "Frequency dependence, calcium rule (DP set)",
            "log10 f (Hz)",
            "change in synaptic strength",
        ),
        &series,
        "Change in synaptic strength against pairing frequency, Δt = ±10 ms.",
    );
    p.md.push_str(
        "\nThe qualitative result holds. With the DP set, pre-before-post (+10 ms) already gives\n\
         LTP at 0.1–10 Hz, which Sjöström et al. did not see (Graupner & Brunel fitted a separate\n\
         parameter set to their cortical data; edra uses the DP set named in the issue).\n",
    );
    let get = |dt: f64, f: f64| {
        points
            .iter()
            .find(|q| q.delta_t_ms == dt && q.frequency_hz == f)
            .map_or(f64::NAN, |q| q.ratio)
    };
    summary.push(format!(
        "| frequency dependence | post-pre LTD at low f, LTP for both at high f | −10 ms: {:.3} @ 1 Hz, {:.3} @ 50 Hz; +10 ms: {:.3} @ 50 Hz | reproduced (pre-post also LTP at low f, see text) |",
        get(-10.0, 1.0),
        get(-10.0, 50.0),
        get(10.0, 50.0)
    ));
    Ok(())
}

fn dopamine(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("dopamine_sensitivity.ron", |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, "dopamine_sensitivity")?;
    let rows = validation::synapse_rows(&mut sim);
    let ca = |f: &str| columns(&dir.join(format!("{f}.csv")), "t_ms", "ca_um", 1.0);
    let (with, without) = (ca("with_da"), ca("without_da"));
    let peak = |v: &[(f64, f64)]| v.iter().map(|q| q.1 - 0.05).fold(f64::MIN, f64::max);
    let (pw, pn) = (peak(&with), peak(&without));
    let (hw, hn) = (rows[0].var("h_mv") - 1.0, rows[1].var("h_mv") - 1.0);
    writeln!(
        p.md,
        "\n## Dopamine → Ca²⁺ sensitivity (`dopamine_sensitivity.ron`)\n\n\
         Two identical synapses, 10 pairings at 1 Hz (Δt = +4.5 ms at the spine); one region gets\n\
         0.5 µM dopamine 500 ms before each pairing. Calcium rule on the NMDA Ca signal, noise off.\n\
         The thresholds θd = 0.3 µM, θp = 0.4 µM are edra's placement between the unpaired and\n\
         paired peaks (no published value for this model combination). Test:\n\
         `tests/experiment_ca_and_dopamine.rs`.\n\n\
         | | published | with reward | without |\n|---|---|---|---|\n\
         | Ca peak above rest | larger with reward | {pw:.3} µM | {pn:.3} µM |\n\
         | Δh after 10 pairings | larger with reward | {hw:.3} mV | {hn:.3} mV |"
    )
    .unwrap();
    let window = |v: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        v.into_iter()
            .filter(|q| (5990.0..=6150.0).contains(&q.0))
            .collect()
    };
    p.figure(
        "dopamine_sensitivity.svg",
        LineChart::new("Spine Ca²⁺ during the 6th pairing", "t (ms)", "Ca (µM)"),
        &[
            Series::new("with reward", window(with)),
            Series::new("without", window(without)),
        ],
        "Ca²⁺ during one pairing, with and without a preceding reward (recorder CSVs).",
    );
    summary.push(format!(
        "| dopamine → Ca sensitivity | larger Ca peak and Δw with reward | Ca {pw:.3} vs {pn:.3} µM, Δh {hw:.3} vs {hn:.3} mV | reproduced (qualitative) |"
    ));
    Ok(())
}

fn trafficking(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("ampa_trafficking.ron", |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, "ampa_trafficking")?;
    let load = |g: &str, v: &str| {
        columns(
            &dir.join(format!("pools_{g}.csv")),
            "t_ms",
            v,
            1.0 / 60_000.0,
        )
    };
    let exo = load("exo_blocked", "psd_receptors");
    let endo = load("endo_blocked", "psd_receptors");
    let ctrl = load("control", "psd_receptors");
    let p0 = 100.0;
    let half = exo
        .iter()
        .find(|q| q.1 <= 0.5 * p0)
        .map_or(f64::NAN, |q| q.0);
    let at60 = endo.last().map_or(f64::NAN, |q| q.1 / p0);
    let mut worst: f64 = 0.0;
    for g in ["control", "exo_blocked", "endo_blocked"] {
        for (a, b) in load(g, "psd_receptors")
            .iter()
            .zip(load(g, "endosome_receptors"))
        {
            worst = worst.max(((a.1 + b.1) - 200.0).abs() / 200.0);
        }
    }
    writeln!(
        p.md,
        "\n## AMPA receptor trafficking (`ampa_trafficking.ron`)\n\n\
         Two pools (MODEL.md step 4), 200 receptors, 250 PSD slots, k_exo 1/6 min⁻¹,\n\
         k_endo 0.1 min⁻¹; steady state 100 in the PSD; blocks from t = 0. Test:\n\
         `tests/experiment_trafficking.rs` (the full hour).\n\n\
         | | published (Earnshaw & Bressloff 2006) | edra |\n|---|---|---|\n\
         | exocytosis blocked: PSD at half | under 10 min | {half:.0} min (sampled each minute) |\n\
         | endocytosis blocked: PSD after 1 h | nearly doubled | {at60:.2} × |\n\
         | receptors conserved | (1e−6 relative, issue 3) | max relative error {worst:.1e} |"
    )
    .unwrap();
    p.figure(
        "ampa_trafficking.svg",
        LineChart::new("PSD AMPA receptors", "t (min)", "receptors"),
        &[
            Series::new("control", ctrl),
            Series::new("exocytosis blocked", exo),
            Series::new("endocytosis blocked", endo),
        ],
        "PSD pool under blocked exocytosis or endocytosis (recorder CSVs).",
    );
    summary.push(format!(
        "| AMPA trafficking | half in < 10 min; ~2× in 1 h | half at {half:.0} min; {at60:.2}× at 60 min; conservation {worst:.0e} | reproduced |"
    ));
    Ok(())
}

fn homeostasis(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("homeostatic_scaling.ron", |_| {})?;
    let before = validation::synapse_rows(&mut sim);
    let goal = sim.scene().astrocytes[0].params.goal_hz;
    let end = sim.scene().duration_ms;
    let every_ms = 300_000.0;
    let mut samples: Vec<(f64, Vec<(f64, f64)>)> = Vec::new();
    let mut t = every_ms;
    while t <= end + 1e-6 {
        sim.run_until(t, &mut |_| {})?;
        samples.push((t / 3_600_000.0, validation::astrocytes(&mut sim)));
        t += every_ms;
    }
    let after = validation::synapse_rows(&mut sim);
    let _ = finish(&mut sim, "homeostatic_scaling")?;
    let names = [
        "control (10 Hz in)",
        "reduced (6 Hz in)",
        "raised (15 Hz in)",
    ];
    p.md.push_str(
        "\n## Homeostatic scaling by astrocytes (`homeostatic_scaling.ron`)\n\n\
         Van Rossum, Bi & Turrigiano's (2000) scaling rule, integrated per astrocyte domain (edra's\n\
         own model: there is no standard quantitative astrocyte-scaling model); β 4e−5 /(s Hz),\n\
         γ 1e−7 /(s² Hz), τa 100 s, a_goal 5 Hz; 10 LIF cells per domain, 50 Poisson inputs each,\n\
         static log-normal weights; 4 h. The test (`tests/experiment_homeostasis.rs`) runs the\n\
         astrocytes 10× faster (τa/10, β·10, γ·100: the same dynamics in t/10) for 3 h equivalent.\n\
         \"Returns\" = the time after which the domain's activity stays within 10 % of a_goal.\n\n\
         | domain | final scale | R² after vs before (through origin) | rate at the end | returns to a_goal after |\n|---|---|---|---|---|\n",
    );
    let mut act_series = Vec::new();
    let mut scale_series = Vec::new();
    let mut cells = Vec::new();
    for (r, name) in names.iter().enumerate() {
        let pts: Vec<(f64, f64)> = before
            .iter()
            .zip(&after)
            .filter(|(b, _)| b.replica == r as u32)
            .map(|(b, a)| (b.var("efficacy_mv"), a.var("efficacy_mv")))
            .collect();
        let (k, r2) = validation::fit_through_origin(&pts);
        let act: Vec<(f64, f64)> = samples.iter().map(|s| (s.0, s.1[r].0)).collect();
        let sc: Vec<(f64, f64)> = samples.iter().map(|s| (s.0, s.1[r].1)).collect();
        let settle = act
            .iter()
            .rposition(|q| (q.1 - goal).abs() > 0.1 * goal)
            .map_or(0.0, |i| act.get(i + 1).map_or(f64::NAN, |q| q.0));
        let rate = act.last().map_or(f64::NAN, |q| q.1);
        writeln!(
            p.md,
            "| {name} | {k:.3} | {r2:.6} | {rate:.2} Hz | {settle:.2} h |"
        )
        .unwrap();
        cells.push((k, settle));
        act_series.push(Series::new(*name, act));
        scale_series.push(Series::new(*name, sc));
    }
    p.md.push_str(
        "\nPublished (Turrigiano et al. 1998): blocking activity scales all mEPSC amplitudes up,\n\
         raising it scales them down, by one factor (rank-ordered amplitudes on a line through the\n\
         origin); van Rossum et al.: the rate returns to its goal over hours. The samples are\n\
         taken every 5 simulated minutes.\n",
    );
    p.figure(
        "homeostatic_activity.svg",
        LineChart::new("Domain activity a (astrocyte)", "t (h)", "a (Hz)"),
        &act_series,
        "Activity integrated by each astrocyte.",
    );
    p.figure(
        "homeostatic_scale.svg",
        LineChart::new("Scaling factor S", "t (h)", "S"),
        &scale_series,
        "Multiplicative scaling factor of each domain.",
    );
    summary.push(format!(
        "| homeostatic scaling | up when silenced, down when raised, one factor, rate back to goal | S = {:.2} (reduced), {:.2} (raised); R² = 1 by construction; back within 10 % after {:.1} h and {:.1} h | reproduced (edra's own astrocyte model) |",
        cells[1].0, cells[2].0, cells[1].1, cells[2].1
    ));
    Ok(())
}

fn tag_and_capture(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let mut sim = validation::load("tag_and_capture.ron", |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, "tag_and_capture")?;
    let rows = validation::synapse_rows(&mut sim);
    let h0 = 4.20075;
    let z = |g: &str| by_group(&rows, g).var("z");
    let w = |g: &str| by_group(&rows, g).var("w_mv");
    let weak_h = columns(
        &dir.join("weak_weak_alone.csv"),
        "t_ms",
        "h_mv",
        1.0 / 3_600_000.0,
    );
    // Relaxation time constant of h after the weak tetanus, from the recorder (10 min → 2 h 10 min).
    let t0 = 1.0;
    let dh = |t: f64| {
        weak_h
            .iter()
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .map_or(f64::NAN, |q| q.1 - h0)
    };
    let tau_h = 2.0 / (dh(t0 + 1.0 / 6.0) / dh(t0 + 13.0 / 6.0)).ln();
    p.md.push_str(
        "\n## Tag and capture (`tag_and_capture.ron`)\n\n\
         Early weight h by the Luboeinski & Tetzlaff (2021) calcium rule (new rule\n\
         `EarlyCalcium`, `src/stages/plasticity/early_calcium.rs`), tags, protein pool and late\n\
         weight z of stage 6 with the reference parameters (MODEL.md step 6). Presynaptic tetani\n\
         only: weak = 0.2 s, strong = 1 s at 100 Hz; strong at t0 = 1 h; read out 8 h after t0.\n\
         The test (`tests/experiment_tag_and_capture.rs`) compresses the slow time scales 10×\n\
         (relaxation, τp, τz; the tetani unchanged), reads each condition as the mean of 16\n\
         copies, and gets the same picture, clock-driven and with the early rule event-driven.\n\n\
         | condition | published | edra z | edra w / h0 |\n|---|---|---|---|\n",
    );
    let conds = [
        ("weak alone", "weak_weak_alone", "early LTP only, z < 0.1"),
        (
            "strong alone",
            "strong_strong_alone",
            "late LTP: z > 0.5, w > 1.5·h0",
        ),
        (
            "weak 30 min after strong",
            "weak_after30",
            "captured, z > 0.5",
        ),
        (
            "weak 60 min after strong",
            "weak_after60",
            "captured, z > 0.5",
        ),
        (
            "weak 30 min before strong",
            "weak_before30",
            "captured, z > 0.5",
        ),
        (
            "weak 60 min before strong",
            "weak_before60",
            "captured, z > 0.5",
        ),
        ("weak 4 h after strong", "weak_away4h", "not captured"),
    ];
    for (label, g, publ) in conds {
        writeln!(
            p.md,
            "| {label} | {publ} | {:.3} | {:.2} |",
            z(g),
            w(g) / h0
        )
        .unwrap();
    }
    writeln!(
        p.md,
        "\nRelaxation of h after the weak tetanus: τ = {tau_h:.2} h (model: τh/r = 1.91 h)."
    )
    .unwrap();
    // Δh of the weak synapses when the strong tetanus starts (the sample at 1 h, 0.1 s before).
    let dh_at_strong = |g: &str| -> f64 {
        let pts = columns(&dir.join(format!("{g}.csv")), "t_ms", "h_mv", 1.0);
        pts.iter()
            .rfind(|q| q.0 <= 3_600_000.0)
            .map_or(f64::NAN, |q| q.1 - h0)
    };
    science::weak_before_strong(
        &mut p.md,
        h0,
        &[
            (
                "weak 30 min before strong",
                dh_at_strong("weak_before30"),
                30.0,
                z("weak_before30"),
            ),
            (
                "weak 60 min before strong",
                dh_at_strong("weak_before60"),
                60.0,
                z("weak_before60"),
            ),
        ],
    );
    let series: Vec<Series> = [
        ("weak alone", "weak_weak_alone"),
        ("strong alone", "strong_strong_alone"),
        ("weak 30 min after strong", "weak_after30"),
        ("weak 30 min before strong", "weak_before30"),
        ("weak 4 h after strong", "weak_away4h"),
    ]
    .iter()
    .map(|(label, g)| {
        let pts = columns(
            &dir.join(format!("{g}.csv")),
            "t_ms",
            "w_mv",
            1.0 / 3_600_000.0,
        );
        Series::new(*label, pts.into_iter().map(|q| (q.0, q.1 / h0)).collect())
    })
    .collect();
    p.figure(
        "tag_and_capture.svg",
        LineChart::new("Total weight w = h + h0·z", "t (h)", "w / h0"),
        &series,
        "Total weight of weak and strong inputs (recorder CSVs, one sample per minute).",
    );
    summary.push(format!(
        "| tag and capture | weak: z < 0.1; strong: z > 0.5, w > 1.5 h0; weak ±30–60 min: z > 0.5; 4 h: no | weak z {:.2}; strong z {:.2}, w {:.2} h0; after 30/60: {:.2}/{:.2}; before 30/60: {:.2}/{:.2}; 4 h: {:.2} | reproduced, except capture before the strong tetanus, which the published model itself reaches only partly (closed form below) |",
        z("weak_weak_alone"),
        z("strong_strong_alone"),
        w("strong_strong_alone") / h0,
        z("weak_after30"),
        z("weak_after60"),
        z("weak_before30"),
        z("weak_before60"),
        z("weak_away4h")
    ));
    Ok(())
}

// Distal reward and retraining (Izhikevich 2007). The published protocols run for one and two
// simulated hours (about as long in wall time on one thread), so their runs are read from
// `target/validation_runs/<scene>/` when `edra run` has written them there in full, and run
// here otherwise (unless EDRA_VALIDATION_SKIP_LONG is set); the tests' fast variants run here.

/// w_max of the distal-reward scenes' excitatory synapses, mV.
const W_MAX_MV: f64 = 4.0;
/// The rewarded synapses: index in group "ee" (= synapse id, "ee" is the first group).
const FIRST_REWARDED: u32 = 39418; // exc[0] → exc[493]
const SECOND_REWARDED: u32 = 60586; // exc[0] → exc[757]

/// `summary.ron` of a run folder, if there is one.
fn run_summary(dir: &Path) -> Option<edra::output::RunSummary> {
    let text = std::fs::read_to_string(dir.join("summary.ron")).ok()?;
    ron::from_str(&text).ok()
}

/// A duration in s as "N h" or "N min".
fn hours_or_minutes(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.2} h", s / 3600.0)
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// The folder of the full run of a long scene and a sentence saying where it came from: the
/// output of `edra run` in `target/validation_runs/<name>/` if it covers the whole scene,
/// otherwise a run made here (or None when `skippable` and EDRA_VALIDATION_SKIP_LONG is set).
fn long_run(scene: &str, skippable: bool) -> Result<Option<(PathBuf, String)>> {
    let name = scene.trim_end_matches(".ron");
    let dir = root().join("target/validation_runs").join(name);
    let sf = edra::scene::SceneFile::load(&validation::scene_path(scene))?;
    let duration = sf.scene.duration_ms;
    // Holds the wall time of the run this example made, so a later `edra run` is told apart.
    let marker = dir.join("run_by_validation_example");
    if let Some(s) = run_summary(&dir).filter(|s| {
        s.scene == sf.scene.name
            && s.seed == sf.scene.seed
            && s.start_ms == 0.0
            && s.simulated_ms >= duration
    }) {
        let by_example = std::fs::read_to_string(&marker).is_ok_and(|m| m == s.wall_s.to_string());
        let how = if by_example {
            "run by this example"
        } else {
            "read from the output of `edra run` there"
        };
        return Ok(Some((
            dir.clone(),
            format!(
                "Run: `target/validation_runs/{name}/`, {how} ({} thread{}, {} of wall time for {} simulated).",
                s.threads,
                if s.threads == 1 { "" } else { "s" },
                hours_or_minutes(s.wall_s),
                hours_or_minutes(s.simulated_ms / 1000.0)
            ),
        )));
    }
    if skippable && std::env::var_os("EDRA_VALIDATION_SKIP_LONG").is_some() {
        return Ok(None);
    }
    eprintln!(
        "running {scene} in full ({} simulated)",
        hours_or_minutes(duration / 1000.0)
    );
    let wall = std::time::Instant::now();
    let mut sim = validation::load(scene, |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, name)?;
    let info = sim.info().clone();
    let wall_s = wall.elapsed().as_secs_f64();
    edra::output::write_summary(
        &dir,
        &edra::output::RunSummary {
            scene: sim.scene().name.clone(),
            edra_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: sim.scene().seed,
            dt_ms: sim.clock().dt_ms,
            start_ms: 0.0,
            simulated_ms: sim.t_ms(),
            steps: sim.clock().step,
            neurons: info.neurons,
            synapses: info.synapses,
            dopamine_regions: info.regions,
            astrocytes: info.astrocytes,
            replicas: info.replicas,
            spikes: 0,
            threads: 1,
            wall_s,
            synapse_steps_per_s: info.synapses as f64 * sim.clock().step as f64 / wall_s,
            ranks: 1,
            exchange_calls: 0,
            exchange_s: 0.0,
            exchange_bytes: 0,
        },
    )?;
    // The summary as written and read back, so the marker matches it exactly.
    let written = run_summary(&dir).map_or(wall_s, |s| s.wall_s);
    std::fs::write(&marker, written.to_string())
        .map_err(|e| edra::EdraError::other(e.to_string()))?;
    long_run(scene, skippable)
}

/// What the distal-reward readouts need from one run folder.
struct RewardRun {
    /// h of each recorded rewarded synapse over time, (t in min, h in mV).
    traces: Vec<(u32, Vec<(f64, f64)>)>,
    /// Mean h of the recorder `sample` (200 "ee" synapses, none rewarded) over time.
    sample_mean: Vec<(f64, f64)>,
    /// The recorder `sample` itself: (t in min, synapse id, h in mV).
    sample: Vec<(f64, u32, f64)>,
    /// Final h of every "ee" synapse, by id.
    final_h: Vec<(u32, f64)>,
    /// Rewards seen in the dopamine recorder (jumps of more than half a reward between samples).
    reward_times_min: Vec<f64>,
}

impl RewardRun {
    fn read(dir: &Path) -> Self {
        let (h, rows) = read_csv(&dir.join("rewarded.csv"));
        let col = |h: &[String], n: &str| h.iter().position(|c| c == n).expect(n);
        let (ct, cs, ch) = (col(&h, "t_ms"), col(&h, "synapse"), col(&h, "h_mv"));
        let mut traces: Vec<(u32, Vec<(f64, f64)>)> = Vec::new();
        for r in &rows {
            let id = r[cs] as u32;
            let pt = (r[ct] / 60_000.0, r[ch]);
            match traces.iter_mut().find(|t| t.0 == id) {
                Some(t) => t.1.push(pt),
                None => traces.push((id, vec![pt])),
            }
        }
        let (h, rows) = read_csv(&dir.join("sample.csv"));
        let (ct, ch) = (col(&h, "t_ms"), col(&h, "h_mv"));
        let cs = col(&h, "synapse");
        let sample = rows
            .iter()
            .map(|r| (r[ct] / 60_000.0, r[cs] as u32, r[ch]))
            .collect();
        let mut sample_mean: Vec<(f64, f64, usize)> = Vec::new();
        for r in &rows {
            let t = r[ct] / 60_000.0;
            match sample_mean.last_mut().filter(|m| m.0 == t) {
                Some(m) => {
                    m.1 += r[ch];
                    m.2 += 1;
                }
                None => sample_mean.push((t, r[ch], 1)),
            }
        }
        let (h, rows) = read_csv(&dir.join("synapses.csv"));
        let (ci, ch) = (col(&h, "id"), col(&h, "h_mv"));
        // "ee" is the first group: ids 0..64000. (The group column is text, NaN here.)
        let final_h = rows
            .iter()
            .filter(|r| r[ci] < 64_000.0)
            .map(|r| (r[ci] as u32, r[ch]))
            .collect();
        let da = columns(
            &dir.join("dopamine.csv"),
            "t_ms",
            "dopamine_um",
            1.0 / 60_000.0,
        );
        let reward_times_min = da
            .windows(2)
            .filter(|w| w[1].1 - w[0].1 > 0.25)
            .map(|w| w[1].0)
            .collect();
        RewardRun {
            traces,
            sample_mean: sample_mean
                .into_iter()
                .map(|m| (m.0, m.1 / m.2 as f64))
                .collect(),
            sample,
            final_h,
            reward_times_min,
        }
    }

    /// The first `end_min` minutes of this run (up to 0.1 s after, to keep the sample taken
    /// just after `end_min`): what the distal-reward readouts take from the retraining run,
    /// identical to distal_reward.ron until its switch. synapses.csv holds the weights at the
    /// end of the whole run, so the "final" weights here are those of the 200 synapses of the
    /// recorder `sample` at its last sample by then.
    fn truncated(&self, end_min: f64) -> RewardRun {
        let end = end_min + 0.1 / 60.0;
        let last_sample = self.last_sample_at(end);
        RewardRun {
            traces: self
                .traces
                .iter()
                .map(|(id, pts)| (*id, pts.iter().copied().filter(|q| q.0 <= end).collect()))
                .collect(),
            sample_mean: self
                .sample_mean
                .iter()
                .copied()
                .filter(|q| q.0 <= end)
                .collect(),
            sample: self.sample.iter().copied().filter(|q| q.0 <= end).collect(),
            final_h: self
                .sample
                .iter()
                .filter(|q| q.0 == last_sample)
                .map(|q| (q.1, q.2))
                .collect(),
            reward_times_min: self
                .reward_times_min
                .iter()
                .copied()
                .filter(|t| *t <= end)
                .collect(),
        }
    }

    fn trace(&self, id: u32) -> &[(f64, f64)] {
        &self.traces.iter().find(|t| t.0 == id).expect("recorded").1
    }

    /// Final h of a synapse: from synapses.csv, or (in a [`RewardRun::truncated`] run) the
    /// last sample of its trace.
    fn final_of(&self, id: u32) -> f64 {
        self.final_h
            .iter()
            .find(|q| q.0 == id)
            .map_or_else(|| self.trace(id).last().map_or(f64::NAN, |q| q.1), |q| q.1)
    }

    /// Final h of the "ee" synapses other than `rewarded`: (mean, count at ≥ 0.95·w_max, count).
    fn others(&self, rewarded: &[u32]) -> (f64, usize, usize) {
        let o: Vec<f64> = self
            .final_h
            .iter()
            .filter(|q| !rewarded.contains(&q.0))
            .map(|q| q.1)
            .collect();
        let top = o.iter().filter(|h| **h >= 0.95 * W_MAX_MV).count();
        (o.iter().sum::<f64>() / o.len() as f64, top, o.len())
    }

    /// The time (min) of the recorder `sample`'s last sample at or before `t_min` (NaN if none).
    fn last_sample_at(&self, t_min: f64) -> f64 {
        self.sample
            .iter()
            .map(|q| q.0)
            .filter(|t| *t <= t_min)
            .fold(f64::NAN, f64::max)
    }

    /// Mean h of the recorder `sample` at its last sample at or before `t_min`, and how many
    /// synapses it holds.
    fn sample_mean_at(&self, t_min: f64) -> (f64, usize) {
        let t = self.last_sample_at(t_min);
        let v: Vec<f64> = self
            .sample
            .iter()
            .filter(|q| q.0 == t)
            .map(|q| q.2)
            .collect();
        (v.iter().sum::<f64>() / v.len() as f64, v.len())
    }

    fn rewards_between(&self, from_min: f64, to_min: f64) -> usize {
        self.reward_times_min
            .iter()
            .filter(|t| (from_min..to_min).contains(*t))
            .count()
    }
}

/// First time at or after `from` at which `pts` is at or above (`up`) / at or below `level`.
fn first_crossing(pts: &[(f64, f64)], from: f64, level: f64, up: bool) -> Option<f64> {
    pts.iter()
        .find(|q| q.0 >= from && if up { q.1 >= level } else { q.1 <= level })
        .map(|q| q.0)
}

fn peak(pts: &[(f64, f64)], from: f64) -> f64 {
    pts.iter()
        .filter(|q| q.0 >= from)
        .map(|q| q.1)
        .fold(f64::MIN, f64::max)
}

/// `at` minutes into a trace: the last sample at or before it.
fn value_at(pts: &[(f64, f64)], at: f64) -> f64 {
    pts.iter()
        .take_while(|q| q.0 <= at + 1e-9)
        .last()
        .map_or(f64::NAN, |q| q.1)
}

fn minutes(t: Option<f64>) -> String {
    t.map_or("not reached".into(), |t| {
        if t < 2.0 {
            format!("{:.0} s", t * 60.0)
        } else {
            format!("{t:.1} min")
        }
    })
}

/// The learning rate (rate_per_um_ms) of a scene's first synapse group.
fn gating_rate(scene: &str) -> Result<f64> {
    let sf = edra::scene::SceneFile::load(&validation::scene_path(scene))?;
    Ok(sf.scene.synapses[0]
        .gating
        .as_ref()
        .map_or(f64::NAN, |g| g.rate_per_um_ms))
}

/// Runs a fast variant (a short scene) here and reads it like a full run.
fn fast_run(scene: &str) -> Result<(RewardRun, f64)> {
    let mut sim = validation::load(scene, |_| {})?;
    validation::run_to_end(&mut sim)?;
    let dir = finish(&mut sim, scene.trim_end_matches(".ron"))?;
    Ok((RewardRun::read(&dir), gating_rate(scene)?))
}

fn reward_series(run: &RewardRun, id: u32, label: &str) -> Series {
    Series::new(label, edra::plot::decimate(run.trace(id), 2000))
}

/// Points (t in min, value) as (t in s, value), for the fast variants' figures.
fn to_seconds(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points.iter().map(|q| (q.0 * 60.0, q.1)).collect()
}

fn level_series(label: &str, level: f64, t_end: f64) -> Series {
    Series::new(label, vec![(0.0, level), (t_end, level)])
}

/// Firing of the distal-reward network from a run's spikes.csv (neurons 0..800 excitatory,
/// 800..1000 inhibitory) over its first `end_min` minutes.
struct Firing {
    /// Mean rates, Hz: excitatory and inhibitory, over the first and the last minute.
    exc_hz: (f64, f64),
    inh_hz: (f64, f64),
    /// Shortest interval between two spikes of one neuron, ms.
    min_isi_ms: f64,
    /// Mean over spikes of 0.95^ISI: what remains, at a neuron's spike, of the STDP trace left by
    /// its previous spike (τ 20 ms, daspnet.m's ×0.95 per ms), as a fraction of a fresh one.
    residual: f64,
}

impl Firing {
    fn read(dir: &Path, end_min: f64) -> Option<Firing> {
        use std::io::BufRead;
        let f = std::fs::File::open(dir.join("spikes.csv")).ok()?;
        let end_ms = end_min * 60_000.0;
        let mut last = vec![f64::NAN; 1000];
        let (mut counts, mut n, mut min_isi, mut residual) = ([0u64; 4], 0u64, f64::MAX, 0.0);
        for line in std::io::BufReader::new(f).lines().skip(1) {
            let line = line.ok()?;
            let (t, id) = line.split_once(',')?;
            let (t, id): (f64, usize) = (t.parse().ok()?, id.parse().ok()?);
            if t > end_ms || id >= 1000 {
                break;
            }
            let inh = usize::from(id >= 800);
            if t < 60_000.0 {
                counts[inh] += 1;
            }
            if t >= end_ms - 60_000.0 {
                counts[2 + inh] += 1;
            }
            if last[id].is_finite() {
                min_isi = min_isi.min(t - last[id]);
                residual += 0.95f64.powf(t - last[id]);
            }
            last[id] = t;
            n += 1;
        }
        let hz = |c: u64, size: f64| c as f64 / size / 60.0;
        Some(Firing {
            exc_hz: (hz(counts[0], 800.0), hz(counts[2], 800.0)),
            inh_hz: (hz(counts[1], 200.0), hz(counts[3], 200.0)),
            min_isi_ms: min_isi,
            residual: residual / n.max(1) as f64,
        })
    }
}

/// The distal-reward readouts of one run.
struct DistalCells {
    /// Rewarded synapse: highest and final h, mV; first time at ≥ 0.95·w_max, min.
    peak: f64,
    final_mv: f64,
    reached: Option<f64>,
    /// Others: final mean h (mV), how many at ≥ 0.95·w_max, how many in all.
    mean: f64,
    top: usize,
    n: usize,
    rewards: usize,
    /// Length of the run, min.
    end: f64,
    /// Mean h of the recorder `sample` when the rewarded synapse first reaches 0.95·w_max, and
    /// the sample's size.
    mean_at_reach: Option<(f64, usize)>,
}

fn distal_reward(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    p.md.push_str(
        "\n## Distal reward (`distal_reward.ron`)\n\n\
         Izhikevich (2007, Cereb Cortex 17:2443, Fig. 1), as in daspnet.m, the code published with\n\
         the paper: 800 regular-spiking and 200 fast-spiking Izhikevich neurons, 100 synapses each,\n\
         all with a 1 ms delay (excitatory: to any neuron, 1 mV; inhibitory: to excitatory\n\
         neurons, −1 mV, not plastic); thalamic input a uniform current in [−6.5, 6.5) to every\n\
         neuron, drawn afresh each ms (daspnet.m: `13*(rand-0.5)`); dopamine-gated pair STDP on\n\
         the excitatory synapses (traces τ± = 20 ms, +0.1/−0.15, eligibility τc = 1 s, dh/dt =\n\
         0.1·c·(DA + 0.002) per µM·ms, w in [0, 4 mV]; daspnet.m applies (DA + 0.002)·c every\n\
         10 ms and decays c by 0.99 every 10 ms, which is the same rate and τc); dopamine τ 200 ms,\n\
         +0.5 µM per reward. Reward rule: when exc[493] fires within 20 ms after exc[0], a reward\n\
         follows 1–3 s later. The rewarded synapse is exc[0] → exc[493] (\"ee\" 39418). The\n\
         \"others\" are the other 63 999 excitatory-to-excitatory synapses; their mean over time\n\
         is that of a fixed sample of 200 of them (recorder `sample`), the final mean is over all\n\
         of them (`synapses.csv`). Rewards are counted from the dopamine recorder (one sample per\n\
         100 ms).\n\n\
         Where edra differs from daspnet.m: (1) STDP traces add 0.1 per spike (all-to-all pairs);\n\
         daspnet.m sets them to 0.1 (nearest spike). (2) The rewarded synapse starts at 1 mV like\n\
         the others (the scene format sets initial weights per group); daspnet.m starts it at 0.\n\
         (3) Excitatory neurons send 80 synapses to excitatory and 20 to inhibitory neurons (two\n\
         groups; daspnet.m draws all 100 targets from the 1000 neurons, 80/20 on average). (4) A\n\
         spike acts on its targets' v two steps later than in daspnet.m (edra delivers a 1 ms\n\
         delay on the next step; daspnet.m adds the spike to the input of the step that detects\n\
         it).\n",
    );
    let (fast, fast_rate) = fast_run("distal_reward_fast.ron")?;
    let full = long_run("distal_reward.ron", true)?;
    let row = |r: &RewardRun| {
        let tr = r.trace(FIRST_REWARDED);
        let end = tr.last().map_or(f64::NAN, |q| q.0);
        let (mean, top, n) = r.others(&[FIRST_REWARDED]);
        let reached = first_crossing(tr, 0.0, 0.95 * W_MAX_MV, true);
        DistalCells {
            peak: peak(tr, 0.0),
            final_mv: r.final_of(FIRST_REWARDED),
            reached,
            mean,
            top,
            n,
            rewards: r.rewards_between(0.0, end + 1.0),
            end,
            mean_at_reach: reached.map(|t| r.sample_mean_at(t)),
        }
    };
    let f = row(&fast);
    // Without a run of distal_reward.ron, the first hour of retraining.ron (the same scene
    // until its switch at 1 h) if that run is complete.
    let mut firing = None;
    let full_run = match full {
        Some((dir, how)) => {
            firing = Firing::read(&dir, 60.0);
            Some((RewardRun::read(&dir), how, false))
        }
        None => match long_run("retraining.ron", true)? {
            Some((dir, how)) => {
                let t = switch_min("retraining.ron")?;
                firing = Firing::read(&dir, t);
                Some((RewardRun::read(&dir).truncated(t), how, true))
            }
            None => None,
        },
    };
    let full_cells =
        full_run.map(|(run, how, from_retraining)| (row(&run), run, how, from_retraining));
    let from_retraining = full_cells.as_ref().is_some_and(|c| c.3);
    if let Some((c, _, how, from_retraining)) = &full_cells {
        if *from_retraining {
            writeln!(
                p.md,
                "\nThe full hour is the first hour of the retraining run below: `retraining.ron` is\n\
                 `distal_reward.ron` until its switch at 1 h (same seed, network and rule; the\n\
                 weights of the two scenes after 1 simulated minute are identical). {how} The\n\
                 values at 1 h come from its recorders: the rewarded synapse from `rewarded`\n\
                 (every 1 s), the others from the {} synapses of `sample` at {:.2} min (every\n\
                 10 s), not from all 63 999 (`synapses.csv` holds the weights at 2 h).",
                c.n, c.end
            )
            .unwrap();
        } else {
            writeln!(p.md, "\n{how}").unwrap();
        }
    } else {
        p.md.push_str(
            "\nThe full hour was not run for this page (EDRA_VALIDATION_SKIP_LONG was set and\n\
             neither `target/validation_runs/distal_reward/` nor `.../retraining/` held a complete\n\
             run): `edra run scenes/experiments/distal_reward.ron --threads 1 --out\n\
             target/validation_runs/distal_reward`, then rerun the example.\n",
        );
    }
    if let Some(f) = &firing {
        writeln!(
            p.md,
            "\nFiring in the full hour (`spikes.csv`): excitatory neurons {:.2} Hz in the first\n\
             minute and {:.2} Hz in the last, inhibitory {:.2} and {:.2} Hz. No neuron fired twice\n\
             within less than {:.0} ms, and at a neuron's spike the STDP trace left by its previous spike\n\
             averaged {:.2} % of a fresh one: adding the trace (edra, all-to-all) instead of\n\
             setting it (daspnet.m, nearest spike) changes the traces by that little.",
            f.exc_hz.0,
            f.exc_hz.1,
            f.inh_hz.0,
            f.inh_hz.1,
            f.min_isi_ms,
            100.0 * f.residual
        )
        .unwrap();
    }
    writeln!(
        p.md,
        "\nThe test (`tests/experiment_distal_reward.rs`) runs the full scene: its pair STDP is\n\
         event-driven, so the hour takes about two minutes. It asserts the published claims: the\n\
         rewarded synapse reaches 0.95·w_max within the hour, and the others' mean is below 25 %\n\
         of w_max both at that moment (the `sample` recorder) and at 1 h (all of them).\n\
         The fast variant `distal_reward_fast.ron` (learning rate {fast_rate} instead of 0.1 per\n\
         µM·ms, {:.0}×, {:.0} simulated minutes) shows how far a speed-up goes: the rewarded synapse's\n\
         first sample at ≥ 0.95·w_max: {}; the others' mean then: {} (from the {}\n\
         synapses of its `sample` recorder, every 32nd). Rewards come as often as in the full\n\
         scene but each is as many times stronger, and lifts every synapse that happens to be\n\
         eligible then. Clock-driven runs of this scene for 6 simulated minutes at other rates\n\
         (seed 1, before the scenes became event-driven, so other realisations of the same\n\
         model): 2× — the others' mean ends at 19.6 % of w_max but the rewarded synapse peaks\n\
         at 1.83 mV (not reached); 5× — reached after 38 s, but the others' mean ends at\n\
         35.1 %; 10× — reached after 21 s, others' mean 38.6 %. In this run, after {:.0} min\n\
         the others' mean is {:.1} % of w_max (all of them, `synapses.csv`) and the rewarded\n\
         synapse is at {:.2} mV.\n",
        fast_rate / 0.1,
        f.end,
        minutes(f.reached),
        f.mean_at_reach.map_or("—".to_string(), |m| format!(
            "{:.3} mV = {:.1} %",
            m.0,
            100.0 * m.0 / W_MAX_MV
        )),
        f.mean_at_reach.map_or(0, |m| m.1),
        f.end,
        100.0 * f.mean / W_MAX_MV,
        f.final_mv,
    )
    .unwrap();
    let cell = |c: Option<&DistalCells>, k: usize| -> String {
        let Some(c) = c else {
            return "not run".into();
        };
        match k {
            0 => format!(
                "peak {:.2} mV, final {:.2} mV; ≥ 0.95·w_max {}",
                c.peak,
                c.final_mv,
                match c.reached {
                    Some(_) => format!("first at {}", minutes(c.reached)),
                    None => "not reached".into(),
                }
            ),
            1 => format!(
                "{:.3} mV = {:.1} % of w_max",
                c.mean,
                100.0 * c.mean / W_MAX_MV
            ),
            2 => format!("{} of {}", c.top, c.n),
            3 => c.mean_at_reach.map_or("— (not reached)".into(), |m| {
                format!(
                    "{:.3} mV = {:.1} % of w_max (sample of {})",
                    m.0,
                    100.0 * m.0 / W_MAX_MV,
                    m.1
                )
            }),
            _ => format!("{} in {}", c.rewards, minutes(Some(c.end))),
        }
    };
    let fc = full_cells.as_ref().map(|c| &c.0);
    writeln!(
        p.md,
        "\n| | published (Izhikevich 2007, Fig. 1) | edra, full hour | edra, fast variant |\n|---|---|---|---|\n\
         | rewarded synapse | reaches w_max = 4 mV within 1 h | {} | {} |\n\
         | others' mean when it first reaches 0.95·w_max | < 25 % of w_max (1 mV) | {} | {} |\n\
         | others' mean at the end | < 25 % of w_max (1 mV) | {} | {} |\n\
         | others at ≥ 0.95·w_max at the end | (the rewarded one stands out) | {} | {} |\n\
         | rewards | (the rule fires more often as the synapse grows) | {} | {} |",
        cell(fc, 0),
        cell(Some(&f), 0),
        cell(fc, 3),
        cell(Some(&f), 3),
        cell(fc, 1),
        cell(Some(&f), 1),
        cell(fc, 2),
        cell(Some(&f), 2),
        cell(fc, 4),
        cell(Some(&f), 4),
    )
    .unwrap();
    if let Some((c, run, _, _)) = &full_cells {
        let end = c.end;
        p.figure(
            "distal_reward.svg",
            LineChart::new("Distal reward, full hour", "t (min)", "h (mV)"),
            &[
                reward_series(run, FIRST_REWARDED, "rewarded exc[0] → exc[493]"),
                Series::new("mean of 200 others", run.sample_mean.clone()),
                level_series("0.95·w_max", 0.95 * W_MAX_MV, end).color("#999999"),
                level_series("25 % of w_max", 0.25 * W_MAX_MV, end).color("#cccccc"),
            ],
            "Rewarded synapse and the mean of a sample of the others (recorder CSVs of the full run).",
        );
        let others: Vec<f64> = run
            .final_h
            .iter()
            .filter(|q| q.0 != FIRST_REWARDED)
            .map(|q| q.1)
            .collect();
        let svg = edra::plot::histogram(
            "Final weights of the excitatory-to-excitatory synapses",
            "h (mV)",
            40,
            &[("others", &others)],
        );
        std::fs::write(p.fig_dir.join("distal_reward_weights.svg"), svg)
            .map_err(|e| edra::EdraError::other(e.to_string()))?;
        writeln!(
            p.md,
            "\n![Final weights of the other synapses](validation/distal_reward_weights.svg)\n\n\
             *Weights at 1 h of the other {} synapses ({}); the rewarded one ends at\n\
             {:.2} mV.*\n",
            c.n,
            if from_retraining {
                "the recorder `sample` of the retraining run"
            } else {
                "`synapses.csv`"
            },
            c.final_mv
        )
        .unwrap();
    }
    let end = f.end;
    p.figure(
        "distal_reward_fast.svg",
        LineChart::new("Distal reward, fast variant", "t (s)", "h (mV)"),
        &[
            Series::new(
                "rewarded exc[0] → exc[493]",
                to_seconds(fast.trace(FIRST_REWARDED)),
            ),
            Series::new("mean of sampled others", to_seconds(&fast.sample_mean)),
            level_series("0.95·w_max", 0.95 * W_MAX_MV, end * 60.0).color("#999999"),
            level_series("25 % of w_max", 0.25 * W_MAX_MV, end * 60.0).color("#cccccc"),
        ],
        "The fast variant (recorder CSVs).",
    );
    let fast_cells = format!(
        "fast variant (test, {:.0}×, {:.0} s): rewarded {}; others {}",
        fast_rate / 0.1,
        f.end * 60.0,
        cell(Some(&f), 0),
        cell(Some(&f), 1)
    );
    let (edra_cell, status) = match fc {
        None => (
            format!("full hour not run for this page; {fast_cells}"),
            "pending (full hour not run for this page)".to_string(),
        ),
        Some(c) => (
            format!("rewarded {}; others {}", cell(fc, 0), cell(fc, 1)),
            match (c.reached.is_some(), c.mean < 0.25 * W_MAX_MV) {
                (true, true) => "reproduced".to_string(),
                (true, false) => "partly: the others' mean is not below 25 % of w_max".to_string(),
                (false, true) => format!(
                    "not reached in 1 h: the rewarded synapse peaks at {:.2} mV",
                    c.peak
                ),
                (false, false) => "not reproduced".to_string(),
            },
        ),
    };
    summary.push(format!(
        "| distal reward | rewarded synapse at w_max = 4 mV within 1 h, others' mean < 1 mV | {edra_cell} | {status} |"
    ));
    Ok(())
}

/// When a scene's second reward rule starts (its `from_ms`), in minutes.
fn switch_min(scene: &str) -> Result<f64> {
    let sf = edra::scene::SceneFile::load(&validation::scene_path(scene))?;
    Ok(sf
        .scene
        .timeline
        .iter()
        .find_map(|e| match e {
            edra::scene::timeline::Event::RewardRule(r) if r.from_ms > 0.0 => Some(r.from_ms),
            _ => None,
        })
        .unwrap_or(f64::NAN)
        / 60_000.0)
}

fn retraining(p: &mut Page, summary: &mut Vec<String>) -> Result<()> {
    let t_switch = switch_min("retraining.ron")?;
    writeln!(
        p.md,
        "\n## Retraining (`retraining.ron`)\n\n\
         The distal-reward network, rewarded for exc[0] → exc[493] (\"ee\" 39418) until\n\
         T = {t_switch:.0} min, then for exc[0] → exc[757] (\"ee\" 60586, also 1 ms) until the end.\n\
         Expected (issue 3, after Izhikevich 2007): the new synapse rises to w_max and the first\n\
         declines. \"How fast\": minutes after T until the new synapse first reaches 0.95·w_max and\n\
         until the first falls below 50 % and 25 % of w_max; \"how far\": their peaks after T and\n\
         final weights."
    )
    .unwrap();
    let full = long_run("retraining.ron", true)?;
    // The fast variant takes 5 simulated minutes: also read from `edra run`'s output if there.
    let (fast_dir, fast_how) = long_run("retraining_fast.ron", false)?.expect("not skippable");
    let fast = RewardRun::read(&fast_dir);
    let fast_rate = gating_rate("retraining_fast.ron")?;
    let fast_switch = switch_min("retraining_fast.ron")?;
    let cells = |r: &RewardRun, t: f64| -> [String; 6] {
        let (a, b) = (r.trace(FIRST_REWARDED), r.trace(SECOND_REWARDED));
        let end = a.last().map_or(f64::NAN, |q| q.0);
        let after = |x: Option<f64>| minutes(x.map(|x| x - t));
        [
            format!("{:.2} mV / {:.2} mV", value_at(a, t), value_at(b, t)),
            format!(
                "{:.2} mV, final {:.2} mV",
                peak(b, t),
                r.final_of(SECOND_REWARDED)
            ),
            after(first_crossing(b, t, 0.95 * W_MAX_MV, true)),
            format!(
                "final {:.2} mV (lowest {:.2} mV)",
                r.final_of(FIRST_REWARDED),
                -peak(&a.iter().map(|q| (q.0, -q.1)).collect::<Vec<_>>(), t)
            ),
            format!(
                "{} / {}",
                after(first_crossing(a, t, 0.5 * W_MAX_MV, false)),
                after(first_crossing(a, t, 0.25 * W_MAX_MV, false))
            ),
            format!(
                "{} before T, {} after",
                r.rewards_between(0.0, t),
                r.rewards_between(t, end + 1.0)
            ),
        ]
    };
    let full_run = full
        .as_ref()
        .map(|(dir, how)| (RewardRun::read(dir), how.clone()));
    match &full_run {
        Some((_, how)) => writeln!(p.md, "\n{how}").unwrap(),
        None => p.md.push_str(
            "\nThe full run was not available for this page (EDRA_VALIDATION_SKIP_LONG was set and\n\
             `target/validation_runs/retraining/` held no complete run): `edra run\n\
             scenes/experiments/retraining.ron --threads 1 --out target/validation_runs/retraining`,\n\
             then rerun the example.\n",
        ),
    }
    writeln!(
        p.md,
        "\nThe test (`after_the_switch_the_new_synapse_rises_to_w_max`) runs the full scene and\n\
         asserts that the new synapse reaches 0.95·w_max after a reward of the new rule. It does\n\
         not assert that the first declines: that depends on the first synapse's eligibility when\n\
         the new rule's rewards come, which the spikes show (below). The fast variant `retraining_fast.ron`: learning rate\n\
         {fast_rate} per µM·ms ({:.0}×, as in `distal_reward_fast.ron`, which it is until the\n\
         switch), switch at {:.1} min, {:.1} simulated minutes in all. {fast_how}\n",
        fast_rate / 0.1,
        fast_switch,
        fast.trace(FIRST_REWARDED).last().map_or(f64::NAN, |q| q.0)
    )
    .unwrap();
    let fc = cells(&fast, fast_switch);
    let full_c = full_run.as_ref().map(|(r, _)| cells(r, t_switch));
    let fu = |k: usize| {
        full_c
            .as_ref()
            .map_or("not run".to_string(), |c| c[k].clone())
    };
    writeln!(
        p.md,
        "| | expected | edra, full run | edra, fast variant |\n|---|---|---|---|\n\
         | first / new synapse at T | first at w_max | {} | {} |\n\
         | new synapse after T: peak | rises to w_max | {} | {} |\n\
         | new synapse: time to 0.95·w_max after T | — | {} | {} |\n\
         | first synapse after T | declines | {} | {} |\n\
         | first synapse: time to < 50 % / < 25 % of w_max after T | — | {} | {} |\n\
         | rewards | — | {} | {} |",
        fu(0),
        fc[0],
        fu(1),
        fc[1],
        fu(2),
        fc[2],
        fu(3),
        fc[3],
        fu(4),
        fc[4],
        fu(5),
        fc[5]
    )
    .unwrap();
    if let Some((dir, _)) = &full
        && let Some(sp) = science::SwitchPairs::read(dir, 493, 757, t_switch * 60_000.0)
    {
        science::switch_pairs(&mut p.md, &sp);
    }
    if let Some((run, _)) = &full_run {
        p.figure(
            "retraining.svg",
            LineChart::new("Retraining, full run", "t (min)", "h (mV)"),
            &[
                reward_series(run, FIRST_REWARDED, "first exc[0] → exc[493]"),
                reward_series(run, SECOND_REWARDED, "new exc[0] → exc[757]"),
                Series::new("mean of 200 others", run.sample_mean.clone()),
                Series::new("switch", vec![(t_switch, 0.0), (t_switch, W_MAX_MV)])
                    .color("#999999"),
            ],
            &format!("Both rewarded synapses; the rule switches at {t_switch:.0} min (recorder CSVs of the full run)."),
        );
    }
    p.figure(
        "retraining_fast.svg",
        LineChart::new("Retraining, fast variant", "t (s)", "h (mV)"),
        &[
            Series::new(
                "first exc[0] → exc[493]",
                to_seconds(fast.trace(FIRST_REWARDED)),
            ),
            Series::new(
                "new exc[0] → exc[757]",
                to_seconds(fast.trace(SECOND_REWARDED)),
            ),
            Series::new("mean of 200 others", to_seconds(&fast.sample_mean)),
            Series::new(
                "switch",
                vec![(fast_switch * 60.0, 0.0), (fast_switch * 60.0, W_MAX_MV)],
            )
            .color("#999999"),
        ],
        "The fast variant (recorder CSVs).",
    );
    let verdict = |r: &RewardRun, t: f64| {
        let (a, b) = (r.trace(FIRST_REWARDED), r.trace(SECOND_REWARDED));
        let rises = first_crossing(b, t, 0.95 * W_MAX_MV, true).is_some();
        let declines = r.final_of(FIRST_REWARDED) < value_at(a, t);
        match (rises, declines) {
            (true, true) => "reproduced",
            (true, false) => "partly: the first synapse does not decline",
            (false, true) => "partly: the new synapse does not reach w_max",
            (false, false) => "not reproduced",
        }
    };
    let (edra_cell, status) = match (&full_c, &full_run) {
        (Some(c), Some((r, _))) => (
            format!(
                "new: peak {} after T, 0.95·w_max after {}; first: {}, < 50 % / < 25 % of w_max after {}",
                c[1], c[2], c[3], c[4]
            ),
            verdict(r, t_switch).to_string(),
        ),
        _ => (
            format!(
                "full run not available for this page; fast variant (test, {:.0}×, switch at {:.0} s): new: peak {}, 0.95·w_max {} after T; first: {}",
                fast_rate / 0.1,
                fast_switch * 60.0,
                fc[1],
                fc[2],
                fc[3]
            ),
            "pending (full run not available for this page)".to_string(),
        ),
    };
    summary.push(format!(
        "| retraining | new synapse rises to w_max, first declines | {edra_cell} | {status} |"
    ));
    Ok(())
}
