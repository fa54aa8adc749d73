"""Synthetic bureau data for both policy profiles, generated in DuckDB SQL.

``deferral generate --data-dir DIR --scale tiny|city|province --seed N`` writes the nine raw
tables of SPEC section 2 under ``DIR/raw/`` and ``DIR/raw/manifest.json``: what was planted
(bad rows per rule, duplicates, behaviours, discrepancies), so tests compare the pipeline's
counts against it. Bulk rows never leave DuckDB; Python only writes the few planted rows.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb

from assets.settings import current_settings, profiles_in_use
from assets.storage import q, sql_statements
from pipelines.synthetic import monthly_exports
from pipelines.synthetic.manifest import planted_summary
from pipelines.synthetic.plans import plant_bad_rows
from pipelines.synthetic.plant import Planter
from pipelines.synthetic.scales import (
    COLLECTION_MONTHS,
    INDICATOR_BANDS,
    LOW_RESERVES,
    MISSING_RESERVES,
    REGION_NAMES,
    SCALES,
    Scale,
)

HERE = Path(__file__).parent
MACROS = HERE.parent.parent / "assets" / "macros.sql"  # the engine's date macros, shared


def _setup_regions(con: duckdb.DuckDBPyConnection, scale: Scale, seed: int) -> None:
    profiles = profiles_in_use()
    missing = sorted(set(scale.regions or ()) - {r for p in profiles for r in p.regions})
    if missing:
        raise ValueError(
            f"no profile covers regions {', '.join(missing)} of this scale: set DEFERRAL_PROFILES_DIR to "
            "folders whose profiles do (city4: assets/policy/profiles:assets/policy/profiles/examples)"
        )
    rows, comps = [], []
    for p in profiles:
        for region in p.regions:
            if scale.regions is not None and region not in scale.regions:
                continue
            status = "missing" if region in MISSING_RESERVES else "low" if region in LOW_RESERVES else "ok"
            provincial = region.endswith("9900")
            rows.append(
                (
                    region,
                    p.policy_id,
                    REGION_NAMES.get(region[:4], region),
                    p.first_period,
                    status,
                    LOW_RESERVES.get(region, 0.0),
                    p.repayment_rule,
                    p.repayment_fixed_date,
                    0.4 if provincial else 1.0,
                    [0.06, 0.065, 0.07, 0.075, 0.08][int(region) % 5],
                    [0.005, 0.0075, 0.01][int(region) % 3] if "employer_maternity" in p.components else None,
                    float(p.risk_headcount_ratio),
                )
            )
            comps += [(region, c) for c in p.components]
    con.execute(
        """CREATE TABLE regions (region_code VARCHAR, policy_id VARCHAR, region_name VARCHAR,
        first_period VARCHAR, reserve_status VARCHAR, low_months DECIMAL(18, 2), due_rule VARCHAR,
        fixed_due DATE, weight DOUBLE, medical_rate DECIMAL(6, 4), maternity_rate DECIMAL(6, 4),
        risk_ratio DECIMAL(6, 4))"""
    )
    con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE region_components (region_code VARCHAR, component VARCHAR)")
    con.executemany("INSERT INTO region_components VALUES (?, ?)", comps)
    con.execute(
        "CREATE TABLE indicator_bands (category VARCHAR, size_class VARCHAR, employees BIGINT, revenue_wan BIGINT, "
        "assets_wan BIGINT)"
    )
    con.executemany("INSERT INTO indicator_bands VALUES (?, ?, ?, ?, ?)", INDICATOR_BANDS)


def _copy(con, query: str, path: Path, fmt: str = "csv") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opts = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 500000" if fmt == "parquet" else "HEADER, DELIMITER ','"
    con.execute(f"COPY ({query}) TO {q(path)} ({opts})")


def _transcode(path: Path, encoding: str, bom: bool = False) -> None:
    """Rewrite a UTF-8 file in another encoding (streaming)."""
    tmp = path.with_suffix(".tmp")
    with open(path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding=encoding, newline="") as dst:
        if bom:
            dst.write("\ufeff")
        shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(path)


def _default_layout(con: duckdb.DuckDBPyConnection, raw: Path, cfg: Scale, out) -> None:
    """Every table's files as one export (``out(table, query, name, fmt)`` writes one)."""
    # units: most in UTF-8 with a BOM, a fifth in GB18030 as some bureau systems export it
    out("units", "SELECT * FROM units_gen WHERE hash(unit_id) % 5 <> 0", "units_a.csv")
    _transcode(raw / "units" / "units_a.csv", "utf-8", bom=True)
    out("units", "SELECT * FROM units_gen WHERE hash(unit_id) % 5 = 0", "units_b_gb18030.csv")
    _transcode(raw / "units" / "units_b_gb18030.csv", "gb18030")

    anhui = "SELECT c.* FROM contributions_v c JOIN units_final u USING (unit_id) WHERE u.policy_id = 'anhui-2022'"
    shanxi = "SELECT c.* FROM contributions_v c JOIN units_final u USING (unit_id) WHERE u.policy_id <> 'anhui-2022'"
    if cfg.province_folders:
        for profile in profiles_in_use():
            out(
                "contributions",
                f"SELECT c.* FROM contributions_v c JOIN units_final u USING (unit_id) "
                f"WHERE u.policy_id = '{profile.policy_id}'",
                f"{profile.province_code}/contributions_{profile.policy_id}.parquet",
                "parquet",
            )
        out("tax_payments", "SELECT * FROM tax_payments_gen", "tax_payments.parquet", "parquet")
    elif cfg.parquet_bulk:
        out("contributions", anhui, "contributions_anhui.parquet", "parquet")
        out("contributions", shanxi, "contributions_shanxi.parquet", "parquet")
        out("tax_payments", "SELECT * FROM tax_payments_gen", "tax_payments.parquet", "parquet")
    else:
        out("contributions", f"SELECT * FROM ({anhui}) WHERE period < '2023-01'", "contributions_anhui_2022.csv")
        # the 2023 file carries periods as YYYYMM, as some 核定 exports do
        out(
            "contributions",
            f"SELECT * REPLACE (replace(period, '-', '') AS period) FROM ({anhui}) WHERE period >= '2023-01'",
            "contributions_anhui_2023.csv",
        )
        out("contributions", shanxi, "contributions_shanxi.parquet", "parquet")
        out("tax_payments", "SELECT * FROM tax_payments_gen", "tax_payments.csv")
    out("tax_deferral_register", "SELECT * FROM tax_deferral_register_gen", "tax_deferral_register.csv")
    out("fund_reserves", "SELECT * FROM fund_reserves_gen", "fund_reserves.csv")
    out("sme_classifications", "SELECT * FROM sme_gen", "sme_classifications.csv")
    out("commitments", "SELECT * FROM commitments_gen", "commitments.csv")
    out("elections", "SELECT * FROM elections_gen", "elections.csv")
    out("employee_events", "SELECT * FROM employee_events_gen", "employee_events.csv")


def generate(data_dir: str | Path, scale: str = "tiny", seed: int = 1, through: str | None = None) -> dict:
    """Writes the raw tables (``through``: as monthly exports up to that month, adding only the months
    not written yet: pipelines/synthetic/monthly_exports.py) and returns the manifest."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    cfg = SCALES[scale]
    raw = Path(data_dir) / "raw"
    if raw.exists() and not (through and monthly_exports.may_add_months(raw, scale, seed)):
        shutil.rmtree(raw)
    raw.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(data_dir) / ".generate_tmp"
    con = duckdb.connect()
    con.execute("SET temp_directory = " + "'" + str(tmp_dir).replace("'", "''") + "'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{current_settings().duckdb_memory}'")
    _setup_regions(con, cfg, seed)
    for statement in [
        *sql_statements(MACROS),
        *sql_statements(
            HERE / "world.sql",
            seed=seed,
            n_units=cfg.n_units,
            mean_headcount=cfg.mean_headcount,
            n_planted=max(1, cfg.planted_per_kind),
        ),
        *sql_statements(
            HERE / "facts.sql",
            seed=seed,
            n_unknown_uscc=max(1, cfg.planted_per_kind),
            n_planted=max(1, cfg.planted_per_kind),
        ),
        *sql_statements(HERE / "collection.sql", report_months=", ".join(f"('{m}')" for m in COLLECTION_MONTHS)),
    ]:
        con.execute(statement)

    from assets.contracts import RAW_TABLES

    columns = {name: list(t.columns) for name, t in RAW_TABLES.items()}
    planter = Planter(con, cfg.planted_per_kind)
    plant_bad_rows(planter, columns)

    rows_written: dict[str, int] = {}

    def out(table: str, query: str, name: str, fmt: str = "csv") -> None:
        order = ", ".join(columns[table])
        _copy(con, f"SELECT {order} FROM ({query}) ORDER BY {order}", raw / table / name, fmt)
        rows_written[table] = (
            rows_written.get(table, 0) + con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
        )

    if through:
        first = min(p.first_period for p in profiles_in_use())
        last = con.execute("SELECT max(period) FROM contributions_v").fetchall()[0][0]
        bulk = cfg.parquet_bulk or cfg.province_folders
        monthly_exports.write_months(con, raw, first, last, through, bulk, _copy)
        monthly_exports.write_marker(raw, scale, seed)
        if through < last or (raw / "manifest.json").exists():
            # the corrections and the manifest come with the last month's exports, once
            con.close()
            shutil.rmtree(tmp_dir, ignore_errors=True)
            return {"scale": scale, "seed": seed, "through": through, "complete": through >= last}
        for table, source in monthly_exports.SOURCES.items():
            rows_written[table] = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    else:
        _default_layout(con, raw, cfg, out)
    for table in columns:
        planted = planter.rows.get(table, [])
        lines = planter.raw_lines.get(table, [])
        if not planted and not lines:
            continue
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns[table])
        writer.writerows(planted)
        for line in lines:
            buf.write(line + "\n")
        (raw / table / "zz_corrections.csv").write_text(buf.getvalue(), encoding="utf-8")
        rows_written[table] += len(planted) + len(lines)

    manifest = {
        "scale": scale,
        "seed": seed,
        "tables": {
            table: {
                "rows": rows_written[table],
                "quarantined": dict(sorted(planter.expected.get(table, {}).items())),
                "exact_duplicates": planter.duplicates.get(table, 0),
            }
            for table in columns
        },
        "planted": planted_summary(con),
    }
    (raw / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    con.close()
    shutil.rmtree(tmp_dir, ignore_errors=True)
    return manifest
