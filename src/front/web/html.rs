//! HTML for the report and the served pages: one shell with inline CSS, and the sections both
//! show (summary, population, a synapse's variables by stage, its traces).

use super::data::{Population, SynapseView, Trace, unit_of};
use crate::front::plot::{self, LineChart, Series, escape};
use std::fmt::Write;

const CSS: &str = r#"
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1d3557;color:#fff;padding:12px 24px}
header a{color:#fff}
main{padding:8px 24px 40px;max-width:1100px}
h1{margin:0;font-size:22px}h2{border-bottom:2px solid #1d3557;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0;background:#fff}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.stage th{background:#e8eef6}
tr.changed td{background:#fff4d6}
.weight{font-size:20px;margin:8px 0}
.note{color:#666;font-size:13px}
.plots svg{display:block;margin:8px 0;border:1px solid #ddd}
nav.toc a{margin-right:12px}
section.synapse{margin-bottom:40px}
"#;

/// A whole page: `title`, `body` HTML and an optional inline `script`.
pub fn page(title: &str, body: &str, script: &str) -> String {
    page_with_head(title, "", body, script)
}

/// A page as [`page`], with `head` (HTML) added to its `<head>`.
pub fn page_with_head(title: &str, head: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\">{head}<style>{CSS}</style></head>\
         <body><header><h1>{t}</h1></header><main>{body}</main><script>{script}</script>\
         </body></html>\n",
        t = escape(title)
    )
}

/// A number in a table: `—` for a variable the synapse lacks.
pub fn fmt_value(v: Option<f32>) -> String {
    match v {
        None => "—".into(),
        Some(0.0) => "0".into(),
        Some(x) if x.abs() >= 1e-3 && x.abs() < 1e5 => {
            let s = format!("{x:.6}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Some(x) => format!("{x:.4e}"),
    }
}

/// A two-column table of (label, value) rows; values are HTML.
pub fn kv_table(rows: &[(&str, String)]) -> String {
    let mut o = String::from("<table>");
    for (k, v) in rows {
        let _ = write!(o, "<tr><th>{}</th><td>{v}</td></tr>", escape(k));
    }
    o.push_str("</table>");
    o
}

/// The population: counts, groups with mean weight in each state, and a histogram of the
/// weights in each state. `states` are (label, population), e.g. before and after.
pub fn population_section(states: &[(&str, &Population)], link_ids: bool) -> String {
    let Some((_, first)) = states.first() else {
        return String::new();
    };
    let mut o = String::from("<h2 id=\"population\">Population</h2>");
    o.push_str(&kv_table(&[
        ("neurons", first.neurons.to_string()),
        ("synapses", first.synapses.to_string()),
        ("dopamine regions", first.regions.to_string()),
        ("astrocytes", first.astrocytes.to_string()),
        ("replicas (sweep)", first.replicas.to_string()),
    ]));
    o.push_str("<table><tr><th>group</th><th>replica</th><th>pre → post</th><th>ids</th><th class=\"num\">count</th>");
    for (label, p) in states {
        let _ = write!(
            o,
            "<th class=\"num\">mean w (mV), {} t = {} ms</th>",
            escape(label),
            p.t_ms
        );
    }
    o.push_str("</tr>");
    for g in &first.groups {
        let last = (g.first_id + g.count).saturating_sub(1);
        let ids = if link_ids && g.count > 0 {
            format!(
                "<a href=\"/synapse/{0}\">{0}</a> … <a href=\"/synapse/{1}\">{1}</a>",
                g.first_id, last
            )
        } else {
            format!("{} … {}", g.first_id, last)
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{} → {}</td><td>{ids}</td><td class=\"num\">{}</td>",
            escape(&g.name),
            g.replica,
            escape(&g.pre),
            escape(&g.post),
            g.count
        );
        for (_, p) in states {
            let _ = write!(
                o,
                "<td class=\"num\">{}</td>",
                fmt_value(Some(p.mean_weight(g) as f32))
            );
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    let labels: Vec<String> = states
        .iter()
        .map(|(l, p)| format!("{l} (t = {} ms)", p.t_ms))
        .collect();
    let sets: Vec<(&str, &[f64])> = states
        .iter()
        .zip(&labels)
        .map(|((_, p), l)| (l.as_str(), p.weights.as_slice()))
        .collect();
    o.push_str("<div class=\"plots\">");
    o.push_str(&plot::histogram(
        "Total weight of every synapse",
        "w (mV)",
        40,
        &sets,
    ));
    o.push_str("</div>");
    o
}

/// The heading lines of a synapse: links, delays, and the total weight now (in
/// `<span id="weight">`, which the browser test reads).
pub fn synapse_header(v: &SynapseView) -> String {
    format!(
        "<p>group <b>{g}</b> (replica {r}) · pre neuron {pre} → post neuron {post} · axonal delay \
         {ad} ms · dendritic delay {dd} ms{region}</p>\
         <p class=\"weight\">t = <span id=\"t\">{t}</span> ms · total weight w = \
         <b><span id=\"weight\">{w}</span></b> mV</p>",
        g = escape(&v.group),
        r = v.replica,
        pre = v.pre,
        post = v.post,
        ad = v.axonal_delay_ms,
        dd = v.dendritic_delay_ms,
        region = v
            .region
            .map_or(String::new(), |r| format!(" · dopamine region {r}")),
        t = v.t_ms,
        w = fmt_value(v.value("w_mv")),
    )
}

/// Every variable of a synapse in several states (columns, e.g. before and after), grouped by
/// cascade stage in cascade order, with units; the last column is the change from the column
/// before it, and rows that changed are highlighted.
pub fn values_table(states: &[(&str, &SynapseView)]) -> String {
    let Some((_, first)) = states.first() else {
        return String::new();
    };
    let mut o = String::from(
        "<table class=\"values\"><tr><th>component</th><th>variable</th><th>unit</th>",
    );
    for (label, v) in states {
        let _ = write!(
            o,
            "<th class=\"num\">{} (t = {} ms)</th>",
            escape(label),
            v.t_ms
        );
    }
    let diff = states.len() >= 2;
    if diff {
        o.push_str("<th class=\"num\">change</th>");
    }
    o.push_str("</tr>");
    let cols = 3 + states.len() + diff as usize;
    let mut stage = None;
    for i in first.by_stage() {
        let (name, st, component, _) = first.values[i];
        if Some(st) != stage {
            stage = Some(st);
            let _ = write!(
                o,
                "<tr class=\"stage\"><th colspan=\"{cols}\">stage {}</th></tr>",
                escape(&st.label())
            );
        }
        let vals: Vec<Option<f32>> = states
            .iter()
            .map(|(_, v)| v.values.get(i).and_then(|x| x.3))
            .collect();
        let change = match (vals.len() >= 2, vals.last(), vals.iter().rev().nth(1)) {
            (true, Some(Some(b)), Some(Some(a))) => Some(b - a),
            _ => None,
        };
        let changed = change.is_some_and(|c| c != 0.0);
        let _ = write!(
            o,
            "<tr data-var=\"{name}\"{}><td>{component}</td><td>{name}</td><td>{}</td>",
            if changed { " class=\"changed\"" } else { "" },
            unit_of(name)
        );
        for v in &vals {
            let _ = write!(o, "<td class=\"num\">{}</td>", fmt_value(*v));
        }
        if diff {
            let c = match change {
                Some(c) if c > 0.0 => format!("+{}", fmt_value(Some(c))),
                c => fmt_value(c),
            };
            let _ = write!(o, "<td class=\"num\">{c}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    o
}

/// The charts drawn for a synapse: (title, y-axis label, variables). Other recorded variables
/// get a chart each after these.
const TRACE_PLOTS: [(&str, &str, &[&str]); 7] = [
    ("Spine Ca²⁺", "Ca (µM)", &["ca_um"]),
    ("Eligibility trace", "eligibility (mV)", &["eligibility_mv"]),
    (
        "Dopamine in the synapse's region",
        "dopamine (µM)",
        &["dopamine_um"],
    ),
    (
        "Early weight h and total weight w",
        "weight (mV)",
        &["h_mv", "w_mv", "efficacy_mv"],
    ),
    ("Late weight z", "z (1)", &["z"]),
    (
        "AMPA receptors: PSD and endosome",
        "receptors",
        &["psd_receptors", "endosome_receptors"],
    ),
    ("Synaptic tag", "tagged (0/1)", &["tagged"]),
];

/// Most points drawn per series.
const MAX_POINTS: usize = 1500;

/// Charts of everything recorded about synapse `v`: its own variables from synapse recorders,
/// and the dopamine of its region from region recorders. Empty if nothing was recorded.
pub fn trace_plots(v: &SynapseView, traces: &[Trace]) -> String {
    let series_of = |var: &str| -> Option<Vec<(f64, f64)>> {
        for t in traces {
            let id = match t.id_column.as_str() {
                "synapse" => v.id,
                "region" if var == "dopamine_um" => v.region?,
                _ => continue,
            };
            if let Some(s) = t.series(id, var) {
                return Some(s);
            }
        }
        None
    };
    let mut o = String::new();
    let mut drawn: Vec<&str> = Vec::new();
    let chart = |o: &mut String, title: &str, y: &str, vars: &[&str]| {
        let series: Vec<Series> = vars
            .iter()
            .filter_map(|var| {
                let pts = series_of(var)?;
                let name = format!("{var} ({})", unit_of(var));
                Some(Series::new(name, plot::decimate(&pts, MAX_POINTS)))
            })
            .collect();
        if !series.is_empty() {
            o.push_str(&plot::line_chart(
                &LineChart::new(title, "t (ms)", y).size(900.0, 240.0),
                &series,
            ));
        }
    };
    for (title, y, vars) in TRACE_PLOTS {
        chart(&mut o, title, y, vars);
        drawn.extend(vars);
    }
    let mut others: Vec<&str> = Vec::new();
    for t in traces.iter().filter(|t| t.id_column == "synapse") {
        for c in &t.columns {
            if !drawn.contains(&c.as_str()) && !others.contains(&c.as_str()) {
                others.push(c);
            }
        }
    }
    for var in others {
        chart(&mut o, var, &format!("{var} ({})", unit_of(var)), &[var]);
    }
    if o.is_empty() {
        "<p class=\"note\">No recorded traces for this synapse.</p>".into()
    } else {
        format!("<div class=\"plots\">{o}</div>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stage::Stage;

    fn view(t_ms: f64, h: f32) -> SynapseView {
        SynapseView {
            id: 3,
            group: "g<1>".into(),
            replica: 0,
            pre: 1,
            post: 2,
            axonal_delay_ms: 1.0,
            dendritic_delay_ms: 0.5,
            region: Some(0),
            t_ms,
            values: vec![
                ("h_mv", Stage::Plasticity, "SynapticWeight", Some(h)),
                ("z", Stage::Consolidation, "SynapticWeight", Some(0.0)),
                ("w_mv", Stage::Plasticity, "SynapticWeight", Some(h)),
                ("ca_um", Stage::CaInflux, "SpineHeadCa", None),
            ],
        }
    }

    #[test]
    fn values_are_grouped_by_stage_in_order_and_changes_marked() {
        let (a, b) = (view(0.0, 1.0), view(10.0, 1.5));
        let t = values_table(&[("before", &a), ("after", &b)]);
        let p1 = t.find("stage 1 Ca influx").unwrap();
        let p3 = t.find("stage 3 Plasticity").unwrap();
        let p6 = t.find("stage 6 Consolidation").unwrap();
        assert!(p1 < p3 && p3 < p6);
        assert_eq!(
            t.matches("stage 3 Plasticity").count(),
            1,
            "h and w together"
        );
        assert!(t.contains("+0.5") && t.contains("class=\"changed\""));
        assert!(t.contains("<td>mV</td>") && t.contains("—"));
        let h = synapse_header(&b);
        assert!(h.contains("<span id=\"weight\">1.5</span>") && h.contains("g&lt;1&gt;"));
    }

    #[test]
    fn traces_are_plotted_with_dopamine_of_the_region() {
        let syn = Trace::parse(
            "s",
            "s.csv",
            "t_ms,synapse,ca_um,rho\n1,3,0.1,0\n2,3,0.2,0\n",
        )
        .unwrap();
        let da = Trace::parse("d", "d.csv", "t_ms,region,dopamine_um\n1,0,0.5\n2,0,0.4\n").unwrap();
        let html = trace_plots(&view(0.0, 1.0), &[syn, da]);
        assert!(html.contains("Spine Ca²⁺") && html.contains("Dopamine"));
        assert!(
            html.contains("rho (1)"),
            "other recorded variables get a chart"
        );
        assert!(!html.contains("Eligibility"));
        assert!(trace_plots(&view(0.0, 1.0), &[]).contains("No recorded traces"));
    }

    #[test]
    fn page_is_self_contained() {
        let p = page("x & y", "<p>hi</p>", "");
        assert!(p.contains("<title>x &amp; y</title>"));
        assert!(!p.contains("http://") && !p.contains("https://") && !p.contains("src="));
    }
}
