//! Fuzzes the live REST API against its own OpenAPI document with schemathesis (PyPI) and
//! every check it has (`--checks all`): a one-voter `gslb serve` with one zone is started and
//! every route of `/openapi.json` is driven with generated requests, valid and invalid; the
//! run fails on any 5xx, a response that violates the schema, a wrong status code or content
//! type, a schema-valid request rejected, a schema-violating request accepted, or a server
//! panic (`gslb-api/scripts/schemathesis.sh`; `schemathesis.toml` beside it says which 422s a
//! valid write may get and why).
//!
//! Needs python3 and either `SCHEMATHESIS_VENV` (a venv with schemathesis, as `.ci/run`
//! prepares) or PyPI to fill a fresh one. The budget is `SCHEMATHESIS_SECONDS` (default 150:
//! the coverage phase alone takes about a minute on a loaded machine).

use std::path::Path;
use std::process::Command;

/// The whole API survives schemathesis with all checks: no server error, no schema
/// violation, no valid request refused, no invalid one accepted.
#[test]
fn the_api_conforms_to_its_openapi_document_under_fuzzing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seconds = std::env::var("SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "150".to_string());
    let output = Command::new("bash")
        .arg(root.join("gslb-api/scripts/schemathesis.sh"))
        .arg(&seconds)
        .env("GSLB_BIN", env!("CARGO_BIN_EXE_gslb"))
        .output()
        .expect("bash runs gslb-api/scripts/schemathesis.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems (exit {:?}):\n{stdout}\n{stderr}",
        output.status.code()
    );
    assert!(
        stdout.contains("passed") || stdout.contains("Passed") || stdout.contains("cases"),
        "schemathesis printed no summary; did it run?\n{stdout}"
    );
}
