//! The web console's page and scripts, built into the binary: the engine
//! serves them offline, with no CDN and nothing to install beside it. The
//! files live in `web/` (plain ES modules, ECharts vendored; see the README).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (URL path, content type, bytes) of every file served.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        HTML,
        include_bytes!("../../../web/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/style.css"),
    ),
    ("app.js", JS, include_bytes!("../../../web/app.js")),
    ("api.js", JS, include_bytes!("../../../web/api.js")),
    ("live.js", JS, include_bytes!("../../../web/live.js")),
    ("fmt.js", JS, include_bytes!("../../../web/fmt.js")),
    ("ui.js", JS, include_bytes!("../../../web/ui.js")),
    ("tasks.js", JS, include_bytes!("../../../web/tasks.js")),
    ("detail.js", JS, include_bytes!("../../../web/detail.js")),
    ("actions.js", JS, include_bytes!("../../../web/actions.js")),
    ("series.js", JS, include_bytes!("../../../web/series.js")),
    (
        "overview.js",
        JS,
        include_bytes!("../../../web/overview.js"),
    ),
    ("daily.js", JS, include_bytes!("../../../web/daily.js")),
    (
        "vendor/echarts.min.js",
        JS,
        include_bytes!("../../../web/vendor/echarts.min.js"),
    ),
];
const HTML: &str = "text/html; charset=utf-8";
/// Browsers load ES modules only with a JavaScript type.
const JS: &str = "text/javascript; charset=utf-8";
/// The page's own rules: nothing from elsewhere, no framing.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// `GET /`.
pub(super) async fn index() -> Response {
    serve("index.html")
}

/// `GET /<path>`: one of [`FILES`], or 404.
pub(super) async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn serve(path: &str) -> Response {
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        // A module missing here would load as a 404 in the browser.
        for (name, _, bytes) in FILES {
            let text = String::from_utf8_lossy(bytes);
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("import "))
            {
                if let Some(from) = line.split(['\'', '"']).nth(1) {
                    let target = from.trim_start_matches("./");
                    assert!(
                        FILES.iter().any(|(p, _, _)| *p == target),
                        "{name} imports {from}, which is not served"
                    );
                }
            }
        }
    }
}
