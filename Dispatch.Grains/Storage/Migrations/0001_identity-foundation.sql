-- Agencies, roles and users: enough for a host to bootstrap its first PSAP and admin.

create table agencies (
    id          uuid primary key default gen_random_uuid(),
    name        text not null,
    slug        text not null,
    agency_type text not null,
    timezone    text not null default 'UTC',
    is_active   boolean not null default true,
    version     integer not null default 1,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint agencies_slug_key unique (slug),
    constraint agencies_agency_type_check check (agency_type in ('psap', 'company')),
    constraint agencies_slug_format_check check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    constraint agencies_name_not_blank_check check (btrim(name) <> '')
);

-- agency_id null: a built-in role offered to every agency of agency_type.
create table roles (
    id          uuid primary key default gen_random_uuid(),
    agency_id   uuid references agencies (id) on delete cascade,
    agency_type text,
    name        text not null,
    slug        text not null,
    permissions jsonb not null default '[]'::jsonb,
    is_builtin  boolean not null default false,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint roles_agency_id_slug_key unique nulls not distinct (agency_id, slug),
    constraint roles_agency_type_check check (agency_type is null or agency_type in ('psap', 'company')),
    constraint roles_permissions_array_check check (jsonb_typeof(permissions) = 'array')
);

create table users (
    id            uuid primary key default gen_random_uuid(),
    agency_id     uuid not null references agencies (id),
    role_id       uuid not null references roles (id),
    email         text not null,
    password_hash text not null,
    first_name    text not null default '',
    last_name     text not null default '',
    is_active     boolean not null default true,
    last_login_at timestamptz,
    version       integer not null default 1,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint users_email_lower_check check (email = lower(email))
);
create unique index idx_users_email on users (email);
create index idx_users_agency_id on users (agency_id);

insert into roles (name, slug, agency_type, is_builtin, permissions) values
    ('PSAP admin', 'psap-admin', 'psap', true,
     '["agencies.read","agencies.manage","users.read","users.manage","roles.manage","api-keys.manage",
       "command-connections.manage","incidents.read","incidents.create","incidents.manage","cfs.read","cfs.manage",
       "escalation-rules.read","audit.read"]'),
    ('PSAP dispatcher', 'psap-dispatcher', 'psap', true,
     '["agencies.read","users.read","incidents.read","incidents.create","incidents.manage","cfs.read"]'),
    ('Company admin', 'company-admin', 'company', true,
     '["agencies.read","users.read","users.manage","roles.manage","api-keys.manage","transport-channels.manage",
       "notification-rules.manage","escalation-rules.read","escalation-rules.manage","incidents.read","incidents.ack",
       "preferences.manage-own","audit.read"]'),
    ('Company responder', 'company-responder', 'company', true,
     '["incidents.read","incidents.ack","preferences.manage-own"]');
