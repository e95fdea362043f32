-- Invitations: adding someone to a workspace is an offer they accept, never a change made to
-- their account by another tenant. The token is stored as its SHA-256 (hex); the secret itself
-- exists only in the link handed to the inviter once.
create table invitation (
    invitation_id blob primary key not null,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    email text not null,
    role text not null check (role in ('owner', 'admin', 'agent')),
    invited_by blob references user_account (user_id) on delete set null,
    token_hash text not null,
    status text not null check (status in ('pending', 'accepted', 'declined', 'revoked')),
    created_at text not null,
    updated_at text not null,
    expires_at text not null,
    accepted_at text,
    declined_at text,
    revoked_at text,
    constraint invitation_token_hash_key unique (token_hash)
);
-- One pending invitation per address and workspace; answered ones stay as history.
create unique index invitation_workspace_id_email_key on invitation (workspace_id, email) where status = 'pending';
create index invitation_email_idx on invitation (email);

-- The workspace a call without `X-Workspace-Id` acts in. Set with the first membership, so
-- joining a second workspace never changes where a user's API clients act.
alter table user_account add column default_workspace_id blob references workspace (workspace_id) on delete set null;
update user_account set default_workspace_id = (
    select m.workspace_id from member m where m.user_id = user_account.user_id
    order by m.created_at, m.workspace_id limit 1
);
