//! Thumbnails: a small JPEG of an image, so a conversation shows photos without loading them
//! whole. Decoding is bounded (dimensions and memory), and runs on a blocking thread.

use std::path::Path;

use image::ImageReader;
use switchboard::media::{Attachment, AttachmentKind};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Images this small (on both counts) are their own thumbnail.
const SMALL_BYTES: u64 = 48 * 1024;
/// Largest image side decoded; bigger images get no thumbnail.
const MAX_SIDE: u32 = 16_384;
/// Most memory one decode may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Whether the attachment should get a thumbnail.
pub fn worth_one(attachment: &Attachment) -> bool {
    let image = matches!(attachment.kind, AttachmentKind::Image | AttachmentKind::Sticker)
        && matches!(attachment.mime_type.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp");
    let small = attachment.size <= SMALL_BYTES
        && attachment.width.is_some_and(|w| w <= THUMBNAIL_SIDE)
        && attachment.height.is_some_and(|h| h <= THUMBNAIL_SIDE);
    image && !small
}

/// A JPEG at most [`THUMBNAIL_SIDE`] on its longest side.
pub fn make(source: &Path) -> Result<Vec<u8>, String> {
    let mut reader = ImageReader::open(source)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 72)
        .encode_image(&small)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_image_gets_a_small_jpeg() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        image::RgbImage::from_fn(1200, 600, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
            .save(&path)
            .unwrap();
        let jpeg = make(&path).unwrap();
        assert!(jpeg.starts_with(&[0xff, 0xd8, 0xff]));
        assert_eq!(switchboard::media::image_dimensions("image/jpeg", &jpeg), Some((320, 160)));
    }

    #[test]
    fn what_is_not_an_image_gets_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        assert!(make(&path).is_err());
    }
}
