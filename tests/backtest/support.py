"""The second example backtest (examples/support-agent/): its generator, analysts and planted causes."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import Quality, score

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "support-agent"
SUPPORT_ANALYST = f"scripted:{SUPPORT / 'analyst.script.yaml'}"
SUPPORT_CODE = SUPPORT  # what `--code` points at: the agent's own repository


def support_generator() -> ModuleType:
    # imported here, not above: the benches load this file by path, where there is no `bench` package
    from bench.loader import load_module

    return load_module(SUPPORT / "generate.py", "support_agent_generate")


def support_planted(source: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (source / "planted.jsonl").read_text().splitlines()]
    return {str(r["id"]): r for r in rows}


def analysed(root: Path, generate: Callable[..., None], seed: int, kinds: tuple[str, ...]) -> Path:
    """A generator's backtest, imported once per kind of analyst (`<root>/<kind>`, analyses from the
    generator's `<kind>.jsonl`), with its source and plant in `<root>/src`."""
    generate(root / "src", seed=seed)
    import_backtest(root / "src" / "manifest.jsonl", root / kinds[0])
    for kind in kinds[1:]:
        shutil.copytree(root / kinds[0], root / kind)
    for kind in kinds:
        support_generator().write_analyses(root / kind, root / "src" / f"{kind}.jsonl")
    return root


def imported_with_analyses(source: Path, folder: Path, kinds: tuple[str, ...] = ("quoting", "templated")) -> None:
    """A generator's output imported into `folder` and each kind of analyst's records written over it, in
    turn (each must pass agentbook's analysis schema; the last kind's analyses are the ones left)."""
    import_backtest(source / "manifest.jsonl", folder)
    for kind in kinds:
        support_generator().write_analyses(folder, source / f"{kind}.jsonl")


def clustered_quality(root: Path, kind: str) -> Quality:
    """Cluster `<root>/<kind>` as `backtest cluster` does and score its cohorts against the plant."""
    folder = root / kind
    cluster_backtest(str(folder))
    index = json.loads((folder / "cohorts" / "index.json").read_text())
    planted = {r["id"]: r for r in map(json.loads, (root / "src" / "planted.jsonl").read_text().splitlines())}
    failed = {i.id for i in BacktestFolder(folder).investigations() if not i.correct}
    return score([c["members"] for c in index["cohorts"]], {i: planted[i]["cause"] for i in failed})


# -- paraphrasing analysts -------------------------------------------------------------------------------
# A third kind of analyst for the support-agent backtest, opt-in (`write_paraphrased`): one cause told in
# words that barely meet. Real analysts who do not quote the trace reword what they saw: synonyms ("hung",
# "stalled", "gave up waiting"), another angle on the same event (what was missing from the reply, what the
# tool did, what the customer was told), a sentence in their own language, a question instead of a claim.
# They also disagree on the stage and the file. Nothing here is copied from the trace: no error text, no
# span cited, `error_signature` left empty, as an analyst who paraphrases writes. Written for this
# backtest from scratch; its own random stream (`PARAPHRASE_STREAM`), so generate.py's outputs are
# unchanged whether or not this runs.

PARAPHRASE_STREAM = "paraphrased:{seed}"
# cause -> (finding, stage, file, line, proposed change); the findings of one cause share almost no word
PARAPHRASES: dict[str, list[tuple[str, str, str, int | None, str]]] = {
    "crm-timeout": [
        ("Customer lookup hung until the client gave up, so the bot replied blind.",
         "tool-execution", "support_agent/tools/crm.py", 10, "Retry the lookup once with a longer budget."),
        ("No account profile came back before the deadline; what went out is boilerplate.",
         "retrieval", "support_agent/tools/crm.py", None, "Keep a cached copy of recent profiles as a fallback."),
        ("get_customer never returned in time and the agent improvised a generic answer.",
         "tool-execution", "support_agent/agent.py", None, "Refuse to answer until the record is loaded."),
        ("Upstream member database was too slow; the request was abandoned midway.",
         "infrastructure", "support_agent/crm_client.py", None, "Raise the client's wait to the p99 of month end."),
        ("Kundendaten fehlten: die Abfrage lief ins Zeitlimit, Antwort ohne Kontext.",
         "infrastructure", "support_agent/tools/crm.py", 10, "Zeitlimit erhöhen und einmal wiederholen."),
        ("sin ficha del cliente, la consulta expiró y contestó a ciegas",
         "tool-execution", "support_agent/tools/crm.py", 16, "reintentar con espera mayor"),
        ("Who is this person? The model never found out, because fetching their record stalled.",
         "reasoning", "support_agent/agent.py", None, "Surface a 'could not load your account' message instead."),
        ("klantgegevens niet opgehaald, verzoek duurde te lang",
         "data", "support_agent/tools/crm.py", None, "wachttijd verhogen"),
        ("Latency spike on the profile service left plan and currency unknown when drafting.",
         "infrastructure", "support_agent/tools/crm.py", 10, "Make that fetch asynchronous and await it."),
    ],
    "stale-refund-policy": [
        ("Search surfaced a retired help page, so the person heard an expired money-back period.",
         "retrieval", "support_agent/retrieval.py", 12, "Drop retired pages from what search may return."),
        ("Outdated guidance relied upon: thirty days no longer holds.",
         "answer", "support_agent/prompts/reply.md", None, "Tell the writer to check the page's status first."),
        ("The KB hit was an archived document and obsolete terms reached the customer.",
         "retrieval", "support_agent/kb/index.py", None, "Reindex with published articles only."),
        ("Wrong return deadline promised; the article it leaned on had been superseded.",
         "reasoning", "support_agent/retrieval.py", 11, "Rank current policy above old versions."),
        ("Veraltete Erstattungsfrist genannt, Quelle war ein archivierter Artikel.",
         "retrieval", "support_agent/retrieval.py", 12, "Archivierte Seiten ausfiltern."),
        ("plazo de reembolso antiguo: el buscador devolvió una página vieja",
         "retrieval", "support_agent/retrieval.py", None, "filtrar páginas caducadas"),
        ("Index still serves legacy pages and ranked one first.",
         "data", "support_agent/kb/index.py", None, "Purge legacy entries from the index."),
        ("Why a month? It read last year's terms instead of the live policy.",
         "reasoning", "support_agent/prompts/reply.md", None, "Quote the effective date with any policy."),
    ],
    "sek-vat-pricing": [
        ("Amount shown in dollars and net of tax for a Swedish account.",
         "answer", "support_agent/prompts/reply.md", 6, "Pass the account's currency into the prompt."),
        ("Ignored this tenant's local money and moms.",
         "answer", "support_agent/accounts.yaml", 7, "Read regional settings before quoting."),
        ("Quote should have been kronor, gross; it was neither.",
         "answer", "support_agent/prompts/reply.md", None, "Convert and add 25% before answering."),
        ("Falsche Währung, Mehrwertsteuer fehlt (Kunde zahlt in SEK).",
         "answer", "support_agent/prompts/reply.md", 6, "Währung aus den Kontoeinstellungen nehmen."),
        ("precio en USD sin IVA para una cuenta sueca",
         "reasoning", "support_agent/accounts.yaml", None, "usar la moneda de la cuenta"),
        ("Regional billing settings were not applied when stating the monthly fee.",
         "reasoning", "support_agent/accounts.yaml", 7, "Load locale before pricing replies."),
    ],
    "invented-plan": [
        ("Asked billing for a tier that doesn't exist.", "planning", "support_agent/tools/billing.py", 16,
         "Check the choice against the catalogue first."),
        ("Made up a subscription name; the switch was refused.", "tool-execution",
         "support_agent/prompts/pick_plan.md", 1, "List the real options in the prompt."),
        ("Hallucinated product id handed to change_plan.", "planning", "support_agent/tools/billing.py", None,
         "Validate ids before the call."),
        ("plan inexistente, facturación lo rechazó", "tool-execution", "support_agent/tools/billing.py", 16,
         "validar el plan"),
    ],
}
# The same kind of analyst for dev_ledger.py's backtest (a text-to-SQL assistant): its causes told apart
LEDGER_PARAPHRASES: dict[str, list[tuple[str, str, str, int | None, str]]] = {
    "renamed-column": [
        ("The query names an invoice field the warehouse no longer has since its upgrade.",
         "query-generation", "ledgerlens/schema_notes.yaml", None, "Rebuild the notes from the catalogue."),
        ("Statement bounced: it refers to a value column under its retired name.",
         "tool-execution", "ledgerlens/agent.py", None, "Retry with the current catalogue attached."),
        ("Model was handed an old table description and trusted it.",
         "retrieval", "ledgerlens/schema_notes.yaml", 3, "Generate the description at deploy time."),
        ("Spalte umbenannt, Abfrage nutzt noch den alten Namen.",
         "query-generation", "ledgerlens/schema_notes.yaml", None, "Schemabeschreibung neu erzeugen."),
        ("la consulta usa un campo que ya no existe tras la migración",
         "query-generation", "ledgerlens/schema_notes.yaml", None, "actualizar las notas del esquema"),
        ("Why does every retry fail the same way? The SQL keeps using a pre-v2 identifier.",
         "reasoning", "ledgerlens/prompts/sql.md", None, "Show the live columns in the prompt."),
        ("Stale data dictionary: net amount exists, the plain one was dropped.",
         "data", "ledgerlens/schema_notes.yaml", 3, "Check the dictionary against production nightly."),
    ],
    "fiscal-quarter": [
        ("Periods were cut on January boundaries although this company's year opens in February.",
         "reasoning", "ledgerlens/prompts/sql.md", None, "Pass the account's year start to the prompt."),
        ("Reported Q3 is one month early compared with the books.",
         "answer", "ledgerlens/prompts/sql.md", None, "Join a fiscal calendar for any period question."),
        ("The date window assumes civil quarters; finance runs an offset year.",
         "query-generation", "ledgerlens/prompts/sql.md", 12, "Look the offset up in account settings."),
        ("Geschäftsjahr ignoriert: Quartale nach Kalender berechnet.",
         "reasoning", "ledgerlens/prompts/sql.md", None, "Geschäftsjahresbeginn übergeben."),
        ("trimestre fiscal mal calculado, usó el año natural",
         "reasoning", "ledgerlens/prompts/sql.md", None, "usar el calendario fiscal"),
        ("Which quarter did it sum? Not the one the customer's accountants mean.",
         "planning", "ledgerlens/agent.py", None, "Ask which calendar applies when unsure."),
        ("Month range is shifted by one against the company's reporting periods.",
         "query-generation", "ledgerlens/prompts/sql.md", 12, "Document the fiscal start in the prompt."),
    ],
    "join-fanout": [
        ("Header totals got multiplied by the number of line items before the SUM.",
         "query-generation", "ledgerlens/prompts/sql.md", None, "Aggregate lines in a subquery first."),
        ("Revenue is inflated roughly threefold: one-to-many duplication.",
         "answer", "ledgerlens/prompts/sql.md", None, "Compare distinct ids with row counts."),
        ("Each invoice appears once per detail row, so money is counted repeatedly.",
         "query-generation", "ledgerlens/prompts/sql.md", 20, "Never sum a parent column after that join."),
        ("Doppelt gezählt: Verknüpfung mit Positionen vor der Summe.",
         "query-generation", "ledgerlens/prompts/sql.md", None, "Erst aggregieren, dann verknüpfen."),
        ("importes duplicados por unir con las líneas antes de agregar",
         "query-generation", "ledgerlens/prompts/sql.md", None, "agregar antes de unir"),
        ("Why is the figure so large? Rows fanned out when detail lines came in.",
         "reasoning", "ledgerlens/agent.py", None, "Add a sanity check on row growth."),
    ],
    "stale-fx": [
        ("Krona conversion relied on an exchange quote that is weeks old.",
         "data", "ledgerlens/fx_cache.py", None, "Refuse rates older than a day."),
        ("Currency refresh job has been dead; euro figures converted with an outdated value.",
         "infrastructure", "ledgerlens/fx_cache.py", 14, "Repair the nightly refresh."),
        ("SEK amounts drift a few percent off what the bank shows.",
         "answer", "ledgerlens/agent.py", None, "Show the rate's date beside converted amounts."),
        ("Wechselkurs veraltet, Cache seit Wochen nicht erneuert.",
         "data", "ledgerlens/fx_cache.py", None, "Kurs live abrufen."),
        ("tipo de cambio caducado en la caché",
         "data", "ledgerlens/fx_cache.py", 14, "refrescar la caché"),
    ],
    "row-limit": [
        ("Only the first thousand records were added up; the cap cut the rest.",
         "tool-execution", "ledgerlens/runner.py", None, "Aggregate in the database."),
        ("Total too low: fetched set was truncated by the runner.",
         "answer", "ledgerlens/runner.py", 8, "Warn when the cap is hit."),
        ("resultado recortado, la suma es parcial",
         "tool-execution", "ledgerlens/runner.py", None, "sumar en SQL"),
    ],
}
PARAPHRASE_FRAMES = [  # how each analyst sets the finding down
    lambda s: s,
    lambda s: f"- finding: {s}",
    lambda s: f"My read after going through the run: {s}",
    lambda s: f"tl;dr {s}",
    lambda s: f"{s} (checked the whole run, nothing else stands out)",
]
PARAPHRASE_CHANGES = ["Cover this ticket with an eval and tighten the prompt.", "Handle it explicitly in the loop.",
                      "Add a guard for this input."]


def paraphrased_analysis(rng: random.Random, cause: str | None, noise: int | None,
                         table: dict[str, list[tuple[str, str, str, int | None, str]]],
                         noises: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """What a paraphrasing analyst writes about one failure: a finding from `table` for a cause, a
    causeless failure's own problem (`noises`: stage, finding, file) otherwise, in one of its frames."""
    frame = rng.choice(PARAPHRASE_FRAMES)
    if cause:
        mode, stage, path, line, change = rng.choice(table[cause])
    else:
        stage, mode, path = noises[noise or 0]
        line, change = None, rng.choice(PARAPHRASE_CHANGES)
    return {"verdict": "wrong", "failure_mode": frame(mode), "error_signature": None, "stage": stage,
            "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if path.endswith(".md") else "component", "path": path, "line": line}],
            "evidence": [{"path": "trace/README.md"}], "proposed_change": change,
            "confidence": round(rng.uniform(0.4, 0.85), 2), "summary": mode}


def write_paraphrased(src: Path, seed: int, table: dict[str, list[tuple[str, str, str, int | None, str]]],
                      noises: Sequence[tuple[str, str, str]]) -> Path:
    """`<src>/paraphrased.jsonl`: a paraphrasing analyst's analysis of each failure of the backtest generated
    in `src` with `seed` (read from its planted.jsonl), its causes told from `table` (PARAPHRASES for the
    support agent's, LEDGER_PARAPHRASES for dev_ledger.py's), its causeless failures from `noises` (each
    generator's NOISE as stage, finding, file: `support_noises`, `ledger_noises`); same seed, same bytes."""
    rng = random.Random(PARAPHRASE_STREAM.format(seed=seed))
    rows = []
    for line in (src / "planted.jsonl").read_text().splitlines():
        planted = json.loads(line)
        if planted["cause"] is not None or planted["noise"] is not None:
            rows.append({"id": planted["id"],
                         **paraphrased_analysis(rng, planted["cause"], planted["noise"], table, noises)})
    out = src / "paraphrased.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return out


def support_noises(generator: ModuleType) -> list[tuple[str, str, str]]:
    """examples/support-agent/generate.py's causeless failures as (stage, finding, file)."""
    return [(stage, text, path) for stage, _, text, path in generator.NOISE]


def ledger_noises(generator: ModuleType) -> list[tuple[str, str, str]]:
    """dev_ledger.py's causeless failures as (stage, finding, file): the English finding."""
    return [(stage, en, path) for stage, path, _, en, _ in generator.NOISE]
