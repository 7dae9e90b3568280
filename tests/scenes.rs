//! Every shipped scene parses and builds, so none rots; the two main scenes run and write every
//! output file.

mod common;
use common::*;
use edra::scene::SceneFile;

fn scene_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            scene_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "ron") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_scene_is_valid() {
    let mut files = Vec::new();
    scene_files(&repo("scenes"), &mut files);
    assert!(files.len() >= 2);
    for f in &files {
        let sf = SceneFile::load(f).unwrap_or_else(|e| panic!("{e}"));
        let est = edra::build::estimate(&sf.scene);
        // Build the ones small enough to build in a test.
        if est.synapses <= 2e6 {
            edra::build::build_world(&sf, &Default::default())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
}

#[test]
fn shipped_scenes_write_every_output() {
    for (scene, recorders) in [
        (
            "scenes/single_synapse.ron",
            &["synapse", "dopamine", "astrocyte"][..],
        ),
        (
            "scenes/population.ron",
            &["exc_synapses", "dopamine", "astrocytes", "neurons"][..],
        ),
    ] {
        let dir = scratch(&scene.replace('/', "_"));
        edra_ok(&[
            "run",
            scene,
            "--out",
            dir.to_str().unwrap(),
            "--duration-ms",
            "300",
        ]);
        let files = [
            "summary.ron",
            "synapses.csv",
            "spikes.csv",
            "checkpoint.ron",
        ];
        for f in files
            .iter()
            .map(|f| f.to_string())
            .chain(recorders.iter().map(|r| format!("{r}.csv")))
        {
            let p = dir.join(&f);
            assert!(
                p.exists() && std::fs::metadata(&p).unwrap().len() > 0,
                "{scene}: {f} missing"
            );
        }
        let csv = String::from_utf8(read(&dir.join("synapses.csv"))).unwrap();
        let header = csv.lines().next().unwrap();
        assert!(
            header.starts_with("id,group,") && header.contains("ca_um") && header.contains("h_mv")
        );
    }
}

#[test]
fn show_prints_every_component() {
    let out = edra_ok(&[
        "show",
        "scenes/single_synapse.ron",
        "--synapse",
        "0",
        "--duration-ms",
        "3000",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    for v in edra::stages::synapse_variables() {
        assert!(
            text.contains(v.name) && text.contains(v.component),
            "{} missing:\n{text}",
            v.name
        );
    }
    let bad = edra(&["show", "scenes/single_synapse.ron", "--synapse", "7"]);
    // A command-line value that names nothing: exit 2, as any refused input.
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--synapse 7: no such synapse"));
}
