-- Messaging: contacts, conversations, messages, the event log (with gapless per-topic offsets)
-- and the outbox. Written in one transaction per change by the single write path.

create table contact (
    contact_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    channel_id blob not null references channel (channel_id) on delete cascade,
    external_id text not null,
    name text not null,
    created_at text not null,
    updated_at text not null,
    constraint contact_channel_id_external_id_key unique (channel_id, external_id)
);

create table conversation (
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
    constraint conversation_channel_id_external_chat_id_key unique (channel_id, external_chat_id)
);
create index conversation_workspace_id_last_message_at_idx on conversation (workspace_id, last_message_at);

create table message (
    message_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    channel_id blob not null references channel (channel_id) on delete cascade,
    direction text not null check (direction in ('inbound', 'outbound')),
    status text not null check (status in ('pending', 'sent', 'delivered', 'read', 'failed')),
    text text not null,
    external_id text,
    client_message_id text,
    sender_user_id blob references user_account (user_id) on delete set null,
    error text,
    created_at text not null,
    updated_at text not null,
    constraint message_channel_id_external_id_key unique (channel_id, external_id),
    constraint message_conversation_id_client_message_id_key unique (conversation_id, client_message_id)
);
create index message_conversation_id_message_id_idx on message (conversation_id, message_id);

-- The last offset handed out per topic; bumped in the writing transaction, so offsets are
-- gapless and a concurrent writer waits on the row.
create table topic_offset (
    topic text primary key not null,
    last_offset integer not null
);

create table event (
    event_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    topic text not null,
    topic_offset integer not null,
    type text not null,
    schema_version integer not null,
    occurred_at text not null,
    trace_id text,
    payload text not null,
    constraint event_topic_topic_offset_key unique (topic, topic_offset)
);

create table outbox (
    outbox_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    channel_id blob not null references channel (channel_id) on delete cascade,
    message_id blob not null references message (message_id) on delete cascade,
    priority integer not null default 0,
    attempts integer not null default 0,
    max_attempts integer not null default 5,
    next_attempt_at text not null,
    last_error text,
    status text not null check (status in ('queued', 'sending', 'sent', 'failed', 'paused')),
    created_at text not null,
    updated_at text not null
);
create index outbox_status_next_attempt_at_idx on outbox (status, next_attempt_at);
