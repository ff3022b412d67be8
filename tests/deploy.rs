//! Black-box checks of `deploy/`: every Kubernetes manifest (each kustomization rendered:
//! the base, the control plane, the region overlays and the backend examples) validates
//! against the Kubernetes schemas in strict mode, every gslb node config (the examples, the
//! ones the ConfigMaps carry and the systemd ones) passes `gslb check-config`, the systemd
//! units pass `systemd-analyze verify` without a diagnostic, and a spurious key added to any
//! of them is rejected, which proves each validator would catch a mistake.
//!
//! The schema validator is `kubernetes-validate` from PyPI (it bundles the schemas and works
//! offline), in a venv at `KUBERNETES_VALIDATE_VENV`, by default
//! `$HOME/.cache/gslb-kubernetes-validate`, which `.ci/run` prepares; without it the test
//! creates the venv itself and fails with the reason when it cannot.
//!
//! Overlays are rendered by `render` below, a small kustomize that implements exactly the
//! features `deploy/kubernetes` uses (`resources`, `namespace`, `configMapGenerator` with
//! `files` and no name hash, JSON 6902 `patches` with a kind/name target) and refuses any
//! other key, so a manifest cannot use a feature it would silently ignore. Where `kubectl`
//! is installed, its built-in kustomize renders every kustomization too and must produce
//! the same objects.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The binary under test.
const GSLB: &str = env!("CARGO_BIN_EXE_gslb");

/// The workspace root.
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Schemas checked: the oldest Kubernetes the manifests support (mixed-protocol
/// LoadBalancer Services are GA since 1.26, the sleep preStop action is not used) and the
/// newest the validator bundles.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

/// The validator, pinned so a new release cannot change the verdict unseen.
const VALIDATOR_PACKAGE: &str = "kubernetes-validate==1.37.0";

/// The key added to prove each validator rejects what it does not know.
const SPURIOUS: &str = "gslb_spurious_key";

/// Kinds that live outside any namespace (kustomize's `namespace` leaves them alone).
const CLUSTER_SCOPED: [&str; 5] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "StorageClass",
];

/// Every rendered kustomization validates against the Kubernetes schemas, unknown fields
/// rejected.
#[test]
fn every_kubernetes_manifest_validates_strictly() {
    let scratch = tempfile::tempdir().unwrap();
    let rendered = render_all();
    for (dir, documents) in &rendered {
        eprintln!("-- {}: {} object(s)", relative(dir), documents.len());
        assert!(!documents.is_empty(), "{} renders nothing", relative(dir));
        let file = write_documents(scratch.path(), documents, &format!("{}.yaml", slug(dir)));
        for version in KUBERNETES_VERSIONS {
            let output = validate(&file, version);
            assert!(
                output.status.success(),
                "{} does not validate against Kubernetes {version}:\n{}",
                relative(dir),
                text(&output)
            );
        }
    }
}

/// One spurious field in any object makes the validator refuse that object: one error per
/// object, each naming the field.
#[test]
fn a_spurious_field_in_any_manifest_is_rejected() {
    let mut objects = BTreeMap::new();
    for documents in render_all().values() {
        for document in documents {
            objects.insert(object_key(document), document.clone());
        }
    }
    let mutated: Vec<Value> = objects
        .values()
        .map(|document| {
            let mut document = document.clone();
            insert_spurious_field(&mut document);
            document
        })
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let file = write_documents(scratch.path(), &mutated, "spurious.yaml");
    let output = validate(&file, KUBERNETES_VERSIONS[1]);
    let report = text(&output);
    assert!(!output.status.success(), "accepted:\n{report}");
    let rejected = report
        .lines()
        .filter(|line| line.contains("ERROR") && line.contains(SPURIOUS))
        .count();
    assert_eq!(
        rejected,
        mutated.len(),
        "every one of the {} objects must be refused for {SPURIOUS}:\n{report}",
        mutated.len()
    );
}

/// Every YAML file under `deploy/kubernetes` is a resource of some kustomization, and every
/// TOML file is in a ConfigMap generator: nothing there escapes the checks above.
#[test]
fn every_manifest_and_config_file_is_rendered() {
    let base = deploy().join("kubernetes");
    let mut referenced = BTreeSet::new();
    for dir in kustomization_dirs() {
        let kustomization = read_yaml_documents(&dir.join("kustomization.yaml"));
        let kustomization = &kustomization[0];
        for resource in strings(kustomization.get("resources")) {
            referenced.insert(canonical(&dir.join(resource)));
        }
        for generator in list(kustomization.get("configMapGenerator")) {
            for file in strings(generator.get("files")) {
                referenced.insert(canonical(&dir.join(file)));
            }
        }
    }
    for file in files_under(&base) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let checked = name == "kustomization.yaml"
            || !(name.ends_with(".yaml") || name.ends_with(".toml"))
            || referenced.contains(&canonical(&file));
        assert!(checked, "{} is in no kustomization", relative(&file));
    }
}

/// The rendered objects agree with gslb's own rules: each StatefulSet pod finds its config
/// (`/etc/gslb/config/$(POD_NAME).toml`) in the ConfigMap it mounts, node ids are unique
/// across every region, and every LoadBalancer Service keeps the client's address
/// (`externalTrafficPolicy: Local`).
#[test]
fn statefulset_pods_have_their_configs_and_unique_node_ids() {
    let mut node_ids: BTreeMap<i64, String> = BTreeMap::new();
    for (dir, documents) in render_all() {
        let config_maps: BTreeMap<String, &Value> = documents
            .iter()
            .filter(|document| document["kind"] == "ConfigMap")
            .map(|document| (name_of(document), document))
            .collect();
        for document in &documents {
            match document["kind"].as_str() {
                Some("StatefulSet") => {
                    let Some(config_map) = mounted_config_map(document) else {
                        continue;
                    };
                    let Some(config_map) = config_maps.get(&config_map) else {
                        // A base rendered alone: its overlay supplies the ConfigMap.
                        continue;
                    };
                    let name = name_of(document);
                    for ordinal in 0..document["spec"]["replicas"].as_i64().unwrap() {
                        let key = format!("{name}-{ordinal}.toml");
                        assert!(
                            config_map["data"].get(&key).is_some(),
                            "{}: pod {name}-{ordinal} has no {key}",
                            relative(&dir)
                        );
                    }
                }
                Some("Service") if document["spec"]["type"] == "LoadBalancer" => {
                    assert_eq!(
                        document["spec"]["externalTrafficPolicy"],
                        "Local",
                        "{}: {} must keep the client's address",
                        relative(&dir),
                        name_of(document)
                    );
                }
                _ => {}
            }
        }
        // The region overlays together are the whole cluster (the bases are parts of them).
        if !relative(&dir).starts_with("deploy/kubernetes/overlays/") {
            continue;
        }
        for config_map in config_maps.values() {
            let data = config_map["data"].as_object().unwrap();
            for (key, config) in data.iter().filter(|(key, _)| key.ends_with(".toml")) {
                let config: toml::Table = toml::from_str(config.as_str().unwrap()).unwrap();
                let id = config["control"]["node_id"].as_integer().unwrap();
                let place = format!("{} {key}", relative(&dir));
                let unique = match node_ids.get(&id) {
                    Some(earlier) => earlier == &place,
                    None => true,
                };
                assert!(unique, "node id {id} in {place} and {}", node_ids[&id]);
                node_ids.insert(id, place);
            }
        }
    }
    assert!(node_ids.len() >= 15, "node ids seen: {node_ids:?}");
}

/// Where `kubectl` is installed, its kustomize renders every kustomization to the same
/// objects as `render`.
#[test]
fn the_renderer_agrees_with_kubectl_kustomize() {
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        eprintln!("kubectl not installed: the renderer is not cross-checked on this machine");
        return;
    }
    for (dir, ours) in render_all() {
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let theirs = parse_yaml_documents(&String::from_utf8_lossy(&output.stdout));
        let by_key = |documents: &[Value]| -> BTreeMap<String, Value> {
            documents
                .iter()
                .map(|document| (object_key(document), document.clone()))
                .collect()
        };
        assert_eq!(
            by_key(&ours),
            by_key(&theirs),
            "render and kubectl kustomize differ for {}",
            relative(&dir)
        );
    }
}

/// Every gslb config in `deploy/` passes `gslb check-config`: the examples, those in the
/// Kubernetes ConfigMaps (with the Secret's files beside them, as the pods mount them) and
/// the systemd ones (with their credentials where systemd puts them).
#[test]
fn every_gslb_config_passes_check_config() {
    let scratch = tempfile::tempdir().unwrap();
    let configs = gslb_configs(scratch.path());
    assert!(configs.len() >= 20, "configs found: {}", configs.len());
    for config in &configs {
        let output = check_config(&config.path);
        assert!(
            output.status.success() && text(&output).contains("config ok"),
            "{}: {}",
            config.label,
            text(&output)
        );
    }
}

/// A spurious key in any table of any gslb config is refused, with its line.
#[test]
fn a_spurious_key_in_any_gslb_config_is_rejected() {
    let scratch = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for config in gslb_configs(scratch.path()) {
        let original = std::fs::read_to_string(&config.path).unwrap();
        for (table, mutated) in with_spurious_key(&original) {
            std::fs::write(&config.path, &mutated).unwrap();
            let output = check_config(&config.path);
            let report = text(&output);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{} accepted {SPURIOUS} in {table}:\n{report}",
                config.label
            );
            assert!(
                report.contains(&format!("unknown field `{SPURIOUS}`")),
                "{} {table}: {report}",
                config.label
            );
            cases += 1;
        }
        std::fs::write(&config.path, &original).unwrap();
    }
    assert!(cases >= 60, "only {cases} mutations tried");
}

/// The systemd units pass `systemd-analyze verify` without a single diagnostic, score at
/// most 2.0 (of 10) in `systemd-analyze security`, and an unknown directive makes verify speak.
#[test]
fn systemd_units_verify_cleanly_and_unknown_keys_are_caught() {
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        analyze.is_ok_and(|output| output.status.success()),
        "systemd-analyze is missing: install the Debian package systemd (.ci/run does)"
    );
    let units: Vec<PathBuf> = files_under(&deploy().join("systemd"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "service"))
        .collect();
    assert_eq!(
        units.len(),
        3,
        "a voter, a DNS node and a prober: {units:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    for unit in units {
        let name = unit.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read_to_string(&unit).unwrap();
        assert!(
            original.contains("ExecStart=/usr/local/bin/gslb serve --config /etc/gslb/"),
            "{name}: runs gslb serve"
        );
        // verify insists that ExecStart's binary exists: point it at the one under test.
        let runnable = original.replace("/usr/local/bin/gslb", GSLB);
        let copy = dir.path().join(&name);
        std::fs::write(&copy, &runnable).unwrap();
        let output = systemd_verify(&copy);
        assert!(
            output.status.success() && text(&output).trim().is_empty(),
            "{name}: {}",
            text(&output)
        );
        // The hardening holds: systemd's own exposure score (0 safest, 10 worst) stays at
        // most 2.0; the units score 1.6-1.8 with systemd 252, and dropping ProtectSystem,
        // ProtectHome, PrivateDevices and the system call filter raises it past 4.
        let output = Command::new("systemd-analyze")
            .args(["security", "--offline=yes"])
            .arg(&copy)
            .output()
            .unwrap();
        let report = text(&output);
        let verdict = report
            .lines()
            .find(|line| line.contains("Overall exposure level"))
            .unwrap_or_default();
        let score: f64 = verdict
            .split(": ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|score| score.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no exposure score in:\n{report}"));
        assert!(score <= 2.0, "{name}: exposure {score} > 2.0\n{report}");
        let spurious = runnable.replacen("[Service]\n", "[Service]\nGslbSpuriousKey=1\n", 1);
        assert_ne!(spurious, runnable, "{name} has a [Service] section");
        std::fs::write(&copy, &spurious).unwrap();
        let output = systemd_verify(&copy);
        assert!(
            text(&output).contains("Unknown key 'GslbSpuriousKey'"),
            "{name}: the spurious key went unnoticed: {}",
            text(&output)
        );
    }
}

/// The Containerfile cannot be built here (no container engine): check what can be read,
/// that both binaries are built in one stage and copied into a Debian slim image that runs
/// as a non-root user.
#[test]
fn the_containerfile_builds_both_binaries_and_runs_as_non_root() {
    let file = std::fs::read_to_string(deploy().join("Containerfile")).unwrap();
    let instructions: Vec<&str> = file
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = instructions
        .iter()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(
        froms.last().unwrap().contains("debian:") && froms.last().unwrap().contains("slim"),
        "runs on Debian slim: {froms:?}"
    );
    assert!(
        file.contains("cargo build --release --locked") && file.contains("--bin gslbctl"),
        "builds both binaries, locked"
    );
    for binary in ["gslb", "gslbctl"] {
        assert!(
            instructions
                .iter()
                .any(|line| line.starts_with("COPY --from=")
                    && line.contains(&format!("/target/release/{binary} "))),
            "copies {binary} from the build stage"
        );
    }
    let user = instructions
        .iter()
        .rev()
        .find(|line| line.starts_with("USER "))
        .expect("a USER line");
    assert!(
        !user.contains("root") && !user.ends_with(" 0") && !user.contains(" 0:"),
        "{user}"
    );
}

/// One gslb config to check, laid out as it would be on a node.
struct GslbConfig {
    /// Where it comes from, for messages.
    label: String,
    /// Its copy in the layout it expects.
    path: PathBuf,
}

/// Every gslb config under `deploy/`, each copied into a temporary layout that holds what
/// it reads: the examples with their zone file; each ConfigMap entry in `config/` with the
/// Secret's files in `secret/` (the pods' mounts); the systemd configs with their
/// credentials (paths under `/run/credentials/` move into the temporary root).
fn gslb_configs(root: &Path) -> Vec<GslbConfig> {
    let mut configs = Vec::new();

    let examples = root.join("examples");
    std::fs::create_dir_all(&examples).unwrap();
    for file in files_under(&deploy().join("examples")) {
        let copy = examples.join(file.file_name().unwrap());
        std::fs::copy(&file, &copy).unwrap();
        if copy.extension().is_some_and(|ext| ext == "toml") {
            configs.push(GslbConfig {
                label: relative(&file),
                path: copy,
            });
        }
    }

    let mut seen = BTreeSet::new();
    for (dir, documents) in render_all() {
        for document in documents
            .iter()
            .filter(|document| document["kind"] == "ConfigMap")
        {
            let Some(data) = document["data"].as_object() else {
                continue;
            };
            for (key, value) in data.iter().filter(|(key, _)| key.ends_with(".toml")) {
                let label = format!("{} ConfigMap {} {key}", relative(&dir), name_of(document));
                let place = root.join("kubernetes").join(slug(&dir));
                if !seen.insert((slug(&dir), key.clone())) {
                    continue;
                }
                write_secrets(&place.join("secret"));
                let path = place.join("config").join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, value.as_str().unwrap()).unwrap();
                configs.push(GslbConfig { label, path });
            }
        }
    }

    let systemd = root.join("systemd");
    std::fs::create_dir_all(&systemd).unwrap();
    for file in files_under(&deploy().join("systemd")) {
        if file.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let credentials = root.join("run/credentials");
        for unit in [
            "gslb-voter.service",
            "gslb-dns.service",
            "gslb-prober.service",
        ] {
            write_secrets(&credentials.join(unit));
        }
        let moved = text.replace(
            "\"/run/credentials/",
            &format!("\"{}/", credentials.display()),
        );
        let copy = systemd.join(file.file_name().unwrap());
        std::fs::write(&copy, moved).unwrap();
        configs.push(GslbConfig {
            label: relative(&file),
            path: copy,
        });
    }
    configs
}

/// The Secret's files as the pods (and systemd credentials) provide them.
fn write_secrets(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, value) in [
        (
            "cluster-secret",
            "a-cluster-secret-of-at-least-16-characters\n",
        ),
        ("api-token", "admin-token-for-tests\n"),
        ("prober-token", "prober-token-for-tests\n"),
    ] {
        std::fs::write(dir.join(name), value).unwrap();
    }
}

/// `text` with `gslb_spurious_key = true` added to one table at a time: at the top (the
/// root table) and on the line after each table header (`[dns.tcp]`, `[[zones]]`), as
/// (table, text).
fn with_spurious_key(text: &str) -> Vec<(String, String)> {
    let line = format!("{SPURIOUS} = true\n");
    let mut variants = vec![("root".to_string(), format!("{line}{text}"))];
    let mut offset = 0;
    for header in text.split_inclusive('\n') {
        offset += header.len();
        let trimmed = header.trim();
        if trimmed.starts_with('[') {
            let table = trimmed.split('#').next().unwrap_or(trimmed).trim();
            let mut mutated = text.to_string();
            mutated.insert_str(offset, &line);
            variants.push((table.to_string(), mutated));
        }
    }
    variants
}

/// Runs `gslb check-config` on `path`.
fn check_config(path: &Path) -> Output {
    Command::new(GSLB)
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap()
}

fn systemd_verify(unit: &Path) -> Output {
    Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .unwrap()
}

/// Adds `gslb_spurious_key` where the schema is strict and the mistake plausible: in the
/// first container of a pod template, else in `spec`, else at the top.
fn insert_spurious_field(document: &mut Value) {
    let container = document
        .pointer_mut("/spec/template/spec/containers/0")
        .and_then(Value::as_object_mut);
    if let Some(container) = container {
        container.insert(SPURIOUS.to_string(), Value::Bool(true));
        return;
    }
    if let Some(spec) = document.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert(SPURIOUS.to_string(), Value::Bool(true));
        return;
    }
    document
        .as_object_mut()
        .unwrap()
        .insert(SPURIOUS.to_string(), Value::Bool(true));
}

/// Runs the schema validator on `file` against Kubernetes `version`, strict.
fn validate(file: &Path, version: &str) -> Output {
    Command::new(validator())
        .args(["--strict", "--kubernetes-version", version])
        .arg(file)
        .output()
        .unwrap()
}

/// The `kubernetes-validate` executable, creating its venv once when it is missing.
fn validator() -> PathBuf {
    static VALIDATOR: OnceLock<PathBuf> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            common::python_venv(
                "KUBERNETES_VALIDATE_VENV",
                "gslb-kubernetes-validate",
                &["kubernetes-validate"],
                &[VALIDATOR_PACKAGE],
            )
            .join("bin/kubernetes-validate")
        })
        .clone()
}

/// Every kustomization under `deploy/kubernetes`, rendered (once per test process).
fn render_all() -> BTreeMap<PathBuf, Vec<Value>> {
    static RENDERED: OnceLock<BTreeMap<PathBuf, Vec<Value>>> = OnceLock::new();
    RENDERED
        .get_or_init(|| {
            kustomization_dirs()
                .into_iter()
                .map(|dir| {
                    let documents = render(&dir);
                    (dir, documents)
                })
                .collect()
        })
        .clone()
}

fn kustomization_dirs() -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = files_under(&deploy().join("kubernetes"))
        .into_iter()
        .filter(|file| {
            file.file_name()
                .is_some_and(|name| name == "kustomization.yaml")
        })
        .map(|file| file.parent().unwrap().to_path_buf())
        .collect();
    assert!(dirs.len() >= 9, "kustomizations: {dirs:?}");
    dirs
}

/// Renders the kustomization in `dir`: the subset of kustomize that `deploy/kubernetes`
/// uses, in kustomize's order (resources, generators, patches, then the namespace). Any
/// other key is refused rather than ignored.
fn render(dir: &Path) -> Vec<Value> {
    const SUPPORTED: [&str; 7] = [
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "configMapGenerator",
        "generatorOptions",
        "patches",
    ];
    let kustomization = read_yaml_documents(&dir.join("kustomization.yaml")).remove(0);
    for key in kustomization.as_object().unwrap().keys() {
        assert!(
            SUPPORTED.contains(&key.as_str()),
            "{}: kustomize feature {key:?} is not supported by the test's renderer; \
             extend `render` in tests/deploy.rs or do without it",
            relative(dir)
        );
    }
    let mut documents = Vec::new();
    for resource in strings(kustomization.get("resources")) {
        let path = dir.join(resource);
        if path.is_dir() {
            documents.extend(render(&path));
        } else {
            documents.extend(read_yaml_documents(&path));
        }
    }
    let generators = list(kustomization.get("configMapGenerator"));
    if !generators.is_empty() {
        assert_eq!(
            kustomization["generatorOptions"]["disableNameSuffixHash"],
            true,
            "{}: the renderer does not compute name hashes",
            relative(dir)
        );
    }
    for generator in generators {
        for key in generator.as_object().unwrap().keys() {
            assert!(
                ["name", "files"].contains(&key.as_str()),
                "{}: configMapGenerator.{key} is not supported by the renderer",
                relative(dir)
            );
        }
        let mut data = serde_json::Map::new();
        for file in strings(generator.get("files")) {
            assert!(!file.contains('='), "{file}: key=path is not supported");
            let content = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|error| panic!("{}: {file}: {error}", relative(dir)));
            let key = Path::new(file).file_name().unwrap().to_string_lossy();
            data.insert(key.into_owned(), Value::String(content));
        }
        documents.push(serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": generator["name"]},
            "data": data,
        }));
    }
    for patch in list(kustomization.get("patches")) {
        let target = &patch["target"];
        let operations =
            parse_yaml_documents(patch["patch"].as_str().expect("an inline patch")).remove(0);
        let mut matched = 0;
        for document in documents.iter_mut().filter(|document| {
            document["kind"] == target["kind"] && document["metadata"]["name"] == target["name"]
        }) {
            for operation in operations.as_array().expect("a JSON 6902 patch") {
                apply_operation(document, operation);
            }
            matched += 1;
        }
        assert_eq!(matched, 1, "{}: patch target {target}", relative(dir));
    }
    if let Some(namespace) = kustomization.get("namespace") {
        for document in &mut documents {
            if !CLUSTER_SCOPED.contains(&document["kind"].as_str().unwrap()) {
                document["metadata"]["namespace"] = namespace.clone();
            }
        }
    }
    documents
}

/// Applies one JSON 6902 operation (`add`, `replace`, `remove`).
fn apply_operation(document: &mut Value, operation: &Value) {
    let path = operation["path"].as_str().unwrap();
    let (parent_path, last) = path.rsplit_once('/').unwrap();
    let last = last.replace("~1", "/").replace("~0", "~");
    let parent = document
        .pointer_mut(parent_path)
        .unwrap_or_else(|| panic!("patch path {path} does not exist"));
    match (operation["op"].as_str().unwrap(), parent) {
        ("add", Value::Array(items)) if last == "-" => items.push(operation["value"].clone()),
        ("add", Value::Array(items)) => {
            items.insert(last.parse().unwrap(), operation["value"].clone())
        }
        ("add" | "replace", Value::Object(map)) => {
            map.insert(last, operation["value"].clone());
        }
        ("replace", Value::Array(items)) => {
            items[last.parse::<usize>().unwrap()] = operation["value"].clone()
        }
        ("remove", Value::Array(items)) => {
            items.remove(last.parse().unwrap());
        }
        ("remove", Value::Object(map)) => {
            map.remove(&last).expect("removes an existing key");
        }
        (op, _) => panic!("patch op {op} at {path} is not supported by the renderer"),
    }
}

fn read_yaml_documents(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    parse_yaml_documents(&text)
}

fn parse_yaml_documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|document| !document.is_null())
        .collect()
}

/// Writes `documents` as one multi-document YAML file `name` in `dir`.
fn write_documents(dir: &Path, documents: &[Value], name: &str) -> PathBuf {
    let text: Vec<String> = documents
        .iter()
        .map(|document| serde_norway::to_string(document).unwrap())
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, text.join("---\n")).unwrap();
    path
}

/// The ConfigMap a StatefulSet's pods read their config from (the volume named `config`).
fn mounted_config_map(statefulset: &Value) -> Option<String> {
    statefulset["spec"]["template"]["spec"]["volumes"]
        .as_array()?
        .iter()
        .find(|volume| volume["name"] == "config")
        .and_then(|volume| volume["configMap"]["name"].as_str())
        .map(str::to_string)
}

fn object_key(document: &Value) -> String {
    format!(
        "{}/{}/{}",
        document["kind"].as_str().unwrap_or_default(),
        document["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default(),
        name_of(document)
    )
}

fn name_of(document: &Value) -> String {
    document["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    list(value)
        .iter()
        .map(|item| item.as_str().expect("a string"))
        .collect()
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn deploy() -> PathBuf {
    Path::new(ROOT).join("deploy")
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize()
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `path` relative to the workspace root, for messages.
fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A file-name-safe form of a kustomization directory (`deploy-kubernetes-overlays-us-east`).
fn slug(dir: &Path) -> String {
    relative(dir).replace('/', "-")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
