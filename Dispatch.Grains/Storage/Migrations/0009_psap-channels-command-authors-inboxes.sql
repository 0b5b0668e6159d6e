-- A PSAP reaches its own people (escalation alerts) on its own channels: its admins configure them
-- as a company admin does, and every PSAP user keeps their own preferences.
update roles set permissions = permissions || '["transport-channels.manage","notification-rules.manage","preferences.manage-own"]'::jsonb
where agency_id is null and slug = 'psap-admin' and not permissions ? 'transport-channels.manage';
update roles set permissions = permissions || '["preferences.manage-own"]'::jsonb
where agency_id is null and slug = 'psap-dispatcher' and not permissions ? 'preferences.manage-own';

-- A command (CAD) system acts with its connection's key, which is not an api_keys row: record it as itself.
alter table incidents add column created_by_command_connection_id uuid references command_connections (id);
alter table audit_logs add column command_connection_id uuid references command_connections (id);

-- A CFS inbox belongs to one configuration: no other configuration, of any agency, may use the same
-- folder, one inside it or one containing it. Answered across agencies without revealing whose it is.
create function dispatch_cfs_inbox_taken(p_path text, p_except uuid) returns boolean
    language sql stable security definer set search_path = public
    as $$
        select exists (
            select 1 from cfs_configurations c
            where c.id is distinct from p_except
              and (c.inbox_path = p_path or starts_with(p_path, c.inbox_path || '/') or starts_with(c.inbox_path, p_path || '/')))
    $$;
revoke execute on function dispatch_cfs_inbox_taken(text, uuid) from public;
grant execute on function dispatch_cfs_inbox_taken(text, uuid) to dispatch_app;
