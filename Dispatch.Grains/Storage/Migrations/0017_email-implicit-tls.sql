-- Email on MailKit: a channel's own SMTP server may speak TLS from the first byte (SMTPS) as well as upgrade with STARTTLS.
update transport_types set config_schema = '{
    "type": "object", "additionalProperties": false,
    "properties": {
        "smtpHost": {"type": "string"}, "smtpPort": {"type": "integer", "minimum": 1, "maximum": 65535},
        "startTls": {"type": "boolean", "description": "Upgrade with STARTTLS, and refuse a server that does not offer it."},
        "implicitTls": {"type": "boolean", "description": "TLS from the first byte (SMTPS, usually port 465)."},
        "username": {"type": "string"}, "password": {"type": "string", "writeOnly": true},
        "from": {"type": "string", "format": "email"}, "to": {"type": "string", "format": "email"}
    }}'
where slug = 'email';
