"""A hostile narrator and the frames it attacks.

``leaky_reply(prompt)`` reads the secrets a Medium's prompt holds (its character's private
truth, its groups' private truths and secret memberships: exactly what ``compile`` puts under
YOU / YOUR AFFILIATIONS) and copies them into every shared place of the OUTCOME: world facts,
its own action text and interrupt reasons. A real model that has read "Kessa carries stolen
patrol codes" does this by accident; this one does it on purpose, every time, including after
a repair request. ``HostileServer`` serves it in the OpenAI chat-completions wire format on a
real local socket, so the real SDK and adapter talk to it.

``mos_eisley_input`` builds a Medium's input for one character of the Mos Eisley scenario
through the real knowledge boundary, for unit tests of the guard.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from synthesis import knowledge
from synthesis.scenario import load_scenario_file, make_handle
from synthesis.types import (
    ActionView,
    Affiliation,
    Character,
    Knowledge,
    MediumInput,
    Membership,
    OutcomeView,
)

MOS_EISLEY = Path(__file__).resolve().parents[1] / "synthesis" / "scenarios" / "mos_eisley.yaml"
_PRIVATE = re.compile(r"^- private \(only you know\): (.+)$", re.MULTILINE)
_GROUP = re.compile(r"^- (.+?)( \(your membership is secret\))?: known to all: .*? \| "
                    r"shared among members: (.*?) \| reputation:", re.MULTILINE)
_ME = re.compile(r"^(?:YOU|NARRATING FOR) \[([a-z0-9_]+)\] (.+?)$", re.MULTILINE)
_HANDLES = re.compile(r"^- \[([a-z][a-z0-9_]*)\] ", re.MULTILINE)


def secrets_in(prompt: str) -> dict[str, Any]:
    """What the prompt lets its Medium know privately: {handle, name, private, groups:
    [(name, hidden, internal)]}. Empty lists when the prompt holds no private layer."""
    me = _ME.search(prompt)
    return {
        "handle": me.group(1) if me else "",
        "name": me.group(2).split(" AND ")[0] if me else "",
        "private": [m.group(1) for m in _PRIVATE.finditer(prompt)],
        "groups": [(m.group(1), bool(m.group(2)), m.group(3)) for m in _GROUP.finditer(prompt)],
    }


def leaky_outcome(prompt: str) -> dict[str, Any]:
    """An outcome (JSON shape) that puts every secret of ``prompt`` into the shared layer."""
    s = secrets_in(prompt)
    me, name = s["handle"], s["name"]
    leaks = [*s["private"], *(g[2] for g in s["groups"])]
    leaks += [f"{name} is secretly a member of the {g[0]}" for g in s["groups"] if g[1]]
    others = [h for h in dict.fromkeys(_HANDLES.findall(prompt)) if h != me]
    action = f"{name} acts. " + " ".join(leaks[:1]) if leaks else f"{name} acts"
    return {
        "actions_resolved": [{"character": me, "action": action, "result": "success"}],
        "world_facts": [*leaks, "the band keeps playing"],
        # Not from an interrupt wake: a chain of interrupts would never end.
        "interrupts": ([{"target": others[0], "reason": leaks[-1] if leaks else "startled"}]
                       if others and "WAKE: interrupt" not in prompt else []),
        "involved": [],
    }


def leaky_reply(prompt: str, *, json_mode: bool = True) -> str:
    """A complete Medium reply. The narrative uses the secrets too: that is allowed."""
    outcome = leaky_outcome(prompt)
    # A fresh narrative per prompt: parse refuses one whose words are 90 % those of a previous
    # narrative, so eight words of the prompt's digest keep two of them well apart.
    wake = next((ln for ln in prompt.splitlines() if ln.startswith("WAKE:")), "WAKE: expiry")
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    fresh = " ".join(f"x{digest[i:i + 4]}" for i in range(0, 32, 4))
    narrative = f"You remember what only you know ({wake.lower()}, {fresh}). " + " ".join(outcome["world_facts"])
    if json_mode:
        return json.dumps({"outcome": outcome, "narrative": narrative})
    lines = ["OUTCOME", "actions_resolved:"]
    lines += [f"- {a['character']} | {a['action']} | {a['result']}" for a in outcome["actions_resolved"]]
    lines += ["world_facts:", *(f"- {f}" for f in outcome["world_facts"]), "interrupts:"]
    lines += [f"- {x['target']} | {x['reason']}" for x in outcome["interrupts"]]
    return "\n".join([*lines, "NARRATIVE", narrative])


class HostileServer:
    """``POST /v1/chat/completions`` on 127.0.0.1: every Medium prompt gets ``leaky_reply``
    (JSON when the request asks for a ``response_format``), an NPC actor's prompt a harmless
    action. ``requests`` counts the Medium calls, so a test can read the repair rate."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                msgs = body.get("messages") or []
                prompt = "\n".join(str(m.get("content", "")) for m in msgs if m.get("role") == "user")
                system = str(msgs[0].get("content", "")) if msgs else ""
                if "NPC ACTOR" in system:
                    text = json.dumps({"text": "I wait and watch", "pscale": -1})
                else:
                    with outer._lock:
                        outer.requests += 1
                    text = leaky_reply(msgs[1]["content"] if len(msgs) > 1 else prompt,
                                       json_mode=body.get("response_format") is not None)
                payload = json.dumps({
                    "id": "chatcmpl-hostile", "object": "chat.completion", "created": 1_700_000_000,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": text, "refusal": None}}],
                    "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4,
                              "total_tokens": (len(prompt) + len(text)) // 4},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False
        self.httpd.block_on_close = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hostile-llm", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


# --- Mos Eisley, through the real knowledge boundary ------------------------------------------


def mos_eisley_input(viewer: str, action: str | None, *, others: dict[str, str] | None = None,
                     resolved: list[OutcomeView] | None = None,
                     join: dict[str, list[tuple[str, bool]]] | None = None) -> MediumInput:
    """``viewer``'s Medium input (a character name from the scenario), its own committed
    ``action`` and other characters' same-pscale ``others`` {name: action text}."""
    sc = load_scenario_file(MOS_EISLEY)
    frame_id = uuid.uuid4()
    taken: set[str] = set()
    chars = [Character(id=uuid.uuid4(), frame_id=frame_id, name=c.name, handle=make_handle(c.name, taken),
                       user_id=uuid.uuid4() if c.player else None, universal=c.universal,
                       internal=c.internal, external=c.external) for c in sc.characters]
    affs = [Affiliation(id=uuid.uuid4(), frame_id=frame_id, name=a.name, universal=a.universal,
                        internal=a.internal, external=a.external) for a in sc.affiliations]
    by_name = {a.name: a for a in affs}
    members = [Membership(frame_id=frame_id, character_id=ch.id, affiliation_id=by_name[m.name].id,
                          hidden=m.hidden)
               for ch, spec in zip(chars, sc.characters, strict=True) for m in spec.affiliations]
    for name, groups in (join or {}).items():
        ch = next(c for c in chars if c.name == name)
        members += [Membership(frame_id=frame_id, character_id=ch.id, affiliation_id=by_name[g].id,
                               hidden=hidden) for g, hidden in groups]
    me = next(c for c in chars if c.name == viewer)
    know: Knowledge = knowledge.build_knowledge(me.id, chars, affs, members)

    def view(c: Character, text: str) -> ActionView:
        return ActionView(liquid_id=uuid.uuid4(), character_id=c.id, handle=c.handle, name=c.name,
                          text=text, pscale=-2, status="committed")

    same = [view(next(c for c in chars if c.name == n), t) for n, t in (others or {}).items()]
    return MediumInput(
        frame_id=frame_id, window_id=uuid.uuid4(), character_id=me.id, handle=me.handle,
        trigger_mode="expiry", pscale=-2, my_action=[view(me, action)] if action else [],
        same_pscale_actions=same, resolved_outcomes=resolved or [], world=sc.world,
        scenario=sc.scenario, knowledge=know, handles={c.handle: c.id for c in chars})
