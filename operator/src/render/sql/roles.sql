-- Service role passwords, one per role, from the keys Secret by way of the
-- container environment; psql reads each value itself so nothing is
-- spliced into SQL text.
\set admin_password `echo "$POSTGRES_PASSWORD"`
\set authenticator_password `echo "$AUTHENTICATOR_PASSWORD"`
\set auth_admin_password `echo "$AUTH_ADMIN_PASSWORD"`
\set storage_admin_password `echo "$STORAGE_ADMIN_PASSWORD"`
\set read_only_password `echo "$READ_ONLY_PASSWORD"`

ALTER ROLE supabase_admin WITH PASSWORD :'admin_password';
ALTER ROLE pgbouncer WITH PASSWORD :'admin_password';
ALTER ROLE authenticator WITH PASSWORD :'authenticator_password';
ALTER ROLE supabase_auth_admin WITH PASSWORD :'auth_admin_password';
ALTER ROLE supabase_storage_admin WITH PASSWORD :'storage_admin_password';

-- Read-only dashboard members' SQL runs as the image's read-only role
-- (through pg-meta). %L quotes the password; the role is only touched when
-- the image has it.
SELECT format('ALTER ROLE supabase_read_only_user WITH LOGIN PASSWORD %L', :'read_only_password')
WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_read_only_user') \gexec
