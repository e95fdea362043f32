-- Per-user message flags (the Zulip pattern): one row per member and message, written with the
-- message, so unread counts and "my mentions" never scan the message table.
create table message_flag (
    user_id uuid not null references user_account (user_id) on delete cascade,
    message_id uuid not null references message (message_id) on delete cascade,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    conversation_id uuid not null references conversation (conversation_id) on delete cascade,
    is_read boolean not null,
    is_mentioned boolean not null default false,
    is_starred boolean not null default false,
    primary key (user_id, message_id)
);
create index message_flag_unread_idx on message_flag (user_id, conversation_id, is_read);
