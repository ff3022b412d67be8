//! Black-box test of the web console (`GET /ui`) in a real browser: headless Chromium driven
//! through chromedriver by Python selenium (`tests/console_browser.py`) against `gslb demo`
//! logs in with a token, sees the three regions and the health matrix, drains eu-west (the
//! confirmation accepted), sees it drained in the regions table and the matrix and the
//! override in the event history, opens every page and undrains; a screenshot of each page
//! lands in the test's temp dir (copied to `CONSOLE_SCREENSHOTS_DIR` when set).
//!
//! Needs Debian `chromium` and `chromium-driver`, and python3 with either
//! `CONSOLE_BROWSER_VENV` (a venv with selenium, as `.ci/run` prepares) or PyPI to fill a
//! fresh one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::demo::Demo;
use common::TempDir;

const TOKEN: &str = "console-test-token-0123";
/// Long enough for the demo's cluster on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(120);
/// The pages the browser script photographs.
const SCREENSHOTS: [&str; 8] = [
    "login",
    "health",
    "health-drained",
    "events",
    "records",
    "zones",
    "drills",
    "cluster",
];

/// The venv with selenium: `CONSOLE_BROWSER_VENV`, or one made under `root`.
fn selenium_python(root: &TempDir) -> PathBuf {
    let venv = std::env::var_os("CONSOLE_BROWSER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.0.join("venv"));
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv");
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "selenium"])
            .status()
            .unwrap();
        assert!(installed.success(), "pip install selenium");
    }
    python
}

/// Whether `path` is a non-empty PNG file.
fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"))
}

/// What does this test do: starts the demo, checks that `/ui` is served without a token
/// with a Content-Security-Policy, runs `tests/console_browser.py` in headless Chromium
/// (log in, three regions, drain eu-west, matrix and event history change, every page,
/// undrain) and expects it to succeed and to have written a PNG per page.
#[test]
fn the_console_shows_the_demo_and_drains_a_region_in_a_real_browser() {
    let root = TempDir::new("console");
    let demo = Demo::start(&root, TOKEN, CONVERGE);
    let api = demo.api();

    let page = Command::new("curl")
        .args(["-sS", "-D", "-", &format!("{api}/ui")])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-security-policy: default-src 'none'"));
    assert!(page.contains("/ui/console.js"), "{page}");

    let shots = root.0.join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let python = selenium_python(&root);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console_browser.py");
    let output = Command::new(python)
        .arg(script)
        .args([api.as_str(), TOKEN])
        .arg(&shots)
        .arg("eu-west")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(output.status.success(), "the browser run failed:\n{stderr}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    for name in SCREENSHOTS {
        let path = shots.join(format!("console-{name}.png"));
        assert!(is_png(&path), "screenshot {}", path.display());
    }
    if let Some(keep) = std::env::var_os("CONSOLE_SCREENSHOTS_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        for name in SCREENSHOTS {
            let file = format!("console-{name}.png");
            std::fs::copy(shots.join(&file), Path::new(&keep).join(&file)).unwrap();
        }
    }
}
