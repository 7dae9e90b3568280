//! Helpers shared by the whole-scene tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty scratch folder under the system temp dir, unique per test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edra-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the `edra` binary with `args`.
pub fn edra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edra"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("edra runs")
}

/// Runs `edra` with `args` and its stdout a pipe whose reading end is already closed, as in
/// `edra ARGS | head` once `head` has read its lines and exited: every write to stdout fails
/// with a broken pipe.
pub fn edra_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_edra"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .output()
        .expect("edra runs")
}

/// Runs `edra` and panics with its stderr if it fails.
pub fn edra_ok(args: &[&str]) -> Output {
    let out = edra(args);
    assert!(
        out.status.success(),
        "edra {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A path inside the repository.
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The names of the files in `dir`, sorted; none if `dir` does not exist.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A CSV file's header and its rows, as text fields.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(read(path)).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// Writes scene text `text` as `dir/name.ron` and returns its path.
pub fn write_scene(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.ron"));
    std::fs::write(&p, text).unwrap();
    p
}

/// `edra run SCENE --out OUT EXTRA…`, which must succeed.
pub fn run_scene(scene: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        scene.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    edra_ok(&args);
}

/// Asserts that each of `files` is byte-identical in run folders `a` and `b`.
pub fn same_files(a: &Path, b: &Path, files: &[&str], what: &str) {
    for f in files {
        assert!(read(&a.join(f)) == read(&b.join(f)), "{f} differs: {what}");
    }
}

/// Variable `name` of the run folder `dir`'s `synapses.csv`, as numbers in id order.
pub fn synapse_column(dir: &Path, name: &str) -> Vec<f64> {
    let (header, rows) = read_csv(&dir.join("synapses.csv"));
    let c = header.iter().position(|h| h == name).unwrap();
    rows.iter().map(|r| r[c].parse().unwrap()).collect()
}

/// Runs `scene` to `stop_ms` into `dir/half`, continues it to `end_ms` from its checkpoint, as
/// written (RON) and converted to the binary form, and asserts that both end as the
/// uninterrupted run `whole` did: the RON continuation in `files`, the binary one in
/// `synapses.csv`.
pub fn resumes_as_uninterrupted(
    scene: &Path,
    dir: &Path,
    (stop_ms, end_ms): (&str, &str),
    whole: &Path,
    files: &[&str],
) {
    let [half, rest, rest_bin] = ["half", "rest", "rest-bin"].map(|n| dir.join(n));
    run_scene(scene, &half, &["--duration-ms", stop_ms]);
    let end = ["--duration-ms", end_ms];
    run_scene(&half.join("checkpoint.ron"), &rest, &end);
    same_files(whole, &rest, files, "continued vs uninterrupted");
    let bin = dir.join("half.ckpt");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    edra_ok(&[
        "checkpoint",
        "convert",
        &s(&half.join("checkpoint.ron")),
        &s(&bin),
    ]);
    run_scene(&bin, &rest_bin, &end);
    same_files(
        whole,
        &rest_bin,
        &["synapses.csv"],
        "continued from binary vs uninterrupted",
    );
}
