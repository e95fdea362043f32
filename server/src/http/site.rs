//! The site: the hydration bundle (JS, WASM, CSS) and the `public/` assets.
//!
//! A release binary built by cargo-leptos (`scripts/release.sh`) carries the site inside it,
//! as it carries the migrations: `server/build.rs` turns the built `target/site` into a table
//! of [`Asset`]s. The bundle's file names hold their content's hash, so they are served as
//! immutable for a year; the other assets (the favicon) are revalidated with their ETag. Each
//! file is stored as it is and precompressed (brotli, gzip), and the client's
//! `Accept-Encoding` picks one, so nothing is compressed while serving.
//!
//! Every other build (debug, the benchmarks' plain cargo build) embeds nothing and reads the
//! site from `--site-root` on disk, as `cargo leptos build` writes it.
//!
//! Either way the page shell takes the bundle's names from here ([`Site::bundle`]), never from
//! a file next to the executable.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// `Cache-Control` of a file whose name holds its content's hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the other files: keep them, but ask (with the ETag) before each use.
pub const REVALIDATE: &str = "no-cache";

/// One file of the embedded site.
#[derive(Debug)]
pub struct Asset {
    /// The URL path, e.g. `/pkg/switchboard.Hp3…Qw.wasm` or `/favicon.svg`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// The name holds the content's hash: the bytes behind it never change.
    pub immutable: bool,
    /// A hash of the bytes, the base of the ETags.
    pub tag: &'static str,
    pub identity: &'static [u8],
    /// Brotli-compressed, when that is smaller.
    pub br: Option<&'static [u8]>,
    /// Gzip-compressed, when that is smaller.
    pub gzip: Option<&'static [u8]>,
}

/// The site a release binary carries.
#[derive(Debug)]
pub struct Embedded {
    pub assets: &'static [Asset],
    pub bundle: EmbeddedBundle,
}

/// The URL paths of the hydration bundle in an [`Embedded`] site.
#[derive(Debug)]
pub struct EmbeddedBundle {
    pub js: &'static str,
    pub wasm: &'static str,
    pub css: &'static str,
}

// `EMBEDDED: Option<Embedded>`, written by server/build.rs.
include!(concat!(env!("OUT_DIR"), "/site.rs"));

/// Where the site's files come from.
#[derive(Debug)]
pub struct Site {
    source: Source,
}

#[derive(Debug)]
enum Source {
    Embedded(&'static Embedded),
    Disk { root: PathBuf, output_name: String },
}

/// A content coding we store files in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Identity,
    Brotli,
    Gzip,
}

impl Site {
    /// The site this binary carries; without one (debug and plain cargo builds), the site on
    /// disk at `root`, whose bundle is called `output_name`.
    pub fn for_build(root: &Path, output_name: &str) -> Self {
        match &EMBEDDED {
            Some(embedded) => Self::embedded(embedded),
            None => Self::disk(root, output_name),
        }
    }

    /// A site served from this table (tests give their own).
    pub fn embedded(embedded: &'static Embedded) -> Self {
        Self { source: Source::Embedded(embedded) }
    }

    /// The site cargo-leptos wrote to `root`.
    pub fn disk(root: impl Into<PathBuf>, output_name: &str) -> Self {
        Self { source: Source::Disk { root: root.into(), output_name: output_name.to_owned() } }
    }

    /// Whether the files come from the binary itself.
    pub fn is_embedded(&self) -> bool {
        matches!(self.source, Source::Embedded(_))
    }

    /// Logs where the site comes from, once at start: an operator who copied a binary without
    /// a site learns it here rather than from pages that never become interactive.
    pub fn log_origin(&self) {
        match &self.source {
            Source::Embedded(e) => {
                let bytes: usize = e.assets.iter().map(|a| a.identity.len()).sum();
                tracing::info!(files = e.assets.len(), kib = bytes / 1024, "site: embedded in the binary");
            }
            Source::Disk { root, .. } if root.join("pkg").is_dir() => tracing::info!(
                root = %root.display(),
                "site: served from disk (this build embeds none; scripts/release.sh builds one that does)"
            ),
            Source::Disk { root, .. } => tracing::warn!(
                root = %root.display(),
                "site: nothing at the site root, pages will not load their scripts or styles \
                 (this build embeds no site: run it from the workspace after `cargo leptos build`, \
                 pass --site-root, or build one file with scripts/release.sh)"
            ),
        }
    }

    /// The URL paths the page shell loads.
    pub fn bundle(&self) -> app::Bundle {
        match &self.source {
            Source::Embedded(e) => app::Bundle {
                js: e.bundle.js.to_owned(),
                wasm: e.bundle.wasm.to_owned(),
                css: e.bundle.css.to_owned(),
            },
            Source::Disk { root, output_name } => disk_bundle(root, output_name),
        }
    }

    /// The response for `req` when it asks for a file of the site; `None` lets the app
    /// answer (a page, or its 404).
    pub async fn respond(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        match &self.source {
            Source::Embedded(e) => {
                let asset = e.assets.iter().find(|a| a.path == uri.path())?;
                Some(respond_embedded(asset, method, headers))
            }
            Source::Disk { root, .. } => respond_disk(root, method, uri, headers).await,
        }
    }
}

fn respond_embedded(asset: &Asset, method: &Method, headers: &HeaderMap) -> Response {
    let (coding, body) = negotiate(asset, headers.get(ACCEPT_ENCODING));
    let etag = match coding {
        Coding::Identity => format!("\"{}\"", asset.tag),
        Coding::Brotli => format!("\"{}-br\"", asset.tag),
        Coding::Gzip => format!("\"{}-gz\"", asset.tag),
    };
    let mut response = Response::builder()
        .header(CACHE_CONTROL, if asset.immutable { IMMUTABLE } else { REVALIDATE })
        .header(ETAG, &etag);
    if asset.br.is_some() || asset.gzip.is_some() {
        response = response.header(VARY, "accept-encoding");
    }
    if none_match(headers, &etag) {
        return response.status(StatusCode::NOT_MODIFIED).body(Body::empty()).expect("valid headers");
    }
    response = response.header(CONTENT_TYPE, asset.content_type).header(CONTENT_LENGTH, body.len());
    match coding {
        Coding::Identity => {}
        Coding::Brotli => response = response.header(CONTENT_ENCODING, "br"),
        Coding::Gzip => response = response.header(CONTENT_ENCODING, "gzip"),
    }
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(body) };
    response.body(body).expect("valid headers")
}

/// The stored form of `asset` the client accepts best: the highest `q`, brotli before gzip
/// on a tie (it is smaller), the plain bytes when neither is acceptable or stored.
fn negotiate(asset: &Asset, accept: Option<&HeaderValue>) -> (Coding, &'static [u8]) {
    let accept = accept.and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut best = (Coding::Identity, asset.identity, 0.0f32);
    for (coding, bytes) in [(Coding::Brotli, asset.br), (Coding::Gzip, asset.gzip)] {
        let Some(bytes) = bytes else { continue };
        let q = quality(accept, coding);
        if q > best.2 {
            best = (coding, bytes, q);
        }
    }
    (best.0, best.1)
}

/// The `q` the `Accept-Encoding` value gives `coding` (0 when it is not listed and no `*` is).
fn quality(accept: &str, coding: Coding) -> f32 {
    let name = match coding {
        Coding::Identity => "identity",
        Coding::Brotli => "br",
        Coding::Gzip => "gzip",
    };
    let mut star = 0.0;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0))
            .next()
            .unwrap_or(1.0);
        if token.eq_ignore_ascii_case(name)
            || (coding == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
        {
            return q;
        }
        if token == "*" {
            star = q;
        }
    }
    star
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

/// The file from disk, as `ServeDir` serves it (with the `.br`/`.gz` twins a release site
/// has); `None` when there is no such file.
async fn respond_disk(root: &Path, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let mut copy = Request::builder().method(method).uri(uri);
    if let Some(copy) = copy.headers_mut() {
        copy.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let copy = copy.body(Body::empty()).ok()?;
    let response = ServeDir::new(root).precompressed_br().precompressed_gzip().oneshot(copy).await;
    match response {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => Some(response.into_response()),
        _ => None,
    }
}

/// The bundle cargo-leptos wrote to `root/pkg`: the hashed names when it hashed them, the
/// plain ones otherwise. Read on each render, so `cargo leptos watch` rebuilds are picked up.
fn disk_bundle(root: &Path, output_name: &str) -> app::Bundle {
    let names: Vec<String> = std::fs::read_dir(root.join("pkg"))
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    let find = |ext: &str| {
        let hashed = names.iter().find(|n| {
            n.strip_prefix(output_name)
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| rest.strip_suffix(ext))
                .is_some_and(|hash| hash.len() == 22 && !hash.contains('.'))
        });
        match hashed {
            Some(name) => format!("/pkg/{name}"),
            None => format!("/pkg/{output_name}{ext}"),
        }
    };
    app::Bundle { js: find(".js"), wasm: find(".wasm"), css: find(".css") }
}

#[cfg(test)]
mod tests {
    use axum::http::header::IF_MODIFIED_SINCE;

    use super::*;

    const WASM: &[u8] = b"\0asm\x01\0\0\0 pretend this is a module";
    const WASM_BR: &[u8] = b"brotli bytes";
    const WASM_GZ: &[u8] = b"gzip bytes!!";
    const ICON: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

    static TEST_SITE: Embedded = Embedded {
        assets: &[
            Asset {
                path: "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm",
                content_type: "application/wasm",
                immutable: true,
                tag: "0123456789abcdef",
                identity: WASM,
                br: Some(WASM_BR),
                gzip: Some(WASM_GZ),
            },
            Asset {
                path: "/favicon.svg",
                content_type: "image/svg+xml",
                immutable: false,
                tag: "fedcba9876543210",
                identity: ICON,
                br: None,
                gzip: None,
            },
        ],
        bundle: EmbeddedBundle {
            js: "/pkg/switchboard.BBBBBBBBBBBBBBBBBBBBBB.js",
            wasm: "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm",
            css: "/pkg/switchboard.CCCCCCCCCCCCCCCCCCCCCC.css",
        },
    };
    const WASM_PATH: &str = "/pkg/switchboard.AAAAAAAAAAAAAAAAAAAAAA.wasm";

    fn get(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut req = Request::get(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(Body::empty()).unwrap()
    }

    async fn fetch(path: &str, headers: &[(&str, &str)]) -> Option<Response> {
        ask(&Site::embedded(&TEST_SITE), get(path, headers)).await
    }

    async fn ask(site: &Site, req: Request) -> Option<Response> {
        site.respond(req.method(), req.uri(), req.headers()).await
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn a_hashed_file_is_immutable_with_its_content_type() {
        let response = fetch(WASM_PATH, &[]).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/wasm");
        assert_eq!(response.headers()[CACHE_CONTROL], IMMUTABLE);
        assert_eq!(response.headers()[VARY], "accept-encoding");
        assert_eq!(response.headers()[CONTENT_LENGTH], WASM.len().to_string().as_str());
        assert!(response.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(body(response).await, WASM);
    }

    #[tokio::test]
    async fn brotli_is_preferred_and_gzip_served_to_those_without_it() {
        let response = fetch(WASM_PATH, &[("accept-encoding", "gzip, deflate, br, zstd")]).await.unwrap();
        assert_eq!(response.headers()[CONTENT_ENCODING], "br");
        assert_eq!(response.headers()[ETAG], "\"0123456789abcdef-br\"");
        assert_eq!(body(response).await, WASM_BR);

        let response = fetch(WASM_PATH, &[("accept-encoding", "gzip")]).await.unwrap();
        assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/wasm");
        assert_eq!(body(response).await, WASM_GZ);
    }

    #[tokio::test]
    async fn the_client_weights_and_refusals_are_honoured() {
        let cases = [
            ("br;q=0.5, gzip;q=1.0", Some("gzip")),
            ("br;q=0, gzip", Some("gzip")),
            ("br;q=0, gzip;q=0", None),
            ("*", Some("br")),
            ("*;q=0", None),
            ("deflate", None),
            ("BR", Some("br")),
            ("", None),
        ];
        for (accept, expected) in cases {
            let response = fetch(WASM_PATH, &[("accept-encoding", accept)]).await.unwrap();
            let got = response.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), expected, "Accept-Encoding: {accept:?}");
        }
    }

    #[tokio::test]
    async fn an_unhashed_asset_is_revalidated_by_its_etag() {
        let response = fetch("/favicon.svg", &[("accept-encoding", "br, gzip")]).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "image/svg+xml");
        assert_eq!(response.headers()[CACHE_CONTROL], REVALIDATE);
        // Stored only as is: nothing to vary on.
        assert!(response.headers().get(VARY).is_none());
        assert!(response.headers().get(CONTENT_ENCODING).is_none());
        let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
        assert_eq!(body(response).await, ICON);

        for validator in [etag.clone(), format!("W/{etag}"), format!("\"other\", {etag}"), "*".to_owned()] {
            let response = fetch("/favicon.svg", &[("if-none-match", &validator)]).await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "If-None-Match: {validator}");
            assert_eq!(response.headers()[ETAG], etag.as_str());
            assert_eq!(response.headers()[CACHE_CONTROL], REVALIDATE);
            assert!(body(response).await.is_empty());
        }
        let response = fetch("/favicon.svg", &[("if-none-match", "\"stale\"")]).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn each_encoding_has_its_own_etag() {
        let response = fetch(WASM_PATH, &[("accept-encoding", "gzip")]).await.unwrap();
        let gzip_tag = response.headers()[ETAG].to_str().unwrap().to_owned();
        let headers = [("accept-encoding", "br"), ("if-none-match", gzip_tag.as_str())];
        let response = fetch(WASM_PATH, &headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "a gzip validator does not validate brotli bytes");
        let headers = [("accept-encoding", "gzip"), ("if-none-match", gzip_tag.as_str())];
        let response = fetch(WASM_PATH, &headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[VARY], "accept-encoding");
    }

    #[tokio::test]
    async fn head_answers_the_headers_without_the_body() {
        let req = Request::head("/favicon.svg").body(Body::empty()).unwrap();
        let response = ask(&Site::embedded(&TEST_SITE), req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_LENGTH], ICON.len().to_string().as_str());
        assert!(body(response).await.is_empty());
    }

    #[tokio::test]
    async fn other_paths_and_methods_are_left_to_the_app() {
        for path in ["/", "/login", "/inbox", "/pkg/switchboard.wasm", "/favicon.svg/", "/pkg/"] {
            assert!(fetch(path, &[]).await.is_none(), "{path}");
        }
        let post = Request::post("/favicon.svg").body(Body::empty()).unwrap();
        assert!(ask(&Site::embedded(&TEST_SITE), post).await.is_none());
    }

    #[test]
    fn the_shell_loads_the_embedded_bundle() {
        let bundle = Site::embedded(&TEST_SITE).bundle();
        assert_eq!(bundle.js, TEST_SITE.bundle.js);
        assert_eq!(bundle.wasm, WASM_PATH);
        assert_eq!(bundle.css, TEST_SITE.bundle.css);
    }

    #[tokio::test]
    async fn a_site_on_disk_is_served_with_its_hashed_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        for name in ["switchboard.DDDDDDDDDDDDDDDDDDDDDD.js", "switchboard.EEEEEEEEEEEEEEEEEEEEEE.wasm"] {
            std::fs::write(dir.path().join("pkg").join(name), b"x").unwrap();
        }
        std::fs::write(dir.path().join("favicon.svg"), ICON).unwrap();
        let site = Site::disk(dir.path(), "switchboard");
        assert!(!site.is_embedded());
        let bundle = site.bundle();
        assert_eq!(bundle.js, "/pkg/switchboard.DDDDDDDDDDDDDDDDDDDDDD.js");
        assert_eq!(bundle.wasm, "/pkg/switchboard.EEEEEEEEEEEEEEEEEEEEEE.wasm");
        // Not hashed on disk: the plain name.
        assert_eq!(bundle.css, "/pkg/switchboard.css");

        let response = ask(&site, get("/favicon.svg", &[])).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "image/svg+xml");
        let modified = response.headers()["last-modified"].to_str().unwrap().to_owned();
        let response =
            ask(&site, get("/favicon.svg", &[(IF_MODIFIED_SINCE.as_str(), &modified)])).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert!(ask(&site, get("/login", &[])).await.is_none());
        assert!(ask(&site, get("/pkg/nothing.js", &[])).await.is_none());
    }
}
