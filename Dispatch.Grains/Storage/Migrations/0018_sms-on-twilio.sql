-- SMS through Twilio: a channel names its own Twilio account (or uses the platform's) and sending number; a person's number
-- is their preference's override. The auth token is a secret: encrypted with the rest of the config, redacted on read.
update transport_types set config_schema = '{
    "type": "object", "additionalProperties": false,
    "properties": {
        "accountSid": {"type": "string", "pattern": "^AC[0-9a-f]{32}$", "description": "The channel''s own Twilio account; the platform''s when left out."},
        "authToken": {"type": "string", "writeOnly": true, "description": "That account''s auth token: sends, and verifies what Twilio posts back."},
        "from": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "The sending number (E.164)."},
        "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "The recipient''s number (E.164); usually a person''s override."}
    }}'
where slug = 'sms';
