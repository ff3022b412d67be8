//! TSIG (RFC 8945): find and check the TSIG record of a request, and sign responses.
//!
//! The small API the slow path and zone transfers use:
//! - `verify_request(message, keys, now, fudge)` → `Verification`: `Unsigned`, `Signed`
//!   (a `SignedRequest`, whose `signer()` signs the answer), or `Failed` (a `TsigFailure`
//!   that `error_response` turns into the reply §5.2 asks for);
//! - `ResponseSigner::sign(&mut response, now)`: appends the TSIG record to a finished
//!   response; called again for each message of a multi-message answer (AXFR, §5.3.1), it
//!   signs with the prior MAC and the timers only;
//! - `sign_request(key, &mut message, now, fudge)`: signs a request we send (NOTIFY to a
//!   secondary that wants it signed) and returns its MAC;
//! - `verify_response(key, request_mac, response, now, fudge)`: checks the answer to such a
//!   request (§5.3.2: signed with the same key, over the request's MAC); an unsigned or
//!   badly signed answer is a `ResponseProblem`.
//!
//! §5.2's order: format (TSIG last, well formed, else FORMERR), key (unknown name or
//! algorithm → NOTAUTH/BADKEY, unsigned), MAC (a MAC longer than the hash or shorter than
//! max(10, hash/2) → FORMERR; wrong → NOTAUTH/BADSIG, unsigned), time (outside the fudge →
//! NOTAUTH/BADTIME, signed, our time in Other Data), truncation (a MAC shorter than the hash
//! is below our policy → NOTAUTH/BADTRUNC, signed). HMAC comes from the RustCrypto `hmac`
//! crate (hickory-proto's TSIG covers only SHA-256/384/512; md5, sha1 and sha224 are
//! required here). The record is read by hand: its position in the raw message is what the
//! MAC covers.

use std::collections::BTreeMap;

use gslb_model::model::name::DomainName;
use gslb_model::model::tsig_key::{TsigAlgorithm, TsigKey};
use hmac::{Mac, SimpleHmac};

use crate::wire::HEADER_LEN;

/// TYPE of TSIG (RFC 8945 §4.2).
pub const TYPE_TSIG: u16 = 250;
/// CLASS ANY, which a TSIG record carries.
const CLASS_ANY: u16 = 255;
/// The fudge we sign with and accept by default, seconds (RFC 8945 §10 recommends 300).
pub const DEFAULT_FUDGE: u16 = 300;

/// The TSIG errors (RFC 8945 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigError {
    /// 16: the MAC does not verify.
    BadSig,
    /// 17: the key (or its algorithm) is unknown.
    BadKey,
    /// 18: the time signed is outside the fudge.
    BadTime,
    /// 22: the MAC is truncated below our policy.
    BadTrunc,
}

impl TsigError {
    /// The TSIG ERROR field value.
    pub fn code(self) -> u16 {
        match self {
            TsigError::BadSig => 16,
            TsigError::BadKey => 17,
            TsigError::BadTime => 18,
            TsigError::BadTrunc => 22,
        }
    }
}

/// The TSIG record of a message, located and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigRecord {
    /// Where the record starts: the message without it is `message[..start]`.
    pub start: usize,
    /// The key name (owner), lower-case.
    pub key_name: DomainName,
    /// The algorithm name as sent, lower-case, without the final dot.
    pub algorithm_name: String,
    /// Time Signed, seconds since the epoch (48 bits).
    pub time_signed: u64,
    /// Fudge, seconds.
    pub fudge: u16,
    /// The MAC as sent.
    pub mac: Vec<u8>,
    /// Original ID.
    pub original_id: u16,
    /// Error.
    pub error: u16,
    /// Other Data.
    pub other: Vec<u8>,
}

/// Why a message's TSIG could not even be read: answered FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed tsig: {0}")]
pub struct TsigFormatError(pub &'static str);

/// A request whose TSIG verified: what signing the answer needs.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The key it was signed with.
    pub key: TsigKey,
    /// The request's TSIG record.
    pub record: TsigRecord,
}

impl SignedRequest {
    /// The signer of the answer (its first message covers the request's MAC).
    pub fn signer(&self) -> ResponseSigner {
        ResponseSigner {
            key: self.key.clone(),
            prior_mac: self.record.mac.clone(),
            original_id: self.record.original_id,
            first: true,
            error: 0,
            time_override: None,
            other: Vec::new(),
        }
    }
}

/// A request whose TSIG failed a check; `error_response` builds the reply.
#[derive(Debug, Clone)]
pub struct TsigFailure {
    /// The TSIG error to send.
    pub error: TsigError,
    /// The request's TSIG record.
    pub record: TsigRecord,
    /// The key, when it was known (BADTIME and BADTRUNC replies are signed with it).
    pub key: Option<TsigKey>,
}

/// What checking a request's TSIG found.
#[derive(Debug, Clone)]
pub enum Verification {
    /// No TSIG record.
    Unsigned,
    /// Verified with a known key, within the fudge.
    Signed(SignedRequest),
    /// A check failed (§5.2).
    Failed(TsigFailure),
}

/// Signs the messages of one response (RFC 8945 §4.3, §5.3.1).
#[derive(Debug, Clone)]
pub struct ResponseSigner {
    /// The key.
    key: TsigKey,
    /// The request's MAC for the first message, then the previous message's MAC.
    prior_mac: Vec<u8>,
    /// The request's ID, carried as Original ID.
    original_id: u16,
    /// True until the first message is signed: it covers all TSIG variables.
    first: bool,
    /// The TSIG error to carry (BADTIME, BADTRUNC).
    error: u16,
    /// Time Signed to use instead of now (a BADTIME reply repeats the request's).
    time_override: Option<u64>,
    /// Other Data (a BADTIME reply carries our time).
    other: Vec<u8>,
}

impl ResponseSigner {
    /// The key this signer signs with.
    pub fn key(&self) -> &TsigKey {
        &self.key
    }

    /// Appends a TSIG record to `response` (a whole message, its ARCOUNT not counting the
    /// TSIG yet), signed at `now` (unix seconds), and increments ARCOUNT.
    pub fn sign(&mut self, response: &mut Vec<u8>, now: u64, fudge: u16) {
        let time_signed = self.time_override.unwrap_or(now);
        let mut data = Vec::with_capacity(response.len() + 128);
        data.extend_from_slice(&(self.prior_mac.len() as u16).to_be_bytes());
        data.extend_from_slice(&self.prior_mac);
        data.extend_from_slice(response);
        // The MAC covers the message with its own ID replaced by the original one (§4.3.1);
        // ours are the same, as we answer with the request's ID.
        if self.first {
            push_variables(
                &mut data,
                &self.key.name,
                self.key.algorithm.wire_name(),
                time_signed,
                fudge,
                self.error,
                &self.other,
            );
        } else {
            push_timers(&mut data, time_signed, fudge);
        }
        let mac = compute_mac(self.key.algorithm, &self.key.secret, &data);
        append_record(
            response,
            &self.key.name,
            self.key.algorithm.wire_name(),
            time_signed,
            fudge,
            &mac,
            self.original_id,
            self.error,
            &self.other,
        );
        self.prior_mac = mac;
        self.first = false;
    }
}

/// Finds and reads the TSIG record of `message`: `Ok(None)` when there is none; an error
/// when one is anywhere but last in the additional section, or is malformed.
pub fn find_tsig(message: &[u8]) -> Result<Option<TsigRecord>, TsigFormatError> {
    let err = |reason| TsigFormatError(reason);
    if message.len() < HEADER_LEN {
        return Err(err("shorter than a header"));
    }
    let count = |at: usize| u16::from_be_bytes([message[at], message[at + 1]]) as usize;
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    let mut pos = HEADER_LEN;
    for _ in 0..qdcount {
        pos = skip_name(message, pos).ok_or(err("question name runs past the end"))? + 4;
    }
    let records = ancount + nscount + arcount;
    let mut last_start = None;
    for index in 0..records {
        let start = pos;
        let name_end = skip_name(message, pos).ok_or(err("record name runs past the end"))?;
        let fixed = message
            .get(name_end..name_end + 10)
            .ok_or(err("record runs past the end"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlength = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        pos = name_end + 10 + rdlength;
        if pos > message.len() {
            return Err(err("record data runs past the end"));
        }
        if rtype == TYPE_TSIG {
            if index + 1 != records || arcount == 0 {
                return Err(err("tsig is not the last record of the additional section"));
            }
            last_start = Some(start);
        }
    }
    let Some(start) = last_start else {
        return Ok(None);
    };
    if pos != message.len() {
        return Err(err("octets after the tsig record"));
    }
    read_record(message, start).map(Some)
}

/// Reads the TSIG record at `start` (its owner name first).
fn read_record(message: &[u8], start: usize) -> Result<TsigRecord, TsigFormatError> {
    let err = |reason| TsigFormatError(reason);
    let (key_name, name_end) = read_name(message, start).ok_or(err("bad key name"))?;
    let fixed = &message[name_end..name_end + 10];
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    if class != CLASS_ANY || ttl != 0 {
        return Err(err("tsig class is not ANY or its ttl is not 0"));
    }
    let rdata_start = name_end + 10;
    let (algorithm, mut pos) = read_name(message, rdata_start).ok_or(err("bad algorithm"))?;
    let take = |pos: &mut usize, len: usize| -> Result<&[u8], TsigFormatError> {
        let slice = message
            .get(*pos..*pos + len)
            .ok_or(err("tsig rdata too short"))?;
        *pos += len;
        Ok(slice)
    };
    let time = take(&mut pos, 6)?;
    let time_signed = time
        .iter()
        .fold(0u64, |acc, octet| acc << 8 | u64::from(*octet));
    let fudge = u16::from_be_bytes(take(&mut pos, 2)?.try_into().expect("2 octets"));
    let mac_len = u16::from_be_bytes(take(&mut pos, 2)?.try_into().expect("2 octets")) as usize;
    let mac = take(&mut pos, mac_len)?.to_vec();
    let original_id = u16::from_be_bytes(take(&mut pos, 2)?.try_into().expect("2 octets"));
    let error = u16::from_be_bytes(take(&mut pos, 2)?.try_into().expect("2 octets"));
    let other_len = u16::from_be_bytes(take(&mut pos, 2)?.try_into().expect("2 octets")) as usize;
    let other = take(&mut pos, other_len)?.to_vec();
    if pos != message.len() {
        return Err(err("tsig rdata length does not match its fields"));
    }
    let algorithm_text = algorithm.to_string();
    Ok(TsigRecord {
        start,
        key_name,
        algorithm_name: algorithm_text
            .strip_suffix('.')
            .unwrap_or(&algorithm_text)
            .to_string(),
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// Checks the TSIG of a request against `keys` at `now` (unix seconds) with our `fudge`
/// (RFC 8945 §5.2). A format error is the caller's FORMERR.
pub fn verify_request(
    message: &[u8],
    keys: &BTreeMap<DomainName, TsigKey>,
    now: u64,
    fudge: u16,
) -> Result<Verification, TsigFormatError> {
    let Some(record) = find_tsig(message)? else {
        return Ok(Verification::Unsigned);
    };
    let failed = |error, record, key| Ok(Verification::Failed(TsigFailure { error, record, key }));
    let algorithm = TsigAlgorithm::from_name(&record.algorithm_name);
    let key = match keys.get(&record.key_name) {
        Some(key) if Some(key.algorithm) == algorithm => key.clone(),
        _ => return failed(TsigError::BadKey, record, None),
    };
    let full_len = key.algorithm.mac_len();
    if record.mac.len() > full_len || record.mac.len() < (full_len / 2).max(10) {
        return Err(TsigFormatError(
            "mac size out of the range rfc 8945 §5.2.2.1 allows",
        ));
    }
    let data = mac_input(None, message, &record);
    if !verify_mac(key.algorithm, &key.secret, &data, &record.mac) {
        return failed(TsigError::BadSig, record, Some(key));
    }
    if now.abs_diff(record.time_signed) > u64::from(fudge.min(record.fudge).max(1)) {
        return failed(TsigError::BadTime, record, Some(key));
    }
    if record.mac.len() < full_len {
        return failed(TsigError::BadTrunc, record, Some(key));
    }
    Ok(Verification::Signed(SignedRequest { key, record }))
}

/// The reply §5.2 asks for after `failure`: `response` (header and question already
/// written with RCODE NOTAUTH by the caller) gets the TSIG record: unsigned for BADKEY and
/// BADSIG, signed for BADTIME (with our time in Other Data and the request's time signed)
/// and BADTRUNC.
pub fn error_response(failure: &TsigFailure, response: &mut Vec<u8>, now: u64, fudge: u16) {
    let record = &failure.record;
    match (failure.error, &failure.key) {
        (TsigError::BadTime | TsigError::BadTrunc, Some(key)) => {
            let mut signer = ResponseSigner {
                key: key.clone(),
                prior_mac: record.mac.clone(),
                original_id: record.original_id,
                first: true,
                error: failure.error.code(),
                time_override: None,
                other: Vec::new(),
            };
            if failure.error == TsigError::BadTime {
                signer.time_override = Some(record.time_signed);
                signer.other = now.to_be_bytes()[2..].to_vec();
            }
            signer.sign(response, now, fudge);
        }
        (error, _) => append_record(
            response,
            &record.key_name,
            &record.algorithm_name,
            now,
            fudge,
            &[],
            record.original_id,
            error.code(),
            &[],
        ),
    }
}

/// Signs a request we send (`message` whole, its ARCOUNT not counting the TSIG yet) with
/// `key` at `now` (unix seconds): appends the TSIG record (full-length MAC, Original ID the
/// message's ID) and increments ARCOUNT (RFC 8945 §4.3.3). Returns the MAC, which the
/// answer's MAC covers (`verify_response`).
pub fn sign_request(key: &TsigKey, message: &mut Vec<u8>, now: u64, fudge: u16) -> Vec<u8> {
    sign_request_with_mac_len(key, message, now, fudge, key.algorithm.mac_len())
}

/// Why the answer to a request we signed does not count as signed by its sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseProblem {
    /// No TSIG record (§5.3.2: an unsigned answer to a signed request is not trusted).
    #[error("the answer is unsigned")]
    Unsigned,
    /// The TSIG record is malformed or misplaced.
    #[error("{0}")]
    Malformed(TsigFormatError),
    /// Signed with another key or algorithm than the request.
    #[error("the answer is signed with another key or algorithm ({0})")]
    OtherKey(String),
    /// The answer carries a TSIG error (the peer did not accept our signature: BADKEY,
    /// BADSIG, BADTIME, BADTRUNC).
    #[error("the answer carries tsig error {0}")]
    PeerError(u16),
    /// The MAC does not verify, or is truncated.
    #[error("the answer's mac does not verify")]
    BadMac,
    /// Time Signed is outside the fudge.
    #[error("the answer was signed at {0}, outside the fudge")]
    BadTime(u64),
}

/// Checks the answer `response` to a request we signed with `key` whose MAC was
/// `request_mac` (RFC 8945 §5.3.2, §4.3.1): a TSIG record with the same key and algorithm,
/// no error, a full-length MAC over the request's MAC, the answer (Original ID in place,
/// ARCOUNT without the TSIG) and the TSIG variables, and a time within `fudge` of `now`.
pub fn verify_response(
    key: &TsigKey,
    request_mac: &[u8],
    response: &[u8],
    now: u64,
    fudge: u16,
) -> Result<(), ResponseProblem> {
    let record = find_tsig(response)
        .map_err(ResponseProblem::Malformed)?
        .ok_or(ResponseProblem::Unsigned)?;
    if record.key_name != key.name
        || TsigAlgorithm::from_name(&record.algorithm_name) != Some(key.algorithm)
    {
        return Err(ResponseProblem::OtherKey(format!(
            "{} {}",
            record.key_name, record.algorithm_name
        )));
    }
    if record.error != 0 {
        return Err(ResponseProblem::PeerError(record.error));
    }
    if record.mac.len() != key.algorithm.mac_len() {
        return Err(ResponseProblem::BadMac);
    }
    let data = mac_input(Some(request_mac), response, &record);
    if !verify_mac(key.algorithm, &key.secret, &data, &record.mac) {
        return Err(ResponseProblem::BadMac);
    }
    if now.abs_diff(record.time_signed) > u64::from(fudge.min(record.fudge).max(1)) {
        return Err(ResponseProblem::BadTime(record.time_signed));
    }
    Ok(())
}

/// `sign_request` with the MAC cut to `mac_len` octets (tests send truncated MACs).
fn sign_request_with_mac_len(
    key: &TsigKey,
    message: &mut Vec<u8>,
    now: u64,
    fudge: u16,
    mac_len: usize,
) -> Vec<u8> {
    let mut data = message.clone();
    let algorithm = key.algorithm.wire_name();
    push_variables(&mut data, &key.name, algorithm, now, fudge, 0, &[]);
    let mac = compute_mac(key.algorithm, &key.secret, &data);
    let original_id = u16::from_be_bytes([message[0], message[1]]);
    let mac = mac[..mac_len.min(mac.len())].to_vec();
    append_record(
        message,
        &key.name,
        algorithm,
        now,
        fudge,
        &mac,
        original_id,
        0,
        &[],
    );
    mac
}

/// Appends a TSIG record and counts it in ARCOUNT.
#[allow(clippy::too_many_arguments)]
fn append_record(
    message: &mut Vec<u8>,
    key_name: &DomainName,
    algorithm_name: &str,
    time_signed: u64,
    fudge: u16,
    mac: &[u8],
    original_id: u16,
    error: u16,
    other: &[u8],
) {
    message.extend_from_slice(key_name.as_wire());
    message.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    message.extend_from_slice(&CLASS_ANY.to_be_bytes());
    message.extend_from_slice(&0u32.to_be_bytes());
    let algorithm = algorithm_wire(algorithm_name);
    let rdlength = algorithm.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2 + other.len();
    message.extend_from_slice(&(rdlength as u16).to_be_bytes());
    message.extend_from_slice(&algorithm);
    message.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    message.extend_from_slice(&fudge.to_be_bytes());
    message.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    message.extend_from_slice(mac);
    message.extend_from_slice(&original_id.to_be_bytes());
    message.extend_from_slice(&error.to_be_bytes());
    message.extend_from_slice(&(other.len() as u16).to_be_bytes());
    message.extend_from_slice(other);
    let arcount = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
}

/// What a received TSIG's MAC covers (RFC 8945 §4.3.1, §4.3.3): for an answer the request's
/// MAC first (its length, then the octets), then the message up to the TSIG record with its
/// Original ID in place and ARCOUNT without the TSIG, then the TSIG variables.
fn mac_input(request_mac: Option<&[u8]>, message: &[u8], record: &TsigRecord) -> Vec<u8> {
    let prefix = request_mac.map_or(0, |mac| 2 + mac.len());
    let mut data = Vec::with_capacity(prefix + record.start + 64);
    if let Some(mac) = request_mac {
        data.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        data.extend_from_slice(mac);
    }
    data.extend_from_slice(&message[..record.start]);
    let header = &mut data[prefix..prefix + 12];
    header[0..2].copy_from_slice(&record.original_id.to_be_bytes());
    let arcount = u16::from_be_bytes([header[10], header[11]]) - 1;
    header[10..12].copy_from_slice(&arcount.to_be_bytes());
    push_variables(
        &mut data,
        &record.key_name,
        &record.algorithm_name,
        record.time_signed,
        record.fudge,
        record.error,
        &record.other,
    );
    data
}

/// The TSIG variables of §4.3.3, appended to the data a MAC covers.
fn push_variables(
    data: &mut Vec<u8>,
    key_name: &DomainName,
    algorithm_name: &str,
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
) {
    data.extend_from_slice(key_name.as_wire());
    data.extend_from_slice(&CLASS_ANY.to_be_bytes());
    data.extend_from_slice(&0u32.to_be_bytes());
    data.extend_from_slice(&algorithm_wire(algorithm_name));
    push_timers(data, time_signed, fudge);
    data.extend_from_slice(&error.to_be_bytes());
    data.extend_from_slice(&(other.len() as u16).to_be_bytes());
    data.extend_from_slice(other);
}

/// Time Signed and Fudge, the only variables later messages of a stream cover (§5.3.1).
fn push_timers(data: &mut Vec<u8>, time_signed: u64, fudge: u16) {
    data.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    data.extend_from_slice(&fudge.to_be_bytes());
}

/// An algorithm name (lower-case, no final dot) in canonical wire form.
fn algorithm_wire(name: &str) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|label| !label.is_empty()) {
        let label = &label.as_bytes()[..label.len().min(63)];
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}

/// HMAC of `data` with `secret`.
fn compute_mac(algorithm: TsigAlgorithm, secret: &[u8], data: &[u8]) -> Vec<u8> {
    fn run<D>(secret: &[u8], data: &[u8]) -> Vec<u8>
    where
        D: hmac::digest::Digest + hmac::digest::core_api::BlockSizeUser,
    {
        let mut mac =
            <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(secret).expect("any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        TsigAlgorithm::HmacMd5 => run::<md5::Md5>(secret, data),
        TsigAlgorithm::HmacSha1 => run::<sha1::Sha1>(secret, data),
        TsigAlgorithm::HmacSha224 => run::<sha2::Sha224>(secret, data),
        TsigAlgorithm::HmacSha256 => run::<sha2::Sha256>(secret, data),
        TsigAlgorithm::HmacSha384 => run::<sha2::Sha384>(secret, data),
        TsigAlgorithm::HmacSha512 => run::<sha2::Sha512>(secret, data),
    }
}

/// Checks `tag` (possibly truncated to its leftmost octets) in constant time.
fn verify_mac(algorithm: TsigAlgorithm, secret: &[u8], data: &[u8], tag: &[u8]) -> bool {
    fn run<D>(secret: &[u8], data: &[u8], tag: &[u8]) -> bool
    where
        D: hmac::digest::Digest + hmac::digest::core_api::BlockSizeUser,
    {
        let mut mac =
            <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(secret).expect("any length");
        mac.update(data);
        mac.verify_truncated_left(tag).is_ok()
    }
    match algorithm {
        TsigAlgorithm::HmacMd5 => run::<md5::Md5>(secret, data, tag),
        TsigAlgorithm::HmacSha1 => run::<sha1::Sha1>(secret, data, tag),
        TsigAlgorithm::HmacSha224 => run::<sha2::Sha224>(secret, data, tag),
        TsigAlgorithm::HmacSha256 => run::<sha2::Sha256>(secret, data, tag),
        TsigAlgorithm::HmacSha384 => run::<sha2::Sha384>(secret, data, tag),
        TsigAlgorithm::HmacSha512 => run::<sha2::Sha512>(secret, data, tag),
    }
}

/// Skips a possibly compressed name; the offset after it.
fn skip_name(message: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *message.get(pos)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + len,
            0xC0 => return (pos + 2 <= message.len()).then_some(pos + 2),
            _ => return None,
        }
    }
}

/// Reads a possibly compressed name at `pos` (pointers followed, at most 128 of them);
/// the name and the offset after it in place.
pub(crate) fn read_name(message: &[u8], start: usize) -> Option<(DomainName, usize)> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut pos = start;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *message.get(pos)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                let end = end.unwrap_or(pos + 1);
                return DomainName::from_labels(labels).ok().map(|name| (name, end));
            }
            0x00 => {
                labels.push(message.get(pos + 1..pos + 1 + len)?);
                pos += 1 + len;
            }
            0xC0 => {
                jumps += 1;
                if jumps > 128 {
                    return None;
                }
                let target = (len & 0x3F) << 8 | *message.get(pos + 1)? as usize;
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(algorithm: TsigAlgorithm) -> TsigKey {
        TsigKey {
            name: DomainName::parse_absolute("test-key.").unwrap(),
            algorithm,
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            update: vec![],
            transfer: vec![],
        }
    }

    fn query() -> Vec<u8> {
        let mut message = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(b"\x03www\x07example\x00\x00\x01\x00\x01");
        message
    }

    /// A client's signature at `time` with fudge 300, its MAC cut to `mac_len` octets.
    fn sign_request(key: &TsigKey, message: &mut Vec<u8>, time: u64, mac_len: usize) {
        sign_request_with_mac_len(key, message, time, 300, mac_len);
    }

    fn keys(key: &TsigKey) -> BTreeMap<DomainName, TsigKey> {
        BTreeMap::from([(key.name.clone(), key.clone())])
    }

    #[test]
    fn every_algorithm_verifies_its_own_signature() {
        for algorithm in TsigAlgorithm::ALL {
            let key = key(algorithm);
            let mut message = query();
            sign_request(&key, &mut message, 1000, algorithm.mac_len());
            match verify_request(&message, &keys(&key), 1010, 300).unwrap() {
                Verification::Signed(signed) => assert_eq!(signed.key.algorithm, algorithm),
                other => panic!("{algorithm}: {other:?}"),
            }
        }
    }

    #[test]
    fn failures_are_named_as_rfc_8945_says() {
        let key = key(TsigAlgorithm::HmacSha256);
        let verdict = |message: &[u8], now| match verify_request(message, &keys(&key), now, 300) {
            Ok(Verification::Failed(failure)) => Some(failure.error),
            Ok(_) => None,
            Err(_) => panic!("format error"),
        };
        let mut good = query();
        sign_request(&key, &mut good, 1000, 32);
        assert_eq!(verdict(&good, 1000 + 301), Some(TsigError::BadTime));
        let mut bad_mac = good.clone();
        let last_mac_octet = good.len() - 6 - 1;
        bad_mac[last_mac_octet] ^= 1;
        assert_eq!(verdict(&bad_mac, 1000), Some(TsigError::BadSig));
        let mut truncated = query();
        sign_request(&key, &mut truncated, 1000, 16);
        assert_eq!(verdict(&truncated, 1000), Some(TsigError::BadTrunc));
        let mut too_short = query();
        sign_request(&key, &mut too_short, 1000, 8);
        assert!(verify_request(&too_short, &keys(&key), 1000, 300).is_err());
        let other = TsigKey {
            name: DomainName::parse_absolute("other.").unwrap(),
            ..key.clone()
        };
        let mut unknown = query();
        sign_request(&other, &mut unknown, 1000, 32);
        assert_eq!(verdict(&unknown, 1000), Some(TsigError::BadKey));
        assert!(matches!(
            verify_request(&query(), &keys(&key), 1000, 300),
            Ok(Verification::Unsigned)
        ));
    }

    #[test]
    fn a_signed_response_verifies_with_the_request_mac() {
        let key = key(TsigAlgorithm::HmacMd5);
        let mut request = query();
        sign_request(&key, &mut request, 1000, 16);
        let Verification::Signed(signed) =
            verify_request(&request, &keys(&key), 1000, 300).unwrap()
        else {
            panic!("not verified");
        };
        let mut response = query();
        response[2] |= 0x80;
        let unsigned_len = response.len();
        signed.signer().sign(&mut response, 1001, 300);
        let record = find_tsig(&response).unwrap().unwrap();
        assert_eq!(record.start, unsigned_len);
        let mut data = Vec::new();
        data.extend_from_slice(&(signed.record.mac.len() as u16).to_be_bytes());
        data.extend_from_slice(&signed.record.mac);
        data.extend_from_slice(&response[..unsigned_len]);
        // The MAC covers the header as it was before the TSIG was counted.
        data[2 + signed.record.mac.len() + 11] -= 1;
        push_variables(
            &mut data,
            &key.name,
            key.algorithm.wire_name(),
            1001,
            300,
            0,
            &[],
        );
        assert!(verify_mac(key.algorithm, &key.secret, &data, &record.mac));
    }

    /// The answer to a request we signed counts only when signed by the same key over our
    /// MAC, in time (RFC 8945 §5.3.2); everything else is named.
    #[test]
    fn responses_to_our_requests_are_verified() {
        let key = key(TsigAlgorithm::HmacSha256);
        let mut request = query();
        let request_mac = super::sign_request(&key, &mut request, 1000, 300);
        let Verification::Signed(signed) =
            verify_request(&request, &keys(&key), 1000, 300).unwrap()
        else {
            panic!("not verified");
        };
        let mut unsigned = query();
        unsigned[2] |= 0x80;
        let mut good = unsigned.clone();
        signed.signer().sign(&mut good, 1001, 300);
        assert_eq!(
            verify_response(&key, &request_mac, &good, 1002, 300),
            Ok(())
        );
        assert_eq!(
            verify_response(&key, &request_mac, &good, 1001 + 301, 300),
            Err(ResponseProblem::BadTime(1001))
        );
        assert_eq!(
            verify_response(&key, &request_mac, &unsigned, 1001, 300),
            Err(ResponseProblem::Unsigned)
        );
        let mut tampered = good.clone();
        tampered[3] ^= 0x01;
        assert_eq!(
            verify_response(&key, &request_mac, &tampered, 1001, 300),
            Err(ResponseProblem::BadMac)
        );
        // Over another request's MAC (a reply to someone else's request) it fails too.
        assert_eq!(
            verify_response(&key, &[0u8; 32], &good, 1001, 300),
            Err(ResponseProblem::BadMac)
        );
        // The request's own TSIG echoed back is not a signature of the answer.
        let mut echoed = request.clone();
        echoed[2] |= 0x80;
        assert_eq!(
            verify_response(&key, &request_mac, &echoed, 1001, 300),
            Err(ResponseProblem::BadMac)
        );
        let other = TsigKey {
            name: DomainName::parse_absolute("other.").unwrap(),
            ..key.clone()
        };
        let mut by_other = unsigned.clone();
        super::sign_request(&other, &mut by_other, 1001, 300);
        assert!(matches!(
            verify_response(&key, &request_mac, &by_other, 1001, 300),
            Err(ResponseProblem::OtherKey(_))
        ));
        let mut refused = unsigned.clone();
        error_response(
            &TsigFailure {
                error: TsigError::BadKey,
                record: signed.record.clone(),
                key: None,
            },
            &mut refused,
            1001,
            300,
        );
        assert_eq!(
            verify_response(&key, &request_mac, &refused, 1001, 300),
            Err(ResponseProblem::PeerError(17))
        );
    }
}
