-- Pinned messages: a conversation's pins, newest first in its header. A message is pinned at
-- most once per conversation; a deleted message's pin goes with it.
create table pinned_message (
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    message_id blob not null references message (message_id) on delete cascade,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    pinned_by blob references user_account (user_id) on delete set null,
    pinned_at text not null,
    primary key (conversation_id, message_id)
);
-- A message's pin, found by the message (its deletion, and SQLite's foreign-key check on
-- every new message).
create index pinned_message_message_id_idx on pinned_message (message_id);
