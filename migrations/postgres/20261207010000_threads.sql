-- Threads: a reply in a thread names its parent (one level: a reply never starts a thread of its
-- own); the parent counts its replies and names its latest repliers, so a conversation's history
-- shows "3 replies" without reading them.
-- `visibility` says who sees a message where: `all` (the conversation, and its thread if it has
-- a parent: "also sent to the conversation"), `thread` (only in its thread), `author` (a
-- shadow-banned member's message: only its author sees it, anywhere).
alter table message add column parent_id uuid references message (message_id) on delete cascade;
alter table message add column visibility text not null default 'all'
    check (visibility in ('all', 'thread', 'author'));
alter table message add column reply_count bigint not null default 0;
alter table message add column last_reply_at timestamptz;
alter table message add column thread_participants text;
create index message_parent_id_idx on message (parent_id, message_id);
-- Unread counts what the conversation shows: visibility joins the range's columns, so the count
-- still reads the index alone.
drop index message_read_idx;
create index message_read_idx on message (conversation_id, message_id, direction, sender_user_id, visibility);
