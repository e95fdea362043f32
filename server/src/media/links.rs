//! Signed media links: `/media/{id}?exp=…&sig=…`, so an `<img>` or `<audio>` tag fetches an
//! attachment without a bearer header. The signature is an HMAC-SHA256, under a key derived
//! from the server secret, of the attachment id, the variant (the file or its thumbnail) and
//! the expiry; a link works until `exp` (Unix seconds) and names one attachment only.
//!
//! Links are minted when a message leaves the server (history, a send's answer, a live push,
//! recovery, sync), never stored: the event log keeps ids and metadata only.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchboard::media::Attachment;
use switchboard::{AttachmentId, Event, EventBody, Message};

use crate::secret::SecretKey;

/// Default lifetime of a link.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Which bytes a link names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    File,
    Thumbnail,
}

impl Variant {
    fn tag(self) -> &'static str {
        match self {
            Variant::File => "file",
            Variant::Thumbnail => "thumb",
        }
    }
}

/// Why a link was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    Expired,
    BadSignature,
}

/// Mints and checks media links.
#[derive(Clone)]
pub struct MediaLinks {
    key: [u8; 32],
    ttl: Duration,
}

impl std::fmt::Debug for MediaLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaLinks").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl MediaLinks {
    pub fn new(secret: &SecretKey, ttl: Duration) -> Self {
        Self { key: secret.derive("media-links"), ttl: ttl.max(Duration::from_secs(1)) }
    }

    fn signature(&self, id: AttachmentId, variant: Variant, exp: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(format!("{id}:{}:{exp}", variant.tag()).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A link valid from `now` (Unix seconds) for the configured lifetime.
    pub fn link(&self, id: AttachmentId, variant: Variant, now: i64) -> String {
        let exp = now + self.ttl.as_secs() as i64;
        let sig = self.signature(id, variant, exp);
        match variant {
            Variant::File => format!("/media/{id}?exp={exp}&sig={sig}"),
            Variant::Thumbnail => format!("/media/{id}/thumbnail?exp={exp}&sig={sig}"),
        }
    }

    /// Whether a link's `exp` and `sig` hold at `now`.
    pub fn check(
        &self,
        id: AttachmentId,
        variant: Variant,
        exp: i64,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkRefusal> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(format!("{id}:{}:{exp}", variant.tag()).as_bytes());
        let given = hex::decode(sig).map_err(|_| LinkRefusal::BadSignature)?;
        // Constant time: the signature is checked before the expiry says anything.
        mac.verify_slice(&given).map_err(|_| LinkRefusal::BadSignature)?;
        if exp < now {
            return Err(LinkRefusal::Expired);
        }
        Ok(())
    }

    /// Gives each attachment with bytes its links.
    pub fn sign(&self, attachments: &mut [Attachment]) {
        let now = chrono::Utc::now().timestamp();
        for a in attachments.iter_mut() {
            if let Some(place) = &a.location {
                a.url = Some(place.map_url());
                continue;
            }
            let has_bytes = a.kind.has_blob() && a.state == switchboard::media::MediaState::Ready;
            a.url = has_bytes.then(|| self.link(a.id, Variant::File, now));
            a.thumbnail_url =
                (has_bytes && a.has_thumbnail).then(|| self.link(a.id, Variant::Thumbnail, now));
        }
    }

    pub fn sign_message(&self, message: &mut Message) {
        self.sign(&mut message.attachments);
    }

    pub fn sign_messages(&self, messages: &mut [Message]) {
        for message in messages {
            self.sign_message(message);
        }
    }

    /// Links for a message an event carries (`message.created`, `message.updated`).
    pub fn sign_event(&self, event: &mut Event) {
        if let EventBody::MessageCreated(m) | EventBody::MessageUpdated(m) = &mut event.body {
            self.sign_message(m);
        }
    }

    /// Whether an event carries attachments (and so needs links before it is sent).
    pub fn needs_signing(event: &Event) -> bool {
        matches!(&event.body, EventBody::MessageCreated(m) | EventBody::MessageUpdated(m) if !m.attachments.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> MediaLinks {
        MediaLinks::new(&SecretKey::from_hex(&"cd".repeat(32)).unwrap(), Duration::from_secs(60))
    }

    fn parts(link: &str) -> (i64, String) {
        let query = link.split_once('?').unwrap().1;
        let mut exp = 0;
        let mut sig = String::new();
        for pair in query.split('&') {
            match pair.split_once('=').unwrap() {
                ("exp", v) => exp = v.parse().unwrap(),
                ("sig", v) => sig = v.to_owned(),
                _ => {}
            }
        }
        (exp, sig)
    }

    #[test]
    fn a_link_holds_until_it_expires_for_its_attachment_and_variant_only() {
        let links = links();
        let (id, other) = (AttachmentId::new(), AttachmentId::new());
        let link = links.link(id, Variant::File, 1_000);
        assert!(link.starts_with(&format!("/media/{id}?exp=1060&sig=")));
        let (exp, sig) = parts(&link);
        assert_eq!(links.check(id, Variant::File, exp, &sig, 1_030), Ok(()));
        assert_eq!(links.check(id, Variant::File, exp, &sig, 1_061), Err(LinkRefusal::Expired));
        assert_eq!(links.check(other, Variant::File, exp, &sig, 1_030), Err(LinkRefusal::BadSignature));
        assert_eq!(links.check(id, Variant::Thumbnail, exp, &sig, 1_030), Err(LinkRefusal::BadSignature));
        assert_eq!(links.check(id, Variant::File, exp + 3600, &sig, 1_030), Err(LinkRefusal::BadSignature));
        assert_eq!(links.check(id, Variant::File, exp, "zz", 1_030), Err(LinkRefusal::BadSignature));
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(links.check(id, Variant::File, exp, &flipped, 1_030), Err(LinkRefusal::BadSignature));
        // Another server secret signs differently.
        let stranger =
            MediaLinks::new(&SecretKey::from_hex(&"ef".repeat(32)).unwrap(), Duration::from_secs(60));
        assert_eq!(stranger.check(id, Variant::File, exp, &sig, 1_030), Err(LinkRefusal::BadSignature));
    }
}
