-- Voice calls through Twilio: the same account, numbers and secrets as a text; a key pressed on the call acknowledges.
insert into transport_types (name, slug, supports_inbound_ack, config_schema) values
    ('Voice call', 'voice', true, '{
        "type": "object", "additionalProperties": false,
        "properties": {
            "accountSid": {"type": "string", "pattern": "^AC[0-9a-f]{32}$", "description": "The channel''s own Twilio account; the platform''s when left out."},
            "authToken": {"type": "string", "writeOnly": true, "description": "That account''s auth token: places calls, and verifies what Twilio posts back."},
            "from": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "The number calls come from (E.164)."},
            "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "The number to call (E.164); usually a person''s override."}
        }}')
on conflict (slug) do nothing;

alter table notifications drop constraint notifications_ack_source_check;
alter table notifications add constraint notifications_ack_source_check
    check (ack_source is null or ack_source in ('api', 'incident_api', 'email_link', 'sms_reply', 'voice', 'telegram', 'webhook', 'command'));
