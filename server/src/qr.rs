//! QR codes as SVG, drawn on the server: the auth page shows a QR prompt with no script and no
//! image request, and API clients get the same picture.
//!
//! The `qrcode` crate encodes; the SVG is written here rather than by the crate's `svg`
//! renderer, which fixes a pixel width and height and has no accessible name. Ours scales to
//! its container (a `viewBox` in module units, only a minimum size) and is labelled.

use std::fmt::Write;

use qrcode::{Color, QrCode};

/// Light modules around the code, as the QR specification asks, so scanners find its edges.
pub const QUIET_ZONE: usize = 4;
/// The smallest size the image shrinks to, in CSS pixels: a few pixels a module, scannable.
pub const MIN_SIZE_PX: usize = 160;

/// A self-contained SVG of the QR code of `value` (dark modules on white, quiet zone included);
/// `None` when the value is too long for any QR code.
pub fn svg(value: &str) -> Option<String> {
    let code = match QrCode::new(value.as_bytes()) {
        Ok(code) => code,
        Err(e) => {
            tracing::warn!(error = %e, len = value.len(), "cannot encode a QR code");
            return None;
        }
    };
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    // One path for every dark module, a rectangle per horizontal run: small and gap-free.
    let mut path = String::with_capacity(width * width);
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
        }
    }
    Some(format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="QR code""##,
            r##" shape-rendering="crispEdges" style="min-width:{min}px;min-height:{min}px">"##,
            r##"<title>QR code</title><rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##,
        ),
        size = size,
        min = MIN_SIZE_PX,
        path = path,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_scales_and_has_a_quiet_zone() {
        let svg = svg("https://switchboard.test/mock/pair/abc").unwrap();
        let modules = QrCode::new(b"https://switchboard.test/mock/pair/abc").unwrap().width();
        let size = modules + 2 * QUIET_ZONE;
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(&format!(r#"viewBox="0 0 {size} {size}""#)));
        assert!(svg.contains(r#"aria-label="QR code""#) && svg.contains(r#"role="img""#));
        let open = &svg[..svg.find('>').unwrap()];
        assert!(!open.contains(" width=") && !open.contains(" height="), "no fixed size: {open}");
        // The top-left finder pattern starts right after the quiet zone with a 7-module run.
        assert!(svg.contains(&format!("d=\"M{QUIET_ZONE} {QUIET_ZONE}h7v1h-7z")), "{svg}");
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn values_too_long_for_a_qr_code_have_none() {
        assert!(svg(&"x".repeat(8000)).is_none());
    }
}
