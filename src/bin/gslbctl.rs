//! `gslbctl`: the operator's command-line client of the REST API.
fn main() {}
