-- Peer, raw-AES variant: audited encrypted create, as hrvault's POST /v1/employees. One
-- statement = one transaction (autocommit), committed durably: a new random record key wrapped
-- under the master key, the record with ssn, date_of_birth, home_address and bank_account each
-- encrypted under it (random IV each), the SSN's keyed blind index (unique), the audit row, and
-- the record returned masked from the plaintext it was given (nothing decrypted back).
-- Values are unique per transaction (from a sequence), valid as hrvault would require.
-- pgbench variables: mk, ik, uid (-D).
WITH s AS MATERIALIZED (
  SELECT n, gen_random_uuid() AS id, gen_random_bytes(32) AS dek, gen_random_uuid() AS rid,
         gen_random_bytes(16) AS iv0, gen_random_bytes(16) AS iv1, gen_random_bytes(16) AS iv2,
         gen_random_bytes(16) AS iv3, gen_random_bytes(16) AS iv4,
         'P' || lpad(n::text, 9, '0') AS employee_number,
         (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken'])[1 + n % 8] AS first_name,
         (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson'])[1 + (n / 8) % 8] AS last_name,
         (ARRAY['R&D','Sales','Executives','IT Operations/InfoSec','Support'])[1 + n % 5] AS department,
         (ARRAY['Springfield','Arlington','Portland','Austin'])[1 + n % 4] AS city,
         (ARRAY['IL','VA','OR','TX'])[1 + n % 4] AS state,
         bench_ssn(n) AS ssn,
         make_date(1960 + (n % 40)::int, 1 + (n % 12)::int, 1 + (n % 28)::int)::text AS dob,
         lpad((100000000 + n)::text, 12, '0') AS account_number
  FROM (SELECT nextval('aes.employee_seq') AS n) q
), k AS (
  INSERT INTO aes.record_keys (employee_id, wrapped)
  SELECT id, iv0 || encrypt_iv(dek, decode(:mk, 'hex'), iv0, 'aes') FROM s
), e AS (
  INSERT INTO aes.employees (id, employee_number, first_name, last_name, work_email, department,
      job_title, location, hire_date, status, ssn_bidx, ssn, date_of_birth, home_address, bank_account)
  SELECT id, employee_number, first_name, last_name,
         lower(first_name) || '.' || lower(last_name) || n || '@example.com', department,
         'Engineer', city, date '2020-01-15', 'active',
         hmac(convert_to(ssn, 'UTF8'), decode(:ik, 'hex'), 'sha256'),
         iv1 || encrypt_iv(convert_to(ssn, 'UTF8'), dek, iv1, 'aes'),
         iv2 || encrypt_iv(convert_to(dob, 'UTF8'), dek, iv2, 'aes'),
         iv3 || encrypt_iv(convert_to(json_build_object('line1', (1 + n % 9999) || ' Main St',
              'line2', null, 'city', city, 'state', state,
              'postal_code', lpad((10000 + n % 89999)::text, 5, '0'), 'country', 'US')::text, 'UTF8'),
              dek, iv3, 'aes'),
         iv4 || encrypt_iv(convert_to(json_build_object('routing_number', '011000015',
              'account_number', account_number)::text, 'UTF8'), dek, iv4, 'aes')
  FROM s
  RETURNING id, employee_number, first_name, last_name, preferred_name, work_email, department,
            job_title, manager_id, location, hire_date, status, termination_date, version,
            created_at, updated_at
), a AS (
  INSERT INTO aes.audit (actor_user_id, actor_username, actor_role, action, outcome, employee_id,
                         source_ip, request_id, hash)
  SELECT :uid::uuid, 'bench-hr', 'hr', 'employee.create', 'success', id, '127.0.0.1', rid,
         digest(concat_ws('|', clock_timestamp(), :uid::text, 'employee.create', id, rid), 'sha256')
  FROM s
)
SELECT e.*, '***-**-' || right(s.ssn, 4) AS ssn, '****-**-**' AS date_of_birth,
       jsonb_build_object('city', s.city, 'state', s.state, 'country', 'US') AS home_address,
       jsonb_build_object('account_number', '****' || right(s.account_number, 4)) AS bank_account
FROM e JOIN s ON s.id = e.id;
