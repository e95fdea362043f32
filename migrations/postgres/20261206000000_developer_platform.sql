-- The developer platform: API keys and the users of a workspace's app.
--
-- Every account is one of three kinds: `staff` (people who sign in: owners, admins, agents),
-- `app` (a user of the workspace's app, created by its backend through the API; never signs in,
-- holds tokens minted with an API key) or `key` (the principal an API key acts as). App users
-- and keys have a reserved address under `.invalid` and no usable password.
alter table user_account add column kind text not null default 'staff'
    check (kind in ('staff', 'app', 'key'));

create table api_key (
    key_id uuid primary key,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    -- The account the key acts as (kind `key`): a member of the workspace.
    user_id uuid not null references user_account (user_id) on delete cascade,
    name text not null,
    scope text not null check (scope in ('server', 'read')),
    -- SHA-256 of the secret, hex: how a bearer secret finds its key. The secret itself is
    -- derived from the server's key and the key id, never stored.
    secret_hash text not null,
    created_by uuid references user_account (user_id) on delete set null,
    created_at timestamptz not null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    constraint api_key_secret_hash_key unique (secret_hash)
);
create index api_key_workspace_id_idx on api_key (workspace_id);

create table app_user (
    user_id uuid primary key references user_account (user_id) on delete cascade,
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    external_id text not null,
    image_url text,
    custom jsonb not null default '{}',
    deactivated_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint app_user_workspace_id_external_id_key unique (workspace_id, external_id)
);
