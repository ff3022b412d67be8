//! Checks `[control.tls]`: loads the certificate, key and CAs.

use std::path::Path;

use gslb_api::tls::{ServerTls, TlsFile};
use gslb_store::raft::ClientTls;

use crate::config::duration::duration;
use crate::config::node::TlsSettings;
use crate::config::problems::Problems;
use crate::config::raw::RawTls;

/// Checks `[control.tls]`: loads the certificate and key (they must match) and the CAs,
/// each problem with its line and path.
pub(crate) fn tls_settings(
    raw: &RawTls,
    base: &Path,
    problems: &mut Problems<'_>,
) -> (Option<TlsSettings>, Option<ClientTls>) {
    let before = problems.found.len();
    let reload_interval = duration(
        &raw.reload_interval,
        "control.tls.reload_interval",
        problems,
    );
    if reload_interval.is_zero() && problems.found.len() == before {
        problems.push(
            raw.reload_interval.span(),
            "control.tls.reload_interval",
            "must be > 0",
        );
    }
    let cert_path = base.join(raw.cert.get_ref());
    let key_path = base.join(raw.key.get_ref());
    let server = match ServerTls::load(cert_path, key_path) {
        Ok(server) => Some(server),
        Err(error) => {
            let (span, field) = match error.file {
                TlsFile::Cert => (raw.cert.span(), "control.tls.cert"),
                TlsFile::Key => (raw.key.span(), "control.tls.key"),
            };
            problems.push(span, field, error.message);
            None
        }
    };
    let peer_tls = match &raw.ca {
        None => Some(ClientTls::https(None).expect("no CA file to parse")),
        Some(ca) => {
            let path = base.join(ca.get_ref());
            let parsed = std::fs::read(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))
                .and_then(|pem| {
                    ClientTls::https(Some(&pem))
                        .map_err(|error| format!("{}: {error}", path.display()))
                });
            match parsed {
                Ok(tls) => Some(tls),
                Err(message) => {
                    problems.push(ca.span(), "control.tls.ca", message);
                    None
                }
            }
        }
    };
    let settings = server.map(|server| TlsSettings {
        server,
        reload_interval,
    });
    (settings, peer_tls)
}
