//! The dashboard's web assets, embedded in the binary: a dependency-free single page (vanilla
//! JS ES modules and CSS, no build step, nothing fetched from elsewhere) that `serve` hands out.
//!
//! The server serves [`asset`]`("index.html")` at `/` and every other asset at `/assets/NAME`;
//! the page routes by URL fragment (`#/campaign/c1`), so no other path needs the page. The JSON
//! API it calls is specified in docs/dashboard-api.md. Send [`CSP`] as the
//! `Content-Security-Policy` header with every asset: the UI needs no inline script or style.

macro_rules! assets {
    ($($name:literal => $mime:literal),* $(,)?) => {
        /// Every embedded asset: (file name, bytes, MIME type).
        pub const ASSETS: &[(&str, &[u8], &str)] = &[
            $(($name, include_bytes!(concat!("../assets/dashboard/", $name)), $mime)),*
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "dashboard.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "dom.js" => "text/javascript; charset=utf-8",
    "charts.js" => "text/javascript; charset=utf-8",
    "confirm.js" => "text/javascript; charset=utf-8",
    "overview.js" => "text/javascript; charset=utf-8",
    "campaign.js" => "text/javascript; charset=utf-8",
    "account.js" => "text/javascript; charset=utf-8",
    "actions.js" => "text/javascript; charset=utf-8",
}

/// Content-Security-Policy for the dashboard: only its own scripts, styles and API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The asset at `path` and its MIME type. Accepts `""`, `/` and `index.html` for the page,
/// and `NAME`, `/NAME` or `/assets/NAME` for the others; anything else (including `..` tricks)
/// is `None`.
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let p = path.split(['?', '#']).next().unwrap_or("");
    let p = p.trim_start_matches('/');
    let p = p.strip_prefix("assets/").unwrap_or(p);
    let p = if p.is_empty() { "index.html" } else { p };
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == p)
        .map(|(_, bytes, mime)| (*bytes, *mime))
}

/// `index.html` with the session's CSRF token filled into `<meta name="csrf-token">`, for a
/// server that renders the page per session (saves the UI one `/api/session` round trip).
/// The token is HTML-escaped; the UI falls back to `/api/session` when it is empty.
pub fn index_with_csrf(token: &str) -> String {
    let page = std::str::from_utf8(asset("index.html").map(|a| a.0).unwrap_or_default())
        .unwrap_or_default();
    page.replacen(
        r#"<meta name="csrf-token" content="">"#,
        &format!(
            r#"<meta name="csrf-token" content="{}">"#,
            crate::escape::html(token)
        ),
        1,
    )
}

/// The names of all embedded assets.
pub fn names() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(n, _, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> &'static str {
        std::str::from_utf8(asset(name).unwrap().0).unwrap()
    }

    #[test]
    fn page_and_assets_resolve() {
        assert_eq!(asset("/").unwrap().1, "text/html; charset=utf-8");
        assert_eq!(asset("").unwrap().0, asset("index.html").unwrap().0);
        assert_eq!(
            asset("/assets/app.js").unwrap().1,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            asset("dashboard.css?v=1").unwrap().1,
            "text/css; charset=utf-8"
        );
        assert!(asset("/assets/../Cargo.toml").is_none());
        assert!(asset("/etc/passwd").is_none());
        assert!(asset("assets/").is_some(), "bare prefix is the page");
    }

    /// Every `/assets/…` the page references and every module a module imports is embedded:
    /// a file added on disk but not here would 404 in the browser.
    #[test]
    fn every_reference_is_embedded() {
        let mut refs = Vec::new();
        for part in text("index.html").split("/assets/").skip(1) {
            refs.push(part.split('"').next().unwrap().to_string());
        }
        for name in names().filter(|n| n.ends_with(".js")) {
            for line in text(name).lines() {
                if let Some(i) = line.find("from './") {
                    let rest = &line[i + 8..];
                    refs.push(rest.split('\'').next().unwrap().to_string());
                }
            }
        }
        assert!(refs.len() >= 10, "{refs:?}");
        for r in refs {
            assert!(asset(&r).is_some(), "{r} is referenced but not embedded");
        }
    }

    /// Attacker-chosen names reach the page: no script may write HTML from strings, and
    /// nothing may come from another origin.
    #[test]
    fn scripts_never_write_markup_or_fetch_elsewhere() {
        for name in names() {
            let t = text(name);
            for bad in [
                ".innerHTML",
                ".outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!t.contains(bad), "{name} uses {bad}");
            }
            // The only absolute URL allowed is the SVG namespace name (never fetched).
            let hits = t.matches("http://").count() + t.matches("https://").count();
            let allowed = t.matches("http://www.w3.org/2000/svg").count();
            assert_eq!(hits, allowed, "{name} refers to another origin");
        }
        assert!(
            !text("index.html").contains("<script>"),
            "no inline script (CSP)"
        );
        assert!(
            !text("index.html").contains("style="),
            "no inline style (CSP)"
        );
    }

    #[test]
    fn csrf_token_is_filled_in_escaped() {
        let page = index_with_csrf("abc\"><script>");
        assert!(page.contains(r#"<meta name="csrf-token" content="abc&quot;&gt;&lt;script&gt;">"#));
        assert!(!page.contains(r#"content="">"#));
        assert!(index_with_csrf("t0k3n").contains(r#"content="t0k3n""#));
    }

    #[test]
    fn posts_carry_the_csrf_header() {
        let api = text("api.js");
        assert!(api.contains("'X-CSRF-Token'"));
        assert!(api.contains("meta[name=\"csrf-token\"]"));
        assert!(api.contains("/api/session"));
        assert!(api.contains("credentials: 'same-origin'"));
    }
}
