"""A small hand-made world for engine tests: write raw tables, run the pipeline, read outputs."""

import copy
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from assets.identifiers import gb11714_check
from assets.ingest.assets import ingest_assets
from assets.partitions import months_through, provinces, report_months
from assets.policy.assets import policy_assets
from assets.profiles import load_profiles
from assets.publication.assets import published_assets
from assets.reconciliation.assets import reconciliation_assets
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment
from pipelines.jobs import range_tags
from tests.conftest import write_table


def uscc(n: int, prefix: str = "91", region: str = "340100") -> str:
    from stdnum.cn import uscc as std

    body = f"{prefix}{region}{n:08d}"
    body += gb11714_check(body[8:16])
    return body + std.calc_check_digit(body)


def person(n: int) -> str:
    from stdnum.cn import ric

    body = f"11010519800101{n:03d}"
    return body + ric.calc_check_digit(body + "0")


class Scenario:
    def __init__(self, root: Path):
        self.root = root
        self.tables: dict[str, list[dict]] = {}

    def copied_to(self, root: Path) -> "Scenario":
        """This world at ``root``, which the caller made a copy of its data dir: its rows copied too, so a
        change made to the copy is the copy's alone."""
        other = Scenario(root)
        other.tables = copy.deepcopy(self.tables)
        return other

    def add(self, table: str, **row) -> dict:
        self.tables.setdefault(table, []).append({k: "" if v is None else str(v) for k, v in row.items()})
        return row

    def unit(
        self, unit_id: str, n: int, region: str = "340100", unit_type: str = "enterprise", prefix: str = "91", **extra
    ) -> str:
        code = uscc(n, prefix, region)
        self.add(
            "units",
            unit_id=unit_id,
            uscc=code,
            unit_name=f"单位{unit_id}",
            region_code=region,
            unit_type=unit_type,
            **extra,
        )
        return code

    def reserve(self, region: str, month: str, balance: str, expenditure: str = "100.00") -> None:
        self.add(
            "fund_reserves",
            region_code=region,
            as_of_month=month,
            accumulated_balance=balance,
            avg_monthly_expenditure=expenditure,
        )

    def contribution(
        self,
        unit_id: str,
        person_id: str,
        period: str,
        employer_medical: str,
        employer_maternity: str = "",
        base: str = "5000.00",
        employee_medical: str = "100.00",
    ) -> None:
        self.add(
            "contributions",
            unit_id=unit_id,
            person_id=person_id,
            period=period,
            contribution_base=base,
            employer_medical=employer_medical,
            employee_medical=employee_medical,
            employer_maternity=employer_maternity,
        )

    def payment(
        self,
        payment_id: str,
        code: str,
        period: str,
        amount: str,
        paid_on: str,
        kind: str = "regular",
        component: str = "employer_medical",
    ) -> None:
        self.add(
            "tax_payments",
            payment_id=payment_id,
            uscc=code,
            period=period,
            component=component,
            amount=amount,
            paid_on=paid_on,
            payment_kind=kind,
        )

    def run(
        self,
        as_of: str | None = None,
        profiles_dir: str | None = None,
        publish: bool = False,
        months: list[str] | None = None,
    ):
        for table, rows in self.tables.items():
            write_table(self.root, table, rows)
        for table in (
            "units",
            "sme_classifications",
            "fund_reserves",
            "contributions",
            "tax_payments",
            "tax_deferral_register",
            "commitments",
            "elections",
            "employee_events",
        ):
            if table not in self.tables:
                write_table(self.root, table, [])
        month = as_of or "2023-07"
        # GX Data Docs are not built (tests/test_materialize_sample.py checks them): about 1 s a table a run;
        # one DuckDB thread, as every test run has (tests/trust.py env_for)
        settings = settings_from_environment(profiles_dir=profiles_dir or "", gx_data_docs=0, duckdb_threads=1)
        resource = warehouse_resource(str(self.root), settings=settings)
        resources = {"warehouse": resource}
        unpartitioned = [a for a in self.assets if a.partitions_def is None]
        partitioned = [a for a in self.assets if a.partitions_def is not None]
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(report_months.name, months_through(max(months or [month])))
        ids = sorted(p.policy_id for p in load_profiles(profiles_dir or None))
        instance.add_dynamic_partitions(provinces.name, ids)
        assert dg.materialize(unpartitioned, resources=resources, instance=instance).success
        for m in months or [month]:  # every province's month in one run, as `deferral run` does
            assert dg.materialize(
                partitioned, resources=resources, instance=instance, tags=range_tags(m, m, ids)
            ).success
        if publish:
            assert dg.materialize(
                published_assets,
                resources=resources,
                instance=instance,
                run_config={"ops": {"publication": {"config": {"report_month": month}}}},
            ).success
        return Outputs(self.root, month)

    assets = [*ingest_assets, *policy_assets, *reconciliation_assets]


class Outputs:
    def __init__(self, root: Path, month: str):
        self.root, self.month = root, month

    def rows(self, name: str, where: str = "TRUE", order: str = "ALL", month: str | None = None) -> list[dict]:
        con = duckdb.connect()
        rel = con.sql(
            f"SELECT * FROM read_parquet('{self.root}/warehouse/policy/{name}/{month or self.month}/*.parquet') "
            f"WHERE {where} ORDER BY {order}"
        )
        return [dict(zip(rel.columns, r)) for r in rel.fetchall()]

    def by(self, name: str, key: str) -> dict:
        return {r[key]: r for r in self.rows(name)}


def D(value: str) -> Decimal:
    return Decimal(value)
