-- Notifications: each person's settings (what, sound, quiet hours) and their browsers' push
-- subscriptions (one row per endpoint; a push service answering 404/410 removes it).
create table notification_settings (
    user_id uuid primary key references user_account (user_id) on delete cascade,
    settings jsonb not null,
    updated_at timestamptz not null
);
create table push_subscription (
    endpoint text primary key,
    user_id uuid not null references user_account (user_id) on delete cascade,
    p256dh text not null,
    auth text not null,
    created_at timestamptz not null
);
create index push_subscription_user_id_idx on push_subscription (user_id);
