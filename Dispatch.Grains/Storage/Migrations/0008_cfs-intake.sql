-- CFS intake: what the mappings read beyond the spec's columns, so a record can become an incident without re-parsing.
alter table cfs_incidents add column priority text;
alter table cfs_incidents add column incident_type text;
alter table cfs_incidents add column received_at timestamptz;
alter table cfs_incidents add constraint cfs_incidents_priority_check
    check (priority is null or priority in ('irod', 'critical', 'dangerous', 'routine_special'));
create index idx_cfs_incidents_cfs_configuration_id_created_at on cfs_incidents (cfs_configuration_id, created_at desc);
-- The scanner's lease: only active configurations are scanned.
create index idx_cfs_configurations_active on cfs_configurations (lease_expires_at) where is_active;
