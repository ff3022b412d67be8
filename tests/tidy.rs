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
/// `from_wire` outside tests, plus the wire readers named otherwise), one a line: `FILE
/// FUNCTION by TARGET` (the fuzz target that reaches it) or `FILE FUNCTION not REASON`;
/// `#` lines group them. A new parser must be added here: given a target (usually a seed or a
/// selector in an existing one), or a reason it needs none.
const PARSERS: &str = "
# DNS wire input, from anyone on the network.
gslb-dns/src/responder.rs           respond                  by dns_packet
gslb-dns/src/wire/query.rs          parse                    by dns_packet
gslb-dns/src/wire/query.rs          parse_into               by dns_packet
gslb-dns/src/wire/name.rs           parse                    by dns_packet
gslb-dns/src/wire/name.rs           parse_into               by dns_packet
gslb-dns/src/wire/name.rs           from_wire                by dns_packet
gslb-dns/src/transfer/mod.rs        is_transfer_request      by zone_transfer
gslb-dns/src/slow/tsig.rs           find_tsig                by update_tsig
gslb-dns/src/slow/tsig.rs           verify_request           by update_tsig
gslb-dns/src/slow/update.rs         decode_update            by update_tsig
gslb-dns/src/net/proxy.rs           parse_proxy_header       not the PROXY v2 header is read by the ppp crate; this maps its result
gslb-model/src/memory.rs            parse                    not reads /proc/self/status, which the kernel writes
# Zone files and RDATA text: imports, the REST API's records.
gslb-model/src/zonefile/mod.rs      parse_zone               by zone_file
gslb-model/src/zonefile/mod.rs      parse_zone_with_warnings by zone_file
gslb-model/src/zonefile/parser.rs   parse                    by zone_file
gslb-model/src/zonefile/parser.rs   parse_ttl                by zone_file
gslb-model/src/zonefile/fields.rs   parse_duration           by zone_file
gslb-model/src/zonefile/rdata.rs    parse_rdata              by rdata
gslb-model/src/zonefile/rdata.rs    decode_string            by rdata
gslb-model/src/model/generic.rs     parse_generic            by rdata
gslb-model/src/model/generic.rs     from_wire                by rdata
gslb-model/src/model/loc.rs         parse                    by rdata
gslb-model/src/model/loc.rs         from_wire                by rdata
gslb-model/src/model/svcb.rs        parse_param              by rdata
gslb-model/src/model/base64_text.rs decode                   by rdata
# Files and small fields of user input.
gslb-model/src/backup.rs            decode                   by backup
gslb-model/src/snapshot_codec.rs    decode                   by snapshot
gslb-model/src/command/chunk_codec.rs decode_sets_into       by staged_chunk
gslb-model/src/duration.rs          parse_duration           by text_fields
gslb-model/src/ip.rs                parse_host_or_network    by text_fields
gslb-model/src/model/name.rs        parse_absolute           by text_fields
gslb-model/src/model/name.rs        parse_relative_to        by text_fields
gslb-model/src/model/tsig_key.rs    parse_spec               by text_fields
gslb-model/src/model/tsig_key.rs    parse_key_name           by text_fields
gslb-model/src/model/tsig_key.rs    decode_base64            by text_fields
gslb-model/src/model/transfer.rs    parse_key_name           not checks a length, trims and lowercases: no structure to fuzz
gslb-model/src/model/transfer.rs    parse_notify_target      by text_fields
# `CompareOp::parse` and `JsonCondition::parse`.
gslb-model/src/model/check.rs       parse                    by text_fields
# Thin wrappers in the API and the root package over the model's fuzzed parsers, and
# readers of the operator's own files.
gslb-api/src/dto/network.rs         parse_cidr               not wraps the model's Cidr parser (text_fields)
gslb-api/src/dto/zone.rs            parse_apex               not wraps DomainName::parse_absolute (text_fields)
gslb-api/src/dto/record.rs          parse                    not RecordType::from_mnemonic (the zone_file target reads type names)
gslb-api/src/extract.rs             parse_json               not serde_json's parser; schemathesis drives the routes' bodies
gslb-api/src/routes/events.rs       parse_since              not chrono's RFC 3339 parser, else the model's parse_duration (text_fields)
src/config/duration.rs              parse_duration           not wraps gslb_model::duration::parse_duration (text_fields)
src/config/mod.rs                   parse                    not the operator's own config file, read by toml and checked key by key
src/bin/gslbctl/ctl.rs              parse_apex               not wraps DomainName::parse_absolute (text_fields)
src/bin/gslbctl/ctl.rs              parse_documents          not the operator's own file, read by serde_norway/serde_json
src/bin/gslbctl/apply_input.rs      parse                    not the operator's own file: parse_documents, then serde per item
gslb-model/src/duration.rs          parse_api_duration_ms    by text_fields
gslb-api/src/dto/time.rs            parse_timestamp_ms       not chrono's RFC 3339 parser behind a check for the T
src/bin/gslbctl/ctl.rs              parse_one_or_many        not the operator's own file, read by serde_norway/serde_json
";

/// The lines of `PARSERS` as (file, function, where fuzzed).
fn parsers() -> Vec<(&'static str, &'static str, Fuzzed)> {
    let word = |text: &'static str| {
        let text = text.trim_start();
        text.split_once(char::is_whitespace)
            .map(|(word, rest)| (word, rest.trim_start()))
    };
    PARSERS
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let read = word(line).and_then(|(file, rest)| {
                let (function, rest) = word(rest)?;
                let (kind, rest) = word(rest)?;
                match kind {
                    "by" => Some((file, function, Fuzzed::By(rest.trim_end()))),
                    "not" => Some((file, function, Fuzzed::Not(rest.trim_end()))),
                    _ => None,
                }
            });
            read.unwrap_or_else(|| {
                panic!("PARSERS line {line:?}: FILE FUNCTION by TARGET | not REASON")
            })
        })
        .collect()
}

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
    let parsers = parsers();
    assert!(
        parsers.len() >= 40,
        "PARSERS reads as {} lines",
        parsers.len()
    );
    for (file, function, fuzzed) in &parsers {
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
        if !parsers
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

/// A Rust file's text up to its first `#[cfg(test)]`, without comment lines: what the module
/// itself uses.
fn non_test_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The items of a `{...}` use group (the text after `{`), split at top-level commas.
fn group_items(text: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().unwrap().push(c);
    }
    items
}

/// Every module path `text` names through `crate::` or `super::` (`super` resolved from
/// `file_module`), with a `{...}` group expanded one item deep.
fn named_paths(text: &str, file_module: &[String]) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    for (start, _) in text.match_indices("::") {
        let head_start = text[..start]
            .rfind(|c: char| !ident(c))
            .map_or(0, |at| at + 1);
        let head = &text[head_start..start];
        if (head != "crate" && head != "super") || text[..head_start].ends_with("::") {
            continue;
        }
        let mut segments: Vec<String> = Vec::new();
        let mut rest = &text[head_start..];
        let mut group = None;
        loop {
            let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
            segments.push(rest[..end].to_string());
            rest = &rest[end..];
            match rest.strip_prefix("::") {
                Some(after) if after.starts_with('{') => {
                    group = Some(&after[1..]);
                    break;
                }
                Some(after) => rest = after,
                None => break,
            }
        }
        let mut base = if segments[0] == "crate" {
            segments[1..].to_vec()
        } else {
            let mut module = file_module.to_vec();
            let mut relative = &segments[..];
            while relative.first().is_some_and(|s| s == "super") {
                module.pop();
                relative = &relative[1..];
            }
            module.extend(relative.iter().cloned());
            module
        };
        base.retain(|segment| !segment.is_empty());
        match group {
            None => paths.push(base),
            Some(group) => {
                for item in group_items(group) {
                    let first: String = item.trim().chars().take_while(|c| ident(*c)).collect();
                    if !first.is_empty() && first != "self" {
                        let mut path = base.clone();
                        path.push(first);
                        paths.push(path);
                    }
                }
            }
        }
    }
    paths
}

/// Which sibling modules of `folder` (files and sub-folders, not `mod.rs`/`lib.rs`/`main.rs`)
/// each one names, at `module` inside its crate (`src_root`); names re-exported by the
/// folder's `mod.rs`/`lib.rs` count as the module they come from.
fn sibling_edges(
    folder: &Path,
    module: &[String],
    skip: &[&str],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut children: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if skip.contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            let mut files = Vec::new();
            rust_files(&path, &mut files);
            children.insert(name, files);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if !["mod", "lib", "main"].contains(&stem) {
                children.insert(stem.to_string(), vec![path]);
            }
        }
    }
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    let mut globs = Vec::new();
    for root_file in ["mod.rs", "lib.rs"] {
        let text = non_test_code(&folder.join(root_file));
        for statement in text.split(';') {
            let statement = statement.trim();
            let Some(rest) = statement
                .strip_prefix("pub use ")
                .or_else(|| statement.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.strip_prefix("self::").unwrap_or(rest);
            let Some((child, names)) = rest.split_once("::") else {
                continue;
            };
            if !children.contains_key(child) {
                continue;
            }
            if names.trim() == "*" {
                globs.push(child.to_string());
            }
            for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if !name.is_empty() {
                    reexported
                        .entry(name.to_string())
                        .or_insert_with(|| child.to_string());
                }
            }
        }
    }
    let mut edges = BTreeMap::new();
    for (child, files) in &children {
        let mut targets = BTreeSet::new();
        for file in files {
            let relative = file.strip_prefix(folder).unwrap();
            let mut file_module = module.to_vec();
            for part in relative.with_extension("").iter() {
                file_module.push(part.to_string_lossy().to_string());
            }
            if file_module.last().is_some_and(|last| last == "mod") {
                file_module.pop();
            }
            for path in named_paths(&non_test_code(file), &file_module) {
                if path.len() <= module.len() || path[..module.len()] != *module {
                    continue;
                }
                let next = &path[module.len()];
                let target = if children.contains_key(next) {
                    Some(next.clone())
                } else if let Some(source) = reexported.get(next) {
                    Some(source.clone())
                } else if globs.len() == 1 {
                    Some(globs[0].clone())
                } else {
                    None
                };
                if let Some(target) = target.filter(|target| target != child) {
                    targets.insert(target);
                }
            }
        }
        edges.insert(child.clone(), targets);
    }
    edges
}

/// The strongly connected components of more than one node (Tarjan), each sorted.
fn cycles_of(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    use std::collections::BTreeMap;
    struct Walk<'a> {
        edges: &'a BTreeMap<String, std::collections::BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, node: &'a str) {
        let at = walk.index.len();
        walk.index.insert(node, at);
        walk.low.insert(node, at);
        walk.stack.push(node);
        for next in &walk.edges[node] {
            let next = next.as_str();
            if !walk.index.contains_key(next) {
                visit(walk, next);
                let low = walk.low[node].min(walk.low[next]);
                walk.low.insert(node, low);
            } else if walk.stack.contains(&next) {
                let low = walk.low[node].min(walk.index[next]);
                walk.low.insert(node, low);
            }
        }
        if walk.low[node] == walk.index[node] {
            let mut component = Vec::new();
            while let Some(member) = walk.stack.pop() {
                component.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                walk.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found
}

/// No two sibling modules of a folder use each other, directly or around a loop (STYLE.md:
/// one module one job; a cycle means the shared piece belongs in a module both use). Edges
/// are the `crate::`/`super::` paths of each file's non-test code, re-exports resolved
/// through the folder's `mod.rs`/`lib.rs`.
#[test]
fn no_module_cycles_inside_a_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crate_roots: Vec<(PathBuf, Vec<&str>)> = vec![(root.join("src"), vec!["bin"])];
    for entry in std::fs::read_dir(root.join("src/bin")).unwrap().flatten() {
        if entry.path().is_dir() {
            crate_roots.push((entry.path(), vec![]));
        }
    }
    for krate in [
        "gslb-model",
        "gslb-dns",
        "gslb-store",
        "gslb-api",
        "gslb-prober",
        "gslb-testkit",
        "gslb-fuzz",
    ] {
        crate_roots.push((root.join(krate).join("src"), vec![]));
    }
    let mut found = Vec::new();
    let mut responder_uses_slow = false;
    for (src, skip) in &crate_roots {
        let mut folders = vec![src.clone()];
        while let Some(folder) = folders.pop() {
            let relative = folder.strip_prefix(src).unwrap();
            let module: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().to_string())
                .collect();
            let skip_here: &[&str] = if module.is_empty() { skip } else { &[] };
            let edges = sibling_edges(&folder, &module, skip_here);
            let folder_name = folder.strip_prefix(root).unwrap().display().to_string();
            if folder_name == "gslb-dns/src" {
                responder_uses_slow = edges
                    .get("responder")
                    .is_some_and(|targets| targets.contains("slow"));
            }
            for cycle in cycles_of(&edges) {
                found.push(format!(
                    "{folder_name}: modules {cycle:?} use each other; move what they share \
                     into a module both use"
                ));
            }
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if entry.path().is_dir() && !skip_here.contains(&name.as_str()) {
                    folders.push(entry.path());
                }
            }
        }
    }
    assert!(
        responder_uses_slow,
        "the edge walk is broken: it does not see gslb-dns's responder use slow"
    );
    assert!(found.is_empty(), "{found:#?}");
}

/// The cycle walk itself: in a folder where `a` uses `b` through `super::`, `b` uses `a` and
/// `c` through a `crate::{...}` group and `c` uses `a`, it finds the one loop `a`, `b`, `c`;
/// `d`'s use after `#[cfg(test)]` does not count.
#[test]
fn the_cycle_walk_finds_a_planted_cycle() {
    let folder = tempfile::tempdir().unwrap();
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
        ("a.rs", "use super::b::B;\npub struct A;\n"),
        ("b.rs", "use crate::{a::A, c};\npub struct B;\n"),
        ("c.rs", "use crate::a::A;\n"),
        (
            "d.rs",
            "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(folder.path().join(name), text).unwrap();
    }
    let edges = sibling_edges(folder.path(), &[], &[]);
    assert!(edges["d"].is_empty(), "test code counted: {edges:?}");
    assert_eq!(
        cycles_of(&edges),
        vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]],
        "{edges:?}"
    );
}
