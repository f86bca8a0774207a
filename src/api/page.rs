//! The search page at `/`: one HTML file, one script and one style sheet, built into the binary
//! (no CDN, no build step). They hold no user data, so the gate serves them without a key;
//! every search, document and operator call the script makes goes through the gate with the
//! key the person entered (`Authorization: Bearer`, kept in `sessionStorage`, never in a URL).
//! Served with a strict Content-Security-Policy: scripts, styles and requests from this origin
//! only, no inline script, no framing.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// Where the page's assets are served; the gate lets them through without a key.
pub const ASSET_PREFIX: &str = "/page/";

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// Only this origin's script, style and requests; nothing inline, no plugins, no framing, no
/// form posted elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Whether `path` is the page or one of its assets: public, since they hold no user data.
pub fn is_public(path: &str) -> bool {
    path == "/"
        || path
            .strip_prefix(ASSET_PREFIX)
            .is_some_and(|name| matches!(name, "app.js" | "style.css"))
}

/// The page's routes, merged into the API router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/page/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/page/style.css",
            get(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The assets change with the binary: always revalidate, so an upgrade is seen at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_page_and_its_assets_are_public() {
        for path in ["/", "/page/app.js", "/page/style.css"] {
            assert!(super::is_public(path), "{path}");
        }
        for path in [
            "/page/",
            "/page/other.js",
            "/v1/search",
            "/index.html",
            "//",
        ] {
            assert!(!super::is_public(path), "{path}");
        }
    }

    #[test]
    fn the_page_loads_no_inline_script() {
        assert!(super::INDEX_HTML.contains(r#"<script src="/page/app.js""#));
        assert!(!super::INDEX_HTML.contains("<script>"));
        let html = super::INDEX_HTML;
        let handler = html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        });
        assert!(!handler, "no inline event handlers");
    }
}
