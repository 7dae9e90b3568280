//! `edra export nwb` (issue 14), in a build with the `nwb` feature: the file of a run with
//! spikes and recorders opens in pynwb, validates without errors and holds the CSVs' spikes and
//! traces (`tests/data/nwb_check.py`). Python is `$EDRA_PYTHON` (default `python3`); without
//! pynwb the pynwb part is skipped with a message, unless `EDRA_REQUIRE_NWB` is set (CI), when
//! it fails.
#![cfg(feature = "nwb")]

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("EDRA_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether pynwb can be imported; if not, panics when `EDRA_REQUIRE_NWB` is set.
fn have_pynwb() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import pynwb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("EDRA_REQUIRE_NWB").is_none(),
            "EDRA_REQUIRE_NWB is set but `{} -c 'import pynwb'` fails",
            python()
        );
        eprintln!(
            "skipped: `{} -c 'import pynwb'` fails (pip install pynwb, or set EDRA_PYTHON)",
            python()
        );
    }
    ok
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_run_exports_to_an_nwb_file_that_pynwb_validates_and_reads_back() {
    let dir = scratch("nwb");
    let run = dir.join("run");
    let args = ["run", "scenes/population.ron", "--duration-ms", "200"];
    edra_ok(&[&args[..], &["--out", s(&run)]].concat());
    edra_ok(&["export", "nwb", s(&run)]);
    let file = run.join("population.nwb");
    assert!(file.is_file());
    assert!(!run.join("population.nwb.partial").exists());
    // From a binary checkpoint instead of checkpoint.ron, and --out elsewhere.
    let (ron, ckpt) = (run.join("checkpoint.ron"), run.join("checkpoint.ckpt"));
    edra_ok(&["checkpoint", "convert", s(&ron), s(&ckpt)]);
    std::fs::rename(&ron, dir.join("checkpoint.ron")).unwrap();
    let other = dir.join("other.nwb");
    edra_ok(&["export", "nwb", s(&run), "--out", s(&other)]);
    assert!(other.is_file());
    if !have_pynwb() {
        return;
    }
    check_with_pynwb(&file, &run);
    // A Parquet run of the same scene exports the same spikes and traces (checked against the
    // CSV run's files).
    let parquet = dir.join("parquet");
    edra_ok(&[&args[..], &["--out", s(&parquet), "--format", "parquet"]].concat());
    edra_ok(&["export", "nwb", s(&parquet)]);
    check_with_pynwb(&parquet.join("population.nwb"), &run);
}

/// Runs `tests/data/nwb_check.py` on `file` against the CSVs of `run`.
fn check_with_pynwb(file: &Path, run: &Path) {
    let out = Command::new(python())
        .arg(repo("tests/data/nwb_check.py"))
        .args([s(file), s(run), "1000"])
        .output()
        .expect("python runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "nwb_check.py failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!("{}", text(&out.stdout));
}

#[test]
fn a_folder_without_a_run_is_refused_naming_the_missing_file() {
    let dir = scratch("nwb-missing");
    let out = edra(&["export", "nwb", s(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no checkpoint.ron"), "{err}");
    // A run whose recorder's CSV is gone: that file is named, and nothing is written.
    let run = dir.join("run");
    let args = ["run", "scenes/population.ron", "--duration-ms", "20"];
    edra_ok(&[&args[..], &["--out", s(&run)]].concat());
    std::fs::remove_file(run.join("neurons.csv")).unwrap();
    let out = edra(&["export", "nwb", s(&run)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no neurons.csv"), "{err}");
    let left: Vec<_> = file_names(&run)
        .into_iter()
        .filter(|n| n.contains(".nwb"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
