//! `gslb demo` as a fixture: start it on free ports with a token and a data dir, read its
//! banner, and find in it the API address, the exported environment and the backends'
//! control URLs. The demo (and its eleven children) stops when the `Demo` is dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{dns_listen_address, send_signal, wait_exit, TempDir, GSLB};

/// Starts `gslb demo` on a free DNS port and port 0 for the API, with `token` and `dir` as
/// its data dir; its stdout lines arrive on the returned channel.
pub fn spawn_demo(dir: &TempDir, token: &str) -> (Child, mpsc::Receiver<String>) {
    let mut demo = Command::new(GSLB)
        .args([
            "demo",
            "--dns",
            &dns_listen_address().to_string(),
            "--api",
            "127.0.0.1:0",
            "--token",
            token,
            "--data-dir",
        ])
        .arg(&dir.0)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (demo, lines_rx)
}

/// The banner's lines from `lines`, up to `press Ctrl-C`, waiting at most `timeout`.
pub fn read_banner(lines: &mpsc::Receiver<String>, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut banner = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("the demo prints its banner");
        let done = line.contains("press Ctrl-C");
        banner.push(line);
        if done {
            return banner;
        }
    }
}

/// A running demo and its banner.
pub struct Demo {
    /// The `gslb demo` process.
    pub child: Child,
    /// Every banner line, up to `press Ctrl-C`.
    pub banner: Vec<String>,
}

impl Demo {
    /// Starts the demo and waits (up to `timeout`) for its whole banner.
    pub fn start(dir: &TempDir, token: &str, timeout: Duration) -> Demo {
        let (child, lines) = spawn_demo(dir, token);
        let deadline = Instant::now() + timeout;
        let mut banner = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .expect("the demo prints its banner");
            let done = line.contains("press Ctrl-C");
            banner.push(line);
            if done {
                break;
            }
        }
        Demo { child, banner }
    }

    /// The `KEY=VALUE` pairs of the banner's `export` line (`GSLB_API`, `GSLB_TOKEN`).
    pub fn exported(&self) -> Vec<(String, String)> {
        self.banner
            .iter()
            .filter(|line| line.trim_start().starts_with("export "))
            .flat_map(|line| line.split_whitespace().skip(1))
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                Some((key.to_string(), value.to_string()))
            })
            .collect()
    }

    /// The first API base URL (`http://127.0.0.1:PORT`) of `GSLB_API`.
    pub fn api(&self) -> String {
        let (_, api) = self
            .exported()
            .into_iter()
            .find(|(key, _)| key == "GSLB_API")
            .expect("the banner exports GSLB_API");
        api.split(',').next().unwrap().to_string()
    }

    /// The printed `curl` line that runs `control` (e.g. `"in_quorum\": false`).
    pub fn curl_line(&self, control: &str) -> String {
        self.banner
            .iter()
            .find(|line| line.trim_start().starts_with("curl") && line.contains(control))
            .unwrap_or_else(|| panic!("a curl line with {control}"))
            .trim()
            .to_string()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        send_signal(self.child.id(), "INT");
        if wait_exit(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
