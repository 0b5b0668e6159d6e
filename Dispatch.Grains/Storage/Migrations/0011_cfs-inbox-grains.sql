-- One scanner per CFS configuration is now an Orleans grain's identity (CfsInboxGrain), not a lease in the row.
drop index idx_cfs_configurations_active;
alter table cfs_configurations drop column lease_owner;
alter table cfs_configurations drop column lease_expires_at;
create index idx_cfs_configurations_active on cfs_configurations (id) where is_active;
