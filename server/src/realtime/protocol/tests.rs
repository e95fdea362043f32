//! The protocol's parsing and framing, checked against the frames `docs/realtime.md` shows.

use serde_json::json;

use super::*;

const USER: &str = "0190a1b2-0000-7000-8000-000000000001";
const WORKSPACE: &str = "0190a1b2-0000-7000-8000-000000000002";
const CONVERSATION: &str = "0190a1b2-0000-7000-8000-000000000003";
const MESSAGE: &str = "0190a1b2-0000-7000-8000-000000000004";

fn rpc_request(method: &str, data: Option<serde_json::Value>) -> RpcRequest {
    let data = data.map(|d| RawValue::from_string(d.to_string()).unwrap());
    RpcRequest { method: method.to_owned(), data }
}

/// A log event as the store hands it out (parsed from its envelope, so this test does not
/// depend on how `Event` is built).
fn event(offset: i64) -> Event {
    let topic = ["conversation:", CONVERSATION].concat();
    serde_json::from_value(json!({
        "id": "0190a1b2-0000-7000-8000-000000000005",
        "type": "message.deleted",
        "schema_version": 1,
        "occurred_at": "2026-12-03T09:00:00Z",
        "trace_id": null,
        "topic": topic,
        "offset": offset,
        "payload": { "message_id": MESSAGE, "conversation_id": CONVERSATION, "deleted_at": null },
    }))
    .unwrap()
}

#[test]
fn commands_parse_as_the_sdks_send_them() {
    let c: Command = serde_json::from_str(r#"{"id":1,"connect":{"token":"t","name":"js"}}"#).unwrap();
    assert!(matches!(c.into_request(), (1, Request::Connect(c)) if c.token == "t"));
    let c: Command =
        serde_json::from_str(r#"{"id":2,"subscribe":{"channel":"a","recover":true,"offset":5,"epoch":"e"}}"#)
            .unwrap();
    let (2, Request::Subscribe(s)) = c.into_request() else { panic!("not a subscribe") };
    assert!(s.recover);
    assert_eq!((s.offset, s.epoch.as_str()), (5, "e"));
    let pong: Command = serde_json::from_str("{}").unwrap();
    assert!(matches!(pong.into_request(), (0, Request::Pong)));
    let nothing: Command = serde_json::from_str(r#"{"id":9}"#).unwrap();
    assert!(matches!(nothing.into_request(), (9, Request::Unknown)));
    let send: Command = serde_json::from_str(r#"{"send":{"data":{}}}"#).unwrap();
    assert!(matches!(send.into_request(), (0, Request::Send)));
    let rpc: Command = serde_json::from_str(r#"{"id":3,"rpc":{"method":"m","data":{"x":1}}}"#).unwrap();
    let (3, Request::Rpc(rpc)) = rpc.into_request() else { panic!("not an rpc") };
    assert_eq!(rpc.data.unwrap().get(), r#"{"x":1}"#);
}

#[test]
fn rpc_methods_are_known_by_name_and_unknown_ones_are_104() {
    for method in RpcMethod::ALL {
        assert_eq!(method.as_str().parse::<RpcMethod>(), Ok(method));
    }
    assert_eq!(
        RpcMethod::ALL.map(RpcMethod::as_str),
        ["send_message", "typing", "mark_read"],
        "the names the SDKs call"
    );
    for unknown in ["", "sendMessage", "Send_Message", "send_message ", "delete_everything"] {
        let error = unknown.parse::<RpcMethod>().unwrap_err();
        assert_eq!(error, Error::new(codes::METHOD_NOT_FOUND, "method not found"), "{unknown:?}");
    }
}

#[test]
fn rpc_calls_parse_once_with_their_arguments() {
    let conversation_id: ConversationId = CONVERSATION.parse().unwrap();
    let data = json!({"conversation_id": CONVERSATION, "text": "hi", "client_message_id": "k1"});
    assert_eq!(
        Rpc::parse(&rpc_request("send_message", Some(data))).unwrap(),
        Rpc::SendMessage(SendMessageArgs {
            conversation_id,
            text: "hi".into(),
            client_message_id: Some("k1".into()),
            reply_to: None,
            attachments: Vec::new(),
            parent_id: None,
            show_in_conversation: false,
            note: false,
            buttons: Vec::new(),
        })
    );
    let data = json!({"conversation_id": CONVERSATION, "up_to": MESSAGE});
    let call = Rpc::parse(&rpc_request("mark_read", Some(data))).unwrap();
    assert_eq!(call.method(), RpcMethod::MarkRead);
    assert_eq!(call, Rpc::MarkRead(MarkReadArgs { conversation_id, up_to: MESSAGE.parse().unwrap() }));
    let data = json!({"conversation_id": CONVERSATION});
    assert_eq!(
        Rpc::parse(&rpc_request("typing", Some(data))).unwrap(),
        Rpc::Typing(TypingArgs { conversation_id })
    );

    // Bad arguments are the caller's fault (400); absent data is `{}`.
    for (method, data) in [
        ("typing", None),
        ("typing", Some(json!({"conversation_id": "nope"}))),
        ("typing", Some(json!({"conversation_id": CONVERSATION, "x": 1}))),
        ("send_message", Some(json!([]))),
    ] {
        let error = Rpc::parse(&rpc_request(method, data.clone())).unwrap_err();
        assert_eq!(error.code, codes::RPC_INVALID, "{method} {data:?}: {error:?}");
        assert!(error.message.starts_with("invalid data: "), "{}", error.message);
    }
    // An unknown method is refused before its data is looked at.
    let error = Rpc::parse(&rpc_request("nope", Some(json!([])))).unwrap_err();
    assert_eq!(error.code, codes::METHOD_NOT_FOUND);
}

/// Each reply shape, byte for byte as `docs/realtime.md` ("Frames") shows it.
#[test]
fn replies_are_the_documented_json() {
    let user: UserId = USER.parse().unwrap();
    let workspaces = [WORKSPACE.parse().unwrap()];
    let connect = Reply::new(
        1,
        ReplyBody::Connect(ConnectResult {
            client: "c1",
            data: ConnectData { name: "Ann", user_id: user, workspaces: &workspaces },
            expires: true,
            ping: 25,
            pong: true,
            ttl: 900,
            version: "switchboard 0.1.0",
        }),
    );
    let expected = r#"{"id":1,"connect":{"client":"c1","data":{"name":"Ann","user_id":"0190a1b2-0000-7000-8000-000000000001","workspaces":["0190a1b2-0000-7000-8000-000000000002"]},"expires":true,"ping":25,"pong":true,"ttl":900,"version":"switchboard 0.1.0"}}"#;
    assert_eq!(connect.encode(), expected);

    let subscribe = Reply::new(
        2,
        ReplyBody::Subscribe(SubscribeResult {
            recoverable: true,
            positioned: true,
            epoch: "e1",
            offset: 7,
            recovered: false,
            was_recovering: false,
            publications: EventPublications(&[]),
        }),
    );
    let expected = r#"{"id":2,"subscribe":{"recoverable":true,"positioned":true,"epoch":"e1","offset":7,"recovered":false,"was_recovering":false,"publications":[]}}"#;
    assert_eq!(subscribe.encode(), expected);

    assert_eq!(Reply::new(3, ReplyBody::Unsubscribe {}).encode(), r#"{"id":3,"unsubscribe":{}}"#);
    assert_eq!(Reply::new(4, ReplyBody::Ping {}).encode(), r#"{"id":4,"ping":{}}"#);

    let info = ClientInfo::new(USER.into(), "c1".into(), &json!({"name": "Ann"}));
    // Between nodes it travels as the same plain JSON, shared parts and all.
    let sent = serde_json::to_string(&info).unwrap();
    assert_eq!(sent, format!(r#"{{"user":"{USER}","client":"c1","conn_info":{{"name":"Ann"}}}}"#));
    assert_eq!(serde_json::from_str::<ClientInfo>(&sent).unwrap(), info);
    let presence = HashMap::from([("c1".into(), info)]);
    let expected = r#"{"id":5,"presence":{"presence":{"c1":{"user":"0190a1b2-0000-7000-8000-000000000001","client":"c1","conn_info":{"name":"Ann"}}}}}"#;
    assert_eq!(Reply::new(5, ReplyBody::Presence(PresenceResult { presence: &presence })).encode(), expected);
    let stats = ReplyBody::PresenceStats(PresenceStatsResult { num_clients: 3, num_users: 2 });
    assert_eq!(Reply::new(6, stats).encode(), r#"{"id":6,"presence_stats":{"num_clients":3,"num_users":2}}"#);

    let history =
        ReplyBody::History(HistoryResult { publications: EventPublications(&[]), epoch: "e1", offset: 7 });
    assert_eq!(
        Reply::new(7, history).encode(),
        r#"{"id":7,"history":{"publications":[],"epoch":"e1","offset":7}}"#
    );

    let typing = ReplyBody::Rpc { data: RpcReply::Typing { expires_in_ms: 6000 } };
    assert_eq!(Reply::new(8, typing).encode(), r#"{"id":8,"rpc":{"data":{"expires_in_ms":6000}}}"#);
    let read = ReplyBody::Rpc {
        data: RpcReply::MarkedRead { unread_count: switchboard::message::UnreadCount::ZERO },
    };
    assert_eq!(Reply::new(9, read).encode(), r#"{"id":9,"rpc":{"data":{"unread_count":0}}}"#);

    let refresh = ReplyBody::Refresh(RefreshResult { client: "c1", expires: true, ttl: 900, version: "v" });
    assert_eq!(
        Reply::new(10, refresh).encode(),
        r#"{"id":10,"refresh":{"client":"c1","expires":true,"ttl":900,"version":"v"}}"#
    );

    let denied = Reply::error(11, Error::new(codes::PERMISSION_DENIED, "permission denied"));
    assert_eq!(denied.encode(), r#"{"id":11,"error":{"code":103,"message":"permission denied"}}"#);
    let limited = Reply::error(12, Error::temporary(codes::RPC_TOO_MANY_REQUESTS, "slow down"));
    assert_eq!(limited.encode(), r#"{"id":12,"error":{"code":429,"message":"slow down","temporary":true}}"#);
}

/// Log events travel as publications with their offset, inside replies and pushes alike. The
/// data is the event as published: `{id, type, payload}` without nulls; the topic and offset
/// are the publication's own, and the rest of the envelope stays in the log and `/sync`.
#[test]
fn events_are_publications_with_their_offset() {
    let events = [event(6), event(7)];
    let push = event_push(&events[0]);
    let data = format!(
        r#"{{"id":"0190a1b2-0000-7000-8000-000000000005","type":"message.deleted","payload":{{"conversation_id":"{CONVERSATION}","message_id":"{MESSAGE}"}}}}"#
    );
    assert_eq!(
        push,
        format!(
            r#"{{"push":{{"channel":"conversation:{CONVERSATION}","pub":{{"data":{data},"offset":6}}}}}}"#
        )
    );
    // The browser and the SDKs read it back as the same body.
    let parsed: serde_json::Value = serde_json::from_str(&push).unwrap();
    let body: switchboard::EventBody = serde_json::from_value(parsed["push"]["pub"]["data"].clone()).unwrap();
    assert_eq!(body, events[0].body);

    let history = Reply::new(
        1,
        ReplyBody::History(HistoryResult { publications: EventPublications(&events), epoch: "e", offset: 7 }),
    );
    let parsed: serde_json::Value = serde_json::from_str(&history.encode()).unwrap();
    let publications = parsed["history"]["publications"].as_array().unwrap();
    assert_eq!(publications.len(), 2);
    for (publication, event) in publications.iter().zip(&events) {
        assert_eq!(publication["offset"], event.offset);
        assert_eq!(publication["data"], serde_json::to_value(event.published()).unwrap());
        assert!(publication["data"].get("topic").is_none() && publication["data"].get("offset").is_none());
    }
}

/// What one delivered `message.created` costs on the wire (64-byte text, an agent's reply
/// still pending): the full envelope the push carried before, and the published form now.
/// Deterministic, so the figure in docs/performance.md is this test's.
#[test]
fn a_message_push_carries_what_a_client_applies_and_no_more() {
    use switchboard::provider::Direction;
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T09:00:00.123456Z").unwrap().to_utc();
    let message = switchboard::Message {
        id: MESSAGE.parse().unwrap(),
        workspace_id: switchboard::WorkspaceId::new(),
        channel_id: switchboard::ChannelId::new(),
        conversation_id: CONVERSATION.parse().unwrap(),
        direction: Direction::Outbound,
        status: switchboard::MessageStatus::Pending,
        text: "x".repeat(64),
        external_id: None,
        client_message_id: Some("0190a1b2-0000-7000-8000-00000000000c".into()),
        sender_user_id: Some(switchboard::UserId::new()),
        error: None,
        created_at: at,
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        attachments: Vec::new(),
        template: None,
        reactions: Vec::new(),
        parent_id: None,
        show_in_conversation: false,
        thread: None,
        note: false,
        from_bot: false,
        buttons: Vec::new(),
        sender_name: None,
    };
    let topic = switchboard::Topic::Conversation(message.conversation_id);
    let mut event =
        Event::new(topic, switchboard::EventBody::MessageCreated(message), Some("a1b2c3d4e5f60718"), at);
    event.offset = 1234;
    let before = format!(
        r#"{{"push":{{"channel":"{topic}","pub":{{"data":{},"offset":1234}}}}}}"#,
        serde_json::to_string(&event).unwrap()
    );
    let after = event_push(&event);
    println!("message.created push: {} bytes before, {} after", before.len(), after.len());
    // 915 -> 665 bytes when written; the rest is the message itself (its ids and text).
    assert!(after.len() * 4 <= before.len() * 3, "at least 25% smaller: {} -> {}", before.len(), after.len());
    assert!(
        !after.contains("null") && !after.contains("schema_version") && !after.contains("trace_id"),
        "{after}"
    );
}

/// Pushes byte for byte as documented: an ephemeral publication has no offset; join and leave
/// carry who.
#[test]
fn pushes_are_the_documented_json() {
    let data = json!({"type": "typing", "payload": {"expires_in_ms": 6000}});
    assert_eq!(
        ephemeral_push("conversation:x", &data),
        r#"{"push":{"channel":"conversation:x","pub":{"data":{"payload":{"expires_in_ms":6000},"type":"typing"}}}}"#
    );
    let info = ClientInfo::new("u1".into(), "c1".into(), &serde_json::Value::Null);
    assert_eq!(
        join_push("conversation:x", &info),
        r#"{"push":{"channel":"conversation:x","join":{"info":{"user":"u1","client":"c1","conn_info":null}}}}"#
    );
    assert_eq!(
        leave_push("conversation:x", &info),
        r#"{"push":{"channel":"conversation:x","leave":{"info":{"user":"u1","client":"c1","conn_info":null}}}}"#
    );
    // A topic name that needs escaping is still one JSON string.
    let odd: serde_json::Value = serde_json::from_str(&ephemeral_push("a\"b\\c", &1)).unwrap();
    assert_eq!(odd["push"]["channel"], "a\"b\\c");
    assert_eq!(PING, b"{}");
}

#[test]
fn ended_access_never_asks_the_sdk_to_reconnect_with_dead_credentials() {
    use AccessEnded::*;
    for ended in
        [SignedOut, SessionRevoked, PasswordChanged, RemovedFromWorkspace, KeyRevoked, UserDeactivated]
    {
        assert!((4500..5000).contains(&ended.disconnect().code), "{ended:?}");
    }
    assert!((4000..4500).contains(&RoomsChanged.disconnect().code));
}
