-- What the network last said about a contact being online (null: it never said), and when.
alter table contact add column online integer;
alter table contact add column presence_at text;
