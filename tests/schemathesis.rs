//! Fuzzes the live REST API against its own OpenAPI document with schemathesis (PyPI): a
//! one-voter `gslb serve` is started and every route of `/openapi.json` is driven with
//! generated requests; the run fails on any 5xx, a response that violates the schema, a wrong
//! status code or content type, or a server panic (`gslb-api/scripts/schemathesis.sh`).
//!
//! Needs python3 and either `SCHEMATHESIS_VENV` (a venv with schemathesis, as `.ci/run`
//! prepares) or PyPI to fill a fresh one. The budget is `SCHEMATHESIS_SECONDS` (default 60).

use std::path::Path;
use std::process::Command;

/// The whole API survives schemathesis with no server error and no schema violation.
#[test]
fn the_api_conforms_to_its_openapi_document_under_fuzzing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seconds = std::env::var("SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "60".to_string());
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
