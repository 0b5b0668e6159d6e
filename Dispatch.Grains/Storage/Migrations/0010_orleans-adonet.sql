-- Orleans' ADO.NET providers (clustering, reminders, grain storage) in this database, written to the contract the
-- 10.4 providers read: they load their statements by key from orleansquery and bind @-named parameters; result
-- columns are read by name. Identifiers are the providers' (unquoted, so folded to lower case). No agency data
-- lives here: these tables are the silos' own, outside row-level security, reached with the owner's connection.

create table orleansquery (
    querykey  varchar(64) primary key,
    querytext text not null
);

-- Membership: one version row per cluster (deployment), one row per silo incarnation.
create table orleansmembershipversiontable (
    deploymentid varchar(150) primary key,
    timestamp    timestamptz(3) not null default now(),
    version      integer not null default 0
);

create table orleansmembershiptable (
    deploymentid varchar(150) not null references orleansmembershipversiontable (deploymentid),
    address      varchar(45) not null,
    port         integer not null,
    generation   integer not null,
    siloname     varchar(150) not null,
    hostname     varchar(150) not null,
    status       integer not null,
    proxyport    integer,
    suspecttimes varchar(8000),
    starttime    timestamptz(3) not null,
    iamalivetime timestamptz(3) not null,
    constraint pk_orleansmembershiptable primary key (deploymentid, address, port, generation)
);

-- A membership write succeeds only together with the version bump it was read at (optimistic concurrency):
-- both statements or neither, answering 1 or 0.
create function orleans_insert_membership(p_deployment varchar, p_address varchar, p_port integer, p_generation integer,
    p_silo_name varchar, p_host_name varchar, p_status integer, p_proxy_port integer, p_start_time timestamptz,
    p_i_am_alive timestamptz, p_version integer) returns integer
    language plpgsql as $$
begin
    insert into orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status, proxyport,
                                        starttime, iamalivetime)
    values (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port,
            p_start_time, p_i_am_alive)
    on conflict do nothing;
    if not found then return 0; end if;
    update orleansmembershipversiontable set version = version + 1, timestamp = now()
    where deploymentid = p_deployment and version = p_version;
    if not found then raise exception using errcode = 'P0001', message = 'stale membership version'; end if;
    return 1;
exception when sqlstate 'P0001' then
    return 0;
end $$;

create function orleans_update_membership(p_deployment varchar, p_address varchar, p_port integer, p_generation integer,
    p_status integer, p_suspect_times varchar, p_i_am_alive timestamptz, p_version integer) returns integer
    language plpgsql as $$
begin
    update orleansmembershipversiontable set version = version + 1, timestamp = now()
    where deploymentid = p_deployment and version = p_version;
    if not found then return 0; end if;
    update orleansmembershiptable
    set status = p_status, suspecttimes = p_suspect_times, iamalivetime = p_i_am_alive
    where deploymentid = p_deployment and address = p_address and port = p_port and generation = p_generation;
    if not found then raise exception using errcode = 'P0001', message = 'no such silo'; end if;
    return 1;
exception when sqlstate 'P0001' then
    return 0;
end $$;

-- Reminders: one row per (service, grain, reminder); grainhash places it on the silo ring.
create table orleansreminderstable (
    serviceid    varchar(150) not null,
    grainid      varchar(150) not null,
    remindername varchar(150) not null,
    starttime    timestamptz(3) not null,
    period       bigint not null,
    grainhash    integer not null,
    version      integer not null,
    constraint pk_orleansreminderstable primary key (serviceid, grainid, remindername)
);
create index idx_orleansreminderstable_serviceid_grainhash on orleansreminderstable (serviceid, grainhash);

-- Grain state (IPersistentState<T>): one row per (service, grain type, grain id), versioned. The 10.4 provider writes the
-- serialized state as binary only; the json and xml columns stay for the provider's read contract.
create table orleansstorage (
    grainidhash            integer not null,
    grainidn0              bigint not null,
    grainidn1              bigint not null,
    graintypehash          integer not null,
    graintypestring        varchar(512) not null,
    grainidextensionstring varchar(512),
    serviceid              varchar(150) not null,
    payloadbinary          bytea,
    payloadjson            text,
    payloadxml             xml,
    modifiedon             timestamptz not null default now(),
    version                integer
);
create unique index idx_orleansstorage_grain on orleansstorage
    (serviceid, graintypehash, grainidhash, grainidn0, grainidn1, graintypestring, coalesce(grainidextensionstring, ''));

create function orleans_write_state(p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer, p_type varchar,
    p_extension varchar, p_service varchar, p_version integer, p_binary bytea, p_json text, p_xml xml) returns integer
    language plpgsql as $$
begin
    if p_version is null then
        -- First write: the unique index lets exactly one of two racing activations in.
        insert into orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring,
                                    serviceid, payloadbinary, payloadjson, payloadxml, modifiedon, version)
        values (p_id_hash, p_n0, p_n1, p_type_hash, p_type, p_extension, p_service, p_binary, p_json, p_xml, now(), 1)
        on conflict do nothing;
        return case when found then 1 else null end;
    end if;
    update orleansstorage
    set payloadbinary = p_binary, payloadjson = p_json, payloadxml = p_xml, modifiedon = now(), version = version + 1
    where serviceid = p_service and graintypehash = p_type_hash and grainidhash = p_id_hash and grainidn0 = p_n0 and grainidn1 = p_n1
      and graintypestring = p_type and grainidextensionstring is not distinct from p_extension and version = p_version;
    -- The same version back tells the provider the write lost (InconsistentStateException).
    return case when found then p_version + 1 else p_version end;
end $$;

insert into orleansquery (querykey, querytext) values
('UpdateIAmAlivetimeKey', $q$
    update orleansmembershiptable set iamalivetime = @IAmAliveTime
    where deploymentid = @DeploymentId and address = @Address and port = @Port and generation = @Generation
$q$),
('InsertMembershipVersionKey', $q$
    with inserted as (
        insert into orleansmembershipversiontable (deploymentid) values (@DeploymentId) on conflict do nothing returning 1)
    select count(*)::integer from inserted
$q$),
('InsertMembershipKey', $q$
    select orleans_insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
                                     @StartTime, @IAmAliveTime, @Version)
$q$),
('UpdateMembershipKey', $q$
    select orleans_update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version)
$q$),
('MembershipReadRowKey', $q$
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport, m.suspecttimes,
           m.starttime, m.iamalivetime, v.version
    from orleansmembershipversiontable v
    left join orleansmembershiptable m on m.deploymentid = v.deploymentid
        and m.address = @Address and m.port = @Port and m.generation = @Generation
    where v.deploymentid = @DeploymentId
$q$),
('MembershipReadAllKey', $q$
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport, m.suspecttimes,
           m.starttime, m.iamalivetime, v.version
    from orleansmembershipversiontable v
    left join orleansmembershiptable m on m.deploymentid = v.deploymentid
    where v.deploymentid = @DeploymentId
$q$),
('DeleteMembershipTableEntriesKey', $q$
    delete from orleansmembershiptable where deploymentid = @DeploymentId;
    delete from orleansmembershipversiontable where deploymentid = @DeploymentId
$q$),
('GatewaysQueryKey', $q$
    select address, proxyport, generation from orleansmembershiptable
    where deploymentid = @DeploymentId and status = @Status and proxyport > 0
$q$),
-- Dead silos (status 6) not heard from since the cut-off are removed; without this query the table grows with every restart.
('CleanupDefunctSiloEntriesKey', $q$
    delete from orleansmembershiptable
    where deploymentid = @DeploymentId and status = 6 and iamalivetime < @IAmAliveTime and starttime < @IAmAliveTime
      and coalesce(suspecttimes, '') = ''
$q$),
-- One dead silo's row, only if it is still exactly as the caller read it.
('CleanupDefunctSiloEntryKey', $q$
    delete from orleansmembershiptable
    where deploymentid = @DeploymentId and status = 6 and address = @Address and port = @Port and generation = @Generation
      and iamalivetime = @IAmAliveTime and starttime = @StartTime and suspecttimes is not distinct from @SuspectTimes
$q$),
('UpsertReminderRowKey', $q$
    insert into orleansreminderstable (serviceid, grainid, remindername, starttime, period, grainhash, version)
    values (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period::bigint, @GrainHash, 0)
    on conflict (serviceid, grainid, remindername) do update
        set starttime = excluded.starttime, period = excluded.period, grainhash = excluded.grainhash,
            version = orleansreminderstable.version + 1
    returning version
$q$),
('ReadReminderRowsKey', $q$
    select grainid, remindername, starttime, period, version from orleansreminderstable
    where serviceid = @ServiceId and grainid = @GrainId
$q$),
('ReadReminderRowKey', $q$
    select grainid, remindername, starttime, period, version from orleansreminderstable
    where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName
$q$),
('ReadRangeRows1Key', $q$
    select grainid, remindername, starttime, period, version from orleansreminderstable
    where serviceid = @ServiceId and grainhash > @BeginHash and grainhash <= @EndHash
$q$),
('ReadRangeRows2Key', $q$
    select grainid, remindername, starttime, period, version from orleansreminderstable
    where serviceid = @ServiceId and (grainhash > @BeginHash or grainhash <= @EndHash)
$q$),
('DeleteReminderRowKey', $q$
    with deleted as (
        delete from orleansreminderstable
        where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName and version = @Version
        returning 1)
    select count(*)::integer from deleted
$q$),
('DeleteReminderRowsKey', $q$
    delete from orleansreminderstable where serviceid = @ServiceId
$q$),
('WriteToStorageKey', $q$
    select orleans_write_state(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
                               @ServiceId, @GrainStateVersion, @PayloadBinary, null, null) as newgrainstateversion
$q$),
('ReadFromStorageKey', $q$
    select payloadbinary, payloadxml, payloadjson, now() at time zone 'utc', version from orleansstorage
    where serviceid = @ServiceId and graintypehash = @GrainTypeHash and grainidhash = @GrainIdHash and grainidn0 = @GrainIdN0
      and grainidn1 = @GrainIdN1 and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString
$q$),
('ClearStorageKey', $q$
    update orleansstorage set payloadbinary = null, payloadjson = null, payloadxml = null, version = version + 1
    where serviceid = @ServiceId and graintypehash = @GrainTypeHash and grainidhash = @GrainIdHash and grainidn0 = @GrainIdN0
      and grainidn1 = @GrainIdN1 and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString and version = @GrainStateVersion
    returning version as newgrainstateversion
$q$),
('DeleteStorageKey', $q$
    delete from orleansstorage
    where serviceid = @ServiceId and graintypehash = @GrainTypeHash and grainidhash = @GrainIdHash and grainidn0 = @GrainIdN0
      and grainidn1 = @GrainIdN1 and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString and version = @GrainStateVersion
    returning version as newgrainstateversion
$q$);

-- The runtime roles (dispatch_app, dispatch_engine) have no business here: row-level security without a policy shows them
-- nothing; the providers connect as the owner, whom it does not restrict.
alter table orleansquery enable row level security;
alter table orleansmembershipversiontable enable row level security;
alter table orleansmembershiptable enable row level security;
alter table orleansreminderstable enable row level security;
alter table orleansstorage enable row level security;
