"""One Medium synthesis: gather → compile → LLM → parse (one repair) → route.

The LLM call runs outside any transaction. ``route`` commits the result and closes the
window in one transaction, idempotent by window (DESIGN §5.1), so a retried or duplicated
synthesis writes at most once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis import blind, gather, parse, route
from synthesis import compile as compile_
from synthesis.clock import Clock
from synthesis.errors import OutcomeRefused, ParseError
from synthesis.llm.base import LLM, Completion, Delta, Message, Restart, Usage, stream
from synthesis.llm.registry import Registry
from synthesis.narrative_stream import DeltaPublisher, JsonNarrativeTap, NarrativeTap
from synthesis.stages import stage
from synthesis.store import Store
from synthesis.types import Character, MediumInput, MediumOutput

log = logging.getLogger(__name__)
MAX_TOKENS = 1200


@dataclass
class SynthesisResult:
    window_id: UUID
    routed: bool
    outcome_id: UUID | None
    solid_id: UUID | None
    route: dict[str, Any] = field(default_factory=dict)
    input: MediumInput | None = None
    directive: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    repaired: bool = False


Tap = NarrativeTap | JsonNarrativeTap


async def streamed(llm: LLM, model: str, messages: list[Message], tap: Callable[[Delta], Tap],
                   on_narrative: Delta, *, on_restart: Restart | None = None,
                   json_schema: dict[str, Any] | None = None) -> Completion:
    """One call whose reply streams through ``tap(on_narrative)``. A retried call streams again
    from its start: it gets a fresh tap, after ``on_restart``."""
    taps = [tap(on_narrative)]

    def restart() -> None:
        taps.append(tap(on_narrative))
        if on_restart is not None:
            on_restart()

    done = await stream(llm, messages, on_delta=lambda text: taps[-1].feed(text), on_restart=restart,
                        model=model, json_schema=json_schema, max_tokens=MAX_TOKENS)
    taps[-1].close()
    return done


async def complete_and_parse(llm: LLM, model: str, messages: list[Message], inp: MediumInput,
                             *, json_mode: bool, on_narrative: Delta | None = None,
                             on_restart: Restart | None = None) -> tuple[MediumOutput, bool, Usage]:
    """Call the model; on a parse violation make ONE repair call quoting the error.

    A structurally valid output whose OUTCOME leaks private truth or contradicts a result
    already written (``OutcomeRefused``) is repaired the same way; its message names the
    problem and never quotes the secret. If the repair still breaks those rules, or breaks the
    format, the refused output is made shareable instead (``parse.enforce``: leaking texts
    dropped and counted in ``redacted``, bound results restored): nothing leaks, nothing fails.
    Raises ParseError when both replies are structurally invalid (the caller retries).

    ``on_narrative`` receives the first reply's narrative as the model writes it: the NARRATIVE
    block of the text layout, the ``narrative`` string of a JSON reply (which the schema orders
    after the outcome). ``on_restart`` runs when a retried call starts streaming again. The
    repair call is not streamed: the returned narrative is authoritative."""
    schema = compile_.output_schema(inp) if json_mode else None
    with stage("narrator"):
        if on_narrative is not None:
            done = await streamed(llm, model, messages, JsonNarrativeTap if json_mode else NarrativeTap,
                                  on_narrative, on_restart=on_restart, json_schema=schema)
        else:
            done = await llm.complete(messages, model=model, json_schema=schema, max_tokens=MAX_TOKENS)
    try:
        with stage("parse"):
            return parse.parse_output(_reply(done), inp, json_mode=json_mode), False, done.usage
    except ParseError as first:
        repair: list[Message] = [*messages, {"role": "assistant", "content": done.text},
                                 {"role": "user", "content": (
                                     f"Your output was invalid: {first.message}. Reply again "
                                     "with the complete output in the required format.")}]
        again = await llm.complete(repair, model=model, json_schema=schema, max_tokens=MAX_TOKENS)
        usage = done.usage + again.usage
        try:
            return parse.parse_output(_reply(again), inp, json_mode=json_mode), True, usage
        except OutcomeRefused as refused:
            return parse.enforce(refused, inp), True, usage
        except ParseError as second:
            if isinstance(first, OutcomeRefused):
                return parse.enforce(first, inp), True, usage
            raise ParseError(f"after one repair: {second.message} (first: {first.message})") from second


async def complete_blind(llm: LLM, model: str, inp: MediumInput, *, json_mode: bool,
                         on_narrative: Delta | None = None, on_restart: Restart | None = None
                         ) -> tuple[MediumOutput, bool, Usage, str]:
    """``outcome_mode: blind``: the outcome from a prompt with no private layer (parsed, guarded
    and repaired like any other), then the narrative from the full prompt and that outcome,
    streamed to ``on_narrative`` when given. Returns the output, whether a repair call was
    made, the summed usage and both directives."""
    first = blind.outcome_messages(inp, json_mode=json_mode)
    judged, repaired, usage = await complete_and_parse(llm, model, first, inp, json_mode=json_mode)
    second = blind.narrative_messages(inp, judged.outcome)
    if on_narrative is not None:
        done = await streamed(llm, model, second, lambda emit: NarrativeTap(emit, header=None), on_narrative,
                              on_restart=on_restart)
    else:
        done = await llm.complete(second, model=model, max_tokens=MAX_TOKENS)
    usage = usage + done.usage
    out = judged.model_copy(update={"narrative": blind.parse_narrative(done.text)})
    return out, repaired, usage, compile_.directive_text(first) + "\n\n" + compile_.directive_text(second)


def _reply(done: Completion) -> str:
    """The reply's text; a reply cut off at the length limit is invalid output (repair path)."""
    if done.truncated:
        raise ParseError("the reply was cut off at the length limit: answer again, shorter, "
                         "with the complete output")
    return done.text


def medium_result(inp: MediumInput, out: MediumOutput, *, directive: str, model: str,
                  narrator: str, usage: Usage | None = None, llm_ms: float = 0.0) -> route.MediumResult:
    """The parsed output plus what its solid records (sources, snapshot, usage)."""
    return route.MediumResult(
        output=out, source_liquid_ids=tuple(a.liquid_id for a in inp.my_action),
        incorporated_through=inp.snapshot_seq, summarised=tuple(inp.summarised_outcome_ids),
        directive=directive, model=model, narrator=narrator,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0, llm_ms=llm_ms)


def referenced_characters(inp: MediumInput, out: MediumOutput) -> list[UUID]:
    """The characters a result can touch: its own (every one whose action it resolves, in
    shared mode), the involved and the interrupted."""
    ids = [inp.character_id, *(a.character_id for a in inp.my_action)]
    if out.outcome is not None:
        ids += [*out.outcome.characters_involved, *(i.target_character_id for i in out.outcome.interrupts)]
    return list(dict.fromkeys(ids))


async def apply(st: Store, inp: MediumInput, result: route.MediumResult, *, now: datetime,
                time_scale: float = 1.0) -> route.RoutePlan:
    """Route a result: ``route.plan`` on a snapshot read under the frame lock, applied in the
    same transaction (``Store.route``)."""
    def decide(snap: route.RouteSnapshot) -> route.RoutePlan:
        with stage("route"):
            return route.plan(snap, result, now, time_scale=time_scale)

    with stage("apply"):  # the snapshot read and the write, with its NOTIFY; less the plan
        return await st.route(inp.frame_id, inp.window_id, referenced_characters(inp, result.output), decide)


async def prepare(st: Store, frame_id: UUID, window_id: UUID | None, *,
                  character_id: UUID | None = None) -> tuple[MediumInput, dict[str, Any]]:
    with stage("gather"):
        doc = await st.gather(frame_id, window_id, character_id=character_id)
        return gather.build_medium_input(doc), doc


def character_of(doc: dict[str, Any], character_id: UUID) -> Character:
    return next(Character.model_validate(c) for c in doc["characters"]
                if str(c["id"]) == str(character_id))


async def preview(st: Store, registry: Registry, frame_id: UUID, character_id: UUID) -> str:
    """The directive this character's Medium would send if it woke now: for the open window that
    holds its committed liquid when there is one (in shared mode, the frame-level window it
    joined, whoever opened it), else as a window of its own."""
    window_id = await st.open_window_of(frame_id, character_id)
    inp, doc = await prepare(st, frame_id, window_id, character_id=character_id)
    await registry.refresh(st)
    llm, _, _ = registry.medium(character_of(doc, character_id).model)
    return compile_.directive_text(
        compile_.compile_directive(inp, json_mode=registry.json_mode(llm)))


async def synthesize(st: Store, registry: Registry, frame_id: UUID, window_id: UUID, *,
                     now: datetime | None = None, clock: Clock | None = None,
                     time_scale: float = 1.0, live: bool = False,
                     on_delta: Delta | None = None) -> SynthesisResult:
    """Run one window's Medium end to end. Raises on LLM/parse failure; writes nothing then.

    ``live``: stream the narrative, as it is written, to its owner and the GM (personal mode;
    ``narrative_delta`` NOTIFYs, see ``narrative_stream.DeltaPublisher``). ``on_delta`` also
    gets each narrative chunk, in process (``medium eval`` times its first token with it); either
    makes the call stream. ``timings["first_token"]``, when something streamed, is the seconds
    from the start of this call to the first narrative chunk.

    The route's timestamps (window completed, liquid resolved, interrupt and perceive windows
    opened) are the moment of routing: ``clock.now()`` read after the LLM call, or ``now``."""
    if (now is None) == (clock is None):
        raise ValueError("pass exactly one of now= or clock=")
    t0 = time.perf_counter()
    inp, doc = await prepare(st, frame_id, window_id)
    t1 = time.perf_counter()
    with stage("compile"):
        me = character_of(doc, inp.character_id)
        await registry.refresh(st)  # the `models` rows a character's model may name
        llm, model, label = registry.medium(me.model)
        json_mode = registry.json_mode(llm)
        messages = compile_.compile_directive(inp, json_mode=json_mode)
        directive = compile_.directive_text(messages)
    publisher = (DeltaPublisher(st.publish_delta, frame_id=frame_id, window_id=window_id,
                                character_id=inp.character_id, user_id=me.user_id)
                 if live and inp.mode == "personal" else None)
    sending = asyncio.create_task(publisher.run(), name=f"deltas:{window_id}") if publisher else None
    sinks = [sink for sink in (publisher, on_delta) if sink is not None]
    first_token: list[float] = []

    def narrative(text: str) -> None:
        if not first_token:
            first_token.append(time.perf_counter())
        for sink in sinks:
            sink(text)

    tap = narrative if sinks else None
    restart = publisher.restart if publisher is not None else None
    try:
        if (doc["frame"] or {}).get("outcome_mode") == "blind":
            out, repaired, usage, directive = await complete_blind(llm, model, inp, json_mode=json_mode,
                                                                   on_narrative=tap, on_restart=restart)
        else:
            out, repaired, usage = await complete_and_parse(llm, model, messages, inp, json_mode=json_mode,
                                                            on_narrative=tap, on_restart=restart)
    finally:
        if publisher is not None and sending is not None:
            publisher.close()
            await sending
    t2 = time.perf_counter()
    routed_at = clock.now() if clock is not None else now
    if routed_at is None:
        raise ValueError("synthesize needs a clock or now")
    result = medium_result(inp, out, directive=directive, model=model, narrator=label, usage=usage,
                           llm_ms=(t2 - t1) * 1000)
    plan = await apply(st, inp, result, now=routed_at, time_scale=time_scale)
    routed = plan.summary()
    t3 = time.perf_counter()
    timings = {"gather": t1 - t0, "llm": t2 - t1, "route": t3 - t2}
    if first_token:
        timings["first_token"] = first_token[0] - t0
    log.info("synthesized", extra={
        "action": "synthesize", "frame_id": str(frame_id), "window_id": str(window_id),
        "character_id": str(inp.character_id), "routed": routed.get("routed"),
        "gather_ms": round((t1 - t0) * 1000, 2), "llm_ms": round((t2 - t1) * 1000, 2),
        "route_ms": round((t3 - t2) * 1000, 2), "repaired": repaired, "redacted": out.redacted,
        "first_token_ms": round(timings["first_token"] * 1000, 2) if first_token else None})
    return SynthesisResult(
        window_id=window_id, routed=bool(routed.get("routed")),
        outcome_id=UUID(routed["outcome_id"]) if routed.get("outcome_id") else None,
        solid_id=UUID(routed["solid_id"]) if routed.get("solid_id") else None,
        route=routed, input=inp, directive=directive, repaired=repaired,
        timings=timings)
