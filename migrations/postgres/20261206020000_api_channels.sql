-- Provider `api`: a network Switchboard does not know, plugged in by its integrator.
-- Replayed inbound tokens are refused by their `jti`, kept until they expire.
alter table channel drop constraint channel_provider_check;
alter table channel add constraint channel_provider_check
    check (provider in ('mock', 'whatsapp_cloud', 'whapi', 'telegram', 'inapp', 'api'));
create table api_inbound_token (
    channel_id uuid not null references channel (channel_id) on delete cascade,
    jti text not null,
    expires_at timestamptz not null,
    primary key (channel_id, jti)
);
create index api_inbound_token_expires_at_idx on api_inbound_token (expires_at);
