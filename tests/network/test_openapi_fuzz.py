"""schemathesis fuzzes the server's published OpenAPI schema against the real server process.

Every operation of the schema gets property-based requests generated from it, valid ones and
(negative mode) ones that break the schema: no answer may be a 5xx except the 503s the
protocol defines (not ready, unloading, timeout), every answer must conform to the schema
(status code, content type, headers, body), and the process must stay alive and live.
``AI_ENGINE_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 5 keeps the
test under a minute on two busy cores; raise it for a longer run).

schemathesis' own pytest integration (``from_fixture``) does not run under pytest 9, so the
operations' Hypothesis strategies are driven here directly.
"""

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (FailureGroup, content_type_conformance,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)

from server_harness import Server, add_model, affine_model, counting_loop_model, identity_model

EXAMPLES = int(os.environ.get("AI_ENGINE_FUZZ_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    repo = str(tmp_path_factory.mktemp("fuzz_repo"))
    add_model(repo, "affine", affine_model())
    add_model(repo, "strings", identity_model(8))  # ONNX STRING: BYTES
    add_model(repo, "loop", counting_loop_model())  # bounded by the 1 s execution limit
    add_model(repo, "broken", b"not a model")
    srv = Server("--model-repository", repo, "--threads", "2", "--execution-timeout-s", "1")
    yield srv
    srv.stop()


def no_server_error_but_protocol_503(ctx, response, case):
    """Only the protocol's 503s (not ready, unloading, timeout) may be a 5xx."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(f"{response.status_code} for {case.method} {case.formatted_path}: "
                             f"{response.text[:300]}")


CHECKS = [no_server_error_but_protocol_503, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


# A random model name only reaches the 404 path; these reach decoding, validation and runs.
SERVED = ("affine", "strings", "broken")


def fuzz(operation, mode: GenerationMode, base_url: str, statuses: list, **path) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path or None))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(base_url=base_url, timeout=30)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Negative mode: an operation without parameters or body has no invalid request.
        if mode is not GenerationMode.NEGATIVE:
            raise


def model_parameter(operation) -> str | None:
    names = {p.name for p in operation.path_parameters}
    return next((n for n in ("model", "model_id") if n in names), None)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_published_schema_holds_under_fuzzing(fuzz_server, mode):
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    statuses: list[int] = []
    failures = []
    for operation in operations:
        param = model_parameter(operation)
        served = SERVED if param and operation.method.upper() != "GET" else ()
        for path in [{}] + [{param: m} for m in served]:
            try:
                fuzz(operation, mode, fuzz_server.url, statuses, **path)
            except (Exception, FailureGroup) as exc:  # FailureGroup: a BaseExceptionGroup
                # of failed checks. Collect every operation's failures, then report them all.
                failures.append(f"{operation.label} {path}: {type(exc).__name__}: "
                                f"{str(exc)[:1500]}")
            assert fuzz_server.proc.poll() is None, f"server died during {operation.label}"
            if path and ("unload" in operation.path or operation.method.upper() == "DELETE"):
                # put the model back, so later operations reach it again
                httpx.post(f"{fuzz_server.url}/v2/repository/models/{path[param]}/load",
                           timeout=30)
    print(f"{mode.value}: {len(statuses)} requests, statuses "
          f"{dict(sorted((s, statuses.count(s)) for s in set(statuses)))}")
    assert not failures, "\n\n".join(failures)
    assert httpx.get(fuzz_server.url + "/v2/health/live").status_code == 200
    assert "internal error" not in fuzz_server.log()
