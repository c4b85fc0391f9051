-- Realtime keeps its tenants and migrations in its own schema, owned by the
-- role it connects as.
CREATE SCHEMA IF NOT EXISTS _realtime;
ALTER SCHEMA _realtime OWNER TO supabase_admin;
