//! Tidy checks that keep the architecture visible: every Rust source file opens with a `//!`
//! doc saying what it owns, `docs/ARCHITECTURE.md` names every crate of the workspace, and the
//! crate layering holds (from `cargo metadata`): the pure domain pulls in no runtime, storage or
//! network crate, and the DNS path and the prober do not depend on the control plane.

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
        "gslb-model",
        "gslb-dns",
        "gslb-store",
        "gslb-api",
        "gslb-prober",
        "gslb-testkit",
        "gslb-fuzz",
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
        "gslb-model",
        "gslb-dns",
        "gslb-store",
        "gslb-api",
        "gslb-prober",
        "gslb-testkit",
        "gslb-fuzz",
        "`gslb`",
    ] {
        assert!(
            doc.contains(krate),
            "docs/ARCHITECTURE.md does not mention {krate}"
        );
    }
}

/// The normal (non-dev, non-build) dependency closure of a workspace package, by crate name,
/// read from `cargo metadata` for this machine's target (so no other platform's crates need
/// downloading).
fn normal_dependency_closure(package: &str) -> std::collections::BTreeSet<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host,
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (node["id"].as_str().unwrap(), node))
        .collect();
    let root = name_of
        .iter()
        .find(|(_, name)| **name == package)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{package} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|kind| kind["kind"].is_null());
            if normal {
                let dep_id = dep["pkg"].as_str().unwrap();
                names.insert(name_of[dep_id].to_string());
                stack.push(dep_id);
            }
        }
    }
    names
}

fn assert_no_dependency_on(package: &str, forbidden: &[&str]) {
    let closure = normal_dependency_closure(package);
    let found: Vec<&&str> = forbidden
        .iter()
        .filter(|name| closure.contains(**name))
        .collect();
    assert!(
        found.is_empty(),
        "{package} must not depend on {found:?} (directly or through another crate)"
    );
}

/// The pure domain crate depends on no runtime, storage or network crate (ARCHITECTURE.md,
/// `gslb-model`'s invariant).
#[test]
fn the_model_depends_on_no_runtime_storage_or_network_crate() {
    assert_no_dependency_on(
        "gslb-model",
        &["tokio", "sled", "openraft", "axum", "hyper", "reqwest"],
    );
}

/// The DNS data plane and the prober read the replicated state through a watch channel; they
/// do not compile the control plane (ARCHITECTURE.md, `gslb-dns` and `gslb-prober`).
#[test]
fn the_dns_path_and_the_prober_do_not_depend_on_the_control_plane() {
    assert!(
        normal_dependency_closure("gslb-api").contains("openraft"),
        "the dependency walk is broken: gslb-api reaches openraft through gslb-store"
    );
    for package in ["gslb-dns", "gslb-prober"] {
        assert_no_dependency_on(package, &["gslb-store", "openraft", "sled", "axum"]);
    }
}

/// Clippy reads only the `clippy.toml` nearest a crate's `Cargo.toml`, with no merging, so a
/// crate-level file (gslb-model's clock ban, gslb-dns's `Mutex` ban) would silently drop the
/// workspace bans. Every crate-level `clippy.toml` repeats each banned path of the workspace
/// one, and the crate-level bans STYLE.md asks for are in place.
#[test]
fn crate_clippy_configs_keep_the_workspace_bans() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let banned_paths = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.split_once("path = \"").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_once('"').map(|(path, _)| path.to_string()))
            .collect()
    };
    let workspace = std::fs::read_to_string(root.join("clippy.toml")).expect("clippy.toml");
    let workspace_bans = banned_paths(&workspace);
    assert!(
        workspace_bans
            .iter()
            .any(|path| path == "std::env::set_var"),
        "the workspace clippy.toml lost its set_var ban: {workspace_bans:?}"
    );
    let mut crate_configs = 0;
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let config = entry.path().join("clippy.toml");
        let Ok(text) = std::fs::read_to_string(&config) else {
            continue;
        };
        crate_configs += 1;
        let bans = banned_paths(&text);
        for path in &workspace_bans {
            assert!(
                bans.contains(path),
                "{} does not repeat the workspace ban of {path}",
                config.display()
            );
        }
    }
    assert!(
        crate_configs >= 2,
        "found {crate_configs} crate clippy.toml files"
    );
    for (config, path) in [
        ("gslb-model/clippy.toml", "std::time::SystemTime::now"),
        ("gslb-model/clippy.toml", "std::time::Instant::now"),
        ("gslb-dns/clippy.toml", "std::sync::Mutex"),
    ] {
        let text = std::fs::read_to_string(root.join(config)).unwrap_or_default();
        assert!(
            banned_paths(&text).iter().any(|banned| banned == path),
            "{config} must ban {path}"
        );
    }
}

/// Where a parser of ours is fuzzed: by a `gslb-fuzz` target that reaches it, or nowhere, for
/// the reason given.
enum Fuzzed {
    /// A target of `gslb_fuzz::TARGETS` (a `fuzz/fuzz_targets/*.rs` file) reaches it.
    By(&'static str),
    /// Not fuzzed, and why that is acceptable.
    Not(&'static str),
}

/// Every parser we own (a `pub`/`pub(crate)` function named `parse*`, `decode*` or
/// `from_wire` outside tests, plus the wire readers named otherwise), by file and function,
/// with the fuzz target that reaches it. A new parser must be added here: given a target
/// (usually a seed or a selector in an existing one), or a reason it needs none.
const PARSERS: &[(&str, &str, Fuzzed)] = &[
    // DNS wire input, from anyone on the network.
    (
        "gslb-dns/src/responder.rs",
        "respond",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/wire/query.rs",
        "parse",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/wire/query.rs",
        "parse_into",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/wire/name.rs",
        "parse",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/wire/name.rs",
        "parse_into",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/wire/name.rs",
        "from_wire",
        Fuzzed::By("dns_packet"),
    ),
    (
        "gslb-dns/src/transfer/mod.rs",
        "is_transfer_request",
        Fuzzed::By("zone_transfer"),
    ),
    (
        "gslb-dns/src/slow/tsig.rs",
        "find_tsig",
        Fuzzed::By("update_tsig"),
    ),
    (
        "gslb-dns/src/slow/tsig.rs",
        "verify_request",
        Fuzzed::By("update_tsig"),
    ),
    (
        "gslb-dns/src/slow/update.rs",
        "decode_update",
        Fuzzed::By("update_tsig"),
    ),
    (
        "gslb-dns/src/net/proxy.rs",
        "parse_proxy_header",
        Fuzzed::Not("the PROXY v2 header is read by the ppp crate; this maps its result"),
    ),
    (
        "gslb-dns/src/memory.rs",
        "parse",
        Fuzzed::Not("reads /proc/self/status, which the kernel writes"),
    ),
    // Zone files and RDATA text: imports, the REST API's records.
    (
        "gslb-model/src/zonefile/mod.rs",
        "parse_zone",
        Fuzzed::By("zone_file"),
    ),
    (
        "gslb-model/src/zonefile/mod.rs",
        "parse_zone_with_warnings",
        Fuzzed::By("zone_file"),
    ),
    (
        "gslb-model/src/zonefile/parser.rs",
        "parse",
        Fuzzed::By("zone_file"),
    ),
    (
        "gslb-model/src/zonefile/parser.rs",
        "parse_ttl",
        Fuzzed::By("zone_file"),
    ),
    (
        "gslb-model/src/zonefile/parser.rs",
        "parse_duration",
        Fuzzed::By("zone_file"),
    ),
    (
        "gslb-model/src/zonefile/rdata.rs",
        "parse_rdata",
        Fuzzed::By("rdata"),
    ),
    (
        "gslb-model/src/zonefile/rdata.rs",
        "decode_string",
        Fuzzed::By("rdata"),
    ),
    (
        "gslb-model/src/model/generic.rs",
        "parse_generic",
        Fuzzed::By("rdata"),
    ),
    (
        "gslb-model/src/model/generic.rs",
        "from_wire",
        Fuzzed::By("rdata"),
    ),
    ("gslb-model/src/model/loc.rs", "parse", Fuzzed::By("rdata")),
    (
        "gslb-model/src/model/loc.rs",
        "from_wire",
        Fuzzed::By("rdata"),
    ),
    (
        "gslb-model/src/model/svcb.rs",
        "parse_param",
        Fuzzed::By("rdata"),
    ),
    (
        "gslb-model/src/model/base64_text.rs",
        "decode",
        Fuzzed::By("rdata"),
    ),
    // Files and small fields of user input.
    ("gslb-model/src/backup.rs", "decode", Fuzzed::By("backup")),
    (
        "gslb-model/src/duration.rs",
        "parse_duration",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/ip.rs",
        "parse_host_or_network",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/name.rs",
        "parse_absolute",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/name.rs",
        "parse_relative_to",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/tsig_key.rs",
        "parse_spec",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/tsig_key.rs",
        "parse_key_name",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/tsig_key.rs",
        "decode_base64",
        Fuzzed::By("text_fields"),
    ),
    (
        "gslb-model/src/model/transfer.rs",
        "parse_notify_target",
        Fuzzed::By("text_fields"),
    ),
    // `CompareOp::parse` and `JsonCondition::parse`.
    (
        "gslb-model/src/model/check.rs",
        "parse",
        Fuzzed::By("text_fields"),
    ),
    // Thin wrappers in the API and the root package over the model's fuzzed parsers, and
    // readers of the operator's own files.
    (
        "gslb-api/src/dto/network.rs",
        "parse_cidr",
        Fuzzed::Not("wraps the model's Cidr parser (text_fields)"),
    ),
    (
        "gslb-api/src/dto/zone.rs",
        "parse_apex",
        Fuzzed::Not("wraps DomainName::parse_absolute (text_fields)"),
    ),
    (
        "gslb-api/src/dto/record.rs",
        "parse",
        Fuzzed::Not("a match of a type name against a fixed list"),
    ),
    (
        "gslb-api/src/extract.rs",
        "parse_json",
        Fuzzed::Not("serde_json's parser; schemathesis drives the routes' bodies"),
    ),
    (
        "gslb-api/src/routes/events.rs",
        "parse_since",
        Fuzzed::Not("chrono's RFC 3339 parser, else the model's parse_duration (text_fields)"),
    ),
    (
        "src/config/duration.rs",
        "parse_duration",
        Fuzzed::Not("wraps gslb_model::duration::parse_duration (text_fields)"),
    ),
    (
        "src/config/mod.rs",
        "parse",
        Fuzzed::Not("the operator's own config file, read by toml and checked key by key"),
    ),
    (
        "src/bin/gslbctl/ctl.rs",
        "parse_apex",
        Fuzzed::Not("wraps DomainName::parse_absolute (text_fields)"),
    ),
    (
        "src/bin/gslbctl/ctl.rs",
        "parse_document",
        Fuzzed::Not("the operator's own file, read by serde_norway/serde_json"),
    ),
    (
        "src/bin/gslbctl/ctl.rs",
        "parse_one_or_many",
        Fuzzed::Not("the operator's own file, read by serde_norway/serde_json"),
    ),
];

/// `(file, function)` of every `pub`/`pub(crate)` function named `parse*`, `decode*` or
/// `from_wire` in the non-test code of the workspace's crates.
fn parser_functions(root: &Path) -> std::collections::BTreeSet<(String, String)> {
    let mut files = Vec::new();
    for dir in [
        "src",
        "gslb-model/src",
        "gslb-dns/src",
        "gslb-store/src",
        "gslb-api/src",
        "gslb-prober/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = std::collections::BTreeSet::new();
    for path in files {
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        if relative.ends_with("/tests.rs") || relative.contains("/tests/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
        {
            let line = line.trim_start();
            let Some(rest) = line
                .strip_prefix("pub fn ")
                .or_else(|| line.strip_prefix("pub(crate) fn "))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.starts_with("parse") || name.starts_with("decode") || name == "from_wire" {
                found.insert((relative.clone(), name));
            }
        }
    }
    found
}

/// Every parser we own is fuzzed by a target of `gslb-fuzz` (which `cargo test` runs over
/// seeds, and `fuzz/` wraps for cargo-fuzz), or says why not: `PARSERS` names each, and a
/// new one fails here until it is added. Each listed function still exists where listed, and
/// each target named exists.
#[test]
fn every_parser_we_own_has_a_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let targets: Vec<String> = std::fs::read_dir(root.join("gslb-fuzz/src"))
        .expect("gslb-fuzz/src")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            text.contains("pub fn run(data: &[u8]) -> Outcome")
                .then(|| name.trim_end_matches(".rs").to_string())
        })
        .collect();
    assert!(targets.len() >= 5, "found fuzz targets {targets:?}");
    let mut problems = Vec::new();
    for (file, function, fuzzed) in PARSERS {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        if !text.contains(&format!("fn {function}(")) && !text.contains(&format!("fn {function}<"))
        {
            problems.push(format!("{file} has no fn {function}: update PARSERS"));
        }
        match fuzzed {
            Fuzzed::By(target) if !targets.iter().any(|name| name == target) => {
                problems.push(format!("{file} {function}: no fuzz target {target}"))
            }
            Fuzzed::Not(reason) if reason.len() < 20 => {
                problems.push(format!("{file} {function}: say why it is not fuzzed"))
            }
            _ => {}
        }
    }
    for (file, function) in parser_functions(root) {
        if !PARSERS
            .iter()
            .any(|(listed, name, _)| *listed == file && *name == function)
        {
            problems.push(format!(
                "{file} {function} is a parser with no fuzz target: add it to PARSERS in \
                 tests/tidy.rs, reached by a gslb-fuzz target (or with the reason it needs none)"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
