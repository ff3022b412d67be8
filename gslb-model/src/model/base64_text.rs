//! Base64 as DNS presentation format writes it (RFC 4648 with padding): DNSKEY and CDNSKEY
//! public keys, CERT data, OPENPGPKEY keys and SVCB `ech` values.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Encodes octets as padded base64.
pub fn encode(octets: &[u8]) -> String {
    STANDARD.encode(octets)
}

/// Decodes padded base64; blanks must already be removed (a zone file may split the text).
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|_| format!("bad base64 {text:?}"))
}
