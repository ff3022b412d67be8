//! `GET /ui`: the web console every API node serves — plain HTML, CSS and JavaScript
//! embedded in the binary (no build step, no CDN), about 20 KB.
//!
//! The pages themselves need no token: they hold no data. The script asks for a token,
//! keeps it in the tab's `sessionStorage` (never in a URL or a cookie) and reads the REST API
//! with it: health (regions, the endpoint × vantage matrix), GSLB records with the live
//! answer per client group (`/v1/resolve` for every network of `/v1/networks`), zones and
//! records, drills (plan preview, reports), the event history (`/v1/events`) and the cluster
//! members. Its only writes are drain/undrain of a region (an override) and drill abort,
//! each confirmed first, and each still checked by the API against the token's scope.
//!
//! Served with a Content-Security-Policy that allows only this origin's scripts, styles and
//! API (no inline script, no framing).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page.
const INDEX_HTML: &str = include_str!("index.html");
/// The script.
const CONSOLE_JS: &str = include_str!("console.js");
/// The style sheet.
const CONSOLE_CSS: &str = include_str!("console.css");

/// What the browser may load: this origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (`/ui`, `/ui/`, `/ui/console.js`, `/ui/console.css`), open.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/ui",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/ui/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/ui/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            "/ui/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
}

/// One embedded file with its type and the security headers.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_embedded_assets() {
        assert!(INDEX_HTML.contains("src=\"/ui/console.js\""));
        assert!(INDEX_HTML.contains("href=\"/ui/console.css\""));
        assert!(!INDEX_HTML.contains("http://") && !INDEX_HTML.contains("https://"));
        assert!(
            !CONSOLE_JS.contains("innerHTML"),
            "API values go in as text only"
        );
        assert!(CONSOLE_JS.contains("sessionStorage"));
        let size = INDEX_HTML.len() + CONSOLE_JS.len() + CONSOLE_CSS.len();
        assert!(size < 40_000, "small: {size} bytes");
    }
}
