//! The crate is in layers, each a folder of `src/`, and a layer imports only from the layers
//! below it: core < engine < stages < scene < assembly < front. This test reads every `crate::`
//! path in `src/` (outside `#[cfg(test)]` blocks, where unit tests may reach anywhere) and fails
//! on a path into a higher layer, or into a module that is not a layer. Run it alone with
//! `cargo test --test layers`; `python3 ../shared/tools/import_circles.py src` gives the same
//! verdict as import circles between the folders.

use std::path::Path;

/// The layers, lowest first.
const LAYERS: [&str; 6] = ["core", "engine", "stages", "scene", "assembly", "front"];

fn layer(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == name)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::<module>` paths of a file's text, without its unit tests.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + 7..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            // `crate::name!` is a macro exported at the crate root: edra's, `params!` and
            // `settable!`, are the core's (src/core/registry.rs, src/core/param_path.rs).
            let name = if tail[end..].starts_with('!') {
                "core".to_string()
            } else {
                tail[..end].to_string()
            };
            out.push((n + 1, name));
            rest = &tail[end..];
        }
    }
    out
}

/// Every import from a layer into a higher one, or into something that is not a layer.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs");
        if top == "lib" || top == "main" {
            continue;
        }
        let from = layer(top).unwrap_or_else(|| panic!("{} is in no layer", rel.display()));
        let text = std::fs::read_to_string(&f).unwrap();
        for (line, target) in crate_paths(&text) {
            match layer(&target) {
                Some(to) if to <= from => {}
                Some(to) => bad.push(format!(
                    "{}:{line}: layer {} imports layer {} (crate::{target})",
                    rel.display(),
                    LAYERS[from],
                    LAYERS[to]
                )),
                None => bad.push(format!(
                    "{}:{line}: crate::{target} is not a layer (write its path through its layer)",
                    rel.display()
                )),
            }
        }
    }
    bad
}

#[test]
fn no_layer_imports_a_higher_one() {
    let bad = violations(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(
        bad.is_empty(),
        "{} imports against the layers:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The check itself finds an upward import (so a passing test means something).
#[test]
fn an_upward_import_is_found() {
    let dir = std::env::temp_dir().join(format!("edra-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("core")).unwrap();
    std::fs::write(
        dir.join("core/a.rs"),
        "use crate::stages::x;\nuse crate::core::y;\ncrate::params! {}\n",
    )
    .unwrap();
    let bad = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("core/a.rs:1: layer core imports layer stages"));
}
