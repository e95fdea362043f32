-- Messages can be edited and deleted (by an agent, or by the network); conversations are
-- open or resolved.
alter table message add column edited_at text;
alter table message add column deleted_at text;
alter table conversation add column status text not null default 'open' check (status in ('open', 'resolved'));
create index conversation_workspace_id_status_idx on conversation (workspace_id, status);
