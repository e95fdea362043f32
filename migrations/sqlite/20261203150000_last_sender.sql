-- Who wrote a conversation's last message (null: the contact, or no message yet), so the list
-- shows "You:" or a teammate's name before the preview without reading the message.
alter table conversation add column last_message_sender_user_id blob references user_account (user_id) on delete set null;
update conversation set last_message_sender_user_id = (
    select m.sender_user_id from message m
    where m.conversation_id = conversation.conversation_id
    order by m.message_id desc limit 1
);
