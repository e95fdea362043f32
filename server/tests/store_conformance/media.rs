//! Uploads and attachments: one workspace's, the uploader's, one message's; the sweep.

use switchboard::media::{Attachment, AttachmentKind, MediaState};
use switchboard::store::{NewUpload, StoreError};
use switchboard::time::now;
use switchboard::{AttachmentId, Store};

use crate::*;

fn upload(ws: switchboard::WorkspaceId, by: switchboard::UserId, key: &str) -> NewUpload {
    NewUpload {
        attachment: Attachment {
            id: AttachmentId::new(),
            kind: AttachmentKind::Image,
            mime_type: "image/png".into(),
            size: 1234,
            file_name: "a.png".into(),
            width: Some(640),
            height: Some(480),
            duration_ms: None,
            has_thumbnail: true,
            state: MediaState::Ready,
            location: None,
            contact: None,
            url: None,
            thumbnail_url: None,
        },
        workspace_id: ws,
        uploaded_by: by,
        blob_key: Some(key.to_owned()),
        thumb_key: Some(format!("{key}.thumb")),
    }
}

/// An upload belongs to its workspace and uploader; a send takes it once, in its own write
/// (a group's second taker, another workspace's send and another member's are refused with
/// nothing written); the message keeps the metadata; deleting the message ends serving, and
/// the sweep returns the blobs no one refers to.
pub async fn uploads_go_into_one_message_of_their_workspace(store: &dyn Store) {
    let (ws, _ch, agent, conv) = messaging_fixture(store, "Acme").await;
    let (other_ws, _, other_agent, other_conv) = messaging_fixture(store, "Globex").await;
    let colleague = user(store, "colleague@acme.example").await;
    let key_a = "a".repeat(64);
    let key_b = "b".repeat(64);
    let a = store.put_upload(upload(ws, agent, &key_a)).await.unwrap();
    let b = store.put_upload(upload(ws, agent, &key_b)).await.unwrap();
    let (a_id, b_id) = (a.attachment.id, b.attachment.id);
    assert_eq!(store.upload(ws, a_id).await.unwrap().unwrap().attachment, a.attachment);
    assert!(store.upload(other_ws, a_id).await.unwrap().is_none(), "another workspace sees nothing");

    let with = |ws, conv, sender, ids: Vec<AttachmentId>, key: Option<&str>| {
        switchboard::store::NewOutbound { attachments: ids, ..outbound(ws, conv, sender, "caption", key) }
    };
    let refused = StoreError::Conflict { constraint: "attachments".into() };
    // In one group: the first taker wins, the second is refused; another workspace's send and a
    // colleague's cannot take it.
    let r = tokio::join!(
        store.send_message(with(ws, conv, agent, vec![a_id], Some("k1"))),
        store.send_message(with(ws, conv, agent, vec![b_id, a_id], None)),
        store.send_message(with(other_ws, other_conv, other_agent, vec![b_id], None)),
        store.send_message(with(ws, conv, colleague.id, vec![b_id], None)),
    );
    let sent = r.0.unwrap();
    assert_eq!(r.1.unwrap_err(), refused);
    assert_eq!(r.2.unwrap_err(), refused);
    assert_eq!(r.3.unwrap_err(), refused);
    assert_eq!(sent.message.attachments, vec![a.attachment.clone()]);
    assert_eq!(store.upload(ws, a_id).await.unwrap().unwrap().message_id, Some(sent.message.id));
    assert!(
        store.upload(ws, b_id).await.unwrap().unwrap().message_id.is_none(),
        "refused sends took nothing"
    );
    // The same key answers the first message, attachments and all; history reads them back.
    let again = store.send_message(with(ws, conv, agent, vec![a_id], Some("k1"))).await.unwrap();
    assert!(!again.created && again.message.attachments == sent.message.attachments);
    let history = store.messages(ws, conv, None, 1).await.unwrap();
    assert_eq!(history[0].attachments, vec![a.attachment.clone()]);
    assert_eq!(history[0].preview(), "caption");

    // Served while its message stands; the sweep spares what is referenced.
    assert_eq!(store.media(a_id).await.unwrap().unwrap().blob_key.as_deref(), Some(key_a.as_str()));
    assert!(store.collect_media(now() - chrono::Duration::hours(1)).await.unwrap().is_empty());
    // Deleted: no longer served, its blobs returned by the sweep (the unsent upload, younger
    // than the cutoff, stays).
    let target = switchboard::message::MessageRef::Id { workspace_id: ws, id: sent.message.id };
    let deleted = store.delete_message(target).await.unwrap().unwrap();
    assert!(deleted.attachments.is_empty());
    assert!(store.media(a_id).await.unwrap().is_none());
    let mut freed = store.collect_media(now() - chrono::Duration::hours(1)).await.unwrap();
    freed.sort();
    assert_eq!(freed, vec![key_a.clone(), format!("{key_a}.thumb")]);
    assert!(store.media(b_id).await.unwrap().is_some());
    // Past the cutoff, uploads no send took go too; a blob that a sent attachment shares stays.
    let key_c = "c".repeat(64);
    let c = store.put_upload(upload(ws, agent, &key_c)).await.unwrap();
    store.put_upload(upload(ws, agent, &key_c)).await.unwrap();
    store.send_message(with(ws, conv, agent, vec![c.attachment.id], None)).await.unwrap();
    let mut freed = store.collect_media(now() + chrono::Duration::hours(1)).await.unwrap();
    freed.sort();
    assert_eq!(freed, vec![key_b.clone(), format!("{key_b}.thumb")]);
    assert!(store.media(b_id).await.unwrap().is_none());
    assert!(store.media(c.attachment.id).await.unwrap().is_some());
}
