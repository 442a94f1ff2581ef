"""A seventh held-out backtest: carepath, a patient-facing symptom-triage chat agent for telehealth clinics
(English and Portuguese), built with Pydantic AI and recorded as its message histories; written apart from
the clustering work (from the backtest formats alone) and never tuned on: measured once per method,
reported whatever it shows.

The system: a patient (or a parent) chats with the agent; it looks the account holder up, asks a question
or two, runs a triage protocol tool (complaint, age, temperature, flags -> a disposition: self-care, GP
within 72 hours, urgent care today, emergency now), checks the patient's medicines for interactions when
they mention any, books a slot and tells the patient what to do. A nurse reviews a sample of chats; the
nurse's disposition is the truth.

How it differs from the other generators, where a real team's backtest would:

- **traces are Pydantic AI message histories** (`result.all_messages_json()`: `request`/`response`
  messages with typed parts: `user-prompt`, `tool-call`, `tool-return`, `retry-prompt`), one per chat,
  several user turns each; there are no spans in the file, the exporter makes them;
- **conversations, in two languages**: three of the six clinic networks chat in Portuguese, so a cause
  is recorded in Portuguese in their runs ("14 meses", "os labios estao roxos");
- **a cause is recorded in a tool call's arguments** (an infant's age in months passed as years; a
  temperature in Fahrenheit passed as Celsius, one US network only), **in what is missing** (a red flag
  the patient mentions after the protocol ran, with no second protocol call), **in a tool's result** (an
  interaction check that does not know a new drug and says "no interactions" for the ones it knows), and
  **as retries** (the slot service failing three times, after which the agent downgrades the advice);
- **harmless errors everywhere**: a Portuguese "38,5" fails the protocol's number validation and is
  retried (a `retry-prompt` in passing runs), the slot service fails once and then answers, interaction
  checks return unknown vitamins; the ~21% of failures with no common cause (a patient who gave a wrong
  age, a reviewer who disagrees with a defensible disposition, symptoms that changed after the chat) are
  written in the same clinical words;
- **analysts of two kinds**: `quoting.jsonl`, a clinical reviewer reading the history who quotes the
  part she finds decisive (the cause's own part in most runs; else the run's first retried error, often
  the harmless one; else the nurse's note), and `templated.jsonl` in six styles: SOAP notes, Portuguese
  shorthand from the clinical-safety team in Porto, patient-safety incident forms, analysts who give
  probabilities over two or three causes, analysts who blame the model or the patient (and file it under
  that stage and file), and chatty team-chat messages; a cause's phrasings share few words.

Causes, as counts of the failures (about 98 of 210 chats):

  infant-age-months    26  an age said in months ("14 months") goes to the protocol as years: an infant's
                           fever is triaged with the older child's protocol (under-triage)
  late-red-flag        19  a red flag the patient adds after the disposition is not re-triaged
  unknown-drug         14  the interaction check does not know a newer drug, answers "no interactions"
                           for the rest, and the agent says the medicines are fine together
  slot-retries-exhausted 10  the slot service fails three times; the agent gives self-care advice instead
                           of the urgent appointment the protocol asked for
  fahrenheit-temp       7  one network (lakeshore-health, US) only: 101.8 (F) goes to the protocol as
                           Celsius and a mild fever is sent to the emergency department
  wrong-service-slot    3  an appointment booked with dermatology for a paediatric rash (below the bar)
  (none)               21  failures with no common cause, in the same vocabulary

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each chat's cause, what the quoting analyst quoted,
the templated analyst's style: tests and benchmarks only), `quoting.jsonl` and `templated.jsonl`. Same
seed, same bytes.

    .venv/bin/python tests/backtest/heldout_triage.py --out /tmp/triage [--seed 171]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # loaded by path (bench) or run as a script: heldout_invoice is beside it
from heldout_invoice import cli, plan

COUNTS = {"infant-age-months": 26, "late-red-flag": 19, "unknown-drug": 14, "slot-retries-exhausted": 10,
          "fahrenheit-temp": 7, "wrong-service-slot": 3}
NOISE = 21
PASSING = 110
LOCAL_ACCOUNT = "lakeshore-health"
ACCOUNTS = {"saude-norte": "pt", "clinica-lumiar": "pt", "vila-mariana": "pt", "riverside-gp": "en",
            "dublin-family": "en", "lakeshore-health": "en"}
EPOCH = datetime(2025, 5, 5, 6, 0)
MODEL = "gpt-4.1-2025-04-14"
INSTRUCTIONS = ("You are CarePath, a triage assistant for {clinic}. Find out what the patient needs, run "
                "triage_protocol before giving any advice, check medicines with check_interactions, book with "
                "find_slot when the protocol asks for an appointment. Never diagnose. Account holder: {pid}.")
DISPOSITIONS = ["self_care", "gp_72h", "urgent_same_day", "emergency_now"]
SERVICE = {"gp_72h": "general_practice", "urgent_same_day": "urgent_care"}

# complaint -> (English opening, Portuguese opening, protocol name)
COMPLAINTS = {
    "fever": ("{who} has had a fever since last night, {temp} this morning.",
              "{who} tem febre desde ontem a noite, {temp} hoje de manha.", "Fever"),
    "cough": ("{who} has had a cough for five days and a temperature of {temp}.",
              "{who} tem tosse ha cinco dias e {temp} de febre.", "Cough / respiratory"),
    "rash": ("{who} has a red rash on the arms and a temperature of {temp}.",
             "{who} tem manchas vermelhas nos bracos e {temp} de febre.", "Rash"),
    "vomiting": ("{who} has been vomiting since this morning, temperature {temp}.",
                 "{who} esta a vomitar desde esta manha, temperatura {temp}.", "Vomiting"),
}
RED_FLAGS = {"en": ["oh and his lips look a bit blue now", "she is also really hard to wake up",
                    "I forgot to say, the rash does not fade when I press a glass on it", "now he is breathing very fast"],
             "pt": ["ah e os labios estao roxos agora", "ela tambem esta muito dificil de acordar",
                    "esqueci de dizer, as manchas nao desaparecem quando carrego com um copo",
                    "agora ele esta a respirar muito depressa"]}
BENIGN_LATE = {"en": ["thanks, can I give paracetamol in the meantime?", "ok thank you", "is the clinic on Main Street?"],
               "pt": ["obrigada, posso dar paracetamol entretanto?", "ok obrigado", "a clinica e a da avenida?"]}
MEDS = ["metformin 500mg", "lisinopril 10mg", "sertraline 50mg", "atorvastatin 20mg", "levothyroxine 50mcg"]
NEW_DRUGS = ["tirzepatide 5mg", "semaglutide 1mg", "finerenone 20mg"]
VITAMINS = ["vitamin D3 1000 IU", "magnesium glycinate", "fish oil 1g"]


# --- the conversation -----------------------------------------------------------------------------

class History:
    """One chat's Pydantic AI message history, with a clock moving forward and call ids."""

    def __init__(self, rng: random.Random, start: datetime, instructions: str) -> None:
        self.rng, self.clock, self.instructions = rng, start, instructions
        self.messages: list[dict[str, Any]] = []
        self.calls = 0

    def _now(self, lo: int, hi: int) -> str:
        self.clock += timedelta(milliseconds=self.rng.randint(lo, hi))
        return self.clock.isoformat(timespec="microseconds") + "Z"

    def request(self, parts: list[dict[str, Any]]) -> None:
        self.messages.append({"parts": parts, "instructions": self.instructions, "kind": "request"})

    def user(self, text: str) -> None:
        self.request([{"content": text, "timestamp": self._now(8_000, 60_000), "part_kind": "user-prompt"}])

    def _response(self, parts: list[dict[str, Any]], finish: str) -> None:
        tokens_in, tokens_out = self.rng.randint(700, 3200), self.rng.randint(15, 260)
        self.messages.append({
            "parts": parts, "usage": {"input_tokens": tokens_in, "cache_write_tokens": 0,
                                      "cache_read_tokens": self.rng.choice([0, 0, 512, 1024]), "output_tokens": tokens_out,
                                      "input_audio_tokens": 0, "cache_audio_read_tokens": 0, "output_audio_tokens": 0,
                                      "details": {"accepted_prediction_tokens": 0, "audio_tokens": 0,
                                                  "reasoning_tokens": 0, "rejected_prediction_tokens": 0}},
            "model_name": MODEL, "timestamp": self._now(600, 3500), "kind": "response", "provider_name": "openai",
            "provider_details": {"finish_reason": "tool_calls" if finish == "tool_call" else "stop"},
            "provider_response_id": f"chatcmpl-{self.rng.getrandbits(96):024x}", "finish_reason": finish})

    def say(self, text: str) -> None:
        self._response([{"content": text, "id": None, "part_kind": "text"}], "stop")

    def call(self, tool: str, args: dict[str, Any]) -> str:
        self.calls += 1
        call_id = f"call_{self.rng.getrandbits(96):024x}"[:29]
        self._response([{"tool_name": tool, "args": json.dumps(args, ensure_ascii=False), "tool_call_id": call_id,
                         "id": None, "part_kind": "tool-call"}], "tool_call")
        return call_id

    def returns(self, tool: str, call_id: str, content: Any) -> None:
        self.request([{"tool_name": tool, "content": content, "tool_call_id": call_id, "metadata": None,
                       "timestamp": self._now(40, 1500), "part_kind": "tool-return"}])

    def retry(self, tool: str, call_id: str, content: Any) -> None:
        self.request([{"content": content, "tool_name": tool, "tool_call_id": call_id,
                       "timestamp": self._now(40, 12_000), "part_kind": "retry-prompt"}])


def _case(rng: random.Random, n: int, account: str, cause: str | None) -> dict[str, Any]:
    """Who the chat is about: age, temperature, complaint, medicines, what the patient adds late."""
    lang = ACCOUNTS[account]
    complaint = "rash" if cause == "wrong-service-slot" else rng.choice(list(COMPLAINTS))
    if cause in ("infant-age-months", "slot-retries-exhausted"):  # complaints whose protocol books a visit
        complaint = rng.choice(["fever", "cough"] if cause == "infant-age-months" else ["cough", "rash"])
    if cause == "infant-age-months":  # a year or more: read as years it lands in the adult band
        age = (rng.randint(12, 23), "months")
    elif cause is None and rng.random() < 0.2:
        age = (rng.randint(7, 23), "months")
    elif cause == "wrong-service-slot" or rng.random() < 0.35:
        age = (rng.randint(2, 11), "years")
    else:
        age = (rng.randint(19, 78), "years")
    fahrenheit = account == LOCAL_ACCOUNT
    temp_c = round(rng.uniform(37.6, 39.6), 1)
    meds: list[str] = []
    if cause == "unknown-drug":
        meds = [rng.choice(MEDS), rng.choice(NEW_DRUGS)]
    elif age[1] == "years" and age[0] > 18 and rng.random() < 0.45:
        meds = rng.sample(MEDS, rng.randint(1, 2)) + ([rng.choice(VITAMINS)] if rng.random() < 0.4 else [])
    late = None
    if cause == "late-red-flag" or rng.random() < 0.12:
        late = ("red", rng.choice(RED_FLAGS[lang]))
    elif rng.random() < 0.35:
        late = ("benign", rng.choice(BENIGN_LATE[lang]))
    return {"id": f"chat-{n:04d}", "account": account, "lang": lang, "complaint": complaint, "age": age,
            "temp_c": temp_c, "temp_f": round(temp_c * 9 / 5 + 32, 1), "fahrenheit": fahrenheit, "meds": meds,
            "late": late, "pid": f"P-{rng.randint(100000, 999999)}"}


def _who(c: dict[str, Any]) -> str:
    years, unit = c["age"]
    if c["lang"] == "pt":
        if unit == "months" or years < 18:
            return f"O meu filho de {years} {'meses' if unit == 'months' else 'anos'}"
        return "Eu"
    if unit == "months" or years < 18:
        return f"My son ({years} {unit})"
    return "I"


def _opening(c: dict[str, Any]) -> str:
    en, pt, _ = COMPLAINTS[c["complaint"]]
    temp = f"{c['temp_f']}" if c["fahrenheit"] else (f"{c['temp_c']}".replace(".", ",") if c["lang"] == "pt"
                                                      else f"{c['temp_c']}C")
    text = (pt if c["lang"] == "pt" else en).format(who=_who(c), temp=temp)
    text = text.replace("I has", "I have").replace("Eu tem", "Eu tenho").replace("Eu esta", "Eu estou")
    if c["meds"]:
        text += (" Tomo " if c["lang"] == "pt" else " I take ") + ", ".join(c["meds"]) + "."
    return text


def _protocol(c: dict[str, Any], age_years: float, temp_c: float, flags: list[str]) -> dict[str, Any]:
    """What the protocol tool answers for the arguments it was given (not for the real patient)."""
    name = COMPLAINTS[c["complaint"]][2]
    band = "infant 0-2y" if age_years < 2 else "child 2-12y" if age_years < 12 else "teen/adult"
    if flags or temp_c >= 41:
        disp = "emergency_now"
    elif age_years < 2 and temp_c >= 38:
        disp = "urgent_same_day"
    elif temp_c >= 39 or c["complaint"] in ("rash", "vomiting") and age_years < 12:
        disp = "gp_72h" if age_years >= 12 else "urgent_same_day"
    else:
        disp = "gp_72h" if c["complaint"] in ("cough", "rash") else "self_care"
    return {"protocol": f"{name}, {band}", "disposition": disp, "age_band": band,
            "advice": ["fluids", "paracetamol by weight"] if disp in ("self_care", "gp_72h") else ["do not wait"],
            "version": "2025.2"}


def _tell(c: dict[str, Any], disp: str, slot: str | None) -> str:
    pt = c["lang"] == "pt"
    words = {"self_care": ("Pode tratar em casa: liquidos e paracetamol.", "You can manage this at home: fluids and paracetamol."),
             "gp_72h": ("Marque consulta com o medico de familia nos proximos 3 dias.", "Please see your GP within 3 days."),
             "urgent_same_day": ("Precisa de ser visto hoje.", "This needs to be seen today."),
             "emergency_now": ("Va ja a urgencia ou ligue 112.", "Please go to the emergency department now or call 999.")}
    text = words[disp][0 if pt else 1]
    if slot:
        text += (" Marquei: " if pt else " Booked: ") + slot + "."
    return text


def _chat(rng: random.Random, c: dict[str, Any], cause: str | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One chat's history; `facts` gets what the answer, the truth and the analysts quote."""
    h = History(rng, EPOCH + timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 14), minutes=rng.randint(0, 59)),
                INSTRUCTIONS.format(clinic=c["account"], pid=c["pid"]))
    errors: list[str] = []
    decisive: dict[str, str] = {}  # cause -> the part that shows it, verbatim
    h.user(_opening(c))
    call = h.call("get_patient", {"patient_id": c["pid"]})
    h.returns("get_patient", call, {"patient_id": c["pid"], "registered_clinic": c["account"],
                                    "dependants": 1 if c["age"][0] < 18 or c["age"][1] == "months" else 0,
                                    "allergies": rng.choice([[], [], ["penicillin"], ["ibuprofen"]])})
    h.say("Esta a beber liquidos? Tem alguma dificuldade em respirar?" if c["lang"] == "pt"
          else "Is the patient drinking? Any trouble breathing?")
    h.user(rng.choice(["sim, bebe pouco, respira bem", "bebe normalmente, sem dificuldade"]) if c["lang"] == "pt"
           else rng.choice(["yes, drinking a little, breathing fine", "drinking normally, no trouble breathing"]))
    years, unit = c["age"]
    age_years = float(years) if cause == "infant-age-months" else round(years / 12, 1) if unit == "months" else float(years)
    temp = c["temp_f"] if c["fahrenheit"] and cause == "fahrenheit-temp" else c["temp_c"]
    args: dict[str, Any] = {"complaint": c["complaint"], "age_years": age_years, "temp_c": temp, "red_flags": []}
    if c["lang"] == "pt" and rng.random() < 0.3:  # "38,5" fails validation and the model sends a number
        bad = dict(args, temp_c=f"{c['temp_c']}".replace(".", ","))
        call = h.call("triage_protocol", bad)
        err = [{"type": "float_parsing", "loc": ["temp_c"], "msg": "Input should be a valid number, unable to parse "
                "string as a number", "input": bad["temp_c"]}]
        h.retry("triage_protocol", call, err)
        errors.append("triage_protocol: temp_c: Input should be a valid number, unable to parse string as a number")
    call = h.call("triage_protocol", args)
    result = _protocol(c, age_years, temp, [])
    h.returns("triage_protocol", call, result)
    if cause == "infant-age-months":
        decisive[cause] = f'triage_protocol {json.dumps(args)} -> {result["protocol"]}'
    if cause == "fahrenheit-temp":
        decisive[cause] = f'"temp_c": {temp} -> {result["disposition"]}'
    disp = result["disposition"]
    if c["meds"]:
        call = h.call("check_interactions", {"medicines": c["meds"]})
        unknown = [m for m in c["meds"] if m in NEW_DRUGS or m in VITAMINS and rng.random() < 0.5]
        found = {"interactions": [], "checked": [m for m in c["meds"] if m not in unknown], "unknown": unknown,
                 "formulary": "2023-11"}
        h.returns("check_interactions", call, found)
        if cause == "unknown-drug":
            decisive[cause] = json.dumps(found)
    slot = None
    if disp in SERVICE:
        service = "dermatology" if cause == "wrong-service-slot" else SERVICE[disp]
        fails = 3 if cause == "slot-retries-exhausted" else (1 if rng.random() < 0.15 else 0)
        for _ in range(fails):
            call = h.call("find_slot", {"service": service, "clinic": c["account"], "urgency": disp})
            errors.append("find_slot: SlotServiceError: upstream booking API returned 502 Bad Gateway")
            h.retry("find_slot", call, errors[-1].split(": ", 1)[1] + "; try again")
        if cause == "slot-retries-exhausted":
            decisive[cause] = errors[-1]
            disp = "self_care"  # the agent gave up and downgraded the advice
        else:
            call = h.call("find_slot", {"service": service, "clinic": c["account"], "urgency": disp})
            slot = f"{service} {c['account']} {(h.clock + timedelta(hours=rng.randint(2, 60))):%a %d %b %H:%M}"
            h.returns("find_slot", call, {"slot": slot, "service": service, "confirmed": True})
            if cause == "wrong-service-slot":
                decisive[cause] = f'find_slot {{"service": "{service}"}} for a {years} {unit} old with a rash'
    h.say(_tell(c, disp, slot) + (" Os medicamentos podem ser tomados em conjunto." if c["lang"] == "pt" and c["meds"]
                                  else " Your medicines are fine together." if c["meds"] else ""))
    if c["late"]:
        h.user(c["late"][1])
        if c["late"][0] == "red" and cause != "late-red-flag":  # the right way: run the protocol again
            call = h.call("triage_protocol", dict(args, red_flags=[c["late"][1]]))
            again = _protocol(c, age_years, temp, [c["late"][1]])
            h.returns("triage_protocol", call, again)
            disp = again["disposition"]
            h.say(_tell(c, disp, None))
        else:
            h.say("Sim, pode." if c["lang"] == "pt" else "Yes, that's fine. " + _tell(c, disp, None))
        if cause == "late-red-flag":
            decisive[cause] = c["late"][1]
    facts.update(errors=errors, decisive=decisive.get(cause or "", ""), disp=disp, slot=slot, args=args,
                 protocol=result["protocol"])
    return h.messages


# --- the nurse's review (the truth) ---------------------------------------------------------------

NURSE = {
    "infant-age-months": ["Under-triaged: a {years}-month-old with fever needs to be seen today.",
                          "Child is {years} months, protocol used was for older children. Should be urgent same day.",
                          "Infant fever handled as a school-age child's."],
    "late-red-flag": ["Parent reported '{late}' after the advice; that is an emergency, the chat did not change the advice.",
                      "Missed red flag at the end of the chat. Should have been 999/112.",
                      "Late symptom ignored: needed emergency care."],
    "unknown-drug": ["Told the patient {meds} are fine together; {new} was never checked.",
                     "Interaction advice wrong: the new medicine was not in the check.",
                     "Medicines reassured without a complete check ({new})."],
    "slot-retries-exhausted": ["Protocol said urgent, patient was told to stay home; no appointment made.",
                               "Booking failed and the advice was downgraded to self-care.",
                               "Should have been seen today; the chat ended with home care."],
    "fahrenheit-temp": ["Sent to the ED for {f} F (a mild fever). Should have been GP.",
                        "Over-triage: temperature taken as Celsius.",
                        "ED referral for a 38 C fever; unnecessary."],
    "wrong-service-slot": ["Booked with dermatology; a febrile child's rash needs the paediatric urgent slot.",
                           "Wrong service booked for the rash."],
}
NURSE_NOISE = ["Patient gave her age as 34, records say 43; advice was right for what she told us.",
               "I would have said GP, the chat said urgent; both are defensible.",
               "Symptoms changed two days after the chat; the advice fit what was reported then.",
               "Chat abandoned by the patient before the advice.",
               "Patient was already in the emergency department when chatting.",
               "Parent asked about a sibling halfway through; the chat mixed the two children up in the notes.",
               "Duplicate chat, the patient was seen on the first one.",
               "Reviewer flagged the tone, not the disposition."]


def _nurse(rng: random.Random, cause: str | None, noise: int | None, c: dict[str, Any]) -> str:
    if noise is not None:
        return NURSE_NOISE[noise]
    if cause is None:
        return "Disposition appropriate."
    new = next((m for m in c["meds"] if m in NEW_DRUGS), "")
    return rng.choice(NURSE[cause]).format(years=c["age"][0], late=(c["late"] or ("", ""))[1], meds=" and ".join(c["meds"]),
                                           new=new, f=c["temp_f"])


# --- the analysts ---------------------------------------------------------------------------------

HOME = {"infant-age-months": ("tool-execution", "carepath/tools/protocol_args.py"),
        "late-red-flag": ("planning", "carepath/prompts/triage.md"),
        "unknown-drug": ("data", "carepath/tools/interactions.py"),
        "slot-retries-exhausted": ("tool-execution", "carepath/tools/booking.py"),
        "fahrenheit-temp": ("input", "carepath/intake/vitals.py"),
        "wrong-service-slot": ("reasoning", "carepath/prompts/triage.md")}
BLAME = [("reasoning", "carepath/agent.py"), ("input", "carepath/intake/chat.py"), ("answer", "carepath/prompts/triage.md")]
PHRASES: dict[str, dict[str, list[str]]] = {
    "infant-age-months": {
        "en": ["age given in months was sent to the protocol as years, so the infant band was never used",
               "a {years}-month-old triaged as a {years}-year-old",
               "unit of the child's age lost between the chat and the protocol call",
               "protocol picked the school-age fever pathway for a baby",
               "babies' ages converted wrongly before triage"],
        "pt": ["idade em meses passada como anos ao protocolo", "bebe de {years} meses triado como crianca de {years} anos"],
        "blame": ["the model misunderstood the parent's message", "parent described the child's age confusingly"],
    },
    "late-red-flag": {
        "en": ["a warning sign reported after the advice did not trigger a new assessment",
               "no re-triage when the parent added '{late}'",
               "the conversation ended on the earlier disposition despite a new emergency symptom",
               "agent treats the disposition as final once given",
               "symptom escalation at the end of the chat was acknowledged but not acted on"],
        "pt": ["sinal de alarme no fim da conversa sem nova triagem", "a IA ignorou o sintoma grave que veio depois"],
        "blame": ["the patient only mentioned the serious symptom at the very end", "the model hallucinated reassurance"],
    },
    "unknown-drug": {
        "en": ["interaction check silently skipped a medicine it does not know ({new})",
               "the formulary behind the checker is old, so newer prescriptions come back as unknown and are ignored",
               "reassured about {meds} although one of them was never checked",
               "'unknown' results are read as 'no interaction'",
               "drug database out of date: GLP-1 agonists missing"],
        "pt": ["verificacao de interacoes nao conhece {new}, resposta 'sem interacoes' enganadora",
               "base de medicamentos desatualizada"],
        "blame": ["the model made up the reassurance about the medicines", "the patient listed the drugs unclearly"],
    },
    "slot-retries-exhausted": {
        "en": ["the booking service kept failing and the agent fell back to home-care advice",
               "after three 502s from find_slot the disposition was quietly downgraded",
               "no escalation path when an appointment cannot be made",
               "agent gave up on booking and changed the advice instead of handing over to a nurse",
               "appointment API outage turned an urgent case into self-care"],
        "pt": ["falha repetida na marcacao e o conselho passou a cuidados em casa", "erro 502 na agenda, sem escalar"],
        "blame": ["the model ignored the protocol's disposition", "the patient did not want an appointment"],
    },
    "fahrenheit-temp": {
        "en": ["temperature in Fahrenheit read as Celsius, so the protocol saw a lethal fever",
               "{f} went in as degrees C and came out as an emergency",
               "the intake does not convert US temperature units",
               "over-triage to the ED from a unit error on the thermometer reading"],
        "pt": ["temperatura em Fahrenheit lida como Celsius"],
        "blame": ["the model overreacted to a normal fever", "the patient typed the temperature wrong"],
    },
    "wrong-service-slot": {
        "en": ["booked the skin clinic for a feverish child's rash", "appointment with the wrong service"],
        "pt": ["marcacao na dermatologia em vez de pediatria"],
        "blame": ["the scheduler offered dermatology first"],
    },
}
NOISE_PHRASES = {"en": ["the patient's own report was wrong; the advice followed it",
                        "reviewer preference, both dispositions are within protocol",
                        "symptoms changed after the chat; nothing the agent could see",
                        "chat abandoned before the advice",
                        "patient was already at the hospital",
                        "two children mixed up by the parent in one chat",
                        "the retried validation error in the history is harmless; the disposition was defensible"],
                 "pt": ["o doente deu informacao errada, triagem correta para o que disse",
                        "divergencia do revisor, ambas as decisoes sao aceitaveis"]}
STYLES = ["soap", "portuguese", "incident", "probabilities", "blamer", "chatty"]
SYMPTOM = {"infant-age-months": "under-triage of an infant", "late-red-flag": "red flag missed",
           "unknown-drug": "unsafe medicine reassurance", "slot-retries-exhausted": "no appointment, advice downgraded",
           "fahrenheit-temp": "needless ED referral", "wrong-service-slot": "wrong clinic booked"}


def _fill(text: str, c: dict[str, Any]) -> str:
    return text.format(years=c["age"][0], late=(c["late"] or ("", ""))[1], new=next((m for m in c["meds"] if m in NEW_DRUGS), "a new drug"),
                       meds=", ".join(c["meds"]) or "the medicines", f=c["temp_f"])


def _analysis(text: str, stage: str, path: str, why: str, evidence: dict[str, str], change: str | None,
              confidence: float, signature: str | None = None) -> dict[str, Any]:
    return {"verdict": "wrong", "failure_mode": text[:2000], "error_signature": signature, "stage": stage,
            "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if path.endswith(".md") else "component", "path": path, "line": None,
                           "why": why[:300]}],
            "evidence": [evidence], "proposed_change": change, "confidence": confidence, "summary": text[:300]}


def _templated(rng: random.Random, cause: str | None, style: str, c: dict[str, Any]) -> dict[str, Any]:
    if cause is None:
        phrase = rng.choice(NOISE_PHRASES["pt" if style == "portuguese" else "en"])
        stage, path = rng.choice([*HOME.values(), *BLAME])
        symptom, change = rng.choice(["reviewer disagreed", "outcome worse than advice", "chat incomplete"]), None
    else:
        p = PHRASES[cause]
        phrase = _fill(rng.choice(p["pt"] if style == "portuguese" else p["blame"] if style == "blamer" else p["en"]), c)
        stage, path = rng.choice(BLAME) if style == "blamer" or rng.random() < 0.15 else HOME[cause]
        symptom, change = SYMPTOM[cause], f"fix: {phrase}"
    if style == "soap":
        text = (f"S: {symptom}. O: {rng.choice(['history read', 'transcript and tool calls read'])}. "
                f"A: {phrase}. P: {rng.choice(['raise with the product team', 'add to the safety eval set'])}.")
    elif style == "portuguese":
        text = f"{c['id']} - causa provavel: {phrase}."
    elif style == "incident":
        text = (f"Incident type: {symptom} | Contributing factor: {phrase} | "
                f"Harm: {rng.choice(['none', 'low', 'near miss'])}")
    elif style == "probabilities":
        others = rng.sample([k for k in PHRASES if k != cause], 2)
        options = [(phrase, 0.6), (_fill(rng.choice(PHRASES[others[0]]["en"]), c), 0.3),
                   (_fill(rng.choice(PHRASES[others[1]]["en"]), c), 0.1)]
        rng.shuffle(options)
        text = "; ".join(f"p~{p:.1f} {x}" for x, p in options)
    elif style == "chatty":
        text = (f"hey, looked at {c['id']} - so basically {phrase}. "
                f"{rng.choice(['same as last week?', 'have we seen this before?', 'cc clinical safety'])}")
    else:  # blamer
        text = phrase[0].upper() + phrase[1:] + "."
    return _analysis(text, stage, path, phrase, {"path": "truth.md", "note": "nurse review"}, change,
                     round(rng.uniform(0.3, 0.9), 2))


def _quoting(rng: random.Random, cause: str | None, c: dict[str, Any], f: dict[str, Any], note: str) -> tuple[dict[str, Any], str]:
    """A reviewer reading the history: quotes the cause's own part in most runs, else the first retried
    error, else the nurse's note; causeless chats: the first error, else a patient message, else the note."""
    roll = rng.random()
    if f["decisive"] and roll < 0.7:
        quote, what, signature = f["decisive"], "history", None
    elif f["errors"] and roll < 0.9:
        quote, what, signature = f["errors"][0], "error", f["errors"][0]
    elif cause is None and roll < 0.5:
        quote, what, signature = _opening(c), "history", None
    else:
        quote, what, signature = note, "nurse", None
    stage, path = HOME[cause] if cause else rng.choice([*HOME.values(), *BLAME])
    lead = {"history": "The chat history shows", "error": "A tool call failed and was retried", "nurse": "The nurse's review says"}[what]
    text = f'{lead}: "{quote}"'
    evidence = {"path": "trace/errors.md" if what == "error" else "truth.md" if what == "nurse" else "trace/index.tsv",
                "note": quote[:300]}
    return _analysis(text, stage, path, quote, evidence, None, round(rng.uniform(0.5, 0.95), 2), signature), what


def _correct() -> dict[str, Any]:
    return {"verdict": "correct", "failure_mode": None, "error_signature": None, "stage": "none",
            "first_wrong_step": None, "suspected": [], "evidence": [], "proposed_change": None, "confidence": 0.9,
            "summary": "The disposition matches the nurse's."}


# --- the backtest ---------------------------------------------------------------------------------

def generate(out: Path, seed: int = 171) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, quoting, templated = [], [], [], []
    for n, (account, cause, failed) in enumerate(plan(rng, COUNTS, ("fahrenheit-temp", LOCAL_ACCOUNT),
                                                           list(ACCOUNTS), NOISE, PASSING)):
        c = _case(rng, n, account, cause)
        facts: dict[str, Any] = {}
        history = _chat(rng, c, cause, facts)
        (out / "traces" / f"{c['id']}.json").write_text(json.dumps(history, indent=1, ensure_ascii=False) + "\n")
        noise = rng.randrange(len(NURSE_NOISE)) if failed and cause is None else None
        note = _nurse(rng, cause, noise, c)
        answer = next(p["content"] for m in reversed(history) if m["kind"] == "response" for p in m["parts"]
                      if p["part_kind"] == "text")
        manifest.append({"id": c["id"], "account": account, "trace": f"traces/{c['id']}.json", "answer": answer,
                         "truth": f"Nurse review: {note}", "verdict": "wrong" if failed else "correct",
                         "metadata": {"language": c["lang"], "complaint": c["complaint"], "disposition": facts["disp"]}})
        style = rng.choice(STYLES) if failed else None
        quoted = None
        if failed:
            q, quoted = _quoting(rng, cause, c, facts, note)
            quoting.append({"id": c["id"], **q})
            templated.append({"id": c["id"], **_templated(rng, cause, style or "soap", c)})
        else:
            quoting.append({"id": c["id"], **_correct()})
            templated.append({"id": c["id"], **_correct()})
        planted.append({"id": c["id"], "account": account, "cause": cause, "noise": noise, "style": style,
                        "quoted": quoted, "language": c["lang"], "errors": len(facts["errors"])})
    for name, rows in (("manifest", manifest), ("planted", planted), ("quoting", quoting), ("templated", templated)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


if __name__ == "__main__":
    cli(generate, 171, __doc__)
