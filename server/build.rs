//! Embeds the built site (WASM, JS, CSS, `public/` assets) in release builds made by
//! cargo-leptos, so the release binary is the one file to deploy.
//!
//! cargo-leptos builds the site first and then the server, passing `LEPTOS_SITE_ROOT`; with
//! `hash-files = true` (Cargo.toml) it always waits for the site before it starts the server
//! build, so this script never reads a half-written site. This script writes
//! `$OUT_DIR/site.rs`: one `Asset` per file (its bytes by `include_bytes!`, and the `.br` /
//! `.gz` twins that `cargo leptos build --release --precompress` writes) and the names of the
//! hashed bundle. `server/src/http/site.rs` includes it.
//!
//! Everything else embeds nothing and the server reads the site from `--site-root`:
//! - debug builds (`cargo leptos build`, `cargo test`): the site changes on every edit; relinking
//!   the server for it would slow the edit loop down for nothing;
//! - plain cargo release builds without a site (`cargo build --release -p server`, the
//!   benchmarks' `bench-server` profile): there is no site to embed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("site.rs");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    // Declared in release builds only: in debug the script's output never depends on them,
    // and a rerun would rebuild the server each time `cargo test` follows `cargo leptos build`.
    let site_root = if release {
        println!("cargo:rerun-if-env-changed=LEPTOS_SITE_ROOT");
        println!("cargo:rerun-if-env-changed=LEPTOS_OUTPUT_NAME");
        env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from)
    } else {
        None
    };
    let code = match site_root {
        Some(root) => {
            let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
            // cargo-leptos runs from the workspace root, the parent of this package.
            let root = if root.is_absolute() { root } else { manifest.join("..").join(root) };
            let output = env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "switchboard".to_owned());
            embedded(&root, &output)
        }
        None => "/// This build embeds no site.\n\
                 pub(crate) static EMBEDDED: Option<Embedded> = None;\n"
            .to_owned(),
    };
    write_if_changed(&out, &code);
}

/// The generated table for the site in `root`. Panics (fails the build) when the site is not
/// a complete, hashed release site: a release binary without its pages is worse than no build.
fn embedded(root: &Path, output: &str) -> String {
    // Cargo scans a directory given here recursively: any new or changed file reruns us.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let find = |ext: &str| {
        files
            .iter()
            .find(|f| {
                f.starts_with("pkg/")
                    && is_hashed(f)
                    && f[4..].starts_with(&format!("{output}."))
                    && f.ends_with(ext)
            })
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "no hashed pkg/{output}.*{ext} in {}: build the release site with \
                     `cargo leptos build --release --precompress` (hash-files = true in Cargo.toml)",
                    root.display()
                )
            })
    };
    let (js, wasm, css) = (find(".js"), find(".wasm"), find(".css"));
    let mut code = String::new();
    let mut compressed = false;
    code.push_str("pub(crate) static EMBEDDED: Option<Embedded> = Some(Embedded {\n    assets: &[\n");
    for rel in &files {
        let path = root.join(rel);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let tag = format!("{:016x}", fnv1a(&bytes));
        // A twin is kept only when it is smaller (a PNG or WOFF2 does not shrink).
        let twin = |suffix: &str| {
            let twin = root.join(format!("{rel}{suffix}"));
            match fs::metadata(&twin) {
                Ok(meta) if meta.len() < bytes.len() as u64 => {
                    format!("Some(include_bytes!({:?}))", abs(&twin))
                }
                _ => "None".to_owned(),
            }
        };
        let (br, gzip) = (twin(".br"), twin(".gz"));
        compressed |= br != "None" || gzip != "None";
        writeln!(
            code,
            "        Asset {{ path: {path:?}, content_type: {ct:?}, immutable: {imm}, tag: {tag:?}, \
             identity: include_bytes!({file:?}), br: {br}, gzip: {gzip} }},",
            path = format!("/{rel}"),
            ct = content_type(rel),
            imm = is_hashed(rel),
            file = abs(&path),
        )
        .unwrap();
    }
    code.push_str("    ],\n");
    writeln!(
        code,
        "    bundle: EmbeddedBundle {{ js: {:?}, wasm: {:?}, css: {:?} }},",
        format!("/{js}"),
        format!("/{wasm}"),
        format!("/{css}")
    )
    .unwrap();
    code.push_str("});\n");
    if !compressed {
        println!(
            "cargo:warning=the embedded site is not precompressed (served uncompressed): build it \
             with `cargo leptos build --release --precompress` (scripts/release.sh)"
        );
    }
    code
}

/// Every file to serve under `dir`, as a `/`-separated path relative to `root`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "cannot read the site at {}: {e}; build it with `cargo leptos build --release --precompress`",
            dir.display()
        )
    });
    for entry in entries {
        let path = entry.expect("a readable site entry").path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let rel = path.strip_prefix(root).expect("under the root");
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_str().expect("UTF-8 file names"))
            .collect::<Vec<_>>()
            .join("/");
        // The twins are stored beside their file; wasm-bindgen's TypeScript declarations
        // (`*.d.ts`) are for editors, never for browsers.
        if !rel.ends_with(".br") && !rel.ends_with(".gz") && !rel.ends_with(".ts") {
            files.push(rel);
        }
    }
}

/// Whether cargo-leptos named the file after its content: `pkg/NAME.HASH.EXT`, HASH the MD5
/// in 22 characters of unpadded base64url. Such a name never serves other bytes, so browsers
/// may keep it for a year without asking again.
fn is_hashed(rel: &str) -> bool {
    let Some(name) = rel.strip_prefix("pkg/") else { return false };
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 3
        && parts[1].len() == 22
        && parts[1].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn content_type(rel: &str) -> &'static str {
    match rel.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
}

/// 64-bit FNV-1a: the ETag of a file. Not cryptographic; it only has to change when the bytes do.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn abs(path: &Path) -> String {
    fs::canonicalize(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).display().to_string()
}

/// Rewrites the file only when its content changes, so an unchanged site does not recompile
/// the crate.
fn write_if_changed(path: &Path, code: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(code) {
        fs::write(path, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
