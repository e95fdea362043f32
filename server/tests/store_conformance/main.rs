//! Store conformance: every behaviour of the `Store` port written once, run against SQLite and
//! PostgreSQL by `store_test!`.

mod accounts;
mod channels;
mod chat;
#[path = "../common/mod.rs"]
mod common;
mod desk;
mod invitations;
mod linked;
mod media;
mod messaging;
mod reactions;
mod sends;

use chrono::Duration;
use switchboard::store::NewUser;
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{
    Channel, ChannelId, ChannelStatus, MemberRole, ProviderKind, Store, User, UserId, Workspace, WorkspaceId,
};

/// Runs each named behaviour against both backends.
macro_rules! store_test {
    ($($module:ident :: $name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = crate::common::sqlite().await;
                crate::$module::$name(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let store = crate::common::postgres().await;
                crate::$module::$name(&store).await;
            }
        }
    )*};
}

store_test!(
    accounts::users_round_trip,
    accounts::emails_are_unique,
    accounts::password_hashes_can_be_replaced,
    accounts::workspaces_round_trip_and_names_are_unique,
    accounts::members_are_upserted_and_scoped_by_workspace,
    accounts::members_need_existing_users_and_workspaces,
    accounts::member_roles_change_and_members_leave_but_never_the_last_owner,
    accounts::owners_demoting_each_other_at_once_leave_one_owner,
    accounts::sessions_are_revoked_once_and_expired_ones_swept,
    accounts::a_users_sessions_list_and_end_together_and_a_password_change_keeps_one,
    accounts::readiness_holds_after_migration,
    channels::channels_round_trip_scoped_by_workspace,
    channels::channel_status_and_credentials_change_in_place,
    messaging::inbound_messages_are_recorded_once,
    messaging::sends_are_idempotent_even_when_concurrent,
    messaging::topic_offsets_are_gapless_under_concurrent_writes,
    messaging::history_pages_by_id_without_gaps_or_duplicates,
    messaging::messaging_is_scoped_by_workspace,
    messaging::unread_in_a_contact_conversation_counts_only_the_contacts_messages,
    messaging::unread_in_a_room_counts_others_messages_capped_at_99_plus,
    messaging::conversation_lists_filter_by_channel_search_and_unread,
    messaging::history_paging_is_exact_while_messages_keep_arriving,
    sends::sends_written_as_a_group_answer_each_caller_like_lone_sends,
    sends::only_a_rooms_members_post_in_it_decided_in_the_write,
    sends::replies_take_the_group_path_and_keep_their_idempotency,
    sends::a_groups_answers_are_the_rows_it_stored,
    invitations::invitations_are_one_pending_per_address_and_refresh_in_place,
    invitations::accepting_an_invitation_adds_the_member_and_sets_a_default_only_once,
    invitations::accepting_as_a_new_user_is_one_transaction,
    accounts::default_workspaces_follow_memberships,
    media::uploads_go_into_one_message_of_their_workspace,
    reactions::reactions_count_who_and_announce_each_change,
    chat::threads_live_beside_the_conversation,
    chat::pins_are_kept_once_bounded_and_go_with_their_message,
    chat::send_rules_are_decided_in_the_write,
    linked::echoes_of_our_sends_never_show_twice,
    linked::history_is_read_ordered_and_added_once,
    desk::labels_assignment_and_status_change_conversations_with_their_events,
    desk::canned_replies_settings_and_push_subscriptions_round_trip,
    desk::flows_version_and_sessions_advance_once,
);

// Fixtures shared by the behaviours.

pub async fn user(store: &dyn Store, email: &str) -> User {
    store
        .create_user(NewUser {
            id: UserId::new(),
            email: Email::parse(email).unwrap(),
            name: format!("Name of {email}"),
            password_hash: format!("hash-of-{email}"),
            created_at: now(),
        })
        .await
        .unwrap()
}

pub async fn workspace(store: &dyn Store, name: &str) -> Workspace {
    store
        .create_workspace(Workspace { id: WorkspaceId::new(), name: name.to_owned(), created_at: now() })
        .await
        .unwrap()
}

pub fn new_channel(workspace_id: WorkspaceId, name: &str) -> Channel {
    let t = now();
    Channel {
        id: ChannelId::new(),
        workspace_id,
        provider: ProviderKind::Mock,
        name: name.to_owned(),
        status: ChannelStatus::Disconnected,
        config: serde_json::json!({"contacts": 2, "nested": {"a": [1, 2]}}),
        last_error: None,
        created_at: t,
        updated_at: t,
        webhook: None,
        history_import: None,
    }
}

pub fn inbound(
    workspace_id: WorkspaceId,
    channel_id: ChannelId,
    contact: &str,
    external_id: &str,
    text: &str,
) -> switchboard::store::NewInbound {
    use switchboard::provider::{Contact, Direction, ProviderMessage};
    switchboard::store::NewInbound {
        workspace_id,
        channel_id,
        contact: Contact { external_id: contact.into(), name: format!("Contact {contact}") },
        message: ProviderMessage {
            external_id: external_id.into(),
            contact_id: contact.into(),
            direction: Direction::Inbound,
            text: text.into(),
            sent_at: now(),
            media: Vec::new(),
            reply_to: None,
            sender_name: None,
        },
        attachments: Vec::new(),
        blob_keys: Vec::new(),
        trace_id: Some("trace-1".into()),
    }
}

pub fn outbound(
    ws: WorkspaceId,
    conversation_id: switchboard::ConversationId,
    sender: UserId,
    text: &str,
    key: Option<&str>,
) -> switchboard::store::NewOutbound {
    switchboard::store::NewOutbound {
        workspace_id: ws,
        conversation_id,
        sender,
        role: switchboard::MemberRole::Agent,
        text: text.into(),
        reply_to: None,
        attachments: Vec::new(),
        template: None,
        client_message_id: key.map(str::to_owned),
        parent_id: None,
        show_in_conversation: false,
        note: false,
        from_bot: false,
        buttons: Vec::new(),
        trace_id: None,
    }
}

/// A workspace with a channel, a user and a conversation opened by an inbound message.
pub async fn messaging_fixture(
    store: &dyn Store,
    name: &str,
) -> (WorkspaceId, ChannelId, UserId, switchboard::ConversationId) {
    let ws = workspace(store, name).await;
    let ch = store.create_channel(new_channel(ws.id, "Mock")).await.unwrap();
    let u = user(store, &format!("agent@{}.example", name.to_lowercase())).await;
    let first =
        store.ingest_inbound(inbound(ws.id, ch.id, "+1555", "ext-0", "hello")).await.unwrap().unwrap();
    (ws.id, ch.id, u.id, first.conversation.id)
}

pub fn new_invitation(
    workspace: &Workspace,
    email: &str,
    by: &User,
    token: &str,
) -> switchboard::store::NewInvitation {
    switchboard::store::NewInvitation {
        id: switchboard::InvitationId::new(),
        workspace_id: workspace.id,
        email: Email::parse(email).unwrap(),
        role: MemberRole::Agent,
        invited_by: by.id,
        token_hash: format!("hash-{token}"),
        created_at: now(),
        expires_at: now() + Duration::days(7),
    }
}

/// A room named "Room" of `members` (the first its moderator) in a new in-app channel.
pub async fn room(store: &dyn Store, ws: WorkspaceId, members: &[UserId]) -> switchboard::Conversation {
    let inapp = store
        .create_channel(Channel { provider: ProviderKind::Inapp, ..new_channel(ws, "Team") })
        .await
        .unwrap();
    let room = switchboard::store::NewRoom {
        workspace_id: ws,
        channel_id: inapp.id,
        title: "Room".into(),
        members: members.to_vec(),
        room_type: Default::default(),
        custom: None,
    };
    store.create_room(room).await.unwrap()
}
