-- Peer, pgcrypto (OpenPGP) variant: audited masked read of one random seeded record, as hrvault answers
-- GET /v1/employees/{id} to role hr. One statement = one transaction (autocommit), committed
-- durably: unwrap the record key with the master key, decrypt ssn, home_address and
-- bank_account, mask them (last four of the SSN; city/state/country; last four of the account),
-- and insert the audit row. pgbench variables: records, mk, uid (-D).
\set n random(0, :records - 1)
WITH r AS MATERIALIZED (
  SELECT e.*, pgp_sym_decrypt_bytea(w.wrapped, :mk) AS dek
  FROM pgp.employees e JOIN pgp.record_keys w ON w.employee_id = e.id
  WHERE e.id = bench_id(:n)
), p AS MATERIALIZED (
  SELECT r.*,
         pgp_sym_decrypt(r.ssn, encode(r.dek, 'hex')) AS ssn_pt,
         pgp_sym_decrypt(r.home_address, encode(r.dek, 'hex'))::jsonb AS addr_pt,
         pgp_sym_decrypt(r.bank_account, encode(r.dek, 'hex'))::jsonb AS bank_pt
  FROM r
), a AS (
  INSERT INTO pgp.audit (actor_user_id, actor_username, actor_role, action, outcome, employee_id,
                         source_ip, request_id, hash)
  SELECT :uid::uuid, 'bench-hr', 'hr', 'employee.read',
         CASE WHEN EXISTS (SELECT 1 FROM r) THEN 'success' ELSE 'not_found' END,
         bench_id(:n), '127.0.0.1', q.rid,
         digest(concat_ws('|', clock_timestamp(), :uid::text, 'employee.read', bench_id(:n), q.rid), 'sha256')
  FROM (SELECT gen_random_uuid() AS rid) q
)
SELECT id, employee_number, first_name, last_name, preferred_name, work_email, department,
       job_title, manager_id, location, hire_date, status, termination_date,
       '***-**-' || right(ssn_pt, 4) AS ssn,
       '****-**-**' AS date_of_birth,
       jsonb_build_object('city', addr_pt->>'city', 'state', addr_pt->>'state',
                          'country', addr_pt->>'country') AS home_address,
       jsonb_build_object('account_number', '****' || right(bank_pt->>'account_number', 4)) AS bank_account,
       version, created_at, updated_at
FROM p;
