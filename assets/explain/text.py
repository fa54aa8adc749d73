"""A unit's trail as text for a person: Chinese labels with English beside them, like the report; each
fact followed by its raw file and line in brackets, each rule step by its profile parameter and clause."""

from __future__ import annotations


def _at(src: dict | None) -> str:
    return f"  [{src['file']}:{src['line']}]" if src else ""


def _rule(r: dict) -> str:
    value = r["value"]
    if isinstance(value, dict):
        value = ", ".join(f"{k} {v}" for k, v in value.items())
    elif isinstance(value, list):
        value = ", ".join(map(str, value))
    return f"    依据 rule: {r['parameter']} = {value} — {r['clause']}"


def lines(t: dict) -> list[str]:
    i = t["identity"]
    out = [
        f"单位 Unit {i['unit_id']} {i['unit_name']}  uscc {i['uscc']}{_at(i['source'])}",
        f"  统筹地区 Region {i['region_code']} {i['region_name'] or ''}  单位类型 Unit type {i['unit_type']}"
        f"  行业 Industry {i['industry_code'] or '-'}",
        f"  登记 Registered {i['registered_on'] or '-'}  注销 Deregistered {i['deregistered_on'] or '-'}",
        f"  政策 Policy {i['policy_id']} {i['policy_name']}（{i['policy_source']}）",
        f"  截至 As of {t['as_of_date']} (report month {t['report_month']}; publication {t['publication']})",
        "",
    ]
    out += _classification(t["classification"])
    out += _region(t["region"])
    out += _decision(t["decision"])
    out += _ledger(t["ledger"])
    out += _obligations(t["obligations"])
    out += _status(t["status"], t["risk_flags"])
    return out


def _classification(c: dict) -> list[str]:
    out = [
        f"划型 Classification: {c['size_class'] or '-'} by {c['classification']}"
        f" (basis {c['basis'] or '-'}; decided by {c['decided_by']['input']})"
    ]
    for r in c["register"]:
        mark = "最新 latest" if r["latest"] else "earlier"
        out.append(
            f"  登记 Register {r['as_of']} size_class {r['size_class'] or '-'} employees {r['employees'] or '-'}"
            f" revenue {r['operating_revenue'] or '-'} assets {r['total_assets'] or '-'}"
            f" industry {r['industry_code'] or '-'} source {r['source_kind'] or '-'} ({mark}){_at(r['source'])}"
        )
    ind = c["indicators"]
    if ind:
        out.append(f"  指标 Indicators: industry {ind['industry_code']} → {ind['category']} (prefix {ind['prefix']!r})")
        for k in ind["checks"]:
            out.append(
                f"    {k['indicator']} {k['value'] or '缺 missing'}: cap {k['cap']} / medium {k['medium']}"
                f" / small {k['small']} → reaches {k['reaches'] or '-'}"
            )
        out.append(f"    依据 rule: {ind['rule']['parameter']} — {ind['rule']['clause']}")
    for m in c["commitments"]:
        counted = "counted" if m["counted"] else "not counted"
        out.append(
            f"  承诺书 Commitment {m['commitment_id']} declared {m['declared_size_class'] or '-'}"
            f" months {m['requested_from']}..{m['requested_to']} signed {m['signed_on']} ({counted}){_at(m['source'])}"
        )
    return [*out, ""]


def _region(r: dict) -> list[str]:
    verdict = "eligible" if r.get("eligible") else f"not eligible ({r.get('region_reason')})"
    return [
        f"统筹地区条件 Region condition: reserve {r.get('as_of_month') or '-'}"
        f" balance {r.get('accumulated_balance') or '-'}"
        f" / monthly expenditure {r.get('avg_monthly_expenditure') or '-'} = {r.get('months_payable') or '-'} months"
        f" → {verdict}{_at(r.get('source'))}",
        _rule(r["rule"]),
        "",
    ]


def _decision(d: dict) -> list[str]:
    out = [f"决定 Decision: {d['reason']} (eligible {d['eligible']})"]
    if d["eligible"]:
        out.append(
            f"  缓缴期 Window {d['window_start']}..{d['window_end']} shifted {d['shifted']}"
            f"  单位补缴期限 Unit due date {d['unit_due_date']}"
        )
    if d["eligible"]:
        out.append(f"  补缴方式 Repayment terms {d['repayment_terms']}")
    m = d["city_measure"]
    if m:
        r = m["repayment"]
        first = f" first due {r['first_due']}" if r["first_due"] else " first due: the province's date"
        out.append(
            f"  市级缓缴办法 City measure {m['filed_as']} (region {m['region_code']}, filed {m['filed_on']}):"
            f" {m['terms']}{first}  [{m['profile_file']} city_measures]"
        )
    moved = d["window_moved"]
    if moved:
        p = moved["first_period_paid"]
        out.append(
            f"  首月已缴 First period paid: payment {p['payment_id']} {p['amount']} on {p['paid_on']}{_at(p['source'])}"
        )
        if "kept_by_refund_election" in moved:
            e = moved["kept_by_refund_election"]
            out.append(f"  选择退还 Refund election filed {e['filed_on']}: window kept{_at(e['source'])}")
    for e in d["elections"]:
        out.append(f"  选择 Election {e['election']} filed {e['filed_on']}{_at(e['source'])}")
    out += [_rule(r) for r in d["rules"]]
    return [*out, ""]


def _ledger(ledger: dict) -> list[str]:
    out = ["缓缴台账 Ledger (period × component: assessed − paid + refunded = deferred):"]
    for r in ledger["rows"]:
        out.append(
            f"  {r['period']} {r['component']}: {r['assessed_amount']} − {r['paid_amount']} + {r['refunded_amount']}"
            f" = {r['deferred_amount']}  ({r['insured_persons']} persons)"
        )
        for s in r["assessed_from"]:
            shown = ", ".join(str(n) for n in s["lines"])
            more = f", … ({s['rows']} rows)" if s["rows"] > len(s["lines"]) else ""
            out.append(f"    核定 assessed from {s['file']} lines {shown}{more}")
        for p in r["payments"]:
            out.append(f"    {p['payment_kind']} {p['payment_id']} {p['amount']} on {p['paid_on']}{_at(p['source'])}")
    out.append(_rule(ledger["rule"]))
    return [*out, ""]


def _obligations(obligations: dict) -> list[str]:
    out = ["补缴义务 Obligations:"]
    for o in obligations["rows"]:
        who = f" person {o['person_key']}" if o["person_key"] else ""
        out.append(
            f"  {o['obligation_id']}: {o['trigger']}{who} {o['amount']} due {o['due_date']}"
            f" repaid {o['repaid_amount']} outstanding {o['outstanding_amount']} status {o['status']}"
            f" late fee {o['late_fee']}"
        )
        if o["instalment"]:
            out.append(f"    分期 Instalment 第 {o['instalment']} 期，共 {o['instalments']} 期 ({o['measure']})")
        if o["event"]:
            e = o["event"]
            out.append(f"    事件 Event {e['event_type']} on {e['event_date']}{_at(e['source'])}")
        if o["capped_by"]:
            cap = o["capped_by"]
            out.append(f"    注销 Deregistered on {cap['deregistered_on']}: due date capped{_at(cap['source'])}")
        for p in o["payments"]:
            out.append(
                f"    补缴 Repayment {p['payment_id']} on {p['paid_on']}: {p['allocated']} allocated{_at(p['source'])}"
            )
        a = o["late_fee_arithmetic"]
        for part in a["parts"]:
            what = f"payment {part['payment_id']}" if part["on"] == "payment" else "outstanding"
            arithmetic = f"{part['amount']} × {a['daily_rate']} × {part['days']} days ({what}) = {part['fee']}"
            out.append(f"    滞纳金 Late fee: {arithmetic}")
        if a["parts"]:
            out.append(f"    合计 Sum {a['sum']} → {a['rounded']}")
    for a in obligations["instalments"]:
        out.append(
            f"  分期计算 Instalments {a['period']} {a['component']}: {a['amount']} ÷ {a['instalments']}"
            f" = {a['each']} each, the remaining fen on instalment 1: {a['first']}"
        )
    out += [_rule(r) for r in obligations["rules"]]
    return [*out, ""]


def _status(status: dict | None, flags: list[dict]) -> list[str]:
    if status is None:
        return ["缴费状态 Status: none (no deferred amount up to this month)"]
    out = [
        f"缴费状态 Status: {status['status']} (regarded as paid {status['regarded_as_paid']}) deferred"
        f" {status['deferred_amount']} repaid {status['repaid_amount']} outstanding {status['outstanding_amount']}"
        f" overdue {status['overdue_amount']} late fee {status['late_fee']}"
    ]
    for f in flags:
        out.append(f"  风险 Risk {f['flag']}: {f['detail']}")
        if "rule" in f:
            out.append(_rule(f["rule"]))
    if not flags:
        out.append("  风险 Risk: none")
    return out
