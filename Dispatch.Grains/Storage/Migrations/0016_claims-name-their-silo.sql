-- A send in flight names the silo that holds it, so the moment the cluster declares that silo dead its sends are handed to a
-- live one (instead of waiting out the claim lease), and a silo starting up releases whatever no live silo holds.
alter table notification_deliveries add column claimed_by text;
alter table command_callbacks add column claimed_by text;
create index idx_notification_deliveries_claimed_by on notification_deliveries (claimed_by) where send_status = 'sending';
create index idx_command_callbacks_claimed_by on command_callbacks (claimed_by) where status = 'sending';
