"""A fifth held-out backtest: loadplan, a freight dispatch planner built as several agents that hand
work to each other, traced with the OpenAI Agents SDK; written apart from the clustering work (from
the backtest formats alone) and never tuned on: measured once per method, reported whatever it shows.

The system: a shipper asks for a load to be moved ("14 pallets Rotterdam -> Lyon, ADR class 3, by
Thursday"). A Dispatcher agent looks the order up and hands off to a Rate agent (prices the lane), which
hands off to a Carrier agent (finds and books a truck), which hands off to a Dock agent (books the
unloading slot), which hands back to the Dispatcher for the plan it answers with. Each hand-off carries a
written brief: the next agent knows only what the brief says.

How it differs from the other generators, where a real team's backtest would:

- **traces are OpenAI Agents SDK exports** (`{"data": [trace, trace.span, ...]}` with `agent`,
  `generation`, `function`, `handoff` and `guardrail` spans; a tool's failure is the SDK's generic
  "Error running tool (non-fatal)" with the tool's own message under `error.data`); four agents, so a
  failure's evidence sits in a sub-agent's span tree, not under one root;
- **causes are recorded in different places**: in a sub-agent's hand-off brief (a constraint left out),
  in a tool argument (a slot time in UTC), in a tool result (a cached fuel index), in a retry pattern (a
  timed-out booking call simply made again), in an argument only one account produces (weights in
  pounds), and nowhere at all (a public holiday); some only in some runs (the carrier's missing
  certificate is in the search result in about half the runs, the dock's reading of the slot in half);
- **the same vocabulary everywhere**: timed-out calls retried harmlessly, cached (fresh) rates and dock
  notes appear in passing runs and in the ~22% of failures with no common cause (an order amended after
  planning, a truck that broke down, a disputed grade), whose analysts write about the same carriers,
  docks and rates;
- **analysts of six styles**: root-cause trees ("symptom <- because <- root"), bug-report forms, one-line
  notes, Dutch shorthand (a Rotterdam ops desk), analysts who blame the wrong agent in the structured
  fields (stage, suspected file and first wrong span from a neighbouring agent), and analysts who list
  three candidate causes (two of them other causes' words) and pick one; a cause's phrasings share few
  words. The quoting kind quotes the run's first error where it has one (often the harmless retry),
  else the span that shows the cause, else the reviewer's note.

Causes, as counts of the failures (about 98 of 210 investigations; shares 27/18/13/9/6/3 of them):

  dropped-constraint  27  the Rate agent's brief to the Carrier agent leaves out the special handling
                          (ADR class, reefer temperature, tail-lift): a truck that cannot take the load
  utc-dock-slot       18  the Dock agent books the slot in UTC; the site reads it as local time
  stale-fuel-index    13  the rate tool serves a cached quote with a months-old fuel surcharge index
  double-booking       9  a booking call that timed out is made again without checking: two trucks
  pounds-as-kilos      6  one account (nordfrost) sends weights in pounds, priced and booked as kilograms
  holiday-eta          3  the ETA ignores a public holiday at the destination (too few to be a main cause)
  (none)              22  failures with no common cause, in the same vocabulary

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each investigation's cause, where it is recorded and
the analyst's style: tests and benchmarks only), `templated.jsonl` and `quoting.jsonl`. Same seed, same
bytes.

    .venv/bin/python tests/backtest/heldout_dispatch.py --out /tmp/dispatch [--seed 81]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COUNTS = {"dropped-constraint": 27, "utc-dock-slot": 18, "stale-fuel-index": 13, "double-booking": 9,
          "pounds-as-kilos": 6, "holiday-eta": 3}
NOISE = 22
PASSING = 112
LOCAL_ACCOUNT = "nordfrost"
WHERE = {"dropped-constraint": "handoff", "utc-dock-slot": "argument", "stale-fuel-index": "tool-result",
         "double-booking": "retry", "pounds-as-kilos": "argument", "holiday-eta": "nowhere"}

# account -> the special handling its loads usually need (None: plain dry freight)
ACCOUNTS = {"nordfrost": "reefer -18 C", "vinocasa": "ADR class 3", "pharmalink": "reefer 2-8 C",
            "agrimix": "ADR class 8", "techparts": "tail-lift", "brickworks": None}
EQUIPMENT = {"reefer -18 C": "reefer", "reefer 2-8 C": "reefer", "ADR class 3": "adr_van", "ADR class 8": "adr_van",
             "tail-lift": "tail_lift", None: "dry_van"}
LANES = [("NLRTM-DC3", "Rotterdam", "FRLYS-DC2", "Lyon"), ("DEHAM-X1", "Hamburg", "ITMIL-HUB", "Milan"),
         ("BEANR-P4", "Antwerp", "PLWAW-DC1", "Warsaw"), ("FRLIL-DC1", "Lille", "ESMAD-DC5", "Madrid"),
         ("NLVNL-C2", "Venlo", "CZPRG-DC2", "Prague"), ("DEDUS-W7", "Duisburg", "ATVIE-DC1", "Vienna")]
HOLIDAYS = {"Lyon": "Easter Monday", "Milan": "Liberation Day", "Warsaw": "Constitution Day",
            "Madrid": "San Isidro", "Prague": "Liberation Day", "Vienna": "Ascension Day"}
CARRIERS = ["Van Dijk Transport", "Kraus Logistik", "TransAlp", "Polar Freight", "Baltica Haulage", "Ruta Sur"]
CODE = {"planner": "loadplan/agents/dispatcher.py", "rate": "loadplan/agents/rate_agent.py",
        "carrier": "loadplan/agents/carrier_agent.py", "dock": "loadplan/agents/dock_agent.py",
        "brief": "loadplan/handoff/brief.py", "rates": "loadplan/tools/rates.py", "tms": "loadplan/tools/tms.py",
        "docks": "loadplan/tools/docks.py", "orders": "loadplan/tools/orders.py", "eta": "loadplan/eta.py",
        "prompt": "loadplan/prompts/dispatcher.md"}
EPOCH = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)


# --- what went wrong, per cause: where it sits, how reviewers and analysts word it ------------------

# The component each cause belongs to, and the stage an honest analyst files it under.
HOME = {"dropped-constraint": ("brief", "planning", "brief"), "utc-dock-slot": ("docks", "tool-execution", "book_dock"),
        "stale-fuel-index": ("rates", "data", "get_rate"), "double-booking": ("tms", "tool-execution", "book_load"),
        "pounds-as-kilos": ("orders", "input", "lookup_order"), "holiday-eta": ("eta", "reasoning", "answer")}
# A neighbouring component the misblaming analysts name instead.
WRONG_HOME = {"dropped-constraint": ("carrier", "tool-execution", "find_carriers"),
              "utc-dock-slot": ("prompt", "planning", "answer"), "stale-fuel-index": ("rate", "reasoning", "answer"),
              "double-booking": ("carrier", "planning", "find_carriers"), "pounds-as-kilos": ("rates", "data", "get_rate"),
              "holiday-eta": ("dock", "tool-execution", "book_dock")}

REVIEWER = {
    "dropped-constraint": ["Driver refused the load at {origin}: the {constraint} requirement was not on the booking.",
                           "Truck sent had no {equipment} capability; shipment needed {constraint}. Re-booked next day.",
                           "Carrier {carrier} cannot carry {constraint} loads, gate turned it away."],
    "utc-dock-slot": ["Truck at {dest} an hour before the slot opened; dock had it as {local} local.",
                      "Receiving at {dest} shows the slot one hour off from what we promised the customer.",
                      "Missed unloading window at {dest}, slot time was wrong by the UTC offset."],
    "stale-fuel-index": ["Invoice came in {pct}% above the quote: fuel surcharge was last autumn's.",
                         "Quoted price too low, the fuel index used dates from {old}.",
                         "Customer billed more than quoted; the surcharge table behind the quote was stale."],
    "double-booking": ["Two trucks turned up at {origin} for the same order ({carrier} twice).",
                       "Carrier invoiced a dry run: the load was booked twice.",
                       "Duplicate booking in the TMS for {order}; one truck left empty."],
    "pounds-as-kilos": ["Booked a full 24 t trailer for a {kg} kg load; order weight was in lb.",
                        "Quote far too high: {lb} was pounds, not kilograms.",
                        "Weight on the booking is 2.2x the real weight."],
    "holiday-eta": ["Delivery promised on {holiday} in {dest}; the site is closed.",
                    "ETA lands on a public holiday at {dest}, nobody to receive.",
                    "Customer told Thursday, but {holiday} closes {dest} that day."],
}
NOISE_REVIEWER = ["Shipper amended the pallet count after the plan was made; plan was right for the order it saw.",
                  "Truck broke down on the way to {origin}; the carrier and the slot were right.",
                  "Grade disputed: the plan follows the SOP, the reviewer expected a different carrier.",
                  "Pallets were not ready at {origin} when the truck came; nothing the planner could know.",
                  "Customer asked for delivery 'by Thursday' and meant pickup; request was ambiguous.",
                  "Dock at {dest} closed for a stock count announced that morning.",
                  "Carrier {carrier} withdrew its rate after booking (capacity), re-quoted by hand."]

# Phrasings a cause's analysts use (English); they share few words on purpose.
PHRASES = {
    "dropped-constraint": [
        "the carrier agent never learned the load was {constraint}: the brief it got said nothing about it",
        "special handling got lost between agents, so the truck search ran without the {equipment} filter",
        "hand-off summary from pricing to booking strips the shipment's requirements",
        "booking sub-agent planned from an incomplete brief ({constraint} missing) and picked an unsuitable truck",
        "requirement not propagated across the delegation; the second agent booked a plain trailer",
    ],
    "utc-dock-slot": [
        "unloading slot sent in UTC while the warehouse reads local time",
        "dock appointment off by the time-zone offset ({slot})",
        "the slot booking passes a Z timestamp; receiving interprets it as wall-clock time at {dest}",
        "timezone bug in the dock reservation: one hour early at the site",
        "appointment time converted wrongly, the truck arrived before the door opened",
    ],
    "stale-fuel-index": [
        "quote built on an outdated fuel surcharge index ({old})",
        "price came from a cached rate whose diesel table is months old",
        "rating tool returned a stale cache entry, so the surcharge percentage was last season's",
        "under-quoted because the lane price was not refreshed",
        "the tariff lookup served an expired entry; the invoice was higher than the offer",
    ],
    "double-booking": [
        "booking request timed out and the agent simply sent it again, creating a second load",
        "non-idempotent retry on the TMS call produced two bookings",
        "after the timeout it re-booked without first checking whether the first booking went through",
        "duplicate truck ordered: the retry logic has no existence check",
        "two confirmations for one order because the tool was called twice",
    ],
    "pounds-as-kilos": [
        "order weight is in pounds ({lb} lb) and was used as kilograms",
        "unit mix-up: lb read as kg, so a full trailer was priced",
        "the ERP feed of this shipper reports imperial weight; nothing converts it",
        "gross weight 2.2 times too high on the quote and the booking",
        "weight field taken at face value without its unit",
    ],
    "holiday-eta": [
        "ETA falls on {holiday}; the delivery date calculation ignores public holidays",
        "promised delivery on a closed day at the destination",
        "transit-time estimate does not know the regional calendar",
    ],
}
DUTCH = {
    "dropped-constraint": ["overdracht naar carrier-agent mist de eis ({constraint}); verkeerde wagen geboekt",
                           "briefing tussen agents laat speciale behandeling weg"],
    "utc-dock-slot": ["losslot in UTC doorgegeven, DC leest lokale tijd", "tijdzonefout bij dockafspraak, uur te vroeg"],
    "stale-fuel-index": ["tarief uit cache met oude brandstoftoeslag", "dieseltoeslag verouderd, offerte te laag"],
    "double-booking": ["boeking na time-out nogmaals verstuurd, twee trucks", "dubbele rit door herhaalde TMS-aanroep"],
    "pounds-as-kilos": ["gewicht in ponden als kilo's gelezen", "eenheid lb niet omgerekend, volle trailer geboekt"],
    "holiday-eta": ["levering gepland op feestdag ({holiday})", "ETA houdt geen rekening met feestdagen"],
}
NOISE_PHRASES = [
    "shipper changed the order after the plan; the carrier and dock booking were right for what the agents saw",
    "truck breakdown en route; rate, carrier and slot were all fine",
    "grading disagreement, the plan follows procedure; no agent error",
    "pallets not ready at pickup; nothing in the hand-off or bookings was wrong",
    "ambiguous request (pickup vs delivery date); the dispatcher's reading is defensible",
    "dock closed for an unannounced stock count; the slot booking itself was correct",
    "carrier withdrew its rate after confirming; market event, not a planning fault",
    "the retried timeout in the trace is harmless; the failure is an order amendment downstream",
]
DUTCH_NOISE = ["order na planning gewijzigd door verlader, geen fout van de agents",
               "truck onderweg kapot, boeking en tarief waren goed"]
SYMPTOM = {"dropped-constraint": "load refused at pickup", "utc-dock-slot": "truck at the dock at the wrong hour",
           "stale-fuel-index": "invoice above the quote", "double-booking": "two trucks for one order",
           "pounds-as-kilos": "oversized truck and price", "holiday-eta": "delivery on a closed day"}
NOISE_SYMPTOMS = ["plan marked wrong", "load not delivered on time", "truck sent back", "invoice disputed"]
FIXES = {"dropped-constraint": "copy the order's handling requirements into every hand-off brief verbatim",
         "utc-dock-slot": "send the slot with the site's UTC offset",
         "stale-fuel-index": "refuse cached rates older than a week",
         "double-booking": "look the booking up before retrying book_load",
         "pounds-as-kilos": "convert by weight_unit when reading the order",
         "holiday-eta": "add the destination's public holidays to the ETA calendar"}
QUOTE_DIAG = {
    "dropped-constraint": ["wrong equipment booked", "truck unsuitable for the load"],
    "utc-dock-slot": ["dock slot wrong", "slot time off"],
    "stale-fuel-index": ["quote too low", "surcharge wrong"],
    "double-booking": ["booked twice", "duplicate booking after the tool error"],
    "pounds-as-kilos": ["weight wrong", "truck size wrong for the load"],
    "holiday-eta": ["ETA wrong", "delivery date wrong"],
}
NOISE_DIAG = ["no planning error found", "outside the system", "plan was fine", "not reproducible from the trace"]
STYLES = ["tree", "bugreport", "oneliner", "dutch", "misblame", "candidates"]


# --- the runs -------------------------------------------------------------------------------------

class Spans:
    """Builds one run's OpenAI Agents SDK export: ids, parents and a clock moving forward."""

    def __init__(self, rng: random.Random, trace_id: str, start: datetime) -> None:
        self.rng, self.trace_id, self.clock, self.n = rng, trace_id, start, 0
        self.items: list[dict[str, Any]] = []
        self.paths: dict[str, str] = {}  # span id -> its folder in the export (NNN-kind-name, under its parent)
        self.steps: dict[str, str] = {}  # a step's first span (tool name, "brief", "answer") -> its folder

    def add(self, parent: str | None, data: dict[str, Any], error: dict[str, Any] | None = None,
            ms: tuple[int, int] = (5, 900)) -> str:
        self.n += 1
        span_id = f"span_{self.trace_id[6:22]}{self.n:08d}"
        began = self.clock
        self.clock += timedelta(milliseconds=self.rng.randint(*ms))
        self.items.append({"object": "trace.span", "id": span_id, "trace_id": self.trace_id, "parent_id": parent,
                           "started_at": began.isoformat(timespec="microseconds"),
                           "ended_at": self.clock.isoformat(timespec="microseconds"), "span_data": data,
                           "error": error})
        kind = {"agent": "agent", "generation": "llm", "function": "tool", "handoff": "chain"}[data["type"]]
        name = {"agent": f"agent {data.get('name')}", "generation": f"generation {data.get('model')}",
                "function": f"function {data.get('name')}",
                "handoff": f"handoff {data.get('from_agent')} {data.get('to_agent')}"}[data["type"]]
        folder = f"{self.n:03d}-{kind}-" + re.sub(r"[^a-z0-9._]+", "-", name.lower()).strip("-")
        self.paths[span_id] = f"{self.paths[parent]}/{folder}" if parent else folder
        if data["type"] == "function":
            self.steps.setdefault(str(data["name"]), self.paths[span_id])
        return span_id

    def agent(self, name: str, handoffs: list[str], tools: list[str]) -> str:
        return self.add(None, {"type": "agent", "name": name, "handoffs": handoffs, "tools": tools,
                               "output_type": "str"}, ms=(1, 3))

    def llm(self, parent: str, system: str, user: str, output: str | dict[str, Any]) -> None:
        out = ({"role": "assistant", "content": output} if isinstance(output, str) else
               {"role": "assistant", "content": None, "tool_calls": [{
                   "id": f"call_{self.n:03d}", "type": "function",
                   "function": {"name": output["name"], "arguments": json.dumps(output["args"])}}]})
        self.add(parent, {"type": "generation", "model": "gpt-4.1-2025-04-14",
                          "input": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                          "output": [out], "usage": {"input_tokens": self.rng.randint(400, 2400),
                                                     "output_tokens": self.rng.randint(20, 260)}},
                 ms=(300, 2500))

    def tool(self, parent: str, name: str, args: dict[str, Any], output: Any, error: str | None = None) -> None:
        self.add(parent, {"type": "function", "name": name, "input": json.dumps(args),
                          "output": None if error else json.dumps(output), "mcp_data": None},
                 error=None if error is None else {"message": "Error running tool (non-fatal)",
                                                   "data": {"tool_name": name, "error": error}},
                 ms=(10_000, 10_050) if error and "Timeout" in error else (40, 1200))

    def handoff(self, parent: str, source: str, target: str) -> None:
        self.add(parent, {"type": "handoff", "from_agent": source, "to_agent": target}, ms=(0, 2))


def _order(rng: random.Random, n: int, account: str, cause: str | None) -> dict[str, Any]:
    lane = rng.choice(LANES)
    constraint = ACCOUNTS[account] if rng.random() < 0.85 else None
    if cause == "dropped-constraint" and constraint is None:
        constraint = rng.choice([c for c in ACCOUNTS.values() if c])
    pallets = rng.randint(4, 26)
    kg = pallets * rng.randint(280, 720)
    imperial = account == LOCAL_ACCOUNT and (cause == "pounds-as-kilos" or rng.random() < 0.3)
    pickup = EPOCH + timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 8))
    return {"id": f"ORD-{70000 + n * 7 + rng.randint(0, 6)}", "account": account, "origin": lane[0],
            "origin_city": lane[1], "dest": lane[2], "dest_city": lane[3], "constraint": constraint,
            "equipment": EQUIPMENT[constraint], "pallets": pallets, "kg": kg,
            "weight": round(kg * 2.20462) if imperial else kg, "unit": "lb" if imperial else "kg",
            "pickup": pickup, "hour": rng.choice([6, 7, 8, 9, 10, 13, 14])}


def _brief(o: dict[str, Any], kg: int, drop: bool, rate: float | None = None) -> str:
    handling = "" if drop or o["constraint"] is None else f", {o['constraint']}"
    price = "" if rate is None else f" Agreed rate EUR {rate:.2f}."
    return (f"Hand-off brief for order {o['id']}: {o['pallets']} pallets, {kg} kg{handling}, pickup "
            f"{o['pickup']:%a %d %b} at {o['origin']} ({o['origin_city']}), deliver to {o['dest']} "
            f"({o['dest_city']}).{price}")


def _run(rng: random.Random, n: int, o: dict[str, Any], cause: str | None, facts: dict[str, Any]) -> dict[str, Any]:
    """One run's spans; `facts` gets what the analysts and the answer quote (slot, rate, first error...)."""
    trace_id = "trace_" + hashlib.sha256(f"{o['id']}-{n}".encode()).hexdigest()[:32]
    s = Spans(rng, trace_id, o["pickup"] - timedelta(days=2, hours=rng.randint(0, 10)))
    errors: list[str] = []
    kg = o["weight"] if cause == "pounds-as-kilos" else o["kg"]

    planner = s.agent("Dispatcher", ["Rate agent"], ["lookup_order"])
    request = (f"Please move order {o['id']}: {o['pallets']} pallets {o['origin_city']} -> {o['dest_city']}"
               f"{', ' + o['constraint'] if o['constraint'] else ''}, pickup {o['pickup']:%A}.")
    s.llm(planner, "You plan freight moves. Look the order up, then hand off to the Rate agent with a brief.",
          request, {"name": "lookup_order", "args": {"order_id": o["id"]}})
    s.tool(planner, "lookup_order", {"order_id": o["id"]},
           {"order_id": o["id"], "pallets": o["pallets"], "weight": o["weight"], "weight_unit": o["unit"],
            "handling": o["constraint"], "origin": o["origin"], "destination": o["dest"]})
    s.llm(planner, "You plan freight moves.", "Order found.", "Handing off to the Rate agent.")
    s.handoff(planner, "Dispatcher", "Rate agent")

    rate_agent = s.agent("Rate agent", ["Carrier agent"], ["get_rate"])
    s.llm(rate_agent, "You price lanes. Quote, then hand off to the Carrier agent with a brief.",
          _brief(o, kg, drop=False), {"name": "get_rate", "args": {"lane": f"{o['origin']}-{o['dest']}"}})
    rate_args = {"lane": f"{o['origin']}-{o['dest']}", "weight_kg": kg, "equipment": o["equipment"]}
    if rng.random() < 0.18:  # a harmless timeout, retried: right and wrong runs alike
        errors.append("ReadTimeout: rates service did not answer in 10s")
        s.tool(rate_agent, "get_rate", rate_args, None, error=errors[-1])
    stale = cause == "stale-fuel-index"
    index_date = (EPOCH - timedelta(days=rng.randint(110, 170))) if stale else (o["pickup"] - timedelta(days=rng.randint(2, 6)))
    rate = round(kg * rng.uniform(0.09, 0.14) * (2.1 if kg > 15000 else 1.0) + 180, 2)
    rate_out: dict[str, Any] = {"rate_eur": rate, "fuel_surcharge_pct": round(rng.uniform(9.5, 17.5), 1),
                                "fuel_index_date": f"{index_date:%Y-%m-%d}",
                                "source": "cache" if stale or rng.random() < 0.35 else "live"}
    if stale and rng.random() < 0.5:
        rate_out["cache_age_h"] = int((o["pickup"] - index_date).total_seconds() // 3600)
    s.tool(rate_agent, "get_rate", rate_args, rate_out)
    s.handoff(rate_agent, "Rate agent", "Carrier agent")

    carrier_agent = s.agent("Carrier agent", ["Dock agent"], ["find_carriers", "book_load", "find_booking"])
    dropped = cause == "dropped-constraint"
    brief = _brief(o, kg, drop=dropped, rate=rate)
    s.llm(carrier_agent, "You book carriers for the brief you are given. Then hand off to the Dock agent.", brief,
          {"name": "find_carriers", "args": {"lane": rate_args["lane"]}})
    s.steps["brief"] = s.paths[s.items[-1]["id"]] + "/messages/001-user.md"
    equipment = "dry_van" if dropped else ("mega_trailer" if kg > 15000 else o["equipment"])
    carrier = rng.choice(CARRIERS)
    found: list[dict[str, Any]] = [{"carrier": carrier, "equipment": equipment, "rate_eur": rate}]
    if dropped and rng.random() < 0.5:  # recorded in the search result in some runs only
        found[0]["certified_for"] = []
        found[0]["note"] = f"not certified for {o['constraint']}"
    s.tool(carrier_agent, "find_carriers", {"lane": rate_args["lane"], "equipment": equipment,
                                            "pickup": f"{o['pickup']:%Y-%m-%d}"}, found)
    book_args = {"carrier": carrier, "order_id": o["id"], "pickup": o["pickup"].isoformat()}
    booking = f"BK-{rng.randint(100000, 999999)}"
    if cause == "double-booking" or rng.random() < 0.1:
        errors.append(f"ReadTimeout: TMS did not answer in 10s (POST /bookings {o['id']})")
        s.tool(carrier_agent, "book_load", book_args, None, error=errors[-1])
        if cause != "double-booking":  # the right way: look first, find the booking went through
            s.tool(carrier_agent, "find_booking", {"order_id": o["id"]}, {"booking_id": booking, "status": "confirmed"})
    if cause == "double-booking" or not errors or "TMS" not in errors[-1]:
        s.tool(carrier_agent, "book_load", book_args, {"booking_id": booking, "status": "confirmed"})
    s.handoff(carrier_agent, "Carrier agent", "Dock agent")

    dock_agent = s.agent("Dock agent", ["Dispatcher"], ["book_dock"])
    arrive = o["pickup"].replace(hour=o["hour"], minute=30) + timedelta(days=1)
    utc = cause == "utc-dock-slot"
    # the site reads a slot's clock time as its own: a UTC slot lands an hour early
    slot = (arrive - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:00Z") if utc else arrive.strftime("%Y-%m-%dT%H:%M:00+01:00")
    s.llm(dock_agent, "You book unloading slots at the destination site.",
          f"Booked {booking} with {carrier}. Book the unloading slot at {o['dest']} for {o['pallets']} pallets.",
          {"name": "book_dock", "args": {"site": o["dest"]}})
    dock_out: dict[str, Any] = {"slot_id": f"SL-{rng.randint(1000, 9999)}", "accepted": True}
    if utc and rng.random() < 0.5:
        dock_out["interpreted_as"] = f"{arrive - timedelta(hours=1):%Y-%m-%d %H:%M} site local time"
    elif rng.random() < 0.2:
        dock_out["note"] = f"door {rng.randint(1, 12)} assigned"
    s.tool(dock_agent, "book_dock", {"site": o["dest"], "slot": slot, "pallets": o["pallets"]}, dock_out)
    s.handoff(dock_agent, "Dock agent", "Dispatcher")

    final = s.agent("Dispatcher", [], [])
    eta = arrive
    answer = (f"Plan for {o['id']}: {carrier} ({equipment}), pickup {o['pickup']:%a %d %b %H:%M} at {o['origin']}, "
              f"unloading slot {slot} at {o['dest']}, rate EUR {rate:.2f}, ETA {eta:%a %d %b}.")
    s.llm(final, "Summarise the plan for the shipper.", "Dock booked.", answer)
    s.steps["answer"] = s.paths[s.items[-1]["id"]] + "/output.md"
    facts.update(steps=s.steps, answer=answer, slot=slot, rate=rate, carrier=carrier, booking=booking, brief=brief,
                 errors=errors, rate_out=rate_out, found=found, index_date=f"{index_date:%Y-%m-%d}")
    head = {"object": "trace", "id": trace_id, "workflow_name": "loadplan dispatch", "group_id": o["id"],
            "metadata": {"account": o["account"], "order": o["id"]}}
    return {"data": [head, *s.items]}


# --- the analysts ---------------------------------------------------------------------------------

def _fill(text: str, o: dict[str, Any], f: dict[str, Any], rng: random.Random) -> str:
    return text.format(constraint=o["constraint"] or "special handling", equipment=o["equipment"],
                       origin=o["origin_city"], dest=o["dest_city"], carrier=f["carrier"], order=o["id"],
                       slot=f["slot"], local=f["slot"][11:16], old=f["index_date"], pct=rng.randint(6, 19),
                       kg=o["weight"], lb=o["weight"], holiday=HOLIDAYS[o["dest_city"]])


def _fields(home: tuple[str, str, str], why: str, f: dict[str, Any]) -> dict[str, Any]:
    component, stage, step = home
    return {"stage": stage, "first_wrong_step": {"span_path": "trace/" + f["steps"][step], "description": why[:300]},
            "suspected": [{"kind": "prompt" if component == "prompt" else "component", "path": CODE[component],
                           "line": None, "why": why[:300]}]}


def _templated(rng: random.Random, cause: str | None, style: str, o: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    """One failure's analysis in `style`; a causeless failure gets the same styles in the same words."""
    if cause is None:
        phrase = rng.choice(DUTCH_NOISE if style == "dutch" else NOISE_PHRASES)
        symptom, fix = rng.choice(NOISE_SYMPTOMS), None
        home = rng.choice(list(HOME.values()) + list(WRONG_HOME.values()))
    else:
        phrase = _fill(rng.choice(DUTCH[cause] if style == "dutch" else PHRASES[cause]), o, f, rng)
        symptom, fix = SYMPTOM[cause], FIXES[cause]
        home = WRONG_HOME[cause] if style == "misblame" else HOME[cause]
    others = [c for c in COUNTS if c != cause]
    if style == "tree":
        text = f"Root-cause tree: {symptom} <- {rng.choice(['because', 'caused by'])} {phrase} <- root: {phrase.split(',')[0]}"
    elif style == "bugreport":
        where = CODE[home[0]]
        text = f"BUG {o['id']}\nActual: {symptom}.\nCause: {phrase}.\nComponent: {where}"
    elif style == "dutch":
        text = f"{o['id']}: {phrase}."
    elif style == "candidates":
        a, b = rng.sample(others, 2)
        options = [_fill(rng.choice(PHRASES[a]), o, f, rng), phrase, _fill(rng.choice(PHRASES[b]), o, f, rng)]
        rng.shuffle(options)
        pick = "abc"[options.index(phrase)]
        text = ("Candidates: " + "; ".join(f"({k}) {x}" for k, x in zip("abc", options, strict=True))
                + f". Going with ({pick}).")
    else:  # oneliner, misblame: plain prose
        text = phrase[0].upper() + phrase[1:] + "."
    fields = _fields(home, phrase, f)
    if style == "misblame" and cause is not None:
        fields["first_wrong_step"]["description"] = f"{WRONG_HOME[cause][2]} looks off"
    return {"verdict": "wrong", "failure_mode": text, "error_signature": None, **fields,
            "evidence": [{"path": "truth.md", "note": symptom}], "proposed_change": fix,
            "confidence": round(rng.uniform(0.45, 0.9), 2), "summary": text.split("\n")[0][:300]}


def _quote(rng: random.Random, cause: str | None, o: dict[str, Any], f: dict[str, Any], note: str) -> tuple[str, bool]:
    """What the quoting analyst quotes: the run's first error, else the span that shows the cause, else the note."""
    if f["errors"]:
        return f["errors"][0], True
    shows = {"dropped-constraint": f["brief"], "utc-dock-slot": f'"slot": "{f["slot"]}"',
             "stale-fuel-index": f'"fuel_index_date": "{f["index_date"]}", "source": "{f["rate_out"]["source"]}"',
             "pounds-as-kilos": f'"weight": {o["weight"]}, "weight_unit": "{o["unit"]}"'}
    if cause in shows and rng.random() < 0.75:
        return shows[cause], False
    return note, False


def _quoting(rng: random.Random, cause: str | None, o: dict[str, Any], f: dict[str, Any], note: str) -> dict[str, Any]:
    quote, is_error = _quote(rng, cause, o, f, note)
    diag = rng.choice(NOISE_DIAG if cause is None else QUOTE_DIAG[cause])
    home = rng.choice(list(HOME.values())) if cause is None else HOME[cause]
    text = f"{diag[0].upper() + diag[1:]}. The {'trace' if quote != note else 'reviewer'} says: \"{quote}\""
    return {"verdict": "wrong", "failure_mode": text, "error_signature": quote[:500] if is_error else None,
            **_fields(home, diag, f), "evidence": [{"path": "trace/errors.md" if is_error else "truth.md", "note": quote[:300]}],
            "proposed_change": None if cause is None else FIXES[cause], "confidence": round(rng.uniform(0.5, 0.95), 2),
            "summary": text[:300]}


def _correct() -> dict[str, Any]:
    return {"verdict": "correct", "failure_mode": None, "error_signature": None, "stage": "none",
            "first_wrong_step": None, "suspected": [], "evidence": [], "proposed_change": None, "confidence": 0.9,
            "summary": "The plan matches what happened."}


# --- the backtest ---------------------------------------------------------------------------------

def _plan(rng: random.Random) -> list[tuple[str, str | None, bool]]:
    """(account, cause, failed) per investigation, shuffled; the local cause only in its account."""
    rows: list[tuple[str, str | None, bool]] = []
    for cause, count in COUNTS.items():
        rows += [(LOCAL_ACCOUNT if cause == "pounds-as-kilos" else rng.choice(list(ACCOUNTS)), cause, True)
                 for _ in range(count)]
    rows += [(rng.choice(list(ACCOUNTS)), None, True) for _ in range(NOISE)]
    rows += [(rng.choice(list(ACCOUNTS)), None, False) for _ in range(PASSING)]
    rng.shuffle(rows)
    return rows


def generate(out: Path, seed: int = 81) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated, quoting = [], [], [], []
    for n, (account, cause, failed) in enumerate(_plan(rng)):
        o = _order(rng, n, account, cause)
        facts: dict[str, Any] = {}
        trace = _run(rng, n, o, cause, facts)
        inv = f"lp-{n:04d}"
        (out / "traces" / f"{inv}.json").write_text(json.dumps(trace, indent=1) + "\n")
        noise = rng.randrange(len(NOISE_REVIEWER)) if failed and cause is None else None
        note = _fill(REVIEWER[cause][rng.randrange(3)] if cause else NOISE_REVIEWER[noise] if noise is not None
                     else "Plan executed as booked.", o, facts, rng)
        manifest.append({"id": inv, "account": account, "trace": f"traces/{inv}.json", "answer": facts["answer"],
                         "truth": note, "verdict": "wrong" if failed else "correct",
                         "metadata": {"order": o["id"], "lane": f"{o['origin']}-{o['dest']}"}})
        style = rng.choice(STYLES) if failed else None
        planted.append({"id": inv, "account": account, "cause": cause, "noise": noise,
                        "where": WHERE.get(cause or "", None), "style": style,
                        "recorded": _recorded(cause, facts)})
        if failed:
            templated.append({"id": inv, **_templated(rng, cause, style or "oneliner", o, facts)})
            quoting.append({"id": inv, **_quoting(rng, cause, o, facts, note)})
        else:
            templated.append({"id": inv, **_correct()})
            quoting.append({"id": inv, **_correct()})
    for name, rows in (("manifest", manifest), ("planted", planted), ("templated", templated), ("quoting", quoting)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _recorded(cause: str | None, facts: dict[str, Any]) -> bool | None:
    """Whether this run's trace shows its cause beyond the one place every run of it does."""
    if cause == "dropped-constraint":
        return "note" in facts["found"][0]
    if cause == "utc-dock-slot" or cause == "stale-fuel-index":
        return True
    if cause == "holiday-eta":
        return False
    return None if cause is None else True


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted([*out.glob("*.jsonl"), *(out / "traces").glob("*.json")]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seed", type=int, default=81)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generate(args.out, args.seed)
    print(f"wrote {args.out} (sha256 {digest(args.out)[:12]})")


if __name__ == "__main__":
    main()
