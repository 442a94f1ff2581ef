"""A development backtest for the failure modes that masked numbers and a fixed analyst framing cause:
parcelpilot, a returns agent for a web shop (customers ask to return an order; it checks the return
policy, books a carrier label, refunds through the payment provider and answers), written in TypeScript.

The protocol (issue 14): `backtest cluster` may be tuned on this generator (beside dev_ledger.py,
support.py and examples/support-agent), never on the held-out generators (heldout_*.py). Written from the
backtest folder formats alone (manifest.jsonl, OTLP traces, analysis.schema.json).

What makes it hard, on purpose:

- two pairs of causes whose errors differ only in numbers: the carrier answers 409 (a label booked twice:
  the retry reuses no idempotency key) or 422 (a Dutch postcode sent without its space) to the same call
  in the same file; the payment provider declines a refund with code 7011 (over the per-refund limit,
  2500) or 7014 (over the captured amount: the refund was sent in the shop's currency, not the order's),
  both "exceeds limit <amount>". Each run's order number and amounts differ: values, not causes;
- an analyst with a fixed framing (`framed.jsonl`): every finding is "I read file <span file>; the error
  was: `<error>`" (else the reviewer's note) and the same closing line, so the framing is most of every
  finding's words;
- templated analysts (`templated.jsonl`) in four styles: ticket lines, terse notes, Italian shorthand,
  and the framed analyst's framing around a paraphrase; fields sometimes off;
- causeless failures (about a quarter), several with errors of their own (a 429 from the address service,
  a 503 from the warehouse), written in every style;
- unreliable analysts (`unreliable.jsonl`, opt-in beside the others, its own random stream): each failure told
  in one of four manners that the analysts of a real team show: confident ("Root cause (high confidence):
  ..."), causeless failures too, pinned on the place a cause lives (the carrier, the refund call) with the
  same certainty; misblaming (the cause's own words, but the stage and file of the step before or after
  it); hedging between two candidate causes, the sibling at the same place named too and leaned to a third
  of the time (then its stage and file); German shorthand.

Causes, as shares of the failures (~70 of 160 investigations by default):

  label-duplicate   24%  carrier 409: the label call is retried without an idempotency key
  label-postcode    16%  carrier 422: Dutch postcodes sent as "1234AB", the carrier wants "1234 AB"
  refund-limit      14%  payment 7011: refunds above 2500 are declined; the agent never splits them
  refund-currency   12%  payment 7014: refund sent in EUR for an order captured in SEK
  return-window      8%  no error: the agent applies a 14-day window; members have 30 days
  (none)            ~26% failures with no common cause

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each investigation's cause), `templated.jsonl`,
`framed.jsonl` and `unreliable.jsonl` (one analysis per failure, stored with support-agent's
`write_analyses`). Same seed, same bytes; the unreliable analysts draw from a stream of their own, so every
other file is the same bytes as before they were added.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

ACCOUNTS = ["alba-home", "birch-outdoor", "corvo-shoes", "dune-kids", "elmwood"]
SHARES = {"label-duplicate": 0.24, "label-postcode": 0.16, "refund-limit": 0.14, "refund-currency": 0.12,
          "return-window": 0.08}
FAILURE_RATE = 0.44
NOISE_SHARE = 0.26
STAGES = ["input", "planning", "retrieval", "tool-execution", "reasoning", "answer", "infrastructure", "data"]
GENERIC_FILE = "src/agent/loop.ts"
CARRIER, REFUND = "src/tools/carrier.ts", "src/payments/refund.ts"

# Per cause: stage, file, the span its error shows in, error templates ({order}, {amount}, {captured} vary per
# run), and how analysts word it: English, Italian shorthand, fixes (English, Italian).
CAUSES: dict[str, dict[str, Any]] = {
    "label-duplicate": {
        "stage": "tool-execution", "file": CARRIER, "span": "create_label",
        "errors": ["CarrierError: POST /v2/labels returned 409 for order {order}",
                   "carrier responded 409 on create_label (order {order})"],
        "en": ["the label call was retried after a slow answer and the carrier refused the second booking",
               "a second booking for the same parcel was rejected as a conflict",
               "retries of create_label carry no idempotency key, so the carrier sees a duplicate",
               "the shipment was already booked by the first attempt; the retry conflicted"],
        "it": ["etichetta prenotata due volte, il corriere rifiuta il duplicato",
               "retry senza chiave di idempotenza, conflitto sul corriere"],
        "fix": ["Send an idempotency key with every create_label call.",
                "Look up an existing label before booking again.", "Add an eval case for this return."],
        "fix_it": ["aggiungere la chiave di idempotenza", "controllare l'etichetta esistente"],
    },
    "label-postcode": {
        "stage": "tool-execution", "file": CARRIER, "span": "create_label",
        "errors": ["CarrierError: POST /v2/labels returned 422 for order {order}",
                   "carrier responded 422 on create_label (order {order})"],
        "en": ["the Dutch postcode went out without its space and the carrier's validation refused the address",
               "addresses in the Netherlands fail the carrier's format check",
               "postcode normalisation strips the space the carrier requires",
               "the return address was sent as 1234AB where the carrier expects 1234 AB"],
        "it": ["CAP olandese senza spazio, indirizzo rifiutato dal corriere",
               "formato del codice postale NL non valido"],
        "fix": ["Format Dutch postcodes as four digits, a space and two letters.",
                "Validate the address with the carrier's rules before booking.", "Add an eval case for this return."],
        "fix_it": ["formattare il CAP olandese", "validare l'indirizzo prima"],
    },
    "refund-limit": {
        "stage": "tool-execution", "file": REFUND, "span": "refund",
        "errors": ["RefundDeclined (code 7011): amount {amount} exceeds limit 2500",
                   "payment provider declined refund, code 7011, amount {amount} exceeds limit 2500"],
        "en": ["the refund was larger than the provider allows in one transaction and was declined",
               "big refunds are never split into parts below the provider's ceiling",
               "orders over the single-refund maximum cannot be refunded by the agent",
               "the provider's per-transaction refund ceiling was hit"],
        "it": ["rimborso oltre il massimo per transazione, rifiutato",
               "rimborsi grandi non divisi in parti"],
        "fix": ["Split refunds above the provider's limit into several transactions.",
                "Hand refunds above the limit to a person.", "Add an eval case for this return."],
        "fix_it": ["dividere il rimborso in parti", "passare a un operatore"],
    },
    "refund-currency": {
        "stage": "tool-execution", "file": REFUND, "span": "refund",
        "errors": ["RefundDeclined (code 7014): amount {amount} exceeds limit {captured}",
                   "payment provider declined refund, code 7014, amount {amount} exceeds limit {captured}"],
        "en": ["the refund was sent in euros for an order the customer paid in kronor",
               "the currency of the refund is the shop's default, not the order's",
               "a SEK order was refunded as EUR, so the amount came out larger than what was captured",
               "refund currency mismatch against the original payment"],
        "it": ["rimborso in euro per un ordine pagato in corone",
               "valuta del rimborso sbagliata rispetto al pagamento"],
        "fix": ["Refund in the currency the payment was captured in.",
                "Read the order's currency before calling refund.", "Add an eval case for this return."],
        "fix_it": ["usare la valuta dell'ordine", "leggere la valuta prima del rimborso"],
    },
    "return-window": {
        "stage": "reasoning", "file": "src/prompts/policy.md", "span": "", "errors": [],
        "en": ["the agent refused a return on day 20 although members have 30 days",
               "the policy prompt states 14 days for everyone and forgets the member extension",
               "a loyalty member was told the return window had closed",
               "member returns are judged against the standard window"],
        "it": ["reso rifiutato a un membro dopo 14 giorni, ne ha 30",
               "finestra di reso dei membri ignorata"],
        "fix": ["State the member return window in policy.md.", "Pass the customer's membership to the policy step.",
                "Add an eval case for this return."],
        "fix_it": ["aggiornare policy.md", "passare lo stato di membro"],
    },
}

# Failures with no common cause, each used at most once: (stage, file, span, error or "", English, Italian)
NOISE: list[tuple[str, str, str, str, str, str]] = [
    ("tool-execution", "src/tools/address.ts", "lookup_address", "AddressError: 429 Too Many Requests",
     "the address service throttled the lookup and the agent gave up", "servizio indirizzi limitato"),
    ("infrastructure", "src/tools/warehouse.ts", "check_stock", "WarehouseError: 503 Service Unavailable",
     "the warehouse API was down during a deploy", "magazzino non disponibile"),
    ("answer", "src/prompts/answer.md", "", "", "the reply promised a refund in two days; it takes ten",
     "promessi due giorni per il rimborso"),
    ("input", GENERIC_FILE, "", "", "the customer wrote about an exchange, the agent started a return",
     "cambio richiesto, reso avviato"),
    ("retrieval", "src/tools/orders.ts", "get_order", "", "the agent opened the customer's previous order",
     "aperto l'ordine sbagliato"),
    ("answer", "src/prompts/answer.md", "", "", "the answer was in English to a customer who wrote Italian",
     "risposta in inglese"),
    ("planning", GENERIC_FILE, "", "", "the agent asked for the order number four times and ran out of turns",
     "numero d'ordine chiesto quattro volte"),
    ("tool-execution", "src/tools/email.ts", "send_email", "SMTPError: 550 mailbox unavailable",
     "the confirmation email bounced and nobody was told", "email di conferma respinta"),
    ("reasoning", "src/prompts/policy.md", "", "", "a final-sale item was accepted for return",
     "articolo in saldo finale accettato"),
    ("data", "src/tools/orders.ts", "get_order", "", "the order had two shipments and only one was returned",
     "ordine con due spedizioni, una sola resa"),
    ("answer", "src/prompts/answer.md", "", "", "the reply quoted an internal note about the customer",
     "nota interna nella risposta"),
    ("tool-execution", "src/tools/carrier.ts", "track_parcel", "TrackingError: unknown tracking number",
     "tracking was asked for a parcel of another carrier", "tracking del corriere sbagliato"),
    ("reasoning", GENERIC_FILE, "", "", "the agent offered store credit where the customer asked for money back",
     "buono offerto invece del rimborso"),
    ("input", GENERIC_FILE, "", "", "an attached photo of the damage was ignored", "foto del danno ignorata"),
    ("infrastructure", "src/tools/payments.ts", "refund", "TimeoutError: payment provider did not respond in 30s",
     "the payment provider timed out once and the agent reported failure", "timeout del fornitore di pagamento"),
    ("data", "src/tools/orders.ts", "get_order", "", "a gift order's refund went to the giver's card",
     "rimborso regalo sulla carta sbagliata"),
    ("answer", "src/prompts/answer.md", "", "", "the agent apologised but never said what happens next",
     "scuse senza prossimi passi"),
    ("planning", GENERIC_FILE, "", "", "the agent booked a label before checking the item was returnable",
     "etichetta prima del controllo"),
    ("tool-execution", "src/tools/warehouse.ts", "check_stock", "KeyError: 'sku'",
     "the stock check read a product without a SKU", "prodotto senza SKU"),
    ("reasoning", "src/prompts/policy.md", "", "", "shipping costs were refunded for a change of mind",
     "spese di spedizione rimborsate"),
    ("answer", "src/prompts/answer.md", "", "", "the reply listed the wrong return address",
     "indirizzo di reso sbagliato"),
]

CLOSING = "Nothing else in the run looked wrong to me."

# The unreliable analysts (`unreliable`): per cause, the sibling a hedger weighs it against (the other cause at
# the same place; return-window, alone at its place, against the refund limit), the place a misblamer names
# instead (the step before or after it), and German shorthand (a cause's in a few wordings, each causeless
# failure's its own).
SIBLING = {"label-duplicate": "label-postcode", "label-postcode": "label-duplicate", "refund-limit": "refund-currency",
           "refund-currency": "refund-limit", "return-window": "refund-limit"}
MISBLAMED = {"label-duplicate": ("planning", GENERIC_FILE), "label-postcode": ("retrieval", "src/tools/address.ts"),
             "refund-limit": ("reasoning", "src/prompts/policy.md"), "refund-currency": ("retrieval", "src/tools/orders.ts"),
             "return-window": ("tool-execution", REFUND)}
GERMAN = {"label-duplicate": ["Label doppelt gebucht, Retry ohne Idempotenz-Key", "Spediteur lehnt zweite Buchung ab"],
          "label-postcode": ["NL-Postleitzahl ohne Leerzeichen, Adresse abgelehnt", "PLZ-Format falsch (1234AB)"],
          "refund-limit": ["Erstattung über Limit, nicht aufgeteilt", "Rückzahlung zu hoch für eine Transaktion"],
          "refund-currency": ["Erstattung in EUR statt SEK", "falsche Währung bei der Rückzahlung"],
          "return-window": ["Mitglied hat 30 Tage, Agent rechnet mit 14", "Rückgabefrist für Mitglieder ignoriert"]}
GERMAN_NOISE = [  # per NOISE entry, in its order
    "Adressdienst gedrosselt (429)", "Lager-API down beim Deploy", "Erstattung in 2 Tagen versprochen, dauert 10",
    "Umtausch gewollt, Rücksendung gestartet", "falsche (alte) Bestellung geöffnet", "Antwort Englisch statt Italienisch",
    "Bestellnummer 4x gefragt, keine Züge mehr", "Bestätigungsmail unzustellbar (550)", "Final-Sale-Artikel angenommen",
    "zwei Sendungen, nur eine zurück", "interne Notiz in der Antwort", "Tracking beim falschen Spediteur",
    "Gutschein statt Geld angeboten", "Schadensfoto ignoriert", "Zahlungsanbieter Timeout, einmal",
    "Geschenk-Erstattung auf Schenker-Karte", "Entschuldigung ohne nächste Schritte", "Label vor Prüfung gebucht",
    "Produkt ohne SKU im Lager-Check", "Versandkosten bei Sinneswandel erstattet", "falsche Rücksendeadresse"]
MANNERS = ["confident", "misblame", "hedge", "german"]
LEAN_WRONG = 0.33  # a hedger leans to the sibling this share of the time
CAUSE_PLACES = [(CAUSES[c]["stage"], CAUSES[c]["file"]) for c in ("label-duplicate", "refund-limit")]


def unreliable(rng: random.Random, cause: str | None, noise: int | None, error: str) -> dict[str, Any]:
    """One failure as an unreliable analyst writes it (see the module doc); `manner` says which, for tests."""
    manner = rng.choice(MANNERS)
    if cause:
        spec = CAUSES[cause]
        en, fix, (stage, path) = rng.choice(spec["en"]), rng.choice(spec["fix"]), (spec["stage"], spec["file"])
    else:
        stage, path, _, _, en, _ = NOISE[noise or 0]
        fix = "Fix the step named above."
    confidence = round(rng.uniform(0.4, 0.7), 2)
    if manner == "confident":
        if not cause:  # a causeless failure pinned, as sure as any, on a place where a cause lives
            stage, path = rng.choice(CAUSE_PLACES)
        text = f"Root cause (high confidence): {en}. This is the bug in {path}; {fix}"
        confidence = round(rng.uniform(0.9, 0.99), 2)
    elif manner == "misblame":
        stage, path = MISBLAMED[cause] if cause else (rng.choice(STAGES), GENERIC_FILE)
        text = f"The step before the failure set it up: {en}. Look at {path} first."
    elif manner == "hedge":
        other = CAUSES[SIBLING[cause]] if cause else rng.choice(list(CAUSES.values()))
        first, second = en, rng.choice(other["en"])
        if rng.random() < LEAN_WRONG:
            first, second, (stage, path) = second, first, (other["stage"], other["file"])
        text = f"Two candidates: either {first}, or {second}. I lean to the first."
    else:
        text = f"kurz: {rng.choice(GERMAN[cause]) if cause else GERMAN_NOISE[noise or 0]} -> {fix}"
    suspected = [{"kind": "prompt" if path.endswith(".md") else "component", "path": path, "line": None}]
    return {"verdict": "wrong", "stage": stage, "first_wrong_step": None, "suspected": suspected,
            "evidence": [{"path": "trace/README.md"}], "confidence": confidence, "failure_mode": text,
            "summary": text[:200], "error_signature": error if error and rng.random() < 0.5 else None,
            "proposed_change": fix, "manner": manner}


def _framed(span_file: str, error: str, note: str) -> str:
    """The fixed-framing analyst: the file it read and the error it found there, verbatim, or the note."""
    found = f"the error was: `{error}`" if error else f"the reviewer wrote: `{note}`"
    return f"I read file {span_file}; {found}. {CLOSING}"


def _styled(style: str, en: str, it: str, fix: str, fix_it: str, where: str, span_file: str) -> str:
    if style == "ticket":
        return f"[RETURNS] {en[0].upper()}{en[1:]} | component: {where or 'n/a'} | next: {fix}"
    if style == "terse":
        return f"{en}. fix -> {fix}"
    if style == "italian":
        return f"problema: {it} - da fare: {fix_it}"
    return f"I read file {span_file}; the problem was: {en}. {CLOSING}"


STYLE_NAMES = ["ticket", "terse", "italian", "framed"]


def _fields(rng: random.Random, stage: str, path: str) -> tuple[str, list[dict[str, Any]]]:
    roll = rng.random()
    stage = stage if roll < 0.75 else rng.choice(STAGES) if roll < 0.9 else "other"
    roll = rng.random()
    suspected = ([] if roll >= 0.92 else
                 [{"kind": "prompt" if path.endswith(".md") else "component",
                   "path": path if roll < 0.75 else GENERIC_FILE, "line": None}])
    return stage, suspected


def analyses(rng: random.Random, cause: str | None, noise: int | None, error: str, note: str,
             span_file: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One failure as a templated analyst and as the framed analyst write it (same fields)."""
    if cause:
        spec = CAUSES[cause]
        en, it = rng.choice(spec["en"]), rng.choice(spec["it"])
        fix, fix_it, stage, path = rng.choice(spec["fix"]), rng.choice(spec["fix_it"]), spec["stage"], spec["file"]
    else:
        stage, path, _, _, en, it = NOISE[noise or 0]
        fix = rng.choice(["Add an eval case for this return.", "Handle this case in the agent loop."])
        fix_it = rng.choice(["aggiungere un caso di test", "gestire nel loop"])
    stage, suspected = _fields(rng, stage, path)
    style = rng.choice(STYLE_NAMES)
    text = _styled(style, en, it, fix, fix_it, suspected[0]["path"] if suspected else "", span_file)
    quoted = error if error and rng.random() < 0.5 else None
    base = {"verdict": "wrong", "stage": stage, "first_wrong_step": None, "suspected": suspected,
            "evidence": [{"path": "trace/README.md"}], "confidence": round(rng.uniform(0.4, 0.9), 2)}
    templated = {**base, "failure_mode": text, "summary": text[:200], "error_signature": quoted,
                 "proposed_change": fix_it if style == "italian" else fix, "style": style}
    framing = _framed(span_file, error, note)
    framed = {**base, "failure_mode": framing, "summary": framing[:200], "error_signature": error or None,
              "proposed_change": None}
    return templated, framed


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _attr(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


def _trace(rng: random.Random, n: int, message: str, tools: list[tuple[str, dict[str, Any], str]],
           answer: str) -> dict[str, Any]:
    """OTLP/JSON with OTel GenAI attributes: an agent span, a planning model call, each tool call (name,
    arguments, error or ""), the answer model call."""
    trace_id, clock = _hex(rng, 32), 1_780_000_000_000_000_000 + n * 60_000_000_000
    spans: list[dict[str, Any]] = []

    def span(name: str, attrs: dict[str, Any], parent: str | None, err: str = "") -> str:
        nonlocal clock
        sid = _hex(rng, 16)
        s: dict[str, Any] = {"traceId": trace_id, "spanId": sid, "name": name, "kind": 1,
                             "startTimeUnixNano": str(clock), "endTimeUnixNano": str(clock + 300_000_000),
                             "attributes": [_attr(k, v) for k, v in attrs.items()],
                             "status": {"code": 2, "message": err} if err else {"code": 1}}
        if parent:
            s["parentSpanId"] = parent
        spans.append(s)
        clock += 301_000_000
        return sid

    root = span("invoke_agent parcelpilot", {"gen_ai.operation.name": "invoke_agent", "input.value": message}, None)
    span("chat plan", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet",
                       "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": message}, root)
    for name, args, err in tools:
        span(f"execute_tool {name}", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                                      "gen_ai.tool.call.arguments": json.dumps(args)}, root, err)
    span("chat answer", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet",
                         "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": answer}, root)
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "parcelpilot")]},
                               "scopeSpans": [{"scope": {"name": "parcelpilot"}, "spans": spans}]}]}


def _plan(rng: random.Random, count: int) -> list[tuple[str, str | None, int | None]]:
    """(account, cause, noise index) per investigation: exact shares, shuffled by the seed."""
    failures = round(count * FAILURE_RATE)
    accounts = [ACCOUNTS[i % len(ACCOUNTS)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str, str | None, int | None]] = [(a, None, None) for a in accounts]
    free = list(range(count))
    rng.shuffle(free)
    for cause, share in SHARES.items():
        for _ in range(max(1, round(failures * share))):
            i = free.pop()
            slots[i] = (accounts[i], cause, None)
    for k in rng.sample(range(len(NOISE)), min(len(NOISE), round(failures * NOISE_SHARE))):
        i = free.pop()
        slots[i] = (accounts[i], None, k)
    return slots


TOOLS = ["get_order", "check_policy", "create_label", "refund"]


def _run(rng: random.Random, cause: str | None, noise: int | None) -> tuple[str, list[tuple[str, dict[str, Any], str]], str]:
    """The run's error, its tool calls, and the span the error shows in ("" for none)."""
    order = rng.randint(100000, 999999)
    amount, captured = rng.randint(2600, 9800), rng.randint(200, 2400)
    error, span = "", ""
    if cause and CAUSES[cause]["errors"]:
        error = rng.choice(CAUSES[cause]["errors"]).format(order=order, amount=amount, captured=captured)
        span = CAUSES[cause]["span"]
    elif noise is not None:
        span, error = NOISE[noise][2], NOISE[noise][3]
    tools = [(t, {"order_id": order} if t != "refund" else {"order_id": order, "amount": amount}, error if t == span else "")
             for t in TOOLS]
    if span and span not in TOOLS:
        tools.insert(1, (span, {"order_id": order}, error))
    return error, tools, span


def generate(out: Path, seed: int = 201, count: int = 160) -> None:
    rng = random.Random(seed)
    unreliable_rng = random.Random(seed + 5_000_003)  # a stream of its own: the other files are unchanged by it
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated, framed, unreliables = [], [], [], [], []
    manners: dict[str, str] = {}
    for n, (account, cause, noise) in enumerate(_plan(rng, count), 1):
        inv_id = f"r-{n:04d}"
        message = rng.choice(["I want to return my order", "Can I send these shoes back?", "Refund please, wrong size",
                              "The jacket arrived damaged, I want my money back"])
        error, tools, span = _run(rng, cause, noise)
        answer = rng.choice(["Your return is booked; the label is attached.", "Your refund is on its way.",
                             "I could not complete the return, a colleague will contact you."])
        trace = _trace(rng, n, message, tools, answer)
        (out / "traces" / f"{inv_id}.json").write_text(json.dumps(trace, separators=(",", ":")) + "\n")
        wrong = cause is not None or noise is not None
        note = rng.choice(CAUSES[cause]["en"]) if cause else NOISE[noise][4] if noise is not None else ""
        manifest.append({"id": inv_id, "account": account, "trace": f"traces/{inv_id}.json", "answer": answer,
                         "truth": "Expected: the return handled as the policy says." + (f"\nReviewer note: {note}." if note else ""),
                         "verdict": "wrong" if wrong else "correct", "score": 0.0 if wrong else 1.0,
                         "metadata": {"message": message}})
        planted.append({"id": inv_id, "account": account, "cause": cause, "noise": noise})
        if wrong:
            step = 1 + next((k for k, t in enumerate(tools) if t[0] == span), len(tools))
            span_file = f"trace/{step + 2:03d}-tool-{span}/attributes.md" if span else "trace/README.md"
            t, f = analyses(rng, cause, noise, error, note, span_file)
            planted[-1]["style"] = t.pop("style")
            templated.append({"id": inv_id, **t})
            framed.append({"id": inv_id, **f})
            u = unreliable(unreliable_rng, cause, noise, error)
            manners[inv_id] = u.pop("manner")
            unreliables.append({"id": inv_id, **u})
    (out / "manners.json").write_text(json.dumps(manners, sort_keys=True) + "\n")  # tests only: each failure's manner
    for name, rows in (("manifest", manifest), ("planted", planted), ("templated", templated), ("framed", framed),
                       ("unreliable", unreliables)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
