"""CSV encodings: UTF-8 with or without BOM and GB18030 read alike; anything else names the file."""

import duckdb
import pytest

from assets.contracts import RAW_TABLES
from assets.ingest.engine import ingest_table
from assets.ingest.sources import UndecodableFileError, detect_encoding
from tests.conftest import USCC_A, write_table
from tests.worlds import UNIT

NAME = "运城市盐湖区恒通商贸有限公司"


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gb18030", "gb18030")])
def test_encodings_read_the_same_names(warehouse, data_dir, encoding, expected):
    path = write_table(data_dir, "units", [dict(UNIT, unit_name=NAME, region_code="140800")], encoding=encoding)
    assert detect_encoding(path) == expected
    with warehouse.connect() as con:
        counts = ingest_table(con, warehouse, RAW_TABLES["units"])
    assert counts["accepted"] == 1
    names = (
        duckdb.connect()
        .execute(f"SELECT unit_name, uscc FROM read_parquet('{warehouse.clean_path('units')}')")
        .fetchall()
    )
    assert names == [(NAME, USCC_A)]


def test_gb18030_bytes_are_not_utf8(data_dir):
    path = write_table(data_dir, "units", [dict(UNIT, unit_name=NAME)], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")


def test_undecodable_file_names_the_file(warehouse, data_dir):
    folder = data_dir / "raw" / "units"
    folder.mkdir(parents=True)
    bad = folder / "broken.csv"
    # a lone 0x80 is invalid in UTF-8, and 0xFF is never a GB18030 lead byte
    bad.write_bytes(b"unit_id,uscc\n\x80\xff\xff,1\n")
    with pytest.raises(UndecodableFileError, match="broken.csv"):
        with warehouse.connect() as con:
            ingest_table(con, warehouse, RAW_TABLES["units"])
