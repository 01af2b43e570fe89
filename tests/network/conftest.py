import pytest

from server_harness import Server, build_test_repo


@pytest.fixture(scope="session")
def test_repo(tmp_path_factory):
    return build_test_repo(str(tmp_path_factory.mktemp("model_repo")))


@pytest.fixture(scope="session")
def server(test_repo):
    srv = Server("--model-repository", test_repo, "--threads", "2")
    yield srv
    srv.stop()
