-- The PSAP people a company may name in its escalation rules (to be alerted when it stays silent): the active users of the
-- PSAPs it works with, by name only. Users are otherwise visible to their own agency alone; the rule's check
-- (dispatch_count_linked_psap_users) already accepts exactly these.
create function dispatch_linked_psap_users()
    returns table (user_id uuid, agency_id uuid, agency_name text, first_name text, last_name text)
    language sql stable security definer set search_path = public
    as $$
        select u.id, u.agency_id, a.name, u.first_name, u.last_name
        from users u
        join agencies a on a.id = u.agency_id
        join agency_links l on l.psap_agency_id = u.agency_id and l.company_agency_id = dispatch_agency_id()
        where u.is_active
    $$;
revoke execute on function dispatch_linked_psap_users() from public;
grant execute on function dispatch_linked_psap_users() to dispatch_app;
