-- The peer of issue 9: PostgreSQL 15 + pgcrypto, a field-encrypted employees table with a
-- per-record key wrapped by a master key, and an audit row per access.
-- Two variants with the same tables, one schema each:
--   aes: raw AES-256-CBC (pgcrypto encrypt_iv/decrypt_iv, a random 16-byte IV per value, stored
--        as iv || ciphertext; no authentication tag)
--   pgp: OpenPGP symmetric encryption (pgp_sym_encrypt/pgp_sym_decrypt, options :'pgpopt';
--        its own salt, IV and SHA-1 integrity packet per value; the key is a passphrase through
--        the OpenPGP S2K derivation on every call)
-- psql variables: mk (master key, 64 hex digits), ik (blind-index key, 64 hex digits),
-- records (how many to seed), pgpopt (pgp_sym_encrypt options).
-- Run by scripts/bench-peer.sh; see docs/PERFORMANCE.md, "Peer: PostgreSQL 15 + pgcrypto".
\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- The i-th valid SSN (area never 000, 666 or 9xx, group never 00, serial never 0000): the same
-- sequence as `ssn(i)` in benches/common/mod.rs.
CREATE FUNCTION bench_ssn(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lpad((1 + a + (a >= 665)::int)::text, 3, '0') || '-' ||
         lpad((1 + (n / 9999) % 99)::text, 2, '0') || '-' ||
         lpad((1 + n % 9999)::text, 4, '0')
  FROM (SELECT (n / (9999 * 99)) % 898 AS a) s
$$;

-- The id of seeded record n (so that a pgbench script can pick a random existing uuid).
CREATE FUNCTION bench_id(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5('emp' || n)::uuid
$$;

-- Raw-AES open of iv || ciphertext (inlined by the planner).
CREATE FUNCTION aes_open(c bytea, k bytea) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT decrypt_iv(substr(c, 17), k, substr(c, 1, 16), 'aes')
$$;

DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['aes', 'pgp'] LOOP
    EXECUTE format('CREATE SCHEMA %I', s);
    -- The record key, wrapped under the master key: deleting this row is the crypto-shred.
    EXECUTE format($f$CREATE TABLE %I.record_keys (
        employee_id uuid PRIMARY KEY,
        master_version int NOT NULL DEFAULT 1,
        wrapped bytea NOT NULL)$f$, s);
    EXECUTE format($f$CREATE TABLE %I.employees (
        id uuid PRIMARY KEY,
        employee_number text NOT NULL UNIQUE,
        first_name text NOT NULL,
        last_name text NOT NULL,
        preferred_name text,
        work_email text,
        department text,
        job_title text,
        manager_id uuid,
        location text,
        hire_date date NOT NULL,
        status text NOT NULL,
        termination_date date,
        ssn_bidx bytea NOT NULL UNIQUE,  -- keyed blind index, HMAC-SHA256(ssn, ik): unique SSNs
        ssn bytea NOT NULL,              -- encrypted, under the record key
        date_of_birth bytea NOT NULL,    -- encrypted
        home_address bytea,              -- encrypted JSON
        bank_account bytea,              -- encrypted JSON
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())$f$, s);
    -- One row per access. `hash` is SHA-256 of the row's own content: NOT chained to the
    -- previous row (chaining would serialise every transaction on the head row).
    EXECUTE format($f$CREATE TABLE %I.audit (
        seq bigserial PRIMARY KEY,
        ts timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_user_id uuid,
        actor_username text,
        actor_role text,
        action text NOT NULL,
        outcome text NOT NULL,
        employee_id uuid,
        fields text[],
        source_ip inet,
        request_id uuid NOT NULL,
        hash bytea NOT NULL)$f$, s);
    EXECUTE format('CREATE SEQUENCE %I.employee_seq START 1000000', s);
  END LOOP;
END $$;

-- Seed: the same records in both variants, each with its own random record key.
CREATE TEMP TABLE seed AS
SELECT n,
       bench_id(n) AS id,
       gen_random_bytes(32) AS dek,
       'E' || lpad(n::text, 8, '0') AS employee_number,
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken'])[1 + n % 8] AS first_name,
       (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson'])[1 + (n / 8) % 8] AS last_name,
       (ARRAY['R&D','Sales','Executives','IT Operations/InfoSec','Support'])[1 + n % 5] AS department,
       (ARRAY['Springfield','Arlington','Portland','Austin'])[1 + n % 4] AS city,
       (ARRAY['IL','VA','OR','TX'])[1 + n % 4] AS state,
       bench_ssn(n) AS ssn,
       make_date(1960 + (n % 40)::int, 1 + (n % 12)::int, 1 + (n % 28)::int)::text AS dob
FROM generate_series(0, :records - 1) AS n;

INSERT INTO aes.record_keys (employee_id, wrapped)
SELECT id, iv || encrypt_iv(dek, decode(:'mk', 'hex'), iv, 'aes')
FROM (SELECT id, dek, gen_random_bytes(16) AS iv FROM seed) s;

INSERT INTO aes.employees (id, employee_number, first_name, last_name, work_email, department,
    job_title, location, hire_date, status, ssn_bidx, ssn, date_of_birth, home_address, bank_account)
SELECT id, employee_number, first_name, last_name,
       lower(first_name) || '.' || lower(last_name) || n || '@example.com', department,
       'Engineer', city, date '2020-01-15', 'active',
       hmac(convert_to(ssn, 'UTF8'), decode(:'ik', 'hex'), 'sha256'),
       iv1 || encrypt_iv(convert_to(ssn, 'UTF8'), dek, iv1, 'aes'),
       iv2 || encrypt_iv(convert_to(dob, 'UTF8'), dek, iv2, 'aes'),
       iv3 || encrypt_iv(convert_to(json_build_object('line1', (1 + n % 9999) || ' Main St',
            'line2', null, 'city', city, 'state', state,
            'postal_code', lpad((10000 + n % 89999)::text, 5, '0'), 'country', 'US')::text, 'UTF8'),
            dek, iv3, 'aes'),
       iv4 || encrypt_iv(convert_to(json_build_object('routing_number', '011000015',
            'account_number', lpad((100000000 + n)::text, 12, '0'))::text, 'UTF8'), dek, iv4, 'aes')
FROM (SELECT *, gen_random_bytes(16) AS iv1, gen_random_bytes(16) AS iv2,
             gen_random_bytes(16) AS iv3, gen_random_bytes(16) AS iv4 FROM seed) s;

INSERT INTO pgp.record_keys (employee_id, wrapped)
SELECT id, pgp_sym_encrypt_bytea(dek, :'mk', :'pgpopt') FROM seed;

INSERT INTO pgp.employees (id, employee_number, first_name, last_name, work_email, department,
    job_title, location, hire_date, status, ssn_bidx, ssn, date_of_birth, home_address, bank_account)
SELECT id, employee_number, first_name, last_name,
       lower(first_name) || '.' || lower(last_name) || n || '@example.com', department,
       'Engineer', city, date '2020-01-15', 'active',
       hmac(convert_to(ssn, 'UTF8'), decode(:'ik', 'hex'), 'sha256'),
       pgp_sym_encrypt(ssn, encode(dek, 'hex'), :'pgpopt'),
       pgp_sym_encrypt(dob, encode(dek, 'hex'), :'pgpopt'),
       pgp_sym_encrypt(json_build_object('line1', (1 + n % 9999) || ' Main St',
            'line2', null, 'city', city, 'state', state,
            'postal_code', lpad((10000 + n % 89999)::text, 5, '0'), 'country', 'US')::text,
            encode(dek, 'hex'), :'pgpopt'),
       pgp_sym_encrypt(json_build_object('routing_number', '011000015',
            'account_number', lpad((100000000 + n)::text, 12, '0'))::text,
            encode(dek, 'hex'), :'pgpopt')
FROM seed;

VACUUM ANALYZE;
CHECKPOINT;
