-- A PSAP may read the escalation rules of the companies it works with.
drop policy app_all on escalation_rules;
create policy app_select on escalation_rules for select to dispatch_app
    using (agency_id = dispatch_agency_id() or dispatch_is_psap_of(agency_id));
create policy app_write on escalation_rules for all to dispatch_app
    using (agency_id = dispatch_agency_id()) with check (agency_id = dispatch_agency_id());

-- How many of p_user_ids are active users of a PSAP the caller's company works with.
create function dispatch_count_linked_psap_users(p_user_ids uuid[]) returns integer
    language sql stable security definer set search_path = public
    as $$
        select count(*)::int from users u
        join agency_links l on l.psap_agency_id = u.agency_id and l.company_agency_id = dispatch_agency_id()
        where u.id = any (p_user_ids) and u.is_active
    $$;
revoke execute on function dispatch_count_linked_psap_users(uuid[]) from public;
grant execute on function dispatch_count_linked_psap_users(uuid[]) to dispatch_app;
