"""The readable table of a benchmark report: figure, target, same-run baseline, ratio, verdict."""

from __future__ import annotations

VERDICTS = {True: "pass", False: "FAIL", None: "-"}


def render(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"ProcScope benchmarks ({report['mode']}, {report['duration_s']} s) on {machine['cpu']}, "
        f"{machine['logical_cpus']} CPUs, {machine['memory_gb']} GB, {machine['system']}, {machine['python']}; "
        f"load {_load(machine.get('load_before'))} → {_load(machine.get('load_after'))}",
        "",
    ]
    header = ("benchmark", "figure", "min … max", "target", "baseline", "ratio", "verdict")
    rows = [header]
    for row in report["benchmarks"]:
        if row.get("error"):
            rows.append((row["name"], "error", "", "", "", "", "FAIL"))
            continue
        unit = row.get("unit", "")
        target = ""
        if row.get("target") is not None:
            sign = "≤" if row.get("better", "lower") == "lower" else "≥"
            target = f"{sign} {_num(row['target'])}" + ("×" if row.get("target_on") == "ratio" else f" {unit}")
        spread = f"{_num(row['min'])} … {_num(row['max'])}" if row.get("min") is not None else ""
        figure = f"{_num(row['figure'])} {unit}" if row.get("figure") is not None else "skipped"
        baseline = f"{_num(row['baseline'])}" if row.get("baseline") is not None else ""
        ratio = f"{row['ratio']:.3f}×" if row.get("ratio") is not None else ""
        rows.append((row["name"], figure, spread, target, baseline, ratio, VERDICTS[row.get("pass")]))
    widths = [max(len(r[k]) for r in rows) for k in range(len(header))]
    for k, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(r, widths, strict=True))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {r['name']}: {r['note']}" for r in report["benchmarks"] if r.get("note")]
    if notes:
        lines += ["", "notes:", *notes]
    for name, error in report.get("errors", {}).items():
        lines += ["", f"{name} failed: {error}"]
    for name, pids in report.get("processes_left", {}).items():
        lines.append(f"{name} left processes behind: {pids}")
    return "\n".join(lines)


def _num(value) -> str:
    if value is None:
        return ""
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load) if load else "?"
