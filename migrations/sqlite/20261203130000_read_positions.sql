-- Unread from read positions (issue 25): one row per member and conversation instead of one
-- flag row per workspace member and message. Unread = the conversation's messages after the
-- position that are not the member's own (in a contact conversation: the inbound ones), counted
-- by a range of `message_read_idx`. A missing row means nothing read yet.
create table read_position (
    user_id blob not null references user_account (user_id) on delete cascade,
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    last_read_message_id blob not null,
    updated_at text not null,
    primary key (user_id, conversation_id)
);
create index read_position_conversation_id_idx on read_position (conversation_id);

-- The unread range: the conversation's messages after a position, with the columns that
-- decide whose they are, so the count reads the index alone.
create index message_read_idx on message (conversation_id, message_id, direction, sender_user_id);
drop index message_conversation_id_message_id_idx;
-- Rows that name a message, found by it: a new message's foreign-key check and a deleted
-- message's cascade read these instead of scanning the outbox and the message table.
create index outbox_message_id_idx on outbox (message_id);
create index message_reply_to_message_id_idx on message (reply_to_message_id);

-- Each member's position from their flags: the message before their oldest unread one, or the
-- conversation's newest when nothing was unread. Members with no flags in a conversation they
-- can see (they joined after its messages) had nothing unread there: newest message too.
insert into read_position (user_id, conversation_id, workspace_id, last_read_message_id, updated_at)
select p.user_id, p.conversation_id, p.workspace_id, p.position, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
from (
    select w.user_id, c.conversation_id, c.workspace_id,
        (select m.message_id from message m
         where m.conversation_id = c.conversation_id
           and m.message_id < coalesce(
               (select min(f.message_id) from message_flag f
                where f.user_id = w.user_id and f.conversation_id = c.conversation_id and f.is_read = 0),
               x'ffffffffffffffffffffffffffffffff')
         order by m.message_id desc limit 1) as position
    from conversation c join member w on w.workspace_id = c.workspace_id
    where c.contact_id is not null
       or exists (select 1 from conversation_member cm
                  where cm.conversation_id = c.conversation_id and cm.user_id = w.user_id)
) p
where p.position is not null;

-- Mentions and stars stay as sparse rows: only where a user was mentioned or starred.
alter table message_flag rename to message_flag_dense;
drop index message_flag_unread_idx;
create table message_flag (
    user_id blob not null references user_account (user_id) on delete cascade,
    message_id blob not null references message (message_id) on delete cascade,
    workspace_id blob not null references workspace (workspace_id) on delete cascade,
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    is_mentioned integer not null default 0,
    is_starred integer not null default 0,
    primary key (user_id, message_id)
);
create index message_flag_user_id_conversation_id_message_id_idx
    on message_flag (user_id, conversation_id, message_id);
create index message_flag_message_id_idx on message_flag (message_id);
insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_mentioned, is_starred)
select user_id, message_id, workspace_id, conversation_id, is_mentioned, is_starred
from message_flag_dense where is_mentioned <> 0 or is_starred <> 0;
drop table message_flag_dense;
