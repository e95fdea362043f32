-- Channels: a workspace's connected messaging accounts. `credentials` is sealed with
-- AES-256-GCM under the server key (never plaintext).

create table channel (
    channel_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    provider text not null check (provider in ('mock', 'whatsapp_cloud', 'whapi', 'telegram', 'inapp')),
    name text not null,
    status text not null check (status in ('disconnected', 'pending_auth', 'connected', 'degraded', 'failed')),
    config jsonb not null,
    credentials bytea,
    last_error text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index channel_workspace_id_idx on channel (workspace_id);
create index channel_status_idx on channel (status);
