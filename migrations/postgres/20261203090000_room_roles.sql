-- Rooms are private to their members; a member is a plain `member` or a `moderator` (who may
-- remove others). Every room so far gets its creator, its earliest member, as moderator.
alter table conversation_member add column role text not null default 'member'
    check (role in ('member', 'moderator'));
update conversation_member set role = 'moderator'
where user_id = (select m.user_id from conversation_member m
                 where m.conversation_id = conversation_member.conversation_id
                 order by m.added_at, m.user_id limit 1);
