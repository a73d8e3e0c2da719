"""Every dashboard page through streamlit.testing.v1.AppTest: with data, without data, without weights."""

import logging
from pathlib import Path

import pytest
from helpers import PAGE
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = list(PAGE.values())  # every page of the dashboard, the first one first


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def with_dataset(monkeypatch, tiny_dataset, voc_source, tmp_path):
    monkeypatch.setattr("lrfp.core.paths.DATA_DIR", tiny_dataset)
    monkeypatch.setattr("lrfp.core.paths.SOURCE_DIR", voc_source)
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")


@pytest.fixture
def without_dataset(monkeypatch, tmp_path):
    monkeypatch.setattr("lrfp.core.paths.DATA_DIR", tmp_path / "absent")
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_a_dataset(with_dataset, page):
    at = run_page(page)
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_no_page_uses_a_deprecated_streamlit_api(with_dataset, page):
    # Streamlit logs each deprecation through this logger (and only sometimes shows it in the page)
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("streamlit.deprecation_util")
    logger.addHandler(handler)
    try:
        at = run_page(page)
    finally:
        logger.removeHandler(handler)
    assert not at.exception, at.exception
    assert not records, records


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_a_dataset(without_dataset, page):
    at = run_page(page)
    assert not at.exception, at.exception
    if page in (PAGE["Dataset"], PAGE["Train"]):
        assert "lrfp data build" in texts(at)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_weights_or_results(without_dataset, monkeypatch, tmp_path, page):
    monkeypatch.setattr("lrfp.core.paths.WEIGHTS_DIR", tmp_path / "no-weights")
    monkeypatch.setattr("lrfp.core.paths.RESULTS_DIR", tmp_path / "no-results")
    at = run_page(page)
    assert not at.exception, at.exception
    if page == PAGE["Classify"]:
        assert "No model to classify with" in texts(at)
    if page == PAGE["Results"]:
        assert "No run records" in texts(at)


def test_dataset_page_shows_samples_of_both_classes(with_dataset):
    at = run_page(PAGE["Dataset"])
    shown = texts(at)
    assert "**with mask** —" in shown and "**without mask** —" in shown and "faces match" in shown
    assert "with_mask" not in shown  # the classes in words (lrfp.core.labels), as every page names them
    assert len(at.get("image")) >= 2  # a grid per class (and source scenes)


def test_results_page_lists_the_reproduction(with_dataset):
    at = run_page(PAGE["Results"])
    assert not at.exception
    if (ROOT / "results" / "runs").is_dir():
        assert at.dataframe and "Ours beside the paper" in texts(at)


def test_webcam_ice_servers_come_from_the_settings():
    import pytest

    from lrfp.app.live import DEFAULT_ICE_SERVERS, ice_servers
    from lrfp.core.errors import ConfigError

    assert ice_servers({}) == DEFAULT_ICE_SERVERS
    assert ice_servers({"LRFP_ICE_SERVERS": "[]"}) == []
    turn = ice_servers(
        {
            "LRFP_ICE_SERVERS": "[]",
            "LRFP_TURN_URL": "turn:relay.example:3478",
            "LRFP_TURN_USERNAME": "u",
            "LRFP_TURN_CREDENTIAL": "p",
        }
    )
    assert turn == [{"urls": ["turn:relay.example:3478"], "username": "u", "credential": "p"}]
    with pytest.raises(ConfigError, match="not valid JSON"):
        ice_servers({"LRFP_ICE_SERVERS": "stun:x"})
    with pytest.raises(ConfigError, match="list of objects"):
        ice_servers({"LRFP_ICE_SERVERS": '{"urls": "x"}'})


def test_train_offers_a_normalization_only_for_the_models_that_have_one(with_dataset):
    at = run_page(PAGE["Train"])

    def picker(label):  # the main area's pickers, not the sidebar's
        return next(s for s in at.main.selectbox if s.label == label)

    assert picker("Model").value == "model3"
    assert picker("Normalization").disabled and picker("Normalization").options == ["none for model3"]
    picker("Model").set_value("model1").run()
    assert not picker("Normalization").disabled and "batchnorm" in picker("Normalization").options
