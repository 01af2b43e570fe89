"""The operator registry: versioned lookup as ONNX's versioning rules say, and its checks."""

import pytest

from ai_engine.engine import registry
from ai_engine.errors import UnsupportedOperatorError


@pytest.fixture
def empty(monkeypatch):
    """A registry of its own, so these registrations never reach the engine's."""
    monkeypatch.setattr(registry, "_registry", {})
    return registry


def test_lookup_takes_the_newest_version_at_or_below_the_opset(empty):
    @empty.register("Op", since=1)
    def v1(xp, x):
        return x

    @empty.register("Op", since=13)
    def v13(xp, x):
        return x

    assert empty.find("Op", "", 1).fn is v1
    assert empty.find("Op", "", 12).fn is v1
    assert empty.find("Op", "", 13).fn is v13
    assert empty.find("Op", "", 99).fn is v13
    assert empty.available_versions("Op") == [1, 13]


def test_registrations_in_any_order_are_kept_sorted(empty):
    for since in (13, 1, 7):
        empty.register("Op", since=since)(lambda xp, x: x)
    assert empty.available_versions("Op") == [1, 7, 13]


def test_below_the_first_version_there_is_no_kernel(empty):
    empty.register("Op", since=7)(lambda xp, x: x)
    assert empty.find("Op", "", 6) is None
    with pytest.raises(UnsupportedOperatorError, match=r"ai\.onnx::Op is not supported at "
                                                       r"opset 6 \(versions registered: \[7\]\)"):
        empty.lookup("Op", "", 6)


def test_unknown_op_error_says_no_version(empty):
    with pytest.raises(UnsupportedOperatorError, match="com.example::Nope.*no version"):
        empty.lookup("Nope", "com.example", 1)


def test_ai_onnx_is_the_default_domain(empty):
    empty.register("Op", since=1, domain="ai.onnx")(lambda xp, x: x)
    assert empty.find("Op", "", 1) is not None
    assert empty.find("Op", "ai.onnx", 1) is not None
    assert empty.find("Op", "com.microsoft", 1) is None


def test_the_same_version_twice_is_refused(empty):
    empty.register("Op", since=3)(lambda xp, x: x)
    with pytest.raises(ValueError, match="Op since 3 registered twice"):
        empty.register("Op", since=3)(lambda xp, x: x)


def test_attributes_are_the_keyword_only_parameters(empty):
    @empty.register("Op", since=1, num_outputs=True)
    def op(xp, x, y=None, *, axis=0, keepdims=1, n_outputs=1):
        return x

    opdef = empty.find("Op", "", 1)
    assert opdef.attribute_names == {"axis", "keepdims"}   # n_outputs is the engine's
    assert opdef.num_outputs and not opdef.accepts_any_attribute

    @empty.register("Any", since=1)
    def any_attrs(xp, x, **attrs):
        return x

    assert empty.find("Any", "", 1).accepts_any_attribute


def test_registered_ops_lists_every_domain_and_version(empty):
    empty.register("B", since=2, domain="com.microsoft")(lambda xp, x: x)
    empty.register("A", since=1)(lambda xp, x: x)
    assert empty.registered_ops() == {("", "A"): [1], ("com.microsoft", "B"): [2]}


def test_the_engine_registers_its_kernels_on_import():
    import ai_engine  # noqa: F401  (the session imports the operators package)

    assert registry.find("Conv", "", 22) is not None
    assert registry.find("Conv", "ai.onnx", 11).since <= 11
