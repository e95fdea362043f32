//! Sending through the gateway: files as data URIs, places, contact cards, the text as the first
//! caption that can carry it.

use base64::Engine;
use serde_json::json;
use switchboard::media::AttachmentKind;
use switchboard::provider::{OutboundMedia, OutboundMessage, ProviderError};

use super::{MAX_MEDIA_BYTES, Whapi, api};

/// The gateway's message type an attachment goes out as.
pub(super) fn wire_type(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio => "audio",
        AttachmentKind::Voice => "voice",
        AttachmentKind::Sticker => "sticker",
        AttachmentKind::Document => "document",
        AttachmentKind::Location => "location",
        AttachmentKind::Contact => "contact",
    }
}

/// A file as the data URI the gateway takes in `media`.
pub(super) fn data_uri(mime: &str, file_name: &str, bytes: &[u8]) -> String {
    let name: String = file_name.chars().filter(|c| !matches!(c, ';' | ',' | '\r' | '\n')).collect();
    format!("data:{mime};name={name};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A contact card as a vCard.
pub(super) fn vcard(card: &switchboard::media::ContactCard) -> String {
    let mut out = format!("BEGIN:VCARD\nVERSION:3.0\nFN:{}\n", card.name);
    for phone in &card.phones {
        out.push_str(&format!("TEL;type=CELL:{phone}\n"));
    }
    out.push_str("END:VCARD");
    out
}

impl Whapi {
    /// Sends each attachment as its own message, the text as the first caption that can carry
    /// it, or after them; returns the first message's id.
    pub(super) async fn send_media(
        &self,
        api: &api::Api<'_>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let mut caption = (!message.text.trim().is_empty()).then_some(message.text.clone());
        let mut first: Option<String> = None;
        let base = |to: &str| {
            let mut body = json!({ "to": to });
            if let Some(quoted) = &message.reply_to {
                body["quoted"] = json!(quoted);
            }
            body
        };
        for OutboundMedia { attachment, bytes } in &message.media {
            let mut body = base(&message.contact_id);
            match attachment.kind {
                AttachmentKind::Location => {
                    let place = attachment.location.clone().ok_or_else(|| ProviderError::Permanent {
                        message: "a place without coordinates".into(),
                    })?;
                    body["latitude"] = json!(place.latitude);
                    body["longitude"] = json!(place.longitude);
                    if let Some(name) = place.name {
                        body["name"] = json!(name);
                    }
                }
                AttachmentKind::Contact => {
                    let card =
                        attachment.contact.clone().unwrap_or_else(|| switchboard::media::ContactCard {
                            name: attachment.file_name.clone(),
                            phones: Vec::new(),
                        });
                    body["name"] = json!(card.name);
                    body["vcard"] = json!(vcard(&card));
                }
                kind => {
                    if bytes.len() > MAX_MEDIA_BYTES {
                        return Err(ProviderError::Permanent {
                            message: "the file is larger than WhatsApp carries".into(),
                        });
                    }
                    body["media"] = json!(data_uri(&attachment.mime_type, &attachment.file_name, bytes));
                    body["mime_type"] = json!(attachment.mime_type);
                    if matches!(
                        kind,
                        AttachmentKind::Image | AttachmentKind::Video | AttachmentKind::Document
                    ) && let Some(text) = caption.take()
                    {
                        body["caption"] = json!(text);
                    }
                    if kind == AttachmentKind::Document {
                        body["filename"] = json!(attachment.file_name);
                    }
                }
            }
            let id = api.send(wire_type(attachment.kind), &body).await?;
            first.get_or_insert(id);
        }
        if let Some(text) = caption {
            let mut body = base(&message.contact_id);
            body["body"] = json!(text);
            let id = api.send("text", &body).await?;
            first.get_or_insert(id);
        }
        first.ok_or_else(|| ProviderError::Permanent { message: "nothing to send".into() })
    }
}
