-- Commands now run on grains, which hand new work to other grains right after their commit: no LISTEN/NOTIFY any more.
-- The acknowledgement trigger tells its own transaction which command systems got a callback (a transaction-local setting the
-- acknowledging grain reads before committing) instead of notifying a listener; it reveals nothing beyond what that
-- transaction itself wrote.
create or replace function dispatch_record_ack_event() returns trigger
    language plpgsql security definer set search_path = public
    as $$
    declare
        v_event_id uuid := gen_random_uuid();
        v_psap uuid;
        v_all boolean;
        v_connections text;
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
        with queued as (
            insert into command_callbacks (event_id, command_connection_id, psap_agency_id, next_attempt_at, created_at, updated_at)
            select v_event_id, c.id, v_psap, new.acked_at, new.acked_at, new.acked_at
            from command_connections c where c.psap_agency_id = v_psap and c.is_active and c.ack_mode = 'callback'
            returning command_connection_id)
        select string_agg(command_connection_id::text, ',') into v_connections from queued;
        if v_connections is not null then
            perform set_config('dispatch.callback_connections',
                concat_ws(',', nullif(current_setting('dispatch.callback_connections', true), ''), v_connections), true);
        end if;
        return new;
    end
    $$;
revoke execute on function dispatch_record_ack_event() from public;
