"""Markdown tables of ``benchmarking.ModelResult``s: what ``ai-engine bench`` prints and
``benchmarks/run_all.py`` writes to RESULTS.md, from the same code.

Two tables: latency (median and p90 of each engine, the ratios to onnxruntime, peak RSS, the
output check) per batch size, and loading (session creation, first run, ai-engine's first load
with an empty compiled-kernel cache), with the summary lines the issue's targets are read from.
"""

from __future__ import annotations

from ai_engine.commands.benchmarking import REFERENCE, ModelResult, geomean

BIG_GFLOP = 0.5
SHORT = {"ai-engine": "ai-engine", "onnxruntime": "ORT", "openvino": "OpenVINO"}


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _slash(values: list[str]) -> str:
    return " / ".join(values)


def _peers(engines: list[str]) -> list[str]:
    return [e for e in engines if e != REFERENCE] if REFERENCE in engines else []


def _latency_cell(result: ModelResult, engine: str) -> str:
    r = result.engines.get(engine)
    if r is None:
        return "-"
    if r.error:
        return "error"
    return f"{_ms(r.median_s)} ({_ms(r.p90_s)})"


def _agreement_cell(result: ModelResult, engines: list[str]) -> str:
    parts = []
    for engine in engines:
        r = result.engines.get(engine)
        if r is None or r.agreement is None:
            continue
        a = r.agreement
        parts.append(f"{SHORT[engine]} {'ok' if a.ok else 'DIFFERS'} {a.max_rel_err:.0e}")
    return "; ".join(parts) or "-"


def _rss(result: ModelResult, engine: str) -> float | None:
    r = result.engines.get(engine)
    return r.load.peak_rss_mib if r and r.load else None


def latency_table(results: list[ModelResult], engines: list[str],
                  titles: dict[str, str] | None = None) -> list[str]:
    """One row per model: medians (p90), ratios to onnxruntime, peak RSS, output check."""
    peers = _peers(engines)
    ref_short = SHORT.get(REFERENCE)
    head = (["model", "GFLOP (batch 1)"] + [f"{SHORT[e]} median ms (p90)" for e in engines]
            + [f"{SHORT[e]} / {ref_short}" for e in peers]
            + [f"peak RSS MiB ({_slash([SHORT[e] for e in engines])})",
               f"outputs vs {SHORT.get(results[0].reference, '-') if results else '-'}"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results:
        cells = [(titles or {}).get(res.model, res.model), _num(res.gflop, ".3g")]
        cells += [_latency_cell(res, e) for e in engines]
        cells += [_num(res.ratio(e), ".2f") + ("x" if res.ratio(e) else "") for e in peers]
        cells.append(_slash([_num(_rss(res, e), ".0f") for e in engines]))
        cells.append(_agreement_cell(res, engines))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_lines(results: list[ModelResult], engines: list[str]) -> list[str]:
    """Geomeans of the ratios for big (>= 0.5 GFLOP) and small models, the worst model of
    each class, and how many models keep peak RSS within 1.25x onnxruntime's + 16 MiB."""
    lines = []
    for engine in _peers(engines):
        for label, big in (("big models (>= 0.5 GFLOP)", True), ("small models", False)):
            ratios = {r.model: r.ratio(engine) for r in results
                      if r.gflop is not None and (r.gflop >= BIG_GFLOP) == big and r.ratio(engine)}
            if ratios:
                worst = max(ratios, key=ratios.get)
                lines.append(f"- {SHORT[engine]} / ORT, {label}: geomean "
                             f"{geomean(list(ratios.values())):.2f}x over {len(ratios)}, "
                             f"worst {ratios[worst]:.2f}x ({worst})")
    if "ai-engine" in engines and REFERENCE in engines:
        pairs = [(r.model, _rss(r, "ai-engine"), _rss(r, REFERENCE)) for r in results]
        pairs = [(m, a, o) for m, a, o in pairs if a is not None and o is not None]
        over = [f"{m} {a:.0f} vs {o:.0f}" for m, a, o in pairs if a > 1.25 * o + 16]
        if pairs:
            lines.append(f"- peak RSS within 1.25x ORT + 16 MiB: {len(pairs) - len(over)} of "
                         f"{len(pairs)}" + (f" (over: {', '.join(over)})" if over else ""))
    return lines


def loading_table(results: list[ModelResult], engines: list[str],
                  titles: dict[str, str] | None = None) -> list[str]:
    """One row per model: creation and first-run times in a fresh process, per engine, and
    ai-engine's first load (create + first run) with an empty compiled-kernel cache."""
    names = _slash([SHORT[e] for e in engines])
    head = ["model", f"create ms ({names})", f"first run ms ({names})"]
    if "ai-engine" in engines:
        head.append("ai-engine first load, empty kernel cache: create + first run ms")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results:
        loads = [res.engines[e].load if e in res.engines else None for e in engines]
        cells = [(titles or {}).get(res.model, res.model),
                 _slash([_ms(p.create_s) if p and not p.error else "-" for p in loads]),
                 _slash([_ms(p.first_run_s) if p and not p.error else "-" for p in loads])]
        if "ai-engine" in engines:
            cold = res.engines["ai-engine"].cold_load if "ai-engine" in res.engines else None
            cells.append(f"{_ms(cold.create_s)} + {_ms(cold.first_run_s)}"
                         if cold and not cold.error else "-")
        lines.append("| " + " | ".join(cells) + " |")
    if "ai-engine" in engines and REFERENCE in engines:
        lines += ["", *_creation_summary(results)]
    return lines


def _creation_summary(results: list[ModelResult]) -> list[str]:
    ratios = {}
    for res in results:
        ours, ref = res.engines.get("ai-engine"), res.engines.get(REFERENCE)
        if ours and ref and ours.load and ref.load and ours.load.create_s and ref.load.create_s:
            ratios[res.model] = ours.load.create_s / ref.load.create_s
    if not ratios:
        return []
    over = [f"{m} {v:.1f}x" for m, v in ratios.items() if v > 2]
    return [f"- ai-engine / ORT session creation (cached kernels): geomean "
            f"{geomean(list(ratios.values())):.2f}x, within 2x on {len(ratios) - len(over)} of "
            f"{len(ratios)}" + (f" (over: {', '.join(over)})" if over else "")]


def problems(results: list[ModelResult]) -> list[str]:
    """Every engine error (a failed load included), output disagreement and failed first load
    with an empty kernel cache, in full."""
    lines = []
    for res in results:
        for engine, r in res.engines.items():
            where = f"{res.model} batch {res.batch}, {engine}"
            if r.error:
                lines.append(f"- {where}: {r.error}")
            if r.agreement and not r.agreement.ok:
                lines.append(f"- {where}: outputs differ from {res.reference}: "
                             f"{r.agreement.detail}")
            if r.cold_load and r.cold_load.error:
                lines.append(f"- {where}: first load with an empty kernel cache: "
                             f"{r.cold_load.error}")
    return lines
