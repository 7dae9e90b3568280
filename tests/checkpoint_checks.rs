//! A checkpoint is checked against its scene before anything is restored (issue 12, reproducer
//! 3): each edit of the single-synapse checkpoint below used to panic or be accepted silently;
//! each is now refused with the field's path at its line of the file, or (the astrocyte's
//! layout, which the scene decides) ignored.

use edra::Simulation;
use std::path::PathBuf;

/// The checkpoint of `scenes/single_synapse.ron` after 3 s, as text.
fn checkpoint() -> String {
    let mut sim = Simulation::load("scenes/single_synapse.ron".as_ref()).unwrap();
    sim.run_until(3000.0, &mut |_| {}).unwrap();
    let path = tmp("base");
    sim.save_checkpoint(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    text
}

/// A file name of its own for each call (the tests run in parallel and each removes its files).
fn tmp(name: &str) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    std::env::temp_dir().join(format!("edra-ckpt-{name}-{pid}-{k}.ron"))
}

/// `text` with the first value of the state written `field: …` (over one or more lines) set to
/// `value`.
fn edit(text: &str, field: &str, value: &str) -> String {
    let at = text.find("state: Some(").unwrap();
    let (head, state) = text.split_at(at);
    let lines: Vec<&str> = state.lines().collect();
    let k = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no field {field}"));
    // The value ends on the line where its brackets balance.
    let (mut depth, mut end) = (0i32, k);
    for (j, l) in lines.iter().enumerate().skip(k) {
        depth += l.matches(['[', '(']).count() as i32 - l.matches([']', ')']).count() as i32;
        end = j;
        if depth <= 0 {
            break;
        }
    }
    let indent = &lines[k][..lines[k].len() - lines[k].trim_start().len()];
    let mut out: Vec<String> = lines[..k].iter().map(|l| l.to_string()).collect();
    out.push(format!("{indent}{field}: {value},"));
    out.extend(lines[end + 1..].iter().map(|l| l.to_string()));
    format!("{head}{}\n", out.join("\n"))
}

/// Loads the edited checkpoint; returns the error text (or None if it loads).
fn load(text: &str, name: &str) -> Option<String> {
    let path = tmp(name);
    std::fs::write(&path, text).unwrap();
    let r = Simulation::load(&path).err().map(|e| e.to_string());
    let _ = std::fs::remove_file(&path);
    r
}

#[test]
fn edited_checkpoints_are_refused_at_their_field() {
    let base = checkpoint();
    assert!(load(&base, "ok").is_none(), "the checkpoint itself loads");
    for (field, value, path) in [
        ("regions", "[]", "state.regions"),
        ("h_mv", "[]", "state.synapses.h_mv"),
        ("protein", "[0.0]", "state.neurons.protein"),
        ("pre", "[5]", "state.synapses.pre[0]"),
        (
            "axonal_delay_steps",
            "[0]",
            "state.synapses.axonal_delay_steps[0]",
        ),
        (
            "eligibility_mv",
            "[1e308]",
            "state.synapses.eligibility_mv[0]",
        ),
        ("z", "[5.0]", "state.synapses.z[0]"),
        (
            "total_receptors",
            "[0.0]",
            "state.synapses.total_receptors[0]",
        ),
        (
            "psd_receptors",
            "[250.0]",
            "state.synapses.psd_receptors[0]",
        ),
        ("rho", "[-20.0]", "state.synapses.rho[0]"),
        ("group", "[1]", "state.synapses.group[0]"),
        ("spike_cursor", "[99, 20]", "state.neurons.spike_cursor[0]"),
        (
            "pending_rewards",
            "[(step: 9, region: 9, amount_um: 0.5)]",
            "state.pending_rewards[0]",
        ),
        ("edra_version", "\"99.0.0\"", "state.edra_version"),
    ] {
        let text = edit(&base, field, value);
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{field}: {value}")))
            .unwrap()
            + 1;
        let e = load(&text, field).unwrap_or_else(|| panic!("`{field}: {value}` was accepted"));
        assert!(e.contains(path), "`{field}: {value}`: {e}");
        assert!(
            e.contains(&format!(":{line}:")),
            "`{field}: {value}` not at line {line}: {e}"
        );
    }
}

/// The astrocyte's layout comes from the scene: an edited `params` index (which used to panic)
/// changes nothing, and the run resumes as the unedited checkpoint does.
#[test]
fn an_edited_astrocyte_layout_is_the_scenes() {
    let base = checkpoint();
    let edited = edit(&base, "params", "9");
    let run = |text: &str, name: &str| {
        let path = tmp(name);
        std::fs::write(&path, text).unwrap();
        let mut sim = Simulation::load(&path).unwrap();
        sim.run_until(6000.0, &mut |_| {}).unwrap();
        let out = tmp(&format!("{name}-end"));
        sim.save_checkpoint(&out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&out);
        bytes
    };
    assert!(run(&base, "astro-a") == run(&edited, "astro-b"));
}
