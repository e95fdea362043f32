-- Full-text search of message text: an FTS5 index over `message.text` (external content: the
-- text is stored once, in `message`), kept by triggers, filled from the messages already there.
-- `unicode61` folds case and strips diacritics, so "cafe" finds "Café".
create virtual table message_fts using fts5(text, content = 'message', content_rowid = 'rowid',
                                           tokenize = 'unicode61 remove_diacritics 2');
insert into message_fts (rowid, text) select rowid, text from message;
create trigger message_fts_insert after insert on message begin
    insert into message_fts (rowid, text) values (new.rowid, new.text);
end;
create trigger message_fts_delete after delete on message begin
    insert into message_fts (message_fts, rowid, text) values ('delete', old.rowid, old.text);
end;
create trigger message_fts_update after update of text on message begin
    insert into message_fts (message_fts, rowid, text) values ('delete', old.rowid, old.text);
    insert into message_fts (rowid, text) values (new.rowid, new.text);
end;
