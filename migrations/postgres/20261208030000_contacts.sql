-- The contacts page: the team's notes and custom attributes on a contact, a name the team set
-- (which the network's next messages no longer replace), and merging (a contact merged into
-- another points to it; its identity stays, so its next message still finds its chat).
alter table contact add column notes text not null default '';
alter table contact add column attributes jsonb not null default '{}';
alter table contact add column name_edited boolean not null default false;
alter table contact add column merged_into uuid references contact (contact_id) on delete set null;
create index contact_workspace_id_idx on contact (workspace_id);
create index contact_merged_into_idx on contact (merged_into);
create index conversation_contact_id_idx on conversation (contact_id);
