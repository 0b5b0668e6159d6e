-- The transport catalog, and what the delivery engine needs to claim work safely.

insert into transport_types (name, slug, supports_inbound_ack, config_schema) values
    ('Email', 'email', true, '{
        "type": "object", "additionalProperties": false,
        "properties": {
            "smtpHost": {"type": "string"}, "smtpPort": {"type": "integer", "minimum": 1, "maximum": 65535},
            "startTls": {"type": "boolean"}, "username": {"type": "string"}, "password": {"type": "string", "writeOnly": true},
            "from": {"type": "string", "format": "email"}, "to": {"type": "string", "format": "email"}
        }}'),
    ('Webhook', 'webhook', false, '{
        "type": "object", "additionalProperties": false, "required": ["url", "secret"],
        "properties": {
            "url": {"type": "string", "format": "uri"}, "secret": {"type": "string", "minLength": 16, "writeOnly": true},
            "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 60}
        }}'),
    ('SMS', 'sms', true, '{
        "type": "object", "additionalProperties": false,
        "properties": {"from": {"type": "string"}, "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"}}}'),
    ('Telegram', 'telegram', true, '{
        "type": "object", "additionalProperties": false,
        "properties": {"chatId": {"type": "string"}}}')
on conflict (slug) do nothing;

-- A claimed delivery whose claimant died is claimed again once this passes.
alter table notification_deliveries add column claimed_until timestamptz;
create index idx_notification_deliveries_claimed_until on notification_deliveries (claimed_until)
    where send_status = 'sending';

-- Which of the user's preferences (and so which personal address) a delivery uses, if any.
alter table notification_deliveries add column preference_id uuid references user_transport_preferences (id);
