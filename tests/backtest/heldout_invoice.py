"""A sixth held-out backtest: apflow, an accounts-payable pipeline that reads supplier invoices (scans and
PDFs) and posts them to each client's ERP, built as a LangGraph graph and traced with LangSmith; written
apart from the clustering work (from the backtest formats alone) and never tuned on: measured once per
method, reported whatever it shows.

The system: a shared service centre in Krakow runs accounts payable for several client companies. Each
invoice goes through OCR (a Textract-like tool), a document classifier (invoice or credit note), a field
extractor (vendor, VAT id, amounts, PO number), a vendor-master lookup (a retriever over the client's
vendor records), a three-way PO match, a validator agent (a second model that checks VAT and totals,
with a VAT-number tool), and the ERP posting. A clerk later checks a sample; the clerk's correction is
the truth.

How it differs from the other generators, where a real team's backtest would:

- **traces are LangSmith run exports** (a JSON list of runs as `client.list_runs(trace_id=...)` returns
  them: `run_type` chain/llm/tool/retriever, `parent_run_id`, `dotted_order`, LangChain-serialised chat
  messages in `inputs`, `LLMResult` generations in `outputs`, `error` on a failed run);
- **a cause is recorded as data, not as an error**: an amount the extractor read wrong (beside the OCR
  text it read it from), a retriever's top document whose VAT id differs from the invoice's, a PO match
  result that parks the invoice for a one-cent variance, a classifier output; only one cause leaves an
  error (the validator's timeout, after which the node lets the invoice through), and the same timeout
  is retried harmlessly in passing runs. OCR 503s and rate limits are retried in any run;
- **the vocabulary is shared**: passing runs park invoices for real variances, show German-format
  amounts read right, several look-alike vendors in the lookup, validator warnings; the ~21% of failures
  with no common cause (a supplier's wrong PDF, a PO closed meanwhile, a disputed GL code) are worded
  in the same words (amount, vendor, VAT, PO, hold);
- **two kinds of analyst**: `analyst.script.yaml`, a scripted analyst run through `backtest analyze`
  that reads the clerk's note and the trace's errors and reports what it read (its findings come from
  the files: it anchors on the first error even when that is a harmless retry), and `templated.jsonl`
  in six styles: AP-desk ticket lines, five-whys chains, Polish shorthand from the Krakow desk, hedgers
  who weigh two causes (one of them another cause's words), misblamers who name the wrong component in
  the text and the fields, and hashtag notes; a cause's phrasings share few words, and the stage and
  file are sometimes another component's.

Causes, as counts of the failures (about 103 of 221 invoices):

  decimal-comma      30  the extractor reads a German/Polish amount "1.234,56" as 1.23456 (or 123456)
  po-tolerance       19  the PO match has zero price tolerance: a one-to-four-cent rounding difference
                         parks the invoice and the early-payment discount is lost
  vendor-lookalike   14  the vendor lookup's top hit is a look-alike (Nordic Freight AS for ... AB) with
                         another VAT id, and the invoice is posted to it
  validator-timeout  10  the validator model times out and the node fails open: a wrong VAT rate is posted
  credit-note-sign    7  one client (halden-marine) only: its Norwegian suppliers' "KREDITNOTA" is
                         classified as an invoice and posted as a positive amount
  currency-default    3  a USD invoice without a currency symbol is posted in EUR (below the 5-failure bar)
  (none)             20  failures with no common cause, in the same vocabulary

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each invoice's cause and the templated analyst's
style: tests and benchmarks only), `templated.jsonl` and `analyst.script.yaml`. Same seed, same bytes.

    .venv/bin/python tests/backtest/heldout_invoice.py --out /tmp/invoice [--seed 141]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

COUNTS = {"decimal-comma": 30, "po-tolerance": 19, "vendor-lookalike": 14, "validator-timeout": 10,
          "credit-note-sign": 7, "currency-default": 3}
NOISE = 20
PASSING = 118
LOCAL_ACCOUNT = "halden-marine"
ACCOUNTS = {"halden-marine": "NOK", "castello-foods": "EUR", "kobalt-pharma": "EUR", "ostrava-steel": "CZK",
            "brightwell-retail": "GBP", "tarragon-hotels": "EUR", "norrsken-energy": "SEK"}
EPOCH = datetime(2025, 4, 1, 7, 0)
EXTRACT_PROMPT = "Extract the invoice fields as JSON. Amounts as numbers."
VALIDATE_PROMPT = ("You check an extracted invoice against its OCR text: VAT rate for the vendor's country, "
                   "net + VAT = gross, vendor VAT id. Answer JSON {ok, issues}.")
PROJECT = "7d1f0c8e-5a3b-4e2f-9c61-2b8f4d0a9e15"  # the LangSmith project (session) every run is in

# vendor, VAT id, country, a look-alike (name, VAT id), the locale its amounts are printed in
VENDORS = [
    ("Nordic Freight AB", "SE556677889901", "SE", ("Nordic Freight AS", "NO912345678MVA"), "eu"),
    ("Bergmann Industrietechnik GmbH", "DE811223344", "DE", ("Bergmann Industrietechnik AG", "CHE-112.233.445"), "eu"),
    ("Polmet Sp. z o.o.", "PL5261234567", "PL", ("Polmet Serwis Sp. z o.o.", "PL5269876543"), "eu"),
    ("Harbour Office Supplies Ltd", "GB123456789", "GB", ("Harbour Office Supply Co", "GB987654321"), "uk"),
    ("Vestland Marine Service AS", "NO987654321MVA", "NO", ("Vestland Marine AS", "NO923456781MVA"), "eu"),
    ("Lumen Facility Services BV", "NL812345678B01", "NL", ("Lumen Facilities BV", "NL856789012B01"), "eu"),
    ("Ceska Energetika a.s.", "CZ25612345", "CZ", ("Ceska Energie s.r.o.", "CZ27654321"), "eu"),
    ("Atlantic Packaging Inc", "US-EIN-84-1234567", "US", ("Atlantic Packaging Group", "US-EIN-84-7654321"), "uk"),
]
ITEMS = ["pallet transport Gdansk-Oslo", "hydraulic hose DN25", "maintenance contract Q2", "cleaning services April",
         "copy paper A4 80g", "steel coil S355 2mm", "electricity April (kWh)", "corrugated boxes 600x400",
         "forklift rental", "calibration of scales", "gasket set", "waste collection"]
VAT_RATES = {"SE": 25, "DE": 19, "PL": 23, "GB": 20, "NO": 25, "NL": 21, "CZ": 21, "US": 0}
CODE = {"graph": "apflow/graph.py", "ocr": "apflow/nodes/ocr.py", "classify": "apflow/nodes/classify.py",
        "extract": "apflow/nodes/extract.py", "prompt_extract": "apflow/prompts/extract.md",
        "vendor": "apflow/nodes/vendor_lookup.py", "po": "apflow/nodes/po_match.py",
        "validate": "apflow/nodes/validate.py", "prompt_validate": "apflow/prompts/validator.md",
        "post": "apflow/erp/post.py", "amounts": "apflow/parsing/amounts.py", "config": "config/tolerances.yaml"}


# --- the runs -------------------------------------------------------------------------------------

def _amount(x: float, locale: str) -> str:
    """An amount as the supplier prints it: 1.234,56 (eu) or 1,234.56 (uk)."""
    text = f"{x:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if locale == "eu" else text


class Runs:
    """One trace's LangSmith runs: ids, parents, dotted orders and a clock moving forward."""

    def __init__(self, rng: random.Random, start: datetime, tags: list[str], metadata: dict[str, Any]) -> None:
        self.rng, self.clock, self.tags, self.metadata = rng, start, tags, metadata
        self.runs: list[dict[str, Any]] = []
        self.order: dict[str, str] = {}
        self.trace_id = ""

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def start(self, name: str, run_type: str, parent: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        run_id = self._id()
        if parent is None:
            self.trace_id = run_id
        began = self.clock
        self.clock += timedelta(milliseconds=self.rng.randint(2, 40))
        stamp = f"{began:%Y%m%dT%H%M%S%f}Z{run_id}"
        self.order[run_id] = f"{self.order[parent]}.{stamp}" if parent else stamp
        run: dict[str, Any] = {
            "id": run_id, "name": name, "start_time": began.isoformat(timespec="microseconds"), "run_type": run_type,
            "end_time": None, "extra": {"metadata": {**self.metadata, "langgraph_node": name} if run_type == "chain"
                                        else dict(self.metadata),
                                        "runtime": {"sdk": "langsmith-py", "sdk_version": "0.3.42",
                                                    "library": "langchain-core", "runtime": "python",
                                                    "runtime_version": "3.12.9", "platform": "Linux-6.8.0-x86_64"}},
            "error": None, "serialized": None, "events": [{"name": "start", "time": began.isoformat(timespec="microseconds")}],
            "inputs": inputs, "outputs": None, "reference_example_id": None, "parent_run_id": parent,
            "tags": list(self.tags), "trace_id": self.trace_id, "dotted_order": self.order[run_id],
            "status": "pending", "session_id": PROJECT, "child_run_ids": None, "prompt_tokens": 0,
            "completion_tokens": 0, "total_tokens": 0, "first_token_time": None, "total_cost": None,
            "app_path": f"/o/2b4e6a1c-0000-4000-8000-3f0e5d7c9a11/projects/p/{PROJECT}/r/{run_id}?trace_id={self.trace_id}"}
        self.runs.append(run)
        return run

    def end(self, run: dict[str, Any], outputs: dict[str, Any] | None, ms: tuple[int, int] = (30, 900),
            error: str | None = None) -> None:
        self.clock += timedelta(milliseconds=self.rng.randint(*ms))
        run["end_time"] = self.clock.isoformat(timespec="microseconds")
        run["events"].append({"name": "end" if error is None else "error", "time": run["end_time"]})
        run["outputs"], run["error"] = outputs, error
        run["status"] = "error" if error else "success"

    def tool(self, parent: str, name: str, args: dict[str, Any], result: Any, error: str | None = None,
             ms: tuple[int, int] = (40, 1500)) -> None:
        run = self.start(name, "tool", parent, {"input": json.dumps(args)})
        self.end(run, None if error else {"output": result}, ms, error)

    def llm(self, parent: str, model: str, system: str, user: str, reply: str, error: str | None = None,
            ms: tuple[int, int] = (700, 4000)) -> None:
        lc = "ChatAnthropic" if model.startswith("claude") else "ChatOpenAI"
        msgs = [[{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", kind],
                  "kwargs": {"content": text, "type": role}}
                 for kind, role, text in (("SystemMessage", "system", system), ("HumanMessage", "human", user))]]
        run = self.start(lc, "llm", parent, {"messages": msgs})
        run["extra"]["invocation_params"] = {"model": model, "temperature": 0.0, "_type": lc.lower().replace("chat", ""),
                                             "stream": False}
        run["extra"]["metadata"].update(ls_provider="anthropic" if lc == "ChatAnthropic" else "openai",
                                        ls_model_name=model, ls_model_type="chat", ls_temperature=0.0)
        if error:
            self.end(run, None, (30_000, 30_100) if "imeout" in error or "timed out" in error else (50, 300), error)
            return
        tokens_in, tokens_out = self.rng.randint(900, 3800), self.rng.randint(40, 420)
        run.update(prompt_tokens=tokens_in, completion_tokens=tokens_out, total_tokens=tokens_in + tokens_out,
                   total_cost=round(tokens_in * 2.5e-6 + tokens_out * 1e-5, 6))
        message = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
                   "kwargs": {"content": reply, "type": "ai", "tool_calls": [], "invalid_tool_calls": [],
                              "usage_metadata": {"input_tokens": tokens_in, "output_tokens": tokens_out,
                                                 "total_tokens": tokens_in + tokens_out}}}
        self.end(run, {"generations": [[{"text": reply, "generation_info": {"finish_reason": "stop", "logprobs": None},
                                         "type": "ChatGeneration", "message": message}]],
                       "llm_output": {"token_usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out},
                                      "model_name": model}, "run": None, "type": "LLMResult"}, ms)


def _invoice(rng: random.Random, n: int, account: str, cause: str | None) -> dict[str, Any]:
    """What the supplier sent: its vendor, lines and totals, and how the document prints them."""
    if cause == "decimal-comma":
        vendor = rng.choice([v for v in VENDORS if v[4] == "eu"])
    elif cause == "currency-default":
        vendor = VENDORS[7]
    elif account == LOCAL_ACCOUNT:
        vendor = rng.choice([VENDORS[4], VENDORS[0], VENDORS[1]])
    else:
        vendor = rng.choice(VENDORS)
    lines = [(rng.choice(ITEMS), rng.randint(1, 40), round(rng.uniform(12, 900), 2)) for _ in range(rng.randint(1, 4))]
    net = round(sum(q * p for _, q, p in lines), 2)
    if cause == "decimal-comma" and net < 1000:  # a thousands separator is what trips the parser
        lines[0] = (lines[0][0], lines[0][1] + 10, round(lines[0][2] + 120, 2))
        net = round(sum(q * p for _, q, p in lines), 2)
    rate = VAT_RATES[vendor[2]]
    credit = cause == "credit-note-sign" or (account == LOCAL_ACCOUNT and cause is None and rng.random() < 0.12)
    currency = "USD" if vendor[2] == "US" else ("NOK" if vendor[2] == "NO" else ACCOUNTS[account]
                                                 if vendor[2] == "GB" and account == "brightwell-retail" else
                                                 {"SE": "SEK", "PL": "PLN", "CZ": "CZK", "GB": "GBP"}.get(vendor[2], "EUR"))
    date = EPOCH + timedelta(days=rng.randint(0, 45))
    return {"number": f"{vendor[2]}-{rng.randint(2025000, 2025999)}", "vendor": vendor, "lines": lines, "net": net,
            "rate": rate, "gross": round(net * (1 + rate / 100), 2), "currency": currency, "date": date,
            "po": f"45000{rng.randint(10000, 99999)}", "credit": credit, "locale": vendor[4],
            "account": account, "id": f"inv-{n:04d}"}


def _ocr_text(inv: dict[str, Any], rng: random.Random) -> str:
    name, vat, country, _, locale = inv["vendor"]
    head = {"NO": "KREDITNOTA" if inv["credit"] else "FAKTURA", "DE": "RECHNUNG", "PL": "FAKTURA VAT",
            "SE": "FAKTURA", "NL": "FACTUUR", "CZ": "FAKTURA - DANOVY DOKLAD"}.get(country, "INVOICE")
    if inv["credit"] and country != "NO":
        head = "CREDIT NOTE"
    sym = "" if inv["currency"] == "USD" and rng.random() < 0.8 else f" {inv['currency']}"
    rows = "\n".join(f"{d:<34} {q:>4} x {_amount(p, locale):>10}  {_amount(q * p, locale):>12}{sym}"
                     for d, q, p in inv["lines"])
    return (f"{name}\nVAT {vat}\n{head} {inv['number']}\nDate {inv['date']:%d.%m.%Y}  PO {inv['po']}\n\n{rows}\n\n"
            f"Net {_amount(inv['net'], locale)}{sym}\nVAT {inv['rate']}% {_amount(inv['gross'] - inv['net'], locale)}{sym}\n"
            f"Total {_amount(inv['gross'], locale)}{sym}\nIBAN {country}{rng.randint(10, 99)} {rng.randint(1000, 9999)} "
            f"{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}")


def _misread(x: float, rng: random.Random) -> float:
    """How the extractor reads "1.234,56": the dot as the decimal point (1.23456) or the comma dropped (123456)."""
    return round(x / 1000, 5) if rng.random() < 0.6 else round(x * 100)


def _run(rng: random.Random, inv: dict[str, Any], cause: str | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One invoice's runs; `facts` gets what the answer and the analysts quote."""
    name, vat, country, lookalike, _ = inv["vendor"]
    r = Runs(rng, inv["date"] + timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59)),
             ["apflow", f"client:{inv['account']}", "prod"],
             {"client": inv["account"], "invoice_file": f"s3://apflow-inbox/{inv['account']}/{inv['number']}.pdf",
              "graph_version": "2025.03.4"})
    errors: list[str] = []
    root = r.start("apflow", "chain", None, {"document_uri": r.metadata["invoice_file"], "client": inv["account"]})

    node = r.start("ocr", "chain", root["id"], {"document_uri": r.metadata["invoice_file"]})
    text = _ocr_text(inv, rng)
    if rng.random() < 0.15:  # the OCR service sheds load now and then; the node retries
        errors.append("HTTPError: 503 Service Unavailable (textract.eu-central-1: ThrottlingException)")
        r.tool(node["id"], "textract_analyze", {"document_uri": r.metadata["invoice_file"], "features": ["TABLES"]},
               None, error=errors[-1], ms=(200, 900))
    pages = 1 + len(inv["lines"]) // 3
    r.tool(node["id"], "textract_analyze", {"document_uri": r.metadata["invoice_file"], "features": ["TABLES"]},
           {"pages": pages, "text": text, "confidence": round(rng.uniform(0.91, 0.995), 3)}, ms=(1500, 6000))
    r.end(node, {"ocr_text": text[:200] + "...", "pages": pages})

    node = r.start("classify", "chain", root["id"], {"ocr_text": text[:200] + "..."})
    doc_type = "credit_note" if inv["credit"] and cause != "credit-note-sign" else "invoice"
    r.llm(node["id"], "gpt-4o-mini-2024-07-18", "Classify the document: invoice, credit_note, reminder or other. "
          "Answer with one word.", text, doc_type, ms=(300, 900))
    r.end(node, {"doc_type": doc_type})

    node = r.start("extract", "chain", root["id"], {"ocr_text": text[:200] + "...", "doc_type": doc_type})
    gross, net = inv["gross"], inv["net"]
    if cause == "decimal-comma":
        gross, net = _misread(inv["gross"], rng), _misread(inv["net"], rng)
    currency = None if inv["currency"] == "USD" and "USD" not in text else inv["currency"]
    if cause == "currency-default":
        currency = None
    fields = {"vendor_name": name, "vendor_vat_id": vat, "invoice_number": inv["number"],
              "invoice_date": f"{inv['date']:%Y-%m-%d}", "po_number": inv["po"], "total_net": net,
              "vat_rate": inv["rate"], "total_gross": gross, "currency": currency,
              "line_count": len(inv["lines"])}
    if rng.random() < 0.08:
        errors.append("openai.RateLimitError: Error code: 429 - Rate limit reached for gpt-4o in organization on tokens per min")
        r.llm(node["id"], "gpt-4o-2024-08-06", EXTRACT_PROMPT, text, "", error=errors[-1])
    r.llm(node["id"], "gpt-4o-2024-08-06", EXTRACT_PROMPT, text,
          json.dumps(fields))
    r.end(node, {"fields": fields})

    node = r.start("vendor_lookup", "chain", root["id"], {"vendor_name": name, "vendor_vat_id": vat})
    wrong_vendor = cause == "vendor-lookalike"
    hits = [{"page_content": f"{name} | VAT {vat} | {country}", "vendor_id": f"V-{10000 + VENDORS.index(inv['vendor']) * 37}",
             "vat_id": vat, "score": round(rng.uniform(0.86, 0.97), 3)}]
    if wrong_vendor or rng.random() < 0.4:  # look-alikes are in the master data of many clients
        other = {"page_content": f"{lookalike[0]} | VAT {lookalike[1]}", "vendor_id": f"V-{20000 + rng.randint(0, 999)}",
                 "vat_id": lookalike[1], "score": round(hits[0]["score"] + (0.02 if wrong_vendor else -0.06), 3)}
        hits = [other, hits[0]] if wrong_vendor else [hits[0], other]
    docs = [{"page_content": h["page_content"], "metadata": {"vendor_id": h["vendor_id"], "vat_id": h["vat_id"],
                                                             "score": h["score"]}, "type": "Document"} for h in hits]
    retr = r.start("VectorStoreRetriever", "retriever", node["id"], {"query": name})
    r.end(retr, {"documents": docs}, (60, 400))
    chosen = hits[0]
    r.end(node, {"vendor_id": chosen["vendor_id"], "vendor_name": chosen["page_content"].split(" | ")[0]})

    node = r.start("po_match", "chain", root["id"], {"po_number": inv["po"], "total_net": net})
    if cause == "po-tolerance":
        variance = rng.choice([0.01, 0.01, 0.02, 0.03, 0.04])
        po_out = {"po": inv["po"], "status": "exception", "reason": "PRICE_VARIANCE", "variance": variance,
                  "tolerance": 0.0, "action": "park"}
    elif cause is None and rng.random() < 0.12:  # a real variance, rightly parked
        po_out = {"po": inv["po"], "status": "exception", "reason": rng.choice(["PRICE_VARIANCE", "QTY_OVER_RECEIPT"]),
                  "variance": round(rng.uniform(40, 900), 2), "tolerance": 0.0, "action": "park"}
    else:
        po_out = {"po": inv["po"], "status": "matched", "variance": 0.0, "tolerance": 0.0, "goods_receipt": True}
    r.tool(node["id"], "sap_po_match", {"po": inv["po"], "net": net, "lines": len(inv["lines"])}, po_out)
    r.end(node, {"match": po_out["status"]})

    node = r.start("validate", "chain", root["id"], {"fields": fields, "vendor_id": chosen["vendor_id"]})
    r.tool(node["id"], "vies_check_vat", {"vat_id": chosen["vat_id"]},
           {"valid": True, "name": chosen["page_content"].split(" | ")[0]} if country not in ("US", "GB", "NO")
           else {"valid": None, "note": "not an EU VAT number"})
    wrong_rate = cause == "validator-timeout"
    posted_rate = inv["rate"] + rng.choice([-2, 2, 4]) if wrong_rate else inv["rate"]
    timeout = "anthropic.APITimeoutError: Request timed out."
    issues: list[str] = []
    if rng.random() < 0.2:
        issues.append(rng.choice(["invoice date is a Sunday", "IBAN differs from the last invoice: confirmed by vendor master",
                                  "line total rounding differs by 0.01 from the printed total", "PO number printed twice"]))
    if wrong_rate:
        r.llm(node["id"], "claude-3-5-sonnet-20241022", VALIDATE_PROMPT, json.dumps(fields), "", error=timeout)
        errors.append(timeout)
        out: dict[str, Any] = {"validated": True, "issues": []}
        if rng.random() < 0.5:
            out["skipped"] = ["vat_rate", "totals"]
    else:
        if rng.random() < 0.1:  # timed out, retried, fine
            r.llm(node["id"], "claude-3-5-sonnet-20241022", VALIDATE_PROMPT, json.dumps(fields), "", error=timeout)
            errors.append(timeout)
        r.llm(node["id"], "claude-3-5-sonnet-20241022", VALIDATE_PROMPT, json.dumps(fields), json.dumps({"ok": True, "issues": issues}))
        out = {"validated": True, "issues": issues}
    r.end(node, out)

    node = r.start("post_to_erp", "chain", root["id"], {"vendor_id": chosen["vendor_id"]})
    amount = -gross if doc_type == "credit_note" else gross
    post_args = {"vendor_id": chosen["vendor_id"], "doc_type": "KG" if doc_type == "credit_note" else "RE",
                 "amount": amount, "currency": currency or ACCOUNTS[inv["account"]],
                 "vat_code": f"V{posted_rate}", "reference": inv["number"], "po": inv["po"]}
    parked = po_out["status"] == "exception"
    document = f"51{rng.randint(10**7, 10**8 - 1)}"
    r.tool(node["id"], "erp_post_invoice", post_args,
           {"document_number": document, "status": "parked" if parked else "posted",
            **({"block_reason": po_out["reason"]} if parked else {})})
    r.end(node, {"erp_document": document, "status": "parked" if parked else "posted"})
    r.end(root, {"erp_document": document, "status": "parked" if parked else "posted", "amount": amount,
                 "currency": post_args["currency"], "vendor_id": chosen["vendor_id"]}, (5, 20))
    facts.update(errors=errors, text=text, fields=fields, hits=hits, po=po_out, post=post_args, parked=parked,
                 document=document, vendor_posted=chosen["page_content"].split(" | ")[0])
    return r.runs


# --- what the clerk wrote (the truth), and the answer ---------------------------------------------------

CLERK = {
    "decimal-comma": ["Amount posted as {wrong} {cur}; the invoice total is {gross} {cur}. Reversed and re-posted.",
                      "Posted amount is off by a factor of ~1000 ({wrong} vs {gross}). Supplier chased us for payment.",
                      "Wrong total in SAP: {wrong} instead of {gross}."],
    "po-tolerance": ["Invoice parked for a price variance of {var} {cur}; released by hand after the discount date.",
                     "Blocked for {var} rounding difference; we lost the 2% skonto.",
                     "Held in the exception queue for a {var} difference that is within any sane tolerance."],
    "vendor-lookalike": ["Posted to {posted} instead of {vendor}: payment went to the wrong bank account.",
                         "Wrong vendor account ({posted}); the invoice is from {vendor}.",
                         "Vendor mix-up: {vendor} vs {posted}, different VAT numbers."],
    "validator-timeout": ["VAT code V{posted_rate} posted; the invoice says {rate}%. Input VAT claim wrong.",
                          "Wrong tax code on the posting, nobody checked it.",
                          "VAT rate on the booking does not match the invoice ({rate}%)."],
    "credit-note-sign": ["This is a KREDITNOTA; posted as an invoice, so we paid the supplier instead of being refunded.",
                         "Credit note booked with a positive amount ({gross} {cur}).",
                         "Doc type RE instead of KG: a credit note posted as a bill."],
    "currency-default": ["Posted in EUR, the invoice is in US dollars.", "Currency wrong on the booking (EUR vs USD)."],
}
CLERK_NOISE = ["Supplier sent the wrong PDF (another customer's invoice); nothing we could have read differently.",
               "PO was closed in SAP between receipt and posting; the posting itself was right at the time.",
               "GL account disputed by the controller, the booking follows the old coding rule.",
               "Duplicate: supplier e-mailed the same invoice twice, we already paid the first copy by hand.",
               "Approver on leave; the invoice was right but paid late.",
               "Scan is a photo of a crumpled page; the amount is unreadable even for us.",
               "Vendor changed its bank details by letter; the master data update was still pending.",
               "Sampling error: the clerk marked it wrong, the second review says it was fine."]
DIAG = {"decimal-comma": "amount wrong", "po-tolerance": "invoice on hold", "vendor-lookalike": "wrong vendor",
        "validator-timeout": "VAT code wrong", "credit-note-sign": "sign wrong", "currency-default": "currency wrong"}


def _clerk(rng: random.Random, cause: str | None, noise: int | None, inv: dict[str, Any], f: dict[str, Any]) -> str:
    if noise is not None:
        return CLERK_NOISE[noise]
    if cause is None:
        return "Checked: posted as on the invoice."
    cur = inv["currency"]
    return rng.choice(CLERK[cause]).format(
        wrong=f["post"]["amount"], gross=_amount(inv["gross"], inv["locale"]), cur=cur, var=f["po"].get("variance"),
        posted=f["vendor_posted"], vendor=inv["vendor"][0], posted_rate=f["post"]["vat_code"][1:], rate=inv["rate"])


def _answer(inv: dict[str, Any], f: dict[str, Any]) -> str:
    verb = "Parked" if f["parked"] else "Posted"
    block = f" (block: {f['po'].get('reason')})" if f["parked"] else ""
    return (f"{verb} {inv['number']} from {f['vendor_posted']} as SAP document {f['document']}: "
            f"{f['post']['amount']} {f['post']['currency']}, tax code {f['post']['vat_code']}{block}.")


# --- the templated analysts -----------------------------------------------------------------------

# Per cause: English phrasings (few shared words), Polish shorthand, a misblame (the wrong component, in
# words and fields), the five-whys chain's deeper reason, the honest home (stage, code key), a fix.
PHRASES: dict[str, dict[str, Any]] = {
    "decimal-comma": {
        "en": ["the total was parsed as {wrong} from '{printed}': the thousands dot was read as a decimal point",
               "European number format not handled, so the booked sum is a thousandth of the real one",
               "amount normalisation assumes 1,234.56 notation; a German-style figure came out wrong",
               "extracted gross is orders of magnitude off what the document prints",
               "locale of the supplier's figures was ignored when turning text into numbers"],
        "pl": ["kwota zle sparsowana, kropka jako separator dziesietny ({printed} -> {wrong})",
               "format liczb europejski nieobslugiwany, zla kwota w SAP"],
        "misblame": ["the OCR garbled the amount on this scan", "Textract misread the total, low scan quality"],
        "deeper": "the prompt asks for numbers but never says which separator the supplier uses",
        "home": ("data", "amounts"), "wrong_home": ("input", "ocr"),
        "fix": "parse amounts with the supplier country's locale and check net + VAT = gross",
    },
    "po-tolerance": {
        "en": ["parked for a {var} price variance because the match allows none",
               "three-way match has no tolerance, so cent-level rounding blocks payment",
               "a rounding difference of {var} put the invoice in the exception queue and the cash discount lapsed",
               "matching rule too strict: tiny deviations from the order price stop the posting",
               "hold reason PRICE_VARIANCE for a difference that should have been absorbed"],
        "pl": ["blokada przez roznice ceny {var}, brak tolerancji w dopasowaniu do zamowienia",
               "faktura wstrzymana przez zaokraglenie, stracony skonto"],
        "misblame": ["the extractor got the line prices slightly wrong, so the PO did not match",
                     "ERP posting API parked it for no reason"],
        "deeper": "tolerance is configured as 0.00 for every client",
        "home": ("tool-execution", "po"), "wrong_home": ("data", "extract"),
        "fix": "allow a price tolerance of 0.5% or 5.00 per line in the PO match",
    },
    "vendor-lookalike": {
        "en": ["posted against {posted}, a similarly named supplier with another VAT number",
               "vendor master search picked the wrong company because its name embedding scored higher",
               "top retrieval hit taken without comparing the tax id, so the payee is someone else",
               "supplier resolution confused two firms that differ by a legal-form suffix",
               "booked to the wrong creditor: name similarity beat the VAT id match"],
        "pl": ["zly dostawca wybrany ({posted}), NIP sie nie zgadza", "pomylony kontrahent o podobnej nazwie"],
        "misblame": ["the extractor copied the wrong supplier name from the letterhead",
                     "bank details changed, the vendor master is out of date"],
        "deeper": "the lookup ranks by name similarity alone and the VAT id is never compared",
        "home": ("retrieval", "vendor"), "wrong_home": ("data", "extract"),
        "fix": "require the VAT id to match before taking a vendor-master hit",
    },
    "validator-timeout": {
        "en": ["the validator model timed out and the node let the invoice through unchecked",
               "checks were skipped after a timeout, so a wrong tax code went to SAP",
               "fail-open on the validation step: no answer from the checker counts as a pass",
               "tax rate never verified because the second model did not respond in time",
               "validation silently bypassed after an API timeout"],
        "pl": ["walidator nie odpowiedzial (timeout), faktura przepuszczona bez sprawdzenia VAT",
               "brak walidacji po przekroczeniu czasu, zly kod VAT"],
        "misblame": ["the extractor returned the wrong VAT rate", "wrong tax code mapping in the ERP posting"],
        "deeper": "the node's except branch sets validated=True",
        "home": ("infrastructure", "validate"), "wrong_home": ("data", "post"),
        "fix": "fail closed: park the invoice when the validator does not answer",
    },
    "credit-note-sign": {
        "en": ["a KREDITNOTA was treated as a normal bill, so the refund was posted as a payable",
               "document type classification missed the Norwegian credit-note header",
               "negative document booked positive: credit notes from these suppliers are not recognised",
               "classifier labels 'kreditnota' documents as invoices"],
        "pl": ["korekta (kreditnota) zaksiegowana jako faktura, zly znak", "nota kredytowa rozpoznana jako faktura"],
        "misblame": ["the ERP posting flips the sign", "the OCR dropped the minus signs"],
        "deeper": "the classifier prompt lists English and German credit-note words only",
        "home": ("reasoning", "classify"), "wrong_home": ("tool-execution", "post"),
        "fix": "add the Nordic credit-note words to the classifier and check the sign of the totals",
    },
    "currency-default": {
        "en": ["no currency on the document, so the client's default EUR was used for a dollar invoice",
               "posted in the wrong currency: the supplier is American and prints bare amounts"],
        "pl": ["brak waluty na fakturze, przyjeto EUR zamiast USD"],
        "misblame": ["the ERP converted the currency wrongly"],
        "deeper": "a missing currency falls back to the client's default",
        "home": ("data", "extract"), "wrong_home": ("tool-execution", "post"),
        "fix": "infer the currency from the vendor's country when the document prints none",
    },
}
NOISE_PHRASES = {
    "en": ["the supplier sent the wrong document; the extraction matches what was on the page",
           "PO closed in the ERP after the match; the pipeline's posting was right at the time",
           "GL coding dispute, not a pipeline defect",
           "duplicate invoice already paid by hand; nothing in the run went wrong",
           "payment late because the approver was away; the booking is correct",
           "unreadable photo of a crumpled page; no reader would get the amount",
           "bank details changed by letter and the master data was not updated yet",
           "the clerk's sample grade looks wrong; second review found the posting fine",
           "the OCR retry in the trace is harmless; the amount and vendor are right"],
    "pl": ["dostawca przyslal zly dokument, ekstrakcja poprawna", "podwojna faktura, juz zaplacona recznie",
           "spor o konto ksiegowe, nie blad systemu"],
}
STYLES = ["ticket", "whys", "polish", "hedger", "misblame", "hashtags"]
TAGS = {"decimal-comma": "#amounts #locale", "po-tolerance": "#po-match #hold", "vendor-lookalike": "#vendor #master-data",
        "validator-timeout": "#validator #timeout", "credit-note-sign": "#doctype #credit", "currency-default": "#currency"}


def _fill(text: str, inv: dict[str, Any], f: dict[str, Any]) -> str:
    return text.format(wrong=f["post"]["amount"], printed=_amount(inv["gross"], inv["locale"]),
                       var=f["po"].get("variance"), posted=f["vendor_posted"])


def _fields(stage: str, key: str, why: str) -> dict[str, Any]:
    return {"stage": stage, "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if key.startswith("prompt") else "config" if key == "config" else "component",
                           "path": CODE[key], "line": None, "why": why[:300]}]}


def _templated(rng: random.Random, cause: str | None, style: str, inv: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    """One failure's analysis in `style`; a causeless failure gets the same styles in the same vocabulary."""
    if cause is None:
        phrase = rng.choice(NOISE_PHRASES["pl" if style == "polish" else "en"])
        home = rng.choice([p["home"] for p in PHRASES.values()] + [("other", "graph")])
        deeper, fix, tags = "nothing in the pipeline", None, rng.choice(["#no-defect", "#supplier", "#process"])
    else:
        p = PHRASES[cause]
        pool = p["pl"] if style == "polish" else p["misblame"] if style == "misblame" else p["en"]
        phrase = _fill(rng.choice(pool), inv, f)
        home = p["wrong_home"] if style == "misblame" or rng.random() < 0.15 else p["home"]
        deeper, fix, tags = p["deeper"], p["fix"], TAGS[cause]
    if style == "ticket":
        text = (f"AP-{rng.randint(1000, 9999)} | client {inv['account']} | {inv['number']} | "
                f"root cause: {phrase} | owner: {rng.choice(['AP tech', 'integration team', 'P2P desk'])}")
    elif style == "whys":
        text = (f"Why was the booking wrong? {phrase[0].upper() + phrase[1:]}. Why? {deeper}. "
                f"Why did nobody see it? no check downstream.")
    elif style == "polish":
        text = f"{inv['number']}: {phrase}."
    elif style == "hedger":
        other = rng.choice([c for c in PHRASES if c != cause])
        alt = _fill(rng.choice(PHRASES[other]["en"]), inv, f)
        first, second = (phrase, alt) if rng.random() < 0.5 else (alt, phrase)
        pick = "first" if first == phrase else "second"
        text = (f"Either {first}, or {second}. I lean to the {pick} ({rng.choice(['60/40', '70/30', 'not sure'])}).")
    elif style == "hashtags":
        text = f"{tags} {phrase}"
    else:  # misblame: plain prose naming the wrong component
        text = phrase[0].upper() + phrase[1:] + "."
    return {"verdict": "wrong", "failure_mode": text, "error_signature": None, **_fields(*home, phrase),
            "evidence": [{"path": "truth.md", "note": "clerk's correction"}], "proposed_change": fix,
            "confidence": round(rng.uniform(0.35, 0.9), 2), "summary": text.split(" | ")[-1][:300]}


def _correct() -> dict[str, Any]:
    return {"verdict": "correct", "failure_mode": None, "error_signature": None, "stage": "none",
            "first_wrong_step": None, "suspected": [], "evidence": [], "proposed_change": None, "confidence": 0.9,
            "summary": "Posted as the invoice says."}


# --- the file-reading analyst (a script for the stand-in model, run by `backtest analyze`) ------------

SCRIPT = """\
# A scripted analyst for the apflow backtest (tests/backtest/heldout_invoice.py). It knows no planted
# cause: it reads the clerk's correction, then the trace's errors, and reports what it read. Like a
# hurried analyst it takes the first failed run in errors.md as the cause when there is one (a retried
# OCR throttle or rate limit too), else it looks for a PO match's block reason, else it reports
# the clerk's note in its own framing.
version: 1
model: scripted
description: File-reading analyst for the apflow invoice backtest.
sessions:
  - name: correct
    match:
      system: "You have read-only tools"
      first_user: {regex: 'Analyse investigation (?P<id>inv-\\d+) .*verdict correct'}
    turns:
      - text: |
          ```json
          {"verdict": "correct", "failure_mode": null, "error_signature": null, "stage": "none",
           "first_wrong_step": null, "suspected": [], "evidence": [{"path": "truth.md"}],
           "proposed_change": null, "confidence": 0.8, "summary": "Posted as the clerk expected."}
          ```
  - name: wrong
    match:
      system: "You have read-only tools"
      first_user: {regex: 'Analyse investigation (?P<id>inv-\\d+) .*verdict wrong'}
    turns:
      - tool_use: {name: read, input: {path: truth.md}}
      - tool_use: {name: read, input: {path: trace/errors.md}}
      - on_result:
          - if: {regex: '- `(?P<span>[^`]+)/` \\w+ `(?P<name>[^`]+)`: (?P<error>[^\\n]+)'}
            text: |
              ```json
              {"verdict": "wrong",
               "failure_mode": "The {name} run failed before the posting: {error}. The pipeline went on with what it had.",
               "error_signature": "{error}",
               "stage": "tool-execution",
               "first_wrong_step": {"span_path": "{span}", "description": "failed: {error}"},
               "suspected": [{"kind": "component", "path": "apflow/graph.py", "line": null, "why": "the graph went on after the failure"}],
               "evidence": [{"path": "trace/errors.md", "note": "first failed run"}],
               "proposed_change": "Stop the invoice when a node fails instead of posting it.",
               "confidence": 0.6,
               "summary": "{error}"}
              ```
          - tool_use: {name: grep, input: {pattern: '"reason": "', path: trace}}
      - on_result:
          - if: {regex: '"reason": "(?P<reason>[A-Z_]+)"'}
            text: |
              ```json
              {"verdict": "wrong",
               "failure_mode": "The PO match returned {reason} and the invoice was parked.",
               "error_signature": null,
               "stage": "tool-execution",
               "first_wrong_step": null,
               "suspected": [{"kind": "component", "path": "apflow/nodes/po_match.py", "line": null, "why": "{reason}"}],
               "evidence": [{"path": "trace/index.tsv", "note": "{reason}"}],
               "proposed_change": "Review the match rule that raised {reason}.",
               "confidence": 0.55,
               "summary": "Parked with {reason}."}
              ```
          - tool_use: {name: read, input: {path: truth.md}}
      - on_result:
          - if: {regex: '(?m)^\\s*\\d+\\t(?P<note>[A-Z][^\\n]{20,})$'}
            text: |
              ```json
              {"verdict": "wrong",
               "failure_mode": "Nothing failed in the trace; the clerk's correction says: {note}",
               "error_signature": null,
               "stage": "data",
               "first_wrong_step": null,
               "suspected": [{"kind": "prompt", "path": "apflow/prompts/extract.md", "line": null, "why": "the extraction fed the posting"}],
               "evidence": [{"path": "truth.md", "note": "clerk"}],
               "proposed_change": "Add this invoice to the extraction eval: {note}",
               "confidence": 0.4,
               "summary": "{note}"}
              ```
          - text: |
              ```json
              {"verdict": "unclear", "failure_mode": "No finding.", "error_signature": null, "stage": "other",
               "first_wrong_step": null, "suspected": [], "evidence": [{"path": "truth.md"}],
               "proposed_change": null, "confidence": 0.2, "summary": "No finding."}
              ```
"""


# --- the backtest ---------------------------------------------------------------------------------

def plan(rng: random.Random, counts: dict[str, int], local: tuple[str, str], accounts: list[str], noise: int,
         passing: int) -> list[tuple[str, str | None, bool]]:
    """(account, cause, failed) per investigation, shuffled; the local cause (`local`: cause, account) only in
    its account. heldout_triage.py plans its chats with it too."""
    rows: list[tuple[str, str | None, bool]] = []
    for cause, count in counts.items():
        rows += [(local[1] if cause == local[0] else rng.choice(accounts), cause, True) for _ in range(count)]
    rows += [(rng.choice(accounts), None, True) for _ in range(noise)]
    rows += [(rng.choice(accounts), None, False) for _ in range(passing)]
    rng.shuffle(rows)
    return rows


def generate(out: Path, seed: int = 141) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated = [], [], []
    for n, (account, cause, failed) in enumerate(plan(rng, COUNTS, ("credit-note-sign", LOCAL_ACCOUNT),
                                                           list(ACCOUNTS), NOISE, PASSING)):
        inv = _invoice(rng, n, account, cause)
        facts: dict[str, Any] = {}
        runs = _run(rng, inv, cause, facts)
        (out / "traces" / f"{inv['id']}.json").write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")
        noise = rng.randrange(len(CLERK_NOISE)) if failed and cause is None else None
        truth = _clerk(rng, cause, noise, inv, facts)
        manifest.append({"id": inv["id"], "account": account, "trace": f"traces/{inv['id']}.json",
                         "answer": _answer(inv, facts), "truth": truth, "verdict": "wrong" if failed else "correct",
                         "metadata": {"invoice": inv["number"], "vendor": inv["vendor"][0]}})
        style = rng.choice(STYLES) if failed else None
        planted.append({"id": inv["id"], "account": account, "cause": cause, "noise": noise, "style": style,
                        "first_error": facts["errors"][0] if facts["errors"] else None})
        templated.append({"id": inv["id"], **(_templated(rng, cause, style, inv, facts) if style else _correct())})
    for name, rows in (("manifest", manifest), ("planted", planted), ("templated", templated)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (out / "analyst.script.yaml").write_text(SCRIPT)


def digest(out: Path) -> str:
    """One hash of everything a generator wrote (its JSON Lines, YAML and traces), for the same-bytes tests."""
    h = hashlib.sha256()
    for p in sorted([*out.glob("*.jsonl"), *out.glob("*.yaml"), *(out / "traces").glob("*.json")]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def read_planted(out: Path) -> list[dict[str, object]]:
    """A generator's planted.jsonl: one row per investigation with its cause (None when causeless)."""
    return [json.loads(line) for line in (out / "planted.jsonl").read_text().splitlines()]


def regenerated(generate: Callable[..., None], work: Path, seed: int) -> tuple[str, str]:
    """The digests of the generator's output for `seed` again and for `seed + 1`, for the same-bytes tests."""
    generate(work / "again", seed=seed)
    generate(work / "other", seed=seed + 1)
    return digest(work / "again"), digest(work / "other")


def cli(generate: Callable[..., None], seed: int, doc: str | None) -> None:
    """A generator's command line: `--out DIR [--seed N]`."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generate(args.out, args.seed)
    print(f"wrote {args.out} (sha256 {digest(args.out)[:12]})")


if __name__ == "__main__":
    cli(generate, 141, __doc__)
