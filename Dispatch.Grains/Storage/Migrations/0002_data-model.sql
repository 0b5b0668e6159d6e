-- Every table of the data model (shared/spec). Columns marked encrypted hold AES-256-GCM
-- ciphertext written by the application: starred text columns as bytea, "(jsonb, encrypted)"
-- columns as a jsonb envelope {"kid": …, "ciphertext": …}.

-- Which companies a PSAP works with (a PSAP admin onboards them).
create table agency_links (
    psap_agency_id    uuid not null references agencies (id),
    company_agency_id uuid not null references agencies (id),
    created_at        timestamptz not null default now(),
    constraint agency_links_pkey primary key (psap_agency_id, company_agency_id)
);
create index idx_agency_links_company_agency_id on agency_links (company_agency_id);

create table jwt_refresh_tokens (
    id             uuid primary key default gen_random_uuid(),
    user_id        uuid not null references users (id),
    token_hash     text not null,
    family_id      uuid not null,
    replaced_by_id uuid references jwt_refresh_tokens (id),
    expires_at     timestamptz not null,
    revoked_at     timestamptz,
    created_at     timestamptz not null default now(),
    constraint jwt_refresh_tokens_token_hash_key unique (token_hash)
);
create index idx_jwt_refresh_tokens_family_id on jwt_refresh_tokens (family_id);
create index idx_jwt_refresh_tokens_user_id on jwt_refresh_tokens (user_id);

create table api_keys (
    id                 uuid primary key default gen_random_uuid(),
    agency_id          uuid not null references agencies (id),
    name               text not null,
    key_hash           text not null,
    key_prefix         text not null,
    scopes             jsonb not null default '[]'::jsonb,
    last_used_at       timestamptz,
    expires_at         timestamptz,
    revoked_at         timestamptz,
    created_by_user_id uuid references users (id),
    created_at         timestamptz not null default now(),
    constraint api_keys_key_prefix_key unique (key_prefix),
    constraint api_keys_scopes_array_check check (jsonb_typeof(scopes) = 'array')
);
create index idx_api_keys_agency_id on api_keys (agency_id);

create table command_connections (
    id              uuid primary key default gen_random_uuid(),
    psap_agency_id  uuid not null references agencies (id),
    name            text not null default '',
    api_key_hash    text not null,
    api_key_prefix  text not null,
    ack_mode        text not null default 'poll',
    public_url      text,
    callback_secret bytea, -- encrypted: signs callbacks, so it must be recoverable
    last_seen_at    timestamptz,
    is_active       boolean not null default true,
    version         integer not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint command_connections_api_key_prefix_key unique (api_key_prefix),
    constraint command_connections_ack_mode_check check (ack_mode in ('poll', 'callback')),
    constraint command_connections_callback_url_check check (ack_mode = 'poll' or public_url is not null)
);
create index idx_command_connections_psap_agency_id on command_connections (psap_agency_id);

create table transport_types (
    id                   uuid primary key default gen_random_uuid(),
    name                 text not null,
    slug                 text not null,
    supports_inbound_ack boolean not null default false,
    config_schema        jsonb not null default '{}'::jsonb,
    platform_config      jsonb, -- encrypted envelope
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint transport_types_slug_key unique (slug)
);

create table transport_channels (
    id                uuid primary key default gen_random_uuid(),
    agency_id         uuid not null references agencies (id),
    transport_type_id uuid not null references transport_types (id),
    name              text not null,
    config            jsonb not null, -- encrypted envelope
    is_active         boolean not null default true,
    version           integer not null default 1,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
create index idx_transport_channels_agency_id on transport_channels (agency_id);

create table user_transport_preferences (
    id                   uuid primary key default gen_random_uuid(),
    user_id              uuid not null references users (id),
    transport_channel_id uuid not null references transport_channels (id),
    priority_order       integer not null default 1,
    delivery_mode        text not null default 'all',
    config_override      jsonb, -- encrypted envelope: the user's own address on that channel
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint user_transport_preferences_user_id_channel_key unique (user_id, transport_channel_id),
    constraint user_transport_preferences_delivery_mode_check check (delivery_mode in ('all', 'failover')),
    constraint user_transport_preferences_priority_order_check check (priority_order >= 1)
);

create table notification_rules (
    id                   uuid primary key default gen_random_uuid(),
    agency_id            uuid not null references agencies (id),
    transport_channel_id uuid not null references transport_channels (id),
    priority_filter      text[], -- null: every priority
    type_filter          text[], -- null: every incident type
    time_start           time,
    time_end             time,
    is_active            boolean not null default true,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint notification_rules_priority_filter_check
        check (priority_filter <@ array['irod', 'critical', 'dangerous', 'routine_special']),
    constraint notification_rules_window_check check ((time_start is null) = (time_end is null))
);
create index idx_notification_rules_agency_id on notification_rules (agency_id);

create table escalation_rules (
    id                   uuid primary key default gen_random_uuid(),
    agency_id            uuid not null references agencies (id),
    priority_filter      text[],
    ack_timeout_seconds  integer not null,
    escalation_order     jsonb not null default '[]'::jsonb,
    notify_psap_user_ids jsonb not null default '[]'::jsonb,
    repeat_count         integer not null default 0,
    is_active            boolean not null default true,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint escalation_rules_priority_filter_check
        check (priority_filter <@ array['irod', 'critical', 'dangerous', 'routine_special']),
    constraint escalation_rules_ack_timeout_check check (ack_timeout_seconds >= 10),
    constraint escalation_rules_repeat_count_check check (repeat_count between 0 and 100),
    constraint escalation_rules_order_array_check check (jsonb_typeof(escalation_order) = 'array'),
    constraint escalation_rules_psap_users_array_check check (jsonb_typeof(notify_psap_user_ids) = 'array')
);
create index idx_escalation_rules_agency_id on escalation_rules (agency_id);

create table incidents (
    id                     uuid primary key default gen_random_uuid(),
    agency_id              uuid not null references agencies (id),
    priority               text not null,
    status                 text not null default 'open',
    incident_type          text,
    title                  text not null,
    description            text not null default '',
    address                bytea, -- encrypted
    created_by_user_id     uuid references users (id),
    created_by_api_key_id  uuid references api_keys (id),
    acknowledged_at        timestamptz,
    resolved_at            timestamptz,
    closed_at              timestamptz,
    version                integer not null default 1,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    constraint incidents_priority_check check (priority in ('irod', 'critical', 'dangerous', 'routine_special')),
    constraint incidents_status_check check (status in ('open', 'acknowledged', 'resolved', 'closed')),
    constraint incidents_title_not_blank_check check (btrim(title) <> '')
);
create index idx_incidents_agency_id_status on incidents (agency_id, status, created_at desc);

create table incident_agencies (
    incident_id          uuid not null references incidents (id),
    agent_agency_id      uuid not null references agencies (id),
    acked_at             timestamptz,
    acked_by_user_id     uuid references users (id),
    ack_source           text,
    no_recipients        boolean not null default false,
    current_tier         integer not null default 0,
    escalation_cycle     integer not null default 0,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint incident_agencies_pkey primary key (incident_id, agent_agency_id)
);
create index idx_incident_agencies_agent_agency_id on incident_agencies (agent_agency_id, incident_id);

create table notifications (
    id                      uuid primary key default gen_random_uuid(),
    incident_id             uuid not null references incidents (id),
    agency_id               uuid not null references agencies (id), -- the notified user's agency
    notified_user_id        uuid not null references users (id),
    kind                    text not null default 'company',
    tier                    integer not null default 0,
    escalation_cycle        integer not null default 0,
    ack_status              text not null default 'pending',
    ack_source              text,
    acked_at                timestamptz,
    acked_by_user_id        uuid references users (id),
    escalation_due_at       timestamptz,
    escalation_cancelled_at timestamptz,
    version                 integer not null default 1,
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    constraint notifications_ack_status_check check (ack_status in ('pending', 'acked')),
    constraint notifications_kind_check check (kind in ('company', 'psap_alert')),
    constraint notifications_ack_source_check
        check (ack_source is null or ack_source in ('api', 'incident_api', 'email_link', 'sms_reply', 'telegram', 'webhook', 'command')),
    constraint notifications_acked_check check ((ack_status = 'acked') = (acked_at is not null))
);
create index idx_notifications_incident_id on notifications (incident_id, agency_id);
create index idx_notifications_notified_user_id on notifications (notified_user_id);
-- The escalation loop's claim: pending, not cancelled, due.
create index idx_notifications_escalation_due_at on notifications (escalation_due_at)
    where ack_status = 'pending' and escalation_cancelled_at is null;

create table notification_deliveries (
    id                   uuid primary key default gen_random_uuid(),
    notification_id      uuid not null references notifications (id),
    incident_id          uuid not null references incidents (id),
    agency_id            uuid not null references agencies (id),
    transport_channel_id uuid not null references transport_channels (id),
    transport_type_slug  text not null,
    sequence             integer not null default 1, -- order within a failover chain
    send_status          text not null default 'queued',
    attempt_count        integer not null default 0,
    external_message_id  text,
    next_attempt_at      timestamptz,
    last_error           text,
    idempotency_key      uuid not null default gen_random_uuid(),
    trace_parent         text,
    sent_at              timestamptz,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint notification_deliveries_idempotency_key_key unique (idempotency_key),
    constraint notification_deliveries_send_status_check
        check (send_status in ('waiting', 'queued', 'sending', 'sent', 'failed', 'dead_lettered', 'cancelled')),
    constraint notification_deliveries_attempt_count_check check (attempt_count >= 0)
);
create index idx_notification_deliveries_notification_id on notification_deliveries (notification_id);
create index idx_notification_deliveries_incident_id on notification_deliveries (incident_id);
-- The delivery loop's claim: queued and due.
create index idx_notification_deliveries_next_attempt_at on notification_deliveries (next_attempt_at)
    where send_status = 'queued';

create table cfs_configurations (
    id                    uuid primary key default gen_random_uuid(),
    agency_id             uuid not null references agencies (id),
    name                  text not null default '',
    inbox_path            text not null,
    poll_interval_seconds integer not null default 10,
    file_pattern          text not null default '*.xml',
    parser_class          text not null default 'generic-xml',
    field_mappings        jsonb not null default '{}'::jsonb,
    is_active             boolean not null default true,
    lease_owner           text,
    lease_expires_at      timestamptz,
    version               integer not null default 1,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    constraint cfs_configurations_poll_interval_check check (poll_interval_seconds >= 1)
);
create index idx_cfs_configurations_agency_id on cfs_configurations (agency_id);

create table cfs_imports (
    id                   uuid primary key default gen_random_uuid(),
    cfs_configuration_id uuid not null references cfs_configurations (id),
    filename             text not null,
    file_hash            text not null,
    record_count         integer not null default 0,
    status               text not null default 'importing',
    error                text,
    created_at           timestamptz not null default now(),
    completed_at         timestamptz,
    constraint cfs_imports_status_check check (status in ('importing', 'imported', 'duplicate', 'failed'))
);
-- A file's content is imported once per configuration; duplicates and failures are recorded beside it.
create unique index idx_cfs_imports_cfs_configuration_id_file_hash on cfs_imports (cfs_configuration_id, file_hash)
    where status in ('importing', 'imported');
create index idx_cfs_imports_cfs_configuration_id_created_at on cfs_imports (cfs_configuration_id, created_at desc);

create table cfs_incidents (
    id                   uuid primary key default gen_random_uuid(),
    cfs_configuration_id uuid not null references cfs_configurations (id),
    cfs_import_id        uuid references cfs_imports (id),
    external_cfs_id      text not null,
    caller_name          text,
    caller_phone         text,
    description          text,
    address              text,
    raw_xml              bytea not null, -- encrypted
    linked_incident_id   uuid references incidents (id),
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint cfs_incidents_configuration_external_id_key unique (cfs_configuration_id, external_cfs_id)
);
create index idx_cfs_incidents_linked_incident_id on cfs_incidents (linked_incident_id) where linked_incident_id is not null;

-- Append-only: no updated_at; rows are never changed (see 0003).
create table incident_communications (
    id                  uuid primary key default gen_random_uuid(),
    incident_id         uuid not null references incidents (id),
    notification_id     uuid references notifications (id),
    delivery_id         uuid references notification_deliveries (id),
    agency_id           uuid not null references agencies (id), -- the agency the entry concerns
    communication_type  text not null,
    direction           text not null,
    transport_type_slug text,
    content             bytea, -- encrypted
    payload_snapshot    jsonb not null default '{}'::jsonb,
    sender_type         text not null default 'system',
    sender_agency_id    uuid references agencies (id),
    sender_user_id      uuid references users (id),
    receiver_type       text,
    receiver_agency_id  uuid references agencies (id),
    receiver_user_id    uuid references users (id),
    created_at          timestamptz not null default now(),
    constraint incident_communications_direction_check check (direction in ('outbound', 'inbound', 'internal')),
    constraint incident_communications_type_format_check check (communication_type ~ '^[a-z][a-z_]*$'),
    constraint incident_communications_sender_type_check check (sender_type in ('system', 'user', 'command_system', 'transport')),
    constraint incident_communications_receiver_type_check
        check (receiver_type is null or receiver_type in ('user', 'agency', 'command_system'))
);
create index idx_incident_communications_incident_id_created_at on incident_communications (incident_id, created_at);

-- Immutable: rows are never changed (see 0003).
create table audit_logs (
    id          uuid primary key default gen_random_uuid(),
    agency_id   uuid references agencies (id),
    user_id     uuid references users (id),
    api_key_id  uuid references api_keys (id),
    action      text not null,
    entity_type text not null,
    entity_id   uuid,
    before      jsonb,
    after       jsonb,
    created_at  timestamptz not null default now()
);
create index idx_audit_logs_agency_id_created_at on audit_logs (agency_id, created_at desc);
create index idx_audit_logs_entity on audit_logs (entity_type, entity_id);
