-- A claimed outbox row is leased: a worker that dies mid-send leaves it in 'sending', and
-- another worker reclaims it once the lease has run out.
alter table outbox add column lease_until text;
