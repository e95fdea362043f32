use super::*;

fn png_head(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0]);
    b
}

fn jpeg_head(w: u16, h: u16) -> Vec<u8> {
    // SOI, an APP0 segment of 16 bytes, then SOF0 with precision, height, width.
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    b.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&w.to_be_bytes());
    b
}

fn wav(seconds: u32) -> Vec<u8> {
    let rate = 8000u32;
    let data = rate * seconds;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes()); // byte rate: 8-bit mono
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    b.resize(44 + data as usize, 128);
    b
}

#[test]
fn types_come_from_the_bytes_not_the_name() {
    assert_eq!(sniff(&png_head(1, 1), "x.pdf"), Some("image/png"));
    assert_eq!(sniff(&jpeg_head(4, 3), "photo"), Some("image/jpeg"));
    assert_eq!(sniff(b"GIF89a\x01\0\x01\0", "a.gif"), Some("image/gif"));
    assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8X", "a"), Some("image/webp"));
    assert_eq!(sniff(&wav(1), "a"), Some("audio/wav"));
    assert_eq!(sniff(b"%PDF-1.7\n", "report.png"), Some("application/pdf"));
    assert_eq!(sniff(b"OggS\0\x02", "voice"), Some("audio/ogg"));
    assert_eq!(sniff(b"ID3\x04\0", "a"), Some("audio/mpeg"));
    assert_eq!(sniff(b"\0\0\0\x20ftypisom", "a"), Some("video/mp4"));
    assert_eq!(sniff(b"\0\0\0\x20ftypM4A ", "a"), Some("audio/mp4"));
    assert_eq!(sniff(b"\x1a\x45\xdf\xa3", "clip.webm"), Some("video/webm"));
    assert_eq!(
        sniff(b"PK\x03\x04rest", "Letter.DOCX"),
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    );
    assert_eq!(sniff(b"PK\x03\x04rest", "a.zip"), Some("application/zip"));
    assert_eq!(sniff(b"name,age\nann,3\n", "people.csv"), Some("text/csv"));
    // Markup is kept as plain text: never served as a page or a drawing.
    assert_eq!(sniff(b"<html><script>alert(1)</script>", "page.html"), Some("text/plain"));
    assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg"), Some("text/plain"));
    // Executables and unknown binaries are refused.
    assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0", "setup.exe"), None);
    assert_eq!(sniff(b"\x7fELF\x02\x01", "a.txt"), None);
    assert_eq!(sniff(b"", "empty.txt"), None);
    // A multi-byte character cut at the end of the head is still text.
    assert_eq!(sniff("héllo wörld".as_bytes().split_at(8).0, "a"), Some("text/plain"));
}

#[test]
fn only_media_types_render_inline() {
    for mime in ["image/png", "image/jpeg", "audio/ogg", "video/mp4"] {
        assert!(inline_safe(mime), "{mime}");
    }
    for mime in ["text/plain", "text/html", "image/svg+xml", "application/pdf", "application/zip"] {
        assert!(!inline_safe(mime), "{mime}");
    }
}

#[test]
fn image_sizes_are_read_from_headers() {
    assert_eq!(image_dimensions("image/png", &png_head(640, 480)), Some((640, 480)));
    assert_eq!(image_dimensions("image/jpeg", &jpeg_head(1024, 768)), Some((1024, 768)));
    assert_eq!(image_dimensions("image/gif", b"GIF89a\x20\x03\x58\x02"), Some((800, 600)));
    let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    vp8x.extend_from_slice(&[0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00]); // 640 x 480, minus one
    assert_eq!(image_dimensions("image/webp", &vp8x), Some((640, 480)));
    assert_eq!(image_dimensions("image/png", b"\x89PNG\r\n\x1a\n"), None, "a cut header is no size");
    assert_eq!(image_dimensions("image/jpeg", &[0xff, 0xd8, 0xff]), None);
    assert_eq!(image_dimensions("image/png", &png_head(0, 10)), None, "an empty image has no size");
}

#[test]
fn wav_lengths_come_from_the_byte_rate() {
    let file = wav(3);
    assert_eq!(wav_duration_ms(&file[..64], file.len() as u64), Some(3000));
    // An odd-sized chunk before the data is padded to an even length.
    let mut padded = file[..36].to_vec();
    padded.extend_from_slice(b"LIST\x03\0\0\0abc\0");
    padded.extend_from_slice(&file[36..]);
    assert_eq!(wav_duration_ms(&padded[..80], padded.len() as u64), Some(3000));
    assert_eq!(wav_duration_ms(b"RIFF\0\0\0\0WAVE", 12), None);
}

#[test]
fn file_names_lose_paths_and_control_characters() {
    assert_eq!(file_name(Some("../../etc/passwd"), "file"), "passwd");
    assert_eq!(file_name(Some("C:\\Users\\ann\\report.pdf"), "file"), "report.pdf");
    assert_eq!(file_name(Some("a\"b\r\n.pdf"), "file"), "ab.pdf");
    assert_eq!(file_name(Some("evil\u{202e}fdp.exe"), "file"), "evilfdp.exe");
    assert_eq!(file_name(Some("  "), "image.png"), "image.png");
    assert_eq!(file_name(None, "file.pdf"), "file.pdf");
    assert_eq!(file_name(Some(".hidden"), "x"), "hidden");
    let long = "é".repeat(200);
    let kept = file_name(Some(&long), "x");
    assert!(kept.len() <= MAX_FILE_NAME_BYTES && kept.chars().all(|c| c == 'é'));
}

#[test]
fn kinds_follow_the_type_and_fit_what_was_asked() {
    assert_eq!(AttachmentKind::for_upload("image/png", None), Ok(AttachmentKind::Image));
    assert_eq!(
        AttachmentKind::for_upload("audio/ogg", Some(AttachmentKind::Voice)),
        Ok(AttachmentKind::Voice)
    );
    assert_eq!(
        AttachmentKind::for_upload("image/webp", Some(AttachmentKind::Sticker)),
        Ok(AttachmentKind::Sticker)
    );
    assert_eq!(
        AttachmentKind::for_upload("image/png", Some(AttachmentKind::Document)),
        Ok(AttachmentKind::Document)
    );
    assert!(AttachmentKind::for_upload("application/pdf", Some(AttachmentKind::Voice)).is_err());
    assert!(AttachmentKind::for_upload("image/png", Some(AttachmentKind::Location)).is_err());
    for kind in AttachmentKind::ALL {
        assert_eq!(kind.as_str().parse::<AttachmentKind>(), Ok(kind));
    }
}

#[test]
fn sends_name_few_attachments_each_once() {
    let a = AttachmentId::new();
    assert_eq!(attachment_ids(&[a]).unwrap(), vec![a]);
    assert!(attachment_ids(&[a, a]).is_err());
    let many: Vec<AttachmentId> = (0..=MAX_ATTACHMENTS).map(|_| AttachmentId::new()).collect();
    assert!(attachment_ids(&many).is_err());
}

#[test]
fn labels_and_sizes_read_well() {
    assert_eq!(clock(61_000), "1:01");
    assert_eq!(clock(3_600_500), "1:00:01");
    assert_eq!(human_size(812), "812 B");
    assert_eq!(human_size(14 * 1024), "14 KB");
    assert_eq!(human_size(3_355_443), "3.2 MB");
    assert_eq!(human_size(2 * 1024 * 1024), "2.0 MB");
    assert_eq!(human_size(1023), "1023 B");
    assert_eq!(human_size(1536), "2 KB");
    assert_eq!(human_size(5 * 1024 * 1024 * 1024 + 1), "5.0 GB");
    let voice = Attachment {
        id: AttachmentId::new(),
        kind: AttachmentKind::Voice,
        mime_type: "audio/ogg".into(),
        size: 1000,
        file_name: "voice.ogg".into(),
        width: None,
        height: None,
        duration_ms: Some(7_000),
        has_thumbnail: false,
        state: MediaState::Ready,
        location: None,
        contact: None,
        url: None,
        thumbnail_url: None,
    };
    assert_eq!(voice.label(), "🎤 Voice message (0:07)");
    let json = serde_json::to_value(&voice).unwrap();
    assert!(json.get("url").is_none(), "no link until one is minted");
    assert_eq!(json["kind"], "voice");
    let back: Attachment = serde_json::from_value(json).unwrap();
    assert_eq!(back, voice);
}
