-- The incident's inbox also takes an unreachable recipient's PSAP alert: the send's outcome is recorded by the notification's
-- grain, which leaves the alert for the incident's grain (the one writer of the incident's notifications) instead of writing it.
-- Such an item names the company (in its payload), not a call.
alter table incident_inbox alter column cfs_incident_id drop not null;
alter table incident_inbox drop constraint incident_inbox_kind_check;
alter table incident_inbox add constraint incident_inbox_kind_check check (
    case kind when 'raise' then cfs_incident_id is not null
              when 'call_update' then cfs_incident_id is not null
              when 'psap_alert' then cfs_incident_id is null
              else false end);
