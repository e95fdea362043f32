-- What the real networks need (WhatsApp's Cloud API first).
--
-- The contact's last message time, from the network's own timestamp: the 24-hour customer
-- service window is measured from it.
alter table conversation add column last_inbound_at timestamptz;
-- The newest inbound message reported read to the network (blue ticks), so each is reported once.
alter table conversation add column network_read_message_id uuid;
-- The template a message was sent as (JSON: name, language, parameters), null for free text.
alter table message add column template text;

-- Receipts that arrived before the send's own answer named the message (a real race on every
-- network): kept here and applied when the outbox records the network's id.
create table early_receipt (
    channel_id uuid not null references channel (channel_id) on delete cascade,
    external_id text not null,
    status text not null,
    error text,
    received_at timestamptz not null,
    primary key (channel_id, external_id)
);
create index early_receipt_received_at_idx on early_receipt (received_at);

-- Reactions: one row per (message, reactor, emoji). A reactor is `user:{id}` or
-- `contact:{id}`; `message.reactions` keeps the counts as JSON so history needs no join.
create table reaction (
    message_id uuid not null references message (message_id) on delete cascade,
    reactor text not null,
    emoji text not null,
    user_id uuid references user_account (user_id) on delete cascade,
    contact_id uuid references contact (contact_id) on delete cascade,
    created_at timestamptz not null,
    primary key (message_id, reactor, emoji)
);
alter table message add column reactions text;
