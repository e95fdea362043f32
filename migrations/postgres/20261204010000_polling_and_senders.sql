-- Networks read by polling (Telegram's getUpdates) resume where they stopped: the cursor of the
-- last update recorded. And in a group chat every inbound message names who wrote it.
alter table channel add column poll_cursor text;
alter table message add column sender_name text;
