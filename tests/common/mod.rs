//! Shared fixture of the black-box tests: start the real `gslb` binary on port 0 with a
//! config and zone files in a fresh directory, learn its ports from the `listening on` log
//! lines, query it with real `dig`/`kdig` or raw packets, and kill it on `Drop`.
//!
//! Every wait here waits for a condition with a deadline; nothing sleeps a fixed time.
//!
//! The DNS client helpers (`dig`, `kdig`, `DigReply`, raw packets, TCP framing, `codes`) live
//! in `gslb_testkit::dns`, shared with every crate's tests, and are re-exported here.

#![allow(dead_code)]

pub mod cluster;
pub mod demo;
pub mod dnssec_lab;
pub mod netns;

pub use gslb_testkit::dns::*;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The `gslb` binary cargo built for these tests.
pub const GSLB: &str = env!("CARGO_BIN_EXE_gslb");

/// How long a server gets to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The zone most tests query: every record type, a wildcard, a delegation with glue, and a
/// TXT too big for a 1232-octet UDP reply. SOA TTL 3600 and MINIMUM 60, so negative
/// answers carry TTL 60 (RFC 2308 §5).
pub fn example_zone() -> String {
    let chunk = "x".repeat(250);
    let big = (0..8)
        .map(|index| format!("\"{index}{chunk}\""))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "$ORIGIN example.test.
$TTL 300
@        3600 IN SOA   ns1 hostmaster 2026112401 3600 600 86400 60
@        3600 IN NS    ns1
@        3600 IN NS    ns2
ns1           IN A     192.0.2.1
ns2           IN A     192.0.2.2
@             IN MX    10 mail
mail          IN A     192.0.2.25
www           IN A     192.0.2.10
www           IN AAAA  2001:db8::10
alias         IN CNAME www
*.wild        IN A     192.0.2.50
sub           IN NS    ns.sub
ns.sub        IN A     192.0.2.53
big           IN TXT   {big}
"
    )
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory under the system temp dir.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gslb-test-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `text` to `name` inside the directory; returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Lines a child wrote to stderr, shared with the thread that reads them.
#[derive(Clone, Default)]
pub struct LogLines(Arc<(Mutex<Vec<String>>, Condvar)>);

impl LogLines {
    /// Reads `stream` line by line on a thread until it closes.
    pub fn follow(stream: impl Read + Send + 'static) -> LogLines {
        let lines = LogLines::default();
        let writer = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let (list, changed) = &*writer.0;
                list.lock().unwrap().push(line);
                changed.notify_all();
            }
        });
        lines
    }

    /// Waits until a line contains `needle`; returns it.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (list, changed) = &*self.0;
        let mut guard = list.lock().unwrap();
        loop {
            if let Some(line) = guard.iter().find(|line| line.contains(needle)) {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Everything so far, one string.
    pub fn text(&self) -> String {
        self.0 .0.lock().unwrap().join("\n")
    }
}

/// The address after `listening on <kind> ` in a log line.
pub fn listening_address(line: &str, kind: &str) -> Option<SocketAddr> {
    let marker = format!("listening on {kind} ");
    let rest = &line[line.find(&marker)? + marker.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// A loopback address whose port is free for both UDP and TCP and lies *below* the kernel's
/// ephemeral range (32768-60999 by default).
///
/// A DNS listener must not take an ephemeral port in tests: `dig` binds its client socket
/// with `SO_REUSEPORT`, so the kernel may hand it the server's own port, and a query sent
/// from 127.0.0.1:P to 127.0.0.1:P comes straight back to dig's connected socket ("query
/// response not set", an echo of its own query). Seen once in CI as a flaky empty answer.
pub fn dns_listen_address() -> SocketAddr {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(7919);
    for _ in 0..2000 {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (seed.wrapping_add(step.wrapping_mul(97)) % 12_000) as u16;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        if UdpSocket::bind(address).is_ok() && std::net::TcpListener::bind(address).is_ok() {
            return address;
        }
    }
    panic!("no free port for DNS in 20000..32000 on 127.0.0.1");
}

/// A running `gslb serve`.
pub struct Server {
    /// The child process; killed on drop.
    pub child: Child,
    /// Its config and zone files.
    pub dir: TempDir,
    /// Its stderr.
    pub log: LogLines,
    /// Plain DNS, UDP and TCP.
    pub address: SocketAddr,
    /// PROXY v2 UDP and TCP, when configured.
    pub proxy_address: Option<SocketAddr>,
}

impl Server {
    /// Starts a server for `example.test.` with `dns_extra` appended to its `[dns]` table
    /// and `tail` appended to the file (more tables).
    pub fn start_with(dns_extra: &str, tail: &str) -> Server {
        let dir = TempDir::new("server");
        dir.write("example.test.zone", &example_zone());
        let listen = dns_listen_address();
        let config = format!(
            "[log]\nlevel = \"info\"\n\n[dns]\nlisten = [\"{listen}\"]\nudp_workers = 2\n{dns_extra}\n\n\
             [dns.chaos]\nid = \"test-node\"\n\n\
             [[zones]]\nfile = \"example.test.zone\"\norigin = \"example.test.\"\n{tail}\n"
        );
        let config_path = dir.write("node.toml", &config);
        Server::spawn(dir, &config_path)
    }

    /// Starts the standard server.
    pub fn start() -> Server {
        Server::start_with("", "")
    }

    /// Runs `gslb serve --config <config>` and waits for its listeners.
    pub fn spawn(dir: TempDir, config: &Path) -> Server {
        let mut child = Command::new(GSLB)
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gslb serve");
        let log = LogLines::follow(child.stderr.take().unwrap());
        let proxied = std::fs::read_to_string(config)
            .unwrap()
            .contains("[dns.proxy]");
        let udp = log.wait_for("listening on udp ", START_TIMEOUT);
        let tcp = log.wait_for("listening on tcp ", START_TIMEOUT);
        let (Some(udp), Some(_)) = (udp, tcp) else {
            let _ = child.kill();
            panic!("gslb serve did not listen; its log:\n{}", log.text());
        };
        let address = listening_address(&udp, "udp").unwrap();
        let proxy_address = proxied.then(|| {
            let line = log
                .wait_for("listening on proxy-udp ", START_TIMEOUT)
                .expect("proxy listener");
            listening_address(&line, "proxy-udp").unwrap()
        });
        Server {
            child,
            dir,
            log,
            address,
            proxy_address,
        }
    }

    /// The port of the plain listener, as text for `dig -p`.
    pub fn port(&self) -> String {
        self.address.port().to_string()
    }

    /// Runs dig against this server with `args`.
    pub fn dig(&self, args: &[&str]) -> DigReply {
        dig(self.address, args)
    }

    /// Sends a signal (`TERM`, `INT`) to the server.
    pub fn signal(&self, name: &str) {
        send_signal(self.child.id(), name);
    }

    /// Waits for the server to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, timeout)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends signal `name` (as `kill -NAME`) to `pid`.
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// Waits for `child` to exit, polling; `None` when it is still running at the deadline.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A finished command's status, stdout and stderr, for assertion messages.
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A venv of Python tools from PyPI kept across runs: `$ENV_VAR`, else
/// `$HOME/.cache/CACHE_NAME`; created with `packages` when one of `tools` (names under
/// `bin/`) is missing, as `.ci/run` prepares it. Panics with the reason when it cannot be.
pub fn python_venv(env_var: &str, cache_name: &str, tools: &[&str], packages: &[&str]) -> PathBuf {
    let venv = match std::env::var_os(env_var) {
        Some(venv) => PathBuf::from(venv),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache")
            .join(cache_name),
    };
    if tools
        .iter()
        .all(|tool| venv.join("bin").join(tool).exists())
    {
        return venv;
    }
    eprintln!("creating {} with {packages:?}", venv.display());
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output();
    let installed = created.and_then(|_| {
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q"])
            .args(packages)
            .output()
    });
    match installed {
        Ok(output) if output.status.success() => venv,
        Ok(output) => panic!(
            "cannot install {packages:?} into {} (run .ci/run or set {env_var}): {}",
            venv.display(),
            output_text(&output)
        ),
        Err(error) => panic!(
            "cannot create {} (needs python3 with venv; .ci/run installs it): {error}",
            venv.display()
        ),
    }
}
