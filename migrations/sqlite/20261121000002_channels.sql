-- Channels: a workspace's connected messaging accounts. `config` is JSON text; `credentials`
-- is sealed with AES-256-GCM under the server key (never plaintext).

create table channel (
    channel_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    provider text not null check (provider in ('mock', 'whatsapp_cloud', 'whapi', 'telegram', 'inapp')),
    name text not null,
    status text not null check (status in ('disconnected', 'pending_auth', 'connected', 'degraded', 'failed')),
    config text not null,
    credentials blob,
    last_error text,
    created_at text not null,
    updated_at text not null
);
create index channel_workspace_id_idx on channel (workspace_id);
create index channel_status_idx on channel (status);
