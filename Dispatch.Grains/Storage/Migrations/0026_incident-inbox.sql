-- Work for an incident committed by a writer outside its grain: a CAD export's or an EIDO's new call to raise as an incident
-- (the incident's id chosen by the writer), and a call's update that moves or reprioritises its incident. The writer's
-- transaction records it here beside the call; the incident's grain — the one writer of the incident — applies it in its own
-- transaction and removes it there. The silos' recovery wakes the grain of any row left behind (a process killed between the
-- two commits).
create table incident_inbox (
    id              uuid primary key default gen_random_uuid(),
    incident_id     uuid not null,
    agency_id       uuid not null references agencies (id),
    kind            text not null,
    cfs_incident_id uuid not null references cfs_incidents (id),
    payload         jsonb not null default '{}'::jsonb,
    created_at      timestamptz not null default now(),
    constraint incident_inbox_kind_check check (kind in ('raise', 'call_update'))
);
create index idx_incident_inbox_incident_id on incident_inbox (incident_id);
create index idx_incident_inbox_created_at on incident_inbox (created_at);

alter table incident_inbox enable row level security;
create policy engine_all on incident_inbox to dispatch_engine using (true) with check (true);
create policy app_all on incident_inbox to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());
