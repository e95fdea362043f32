-- no-transaction
-- The agent's desk: a conversation's assignee, the statuses pending and snoozed (with the time
-- a snooze ends), workspace labels on conversations, canned replies. SQLite cannot change the
-- status check in place, so the conversation table is rebuilt the documented way (foreign keys
-- off, a new table, the rows copied, the tables swapped, the indexes made again, foreign keys
-- on): other tables' references name `conversation` and follow it.
-- `label_ids` repeats the conversation's rows of `conversation_label` (in the order they were
-- added) so that every read of a conversation has them without a join; both are written in one
-- transaction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE conversation_new (
    conversation_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    channel_id blob not null references channel (channel_id) on delete cascade,
    contact_id blob references contact (contact_id) on delete set null,
    external_chat_id text not null,
    title text not null,
    last_message_at text,
    last_message_preview text,
    created_at text not null,
    updated_at text not null,
    status text not null default 'open' check (status in ('open', 'pending', 'resolved', 'snoozed')),
    outbox_paused_until text,
    last_message_sender_user_id blob references user_account (user_id) on delete set null,
    last_inbound_at text,
    network_read_message_id blob,
    history_floor_message_id blob,
    room_type text check (room_type in ('messaging', 'team', 'livestream')),
    custom text,
    frozen_at text,
    slow_mode_secs integer,
    snoozed_until text,
    assignee_id blob references user_account (user_id) on delete set null,
    label_ids text not null default '[]',
    constraint conversation_channel_id_external_chat_id_key unique (channel_id, external_chat_id)
);
INSERT INTO conversation_new (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title,
                              last_message_at, last_message_preview, created_at, updated_at, status,
                              outbox_paused_until, last_message_sender_user_id, last_inbound_at,
                              network_read_message_id, history_floor_message_id, room_type, custom, frozen_at,
                              slow_mode_secs)
SELECT conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title,
       last_message_at, last_message_preview, created_at, updated_at, status,
       outbox_paused_until, last_message_sender_user_id, last_inbound_at,
       network_read_message_id, history_floor_message_id, room_type, custom, frozen_at,
       slow_mode_secs
FROM conversation;
DROP TABLE conversation;
ALTER TABLE conversation_new RENAME TO conversation;
CREATE INDEX conversation_workspace_id_last_message_at_idx on conversation (workspace_id, last_message_at);
CREATE INDEX conversation_workspace_id_status_idx on conversation (workspace_id, status);
CREATE INDEX conversation_workspace_id_room_type_idx on conversation (workspace_id, room_type);
CREATE INDEX conversation_assignee_id_idx on conversation (assignee_id);
CREATE INDEX conversation_snoozed_until_idx on conversation (snoozed_until) where status = 'snoozed';
CREATE TABLE label (
    label_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    name text not null,
    lower_name text not null,
    color text not null,
    created_at text not null,
    constraint label_workspace_id_lower_name_key unique (workspace_id, lower_name)
);
CREATE TABLE conversation_label (
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    label_id blob not null references label (label_id) on delete cascade,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    added_at text not null,
    primary key (conversation_id, label_id)
);
CREATE INDEX conversation_label_label_id_idx on conversation_label (label_id);
CREATE TABLE canned_reply (
    canned_reply_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    short_code text not null,
    text text not null,
    created_by blob references user_account (user_id) on delete set null,
    created_at text not null,
    updated_at text not null,
    constraint canned_reply_workspace_id_short_code_key unique (workspace_id, short_code)
);
COMMIT;
PRAGMA foreign_keys = ON;
