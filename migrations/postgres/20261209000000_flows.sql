-- Chatbot flows: each flow's draft (edited) and its published versions (frozen; a session
-- keeps the version it started with), bot sessions (one run each, at most one live per
-- conversation), the workspace's business hours, and bot messages marked as such.
create table flow (
    flow_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    name text not null,
    triggers jsonb not null,
    draft jsonb not null,
    version integer not null default 0,
    enabled boolean not null default false,
    created_by uuid references user_account (user_id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    published_at timestamptz
);
create index flow_workspace_id_idx on flow (workspace_id, created_at);
create table flow_version (
    flow_id uuid not null references flow (flow_id) on delete cascade,
    version integer not null,
    graph jsonb not null,
    published_by uuid references user_account (user_id) on delete set null,
    published_at timestamptz not null,
    primary key (flow_id, version)
);
create table bot_session (
    bot_session_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    flow_id uuid not null references flow (flow_id) on delete cascade,
    flow_version integer not null,
    flow_name text not null,
    conversation_id uuid not null references conversation (conversation_id) on delete cascade,
    channel_id uuid not null,
    contact_id uuid,
    status text not null check (status in ('running', 'waiting_input', 'completed', 'expired', 'stopped')),
    current_node text,
    variables jsonb not null,
    steps integer not null default 0,
    nodes_executed integer not null default 0,
    messages_sent integer not null default 0,
    messages_received integer not null default 0,
    wait_until timestamptz,
    started_at timestamptz not null,
    updated_at timestamptz not null,
    completed_at timestamptz,
    completion text,
    started_by uuid references user_account (user_id) on delete set null,
    foreign key (flow_id, flow_version) references flow_version (flow_id, version)
);
-- One flow at a time per conversation.
create unique index bot_session_live_key on bot_session (conversation_id)
    where status in ('running', 'waiting_input');
create index bot_session_workspace_idx on bot_session (workspace_id, started_at);
create index bot_session_due_idx on bot_session (wait_until) where status = 'waiting_input';
create table business_hours (
    workspace_id uuid primary key references workspace (workspace_id) on delete cascade,
    hours jsonb not null,
    updated_at timestamptz not null
);
alter table message add column from_bot boolean not null default false;
