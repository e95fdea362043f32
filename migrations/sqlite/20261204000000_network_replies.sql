-- What the real networks need (WhatsApp's Cloud API first).
--
-- The contact's last message time, from the network's own timestamp: the 24-hour customer
-- service window is measured from it.
alter table conversation add column last_inbound_at text;
-- The newest inbound message reported read to the network (blue ticks), so each is reported once.
alter table conversation add column network_read_message_id blob;
-- The template a message was sent as (JSON: name, language, parameters), null for free text.
alter table message add column template text;

-- Receipts that arrived before the send's own answer named the message (a real race on every
-- network): kept here and applied when the outbox records the network's id.
create table early_receipt (
    channel_id blob not null references channel (channel_id) on delete cascade,
    external_id text not null,
    status text not null,
    error text,
    received_at text not null,
    primary key (channel_id, external_id)
);
create index early_receipt_received_at_idx on early_receipt (received_at);
