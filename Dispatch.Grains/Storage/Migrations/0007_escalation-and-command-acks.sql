-- The escalation loop and what command systems learn of acknowledgements.

-- A notification whose deadline passed and whose escalation step was taken: its deadline no longer drives anything,
-- but the notification stays pending (its recipient may still acknowledge, which stops the next tier).
alter table notifications add column escalated_at timestamptz;
drop index idx_notifications_escalation_due_at;
create index idx_notifications_escalation_due_at on notifications (escalation_due_at)
    where ack_status = 'pending' and escalation_cancelled_at is null and escalated_at is null;

-- Every company acknowledgement, for the PSAP's command systems. Written by a trigger on incident_agencies, so no
-- code path can acknowledge without an event. Polled in (xact_id, id) order, only below the oldest running
-- transaction, so an event committed late by a long transaction is never skipped by a cursor.
create table command_ack_events (
    id                uuid primary key default gen_random_uuid(),
    psap_agency_id    uuid not null references agencies (id),
    incident_id       uuid not null references incidents (id),
    company_agency_id uuid not null references agencies (id),
    ack_source        text,
    acked_by_user_id  uuid references users (id),
    acked_at          timestamptz not null,
    payload           jsonb not null,
    xact_id           xid8 not null default pg_current_xact_id(),
    created_at        timestamptz not null default now()
);
create index idx_command_ack_events_psap_agency_id_xact_id on command_ack_events (psap_agency_id, xact_id, id);

-- The callback outbox: one row per event and callback-mode connection, sent by the Silo with retries.
create table command_callbacks (
    id                    uuid primary key default gen_random_uuid(),
    event_id              uuid not null references command_ack_events (id),
    command_connection_id uuid not null references command_connections (id),
    psap_agency_id        uuid not null references agencies (id),
    status                text not null default 'queued',
    attempt_count         integer not null default 0,
    next_attempt_at       timestamptz,
    claimed_until         timestamptz,
    last_error            text,
    last_status_code      integer,
    delivered_at          timestamptz,
    version               integer not null default 1,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    constraint command_callbacks_status_check check (status in ('queued', 'sending', 'delivered', 'dead_lettered')),
    constraint command_callbacks_event_connection_key unique (event_id, command_connection_id)
);
create index idx_command_callbacks_next_attempt_at on command_callbacks (next_attempt_at) where status = 'queued';
create index idx_command_callbacks_claimed_until on command_callbacks (claimed_until) where status = 'sending';
create index idx_command_callbacks_connection on command_callbacks (command_connection_id, created_at desc);

alter table command_ack_events enable row level security;
alter table command_callbacks enable row level security;
create policy engine_all on command_ack_events to dispatch_engine using (true) with check (true);
create policy engine_all on command_callbacks to dispatch_engine using (true) with check (true);
-- The PSAP reads its own; only the trigger below (as the owner) writes events and enqueues callbacks.
create policy app_select on command_ack_events for select to dispatch_app using (psap_agency_id = dispatch_agency_id());
create policy app_select on command_callbacks for select to dispatch_app using (psap_agency_id = dispatch_agency_id());

create trigger command_ack_events_immutable before update or delete on command_ack_events
    for each row execute function dispatch_reject_change();
create trigger command_ack_events_no_truncate before truncate on command_ack_events
    for each statement execute function dispatch_reject_change();

create function dispatch_record_ack_event() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    declare
        v_event_id uuid := gen_random_uuid();
        v_psap uuid;
        v_all boolean;
    begin
        select agency_id into v_psap from incidents where id = new.incident_id;
        select not exists (select 1 from incident_agencies where incident_id = new.incident_id and acked_at is null) into v_all;
        insert into command_ack_events (id, psap_agency_id, incident_id, company_agency_id, ack_source, acked_by_user_id, acked_at, payload)
        values (v_event_id, v_psap, new.incident_id, new.agent_agency_id, new.ack_source, new.acked_by_user_id, new.acked_at,
                jsonb_build_object(
                    'eventId', v_event_id, 'type', 'company.acknowledged', 'incidentId', new.incident_id,
                    'companyId', new.agent_agency_id, 'companyName', (select name from agencies where id = new.agent_agency_id),
                    'acknowledgedAt', new.acked_at, 'source', new.ack_source, 'userId', new.acked_by_user_id,
                    'allCompaniesAcknowledged', v_all));
        insert into command_callbacks (event_id, command_connection_id, psap_agency_id, next_attempt_at, created_at, updated_at)
        select v_event_id, c.id, v_psap, new.acked_at, new.acked_at, new.acked_at
        from command_connections c where c.psap_agency_id = v_psap and c.is_active and c.ack_mode = 'callback';
        if found then
            perform pg_notify('dispatch_callbacks', '');
        end if;
        return new;
    end
    $$;
revoke execute on function dispatch_record_ack_event() from public;

create trigger incident_agencies_ack_event after update of acked_at on incident_agencies
    for each row when (old.acked_at is null and new.acked_at is not null)
    execute function dispatch_record_ack_event();
