-- Credential look-ups happen before any agency is known (login, refresh, API keys), so they go
-- through narrow security-definer functions: each returns only the row matching a secret's hash or
-- an email, never a list.

create function dispatch_login_lookup(p_email text)
    returns table (user_id uuid, agency_id uuid, agency_type text, password_hash text, is_active boolean,
                   role_slug text, permissions jsonb)
    language sql stable security definer set search_path = public
    as $$
        select u.id, u.agency_id, a.agency_type, u.password_hash, u.is_active and a.is_active, r.slug, r.permissions
        from users u join agencies a on a.id = u.agency_id join roles r on r.id = u.role_id
        where u.email = lower(p_email)
    $$;

-- What a bearer token's holder may do now: null when the user or agency was deactivated.
create function dispatch_principal_lookup(p_user_id uuid)
    returns table (agency_id uuid, agency_type text, role_slug text, permissions jsonb)
    language sql stable security definer set search_path = public
    as $$
        select u.agency_id, a.agency_type, r.slug, r.permissions
        from users u join agencies a on a.id = u.agency_id join roles r on r.id = u.role_id
        where u.id = p_user_id and u.is_active and a.is_active
    $$;

create function dispatch_refresh_token_lookup(p_token_hash text)
    returns table (id uuid, user_id uuid, agency_id uuid)
    language sql stable security definer set search_path = public
    as $$
        select t.id, t.user_id, u.agency_id
        from jwt_refresh_tokens t join users u on u.id = t.user_id
        where t.token_hash = p_token_hash
    $$;

-- An API key of an agency or the key of a PSAP's command connection, by its public prefix.
create function dispatch_credential_lookup(p_prefix text)
    returns table (kind text, id uuid, agency_id uuid, agency_type text, key_hash text, scopes jsonb,
                   expires_at timestamptz, revoked_at timestamptz, is_active boolean)
    language sql stable security definer set search_path = public
    as $$
        select 'api_key', k.id, k.agency_id, a.agency_type, k.key_hash, k.scopes, k.expires_at, k.revoked_at, a.is_active
        from api_keys k join agencies a on a.id = k.agency_id
        where k.key_prefix = p_prefix
        union all
        select 'command_connection', c.id, c.psap_agency_id, a.agency_type, c.api_key_hash, '[]'::jsonb, null, null,
               c.is_active and a.is_active
        from command_connections c join agencies a on a.id = c.psap_agency_id
        where c.api_key_prefix = p_prefix
    $$;

-- Usage stamps, batched by the Api rather than written per request.
create function dispatch_touch_credentials(p_api_key_ids uuid[], p_connection_ids uuid[], p_at timestamptz)
    returns void
    language sql volatile security definer set search_path = public
    as $$
        update api_keys set last_used_at = greatest(coalesce(last_used_at, p_at), p_at) where id = any (p_api_key_ids);
        update command_connections set last_seen_at = greatest(coalesce(last_seen_at, p_at), p_at) where id = any (p_connection_ids);
    $$;

revoke execute on function dispatch_login_lookup(text), dispatch_principal_lookup(uuid), dispatch_refresh_token_lookup(text),
    dispatch_credential_lookup(text), dispatch_touch_credentials(uuid[], uuid[], timestamptz) from public;
grant execute on function dispatch_login_lookup(text), dispatch_principal_lookup(uuid), dispatch_refresh_token_lookup(text),
    dispatch_credential_lookup(text), dispatch_touch_credentials(uuid[], uuid[], timestamptz) to dispatch_app;

-- A company admin manages its own agency; a PSAP admin also the companies it onboarded.
update roles set permissions = permissions || '["agencies.manage"]'::jsonb
where agency_id is null and slug = 'company-admin' and not permissions ? 'agencies.manage';
update roles set permissions = permissions || '["command.acks.read"]'::jsonb
where agency_id is null and slug in ('psap-admin', 'psap-dispatcher') and not permissions ? 'command.acks.read';

create function dispatch_is_psap_of(p_company_id uuid) returns boolean
    language sql stable security definer set search_path = public
    as $$ select exists (select 1 from agency_links where psap_agency_id = dispatch_agency_id() and company_agency_id = p_company_id) $$;
revoke execute on function dispatch_is_psap_of(uuid) from public;
grant execute on function dispatch_is_psap_of(uuid) to dispatch_app, dispatch_engine;

-- Only the agency itself, or the PSAP that onboarded a company, may change an agency.
drop policy app_update on agencies;
create policy app_update on agencies for update to dispatch_app
    using (id = dispatch_agency_id() or dispatch_is_psap_of(id));

-- Onboarding: a PSAP may create the first users of a company it is linked with.
create policy app_onboard on users for insert to dispatch_app with check (dispatch_is_psap_of(agency_id));
