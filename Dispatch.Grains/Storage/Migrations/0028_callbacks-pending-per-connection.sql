-- A command system's pending callbacks, found without reading its history: its grain asks for the oldest due ones and for
-- when the next falls due after every batch, and the only per-connection index held every callback ever sent, so each
-- question scanned all of them (measured: 1.3-1.8 ms of PostgreSQL per acknowledgement after 3,500 callbacks, growing with
-- every callback). Only queued and in-flight rows are in this one.
create index idx_command_callbacks_pending on command_callbacks (command_connection_id, created_at, id) where status in ('queued', 'sending');
