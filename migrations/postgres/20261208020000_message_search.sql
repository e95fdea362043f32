-- Full-text search of message text: a GIN index over its `simple` text-search vector (every
-- language alike: words lower-cased, no stemming), which the search's `@@` uses.
create index message_text_search_idx on message using gin (to_tsvector('simple', text));
