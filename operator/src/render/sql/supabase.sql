-- A separate database for platform bookkeeping (logs, pooler), kept apart
-- from the project's own data.
SELECT 'CREATE DATABASE _supabase WITH OWNER supabase_admin'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '_supabase')\gexec
