-- Networks read by polling (Telegram's getUpdates) resume where they stopped: the cursor of the
-- last update recorded. And in a group chat every inbound message names who wrote it.
alter table channel add column poll_cursor text;
alter table message add column sender_name text;
-- Why the contact cannot be written to any more, in the network's words (they blocked the bot);
-- null while they can.
alter table contact add column blocked_reason text;
