-- An agency's routing inputs (time zone, channels, notification rules, escalation rules, its users and their roles and
-- preferences) are held in memory by its AgencyGrain. Every change to them, whoever makes it (the grain, an identity endpoint,
-- an operator's SQL), moves the agency's configuration version in the same transaction; a transaction that routes reads the
-- version and the grain reloads when its copy is of another version. The versions reveal nothing but a count of changes.
create table agency_configuration_versions (
    agency_id uuid primary key references agencies (id) on delete cascade,
    version   bigint not null
);
alter table agency_configuration_versions enable row level security; -- no policy: reached only through the functions below

create function dispatch_configuration_version(p_agency uuid) returns bigint
    language sql stable security definer set search_path = public
    as $$ select coalesce((select version from agency_configuration_versions where agency_id = p_agency), 0) $$;

create function dispatch_bump_configuration_version(p_agency uuid) returns void
    language sql security definer set search_path = public
    as $$
        insert into agency_configuration_versions (agency_id, version) values (p_agency, 1)
        on conflict (agency_id) do update set version = agency_configuration_versions.version + 1
    $$;

-- Tables whose rows carry agency_id.
create function dispatch_agency_configuration_changed() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    begin
        if tg_op <> 'INSERT' and old.agency_id is not null then perform dispatch_bump_configuration_version(old.agency_id); end if;
        if tg_op <> 'DELETE' and new.agency_id is not null
           and (tg_op = 'INSERT' or old.agency_id is distinct from new.agency_id) then
            perform dispatch_bump_configuration_version(new.agency_id);
        end if;
        return null;
    end $$;

create trigger transport_channels_configuration after insert or update or delete on transport_channels
    for each row execute function dispatch_agency_configuration_changed();
create trigger notification_rules_configuration after insert or update or delete on notification_rules
    for each row execute function dispatch_agency_configuration_changed();
create trigger escalation_rules_configuration after insert or update or delete on escalation_rules
    for each row execute function dispatch_agency_configuration_changed();
-- Who receives and who is in a tier: a user's role, activity and address (ordering); not their last login.
create trigger users_configuration after insert or delete or update of role_id, is_active, email, agency_id on users
    for each row execute function dispatch_agency_configuration_changed();

-- A role's slug names it in escalation tiers and its permissions decide who may acknowledge; a built-in role (no agency)
-- belongs to every agency.
create function dispatch_role_configuration_changed() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    begin
        if old.agency_id is not null then
            perform dispatch_bump_configuration_version(old.agency_id);
        else
            perform dispatch_bump_configuration_version(a.id) from agencies a;
        end if;
        return null;
    end $$;

create trigger roles_configuration after delete or update of slug, permissions on roles
    for each row execute function dispatch_role_configuration_changed();

create function dispatch_preference_configuration_changed() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    begin
        if tg_op <> 'INSERT' then
            perform dispatch_bump_configuration_version(u.agency_id) from users u where u.id = old.user_id;
        end if;
        if tg_op <> 'DELETE' then
            perform dispatch_bump_configuration_version(u.agency_id) from users u where u.id = new.user_id;
        end if;
        return null;
    end $$;

create trigger user_transport_preferences_configuration after insert or update or delete on user_transport_preferences
    for each row execute function dispatch_preference_configuration_changed();

create function dispatch_zone_configuration_changed() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    begin
        perform dispatch_bump_configuration_version(new.id);
        return null;
    end $$;

create trigger agencies_configuration after update of timezone on agencies
    for each row when (old.timezone is distinct from new.timezone) execute function dispatch_zone_configuration_changed();

revoke all on function dispatch_bump_configuration_version(uuid) from public;
revoke execute on function dispatch_configuration_version(uuid) from public;
grant execute on function dispatch_configuration_version(uuid) to dispatch_app, dispatch_engine;
