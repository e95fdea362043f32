-- A linked-device channel imports its recent chats when it connects: how far that import got,
-- for the admin page (JSON: state, chats done and total, messages added, error).
alter table channel add column history_import text;
-- Messages recorded as history (imported when a phone was linked) are not unread: a member's
-- unread count starts after this message when their own read position is older.
alter table conversation add column history_floor_message_id blob;
