-- In-app chat: a conversation can be a room of workspace members (no contact). Messages can
-- answer an earlier message of the same conversation.
create table conversation_member (
    conversation_id blob not null references conversation (conversation_id) on delete cascade,
    user_id blob not null references user_account (user_id) on delete cascade,
    added_at text not null,
    primary key (conversation_id, user_id)
);
create index conversation_member_user_id_idx on conversation_member (user_id);
alter table message add column reply_to_message_id blob references message (message_id) on delete set null;
