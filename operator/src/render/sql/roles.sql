-- Service role passwords, one per role, from the keys Secret by way of the
-- container environment; psql reads each value itself so nothing is
-- spliced into SQL text.
\set admin_password `echo "$POSTGRES_PASSWORD"`
\set authenticator_password `echo "$AUTHENTICATOR_PASSWORD"`
\set auth_admin_password `echo "$AUTH_ADMIN_PASSWORD"`
\set storage_admin_password `echo "$STORAGE_ADMIN_PASSWORD"`

ALTER ROLE supabase_admin WITH PASSWORD :'admin_password';
ALTER ROLE pgbouncer WITH PASSWORD :'admin_password';
ALTER ROLE authenticator WITH PASSWORD :'authenticator_password';
ALTER ROLE supabase_auth_admin WITH PASSWORD :'auth_admin_password';
ALTER ROLE supabase_storage_admin WITH PASSWORD :'storage_admin_password';
