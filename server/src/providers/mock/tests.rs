use super::*;
use switchboard::WorkspaceId;

fn channel(config: serde_json::Value) -> Channel {
    let now = switchboard::time::now();
    Channel {
        id: ChannelId::new(),
        workspace_id: WorkspaceId::new(),
        provider: ProviderKind::Mock,
        name: "M".into(),
        status: switchboard::ChannelStatus::Connected,
        config,
        last_error: None,
        created_at: now,
        updated_at: now,
        webhook: None,
        history_import: None,
    }
}

struct Collect(Mutex<Vec<ChannelEvent>>);
impl EventSink for Collect {
    fn emit(&self, event: ChannelEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn contacts_and_history_are_deterministic() {
    let net = MockNetwork::new("http://x");
    let ch = channel(serde_json::json!({"contacts": 12}));
    let contacts = net.list_contacts(&ch).await.unwrap();
    assert_eq!(contacts.len(), 12);
    assert_eq!(contacts, net.list_contacts(&ch).await.unwrap());
    assert_eq!(contacts[0], Contact { external_id: "+15550000001".into(), name: "Maria Lopez".into() });
    assert_eq!(contacts[10].name, "Maria Lopez 2", "names stay unique past the list");

    let history = net.load_history(&ch, None, "+15550000002", None, 4).await.unwrap();
    assert_eq!(history.len(), 4);
    assert!(history.windows(2).all(|w| w[0].sent_at > w[1].sent_at), "newest first");
    let older = net.load_history(&ch, None, "+15550000002", Some(history[3].sent_at), 100).await.unwrap();
    assert_eq!(older.len(), 6, "paging by time continues where the first page ended");
    assert!(net.load_history(&ch, None, "+19999", None, 5).await.is_err());
}

#[tokio::test]
async fn sends_need_a_connection_and_a_known_contact_and_are_idempotent() {
    let net = MockNetwork::new("http://x");
    let ch = channel(serde_json::json!({ "history_on_connect": true }));
    let msg = OutboundMessage {
        idempotency_key: "k1".into(),
        contact_id: "+15550000001".into(),
        text: "hi".into(),
        media: Vec::new(),
        reply_to: None,
        template: None,
        buttons: Vec::new(),
    };
    assert!(matches!(net.send(&ch, None, msg.clone()).await, Err(ProviderError::Retryable { .. })));

    let sink = Arc::new(Collect(Mutex::new(Vec::new())));
    net.connect(&ch, &serde_json::json!({}), None, sink.clone()).await.unwrap();
    let events = sink.0.lock().unwrap().clone();
    assert_eq!(events[0], ChannelEvent::Connected);
    assert!(matches!(&events[1], ChannelEvent::ContactsUpdated { contacts } if contacts.len() == 3));
    let presence: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Presence { contact_id, online } => Some((contact_id.as_str(), *online)),
            _ => None,
        })
        .collect();
    assert_eq!(presence, [("+15550000001", true), ("+15550000002", false), ("+15550000003", true)]);
    let histories = events
        .iter()
        .filter(|e| matches!(e, ChannelEvent::History { messages, .. } if messages.len() == 10))
        .count();
    assert_eq!(histories, 3, "each contact's history is delivered on connect");

    let first = net.send(&ch, None, msg.clone()).await.unwrap();
    assert_eq!(
        net.send(&ch, None, msg.clone()).await.unwrap(),
        first,
        "the same key gives the same network id"
    );
    let stranger = OutboundMessage { contact_id: "+1999".into(), ..msg };
    assert!(matches!(net.send(&ch, None, stranger).await, Err(ProviderError::Permanent { .. })));
}

#[test]
fn token_shape_is_documented_and_enforced() {
    assert!(token_is_valid("mock_abcdefghijklmnopqrstuvwx"));
    assert!(!token_is_valid("mock_short"));
    assert!(!token_is_valid("mock_abcdefghijklmnopqrstuvw!"));
    assert!(!token_is_valid("tok_abcdefghijklmnopqrstuvwxyz"));
}
