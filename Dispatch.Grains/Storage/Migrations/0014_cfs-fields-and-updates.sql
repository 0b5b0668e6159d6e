-- CFS intake reads what dispatchers need from a CAD call, not only who called and where. narrative and extra may hold what
-- callers said and anything a mapping names, so they are encrypted at rest like raw_xml (jsonb envelopes, as "(jsonb, encrypted)"
-- columns are); warnings say what the mapping could not read and never hold personal values.
alter table cfs_incidents add column call_number text;
alter table cfs_incidents add column nature text;
alter table cfs_incidents add column status text;
alter table cfs_incidents add column cross_streets text;
alter table cfs_incidents add column latitude double precision;
alter table cfs_incidents add column longitude double precision;
alter table cfs_incidents add column units text[] not null default '{}';
alter table cfs_incidents add column narrative jsonb;
alter table cfs_incidents add column extra jsonb;
alter table cfs_incidents add column received_at_text text;
alter table cfs_incidents add column warnings jsonb not null default '[]';
-- How many warnings a file's records carried, so an import that read with warnings stands out in the list of imports.
alter table cfs_imports add column warning_count integer not null default 0;
alter table cfs_incidents add constraint cfs_incidents_position_check
    check ((latitude is null or latitude between -90 and 90) and (longitude is null or longitude between -180 and 180));

-- A notice that a linked CAD call changed under an incident (its address or priority): sent to everyone already notified, on
-- the channels of their notification, naming the fields that changed; the incident's current values are what is sent.
alter table notification_deliveries add column update_fields text[];
