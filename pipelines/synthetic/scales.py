"""The generator's sizes (tiny, city, province and the rest) and the facts it plants the same at
every size: regions with low or missing reserves, region names, the 300号 indicator bands.
生成数据的规模与固定设定。"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    n_units: int
    mean_headcount: float
    regions: tuple[str, ...] | None  # None: every region of every profile
    planted_per_kind: int
    parquet_bulk: bool  # write contributions and tax payments as Parquet only
    # contributions as each province exports them: raw/contributions/<province_code>/ (ingested a
    # province per step); otherwise files that mix provinces, split by ingest through the units
    province_folders: bool = False


SCALES = {
    "tiny": Scale(200, 12, ("340100", "340200", "341100", "349900", "140100", "140200", "140800", "149900"), 1, False),
    "city": Scale(
        20_000, 25, ("340100", "340200", "341100", "349900", "140100", "140200", "140800", "149900"), 5, False
    ),
    "province": Scale(300_000, 26.7, None, 20, True),
    # four provinces, each about a city's size: the two profiles' city regions and the example
    # profiles' (DEFERRAL_PROFILES_DIR must name assets/policy/profiles/examples too), for bench/scale_out.py
    "city4": Scale(
        80_000,
        25,
        (
            "340100",
            "340200",
            "341100",
            "349900",
            "140100",
            "140200",
            "140800",
            "149900",
            "410100",
            "410200",
            "410300",
            "419900",
            "420100",
            "420500",
            "420600",
            "429900",
        ),
        5,
        False,
        province_folders=True,
    ),
}
# Report months at which the manifest lists the unit statuses and risk flags a run must find
# (collection.sql): inside the windows, after Shanxi's windows before its due date, the last month.
COLLECTION_MONTHS = ("2022-09", "2023-05", "2023-07")
# Reserve scenario per region: months payable before the first period (None = no reserve rows).
LOW_RESERVES = {"340200": 6.00, "140200": 5.20}
MISSING_RESERVES = {"140100"}
REGION_NAMES = {
    "3401": "合肥",
    "3402": "芜湖",
    "3403": "蚌埠",
    "3404": "淮南",
    "3405": "马鞍山",
    "3406": "淮北",
    "3407": "铜陵",
    "3408": "安庆",
    "3410": "黄山",
    "3411": "滁州",
    "3412": "阜阳",
    "3413": "宿州",
    "3415": "六安",
    "3416": "亳州",
    "3417": "池州",
    "3418": "宣城",
    "3499": "安徽省直",
    "1401": "太原",
    "1402": "大同",
    "1403": "阳泉",
    "1404": "长治",
    "1405": "晋城",
    "1406": "朔州",
    "1407": "晋中",
    "1408": "运城",
    "1409": "忻州",
    "1410": "临汾",
    "1411": "吕梁",
    "1499": "山西省本级",
}
# Indicator values well inside each size band of the 300号 table (employees, revenue and assets in 10,000 yuan).
INDICATOR_BANDS = [
    ("industry", "large", 1500, 50000, None),
    ("industry", "medium", 500, 5000, None),
    ("industry", "small", 50, 500, None),
    ("industry", "micro", 10, 100, None),
    ("retail", "large", 400, 30000, None),
    ("retail", "medium", 80, 1000, None),
    ("retail", "small", 20, 200, None),
    ("retail", "micro", 5, 50, None),
    ("construction", "large", None, 90000, 90000),
    ("construction", "medium", None, 7000, 6000),
    ("construction", "small", None, 500, 400),
    ("construction", "micro", None, 100, 100),
    ("software", "large", 400, 20000, None),
    ("software", "medium", 150, 2000, None),
    ("software", "small", 20, 100, None),
    ("software", "micro", 5, 20, None),
    ("other", "large", 400, None, None),
    ("other", "medium", 150, None, None),
    ("other", "small", 20, None, None),
    ("other", "micro", 5, None, None),
]
