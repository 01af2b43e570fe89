"""The repository follows the operator's symlinks, refuses request paths that leave it, and
logs every load failure with its reason intact (after the privacy redaction)."""

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ai_engine.errors import ModelLoadError
from ai_engine.network.errors import ModelNotFoundError
from ai_engine.network.repository import ModelRepository
from ai_engine.privacy import RedactingFilter
from ai_engine.scheduler import BatchPolicy
from server_harness import affine_model


def write_model(path: str, scale: float = 1.0) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(affine_model(scale, 0.0).SerializeToString())
    return path


@pytest.fixture()
def layout(tmp_path):
    """A repository whose models live elsewhere, reached through symlinks."""
    store = tmp_path / "store"       # a shared model store / volume mount, outside the repo
    repo = tmp_path / "repo"
    repo.mkdir()
    outside_file = write_model(str(store / "affine3.onnx"), 3.0)
    os.makedirs(repo / "linked_file" / "1")
    os.symlink(outside_file, repo / "linked_file" / "1" / "model.onnx")
    write_model(str(store / "folder_model" / "1" / "model.onnx"), 5.0)
    os.symlink(store / "folder_model", repo / "linked_folder")
    os.makedirs(repo / "dangling" / "1")
    os.symlink(store / "missing.onnx", repo / "dangling" / "1" / "model.onnx")
    write_model(str(store / "secret" / "1" / "model.onnx"))  # reachable only by '..'
    return str(repo)


def with_repository(root: str, action):
    async def main():
        repo = ModelRepository(root, {}, ThreadPoolExecutor(2), BatchPolicy())
        try:
            return await action(repo)
        finally:
            await repo.close()
    return asyncio.run(main())


async def infer(repo, name):
    mv = repo.get(name)
    return await mv.batcher.submit({"x": np.ones((1, 4), np.float32)})


def test_symlinked_model_file_and_folder_load(layout):
    async def action(repo):
        await repo.load("linked_file")
        await repo.load("linked_folder")
        return await infer(repo, "linked_file"), await infer(repo, "linked_folder")

    (y3,), (y5,) = with_repository(layout, action)
    np.testing.assert_array_equal(y3, np.full((1, 4), 3.0, np.float32))
    np.testing.assert_array_equal(y5, np.full((1, 4), 5.0, np.float32))


@pytest.mark.parametrize("name", ["../store/secret", "..", "../store", "/etc", "a/b",
                                  "linked_folder/../..", ".hidden", "..\\store", "", "\x00"])
def test_request_names_that_leave_the_repository_are_refused(layout, name):
    async def action(repo):
        with pytest.raises(ModelNotFoundError, match="invalid model name|unknown model"):
            await repo.load(name)
        return repo.index()

    rows = with_repository(layout, action)
    assert all(r["state"] != "READY" for r in rows)


def test_load_failure_is_logged_with_its_reason(layout, caplog):
    # The server installs this filter on every log handler (network/server.py); here it sits on
    # pytest's capturing handler, so the record is checked as the server would write it.
    caplog.handler.addFilter(RedactingFilter(secrets=("some-api-key",)))
    caplog.set_level(logging.ERROR, logger="ai_engine.network")

    async def action(repo):
        with pytest.raises(ModelLoadError):
            await repo.load("dangling")
        return repo.index()

    rows = with_repository(layout, action)
    messages = [r.getMessage() for r in caplog.records if r.name == "ai_engine.network"]
    assert messages == ["model dangling failed to load: model 'dangling': no version folder "
                        "with a model.onnx matches its version policy ('latest', 1)"]
    assert [r["state"] for r in rows if r["name"] == "dangling"] == ["UNAVAILABLE"]


def test_startup_load_failure_of_a_bad_file_is_logged(tmp_path, caplog):
    os.makedirs(tmp_path / "resnet50" / "1")
    (tmp_path / "resnet50" / "1" / "model.onnx").write_bytes(b"not a model")
    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.ERROR, logger="ai_engine.network")

    async def action(repo):
        await repo.load_all()

    with_repository(str(tmp_path), action)
    (message,) = [r.getMessage() for r in caplog.records if r.name == "ai_engine.network"]
    path = str(tmp_path / "resnet50" / "1" / "model.onnx")
    assert message.startswith("model resnet50 failed to load: ")
    assert path in message and "not a valid ONNX model" in message, message
