-- What a bearer token's user may do (dispatch_principal_lookup: the user active, in an active agency, with a role's
-- permissions) is read by the Api once and then kept until it changes; a change to any of it says so on the channel
-- "dispatch_access", delivered to every listening Api when the changing transaction commits. Once per statement: these
-- changes are rare, and an Api forgets every principal it holds when one comes.
create function dispatch_notify_access_change() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('dispatch_access', tg_table_name);
    return null;
end
$$;

create trigger users_access_changed after update of agency_id, role_id, is_active or delete on users
    for each statement execute function dispatch_notify_access_change();
create trigger roles_access_changed after update of slug, permissions or delete on roles
    for each statement execute function dispatch_notify_access_change();
create trigger agencies_access_changed after update of agency_type, is_active or delete on agencies
    for each statement execute function dispatch_notify_access_change();
