-- Telegram: a person links their chat once, by opening the bot with a one-time token (t.me/<bot>?start=<token>). Only the
-- token's hash is kept; it names who asked and for which Telegram channel, and is spent by the first /start that carries it.
create table telegram_link_tokens (
    id                   uuid primary key default gen_random_uuid(),
    agency_id            uuid not null references agencies (id),
    user_id              uuid not null references users (id),
    transport_channel_id uuid not null references transport_channels (id),
    token_hash           bytea not null,
    expires_at           timestamptz not null,
    used_at              timestamptz,
    created_at           timestamptz not null default now(),
    constraint telegram_link_tokens_token_hash_key unique (token_hash)
);
create index idx_telegram_link_tokens_user_id on telegram_link_tokens (user_id);

alter table telegram_link_tokens enable row level security;
create policy engine_all on telegram_link_tokens to dispatch_engine using (true) with check (true);
create policy app_all on telegram_link_tokens to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());

update transport_types set config_schema = '{
    "type": "object", "additionalProperties": false,
    "properties": {
        "chatId": {"type": "string", "description": "A chat every message goes to (a group); a person''s own chat is linked with POST users/{id}/telegram-link."}
    }}'
where slug = 'telegram';
