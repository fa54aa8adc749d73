"""Issue 14: the forms bureau exports really contain (full-width characters, Excel-mangled ids, dates and
periods typed by hand), one planted row each, with the rule and the diagnosis ingest must find."""

from stdnum.cn import ric

FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789-.,ABCDEFGHIJKLMNOPQRSTUVWXYZ"})

# Issue 14: the forms bureau exports really contain, one planted row each (table, column, rule, value maker).
# A maker gets a fresh valid person id and uscc; every row breaks its column's rule and the diagnosis.
EXPORT_FORMS = [
    ("contributions", "employer_medical", "money;fullwidth", lambda pid, code: "３００.00"),
    ("contributions", "contribution_base", "money;fullwidth", lambda pid, code: "５，０００"),
    ("contributions", "period", "period;fullwidth", lambda pid, code: "２０２２-09"),
    ("contributions", "period", "period;date_format", lambda pid, code: "2022.09"),
    ("contributions", "period", "period;date_format", lambda pid, code: "2022年09月"),
    ("contributions", "period", "period;excel_serial_date", lambda pid, code: "44805"),
    ("contributions", "person_id", "format;fullwidth", lambda pid, code: pid.translate(FULLWIDTH)),
    ("contributions", "person_id", "format;excel_scientific", lambda pid, code: f"{int(pid[:17]) * 10:.5E}"),
    ("contributions", "person_id", "format;excel_float", lambda pid, code: pid[:17] + "0.0"),
    ("contributions", "person_id", "format;leading_apostrophe", lambda pid, code: "'" + pid),
    ("contributions", "person_id", "format;lowercase", lambda pid, code: pid[:17] + "x"),
    ("tax_payments", "paid_on", "date;date_format", lambda pid, code: "2022/9/1"),
    ("tax_payments", "paid_on", "date;date_format", lambda pid, code: "2022年9月1日"),
    ("tax_payments", "paid_on", "date;excel_serial_date", lambda pid, code: "44805"),
    ("tax_payments", "paid_on", "date;fullwidth", lambda pid, code: "2022－09－01"),
    ("tax_payments", "uscc", "format;lowercase", lambda pid, code: code[:17] + code[17].lower()),
    ("tax_payments", "uscc", "format;excluded_letter", lambda pid, code: code[:2] + "O" + code[3:]),
    ("tax_payments", "uscc", "format;excel_scientific", lambda pid, code: f"{int(code[:17]) * 10:.5E}"),
    ("units", "uscc", "format;fullwidth", lambda pid, code: code.translate(FULLWIDTH)),
    ("units", "uscc", "format;excluded_letter", lambda pid, code: code[:3] + "I" + code[4:]),
]


def plant_export_forms(p, columns, contribution, payment, unit) -> None:
    makers = {"contributions": contribution, "tax_payments": payment, "units": unit}
    for table, column, rules, make in EXPORT_FORMS:
        value = make(p.fresh_person(), p.fresh_uscc())
        p.bad(
            table, ";".join(f"{r}:{column}" for r in rules.split(";")), makers[table](**{column: value}), columns[table]
        )
    # Excel kept 15 significant digits and zeroed the rest: check character fails, the id ends in 000
    n = 0
    while True:
        n += 1
        truncated = f"3401021985{n:05d}" + "000"
        if ric.calc_check_digit(truncated[:17] + "0") != truncated[-1]:
            break
    p.bad(
        "contributions",
        "check_digit:person_id;excel_truncated:person_id",
        contribution(person_id=truncated),
        columns["contributions"],
    )
