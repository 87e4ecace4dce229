//! The server's own pages and scripts, built into the binary (no CDN, no Node toolchain):
//! the landing page `/`, the booking widget (`/widget.js`, `/widget.css`), the hosted
//! booking pages (`/book/{slug}`, `/book/manage/{token}` and its `.ics`), and the offline
//! GraphiQL playground (`/playground/…`, shown at `GET /graphql` to browsers).
//!
//! Pages are served with a strict Content-Security-Policy: nothing inline, every script,
//! style and request from this origin only.

use std::sync::LazyLock;

use poem::http::StatusCode;
use poem::http::header::{self, HeaderValue};
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, handler};

use crate::error::AppError;
use crate::graphql::Core;

/// The policy of every page: this origin only, nothing inline.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Booking pages may be framed by the sites that link them.
const BOOKING_PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors *";
/// GraphiQL's stylesheet embeds its fonts as `data:` URLs.
const PLAYGROUND_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A file built into the binary.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    cache: &'static str,
}

const SHORT: &str = "public, max-age=300";
/// Pinned vendor builds change only with a new binary.
const LONG: &str = "public, max-age=86400";

fn asset(path: &str) -> Option<Asset> {
    let (bytes, content_type, cache): (&'static [u8], &str, &str) = match path {
        "widget.css" => (
            include_bytes!("../../web/widget/widget.css"),
            "text/css; charset=utf-8",
            SHORT,
        ),
        "site.css" => (
            include_bytes!("../../web/site.css"),
            "text/css; charset=utf-8",
            SHORT,
        ),
        "playground/playground.js" => (
            include_bytes!("../../web/playground/playground.js"),
            "text/javascript; charset=utf-8",
            SHORT,
        ),
        "playground/playground.css" => (
            include_bytes!("../../web/playground/playground.css"),
            "text/css; charset=utf-8",
            SHORT,
        ),
        "playground/vendor/graphiql.min.js" => (
            include_bytes!("../../web/playground/vendor/graphiql.min.js"),
            "text/javascript; charset=utf-8",
            LONG,
        ),
        "playground/vendor/graphiql.min.css" => (
            include_bytes!("../../web/playground/vendor/graphiql.min.css"),
            "text/css; charset=utf-8",
            LONG,
        ),
        "playground/vendor/react.production.min.js" => (
            include_bytes!("../../web/playground/vendor/react.production.min.js"),
            "text/javascript; charset=utf-8",
            LONG,
        ),
        "playground/vendor/react-dom.production.min.js" => (
            include_bytes!("../../web/playground/vendor/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
            LONG,
        ),
        _ => return None,
    };
    Some(Asset {
        bytes,
        content_type,
        cache,
    })
}

/// The widget script, with the hashes of its persisted queries filled in.
static WIDGET_JS: LazyLock<String> = LazyLock::new(|| {
    include_str!("../../web/widget/widget.js").replace(
        "/*__AURA_OPERATIONS__*/{}",
        &crate::graphql::persisted::widget_hashes().to_string(),
    )
});

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &crate::crypto::sha256_hex(bytes)[..32])
}

/// A file with its type, caching and validator; `If-None-Match` gets a 304.
fn file(req: &Request, bytes: &'static [u8], content_type: &str, cache: &'static str) -> Response {
    let tag = etag(bytes);
    let fresh = req
        .header(header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .finish()
    } else {
        Response::builder()
            .content_type(content_type)
            .body(Body::from(bytes))
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    // Hosts load the widget from their own origin.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn page(html: String, csp: &'static str) -> Response {
    let mut response = Response::builder()
        .content_type("text/html; charset=utf-8")
        .body(html);
    let headers = response.headers_mut();
    headers.insert("content-security-policy", HeaderValue::from_static(csp));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[handler]
pub fn widget_js(req: &Request) -> Response {
    let bytes: &'static [u8] = WIDGET_JS.as_bytes();
    file(req, bytes, "text/javascript; charset=utf-8", SHORT)
}

/// `/widget.css`, `/site.css`, `/playground/…`.
#[handler]
pub fn static_file(req: &Request) -> poem::Result<Response> {
    let path = req.uri().path().trim_start_matches('/');
    let asset = asset(path).ok_or_else(|| {
        super::into_poem_error(AppError::NotFound(format!("no such file: /{path}")))
    })?;
    Ok(file(req, asset.bytes, asset.content_type, asset.cache))
}

#[handler]
pub fn index() -> Response {
    page(include_str!("../../web/index.html").to_owned(), PAGE_CSP)
}

/// The playground page, for `GET /graphql` from a browser.
pub fn playground() -> Response {
    page(
        include_str!("../../web/playground/index.html").to_owned(),
        PLAYGROUND_CSP,
    )
}

/// `GET /book/{slug}`: the widget, full page. Works without a key; an unknown slug still
/// gets the page, which says so.
#[handler]
pub async fn booking_page(Path(slug): Path<String>, core: Data<&Core>) -> Response {
    let title = match crate::services::booking::active_link(core.db.conn(), &slug).await {
        Ok(link) => format!("Book: {}", link.name),
        Err(_) => "Book a call".to_owned(),
    };
    page(
        include_str!("../../web/book.html")
            .replace("{{title}}", &escape(&title))
            .replace("{{slug}}", &escape(&slug)),
        BOOKING_PAGE_CSP,
    )
}

/// `GET /book/manage/{token}`: reschedule or cancel a booking. The token is the
/// credential; the page looks nothing up itself, so it answers the same for any token.
#[handler]
pub fn manage_page(Path(token): Path<String>) -> Response {
    let mut response = page(
        include_str!("../../web/manage.html")
            .replace("{{title}}", "Your booking")
            .replace("{{token}}", &escape(&token)),
        PAGE_CSP,
    );
    // The token is in the URL: keep it out of caches and referrers.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /book/manage/{token}/booking.ics`: the booking as a calendar file.
#[handler]
pub async fn booking_ics(Path(token): Path<String>, core: Data<&Core>) -> poem::Result<Response> {
    let booking = crate::services::booking::find(&core.db, &token)
        .await
        .map_err(super::into_poem_error)?;
    let body = crate::booking::ics::render(&booking, crate::time::now());
    let mut response = body
        .with_content_type("text/calendar; charset=utf-8")
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"booking.ics\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_repeat() {
        assert_eq!(
            escape("\"><script>alert(1)</script>"),
            "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
    }

    #[test]
    fn the_widget_carries_its_operations_hashes() {
        assert!(!WIDGET_JS.contains("__AURA_OPERATIONS__"));
        for (hash, _) in crate::graphql::persisted::WIDGET.iter() {
            assert!(WIDGET_JS.contains(hash.as_str()), "{hash}");
        }
        assert!(asset("playground/vendor/graphiql.min.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
    }
}
