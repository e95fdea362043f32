-- no-transaction
-- Provider `api`: a network Switchboard does not know, plugged in by its integrator. SQLite
-- cannot change a check constraint in place, so the channel table is rebuilt the documented
-- way: foreign keys off, a new table, the rows copied, the tables swapped, the references
-- checked, foreign keys on again (other tables' references name `channel` and follow it).
-- Replayed inbound tokens are refused by their `jti`, kept until they expire.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE channel_new (
    channel_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    provider text not null check (provider in ('mock', 'whatsapp_cloud', 'whapi', 'telegram', 'inapp', 'api')),
    name text not null,
    status text not null check (status in ('disconnected', 'pending_auth', 'connected', 'degraded', 'failed')),
    config text not null,
    credentials blob,
    last_error text,
    created_at text not null,
    updated_at text not null,
    outbox_paused_until text,
    poll_cursor text,
    history_import text
);
INSERT INTO channel_new (channel_id, workspace_id, provider, name, status, config, credentials, last_error,
                         created_at, updated_at, outbox_paused_until, poll_cursor, history_import)
SELECT channel_id, workspace_id, provider, name, status, config, credentials, last_error,
       created_at, updated_at, outbox_paused_until, poll_cursor, history_import
FROM channel;
DROP TABLE channel;
ALTER TABLE channel_new RENAME TO channel;
CREATE INDEX channel_workspace_id_idx on channel (workspace_id);
CREATE INDEX channel_status_idx on channel (status);
CREATE TABLE api_inbound_token (
    channel_id blob not null references channel (channel_id) on delete cascade,
    jti text not null,
    expires_at text not null,
    primary key (channel_id, jti)
);
CREATE INDEX api_inbound_token_expires_at_idx on api_inbound_token (expires_at);
COMMIT;
PRAGMA foreign_keys = ON;
