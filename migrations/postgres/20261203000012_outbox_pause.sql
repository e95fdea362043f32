-- A network's rate limit pauses sending: the whole channel's outbox, or one conversation's
-- (a per-recipient limit). The claim query skips rows of a paused channel or conversation until
-- the time passes, so rows queued during the pause (new sends included) wait as well.
alter table channel add column outbox_paused_until timestamptz;
alter table conversation add column outbox_paused_until timestamptz;
