"""What the generator planted, as ``raw/manifest.json`` lists it: the counts tests compare the
pipeline's results with. 生成数据的预置清单。"""

import duckdb

from pipelines.synthetic.scales import COLLECTION_MONTHS


def planted_summary(con: duckdb.DuckDBPyConnection) -> dict:
    def counts(query: str) -> dict:
        return {str(k): int(v) for k, v in con.sql(query).fetchall()}

    return {
        "units_by_type": counts("SELECT unit_type, count(*) FROM units_final GROUP BY 1 ORDER BY 1"),
        "enterprise_classification_source": counts(
            "SELECT class_source, count(*) FROM units_final WHERE unit_type = 'enterprise' GROUP BY 1 ORDER BY 1"
        ),
        "behaviour_of_deferring_units": counts(
            "SELECT behaviour, count(*) FROM units_final WHERE defers GROUP BY 1 ORDER BY 1"
        ),
        "repayment_style_of_deferring_units": counts(
            "SELECT repay_style, count(*) FROM units_final WHERE defers GROUP BY 1 ORDER BY 1"
        ),
        "units_deferring": con.execute("SELECT count(DISTINCT unit_id) FROM deferred").fetchall()[0][0],
        "persons": con.execute("SELECT count(*) FROM persons_final").fetchall()[0][0],
        "employee_events": counts(
            "SELECT event_type, count(*) FROM persons_final WHERE event_type IS NOT NULL GROUP BY 1 ORDER BY 1"
        ),
        "deregistered_units": con.execute(
            "SELECT count(*) FROM units_final WHERE deregistered_on IS NOT NULL"
        ).fetchall()[0][0],
        "register_discrepancies": {
            "missing_in_tax": con.execute(
                "SELECT count(*) FROM register_planted WHERE planted = 'missing_in_tax'"
            ).fetchall()[0][0],
            "amount_mismatch": con.execute(
                "SELECT count(*) FROM register_planted WHERE planted = 'amount_mismatch'"
            ).fetchall()[0][0],
            "missing_in_health": con.execute(
                "SELECT count(*) FROM tax_deferral_register_gen t WHERE NOT EXISTS (SELECT 1 FROM deferred d WHERE "
                "d.uscc = t.uscc AND d.period = t.period AND d.component = t.component)"
            ).fetchall()[0][0],
        },
        "employee_share_unpaid": con.execute(
            "SELECT count(*) FROM arrears r JOIN assessed a USING (unit_id, period) WHERE a.component = "
            "'employee_medical' AND a.amount > 0"
        ).fetchall()[0][0],
        "overpayments": con.execute("SELECT count(*) FROM overpaid").fetchall()[0][0],
        "warnings": {
            "uscc_inner_check": con.execute("SELECT count(*) FROM units_final WHERE bad_org_check").fetchall()[0][0],
            "unit_type_prefix": con.execute(
                "SELECT count(*) FROM units_final WHERE unit_type = 'enterprise' AND uscc_prefix = '92'"
            ).fetchall()[0][0],
        },
        "collection": {
            month: {
                "unit_status": counts(
                    f"SELECT status, count(*) FROM planned_unit_status WHERE report_month = '{month}' GROUP BY 1 "
                    f"ORDER BY 1"
                ),
                "risk_watch": counts(
                    f"SELECT flag, count(DISTINCT unit_id) FROM planned_risk WHERE report_month = '{month}' GROUP BY "
                    f"1 ORDER BY 1"
                ),
            }
            for month in COLLECTION_MONTHS
        },
        "reserve_regions": counts("SELECT reserve_status, count(*) FROM regions GROUP BY 1 ORDER BY 1"),
    }
