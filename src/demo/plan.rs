//! Every demo node's config: fresh ones on free ports, or those an earlier run kept in the
//! data dir (Raft knows voters by address, so a resumed cluster keeps its ports).

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::children::Role;
use super::sample::{DEMO_ZONE_FILE, REGIONS};
use super::{DemoArgs, DEMO_ZONE, WITH_PROBERS};

/// The configs of one demo cluster, kept in the data dir so a later run with the same
/// `--data-dir` resumes it (voters must keep their addresses: Raft knows them by address).
pub(super) struct Plan {
    /// (name, role, config text).
    pub(super) nodes: Vec<(String, Role, String)>,
    /// The API's admin token.
    pub(super) token: String,
    /// Each prober's own observe token, (vantage, secret), to create on a fresh cluster:
    /// a prober speaks only for its vantage and never holds the admin token.
    pub(super) prober_tokens: Vec<(String, String)>,
    /// True when an earlier run's cluster is resumed.
    pub(super) resumed: bool,
}

/// Decides every node's config: the saved ones of an earlier run in `data_dir`, or fresh
/// ones on the asked and free ports.
pub(super) fn plan(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<Plan> {
    let token_file = data_dir.join("api-token");
    let saved = node_names();
    if saved
        .iter()
        .all(|(name, _)| data_dir.join(format!("{name}.toml")).exists())
        && token_file.exists()
    {
        let mut nodes = Vec::new();
        for (name, role) in saved {
            let path = data_dir.join(format!("{name}.toml"));
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            nodes.push((name, role, text));
        }
        let token = fs::read_to_string(&token_file)
            .with_context(|| format!("cannot read {}", token_file.display()))?
            .trim()
            .to_string();
        return Ok(Plan {
            nodes,
            token,
            prober_tokens: Vec::new(),
            resumed: true,
        });
    }

    let second_dns = if args.dns.port() == 0 {
        args.dns
    } else {
        let port = args
            .dns
            .port()
            .checked_add(1)
            .context("--dns port 65535 leaves no next port for the second node")?;
        SocketAddr::new(args.dns.ip(), port)
    };
    for address in [args.dns, second_dns] {
        ensure_free(address)?;
    }
    let api = if args.api.port() == 0 {
        free_port(args.api)?
    } else {
        TcpListener::bind(args.api).with_context(|| {
            format!(
                "tcp {} is in use (or not bindable); pick another with --api",
                args.api
            )
        })?;
        args.api
    };
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let voters = [api, free_port(loopback)?, free_port(loopback)?];
    let zone_file = data_dir.join("demo.gslb.test.zone");
    fs::write(&zone_file, DEMO_ZONE_FILE)
        .with_context(|| format!("cannot write {}", zone_file.display()))?;
    let token = match &args.token {
        Some(token) => token.clone(),
        None => random_hex(16)?,
    };
    write_private(&token_file, &format!("{token}\n"))?;
    let secret = random_hex(24)?;
    let bootstrap = voters
        .iter()
        .enumerate()
        .map(|(index, address)| format!("{} = \"{address}\"", index + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let seeds = voters
        .iter()
        .map(|address| format!("\"{address}\""))
        .collect::<Vec<_>>()
        .join(", ");
    // Learners keep their HTTP port too: the leader replicates to the address they joined
    // with, so a resumed learner on a fresh port would never catch up.
    let mut nodes = Vec::new();
    for (index, address) in voters.iter().enumerate() {
        let id = index + 1;
        let name = format!("voter-{id}");
        let zones = if id == 1 {
            format!("\n[[zones]]\nfile = \"demo.gslb.test.zone\"\norigin = \"{DEMO_ZONE}\"\n")
        } else {
            String::new()
        };
        let text = format!(
            "# gslb demo node {name}: a control-plane voter\n{}\
             role = \"voter\"\nbootstrap = {{ voters = {{ {bootstrap} }} }}\n{RAFT_TIMING}{zones}",
            control_section(&name, id, *address, &secret)
        );
        nodes.push((name, Role::Voter, text));
    }
    for (index, address) in [args.dns, second_dns].into_iter().enumerate() {
        let id = index + 4;
        let name = format!("dns-{}", index + 1);
        let text = format!(
            "# gslb demo node {name}: a DNS node (Raft learner) in region {}\n{}\
             role = \"learner\"\nseeds = [{seeds}]\n{RAFT_TIMING}\n\
             [dns]\nlisten = [\"{address}\"]\nudp_workers = 1\nregion = \"{}\"\n\n\
             [dns.chaos]\nid = \"{name}\"\n",
            REGIONS[index].id,
            control_section(&name, id, free_port(loopback)?, &secret),
            REGIONS[index].id,
        );
        nodes.push((name, Role::Dns, text));
    }
    let mut prober_tokens = Vec::new();
    if WITH_PROBERS {
        for (index, region) in REGIONS.iter().enumerate() {
            let id = index + 6;
            let name = format!("prober-{}", region.id);
            let prober_token = format!("gslb_{}", random_hex(24)?);
            prober_tokens.push((region.id.to_string(), prober_token.clone()));
            let text = format!(
                "# gslb demo node {name}: the prober of region {} (a Raft learner)\n{}\
                 role = \"learner\"\nseeds = [{seeds}]\n{RAFT_TIMING}\n\
                 {}",
                region.id,
                control_section(&name, id, free_port(loopback)?, &secret),
                prober_section(region.id, api, &prober_token),
            );
            nodes.push((name, Role::Prober, text));
        }
    }
    Ok(Plan {
        nodes,
        token,
        prober_tokens,
        resumed: false,
    })
}

/// The `[prober]` section of `region`'s prober: the vantage it reports as, the API it
/// reports to and the token it reports with: its own, good only for its vantage (the demo
/// creates it through the API, `sample::create_prober_token`).
fn prober_section(region: &str, api: SocketAddr, token: &str) -> String {
    format!("[prober]\nvantage = \"{region}\"\napi = \"http://{api}\"\ntoken = \"{token}\"\n")
}

/// The cluster nodes of the demo, in start order.
pub(super) fn node_names() -> Vec<(String, Role)> {
    let mut names: Vec<(String, Role)> = vec![
        ("voter-1".to_string(), Role::Voter),
        ("voter-2".to_string(), Role::Voter),
        ("voter-3".to_string(), Role::Voter),
        ("dns-1".to_string(), Role::Dns),
        ("dns-2".to_string(), Role::Dns),
    ];
    if WITH_PROBERS {
        names.extend(
            REGIONS
                .iter()
                .map(|region| (format!("prober-{}", region.id), Role::Prober)),
        );
    }
    names
}

/// Loopback timing: quick elections, still several heartbeats each.
pub(super) const RAFT_TIMING: &str =
    "\n[control.raft]\nheartbeat = \"100ms\"\nelection_min = \"500ms\"\nelection_max = \"1000ms\"\n";

pub(super) fn control_section(name: &str, id: usize, listen: SocketAddr, secret: &str) -> String {
    format!(
        "[log]\nformat = \"text\"\nlevel = \"info\"\n\n[control]\nnode_id = {id}\n\
         data_dir = \"{name}.data\"\nlisten = \"{listen}\"\ncluster_secret = \"{secret}\"\n\
         api_token_file = \"api-token\"\n"
    )
}

/// A free TCP port on `address`'s IP (bound and released: the node binds it a moment later).
pub(super) fn free_port(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot bind tcp {address} to pick a free port"))?;
    Ok(listener.local_addr()?)
}

/// `bytes` random bytes from the kernel, as hex.
pub(super) fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut buffer))
        .context("cannot read /dev/urandom")?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Refuses early, naming the address, when a port is taken (UDP or TCP).
pub(super) fn ensure_free(address: SocketAddr) -> anyhow::Result<()> {
    if address.port() == 0 {
        return Ok(());
    }
    UdpSocket::bind(address).with_context(|| {
        format!("udp {address} is in use (or not bindable); pick another with --dns")
    })?;
    TcpListener::bind(address).with_context(|| {
        format!("tcp {address} is in use (or not bindable); pick another with --dns")
    })?;
    Ok(())
}

pub(super) fn fresh_temp_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("gslb-demo-{}-{nanos}", std::process::id()));
    // Owner only: it holds the cluster secret and the tokens.
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Writes `text` to `path` readable by its owner only (0600), also when the file was there
/// before with wider permissions: node configs hold the cluster secret and tokens.
pub(super) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(text.as_bytes())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}
