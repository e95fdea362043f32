-- Attachments: uploads and the files, places and cards messages carry. The bytes live in the
-- blob store under `blob_key` (content-addressed: the SHA-256 of the bytes); a message keeps a
-- copy of its attachments' metadata in `message.attachments` (JSON), so reading history needs
-- no join. An upload has no message until a send uses it, and one send only.
create table attachment (
    attachment_id uuid primary key not null,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    uploaded_by uuid references user_account (user_id) on delete set null,
    message_id uuid references message (message_id) on delete cascade,
    kind text not null,
    mime_type text not null,
    size_bytes bigint not null,
    file_name text not null,
    width bigint,
    height bigint,
    duration_ms bigint,
    blob_key text,
    thumb_key text,
    state text not null default 'ready' check (state in ('ready', 'unavailable')),
    created_at timestamptz not null,
    -- Set when its message is deleted: the bytes are no longer served and the garbage
    -- collector may take them.
    deleted_at timestamptz
);
create index attachment_message_id_idx on attachment (message_id);
create index attachment_blob_key_idx on attachment (blob_key);
create index attachment_unattached_idx on attachment (created_at) where message_id is null;

alter table message add column attachments text;

-- A workspace's own largest upload, in bytes (null: the server's --max-upload-bytes).
alter table workspace add column max_upload_bytes bigint;
