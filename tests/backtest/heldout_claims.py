"""A fourth held-out backtest: claimdesk, an insurance claims intake assistant, written by the lead
without reading the clustering code's tuning or the other generators' phrase tables, and never tuned
on (the protocol of issue 14: measured once per method, reported whatever it shows).

It differs from the other generators where a real team's backtest would:

- **traces are Langfuse exports** (the public API's trace object with `observations[]`), not OTLP: a
  multi-step agent (extract the claim, look up the policy, decide coverage, score fraud, compute the
  payout, write the letter) with GENERATION / TOOL / AGENT observations, errors as `level: ERROR` with a
  `statusMessage`, and a WARNING (a retried document-store call) in right and wrong runs alike;
- **analysts write like a model does**: long, hedged paragraphs that name what they ruled out as well
  as what they found (the red herrings are the same for every cause, so they bind nothing), terse
  ticket lines, a markdown checklist, and Spanish shorthand; a cause's phrasings share few words;
- **the structured fields are unreliable**: the stage is one of two the cause could plausibly be
  filed under, or another, or "other"; the suspected file is often the orchestrator;
- one cause is recorded in the trace only as a tool argument (the lookup's key), one only in a model's
  output (the coverage category), one as an error on the failing tool call, one (account-local) as an
  error in some runs only, and one not at all.

Causes, as shares of the failures (~81 of 180 investigations by default):

  multi-policy     28%  the policy lookup is keyed on the customer, so a household with several
                        contracts gets its first one, which has lapsed: cover refused
  fraud-timeout    18%  the fraud scorer times out and the agent fails closed with a high-risk score:
                        a sound claim is sent to investigation
  water-as-flood   14%  a burst pipe (escape of water, covered) is classed as flood (excluded)
  us-dates         9%   one broker account (meridian) sends month-first dates, read day-first: the
                        incident falls outside the policy period
  double-deduct    7%   the payout subtracts the excess twice
  ocr-cut          3%   the claim form's OCR stops at page 10 (too few failures to be a main cause)
  (none)           ~24% failures with no common cause, in the same vocabulary (policy, cover, payout)

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each investigation's cause: tests and benchmarks
only), `templated.jsonl` (the analyses described above) and `quoting.jsonl` (the same failures as an
analyst that quotes the run's own error where it has one, else the reviewer's note). Same seed, same
bytes.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACCOUNTS = ["albion-direct", "calder-mutual", "meridian", "northgate", "pembroke", "solent-re", "tamar-home",
            "wrexham-cover"]
LOCAL_ACCOUNT = "meridian"
SHARES = {"multi-policy": 0.28, "fraud-timeout": 0.18, "water-as-flood": 0.14, "us-dates": 0.09,
          "double-deduct": 0.07, "ocr-cut": 0.03}
FAILURE_RATE = 0.45
NOISE_SHARE = 0.24
ORCHESTRATOR = "claimdesk/agent.py"

# Per cause: the two stages an analyst may file it under, its file, the errors its runs record (empty:
# none), English phrasings (few shared words on purpose), Spanish shorthand, fixes, and a reviewer note.
CAUSES: dict[str, dict[str, Any]] = {
    "multi-policy": {
        "stages": ["retrieval", "tool-execution"], "file": "claimdesk/tools/policy_lookup.py", "errors": [],
        "en": ["the lookup fetched the customer's oldest contract, which had lapsed, instead of the one named on the claim",
               "policyholders who hold more than one policy get matched to the wrong one",
               "the search is keyed on the client id rather than the policy reference",
               "cover was refused because an expired contract was picked out of several",
               "a household with a car, a home and a landlord policy ends up with whichever record comes back first"],
        "es": ["busca por cliente y no por número de póliza, devuelve una póliza vencida",
               "cliente con varias pólizas: se toma la primera, caducada"],
        "fix": ["Look the policy up by the policy number on the claim form, and ask when there is none.",
                "Make policy_lookup refuse an ambiguous customer match instead of returning the first row.",
                "Filter the lookup to policies in force on the incident date."],
        "note": "wrong policy selected: customer has several, the lapsed one was used",
    },
    "fraud-timeout": {
        "stages": ["infrastructure", "tool-execution"], "file": "claimdesk/tools/fraud.py",
        "errors": ["FraudScoreTimeout: scoring service did not answer within 8000 ms; defaulting to risk 0.99",
                   "ReadTimeout: HTTPSConnectionPool(host='fraud-svc.internal', port=443): Read timed out. (read timeout=8)",
                   "fraud-svc: upstream request timeout"],
        "en": ["the fraud model never answered in time and the fallback treats silence as near-certain fraud",
               "a perfectly ordinary claim was escalated to the special investigations unit after the risk check stalled",
               "when scoring is unavailable the agent assumes the worst instead of deferring",
               "the 8 second budget on the risk service is too tight at peak hours, and the default on expiry is 0.99",
               "referral to investigators triggered by a missing score, not by anything in the claim"],
        "es": ["el servicio antifraude no responde y se asume riesgo máximo",
               "timeout del scoring, valor por defecto 0.99, reclamación enviada a investigación"],
        "fix": ["On a scoring timeout, queue the claim for a rescore instead of defaulting to high risk.",
                "Raise the fraud service budget and make the fallback neutral.",
                "Never escalate to investigators on a default score."],
        "note": "claim referred to fraud team though nothing in it is suspicious",
    },
    "water-as-flood": {
        "stages": ["reasoning", "answer"], "file": "claimdesk/prompts/coverage.md", "errors": [],
        "en": ["a burst pipe was classed as flooding, which the policy excludes",
               "the model confused escape of water from the plumbing with a flood event",
               "an interior leak got the natural-catastrophe category",
               "the exclusion for rising water was applied to a failed washing machine hose",
               "the coverage prompt has no category for domestic water damage, so the nearest one wins"],
        "es": ["fuga de tubería clasificada como inundación (excluida)",
               "daño por agua interior tratado como catástrofe natural"],
        "fix": ["Add escape of water as its own category in coverage.md, with examples.",
                "Tell the coverage prompt that flood means water entering from outside.",
                "Add an eval case with a burst pipe claim."],
        "note": "burst pipe is escape of water, covered; the agent said flood exclusion",
    },
    "us-dates": {
        "stages": ["input", "data"], "file": "claimdesk/intake/dates.py",
        "errors": ["PolicyPeriodError: incident date not within the period of cover",
                   "validation: incident_date is after report_date"],
        "en": ["dates from this broker come month first and were read day first, so the loss moved months",
               "the 03/11 on the form is the eleventh of March, but we parsed it as the third of November",
               "the incident appears to fall outside the insured period only because of how the date string was parsed",
               "American-style dates from one intermediary flip day and month"],
        "es": ["fecha en formato estadounidense leída como día/mes",
               "el siniestro queda fuera del periodo por un error de fecha"],
        "fix": ["Parse dates with the broker's declared locale, not a guess.",
                "Reject ambiguous dates back to the broker instead of guessing.",
                "Add the broker's date format to its onboarding config."],
        "note": "incident date read wrongly, month and day swapped",
    },
    "double-deduct": {
        "stages": ["tool-execution", "reasoning"], "file": "claimdesk/tools/payout.py", "errors": [],
        "en": ["the excess was taken off twice, once by the model and once by the calculator",
               "the settlement is short by exactly the policy excess",
               "the deductible is applied in the prompt's arithmetic and again in payout.calculate",
               "underpayment equal to the excess on every settled claim of this kind"],
        "es": ["franquicia descontada dos veces", "pago inferior en el importe de la franquicia"],
        "fix": ["Pass the gross amount to payout.calculate and let only it apply the excess.",
                "Remove the excess arithmetic from the letter prompt."],
        "note": "payout too low by the excess amount",
    },
    "ocr-cut": {
        "stages": ["input", "data"], "file": "claimdesk/intake/ocr.py", "errors": ["OCR: page limit reached (10)"],
        "en": ["the scanned form was only read up to page ten, the itemised losses were on page twelve"],
        "es": ["OCR cortado en la página 10"],
        "fix": ["Lift the OCR page cap for claim forms."],
        "note": "items on the last pages of the form were ignored",
    },
}

# Failures with no common cause, each used at most once, in the causes' own vocabulary:
# (stage, file, error or "", English, Spanish, reviewer note)
NOISE: list[tuple[str, str, str, str, str, str]] = [
    ("answer", "claimdesk/prompts/letter.md", "", "the decision letter quoted the wrong claim reference",
     "carta con referencia equivocada", "letter cites another claim"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "storm damage to a fence was refused although fences are covered under the garden extension",
     "valla dañada por tormenta rechazada", "fence covered by garden extension"),
    ("tool-execution", "claimdesk/tools/payout.py", "ZeroDivisionError: division by zero",
     "the payout tool crashed on a claim with no itemised losses", "cálculo de pago falla sin partidas", "no payout computed"),
    ("input", "claimdesk/intake/email.py", "", "the claimant's reply in the thread was taken as a new claim",
     "respuesta tomada como reclamación nueva", "duplicate claim opened"),
    ("retrieval", "claimdesk/tools/policy_lookup.py", "", "a policy endorsement added last week was not yet in the index",
     "suplemento de póliza aún no indexado", "endorsement missing"),
    ("answer", "claimdesk/prompts/letter.md", "", "the letter was addressed to the broker instead of the policyholder",
     "carta dirigida al corredor", "wrong addressee"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "theft from an unlocked shed was accepted although the policy requires it locked",
     "robo en cobertizo abierto aceptado", "unlocked shed theft should be refused"),
    ("infrastructure", "claimdesk/store.py", "psycopg.OperationalError: server closed the connection unexpectedly",
     "the claims database dropped the connection while saving the decision", "base de datos cortó la conexión", "decision not saved"),
    ("planning", ORCHESTRATOR, "", "the agent asked for the same photo three times and ran out of turns",
     "pidió la misma foto tres veces", "agent looped on photo request"),
    ("data", "claimdesk/intake/ocr.py", "", "a handwritten amount of 1,700 was read as 7,700",
     "importe manuscrito mal leído", "amount misread"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "accidental damage cover was assumed though the customer never bought the add-on",
     "daño accidental sin la extensión contratada", "no accidental damage add-on"),
    ("tool-execution", "claimdesk/tools/documents.py", "PermissionError: [Errno 13] Permission denied: '/claims/attachments'",
     "attachments could not be stored on a read-only share", "adjuntos no guardados", "attachments lost"),
    ("answer", "claimdesk/prompts/letter.md", "", "the letter promised payment in 5 days where the service level is 10",
     "plazo de pago prometido erróneo", "wrong payment promise"),
    ("input", "claimdesk/intake/email.py", "", "a claim written in Welsh was answered as if empty",
     "reclamación en galés ignorada", "Welsh claim not understood"),
    ("retrieval", "claimdesk/tools/policy_lookup.py", "", "the lookup returned the renewal quote instead of the live policy",
     "devolvió la cotización de renovación", "renewal quote used"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "subsidence was treated as wear and tear",
     "hundimiento tratado como desgaste", "subsidence is covered"),
    ("tool-execution", "claimdesk/tools/payout.py", "", "VAT was added to a settlement for a VAT-registered business",
     "IVA añadido a empresa registrada", "VAT should not be paid"),
    ("data", ORCHESTRATOR, "", "a test claim from the staging environment reached production",
     "reclamación de prueba en producción", "test data in prod"),
    ("planning", ORCHESTRATOR, "", "the agent paid out before the fraud check had finished",
     "pago antes de terminar la verificación", "paid too early"),
    ("answer", "claimdesk/prompts/letter.md", "", "the refusal letter gave no reason and no appeal route",
     "rechazo sin motivo ni recurso", "refusal without reason"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "a claim for a stolen bicycle was valued at new price rather than indemnity",
     "bicicleta valorada a precio nuevo", "should be indemnity value"),
    ("infrastructure", "claimdesk/queue.py", "redis.exceptions.ConnectionError: Error 111 connecting to queue:6379",
     "the task queue was down and the claim was left half processed", "cola caída, reclamación a medias", "claim stuck"),
    ("input", "claimdesk/intake/email.py", "", "two claims in one email were merged into one",
     "dos reclamaciones fusionadas", "two claims merged"),
    ("data", "claimdesk/tools/policy_lookup.py", "", "the customer's address change had not reached the policy record",
     "dirección no actualizada en la póliza", "stale address"),
    ("reasoning", "claimdesk/prompts/coverage.md", "", "the model refused a claim for a single missing receipt where the policy allows estimates",
     "rechazado por falta de un recibo", "estimate allowed"),
    ("answer", "claimdesk/prompts/letter.md", "", "the letter used the customer's maiden name",
     "apellido de soltera en la carta", "wrong name"),
]

# What careful analysts write beside their finding: things they looked at and ruled out. The same for
# every cause and for causeless failures, so they should bind nothing.
RULED_OUT = ["The retried document-store call is noise; it happens on good runs too.",
             "Latency was unremarkable.", "Token usage looks normal for this flow.",
             "The extraction step read the form correctly.", "I checked the letter template and it is fine."]
HEDGES = ["I think", "Most likely", "From the trace it looks like", "As far as I can tell", "It seems"]
STAGE_FALLBACK = ["planning", "answer", "reasoning", "tool-execution", "data"]


def _essay(en: str, fix: str, rng: random.Random) -> str:
    ruled = " ".join(rng.sample(RULED_OUT, 2))
    return f"{rng.choice(HEDGES)} {en}. {ruled} Suggested fix: {fix}"


def _ticket(en: str, fix: str) -> str:
    return f"Root cause: {en}. Fix: {fix}"


def _checklist(en: str, fix: str, where: str, rng: random.Random) -> str:
    return (f"## What happened\n- {en}\n## Where\n- {where or 'not sure'}\n## Ruled out\n- {rng.choice(RULED_OUT)}\n"
            f"## Next\n- {fix}")


def _spanish(es: str, fix: str) -> str:
    return f"causa: {es}. arreglo: {fix}"


STYLES = ["essay", "ticket", "checklist", "spanish"]


def _fields(rng: random.Random, stages: list[str], path: str) -> tuple[str, list[dict[str, Any]]]:
    roll = rng.random()
    stage = rng.choice(stages) if roll < 0.7 else rng.choice(STAGE_FALLBACK) if roll < 0.85 else "other"
    roll = rng.random()
    kind = "prompt" if path.endswith(".md") else "component"
    suspected = ([] if roll >= 0.85 else [{"kind": kind, "path": path if roll < 0.6 else ORCHESTRATOR, "line": None}])
    return stage, suspected


def templated_analysis(rng: random.Random, cause: str | None, noise: int | None, error: str) -> dict[str, Any]:
    style = rng.choice(STYLES)
    if cause:
        spec = CAUSES[cause]
        en, es, fix, stages, path = (rng.choice(spec["en"]), rng.choice(spec["es"]), rng.choice(spec["fix"]),
                                     spec["stages"], spec["file"])
    else:
        stage0, path, _, en, es, _ = NOISE[noise or 0]
        stages = [stage0]
        fix = rng.choice(["Add an eval case for this claim.", "Handle this case in the agent.",
                          "Review the prompt for this kind of claim."])
    stage, suspected = _fields(rng, stages, path)
    where = suspected[0]["path"] if suspected else ""
    text = {"essay": lambda: _essay(en, fix, rng), "ticket": lambda: _ticket(en, fix),
            "checklist": lambda: _checklist(en, fix, where, rng), "spanish": lambda: _spanish(es, fix)}[style]()
    quoted = error if error and rng.random() < 0.5 else None
    return {"verdict": "wrong", "failure_mode": text, "error_signature": quoted, "stage": stage,
            "first_wrong_step": None, "suspected": suspected, "evidence": [{"path": "trace/README.md"}],
            "proposed_change": fix, "confidence": round(rng.uniform(0.3, 0.95), 2),
            "summary": text.split("\n")[0][:200], "style": style}


def quoting_analysis(templated: dict[str, Any], error: str, note: str) -> dict[str, Any]:
    quote = error or f"Reviewer: {note}"
    return {**templated, "failure_mode": quote, "summary": quote[:200], "error_signature": error or None,
            "proposed_change": None}


# -- traces (Langfuse public API export) -------------------------------------------------------------

def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


class _Trace:
    def __init__(self, rng: random.Random, n: int, account: str) -> None:
        self.rng, self.id = rng, _hex(rng, 32)
        self.clock = datetime(2026, 10, 1, 8, tzinfo=UTC) + timedelta(minutes=37 * n)
        self.account = account
        self.observations: list[dict[str, Any]] = []

    def add(self, kind: str, name: str, parent: str | None, inp: Any, out: Any, ms: int,
            level: str = "DEFAULT", message: str | None = None, model: str | None = None) -> str:
        oid = _hex(self.rng, 16)
        start, end = self.clock, self.clock + timedelta(milliseconds=ms)
        self.clock = end + timedelta(milliseconds=3)
        obs: dict[str, Any] = {
            "id": oid, "traceId": self.id, "type": kind, "name": name, "parentObservationId": parent,
            "startTime": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "endTime": end.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level, "statusMessage": message, "input": inp, "output": out, "model": model,
            "metadata": {"account": self.account}, "latency": ms}
        if kind == "GENERATION":
            obs["usageDetails"] = {"input": self.rng.randint(800, 4000), "output": self.rng.randint(60, 600)}
        self.observations.append(obs)
        return oid


def _claim(rng: random.Random, cause: str | None) -> dict[str, Any]:
    loss = ("burst pipe under the kitchen sink, water through the ceiling" if cause == "water-as-flood" else
            rng.choice(["storm blew tiles off the roof", "laptop stolen from a parked car", "kitchen fire",
                        "burst pipe in the loft", "fence blown down", "bicycle stolen from the garage"]))
    day, month = rng.randint(1, 12), rng.randint(1, 12)
    return {"policy_number": f"P-{rng.randint(100000, 999999)}", "customer_id": f"C-{rng.randint(10000, 99999)}",
            "loss": loss, "amount": rng.randint(300, 9000), "excess": rng.choice([100, 250, 500]),
            "incident_date": f"{month:02d}/{day:02d}/2026" if cause == "us-dates" else f"{day:02d}/{month:02d}/2026"}


def _trace(rng: random.Random, n: int, account: str, cause: str | None, error: str, retried: bool) -> dict[str, Any]:
    t, claim = _Trace(rng, n, account), _claim(rng, cause)
    root = t.add("AGENT", "claimdesk.intake", None, {"claim_email": f"Claim for {claim['loss']}, {claim['amount']} GBP"},
                 None, 20)
    t.add("GENERATION", "extract_claim", root, [{"role": "user", "content": claim["loss"]}],
          {k: claim[k] for k in ("policy_number", "loss", "amount", "incident_date")}, rng.randint(700, 1500),
          model="claude-sonnet-4-5")
    if retried:
        t.add("TOOL", "documents.fetch", root, {"claim": claim["policy_number"]}, {"pages": rng.randint(2, 14)},
              rng.randint(900, 3000), level="WARNING", message="document store answered 503; retried once")
    key = {"customer_id": claim["customer_id"]} if cause == "multi-policy" else {"policy_number": claim["policy_number"]}
    status = "lapsed" if cause == "multi-policy" else "in_force"
    period_error = error if cause == "us-dates" and error else None
    t.add("TOOL", "policy.lookup", root, key, {"status": status, "excess": claim["excess"]}, rng.randint(80, 400),
          level="ERROR" if period_error else "DEFAULT", message=period_error)
    category = "flood" if cause == "water-as-flood" else rng.choice(["escape_of_water", "storm", "theft", "fire"])
    covered = cause not in ("multi-policy", "water-as-flood", "us-dates")
    t.add("GENERATION", "coverage_decision", root, [{"role": "user", "content": claim["loss"]}],
          {"category": category, "covered": covered}, rng.randint(900, 2500), model="claude-sonnet-4-5")
    if cause == "fraud-timeout":
        t.add("TOOL", "fraud.score", root, {"claim": claim["policy_number"]}, None, 8000, level="ERROR", message=error)
    else:
        t.add("TOOL", "fraud.score", root, {"claim": claim["policy_number"]}, {"risk": round(rng.uniform(0.01, 0.3), 2)},
              rng.randint(300, 2000))
    if covered and cause != "fraud-timeout":  # a referred claim is not paid yet
        excess = claim["excess"] * (2 if cause == "double-deduct" else 1)
        t.add("TOOL", "payout.calculate", root, {"gross": claim["amount"], "excess": excess},
              {"payout": max(0, claim["amount"] - excess)}, rng.randint(20, 90))
    other_error = error if error and cause not in ("us-dates", "fraud-timeout") else None
    t.add("GENERATION", "write_letter", root, [{"role": "user", "content": "write the decision letter"}],
          "Dear customer, ..." if not other_error else None, rng.randint(600, 1800),
          level="ERROR" if other_error else "DEFAULT", message=other_error, model="claude-haiku-4-5")
    decision = "refer" if cause == "fraud-timeout" else "pay" if covered else "refuse"
    t.observations[0]["output"] = {"decision": decision}
    trace = {"id": t.id, "name": "claimdesk-intake", "timestamp": t.observations[0]["startTime"],
             "userId": f"broker-{account}", "sessionId": f"claim-{n:05d}", "tags": ["backtest"],
             "input": t.observations[0]["input"], "output": t.observations[0]["output"]}
    return {"trace": trace, "observations": t.observations}


# -- the plan --------------------------------------------------------------------------------------------

def _plan(rng: random.Random, count: int) -> list[tuple[str, str | None, int | None]]:
    """(account, cause, noise index) per investigation: exact shares, shuffled by the seed."""
    failures = round(count * FAILURE_RATE)
    per_cause = {c: max(1, round(failures * s)) for c, s in SHARES.items()}
    accounts = [ACCOUNTS[i % len(ACCOUNTS)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str, str | None, int | None]] = [(a, None, None) for a in accounts]
    order = list(range(count))
    rng.shuffle(order)
    local = [i for i in order if accounts[i] == LOCAL_ACCOUNT][:per_cause["us-dates"]]
    taken = set(local)
    for i in local:
        slots[i] = (accounts[i], "us-dates", None)
    free = [i for i in order if i not in taken]
    for cause in (c for c in SHARES if c != "us-dates"):
        for _ in range(per_cause[cause]):
            i = free.pop()
            slots[i] = (accounts[i], cause, None)
    for k in rng.sample(range(len(NOISE)), min(len(NOISE), round(failures * NOISE_SHARE))):
        i = free.pop()
        slots[i] = (accounts[i], None, k)
    return slots


def _error(rng: random.Random, cause: str | None, noise: int | None) -> str:
    if cause:
        errors = CAUSES[cause]["errors"]
        # the account-local date cause is caught by the period check in about half its runs only
        if not errors or (cause == "us-dates" and rng.random() < 0.5):
            return ""
        return str(rng.choice(errors))
    return NOISE[noise][2] if noise is not None else ""


def generate(out: Path, seed: int = 61, count: int = 180) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated, quoting = [], [], [], []
    for n, (account, cause, noise) in enumerate(_plan(rng, count), 1):
        inv_id = f"clm-{n:05d}"
        error = _error(rng, cause, noise)
        trace = _trace(rng, n, account, cause, error, retried=rng.random() < 0.3)
        (out / "traces" / f"{inv_id}.json").write_text(json.dumps(trace, separators=(",", ":")) + "\n")
        wrong = cause is not None or noise is not None
        note = CAUSES[cause]["note"] if cause else NOISE[noise][5] if noise is not None else ""
        truth = "Expected: the decision a senior handler made on this claim." + (f"\nReviewer: {note}" if note else "")
        answer = json.dumps(trace["trace"]["output"])
        manifest.append({"id": inv_id, "account": account, "trace": f"traces/{inv_id}.json", "answer": answer,
                         "truth": truth, "verdict": "wrong" if wrong else "correct", "score": 0.0 if wrong else 1.0,
                         "metadata": {"broker": account}})
        planted.append({"id": inv_id, "account": account, "cause": cause, "noise": noise})
        if wrong:
            analysis = templated_analysis(rng, cause, noise, error)
            planted[-1]["style"] = analysis.pop("style")
            templated.append({"id": inv_id, **analysis})
            quoting.append({"id": inv_id, **quoting_analysis(analysis, error, note)})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "templated.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in templated))
    (out / "quoting.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in quoting))
