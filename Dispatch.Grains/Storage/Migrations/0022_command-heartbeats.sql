-- Heartbeats: a command connection may promise to be heard every heartbeat_interval_seconds (an explicit heartbeat or any
-- authenticated call). Silent past that and a grace, the PSAP users it names are alerted on their own channels, once per outage
-- (heartbeat_outage_at says an outage was declared, and when), and again when it is heard from. Such an alert is a notification
-- about the connection, not about an incident: it has no incident, and names the connection instead.
alter table command_connections add column heartbeat_interval_seconds integer;
alter table command_connections add column heartbeat_set_at timestamptz;
alter table command_connections add column heartbeat_outage_at timestamptz;
alter table command_connections add column notify_psap_user_ids jsonb not null default '[]'::jsonb;
alter table command_connections add constraint command_connections_heartbeat_interval_check
    check (heartbeat_interval_seconds is null or heartbeat_interval_seconds between 5 and 86400);
alter table command_connections add constraint command_connections_heartbeat_set_check
    check ((heartbeat_interval_seconds is null) = (heartbeat_set_at is null));

alter table notifications alter column incident_id drop not null;
alter table notifications add column command_connection_id uuid references command_connections (id);
alter table notifications drop constraint notifications_kind_check;
alter table notifications add constraint notifications_kind_check check (kind in ('company', 'psap_alert', 'heartbeat'));
alter table notifications add constraint notifications_heartbeat_check check (
    case when kind = 'heartbeat' then incident_id is null and command_connection_id is not null
                                      and alert_reason in ('heartbeat_lost', 'heartbeat_recovered')
         else incident_id is not null and command_connection_id is null end);
alter table notifications drop constraint notifications_alert_about_check;
alter table notifications add constraint notifications_alert_about_check
    check (kind <> 'company' or (about_agency_id is null and alert_reason is null));
alter table notifications drop constraint notifications_alert_reason_check;
alter table notifications add constraint notifications_alert_reason_check check (alert_reason is null or alert_reason in
    ('no_recipients', 'not_acknowledged', 'unreachable', 'heartbeat_lost', 'heartbeat_recovered'));
create index idx_notifications_command_connection_id on notifications (command_connection_id) where command_connection_id is not null;

alter table notification_deliveries alter column incident_id drop not null;
