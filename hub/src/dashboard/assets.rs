//! The dashboard's static files, compiled into the binary: KERN's stylesheet and fonts (see
//! `hub/assets/kern/README.md`) and the dashboard's own stylesheet. No CDN, nothing read from disk.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The KERN version the stylesheet path carries, so a new version is never served from a stale cache.
pub const KERN_VERSION: &str = "2.7.2";

/// Where the pages find KERN's stylesheet.
pub const KERN_CSS: &str = "/static/kern-2.7.2.min.css";

/// Where the pages find the dashboard's own stylesheet.
pub const HUB_CSS: &str = "/static/hub.css";

/// A static file: its bytes, type and whether it may be cached for good (versioned files).
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    immutable: bool,
}

fn asset(name: &str) -> Option<Asset> {
    let (bytes, content_type, immutable): (&'static [u8], _, _) = match name {
        "kern-2.7.2.min.css" => (include_bytes!("../../assets/kern/kern.min.css"), "text/css; charset=utf-8", true),
        "hub.css" => (include_bytes!("../../assets/hub.css"), "text/css; charset=utf-8", false),
        "fonts/FiraSans-Regular.woff2" => {
            (include_bytes!("../../assets/kern/fonts/FiraSans-Regular.woff2"), "font/woff2", true)
        }
        "fonts/FiraSans-Medium.woff2" => {
            (include_bytes!("../../assets/kern/fonts/FiraSans-Medium.woff2"), "font/woff2", true)
        }
        "fonts/FiraSans-SemiBold.woff2" => {
            (include_bytes!("../../assets/kern/fonts/FiraSans-SemiBold.woff2"), "font/woff2", true)
        }
        _ => return None,
    };
    Some(Asset { bytes, content_type, immutable })
}

/// GET /static/{*name}: served to everyone (the sign-in page needs them too); nothing personal.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(a) = asset(&name) else {
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    let mut r = a.bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if a.immutable { "public, max-age=31536000, immutable" } else { "no-cache" }),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_link_files_that_exist() {
        assert!(KERN_CSS.contains(KERN_VERSION));
        for path in [KERN_CSS, HUB_CSS] {
            let a = asset(path.trim_start_matches("/static/")).expect(path);
            assert!(a.bytes.len() > 1000, "{path}");
        }
        let css = std::str::from_utf8(asset("hub.css").expect("hub.css").bytes).expect("utf-8");
        for font in css.split("url(\"/static/").skip(1) {
            let name = font.split('"').next().expect("a name");
            assert!(asset(name).is_some(), "hub.css names {name}, which is not served");
        }
        assert!(asset("../Cargo.toml").is_none());
    }
}
