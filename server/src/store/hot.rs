//! The statements on the hot paths (a send, the list, `mark_read`, a connect's token check and
//! subscribe),
//! named here so the plans test (`server/tests/plans.rs`) explains the very text the store runs
//! and fails on a correlated subquery or a scan that grows with members (issue 25).

use switchboard::store::Backend;

use super::backend::Params;
use super::rows::conversation_columns;

/// A user token's check in one read: key `$1` (any state), and the app user with external id
/// `$2` in the key's workspace with their account (left-joined: nulls when there is none).
/// Three primary or unique key lookups.
pub const USER_TOKEN_GRANT: &str =
    "select k.key_id, k.workspace_id, k.user_id, k.name, k.scope, k.created_by, k.created_at,
            k.last_used_at, k.revoked_at,
            a.user_id as app_user_id, u.name as app_name, u.email as app_email,
            a.image_url as app_image_url, a.custom as app_custom,
            a.deactivated_at as app_deactivated_at, a.created_at as app_created_at,
            a.updated_at as app_updated_at, u.created_at as account_created_at
     from api_key k
     left join app_user a on a.workspace_id = k.workspace_id and a.external_id = $2
     left join user_account u on u.user_id = a.user_id
     where k.key_id = $1";

/// A conversation `$1` with user `$2`'s roles, the columns before `from` given by the caller.
macro_rules! standing_of_user {
    ($($extra:literal)?) => {
        concat!(
            "select c.*, cm.role as room_role,
                    coalesce(w.role, case when a.user_id is null then null else 'user' end) as workspace_role",
            $($extra,)?
            " from (select ",
            conversation_columns!(),
            " from conversation where conversation_id = $1) c
             left join conversation_member cm on cm.conversation_id = c.conversation_id and cm.user_id = $2
             left join member w on w.workspace_id = c.workspace_id and w.user_id = $2
             left join app_user a on a.workspace_id = c.workspace_id and a.user_id = $2 and a.deactivated_at is null"
        )
    };
}

/// A conversation `$1` with user `$2`'s roles: in its workspace (a member's role, or `user` for
/// an active app user of it; null when neither) and in the room (null when not a member). The
/// realtime gateway's access check, by conversation id alone. Primary key lookups only.
pub const CONVERSATION_STANDING_OF_USER: &str = standing_of_user!();

/// [`CONVERSATION_STANDING_OF_USER`] and the offset of the latest event on topic `$3` (the
/// conversation's; null when it has none): a realtime subscribe's access check and position in
/// one read. One primary key lookup more, not correlated with the rows.
pub const CONVERSATION_STANDING_AT: &str =
    standing_of_user!(", (select last_offset from topic_offset where topic = $3) as topic_offset");

/// Who may be in a room of workspace `$1`: user `$2` if one of its people (a `member` row) or
/// an active user of its app. Finds `user_id` once, or nothing.
pub const WORKSPACE_PARTICIPANT: &str = "select user_id from member where workspace_id = $1 and user_id = $2
     union all
     select user_id from app_user where workspace_id = $1 and user_id = $2 and deactivated_at is null";

/// The inbox list with the caller's unread counts: `$1` workspace, `$2` channel or null,
/// `$3` caller, `$4` title pattern or null, `$5` unread only, `$6` status or null, `$7` every
/// room (admins), `$8` the nil id (the position of a member who has read nothing), `$9` rooms the
/// caller joined only (app users: no contact conversation), `$10` unassigned only, `$11` this
/// assignee or null, `$12` this label or null (a primary key lookup per conversation).
///
/// One pass of joins, no subquery per row: the caller's position (a primary key lookup),
/// the messages after it (a range of `message_read_idx` per conversation), the caller's
/// mention flags after their positions (sparse rows, one range of the caller's). The cost
/// grows with the conversations listed and their unread messages, never with the members.
pub const CONVERSATION_LIST: &str = "select c.conversation_id, c.workspace_id, c.channel_id, c.contact_id, c.external_chat_id, c.title,
                    c.last_message_at, c.last_message_preview, c.status, c.created_at, c.last_message_sender_user_id,
                    c.last_inbound_at, c.room_type, c.custom, c.frozen_at, c.slow_mode_secs,
                    c.snoozed_until, c.assignee_id, c.label_ids, count(m.message_id) - count(um.muted_user_id) as unread_count, coalesce(max(mn.mentions), 0) as unread_mentions,
                    ct.online as contact_online, ct.blocked_reason as contact_blocked
             from conversation c
             left join read_position rp on rp.user_id = $3 and rp.conversation_id = c.conversation_id
             left join message m on m.conversation_id = c.conversation_id
                  and m.message_id > coalesce(case when c.history_floor_message_id > rp.last_read_message_id
                                                   then c.history_floor_message_id else rp.last_read_message_id end,
                                              c.history_floor_message_id, $8)
                  and m.visibility = 'all'
                  and (m.direction = 'inbound'
                       or (c.contact_id is null and (m.sender_user_id is null or m.sender_user_id <> $3)))
             left join user_mute um on um.user_id = $3 and um.muted_user_id = m.sender_user_id
             left join (
                 select f.conversation_id, count(*) as mentions from message_flag f
                 left join read_position fp on fp.user_id = f.user_id and fp.conversation_id = f.conversation_id
                 where f.user_id = $3 and f.workspace_id = $1 and f.is_mentioned = true
                   and f.message_id > coalesce(fp.last_read_message_id, $8)
                 group by f.conversation_id) mn on mn.conversation_id = c.conversation_id
             left join contact ct on ct.contact_id = c.contact_id
             left join conversation_member cm on cm.conversation_id = c.conversation_id and cm.user_id = $3
             left join conversation_label cl on cl.conversation_id = c.conversation_id and cl.label_id = $12
             where c.workspace_id = $1 and ($2 is null or c.channel_id = $2)
               and ($6 is null or c.status = $6)
               and ($4 is null or lower(c.title) like $4 escape '\\')
               and (c.contact_id is not null or $7 = true or cm.user_id is not null)
               and ($9 = false or (c.contact_id is null and cm.user_id is not null))
               and ($10 = false or c.assignee_id is null)
               and ($11 is null or c.assignee_id = $11)
               and ($12 is null or cl.label_id is not null)
             group by c.conversation_id, ct.online, ct.blocked_reason
             having ($5 = false or count(m.message_id) - count(um.muted_user_id) > 0)
             order by case when c.last_message_at is null then 1 else 0 end, c.last_message_at desc, c.conversation_id desc";

/// A member's unread count in one conversation: `$1` conversation, `$2` member, `$3` a room
/// (others' outbound messages count), `$4` the nil id. Messages up to the conversation's
/// history floor (imported history) are read for everyone. At most 100 rows of one range of
/// `message_read_idx`: 100 is "99+".
pub const UNREAD_COUNT: &str = "select count(*) from (
               select 1 from message m
               join conversation c on c.conversation_id = m.conversation_id
               left join read_position rp on rp.user_id = $2 and rp.conversation_id = $1
               left join user_mute um on um.user_id = $2 and um.muted_user_id = m.sender_user_id
               where m.conversation_id = $1
                 and m.message_id > coalesce(case when c.history_floor_message_id > rp.last_read_message_id
                                                  then c.history_floor_message_id else rp.last_read_message_id end,
                                             c.history_floor_message_id, $4)
                 and m.visibility = 'all' and um.user_id is null
                 and (m.direction = 'inbound'
                      or ($3 = true and (m.sender_user_id is null or m.sender_user_id <> $2)))
               limit 100) unread";

/// `mark_read`'s target: the newest message of conversation `$1` at or before `$2`.
pub const READ_TARGET: &str = "select message_id from message where conversation_id = $1 and message_id <= $2
             order by message_id desc limit 1";

/// Moves a read position forward (never back): `$1` user, `$2` conversation, `$3` workspace,
/// `$4` message, `$5` time.
pub const ADVANCE_READ_POSITION: &str =
    "insert into read_position (user_id, conversation_id, workspace_id, last_read_message_id, updated_at)
             values ($1, $2, $3, $4, $5)
             on conflict (user_id, conversation_id) do update
               set last_read_message_id = excluded.last_read_message_id, updated_at = excluded.updated_at
               where read_position.last_read_message_id < excluded.last_read_message_id";

/// The bans in force of a send group's `senders` (at `$1`): one range of `ban_user_id_idx` per
/// sender, read in the group's transaction.
pub fn senders_bans(backend: Backend, senders: usize) -> String {
    let mut p = Params::new(backend);
    let at = p.next();
    format!(
        "select ban_id, workspace_id, user_id, conversation_id, shadow, reason, created_by, created_at, expires_at
         from ban where (expires_at is null or expires_at > {at}) and user_id in ({})",
        p.list(senders)
    )
}

/// A group's senders' positions, one row per (sender, conversation): the grouped send's only
/// write besides its messages, events and outbox rows (no row per member).
pub fn advance_read_positions(backend: Backend, rows: usize) -> String {
    format!(
        "insert into read_position (user_id, conversation_id, workspace_id, last_read_message_id, updated_at)
         values {}
         on conflict (user_id, conversation_id) do update
           set last_read_message_id = excluded.last_read_message_id, updated_at = excluded.updated_at
           where read_position.last_read_message_id < excluded.last_read_message_id",
        Params::new(backend).rows(rows, 5)
    )
}

/// Which of `conversations` have a running or waiting bot session: the bot runner's one read
/// for a batch of stored messages. One search of the live-session unique index per id.
pub fn conversations_with_live_sessions(backend: Backend, conversations: usize) -> String {
    format!(
        "select conversation_id from bot_session
         where conversation_id in ({}) and status in ('running', 'waiting_input')",
        Params::new(backend).list(conversations)
    )
}

/// A group's messages, 19 values a row (the rest of a new message's columns take their defaults).
pub fn insert_messages(backend: Backend, rows: usize) -> String {
    format!(
        "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text,
                              client_message_id, sender_user_id, created_at, updated_at, reply_to_message_id, attachments,
                              template, parent_id, visibility, note, from_bot, buttons)
         values {}",
        Params::new(backend).rows(rows, 19)
    )
}
