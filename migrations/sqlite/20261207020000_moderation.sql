-- Moderation: a room's freeze and slow mode; bans (of a room, or of every room of the
-- workspace for its app users; optionally "shadow": the banned still post, only they see it;
-- optionally until a time); flags raised on messages or people and what became of them; a
-- record of every moderation action; each member's mutes; the workspace's blocklist.
alter table conversation add column frozen_at text;
alter table conversation add column slow_mode_secs integer;

create table ban (
    ban_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    user_id blob not null references user_account (user_id) on delete cascade,
    -- Null: every room of the workspace.
    conversation_id blob references conversation (conversation_id) on delete cascade,
    shadow integer not null default 0,
    reason text not null default '',
    created_by blob references user_account (user_id) on delete set null,
    created_at text not null,
    expires_at text
);
-- The send path reads a group's senders' bans by user.
create index ban_user_id_idx on ban (user_id);
create index ban_conversation_id_idx on ban (conversation_id);

-- When each member last posted in a room in slow mode (only such rooms have rows).
create table slow_mode_send (
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    user_id blob not null references user_account (user_id) on delete cascade,
    last_sent_at text not null,
    primary key (conversation_id, user_id)
);

create table moderation_flag (
    flag_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    conversation_id blob references conversation (conversation_id) on delete cascade,
    message_id blob references message (message_id) on delete cascade,
    target_user_id blob references user_account (user_id) on delete cascade,
    reason text not null,
    -- Null: raised by the blocklist.
    flagged_by blob references user_account (user_id) on delete set null,
    status text not null default 'open' check (status in ('open', 'dismissed', 'actioned')),
    created_at text not null,
    resolved_by blob references user_account (user_id) on delete set null,
    resolved_at text
);
create index moderation_flag_workspace_id_status_idx on moderation_flag (workspace_id, status, created_at);
-- Rows that name a message or a conversation, found by it (a new message's foreign-key check on
-- SQLite, a deletion's cascade): never a scan of the flags.
create index moderation_flag_message_id_idx on moderation_flag (message_id);
create index moderation_flag_conversation_id_idx on moderation_flag (conversation_id);
create index moderation_flag_target_user_id_idx on moderation_flag (target_user_id);

create table moderation_action (
    action_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    actor_id blob references user_account (user_id) on delete set null,
    action text not null,
    target_user_id blob references user_account (user_id) on delete set null,
    conversation_id blob references conversation (conversation_id) on delete set null,
    message_id blob references message (message_id) on delete set null,
    detail text not null default '',
    created_at text not null
);
create index moderation_action_workspace_id_created_at_idx on moderation_action (workspace_id, created_at);
create index moderation_action_message_id_idx on moderation_action (message_id);
create index moderation_action_conversation_id_idx on moderation_action (conversation_id);

create table user_mute (
    user_id blob not null references user_account (user_id) on delete cascade,
    muted_user_id blob not null references user_account (user_id) on delete cascade,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    created_at text not null,
    primary key (user_id, muted_user_id)
);

-- Words as folded for matching (lower case, no diacritics).
create table blocked_word (
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    word text not null,
    action text not null check (action in ('block', 'flag')),
    created_at text not null,
    primary key (workspace_id, word)
);
