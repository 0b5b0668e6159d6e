-- A PSAP alert is about one company on one incident, for one reason: the message says which company, why, and how to reach
-- its people; the PSAP user's confirmation that they saw it is recorded as that, never as the company's acknowledgement.
alter table notifications add column about_agency_id uuid references agencies (id);
alter table notifications add column alert_reason text;
alter table notifications add constraint notifications_alert_about_check
    check (kind = 'psap_alert' or (about_agency_id is null and alert_reason is null));
alter table notifications add constraint notifications_alert_reason_check
    check (alert_reason is null or alert_reason in ('no_recipients', 'not_acknowledged', 'unreachable'));
