//! The demo's child processes: starting them (own process group, parent-death signal,
//! log file), waiting until they listen and answer, and stopping every one of them.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{START_TIMEOUT, STOP_TIMEOUT};
use crate::process;

/// Pids of the running children, for the panic hook. Only touched when a child starts,
/// when `Nodes` has reaped them all, and by the hook.
pub(super) static CHILD_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Makes any panic SIGTERM every child first, then report as before. With unwinding the
/// `Nodes` guard then waits for them (and kills the slow ones); should the binary ever be
/// built with `panic = "abort"`, the guard would not run, and this is what stops them.
pub(super) fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // try_lock: the panic may have come from inside the lock.
            if let Ok(pids) = CHILD_PIDS.try_lock() {
                for pid in pids.iter() {
                    process::terminate(*pid);
                }
            }
            previous(info);
        }));
    });
}

/// What a demo child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A control-plane voter (Raft RPC and API on `http`).
    Voter,
    /// A DNS node: a Raft learner answering DNS.
    Dns,
    /// A region's prober: a Raft learner with `[prober]`.
    Prober,
    /// A region's backend (`gslb demo-backend`), not a cluster node.
    Backend,
}

/// One running child.
pub(super) struct Node {
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) child: Child,
    pub(super) log: PathBuf,
    /// DNS address (UDP and TCP), for DNS nodes.
    pub(super) address: Option<SocketAddr>,
    /// HTTP address: Raft RPC and the API, or a backend's HTTP server.
    pub(super) http: SocketAddr,
    /// The program and arguments it was started with, to print how to restart it.
    pub(super) command_line: Vec<String>,
    /// Set once it exited on its own and was reaped: its pid may belong to another
    /// process now, so it is never signalled again.
    pub(super) exited: bool,
}

impl Node {
    /// The shell command that starts this node again with its own config and data (a
    /// backend on the address its checks point at), appending to its log.
    pub(super) fn restart_command(&self) -> String {
        let mut words = self.command_line.clone();
        if self.role == Role::Backend {
            if let Some(at) = words.iter().position(|word| word == "--listen") {
                if let Some(listen) = words.get_mut(at + 1) {
                    *listen = self.http.to_string();
                }
            }
        }
        let words: Vec<String> = words.iter().map(|word| shell_quote(word)).collect();
        format!(
            "{} 2>>{}",
            words.join(" "),
            shell_quote(&self.log.display().to_string())
        )
    }
}

/// `word` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Stops every child on drop, whatever path leaves `run`.
pub(super) struct Nodes(pub(super) Vec<Node>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in self.0.iter().filter(|node| !node.exited) {
            process::terminate(node.child.id());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for node in self.0.iter_mut().filter(|node| !node.exited) {
            loop {
                match node.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = node.child.kill();
                        let _ = node.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        // Reaped: their pids may be reused now.
        if let Ok(mut pids) = CHILD_PIDS.lock() {
            pids.clear();
        }
    }
}

/// Starts `command` with its stderr in `NAME.log` in `data_dir`, in its own process group
/// (a terminal's Ctrl-C reaches only the demo, which then stops the children itself) and
/// with a parent-death signal.
pub(super) fn spawn_child(
    mut command: Command,
    name: &str,
    role: Role,
    data_dir: &Path,
) -> anyhow::Result<Node> {
    let log = data_dir.join(format!("{name}.log"));
    let log_file =
        fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    command.process_group(0);
    process::die_with_parent(&mut command);
    let command_line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    if let Ok(mut pids) = CHILD_PIDS.lock() {
        pids.push(child.id());
    }
    Ok(Node {
        name: name.to_string(),
        role,
        child,
        log,
        address: None,
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        command_line,
        exited: false,
    })
}

/// Reads the child's log until it reports its HTTP listener (and, on a DNS node, its UDP and
/// TCP listeners); records the bound addresses. Fails with the log's tail if the child exits
/// or takes too long.
pub(super) fn wait_until_listening(node: &mut Node) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = fs::read_to_string(&node.log).unwrap_or_default();
        let http = listening_address(&text, "http");
        let udp = listening_address(&text, "udp");
        let tcp = listening_address(&text, "tcp");
        match (node.role, http, udp, tcp) {
            (Role::Dns, Some(http), Some(udp), Some(_)) => {
                node.http = http;
                node.address = Some(udp);
                return Ok(());
            }
            (Role::Voter | Role::Prober | Role::Backend, Some(http), _, _) => {
                node.http = http;
                return Ok(());
            }
            _ => {}
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            bail!(
                "{} exited ({status}) before listening; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not listen within {START_TIMEOUT:?}; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Sends a query for `name` (absolute) of type `qtype` (IN) over UDP until the node answers
/// it with NOERROR and at least `min_answers` answer records: the zone, or a GSLB record's
/// healthy answers, have reached it. (A hand-built 12-octet header and
/// question: the demo only checks that the node is up; DNS itself is gslb-dns's business.)
pub(super) fn wait_until_answering(
    node: &mut Node,
    name: &str,
    qtype: u8,
    min_answers: u16,
) -> anyhow::Result<()> {
    let address = node.address.context("not a DNS node")?;
    let socket = UdpSocket::bind(SocketAddr::new(address.ip(), 0))
        .context("cannot open a udp socket to probe the nodes")?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut query = vec![0x47, 0x53, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, qtype, 0, 1]); // root label, type, IN
    let deadline = Instant::now() + START_TIMEOUT;
    let mut reply = [0u8; 1500];
    loop {
        socket.send_to(&query, address)?;
        if let Ok(length) = socket.recv(&mut reply) {
            let answered = length >= 12
                && reply[..2] == query[..2]
                && reply[2] & 0x80 != 0
                && reply[3] & 0x0f == 0
                && u16::from_be_bytes([reply[6], reply[7]]) >= min_answers;
            if answered {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            let text = fs::read_to_string(&node.log).unwrap_or_default();
            bail!("{} exited ({status}); its log:\n{}", node.name, tail(&text));
        }
        if Instant::now() >= deadline {
            let text = fs::read_to_string(&node.log).unwrap_or_default();
            bail!(
                "{} listens on {address} but does not answer {name} (type {qtype}) with \
                 NOERROR and {min_answers} answer(s) within {START_TIMEOUT:?}; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address from a `listening on <kind> ADDR` log line.
pub(super) fn listening_address(log: &str, kind: &str) -> Option<SocketAddr> {
    let marker = format!("listening on {kind} ");
    log.lines().find_map(|line| {
        let rest = &line[line.find(&marker)? + marker.len()..];
        // Text logs end the address at a space, JSON logs at the closing quote.
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

pub(super) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// SIGINT and SIGTERM, watched from the moment this is made (needs a runtime context).
pub(super) struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub(super) fn watch() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }
}

/// Blocks until SIGINT/SIGTERM. A child that exits on its own is reported (name, pid, exit
/// status, the tail of its log and the command that restarts it) and the others keep
/// running: a dead voter or DNS node is a failure the cluster is there to survive.
pub(super) async fn wait_for_stop(mut signals: StopSignals, nodes: &mut Nodes) {
    let mut check = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            biased;
            _ = signals.terminate.recv() => return,
            _ = signals.interrupt.recv() => return,
            _ = check.tick() => {
                for node in nodes.0.iter_mut().filter(|node| !node.exited) {
                    if let Ok(Some(status)) = node.child.try_wait() {
                        node.exited = true;
                        report_exit(node, status);
                    }
                }
            }
        }
    }
}

/// Says which child exited and how to start it again.
fn report_exit(node: &Node, status: ExitStatus) {
    let pid = node.child.id();
    if let Ok(mut pids) = CHILD_PIDS.lock() {
        pids.retain(|known| *known != pid);
    }
    let log = fs::read_to_string(&node.log).unwrap_or_default();
    say!(
        "{} (pid {pid}) exited ({status}); the other nodes keep running. Its log ends:",
        node.name
    );
    for line in tail(&log).lines() {
        say!("    {line}");
    }
    say!("restart it (it keeps its config and data; stop it yourself, Ctrl-C here no longer does) with:");
    say!("  {}", node.restart_command());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(role: Role, command_line: &[&str], log: &str) -> Node {
        Node {
            name: "n".to_string(),
            role,
            child: Command::new("true").spawn().unwrap(),
            log: PathBuf::from(log),
            address: None,
            http: "127.0.0.1:41000".parse().unwrap(),
            command_line: command_line.iter().map(|word| word.to_string()).collect(),
            exited: false,
        }
    }

    #[test]
    fn a_restart_command_keeps_the_config_and_quotes_what_the_shell_would_split() {
        let mut voter = node(
            Role::Voter,
            &[
                "/opt/gslb",
                "serve",
                "--config",
                "/tmp/my demo/voter-2.toml",
            ],
            "/tmp/my demo/voter-2.log",
        );
        assert_eq!(
            voter.restart_command(),
            "/opt/gslb serve --config '/tmp/my demo/voter-2.toml' 2>>'/tmp/my demo/voter-2.log'"
        );
        let _ = voter.child.wait();
    }

    #[test]
    fn a_restarted_backend_takes_the_address_its_checks_point_at() {
        let mut backend = node(
            Role::Backend,
            &[
                "gslb",
                "demo-backend",
                "--listen",
                "127.0.0.1:0",
                "--region",
                "eu-west",
            ],
            "/d/backend-eu-west.log",
        );
        assert_eq!(
            backend.restart_command(),
            "gslb demo-backend --listen 127.0.0.1:41000 --region eu-west 2>>/d/backend-eu-west.log"
        );
        let _ = backend.child.wait();
    }
}
