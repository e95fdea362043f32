-- Accounts: workspaces, users, members and sign-in sessions.
-- Ids are UUIDs stored as 16-byte blobs; times are RFC 3339 text in UTC.

create table workspace (
    workspace_id blob primary key not null,
    name text not null,
    created_at text not null,
    updated_at text not null,
    constraint workspace_name_key unique (name)
);

create table user_account (
    user_id blob primary key not null,
    email text not null,
    name text not null,
    password_hash text not null,
    created_at text not null,
    updated_at text not null,
    constraint user_account_email_key unique (email)
);

create table member (
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    user_id blob not null references user_account (user_id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'agent')),
    created_at text not null,
    updated_at text not null,
    primary key (workspace_id, user_id)
);
create index member_user_id_idx on member (user_id);

create table session (
    session_id blob primary key not null,
    user_id blob not null references user_account (user_id) on delete cascade,
    created_at text not null,
    expires_at text not null,
    revoked_at text
);
create index session_user_id_idx on session (user_id);
create index session_expires_at_idx on session (expires_at);
