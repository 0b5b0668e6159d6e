-- Two NOLOGIN roles the runtime enters (startup option `-c role=…`), neither owning a table:
--   dispatch_app    — the Api: sees only what its transaction's agency (dispatch.agency_id) may see;
--   dispatch_engine — the Silo's work loops: across agencies.
-- They are granted to the migrating user so that one connection string serves every role.
do $$
begin
    begin
        create role dispatch_app nologin;
    exception when duplicate_object or unique_violation then null; -- another database of this cluster made it
    end;
    begin
        create role dispatch_engine nologin;
    exception when duplicate_object or unique_violation then null;
    end;
end $$;
grant dispatch_app to current_user;
grant dispatch_engine to current_user;

grant usage on schema public to dispatch_app, dispatch_engine;
grant select, insert, update, delete on all tables in schema public to dispatch_app, dispatch_engine;
alter default privileges in schema public grant select, insert, update, delete on tables to dispatch_app, dispatch_engine;
revoke insert, update, delete on schema_migrations from dispatch_app, dispatch_engine;
revoke update, delete, truncate on incident_communications, audit_logs from dispatch_app, dispatch_engine;
revoke insert, update, delete on transport_types from dispatch_app;

-- The caller's agency for this transaction, or null (which matches nothing).
create function dispatch_agency_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('dispatch.agency_id', true), '')::uuid $$;

-- Security definer so that policies can consult incidents without recursing through their own policies.
create function dispatch_incident_owned(p_incident_id uuid) returns boolean
    language sql stable security definer set search_path = public
    as $$ select exists (select 1 from incidents where id = p_incident_id and agency_id = dispatch_agency_id()) $$;

create function dispatch_agencies_linked(p_agency_id uuid) returns boolean
    language sql stable security definer set search_path = public
    as $$
        select exists (
            select 1 from agency_links
            where (psap_agency_id = dispatch_agency_id() and company_agency_id = p_agency_id)
               or (company_agency_id = dispatch_agency_id() and psap_agency_id = p_agency_id))
    $$;

revoke execute on function dispatch_incident_owned(uuid), dispatch_agencies_linked(uuid) from public;
grant execute on function dispatch_agency_id(), dispatch_incident_owned(uuid), dispatch_agencies_linked(uuid)
    to dispatch_app, dispatch_engine;

-- Row-level security on every table but the migration history.
do $$
declare
    t text;
begin
    for t in select tablename from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations' loop
        execute format('alter table %I enable row level security', t);
        execute format('create policy engine_all on %I to dispatch_engine using (true) with check (true)', t);
    end loop;
end $$;

-- Agencies: its own, and those it is linked with (a PSAP and its companies). Creating one is a
-- permission the store checks; the new agency is linked in the same transaction.
create policy app_select on agencies for select to dispatch_app
    using (id = dispatch_agency_id() or dispatch_agencies_linked(id));
create policy app_insert on agencies for insert to dispatch_app with check (true);
create policy app_update on agencies for update to dispatch_app
    using (id = dispatch_agency_id() or dispatch_agencies_linked(id));

create policy app_select on agency_links for select to dispatch_app
    using (psap_agency_id = dispatch_agency_id() or company_agency_id = dispatch_agency_id());
create policy app_insert on agency_links for insert to dispatch_app with check (psap_agency_id = dispatch_agency_id());
create policy app_delete on agency_links for delete to dispatch_app using (psap_agency_id = dispatch_agency_id());

create policy app_select on roles for select to dispatch_app using (agency_id is null or agency_id = dispatch_agency_id());
create policy app_write on roles for all to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());

-- Tables owned by one agency through agency_id.
do $$
declare
    t text;
begin
    foreach t in array array['users', 'api_keys', 'transport_channels', 'notification_rules', 'escalation_rules', 'cfs_configurations'] loop
        execute format('create policy app_all on %I for all to dispatch_app
            using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id())', t);
    end loop;
end $$;

create policy app_all on command_connections for all to dispatch_app
    using (psap_agency_id = dispatch_agency_id()) with check (psap_agency_id = dispatch_agency_id());

-- Owned through a parent row whose own policy decides (the subquery runs under the caller's policies).
create policy app_all on user_transport_preferences for all to dispatch_app
    using (exists (select 1 from users u where u.id = user_id))
    with check (exists (select 1 from users u where u.id = user_id)
                and exists (select 1 from transport_channels c where c.id = transport_channel_id));
create policy app_all on jwt_refresh_tokens for all to dispatch_app
    using (exists (select 1 from users u where u.id = user_id))
    with check (exists (select 1 from users u where u.id = user_id));
create policy app_all on cfs_imports for all to dispatch_app
    using (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id))
    with check (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id));
create policy app_all on cfs_incidents for all to dispatch_app
    using (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id))
    with check (exists (select 1 from cfs_configurations c where c.id = cfs_configuration_id));

create policy app_select on transport_types for select to dispatch_app using (true);

-- Incidents: the PSAP that raised it, and every company assigned to it.
create policy app_select on incidents for select to dispatch_app
    using (agency_id = dispatch_agency_id()
           or exists (select 1 from incident_agencies ia where ia.incident_id = incidents.id and ia.agent_agency_id = dispatch_agency_id()));
create policy app_insert on incidents for insert to dispatch_app with check (agency_id = dispatch_agency_id());
create policy app_update on incidents for update to dispatch_app
    using (agency_id = dispatch_agency_id()
           or exists (select 1 from incident_agencies ia where ia.incident_id = incidents.id and ia.agent_agency_id = dispatch_agency_id()))
    with check (true);

create policy app_select on incident_agencies for select to dispatch_app
    using (agent_agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id));
create policy app_insert on incident_agencies for insert to dispatch_app with check (dispatch_incident_owned(incident_id));
create policy app_update on incident_agencies for update to dispatch_app
    using (agent_agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id));

-- Notifications, deliveries and the communication log: a company sees its own rows only; the PSAP
-- that owns the incident sees all of them.
do $$
declare
    t text;
begin
    foreach t in array array['notifications', 'notification_deliveries', 'incident_communications'] loop
        execute format('create policy app_select on %I for select to dispatch_app
            using (agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id))', t);
        execute format('create policy app_insert on %I for insert to dispatch_app
            with check (agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id))', t);
    end loop;
end $$;
create policy app_update on notifications for update to dispatch_app
    using (agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id));
create policy app_update on notification_deliveries for update to dispatch_app
    using (agency_id = dispatch_agency_id() or dispatch_incident_owned(incident_id));

create policy app_select on audit_logs for select to dispatch_app using (agency_id = dispatch_agency_id());
create policy app_insert on audit_logs for insert to dispatch_app with check (agency_id = dispatch_agency_id());

-- Append-only and immutable, for every role including the owner. The one exception: key rotation
-- may rewrite incident_communications.content (and nothing else) inside a transaction that set
-- dispatch.reencrypting, which only the owner can do since no runtime role may UPDATE the table.
create function dispatch_reject_change() returns trigger
    language plpgsql
    as $$
    begin
        if tg_op = 'UPDATE' and tg_table_name = 'incident_communications'
           and current_setting('dispatch.reencrypting', true) = 'on'
           and (to_jsonb(new) - 'content') = (to_jsonb(old) - 'content') then
            return new;
        end if;
        raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
            using errcode = 'insufficient_privilege';
    end
    $$;

create trigger incident_communications_append_only before update or delete on incident_communications
    for each row execute function dispatch_reject_change();
create trigger incident_communications_no_truncate before truncate on incident_communications
    for each statement execute function dispatch_reject_change();
create trigger audit_logs_immutable before update or delete on audit_logs
    for each row execute function dispatch_reject_change();
create trigger audit_logs_no_truncate before truncate on audit_logs
    for each statement execute function dispatch_reject_change();
