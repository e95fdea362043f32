-- Outgoing webhooks: a workspace's endpoints, and one delivery row per (endpoint, event),
-- written in the event's own transaction, so a committed event is never missed by a crash and
-- each endpoint's failures hold back no one else's deliveries.
create table webhook_endpoint (
    endpoint_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    url text not null,
    -- The event types it receives: '*' for all, else each type between commas (',a,b,').
    events text not null,
    description text not null default '',
    active boolean not null,
    created_by uuid references user_account (user_id) on delete set null,
    created_at timestamptz not null
);
create index webhook_endpoint_workspace_id_idx on webhook_endpoint (workspace_id);

create table webhook_delivery (
    endpoint_id uuid not null references webhook_endpoint (endpoint_id) on delete cascade,
    event_id uuid not null,
    workspace_id uuid not null,
    event_type text not null,
    -- pending (to send; next_attempt_at says when), delivered, or dead (gave up, or refused).
    status text not null check (status in ('pending', 'delivered', 'dead')),
    attempts integer not null,
    next_attempt_at timestamptz not null,
    created_at timestamptz not null,
    last_attempt_at timestamptz,
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    primary key (endpoint_id, event_id)
);
create index webhook_delivery_due_idx on webhook_delivery (status, next_attempt_at);
create index webhook_delivery_endpoint_idx on webhook_delivery (endpoint_id, created_at);
