//! Network-namespace fixture of the black-box tests: a `Lab` is a set of Linux network
//! namespaces joined by veth pairs to one bridge (itself inside a private "hub" namespace, so
//! nothing touches the host's interfaces or routes), addressed only in 198.18.0.0/15; `Proc`
//! runs a real `gslb` process inside one of them (`ip netns exec`); `Cut` is an nft table of
//! drop rules inside a namespace, removed on `Drop` (healing the link); `client_dig` and
//! `client_http` reach the lab from its client namespace with real `dig` and `curl`.
//!
//! Clean-up holds even when a test panics: `Proc` kills its process on `Drop`, and `Lab`
//! kills whatever still runs in its namespaces and deletes them (veths, the bridge and nft
//! tables go with them). Names carry the test process's pid and a counter, so parallel tests
//! and leftover runs never collide; `Lab::new` also removes labs whose process is gone.
//!
//! `require_root_and_netns` decides whether the tests run: they need root and `ip netns`,
//! and fail with a clear message without them, unless `GSLB_SKIP_NETNS=1` says to skip.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{DigReply, LogLines, GSLB};

/// Every namespace a lab creates starts with this, then the pid of the test process.
const PREFIX: &str = "gslbt-";

/// Runs `program args`; panics naming the command and its stderr unless it succeeds.
pub fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program} {args:?}: {error}"));
    assert!(
        output.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    output
}

/// Runs `program args` and ignores how it ends (clean-up paths).
fn run_quietly(program: &str, args: &[&str]) -> Option<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .ok()
}

/// Whether the namespace tests should run: `false` (with a note) only when
/// `GSLB_SKIP_NETNS=1`; otherwise panics with what is missing unless this is root with a
/// working `ip netns` and `nft`.
pub fn require_root_and_netns() -> bool {
    if std::env::var("GSLB_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("-- GSLB_SKIP_NETNS=1: skipping the network namespace test");
        return false;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_string));
    assert!(
        euid.as_deref() == Some("0"),
        "the network namespace tests need root (effective uid {euid:?}): run them as root \
         (CI does), or set GSLB_SKIP_NETNS=1 to skip them explicitly"
    );
    for (program, args, package) in [
        ("ip", &["netns", "list"][..], "iproute2"),
        ("nft", &["--version"][..], "nftables"),
        ("dig", &["-v"][..], "bind9-dnsutils"),
        ("curl", &["--version"][..], "curl"),
    ] {
        let works = run_quietly(program, args).is_some_and(|output| output.status.success());
        assert!(
            works,
            "`{program} {}` does not work here: install {package} (the namespace tests drive \
             `ip netns`, `nft`, `dig` and `curl`), or set GSLB_SKIP_NETNS=1 to skip them \
             explicitly",
            args.join(" ")
        );
    }
    true
}

/// One member namespace of a lab and its addresses (the first is its primary source address).
#[derive(Debug, Clone)]
pub struct Member {
    /// The full namespace name (`gslbt-<pid>-<n>-<role>`).
    pub ns: String,
    /// Its addresses in 198.18.0.0/15.
    pub addresses: Vec<String>,
}

/// A set of namespaces on one bridge; deleted (with everything in them) on `Drop`.
pub struct Lab {
    /// `gslbt-<pid>-<n>-`: the prefix of every namespace of this lab.
    pub tag: String,
    /// The hub namespace holding the bridge.
    hub: String,
    /// Every namespace created, the hub first.
    namespaces: Vec<String>,
    /// Next veth index in the hub.
    next_port: usize,
}

impl Lab {
    /// A fresh lab: removes leftovers of dead test processes, then creates the hub namespace
    /// with a bridge.
    pub fn new() -> Lab {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        remove_leftover_labs();
        let tag = format!(
            "{PREFIX}{}-{}-",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let hub = format!("{tag}hub");
        let mut lab = Lab {
            tag,
            hub: hub.clone(),
            namespaces: Vec::new(),
            next_port: 0,
        };
        lab.add_namespace(&hub);
        run("ip", &["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        run("ip", &["-n", &hub, "link", "set", "br0", "up"]);
        lab
    }

    fn add_namespace(&mut self, ns: &str) {
        run("ip", &["netns", "add", ns]);
        self.namespaces.push(ns.to_string());
        run("ip", &["-n", ns, "link", "set", "lo", "up"]);
    }

    /// A namespace `role` plugged into the bridge with `addresses` (each a /15 of
    /// 198.18.0.0/15, so every member reaches every other without routes; the first is the
    /// source of its outgoing connections).
    pub fn member(&mut self, role: &str, addresses: &[&str]) -> Member {
        let ns = format!("{}{role}", self.tag);
        self.add_namespace(&ns);
        let port = format!("p{}", self.next_port);
        self.next_port += 1;
        run(
            "ip",
            &[
                "-n", &self.hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ],
        );
        run(
            "ip",
            &["-n", &self.hub, "link", "set", &port, "master", "br0", "up"],
        );
        for address in addresses {
            assert!(
                address.starts_with("198.18.") || address.starts_with("198.19."),
                "{address}: lab addresses stay in 198.18.0.0/15"
            );
            run(
                "ip",
                &[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{address}/15"),
                    "dev",
                    "eth0",
                ],
            );
        }
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
        Member {
            ns,
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            delete_namespace(ns);
        }
    }
}

/// Kills every process still inside `ns`, then deletes it (its veths and nft tables go
/// with it).
fn delete_namespace(ns: &str) {
    if let Some(output) = run_quietly("ip", &["netns", "pids", ns]) {
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            let _ = run_quietly("kill", &["-KILL", pid]);
        }
    }
    let _ = run_quietly("ip", &["netns", "del", ns]);
}

/// Deletes the namespaces of labs whose test process no longer exists (a run killed with
/// SIGKILL cannot clean up after itself).
fn remove_leftover_labs() {
    let Some(output) = run_quietly("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            eprintln!("-- removing leftover namespace {name} of gone process {pid}");
            delete_namespace(name);
        }
    }
}

/// An nft table of drop rules inside one namespace: the link it describes is cut while it
/// lives, and healed when it is dropped.
pub struct Cut {
    /// The namespace.
    ns: String,
    /// The table's name.
    table: String,
    /// What it cuts, for the log.
    what: String,
}

impl Cut {
    /// Installs `rules` (nft rule bodies, each ending in a verdict) in an `inet` table of its
    /// own, on the `output` chain (`outgoing`) and the `input` chain (`incoming`) of `ns`.
    pub fn new(ns: &str, what: &str, outgoing: &[String], incoming: &[String]) -> Cut {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let table = format!("gslb_cut_{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut script = format!("table inet {table} {{\n");
        for (chain, rules) in [("output", outgoing), ("input", incoming)] {
            script.push_str(&format!(
                "  chain {chain} {{\n    type filter hook {chain} priority 0; policy accept;\n"
            ));
            for rule in rules {
                script.push_str(&format!("    {rule}\n"));
            }
            script.push_str("  }\n");
        }
        script.push_str("}\n");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nft");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "nft refused the rules of {what}:\n{script}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("-- cut: {what} (nft table {table} in {ns})");
        Cut {
            ns: ns.to_string(),
            table,
            what: what.to_string(),
        }
    }

    /// Cuts `ns` off from `peers` (addresses) both ways: drops what it sends them and what
    /// they send it, established connections included (the rules are stateless). Other
    /// members (the client) still reach it.
    pub fn isolate(ns: &str, what: &str, peers: &[&str]) -> Cut {
        let set = peers.join(", ");
        Cut::new(
            ns,
            what,
            &[format!("ip daddr {{ {set} }} drop")],
            &[format!("ip saddr {{ {set} }} drop")],
        )
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let _ = run_quietly(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                "nft",
                "delete",
                "table",
                "inet",
                &self.table,
            ],
        );
        eprintln!("-- healed: {}", self.what);
    }
}

/// A `gslb` process running inside a namespace; killed on `Drop`.
pub struct Proc {
    /// For logs: `voter`, `dns-1`, `backend-eu`, ...
    pub name: String,
    /// Its namespace.
    pub ns: String,
    /// The `gslb` arguments it runs with (kept for restarts).
    args: Vec<String>,
    /// The running process (the `gslb` itself: `ip netns exec` execs it).
    pub child: Option<Child>,
    /// Its stderr, this run.
    pub log: LogLines,
    /// The stderr of earlier runs, for failure messages.
    earlier: String,
}

impl Proc {
    /// Starts `gslb args` inside `ns`; does not wait for anything.
    pub fn spawn(name: &str, ns: &str, args: &[String]) -> Proc {
        let mut process = Proc {
            name: name.to_string(),
            ns: ns.to_string(),
            args: args.to_vec(),
            child: None,
            log: LogLines::default(),
            earlier: String::new(),
        };
        process.start();
        process
    }

    /// (Re)starts the process with its arguments.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns, GSLB])
            .args(&self.args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", self.name));
        self.log = LogLines::follow(child.stderr.take().unwrap());
        eprintln!(
            "-- {} started in {} (pid {})",
            self.name,
            self.ns,
            child.id()
        );
        self.child = Some(child);
    }

    /// Waits for a log line containing `needle`; panics with the log and `reason` otherwise.
    pub fn expect_log(&self, needle: &str, timeout: Duration, reason: &str) -> String {
        self.log.wait_for(needle, timeout).unwrap_or_else(|| {
            panic!(
                "{}: no {needle:?} in its log within {timeout:?} ({reason}); its log:\n{}{}",
                self.name,
                self.earlier,
                self.log.text()
            )
        })
    }

    /// SIGKILL, then reap; the time it happened.
    pub fn kill(&mut self) -> Instant {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("-- kill -9 {} (pid {})", self.name, child.id());
        }
        self.earlier.push_str(&self.log.text());
        self.earlier.push('\n');
        Instant::now()
    }

    /// Everything it logged, all runs.
    pub fn text(&self) -> String {
        format!("{}{}", self.earlier, self.log.text())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `dig @server name A +norec` inside namespace `ns`, one try of at most 1 s.
pub fn client_dig(ns: &str, server: SocketAddr, name: &str) -> DigReply {
    client_dig_with(ns, server, name, &[])
}

/// `client_dig` with more dig options (`+tcp`: a closed port answers with a reset at once,
/// where UDP waits out dig's timeout once ICMP port-unreachable is rate limited).
pub fn client_dig_with(ns: &str, server: SocketAddr, name: &str, options: &[&str]) -> DigReply {
    let output = Command::new("ip")
        .args(["netns", "exec", ns, "dig"])
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), name, "A", "+norec"])
        .args(["+time=1", "+tries=1"])
        .args(options)
        .stdin(Stdio::null())
        .output()
        .expect("run dig");
    DigReply {
        text: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

/// One HTTP request from namespace `ns` with `curl` (bounded to 10 s): status and body, or
/// `None` when nothing answered.
pub fn client_http(
    ns: &str,
    to: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", ns, "curl", "-sS", "-m", "10", "-X", method])
        .args(["-w", "\n%{http_code}"]);
    if let Some(token) = bearer {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if let Some(body) = body {
        command.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ]);
    }
    let output = command
        .arg(format!("http://{to}{path}"))
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n')?;
    let status: u16 = status.trim().parse().ok()?;
    (status != 0).then(|| (status, body.to_string()))
}
