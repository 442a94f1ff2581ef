"""A third held-out backtest: callbook, a voice agent that books appointments by phone for clinics.

Written by the engineer testing the clustering from the backtest formats alone (never from the
clustering's code) and never used to tune it: another kind of system (speech in, a calendar and an
SMS gateway out), another vocabulary (transcripts, barge-in, slots, DST, sender IDs), and analysts who
write unlike the other generators' ones: terse bullet notes, long narratives, questions, and a
German/English technical shorthand with arrows and abbreviations. Analysts of one cause blame
different files; causeless failures (about 30%) are worded in the same vocabulary (times, slots,
SMS, transcripts).

  misheard-time     27%  the speech recogniser turns a spoken time into other digits ("two thirty" -> 2:13)
  dst-offset        16%  the calendar call sends naive local time; after the DST switch slots are an hour off
  barge-in-lost     11%  the caller talks over the agent's prompt and that utterance is dropped
  sms-sender-id      7%  one clinic (fjordvik, Norway) only: the SMS gateway rejects the alphanumeric
                         sender ID, the confirmation never arrives and the booking is released
  double-booked      3%  two calls take the same slot (below the 5-failure bar)
  (none)           ~30%  each its own problem

`planted.jsonl` holds each call's cause. Analyses come in two kinds, one per failed call each:
`templated.jsonl` (the styles above, nothing from the run) and `quoting.jsonl` (what a file-reading
analyst reports: the span that went wrong and its own text, verbatim: a transcript, a request body, an
error; the evidence in each trace is drawn from its own random stream, so the templated analyses are
the same bytes with or without it).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ACCOUNTS = ["fjordvik", "harbourside", "elmstreet", "kastanie", "riverbend", "sunnyhill", "oakgate", "millbrook"]
LOCAL = "fjordvik"
SHARES = {"misheard-time": 0.27, "dst-offset": 0.16, "barge-in-lost": 0.11, "sms-sender-id": 0.07,
          "double-booked": 0.03}
FAILURE_RATE = 0.45
NOISE_SHARE = 0.30


class Phrase:
    """One way an analyst states a cause: the plain finding, what a note-taker jots down, and where they look."""

    def __init__(self, finding: str, note: str, stage: str, path: str, line: int | None, signature: str,
                 change: str) -> None:
        self.finding, self.note, self.stage, self.path, self.line = finding, note, stage, path, line
        self.signature, self.change = signature, change


PHRASES: dict[str, list[Phrase]] = {
    "misheard-time": [
        Phrase("the recogniser transcribed 'two thirty' as '2:13' and the agent booked 2:13",
               "stt: 'two thirty' -> 2:13", "input", "callbook/voice/stt.py", 88, "",
               "bias the recogniser towards clock times in the booking step"),
        Phrase("the caller said 'half past three' and the slot filler got 03:30 instead of 15:30",
               "slot time 03:30, caller meant 15:30", "input", "callbook/nlu/slots.py", 142, "",
               "resolve spoken times within opening hours"),
        Phrase("fifteen and fifty are confused in the transcript, so the appointment is 35 minutes late",
               "fifteen/fifty mixup in transcript", "input", "callbook/voice/stt.py", 91, "",
               "read the time back and ask for a yes"),
        Phrase("the agent confirmed a time the caller never said: the speech-to-text output had the digits swapped",
               "digits swapped by ASR, confirmed anyway", "answer", "callbook/prompts/confirm.md", 12, "",
               "make the confirmation prompt spell out the hour and minutes"),
        Phrase("the spoken time was misrecognised ('ten to four' became 10:04) and nobody checked it",
               "'ten to four' -> 10:04", "input", "callbook/nlu/time_words.py", 30,
               "SlotWarning: time 10:04 outside typical slot grid", "snap parsed times to the slot grid and re-ask"),
    ],
    "dst-offset": [
        Phrase("the booking request sends a naive local timestamp; since the daylight saving change every slot lands one hour early",
               "naive ts -> 1h off since DST", "tool-execution", "callbook/booking/calendar_client.py", 57, "",
               "send timezone-aware ISO timestamps"),
        Phrase("appointments show up in the clinic calendar an hour before the time the caller agreed",
               "cal entry = agreed time - 1h", "tool-execution", "callbook/booking/time.py", 20, "",
               "convert with the clinic's zone, not a fixed UTC offset"),
        Phrase("the clinic's UTC offset is hard-coded as +01:00 in config, which is wrong in summer",
               "offset +01:00 hardcoded, summer -> wrong", "data", "config/clinics.yaml", 8, "",
               "store the IANA zone name per clinic"),
        Phrase("calendar API got 09:00 without a zone and stored it as 08:00 UTC+2 wall time",
               "no tzinfo on calendar call", "tool-execution", "callbook/booking/calendar_client.py", 61,
               "ValueError: naive datetime passed where aware expected", "reject naive datetimes at the client"),
    ],
    "barge-in-lost": [
        Phrase("the caller interrupted the agent's prompt to correct the date and that correction was thrown away",
               "barge-in correction dropped", "input", "callbook/voice/turns.py", 133, "",
               "keep partial utterances captured during playback"),
        Phrase("voice activity during text-to-speech playback is ignored, so what the caller said over the agent is lost",
               "VAD muted while TTS plays", "input", "callbook/voice/vad.py", 45, "",
               "enable barge-in detection during playback"),
        Phrase("the agent kept the first date because the caller's 'no, Thursday' came while it was still speaking",
               "'no, Thursday' spoken over prompt -> lost", "planning", "callbook/dialog/state.py", 77, "",
               "treat an utterance during playback as a new turn"),
        Phrase("an overlapping utterance was truncated by the turn manager and the slot kept its old value",
               "overlap -> utterance truncated, slot stale", "input", "callbook/voice/turns.py", 140,
               "TurnDropped: utterance overlapped playback", "do not discard overlapped turns"),
    ],
    "sms-sender-id": [
        Phrase("the SMS provider rejects the alphanumeric sender name for Norwegian numbers, so the confirmation text never goes out and the hold expires",
               "SMS rejected: alnum sender ID not allowed (NO)", "tool-execution", "callbook/notify/sms.py", 39,
               "400 invalid sender id", "use a registered numeric sender for +47"),
        Phrase("confirmation SMS bounced because of the sender ID; the unconfirmed booking was released after 10 minutes",
               "sender id bounce -> hold released", "infrastructure", "config/accounts/fjordvik.yaml", 4, "",
               "configure a per-country sender"),
        Phrase("the gateway refused to deliver the booking text to this clinic's patients: sender 'CallBook' is not registered there",
               "gateway: sender 'CallBook' unregistered", "tool-execution", "callbook/notify/gateway.py", 18,
               "SenderIdRejected: CallBook", "register the sender ID or fall back to a short code"),
    ],
    "double-booked": [
        Phrase("two calls reserved the same slot at the same moment; the second patient was never told",
               "race: same slot booked twice", "tool-execution", "callbook/booking/reserve.py", 66, "",
               "reserve with a conditional write"),
        Phrase("slot was free when checked but taken by a parallel call before the write",
               "check-then-write race", "tool-execution", "callbook/booking/calendar_client.py", 90,
               "409 Conflict: slot already taken", "retry with the next free slot on conflict"),
    ],
}

# Questions an analyst leaves in the report when they are fairly, not fully, sure.
QUESTIONS: dict[str, list[str]] = {
    "misheard-time": ["Did the ASR mishear the time? Caller says 'two thirty', transcript says 2:13.",
                      "Why would the agent book 03:30 when the clinic opens at eight? The slot parser took 'half three' literally?",
                      "Is 'fifteen' vs 'fifty' the recogniser's fault here? Looks like it."],
    "dst-offset": ["Why is every appointment an hour early since last Sunday? Naive timestamps to the calendar?",
                   "Could the fixed +01:00 offset in the clinic config be what shifts the slot by an hour?"],
    "barge-in-lost": ["Did the caller's interruption get dropped? They said 'no, Thursday' mid-prompt and the agent kept Tuesday.",
                      "Is the VAD switched off during playback? The correction the caller made over the prompt never arrives."],
    "sms-sender-id": ["Why did no confirmation text arrive? Gateway log says the sender ID is invalid for Norway.",
                      "Was the booking released because the SMS never went out (sender name rejected)?"],
    "double-booked": ["Did two callers get the same 10:00 slot? Both confirmations reference one calendar entry."],
}

# German/English shorthand, as a tired on-call engineer writes it.
SHORTHAND: dict[str, list[str]] = {
    "misheard-time": ["STT hat Uhrzeit falsch erkannt: 'two thirty' -> 2:13, Termin falsch gebucht.",
                      "ASR-Fehler bei Zahlen (fifteen/fifty), Slot um 35 min verschoben.",
                      "Zeitangabe falsch transkribiert -> Bestaetigung trotzdem ok gesagt. Fix: Zeit vorlesen."],
    "dst-offset": ["Zeitzone fehlt beim Kalender-Call, seit Sommerzeit alles -1h.",
                   "tz naive -> DST-Wechsel -> Slot eine Stunde frueher. config offset hardcoded."],
    "barge-in-lost": ["Barge-in verloren: Anrufer korrigiert waehrend TTS, Korrektur weg.",
                      "VAD waehrend Ansage aus -> Unterbrechung ignoriert, alter Slot bleibt."],
    "sms-sender-id": ["SMS-Gateway lehnt Absender-ID ab (NO), keine Bestaetigung -> Reservierung verfallen.",
                      "Absendername nicht registriert in Norwegen, SMS 400, Buchung freigegeben."],
    "double-booked": ["Doppelbuchung, Race zwischen zwei Anrufen auf denselben Slot."],
}

NOISE: list[tuple[str, str, str, str]] = [  # finding, stage, path, signature
    ("the caller asked for a dentist but the clinic only has a hygienist on Fridays; the agent booked anyway", "planning", "callbook/dialog/rules.py", ""),
    ("background noise from a car made the whole transcript unusable and the agent guessed", "input", "callbook/voice/stt.py", ""),
    ("the agent read the clinic's address from last year's record", "data", "config/clinics.yaml", ""),
    ("the call dropped after 40 seconds on the carrier side", "infrastructure", "callbook/telephony/sip.py", "SIP 408 Request Timeout"),
    ("the caller wanted to cancel, the intent model classified it as reschedule", "input", "callbook/nlu/intents.py", ""),
    ("the agent spoke the confirmation in English to a caller who had been speaking Spanish", "answer", "callbook/prompts/confirm.md", ""),
    ("the patient's date of birth was read back in US order and the caller said yes to the wrong date", "answer", "callbook/prompts/confirm.md", ""),
    ("insurance number field accepted nine digits; this insurer uses ten", "data", "callbook/nlu/slots.py", ""),
    ("the calendar API returned 503 once and the agent told the caller the clinic is fully booked", "tool-execution", "callbook/booking/calendar_client.py", "503 Service Unavailable"),
    ("the SMS went to the landline the caller rang from, not their mobile", "tool-execution", "callbook/notify/sms.py", ""),
    ("caller asked for the earliest slot; the agent offered the earliest slot of next week", "planning", "callbook/dialog/search.py", ""),
    ("the agent hung up when the caller said 'hold on a second'", "planning", "callbook/dialog/state.py", ""),
    ("the practitioner's holiday was not in the calendar, so the booking could not be honoured", "data", "callbook/booking/sync.py", ""),
    ("the text-to-speech voice mispronounced the street name and the caller went to the other branch", "answer", "callbook/voice/tts.py", ""),
    ("the agent booked a 15-minute slot for a treatment that takes 45 minutes", "planning", "callbook/booking/durations.py", ""),
    ("a repeat caller's existing appointment was not found because the phone number had a leading zero", "tool-execution", "callbook/crm/lookup.py", ""),
    ("the agent promised a call-back that no component schedules", "answer", "callbook/prompts/system.md", ""),
    ("the caller gave two possible days and the agent picked the second without asking", "planning", "callbook/dialog/state.py", ""),
    ("LLM rate limit hit mid-call; the fallback model skipped the confirmation step", "infrastructure", "callbook/llm.py", "429 Too Many Requests"),
    ("the child's appointment was booked under the parent's name", "data", "callbook/crm/patients.py", ""),
    ("the agent answered a question about prices with figures from the wrong clinic", "answer", "callbook/prompts/faq.md", ""),
    ("the recording consent message was played twice and the caller hung up", "input", "callbook/telephony/ivr.py", ""),
    ("DTMF input for the menu was ignored because the keypad tones arrived as audio", "input", "callbook/telephony/dtmf.py", ""),
    ("the agent offered a slot outside the clinic's opening hours on a public holiday", "data", "callbook/booking/holidays.py", ""),
    ("an email confirmation was sent with a broken calendar attachment", "tool-execution", "callbook/notify/email.py", "ICS parse error: DTSTART missing"),
    ("the caller's surname was transcribed phonetically and a duplicate patient record was created", "data", "callbook/crm/patients.py", ""),
    ("the caller asked about wheelchair access; the agent made up an answer", "answer", "callbook/prompts/faq.md", ""),
    ("the agent let the caller book three appointments for the same treatment on one day", "planning", "callbook/dialog/rules.py", ""),
    ("silence detection ended the call while the caller was looking for their card", "input", "callbook/voice/vad.py", ""),
    ("the reminder SMS template has the old phone number of the clinic", "data", "callbook/notify/templates.py", ""),
    ("the agent transferred to reception outside reception's hours and the call went to voicemail", "planning", "callbook/telephony/transfer.py", ""),
    ("the cancellation fee policy was stated wrongly", "answer", "callbook/prompts/faq.md", ""),
    ("the calendar sync lagged ten minutes so a just-cancelled slot looked taken", "tool-execution", "callbook/booking/sync.py", ""),
    ("KeyError: 'practitioner_id' when the caller asked for 'any doctor'", "tool-execution", "callbook/booking/search.py", "KeyError: 'practitioner_id'"),
    ("the agent read out the full insurance number over the phone", "answer", "callbook/prompts/system.md", ""),
    ("caller spoke very quietly; the agent asked them to repeat five times and they gave up", "input", "callbook/voice/stt.py", ""),
]


# What a cause leaves in the trace: (span, attribute or "status", template), filled per call.
EVIDENCE: dict[str, tuple[str, str, str]] = {
    "misheard-time": ("voice.stt", "output.value", "I'd like {heard} on {day}"),
    "dst-offset": ("booking.reserve", "http.request.body", "start=2026-04-{dd:02d}T{hh:02d}:00&clinic={account}"),
    "barge-in-lost": ("voice.stt", "status", "TurnDropped: utterance '{utt}' overlapped playback at {ms} ms"),
    "sms-sender-id": ("notify.sms", "status", "400 invalid sender id 'CallBook' for +47 {num}"),
    "double-booked": ("booking.reserve", "status", "409 Conflict: slot {day} {hh:02d}:00 already taken by call-{other:04d}"),
}
# Where a file-reading analyst looks for each cause: (stage, file, what they conclude).
QUOTED: dict[str, tuple[str, str, str]] = {
    "misheard-time": ("input", "callbook/voice/stt.py", "the transcript has other digits than the caller said"),
    "dst-offset": ("tool-execution", "callbook/booking/calendar_client.py", "the start time carries no UTC offset"),
    "barge-in-lost": ("input", "callbook/voice/turns.py", "the caller's words during the prompt were discarded"),
    "sms-sender-id": ("tool-execution", "callbook/notify/sms.py", "the confirmation SMS was refused and the hold expired"),
    "double-booked": ("tool-execution", "callbook/booking/reserve.py", "another call took the slot first"),
}


def _evidence(qrng: random.Random, cause: str | None, account: str) -> str:
    if cause is None:
        return ""
    fill = {"heard": qrng.choice(["2:13", "03:30", "10:04", "fifty past nine", "4:50"]),
            "day": qrng.choice(["Monday", "Tuesday", "Thursday"]), "dd": qrng.randint(1, 28), "hh": qrng.randint(8, 17),
            "account": account, "utt": qrng.choice(["no, Thursday", "actually the ninth", "wait, the other clinic"]),
            "ms": qrng.randint(300, 4000), "num": qrng.randint(40000000, 99999999), "other": qrng.randint(1, 240)}
    return EVIDENCE[cause][2].format(**fill)


def _quoting(cause: str | None, noise: int | None, evidence: str, agreed: str) -> dict[str, Any]:
    """A file-reading analyst: the span that went wrong, its text verbatim, and what that means."""
    if cause is None:
        finding, stage, path, sig = NOISE[noise or 0]
        text = f"{finding} ({sig})" if sig else finding
        return {"verdict": "wrong", "failure_mode": text, "error_signature": sig or None, "stage": stage,
                "first_wrong_step": None, "suspected": [{"kind": "component", "path": path, "line": None}],
                "evidence": [{"path": "trace/README.md"}], "proposed_change": "add this call to the eval set",
                "confidence": 0.6, "summary": text}
    span, where, _ = EVIDENCE[cause]
    stage, path, meaning = QUOTED[cause]
    quoted = f"{span} {'failed' if where == 'status' else where}: {evidence}"
    text = f"{quoted} (the caller agreed to {agreed}); {meaning}"
    return {"verdict": "wrong", "failure_mode": text, "error_signature": evidence if where == "status" else None,
            "stage": stage, "first_wrong_step": None, "suspected": [{"kind": "component", "path": path, "line": None}],
            "evidence": [{"path": "trace/README.md"}], "proposed_change": f"fix {path}: {meaning}",
            "confidence": 0.8, "summary": quoted}


def _bullets(rng: random.Random, finding: str, note: str, path: str, change: str) -> str:
    lines = [f"- {note}", f"- where: {path}"]
    if rng.random() < 0.6:
        lines.append(f"- fix: {change}")
    return "\n".join(lines)


def _narrative(rng: random.Random, finding: str, note: str, path: str, change: str) -> str:
    opener = rng.choice(["I listened to the recording and read the transcript side by side.",
                         "Walking through the call from the greeting to the hang-up:",
                         "This one took a while to pin down."])
    closer = rng.choice(["Everything after that step behaved as designed, so the wrong outcome follows from it.",
                         "The rest of the call is unremarkable.",
                         "I did not find anything else wrong in the call."])
    return f"{opener} {finding[0].upper()}{finding[1:]}. {closer} I would {change}."


def _question(rng: random.Random, cause: str | None, finding: str) -> str:
    if cause:
        return rng.choice(QUESTIONS[cause])
    return rng.choice([f"Could it be that {finding}?", f"Is this simply that {finding}? I think so."])


def _shorthand(rng: random.Random, cause: str | None, note: str) -> str:
    if cause:
        return rng.choice(SHORTHAND[cause])
    return rng.choice([f"Befund: {note}.", f"kurz: {note} - Einzelfall.", f"{note} (siehe Aufnahme)"])


def _analysis(rng: random.Random, cause: str | None, noise: int | None) -> dict[str, Any]:
    if cause:
        p = rng.choice(PHRASES[cause])
        finding, note, stage, path, line, sig, change = p.finding, p.note, p.stage, p.path, p.line, p.signature, p.change
        if sig and rng.random() < 0.5:  # half the analysts do not copy the error
            sig = ""
    else:
        finding, stage, path, sig = NOISE[noise or 0]
        note, line = finding, None
        change = rng.choice(["add this call to the eval set", "handle this case in the dialog rules",
                             "tighten the system prompt"])
    style = rng.randrange(4)
    if style == 0:
        text = _bullets(rng, finding, note, path, change)
    elif style == 1:
        text = _narrative(rng, finding, note, path, change)
    elif style == 2:
        text = _question(rng, cause, finding)
    else:
        text = _shorthand(rng, cause, note)
    return {"verdict": "wrong", "failure_mode": text, "error_signature": sig or None, "stage": stage,
            "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if path.endswith(".md") else "config" if path.endswith(".yaml") else "component",
                           "path": path, "line": line}],
            "evidence": [{"path": "trace/README.md"}], "proposed_change": change,
            "confidence": round(rng.uniform(0.35, 0.9), 2), "summary": text.splitlines()[0][:300]}


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _trace(rng: random.Random, account: str, said: str, booked: str, error: str | None,
           evidence: tuple[str, str, str] | None = None) -> dict[str, Any]:
    """The call's spans; `evidence` (span, attribute or "status", text) is what its cause left behind."""
    trace_id = _hex(rng, 32)
    base = 1_775_000_000_000_000_000 + rng.randint(0, 10**15)

    def span(name: str, attrs: dict[str, str], parent: str | None, offset: int, err: str | None = None) -> dict[str, Any]:
        s: dict[str, Any] = {"traceId": trace_id, "spanId": _hex(rng, 16), "name": name, "kind": 1,
                             "startTimeUnixNano": str(base + offset * 1_000_000),
                             "endTimeUnixNano": str(base + (offset + 400) * 1_000_000),
                             "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
                             "status": {"code": 2, "message": err} if err else {"code": 1}}
        if parent:
            s["parentSpanId"] = parent
        return s

    root = span("call.handle", {"input.value": said, "output.value": f"Booked for {booked}.", "clinic": account}, None, 0)
    spans = [root,
             span("voice.stt", {"output.value": said}, root["spanId"], 100),
             span("nlu.slots", {"output.value": json.dumps({"time": booked})}, root["spanId"], 600),
             span("booking.reserve", {"input.value": booked}, root["spanId"], 1100, error),
             span("notify.sms", {"input.value": f"Your appointment: {booked}"}, root["spanId"], 1600)]
    if evidence:
        name, where, text = evidence
        target = next(s for s in spans if s["name"] == name)
        if where == "status":
            target["status"] = {"code": 2, "message": text}
        else:
            target["attributes"] = [a for a in target["attributes"] if a["key"] != where]
            target["attributes"].append({"key": where, "value": {"stringValue": text}})
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "callbook"}}]},
                               "scopeSpans": [{"scope": {"name": "callbook"}, "spans": spans}]}]}


def generate(out: Path, seed: int = 21, count: int = 240) -> None:
    rng = random.Random(seed)
    qrng = random.Random(f"evidence-{seed}")  # its own stream: the templated analyses do not move with it
    failures = round(count * FAILURE_RATE)
    n_noise = min(len(NOISE), round(failures * NOISE_SHARE))
    accounts = [ACCOUNTS[i % len(ACCOUNTS)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str | None, int | None]] = [(None, None)] * count
    order = list(range(count))
    rng.shuffle(order)
    local = [i for i in order if accounts[i] == LOCAL][:max(1, round(failures * SHARES["sms-sender-id"]))]
    for i in local:
        slots[i] = ("sms-sender-id", None)
    taken = set(local)
    free = [i for i in order if i not in taken]
    for cause, share in SHARES.items():
        if cause != "sms-sender-id":
            for _ in range(max(1, round(failures * share))):
                slots[free.pop()] = (cause, None)
    for k in rng.sample(range(len(NOISE)), n_noise):
        slots[free.pop()] = (None, k)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, analyses, quoting = [], [], [], []
    for n, (cause, noise) in enumerate(slots, 1):
        inv = f"call-{n:04d}"
        account = accounts[n - 1]
        wrong = cause is not None or noise is not None
        agreed = rng.choice(["Tuesday 14:30", "Thursday 09:00", "Monday 15:15", "Friday 11:45"])
        booked = rng.choice(["Tuesday 14:13", "Thursday 08:00", "Monday 15:50", "Friday 10:04"]) if wrong else agreed
        err = NOISE[noise][3] if noise is not None and NOISE[noise][3] else None
        evidence = _evidence(qrng, cause, account)
        left = (*EVIDENCE[cause][:2], evidence) if cause else None
        trace = _trace(rng, account, f"I'd like {agreed}", booked, err, left)
        (out / "traces" / f"{inv}.json").write_text(json.dumps(trace))
        manifest.append({"id": inv, "account": account, "trace": f"traces/{inv}.json", "answer": f"Booked for {booked}.",
                         "truth": f"Booked for {agreed}.", "verdict": "wrong" if wrong else "correct",
                         "score": 0.0 if wrong else 1.0})
        planted.append({"id": inv, "account": account, "cause": cause, "noise": noise})
        if wrong:
            analyses.append({"id": inv, **_analysis(rng, cause, noise)})
            quoting.append({"id": inv, **_quoting(cause, noise, evidence, agreed)})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "templated.jsonl").write_text("".join(json.dumps(a) + "\n" for a in analyses))
    (out / "quoting.jsonl").write_text("".join(json.dumps(a) + "\n" for a in quoting))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--count", type=int, default=240)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    generate(a.out, a.seed, a.count)
