-- The agent's desk: a conversation's assignee, the statuses pending and snoozed (with the time
-- a snooze ends), workspace labels on conversations, canned replies. `label_ids` repeats the
-- conversation's rows of `conversation_label` (in the order they were added) so that every read
-- of a conversation has them without a join; both are written in one transaction.
alter table conversation drop constraint conversation_status_check;
alter table conversation add constraint conversation_status_check
    check (status in ('open', 'pending', 'resolved', 'snoozed'));
alter table conversation add column snoozed_until timestamptz;
alter table conversation add column assignee_id uuid references user_account (user_id) on delete set null;
alter table conversation add column label_ids jsonb not null default '[]';
create index conversation_assignee_id_idx on conversation (assignee_id);
create index conversation_snoozed_until_idx on conversation (snoozed_until) where status = 'snoozed';
create table label (
    label_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    name text not null,
    lower_name text not null,
    color text not null,
    created_at timestamptz not null,
    constraint label_workspace_id_lower_name_key unique (workspace_id, lower_name)
);
create table conversation_label (
    conversation_id uuid not null references conversation (conversation_id) on delete cascade,
    label_id uuid not null references label (label_id) on delete cascade,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    added_at timestamptz not null,
    primary key (conversation_id, label_id)
);
create index conversation_label_label_id_idx on conversation_label (label_id);
create table canned_reply (
    canned_reply_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    short_code text not null,
    text text not null,
    created_by uuid references user_account (user_id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint canned_reply_workspace_id_short_code_key unique (workspace_id, short_code)
);
