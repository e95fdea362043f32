-- Private notes: messages of the team's in a conversation with a contact, never sent to the
-- network (no outbox row), never moving the conversation's preview.
alter table message add column note boolean not null default false;
