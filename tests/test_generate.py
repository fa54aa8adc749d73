"""The generator: deterministic for a seed, identifiers valid, planted rows recorded."""

import hashlib

import duckdb

from assets.identifiers import person_check_ok, uscc_check_ok
from pipelines.synthetic.generate import generate


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = generate(tmp_path / "a", "tiny", 5)
    b = generate(tmp_path / "b", "tiny", 5)
    generate(tmp_path / "c", "tiny", 6)
    assert _digest(tmp_path / "a" / "raw") == _digest(tmp_path / "b" / "raw")
    assert a == b
    assert _digest(tmp_path / "a" / "raw") != _digest(tmp_path / "c" / "raw")


def test_generated_identifiers_are_valid(tmp_path):
    generate(tmp_path, "tiny", 2)
    con = duckdb.connect()
    usccs = con.execute(f"SELECT uscc FROM read_csv('{tmp_path}/raw/units/units_a.csv', all_varchar=true)").fetchall()
    persons = con.execute(
        f"SELECT DISTINCT person_id FROM read_parquet('{tmp_path}/raw/contributions/contributions_shanxi.parquet')"
    ).fetchall()
    assert usccs and all(uscc_check_ok(u) for (u,) in usccs)
    assert persons and all(person_check_ok(p) for (p,) in persons)


def test_both_profiles_and_required_regions(tmp_path):
    generate(tmp_path, "tiny", 1)
    con = duckdb.connect()
    units = f"read_csv('{tmp_path}/raw/units/units_a.csv', all_varchar=true)"
    regions = {r for (r,) in con.execute(f"SELECT DISTINCT region_code FROM {units}").fetchall()}
    assert {"349900", "140800", "149900"} <= regions
    reserves = {
        r
        for (r,) in con.execute(
            f"SELECT DISTINCT region_code FROM read_csv('{tmp_path}/raw/fund_reserves/fund_reserves.csv', "
            f"all_varchar=true)"
        ).fetchall()
    }
    assert "140100" in regions - reserves  # one region planted without reserve rows
