//! `edra run` streams its recorders to disk as the run goes (issue 14): each recorder appends
//! whole rows to `.<name>.csv.partial` in the staging folder whenever its buffer holds a chunk,
//! and the file becomes `<name>.csv` at the end. The bytes are those of the in-memory path; a
//! run stopped by SIGTERM has every row up to the stop; a run killed outright leaves whole lines.
//! `EDRA_RECORDER_CHUNK_ROWS` makes the chunks a few rows, so that a short run writes many.

mod common;
use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The recorders of `scenes/population.ron`: (name, entities per sample, every_steps).
const RECORDERS: [(&str, usize, u64); 4] = [
    ("exc_synapses", 3, 10),
    ("dopamine", 1, 10),
    ("astrocytes", 8, 100),
    ("neurons", 2, 1),
];

/// Starts `edra run scenes/population.ron` for an hour of simulated time into `out`, with
/// chunks of `chunk_rows` rows.
fn long_run(out: &Path, chunk_rows: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_edra"))
        .args(["run", "scenes/population.ron", "--duration-ms", "3600000"])
        .arg("--out")
        .arg(out)
        .env("EDRA_RECORDER_CHUNK_ROWS", chunk_rows)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("edra starts")
}

/// Waits until `path` holds more than `bytes` bytes.
fn wait_for_size(path: &Path, bytes: u64) {
    for _ in 0..1200 {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > bytes) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never grew past {bytes} bytes", path.display());
}

/// The rows of a recorder CSV, checked whole: the text ends with a newline and every line has
/// the header's number of fields. Returns each row's `t_ms`.
fn whole_rows(path: &Path) -> Vec<f64> {
    let text = String::from_utf8(read(path)).expect("utf-8");
    assert!(text.ends_with('\n'), "{}: last line cut", path.display());
    let mut lines = text.lines();
    let width = lines.next().expect("header").split(',').count();
    lines
        .map(|l| {
            assert_eq!(l.split(',').count(), width, "{}: `{l}`", path.display());
            l.split(',').next().unwrap().parse().expect("t_ms")
        })
        .collect()
}

/// Checks that the rows of a population recorder are whole samples of `entities` rows, one
/// every `every` ms from the first sample on, and returns the time of the last.
fn whole_samples(t: &[f64], entities: usize, every: u64, name: &str) -> f64 {
    assert!(!t.is_empty(), "{name}: no rows");
    assert_eq!(t.len() % entities, 0, "{name}: a sample is cut");
    for (k, s) in t.chunks(entities).enumerate() {
        let want = 1.0 + (k as u64 * every) as f64;
        assert!(s.iter().all(|&x| x == want), "{name}: sample {k} at {s:?}");
    }
    *t.last().unwrap()
}

/// A streamed run, written in chunks of 7 rows (the neurons recorder alone, 2 rows a step,
/// flushes 100 times), gives recorder CSVs byte-identical to the ones the library writes from
/// memory.
#[test]
fn streamed_recorders_are_the_bytes_of_the_in_memory_path() {
    let dir = scratch("stream-bytes");
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_edra"))
        .args([
            "run",
            "scenes/population.ron",
            "--duration-ms",
            "300",
            "--out",
        ])
        .arg(&out)
        .env("EDRA_RECORDER_CHUNK_ROWS", "7")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("edra runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut sf = edra::scene::SceneFile::load(&repo("scenes/population.ron")).unwrap();
    sf.scene.duration_ms = 300.0;
    let mut sim = edra::Simulation::new(sf).unwrap();
    sim.run_until(300.0, &mut |_| {}).unwrap();
    let held = dir.join("held");
    std::fs::create_dir_all(&held).unwrap();
    edra::output::write_recorders(&sim, &held).unwrap();
    for (name, ..) in RECORDERS {
        let f = format!("{name}.csv");
        assert!(read(&out.join(&f)) == read(&held.join(&f)), "{f} differs");
    }
    let files = file_names(&out);
    let want = [
        "astrocytes.csv",
        "checkpoint.ron",
        "dopamine.csv",
        "exc_synapses.csv",
        "neurons.csv",
        "spikes.csv",
        "summary.ron",
        "synapses.csv",
    ];
    assert_eq!(
        files, want,
        "the run folder holds what it held before streaming"
    );
}

/// SIGTERM part way: the run ends at a step boundary (exit 5) and each recorder CSV holds whole
/// lines and whole samples up to the stop.
#[test]
fn a_run_stopped_by_sigterm_has_every_recorder_row_up_to_the_stop() {
    let dir = scratch("stream-term");
    let out = dir.join("out");
    let mut child = long_run(&out, "50");
    let staging = dir.join(format!(".out.partial-{}", child.id()));
    wait_for_size(&staging.join(".neurons.csv.partial"), 4096);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(5),
        "exit of a stopped run"
    );
    let summary = String::from_utf8(read(&out.join("summary.ron"))).unwrap();
    let t_stop: f64 = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("simulated_ms: "))
        .and_then(|v| v.trim_end_matches(',').parse().ok())
        .expect("simulated_ms");
    for (name, entities, every) in RECORDERS {
        let t = whole_rows(&out.join(format!("{name}.csv")));
        let last = whole_samples(&t, entities, every, name);
        // The last sample due at or before the stop (samples are at 1 + k·every ms).
        let due = 1.0 + ((t_stop - 1.0) / every as f64).floor() * every as f64;
        assert_eq!(
            last, due,
            "{name}: rows end at {last} ms, stopped at {t_stop} ms"
        );
    }
}

/// SIGKILL part way: the staging folder is left, and each recorder's partial file holds whole
/// lines and whole samples up to its last write; the next run into the folder clears it.
#[test]
fn a_killed_run_leaves_whole_recorder_lines() {
    let dir = scratch("stream-kill");
    let out = dir.join("out");
    let mut child = long_run(&out, "7");
    let staging = dir.join(format!(".out.partial-{}", child.id()));
    let neurons = staging.join(".neurons.csv.partial");
    wait_for_size(&neurons, 8192);
    child.kill().unwrap();
    child.wait().unwrap();
    for (name, entities, every) in RECORDERS {
        let path = staging.join(format!(".{name}.csv.partial"));
        let t = whole_rows(&path);
        if !t.is_empty() {
            whole_samples(&t, entities, every, name);
        }
    }
    assert!(
        whole_rows(&neurons).len() > 100,
        "the neurons' rows were not written as it ran"
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    edra_ok(&[
        "run",
        "scenes/population.ron",
        "--duration-ms",
        "20",
        "--out",
        &s(&out),
    ]);
    assert!(
        !staging.exists(),
        "the killed run's staging folder was left"
    );
}

/// `EDRA_RECORDER_CHUNK_ROWS` takes a whole number of rows from 1: anything else is refused
/// (exit 2, naming it) before anything is written.
#[test]
fn a_bad_chunk_size_is_refused() {
    let dir = scratch("stream-bad-chunk");
    let out = dir.join("out");
    for bad in ["0", "-3", "many", ""] {
        let o = Command::new(env!("CARGO_BIN_EXE_edra"))
            .args(["run", "scenes/single_synapse.ron", "--out"])
            .arg(&out)
            .env("EDRA_RECORDER_CHUNK_ROWS", bad)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("edra runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.contains("EDRA_RECORDER_CHUNK_ROWS"), "{err}");
        assert!(!out.exists(), "{bad:?} wrote a folder");
    }
}
