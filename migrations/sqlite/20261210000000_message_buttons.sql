-- Quick-reply buttons shown under a message (a chatbot's choices) on networks that have them:
-- a JSON array of labels, null for none.
alter table message add column buttons text;
