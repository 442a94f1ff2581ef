"""A ninth held-out backtest: firstday, a multi-agent onboarding assistant for HR teams (a conductor handing
each new hire to five specialist agents), recorded as Inspect AI eval logs; written apart from the
clustering work (from the backtest formats and one generator's interface alone) and never tuned on:
measured once per method, reported whatever it shows.

The system: when an offer is signed, the client's HR system sends a start request (name, role, department,
office, start date, manager). The conductor agent hands it to specialists through Inspect handoffs
(`transfer_to_<agent>` tools, each opening an `agent` span): policy_agent reads the client's onboarding
handbook, identity_agent creates the login and its groups in the identity provider, payroll_agent enrols
the hire in payroll, equipment_agent orders the kit, comms_agent sends the welcome mail and books the
day-one orientation. The conductor answers with the onboarding plan. On day one People Ops audits a
sample of hires (could they log in, are they paid on the right schedule, did the kit arrive, did they
know where to go); the auditor's note is the truth.

How it differs from the other generators, where a real team's backtest would:

- **traces are Inspect AI eval logs** (`.json`, one sample per log: `events` with `span_begin`/`span_end`
  of `agent` and `tool` spans, `model` events, `tool` events with `error`, a `sample_limit` event and the
  sample's `limit`, the system prompts moved to `attachments`);
- **two causes in the same agent and file** (identity_agent, `firstday/agents/identity.py`) that differ in
  what went wrong: a 409 on an alias a former employee held, answered by reactivating that employee's
  deprovisioned account (old groups and mailbox come back), and a department-prefix group match that adds
  the department's admin groups (no error; the IdP flags them `review_required`);
- **a cause with no error text at all** (payroll enrolled on the semi-monthly schedule of the prompt's worked
  example, not the client's): nothing in those traces fails, retries or warns, and analysts have no error
  to quote; **a cause in one account only** (lindqvist-bygg's site roles need an ID06 card, searched for in
  the `it` category of the kit catalogue, found nowhere, never ordered);
- **a cause in the conductor's order** (the welcome mail sent before the mailbox exists: an SMTP 550) and
  **one in a handoff loop** (equipment_agent and the conductor hand a missing address back and forth until
  Inspect's message limit ends the sample);
- **harmless errors everywhere**: a calendar 429, an IdP read timeout, an overloaded model call, each
  retried and passing, in about a third of runs (passing ones too), and alias collisions handled right
  (a 409, then `a.berg2`) in passing runs; the ~17% of failures with no common cause (a start date moved
  after the run, a laptop out of stock, an auditor using last year's checklist) are written in the same
  onboarding words, with the confidence of the others;
- **analysts of two kinds**: `quoting.jsonl`, an auditor quoting what she finds decisive in the log (the
  409, the groups, the enrolment's arguments, the bounce, the limit, the empty catalogue search), else the
  run's first error (often a harmless one), else her audit note; and `templated.jsonl` in six styles:
  commit messages, long hedged prose, numbered hypotheses with one chosen, Swedish shorthand from the
  Stockholm People Ops team, stand-up updates, and analysts filing it under the wrong stage and file.

Causes, as counts of the failures (101 of 180 investigations):

  group-prefix      26  department matched by prefix: the hire gets <dept>-admin groups (IdP: review_required)
  pay-schedule      19  payroll enrolled semi-monthly, as the prompt's example, not the client's schedule; no error
  welcome-bounce    14  the conductor runs comms before identity: welcome mail to a mailbox not yet made, SMTP 550
  alias-reactivate  11  idp 409 on a former employee's alias; the agent reactivates that deprovisioned account
  handoff-loop       8  equipment_agent <-> conductor over a missing address until Inspect's message limit (60)
  site-badge         6  one account (lindqvist-bygg) only: the ID06 card searched in category `it`, not ordered
  (none)            17  failures with no common cause, in the same vocabulary

Writes `manifest.jsonl`, `traces/` (one Inspect log per run), `planted.jsonl` (each run's cause, the
templated analyst's style, what the quoting analyst quoted, how many errors the log holds: tests and
benchmarks only), `quoting.jsonl` and `templated.jsonl`. Same seed, same bytes.

    .venv/bin/python tests/backtest/heldout_firstday.py --out /tmp/firstday [--seed 291]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # loaded by path (bench) or run as a script: heldout_invoice is beside it
from heldout_invoice import cli, plan
from heldout_triage import _analysis

COUNTS = {"group-prefix": 26, "pay-schedule": 19, "welcome-bounce": 14, "alias-reactivate": 11, "handoff-loop": 8,
          "site-badge": 6}
NOISE = 17
PASSING = 79
LOCAL_ACCOUNT = "lindqvist-bygg"
STYLES = ["commit", "hedged", "hypotheses", "swedish", "standup", "misfiled"]
T0 = datetime(2026, 10, 19, 6, 30, 0)
CONDUCTOR, SPECIALIST = "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5"

# account -> (mail domain, currency, pay schedule, offices (city, time zone), roles (title, department, site role))
ACCOUNTS: dict[str, dict[str, Any]] = {
    "lindqvist-bygg": {"domain": "lindqvistbygg.se", "currency": "SEK", "schedule": "monthly",
                       "offices": [("Stockholm", "Europe/Stockholm"), ("Göteborg", "Europe/Stockholm")],
                       "roles": [("Site Engineer", "Construction", True), ("Arbetsledare", "Construction", True),
                                 ("Quantity Surveyor", "Estimating", False), ("Payroll Specialist", "Finance", False)],
                       "names": (["Anna", "Johan", "Sara", "Erik", "Maja", "Oskar"],
                                 ["Berg", "Lund", "Holm", "Nyström", "Sandberg", "Ek"])},
    "brightwave-media": {"domain": "brightwave.io", "currency": "USD", "schedule": "biweekly",
                         "offices": [("Los Angeles", "America/Los_Angeles"), ("Austin", "America/Chicago")],
                         "roles": [("Video Editor", "Production", False), ("Account Executive", "Sales", False),
                                   ("Sales Engineer", "Sales", False), ("Data Analyst", "Finance", False)],
                         "names": (["Maya", "Jordan", "Chris", "Alex", "Priya", "Dana"],
                                   ["Brooks", "Nguyen", "Carter", "Reyes", "Shah", "Kim"])},
    "tamarind-health": {"domain": "tamarindhealth.co.uk", "currency": "GBP", "schedule": "monthly",
                        "offices": [("London", "Europe/London"), ("Leeds", "Europe/London")],
                        "roles": [("Clinical Coder", "Operations", False), ("Practice Manager", "Operations", False),
                                  ("Support Engineer", "Engineering", False), ("HR Advisor", "People", False)],
                        "names": (["Olivia", "Tom", "Amira", "Callum", "Grace", "Ravi"],
                                  ["Hughes", "Patel", "Walsh", "Okafor", "Reid", "Bennett"])},
    "quorra-robotics": {"domain": "quorra-robotics.de", "currency": "EUR", "schedule": "monthly",
                        "offices": [("München", "Europe/Berlin"), ("Berlin", "Europe/Berlin")],
                        "roles": [("Firmware Engineer", "Engineering", False), ("Test Technician", "Engineering", False),
                                  ("Buyer", "Procurement", False), ("Controller", "Finance", False)],
                        "names": (["Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas"],
                                  ["Bauer", "Keller", "Wolf", "Schreiber", "Vogel", "Hartmann"])},
    "pinecrest-credit": {"domain": "pinecrestcu.ca", "currency": "CAD", "schedule": "biweekly",
                         "offices": [("Vancouver", "America/Vancouver"), ("Calgary", "America/Edmonton")],
                         "roles": [("Member Advisor", "Branches", False), ("Risk Analyst", "Risk", False),
                                   ("Loans Officer", "Lending", False), ("IT Technician", "Engineering", False)],
                         "names": (["Emily", "Liam", "Noah", "Chloe", "Aiden", "Zoe"],
                                   ["Tremblay", "Wong", "MacDonald", "Singh", "Roy", "Fraser"])},
    "maru-foods": {"domain": "marufoods.jp", "currency": "JPY", "schedule": "monthly",
                   "offices": [("Tokyo", "Asia/Tokyo"), ("Osaka", "Asia/Tokyo")],
                   "roles": [("Quality Inspector", "Production", False), ("Brand Manager", "Marketing", False),
                             ("Logistics Planner", "Operations", False), ("Accountant", "Finance", False)],
                   "names": (["Yui", "Haruto", "Aoi", "Sota", "Rin", "Kenta"],
                             ["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe"])},
}

# Where each cause lives in firstday's code (the stage the analysts name when they read it right).
HOME = {"group-prefix": ("tool-execution", "firstday/agents/identity.py"),
        "alias-reactivate": ("tool-execution", "firstday/agents/identity.py"),
        "pay-schedule": ("reasoning", "prompts/payroll_agent.md"),
        "welcome-bounce": ("planning", "prompts/conductor.md"),
        "handoff-loop": ("reasoning", "prompts/equipment_agent.md"),
        "site-badge": ("retrieval", "firstday/tools/catalog.py")}
# Where analysts file what they misread: the wrong stage and file.
BLAME = [("infrastructure", "firstday/tools/http.py"), ("input", "firstday/intake.py"), ("answer", "prompts/summary.md"),
         ("data", "config/tenants.yaml"), ("planning", "firstday/conductor.py")]
# The harmless errors, retried and passing: (tool or model, stage and file an analyst quoting it blames, message).
HARMLESS = [("calendar_book", ("infrastructure", "firstday/tools/calendar.py"),
             "429 Too Many Requests: calendar API rate limit exceeded, retry after 2s"),
            ("idp_lookup_user", ("infrastructure", "firstday/tools/idp.py"),
             "ReadTimeout: HTTPSConnectionPool(host='idp.{domain}', port=443): Read timed out. (read timeout=10)"),
            ("model", ("infrastructure", "firstday/models.py"), "overloaded_error: Overloaded")]

PHRASES: dict[str, dict[str, list[str]]] = {
    "group-prefix": {
        "en": ["{dept} hire got {dept_l}-admin because the group mapping matches the department by prefix",
               "over-provisioned: admin groups granted on day one through a prefix match on the department name",
               "identity agent assigned privileged groups ({dept_l}-admin) nobody asked for; the IdP flagged them",
               "group assignment too broad, the department-to-group lookup is a startswith, so admin groups match"],
        "sv": ["fick {dept_l}-admin via prefixmatchning på avdelningsnamnet",
               "för många behörigheter, gruppmappningen matchar på prefix och tar med admingrupperna",
               "adminbehörighet från dag ett, avdelningen matchades på början av namnet"]},
    "alias-reactivate": {
        "en": ["login {login} already belonged to a former employee; on the 409 the agent reactivated that old account",
               "new hire inherited a deprovisioned account with its old groups and mailbox after an alias collision",
               "alias conflict handled by reviving the previous {login} instead of creating a fresh login",
               "identity agent reuses the former employee's account when create_user returns 409 Conflict"],
        "sv": ["409 på create_user, agenten återaktiverade den gamla användaren {login} med gamla grupper",
               "inloggningen fanns redan (avslutad anställd), kontot återupplivades i stället för nytt alias",
               "nyanställd fick en före detta anställds konto och brevlåda"]},
    "pay-schedule": {
        "en": ["payroll enrolment on a semi-monthly schedule, but {account} pays monthly; first pay run missed",
               "the payroll agent copied the semi-monthly example from its prompt instead of the client's pay calendar",
               "wrong pay frequency at enrolment: semi-monthly instead of {schedule}, so no salary on the first run",
               "enrolled with pay_schedule semi-monthly; nobody at {account} is paid that way"],
        "sv": ["lönen lagd på halvmånadsvis, kunden kör {schedule_sv}; första lönekörningen missad",
               "fel löneperiod vid registreringen, exemplet i prompten (semi-monthly) följde med",
               "lönefrekvensen blev fel, ingen lön på första körningen"]},
    "welcome-bounce": {
        "en": ["welcome mail went to {work_email} before the mailbox existed and bounced; the hire had no day-one instructions",
               "the conductor ran comms before identity, so the day-one email hit a mailbox that was not created yet",
               "day-one instructions never arrived: sent to the work address ahead of account creation, SMTP 550",
               "handoff order wrong in the plan: comms_agent first, identity_agent later, welcome email rejected"],
        "sv": ["välkomstmejlet skickades till jobbadressen innan brevlådan fanns och studsade",
               "fel ordning i planen, komms före identitet, mejlet gick i retur (550)",
               "nyanställd fick inga instruktioner inför första dagen, mejlet nådde aldrig fram"]},
    "handoff-loop": {
        "en": ["equipment agent and conductor handed the missing shipping address back and forth until the message limit",
               "handoff ping-pong between conductor and equipment_agent; Inspect stopped the sample at 60 messages",
               "laptop never ordered: the run looped on transfers over the address and hit the limit",
               "no kit and no welcome: the conversation ran out of messages in a transfer loop"],
        "sv": ["pingpong mellan conductor och utrustningsagenten tills meddelandegränsen slog till",
               "adressen saknades och agenterna skickade frågan fram och tillbaka, körningen tog slut",
               "ingen dator beställd, handoff-loop till gränsen på 60 meddelanden"]},
    "site-badge": {
        "en": ["ID06 card never ordered; the kit search only looked in the IT category, so the site engineer could not enter",
               "site role without its site badge: catalogue searched with category it, zero hits, ordered the laptop only",
               "handbook says site staff need an active ID06 card on day one; the equipment step searched the wrong category",
               "no personalliggare badge for the site hire, the catalogue query filtered to IT kit"],
        "sv": ["ID06-kortet beställdes aldrig, sökte bara i IT-katalogen",
               "platspersonal utan ID06, katalogsökningen filtrerade på kategori it",
               "kom inte in på bygget första dagen, passerkortet saknades i beställningen"]},
}
NOISE_PHRASES = {
    "en": ["start date moved by the hiring manager after the run, so the plan was for the old date",
           "laptop model out of stock at the vendor; kit will arrive a week late",
           "the auditor used last year's checklist, which still expects a VPN token",
           "IdP maintenance on the audit day, the auditor could not see the account",
           "hire's legal name differs from the offer letter, so the records need correcting",
           "manager's calendar was private and the 1:1 shows as busy",
           "benefits provider changed its enrolment form mid-month",
           "the new hire declined the offer on the Friday before and nothing should have been set up"],
    "sv": ["startdatumet flyttades av chefen efter körningen",
           "datormodellen slut hos leverantören, utrustningen kommer en vecka sent",
           "granskaren använde fjolårets checklista med VPN-token",
           "underhåll i IdP på granskningsdagen, kontot syntes inte",
           "det juridiska namnet skiljer sig från erbjudandebrevet",
           "chefens kalender var privat, 1:1 visas som upptagen",
           "förmånsleverantören bytte anmälningsformulär mitt i månaden",
           "kandidaten tackade nej fredagen innan, inget skulle ha satts upp"]}
NOISE_HOME = [("data", "firstday/intake.py"), ("tool-execution", "firstday/agents/equipment.py"), ("other", "config/checklists.yaml"),
              ("infrastructure", "firstday/tools/idp.py"), ("data", "firstday/intake.py"), ("tool-execution", "firstday/tools/calendar.py"),
              ("reasoning", "prompts/payroll_agent.md"), ("input", "firstday/intake.py")]
CHANGE = {"group-prefix": "map departments to groups by exact name in identity.py; never grant *-admin without a request",
          "alias-reactivate": "on 409 pick the next free alias; never reactivate a deprovisioned login for a new hire",
          "pay-schedule": "take pay_schedule from the tenant config; drop the semi-monthly worked example from payroll_agent.md",
          "welcome-bounce": "run identity_agent before comms_agent in the conductor's plan; send day-one mail to the personal address",
          "handoff-loop": "give equipment_agent the HRIS address lookup instead of handing back; cap transfers per agent",
          "site-badge": "search the site-safety category for site roles in catalog.py (or no category filter)"}
COMMIT = {"group-prefix": ["fix(identity): exact dept->group match, no prefix (hire got {dept_l}-admin)",
                           "identity: stop startswith() on department names; admin groups leaked",
                           "fix(idp-groups): privileged groups granted by prefix match"],
          "alias-reactivate": ["fix(identity): never reactivate deprovisioned login on 409 ({login})",
                               "identity: alias collision -> next free alias, not the old account",
                               "fix(idp): 409 handler revived a former employee's account"],
          "pay-schedule": ["fix(payroll-prompt): use tenant pay schedule, not semi-monthly example",
                           "payroll_agent.md: drop semi-monthly example, enrolment copied it",
                           "fix(payroll): wrong pay_schedule at enrolment ({account})"],
          "welcome-bounce": ["fix(conductor): identity before comms; welcome mail bounced 550",
                             "conductor.md: order handoffs so the mailbox exists before mail",
                             "fix(comms): day-one mail to personal address, work one bounced"],
          "handoff-loop": ["fix(equipment): resolve address via HRIS, stop transfer ping-pong",
                           "equipment_agent.md: no hand-back on missing address (hit msg limit)",
                           "fix(handoffs): cap transfers, loop ran to 60 messages"],
          "site-badge": ["fix(catalog): search site-safety for site roles (ID06 never ordered)",
                         "catalog.py: category=it filter hides ID06 card",
                         "fix(kit): site hires get their ID06 badge"]}
NOISE_COMMIT = ["chore: start date changed post-run, re-run onboarding", "kit: vendor stock-out, nothing to fix in agent",
                "audit: checklist out of date (VPN token)", "idp: audit during maintenance window",
                "data: legal name mismatch vs offer letter", "calendar: private manager calendar shows busy",
                "benefits: provider form changed", "intake: offer declined before start"]
QUOTE_READ = {"group-prefix": "the groups include an admin group a new {title} should not have",
              "alias-reactivate": "a fresh account was never made; the old one was revived",
              "pay-schedule": "that is not how {account} runs payroll",
              "welcome-bounce": "comms ran before the mailbox was created",
              "handoff-loop": "the sample ended there, nothing after equipment",
              "site-badge": "so the ID06 card was never in the order"}
LEADS = ["The log shows: `{q}`.", "Decisive line: `{q}`", "From the trace: \"{q}\"", "Quoting the span: {q}"]
ERROR_LEADS = ["I read errors.md; the error was: `{q}`", "First failure in the log: `{q}`.", "The tool returned: \"{q}\""]
# What an auditor concludes, with confidence, from a causeless failure's note (NOISE_PHRASES' order).
NOISE_CLAIMS = ["the intake read the start request once and never picked up the manager's change",
                "the equipment agent ordered a SKU without checking the vendor's stock",
                "the run follows a checklist the audit no longer uses, so the plan misses the VPN token",
                "the identity step left the account in a state the audit could not find",
                "the identity step took the name from the offer letter instead of the HRIS",
                "the comms agent booked the 1:1 against a calendar it could not read",
                "the payroll agent used a benefits form the provider had already replaced",
                "the intake did not check whether the offer was still accepted before onboarding"]
SCHEDULE_SV = {"monthly": "månadslön", "biweekly": "lön varannan vecka"}


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _case(rng: random.Random, n: int, account: str, cause: str | None) -> dict[str, Any]:
    acc = ACCOUNTS[account]
    roles = [r for r in acc["roles"] if r[2]] if cause == "site-badge" else acc["roles"]
    title, dept, site = rng.choice(roles)
    first, last = rng.choice(acc["names"][0]), rng.choice(acc["names"][1])
    city, tz = rng.choice(acc["offices"])
    login = f"{first[0].lower()}.{_slug(last).replace('ö', 'o')}"
    # a former employee's alias: the cause, or handled right (a 409, then login2); never in a pay-schedule
    # failure, whose traces hold no error text
    collided = cause == "alias-reactivate" or (cause != "pay-schedule" and rng.random() < 0.08)
    start = date(2026, 11, 2) + timedelta(weeks=rng.randrange(6))
    mfirst, mlast = rng.choice(acc["names"][0]), rng.choice(acc["names"][1])
    return {"id": f"onb-{1001 + n}", "account": account, "acc": acc, "first": first, "last": last, "login": login,
            "final_login": login if cause == "alias-reactivate" or not collided else login + "2", "collided": collided,
            "title": title, "dept": dept, "site": site, "city": city, "tz": tz, "start": start.isoformat(),
            "manager": f"{mfirst} {mlast}", "personal": f"{first.lower()}.{_slug(last)}{rng.randrange(10, 99)}@mailbox.org",
            "remote": cause == "handoff-loop" or rng.random() < 0.15, "t": T0 + timedelta(minutes=n * 37 + rng.randrange(30))}


class _Log:
    """One Inspect sample's events, written as Inspect writes them (span ids, timestamps, working time)."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng, self.t0, self.t, self.n = rng, start, start, 0
        self.events: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.last_result: tuple[str, str] | None = None  # (call id, result) of the latest tool call

    def _stamp(self, ms: int) -> dict[str, Any]:
        self.t += timedelta(milliseconds=ms)
        return {"timestamp": self.t.isoformat(timespec="milliseconds") + "+00:00",
                "working_start": round((self.t - self.t0).total_seconds(), 3)}

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:03d}{self.rng.randrange(16**6):06x}"

    def begin(self, kind: str, name: str, parent: str | None) -> str:
        ident = self._id("s")
        self.events.append({"span_id": parent, **self._stamp(3), "event": "span_begin", "id": ident, "parent_id": parent,
                            "type": kind, "name": name})
        return ident

    def end(self, ident: str) -> None:
        self.events.append({"span_id": ident, **self._stamp(2), "event": "span_end", "id": ident})

    def model(self, span: str, model: str, prompt: str, said: str, calls: list[tuple[str, dict[str, Any]]],
              error: str | None = None) -> list[str]:
        """A model call: the last message it read, what it said, the tools it called (their call ids)."""
        ids = [f"toolu_{self.rng.randrange(16**12):012x}" for _ in calls]
        message: dict[str, Any] = {"id": self._id("m"), "content": said, "source": "generate", "role": "assistant",
                                   "model": model.split("/")[1]}
        if calls:
            message["tool_calls"] = [{"id": i, "function": f, "arguments": a, "type": "function"}
                                     for i, (f, a) in zip(ids, calls)]
        read = [{"id": self._id("m"), "content": prompt, "role": "user", "source": "input"}]
        if self.last_result is not None:  # what the agent's previous tool call returned
            read.append({"id": self._id("m"), "content": self.last_result[1], "role": "tool",
                         "tool_call_id": self.last_result[0]})
        event: dict[str, Any] = {"span_id": span, **self._stamp(20), "event": "model", "model": model, "input": read,
                                 "tools": [], "tool_choice": "auto", "config": {"max_tokens": 2048, "temperature": 0.0}}
        self.t += timedelta(milliseconds=self.rng.randrange(600, 4000))  # the call's own time, to `completed`
        if error:
            event["output"] = {"model": model.split("/")[1], "choices": []}
            event["error"] = error
            self.errors.append(error)
        else:
            event["output"] = {"model": model.split("/")[1], "choices": [{"message": message,
                               "stop_reason": "tool_calls" if calls else "stop"}],
                               "usage": {"input_tokens": self.rng.randrange(900, 4200),
                                         "output_tokens": self.rng.randrange(40, 400)}}
        event["completed"] = self.t.isoformat(timespec="milliseconds") + "+00:00"
        self.events.append(event)
        self.last_result = None
        return ids

    def tool(self, span: str, call: str, function: str, args: dict[str, Any], result: Any,
             error: str | None = None, agent: str | None = None) -> str:
        """A tool call: the span Inspect opens for it and the tool event; returns the span (for what runs in it)."""
        inner = self.begin("tool", function, span)
        event: dict[str, Any] = {"span_id": span, **self._stamp(4), "event": "tool", "type": "function", "id": call,
                                 "function": function, "arguments": args,
                                 "result": result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)}
        if error:
            event["error"] = {"type": "unknown", "message": error}
            self.errors.append(error)
        if agent:
            event["agent"] = agent
        self.events.append(event)
        self.last_result = (call, error or event["result"])
        return inner

    def close_tool(self, inner: str, ms: int = 0) -> None:
        self._stamp(ms or self.rng.randrange(150, 1500))
        self.end(inner)


def _harmless(rng: random.Random, cause: str | None) -> list[int]:
    """Which harmless errors this run meets (indexes into HARMLESS): about a third of runs, never in a
    pay-schedule failure (its traces hold no error text at all)."""
    if cause == "pay-schedule" or rng.random() > 0.33:
        return []
    first = rng.randrange(len(HARMLESS))
    return sorted({first, rng.randrange(len(HARMLESS))}) if rng.random() < 0.2 else [first]


def _specialist(log: _Log, parent: str, agent: str, task: str, steps: list[tuple[str, dict[str, Any], Any, str | None]],
                said: str, noisy_model: bool = False) -> None:
    """A handoff: the conductor's transfer tool, the agent's span inside it, the agent's calls and its answer."""
    call = log.model(parent, CONDUCTOR, task, f"Handing over to {agent}.", [(f"transfer_to_{agent}", {})])[0]
    inner = log.tool(parent, call, f"transfer_to_{agent}", {}, said, agent=agent)
    log.last_result = None  # the agent starts from its task
    span = log.begin("agent", agent, inner)
    if noisy_model:
        log.model(span, SPECIALIST, task, "", [], error=HARMLESS[2][2])
    for function, args, result, error in steps:
        tcall = log.model(span, SPECIALIST, task, "", [(function, args)])[0]
        log.close_tool(log.tool(span, tcall, function, args, result, error))
    log.model(span, SPECIALIST, task, said, [])
    log.end(span)
    log.close_tool(inner, 5)
    log.last_result = (call, said)  # the conductor reads what the agent answered


def _policy(log: _Log, root: str, c: dict[str, Any]) -> None:
    hits = [{"doc": f"{c['account']}-handbook-2026.pdf#first-week", "score": 0.81,
             "text": f"New {c['dept']} staff: laptop and accounts ready on day one; orientation with People Ops."}]
    if c["site"]:
        hits.insert(0, {"doc": "lindqvist-bygg-handbook-2026.pdf#site-access", "score": 0.88,
                        "text": "Site roles: an active ID06 card (personalliggare) is required before site access on "
                                "day one. Order it from the kit catalogue, category site-safety."})
    _specialist(log, root, "policy_agent", f"Read the onboarding rules for a {c['title']} at {c['account']}.",
                [("handbook_search", {"query": f"onboarding checklist {c['title']}", "tenant": c["account"], "k": 3},
                  {"hits": hits}, None)], f"{len(hits)} handbook sections apply; checklist prepared.")


def _identity(log: _Log, root: str, c: dict[str, Any], cause: str | None, noise: list[int]) -> None:
    dept_l, domain = _slug(c["dept"]), c["acc"]["domain"]
    steps: list[tuple[str, dict[str, Any], Any, str | None]] = []
    if 1 in noise:
        steps.append(("idp_lookup_user", {"login": c["login"]}, "", HARMLESS[1][2].format(domain=domain)))
    if c["collided"]:
        gone = f"{log.rng.choice(['2023', '2024', '2025'])}-{log.rng.randrange(1, 13):02d}-{log.rng.randrange(1, 29):02d}"
        steps.append(("idp_lookup_user", {"login": c["login"]},
                      {"login": c["login"], "status": "deprovisioned", "deprovisioned_at": gone}, None))
        steps.append(("idp_create_user", {"login": c["login"], "given_name": c["first"], "family_name": c["last"]}, "",
                      f"409 Conflict: login '{c['login']}' already exists (status=deprovisioned)"))
        if cause == "alias-reactivate":
            steps.append(("idp_reactivate_user", {"login": c["login"]},
                          {"login": c["login"], "reactivated": True, "restored_groups": log.rng.randrange(9, 23),
                           "mailbox": f"restored ({log.rng.randrange(2, 40) / 10} GB)"}, None))
    else:
        steps.append(("idp_lookup_user", {"login": c["login"]}, {"login": c["login"], "status": "not_found"}, None))
    if cause != "alias-reactivate":
        steps.append(("idp_create_user", {"login": c["final_login"], "given_name": c["first"], "family_name": c["last"]},
                      {"login": c["final_login"], "email": f"{c['final_login']}@{domain}", "status": "active"}, None))
    groups = [f"{dept_l}-all", f"{dept_l}-{_slug(c['title'])}"]
    flagged = []
    if cause == "group-prefix":
        flagged = [f"{dept_l}-admin", log.rng.choice([f"{dept_l}-approvers", f"{dept_l}-data-write", "hris-read-all"])]
        groups += flagged
    steps.append(("idp_add_groups", {"login": c["final_login"], "groups": groups},
                  {"added": groups, "review_required": flagged}, None))
    _specialist(log, root, "identity_agent", f"Create the login for {c['first']} {c['last']} ({c['dept']}).", steps,
                f"Login {c['final_login']}@{domain} active with {len(groups)} groups.",
                noisy_model=2 in noise)


def _payroll(log: _Log, root: str, c: dict[str, Any], cause: str | None) -> None:
    schedule = "semi-monthly" if cause == "pay-schedule" else c["acc"]["schedule"]
    args = {"employee": c["final_login"], "start_date": c["start"], "currency": c["acc"]["currency"],
            "pay_schedule": schedule, "tax_region": c["city"]}
    first_pay = (date.fromisoformat(c["start"]) + timedelta(days=15 if schedule == "semi-monthly" else 26)).isoformat()
    _specialist(log, root, "payroll_agent", f"Enrol {c['first']} {c['last']} in payroll.",
                [("payroll_enroll", args, {"enrolled": True, "first_pay_date": first_pay}, None)],
                f"Enrolled in payroll ({schedule}); first pay date {first_pay}.")


def _equipment(log: _Log, root: str, c: dict[str, Any], cause: str | None) -> None:
    laptop = {"sku": "LT-14-PRO", "name": "14-inch laptop", "category": "it"}
    steps: list[tuple[str, dict[str, Any], Any, str | None]] = [
        ("catalog_search", {"query": f"standard kit {c['title']}", "category": "it"}, {"items": [laptop]}, None)]
    items = [laptop["sku"]]
    if c["site"] and cause == "site-badge":
        steps.append(("catalog_search", {"query": "ID06 card", "category": "it"},
                      {"items": [], "note": "0 items match 'ID06 card' in category 'it'"}, None))
    elif c["site"]:
        steps.append(("catalog_search", {"query": "ID06 card", "category": "site-safety"},
                      {"items": [{"sku": "ID06-CARD", "name": "ID06 personalliggare card", "category": "site-safety"}]},
                      None))
        items.append("ID06-CARD")
    ship = "home address (HRIS)" if c["remote"] else f"{c['city']} office"
    steps.append(("equipment_order", {"employee": c["final_login"], "items": items, "ship_to": ship},
                  {"order": f"PO-{log.rng.randrange(40000, 99999)}", "eta": c["start"]}, None))
    _specialist(log, root, "equipment_agent", f"Order the kit for a {c['title']}.", steps,
                f"Ordered {', '.join(items)}, arriving by {c['start']}.")


def _loop(log: _Log, root: str, c: dict[str, Any]) -> None:
    """The handoff loop: equipment_agent hands the missing address back, the conductor hands it over again."""
    rounds = log.rng.randrange(4, 7)
    for _ in range(rounds):
        _specialist(log, root, "equipment_agent", f"Order the kit for a {c['title']} working remotely.",
                    [("catalog_search", {"query": f"standard kit {c['title']}", "category": "it"},
                      {"items": [{"sku": "LT-14-PRO", "name": "14-inch laptop", "category": "it"}]}, None)],
                    "No shipping address on the start request; transferring back to the conductor.")
    log.events.append({"span_id": root, **log._stamp(5), "event": "sample_limit", "type": "message",
                       "message": "Message limit of 60 exceeded", "limit": 60})
    log.errors.append("Message limit of 60 exceeded")


def _comms(log: _Log, root: str, c: dict[str, Any], cause: str | None, noise: list[int]) -> None:
    domain = c["acc"]["domain"]
    to = f"{c['login']}@{domain}" if cause == "welcome-bounce" else c["personal"]
    steps: list[tuple[str, dict[str, Any], Any, str | None]] = []
    if cause == "welcome-bounce":
        steps.append(("send_email", {"to": to, "template": "welcome_day_one"}, "",
                      (f"SMTPRecipientsRefused: 550 5.1.1 <{to}>: Recipient address rejected: User unknown in "
                      "virtual mailbox table")))
    else:
        steps.append(("send_email", {"to": to, "template": "welcome_day_one"}, {"status": "queued"}, None))
    booking = {"title": "Day-one orientation", "attendee": to, "start": f"{c['start']}T09:00", "tz": c["tz"]}
    if 0 in noise:
        steps.append(("calendar_book", booking, "", HARMLESS[0][2]))
    steps.append(("calendar_book", booking, {"event_id": f"evt_{log.rng.randrange(16**8):08x}", "status": "confirmed"}, None))
    _specialist(log, root, "comms_agent", f"Welcome {c['first']} and book orientation.", steps,
                "Welcome email sent; orientation booked 09:00 local.")


def _run(rng: random.Random, c: dict[str, Any], cause: str | None, facts: dict[str, Any]) -> dict[str, Any]:
    noise = _harmless(rng, cause)
    log = _Log(rng, c["t"])
    init = log.begin("init", "init", None)
    request = (f"Onboard {c['first']} {c['last']} ({c['title']}, {c['dept']}, {c['city']}) starting {c['start']}; "
               f"manager {c['manager']}; permanent, full time"
               + ("; works remotely, no office" if c["remote"] else "") + ".")
    log.events.append({"span_id": init, **log._stamp(1), "event": "sample_init",
                       "sample": {"id": c["id"], "input": request, "target": "day-one checklist complete"}})
    log.end(init)
    solvers = log.begin("solvers", "solvers", None)
    root = log.begin("agent", "conductor", solvers)
    order = "policy, comms, identity" if cause == "welcome-bounce" else "policy, identity"
    log.model(root, CONDUCTOR, request, f"Plan: {order}, payroll, equipment" +
              (", comms." if cause != "welcome-bounce" else "."), [])
    _policy(log, root, c)
    if cause == "welcome-bounce":  # the conductor's order: comms before the mailbox exists
        _comms(log, root, c, cause, noise)
    _identity(log, root, c, cause, noise)
    _payroll(log, root, c, cause)
    if cause == "handoff-loop":
        _loop(log, root, c)
        answer = "Transferring to equipment_agent to place the kit order."
    else:
        _equipment(log, root, c, cause)
        if cause != "welcome-bounce":
            _comms(log, root, c, cause, noise)
        answer = _answer(c, cause)
        log.model(root, CONDUCTOR, "Summarise the onboarding plan.", answer, [])
    log.end(root)
    log.end(solvers)
    facts.update(answer=answer, errors=log.errors, request=request)
    sample: dict[str, Any] = {
        "id": c["id"], "epoch": 1, "input": request, "target": "day-one checklist complete",
        "messages": [{"id": "m-system", "content": "attachment://" + "5f1c0d7e" * 4, "role": "system"},
                     {"id": "m-request", "content": request, "source": "input", "role": "user"},
                     {"id": "m-answer", "content": answer, "source": "generate", "role": "assistant"}],
        "output": {"model": CONDUCTOR.split("/")[1], "choices": [{"message": {"id": "m-answer", "content": answer,
                                                                              "role": "assistant"}, "stop_reason": "stop"}]},
        "metadata": {"tenant": c["account"], "office": c["city"], "tz": c["tz"]},
        "events": log.events, "total_time": round((log.t - log.t0).total_seconds(), 3),
        "attachments": {"5f1c0d7e" * 4: "You are firstday's conductor. Hand each part of a start request to the "
                                         "specialist agent that owns it; when all have answered, summarise the plan."}}
    if cause == "handoff-loop":
        sample["limit"] = {"type": "message", "limit": 60}
    return {"version": 2, "status": "success",
            "eval": {"eval_id": f"ev-{c['id']}", "run_id": f"run-{c['t']:%Y%m%d}", "created": c["t"].isoformat() + "+00:00",
                     "task": "firstday_onboarding", "task_id": "firstday-onboarding",
                     "dataset": {"name": f"{c['account']}-start-requests", "samples": 1}, "model": CONDUCTOR,
                     "packages": {"inspect_ai": "0.3.152"}},
            "plan": {"name": "plan", "steps": [{"solver": "firstday_conductor", "params": {"message_limit": 60}}]},
            "stats": {"started_at": c["t"].isoformat() + "+00:00", "completed_at": log.t.isoformat() + "+00:00"},
            "samples": [sample]}


def _answer(c: dict[str, Any], cause: str | None) -> str:
    schedule = "semi-monthly" if cause == "pay-schedule" else c["acc"]["schedule"]
    to = f"{c['login']}@{c['acc']['domain']}" if cause == "welcome-bounce" else c["personal"]
    kit = "laptop" + (" and ID06 card" if c["site"] and cause != "site-badge" else "")
    return (f"Onboarding plan for {c['first']} {c['last']} ({c['title']}, {c['dept']}, starts {c['start']}):\n"
            f"- login {c['final_login']}@{c['acc']['domain']} active, {c['dept']} groups assigned\n"
            f"- payroll: enrolled, {schedule} schedule, {c['acc']['currency']}\n"
            f"- kit: {kit} ordered, arriving by {c['start']}\n"
            f"- welcome email sent to {to}; orientation {c['start']} 09:00 ({c['tz']}) with People Ops")


AUDIT = {"group-prefix": [("{first} {last} could open the {dept_l}-admin console on day one; security removed the "
                          "groups the IdP had flagged for review."),
                          "Access review: new {title} holds {dept_l}-admin. Not requested by {manager}; revoked."],
         "alias-reactivate": [("{first} signed in to a former employee's account ({login}): the old mailbox and group "
                              "memberships came back; IT made a new login."),
                              ("Login {login} was a deprovisioned account of someone who left; it was switched back on "
                              "for the new hire with the leaver's access.")],
         "pay-schedule": ["Not in the first payroll run: enrolled on a semi-monthly schedule; {account} pays {schedule}.",
                          "Payroll flagged {first} {last}: pay frequency semi-monthly does not exist in the {account} pay calendar."],
         "welcome-bounce": [("{first} never got the day-one email (it went to the work mailbox before it existed) and "
                            "waited in reception."),
                            "No welcome instructions received; mail log shows a bounce to {login}@{domain}."],
         "handoff-loop": ["No laptop on day one and no welcome email; the onboarding run stopped part-way.",
                          "Remote hire {first} {last} had no kit and no instructions; nothing after payroll was done."],
         "site-badge": ["{first} could not get onto the site on day one: no ID06 card was ordered.",
                        "Site access refused at the gate, ID06 card missing from the kit order for the {title}."]}
NOISE_CHANGE = ["re-run the onboarding after a start-date change", "pick a second laptop SKU when the first is out of stock",
                "update the audit checklist", "retry the IdP lookup after maintenance", "take the legal name from the HRIS",
                "book the 1:1 through the delegate calendar", "refresh the benefits form templates",
                "cancel onboarding when the offer is withdrawn"]
SIGNATURE = {"alias-reactivate": "409 Conflict: login already exists", "welcome-bounce": "SMTPRecipientsRefused: 550 5.1.1",
             "handoff-loop": "Message limit of 60 exceeded"}
HEDGES = ["I can't be fully sure from a single log, but my best reading is that {p}.",
          "Reading the whole run twice, it seems likely, though not certain, that {p}.",
          "With the caveat that I only had the trace and the audit note: {p}, or so it appears."]
DOUBTS = ["It could also be that {d}, although nothing in the log points there directly.",
          "A competing explanation is that {d}; I think it less likely but have not ruled it out.",
          "I considered whether {d}, and would want a second run before dismissing it."]


def _fill(text: str, c: dict[str, Any]) -> str:
    sched = c["acc"]["schedule"]
    return text.format(first=c["first"], last=c["last"], dept=c["dept"], dept_l=_slug(c["dept"]), login=c["login"],
                       account=c["account"], schedule=sched, schedule_sv=SCHEDULE_SV[sched], title=c["title"],
                       work_email=f"{c['login']}@{c['acc']['domain']}", domain=c["acc"]["domain"], manager=c["manager"])


def _audit(rng: random.Random, cause: str | None, noise: int | None, c: dict[str, Any]) -> str:
    if cause is None:
        return NOISE_PHRASES["en"][noise or 0][0].upper() + NOISE_PHRASES["en"][noise or 0][1:] + "."
    return _fill(rng.choice(AUDIT[cause]), c)


def _where(error: str, cause: str | None) -> tuple[str, str]:
    """The stage and file an analyst quoting this error blames."""
    for _, where, message in HARMLESS:
        if message[:24] in error:
            return where
    if "409 Conflict" in error:
        return "tool-execution", "firstday/agents/identity.py"
    return HOME[cause] if cause else ("other", "firstday/conductor.py")


def _decisive(cause: str, facts: dict[str, Any]) -> str:
    for event in facts["events"]:
        args, result = event.get("arguments") or {}, event.get("result") or ""
        if cause == "group-prefix" and event.get("function") == "idp_add_groups":
            return f'"groups": {json.dumps(args["groups"])} -> "review_required": {json.dumps(json.loads(result)["review_required"])}'
        if cause == "alias-reactivate" and event.get("function") == "idp_reactivate_user":
            return f"idp_reactivate_user -> {result}"
        if cause == "pay-schedule" and event.get("function") == "payroll_enroll":
            return f'"pay_schedule": "{args["pay_schedule"]}"'
        if cause == "site-badge" and "0 items" in result:
            return json.loads(result)["note"]
    return {"welcome-bounce": next((e for e in facts["errors"] if "550" in e), ""),
            "handoff-loop": "Message limit of 60 exceeded"}.get(cause, "")


def _quoting(rng: random.Random, cause: str | None, noise: int | None, c: dict[str, Any], facts: dict[str, Any],
             note: str) -> tuple[dict[str, Any], str]:
    """An auditor quoting what she finds decisive: the cause's own line, else the run's first error, else her note."""
    r, errors = rng.random(), facts["errors"]
    mode = ("decisive" if cause and r < 0.62 else "first-error" if errors and r < (0.82 if cause else 0.55) else
            "decisive" if cause and not errors and r < 0.82 else "note")
    if mode == "note":
        stage, path = HOME[cause] if cause else NOISE_HOME[noise or 0]
        text = f"Audit note: \"{note}\" The trace agrees: {_fill(rng.choice(PHRASES[cause]['en']), c) if cause else NOISE_CLAIMS[noise or 0]}."
        change = CHANGE[cause] if cause else NOISE_CHANGE[noise or 0]
        return _analysis(text, stage, path, note, {"path": "truth.md", "note": note[:300]}, change,
                         round(rng.uniform(0.7, 0.92), 2)), mode
    quote = _decisive(cause, facts) if mode == "decisive" and cause else errors[0]
    own = mode == "decisive" or _where(quote, cause) == HOME.get(cause or "", ("", ""))
    stage, path = HOME[cause] if own and cause else _where(quote, cause)
    read = _fill(QUOTE_READ[cause], c) if own and cause else "the run went wrong from this point on"
    is_error = quote in errors
    text = rng.choice(ERROR_LEADS if is_error else LEADS).format(q=quote) + " " + read[0].upper() + read[1:] + "."
    change = CHANGE[cause] if own and cause else f"retry and handle this error in {path}"
    return _analysis(text, stage, path, read, {"path": "trace/errors.md" if is_error else "trace/tree.txt",
                                                "note": quote[:300]}, change, round(rng.uniform(0.65, 0.93), 2),
                     signature=quote[:200] if is_error else None), mode


def _phrase(rng: random.Random, cause: str | None, noise: int | None, lang: str, c: dict[str, Any]) -> str:
    return _fill(rng.choice(PHRASES[cause][lang]), c) if cause else NOISE_PHRASES[lang][noise or 0]


def _decoys(rng: random.Random, cause: str | None, c: dict[str, Any], n: int) -> list[str]:
    """Other causes' findings, one each, that an analyst weighs against her own."""
    return [_fill(rng.choice(PHRASES[k]["en"]), c) for k in rng.sample([k for k in PHRASES if k != cause], n)]


def _templated(rng: random.Random, cause: str | None, noise: int | None, style: str, c: dict[str, Any]) -> dict[str, Any]:
    """One analyst's finding in one of six styles; the stage and file off in the misfiled style and now and then."""
    stage, path = HOME[cause] if cause else NOISE_HOME[noise or 0]
    if style == "misfiled" or rng.random() < 0.08:
        stage, path = rng.choice([b for b in BLAME if b[1] != path])
    p = _phrase(rng, cause, noise, "en", c)
    change = CHANGE[cause] if cause else NOISE_CHANGE[noise or 0]
    confidence = round(rng.uniform(0.7, 0.95), 2)
    if style == "commit":
        subject = _fill(rng.choice(COMMIT[cause]), c) if cause else NOISE_COMMIT[noise or 0]
        text = f"{subject}\n\n{p[0].upper() + p[1:]}. Refs {c['id']}."
    elif style == "hedged":
        text = (rng.choice(HEDGES).format(p=p) + " " + rng.choice(DOUBTS).format(d=_decoys(rng, cause, c, 1)[0])
                + f" Before changing anything I would look again at how {c['account']} is configured.")
        confidence = round(rng.uniform(0.35, 0.6), 2)
    elif style == "hypotheses":
        options = [p, *_decoys(rng, cause, c, 2)]
        rng.shuffle(options)
        pick = options.index(p) + 1
        text = "\n".join(f"H{n}: {o}" for n, o in enumerate(options, 1)) + f"\n-> going with H{pick}, it fits the audit note."
    elif style == "swedish":
        text = f"{_phrase(rng, cause, noise, 'sv', c)}. Förslag: {change}."
    elif style == "standup":
        text = f"{c['id']} ({c['account']}): looked at it this morning. TL;DR {p}. Next: {change}. No blockers."
    else:  # misfiled: the symptom right, the blame on a neighbouring part
        text = f"{p[0].upper() + p[1:]}; this comes from {path}, which should have caught it."
    signature = SIGNATURE.get(cause or "") if style in ("commit", "standup") and rng.random() < 0.5 else None
    return _analysis(text, stage, path, p, {"path": rng.choice(["trace/tree.txt", "trace/errors.md", "truth.md"])},
                     change, confidence, signature=signature)


def _correct() -> dict[str, Any]:
    return {"verdict": "correct", "failure_mode": None, "error_signature": None, "stage": "none",
            "first_wrong_step": None, "suspected": [], "evidence": [], "proposed_change": None, "confidence": 0.9,
            "summary": "Everything the audit checks was in place on day one."}


def generate(out: Path, seed: int = 291) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, quoting, templated = [], [], [], []
    for n, (account, cause, failed) in enumerate(plan(rng, COUNTS, ("site-badge", LOCAL_ACCOUNT), list(ACCOUNTS),
                                                           NOISE, PASSING)):
        c = _case(rng, n, account, cause)
        facts: dict[str, Any] = {}
        log = _run(rng, c, cause, facts)
        facts["events"] = log["samples"][0]["events"]
        (out / "traces" / f"{c['id']}.json").write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n")
        noise = rng.randrange(len(NOISE_PHRASES["en"])) if failed and cause is None else None
        note = _audit(rng, cause, noise, c) if failed else ""
        truth = f"People Ops day-one audit: {note}" if failed else \
            "People Ops day-one audit: login, pay schedule, kit, welcome mail and orientation all in place."
        manifest.append({"id": c["id"], "account": account, "trace": f"traces/{c['id']}.json", "answer": facts["answer"],
                         "truth": truth, "verdict": "wrong" if failed else "correct",
                         "metadata": {"role": c["title"], "office": c["city"], "start_date": c["start"]}})
        style = rng.choice(STYLES) if failed else None
        quoted = None
        if failed:
            q, quoted = _quoting(rng, cause, noise, c, facts, note)
            quoting.append({"id": c["id"], **q})
            templated.append({"id": c["id"], **_templated(rng, cause, noise, style or "commit", c)})
        else:
            quoting.append({"id": c["id"], **_correct()})
            templated.append({"id": c["id"], **_correct()})
        planted.append({"id": c["id"], "account": account, "cause": cause, "noise": noise, "style": style,
                        "quoted": quoted, "errors": len(facts["errors"])})
    for name, rows in (("manifest", manifest), ("planted", planted), ("quoting", quoting), ("templated", templated)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


if __name__ == "__main__":
    cli(generate, 291, __doc__)
