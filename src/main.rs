//! `gslb`: parse the command line and the node config, start the roles, shut down cleanly.
fn main() {}
