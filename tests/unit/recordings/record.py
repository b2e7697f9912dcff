"""Record real-model replies for the unit tests: ``python -m tests.unit.recordings.record``.

Runs ``medium eval`` in process on the packaged Mos Eisley scenario with the local narrator
and writes every reply that ``parse`` refuses, with the MediumInput it was parsed against and
the refusal, to ``--out`` (one JSON file each). A human picks the ones worth keeping and
copies them here; nothing in the test suite runs this (it needs ``medium narrator install``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from synthesis import parse, scenario
from synthesis.errors import ParseError
from synthesis.settings import Settings
from workers.commands.evaluate import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", default="local", help="local, local:<name> (default: local)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("recordings-out"))
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/medium_record"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    real = parse.parse_output
    seen: list[dict[str, Any]] = []

    def recording(text: str, inp: Any, **kw: Any) -> Any:
        try:
            return real(text, inp, **kw)
        except ParseError as exc:
            doc = {"note": f"{args.llm}, medium eval on Mos Eisley, refused by parse",
                   "refusal": exc.message, "input": inp.model_dump(mode="json"),
                   "response": {"choices": [{"message": {"role": "assistant", "content": text}}]}}
            path = args.out / f"refused_{len(seen):02d}.json"
            path.write_text(json.dumps(doc, indent=1))
            seen.append(doc)
            print(f"{path}: {exc.message[:120]}", flush=True)
            raise

    parse.parse_output = recording  # type: ignore[assignment]
    report = asyncio.run(evaluate(args.database_url, Settings(), scenario.MOS_EISLEY, rounds=args.rounds,
                                  spec=args.llm, note=lambda m: print(m, flush=True)))
    print(json.dumps({k: report[k] for k in ("windows", "valid_first_try", "repaired", "failed")}))
    print(f"{len(seen)} refused replies in {args.out}")


if __name__ == "__main__":
    main()
