//! Attachments in the thread: how each kind is shown in a bubble (photos as thumbnails that
//! open in a lightbox, voice notes and audio with a player, video, documents as file chips,
//! places as map links, contact cards), and the composer's files (picked, dropped or pasted;
//! uploaded with a progress bar; cancelled).

use leptos::prelude::*;
use switchboard::media::{Attachment, AttachmentKind, MediaState, clock, human_size};

/// Widest a photo is shown in a bubble, in CSS pixels.
const MAX_W: u32 = 280;
/// Tallest a photo is shown.
const MAX_H: u32 = 320;

/// The photo open full size, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub url: String,
    pub alt: String,
}

/// The lightbox's state, shared by the thread's bubbles and the overlay.
#[derive(Clone, Copy)]
pub struct Lightbox(pub RwSignal<Option<Shown>>);

/// A photo's box in the bubble, from its size (so the row does not jump while it loads).
pub fn fitted(width: Option<u32>, height: Option<u32>) -> (u32, u32) {
    let (w, h) = (width.unwrap_or(MAX_W).max(1), height.unwrap_or(MAX_W * 3 / 4).max(1));
    let scale = (f64::from(MAX_W) / f64::from(w)).min(f64::from(MAX_H) / f64::from(h)).min(1.0);
    (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1))
}

/// The words under a file chip: `PDF · 14 KB`.
pub fn file_facts(a: &Attachment) -> String {
    let kind = a
        .file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_uppercase())
        .filter(|ext| ext.len() <= 5)
        .unwrap_or_else(|| a.mime_type.split('/').next_back().unwrap_or("file").to_uppercase());
    format!("{kind} · {}", human_size(a.size))
}

/// The attachments of one message.
#[component]
pub fn AttachmentList(list: Vec<Attachment>) -> impl IntoView {
    let items = list.into_iter().map(|a| view! { <AttachmentView a /> }).collect_view();
    view! { <div class="attachments">{items}</div> }
}

/// A file chip: an icon, a name and a line of facts; a link when `href` is given. Documents,
/// places, contact cards and media that never arrived share it (one view, less code to ship).
fn chip(
    kind: &'static str,
    icon: &'static str,
    name: String,
    facts: String,
    href: Option<String>,
    download: Option<String>,
) -> AnyView {
    let external = kind == "location";
    view! {
        <a
            class="file-chip"
            class:unavailable=kind == "unavailable"
            data-testid="attachment"
            data-kind=kind
            href=href
            download=download
            target=external.then_some("_blank")
            rel=external.then_some("noopener noreferrer")
        >
            <span class="file-icon" aria-hidden="true">{icon}</span>
            <span class="file-name">{name}</span>
            <span class="file-facts">{facts}</span>
        </a>
    }
    .into_any()
}

#[component]
fn AttachmentView(a: Attachment) -> impl IntoView {
    let lightbox = use_context::<Lightbox>();
    if a.state == MediaState::Unavailable {
        return chip("unavailable", "⚠", "Media unavailable".into(), a.file_name.clone(), None, None);
    }
    match a.kind {
        AttachmentKind::Image | AttachmentKind::Sticker => {
            let (w, h) = fitted(a.width, a.height);
            let full = a.url.clone().unwrap_or_default();
            let src = a.thumbnail_url.clone().or_else(|| a.url.clone()).unwrap_or_default();
            let alt = a.file_name.clone();
            let open = {
                let (full, alt) = (full.clone(), alt.clone());
                move |_| {
                    if let Some(Lightbox(shown)) = lightbox {
                        shown.set(Some(Shown { url: full.clone(), alt: alt.clone() }));
                    }
                }
            };
            view! {
                <button
                    type="button"
                    class="photo"
                    data-testid="attachment"
                    data-kind=a.kind.as_str()
                    aria-label=format!("Open photo {alt}")
                    on:click=open
                >
                    <img src=src alt=alt.clone() width=w height=h loading="lazy" decoding="async" />
                </button>
            }
            .into_any()
        }
        AttachmentKind::Voice | AttachmentKind::Audio | AttachmentKind::Video => {
            let label = match (a.kind, a.duration_ms) {
                (AttachmentKind::Voice, Some(ms)) => format!("Voice message, {}", clock(ms)),
                (AttachmentKind::Voice, None) => "Voice message".to_owned(),
                _ => a.file_name.clone(),
            };
            let src = a.url.clone().unwrap_or_default();
            let player = if a.kind == AttachmentKind::Video {
                let (w, h) = fitted(a.width, a.height);
                view! { <video class="video" controls preload="metadata" width=w height=h src=src aria-label=label.clone()></video> }.into_any()
            } else {
                view! { <audio controls preload="metadata" src=src aria-label=label.clone()></audio> }
                    .into_any()
            };
            view! {
                <div class="audio" data-testid="attachment" data-kind=a.kind.as_str()>
                    <span class="audio-label">{label}</span>
                    {player}
                </div>
            }
            .into_any()
        }
        AttachmentKind::Document => {
            let facts = file_facts(&a);
            chip("document", "📄", a.file_name.clone(), facts, a.url.clone(), Some(a.file_name))
        }
        AttachmentKind::Location => {
            let name =
                a.location.as_ref().and_then(|p| p.name.clone()).unwrap_or_else(|| "Shared location".into());
            // The server makes the map link (no float formatting in the browser bundle).
            chip("location", "📍", name, "Open the map".into(), a.url, None)
        }
        AttachmentKind::Contact => {
            let card = a
                .contact
                .unwrap_or(switchboard::media::ContactCard { name: "Contact".into(), phones: vec![] });
            chip("contact", "👤", card.name, card.phones.join(", "), None, None)
        }
    }
}

/// The photo full size over the page; Escape, the close button or a click beside it closes it.
#[component]
pub fn LightboxView() -> impl IntoView {
    let Lightbox(shown) = expect_context::<Lightbox>();
    let close_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if shown.with(Option::is_some) {
            request_animation_frame(move || {
                if let Some(b) = close_button.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            shown.set(None);
        }
    };
    view! {
        <Show when=move || shown.with(Option::is_some)>
            <div
                class="lightbox"
                role="dialog"
                aria-modal="true"
                aria-label="Photo"
                data-testid="lightbox"
                on:keydown=on_key
                on:click=move |_| shown.set(None)
            >
                <button type="button" class="lightbox-close" node_ref=close_button aria-label="Close" on:click=move |_| shown.set(None)>
                    "✕"
                </button>
                <img
                    src=move || shown.with(|s| s.as_ref().map(|s| s.url.clone()).unwrap_or_default())
                    alt=move || shown.with(|s| s.as_ref().map(|s| s.alt.clone()).unwrap_or_default())
                    on:click=|ev| ev.stop_propagation()
                />
            </div>
        </Show>
    }
}

/// A file in the composer, on its way up.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingFile {
    pub key: u64,
    pub name: String,
    pub size: u64,
    /// Share sent, 0 to 1.
    pub progress: f64,
    pub state: PendingState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PendingState {
    Uploading,
    Done(Box<Attachment>),
    Failed(String),
}

impl PendingFile {
    pub fn done(&self) -> Option<&Attachment> {
        match &self.state {
            PendingState::Done(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_keep_their_shape_within_the_bubble() {
        assert_eq!(fitted(Some(1200), Some(600)), (280, 140));
        assert_eq!(fitted(Some(300), Some(1200)), (80, 320));
        assert_eq!(fitted(Some(100), Some(50)), (100, 50), "small photos are not blown up");
        assert_eq!(fitted(None, None), (280, 210));
    }
}
