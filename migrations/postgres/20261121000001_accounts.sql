-- Accounts: workspaces, users, members and sign-in sessions.

create table workspace (
    workspace_id uuid primary key,
    name text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint workspace_name_key unique (name)
);

create table user_account (
    user_id uuid primary key,
    email text not null,
    name text not null,
    password_hash text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint user_account_email_key unique (email)
);

create table member (
    workspace_id uuid not null references workspace (workspace_id) on delete cascade,
    user_id uuid not null references user_account (user_id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'agent')),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (workspace_id, user_id)
);
create index member_user_id_idx on member (user_id);

create table session (
    session_id uuid primary key,
    user_id uuid not null references user_account (user_id) on delete cascade,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    revoked_at timestamptz
);
create index session_user_id_idx on session (user_id);
create index session_expires_at_idx on session (expires_at);
