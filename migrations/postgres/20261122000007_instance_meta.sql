-- Facts about this database itself, such as the realtime log's epoch.
create table instance_meta (
    key text primary key,
    value text not null
);
