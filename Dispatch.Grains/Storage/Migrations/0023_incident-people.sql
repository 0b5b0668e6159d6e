-- Who an incident reached: the people notified on it and those who acknowledged it, by name and address, for the screens that
-- show an incident. Users are visible to their own agency only (row-level security), but the PSAP that raised an incident
-- must see whom each company's notifications reached (its PSAP alerts already name them); a company sees only its own people.
create function dispatch_incident_people(p_incident_id uuid)
    returns table (user_id uuid, agency_id uuid, first_name text, last_name text, email text)
    language sql stable security definer set search_path = public
    as $$
        select u.id, u.agency_id, u.first_name, u.last_name, u.email
        from users u
        where u.id in (select n.notified_user_id from notifications n where n.incident_id = p_incident_id
                       union select n.acked_by_user_id from notifications n where n.incident_id = p_incident_id
                       union select ia.acked_by_user_id from incident_agencies ia where ia.incident_id = p_incident_id)
          and (dispatch_incident_owned(p_incident_id) or u.agency_id = dispatch_agency_id())
    $$;
revoke execute on function dispatch_incident_people(uuid) from public;
grant execute on function dispatch_incident_people(uuid) to dispatch_app;
