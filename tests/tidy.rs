//! Tidy checks that keep the architecture visible: every Rust source file opens with a `//!`
//! doc saying what it owns, and `docs/ARCHITECTURE.md` names every crate of the workspace.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name == "target" || name.starts_with('.') || name == "corpus" || name == "artifacts"
            {
                continue;
            }
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file in the repository starts with a `//!` module doc (blank lines and
/// attributes may come first).
#[test]
fn every_rust_file_has_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src",
        "gslb-dns",
        "gslb-store",
        "gslb-api",
        "gslb-prober",
        "tests",
        "fuzz",
        "benches",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 10,
        "found only {} rust files; is the walk broken?",
        files.len()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let first = text
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with("#!["));
            !first.is_some_and(|line| line.starts_with("//!"))
        })
        .map(|path| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! doc: {missing:#?}"
    );
}

/// `docs/ARCHITECTURE.md` names every crate, so the map cannot silently fall behind.
#[test]
fn architecture_doc_names_every_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md exists");
    for krate in [
        "gslb-dns",
        "gslb-store",
        "gslb-api",
        "gslb-prober",
        "`gslb`",
    ] {
        assert!(
            doc.contains(krate),
            "docs/ARCHITECTURE.md does not mention {krate}"
        );
    }
}
