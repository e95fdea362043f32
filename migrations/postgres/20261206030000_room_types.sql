-- A room's type (messaging, team, livestream: who reads and joins it) and its custom data (a
-- JSON object the app lists rooms by). Null for conversations with a contact; a room made before
-- types existed reads as `messaging`.
alter table conversation add column room_type text check (room_type in ('messaging', 'team', 'livestream'));
alter table conversation add column custom jsonb;
create index conversation_workspace_id_room_type_idx on conversation (workspace_id, room_type);
