-- Automatic assignment, per channel: a row turns it on; each agent's last automatic
-- assignment in the channel decides whose turn is next (round-robin among those online).
create table auto_assign (
    channel_id uuid primary key references channel (channel_id) on delete cascade,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    enabled_at timestamptz not null
);
create table auto_assign_turn (
    channel_id uuid not null references channel (channel_id) on delete cascade,
    user_id uuid not null references user_account (user_id) on delete cascade,
    last_assigned_at timestamptz not null,
    primary key (channel_id, user_id)
);
