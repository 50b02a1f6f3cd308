"""Fuzz target: ``IOContract.from_json`` on arbitrary bytes (atheris / libFuzzer).

Correct outcomes: an :class:`~edgederain.contract.IOContract` whose fields have their documented
JSON types and that survives a JSON round trip, or :class:`~edgederain.errors.ContractError`.
Anything else (``ValueError``, ``TypeError``, ``RecursionError``, ``MemoryError``...) is a finding
(see harness.py).

    .venv/bin/python tests/fuzz/fuzz_contract.py CORPUS_DIR -dict=tests/fuzz/contract.dict \
        -max_len=8192 -max_total_time=600

``CORPUS_DIR`` is filled with the packaged models' contracts (and a default one) when empty.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import run  # noqa: E402
from seeds import contract_seeds, write_seeds  # noqa: E402

with atheris.instrument_imports():
    from edgederain.contract import IOContract
    from edgederain.errors import ContractError


def _is_int(v: object) -> bool:
    return type(v) is int


def check_accepted(c: IOContract) -> None:
    """Invariants of every contract the parser accepts."""
    assert c.schema_version in (1,) and _is_int(c.schema_version)
    assert _is_int(c.size_multiple) and _is_int(c.min_size) and c.size_multiple >= 1 and c.min_size >= 1
    assert c.opset is None or _is_int(c.opset)
    assert c.value_range == (0.0, 1.0) and all(type(v) is float for v in c.value_range)
    assert len(c.input_shape) == 4 and c.input_shape[1] == 3 and _is_int(c.input_shape[1])
    assert all((_is_int(d) and d > 0) or (type(d) is str and d) for d in c.input_shape)
    assert all(type(getattr(c, f)) is str for f in ("precision", "input_name", "output_name", "variant"))
    assert type(c.model_config) is dict and all(type(v) is str for v in c.versions.values())
    assert c.checkpoint_sha256 is None or type(c.checkpoint_sha256) is str
    text = c.to_json()
    assert IOContract.from_json(text).to_json() == text


def one_contract(data: bytes) -> None:
    check_accepted(IOContract.from_json(data))
    try:
        text = data.decode("utf-8", "surrogatepass")  # the str path, lone surrogates included
    except UnicodeDecodeError:
        return
    check_accepted(IOContract.from_metadata({"edgederain.contract": text}, source="fuzz.onnx"))


def main() -> None:
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        write_seeds(Path(corpus[0]), contract_seeds())
    run(one_contract, (ContractError,))


if __name__ == "__main__":
    main()
