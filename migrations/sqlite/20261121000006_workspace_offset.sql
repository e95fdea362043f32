-- Every event also takes the next offset of its workspace's log, handed out under the same
-- row lock as topic offsets: within a workspace, offset order is commit order, so a client
-- syncing "everything after N" never skips an event that commits late.
alter table event add column workspace_offset integer;
create unique index event_workspace_id_workspace_offset_key on event (workspace_id, workspace_offset);
