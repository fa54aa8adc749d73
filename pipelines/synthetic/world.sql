-- The synthetic world: units, persons and their behaviour, all drawn from hash(seed, ...) so the
-- same seed gives the same data whatever the thread count. Template values: ${seed},
-- ${n_units}, ${mean_headcount}, ${n_planted}. Table `regions` and the date macros of assets/policy/macros.sql
-- are created by the caller.

CREATE OR REPLACE MACRO rnd(k, i) AS (hash(${seed}, k, i) % 1000003) / 1000003.0;
-- GB 32100 check character over the first 17 characters.
CREATE OR REPLACE MACRO uscc_check(s) AS substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
    ((31 - list_sum(list_transform(range(17), lambda j:
        (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(s, j + 1, 1)) - 1)
        * [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28][j + 1])) % 31) % 31)::BIGINT + 1, 1);
-- GB 11714 check character over 8 digits.
CREATE OR REPLACE MACRO org_check(s) AS CASE (11 - list_sum(list_transform(range(8), lambda j:
        substr(s, j + 1, 1)::INT * [3, 7, 9, 10, 5, 8, 4, 2][j + 1])) % 11)
    WHEN 10 THEN 'X' WHEN 11 THEN '0'
    ELSE ((11 - list_sum(list_transform(range(8), lambda j:
        substr(s, j + 1, 1)::INT * [3, 7, 9, 10, 5, 8, 4, 2][j + 1])) % 11))::VARCHAR END;
-- GB 11643 check character over 17 digits.
CREATE OR REPLACE MACRO pid_check(s) AS substr('10X98765432', (list_sum(list_transform(range(17), lambda j:
        substr(s, j + 1, 1)::INT * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][j + 1])) % 11)::BIGINT + 1, 1);

CREATE OR REPLACE TABLE unit_draws AS
SELECT
    i,
    'U' || lpad((i + 1)::VARCHAR, 7, '0') AS unit_id,
    -- one independent uniform draw per decision about the unit
    rnd('region', i) AS r_region, rnd('type', i) AS r_type, rnd('size', i) AS r_size,
    rnd('source', i) AS r_source, rnd('behaviour', i) AS r_behaviour, rnd('repay', i) AS r_repay,
    rnd('dereg', i) AS r_dereg, rnd('late_reg', i) AS r_late_reg, rnd('category', i) AS r_category,
    rnd('commit', i) AS r_commit, rnd('warn', i) AS r_warn, rnd('arrears', i) AS r_arrears,
    rnd('z1', i) AS z1, rnd('z2', i) AS z2
FROM range(${n_units}) t(i);

CREATE OR REPLACE TABLE units_world AS
WITH r AS (
    SELECT *, sum(weight) OVER (ORDER BY region_code ROWS UNBOUNDED PRECEDING) / sum(weight) OVER () AS cum_hi,
              (sum(weight) OVER (ORDER BY region_code ROWS UNBOUNDED PRECEDING) - weight) / sum(weight) OVER () AS cum_lo
    FROM regions
), typed AS (
    SELECT d.*, r.region_code, r.policy_id, r.region_name, r.first_period, r.reserve_status, r.due_rule, r.fixed_due,
        CASE
            WHEN r_type < 0.74 THEN 'enterprise'
            WHEN r_type < 0.84 THEN 'individual_business'
            WHEN r_type < 0.855 THEN 'social_group'
            WHEN r_type < 0.865 THEN 'foundation'
            WHEN r_type < 0.88 THEN 'social_service_org'
            WHEN r_type < 0.89 THEN 'law_firm'
            WHEN r_type < 0.90 THEN 'accounting_firm'
            WHEN r_type < 0.91 THEN 'other_social_org'
            WHEN r_type < 0.96 THEN 'public_institution'
            ELSE 'government_agency' END AS unit_type
    FROM unit_draws d JOIN r ON d.r_region >= r.cum_lo AND d.r_region < r.cum_hi
), sized AS (
    SELECT *,
        CASE WHEN unit_type <> 'enterprise' THEN NULL
             WHEN r_size < 0.06 THEN 'large' WHEN r_size < 0.20 THEN 'medium'
             WHEN r_size < 0.50 THEN 'small' ELSE 'micro' END AS true_size,
        CASE WHEN unit_type <> 'enterprise' THEN 'unit_type'
             WHEN r_source < 0.40 THEN 'register' WHEN r_source < 0.70 THEN 'indicators'
             WHEN r_source < 0.85 THEN 'commitment' WHEN r_source < 0.90 THEN 'missing_indicator'
             ELSE 'none' END AS raw_source,
        ['industry', 'retail', 'construction', 'software', 'other'][1 + floor(r_category * 5)::INT] AS category
    FROM typed
)
SELECT *,
    -- commitments declare medium/small/micro only: a large enterprise without data stays unclassified
    CASE WHEN raw_source IN ('commitment', 'missing_indicator') AND true_size = 'large' THEN 'none'
         ELSE raw_source END AS class_source,
    CASE unit_type
        WHEN 'enterprise' THEN CASE WHEN r_warn < 0.01 THEN '92' ELSE '91' END
        WHEN 'individual_business' THEN '92' WHEN 'social_group' THEN '51'
        WHEN 'social_service_org' THEN '52' WHEN 'foundation' THEN '53' WHEN 'law_firm' THEN '31'
        WHEN 'accounting_firm' THEN '91' WHEN 'other_social_org' THEN '59'
        WHEN 'public_institution' THEN '12' ELSE '11' END AS uscc_prefix,
    lpad(((i * 7919 + ${seed} * 104729) % 100000000)::VARCHAR, 8, '0') AS org8,
    r_warn >= 0.01 AND r_warn < 0.02 AS bad_org_check,
    CASE WHEN r_behaviour < 0.70 THEN 'defer' WHEN r_behaviour < 0.80 AND r_late_reg >= 0.02 THEN 'shift' WHEN r_behaviour < 0.80 THEN 'defer'
         WHEN r_behaviour < 0.86 THEN 'opt_out'
         WHEN r_behaviour < 0.93 AND policy_id = 'shanxi-2022' THEN 'refund'
         ELSE 'defer' END AS behaviour,
    CASE WHEN r_repay < 0.20 THEN 'early' WHEN r_repay < 0.60 THEN 'on_time'
         WHEN r_repay < 0.80 THEN 'late' WHEN r_repay < 0.92 THEN 'never' ELSE 'partial' END AS repay_style,
    CASE WHEN r_late_reg < 0.02 THEN NULL
         WHEN r_dereg < 0.005 THEN DATE '2022-06-20'
         WHEN r_dereg < 0.02 THEN DATE '2022-09-15' + CAST(floor(rnd('dereg_day', i) * 240) AS INT)
         END AS deregistered_on,
    CASE WHEN r_late_reg < 0.02 THEN DATE '2022-07-01' + CAST(floor(rnd('reg_day', i) * 240) AS INT)
         ELSE DATE '2000-01-01' + CAST(floor(rnd('reg_day', i) * 8000) AS INT) END AS registered_on,
    CASE WHEN r_commit < 0.70 THEN 'full' WHEN r_commit < 0.90 THEN 'partial' ELSE 'outside' END AS commit_range,
    r_arrears < 0.03 AS arrears,
    -- skewed headcount: log-normal, many micro units and a few large ones
    greatest(1, floor(exp(ln(${mean_headcount}) - 0.845 + 1.3 * sqrt(-2 * ln(greatest(z1, 1e-9))) * cos(2 * pi() * z2))))::BIGINT AS headcount
FROM sized;

-- Identifiers and names.
CREATE OR REPLACE TABLE units_world2 AS
SELECT w.*,
    w.uscc_prefix || w.region_code || w.org8
        || CASE WHEN bad_org_check THEN (CASE WHEN org_check(org8) = '0' THEN '1' ELSE '0' END) ELSE org_check(org8) END AS uscc17,
    CASE WHEN w.unit_type = 'enterprise' THEN
        CASE category WHEN 'industry' THEN 'C13' || lpad((floor(rnd('ind', i) * 9) + 1)::INT::VARCHAR, 2, '0')
                      WHEN 'retail' THEN 'F52' || (floor(rnd('ind', i) * 9) + 1)::INT::VARCHAR
                      WHEN 'construction' THEN 'E47' || (floor(rnd('ind', i) * 9) + 1)::INT::VARCHAR
                      WHEN 'software' THEN 'I65' || (floor(rnd('ind', i) * 9) + 1)::INT::VARCHAR
                      ELSE 'M73' || (floor(rnd('ind', i) * 9) + 1)::INT::VARCHAR END
    END AS industry_code,
    w.region_name
        || ['恒', '瑞', '华', '鑫', '达', '泰', '丰', '盛', '安', '康', '晋', '皖', '和', '兴', '利', '源'][1 + floor(rnd('n1', i) * 16)::INT]
        || ['通', '远', '宏', '信', '德', '明', '新', '广', '正', '荣', '宇', '汇', '晟', '博', '联', '诚'][1 + floor(rnd('n2', i) * 16)::INT]
        || CASE w.unit_type
            WHEN 'enterprise' THEN ['科技有限公司', '商贸有限公司', '建设工程有限公司', '制造有限公司', '物业服务有限公司'][1 + floor(rnd('n3', i) * 5)::INT]
            WHEN 'individual_business' THEN '便利店' WHEN 'social_group' THEN '行业协会'
            WHEN 'foundation' THEN '公益基金会' WHEN 'social_service_org' THEN '社会服务中心'
            WHEN 'law_firm' THEN '律师事务所' WHEN 'accounting_firm' THEN '会计师事务所'
            WHEN 'other_social_org' THEN '研究会' WHEN 'public_institution' THEN '人民医院'
            ELSE '行政审批局' END
        || lpad((i + 1)::VARCHAR, 6, '0') AS unit_name
FROM units_world w;

CREATE OR REPLACE TABLE units_final AS
SELECT *, uscc17 || uscc_check(uscc17) AS uscc,
    -- the generator's own notion of who defers; the engine must reach the same list
    reserve_status = 'ok'
        AND coalesce(deregistered_on >= strptime(first_period || '-01', '%Y-%m-%d')::DATE, TRUE)
        AND unit_type NOT IN ('public_institution', 'government_agency')
        AND behaviour <> 'opt_out'
        AND (unit_type <> 'enterprise' OR (class_source <> 'none' AND true_size <> 'large'))
        AND NOT (class_source IN ('commitment', 'missing_indicator') AND commit_range = 'outside') AS defers
FROM units_world2;

-- Planted deregistered_with_outstanding (SPEC section 6): a few deferring units that never repay
-- deregister in March 2023, whatever their draws said.
UPDATE units_final SET deregistered_on = DATE '2023-03-10'
WHERE unit_id IN (SELECT unit_id FROM units_final
                  WHERE defers AND repay_style = 'never' AND deregistered_on IS NULL AND registered_on < DATE '2022-06-01'
                  ORDER BY hash(${seed}, 'deregisters', i) LIMIT ${n_planted});

-- Persons: each unit's headcount of consecutive person numbers, ids unique by construction.
CREATE OR REPLACE TABLE persons AS
WITH ranges AS (
    SELECT unit_id, i AS unit_i, headcount,
        (sum(headcount) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) - headcount)::BIGINT AS lo
    FROM units_final
), p AS (
    SELECT unit_id, unit_i, lo + unnest(range(headcount)) AS p FROM ranges
)
SELECT p.p, p.unit_id, p.unit_i,
    ['340102', '340203', '341122', '140105', '140802', '142701', '110105', '320106'][1 + (p.p % 8)::INT]
        || strftime(DATE '1962-01-01' + CAST(p.p % 15000 AS INT), '%Y%m%d')
        || lpad(((p.p // 15000) % 1000)::VARCHAR, 3, '0') AS pid17,
    rnd('event', p.p) AS r_event,
    rnd('start', p.p) AS r_start,
    (3000 + floor(rnd('base', p.p) * 22000))::DECIMAL(18, 2) AS contribution_base
FROM p;

CREATE OR REPLACE TABLE persons_final AS
SELECT p.*, pid17 || pid_check(pid17) AS person_id,
    CASE WHEN r_event < 0.012 THEN 'departure' WHEN r_event < 0.022 THEN 'retirement'
         WHEN r_event < 0.03 THEN 'transfer_out' END AS event_type,
    CASE WHEN r_event < 0.03 THEN DATE '2022-07-01' + CAST(floor(rnd('event_day', p.p) * 360) AS INT) END AS event_date,
    greatest(CASE WHEN r_start < 0.05 THEN add_months_p('2022-06', 1 + floor(rnd('start_m', p.p) * 9)::INT) ELSE '2022-06' END,
             CASE WHEN u.registered_on > DATE '2022-06-01' THEN strftime(u.registered_on, '%Y-%m') ELSE '2022-06' END) AS start_period,
    least(CASE WHEN r_event < 0.03 THEN strftime(DATE '2022-07-01' + CAST(floor(rnd('event_day', p.p) * 360) AS INT), '%Y-%m') ELSE '2023-07' END,
          coalesce(strftime(u.deregistered_on, '%Y-%m'), '2023-07')) AS end_period
FROM persons p JOIN units_final u USING (unit_id);

CREATE OR REPLACE TABLE periods AS
SELECT strftime(DATE '2022-06-01' + to_months(m), '%Y-%m') AS period FROM range(14) t(m);
