-- NG9-1-1 intake: a PSAP's EIDO subscriptions (NENA-STA-024). Dispatch subscribes over a WebSocket to the PSAP's notifier (its
-- URL, credentials sealed in `credentials`), and/or a command connection pushes EIDOs over HTTPS; either way an EIDO becomes a
-- call in cfs_incidents (source 'eido', its identity the EIDO's incident identifier) and, by the subscription's mapping, an incident.
create table eido_subscriptions (
    id                     uuid primary key default gen_random_uuid(),
    agency_id              uuid not null references agencies (id),
    name                   text not null,
    notifier_url           text,
    sub_type               text not null default 'new',
    incident_id            text,
    credentials            jsonb,
    command_connection_id  uuid references command_connections (id),
    mapping                jsonb not null default '{}'::jsonb,
    expires_seconds        integer not null default 3600,
    is_active              boolean not null default true,
    -- What the subscriber last knew of the notifier, for the API: the notifier's subscription id, when it expires, the last event.
    remote_subscription_id text,
    subscribed_until       timestamptz,
    connected_at           timestamptz,
    last_event_at          timestamptz,
    last_error             text,
    version                integer not null default 1,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    constraint eido_subscriptions_sub_type_check check (sub_type in ('new', 'single')),
    constraint eido_subscriptions_single_check check ((sub_type = 'single') = (incident_id is not null)),
    constraint eido_subscriptions_source_check check (notifier_url is not null or command_connection_id is not null),
    constraint eido_subscriptions_expires_check check (expires_seconds between 60 and 86400)
);
create index idx_eido_subscriptions_agency_id on eido_subscriptions (agency_id);
create index idx_eido_subscriptions_active on eido_subscriptions (id) where is_active and notifier_url is not null;
-- A command connection pushes into one subscription: its mapping is the one applied.
create unique index idx_eido_subscriptions_command_connection_id on eido_subscriptions (command_connection_id)
    where command_connection_id is not null and is_active;

-- Every event received, once: a transactionId seen again is answered with what was answered the first time, and applied once.
create table eido_events (
    id                   uuid primary key default gen_random_uuid(),
    agency_id            uuid not null references agencies (id),
    eido_subscription_id uuid not null references eido_subscriptions (id),
    transaction_id       text not null,
    via                  text not null,
    status_code          integer not null,
    status_text          text not null,
    eido_count           integer not null default 0,
    warning_count        integer not null default 0,
    cfs_incident_ids     uuid[] not null default '{}',
    received_at          timestamptz not null default now(),
    constraint eido_events_via_check check (via in ('websocket', 'https')),
    constraint eido_events_transaction_key unique (eido_subscription_id, transaction_id)
);
create index idx_eido_events_subscription_received on eido_events (eido_subscription_id, received_at desc);

alter table eido_subscriptions enable row level security;
create policy engine_all on eido_subscriptions to dispatch_engine using (true) with check (true);
create policy app_all on eido_subscriptions to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());
alter table eido_events enable row level security;
create policy engine_all on eido_events to dispatch_engine using (true) with check (true);
create policy app_all on eido_events to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());

-- A call comes from a CAD inbox or from an EIDO subscription; its identity is unique within where it came from.
alter table cfs_incidents alter column cfs_configuration_id drop not null;
alter table cfs_incidents add column eido_subscription_id uuid references eido_subscriptions (id);
alter table cfs_incidents add column source text not null default 'cad';
alter table cfs_incidents add constraint cfs_incidents_source_check check (
    case source when 'cad' then cfs_configuration_id is not null and eido_subscription_id is null
                when 'eido' then eido_subscription_id is not null and cfs_configuration_id is null
                else false end);
alter table cfs_incidents add constraint cfs_incidents_subscription_external_id_key unique (eido_subscription_id, external_cfs_id);
create index idx_cfs_incidents_eido_subscription_id_created_at on cfs_incidents (eido_subscription_id, created_at desc)
    where eido_subscription_id is not null;

drop policy app_all on cfs_incidents;
create policy app_all on cfs_incidents for all to dispatch_app
    using (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id)
           or exists (select 1 from eido_subscriptions s where s.id = eido_subscription_id))
    with check (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id)
                or exists (select 1 from eido_subscriptions s where s.id = eido_subscription_id));

-- When the EIDO itself says it was last updated: an older EIDO arriving after a newer one is logged and not applied.
alter table cfs_incidents add column source_updated_at timestamptz;
