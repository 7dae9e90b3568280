//! `edra run` writes its folder whole or not at all (issue 12): outputs go to a staging folder
//! beside the target and replace it only when the run is complete; a lock keeps two runs out of
//! one folder; a run that is killed leaves the previous complete folder, and the next run cleans
//! up after it. Exit codes: 2 refused input, 3 output not written, 4 non-finite (README).

mod common;
use common::*;
use std::process::{Command, Stdio};

/// Starts a long run of the population scene into `out` in the background.
fn long_run(out: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_edra"))
        .args([
            "run",
            "scenes/population.ron",
            "--duration-ms",
            "3600000",
            "--out",
        ])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("edra starts")
}

/// Waits until the background run holds its lock (it has loaded and built the scene).
fn wait_for(path: &std::path::Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn a_killed_run_leaves_the_previous_folder_and_a_second_run_is_kept_out() {
    let dir = scratch("run-folder");
    let out = dir.join("out");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    // A complete run first.
    edra_ok(&[
        "run",
        "scenes/population.ron",
        "--duration-ms",
        "50",
        "--out",
        &s(&out),
    ]);
    let before = read(&out.join("synapses.csv"));
    // A long run into the same folder, and a second one while it holds the lock.
    let mut child = long_run(&out);
    wait_for(&dir.join(".out.lock"));
    let second = edra(&[
        "run",
        "scenes/population.ron",
        "--duration-ms",
        "50",
        "--out",
        &s(&out),
    ]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{err}");
    assert!(err.contains("another edra run"), "{err}");
    // Kill the long run mid-step (SIGKILL: it cannot clean up).
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        read(&out.join("synapses.csv")) == before,
        "the previous run was touched"
    );
    assert!(!out.join(".spikes.csv.partial").exists());
    // The next run takes over the stale lock, replaces the folder and leaves nothing else.
    edra_ok(&[
        "run",
        "scenes/population.ron",
        "--duration-ms",
        "60",
        "--out",
        &s(&out),
    ]);
    let left = file_names(&dir);
    assert_eq!(left, ["out"], "left beside the run folder");
    let summary = String::from_utf8(read(&out.join("summary.ron"))).unwrap();
    assert!(summary.contains("simulated_ms: 60.0"), "{summary}");
}

/// Ctrl-C (SIGINT) ends a run at a step boundary with everything written so far and exit code
/// 5; continuing from its checkpoint gives the same bytes as a run that was never stopped.
#[test]
fn an_interrupted_run_writes_its_outputs_and_resumes_to_the_same_bits() {
    let dir = scratch("interrupt");
    let cut = dir.join("cut");
    let mut child = long_run(&cut);
    wait_for(&dir.join(".cut.lock"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "exit status of the interrupted run");
    let summary = String::from_utf8(read(&cut.join("summary.ron"))).unwrap();
    let t_cut: f64 = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("simulated_ms: "))
        .and_then(|v| v.trim_end_matches(',').parse().ok())
        .expect("simulated_ms");
    assert!(
        t_cut < 1500.0,
        "the run went on too long before the signal: {t_cut} ms"
    );
    continues_to_the_same_bits(&cut.join("checkpoint.ron"), &dir);
}

/// With `--checkpoint-every-ms`, a run killed outright (SIGKILL) leaves its last rolling
/// checkpoint beside the folder, whole, and continuing it equals a run that was never stopped.
#[test]
fn a_killed_run_resumes_from_its_rolling_checkpoint_to_the_same_bits() {
    let dir = scratch("rolling");
    let cut = dir.join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_edra"))
        .args(["run", "scenes/population.ron", "--duration-ms", "3600000"])
        .args(["--checkpoint-every-ms", "100", "--out"])
        .arg(&cut)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("edra starts");
    let rolling = dir.join("cut.checkpoint.ron");
    wait_for(&rolling);
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.exists(), "a killed first run left a folder");
    continues_to_the_same_bits(&rolling, &dir);
}

/// Continues `checkpoint` to 1.5 s into `dir/rest` and runs the population scene straight to
/// 1.5 s into `dir/whole`: their synapses and final checkpoints must be the same bytes.
fn continues_to_the_same_bits(checkpoint: &std::path::Path, dir: &std::path::Path) {
    let (rest, whole) = (dir.join("rest"), dir.join("whole"));
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    edra_ok(&[
        "run",
        &s(checkpoint),
        "--out",
        &s(&rest),
        "--duration-ms",
        "1500",
    ]);
    edra_ok(&[
        "run",
        "scenes/population.ron",
        "--out",
        &s(&whole),
        "--duration-ms",
        "1500",
    ]);
    for f in ["synapses.csv", "checkpoint.ron"] {
        assert!(
            read(&whole.join(f)) == read(&rest.join(f)),
            "{f}: continued from {}, the run differs from one never stopped",
            checkpoint.display()
        );
    }
}
