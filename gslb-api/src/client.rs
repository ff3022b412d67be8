//! `Client`: typed calls of the REST API over HTTP or https, used by `gslbctl`, the prober
//! and the tests.
//!
//! Every failure is a `ClientError`; an API error keeps the server's `ErrorBody`, so callers
//! print its message and fields as they came. Lists follow `next` until the last page.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::dto::{
    AddLearnerRequest, AuditEntryDto, AuditPage, BatchRequest, ChangeStatusDto,
    ChangeVotersRequest, ClusterStatus, DnssecEnable, DnssecRollover, DnssecStatusDto, EndpointDto,
    EndpointPage, MembershipResult, RecordPage, RecordSetDto, RegionDto, RegionPage, SyncStatus,
    TokenCreate, TokenCreated, TokenDto, TokenPage, TsigKeyCreate, TsigKeyCreated, TsigKeyDto,
    TsigKeyPage, WriteResult, ZoneDto, ZonePage, ZoneSummary, ZoneTransferDto,
};
use crate::error::ErrorBody;
use gslb_store::raft::ClientTls;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made: the request was never sent.
    #[error("cannot connect to {url}: {detail}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("cannot reach {url}: {detail}")]
    Transport {
        /// The URL called.
        url: String,
        /// What failed.
        detail: String,
    },
    /// No complete answer came within the call's time limit (connecting and reading).
    #[error("no answer from {url} within {after:?}")]
    TimedOut {
        /// The URL called.
        url: String,
        /// The limit that ran out.
        after: Duration,
    },
    /// Something answered that is not a gslb API: not HTTP at all, or an HTTP error
    /// without the API's JSON error body (a web server's 404 page).
    #[error("{url} is not a gslb API: {detail}")]
    NotGslb {
        /// The URL called.
        url: String,
        /// What came back instead.
        detail: String,
    },
    /// The API answered with an error.
    #[error("{} ({status}): {}", body.code, body.message)]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error body.
        body: ErrorBody,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from {url}: {detail}")]
    Decode {
        /// The URL called.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A change did not reach every DNS node in time.
    #[error(
        "version {version} not INSYNC after {waited:?}; still waiting for DNS nodes {waiting:?}"
    )]
    NotInSync {
        /// The version waited for.
        version: u64,
        /// How long it waited.
        waited: Duration,
        /// The DNS nodes still behind.
        waiting: Vec<u64>,
    },
    /// The base URL is unusable.
    #[error("bad api url {0:?}: must start with http:// or https://")]
    BadUrl(String),
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An error with its causes (`error sending request: ...: invalid peer certificate: ...`):
/// reqwest's own message hides why TLS or the connection failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of an unexpected body, for an error message: `: "<html>..."` or nothing.
fn body_excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let excerpt: String = text.chars().take(80).collect();
    format!(": {excerpt:?}")
}

/// Whether a transport error means the peer does not speak HTTP (hyper could not parse
/// what came back).
fn is_not_http(detail: &str) -> bool {
    [
        "invalid HTTP",
        "http parse",
        "invalid status",
        "invalid header",
        "message head is too large",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

/// Percent-encodes one path segment (names may hold `*`, `\` escapes, `/`).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A page of a list, for `Client::list_all`.
pub trait Paged: DeserializeOwned {
    /// The item type.
    type Item;
    /// The items and the cursor of the next page.
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! paged {
    ($page:ty, $item:ty) => {
        impl Paged for $page {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, Option<String>) {
                (self.items, self.next)
            }
        }
    };
}
paged!(ZonePage, ZoneSummary);
paged!(RecordPage, RecordSetDto);
paged!(RegionPage, RegionDto);
paged!(EndpointPage, EndpointDto);
paged!(TokenPage, TokenDto);
paged!(TsigKeyPage, TsigKeyDto);
paged!(AuditPage, AuditEntryDto);
paged!(crate::dto::GslbRecordPage, crate::dto::GslbRecordDto);
paged!(crate::dto::CheckPage, crate::dto::CheckDto);
paged!(crate::dto::OverridePage, crate::dto::OverrideDto);
paged!(crate::dto::NetworkPage, crate::dto::NetworkDto);
paged!(crate::dto::DrillPage, crate::dto::DrillDto);

/// A client of one or several API base URLs (`http://a:8053,http://b:8053`, tried in
/// order) with an optional bearer token. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    /// The HTTP client.
    http: reqwest::Client,
    /// Every base URL (`http://host:port`, without a trailing slash), in the order given; a call moves to the next when one is unreachable.
    bases: Arc<[String]>,
    /// The index into `bases` that answered last: later calls start there, so a dead first
    /// address costs one refused connection, not one per call.
    preferred: Arc<AtomicUsize>,
    /// How long a call keeps retrying refusals that are known not to have been applied
    /// (see `retry_class`) with backoff; zero: one pass over `bases`.
    retry_within: Duration,
    /// The bearer token.
    token: Option<String>,
}

/// What a failed attempt allows: whether the same request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// The request never reached a server (connection refused, unreachable, DNS): send it
    /// to the next address at once.
    NextAddress,
    /// The server refused it and says nothing was written (no leader, no quorum, not the
    /// leader), or it was a read: send it again after a backoff, to any address.
    Backoff,
    /// Final: an answer to give the caller, or a write whose outcome is unknown (sending
    /// it again could apply it twice).
    Final,
}

/// Messages of `503` refusals the store gives only when nothing was proposed
/// (`gslb_store::raft::WriteError`'s `NoLeader`, `NoQuorum`, `NotLeader`, and the follower
/// that did not forward because its leader had gone silent).
const NOT_APPLIED_503: [&str; 4] = [
    "no leader known",
    "nothing was written",
    "is not the leader",
    "nothing was forwarded",
];

/// Whether `error`, met sending a `method` request, may be retried and how. Reads (GET,
/// HEAD) are always safe to repeat; a write is repeated only when it is known not to have
/// been applied.
pub fn retry_class(method: &Method, error: &ClientError) -> RetryClass {
    let read = matches!(*method, Method::GET | Method::HEAD);
    match error {
        ClientError::Unreachable { .. } => RetryClass::NextAddress,
        ClientError::Transport { .. } | ClientError::TimedOut { .. } if read => RetryClass::Backoff,
        ClientError::Api { status: 503, body }
            if read
                || NOT_APPLIED_503
                    .iter()
                    .any(|text| body.message.contains(text)) =>
        {
            RetryClass::Backoff
        }
        _ => RetryClass::Final,
    }
}

/// A successful answer: its body and headers.
#[derive(Debug)]
pub struct Answer<T> {
    /// The decoded body.
    pub body: T,
    /// The response headers (`ETag`, `x-gslb-version`).
    pub headers: HeaderMap,
}

impl Client {
    /// A client of `base` (e.g. `http://127.0.0.1:8053`); an `https://` base trusts the
    /// system roots.
    pub fn new(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        Client::with_tls(base, token, &ClientTls::plain())
    }

    /// A client of `base` whose https connections trust as `tls` says (gslbctl's
    /// `--ca-cert`, a prober's `[control.tls].ca`). `base` may list several URLs separated
    /// by commas; they are tried in order.
    pub fn with_tls(
        base: &str,
        token: Option<String>,
        tls: &ClientTls,
    ) -> Result<Client, ClientError> {
        let bases: Vec<String> = base
            .split(',')
            .map(|one| one.trim().trim_end_matches('/').to_string())
            .filter(|one| !one.is_empty())
            .collect();
        if bases.is_empty() {
            return Err(ClientError::BadUrl(base.to_string()));
        }
        if let Some(bad) = bases
            .iter()
            .find(|one| !(one.starts_with("http://") || one.starts_with("https://")))
        {
            return Err(ClientError::BadUrl(bad.clone()));
        }
        let http = tls
            .builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| ClientError::Transport {
                url: base.to_string(),
                detail: error.to_string(),
            })?;
        Ok(Client {
            http,
            bases: bases.into(),
            preferred: Arc::new(AtomicUsize::new(0)),
            retry_within: Duration::ZERO,
            token,
        })
    }

    /// This client, retrying refusals known not to have been applied (and reads) with
    /// backoff for up to `budget` per call, and giving up on a call (connecting, sending
    /// and reading the answer, retries included) once `budget` has passed: gslbctl passes
    /// its `--timeout`.
    pub fn retrying_within(mut self, budget: Duration) -> Client {
        self.retry_within = budget;
        self
    }

    /// The base URL that answered last (the first one before any call).
    pub fn base(&self) -> &str {
        &self.bases[self.preferred.load(Ordering::Relaxed) % self.bases.len()]
    }

    /// Sends a request and returns the raw response when it succeeded: to each base URL in
    /// turn, starting with the one that answered last, moving on when one cannot be
    /// connected to, and repeating refusals that `retry_class` allows with backoff inside
    /// `retry_within`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, ClientError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let first = self.preferred.load(Ordering::Relaxed);
            let mut last_error = None;
            for step in 0..self.bases.len() {
                let index = (first + step) % self.bases.len();
                let limit = (!self.retry_within.is_zero()).then(|| {
                    self.retry_within
                        .saturating_sub(started.elapsed())
                        .max(Duration::from_millis(1))
                });
                let attempt = self
                    .send_to(&self.bases[index], &method, path, &body, &headers, limit)
                    .await;
                match attempt {
                    Ok(response) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        return Ok(response);
                    }
                    Err(ClientError::TimedOut { url, .. }) if !self.retry_within.is_zero() => {
                        // The whole budget is what ran out, not this attempt's rest of it.
                        return Err(ClientError::TimedOut {
                            url,
                            after: self.retry_within,
                        });
                    }
                    Err(error) => match retry_class(&method, &error) {
                        RetryClass::Final => return Err(error),
                        RetryClass::NextAddress | RetryClass::Backoff => last_error = Some(error),
                    },
                }
            }
            let error = last_error.unwrap_or_else(|| ClientError::BadUrl(String::new()));
            if started.elapsed() + delay > self.retry_within {
                return Err(error);
            }
            tracing::debug!("retrying {method} {path} in {delay:?}: {error}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// One attempt of `send` against `base`, taking at most `limit` when there is one.
    async fn send_to(
        &self,
        base: &str,
        method: &Method,
        path: &str,
        body: &Option<(Vec<u8>, &'static str)>,
        headers: &HeaderMap,
        limit: Option<Duration>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = format!("{base}{path}");
        let method = method.clone();
        let headers = headers.clone();
        let mut request = self.http.request(method, &url).headers(headers);
        if let Some(limit) = limit {
            request = request.timeout(limit);
        }
        if let Some(token) = &self.token {
            if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
                request = request.header(AUTHORIZATION, value);
            }
        }
        if let Some((bytes, content_type)) = body {
            request = request
                .header(CONTENT_TYPE, *content_type)
                .body(bytes.clone());
        }
        let response = request.send().await.map_err(|error| {
            let detail = error_chain(&error);
            if error.is_timeout() {
                ClientError::TimedOut {
                    url: url.clone(),
                    after: limit.unwrap_or(Duration::from_secs(60)),
                }
            } else if error.is_connect() {
                ClientError::Unreachable {
                    url: url.clone(),
                    detail,
                }
            } else if is_not_http(&detail) {
                ClientError::NotGslb {
                    url: url.clone(),
                    detail: format!("it does not speak HTTP ({detail})"),
                }
            } else {
                ClientError::Transport {
                    url: url.clone(),
                    detail,
                }
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let bytes = response.bytes().await.unwrap_or_default();
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(ClientError::Api {
                status: status.as_u16(),
                body,
            }),
            Err(_) => Err(ClientError::NotGslb {
                url,
                detail: format!(
                    "it answered {status} without the API's JSON error body{}",
                    body_excerpt(&bytes)
                ),
            }),
        }
    }

    /// Calls `method path` with an optional JSON body and decodes the JSON answer.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: HeaderMap,
    ) -> Result<Answer<T>, ClientError> {
        let body = match body {
            Some(body) => Some((
                serde_json::to_vec(body).map_err(|error| ClientError::Decode {
                    url: path.to_string(),
                    detail: error.to_string(),
                })?,
                "application/json",
            )),
            None => None,
        };
        let response = self.send(method, path, body, headers).await?;
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Transport {
                url: path.to_string(),
                detail: error.to_string(),
            })?;
        let body = serde_json::from_slice(&bytes).map_err(|error| ClientError::Decode {
            url: path.to_string(),
            detail: error.to_string(),
        })?;
        Ok(Answer { body, headers })
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        Ok(self
            .call::<(), T>(Method::GET, path, None, HeaderMap::new())
            .await?
            .body)
    }

    /// GET a text resource (a zone file, a report).
    pub async fn get_text(&self, path: String) -> Result<String, ClientError> {
        let response = self
            .send(Method::GET, &path, None, HeaderMap::new())
            .await?;
        response.text().await.map_err(|error| ClientError::Decode {
            url: path,
            detail: error.to_string(),
        })
    }

    /// Sends a JSON body and expects a `WriteResult`.
    pub async fn write<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<WriteResult, ClientError> {
        Ok(self.call(method, path, body, HeaderMap::new()).await?.body)
    }

    /// Every item of a paginated list.
    pub async fn list_all<P: Paged>(&self, path: &str) -> Result<Vec<P::Item>, ClientError> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let url = match &after {
                Some(after) => format!("{path}?limit=1000&after={}", segment(after)),
                None => format!("{path}?limit=1000"),
            };
            let (page, next) = self.get::<P>(&url).await?.into_parts();
            items.extend(page);
            match next {
                Some(next) => after = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// All zones.
    pub async fn list_zones(&self) -> Result<Vec<ZoneSummary>, ClientError> {
        self.list_all::<ZonePage>("/v1/zones").await
    }

    /// One zone with its records.
    pub async fn get_zone(&self, apex: &str) -> Result<ZoneDto, ClientError> {
        self.get(&format!("/v1/zones/{}", segment(apex))).await
    }

    /// Creates or replaces a zone.
    pub async fn put_zone(&self, zone: &ZoneDto) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/zones/{}", segment(&zone.apex));
        self.write(Method::PUT, &path, Some(zone)).await
    }

    /// Deletes a zone.
    pub async fn delete_zone(&self, apex: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/zones/{}", segment(apex));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// Imports an RFC 1035 master file as zone `apex`.
    pub async fn import_zone(&self, apex: &str, text: &str) -> Result<WriteResult, ClientError> {
        Ok(self.import_zone_with_warnings(apex, text).await?.0)
    }

    /// `import_zone`, also returning the server's warnings about the file (identical
    /// records it merged), each `line N: message`, from the reply's `Warning` headers.
    pub async fn import_zone_with_warnings(
        &self,
        apex: &str,
        text: &str,
    ) -> Result<(WriteResult, Vec<String>), ClientError> {
        let path = format!("/v1/zones/{}/zonefile", segment(apex));
        let response = self
            .send(
                Method::PUT,
                &path,
                Some((text.as_bytes().to_vec(), "text/dns")),
                HeaderMap::new(),
            )
            .await?;
        let warnings = response
            .headers()
            .get_all(reqwest::header::WARNING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| {
                let text = value.strip_prefix("299 gslb \"")?.strip_suffix('"')?;
                Some(text.to_string())
            })
            .collect();
        let written =
            response
                .json::<WriteResult>()
                .await
                .map_err(|error| ClientError::Decode {
                    url: path,
                    detail: error.to_string(),
                })?;
        Ok((written, warnings))
    }

    /// The transfer settings of zone `apex`.
    pub async fn get_zone_transfer(&self, apex: &str) -> Result<ZoneTransferDto, ClientError> {
        self.get(&format!("/v1/zones/{}/transfer", segment(apex)))
            .await
    }

    /// Replaces the transfer settings of zone `apex`.
    pub async fn put_zone_transfer(
        &self,
        apex: &str,
        transfer: &ZoneTransferDto,
    ) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/zones/{}/transfer", segment(apex));
        self.write(Method::PUT, &path, Some(transfer)).await
    }

    /// Exports zone `apex` as an RFC 1035 master file.
    pub async fn export_zone(&self, apex: &str) -> Result<String, ClientError> {
        self.get_text(format!("/v1/zones/{}/zonefile", segment(apex)))
            .await
    }

    /// All record sets of a zone.
    pub async fn list_records(&self, apex: &str) -> Result<Vec<RecordSetDto>, ClientError> {
        self.list_all::<RecordPage>(&format!("/v1/zones/{}/records", segment(apex)))
            .await
    }

    /// Creates or replaces one record set.
    pub async fn put_record(
        &self,
        apex: &str,
        record: &RecordSetDto,
    ) -> Result<WriteResult, ClientError> {
        let path = keyed_path("records", apex, &record.name, &type_text(record.rtype));
        self.write(Method::PUT, &path, Some(record)).await
    }

    /// Deletes one record set.
    pub async fn delete_record(
        &self,
        apex: &str,
        name: &str,
        rtype: &str,
    ) -> Result<WriteResult, ClientError> {
        let path = keyed_path("records", apex, name, rtype);
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All GSLB records of a zone.
    pub async fn list_gslb_records(
        &self,
        apex: &str,
    ) -> Result<Vec<crate::dto::GslbRecordDto>, ClientError> {
        self.list_all::<crate::dto::GslbRecordPage>(&format!(
            "/v1/zones/{}/gslb-records",
            segment(apex)
        ))
        .await
    }

    /// Creates or replaces a GSLB record.
    pub async fn put_gslb_record(
        &self,
        apex: &str,
        record: &crate::dto::GslbRecordDto,
    ) -> Result<WriteResult, ClientError> {
        let path = keyed_path("gslb-records", apex, &record.name, &type_text(record.rtype));
        self.write(Method::PUT, &path, Some(record)).await
    }

    /// Deletes a GSLB record.
    pub async fn delete_gslb_record(
        &self,
        apex: &str,
        name: &str,
        rtype: &str,
    ) -> Result<WriteResult, ClientError> {
        let path = keyed_path("gslb-records", apex, name, rtype);
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All regions.
    pub async fn list_regions(&self) -> Result<Vec<RegionDto>, ClientError> {
        self.list_all::<RegionPage>("/v1/regions").await
    }

    /// Creates or replaces a region.
    pub async fn put_region(&self, region: &RegionDto) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/regions/{}", segment(&region.id));
        self.write(Method::PUT, &path, Some(region)).await
    }

    /// Deletes a region.
    pub async fn delete_region(&self, id: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/regions/{}", segment(id));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All endpoints.
    pub async fn list_endpoints(&self) -> Result<Vec<EndpointDto>, ClientError> {
        self.list_all::<EndpointPage>("/v1/endpoints").await
    }

    /// Creates or replaces an endpoint.
    pub async fn put_endpoint(&self, endpoint: &EndpointDto) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/endpoints/{}", segment(&endpoint.id));
        self.write(Method::PUT, &path, Some(endpoint)).await
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(&self, id: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/endpoints/{}", segment(id));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All checks.
    pub async fn list_checks(&self) -> Result<Vec<crate::dto::CheckDto>, ClientError> {
        self.list_all::<crate::dto::CheckPage>("/v1/checks").await
    }

    /// Creates or replaces a check.
    pub async fn put_check(
        &self,
        check: &crate::dto::CheckDto,
    ) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/checks/{}", segment(&check.id));
        self.write(Method::PUT, &path, Some(check)).await
    }

    /// Deletes a check.
    pub async fn delete_check(&self, id: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/checks/{}", segment(id));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All overrides.
    pub async fn list_overrides(&self) -> Result<Vec<crate::dto::OverrideDto>, ClientError> {
        self.list_all::<crate::dto::OverridePage>("/v1/overrides")
            .await
    }

    /// Creates or replaces an override.
    pub async fn put_override(
        &self,
        rule: &crate::dto::OverrideDto,
    ) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/overrides/{}", segment(&rule.id));
        self.write(Method::PUT, &path, Some(rule)).await
    }

    /// Deletes an override.
    pub async fn delete_override(&self, id: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/overrides/{}", segment(id));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// The whole client-network table.
    pub async fn list_networks(&self) -> Result<Vec<crate::dto::NetworkDto>, ClientError> {
        self.list_all::<crate::dto::NetworkPage>("/v1/networks")
            .await
    }

    /// Creates or replaces a client network (keyed by its CIDR).
    pub async fn put_network(
        &self,
        network: &crate::dto::NetworkDto,
    ) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/networks/{}", segment(network.cidr.trim()));
        self.write(Method::PUT, &path, Some(network)).await
    }

    /// Deletes a client network by its CIDR.
    pub async fn delete_network(&self, cidr: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/networks/{}", segment(cidr.trim()));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// All drills.
    pub async fn list_drills(&self) -> Result<Vec<crate::dto::DrillDto>, ClientError> {
        self.list_all::<crate::dto::DrillPage>("/v1/drills").await
    }

    /// One drill.
    pub async fn get_drill(&self, id: &str) -> Result<crate::dto::DrillDto, ClientError> {
        self.get(&format!("/v1/drills/{}", segment(id))).await
    }

    /// Plans a drill (changes nothing).
    pub async fn plan_drill(
        &self,
        request: &crate::routes::drills::PlanRequest,
    ) -> Result<crate::drills::DrillPlan, ClientError> {
        Ok(self
            .call(
                Method::POST,
                "/v1/drills/plan",
                Some(request),
                HeaderMap::new(),
            )
            .await?
            .body)
    }

    /// Starts a drill.
    pub async fn start_drill(
        &self,
        request: &crate::routes::drills::StartRequest,
    ) -> Result<crate::routes::drills::DrillStarted, ClientError> {
        Ok(self
            .call(Method::POST, "/v1/drills", Some(request), HeaderMap::new())
            .await?
            .body)
    }

    /// Aborts a running drill.
    pub async fn abort_drill(
        &self,
        id: &str,
        reason: Option<String>,
    ) -> Result<crate::dto::DrillDto, ClientError> {
        let body = crate::routes::drills::AbortRequest { reason };
        let path = format!("/v1/drills/{}/abort", segment(id));
        Ok(self
            .call(Method::POST, &path, Some(&body), HeaderMap::new())
            .await?
            .body)
    }

    /// A drill's Markdown report.
    pub async fn drill_report(&self, id: &str) -> Result<String, ClientError> {
        self.get_text(format!("/v1/drills/{}/report?format=markdown", segment(id)))
            .await
    }

    /// All tokens (without secrets).
    pub async fn list_tokens(&self) -> Result<Vec<TokenDto>, ClientError> {
        self.list_all::<TokenPage>("/v1/tokens").await
    }

    /// Creates a token; the answer holds its secret, shown once.
    pub async fn create_token(&self, request: &TokenCreate) -> Result<TokenCreated, ClientError> {
        Ok(self
            .call(Method::POST, "/v1/tokens", Some(request), HeaderMap::new())
            .await?
            .body)
    }

    /// A zone's DNSSEC status (keys, DNSKEY and DS records).
    pub async fn dnssec_status(&self, apex: &str) -> Result<DnssecStatusDto, ClientError> {
        self.get(&format!("/v1/zones/{}/dnssec", segment(apex)))
            .await
    }

    /// Starts signing a zone (algorithm, split keys and rollover policy in `body`), or sets
    /// the policy of a signed one.
    pub async fn dnssec_enable(
        &self,
        apex: &str,
        body: DnssecEnable,
    ) -> Result<DnssecStatusDto, ClientError> {
        let path = format!("/v1/zones/{}/dnssec", segment(apex));
        Ok(self
            .call(Method::POST, &path, Some(&body), HeaderMap::new())
            .await?
            .body)
    }

    /// Stops signing a zone.
    pub async fn dnssec_disable(&self, apex: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/zones/{}/dnssec", segment(apex));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// Takes the next step of a zone's key rollover.
    pub async fn dnssec_rollover(
        &self,
        apex: &str,
        body: DnssecRollover,
    ) -> Result<DnssecStatusDto, ClientError> {
        let path = format!("/v1/zones/{}/dnssec/rollover", segment(apex));
        Ok(self
            .call(Method::POST, &path, Some(&body), HeaderMap::new())
            .await?
            .body)
    }

    /// Deletes a token.
    pub async fn delete_token(&self, id: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/tokens/{}", segment(id));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// Replaces the networks `zone` accepts unsigned RFC 2136 updates from.
    pub async fn put_update_sources(
        &self,
        zone: &str,
        sources: Vec<String>,
    ) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/zones/{}/unsigned-update-sources", segment(zone));
        let body = crate::routes::update_sources::UpdateSourcesDto { sources };
        self.write(Method::PUT, &path, Some(&body)).await
    }

    /// Lists TSIG keys (never their secrets).
    pub async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyDto>, ClientError> {
        self.list_all::<TsigKeyPage>("/v1/tsig-keys").await
    }

    /// Creates a TSIG key; the answer holds its secret, shown once.
    pub async fn create_tsig_key(
        &self,
        request: &TsigKeyCreate,
    ) -> Result<TsigKeyCreated, ClientError> {
        Ok(self
            .call(
                Method::POST,
                "/v1/tsig-keys",
                Some(request),
                HeaderMap::new(),
            )
            .await?
            .body)
    }

    /// Deletes a TSIG key.
    pub async fn delete_tsig_key(&self, name: &str) -> Result<WriteResult, ClientError> {
        let path = format!("/v1/tsig-keys/{}", segment(name));
        self.write::<()>(Method::DELETE, &path, None).await
    }

    /// The answering node's cluster view.
    pub async fn cluster(&self) -> Result<ClusterStatus, ClientError> {
        self.get("/v1/cluster").await
    }

    /// Adds a learner.
    pub async fn add_learner(&self, id: u64, addr: &str) -> Result<MembershipResult, ClientError> {
        let request = AddLearnerRequest {
            id,
            addr: addr.to_string(),
        };
        Ok(self
            .call(
                Method::POST,
                "/v1/cluster/learners",
                Some(&request),
                HeaderMap::new(),
            )
            .await?
            .body)
    }

    /// Removes a learner and its member record; without `force` the API refuses (409) a
    /// node that reported recently.
    pub async fn remove_learner(
        &self,
        id: u64,
        force: bool,
    ) -> Result<MembershipResult, ClientError> {
        let query = if force { "?force=true" } else { "" };
        Ok(self
            .call(
                Method::DELETE,
                &format!("/v1/cluster/learners/{id}{query}"),
                None::<&()>,
                HeaderMap::new(),
            )
            .await?
            .body)
    }

    /// Sets the voters.
    pub async fn change_voters(
        &self,
        voters: Vec<u64>,
        retain: bool,
    ) -> Result<MembershipResult, ClientError> {
        let request = ChangeVotersRequest { voters, retain };
        Ok(self
            .call(
                Method::PUT,
                "/v1/cluster/voters",
                Some(&request),
                HeaderMap::new(),
            )
            .await?
            .body)
    }

    /// A backup file's bytes from the answering node (`GET /v1/cluster/snapshot`): without
    /// `stale`, only the leader answers (409 otherwise).
    pub async fn snapshot(&self, stale: bool) -> Result<Vec<u8>, ClientError> {
        let path = format!("/v1/cluster/snapshot?stale={stale}");
        let response = self
            .send(Method::GET, &path, None, HeaderMap::new())
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Transport {
                url: path,
                detail: error.to_string(),
            })?;
        Ok(bytes.to_vec())
    }

    /// `snapshot(false)`, asked of the leader: when the answering node is not the leader,
    /// looks the leader's address up in its `/v1/cluster` and asks there once (same token).
    /// Returns the bytes and the base URL that served them.
    pub async fn snapshot_from_leader(&self) -> Result<(Vec<u8>, String), ClientError> {
        match self.snapshot(false).await {
            Ok(bytes) => Ok((bytes, self.base().to_string())),
            Err(refused @ ClientError::Api { status: 409, .. }) => {
                let status = self.cluster().await?;
                let leader = status
                    .node
                    .leader
                    .filter(|leader| *leader != status.node.id);
                let recorded = leader.and_then(|leader| {
                    status
                        .members
                        .iter()
                        .find(|member| member.id == leader)
                        .map(|member| member.addr.clone())
                });
                // The Raft membership's address first: voters need no member record.
                let Some(addr) = leader.and(status.node.leader_addr.or(recorded)) else {
                    return Err(refused);
                };
                let scheme = if self.base().starts_with("https://") {
                    "https"
                } else {
                    "http"
                };
                let leader = Client::new(&format!("{scheme}://{addr}"), self.token.clone())?;
                let bytes = leader.snapshot(false).await?;
                Ok((bytes, leader.base().to_string()))
            }
            Err(error) => Err(error),
        }
    }

    /// Health of every region, endpoint and check.
    pub async fn health(&self) -> Result<crate::dto::health::HealthDto, ClientError> {
        self.get("/v1/health").await
    }

    /// Reports a prober's observations from `vantage` (needs the `prober` scope).
    pub async fn report_observations(
        &self,
        vantage: &str,
        observations: &[gslb_model::model::health::ObservationReport],
    ) -> Result<WriteResult, ClientError> {
        let batch = crate::dto::health::ObservationBatch {
            vantage: vantage.to_string(),
            observations: observations
                .iter()
                .map(crate::dto::health::ObservationDto::from_model)
                .collect(),
        };
        self.write(Method::POST, "/v1/observations", Some(&batch))
            .await
    }

    /// What an authoritative answer for `name`/`rtype` holds, with its explanation.
    pub async fn resolve(
        &self,
        name: &str,
        rtype: &str,
        client: Option<&str>,
    ) -> Result<crate::routes::resolve::ResolveDto, ClientError> {
        let mut path = format!("/v1/resolve?name={}&type={}", segment(name), segment(rtype));
        if let Some(client) = client {
            path.push_str(&format!("&client={}", segment(client)));
        }
        self.get(&path).await
    }

    /// The audit log.
    pub async fn audit(&self) -> Result<Vec<AuditEntryDto>, ClientError> {
        self.list_all::<AuditPage>("/v1/audit").await
    }

    /// Server-side apply of a declarative document (`POST /v1/apply`): the diff and, unless
    /// `dry_run`, the version written.
    pub async fn apply(
        &self,
        document: &crate::apply::ApplyDocument,
        dry_run: bool,
        prune: bool,
    ) -> Result<crate::apply::ApplyResult, ClientError> {
        let path = format!("/v1/apply?dry_run={dry_run}&prune={prune}");
        Ok(self
            .call(Method::POST, &path, Some(document), HeaderMap::new())
            .await?
            .body)
    }

    /// Applies several changes atomically.
    pub async fn batch(&self, batch: &BatchRequest) -> Result<WriteResult, ClientError> {
        self.write(Method::POST, "/v1/changes", Some(batch)).await
    }

    /// Where the change that produced `version` stands.
    pub async fn change(&self, version: u64) -> Result<ChangeStatusDto, ClientError> {
        self.get(&format!("/v1/changes/{version}")).await
    }

    /// Asks `GET /v1/changes/{version}?wait_ms=` (the server holds the answer until
    /// `INSYNC`, up to a few seconds at a time) until `INSYNC` on every DNS node, or
    /// `timeout`; returns how long it took. A server that answers at once (one from before
    /// the long poll, or a version it has not applied yet) is asked again after a pause
    /// that grows from 20 to 250 ms.
    pub async fn wait_insync(
        &self,
        version: u64,
        timeout: Duration,
    ) -> Result<Duration, ClientError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(20);
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let hold = left.min(Duration::from_secs(5));
            let asked = Instant::now();
            let path = format!("/v1/changes/{version}?wait_ms={}", hold.as_millis());
            let answer: Result<ChangeStatusDto, ClientError> = self.get(&path).await;
            let waiting = match answer {
                Ok(status) if status.status == SyncStatus::Insync => return Ok(started.elapsed()),
                Ok(status) => status.waiting,
                // The answering node may not have applied the version yet.
                Err(ClientError::Api { status, .. })
                    if status == StatusCode::NOT_FOUND.as_u16() =>
                {
                    Vec::new()
                }
                Err(error) => return Err(error),
            };
            if started.elapsed() >= timeout {
                return Err(ClientError::NotInSync {
                    version,
                    waited: started.elapsed(),
                    waiting,
                });
            }
            // Held for most of the wait: the server long-polls; ask again at once.
            if asked.elapsed() >= hold / 2 && !hold.is_zero() {
                continue;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }
}

/// `/v1/zones/{apex}/{kind}/{name}/{type}`, each part escaped.
fn keyed_path(kind: &str, apex: &str, name: &str, rtype: &str) -> String {
    format!(
        "/v1/zones/{}/{kind}/{}/{}",
        segment(apex),
        segment(name),
        segment(rtype)
    )
}

/// A record type as the API spells it (`A`, `AAAA`, ...).
fn type_text(rtype: impl Serialize) -> String {
    serde_json::to_value(rtype)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(message: &str) -> ClientError {
        ClientError::Api {
            status: 503,
            body: ErrorBody {
                code: "unavailable".to_string(),
                message: message.to_string(),
                fields: Vec::new(),
            },
        }
    }

    fn check(method: Method, error: ClientError, expected: RetryClass) {
        assert_eq!(
            retry_class(&method, &error),
            expected,
            "{method} after {error}"
        );
    }

    /// A write is sent again only when it cannot have been applied; reads always may be.
    #[test]
    fn only_refusals_known_not_applied_are_retried() {
        let refused = || ClientError::Unreachable {
            url: "http://127.0.0.1:1/v1/zones".to_string(),
            detail: "connection refused".to_string(),
        };
        let broken = || ClientError::Transport {
            url: "http://127.0.0.1:1/v1/zones".to_string(),
            detail: "connection reset".to_string(),
        };
        // The store's own words (gslb_store::raft::WriteError) for "nothing was proposed".
        let no_leader = "no leader known; retry later";
        let no_quorum = "no quorum: node 1 has not heard from a majority of voters for 3000 ms; \
                         nothing was written, retry on the majority side";
        let moved = "node is not the leader (leader: Some(2))";
        let not_forwarded = "write outcome unknown: node 2 has not heard from leader 1 for \
                             1200 ms (longer than the election timeout, 1000 ms): cut off from \
                             it or it is down; nothing was forwarded, retry on another node";
        let unknown = "write outcome unknown: node 2 lost contact with leader 1 while the \
                       forwarded write was in flight; the write may or may not have happened";
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            check(method.clone(), refused(), RetryClass::NextAddress);
            for message in [no_leader, no_quorum, moved, not_forwarded] {
                check(method.clone(), unavailable(message), RetryClass::Backoff);
            }
        }
        check(Method::GET, broken(), RetryClass::Backoff);
        check(Method::GET, unavailable(unknown), RetryClass::Backoff);
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            check(method.clone(), broken(), RetryClass::Final);
            check(method.clone(), unavailable(unknown), RetryClass::Final);
        }
        let invalid = ClientError::Api {
            status: 422,
            body: ErrorBody {
                code: "invalid".to_string(),
                message: "invalid request".to_string(),
                fields: Vec::new(),
            },
        };
        check(Method::GET, invalid, RetryClass::Final);
    }

    /// Several base URLs are read from one comma-separated `--api`; a bad one is named.
    #[test]
    fn several_base_urls_are_accepted_and_checked() {
        let client = Client::new("http://127.0.0.1:1/, http://127.0.0.1:2", None).unwrap();
        assert_eq!(&*client.bases, ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
        assert_eq!(client.base(), "http://127.0.0.1:1");
        match Client::new("http://127.0.0.1:1,127.0.0.1:2", None) {
            Err(ClientError::BadUrl(bad)) => assert_eq!(bad, "127.0.0.1:2"),
            other => panic!("expected a bad url, got {other:?}"),
        }
    }
}
