//! The Mock network's media: a photo, a voice note and a PDF, generated here (no file outside
//! the repo), served by [`fetch`] the way a real network's download call serves its media.
//!
//! A contact sends media in answer to a message that names it: `#photo`, `#voice`, `#pdf`,
//! `#location` or `#contact` anywhere in the text. A webhook's message may carry `media` too,
//! as `{kind, source, file_name?}` with a source from [`SOURCES`] (or `mock-media:broken`, whose
//! bytes never arrive).

use switchboard::media::{AttachmentKind, ContactCard, GeoPoint};
use switchboard::provider::{InboundMedia, ProviderError};

/// The sources the network serves.
pub const SOURCES: [&str; 3] = ["mock-media:photo", "mock-media:voice", "mock-media:pdf"];
/// A source whose download always fails (the "media unavailable" path).
pub const BROKEN: &str = "mock-media:broken";

/// The bytes behind a source.
pub fn fetch(source: &str) -> Result<Vec<u8>, ProviderError> {
    match source {
        "mock-media:photo" => Ok(photo()),
        "mock-media:voice" => Ok(voice_note(3)),
        "mock-media:pdf" => Ok(pdf()),
        BROKEN => {
            Err(ProviderError::Retryable { message: "the media server timed out".into(), after_secs: None })
        }
        other => Err(ProviderError::Permanent { message: format!("no media `{other}` on this network") }),
    }
}

/// What a contact's answer carries for the tags in `text`.
pub fn requested(text: &str) -> Vec<InboundMedia> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let item = |kind, source: &str, name: Option<&str>, duration_ms| InboundMedia {
        kind,
        source: source.to_owned(),
        file_name: name.map(str::to_owned),
        duration_ms,
        location: None,
        contact: None,
    };
    if lower.contains("#photo") {
        out.push(item(AttachmentKind::Image, "mock-media:photo", Some("sunset.png"), None));
    }
    if lower.contains("#voice") {
        out.push(item(AttachmentKind::Voice, "mock-media:voice", Some("voice-note.wav"), None));
    }
    if lower.contains("#pdf") {
        out.push(item(AttachmentKind::Document, "mock-media:pdf", Some("invoice-2291.pdf"), None));
    }
    if lower.contains("#location") {
        out.push(InboundMedia {
            location: Some(GeoPoint {
                latitude: 52.520008,
                longitude: 13.404954,
                name: Some("Alexanderplatz, Berlin".into()),
            }),
            ..item(AttachmentKind::Location, "", None, None)
        });
    }
    if lower.contains("#contact") {
        out.push(InboundMedia {
            contact: Some(ContactCard { name: "Priya Shah".into(), phones: vec!["+15550100200".into()] }),
            ..item(AttachmentKind::Contact, "", None, None)
        });
    }
    out
}

/// A 480 × 320 PNG: a sunset gradient.
pub fn photo() -> Vec<u8> {
    let (w, h) = (480u32, 320u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let t = y as f32 / h as f32;
        let sun = ((x as f32 - 240.0).powi(2) + (y as f32 - 210.0).powi(2)).sqrt() < 60.0;
        if sun && y < 230 {
            image::Rgb([255, 214, 102])
        } else if y >= 230 {
            image::Rgb([30, 60 + (x % 40) as u8, 110])
        } else {
            image::Rgb([(250.0 - 60.0 * t) as u8, (120.0 - 40.0 * t) as u8, (90.0 + 80.0 * t) as u8])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encoding a PNG in memory");
    out.into_inner()
}

/// A PCM WAV voice note: `seconds` of a rising and falling tone, 8 kHz, 8-bit mono.
pub fn voice_note(seconds: u32) -> Vec<u8> {
    let rate = 8000u32;
    let samples = rate * seconds;
    let mut out = Vec::with_capacity(44 + samples as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&samples.to_le_bytes());
    for i in 0..samples {
        let t = i as f32 / rate as f32;
        let pitch = 220.0 + 110.0 * (t * 1.5).sin();
        let envelope = (t * 4.0).sin().abs() * 0.6 + 0.2;
        let v = (t * pitch * std::f32::consts::TAU).sin() * envelope;
        out.push((128.0 + v * 100.0) as u8);
    }
    out
}

/// A one-page PDF ("Invoice 2291"), written out with a correct cross-reference table.
pub fn pdf() -> Vec<u8> {
    let content =
        "BT /F1 24 Tf 72 720 Td (Invoice 2291) Tj 0 -40 Td /F1 14 Tf (Mock network test document) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_media_are_what_they_claim() {
        assert_eq!(switchboard::media::sniff(&photo(), "x"), Some("image/png"));
        assert_eq!(switchboard::media::image_dimensions("image/png", &photo()), Some((480, 320)));
        let voice = voice_note(3);
        assert_eq!(switchboard::media::sniff(&voice, "x"), Some("audio/wav"));
        assert_eq!(switchboard::media::wav_duration_ms(&voice, voice.len() as u64), Some(3000));
        let pdf = pdf();
        assert_eq!(switchboard::media::sniff(&pdf, "x"), Some("application/pdf"));
        let text = String::from_utf8(pdf).unwrap();
        let xref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(text[xref..].starts_with("xref"), "startxref points at the table");
        assert!(matches!(fetch(BROKEN), Err(ProviderError::Retryable { .. })));
        assert!(matches!(fetch("mock-media:nope"), Err(ProviderError::Permanent { .. })));
    }

    #[test]
    fn tags_in_a_message_ask_for_media() {
        let kinds: Vec<AttachmentKind> =
            requested("send #photo and #VOICE pls").iter().map(|m| m.kind).collect();
        assert_eq!(kinds, vec![AttachmentKind::Image, AttachmentKind::Voice]);
        assert!(requested("no tags").is_empty());
        let place = &requested("#location")[0];
        assert!(place.location.is_some() && place.source.is_empty());
    }
}
